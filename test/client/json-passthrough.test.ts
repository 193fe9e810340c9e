/**
 * Records written straight from the page text (`sfbridge query` JSON lines and CSV) against the round trip
 * they replace: for random records — strings full of quotes, backslashes, control characters, unicode with
 * surrogate pairs and \u escapes, nested parents with their own `attributes`, nulls, numbers, booleans,
 * empty objects and arrays — and for texts written in every other way JSON allows (whitespace, other
 * escapes, other number forms, duplicate and integer-like keys), the output is byte-identical to
 * `JSON.stringify` of the parsed record without `attributes`, and the CSV cells to the parsed record's. The
 * same for the JSON lines cut from the page's bytes (json-lines.ts), in chunks split anywhere (inside
 * multi-byte characters too), with invalid UTF-8 giving what a decoder and the round trip give.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stringify } from 'csv-stringify/sync';
import { exactRecord, JsonLinesPageScanner } from '../../src/client/json-lines.ts';
import { attributesCut, JsonStreamError, QueryPageScanner, recordJsonLine } from '../../src/client/json-stream.ts';
import { csvCells, csvCellsOfText, csvLine, csvPaths } from '../../src/cli/query.ts';

/** Deterministic PRNG (mulberry32) so a failure reproduces. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The reference: every object's `attributes` member removed, at any depth (what the CLI always printed). */
function strip(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(strip);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (k !== 'attributes') out[k] = strip(x);
    return out;
  }
  return v;
}
const reference = (text: string) => JSON.stringify(strip(JSON.parse(text)));

const PIECES = ['"', '\\', '\\\\', '\\"', '\n', '\r', '\t', '\b', '\f', '\u0000', '\u0001', '\u001f', '\u007f', 'é', '€', '😀', '𝄞', '\u2028', '\u2029', '\ufeff', ',', ':', '{', '}', '[', ']', ' ', 'a', 'Z', '/', 'attributes', '\ud800', '\udfff'];

function randomString(r: () => number): string {
  let s = '';
  const n = Math.floor(r() * 10);
  for (let i = 0; i < n; i++) s += PIECES[Math.floor(r() * PIECES.length)];
  return s;
}

const NUMBERS = [0, -1, 1, 42, 441100000, -7.25, 0.1, 1e-7, 1e21, 123456789012345, 2 ** 53 + 2, 3.14159, -0.000001, 1.5e300];

function randomValue(r: () => number, depth: number): unknown {
  switch (Math.floor(r() * (depth > 3 ? 6 : 9))) {
    case 0:
    case 1: return randomString(r);
    case 2: return r() < 0.5 ? NUMBERS[Math.floor(r() * NUMBERS.length)] : Math.round((r() - 0.5) * 1e6) / 100;
    case 3: return r() < 0.5;
    case 4: return null;
    case 5: return r() < 0.5 ? {} : [];
    case 6: return Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, depth + 1));
    case 7: return randomRecord(r, depth + 1, r() < 0.7);
    default: return { totalSize: 1, done: true, records: [randomRecord(r, depth + 1, true)] };
  }
}

/** A record as Salesforce shapes it: `attributes` (first, or elsewhere), fields, parents with their own. */
function randomRecord(r: () => number, depth = 0, attributes = true): Record<string, unknown> {
  const fields: [string, unknown][] = [];
  const n = Math.floor(r() * 7);
  for (let i = 0; i < n; i++) fields.push([r() < 0.2 ? `${randomString(r)}F${i}` : `Field${i}__c`, randomValue(r, depth)]);
  if (attributes) {
    const at = { type: 'Account', url: `/services/data/v62.0/sobjects/Account/001${randomString(r)}` };
    fields.splice(r() < 0.8 ? 0 : Math.floor(r() * (fields.length + 1)), 0, ['attributes', at]);
  }
  return Object.fromEntries(fields);
}

/** Ways JSON allows to write the same record that JSON.stringify does not use (each must still be exact). */
const VARIANTS: Array<(t: string, r: () => number) => string> = [
  (t) => t.replace(/,/g, ' , ').replace(/:/g, ' :\n\t'),
  (t) => t.replace(/é/g, '\\u00e9').replace(/😀/g, '\\ud83d\\ude00'),
  (t) => t.replace(/\//g, '\\/'),
  (t) => t.replace(/\\n/g, '\\u000a').replace(/\\u001f/g, '\\u001F'),
  (t) => t.replace(/:42([,}\]])/g, ':42.0$1').replace(/:0([,}\]])/g, ':-0$1').replace(/:1([,}\]])/g, ':1e0$1'),
  (t) => t.replace(/^\{/, '{"Field0__c":"first",').replace(/^\{"Field0__c":"first",\}/, '{"Field0__c":"first"}'),
  (t) => t.replace(/^\{/, '{"7":"seven","0":0,'),
  (t) => t.replace(/^\{/, '{"__proto__":{"x":1},'),
  (t) => t.replace(/^\{/, '{"big":123456789012345678901234567890,'),
  (t) => t.replace(/^\{/, '{"raw":"\ud800",'),
];

/** Objects whose text is exactly what JSON.stringify prints for them: copied, on both paths. */
const COPIED = [
  '{"attributes":{"type":"A","url":"/x"},"Id":"001","Owner":{"attributes":{"type":"User"},"Name":"O\'Brien \\"Bob\\""}}',
  '{"attributes":{}}',
  '{"Id":"1","attributes":{"type":"A"}}',
  '{"a":1,"attributes":{"attributes":{"x":1}},"b":[{"attributes":null,"c":{}}],"d":[]}',
  '{"s":"tab\\tnl\\nquote\\"bs\\\\ctl\\u0001\\u001f del\u007f 😀 \u2028 \ufeff"}',
  '{"n":[0,-1,1.5,-0.25,1e-7,1e+21,123456789012345,0.000001]}',
  '{"t":true,"f":false,"z":null,"e":{},"l":[],"ll":[[],[{}]]}',
  '{"records":{"totalSize":1,"done":true,"records":[{"attributes":{"type":"Contact"},"Id":"003"}]}}',
  '{"lone":"\\ud800x\\udfff\\udbff","end":"\\ud800"}',
  '{"":"","a":{"":1}}',
];

/** Objects written in another way JSON allows: the round trip decides, on both paths. */
const ROUND_TRIP = [
  '{ "attributes":{},"Id":"1"}',
  '{"a":"\\u00e9"}',
  '{"a":"\\/"}',
  '{"a":"\\u000a"}',
  '{"a":"\\u001F"}',
  '{"a":"\\ud83d\\ude00"}',
  '{"a":"\\uD800"}',
  '{"a":"\\ud800\\udc00"}',
  '{"a":1.0}',
  '{"a":1E3}',
  '{"a":-0}',
  '{"a":1234567890123456789}',
  '{"a":1e400}',
  '{"a":1,"a":2}',
  '{"attributes":1,"b":2,"attributes":3}',
  '{"2":"b","1":"a"}',
  '{"__proto__":{"x":1},"y":2}',
];

describe('records written from the page text', () => {
  it('JSON lines are byte-identical to JSON.stringify of the parsed record without attributes', () => {
    const r = rng(14);
    let fast = 0;
    for (let i = 0; i < 4000; i++) {
      const text = JSON.stringify(randomRecord(r));
      // JSON.stringify's own text, keys not integer-like or repeated: the copy is taken, not the round trip.
      if (attributesCut(text) !== undefined) fast++;
      assert.equal(recordJsonLine(text), reference(text), text);
      const variant = VARIANTS[i % VARIANTS.length](text, r).replace(/,\}/g, '}');
      let ok = true;
      try {
        JSON.parse(variant);
      } catch {
        ok = false;
      }
      if (ok) assert.equal(recordJsonLine(variant), reference(variant), variant);
    }
    // Only records with a random (possibly duplicate or digit-first) key name may miss the copy.
    assert.ok(fast > 3000, `${fast} of 4000 copied`);
  });

  it('is exact for hand-picked edge cases, and takes the copy where it can', () => {
    // Beyond the shared cases: an array, and lone surrogates as text holds them.
    const copied = [...COPIED, '[{"attributes":{}},1]', '{"lone":"\\ud800x\\udfff\\udbff"}'];
    for (const text of copied) {
      assert.notEqual(attributesCut(text), undefined, text);
      assert.equal(recordJsonLine(text), reference(text), text);
    }
    const roundTrip = [...ROUND_TRIP, '{"a":"\\ud800\udc00"}', '{"a":"\ud800"}', '{"a":"\udc00x"}'];
    for (const text of roundTrip) {
      assert.equal(attributesCut(text), undefined, text);
      assert.equal(recordJsonLine(text), reference(text), text);
    }
  });

  it('malformed record text fails as a bad response, never passes through', () => {
    for (const text of ['{"a":tru}', '{"a" "b"}', '{"a":"x\u0001"}', '{"a":01}', '{"a":1.}', '{"a":-}', '{"a":"x}', '{"a":1,}', '{"a":[1,]}', '{"a":"\\x"}', '{"a":"\\u12"}', '{"a":1}x']) {
      assert.equal(attributesCut(text), undefined, text);
      assert.throws(() => recordJsonLine(text), JsonStreamError, text);
    }
  });

  it('records cut from chunked pages (as text, or as lines in the scanning pass) give the same lines', () => {
    const r = rng(7);
    for (let p = 0; p < 60; p++) {
      const records = Array.from({ length: 1 + Math.floor(r() * 30) }, () => randomRecord(r));
      const text = JSON.stringify({ totalSize: records.length, done: true, records });
      const bytes = new TextEncoder().encode(text);
      const expected = records.map((rec) => JSON.stringify(strip(rec)));
      // Chunks from a few bytes to whole pages: records cut within a chunk and records across chunks.
      const max = [300, 5000, bytes.length][p % 3];
      for (const output of ['text', 'jsonl'] as const) {
        const scanner = new QueryPageScanner<string>({ output });
        const decoder = new TextDecoder();
        const got: string[] = [];
        for (let i = 0; i < bytes.length; ) {
          const n = 1 + Math.floor(r() * max);
          scanner.write(decoder.decode(bytes.subarray(i, i + n), { stream: true }));
          got.push(...scanner.take());
          i += n;
        }
        scanner.write(decoder.decode());
        scanner.end();
        got.push(...scanner.take());
        assert.deepEqual(output === 'text' ? got.map(recordJsonLine) : got, expected);
      }
    }
  });

  it('CSV rows from the text are identical to the CSV writer on the parsed record', () => {
    const r = rng(99);
    let fast = 0;
    const total = 3000;
    for (let i = 0; i < total; i++) {
      const rec = randomRecord(r);
      if (r() < 0.5) rec.Owner = r() < 0.2 ? null : randomRecord(r, 1);
      const text = JSON.stringify(rec);
      const keys = Object.keys(rec).filter((k) => k !== 'attributes');
      // Columns as a SELECT list names them: as the record has them, in other cases, dotted into the parent,
      // missing, through a non-object, and the object members themselves.
      const header = [...keys.slice(0, 3), ...keys.slice(3).map((k) => (r() < 0.5 ? k.toUpperCase() : k.toLowerCase())), 'Owner.Name', 'owner.field0__c', 'Owner.Field1__c.x', 'Missing', 'Owner', ...(i % 2 ? ['Field0__c.Field1__c'] : [])];
      const expected = stringify([csvCells(JSON.parse(text) as Record<string, unknown>, header)]);
      const paths = csvPaths(header)!;
      const cells = csvCellsOfText(text, paths);
      if (cells) fast++;
      assert.equal(csvLine(cells ?? csvCells(JSON.parse(text) as Record<string, unknown>, header)), expected, text);
      if (cells) assert.equal(csvLine(cells), expected, text);
    }
    // Keys with escapes and paths through arrays take the parsed way.
    assert.ok(fast > total * 0.5, `${fast} of ${total} from the text`);
    // Column names every object has (`lookup` finds them with `in`): the parsed way for the whole output.
    assert.equal(csvPaths(['Id', 'constructor']), undefined);
    assert.equal(csvPaths(['Owner.toString']), undefined);
  });
});

/** The JSON lines the byte scanner gives for a page, fed in chunks of 1..max bytes; `skip` records left out. */
function byteLines(page: Uint8Array, r: () => number, max: number, skip = 0): { text: string; bytes: Buffer; records: number } {
  const scanner = new JsonLinesPageScanner();
  scanner.skip = skip;
  const parts: Buffer[] = [];
  let records = 0;
  const take = () => {
    for (const b of scanner.take()) {
      parts.push(Buffer.from(b.bytes));
      records += b.records;
    }
  };
  for (let i = 0; i < page.length; ) {
    const n = 1 + Math.floor(r() * max);
    // A copy, as a network chunk is its own buffer.
    scanner.write(Uint8Array.from(page.subarray(i, i + n)));
    take();
    i += n;
  }
  scanner.end();
  take();
  const bytes = Buffer.concat(parts);
  return { text: bytes.toString('utf8'), bytes, records };
}

const pageOf = (recordTexts: string[]) => `{"totalSize":${recordTexts.length},"done":true,"records":[${recordTexts.join(',')}]}`;
/** The reference lines: the page decoded as text, then each record through JSON.stringify without attributes. */
const referenceLines = (page: Uint8Array) => (JSON.parse(new TextDecoder().decode(page)) as { records: unknown[] }).records.map((rec) => `${JSON.stringify(strip(rec))}\n`).join('');
const isExact = (text: string) => exactRecord(Buffer.from(text), 0, undefined, 0) === Buffer.byteLength(text);

describe('JSON lines cut from the page bytes', () => {
  it('are byte-identical to JSON.stringify of each parsed record without attributes, in any chunking', () => {
    const r = rng(1414);
    let exact = 0;
    let total = 0;
    for (let p = 0; p < 150; p++) {
      const texts: string[] = [];
      for (let i = 0, n = 1 + Math.floor(r() * 25); i < n; i++) {
        const text = JSON.stringify(randomRecord(r));
        total++;
        if (isExact(text)) exact++;
        texts.push(text);
        // Every other way of writing a record, where it is still valid JSON: the round trip decides.
        const variant = VARIANTS[Math.floor(r() * VARIANTS.length)](text, r).replace(/,\}/g, '}');
        try {
          JSON.parse(variant);
          texts.push(variant);
        } catch {
          // not JSON any more
        }
      }
      const page = new TextEncoder().encode(pageOf(texts));
      const expected = referenceLines(page);
      for (const max of [1, 7, 300, page.length]) {
        const got = byteLines(page, r, max);
        assert.equal(got.text, expected);
        assert.equal(got.records, texts.length);
        assert.ok(got.bytes.equals(Buffer.from(expected)), 'byte for byte');
      }
      // A page read again after a drop: the records already handed out are left out.
      const skip = Math.floor(r() * (texts.length + 1));
      assert.equal(byteLines(page, r, 64, skip).text, expected.split('\n').slice(skip).join('\n'));
    }
    assert.ok(exact > total * 0.75, `${exact} of ${total} copied from the bytes`);
  });

  it('large pages in network-sized chunks: records across chunk starts, some longer than a chunk', () => {
    const r = rng(77);
    for (let p = 0; p < 6; p++) {
      const texts = Array.from({ length: 400 }, (_, i) => {
        const rec = randomRecord(r);
        // Every so often a record of 5 to 70 kB (a long description): it crosses one chunk start or several.
        if (i % 37 === 5) rec.Description = 'é😀"\\ '.repeat(1000 + Math.floor(r() * 10000));
        return JSON.stringify(rec);
      });
      const page = new TextEncoder().encode(pageOf(texts));
      const expected = Buffer.from(referenceLines(page));
      for (const max of [9000, 20000, 70000]) assert.ok(byteLines(page, r, max).bytes.equals(expected), `page ${p}, chunks up to ${max} bytes`);
    }
  });

  it('copies the bytes where that is exact and takes the round trip elsewhere', () => {
    const copied = COPIED;
    const roundTrip = ROUND_TRIP;
    for (const text of copied) assert.ok(isExact(text), text);
    for (const text of roundTrip) assert.ok(!isExact(text), text);
    const r = rng(3);
    const all = [...copied, ...roundTrip];
    const page = new TextEncoder().encode(pageOf(all));
    for (const max of [1, 5, page.length]) assert.ok(byteLines(page, r, max).bytes.equals(Buffer.from(referenceLines(page))));
    // Not objects (Salesforce never sends them), whitespace around everything, members after the records, a BOM.
    const odd = new TextEncoder().encode('\ufeff { "totalSize" : 4 ,"records" : [ 1 , "x" , [{"attributes":1,"a":2}] , null ] , "done" : true , "nextRecordsUrl" : null } ');
    for (const max of [1, 3, odd.length]) assert.equal(byteLines(odd, r, max).text, '1\n"x"\n[{"a":2}]\nnull\n');
  });

  it('invalid UTF-8 gives what a decoder and the round trip give (U+FFFD), never the raw bytes', () => {
    const bad = [[0xff], [0xc3], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xc0, 0xaf], [0xe2, 0x82], [0xf0, 0x9f, 0x98]];
    const r = rng(5);
    for (const seq of bad) {
      const before = new TextEncoder().encode('{"totalSize":2,"done":true,"records":[{"attributes":{"type":"A"},"Name":"a');
      const after = new TextEncoder().encode('b"},{"Name":"ok é"}]}');
      const page = new Uint8Array([...before, ...seq, ...after]);
      const expected = referenceLines(page);
      assert.match(expected, /\ufffd/);
      // Compared as bytes: decoding the output would hide raw invalid bytes behind U+FFFD.
      for (const max of [1, 2, page.length]) assert.ok(byteLines(page, r, max).bytes.equals(Buffer.from(expected)), String(seq));
    }
  });

  it('malformed pages and records fail as bad responses, never pass through', () => {
    const r = rng(11);
    const records = ['{"a":tru}', '{"a" "b"}', '{"a":"x\u0001"}', '{"a":01}', '{"a":1.}', '{"a":-}', '{"a":"x}', '{"a":1,}', '{"a":[1,]}', '{"a":"\\x"}', '{"a":"\\u12"}'];
    const pagesBad = [...records.map((t) => pageOf([t])), '{"totalSize":1,"done":true,"records":[{"a":1}]', '{"totalSize":1,"done":true,"records":[{"a":1}]}x', '{"done":true}', '[1]', '{"records":[],"records":[]}'];
    for (const text of pagesBad) {
      const page = new TextEncoder().encode(text);
      for (const max of [1, page.length]) assert.throws(() => byteLines(page, r, max), JsonStreamError, text);
    }
  });
});

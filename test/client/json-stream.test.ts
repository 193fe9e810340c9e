/**
 * The incremental query-page parser against JSON.parse: random pages (strings full of braces, brackets,
 * quotes, backslash runs, escapes and multi-byte characters) cut into random byte chunks and decoded with a
 * streaming TextDecoder must yield exactly JSON.parse's records and members; malformed or truncated bodies
 * must fail.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JsonStreamError, QueryPageScanner } from '../../src/client/json-stream.ts';

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

const NASTY = ['{', '}', '[', ']', '},{', '}]', '} , {', '"', '\\', '\\\\', '\\"', ',', ':', 'é', '€', '😀', '\u0000', '\n', '\t', '\u2028', 'a', ' ', '}]', '"}', '\\u0041'];

function randomString(r: () => number): string {
  let s = '';
  const n = Math.floor(r() * 12);
  for (let i = 0; i < n; i++) s += NASTY[Math.floor(r() * NASTY.length)];
  return s;
}

function randomValue(r: () => number, depth: number): unknown {
  const k = Math.floor(r() * (depth > 2 ? 5 : 7));
  switch (k) {
    case 0: return randomString(r);
    case 1: return Math.round((r() - 0.5) * 1e6) / 100;
    case 2: return r() < 0.5;
    case 3: return null;
    case 4: return Math.floor(r() * 1e9);
    case 5: return Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, depth + 1));
    default: return randomRecord(r, depth + 1);
  }
}

function randomRecord(r: () => number, depth = 0): Record<string, unknown> {
  const rec: Record<string, unknown> = depth === 0 ? { attributes: { type: 'Account', url: '/services/data/v62.0/sobjects/Account/001' } } : {};
  const n = 1 + Math.floor(r() * 6);
  for (let i = 0; i < n; i++) rec[`${randomString(r)}F${i}`] = randomValue(r, depth);
  return rec;
}

/** Serialises with random whitespace between tokens (JSON.stringify with indent adds some; we add more). */
function pageText(r: () => number, records: unknown[], extra: Record<string, unknown>): string {
  const page = { totalSize: records.length, done: false, nextRecordsUrl: '/services/data/v62.0/query/01g-2000', ...extra, records };
  return r() < 0.5 ? JSON.stringify(page) : JSON.stringify(page, null, Math.floor(r() * 3)).replace(/,\n/g, ' ,\r\n\t');
}

/** Feeds `text` as UTF-8 bytes cut at random places (splitting multi-byte characters too). */
function scan(text: string, r: () => number, maxChunk: number): { records: unknown[]; fields: Record<string, unknown> } {
  const bytes = new TextEncoder().encode(text);
  const decoder = new TextDecoder();
  const scanner = new QueryPageScanner();
  const records: unknown[] = [];
  for (let i = 0; i < bytes.length;) {
    const n = 1 + Math.floor(r() * maxChunk);
    scanner.write(decoder.decode(bytes.subarray(i, i + n), { stream: true }));
    records.push(...scanner.take());
    i += n;
  }
  scanner.write(decoder.decode());
  scanner.end();
  records.push(...scanner.take());
  return { records, fields: scanner.fields };
}

describe('QueryPageScanner', () => {
  it('matches JSON.parse on 600 random pages cut into random chunks', () => {
    for (let seed = 1; seed <= 600; seed++) {
      const r = rng(seed);
      const records = Array.from({ length: Math.floor(r() * 20) }, () => randomRecord(r));
      const text = pageText(r, records, seed % 7 === 0 ? { [randomString(r)]: randomValue(r, 0) } : {});
      const expected = JSON.parse(text) as { records: unknown[] } & Record<string, unknown>;
      const got = scan(text, r, seed % 3 === 0 ? 3 : seed % 3 === 1 ? 40 : 5000);
      assert.deepEqual(got.records, expected.records, `seed ${seed}`);
      const { records: _, ...members } = expected;
      assert.deepEqual(got.fields, members, `seed ${seed}`);
    }
  });

  it('records whose text holds the record boundary (in strings, in subquery records) parse as on their own', () => {
    const boundary = '},{"attributes":';
    for (let seed = 1; seed <= 200; seed++) {
      const r = rng(1000 + seed);
      const records = Array.from({ length: 1 + Math.floor(r() * 30) }, (_, i) => {
        const rec = randomRecord(r);
        if (i % 3 === 0) rec.Description = `${randomString(r)}${boundary}"x"${randomString(r)}`;
        if (i % 4 === 1) rec.Contacts = { totalSize: 2, done: true, records: [randomRecord(r), randomRecord(r)] };
        if (i % 5 === 2) rec[`k${boundary}`] = boundary;
        return rec;
      });
      const text = JSON.stringify({ totalSize: records.length, done: true, records });
      assert.deepEqual(scan(text, r, seed % 2 ? 64 : 4096).records, records, `seed ${seed}`);
    }
  });

  it('reads members that come after records, and an empty records array', () => {
    const r = rng(7);
    const a = scan('{"records":[{"a":"}"},{"b":[1,{"c":"\\\\"}]}],"done":true,"totalSize":2}', r, 4);
    assert.deepEqual(a.records, [{ a: '}' }, { b: [1, { c: '\\' }] }]);
    assert.deepEqual(a.fields, { done: true, totalSize: 2 });
    const b = scan(' { "totalSize" : 0 , "done" : true , "records" : [ ] } \n', r, 2);
    assert.deepEqual(b.records, []);
    assert.deepEqual(b.fields, { totalSize: 0, done: true });
  });

  it('hands out records as soon as they are complete, before the page ends', () => {
    const s = new QueryPageScanner();
    s.write('{"totalSize":3,"done":false,"nextRecordsUrl":"/q/1","records":[{"Id":"1"},{"Id":"2');
    assert.equal(s.recordsStarted, true);
    assert.deepEqual(s.fields, { totalSize: 3, done: false, nextRecordsUrl: '/q/1' });
    assert.deepEqual(s.take(), [{ Id: '1' }]);
    s.write('"}');
    assert.deepEqual(s.take(), [{ Id: '2' }]);
    s.write(' , {"Id":"3"');
    assert.deepEqual(s.take(), []);
    s.write('}]}');
    assert.deepEqual(s.take(), [{ Id: '3' }]);
    s.end();
  });

  it('rejects malformed and truncated bodies', () => {
    const bad = [
      '[]',
      '{"records":[{"a":1}]',
      '{"records":[{"a":1},]}',
      '{"records":[{"a":1}}',
      '{"totalSize":1 "records":[]}',
      '{"records":[{"a":tru}]}',
      '{"records":[{"a":"x}]}',
      '{"records":[]} x',
      '{"totalSize":1,"done":true}',
      '{"records":[],"records":[]}',
      '',
    ];
    for (const text of bad) {
      assert.throws(() => {
        const s = new QueryPageScanner();
        s.write(text);
        s.end();
      }, JsonStreamError, text);
    }
  });
});

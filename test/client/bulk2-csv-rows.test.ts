/**
 * The Bulk result-file reader against csv-parse on tricky CSV, split into chunks at every position (a row, a
 * quoted field, an escaped quote or a CRLF cut in two must read the same as whole).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import { csvRowBatches } from '../../src/client/bulk2/csv-rows.ts';

async function read(chunks: (string | Uint8Array)[], delimiter = ','): Promise<string[][]> {
  const rows: string[][] = [];
  for await (const batch of csvRowBatches((async function* () { yield* chunks; })(), delimiter)) rows.push(...batch);
  return rows;
}

const TRICKY = 'sf__Id,sf__Created,Name,Description\r\n001A,true,"Globex, Ltd","multi\r\nline ""quoted"""\r\n001B,false,,#N/A\r\n001C,true,"","a,b"\r\n001D,true,Ünïcödé ✓,""""\r\n001E,true,x,';

describe('csvRowBatches (Bulk result files)', () => {
  it('reads quoted fields, escaped quotes, embedded delimiters and line breaks, CRLF and a last row without a line break, like csv-parse', async () => {
    const expected = parse(TRICKY, { relax_column_count: true }) as string[][];
    assert.deepEqual(await read([TRICKY]), expected);
    assert.deepEqual(expected[1], ['001A', 'true', 'Globex, Ltd', 'multi\r\nline "quoted"']);
  });

  it('reads the same whatever the chunk boundaries (bytes split inside multi-byte characters too)', async () => {
    const bytes = Buffer.from(TRICKY);
    const expected = await read([TRICKY]);
    for (let cut = 1; cut < bytes.length; cut++) {
      assert.deepEqual(await read([bytes.subarray(0, cut), bytes.subarray(cut)]), expected, `cut at byte ${cut}`);
    }
    const bytewise = Array.from(bytes, (b) => Uint8Array.of(b));
    assert.deepEqual(await read(bytewise), expected);
  });

  it('strips a BOM, skips blank lines, takes other delimiters and LF endings', async () => {
    const text = '\uFEFFa|b\n\n1|"x|y"\n2|\n';
    assert.deepEqual(await read([Buffer.from(text)], '|'), [['a', 'b'], ['1', 'x|y'], ['2', '']]);
  });

  it('an empty body has no rows', async () => {
    assert.deepEqual(await read([]), []);
  });

  it('a quoted field longer than many chunks, with no quote inside, reads whole; one left open is reported by its line', async () => {
    const long = 'x'.repeat(300_000).replace(/x{999}/g, (m) => `${m}\n`);
    const text = `Id,Body\n001A,"${long}"\n001B,short\n`;
    const chunks: string[] = [];
    for (let i = 0; i < text.length; i += 4096) chunks.push(text.slice(i, i + 4096));
    assert.deepEqual(await read(chunks), [['Id', 'Body'], ['001A', long], ['001B', 'short']]);
    const open = `Id,Body\n001A,ok\n001B,"never closed\n${'001C,more\n'.repeat(50_000)}`;
    const pieces: string[] = [];
    for (let i = 0; i < open.length; i += 4096) pieces.push(open.slice(i, i + 4096));
    await assert.rejects(read(pieces), /CSV row 3 \(counting the header row, on line 3\) opens a quoted field that is never closed \("001B,\\"never closed/);
  });
});

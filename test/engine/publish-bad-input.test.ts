/**
 * Bad input to `sfbridge publish` and `sfbridge bulk`: a clear one-line error naming the problem and the fix,
 * a non-zero exit, and nothing half-written (no record in the org, no result file, no state file, no job).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, it } from 'node:test';
import { bulkCommand } from '../../src/cli/bulk.ts';
import { publishCommand } from '../../src/cli/publish.ts';
import { BASE, clientFor, publishEmulator } from './publish-helpers.ts';

function capture() {
  const s = new PassThrough() as PassThrough & { isTTY?: boolean };
  let text = '';
  s.on('data', (c: Buffer) => (text += c.toString()));
  return { stream: s, text: () => text };
}

const emu = publishEmulator();
const dir = mkdtempSync(join(tmpdir(), 'sfb-badin-'));
const env = { SF_INSTANCE_URL: BASE, SF_CLIENT_ID: emu.org.clientId, SF_CLIENT_SECRET: emu.org.clientSecret, SFBRIDGE_HOME: dir };
const fetch = (i: RequestInfo | URL, init?: RequestInit) => emu.fetch(new Request(i, init));

async function run(cmd: typeof publishCommand | typeof bulkCommand, argv: string[]) {
  const out = capture();
  const err = capture();
  const code = await cmd(argv, { stdout: out.stream, stderr: err.stream, env, fetch });
  return { code, stdout: out.text(), stderr: err.text() };
}

after(() => emu.close());

const BAD = 'LastName,Email\nA,a@example.com\n"B,b@example.com\nC,c@example.com\n';

describe('bad input: one-line error, non-zero exit, nothing written', () => {
  it('publish: a CSV with an unterminated quote fails naming the line; no record, no result file', async () => {
    const file = join(dir, 'bad.csv');
    writeFileSync(file, BAD);
    const state = join(dir, 'state1.db');
    const results = join(dir, 'bad.results.jsonl');
    const r = await run(publishCommand, ['--object', 'Contact', '--operation', 'insert', '--from', file, '--state', `sqlite:${state}`, '--results', results]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /bad\.csv: Quote Not Closed: .*line 4; nothing was sent\. Close the quote/);
    assert.equal(r.stderr.trim().split('\n').filter((l) => !l.startsWith('note:')).length, 1, r.stderr);
    assert.equal(existsSync(results), false, 'no result file');
    assert.equal(await clientFor(emu).count("SELECT COUNT() FROM Contact WHERE Email LIKE '%@example.com'"), 0);
  });

  it('bulk: a CSV with an unterminated quote fails naming the row; no job is created', async () => {
    const file = join(dir, 'bad-bulk.csv');
    writeFileSync(file, BAD);
    const jobsBefore = (await clientFor(emu).request<{ records: unknown[] }>('jobs/ingest')).records.length;
    const r = await run(bulkCommand, ['insert', '--object', 'Contact', '--file', file, '--results-dir', join(dir, 'bulk-out')]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /CSV row 3 \(counting the header row, on line 3\) opens a quoted field that is never closed.*close the quote/);
    assert.doesNotMatch(r.stdout + r.stderr, /0 records: 0 succeeded/);
    assert.equal((await clientFor(emu).request<{ records: unknown[] }>('jobs/ingest')).records.length, jobsBefore, 'no job created');
    assert.equal(await clientFor(emu).count("SELECT COUNT() FROM Contact WHERE Email LIKE '%@example.com'"), 0);
  });

  it('bulk: an unterminated quote far into a file bigger than one job fails naming its line before any job is created', async () => {
    const file = join(dir, 'big-bad.csv');
    const rows = ['LastName,Email'];
    for (let i = 0; i < 120_000; i++) rows.push(i === 110_000 ? `"Open ${i},big${i}@example.com` : `Big ${i},big${i}@example.com`);
    writeFileSync(file, `${rows.join('\n')}\n`);
    const jobsBefore = (await clientFor(emu).request<{ records: unknown[] }>('jobs/ingest')).records.length;
    const out = join(dir, 'big-bad-out');
    const r = await run(bulkCommand, ['insert', '--object', 'Contact', '--file', file, '--results-dir', out, '--max-rows-per-job', '50000']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /CSV row 110002 \(counting the header row, on line 110002\) opens a quoted field that is never closed \("\\"Open 110000,big110000@example\.com/);
    assert.doesNotMatch(r.stdout, /job 750/);
    assert.equal((await clientFor(emu).request<{ records: unknown[] }>('jobs/ingest')).records.length, jobsBefore, 'no job created');
    assert.equal(await clientFor(emu).count("SELECT COUNT() FROM Contact WHERE Email LIKE 'big%'"), 0);
    assert.equal(existsSync(out) && readdirSync(out).length > 0, false, 'no manifest or result file');
  });

  it('bulk: a row narrower than the header deep in the file is refused before any job is created', async () => {
    const file = join(dir, 'ragged.csv');
    const rows = ['LastName,Email'];
    for (let i = 0; i < 3000; i++) rows.push(i === 2500 ? `Ragged ${i}` : `Rag ${i},rag${i}@example.com`);
    writeFileSync(file, `${rows.join('\n')}\n`);
    const r = await run(bulkCommand, ['insert', '--object', 'Contact', '--file', file, '--results-dir', join(dir, 'ragged-out'), '--max-rows-per-job', '1000']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /ragged\.csv: data row 2501 has 1 fields but the header has 2/);
    assert.equal(await clientFor(emu).count("SELECT COUNT() FROM Contact WHERE Email LIKE 'rag%'"), 0);
  });

  it('publish: a missing --from file is a one-line usage error; no state file is created', async () => {
    const state = join(dir, 'state2.db');
    const r = await run(publishCommand, ['--object', 'Contact', '--operation', 'insert', '--from', join(dir, 'nope.csv'), '--state', `sqlite:${state}`]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^sfbridge publish: --from .*nope\.csv does not exist: check the path\n$/m);
    assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/, 'no stack trace');
    assert.equal(existsSync(state), false);
  });

  it('publish: a --results file in a missing directory is a one-line usage error', async () => {
    const file = join(dir, 'ok.csv');
    writeFileSync(file, 'LastName\nX\n');
    const r = await run(publishCommand, ['--object', 'Contact', '--operation', 'insert', '--from', file, '--state', `sqlite:${join(dir, 'state3.db')}`, '--results', join(dir, 'no', 'such', 'r.jsonl')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--results .*r\.jsonl: the directory .*such does not exist: create it first, or pick another path/);
    assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/);
  });
});

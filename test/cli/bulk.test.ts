/**
 * `sfbridge bulk …` and `sfbridge query --bulk` against the in-process emulator: result CSVs named like sf's,
 * exit codes, upper-case headers and tricky cells in the input file, resume and status of a job.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { before, describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import { bulkCommand } from '../../src/cli/bulk.ts';
import { queryCommand } from '../../src/cli/query.ts';
import { createEmulator, type Emulator } from '../../src/emulator/app.ts';
import { EXTRA_OBJECTS } from '../emulator/bulk-helpers.ts';
import { scriptedServer } from '../client/helpers/scripted-server.ts';

const BASE = 'http://127.0.0.1:8484';
let emu: Emulator;
let env: NodeJS.ProcessEnv;
let dir: string;

function capture() {
  const s = new PassThrough() as PassThrough & { isTTY?: boolean };
  let text = '';
  s.on('data', (c: Buffer) => (text += c.toString()));
  return { stream: s, text: () => text };
}

async function run(cmd: typeof bulkCommand, argv: string[]) {
  const out = capture();
  const err = capture();
  const code = await cmd(argv, { stdout: out.stream, stderr: err.stream, env, fetch: (i, init) => emu.fetch(new Request(i, init)) });
  return { code, stdout: out.text(), stderr: err.text() };
}

const csv = async (path: string) => parse(await readFile(path, 'utf8'), { columns: true }) as Record<string, string>[];

before(async () => {
  emu = createEmulator({ objects: EXTRA_OBJECTS });
  dir = await mkdtemp(join(tmpdir(), 'sfb-bulk-cli-'));
  env = { SF_INSTANCE_URL: BASE, SF_CLIENT_ID: emu.org.clientId, SF_CLIENT_SECRET: emu.org.clientSecret, SFBRIDGE_HOME: dir };
});

describe('sfbridge bulk', () => {
  it('insert from a CSV with upper-case headers and tricky cells: job id printed, success file written, exit 0', async () => {
    const file = join(dir, 'accounts.csv');
    await writeFile(file, 'NAME,DESCRIPTION,EXTERNAL_ID__C\n"Globex, Ltd","multi\nline ""quoted""",G-1\nInitech,#N/A,I-1\n');
    const out = join(dir, 'r1');
    const r = await run(bulkCommand, ['insert', '--object', 'Account', '--file', file, '--results-dir', out]);
    assert.equal(r.code, 0, r.stderr);
    const jobId = /job (750\w+) created/.exec(r.stdout)?.[1];
    assert.ok(jobId, r.stdout);
    assert.deepEqual((await readdir(out)).filter((n) => n.endsWith('.csv')), [`${jobId}-success-records.csv`]);
    // The run manifest (for resume after a crash) says the run is done.
    const manifests = (await readdir(out)).filter((n) => /^bulk-run-.*\.json$/.test(n));
    assert.equal(manifests.length, 1);
    const m = JSON.parse(await readFile(join(out, manifests[0]), 'utf8')) as { done: boolean; jobs: { jobId: string; ranges: number[][]; written: boolean }[] };
    assert.deepEqual([m.done, m.jobs], [true, [{ jobId, ranges: [[0, 2]], written: true }]]);
    const rows = await csv(join(out, `${jobId}-success-records.csv`));
    assert.deepEqual(rows.map((x) => [x.NAME, x.DESCRIPTION, x.sf__Created]), [['Globex, Ltd', 'multi\nline "quoted"', 'true'], ['Initech', '#N/A', 'true']]);
    assert.match(rows[0].sf__Id, /^001/);
  });

  it('upsert with failures: failed file carries sf__Error, exit 1', async () => {
    const file = join(dir, 'contacts.csv');
    await writeFile(file, 'LastName,Legacy_Key__c,Account.External_Id__c\nOkafor,L-1,G-1\n,L-2,\nWaddams,L-3,NOPE\n');
    const out = join(dir, 'r2');
    const r = await run(bulkCommand, ['upsert', '-s', 'Contact', '--external-id', 'Legacy_Key__c', '-f', file, '--results-dir', out]);
    assert.equal(r.code, 1, r.stderr);
    const jobId = /job (750\w+) created/.exec(r.stdout)![1];
    const ok = await csv(join(out, `${jobId}-success-records.csv`));
    const failed = await csv(join(out, `${jobId}-failed-records.csv`));
    assert.deepEqual(ok.map((x) => x.Legacy_Key__c), ['L-1']);
    assert.deepEqual(failed.map((x) => x.Legacy_Key__c), ['L-2', 'L-3']);
    assert.ok(failed.every((x) => x.sf__Error.length > 0));
    assert.match(r.stdout, /1 succeeded, 2 failed, 0 unprocessed/);
  });

  it('status and resume of a finished job; resume writes the result files', async () => {
    const file = join(dir, 'more.csv');
    await writeFile(file, 'Name\nA\nB\n');
    const first = await run(bulkCommand, ['insert', '--object', 'Account', '--file', file, '--results-dir', join(dir, 'r3')]);
    const jobId = /job (750\w+) created/.exec(first.stdout)![1];
    const status = await run(bulkCommand, ['status', jobId]);
    assert.equal(status.code, 0, status.stderr);
    assert.equal(JSON.parse(status.stdout).state, 'JobComplete');
    const out = join(dir, 'r4');
    const resumed = await run(bulkCommand, ['resume', jobId, '--wait', '1m', '--results-dir', out]);
    assert.equal(resumed.code, 0, resumed.stderr);
    const rows = await csv(join(out, `${jobId}-success-records.csv`));
    assert.deepEqual(rows.map((x) => x.Name), ['A', 'B']);
  });

  it('a run that dies between creating a job and recording it: resume finds the job Open, aborts it and loads every row once', async () => {
    const file = join(dir, 'intent.csv');
    await writeFile(file, `Name\n${Array.from({ length: 5 }, (_, i) => `Intent ${i}`).join('\n')}\n`);
    const out = join(dir, 'r-intent');
    const o = capture();
    const e = capture();
    // The create call reaches the org, and its answer is lost, as when the process dies right after it.
    let cut = 0;
    const fetch = async (i: RequestInfo | URL, init?: RequestInit) => {
      const req = new Request(i, init);
      const res = await emu.fetch(req);
      if (req.method === 'POST' && new URL(req.url).pathname.endsWith('/jobs/ingest') && cut++ === 0) throw new TypeError('fetch failed: socket hang up');
      return res;
    };
    const code = await bulkCommand(['insert', '--object', 'Account', '--file', file, '--results-dir', out], { stdout: o.stream, stderr: e.stream, env, fetch });
    assert.notEqual(code, 0);
    const manifest = (await readdir(out)).find((f) => f.startsWith('bulk-run-'));
    assert.ok(manifest, 'the manifest stays: a job may exist');
    const recorded = JSON.parse(await readFile(join(out, manifest), 'utf8'));
    assert.deepEqual(recorded.jobs, []);
    assert.equal(recorded.creating.rows, 5);
    const orphans = (await emu.fetch(new Request(`${BASE}/services/data/v62.0/jobs/ingest`, { headers: { authorization: `Bearer ${(await (await emu.fetch(new Request(`${BASE}/services/oauth2/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'client_credentials', client_id: emu.org.clientId, client_secret: emu.org.clientSecret }) }))).json()).access_token}` } })).then((r) => r.json())).records.filter((j: { state: string; object: string }) => j.state === 'Open' && j.object === 'Account');
    assert.equal(orphans.length, 1, 'the job the run created is Open in the org');
    const resumed = await run(bulkCommand, ['resume', '--manifest', join(out, manifest)]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, new RegExp(`job ${orphans[0].id}: created by the interrupted run but never recorded .*aborted, its 5 rows are sent again`));
    const info = await run(bulkCommand, ['status', orphans[0].id]);
    assert.equal(JSON.parse(info.stdout).state, 'Aborted');
    const loaded = await csv(join(out, (await readdir(out)).find((f) => f.endsWith('-success-records.csv'))!));
    assert.deepEqual(loaded.map((r) => r.Name).sort(), ['Intent 0', 'Intent 1', 'Intent 2', 'Intent 3', 'Intent 4']);
  });

  it('resume --wait that runs out exits 1 and says how to re-attach', async () => {
    const id = '750000000000009AAA';
    const srv = await scriptedServer({ [`GET /services/data/v62.0/jobs/ingest/${id}`]: [{ json: { id, state: 'InProgress', operation: 'insert', object: 'Account', numberRecordsProcessed: 5 } }] });
    const out = capture();
    const err = capture();
    const code = await bulkCommand(['resume', id, '--wait', '50ms'], { stdout: out.stream, stderr: err.stream, env: { SF_INSTANCE_URL: srv.url, SF_ACCESS_TOKEN: 't', SFBRIDGE_HOME: dir } });
    await srv.close();
    assert.equal(code, 1);
    assert.match(err.text(), /BULK_WAIT_EXCEEDED/);
    assert.match(err.text(), new RegExp(`sfbridge bulk resume ${id}`));
  });

  it('usage errors exit 2 and name the fix', async () => {
    assert.equal((await run(bulkCommand, ['upsert', '--object', 'Contact', '--file', 'x.csv'])).code, 2);
    assert.match((await run(bulkCommand, ['frobnicate'])).stderr, /unknown subcommand/);
    assert.match((await run(bulkCommand, ['resume', 'nope'])).stderr, /job id/);
  });

  it('an unknown column is refused before any job or manifest, exit 2', async () => {
    const file = join(dir, 'bad.csv');
    await writeFile(file, 'Name,Bogus__c\nA,1\n');
    const r = await run(bulkCommand, ['insert', '--object', 'Account', '--file', file, '--results-dir', join(dir, 'r5')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^sfbridge bulk: .*bad\.csv: Account has no field Bogus__c/);
    assert.ok(!existsSync(join(dir, 'r5')), 'no results dir, no manifest');
    assert.doesNotMatch(r.stdout, /created/);
  });

  it('a data row with more or fewer fields than the header is refused before any job, naming the row', async () => {
    const file = join(dir, 'ragged.csv');
    await writeFile(file, 'LastName,Legacy_Key__c\r\n\r\nOk,R-1\r\nBad,R-2,extra\r\n');
    const r = await run(bulkCommand, ['upsert', '-s', 'Contact', '--external-id', 'Legacy_Key__c', '-f', file, '--results-dir', join(dir, 'r-ragged')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /BULK_INVALID_INPUT: .*ragged\.csv: data row 2 has 3 fields but the header has 2/);
    assert.doesNotMatch(r.stdout, /job 750/);
  });

  it('a repeat load reuses the cached describe and the learned job rate from the cache dir; SFBRIDGE_CACHE_DIR=off keeps nothing', async () => {
    const home = await mkdtemp(join(tmpdir(), 'sfb-bulk-cache-'));
    const load = async (tag: string, extraEnv: NodeJS.ProcessEnv = {}) => {
      const file = join(home, `c-${tag}.csv`);
      await writeFile(file, 'LastName,Legacy_Key__c\n' + Array.from({ length: 1500 }, (_, i) => `L${i},${tag}-${i}\n`).join(''));
      const calls: string[] = [];
      const out = capture();
      const err = capture();
      const code = await bulkCommand(['upsert', '-s', 'Contact', '--external-id', 'Legacy_Key__c', '-f', file, '--results-dir', join(home, `r-${tag}`)], {
        stdout: out.stream,
        stderr: err.stream,
        env: { ...env, SFBRIDGE_HOME: home, ...extraEnv },
        fetch: (i, init) => {
          const req = new Request(i, init);
          calls.push(`${req.method} ${new URL(req.url).pathname.replace(/^\/services\/data\/v[\d.]+/, '').replace(/750\w+/, 'ID')}`);
          return emu.fetch(req);
        },
      });
      assert.equal(code, 0, err.text());
      return calls;
    };
    const first = await load('a');
    assert.equal(first.filter((c) => c === 'GET /sobjects/Contact/describe').length, 1);
    const rates = JSON.parse(await readFile(join(home, 'cache', 'bulk-rates.json'), 'utf8')) as Record<string, { rowsPerSec: number; rows: number }>;
    const rate = rates[`${BASE}|contact|upsert`];
    assert.ok(rate && rate.rows === 1500 && rate.rowsPerSec > 0, JSON.stringify(rates));
    assert.ok((await readdir(join(home, 'cache', 'describe'))).length >= 1);
    // Nothing secret in the cache: no token, secret or client id.
    const cached = (await readFile(join(home, 'cache', 'bulk-rates.json'), 'utf8')) + (await Promise.all((await readdir(join(home, 'cache', 'describe'))).map((n) => readFile(join(home, 'cache', 'describe', n), 'utf8')))).join('');
    assert.ok(!cached.includes(emu.org.clientSecret) && !cached.includes(emu.org.clientId));

    // A new process (a new client) against the same org: no describe call, and the learned rate is extended.
    const second = await load('b');
    assert.equal(second.filter((c) => c === 'GET /sobjects/Contact/describe').length, 0, second.join(', '));
    const after = JSON.parse(await readFile(join(home, 'cache', 'bulk-rates.json'), 'utf8'))[`${BASE}|contact|upsert`] as { recent: number[] };
    assert.equal(after.recent.length, 2);

    // With the cache off the describe is fetched again and nothing is written.
    const off = await mkdtemp(join(tmpdir(), 'sfb-bulk-nocache-'));
    const third = await load('c', { SFBRIDGE_HOME: off, SFBRIDGE_CACHE_DIR: 'off' });
    assert.equal(third.filter((c) => c === 'GET /sobjects/Contact/describe').length, 1);
    assert.deepEqual(await readdir(off), []);
  });
});

describe('sfbridge query --bulk', () => {
  it('writes csv and jsonl to a file', async () => {
    const out = join(dir, 'export.csv');
    const r = await run(queryCommand, ['--bulk', 'SELECT Id, Name, Description FROM Account ORDER BY Name', '--format', 'csv', '--output', out]);
    assert.equal(r.code, 0, r.stderr);
    const rows = await csv(out);
    assert.ok(rows.length >= 4);
    assert.equal(rows.find((x) => x.Name === 'Globex, Ltd')?.Description, 'multi\nline "quoted"');
    const jl = join(dir, 'export.jsonl');
    const r2 = await run(queryCommand, ['--bulk', 'SELECT Id, Name FROM Account ORDER BY Name', '--format', 'jsonl', '--output', jl]);
    assert.equal(r2.code, 0, r2.stderr);
    const lines = (await readFile(jl, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
    assert.deepEqual(lines.map((l) => l.Name), rows.map((x) => x.Name));
    assert.match(r2.stderr, /bulk query job 750/);
    assert.equal((await run(queryCommand, ['--bulk', 'SELECT Id FROM Account', '--format', 'table'])).code, 2);
  });
});

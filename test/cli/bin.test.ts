/**
 * The `sfbridge` launcher (bin/sfbridge.js) as a user starts it, against the emulator on a socket: the Bulk API
 * commands (`bulk`, `query --bulk`) run with the launcher's V8 heap settings and still load, export and exit as
 * they do in-process; the settings reach V8 (a young generation that stays small under an allocation pattern
 * that makes V8's defaults grow it to 64 MB or more), and SFBRIDGE_HEAP=default turns them off. A REST query
 * turns the same settings on itself once its first page shows more pages follow.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { parse } from 'csv-parse/sync';
import { createEmulator } from '../../src/emulator/app.ts';
import { seedOrg } from '../../src/emulator/seed/index.ts';
import { serve, type RunningServer } from '../../src/emulator/http/node-server.ts';
import { EXTRA_OBJECTS } from '../emulator/bulk-helpers.ts';

const BIN = join(import.meta.dirname, '../../bin/sfbridge.js');
/** Preload that, on exit, allocates like a streaming export and reports new space's largest size to fd 3. */
const PROBE = `data:text/javascript,${encodeURIComponent(`
import v8 from 'node:v8';
import { writeSync } from 'node:fs';
process.on('exit', () => {
  if (!process.env.SFB_TEST_PROBE) return;
  const ring = new Array(50000);
  let peak = 0;
  for (let i = 0; i < 1500000; i++) {
    ring[i % ring.length] = { s: 'row ' + i, n: [i, i + 1] };
    if (i % 10000 === 0) peak = Math.max(peak, v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size);
  }
  writeSync(3, 'new-space-peak=' + peak + '\\n');
});
`)}`;

let server: RunningServer;
let dir: string;
let env: NodeJS.ProcessEnv;

before(async () => {
  const emu = createEmulator({ objects: EXTRA_OBJECTS });
  // More Accounts than one query page holds: a REST export that spans pages.
  await seedOrg(emu.org, 'Account=2100');
  server = await serve(emu.fetch, { port: 0, host: '127.0.0.1' });
  dir = await mkdtemp(join(tmpdir(), 'sfb-bin-'));
  env = { ...process.env, SF_INSTANCE_URL: server.url, SF_CLIENT_ID: emu.org.clientId, SF_CLIENT_SECRET: emu.org.clientSecret, SFBRIDGE_HOME: dir, SFBRIDGE_HEAP: '', SFB_TEST_PROBE: '' };
});

after(async () => {
  await server.close();
});

/** Runs the bin; never throws on a non-zero exit. */
async function bin(args: string[], extraEnv: NodeJS.ProcessEnv = {}, nodeArgs: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  return promisify(execFile)(process.execPath, [...nodeArgs, BIN, ...args], { cwd: dir, env: { ...env, ...extraEnv } }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
}

/** Runs the bin with the probe preloaded and returns the largest new space it saw (bytes). */
async function newSpacePeak(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<number> {
  const { spawn } = await import('node:child_process');
  const p = spawn(process.execPath, ['--import', PROBE, BIN, ...args], { cwd: dir, env: { ...env, SFB_TEST_PROBE: '1', ...extraEnv }, stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
  let report = '';
  (p.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => (report += d.toString()));
  await new Promise((resolve) => p.once('close', resolve));
  const m = /new-space-peak=(\d+)/.exec(report);
  assert.ok(m, `the probe reported nothing: ${report}`);
  return Number(m[1]);
}

describe('bin/sfbridge.js', () => {
  it('bulk upsert and query --bulk through the launcher: result files, exit codes, the exported rows', async () => {
    const file = join(dir, 'contacts.csv');
    await writeFile(file, 'LastName,Email,Legacy_Key__c\n"Smith, Jr.",a@x.test,K1\nJones,b@x.test,K2\n,c@x.test,K3\n');
    const load = await bin(['bulk', 'upsert', '--object', 'Contact', '--external-id', 'Legacy_Key__c', '--file', file, '--results-dir', join(dir, 'res')]);
    assert.equal(load.code, 1, load.stderr); // the row without LastName fails
    assert.match(load.stdout, /3 records: 2 succeeded, 1 failed or unprocessed/);
    const jobId = /job (750\w+) created/.exec(load.stdout)![1];
    const ok = parse(await readFile(join(dir, 'res', `${jobId}-success-records.csv`), 'utf8'), { columns: true }) as Record<string, string>[];
    assert.deepEqual(ok.map((r) => [r.LastName, r.sf__Created]), [['Smith, Jr.', 'true'], ['Jones', 'true']]);

    const out = join(dir, 'contacts-export.csv');
    const exp = await bin(['query', '--bulk', 'SELECT LastName, Legacy_Key__c FROM Contact ORDER BY Legacy_Key__c', '--format', 'csv', '--output', out]);
    assert.equal(exp.code, 0, exp.stderr);
    assert.deepEqual(parse(await readFile(out, 'utf8'), { columns: true }), [{ LastName: 'Smith, Jr.', Legacy_Key__c: 'K1' }, { LastName: 'Jones', Legacy_Key__c: 'K2' }]);
  });

  it('a usage error still exits 2 through the launcher', async () => {
    const r = await bin(['bulk', 'upsert', '--object', 'Contact', '--file', 'x.csv']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /upsert needs --external-id/);
  });

  it('bulk and query --bulk keep the young generation small; SFBRIDGE_HEAP=default, REST query and other commands leave V8 to grow it', async () => {
    // Under the probe's allocation V8's defaults grow new space to 64-128 MB; the launcher's settings keep it
    // in the single-digit to teens of MB (it still grows a little past the initial 1 MB semi-spaces).
    const SMALL = 32 * 1024 * 1024;
    const capped = await newSpacePeak(['query', '--bulk', '--help']);
    const bulkCapped = await newSpacePeak(['bulk', '--help']);
    const defaults = await newSpacePeak(['bulk', '--help'], { SFBRIDGE_HEAP: 'default' });
    const rest = await newSpacePeak(['query', '--help']);
    const other = await newSpacePeak(['search', '--help']);
    assert.ok(capped < SMALL && bulkCapped < SMALL, `query --bulk / bulk: new space should stay under ${SMALL} bytes, got ${capped} / ${bulkCapped}`);
    assert.ok(defaults > SMALL, `with SFBRIDGE_HEAP=default V8 should grow new space past ${SMALL} bytes, got ${defaults}`);
    assert.ok(rest > SMALL, `REST query keeps V8's defaults: expected more than ${SMALL} bytes, got ${rest}`);
    assert.ok(other > SMALL, `other commands keep V8's defaults: expected more than ${SMALL} bytes, got ${other}`);
  });
  it('a REST query turns the lean heap on once its first page shows more pages follow; one page, or SFBRIDGE_HEAP=default, keeps V8\'s defaults', async () => {
    const SMALL = 32 * 1024 * 1024;
    const out = join(dir, 'accounts.jsonl');
    const spanning = await newSpacePeak(['query', 'SELECT Id, Name FROM Account', '--output', out]);
    assert.equal((await readFile(out, 'utf8')).trim().split('\n').length, 2100, 'every row exported');
    const onePage = await newSpacePeak(['query', 'SELECT Id, Name FROM Account LIMIT 5', '--output', out]);
    const defaults = await newSpacePeak(['query', 'SELECT Id, Name FROM Account', '--output', out], { SFBRIDGE_HEAP: 'default' });
    assert.ok(spanning < SMALL, `a result that spans pages: new space should stay under ${SMALL} bytes, got ${spanning}`);
    assert.ok(onePage > SMALL, `one page keeps V8's defaults: expected more than ${SMALL} bytes, got ${onePage}`);
    assert.ok(defaults > SMALL, `SFBRIDGE_HEAP=default keeps V8's defaults: expected more than ${SMALL} bytes, got ${defaults}`);
  });

  it('SFBRIDGE_HEAP takes auto, lean or default; an unknown mode exits 2 naming the choices before any command runs', async () => {
    for (const mode of ['auto', 'lean', 'default']) {
      const ok = await bin(['sync', '--help'], { SFBRIDGE_HEAP: mode });
      assert.equal(ok.code, 0, `SFBRIDGE_HEAP=${mode}: ${ok.stderr}`);
      assert.match(ok.stdout, /sfbridge sync/);
    }
    const r = await bin(['sync', '--help'], { SFBRIDGE_HEAP: 'small' });
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /SFBRIDGE_HEAP=small is not a heap mode: use one of auto, lean, default/);
  });
});

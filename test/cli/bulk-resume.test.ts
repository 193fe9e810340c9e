/**
 * Resume after a kill (issue 4): `sfbridge bulk upsert` as a child process against an emulator on a real
 * socket, SIGKILLed right after it prints its second job id, then `sfbridge bulk resume JOB_ID` finishes the
 * run from the manifest. Every input row must end up in exactly one result file, every row must have been
 * processed exactly once (an upsert processed twice would report `sf__Created=false` the second time), and
 * the org must hold exactly the intended records.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { bulkCommand } from '../../src/cli/bulk.ts';
import { SalesforceClient } from '../../src/client/index.ts';
import { EXTRA_OBJECTS } from '../emulator/bulk-helpers.ts';
import { servedOrg, type ServedOrg } from '../helpers/served.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const ROWS = 12_000;
let org: ServedOrg;
let dir: string;
let env: NodeJS.ProcessEnv;

before(async () => {
  org = await servedOrg({ objects: EXTRA_OBJECTS, seed: 'none' } as never);
  dir = await mkdtemp(join(tmpdir(), 'sfb-bulk-resume-'));
  env = { SF_INSTANCE_URL: org.url, SF_CLIENT_ID: org.emu.org.clientId, SF_CLIENT_SECRET: org.emu.org.clientSecret, SFBRIDGE_HOME: dir };
});
after(() => org?.close());

/** Runs the CLI as a child and SIGKILLs it once `killWhen(stdout)`; returns what it printed. */
function runUntil(args: string[], killWhen: (stdout: string) => boolean): Promise<{ stdout: string; killed: boolean; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', MAIN, 'bulk', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    let killed = false;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (!killed && killWhen(stdout)) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (killed || code === 0 ? resolve({ stdout, killed, code }) : reject(new Error(`child exited ${code}: ${stderr}`))));
  });
}

async function cli(argv: string[]) {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (c: Buffer) => (stdout += c.toString()));
  err.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await bulkCommand(argv, { stdout: out, stderr: err, env });
  return { code, stdout, stderr };
}

describe('sfbridge bulk resume after a kill', () => {
  it('killed after its second job id: the jobs left Open are aborted and resent; every row once', () =>
    scenario('open', (out) => (out.match(/job 750\w+ created/g) ?? []).length >= 2));
  it('killed after its first job finished: written jobs kept, closed jobs waited for, the rest sent; every row once', () =>
    scenario('mid', (out) => /job 750\w+: [\d,]+ succeeded/.test(out)));
});

/** Loads ROWS Contacts, kills the load when `killWhen`, resumes by the first job id, checks exactly-once. */
async function scenario(name: string, killWhen: (stdout: string) => boolean): Promise<void> {
  {
    await org.close();
    org = await servedOrg({ objects: EXTRA_OBJECTS, seed: 'none' } as never);
    env = { ...env, SF_INSTANCE_URL: org.url };
    const file = join(dir, `${name}.csv`);
    const keys = Array.from({ length: ROWS }, (_, i) => `K-${i}`);
    await writeFile(file, `LastName,Legacy_Key__c,Title\n${keys.map((k, i) => `Last ${i},${k},${i % 2 ? 'Buyer' : '"Eng, Sr"'}`).join('\n')}\n`);
    const results = join(dir, `results-${name}`);
    const args = ['upsert', '--object', 'Contact', '--external-id', 'Legacy_Key__c', '--file', file, '--results-dir', results, '--max-rows-per-job', '2000', '--concurrency', '2'];
    const first = await runUntil(args, killWhen);
    assert.ok(first.killed, `the load ended before it could be killed:\n${first.stdout}`);
    const jobIds = [...first.stdout.matchAll(/job (750\w+) created/g)].map((m) => m[1]);
    assert.ok(jobIds.length >= 2);

    const resumed = await cli(['resume', jobIds[0], '--results-dir', results]);
    assert.equal(resumed.code, 0, `${resumed.stdout}\n${resumed.stderr}`);
    assert.match(resumed.stdout, /resuming the whole run/);
    // The summary counts the whole run, not only the rows this resume sent.
    assert.match(resumed.stdout, new RegExp(`^run .*: ${ROWS.toLocaleString('en-US')} rows in \\d+ jobs, 0 failed or unprocessed; results in `, 'm'));

    // Every input key exactly once across all result files, all successes, all created (processed once).
    const seen = new Map<string, number>();
    const files = (await readdir(results)).filter((n) => n.endsWith('.csv'));
    for (const name of files) {
      assert.match(name, /^750\w+-success-records\.csv$/, `unexpected result file ${name}`);
      const rows = parse(await readFile(join(results, name), 'utf8'), { columns: true }) as Record<string, string>[];
      for (const r of rows) {
        seen.set(r.Legacy_Key__c, (seen.get(r.Legacy_Key__c) ?? 0) + 1);
        assert.equal(r.sf__Created, 'true', `${r.Legacy_Key__c} in ${name} was processed before`);
      }
    }
    assert.equal(seen.size, ROWS);
    assert.ok([...seen.values()].every((n) => n === 1), 'a row is in more than one result file');
    assert.deepEqual([...seen.keys()].sort(), [...keys].sort());

    // The org: exactly one Contact per input row, with the input's values.
    const sf = new SalesforceClient({ credentials: { kind: 'clientCredentials', instanceUrl: org.url, clientId: org.emu.org.clientId, clientSecret: org.emu.org.clientSecret } });
    const contacts = await sf.query<{ LastName: string; Legacy_Key__c: string; Title: string }>('SELECT LastName, Legacy_Key__c, Title FROM Contact').toArray();
    assert.equal(contacts.length, ROWS);
    const byKey = new Map(contacts.map((c) => [c.Legacy_Key__c, c]));
    assert.equal(byKey.size, ROWS);
    for (const i of [0, 1, 1999, 2000, 7777, ROWS - 1]) assert.deepEqual([byKey.get(`K-${i}`)?.LastName, byKey.get(`K-${i}`)?.Title], [`Last ${i}`, i % 2 ? 'Buyer' : 'Eng, Sr']);

    // The manifest now says done; resuming again changes nothing.
    const again = await cli(['resume', '--manifest', join(results, (await readdir(results)).find((n) => n.startsWith('bulk-run-') && n.endsWith('.json'))!)]);
    assert.equal(again.code, 0);
    assert.match(again.stdout, /already finished/);
  }
}

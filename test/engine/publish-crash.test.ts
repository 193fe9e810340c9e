/**
 * Crash test: a child `sfbridge publish` doing a plain insert (outbox + reconcile by an idempotency key) is
 * killed with SIGKILL at random points, then rerun until it finishes. Salesforce must end with exactly the
 * intended records: none duplicated, none missing. Runs with SQLite and Postgres state stores, on the
 * collections path and on the Bulk API 2.0 path.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { PassThrough } from 'node:stream';
import pg from 'pg';
import { publishCommand } from '../../src/cli/publish.ts';
import { SalesforceClient } from '../../src/client/index.ts';
import { DEFAULT_FAULTS } from '../../src/emulator/faults.ts';
import { schemaFromData } from '../../src/emulator/schema/custom.ts';
import { openStore } from '../../src/store/index.ts';
import { createEmulator } from '../../src/emulator/app.ts';
import { serve } from '../../src/emulator/http/node-server.ts';
import { PG_URL } from '../store/backends.ts';
import { PUBLISH_SCHEMA } from './publish-helpers.ts';

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;
/** Kills per scenario before the run that is left to finish. */
const KILLS = 3;

/** A small deterministic PRNG so a failing run can be reproduced from its seed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** The running child of one scenario, so its emulator can kill it when the chosen write request arrives. */
interface Current {
  run: { child: import('node:child_process').ChildProcess; writes: number; killAt: number | null } | null;
}

/** Writes: collections calls and Bulk API 2.0 job steps (create, upload, close, results). */
const isWrite = (req: Request): boolean => (req.method !== 'GET' && /\/composite\/sobjects|\/jobs\/ingest/.test(new URL(req.url).pathname)) || /\/(successful|failed)Results|unprocessedrecords/.test(req.url);

function runCli(current: Current, args: string[], killAt: number | null): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', MAIN, 'publish', ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, SF_INSTANCE_URL: '', SF_CLIENT_ID: '', SF_CLIENT_SECRET: '' } });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    current.run = { child, writes: 0, killAt };
    child.on('exit', (code, signal) => {
      current.run = null;
      resolve({ code, signal, stderr });
    });
  });
}

const pgSchemas: string[] = [];
after(async () => {
  if (pgSchemas.length === 0) return;
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  for (const s of pgSchemas) await client.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
  await client.end();
});

const scenarios = [
  // writes: roughly how many write requests a full run makes (kill points are drawn from 1..writes).
  { name: 'SQLite state, collections path', n: 1000, writes: 5, store: 'sqlite' as const, seed: 7 },
  { name: 'Postgres state, collections path', n: 1000, writes: 5, store: 'postgres' as const, seed: 11 },
  { name: 'SQLite state, Bulk API 2.0 path', n: 2200, writes: 5, store: 'sqlite' as const, seed: 13 },
];

describe('publisher crash safety (plain insert, killed at random points)', { concurrency: true }, () => {
  for (const sc of scenarios) {
    it(`${sc.name}: exactly the intended records after random kills and reruns`, async (t) => {
      // Latency widens the window between "marked sent" and "answer recorded", where a kill hurts most.
      // The emulator kills the child when the chosen write request arrives, then still executes it: the
      // write lands in Salesforce but its answer is lost, the exact window an outbox must survive.
      const current: Current = { run: null };
      const emu = createEmulator({ objects: schemaFromData(PUBLISH_SCHEMA), faults: { ...DEFAULT_FAULTS, latency: 5 } });
      const server = await serve(async (req: Request) => {
        if (current.run && isWrite(req) && ++current.run.writes === current.run.killAt) current.run.child.kill('SIGKILL');
        return emu.fetch(req);
      }, { port: 0, host: '127.0.0.1' });
      const org = { emu, url: server.url, close: async () => { await server.close(); emu.close(); } };
      try {
        const dir = mkdtempSync(join(tmpdir(), 'sfb-crash-'));
        const input = join(dir, 'in.jsonl');
        const run = randomBytes(3).toString('hex');
        writeFileSync(input, Array.from({ length: sc.n }, (_, i) => JSON.stringify({ LastName: `Crash ${i}`, Idem_Key__c: `${run}-${i}` })).join('\n') + '\n');
        let stateUrl = `sqlite:${join(dir, 'state.db')}`;
        if (sc.store === 'postgres') {
          const schema = `sfbridge_pubcrash_${randomBytes(5).toString('hex')}`;
          pgSchemas.push(schema);
          stateUrl = `${PG_URL}?schema=${schema}`;
        }
        const args = ['--object', 'Contact', '--operation', 'insert', '--match-field', 'Idem_Key__c', '--from', input, '--state', stateUrl, '--results', join(dir, 'results.jsonl'), '--pipeline', 'crash', '--parallel', '1', '--instance-url', org.url, '--client-id', org.emu.org.clientId, '--client-secret', org.emu.org.clientSecret];
        const random = prng(sc.seed);
        const kills: number[] = [];
        for (let k = 0; k < KILLS; k++) {
          const at = 1 + Math.floor(random() * sc.writes);
          const r = await runCli(current, args, at);
          if (r.signal === 'SIGKILL') kills.push(at);
          else assert.equal(r.code, 0, `run ${k} failed: ${r.stderr}`);
        }
        // The rerun that finishes runs in-process (same command code, without another process start-up).
        const err = new PassThrough();
        let errText = '';
        err.on('data', (c: Buffer) => (errText += c.toString()));
        const code = await publishCommand(args, { stdout: new PassThrough(), stderr: err, env: {} });
        assert.equal(code, 0, errText);
        t.diagnostic(`killed on write request #${kills.join(', #')} of successive runs; then a run completed`);
        assert.ok(kills.length >= 1, 'the publisher was killed at least once');

        const client = new SalesforceClient({ credentials: { kind: 'clientCredentials', instanceUrl: org.url, clientId: org.emu.org.clientId, clientSecret: org.emu.org.clientSecret } });
        const keys = new Map<string, number>();
        for await (const r of client.query(`SELECT Id, Idem_Key__c FROM Contact WHERE Idem_Key__c LIKE '${run}-%'`)) keys.set(String(r.Idem_Key__c), (keys.get(String(r.Idem_Key__c)) ?? 0) + 1);
        assert.equal(keys.size, sc.n, 'none missing');
        assert.ok([...keys.values()].every((c) => c === 1), 'no duplicate');
        // Idem_Key__c is unique in the schema; count all Crash contacts too in case a key was lost.
        const all = await client.count(`SELECT COUNT() FROM Contact WHERE LastName LIKE 'Crash %'`);
        assert.equal(all, sc.n);
        const store = await openStore(stateUrl);
        const counts = await (await store.publishState()).outboxCounts('crash');
        await store.close();
        assert.deepEqual(counts, { pending: 0, sent: 0, succeeded: sc.n, failed: 0 });
      } finally {
        await org.close();
      }
    });
  }
});

/**
 * The kill harness shared by the publisher's SIGKILL test and bench/publish-kill.ts: a real `sfbridge publish`
 * child process doing a plain insert into an emulator served over a real socket, killed with SIGKILL at random
 * points and rerun until one run finishes. Kill points are either the arrival of the n-th write request (the
 * emulator then still executes it: the write lands in Salesforce but its answer is lost, the window an outbox
 * must survive) or a random moment (anywhere in the run: reading input, outbox commits, waits).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SalesforceClient } from '../../src/client/index.ts';
import { createEmulator, type Emulator } from '../../src/emulator/app.ts';
import { DEFAULT_FAULTS } from '../../src/emulator/faults.ts';
import { serve } from '../../src/emulator/http/node-server.ts';
import { schemaFromData } from '../../src/emulator/schema/custom.ts';
import { openStore } from '../../src/store/index.ts';
import { PUBLISH_SCHEMA } from '../engine/publish-helpers.ts';

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;

/** A small deterministic PRNG so a failing trial can be reproduced from its seed. */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Writes: collections calls and Bulk API 2.0 job steps (create, upload, close, results). */
const isWrite = (req: Request): boolean => (req.method !== 'GET' && /\/composite\/sobjects|\/jobs\/ingest/.test(new URL(req.url).pathname)) || /\/(successful|failed)Results|unprocessedrecords/.test(req.url);

export interface KillScenario {
  /** Rows in the input file. */
  n: number;
  /** Kills before the run left to finish. */
  kills: number;
  seed: number;
  /** Extra `publish` flags (e.g. `--idempotency-field Idem_Key__c`, `--state URL`, `--path bulk`). */
  flags: string[];
  /** Roughly how many write requests a full run makes: request kill points are drawn from 1..writes. */
  writes: number;
  /** Longest random delay (ms) of a timed kill. */
  maxDelayMs: number;
  /** Kill points: on write requests, at random moments, or either (default). */
  mode?: 'request' | 'timer' | 'mixed';
}

export interface KillOutcome {
  /** Contacts of this trial in the org. */
  records: number;
  /** Distinct input rows among them (records − distinct = duplicates). */
  distinct: number;
  /** Open dead letters after the final run. */
  deadLetters: number;
  /** Kill points that hit a running child ("write #3", "after 412 ms"). */
  killed: string[];
  /** Exit code of the final run. */
  finalCode: number | null;
  finalStderr: string;
  /** Outbox states after the final run. */
  outbox: Record<string, number>;
  /** The working directory (its ./data holds the default state). */
  dir: string;
  org: { url: string; clientId: string; clientSecret: string };
  emulator: Emulator;
  close: () => Promise<void>;
}

/** Runs one scenario; the caller closes the outcome (`close()`), which stops the emulator. */
export async function killTrial(sc: KillScenario): Promise<KillOutcome> {
  const current: { child: ChildProcess | null; writes: number; killAt: number | null } = { child: null, writes: 0, killAt: null };
  // Latency widens the window between "marked sent" and "answer recorded", where a kill hurts most.
  const emu = createEmulator({ objects: schemaFromData(PUBLISH_SCHEMA), faults: { ...DEFAULT_FAULTS, latency: 5 } });
  const server = await serve(async (req: Request) => {
    if (current.child && isWrite(req) && ++current.writes === current.killAt) current.child.kill('SIGKILL');
    return emu.fetch(req);
  }, { port: 0, host: '127.0.0.1' });
  const org = { url: server.url, clientId: emu.org.clientId, clientSecret: emu.org.clientSecret };
  const close = async (): Promise<void> => {
    await server.close();
    emu.close();
  };
  try {
    return await trial(sc, current, org, emu, close);
  } catch (err) {
    await close();
    throw err;
  }
}

async function trial(
  sc: KillScenario,
  current: { child: ChildProcess | null; writes: number; killAt: number | null },
  org: KillOutcome['org'],
  emu: Emulator,
  close: () => Promise<void>,
): Promise<KillOutcome> {
  const dir = mkdtempSync(join(tmpdir(), 'sfb-kill-'));
  const run = randomBytes(3).toString('hex');
  writeFileSync(join(dir, 'in.jsonl'), Array.from({ length: sc.n }, (_, i) => JSON.stringify({ LastName: `Kill ${run} ${i}`, Email: `k${i}@example.com` })).join('\n') + '\n');
  const args = ['publish', '--object', 'Contact', '--operation', 'insert', '--from', 'in.jsonl', '--parallel', '2', '--instance-url', org.url, '--client-id', org.clientId, '--client-secret', org.clientSecret, ...sc.flags];
  const runChild = (killAt: number | null, delayMs: number | null): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', MAIN, ...args], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, SF_INSTANCE_URL: '', SF_CLIENT_ID: '', SF_CLIENT_SECRET: '', SFBRIDGE_HOME: join(dir, 'home') } });
      let stderr = '';
      child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
      Object.assign(current, { child, writes: 0, killAt });
      const timer = delayMs === null ? null : setTimeout(() => child.kill('SIGKILL'), delayMs);
      child.on('exit', (code, signal) => {
        if (timer) clearTimeout(timer);
        current.child = null;
        resolve({ code, signal, stderr });
      });
    });
  const random = prng(sc.seed);
  const killed: string[] = [];
  for (let k = 0; k < sc.kills; k++) {
    const byRequest = sc.mode === 'request' ? true : sc.mode === 'timer' ? false : random() < 0.5;
    const at = 1 + Math.floor(random() * sc.writes);
    // Child start-up (~1 s under load) comes first: timed kills aim past it, into the run.
    const delay = 800 + Math.floor(random() * sc.maxDelayMs);
    const r = await runChild(byRequest ? at : null, byRequest ? null : delay);
    if (r.signal === 'SIGKILL') killed.push(byRequest ? `write #${at}` : `after ${delay} ms`);
    // Exit 1 is a finished run with dead letters (unknown outcomes it would not resend); anything else is a bug.
    else if (r.code !== 0 && r.code !== 1) throw new Error(`run ${k} exited ${r.code}: ${r.stderr}`);
  }
  const final = await runChild(null, null);
  const client = new SalesforceClient({ credentials: { kind: 'clientCredentials', instanceUrl: org.url, clientId: org.clientId, clientSecret: org.clientSecret } });
  const names = new Set<string>();
  let records = 0;
  for await (const r of client.query(`SELECT Id, LastName FROM Contact WHERE LastName LIKE 'Kill ${run} %'`)) {
    records++;
    names.add(String(r.LastName));
  }
  // The child ran in `dir`: a relative SQLite path is relative to it.
  const given = sc.flags.includes('--state') ? sc.flags[sc.flags.indexOf('--state') + 1] : 'sqlite:./data/publish.db';
  const stateUrl = given.startsWith('sqlite:') ? `sqlite:${resolve(dir, given.slice('sqlite:'.length))}` : given;
  const store = await openStore(stateUrl);
  const state = await store.publishState();
  const deadLetters = (await state.listDeadLetters({ status: 'open', limit: 100_000 })).length;
  const pipeline = sc.flags.includes('--pipeline') ? sc.flags[sc.flags.indexOf('--pipeline') + 1] : 'cli:Contact:insert:in.jsonl';
  const outbox = await state.outboxCounts(pipeline);
  await store.close();
  return {
    records,
    distinct: names.size,
    deadLetters,
    killed,
    finalCode: final.code,
    finalStderr: final.stderr,
    outbox,
    dir,
    org,
    emulator: emu,
    close,
  };
}

/** Runs `sfbridge <args>` in `dir` to completion. */
export function runSfbridge(dir: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', MAIN, ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SF_INSTANCE_URL: '', SF_CLIENT_ID: '', SF_CLIENT_SECRET: '', SFBRIDGE_HOME: join(dir, 'home') } });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * Change → mirror latency of `sfbridge sync --cdc` against polling (`sfbridge sync --interval 1s`), same load:
 * R record changes per second (default 200) for S seconds (default 60) through REST, 80% updates of distinct
 * seeded Accounts and 20% creates, each marked with a unique Description. Both syncs are the real CLI in a
 * child process on a SQLite file, against the emulator CLI in another child (REST over HTTP, Pub/Sub over
 * gRPC). For each mode it prints:
 * - latency from the write's response to the row (with its new value) present in the mirror: p50, p99, max
 *   (the mirror file is read every 10 ms, which adds up to 10 ms);
 * - peak RSS of the sync process while the changes flow;
 * - API calls the sync made while the changes flowed (the emulator's API counter minus the writes), and all
 *   HTTP requests the sync made in that window (token calls included);
 * - machine load (`uptime`) before and after.
 *
 *   npx node --disable-warning=ExperimentalWarning bench/cdc.ts [--rate 200] [--seconds 60] [--seed 12000] [--only cdc|poll]
 */
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { mb, percentile, procRss, ROOT, startEmulator } from './lib.ts';

const { values } = parseArgs({ options: { rate: { type: 'string', default: '200' }, seconds: { type: 'string', default: '60' }, seed: { type: 'string', default: '12000' }, only: { type: 'string' } } });
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const SEED = Number(values.seed);
const modes = (['cdc', 'poll'] as const).filter((m) => !values.only || values.only === m);
const uptime = () => execFileSync('uptime', { encoding: 'utf8' }).trim();

interface Result { mode: string; changes: number; seen: number; p50: number; p99: number; max: number; rss: number; apiCalls: number; requests: number; loadBefore: string; loadAfter: string }

async function measure(mode: 'cdc' | 'poll'): Promise<Result> {
  const loadBefore = uptime();
  const emu = await startEmulator(['--seed', `Account=${SEED}`, '--pubsub-port', '0']);
  const dir = mkdtempSync(join(tmpdir(), 'sfbridge-bench-cdc-'));
  const db = join(dir, 'mirror.db');
  const env = {
    PATH: process.env.PATH, HOME: dir, SFBRIDGE_HOME: dir,
    SF_INSTANCE_URL: emu.url, SF_CLIENT_ID: 'sfbridge-emulator', SF_CLIENT_SECRET: 'sfbridge-emulator-secret',
    SF_PUBSUB_ENDPOINT: emu.pubsub, SF_PUBSUB_PLAINTEXT: '1',
  };
  const args = ['sync', '--objects', 'Account', '--to', `sqlite:${db}`, '--json', ...(mode === 'cdc' ? ['--cdc'] : ['--interval', '1s'])];
  console.error(`${mode}: sfbridge ${args.join(' ')}`);
  const child = spawn(process.execPath, ['bin/sfbridge.js', ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-20_000)));
  const ready = () => (mode === 'cdc' ? err.includes('following change events') : /"status":"succeeded"/.test(out));
  for (let i = 0; !ready(); i++) {
    if (child.exitCode !== null || i > 6000) throw new Error(`${mode}: the sync did not start:\n${out}\n${err}`);
    await sleep(20);
  }
  await sleep(1500);
  const stats = async () => (await (await fetch(`${emu.url}/__emulator/stats`)).json()) as { apiUsage: number; requests: number };
  // Seeded Account Ids to update (one change per row, so each row's value marks one change).
  const ids: string[] = [];
  {
    let next: string | null = `/services/data/v62.0/query?q=${encodeURIComponent('SELECT Id FROM Account ORDER BY Id')}`;
    while (next) {
      const page = (await (await emu.api(next)).json()) as { records: { Id: string }[]; nextRecordsUrl?: string };
      ids.push(...page.records.map((r) => r.Id));
      next = page.nextRecordsUrl ?? null;
    }
  }
  const mirror = new DatabaseSync(db, { readOnly: true });
  mirror.exec('PRAGMA busy_timeout = 5000');
  const table = String((mirror.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND lower(name) = 'account'").get() as { name: string }).name);
  const pending = new Map<string, { token: string; at: number }>();
  const latencies: number[] = [];
  let peak = 0;
  const rssTimer = setInterval(() => (peak = Math.max(peak, procRss(child.pid!) || 0)), 100);
  let polling = true;
  const poller = (async () => {
    while (polling || pending.size) {
      if (pending.size) {
        const now = Date.now();
        const keys = [...pending.keys()];
        for (let i = 0; i < keys.length; i += 500) {
          const chunk = keys.slice(i, i + 500);
          const rows = mirror.prepare(`SELECT "Id", "Description" FROM "${table}" WHERE "Id" IN (${chunk.map(() => '?').join(',')})`).all(...chunk) as { Id: string; Description: string | null }[];
          for (const r of rows) {
            const p = pending.get(r.Id);
            if (p && r.Description === p.token) {
              latencies.push(now - p.at);
              pending.delete(r.Id);
            }
          }
        }
      }
      await sleep(10);
    }
  })();
  const s0 = await stats();
  const total = RATE * SECONDS;
  let writes = 0;
  let failures = 0;
  const inflight = new Set<Promise<void>>();
  const started = performance.now();
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    while (inflight.size >= 64) await Promise.race(inflight);
    const token = `${mode}-${i}`;
    const create = i % 5 === 4 || i >= ids.length;
    const p = (async () => {
      const res = create
        ? await emu.api('/services/data/v62.0/sobjects/Account', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ Name: `Bench ${token}`, Description: token }) })
        : await emu.api(`/services/data/v62.0/sobjects/Account/${ids[i]}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ Description: token }) });
      const at = Date.now();
      writes++;
      if (!res.ok) {
        failures++;
        return;
      }
      const id = create ? ((await res.json()) as { id: string }).id : ids[i];
      if (!create) await res.arrayBuffer();
      pending.set(id, { token, at });
    })();
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
  }
  await Promise.all(inflight);
  const writeSeconds = (performance.now() - started) / 1000;
  // Wait for the mirror to catch up (at most 60 s), then read the counters.
  for (let i = 0; pending.size && i < 6000; i++) await sleep(10);
  const s1 = await stats();
  polling = false;
  await poller;
  clearInterval(rssTimer);
  const loadAfter = uptime();
  child.kill('SIGINT');
  await new Promise((r) => child.once('exit', r));
  mirror.close();
  await emu.stop();
  rmSync(dir, { recursive: true, force: true });
  if (failures) console.error(`${mode}: ${failures} writes failed`);
  console.error(`${mode}: ${writes} writes in ${writeSeconds.toFixed(1)} s; ${pending.size} changes never seen`);
  // Requests in the window: the writes, the two stats reads (counted by the emulator) and the sync's own.
  return {
    mode, changes: total, seen: latencies.length,
    p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: Math.max(...latencies),
    rss: peak, apiCalls: s1.apiUsage - s0.apiUsage - writes, requests: s1.requests - s0.requests - writes - 1,
    loadBefore, loadAfter,
  };
}

const results: Result[] = [];
for (const mode of modes) results.push(await measure(mode));
console.log(`\n${RATE} changes/s for ${SECONDS} s (80% updates of distinct rows, 20% creates), Account seeded with ${SEED} rows\n`);
console.log('| Sync | Changes seen | p50 | p99 | max | Peak RSS (sync) | API calls beyond writes + auth | All sync requests in the window |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of results) {
  console.log(`| ${r.mode === 'cdc' ? '`sync --cdc`' : '`sync --interval 1s`'} | ${r.seen}/${r.changes} | ${r.p50} ms | ${r.p99} ms | ${r.max} ms | ${mb(r.rss)} | ${r.apiCalls} | ${r.requests} |`);
}
for (const r of results) console.log(`\n${r.mode}: load before: ${r.loadBefore}\n${r.mode}: load after:  ${r.loadAfter}`);

/**
 * Sync throughput benchmark: emulator (child process, real socket) → SQLite file.
 *
 *   npx node bench/sync.ts [--seed Account=250000,Contact=500000,Opportunity=250000] [--order raw-first|sync-first]
 *                          [--repeat N] [--bulk-threshold 2000] [--batch-size N] [--db PATH] [--json FILE]
 *                          [--store postgres://…] [--cli]
 *
 * --store syncs into that store instead of a fresh SQLite file (a Postgres URL: a schema named for the run is
 * created and dropped). --cli then also runs the whole sync as a user starts it, `bin/sfbridge sync --objects …
 * --to URL --once` into a fresh store (a child process, the README's launcher, no flags), under GNU time: wall,
 * CPU and peak RSS of that process.
 *
 * Measures, for the same objects and fields, object by object (an untimed warm-up raw read of the object, then
 * its timed raw read and sync in the given order; with --repeat, repetitions alternate the order, each into a
 * fresh SQLite file, and the median ratio is reported):
 * - a raw read (the reads the sync makes — Bulk for big objects, in the same Id-range chunks, REST otherwise —
 *   with records discarded);
 * - the initial sync (reads + mirror writes + checkpoints): records/s, peak RSS of this process during the
 *   sync phases (and, apart, during the raw reads);
 * - the ratio sync time / raw read time (goal ≤ 1.15);
 * - for comparison, the same records read as one unchunked Bulk job per object, and sync / that;
 * - an idle incremental cycle: API calls per object (goal ≤ 1).
 * --json FILE also writes these figures as JSON (what bench/charts.ts draws); the printed output is the same.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { MemoryDescribeCache, SalesforceClient } from '../src/client/index.ts';
import { SyncEvents } from '../src/engine/events.ts';
import { bulkOf } from '../src/engine/sync/bulk.ts';
import { changeQuery } from '../src/engine/sync/cursor.ts';
import { bulkExport, planChunks } from '../src/engine/sync/export.ts';
import { runSync } from '../src/engine/sync/runner.ts';
import { objectSchema } from '../src/engine/sync/schema.ts';
import { openStore } from '../src/store/index.ts';
import { mb, ROOT, startEmulator } from './lib.ts';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: 'Account=250000,Contact=500000,Opportunity=250000' },
    'bulk-threshold': { type: 'string', default: '2000' },
    db: { type: 'string' },
    'batch-size': { type: 'string' },
    // Which of the two goes first for each object. The second benefits from the emulator having just
    // served the same table (its page cache, JIT), so run both orders and compare.
    order: { type: 'string', default: 'raw-first' },
    // Repetitions, alternating the order (the first uses --order); the median ratio is reported.
    repeat: { type: 'string', default: '1' },
    store: { type: 'string' },
    cli: { type: 'boolean', default: false },
    json: { type: 'string' },
  },
});
const seed = values.seed!;
const objects = seed.split(',').map((p) => p.split('=')[0].trim());
const threshold = Number(values['bulk-threshold']);
const batchSize = values['batch-size'] ? Number(values['batch-size']) : undefined;
type Order = 'raw-first' | 'sync-first';
const order = values.order as Order;
if (order !== 'raw-first' && order !== 'sync-first') throw new Error(`--order must be raw-first or sync-first, got ${order}`);
const repeat = Number(values.repeat);
if (!Number.isInteger(repeat) || repeat < 1) throw new Error(`--repeat must be a whole number ≥ 1, got ${values.repeat}`);
const dir = values.db ? undefined : mkdtempSync(join(tmpdir(), 'sfbridge-bench-sync-'));
const dbPath = values.db ?? join(dir!, 'mirror.db');
const pgBase = values.store;
if (pgBase && !pgBase.startsWith('postgres')) throw new Error(`--store must be a postgres:// URL (SQLite is the default), got ${pgBase}`);
/** A fresh store URL for one repetition (SQLite file removed first; Postgres: a new schema). */
const schemas: string[] = [];
function freshStore(tag: string): string {
  if (pgBase) {
    const schema = `bench_sync_${process.pid}_${tag}`;
    schemas.push(schema);
    return `${pgBase}${pgBase.includes('?') ? '&' : '?'}schema=${schema}`;
  }
  rmSync(dbPath, { force: true });
  rmSync(`${dbPath}-wal`, { force: true });
  rmSync(`${dbPath}-shm`, { force: true });
  return `sqlite:${dbPath}`;
}

let peakRss = 0;
/** memoryUsage() at the RSS peak: says whether the peak is JS heap, buffers or native (SQLite) memory. */
let atPeak: NodeJS.MemoryUsage | undefined;
const sampler = setInterval(() => {
  const m = process.memoryUsage();
  if (m.rss > peakRss) {
    peakRss = m.rss;
    atPeak = m;
  }
}, 50);
sampler.unref();

console.log(`seeding emulator (child process): ${seed}`);
const t0 = performance.now();
const emu = await startEmulator(['--seed', seed]);
console.log(`emulator ready in ${((performance.now() - t0) / 1000).toFixed(1)} s at ${emu.url}`);

/** HTTP requests to the data API (every one is an API call on Salesforce), counted at the wire. */
let dataCalls = 0;
const newClient = () => new SalesforceClient({
  credentials: { kind: 'clientCredentials', instanceUrl: emu.url, clientId: 'sfbridge-emulator', clientSecret: 'sfbridge-emulator-secret' },
  describeCache: new MemoryDescribeCache(),
  fetch: (input, init) => {
    if (String(input instanceof Request ? input.url : input).includes('/services/data/')) dataCalls++;
    return fetch(input, init);
  },
});

/** Raw read of one object: the same queries the sync plans (COUNT, then Bulk or REST), records dropped. */
async function rawRead(client: SalesforceClient, object: string, oneJob = false): Promise<number> {
  let n = 0;
  const fields = objectSchema(await client.describe(object)).fields;
  const count = await client.count(`SELECT COUNT() FROM ${object}`);
  const bulk = bulkOf(client);
  if (count >= threshold && bulk) {
    // The export the sync makes: the same Id-range chunks, the next chunks' jobs created once one is complete.
    // With `oneJob`, the whole object as a single job instead (how the export ran before it was chunked).
    const bounds = oneJob ? [] : await planChunks(client, object, count);
    for await (const b of bulkExport(bulk, { object, select: fields, bounds, batchSize: 1000, chunkRecords: Math.ceil(count / (bounds.length + 1)) })) n += b.records.length;
  } else {
    for await (const _ of client.query(changeQuery(object, fields, undefined))) n++;
  }
  return n;
}

/** Peak RSS during the sync phases and during the raw-read phases, kept apart. */
const peaks = { sync: 0, raw: 0 };
let syncAtPeak: NodeJS.MemoryUsage | undefined;
/** CPU seconds (user + system) used so far by a process, from /proc (Linux), or NaN. */
function procCpuSeconds(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}
/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on Linux). */
const CLOCK_TICKS = 100;
/** CPU seconds per phase, this process and the emulator: says which side is busy and which waits. */
const cpu = { sync: { self: 0, emu: 0, wall: 0 }, raw: { self: 0, emu: 0, wall: 0 } };
async function phase<T>(which: 'sync' | 'raw', fn: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  peakRss = process.memoryUsage().rss;
  atPeak = undefined;
  const c0 = process.cpuUsage();
  const e0 = procCpuSeconds(emu.child.pid!);
  const t = performance.now();
  const value = await fn();
  const seconds = (performance.now() - t) / 1000;
  const c1 = process.cpuUsage(c0);
  cpu[which].self += (c1.user + c1.system) / 1e6;
  cpu[which].emu += procCpuSeconds(emu.child.pid!) - e0;
  cpu[which].wall += seconds;
  if (peakRss > peaks[which]) {
    peaks[which] = peakRss;
    if (which === 'sync') syncAtPeak = atPeak;
  }
  return { value, seconds };
}

/** Median of a non-empty list. */
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

interface Repetition {
  order: Order;
  syncSeconds: number;
  rawSeconds: number;
  /** The raw read as a single unchunked Bulk job (reported beside the ratio). */
  oneJobSeconds: number;
  warmSeconds: number;
  written: number;
  rawRecords: number;
  apiCalls: number;
  ratio: number;
  perObject: { object: string; ratio: number }[];
}

const repetitions: Repetition[] = [];
let lastStore: Awaited<ReturnType<typeof openStore>> | undefined;
try {
  const rawClient = newClient();
  const syncClient = newClient();
  for (let r = 0; r < repeat; r++) {
    // Alternate the order between repetitions, so that whatever the warm-up does not absorb shows up as a
    // spread between repetitions rather than as a bias of one side.
    const ord: Order = r % 2 === 0 ? order : order === 'raw-first' ? 'sync-first' : 'raw-first';
    // Each repetition is an initial load: a fresh SQLite file.
    await lastStore?.close();
    lastStore = undefined;
    const store = await openStore(freshStore(`r${r}`));
    lastStore = store;
    const events = new SyncEvents();
    const rep: Repetition = { order: ord, syncSeconds: 0, rawSeconds: 0, oneJobSeconds: 0, warmSeconds: 0, written: 0, rawRecords: 0, apiCalls: 0, ratio: 0, perObject: [] };
    const load0 = loadavg()[0];
    console.log(`repetition ${r + 1}/${repeat}, order ${ord}`);
    for (const object of objects) {
      // Discarded warm-up: whichever side ran first used to pay for the emulator's cold table and page cache,
      // the Bulk job path and the JIT (the same code measured 1.09 or 1.55 depending on the order). One
      // untimed raw read of the object puts both timed sides on an equal, warm footing.
      const tw = performance.now();
      await rawRead(rawClient, object);
      rep.warmSeconds += (performance.now() - tw) / 1000;
      const doRaw = () => phase('raw', () => rawRead(rawClient, object));
      const doSync = () => phase('sync', () => runSync({ client: syncClient, store, objects: [object], events, bulkThreshold: threshold, lagMs: 0, batchSize }));
      let raw: Awaited<ReturnType<typeof doRaw>>;
      let sync: Awaited<ReturnType<typeof doSync>>;
      if (ord === 'raw-first') {
        raw = await doRaw();
        sync = await doSync();
      } else {
        sync = await doSync();
        raw = await doRaw();
      }
      rep.rawRecords += raw.value;
      rep.rawSeconds += raw.seconds;
      // For comparison, not part of the ratio: the same records read as one Bulk job, unchunked.
      const t1 = performance.now();
      await rawRead(rawClient, object, true);
      rep.oneJobSeconds += (performance.now() - t1) / 1000;
      const run = sync.value;
      if (run.status !== 'succeeded') throw new Error(`sync ${run.status}: ${run.error}`);
      rep.syncSeconds += sync.seconds;
      rep.apiCalls += run.apiCalls;
      rep.perObject.push({ object, ratio: sync.seconds / raw.seconds });
      for (const o of run.objects) {
        rep.written += o.written;
        console.log(`  ${o.object.padEnd(12)} ${o.mode.padEnd(5)} ${o.written.toLocaleString('en-US').padStart(10)} rows: sync ${sync.seconds.toFixed(1)} s, raw read ${raw.seconds.toFixed(1)} s, ratio ${(sync.seconds / raw.seconds).toFixed(2)} (load average ${loadavg()[0].toFixed(1)})`);
      }
    }
    rep.ratio = rep.syncSeconds / rep.rawSeconds;
    repetitions.push(rep);
    console.log(`  initial sync: ${rep.written.toLocaleString('en-US')} records in ${rep.syncSeconds.toFixed(1)} s (${Math.round(rep.written / rep.syncSeconds).toLocaleString('en-US')} records/s), ${rep.apiCalls} API calls`);
    console.log(`  raw read: ${rep.rawRecords.toLocaleString('en-US')} records in ${rep.rawSeconds.toFixed(1)} s (${Math.round(rep.rawRecords / rep.rawSeconds).toLocaleString('en-US')} records/s); untimed warm-up reads ${rep.warmSeconds.toFixed(1)} s`);
    console.log(`  the same read as one unchunked Bulk job per object: ${rep.oneJobSeconds.toFixed(1)} s; sync / that: ${(rep.syncSeconds / rep.oneJobSeconds).toFixed(2)}`);
    console.log(`  ratio sync / raw read: ${rep.ratio.toFixed(2)} (order ${ord}; load average ${load0.toFixed(1)} at start, ${loadavg()[0].toFixed(1)} at end)`);
  }
  // RSS rarely shrinks once grown, so after the first pair the two phase peaks mostly repeat the process's peak.
  console.log(`peak RSS of the process: ${mb(Math.max(peaks.sync, peaks.raw))} (reached in a ${peaks.sync >= peaks.raw ? 'sync' : 'raw-read'} phase)`);
  if (syncAtPeak) console.log(`  at the sync RSS peak: heap used ${mb(syncAtPeak.heapUsed)} of ${mb(syncAtPeak.heapTotal)}, external ${mb(syncAtPeak.external)} (array buffers ${mb(syncAtPeak.arrayBuffers)})`);
  for (const w of ['raw', 'sync'] as const) {
    const c = cpu[w];
    console.log(`  CPU in ${w} phases: this process ${c.self.toFixed(1)} s (${((100 * c.self) / c.wall).toFixed(0)}% of ${c.wall.toFixed(1)} s wall), emulator ${c.emu.toFixed(1)} s (${((100 * c.emu) / c.wall).toFixed(0)}%)`);
  }
  const ratios = repetitions.map((x) => x.ratio);
  console.log(`ratio sync / raw read: median ${median(ratios).toFixed(2)} over ${repeat} repetition(s) [${repetitions.map((x) => `${x.ratio.toFixed(2)} ${x.order}`).join(', ')}] (goal ≤ 1.15, issue 14)`);
  console.log(`  per object, median: ${objects.map((o) => `${o} ${median(repetitions.map((x) => x.perObject.find((p) => p.object === o)!.ratio)).toFixed(2)}`).join(', ')}`);
  console.log(`  sync median ${median(repetitions.map((x) => x.syncSeconds)).toFixed(1)} s, raw read median ${median(repetitions.map((x) => x.rawSeconds)).toFixed(1)} s; one-job raw read median ${median(repetitions.map((x) => x.oneJobSeconds)).toFixed(1)} s (sync / that: median ${median(repetitions.map((x) => x.syncSeconds / x.oneJobSeconds)).toFixed(2)})`);
  // Idle incremental cycle on the last repetition's mirror: nothing changed.
  const before = dataCalls;
  const idle = await runSync({ client: newClient(), store: lastStore!, objects, events: new SyncEvents(), lagMs: 0 });
  if (values.json) {
    const figures = {
      bench: 'sync',
      command: `npx node bench/sync.ts ${process.argv.slice(2).join(' ')}`.trim(),
      date: new Date().toISOString(),
      seed,
      repetitions: repetitions.map((x) => ({ ...x, recordsPerSecond: Math.round(x.written / x.syncSeconds), rawRecordsPerSecond: Math.round(x.rawRecords / x.rawSeconds) })),
      ratioMedian: median(ratios),
      peakRssBytes: Math.max(peaks.sync, peaks.raw),
      cpuSeconds: cpu,
      idle: { objects: objects.length, apiCalls: idle.apiCalls, wireRequests: dataCalls - before, seconds: idle.seconds },
    };
    writeFileSync(values.json, `${JSON.stringify(figures, null, 2)}\n`);
  }
  console.log(`idle incremental cycle: ${idle.apiCalls} governed API calls for ${objects.length} objects (${(idle.apiCalls / objects.length).toFixed(2)} per object); ${dataCalls - before} data API requests on the wire (the governor reads its first usage figure from the first response, so no /limits call), ${idle.seconds.toFixed(2)} s`);
  if (values.cli) {
    await lastStore?.close();
    lastStore = undefined;
    const url = freshStore('cli');
    const t0 = performance.now();
    const load = loadavg()[0];
    const child = spawn('/usr/bin/time', ['-f', 'bench-time=%U %S %M', 'bin/sfbridge', 'sync', '--objects', objects.join(','), '--to', url, '--once', '--bulk-threshold', String(threshold)], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, SF_INSTANCE_URL: emu.url, SF_CLIENT_ID: 'sfbridge-emulator', SF_CLIENT_SECRET: 'sfbridge-emulator-secret', NODE_OPTIONS: '', SFBRIDGE_HOME: dir ?? tmpdir() },
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    const m = /bench-time=([\d.]+) ([\d.]+) (\d+)/.exec(err);
    if (code !== 0 || !m) throw new Error(`sfbridge sync exited with ${code}: ${err.slice(-2000)}`);
    console.log(`CLI \`bin/sfbridge sync --objects ${objects.join(',')} --to ${pgBase ? 'postgres' : 'sqlite'} --once\`: wall ${((performance.now() - t0) / 1000).toFixed(1)} s, CPU ${(Number(m[1]) + Number(m[2])).toFixed(1)} s, peak RSS ${(Number(m[3]) / 1024).toFixed(0)} MB (goal ≤ 150 MB; load average ${load.toFixed(1)} at start, ${loadavg()[0].toFixed(1)} at end)`);
  }
} finally {
  await lastStore?.close();
  await emu.stop();
  if (pgBase && schemas.length) {
    const pg = (await import('pg')).default;
    const c = new pg.Client({ connectionString: pgBase });
    await c.connect();
    for (const schema of schemas) await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await c.end();
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
}

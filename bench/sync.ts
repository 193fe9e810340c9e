/**
 * Sync throughput benchmark: emulator (child process, real socket) → SQLite file.
 *
 *   npx node bench/sync.ts [--seed Account=250000,Contact=500000,Opportunity=250000] [--order raw-first|sync-first]
 *                          [--bulk-threshold 2000] [--batch-size N] [--db PATH]
 *
 * Measures, for the same objects and fields, object by object (raw read of an object, then its sync):
 * - a raw read (the reads the sync makes — Bulk for big objects, REST otherwise — with records discarded);
 * - the initial sync (reads + mirror writes + checkpoints): records/s, peak RSS of this process during the
 *   sync phases (and, apart, during the raw reads);
 * - the ratio sync time / raw read time (goal ≤ 1.3);
 * - an idle incremental cycle: API calls per object (goal ≤ 1).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { MemoryDescribeCache, SalesforceClient } from '../src/client/index.ts';
import { SyncEvents } from '../src/engine/events.ts';
import { bulkOf } from '../src/engine/sync/bulk.ts';
import { changeQuery } from '../src/engine/sync/cursor.ts';
import { BULK_PAGE_RECORDS, runSync } from '../src/engine/sync/runner.ts';
import { objectSchema } from '../src/engine/sync/schema.ts';
import { openStore } from '../src/store/index.ts';
import { mb, startEmulator } from './lib.ts';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: 'Account=250000,Contact=500000,Opportunity=250000' },
    'bulk-threshold': { type: 'string', default: '2000' },
    db: { type: 'string' },
    'batch-size': { type: 'string' },
    // Which of the two goes first for each object. The second benefits from the emulator having just
    // served the same table (its page cache, JIT), so run both orders and compare.
    order: { type: 'string', default: 'raw-first' },
  },
});
const seed = values.seed!;
const objects = seed.split(',').map((p) => p.split('=')[0].trim());
const threshold = Number(values['bulk-threshold']);
const batchSize = values['batch-size'] ? Number(values['batch-size']) : undefined;
const order = values.order!;
if (order !== 'raw-first' && order !== 'sync-first') throw new Error(`--order must be raw-first or sync-first, got ${order}`);
const dir = values.db ? undefined : mkdtempSync(join(tmpdir(), 'sfbridge-bench-sync-'));
const dbPath = values.db ?? join(dir!, 'mirror.db');

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
async function rawRead(client: SalesforceClient, object: string): Promise<number> {
  let n = 0;
  const fields = objectSchema(await client.describe(object)).fields;
  const count = await client.count(`SELECT COUNT() FROM ${object}`);
  const bulk = bulkOf(client);
  if (count >= threshold && bulk) {
    for await (const _ of bulk.query(`SELECT ${fields.join(', ')} FROM ${object}`, { maxRecords: BULK_PAGE_RECORDS })) n++;
  } else {
    for await (const _ of client.query(changeQuery(object, fields, undefined))) n++;
  }
  return n;
}

/** Peak RSS during the sync phases and during the raw-read phases, kept apart. */
const peaks = { sync: 0, raw: 0 };
let syncAtPeak: NodeJS.MemoryUsage | undefined;
async function phase<T>(which: 'sync' | 'raw', fn: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  peakRss = process.memoryUsage().rss;
  atPeak = undefined;
  const t = performance.now();
  const value = await fn();
  const seconds = (performance.now() - t) / 1000;
  if (peakRss > peaks[which]) {
    peaks[which] = peakRss;
    if (which === 'sync') syncAtPeak = atPeak;
  }
  return { value, seconds };
}

try {
  // Initial sync into a fresh SQLite file. Object by object, each right after the raw read of the same
  // object, so both see the same machine load (this machine is shared; load swings by 3x within minutes).
  rmSync(dbPath, { force: true });
  const store = await openStore(`sqlite:${dbPath}`);
  const rawClient = newClient();
  const syncClient = newClient();
  const events = new SyncEvents();
  let syncSeconds = 0;
  let rawSeconds = 0;
  let rawRecords = 0;
  let written = 0;
  let apiCalls = 0;
  const load0 = loadavg()[0];
  for (const object of objects) {
    const doRaw = () => phase('raw', () => rawRead(rawClient, object));
    const doSync = () => phase('sync', () => runSync({ client: syncClient, store, objects: [object], events, bulkThreshold: threshold, lagMs: 0, batchSize }));
    let raw: Awaited<ReturnType<typeof doRaw>>;
    let sync: Awaited<ReturnType<typeof doSync>>;
    if (order === 'raw-first') {
      raw = await doRaw();
      sync = await doSync();
    } else {
      sync = await doSync();
      raw = await doRaw();
    }
    rawRecords += raw.value;
    rawSeconds += raw.seconds;
    const run = sync.value;
    if (run.status !== 'succeeded') throw new Error(`sync ${run.status}: ${run.error}`);
    syncSeconds += sync.seconds;
    apiCalls += run.apiCalls;
    for (const o of run.objects) {
      written += o.written;
      console.log(`  ${o.object.padEnd(12)} ${o.mode.padEnd(5)} ${o.written.toLocaleString('en-US').padStart(10)} rows: sync ${sync.seconds.toFixed(1)} s, raw read ${raw.seconds.toFixed(1)} s, ratio ${(sync.seconds / raw.seconds).toFixed(2)} (load average ${loadavg()[0].toFixed(1)})`);
    }
  }
  console.log(`initial sync: ${written.toLocaleString('en-US')} records in ${syncSeconds.toFixed(1)} s (${Math.round(written / syncSeconds).toLocaleString('en-US')} records/s), peak RSS ${mb(peaks.sync)}, ${apiCalls} API calls`);
  if (syncAtPeak) console.log(`  at the RSS peak: heap used ${mb(syncAtPeak.heapUsed)} of ${mb(syncAtPeak.heapTotal)}, external ${mb(syncAtPeak.external)} (array buffers ${mb(syncAtPeak.arrayBuffers)})`);
  console.log(`raw read: ${rawRecords.toLocaleString('en-US')} records in ${rawSeconds.toFixed(1)} s (${Math.round(rawRecords / rawSeconds).toLocaleString('en-US')} records/s), peak RSS ${mb(peaks.raw)}`);
  console.log(`load average (1 min) ${load0.toFixed(1)} at start, ${loadavg()[0].toFixed(1)} at end`);
  console.log(`ratio sync / raw read: ${(syncSeconds / rawSeconds).toFixed(2)} (goal ≤ 1.3; order ${order})`);
  // Idle incremental cycle: nothing changed.
  const before = dataCalls;
  const idle = await runSync({ client: newClient(), store, objects, events: new SyncEvents(), lagMs: 0 });
  console.log(`idle incremental cycle: ${idle.apiCalls} governed API calls for ${objects.length} objects (${(idle.apiCalls / objects.length).toFixed(2)} per object); ${dataCalls - before} data API requests on the wire (incl. the governor's one /limits reading per run), ${idle.seconds.toFixed(2)} s`);
  await store.close();
} finally {
  await emu.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}

/**
 * Sync throughput benchmark: emulator (child process, real socket) → SQLite file.
 *
 *   npx node bench/sync.ts [--seed Account=250000,Contact=500000,Opportunity=250000] [--bulk-threshold 2000] [--batch-size N] [--db PATH]
 *
 * Measures, for the same objects and fields:
 * - a raw read (the reads the sync makes — Bulk for big objects, REST otherwise — with records discarded);
 * - the initial sync (reads + mirror writes + checkpoints): records/s, peak RSS of this process;
 * - the ratio sync time / raw read time (goal ≤ 1.3);
 * - an idle incremental cycle: API calls per object (goal ≤ 1).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
  },
});
const seed = values.seed!;
const objects = seed.split(',').map((p) => p.split('=')[0].trim());
const threshold = Number(values['bulk-threshold']);
const batchSize = values['batch-size'] ? Number(values['batch-size']) : undefined;
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

try {
  // Initial sync into a fresh SQLite file.
  rmSync(dbPath, { force: true });
  const store = await openStore(`sqlite:${dbPath}`);
  peakRss = process.memoryUsage().rss;
  const events = new SyncEvents();
  const tSync = performance.now();
  const run = await runSync({ client: newClient(), store, objects, events, bulkThreshold: threshold, lagMs: 0, batchSize });
  const syncSeconds = (performance.now() - tSync) / 1000;
  const syncPeak = peakRss;
  const written = run.objects.reduce((a, o) => a + o.written, 0);
  if (run.status !== 'succeeded') throw new Error(`sync ${run.status}: ${run.error}`);
  console.log(`initial sync: ${written.toLocaleString('en-US')} records in ${syncSeconds.toFixed(1)} s (${Math.round(written / syncSeconds).toLocaleString('en-US')} records/s), peak RSS ${mb(syncPeak)}, ${run.apiCalls} API calls`);
  if (atPeak) console.log(`  at the RSS peak: heap used ${mb(atPeak.heapUsed)} of ${mb(atPeak.heapTotal)}, external ${mb(atPeak.external)} (array buffers ${mb(atPeak.arrayBuffers)})`);
  for (const o of run.objects) console.log(`  ${o.object.padEnd(12)} ${o.mode.padEnd(5)} ${o.written.toLocaleString('en-US').padStart(10)} rows  ${o.seconds.toFixed(1)} s`);

  // Raw read (after the sync, so the sync's peak RSS is measured in a fresh process): the same queries the
  // sync plans, records counted and dropped.
  const rawClient = newClient();
  let rawRecords = 0;
  const tRaw = performance.now();
  for (const object of objects) {
    const fields = objectSchema(await rawClient.describe(object)).fields;
    const n = await rawClient.count(`SELECT COUNT() FROM ${object}`);
    const bulk = bulkOf(rawClient);
    if (n >= threshold && bulk) {
      for await (const _ of bulk.query(`SELECT ${fields.join(', ')} FROM ${object}`, { maxRecords: BULK_PAGE_RECORDS })) rawRecords++;
    } else {
      for await (const _ of rawClient.query(changeQuery(object, fields, undefined))) rawRecords++;
    }
  }
  const rawSeconds = (performance.now() - tRaw) / 1000;
  console.log(`raw read: ${rawRecords.toLocaleString('en-US')} records in ${rawSeconds.toFixed(1)} s (${Math.round(rawRecords / rawSeconds).toLocaleString('en-US')} records/s)`);

  console.log(`ratio sync / raw read: ${(syncSeconds / rawSeconds).toFixed(2)} (goal ≤ 1.3)`);
  // Idle incremental cycle: nothing changed.
  const before = dataCalls;
  const idle = await runSync({ client: newClient(), store, objects, events: new SyncEvents(), lagMs: 0 });
  console.log(`idle incremental cycle: ${idle.apiCalls} governed API calls for ${objects.length} objects (${(idle.apiCalls / objects.length).toFixed(2)} per object); ${dataCalls - before} data API requests on the wire (incl. the governor's one /limits reading per run), ${idle.seconds.toFixed(2)} s`);
  await store.close();
} finally {
  await emu.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}

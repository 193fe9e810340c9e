/**
 * Two-way sync (`objects.Account.writable: true`) against the emulator CLI in a child process (REST over
 * HTTP), on a SQLite file and on the local Postgres. For each store it prints:
 * - the cycle that sends N application updates (one UPDATE of N rows by the application's own connection):
 *   seconds, API calls (data API requests at the wire), Salesforce writes (the emulator's write counter);
 * - the same for M application inserts (new rows, Ids written back);
 * - an idle cycle of the writable object next to an idle cycle of the same object read-only: API calls and
 *   Salesforce writes (the drain adds none when nothing is pending);
 * - the store's own write path: `upsert` of R records in pages of 1,000 into the writable table and into a
 *   read-only copy (the guard and the pending-change check are the difference), milliseconds.
 *
 *   npx node --disable-warning=ExperimentalWarning bench/two-way.ts [--records 5000] [--inserts 1000] [--upserts 20000] [--only sqlite|postgres]
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { MemoryDescribeCache, SalesforceClient } from '../src/client/index.ts';
import { SyncEvents } from '../src/engine/events.ts';
import { runSync } from '../src/engine/sync/runner.ts';
import { openStore } from '../src/store/index.ts';
import type { Store } from '../src/store/types.ts';
import { startEmulator } from './lib.ts';

const { values } = parseArgs({ options: { records: { type: 'string', default: '5000' }, inserts: { type: 'string', default: '1000' }, upserts: { type: 'string', default: '20000' }, only: { type: 'string' } } });
const N = Number(values.records);
const M = Number(values.inserts);
const R = Number(values.upserts);
const PG_URL = process.env.SFBRIDGE_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

const emu = await startEmulator(['--seed', `Account=${N}`]);
let dataCalls = 0;
const client = () => new SalesforceClient({
  credentials: { kind: 'clientCredentials', instanceUrl: emu.url, clientId: 'sfbridge-emulator', clientSecret: 'sfbridge-emulator-secret' },
  describeCache: new MemoryDescribeCache(),
  fetch: (input, init) => {
    if (String(input instanceof Request ? input.url : input).includes('/services/data/')) dataCalls++;
    return fetch(input, init);
  },
});
/** Records the org wrote (creates + updates + deletes), from its stats. */
const orgWrites = async () => {
  const s = (await (await emu.api('/__emulator/stats')).json()) as { writes?: number; apiUsage: number; records: Record<string, number> };
  return s.writes ?? NaN;
};

interface App { run(sql: string): Promise<void>; close(): Promise<void> }

async function measure(kind: 'sqlite' | 'postgres'): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sfbridge-bench-two-way-'));
  const schema = `sfbridge_bench_${randomBytes(4).toString('hex')}`;
  const url = kind === 'sqlite' ? `sqlite:${join(dir, 'mirror.db')}` : `${PG_URL}?schema=${schema}`;
  const store = await openStore(url);
  let app: App;
  if (kind === 'sqlite') {
    const db = new DatabaseSync(join(dir, 'mirror.db'));
    db.exec('PRAGMA busy_timeout = 10000');
    app = { run: async (sql) => void db.exec(sql), close: async () => db.close() };
  } else {
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    await c.query(`SET search_path TO "${schema}"`);
    app = { run: async (sql) => void (await c.query(sql)), close: () => c.end() };
  }
  const cycle = async (writable: boolean) => {
    const calls = dataCalls;
    const t = performance.now();
    const run = await runSync({ client: client(), store, objects: ['Account'], events: new SyncEvents(), objectSettings: { Account: writable ? { writable: true } : {} }, lagMs: 0, countCheck: true });
    if (run.status !== 'succeeded') throw new Error(`${kind}: ${run.error}`);
    return { seconds: (performance.now() - t) / 1000, calls: dataCalls - calls, pushed: run.objects[0].pushed };
  };
  try {
    await cycle(true);
    await cycle(true);
    const w0 = await orgWrites();
    await app.run(`UPDATE "Account" SET "Phone" = '${kind}-' || "Id"`);
    const upd = await cycle(true);
    const w1 = await orgWrites();
    const inserts = Array.from({ length: M }, (_, i) => (kind === 'postgres' ? `('Bench insert ${i}')` : `('new-bench-${i}', 'Bench insert ${i}')`)).join(', ');
    await app.run(kind === 'postgres' ? `INSERT INTO "Account" ("Name") VALUES ${inserts}` : `INSERT INTO "Account" ("Id", "Name") VALUES ${inserts}`);
    const ins = await cycle(true);
    const w2 = await orgWrites();
    await cycle(true); // reads the written versions back
    const w3 = await orgWrites();
    const idleW = await cycle(true);
    const idleR = await cycle(false);
    const w4 = await orgWrites();
    console.log(`${kind}: ${upd.pushed?.changes} application updates (every mirror row) in one cycle: ${upd.seconds.toFixed(2)} s, ${upd.calls} API calls, ${w1 - w0} Salesforce writes (${JSON.stringify(upd.pushed)})`);
    console.log(`${kind}: ${M} application inserts in one cycle: ${ins.seconds.toFixed(2)} s, ${ins.calls} API calls, ${w2 - w1} Salesforce writes (${JSON.stringify(ins.pushed)})`);
    console.log(`${kind}: idle cycle, writable: ${idleW.calls} API calls, ${idleW.seconds.toFixed(3)} s; read-only (triggers dropped): ${idleR.calls} API calls, ${idleR.seconds.toFixed(3)} s; Salesforce writes over the read-back and both idle cycles: ${w4 - w2} (read-back alone: ${w3 - w2})`);
    await upsertCost(kind, store);
  } finally {
    await app.close();
    await store.close();
    if (kind === 'postgres') {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await c.end();
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The store's own writes into a writable table vs a read-only one (same fields, same records): three rounds,
 * alternating, each writing R new records in pages of 1,000; the median per table.
 */
async function upsertCost(kind: string, store: Store): Promise<void> {
  const fields = [{ name: 'Id', type: 'id' }, { name: 'Name', type: 'string', length: 255 }, { name: 'Phone', type: 'phone', length: 40 }, { name: 'SystemModstamp', type: 'datetime' }];
  const cap = await store.writeCapture();
  const times: Record<string, number[]> = { BenchWritable__c: [], BenchReadOnly__c: [] };
  for (const object of Object.keys(times)) {
    await store.ensureTable({ object, fields });
    if (object === 'BenchWritable__c') await cap.enable(object);
  }
  for (let round = 0; round < 3; round++) {
    for (const object of round % 2 ? Object.keys(times).reverse() : Object.keys(times)) {
      const t = performance.now();
      for (let i = 0; i < R; i += 1000) {
        const page = Array.from({ length: Math.min(1000, R - i) }, (_, j) => ({ Id: `a0${round}${String(i + j).padStart(15, '0')}`, Name: `Row ${i + j}`, Phone: '555', SystemModstamp: '2026-01-01T00:00:00.000Z' }));
        await store.upsert(object, page);
      }
      times[object].push(performance.now() - t);
    }
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[1];
  const w = med(times.BenchWritable__c);
  const r = med(times.BenchReadOnly__c);
  console.log(`${kind}: store upsert of ${R} new records (pages of 1,000), median of 3 alternating rounds: writable ${w.toFixed(0)} ms, read-only ${r.toFixed(0)} ms (${(w / r).toFixed(2)}×); captured: ${(await cap.counts('BenchWritable__c')).pending}`);
}

try {
  for (const kind of (['sqlite', 'postgres'] as const).filter((k) => !values.only || values.only === k)) await measure(kind);
} finally {
  await emu.stop();
}

/**
 * The Bulk initial load chunked (Id ranges, the default) against one unchunked job, alternating in one emulator:
 *
 *   npx node --disable-warning=ExperimentalWarning bench/sync-chunks.ts [--accounts 1000000] [--rounds 3]
 *
 * Each round syncs the Accounts into a fresh SQLite file twice, as one job and then chunked, and prints the
 * wall time and API calls of each; the first round also warms the emulator, so read the later ones.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { MemoryDescribeCache, SalesforceClient } from '../src/client/index.ts';
import { SyncEvents } from '../src/engine/events.ts';
import { BULK_CHUNK_RECORDS } from '../src/engine/sync/export.ts';
import { runSync } from '../src/engine/sync/runner.ts';
import { openStore } from '../src/store/index.ts';
import { startEmulator } from './lib.ts';

const { values } = parseArgs({ options: { accounts: { type: 'string', default: '1000000' }, rounds: { type: 'string', default: '3' } } });
const accounts = Number(values.accounts);
const rounds = Number(values.rounds);
if (!Number.isInteger(accounts) || accounts < 1) throw new Error(`--accounts must be a whole number ≥ 1, got ${values.accounts}`);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a whole number ≥ 1, got ${values.rounds}`);
const dir = mkdtempSync(join(tmpdir(), 'sfbridge-bench-chunks-'));
const emu = await startEmulator(['--seed', `Account=${accounts}`]);
const client = () => new SalesforceClient({ credentials: { kind: 'clientCredentials', instanceUrl: emu.url, clientId: 'sfbridge-emulator', clientSecret: 'sfbridge-emulator-secret' }, describeCache: new MemoryDescribeCache() });
const times: Record<'one job' | 'chunked', number[]> = { 'one job': [], chunked: [] };
try {
  for (let r = 0; r < rounds; r++) {
    for (const kind of ['one job', 'chunked'] as const) {
      const db = join(dir, `r${r}-${kind.replace(' ', '-')}.db`);
      const store = await openStore(`sqlite:${db}`);
      const t0 = performance.now();
      // One job: a chunk size above the object's size plans no chunks.
      const run = await runSync({ client: client(), store, objects: ['Account'], events: new SyncEvents(), bulkThreshold: 2000, lagMs: 0, bulkChunkRecords: kind === 'one job' ? Number.MAX_SAFE_INTEGER : BULK_CHUNK_RECORDS });
      const seconds = (performance.now() - t0) / 1000;
      await store.close();
      rmSync(db, { force: true });
      if (run.status !== 'succeeded') throw new Error(`sync ${run.status}: ${run.error}`);
      times[kind].push(seconds);
      console.log(`round ${r + 1}: ${kind.padEnd(7)} ${seconds.toFixed(1)} s, ${run.apiCalls} API calls (load average ${loadavg()[0].toFixed(1)})`);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  console.log(`median: one job ${median(times['one job']).toFixed(1)} s, chunked ${median(times.chunked).toFixed(1)} s`);
} finally {
  await emu.stop();
  rmSync(dir, { recursive: true, force: true });
}

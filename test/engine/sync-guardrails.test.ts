/**
 * Settings that would silently break a guarantee, and the sync's own repairs:
 * - an interval below the floor is refused (config, flag, CLI exit code, nothing written);
 * - a lag below the safe minimum is warned about and recorded in the run;
 * - with lag 0 under late commits, the repair scan makes the mirror equal the org;
 * - a hard delete leaves the mirror in the next cycle (COUNT() check), not at the 6-hourly reconciliation;
 * - an API version the org does not serve fails the run at the start, naming the versions it serves;
 * - a run that skipped every object fails.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { syncCommand } from '../../src/cli/sync.ts';
import { UsageError } from '../../src/cli/args.ts';
import { hardDeleteRecord } from '../../src/emulator/dml.ts';
import { loadSyncConfig } from '../../src/engine/config.ts';
import { SyncEvents } from '../../src/engine/events.ts';
import type { Store } from '../../src/store/types.ts';
import { backends, BASE, clientFor, emulator, fresh, mirrorDiff, sync, textSink as sink } from './helpers.ts';

const sqlite = backends[0];
let store: Store;
let done: () => Promise<void>;
beforeEach(async () => {
  ({ store, done } = await fresh(sqlite));
});
afterEach(() => done());

async function createAccounts(emu: Awaited<ReturnType<typeof emulator>>, n: number, prefix: string): Promise<string[]> {
  const c = clientFor(emu, { governor: false });
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push((await c.create('Account', { Name: `${prefix} ${i}` })).id);
  return ids;
}


describe('sync guardrails', () => {
  it('refuses an interval below 1 s (config and flag), naming the fix; nothing is written', async () => {
    for (const v of ['0', '0s', '500ms']) {
      await assert.rejects(loadSyncConfig({ env: {}, flags: { interval: v } }), /below the 1 s floor: a shorter pause between cycles is a busy loop.*use 30s, 5m/);
    }
    await assert.rejects(loadSyncConfig({ env: { SFBRIDGE_INTERVAL: '0' } }), /below the 1 s floor/);
    assert.equal((await loadSyncConfig({ env: {}, flags: { interval: '1s' } })).intervalMs, 1000);
    const dir = mkdtempSync(join(tmpdir(), 'sfb-guard-'));
    const db = join(dir, 'm.db');
    await assert.rejects(syncCommand(['--instance-url', BASE, '--client-id', 'x', '--client-secret', 'y', '--objects', 'Account', '--to', `sqlite:${db}`, '--interval', '0'], { stdout: sink(), stderr: sink(), env: {} }), (err: unknown) => err instanceof UsageError && /interval: 0 s is below the 1 s floor/.test(err.message));
    assert.equal(existsSync(db), false, 'no store was created');
  });

  it('warns about a lag below the safe minimum and records it in the run', async () => {
    const emu = await emulator();
    await createAccounts(emu, 2, 'Lag');
    const events = new SyncEvents();
    const warned: string[] = [];
    events.on('warning', (e) => warned.push(e.code));
    const run = await sync(emu, store, ['Account'], { lagMs: 0, events });
    assert.equal(run.status, 'succeeded');
    assert.deepEqual(warned, ['LAG_TOO_SHORT']);
    assert.match(run.warnings?.[0] ?? '', /lag 0 s is shorter than the safe minimum of 60 s.*repair scan.*--lag 5m/);
    const ok = await sync(emu, store, ['Account'], { lagMs: 5 * 60_000 });
    assert.equal(ok.warnings, undefined);
    emu.close();
  });

  it('lag 0 under late commits: a row committed behind the cursor is lost to the reads, and the repair scan brings it back', async () => {
    let rnd = 0;
    const emu = await emulator('none', { random: () => rnd });
    const T = Math.ceil(Date.now() / 1000) * 1000 + 10_000;
    emu.org.clock.set(T, true);
    await createAccounts(emu, 1, 'Base');
    await sync(emu, store, ['Account'], { lagMs: 0 });
    emu.org.faults.settings.commitDelay = 3000;
    emu.org.clock.set(T + 100, true);
    rnd = 0.9; // stamped T+100, visible from T+2800
    const [late] = await createAccounts(emu, 1, 'Late');
    emu.org.clock.set(T + 1500, true);
    rnd = 0;
    await createAccounts(emu, 1, 'Early');
    emu.org.clock.set(T + 2000, true);
    await sync(emu, store, ['Account'], { lagMs: 0 });
    emu.org.clock.set(T + 4000, true);
    // The repair scan is not due yet: the incremental read alone has passed the late row for good.
    await sync(emu, store, ['Account'], { lagMs: 0 });
    assert.equal(await store.getRecord('Account', late), undefined, 'lost to the incremental reads');
    assert.notDeepEqual(await mirrorDiff(emu, store, 'Account'), []);
    // The repair scan's period has passed (0 here): the window behind the cursor is read again.
    await sync(emu, store, ['Account'], { lagMs: 0, repairMs: 0 });
    assert.ok(await store.getRecord('Account', late), 'repaired');
    assert.deepEqual(await mirrorDiff(emu, store, 'Account'), []);
    emu.close();
  });

  it('a row hard-deleted in the org leaves the mirror on the next cycle (COUNT() check)', async () => {
    const emu = await emulator();
    const ids = await createAccounts(emu, 4, 'Hard');
    await sync(emu, store, ['Account']);
    hardDeleteRecord(emu.org, emu.org.schema.get('Account')!, ids[0]);
    const events = new SyncEvents();
    const sources: string[] = [];
    events.on('object:deletes', (e) => sources.push(e.source));
    const run = await sync(emu, store, ['Account'], { reconcileMs: 6 * 3_600_000, events });
    assert.equal(run.status, 'succeeded');
    assert.ok(sources.includes('count'), `delete sources: ${sources.join(', ')}`);
    assert.equal(await store.getRecord('Account', ids[0]), undefined);
    assert.equal(run.objects[0].deleted, 1);
    assert.deepEqual(await mirrorDiff(emu, store, 'Account'), []);
    emu.close();
  });

  it('the Id reconciliation reads Ids by one Bulk job at or above the Bulk threshold, by REST below it', async () => {
    const emu = await emulator();
    const ids = await createAccounts(emu, 6, 'Recon');
    await sync(emu, store, ['Account']);
    hardDeleteRecord(emu.org, emu.org.schema.get('Account')!, ids[0]);
    const bulkQueries: string[] = [];
    const client = clientFor(emu);
    const bulk = (client as unknown as { bulk: { query: (soql: string, o?: unknown) => unknown } }).bulk;
    const query = bulk.query.bind(bulk);
    bulk.query = (soql, o) => {
      bulkQueries.push(soql);
      return query(soql, o);
    };
    const big = await sync(emu, store, ['Account'], { client, bulkThreshold: 5, force: { reconcile: true } });
    assert.equal(big.status, 'succeeded');
    assert.deepEqual(bulkQueries, ['SELECT Id FROM Account'], 'one Bulk job for the Id read');
    assert.equal(big.objects[0].deleted, 1);
    assert.deepEqual(await mirrorDiff(emu, store, 'Account'), []);
    hardDeleteRecord(emu.org, emu.org.schema.get('Account')!, ids[1]);
    const small = await sync(emu, store, ['Account'], { client, bulkThreshold: 100, force: { reconcile: true } });
    assert.equal(small.objects[0].deleted, 1);
    assert.deepEqual(bulkQueries, ['SELECT Id FROM Account'], 'below the threshold the Id read is REST');
    assert.deepEqual(await mirrorDiff(emu, store, 'Account'), []);
    emu.close();
  });

  it('an API version the org does not serve fails the run at the start, naming the versions it serves', async () => {
    const emu = await emulator();
    await createAccounts(emu, 1, 'Ver');
    const run = await sync(emu, store, ['Account'], { client: clientFor(emu, { apiVersion: '99.0' }) });
    assert.equal(run.status, 'failed');
    assert.match(run.error ?? '', /API version 99\.0 is not served by this org \(it serves [\d.]+–([\d.]+)\): use --api-version \1/);
    assert.deepEqual(run.objects, [], 'no object was attempted');
    emu.close();
  });

  it('an incremental read whose first page is cut mid-body restarts from the checkpoint and the run succeeds', async () => {
    const emu = await emulator();
    await createAccounts(emu, 3, 'Cut');
    await sync(emu, store, ['Account'], { lagMs: 60_000 });
    await createAccounts(emu, 3, 'After');
    let cut = 0;
    const fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      const res = await emu.fetch(new Request(input, init));
      const url = String(input instanceof Request ? input.url : input);
      if (cut > 0 || !/\/query(All)?\?q=SELECT\+Id/i.test(url)) return res;
      cut++;
      // The headers and part of the body arrive, then the connection drops.
      const bytes = new Uint8Array(await res.arrayBuffer());
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(bytes.slice(0, Math.floor(bytes.length * 0.7)));
          setImmediate(() => c.error(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })));
        },
      });
      return new Response(body, { status: res.status, headers: res.headers });
    };
    const events = new SyncEvents();
    const warned: string[] = [];
    events.on('warning', (e) => warned.push(e.code));
    const run = await sync(emu, store, ['Account'], { lagMs: 60_000, events, client: clientFor(emu, { fetch }) });
    assert.equal(cut, 1, 'the read was cut once');
    assert.equal(run.status, 'succeeded', run.error);
    assert.ok(warned.includes('READ_RESTARTED'), warned.join(', '));
    assert.deepEqual(await mirrorDiff(emu, store, 'Account'), []);
    emu.close();
  });

  it('a run that skipped every object fails', async () => {
    const emu = await emulator();
    const run = await sync(emu, store, ['NoSuch__c']);
    assert.equal(run.status, 'failed');
    assert.match(run.error ?? '', /every object was skipped \(NoSuch__c\)/);
    emu.close();
  });
});

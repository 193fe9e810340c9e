/**
 * Search documents through a sync run into a sink: emitted only on change (the lag-window re-read and a
 * save that changes nothing emit nothing; a change emits one version; a delete one tombstone), and a sink
 * outage (a private redis-server, killed and restarted) pauses the object with the reason while neither
 * rows nor the cursor move, fails the run after the pause limit, and the next run delivers everything.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createDocumentBuilder } from '../../src/engine/documents/index.ts';
import { SyncEvents } from '../../src/engine/events.ts';
import { openSink, parseSinkConfig, type Sink, type SinkMessage } from '../../src/engine/sinks/index.ts';
import { openStore } from '../../src/store/index.ts';
import { privateRedis, uniqueName } from '../helpers/brokers.ts';
import { readRedis } from '../helpers/sink-readers.ts';
import { BASE, clientFor, emulator, sync } from './helpers.ts';

async function accounts(emu: Awaited<ReturnType<typeof emulator>>, n: number): Promise<string[]> {
  const c = clientFor(emu, { governor: false });
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push((await c.create('Account', { Name: `Quillon ${i}`, Industry: 'Banking', Description: `Account number ${i}` })).id);
  return ids;
}

describe('documents into a sink during sync', () => {
  it('emits only on change: re-reads and no-op saves emit nothing, a change one version, a delete one tombstone', async () => {
    const emu = await emulator();
    const store = await openStore('sqlite::memory:');
    const delivered: SinkMessage[] = [];
    const sink: Sink = { kind: 'jsonl', label: 'recorder', deliver: async (m) => void delivered.push(...m), close: async () => undefined };
    try {
      const ids = await accounts(emu, 5);
      const opts = { documents: createDocumentBuilder(clientFor(emu), { instanceUrl: BASE }), documentSinks: [sink], lagMs: 600_000 };
      assert.equal((await sync(emu, store, ['Account'], opts)).status, 'succeeded');
      assert.deepEqual(delivered.map((m) => m.key).sort(), [...ids].sort());
      // The next cycle re-reads all five (they are inside the 10-minute lag window): nothing is emitted.
      assert.equal((await sync(emu, store, ['Account'], opts)).status, 'succeeded');
      assert.equal(delivered.length, 5);
      const w = clientFor(emu, { governor: false });
      await sleep(2);
      await w.update('Account', ids[0], { Industry: 'Banking' }); // saved, nothing changed
      await w.update('Account', ids[1], { Description: 'Now also leases turbines' });
      await w.delete('Account', ids[2]);
      assert.equal((await sync(emu, store, ['Account'], opts)).status, 'succeeded');
      assert.deepEqual(delivered.slice(5).map((m) => [m.key, m.headers?.['sfbridge-op']]), [[ids[1], 'upsert'], [ids[2], 'delete']]);
      assert.equal((delivered[5].body as { content: string }).content.includes('leases turbines'), true);
      assert.deepEqual((await store.search('turbines')).map((h) => h.id), [ids[1]]);
      assert.deepEqual((await store.search('Quillon')).map((h) => h.id).sort(), [ids[0], ids[1], ids[3], ids[4]].sort());
    } finally {
      await store.close();
      emu.close();
    }
  });

  it('a sink outage pauses the object (reason reported), moves no cursor, fails after max_pause, and the next runs deliver without loss', async () => {
    const emu = await emulator();
    const store = await openStore('sqlite::memory:');
    const redis = await privateRedis();
    const key = uniqueName('sfbridge:docs', ':');
    const sink = openSink(parseSinkConfig({ kind: 'redis', url: redis.url, name: key }));
    const events = new SyncEvents();
    const paused: string[] = [];
    let resumed = 0;
    events.on('sink:paused', (e) => paused.push(`${e.pipeline}/${e.object} ${e.code} ${e.pending}`));
    events.on('sink:resumed', () => resumed++);
    try {
      const ids = await accounts(emu, 5);
      const opts = { events, documents: createDocumentBuilder(clientFor(emu), { instanceUrl: BASE }), documentSinks: [sink], lagMs: 0, sinkRetry: { baseDelayMs: 20, maxDelayMs: 50, maxPauseMs: 300 } };
      await redis.stop();
      const failed = await sync(emu, store, ['Account'], opts);
      assert.equal(failed.status, 'failed');
      assert.match(failed.objects[0].error!, new RegExp(`^${redis.url.replace(/[/.]/g, '\\$&')} stream ${key}: still failing after a 0 s pause \\(\\d+ attempts\\): .+; nothing was skipped, the next run delivers these 5 messages first$`));
      assert.ok(paused.length >= 2 && paused.every((p) => p === 'documents/Account SINK_UNAVAILABLE 5'), paused.join(', '));
      assert.equal((await store.getCheckpoint('Account'))?.cursor ?? null, null, 'the cursor did not move');
      assert.equal(await store.count('Account'), 0, 'the rows wait with their documents');

      await redis.start();
      assert.equal((await sync(emu, store, ['Account'], opts)).status, 'succeeded');
      assert.deepEqual((await readRedis(redis.url, key)).map((s) => s.key).sort(), [...ids].sort());
      assert.equal(await store.count('Account'), 5);

      // Out again in the middle of a run: the run waits, the server comes back, the run succeeds.
      await redis.stop();
      const w = clientFor(emu, { governor: false });
      await sleep(2);
      await w.update('Account', ids[3], { Description: 'Moved to Lisbon' });
      resumed = 0;
      events.once('sink:paused', () => void redis.start());
      const run = await sync(emu, store, ['Account'], { ...opts, sinkRetry: { baseDelayMs: 50, maxDelayMs: 200, maxPauseMs: 30_000 } });
      assert.equal(run.status, 'succeeded');
      assert.equal(resumed, 1);
      const stored = await readRedis(redis.url, key);
      assert.equal(stored.length, 6);
      assert.equal(stored[5].key, ids[3]);
      assert.match(JSON.stringify(stored[5].body), /Moved to Lisbon/);
    } finally {
      await sink.close();
      await redis.dispose();
      await store.close();
      emu.close();
    }
  });
});

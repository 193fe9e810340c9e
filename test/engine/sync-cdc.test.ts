/**
 * Following change events into the mirror (sync --cdc): after the initial load, REST writes reach the mirror
 * through the emulator's Pub/Sub server over real gRPC, with no REST reads; the replay id commits with the
 * rows, and a restarted follower resumes from it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PubSubClient } from '../../src/client/pubsub/client.ts';
import { startPubSub, type PubSubServer } from '../../src/emulator/events/pubsub/server.ts';
import type { Emulator } from '../../src/emulator/app.ts';
import { cdcCheckpointKey, followChanges } from '../../src/engine/sync/cdc.ts';
import type { Store } from '../../src/store/types.ts';
import { backends, clientFor, emulator, fresh, mirrorDiff, sync } from './helpers.ts';

async function until(cond: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; !(await cond()); i++) {
    if (i > 500) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('followChanges', () => {
  let emu: Emulator;
  let server: PubSubServer;
  let store: Store;
  let done: () => Promise<void>;

  before(async () => {
    emu = await emulator('Account=5');
    server = await startPubSub(emu, { port: 0, keepaliveMs: 100 });
    ({ store, done } = await fresh(backends[0]));
  });

  const stops: (() => Promise<void>)[] = [];

  after(async () => {
    // A failed assertion must not leave a follower subscribed (it would keep the process alive).
    for (const stop of stops) await stop().catch(() => {});
    await done();
    await server.close();
    emu.close();
  });

  function follower() {
    const client = clientFor(emu, { governor: false });
    const pubsub = new PubSubClient({ auth: client.auth, endpoint: server.address, tls: false, retry: { baseDelayMs: 5, maxDelayMs: 20 } });
    const ctl = new AbortController();
    let applied = 0;
    const catchUps: string[] = [];
    const running = followChanges({
      client, pubsub, store, objects: ['Account'], signal: ctl.signal,
      catchUp: async (object, reason) => {
        catchUps.push(`${object}:${reason}`);
        await sync(emu, store, [object]);
      },
      onApplied: () => applied++,
    });
    let stopped = false;
    return { client, applied: () => applied, catchUps, stop: async () => {
      if (stopped) return;
      stopped = true;
      ctl.abort();
      await running;
      pubsub.close();
    } };
  }

  test('creates, updates (changed fields merged), nulls and deletes reach the mirror; the replay id commits with them', async () => {
    await sync(emu, store, ['Account']);
    const f = follower();
    stops.push(f.stop);
    const sf = f.client;
    const { id } = await sf.create('Account', { Name: 'Follow Co', Phone: '111', BillingCity: 'Leeds', BillingStreet: '1 Road' });
    await sf.update('Account', id, { Name: 'Follow Co Ltd', BillingCity: 'York' });
    await sf.update('Account', id, { Phone: null });
    let victim = '';
    for await (const r of sf.query<{ Id: string }>('SELECT Id FROM Account WHERE Id != \'' + id + '\' LIMIT 1')) victim = r.Id;
    await sf.delete('Account', victim);
    await until(async () => (await mirrorDiff(emu, store, 'Account')).length === 0, 'the mirror to equal the org');
    const row = (await store.getRecord('Account', id))!;
    assert.equal(row.Name, 'Follow Co Ltd');
    assert.equal(row.Phone, null);
    assert.equal(row.BillingStreet, '1 Road', 'fields an update did not change stay as they were');
    assert.equal(row.BillingCity, 'York');
    assert.ok(await store.getTombstone('Account', victim), 'the deleted row is a tombstone');
    assert.equal(await store.count('Account'), 5);
    await until(() => f.applied() >= 4, 'the four events applied');
    const cp = await store.getCheckpoint(cdcCheckpointKey('Account'));
    assert.match(String(cp?.extra?.replayId), /^[0-9a-f]{16}$/);
    await f.stop();
  });

  test('a restarted follower resumes from the stored replay id', async () => {
    const before = (await store.getCheckpoint(cdcCheckpointKey('Account')))!.extra!.replayId as string;
    const sf = clientFor(emu, { governor: false });
    const { id } = await sf.create('Account', { Name: 'While Stopped' });
    const f = follower();
    stops.push(f.stop);
    await until(async () => (await store.getRecord('Account', id))?.Name === 'While Stopped', 'the change made while stopped');
    await until(() => f.applied() >= 1, 'the event applied');
    assert.equal(f.applied(), 1, 'only the events after the stored replay id are applied');
    const afterId = (await store.getCheckpoint(cdcCheckpointKey('Account')))!.extra!.replayId as string;
    assert.ok(afterId > before);
    assert.deepEqual(await mirrorDiff(emu, store, 'Account'), []);
    await f.stop();
  });
});

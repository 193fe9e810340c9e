/**
 * Following change events into the mirror (sync --cdc): after the initial load, writes reach the mirror
 * through the emulator's Pub/Sub server over real gRPC, with no REST reads. Covered: commit order and one
 * transaction per store transaction, updates merged onto the row, hard deletes and undeletes, gap events
 * re-read by REST, overflow and an expired replay id caught up by the cursor, the replay id committed with the
 * rows, a restart from it, and an idle mirror that makes no API call.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PubSubClient, PubSubError, PUBSUB_ERROR_CODES, type PubSubEvent } from '../../src/client/pubsub/client.ts';
import { startPubSub, type PubSubServer } from '../../src/emulator/events/pubsub/server.ts';
import { EVENT_RETENTION_MS } from '../../src/emulator/events/bus.ts';
import { hardDeleteRecord, undeleteRecord } from '../../src/emulator/dml.ts';
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

const hexOf = (id: Uint8Array) => Buffer.from(id).toString('hex');

for (const backend of backends) describe(`followChanges (${backend.name})`, () => {
  let emu: Emulator;
  let server: PubSubServer;
  let store: Store;
  let done: () => Promise<void>;

  before(async () => {
    emu = await emulator('Account=5');
    server = await startPubSub(emu, { port: 0, keepaliveMs: 100 });
    ({ store, done } = await fresh(backend));
    writer = clientFor(emu, { governor: false });
    await sync(emu, store, ['Account']);
  });

  const stops: (() => Promise<void>)[] = [];

  after(async () => {
    // A failed assertion must not leave a follower subscribed (it would keep the process alive).
    for (const stop of stops) await stop().catch(() => {});
    await done();
    await server.close();
    emu.close();
  });

  const admin = async (path: string, body: unknown) => {
    const res = await emu.request(`/__emulator/${path}`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body) });
    assert.equal(res.status, 200, await res.clone().text());
    return res.json() as Promise<Record<string, unknown>>;
  };
  let writer: ReturnType<typeof clientFor>;
  const mirrored = async () => assert.deepEqual(await mirrorDiff(emu, store, 'Account'), []);
  const settle = (what: string) => until(async () => (await mirrorDiff(emu, store, 'Account')).length === 0, what);

  function follower(extra: { schemaCheckMs?: number } = {}) {
    const client = clientFor(emu, { governor: false });
    const pubsub = new PubSubClient({ auth: client.auth, endpoint: server.address, tls: false, retry: { baseDelayMs: 5, maxDelayMs: 20 } });
    const ctl = new AbortController();
    const batches: PubSubEvent[][] = [];
    const catchUps: string[] = [];
    const failed: unknown[] = [];
    const running = followChanges({
      client, pubsub, store, objects: ['Account'], signal: ctl.signal, ...extra,
      catchUp: async (object, reason) => {
        catchUps.push(`${object}:${reason}`);
        await sync(emu, store, [object]);
      },
      onApplied: (_object, events) => void batches.push([...events]),
    }).catch((err) => void failed.push(err));
    let stopped = false;
    const events = () => batches.flat();
    return {
      client, batches, events, catchUps, failed,
      /** REST requests this follower made (token calls included). */
      requests: () => client.transport.requests,
      applied: (type: string, id?: string) => events().some((e) => e.header?.changeType === type && (!id || e.header.recordIds.includes(id))),
      stop: async () => {
        if (stopped) return;
        stopped = true;
        ctl.abort();
        await running;
        pubsub.close();
        assert.deepEqual(failed, []);
      },
    };
  }

  test('creates, updates (changed fields merged), nulls and deletes reach the mirror; the replay id commits with them', async () => {
    const f = follower();
    stops.push(f.stop);
    const { id } = await writer.create('Account', { Name: 'Follow Co', Phone: '111', BillingCity: 'Leeds', BillingStreet: '1 Road', Industry: 'Banking' });
    await until(() => f.applied('CREATE', id), 'the create');
    const restBefore = f.requests();
    await writer.update('Account', id, { Name: 'Follow Co Ltd', BillingCity: 'York' });
    await writer.update('Account', id, { Phone: null });
    let victim = '';
    for await (const r of writer.query<{ Id: string }>(`SELECT Id FROM Account WHERE Id != '${id}' LIMIT 1`)) victim = r.Id;
    await writer.delete('Account', victim);
    await settle('the mirror to equal the org');
    const row = (await store.getRecord('Account', id))!;
    assert.equal(row.Name, 'Follow Co Ltd');
    assert.equal(row.Phone, null, 'a nulled field becomes null');
    assert.equal(row.BillingStreet, '1 Road', 'fields an update did not change keep their values');
    assert.equal(row.Industry, 'Banking');
    assert.equal(row.BillingCity, 'York');
    assert.ok(await store.getTombstone('Account', victim), 'the deleted row is a tombstone');
    assert.equal(await store.count('Account'), 5);
    await until(() => f.applied('DELETE', victim), 'the delete applied');
    assert.equal(f.requests(), restBefore, 'updates and deletes are applied from the events alone, with no REST call');
    const cp = await store.getCheckpoint(cdcCheckpointKey('Account'));
    assert.match(String(cp?.extra?.replayId), /^[0-9a-f]{16}$/);
    assert.ok(String(cp?.extra?.replayId) >= hexOf(f.events().at(-1)!.replayId), 'the checkpoint is at (or, after a keepalive, past) the last applied event');
    await f.stop();
  });

  test('a person name (a compound the event nests) and a Contact update reach the mirror exactly', async () => {
    await sync(emu, store, ['Contact']);
    const client = clientFor(emu, { governor: false });
    const pubsub = new PubSubClient({ auth: client.auth, endpoint: server.address, tls: false });
    const ctl = new AbortController();
    const seen: PubSubEvent[] = [];
    const running = followChanges({ client, pubsub, store, objects: ['Contact'], signal: ctl.signal, catchUp: async () => {}, onApplied: (_o, evs) => void seen.push(...evs) });
    stops.push(async () => {
      ctl.abort();
      await running;
      pubsub.close();
    });
    const { id } = await writer.create('Contact', { FirstName: 'Ada', LastName: 'Byron', Email: 'ada@example.com', MailingCity: 'London' });
    await writer.update('Contact', id, { LastName: 'Lovelace', Email: null });
    await until(() => seen.filter((e) => e.header?.recordIds.includes(id)).length >= 2, 'the Contact events');
    const row = (await store.getRecord('Contact', id))!;
    assert.equal(row.Name, 'Ada Lovelace');
    assert.equal(row.FirstName, 'Ada');
    assert.equal(row.Email, null);
    assert.equal(row.MailingCity, 'London');
    assert.deepEqual(await mirrorDiff(emu, store, 'Contact'), []);
    ctl.abort();
    await running;
  });

  test('a restarted follower resumes from the stored replay id', async () => {
    const before = (await store.getCheckpoint(cdcCheckpointKey('Account')))!.extra!.replayId as string;
    const { id } = await writer.create('Account', { Name: 'While Stopped' });
    const f = follower();
    stops.push(f.stop);
    await until(async () => (await store.getRecord('Account', id))?.Name === 'While Stopped', 'the change made while stopped');
    await until(() => f.events().length >= 1, 'the event applied');
    assert.deepEqual(f.events().map((e) => e.header?.recordIds[0]), [id], 'only the events after the stored replay id are applied');
    const afterId = (await store.getCheckpoint(cdcCheckpointKey('Account')))!.extra!.replayId as string;
    assert.ok(afterId > before);
    await mirrored();
    await f.stop();
  });

  test("events apply in commit order, and one transaction's events commit together in one store transaction", async () => {
    const f = follower();
    stops.push(f.stop);
    // One Collections request is one transaction: three creates sharing a transactionKey.
    const created = await writer.collections.create([1, 2, 3].map((i) => ({ attributes: { type: 'Account' }, Name: `Tx ${i}` })), { allOrNone: true });
    const ids = created.map((r) => r.id!);
    // Then several single-record transactions on the same row, back to back.
    for (const n of ['a', 'b', 'c', 'd']) await writer.update('Account', ids[0], { Description: n });
    await until(() => f.events().filter((e) => e.header?.recordIds.includes(ids[0])).length >= 5, 'every event');
    const events = f.events();
    const replayIds = events.map((e) => hexOf(e.replayId));
    assert.deepEqual(replayIds, [...replayIds].sort(), 'applied in commit (replay id) order');
    const key = events.find((e) => e.header?.recordIds.includes(ids[1]))!.header!.transactionKey;
    const tx = events.filter((e) => e.header?.transactionKey === key);
    assert.deepEqual(tx.map((e) => e.header!.recordIds[0]).sort(), [...ids].sort(), 'the request is one transaction');
    const holding = f.batches.filter((b) => b.some((e) => e.header?.transactionKey === key));
    assert.equal(holding.length, 1, "the transaction's events were applied in one store transaction");
    assert.equal(holding[0].filter((e) => e.header?.transactionKey === key).length, 3);
    assert.deepEqual(events.filter((e) => e.header?.changeType === 'UPDATE').map((e) => e.header!.changedFields.includes('Description')), [true, true, true, true]);
    await settle('the updates');
    assert.equal((await store.getRecord('Account', ids[0]))!.Description, 'd', 'the last update wins');
    await mirrored();
    await f.stop();
  });

  test('a hard delete leaves the mirror through its DELETE event; an undelete brings the row back', async () => {
    const f = follower();
    stops.push(f.stop);
    const { id } = await writer.create('Account', { Name: 'Short Lived', Phone: '222' });
    const { id: gone } = await writer.create('Account', { Name: 'Gone For Good' });
    await until(() => f.applied('CREATE', gone), 'the creates');
    const restBefore = f.requests();
    const def = emu.org.schema.get('Account')!;
    hardDeleteRecord(emu.org, def, gone);
    await writer.delete('Account', id);
    await until(() => f.applied('DELETE', id) && f.applied('DELETE', gone), 'the deletes');
    assert.equal(await store.getRecord('Account', gone), undefined, 'the hard-deleted row left the mirror');
    assert.ok(await store.getTombstone('Account', gone));
    await mirrored();
    undeleteRecord(emu.org, def, id);
    await until(() => f.applied('UNDELETE', id), 'the undelete');
    const back = await store.getRecord('Account', id);
    assert.equal(back?.Name, 'Short Lived', 'the undeleted row is back');
    assert.equal(back?.Phone, '222');
    await mirrored();
    assert.equal(f.requests(), restBefore, 'no reconciliation or re-read: the events alone');
    await f.stop();
  });

  test('gap events: their records are re-read by REST (a gap delete removes the row)', async () => {
    const f = follower();
    stops.push(f.stop);
    const { id } = await writer.create('Account', { Name: 'Gappy', Phone: '1' });
    const { id: doomed } = await writer.create('Account', { Name: 'Doomed' });
    await until(() => f.applied('CREATE', doomed), 'the creates');
    await admin('faults', 'gap=1');
    try {
      await writer.update('Account', id, { Phone: '2', Website: 'gap.example' });
      await writer.delete('Account', doomed);
      const restBefore = f.requests();
      await until(() => f.applied('GAP_UPDATE', id) && f.applied('GAP_DELETE', doomed), 'the gap events');
      assert.ok(f.requests() > restBefore, 'the gap records were read by REST');
    } finally {
      await admin('faults', 'gap=0');
    }
    const row = await store.getRecord('Account', id);
    assert.equal(row?.Phone, '2');
    assert.equal(row?.Website, 'gap.example');
    assert.equal(await store.getRecord('Account', doomed), undefined);
    await mirrored();
    await f.stop();
  });

  test('an overflow runs an incremental catch-up read', async () => {
    const f = follower();
    stops.push(f.stop);
    await admin('faults', 'overflow=2');
    try {
      const created = await writer.collections.create([1, 2, 3, 4, 5].map((i) => ({ attributes: { type: 'Account' }, Name: `Overflow ${i}` })), { allOrNone: true });
      await until(() => f.applied('GAP_OVERFLOW'), 'the overflow event');
      await until(async () => (await store.getRecord('Account', created[4].id!)) !== undefined, 'the catch-up');
    } finally {
      await admin('faults', 'overflow=100000');
    }
    assert.deepEqual(f.catchUps, ['Account:overflow']);
    assert.equal(f.events().filter((e) => e.header?.changeType === 'CREATE').length, 2, 'two changes as events, the rest overflowed');
    await mirrored();
    const cp = await store.getCheckpoint(cdcCheckpointKey('Account'));
    assert.ok(String(cp?.extra?.replayId) >= hexOf(f.events().find((e) => e.header?.changeType === 'GAP_OVERFLOW')!.replayId), 'the overflow is checkpointed after its catch-up');
    await f.stop();
  });

  test('a replay id past retention: re-read by the cursor, then the stream restarts at the tip', async () => {
    const f0 = follower();
    stops.push(f0.stop);
    const { id: first } = await writer.create('Account', { Name: 'Before Going Away' });
    await until(() => f0.applied('CREATE', first), 'a stored position');
    await f0.stop();
    const stored = (await store.getCheckpoint(cdcCheckpointKey('Account')))!.extra!.replayId as string;
    const { id } = await writer.create('Account', { Name: 'Written While Away' });
    await admin('clock', { advance: EVENT_RETENTION_MS + 60 * 60_000 });
    const f = follower();
    stops.push(f.stop);
    await until(() => f.catchUps.length > 0, 'the catch-up');
    assert.deepEqual(f.catchUps, ['Account:replay-expired']);
    await until(async () => (await store.getRecord('Account', id)) !== undefined, 'the change read by the cursor');
    const { id: later } = await writer.create('Account', { Name: 'After The Restart' });
    await until(() => f.applied('CREATE', later) || f.failed.length > 0, 'the stream at the tip');
    assert.deepEqual(f.failed, []);
    assert.equal(f.applied('CREATE', id), false, 'the change made while away came from the cursor, not the (expired) stream');
    const now = (await store.getCheckpoint(cdcCheckpointKey('Account')))!.extra!.replayId as string;
    assert.ok(now > stored);
    await mirrored();
    await f.stop();
  });

  test('dropped streams and an expired session mid-stream: the follower resubscribes, refreshes and misses nothing', async () => {
    const f = follower();
    stops.push(f.stop);
    const ids: string[] = [];
    for await (const r of writer.query<{ Id: string }>('SELECT Id FROM Account ORDER BY Id LIMIT 8')) ids.push(r.Id);
    const drops0 = server.stats.faultDrops;
    await admin('faults', 'streamDrop=0.5');
    try {
      for (const [i, id] of ids.entries()) await writer.update('Account', id, { Description: `drop ${i}` });
      await until(() => f.applied('UPDATE', ids.at(-1)!), 'the updates through the drops');
    } finally {
      await admin('faults', 'streamDrop=0');
    }
    assert.ok(server.stats.faultDrops > drops0, 'streams were dropped');
    await admin('sessions/expire', '');
    await admin('faults', 'gap=1');
    try {
      // The follower's next FetchRequest is refused (UNAUTHENTICATED) and its gap read needs a new session.
      await writer.update('Account', ids[0], { Description: 'after expiry' });
      await until(() => f.applied('GAP_UPDATE', ids[0]), 'the gap event after the expiry');
    } finally {
      await admin('faults', 'gap=0');
    }
    await settle('the mirror to equal the org');
    assert.equal((await store.getRecord('Account', ids[0]))?.Description, 'after expiry');
    await f.stop();
  });

  test('a first follow replays retention but passes over what the initial load already read (no gap re-reads)', async () => {
    const own = await fresh(backend);
    try {
      const ids: string[] = [];
      for await (const r of writer.query<{ Id: string }>('SELECT Id FROM Account ORDER BY Id LIMIT 3')) ids.push(r.Id);
      await admin('faults', 'gap=1');
      try {
        for (const id of ids) await writer.update('Account', id, { Description: 'old gap' });
      } finally {
        await admin('faults', 'gap=0');
      }
      // Two hours later the initial load reads them (its cursor is past them by more than any lag).
      await admin('clock', { advance: 2 * 60 * 60_000 });
      await writer.update('Account', ids[0], { Phone: 'newer' });
      await sync(emu, own.store, ['Account']);
      const client = clientFor(emu, { governor: false });
      const pubsub = new PubSubClient({ auth: client.auth, endpoint: server.address, tls: false });
      const ctl = new AbortController();
      const seen: PubSubEvent[] = [];
      const running = followChanges({ client, pubsub, store: own.store, objects: ['Account'], signal: ctl.signal, catchUp: async () => {}, onApplied: (_o, evs) => void seen.push(...evs) });
      try {
        await until(() => seen.some((e) => e.header?.changeType === 'UPDATE' && e.header.recordIds.includes(ids[0])), 'the newer update replayed');
        const requests = client.transport.requests;
        const { id } = await writer.create('Account', { Name: 'After The Load' });
        await until(() => seen.some((e) => e.header?.recordIds.includes(id)), 'a live change');
        assert.equal(seen.filter((e) => e.header?.changeType.startsWith('GAP_')).length, 0, 'the old gap events were passed over');
        assert.ok(requests <= 2, `no gap re-read by REST (${requests} requests: login and describe)`);
        assert.deepEqual(await mirrorDiff(emu, own.store, 'Account'), []);
        assert.match(String((await own.store.getCheckpoint(cdcCheckpointKey('Account')))?.extra?.replayId), /^[0-9a-f]{16}$/);
      } finally {
        ctl.abort();
        await running;
        pubsub.close();
      }
    } finally {
      await own.done();
    }
  });

  test('an object without change events fails the follower, and the other objects stop with it', async () => {
    const client = clientFor(emu, { governor: false });
    const pubsub = new PubSubClient({ auth: client.auth, endpoint: server.address, tls: false, retry: { baseDelayMs: 5, maxDelayMs: 20 } });
    const open = server.stats.subscriptions;
    try {
      await assert.rejects(followChanges({ client, pubsub, store, objects: ['Account', 'Campaign'], catchUp: async () => {} }), (err: unknown) =>
        err instanceof PubSubError && err.code === PUBSUB_ERROR_CODES.topic && /CampaignChangeEvent/.test(err.message));
      await until(() => server.stats.subscriptions === open, 'the Account stream to close too');
    } finally {
      pubsub.close();
    }
  });

  test('a field added to the org while following: once a polling pass adds its column, events write it', async () => {
    const f = follower({ schemaCheckMs: 0 });
    stops.push(f.stop);
    const { id } = await writer.create('Account', { Name: 'Tiered' });
    await until(() => f.applied('CREATE', id), 'the create');
    const def = emu.org.schema.get('Account')!;
    emu.org.schema.add({ ...def, fields: [...def.fields, { name: 'Tier__c', type: 'string', length: 20, label: 'Tier' }] });
    emu.org.store.ensureTable(emu.org.schema.get('Account')!);
    await sync(emu, store, ['Account']);
    assert.ok((await store.describeTable('Account'))!.some((c) => c.name === 'Tier__c'), 'the polling pass added the column');
    await writer.update('Account', id, { Tier__c: 'Gold' });
    await until(() => f.events().some((e) => e.header?.changeType === 'UPDATE' && e.header.changedFields.includes('Tier__c')), 'the update event');
    assert.equal((await store.getRecord('Account', id))?.Tier__c, 'Gold');
    await mirrored();
    await f.stop();
  });

  test('an idle mirror makes no API call; its position follows the keepalives', async () => {
    const f = follower();
    stops.push(f.stop);
    const { id } = await writer.create('Account', { Name: 'Before The Quiet' });
    await until(() => f.applied('CREATE', id), 'the create');
    const cp0 = (await store.getCheckpoint(cdcCheckpointKey('Account')))!.extra!.replayId as string;
    // Another object's change moves the bus; the Account stream only sees keepalives.
    await writer.create('Contact', { LastName: 'Elsewhere' });
    const calls0 = emu.org.apiUsage;
    const requests0 = emu.stats.requests;
    const mine0 = f.requests();
    const keepalives0 = server.stats.keepalives;
    await until(() => server.stats.keepalives >= keepalives0 + 5, 'keepalives');
    await until(async () => ((await store.getCheckpoint(cdcCheckpointKey('Account')))!.extra!.replayId as string) > cp0, 'the keepalive position checkpointed');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(emu.org.apiUsage, calls0, 'no API call while idle');
    assert.equal(emu.stats.requests, requests0, 'no request of any kind while idle');
    assert.equal(f.requests(), mine0);
    await f.stop();
  });
});

/**
 * Event faults of the emulator (`--faults` and `/__emulator/faults`): `gap` publishes a change as its
 * header-only gap event, `overflow` turns a transaction's changes past the limit into one GAP_OVERFLOW, and
 * `streamDrop` closes Pub/Sub and CometD subscriptions instead of delivering, with nothing lost for a client
 * that resubscribes from its last replay id.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { parseFaultSpec, DEFAULT_FAULTS } from '../../src/emulator/faults.ts';
import { startPubSub, type PubSubServer } from '../../src/emulator/events/pubsub/server.ts';
import type { ChangeEventBody } from '../../src/emulator/events/bus.ts';
import { testOrg, type TestOrg } from '../helpers/emulator.ts';

const PROTO = fileURLToPath(new URL('../../src/emulator/events/pubsub/pubsub_api.proto', import.meta.url));
const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(PROTO, { longs: Number, enums: String, defaults: true })) as unknown as {
  eventbus: { v1: { PubSub: new (address: string, creds: grpc.ChannelCredentials) => grpc.Client & Record<string, (...args: unknown[]) => unknown> } };
};
interface FetchResponse { events: { replayId: Buffer }[]; latestReplayId: Buffer }

const enc = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
};

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; !cond(); i++) {
    if (i > 400) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('event faults', () => {
  let org: TestOrg;
  let server: PubSubServer;
  let client: grpc.Client & Record<string, (...args: unknown[]) => unknown>;
  let md: grpc.Metadata;

  const setFaults = async (spec: string) => {
    const res = await org.emu.request('/__emulator/faults', { method: 'POST', body: spec });
    assert.equal(res.status, 200, await res.clone().text());
    return (await res.json()) as Record<string, number>;
  };
  const changesAfter = (replayId: number) => org.emu.org.bus.read('/data/AccountChangeEvent', replayId, 1000).map((e) => e.body as ChangeEventBody);
  const create = async (name: string) => {
    const res = await org.api('/sobjects/Account', { method: 'POST', json: { Name: name } });
    assert.equal(res.status, 201);
    return ((await res.json()) as { id: string }).id;
  };

  before(async () => {
    org = await testOrg();
    server = await startPubSub(org.emu, { port: 0, keepaliveMs: 100 });
    client = new pkg.eventbus.v1.PubSub(server.address, grpc.credentials.createInsecure());
    md = new grpc.Metadata();
    md.set('accesstoken', org.token);
    md.set('instanceurl', 'http://127.0.0.1:8484');
    md.set('tenantid', org.emu.org.orgId);
  });

  after(async () => {
    client.close();
    await server.close();
    org.close();
  });

  test('the spec takes streamDrop and gap as probabilities and overflow as a count of at least 1', () => {
    const f = parseFaultSpec('streamDrop=0.25,gap=0.5,overflow=10');
    assert.equal(f.streamDrop, 0.25);
    assert.equal(f.gap, 0.5);
    assert.equal(f.overflow, 10);
    assert.equal(DEFAULT_FAULTS.overflow, 100_000);
    assert.equal(DEFAULT_FAULTS.streamDrop, 0);
    assert.throws(() => parseFaultSpec('gap=2'), /probability between 0 and 1/);
    assert.throws(() => parseFaultSpec('overflow=0'), /count of at least 1/);
    assert.throws(() => parseFaultSpec('overflow=2.5'), /count of at least 1/);
    assert.throws(() => parseFaultSpec('streamdrop=1'), /unknown fault "streamdrop".*streamDrop/);
  });

  test('gap=1: creates and updates are published as header-only GAP_CREATE / GAP_UPDATE with their record ids', async () => {
    await setFaults('gap=1');
    const from = org.emu.org.bus.tip;
    const id = await create('Gapped');
    assert.equal((await org.api(`/sobjects/Account/${id}`, { method: 'PATCH', json: { Name: 'Gapped 2' } })).status, 204);
    await setFaults('gap=0');
    const events = changesAfter(from);
    assert.deepEqual(events.map((e) => e.header.changeType), ['GAP_CREATE', 'GAP_UPDATE']);
    for (const e of events) {
      assert.deepEqual(e.header.recordIds, [id]);
      assert.deepEqual(e.fields, {});
      assert.deepEqual(e.header.changedFields, []);
      assert.equal(e.header.entityName, 'Account');
    }
    // With the fault off again, the next change is a full event.
    const from2 = org.emu.org.bus.tip;
    assert.equal((await org.api(`/sobjects/Account/${id}`, { method: 'PATCH', json: { Name: 'Gapped 3' } })).status, 204);
    const next = changesAfter(from2);
    assert.equal(next.length, 1);
    assert.equal(next[0].header.changeType, 'UPDATE');
    assert.ok(next[0].header.changedFields.includes('Name'));
  });

  test('overflow=3: a request that creates 5 accounts publishes 3 CREATE events then one GAP_OVERFLOW with no record ids', async () => {
    await setFaults('overflow=3');
    const from = org.emu.org.bus.tip;
    const res = await org.api('/composite/sobjects', { method: 'POST', json: { allOrNone: true, records: Array.from({ length: 5 }, (_, i) => ({ attributes: { type: 'Account' }, Name: `Over ${i}` })) } });
    assert.equal(res.status, 200);
    const ids = ((await res.json()) as { id: string }[]).map((r) => r.id);
    // A request under the limit is not affected.
    const from2 = org.emu.org.bus.tip;
    await create('Single');
    await setFaults(`overflow=${DEFAULT_FAULTS.overflow}`);
    const events = changesAfter(from);
    const batch = events.slice(0, 4);
    assert.deepEqual(batch.map((e) => e.header.changeType), ['CREATE', 'CREATE', 'CREATE', 'GAP_OVERFLOW']);
    assert.deepEqual(batch.slice(0, 3).map((e) => e.header.recordIds[0]), ids.slice(0, 3));
    assert.deepEqual(batch[3].header.recordIds, []);
    assert.deepEqual(batch[3].fields, {});
    assert.equal(new Set(batch.map((e) => e.header.transactionKey)).size, 1);
    assert.deepEqual(batch.map((e) => e.header.sequenceNumber), [1, 2, 3, 4]);
    assert.deepEqual(changesAfter(from2).map((e) => e.header.changeType), ['CREATE']);
  });

  test('streamDrop=1 closes a Pub/Sub subscription with UNAVAILABLE instead of delivering; a resubscription from the last replay id gets the event', async () => {
    const sub = client.Subscribe(md) as grpc.ClientDuplexStream<Record<string, unknown>, FetchResponse>;
    const got: FetchResponse[] = [];
    let error: grpc.ServiceError | null = null;
    sub.on('data', (m: FetchResponse) => got.push(m));
    sub.on('error', (e: grpc.ServiceError) => (error = e));
    sub.write({ topicName: '/data/AccountChangeEvent', numRequested: 5 });
    await until(() => got.length > 0, 'the first keepalive');
    const last = Number(got.at(-1)!.latestReplayId.readBigUInt64BE());
    const drops = server.stats.faultDrops;
    await setFaults('streamDrop=1');
    await create('Dropped');
    await until(() => error !== null, 'the dropped stream');
    assert.equal(error!.code, grpc.status.UNAVAILABLE);
    assert.equal(got.flatMap((m) => m.events).length, 0, 'nothing was delivered before the drop');
    assert.equal(server.stats.faultDrops, drops + 1);
    await setFaults('streamDrop=0');

    const again = client.Subscribe(md) as grpc.ClientDuplexStream<Record<string, unknown>, FetchResponse>;
    const events: { replayId: Buffer }[] = [];
    again.on('data', (m: FetchResponse) => events.push(...m.events));
    again.on('error', () => {});
    again.write({ topicName: '/data/AccountChangeEvent', replayPreset: 'CUSTOM', replayId: enc(last), numRequested: 5 });
    await until(() => events.length > 0, 'the redelivered event');
    assert.equal(events.length, 1);
    assert.ok(Number(events[0].replayId.readBigUInt64BE()) > last);
    again.cancel();
  });

  test('streamDrop=1 forgets a CometD client before a delivery (403::Unknown client); a new handshake replays from its last id', async () => {
    const bayeux = async (msgs: unknown[]) => {
      const res = await org.emu.request('/cometd/62.0', { method: 'POST', headers: { authorization: `Bearer ${org.token}`, 'content-type': 'application/json' }, body: JSON.stringify(msgs) });
      return (await res.json()) as Record<string, unknown>[];
    };
    const handshake = async () => String((await bayeux([{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'], ext: { replay: true } }]))[0].clientId);
    const subscribe = async (clientId: string, from: number) => {
      const [res] = await bayeux([{ channel: '/meta/subscribe', clientId, subscription: '/data/AccountChangeEvent', ext: { replay: { '/data/AccountChangeEvent': from } } }]);
      assert.equal(res.successful, true);
    };
    const connect = (clientId: string) => bayeux([{ channel: '/meta/connect', clientId, connectionType: 'long-polling', advice: { timeout: 0 } }]);

    const from = org.emu.org.bus.tip;
    const c1 = await handshake();
    await subscribe(c1, from);
    await create('Comet dropped');
    await setFaults('streamDrop=1');
    const dropped = await connect(c1);
    await setFaults('streamDrop=0');
    assert.equal(dropped.length, 1);
    assert.equal(dropped[0].successful, false);
    assert.equal(dropped[0].error, '403::Unknown client');
    assert.deepEqual(dropped[0].advice, { reconnect: 'handshake', interval: 0 });
    // The client is gone for good, as after a missed reconnect.
    assert.equal((await connect(c1))[0].error, '403::Unknown client');

    const c2 = await handshake();
    await subscribe(c2, from);
    const delivered = (await connect(c2)).filter((m) => m.channel === '/data/AccountChangeEvent');
    assert.equal(delivered.length, 1);
    const data = delivered[0].data as { payload: { Name: string; ChangeEventHeader: { changeType: string } } };
    assert.equal(data.payload.Name, 'Comet dropped');
    assert.equal(data.payload.ChangeEventHeader.changeType, 'CREATE');
  });
});

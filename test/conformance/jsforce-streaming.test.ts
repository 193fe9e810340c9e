/**
 * jsforce's Streaming API client (conn.streaming, faye underneath), unmodified, against the emulator's CometD
 * endpoint: change events and platform events arrive as Salesforce sends them, the replay extension replays
 * from a stored id or from -2, platform events sfbridge publishes over the Pub/Sub API arrive with the
 * publisher's event ids as EventUuid, and a dropped client re-handshakes by itself.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import jsforce from 'jsforce';
import { StreamingExtension } from 'jsforce/lib/api/streaming.js';
import { schemaFromData } from '../../src/emulator/schema/custom.ts';
import { cometd } from '../../src/emulator/events/cometd.ts';
import { login } from '../helpers/emulator.ts';
import { servedOrg, type ServedOrg } from '../helpers/served.ts';

type Msg = { schema: string; payload: Record<string, unknown> & { ChangeEventHeader?: Record<string, unknown> }; event: { replayId: number; EventUuid?: string } };

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; !cond(); i++) {
    if (i > 400) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('jsforce streaming against the emulator (CometD)', () => {
  let org: ServedOrg;
  let conn: jsforce.Connection;
  const clients: { disconnect(): PromiseLike<unknown> | undefined }[] = [];

  before(async () => {
    const objects = schemaFromData({ objects: [{ name: 'Order_Placed__e', fields: [{ name: 'Order_Number__c', type: 'string', length: 20 }] }] });
    org = await servedOrg({ objects });
    // A short hold keeps long polls cycling quickly in tests (Salesforce holds 110 s).
    cometd(org.emu.org, org.emu.sessions).holdMs = 1000;
    conn = new jsforce.Connection({ instanceUrl: org.url, accessToken: await login(org.emu), version: '62.0' });
  });

  after(async () => {
    // Disconnect first and wait for the answers: faye retries an unanswered disconnect forever.
    await Promise.all(clients.map((c) => c.disconnect()));
    await org.close();
  });
;

  /** Subscribes with a fresh faye client (replay extension when `replay` is given) and waits until it is live. */
  async function subscribe(channel: string, replay?: number): Promise<Msg[]> {
    const got: Msg[] = [];
    const client = replay === undefined
      ? conn.streaming.createClient([])
      : conn.streaming.createClient([new StreamingExtension.Replay(channel, replay)]);
    clients.push(client as unknown as { disconnect(): PromiseLike<unknown> | undefined });
    const sub = client.subscribe(channel, (m: unknown) => got.push(m as Msg));
    await sub;
    return got;
  }

  test('change events: create and update arrive with the header, only the carried fields and ISO dates', async () => {
    const got = await subscribe('/data/AccountChangeEvent');
    const acct = await conn.sobject('Account').create({ Name: 'Initech', BillingCity: 'Austin' }) as { id: string };
    await conn.sobject('Account').update({ Id: acct.id, Name: 'Initech LLC', BillingCity: 'Dallas' });
    await until(() => got.length >= 2, '2 change events');
    const [created, updated] = got;
    assert.equal(created.payload.ChangeEventHeader!.changeType, 'CREATE');
    assert.deepEqual(created.payload.ChangeEventHeader!.recordIds, [acct.id]);
    assert.equal(created.payload.Name, 'Initech');
    assert.deepEqual(created.payload.BillingAddress, { City: 'Austin' });
    assert.match(String(created.payload.CreatedDate), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(typeof created.event.replayId, 'number');
    const h = updated.payload.ChangeEventHeader!;
    assert.equal(h.changeType, 'UPDATE');
    assert.deepEqual([...(h.changedFields as string[])].sort(), ['BillingAddress.City', 'LastModifiedDate', 'Name']);
    assert.equal(h.changeOrigin, 'com/salesforce/api/rest/62.0');
    assert.equal('nulledFields' in h, false);
    assert.deepEqual(Object.keys(updated.payload).sort(), ['BillingAddress', 'ChangeEventHeader', 'LastModifiedDate', 'Name']);
    assert.ok(updated.event.replayId > created.event.replayId);
  });

  test('replay extension: -2 replays everything retained; a stored id replays what came after it', async () => {
    const all = await subscribe('/data/AccountChangeEvent', -2);
    await until(() => all.length >= 2, 'the retained events');
    const after = await subscribe('/data/AccountChangeEvent', all[0].event.replayId);
    await until(() => after.length >= 1, 'the replayed event');
    assert.equal(after[0].event.replayId, all[1].event.replayId);
    assert.equal(after[0].payload.ChangeEventHeader!.changeType, 'UPDATE');
  });

  test('platform events published by REST arrive on /event/X__e', async () => {
    const got = await subscribe('/event/Order_Placed__e');
    const res = await conn.sobject('Order_Placed__e').create({ Order_Number__c: 'ORD-7' }) as { id: string; errors: { statusCode: string; message: string }[] };
    await until(() => got.length >= 1, 'the platform event');
    assert.equal(got[0].payload.Order_Number__c, 'ORD-7');
    assert.match(String(got[0].payload.CreatedDate), /Z$/);
    assert.equal(got[0].event.EventUuid, res.errors[0].message);
  });

  test('platform events published over the Pub/Sub API (sfbridge publish) arrive on CometD with their values and ids', async () => {
    const { startPubSub } = await import('../../src/emulator/events/pubsub/server.ts');
    const { SalesforceClient } = await import('../../src/client/index.ts');
    const { publish, eventIdOf } = await import('../../src/engine/publish/index.ts');
    const { openStore } = await import('../../src/store/index.ts');
    const server = await startPubSub(org.emu, { port: 0, host: '127.0.0.1' });
    const sf = new SalesforceClient({ credentials: { kind: 'clientCredentials', instanceUrl: org.url, clientId: org.emu.org.clientId, clientSecret: org.emu.org.clientSecret }, governor: false, pubsub: { endpoint: server.address, tls: false } });
    try {
      const got = await subscribe('/event/Order_Placed__e');
      const state = await (await openStore('sqlite::memory:')).publishState();
      const summary = await publish({ client: sf, state, pipeline: 'cometd', target: { object: 'Order_Placed__e', operation: 'insert' }, records: [{ key: 'g1', record: { Order_Number__c: 'GRPC-1' } }] });
      assert.deepEqual(summary.paths, ['pubsub']);
      await until(() => got.some((m) => m.payload.Order_Number__c === 'GRPC-1'), 'the event over CometD');
      const m = got.find((x) => x.payload.Order_Number__c === 'GRPC-1')!;
      assert.match(String(m.payload.CreatedDate), /Z$/);
      assert.equal(typeof m.event.replayId, 'number');
      assert.equal(m.event.EventUuid, eventIdOf('cometd', 'g1'));
    } finally {
      sf.events.close();
      await server.close();
    }
  });

  test('a dropped client re-handshakes and keeps receiving, resubscribed by the client', async () => {
    const got = await subscribe('/data/ContactChangeEvent');
    assert.equal((await org.emu.request('/__emulator/events/drop', { method: 'POST' })).status, 200);
    // Its next connect is refused with 403::Unknown client; faye re-handshakes and resubscribes. Write until
    // a change reaches it (bounded), since changes made before the resubscription are not replayed.
    let n = 0;
    while (got.length === 0 && n++ < 20) {
      await conn.sobject('Contact').create({ LastName: `After drop ${n}` });
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.ok(got.length >= 1, 'events arrive after the re-handshake');
    assert.equal(got[0].payload.ChangeEventHeader!.entityName, 'Contact');
  });
});

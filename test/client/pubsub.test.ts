/**
 * The Pub/Sub client against the emulator's Pub/Sub server over a real gRPC socket: decoded change events,
 * credit that follows the consumer, replay from a stored id, recovery after a dropped stream and an expired
 * token, the typed error for a replay id past retention, publish, abort.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { createEmulator, type Emulator } from '../../src/emulator/app.ts';
import { startPubSub, type PubSubServer } from '../../src/emulator/events/pubsub/server.ts';
import { schemaFromData } from '../../src/emulator/schema/custom.ts';
import { insertRecord } from '../../src/emulator/dml.ts';
import { SalesforceClient } from '../../src/client/index.ts';
import { decodeBitmaps, PUBSUB_ERROR_CODES, PubSubClient, PubSubError, type PubSubEvent } from '../../src/client/pubsub/client.ts';
import avro from 'avsc';

const BASE = 'http://127.0.0.1:8484';

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; !cond(); i++) {
    if (i > 300) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('PubSubClient', () => {
  let emu: Emulator;
  let server: PubSubServer;
  let sf: SalesforceClient;
  let pubsub: PubSubClient;

  const account = (name: string, extra: Record<string, unknown> = {}) => insertRecord(emu.org, emu.org.schema.get('Account')!, { Name: name, ...extra });

  before(async () => {
    const objects = schemaFromData({ objects: [{ name: 'Ping__e', fields: [{ name: 'Note__c', type: 'string', length: 50 }] }] });
    emu = createEmulator({ objects });
    server = await startPubSub(emu, { port: 0, keepaliveMs: 60 });
    sf = new SalesforceClient({
      credentials: { kind: 'clientCredentials', instanceUrl: BASE, clientId: emu.org.clientId, clientSecret: emu.org.clientSecret },
      fetch: (input, init) => emu.fetch(new Request(input, init)),
      governor: false,
    });
    pubsub = new PubSubClient({ auth: sf.auth, endpoint: server.address, tls: false, retry: { baseDelayMs: 5, maxDelayMs: 20 } });
  });

  after(async () => {
    pubsub.close();
    await server.close();
    emu.close();
  });

  test('decodes change events: header with field names (compound parts included) and the payload', async () => {
    const id = account('Acme', { BillingCity: 'Leeds' });
    const it = pubsub.subscribe('/data/AccountChangeEvent', { replay: 'latest', batch: 10 })[Symbol.asyncIterator]();
    const first = it.next();
    await until(() => server.stats.subscriptions > 0, 'the subscription');
    await sf.update('Account', id, { Name: 'Acme Ltd', BillingCity: 'York' });
    const ev = (await first).value as PubSubEvent;
    assert.equal(ev.header!.changeType, 'UPDATE');
    assert.deepEqual(ev.header!.recordIds, [id]);
    assert.deepEqual([...ev.header!.changedFields].sort(), ['BillingAddress.City', 'LastModifiedDate', 'Name']);
    assert.equal(ev.payload.Name, 'Acme Ltd');
    assert.equal((ev.payload.BillingAddress as { City: string }).City, 'York');
    assert.equal(ev.replayId.length, 8);
    await it.return!(undefined);
  });

  test('credit follows the consumer: never more than one batch delivered ahead of what it finished', async () => {
    const start = emu.org.bus.tip;
    for (let i = 0; i < 20; i++) account(`Credit ${i}`);
    const delivered0 = server.stats.delivered;
    const batch = 4;
    const got: PubSubEvent[] = [];
    const it = pubsub.subscribe('/data/AccountChangeEvent', { replay: { after: replayBytes(start) }, batch })[Symbol.asyncIterator]();
    got.push((await it.next()).value as PubSubEvent);
    // A slow consumer: while it holds the first event, keepalives pass and nothing more is delivered.
    const k = server.stats.keepalives;
    await until(() => server.stats.keepalives >= k + 3, 'keepalives while the consumer is busy');
    assert.equal(server.stats.delivered - delivered0, batch);
    while (got.length < 20) {
      got.push((await it.next()).value as PubSubEvent);
      assert.ok(server.stats.delivered - delivered0 - got.length <= batch, `delivered ${server.stats.delivered - delivered0} with ${got.length} taken`);
    }
    assert.deepEqual(got.map((e) => e.payload.Name), Array.from({ length: 20 }, (_, i) => `Credit ${i}`));
    await it.return!(undefined);
  });

  test('recovers from a dropped stream and an expired token without losing or repeating events', async () => {
    const start = emu.org.bus.tip;
    const got: string[] = [];
    const ctl = new AbortController();
    const loop = (async () => {
      for await (const ev of pubsub.subscribe('/data/AccountChangeEvent', { replay: { after: replayBytes(start) }, batch: 2, signal: ctl.signal })) {
        got.push(String(ev.payload.Name));
        if (got.length === 9) ctl.abort();
      }
    })();
    for (let i = 0; i < 3; i++) account(`R${i}`);
    await until(() => got.length === 3, '3 events');
    await emu.request('/__emulator/events/drop', { method: 'POST' });
    for (let i = 3; i < 6; i++) account(`R${i}`);
    await until(() => got.length === 6, '6 events after the drop');
    await emu.request('/__emulator/sessions/expire', { method: 'POST' });
    for (let i = 6; i < 9; i++) account(`R${i}`);
    await loop;
    assert.deepEqual(got, Array.from({ length: 9 }, (_, i) => `R${i}`));
  });

  test('a replay id past retention is a typed error, not a retry loop', async () => {
    const old = emu.org.bus.tip;
    account('Old');
    emu.org.clock.advance(73 * 3600_000);
    account('New');
    const it = pubsub.subscribe('/data/AccountChangeEvent', { replay: { after: replayBytes(old - 1) } });
    await assert.rejects(it.next(), (err: PubSubError) => {
      assert.ok(err instanceof PubSubError);
      assert.equal(err.code, PUBSUB_ERROR_CODES.replayExpired);
      assert.equal(err.errorCode, 'sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted');
      assert.match(err.message, /subscribe from earliest or latest/);
      return true;
    });
    emu.org.clock.reset();
  });

  test('publish platform events; a subscriber receives them with the correlation key as event id', async () => {
    const ctl = new AbortController();
    const got: PubSubEvent[] = [];
    const loop = (async () => {
      for await (const ev of pubsub.subscribe('/event/Ping__e', { replay: 'latest', signal: ctl.signal })) {
        got.push(ev);
        if (got.length === 2) ctl.abort();
      }
    })();
    await until(() => server.stats.keepalives > 0 && server.stats.subscriptions > 0, 'the subscription');
    const results = await pubsub.publish('/event/Ping__e', [{ id: 'a-1', Note__c: 'one' }, { Note__c: 'two' }]);
    assert.equal(results.length, 2);
    assert.equal(results[0].correlationKey, 'a-1');
    assert.ok(results.every((r) => r.replayId?.length === 8 && !r.error));
    await loop;
    assert.deepEqual(got.map((e) => e.payload.Note__c), ['one', 'two']);
    assert.equal(got[0].id, 'a-1');
    await assert.rejects(pubsub.publish('/data/AccountChangeEvent', [{}]), (e: PubSubError) => e.code === PUBSUB_ERROR_CODES.topic);
  });

  test('decodeBitmaps reads top-level and nested bitmaps as the reference decoders do', () => {
    const type = avro.Type.forSchema({
      type: 'record', name: 'X', fields: [
        { name: 'ChangeEventHeader', type: 'string' }, { name: 'Name', type: ['null', 'string'] },
        { name: 'BillingAddress', type: ['null', { type: 'record', name: 'Address', fields: [{ name: 'Street', type: ['null', 'string'] }, { name: 'City', type: ['null', 'string'] }] }] },
        { name: 'OwnerId', type: ['null', 'string'] }, { name: 'CreatedDate', type: ['null', 'long'] }, { name: 'LastModifiedDate', type: ['null', 'long'] },
      ],
    }) as avro.types.RecordType;
    assert.deepEqual(decodeBitmaps(type.fields, ['0x22', '2-0x02']), ['Name', 'LastModifiedDate', 'BillingAddress.City']);
    assert.deepEqual(decodeBitmaps(type.fields, ['0x4']), ['BillingAddress']);
    assert.deepEqual(decodeBitmaps(type.fields, []), []);
  });

  test('the client and the emulator use the same pubsub_api.proto', () => {
    const a = readFileSync(new URL('../../src/client/pubsub/pubsub_api.proto', import.meta.url), 'utf8');
    const b = readFileSync(new URL('../../src/emulator/events/pubsub/pubsub_api.proto', import.meta.url), 'utf8');
    assert.equal(a, b);
  });
});

function replayBytes(n: number): Uint8Array {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return new Uint8Array(b);
}

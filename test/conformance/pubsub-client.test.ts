/**
 * pozil's salesforce-pubsub-api-client, unmodified, against the emulator's Pub/Sub server over real gRPC
 * with TLS: it authenticates with OAuth against the emulator, subscribes, decodes Avro change events (bitmaps
 * included), replays from a stored replay id, publishes a platform event that a subscriber receives,
 * publishes a batch over PublishStream, and keeps to the credit it asks for (flow control). Both ways with
 * sfbridge: events sfbridge's publisher sends over Pub/Sub decode in this client, and events this client
 * publishes reach a sink through sfbridge's event pipeline loop.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import PubSubApiClient from 'salesforce-pubsub-api-client';
import { schemaFromData } from '../../src/emulator/schema/custom.ts';
import { startPubSub, type PubSubServer } from '../../src/emulator/events/pubsub/server.ts';
import { login, V } from '../helpers/emulator.ts';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SalesforceClient } from '../../src/client/index.ts';
import { eventIdOf, publish as sfPublish } from '../../src/engine/publish/index.ts';
import { openSink, parseSinkConfig } from '../../src/engine/sinks/index.ts';
import { followTopic } from '../../src/engine/subscriptions/follow.ts';
import { openStore } from '../../src/store/index.ts';
import { servedOrg, type ServedOrg } from '../helpers/served.ts';

const TLS = {
  cert: readFileSync(new URL('./fixtures/jwt-test.crt', import.meta.url)),
  key: readFileSync(new URL('./fixtures/jwt-test.key', import.meta.url)),
};
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

type Callback = (subscription: unknown, type: string, data?: unknown) => void;
interface Parsed { id: string; schemaId: string; replayId: number; payload: Record<string, unknown> & { ChangeEventHeader?: Record<string, unknown> } }

/** Collects a subscription's callbacks and lets a test wait for the nth event or a callback type. */
class Collector {
  events: Parsed[] = [];
  types: string[] = [];
  errors: unknown[] = [];
  #waiters: (() => void)[] = [];
  readonly cb: Callback = (_sub, type, data) => {
    this.types.push(type);
    if (type === 'event') this.events.push(data as Parsed);
    if (type === 'error') this.errors.push(data);
    for (const w of this.#waiters.splice(0)) w();
  };
  /** Events in replay order (the client parses each response asynchronously, so callbacks may interleave). */
  get ordered(): Parsed[] {
    return [...this.events].sort((a, b) => a.replayId - b.replayId);
  }
  async until(cond: () => boolean, what: string): Promise<void> {
    for (let i = 0; !cond(); i++) {
      if (i > 400) throw new Error(`timed out waiting for ${what}; saw ${JSON.stringify(this.types)}`);
      await new Promise<void>((r) => {
        this.#waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }
}

describe('salesforce-pubsub-api-client against the emulator', () => {
  let org: ServedOrg;
  let pubsub: PubSubServer;
  let token: string;
  const clients: PubSubApiClient[] = [];

  async function client(): Promise<PubSubApiClient> {
    const c = new PubSubApiClient({
      authType: 'oauth-client-credentials', loginUrl: org.url, clientId: org.emu.org.clientId, clientSecret: org.emu.org.clientSecret,
      pubSubEndpoint: pubsub.address, rejectUnauthorizedSsl: false,
    } as never, quiet as never);
    await c.connect();
    clients.push(c);
    return c;
  }

  async function rest(path: string, method: string, body?: unknown): Promise<Response> {
    return fetch(`${org.url}${V}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  }

  before(async () => {
    const objects = schemaFromData({ objects: [{ name: 'Order_Placed__e', fields: [{ name: 'Order_Number__c', type: 'string', length: 20 }, { name: 'Total__c', type: 'currency' }] }] });
    org = await servedOrg({ objects });
    pubsub = await startPubSub(org.emu, { port: 0, tls: TLS, keepaliveMs: 150, instanceUrl: org.url });
    token = await login(org.emu);
  });

  after(async () => {
    await pubsub.close();
    for (const c of clients) c.close();
    await org.close();
  });

  let firstReplayId = 0;
  let accountId = '';

  test('subscribe to /data/AccountChangeEvent: REST changes arrive decoded, with header, fields and bitmaps', async () => {
    const c = await client();
    const got = new Collector();
    c.subscribe('/data/AccountChangeEvent', got.cb, 3);
    await got.until(() => got.types.includes('grpcKeepAlive'), 'the first keepalive');

    const created = await rest('/sobjects/Account', 'POST', { Name: 'Globex', BillingCity: 'Leeds', Industry: 'Energy' });
    assert.equal(created.status, 201);
    accountId = ((await created.json()) as { id: string }).id;
    assert.equal((await rest(`/sobjects/Account/${accountId}`, 'PATCH', { Name: 'Globex PLC', BillingCity: 'York', Industry: null })).status, 204);
    assert.equal((await rest(`/sobjects/Account/${accountId}`, 'DELETE')).status, 204);
    await got.until(() => got.events.length === 3, '3 events');
    await got.until(() => got.types.includes('lastEvent'), 'the last requested event');

    const [create, update, del] = got.ordered;
    const h = create.payload.ChangeEventHeader!;
    assert.equal(h.entityName, 'Account');
    assert.deepEqual(h.recordIds, [accountId]);
    assert.equal(h.changeType, 'CREATE');
    assert.equal(h.changeOrigin, 'com/salesforce/api/rest/62.0');
    assert.equal(h.sequenceNumber, 1);
    assert.equal(h.commitUser, org.emu.org.adminUserId);
    assert.equal(typeof h.commitTimestamp, 'number');
    assert.deepEqual(h.changedFields, []);
    assert.equal(create.payload.Name, 'Globex');
    assert.equal(create.payload.Industry, 'Energy');
    assert.equal((create.payload.BillingAddress as Record<string, unknown>).City, 'Leeds');
    assert.equal(typeof create.payload.CreatedDate, 'number');

    const u = update.payload.ChangeEventHeader!;
    assert.equal(u.changeType, 'UPDATE');
    assert.deepEqual([...(u.changedFields as string[])].sort(), ['BillingAddress.City', 'Industry', 'LastModifiedDate', 'Name']);
    assert.deepEqual(u.nulledFields, ['Industry']);
    assert.equal(update.payload.Name, 'Globex PLC');
    assert.equal(update.payload.Industry, null);
    assert.deepEqual({ ...(update.payload.BillingAddress as object) }, { Street: null, City: 'York', State: null, PostalCode: null, Country: null, Latitude: null, Longitude: null, GeocodeAccuracy: null });
    assert.equal(update.payload.OwnerId, null, 'unchanged fields are null in Pub/Sub events');

    assert.equal(del.payload.ChangeEventHeader!.changeType, 'DELETE');
    assert.ok(create.replayId < update.replayId && update.replayId < del.replayId);
    assert.match(create.schemaId, /^[A-Za-z0-9_-]{22}$/);
    firstReplayId = create.replayId;
  });

  test('replay from a stored replay id delivers the events after it', async () => {
    const c = await client();
    const got = new Collector();
    c.subscribeFromReplayId('/data/AccountChangeEvent', got.cb, 2, firstReplayId);
    await got.until(() => got.events.length === 2, '2 replayed events');
    assert.deepEqual(got.ordered.map((e) => e.payload.ChangeEventHeader!.changeType), ['UPDATE', 'DELETE']);
    assert.ok(got.events.every((e) => e.replayId > firstReplayId));
  });

  test('a replay id outside retention fails with INVALID_ARGUMENT and the replayid.corrupted error code', async () => {
    const c = await client();
    const got = new Collector();
    c.subscribeFromReplayId('/data/AccountChangeEvent', got.cb, 1, 987654321);
    await got.until(() => got.errors.length > 0, 'an error');
    const err = got.errors[0] as { code: number; details: string; metadata: { get(k: string): unknown[] } };
    assert.equal(err.code, 3);
    assert.deepEqual(err.metadata.get('error-code'), ['sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted']);
    assert.match(err.details, /rpcId: [0-9a-f-]{36}$/);
  });

  test('publish a platform event with the client; a subscriber from EARLIEST receives it and a REST-published one', async () => {
    const pub = await client();
    const rest201 = await rest('/sobjects/Order_Placed__e', 'POST', { Order_Number__c: 'R-1', Total__c: 5 });
    assert.equal(rest201.status, 201);
    const result = await pub.publish('/event/Order_Placed__e', { CreatedDate: Date.now(), CreatedById: org.emu.org.adminUserId, EventUuid: null, Order_Number__c: { string: 'P-1' }, Total__c: { double: 42.5 } }, 'corr-1') as { replayId: number; correlationKey: string };
    assert.equal(result.correlationKey, 'corr-1');
    assert.ok(result.replayId > 0);

    const sub = await client();
    const got = new Collector();
    sub.subscribeFromEarliestEvent('/event/Order_Placed__e', got.cb, 2);
    await got.until(() => got.events.length === 2, '2 platform events');
    const [fromRest, fromClient] = got.ordered;
    assert.deepEqual([fromRest.payload.Order_Number__c, fromClient.payload.Order_Number__c], ['R-1', 'P-1']);
    assert.equal(fromClient.payload.Total__c, 42.5);
    assert.equal(fromClient.replayId, result.replayId);
    assert.equal(fromClient.id, 'corr-1');
    assert.equal(fromRest.payload.CreatedById, org.emu.org.adminUserId);
    assert.equal(fromRest.payload.Total__c, 5);
  });

  /** sfbridge's own client on the same org and TLS endpoint. */
  const sfbridge = () =>
    new SalesforceClient({
      credentials: { kind: 'clientCredentials', instanceUrl: org.url, clientId: org.emu.org.clientId, clientSecret: org.emu.org.clientSecret },
      governor: false,
      pubsub: { endpoint: pubsub.address, tls: { ca: TLS.cert, rejectUnauthorized: false } },
    });

  test('publishBatch over PublishStream: a result per event with its correlation key, received in order', async () => {
    const pub = await client();
    const responses: { results: { replayId: number; correlationKey: string }[] }[] = [];
    const errors: unknown[] = [];
    const start = org.emu.org.bus.tip;
    const events = ['B-1', 'B-2', 'B-3'].map((n) => ({ id: `batch-${n}`, payload: { CreatedDate: Date.now(), CreatedById: org.emu.org.adminUserId, EventUuid: null, Order_Number__c: { string: n }, Total__c: { double: 1 } } }));
    await pub.publishBatch('/event/Order_Placed__e', events as never, ((_info: unknown, type: string, data: unknown) => {
      if (type === 'publishResponse') responses.push(data as never);
      if (type === 'error') errors.push(data);
    }) as never);
    for (let i = 0; responses.flatMap((r) => r.results).length < 3; i++) {
      if (i > 200 || errors.length) throw new Error(`no publish response: ${JSON.stringify(errors)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    const results = responses.flatMap((r) => r.results);
    assert.deepEqual(results.map((r) => r.correlationKey), ['batch-B-1', 'batch-B-2', 'batch-B-3']);
    assert.ok(results[0].replayId > start && results[0].replayId < results[1].replayId && results[1].replayId < results[2].replayId);
    const sub = await client();
    const got = new Collector();
    sub.subscribeFromReplayId('/event/Order_Placed__e', got.cb, 3, start);
    await got.until(() => got.events.length === 3, 'the batch');
    assert.deepEqual(got.ordered.map((e) => [e.id, e.payload.Order_Number__c]), [['batch-B-1', 'B-1'], ['batch-B-2', 'B-2'], ['batch-B-3', 'B-3']]);
  });

  test('flow control: the server keeps to the credit asked for; requestAdditionalEvents gets the next ones', async () => {
    const sf = sfbridge();
    const start = org.emu.org.bus.tip;
    const sent = await sf.events.publish('/event/Order_Placed__e', ['F-1', 'F-2', 'F-3', 'F-4', 'F-5'].map((n) => ({ Order_Number__c: n })));
    assert.ok(sent.every((r) => !r.error));
    const sub = await client();
    const got = new Collector();
    sub.subscribeFromReplayId('/event/Order_Placed__e', got.cb, 2, start);
    await got.until(() => got.types.includes('lastEvent'), 'the end of the first batch');
    // Nothing beyond the credit: wait past a keepalive and count again.
    await got.until(() => got.types.filter((t) => t === 'grpcKeepAlive').length > 0 || got.types.length > 4, 'a keepalive');
    assert.equal(got.events.length, 2);
    sub.requestAdditionalEvents('/event/Order_Placed__e', 2);
    await got.until(() => got.events.length === 4, 'two more');
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(got.ordered.map((e) => e.payload.Order_Number__c), ['F-1', 'F-2', 'F-3', 'F-4']);
    sf.events.close();
  });

  test("sfbridge's publisher over Pub/Sub: this client decodes its events, values typed, ids from the outbox", async () => {
    const sf = sfbridge();
    const state = await (await openStore('sqlite::memory:')).publishState();
    const start = org.emu.org.bus.tip;
    const summary = await sfPublish({ client: sf, state, pipeline: 'orders', target: { object: 'Order_Placed__e', operation: 'insert' }, records: [{ key: 'k1', record: { Order_Number__c: 'S-1', Total__c: '19.99' } }, { key: 'k2', record: { Order_Number__c: 'S-2' } }] });
    assert.deepEqual(summary.paths, ['pubsub']);
    assert.equal(summary.succeeded, 2);
    const sub = await client();
    const got = new Collector();
    sub.subscribeFromReplayId('/event/Order_Placed__e', got.cb, 2, start);
    await got.until(() => got.events.length === 2, 'the two events');
    const [a, b] = got.ordered;
    assert.equal(a.id, eventIdOf('orders', 'k1'));
    assert.equal(a.payload.Order_Number__c, 'S-1');
    assert.equal(a.payload.Total__c, 19.99);
    assert.equal(b.payload.Total__c, null);
    assert.equal(typeof a.payload.CreatedDate, 'number');
    assert.equal(a.payload.CreatedById, org.emu.org.adminUserId);
    sf.events.close();
  });

  test("events this client publishes reach a JSONL sink through sfbridge's event pipeline loop", async () => {
    const sf = sfbridge();
    const store = await openStore('sqlite::memory:');
    const path = join(await mkdtemp(join(tmpdir(), 'sfb-conf-')), 'orders.jsonl');
    const sink = openSink(parseSinkConfig({ kind: 'jsonl', url: path, envelope: true }));
    const start = org.emu.org.bus.tip;
    const pub = await client();
    await pub.publish('/event/Order_Placed__e', { CreatedDate: Date.now(), CreatedById: org.emu.org.adminUserId, EventUuid: null, Order_Number__c: { string: 'Z-1' }, Total__c: { double: 7.5 } }, 'pozil-1');
    const replay = new Uint8Array(8);
    new DataView(replay.buffer).setBigUint64(0, BigInt(start));
    await store.setCheckpoint('events:conformance', null, { replayId: Buffer.from(replay).toString('hex') });
    const controller = new AbortController();
    const run = followTopic({ pipeline: 'conformance', topic: '/event/Order_Placed__e', source: sf.events, sink, store, deadLetters: await store.publishState(), lingerMs: 20, signal: controller.signal });
    let lines: { id: string; body: { payload: Record<string, unknown> } }[] = [];
    for (let i = 0; lines.length === 0; i++) {
      if (i > 400) throw new Error('the event did not reach the sink');
      await new Promise((r) => setTimeout(r, 25));
      lines = (await readFile(path, 'utf8').catch(() => '')).split('\n').slice(0, -1).map((l) => JSON.parse(l));
    }
    controller.abort();
    await run;
    await sink.close();
    await store.close();
    sf.events.close();
    assert.equal(lines[0].id, 'pozil-1');
    assert.equal(lines[0].body.payload.Order_Number__c, 'Z-1');
    assert.equal(lines[0].body.payload.Total__c, 7.5);
  });
});

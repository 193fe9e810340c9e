/**
 * pozil's salesforce-pubsub-api-client, unmodified, against the emulator's Pub/Sub server over real gRPC
 * with TLS: it authenticates with OAuth against the emulator, subscribes, decodes Avro change events (bitmaps
 * included), replays from a stored replay id, and publishes a platform event that a subscriber receives.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import PubSubApiClient from 'salesforce-pubsub-api-client';
import { schemaFromData } from '../../src/emulator/schema/custom.ts';
import { startPubSub, type PubSubServer } from '../../src/emulator/events/pubsub/server.ts';
import { login, V } from '../helpers/emulator.ts';
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
});

/**
 * The emulator's Pub/Sub server over real gRPC sockets, driven by a plain @grpc/grpc-js client: auth
 * metadata, topics and schemas, exact num_requested credit, keepalives, replay presets and their errors,
 * Publish/PublishStream, the dropped-stream fault and a token that expires mid-stream.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import avro from 'avsc';
import { schemaFromData } from '../../src/emulator/schema/custom.ts';
import { startPubSub, type PubSubServer } from '../../src/emulator/events/pubsub/server.ts';
import { testOrg, type TestOrg } from '../helpers/emulator.ts';

const PROTO = fileURLToPath(new URL('../../src/emulator/events/pubsub/pubsub_api.proto', import.meta.url));
const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(PROTO, { longs: Number, enums: String, defaults: true })) as unknown as {
  eventbus: { v1: { PubSub: new (address: string, creds: grpc.ChannelCredentials) => grpc.Client & Record<string, (...args: unknown[]) => unknown> } };
};

interface FetchResponse { events: { event: { id: string; schemaId: string; payload: Buffer }; replayId: Buffer }[]; latestReplayId: Buffer; rpcId: string; pendingNumRequested: number }
type Duplex = grpc.ClientDuplexStream<Record<string, unknown>, FetchResponse>;

const rid = (b: Buffer) => Number(b.readBigUInt64BE());
const enc = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
};

/** Reads a duplex stream's messages and its final error, with waits bounded by count, not time. */
class Reader {
  messages: FetchResponse[] = [];
  error: grpc.ServiceError | null = null;
  #wake: (() => void)[] = [];
  readonly stream: Duplex;
  constructor(stream: Duplex) {
    this.stream = stream;
    stream.on('data', (m: FetchResponse) => this.#push(() => this.messages.push(m)));
    stream.on('error', (e: grpc.ServiceError) => this.#push(() => (this.error = e)));
  }
  #push(fn: () => void) {
    fn();
    for (const w of this.#wake.splice(0)) w();
  }
  get events() {
    return this.messages.flatMap((m) => m.events);
  }
  async until(cond: () => boolean, what: string): Promise<void> {
    for (let i = 0; !cond(); i++) {
      if (i > 300) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((r) => {
        this.#wake.push(r);
        setTimeout(r, 50);
      });
    }
  }
}

describe('Pub/Sub server', () => {
  let org: TestOrg;
  let server: PubSubServer;
  let client: grpc.Client & Record<string, (...args: unknown[]) => unknown>;
  let md: grpc.Metadata;

  const unary = <T>(method: string, req: unknown, meta = md): Promise<T> => new Promise((resolve, reject) => {
    client[method](req, meta, (err: grpc.ServiceError | null, res: T) => (err ? reject(err) : resolve(res)));
  });
  const subscribe = (meta = md) => new Reader(client.Subscribe(meta) as Duplex);
  const create = async (name: string, extra: Record<string, unknown> = {}) => {
    const res = await org.api('/sobjects/Account', { method: 'POST', json: { Name: name, ...extra } });
    assert.equal(res.status, 201);
    return ((await res.json()) as { id: string }).id;
  };

  before(async () => {
    const objects = schemaFromData({ objects: [{ name: 'Ping__e', fields: [{ name: 'Note__c', type: 'string', length: 50 }] }] });
    org = await testOrg({ objects });
    server = await startPubSub(org.emu, { port: 0, keepaliveMs: 100, instanceUrl: 'http://127.0.0.1:8484' });
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

  test('auth metadata: missing, wrong tenant, wrong instance URL or bad token → UNAUTHENTICATED with the auth error code', async () => {
    const cases: [string, grpc.Metadata][] = [];
    cases.push(['missing', new grpc.Metadata()]);
    const wrongTenant = md.clone();
    wrongTenant.set('tenantid', '00D000000000000AAA');
    cases.push(['tenant', wrongTenant]);
    const wrongInstance = md.clone();
    wrongInstance.set('instanceurl', 'https://other.my.salesforce.com');
    cases.push(['instance', wrongInstance]);
    const badToken = md.clone();
    badToken.set('accesstoken', 'nope');
    cases.push(['token', badToken]);
    for (const [what, meta] of cases) {
      await assert.rejects(unary('GetTopic', { topicName: '/data/AccountChangeEvent' }, meta), (err: grpc.ServiceError) => {
        assert.equal(err.code, grpc.status.UNAUTHENTICATED, what);
        assert.deepEqual(err.metadata.get('error-code'), ['sfdc.platform.eventbus.grpc.service.auth.error']);
        assert.match(err.details, /rpcId: [0-9a-f-]{36}$/);
        return true;
      });
    }
  });

  test('GetTopic and GetSchema: change events cannot be published, platform events can; Avro schema shape', async () => {
    const topic = await unary<Record<string, unknown>>('GetTopic', { topicName: '/data/AccountChangeEvent' });
    assert.equal(topic.topicName, '/data/AccountChangeEvent');
    assert.equal(topic.tenantGuid, org.emu.org.orgId);
    assert.equal(topic.canPublish, false);
    assert.equal(topic.canSubscribe, true);
    const schema = await unary<{ schemaJson: string; schemaId: string }>('GetSchema', { schemaId: topic.schemaId });
    assert.equal(schema.schemaId, topic.schemaId);
    const json = JSON.parse(schema.schemaJson) as { name: string; namespace: string; fields: { name: string; type: unknown }[] };
    assert.equal(json.name, 'AccountChangeEvent');
    assert.equal(json.namespace, 'com.sforce.eventbus');
    assert.equal(json.fields[0].name, 'ChangeEventHeader');
    const names = json.fields.map((f) => f.name);
    assert.ok(names.includes('BillingAddress') && !names.includes('BillingCity') && !names.includes('SystemModstamp') && !names.includes('IsDeleted'));
    assert.deepEqual(json.fields.find((f) => f.name === 'Name')!.type, ['null', 'string']);
    const pe = await unary<Record<string, unknown>>('GetTopic', { topicName: '/event/Ping__e' });
    assert.equal(pe.canPublish, true);
    await assert.rejects(unary('GetTopic', { topicName: '/data/TaskChangeEvent' }), (e: grpc.ServiceError) => e.code === grpc.status.NOT_FOUND);
    await assert.rejects(unary('GetTopic', { topicName: '/data/accountchangeevent' }), (e: grpc.ServiceError) => e.code === grpc.status.NOT_FOUND);
    await assert.rejects(unary('GetSchema', { schemaId: 'nope' }), (e: grpc.ServiceError) => e.code === grpc.status.NOT_FOUND);
  });

  test('num_requested credit is exact across requests; keepalives carry latest_replay_id and the pending credit', async () => {
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await create(`Credit ${i}`));
    const tip = org.emu.org.bus.tip;
    const r = subscribe();
    r.stream.write({ topicName: '/data/AccountChangeEvent', replayPreset: 'EARLIEST', numRequested: 2 });
    await r.until(() => r.events.length >= 2, '2 events');
    // Wait for a keepalive: no further events were sent without credit.
    await r.until(() => r.messages.some((m) => m.events.length === 0), 'a keepalive');
    assert.equal(r.events.length, 2);
    const keepalive = r.messages.find((m) => m.events.length === 0)!;
    assert.equal(keepalive.pendingNumRequested, 0);
    assert.equal(keepalive.latestReplayId.length, 8);
    assert.equal(rid(keepalive.latestReplayId), rid(r.events[1].replayId), 'without credit the position does not skip pending events');
    const withEvents = r.messages.filter((m) => m.events.length > 0);
    assert.equal(withEvents.at(-1)!.pendingNumRequested, 0);
    r.stream.write({ numRequested: 10 });
    await r.until(() => r.events.length >= 5, '5 events');
    assert.equal(r.messages.filter((m) => m.events.length > 0).at(-1)!.pendingNumRequested, 7);
    const seen = r.events.map((e) => rid(e.replayId));
    assert.deepEqual(seen, [...seen].sort((a, b) => a - b));
    assert.equal(seen.at(-1), tip);
    // With credit left, a new change is pushed at once.
    await create('Live');
    await r.until(() => r.events.length >= 6, 'the live event');
    const decoded = avro.Type.forSchema(JSON.parse((await unary<{ schemaJson: string }>('GetSchema', { schemaId: r.events[5].event.schemaId })).schemaJson)).fromBuffer(r.events[5].event.payload) as Record<string, unknown>;
    assert.equal(decoded.Name, 'Live');
    const n = r.messages.length;
    await r.until(() => r.messages.length > n + 1 && r.messages.at(-1)!.events.length === 0, 'a keepalive after the live event');
    assert.equal(r.messages.at(-1)!.pendingNumRequested, 6);
    assert.equal(rid(r.messages.at(-1)!.latestReplayId), org.emu.org.bus.tip);
    // A later request naming another topic fails the stream.
    r.stream.write({ topicName: '/data/ContactChangeEvent', numRequested: 1 });
    await r.until(() => r.error !== null, 'the topic mismatch error');
    assert.equal(r.error!.code, grpc.status.INVALID_ARGUMENT);
    void ids;
  });

  test('update bitmaps: top-level positions and a nested compound entry, upper-case hex', async () => {
    const id = await create('Bits', { BillingCity: 'Leeds', BillingStreet: '1 Main St' });
    const r = subscribe();
    r.stream.write({ topicName: '/data/AccountChangeEvent', replayPreset: 'LATEST', numRequested: 1 });
    await r.until(() => r.messages.length > 0, 'the first keepalive');
    assert.equal((await org.api(`/sobjects/Account/${id}`, { method: 'PATCH', json: { Name: 'Bits 2', BillingCity: 'York', BillingStreet: null } })).status, 204);
    await r.until(() => r.events.length === 1, 'the update');
    const ev = r.events[0].event;
    const { schemaJson } = await unary<{ schemaJson: string }>('GetSchema', { schemaId: ev.schemaId });
    const json = JSON.parse(schemaJson) as { fields: { name: string; type: [string, { fields: { name: string }[] }] }[] };
    const rec = avro.Type.forSchema(JSON.parse(schemaJson)).fromBuffer(ev.payload) as { ChangeEventHeader: { changedFields: string[]; nulledFields: string[] } };
    const pos = (n: string) => json.fields.findIndex((f) => f.name === n);
    const billing = pos('BillingAddress');
    const sub = (n: string) => json.fields[billing].type[1].fields.findIndex((f) => f.name === n);
    const top = (1n << BigInt(pos('Name'))) | (1n << BigInt(pos('LastModifiedDate')));
    assert.deepEqual(rec.ChangeEventHeader.changedFields, [`0x${top.toString(16).toUpperCase()}`, `${billing}-0x${((1 << sub('City')) | (1 << sub('Street'))).toString(16).toUpperCase()}`]);
    assert.deepEqual(rec.ChangeEventHeader.nulledFields, [`${billing}-0x${(1 << sub('Street')).toString(16).toUpperCase()}`]);
    r.stream.end();
  });

  test('replay presets: CUSTOM without an id, a malformed id, num_requested out of range', async () => {
    const expect = async (req: Record<string, unknown>, code: grpc.status, errorCode: string) => {
      const r = subscribe();
      r.stream.write({ topicName: '/data/AccountChangeEvent', ...req });
      await r.until(() => r.error !== null, errorCode);
      assert.equal(r.error!.code, code);
      assert.deepEqual(r.error!.metadata.get('error-code'), [errorCode]);
    };
    await expect({ replayPreset: 'CUSTOM', numRequested: 1 }, grpc.status.INVALID_ARGUMENT, 'sfdc.platform.eventbus.grpc.subscription.fetch.replayid.validation.failed');
    await expect({ replayPreset: 'CUSTOM', replayId: Buffer.from([1, 2, 3]), numRequested: 1 }, grpc.status.INVALID_ARGUMENT, 'sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted');
    await expect({ replayPreset: 'CUSTOM', replayId: enc(org.emu.org.bus.tip + 1000), numRequested: 1 }, grpc.status.INVALID_ARGUMENT, 'sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted');
    await expect({ numRequested: 0 }, grpc.status.INVALID_ARGUMENT, 'sfdc.platform.eventbus.grpc.subscription.fetch.requested.events.invalid');
    await expect({ numRequested: 101 }, grpc.status.INVALID_ARGUMENT, 'sfdc.platform.eventbus.grpc.subscription.fetch.requested.events.invalid');
  });

  test('Publish and PublishStream: per-event results with correlation keys; subscribers receive them; change topics refuse', async () => {
    const { schemaId } = await unary<{ schemaId: string }>('GetTopic', { topicName: '/event/Ping__e' });
    const { schemaJson } = await unary<{ schemaJson: string }>('GetSchema', { schemaId });
    const type = avro.Type.forSchema(JSON.parse(schemaJson));
    const payload = (note: string) => type.toBuffer({ CreatedDate: Date.now(), CreatedById: org.emu.org.adminUserId, EventUuid: null, Note__c: note });
    const r = subscribe();
    r.stream.write({ topicName: '/event/Ping__e', replayPreset: 'LATEST', numRequested: 10 });
    await r.until(() => r.messages.length > 0, 'the first keepalive');

    const res = await unary<{ results: { replayId: Buffer; correlationKey: string; error: unknown }[]; schemaId: string }>('Publish', { topicName: '/event/Ping__e', events: [{ id: 'k1', schemaId, payload: payload('one') }, { id: 'k2', schemaId, payload: payload('two') }] });
    assert.deepEqual(res.results.map((x) => x.correlationKey), ['k1', 'k2']);
    assert.ok(rid(res.results[1].replayId) > rid(res.results[0].replayId));
    assert.equal(res.results[0].error, null);

    const ps = client.PublishStream(md) as grpc.ClientDuplexStream<unknown, { results: { correlationKey: string }[] }>;
    const acks: string[] = [];
    let psError: grpc.ServiceError | null = null;
    ps.on('data', (m: { results: { correlationKey: string }[] }) => acks.push(...m.results.map((x) => x.correlationKey)));
    ps.on('error', (e: grpc.ServiceError) => (psError = e));
    ps.write({ topicName: '/event/Ping__e', events: [{ id: 's1', schemaId, payload: payload('three') }] });
    ps.write({ events: [{ id: 's2', schemaId, payload: payload('four') }] });
    await r.until(() => r.events.length >= 4 && acks.length >= 2, 'the streamed events');
    assert.deepEqual(acks, ['s1', 's2']);
    const notes = r.events.map((e) => (type.fromBuffer(e.event.payload) as { Note__c: string }).Note__c);
    assert.deepEqual(notes, ['one', 'two', 'three', 'four']);
    assert.deepEqual(r.events.map((e) => e.event.id), ['k1', 'k2', 's1', 's2']);
    ps.write({ topicName: '/event/Other__e', events: [] });
    await r.until(() => psError !== null, 'the PublishStream topic mismatch');
    assert.equal(psError!.code, grpc.status.INVALID_ARGUMENT);
    await assert.rejects(unary('Publish', { topicName: '/data/AccountChangeEvent', events: [] }), (e: grpc.ServiceError) => e.code === grpc.status.PERMISSION_DENIED);
    r.stream.end();
  });

  test('faults: a dropped stream fails with UNAVAILABLE; a token that expires mid-stream fails the next request', async () => {
    const r = subscribe();
    r.stream.write({ topicName: '/data/AccountChangeEvent', numRequested: 1 });
    await r.until(() => r.messages.length > 0, 'the first keepalive');
    assert.equal((await org.emu.request('/__emulator/events/drop', { method: 'POST' })).status, 200);
    await r.until(() => r.error !== null, 'the drop');
    assert.equal(r.error!.code, grpc.status.UNAVAILABLE);

    const r2 = subscribe();
    r2.stream.write({ topicName: '/data/AccountChangeEvent', numRequested: 1 });
    await r2.until(() => r2.messages.length > 0, 'the first keepalive');
    await org.emu.request('/__emulator/sessions/expire', { method: 'POST' });
    r2.stream.write({ numRequested: 1 });
    await r2.until(() => r2.error !== null, 'the auth error');
    assert.equal(r2.error!.code, grpc.status.UNAUTHENTICATED);
    assert.deepEqual(r2.error!.metadata.get('error-code'), ['sfdc.platform.eventbus.grpc.service.auth.error']);
  });
});

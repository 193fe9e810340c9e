/**
 * ManagedSubscribe over real gRPC sockets: a subscription defined through the admin API, its default replay,
 * replay-id commits answered with `commit_response`, a new stream that resumes after the committed id, and
 * the refusals (unknown subscription, stopped subscription, a commit of an id the bus cannot replay after).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
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

interface ManagedFetchResponse {
  events: { event: { id: string; schemaId: string; payload: Buffer }; replayId: Buffer }[];
  latestReplayId: Buffer;
  pendingNumRequested: number;
  commitResponse: { commitRequestId: string; replayId: Buffer; error: { code: string; msg: string } | null; processTime: number } | null;
}
type Duplex = grpc.ClientDuplexStream<Record<string, unknown>, ManagedFetchResponse>;

class Reader {
  messages: ManagedFetchResponse[] = [];
  error: grpc.ServiceError | null = null;
  readonly stream: Duplex;
  constructor(stream: Duplex) {
    this.stream = stream;
    stream.on('data', (m: ManagedFetchResponse) => this.messages.push(m));
    stream.on('error', (e: grpc.ServiceError) => (this.error = e));
  }
  get events() {
    return this.messages.flatMap((m) => m.events);
  }
  get commits() {
    return this.messages.flatMap((m) => (m.commitResponse ? [m.commitResponse] : []));
  }
  async until(cond: () => boolean, what: string): Promise<void> {
    for (let i = 0; !cond(); i++) {
      if (i > 400) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

describe('ManagedSubscribe', () => {
  let org: TestOrg;
  let server: PubSubServer;
  let client: grpc.Client & Record<string, (...args: unknown[]) => unknown>;
  let md: grpc.Metadata;
  const managed = () => new Reader(client.ManagedSubscribe(md) as Duplex);
  const define = async (body: unknown) => {
    const res = await org.emu.request('/__emulator/managed-subscriptions', { method: 'POST', body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const ping = async (note: string) => {
    const res = await org.api('/sobjects/Ping__e', { method: 'POST', json: { Note__c: note } });
    assert.equal(res.status, 201);
  };
  let type: avro.Type;
  const notes = (r: Reader) => r.events.map((e) => (type.fromBuffer(e.event.payload) as { Note__c: string }).Note__c);

  before(async () => {
    const objects = schemaFromData({ objects: [{ name: 'Ping__e', fields: [{ name: 'Note__c', type: 'string', length: 50 }] }] });
    org = await testOrg({ objects });
    server = await startPubSub(org.emu, { port: 0, keepaliveMs: 100 });
    client = new pkg.eventbus.v1.PubSub(server.address, grpc.credentials.createInsecure());
    md = new grpc.Metadata();
    md.set('accesstoken', org.token);
    md.set('instanceurl', 'http://127.0.0.1:8484');
    md.set('tenantid', org.emu.org.orgId);
    const topic = await new Promise<{ schemaId: string }>((resolve, reject) => client.GetTopic({ topicName: '/event/Ping__e' }, md, (e: Error | null, r: { schemaId: string }) => (e ? reject(e) : resolve(r))));
    const schema = await new Promise<{ schemaJson: string }>((resolve, reject) => client.GetSchema({ schemaId: topic.schemaId }, md, (e: Error | null, r: { schemaJson: string }) => (e ? reject(e) : resolve(r))));
    type = avro.Type.forSchema(JSON.parse(schema.schemaJson) as avro.Schema);
  });

  after(async () => {
    client.close();
    await server.close();
    org.close();
  });

  test('the admin API defines subscriptions and refuses bad definitions with the fix', async () => {
    const bad = await define({ developerName: 'Pings', topicName: '/event/Nope__e' });
    assert.equal(bad.status, 400);
    assert.match(String(bad.body.error), /topicName "\/event\/Nope__e" is not a topic of this org/);
    assert.equal((await define({ developerName: '1bad', topicName: '/event/Ping__e' })).status, 400);
    assert.equal((await define({ developerName: 'Pings', topicName: '/event/Ping__e', defaultReplay: 'SOMETIME' })).status, 400);
    const ok = await define({ developerName: 'Listed', topicName: '/event/Ping__e' });
    assert.equal(ok.status, 200);
    assert.match(String(ok.body.id), /^18x[0-9A-Za-z]{15}$/);
    assert.equal(ok.body.defaultReplay, 'LATEST');
    assert.equal(ok.body.state, 'RUN');
    assert.equal(ok.body.committedReplayId, null);
    const list = (await (await org.emu.request('/__emulator/managed-subscriptions')).json()) as { subscriptions: { developerName: string }[] };
    assert.ok(list.subscriptions.some((s) => s.developerName === 'Listed'));
    assert.equal((await org.emu.request('/__emulator/managed-subscriptions/Listed', { method: 'DELETE' })).status, 200);
    assert.equal((await org.emu.request('/__emulator/managed-subscriptions/Listed', { method: 'DELETE' })).status, 404);
  });

  test('a commit is kept by the server: a new stream resumes after the committed replay id', async () => {
    const { body: sub } = await define({ developerName: 'Ping_Sync', topicName: '/event/Ping__e', defaultReplay: 'EARLIEST' });
    await ping('one');
    await ping('two');
    await ping('three');

    const r1 = managed();
    r1.stream.write({ developerName: 'Ping_Sync', numRequested: 10 });
    await r1.until(() => r1.events.length === 3, 'three events from EARLIEST');
    assert.deepEqual(notes(r1), ['one', 'two', 'three']);
    // Commit the second: the third is not finished yet.
    const commitRequestId = randomUUID();
    r1.stream.write({ commitReplayIdRequest: { commitRequestId, replayId: r1.events[1].replayId } });
    await r1.until(() => r1.commits.length === 1, 'the commit response');
    const c = r1.commits[0];
    assert.equal(c.commitRequestId, commitRequestId);
    assert.deepEqual(c.replayId, r1.events[1].replayId);
    assert.equal(c.error, null);
    assert.ok(c.processTime > 0);
    r1.stream.cancel();
    const stored = (await (await org.emu.request('/__emulator/managed-subscriptions')).json()) as { subscriptions: { developerName: string; committedReplayId: number }[] };
    assert.equal(stored.subscriptions.find((s) => s.developerName === 'Ping_Sync')!.committedReplayId, Number(r1.events[1].replayId.readBigUInt64BE()));

    await ping('four');
    const r2 = managed();
    r2.stream.write({ subscriptionId: sub.id, numRequested: 10 });
    await r2.until(() => r2.events.length === 2, 'the events after the commit');
    assert.deepEqual(notes(r2), ['three', 'four']);
    // A later request naming another subscription is refused.
    r2.stream.write({ developerName: 'Other', numRequested: 1 });
    await r2.until(() => r2.error !== null, 'the mismatch');
    assert.equal(r2.error!.code, grpc.status.INVALID_ARGUMENT);
  });

  test('a LATEST subscription starts at the tip; a commit of an unknown replay id is answered with a COMMIT error', async () => {
    await define({ developerName: 'Ping_Latest', topicName: '/event/Ping__e' });
    await ping('before');
    const r = managed();
    r.stream.write({ developerName: 'Ping_Latest', numRequested: 10 });
    await r.until(() => r.messages.length > 0, 'the first keepalive');
    await ping('after');
    await r.until(() => r.events.length === 1, 'the new event');
    assert.deepEqual(notes(r), ['after']);
    const future = Buffer.alloc(8);
    future.writeBigUInt64BE(BigInt(org.emu.org.bus.tip + 1000));
    r.stream.write({ commitReplayIdRequest: { commitRequestId: 'c-1', replayId: future } });
    await r.until(() => r.commits.length === 1, 'the commit response');
    assert.equal(r.commits[0].commitRequestId, 'c-1');
    assert.equal(r.commits[0].error?.code, 'COMMIT');
    assert.equal(r.error, null, 'a refused commit leaves the stream open');
    const stored = (await (await org.emu.request('/__emulator/managed-subscriptions')).json()) as { subscriptions: { developerName: string; committedReplayId: number | null }[] };
    assert.equal(stored.subscriptions.find((s) => s.developerName === 'Ping_Latest')!.committedReplayId, null);
    r.stream.cancel();
  });

  test('an unknown subscription is NOT_FOUND, a stopped one FAILED_PRECONDITION, num_requested 0 without a commit INVALID_ARGUMENT', async () => {
    const r1 = managed();
    r1.stream.write({ developerName: 'Missing', numRequested: 1 });
    await r1.until(() => r1.error !== null, 'NOT_FOUND');
    assert.equal(r1.error!.code, grpc.status.NOT_FOUND);

    await define({ developerName: 'Ping_Stopped', topicName: '/event/Ping__e', state: 'STOP' });
    const r2 = managed();
    r2.stream.write({ developerName: 'Ping_Stopped', numRequested: 1 });
    await r2.until(() => r2.error !== null, 'FAILED_PRECONDITION');
    assert.equal(r2.error!.code, grpc.status.FAILED_PRECONDITION);

    await define({ developerName: 'Ping_Zero', topicName: '/event/Ping__e' });
    const r3 = managed();
    r3.stream.write({ developerName: 'Ping_Zero', numRequested: 0 });
    await r3.until(() => r3.error !== null, 'INVALID_ARGUMENT');
    assert.equal(r3.error!.code, grpc.status.INVALID_ARGUMENT);
    assert.deepEqual(r3.error!.metadata.get('error-code'), ['sfdc.platform.eventbus.grpc.subscription.fetch.requested.events.invalid']);
  });
});

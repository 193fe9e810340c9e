/**
 * Event pipelines' delivery loop (`followTopic`) against the emulator's Pub/Sub server on a real gRPC socket:
 * platform events and change events reach a JSONL file, a store table (SQLite and Postgres), a Redis stream
 * (a redelivery dropped by the broker's id set) and a webhook (a local HTTP server);
 * the replay checkpoint moves only after the sink accepted a batch; a sink that refuses one event yields one
 * dead letter and the stream goes on; a sink that is out retries without moving the checkpoint; an expired
 * replay id restarts at the tip and says so.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readReplayCheckpoint, SalesforceClient } from '../../src/client/index.ts';
import { createEmulator, type Emulator } from '../../src/emulator/app.ts';
import { startPubSub, type PubSubServer } from '../../src/emulator/events/pubsub/server.ts';
import { schemaFromData } from '../../src/emulator/schema/custom.ts';
import { openSink, parseSinkConfig, SinkError } from '../../src/engine/sinks/index.ts';
import { followTopic, type FollowCounts } from '../../src/engine/subscriptions/follow.ts';
import { EventTableSink } from '../../src/engine/subscriptions/table-sink.ts';
import { openStore, type Store } from '../../src/store/index.ts';
import { loadServiceConfig, parsePipeline } from '../../src/engine/pipelines/index.ts';
import { writeFile } from 'node:fs/promises';

const BASE = 'http://127.0.0.1:8484';

async function until<T>(fn: () => Promise<T> | T, what: string): Promise<T> {
  for (let i = 0; ; i++) {
    const v = await fn();
    if (v) return v;
    if (i > 1000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('event pipelines: a topic to a sink, at least once', () => {
  let emu: Emulator;
  let server: PubSubServer;
  let sf: SalesforceClient;
  let dir: string;

  before(async () => {
    emu = createEmulator({ objects: schemaFromData({ objects: [{ name: 'Shipment__e', fields: [{ name: 'Order__c', type: 'string', length: 20 }, { name: 'Weight__c', type: 'double' }] }] }) });
    server = await startPubSub(emu, { port: 0, host: '127.0.0.1', keepaliveMs: 50 });
    sf = new SalesforceClient({
      credentials: { kind: 'clientCredentials', instanceUrl: BASE, clientId: emu.org.clientId, clientSecret: emu.org.clientSecret },
      fetch: (input, init) => emu.fetch(new Request(input, init)),
      governor: false,
      pubsub: { endpoint: server.address, tls: false, retry: { baseDelayMs: 5, maxDelayMs: 20 } },
    });
    dir = await mkdtemp(join(tmpdir(), 'sfb-events-'));
  });

  after(async () => {
    sf.events.close();
    await server.close();
    emu.close();
  });

  const publish = async (orders: string[]) => {
    const results = await sf.events.publish('/event/Shipment__e', orders.map((o) => ({ id: `ev-${o}`, Order__c: o })));
    assert.ok(results.every((r) => !r.error));
    return results.map((r) => Buffer.from(r.replayId!).readBigUInt64BE());
  };

  /** Runs the loop in the background; `stop()` aborts it and waits. */
  function follow(store: Store, name: string, sink: Parameters<typeof followTopic>[0]['sink'], extra: Partial<Parameters<typeof followTopic>[0]> = {}) {
    const controller = new AbortController();
    const counts: FollowCounts = { received: 0, delivered: 0, deadLettered: 0 };
    const done = (async () => {
      await followTopic({ pipeline: name, topic: '/event/Shipment__e', source: sf.events, sink, store, deadLetters: await store.publishState(), from: 'earliest', lingerMs: 20, signal: controller.signal, onProgress: (c) => Object.assign(counts, c), retry: { baseDelayMs: 5, maxDelayMs: 20 }, ...extra });
    })();
    return { counts, controller, done };
  }

  it('delivers events to a JSONL file, moving the checkpoint after each accepted batch; a restart resumes after it', async () => {
    const store = await openStore('sqlite::memory:');
    const path = join(dir, 'shipments.jsonl');
    const start = emu.org.bus.tip;
    await publish(['A1', 'A2', 'A3']);
    const jsonl = () => openSink(parseSinkConfig({ kind: 'jsonl', url: path, envelope: true }));
    const ctl = new AbortController();
    const sink = jsonl();
    const run = followTopic({ pipeline: 'ship-jsonl', topic: '/event/Shipment__e', source: sf.events, sink, store, deadLetters: await store.publishState(), from: 'earliest', lingerMs: 20, signal: ctl.signal });
    // Complete lines only: the sink may be appending while the file is read.
    const lines = async () => (await readFile(path, 'utf8').catch(() => '')).split('\n').slice(0, -1).map((l) => JSON.parse(l));
    // Earlier tests' events are retained too: wait for ours.
    await until(async () => (await lines()).filter((l) => l.id.startsWith('ev-A')).length === 3, 'three lines');
    // The checkpoint follows the sink's acceptance (a stop in between would deliver the batch again).
    await until(async () => {
      const cp = await readReplayCheckpoint(store, 'ship-jsonl');
      return cp && Buffer.from(cp).readBigUInt64BE() >= BigInt(start + 3);
    }, 'the checkpoint after the batch');
    ctl.abort();
    await run;
    await sink.close();
    const got = (await lines()).filter((l) => l.id.startsWith('ev-A'));
    assert.deepEqual(got.map((l) => l.body.payload.Order__c), ['A1', 'A2', 'A3']);
    assert.equal(got[0].body.topic, '/event/Shipment__e');
    assert.equal(got[0].headers['sfbridge-replay-id'], got[0].body.replayId);
    const cp = await readReplayCheckpoint(store, 'ship-jsonl');
    assert.ok(cp && Buffer.from(cp).readBigUInt64BE() >= BigInt(start + 3));
    // More events while it is stopped; the next run delivers exactly those.
    await publish(['A4', 'A5']);
    const before = (await lines()).length;
    const ctl2 = new AbortController();
    const sink2 = jsonl();
    const run2 = followTopic({ pipeline: 'ship-jsonl', topic: '/event/Shipment__e', source: sf.events, sink: sink2, store, deadLetters: await store.publishState(), lingerMs: 20, signal: ctl2.signal });
    await until(async () => (await lines()).length === before + 2, 'the two new lines');
    ctl2.abort();
    await run2;
    await sink2.close();
    assert.deepEqual((await lines()).slice(before).map((l) => l.id), ['ev-A4', 'ev-A5']);
    await store.close();
  });

  it('writes one row per event into a store table, and a redelivery rewrites its row', async () => {
    const store = await openStore('sqlite::memory:');
    await publish(['T1', 'T2']);
    const sink = new EventTableSink('shipment_events', { store });
    const { controller, done, counts } = follow(store, 'ship-table', sink);
    await until(async () => (await store.count('shipment_events').catch(() => 0)) >= 2 && (await store.getRecord('shipment_events', 'ev-T2')), 'the rows');
    controller.abort();
    await done;
    const row = await store.getRecord('shipment_events', 'ev-T1');
    assert.equal(row?.Topic, '/event/Shipment__e');
    assert.equal(JSON.parse(String(row?.Payload)).Order__c, 'T1');
    assert.match(String(row?.ReplayId), /^[0-9a-f]{16}$/);
    // The same events again (a replay from earliest): no second row.
    const n = await store.count('shipment_events');
    await store.setCheckpoint('events:ship-table', null, { replayId: null });
    const again = follow(store, 'ship-table', new EventTableSink('shipment_events', { store }));
    await until(() => again.counts.delivered >= n, 'the redelivery');
    again.controller.abort();
    await again.done;
    assert.equal(await store.count('shipment_events'), n);
    assert.ok(counts.delivered >= 2);
    await store.close();
  });

  it('on Postgres: rows, checkpoint and dead letters in one schema', async () => {
    const { backends } = await import('../store/backends.ts');
    const place = await backends.find((b) => b.name === 'postgres')!.place();
    const store = await place.open();
    try {
      const [p1] = await publish(['PG1', 'PG2']);
      await store.setCheckpoint('events:ship-pg', null, { replayId: (p1 - 1n).toString(16).padStart(16, '0') });
      const { controller, done } = follow(store, 'ship-pg', new EventTableSink('pg_events', { store }));
      await until(async () => (await store.getRecord('pg_events', 'ev-PG2').catch(() => undefined)) !== undefined, 'the Postgres rows');
      controller.abort();
      await done;
      assert.equal(await store.count('pg_events'), 2);
      assert.equal(JSON.parse(String((await store.getRecord('pg_events', 'ev-PG1'))?.Payload)).Order__c, 'PG1');
      assert.ok(Buffer.from((await readReplayCheckpoint(store, 'ship-pg'))!).readBigUInt64BE() > p1);
      const state = await store.publishState();
      await state.addDeadLetters([{ pipeline: 'ship-pg', key: 'x', object: '/event/Shipment__e', operation: 'deliver', externalIdField: null, payload: {}, error: { code: 'SINK_REJECTED', message: 'no', fields: [] }, attempts: 1 }]);
      assert.equal((await state.listDeadLetters({ pipeline: 'ship-pg' })).length, 1);
    } finally {
      await store.close();
      await place.cleanup();
    }
  });

  it('change events: a CDC topic into a table, with the entity, change type and record ids', async () => {
    const store = await openStore('sqlite::memory:');
    const { id } = await sf.create('Account', { Name: 'Pipeline Co' });
    await sf.update('Account', id, { Name: 'Pipeline Co Ltd' });
    const sink = new EventTableSink('account_changes', { store });
    const { controller, done } = follow(store, 'account-changes', sink, { topic: '/data/AccountChangeEvent' });
    const changeRows = async () => {
      const all: Record<string, unknown>[] = [];
      try {
        for await (const rid of store.listIds('account_changes')) all.push((await store.getRecord('account_changes', rid))!);
      } catch {
        // The table is created by the first delivery.
      }
      return all.filter((r) => r.RecordIds === id);
    };
    const rows = (await until(async () => ((await changeRows()).length === 2 ? changeRows() : undefined), 'the two change rows'))!;
    controller.abort();
    await done;
    const byType = Object.fromEntries(rows.map((r) => [String(r.ChangeType), r]));
    assert.equal(byType.CREATE.EntityName, 'Account');
    assert.equal(byType.CREATE.Topic, '/data/AccountChangeEvent');
    assert.equal(JSON.parse(String(byType.UPDATE.Payload)).Name, 'Pipeline Co Ltd');
    assert.deepEqual(JSON.parse(String(byType.UPDATE.Payload)).ChangeEventHeader.changedFields.sort(), ['LastModifiedDate', 'Name']);
    await store.close();
  });

  it('a broker sink: events into a Redis stream, and a redelivery after a restart is dropped by the id set', async () => {
    const { readRedis, deleteRedisKeys } = await import('../helpers/sink-readers.ts');
    const { redisIdSetKey } = await import('../../src/engine/sinks/index.ts');
    const url = process.env.SFBRIDGE_TEST_REDIS ?? 'redis://127.0.0.1:6379';
    const key = `sfbridge-test-events-${process.pid}-${Date.now()}`;
    const store = await openStore('sqlite::memory:');
    try {
      const [r1] = await publish(['R1', 'R2']);
      const from = (r1 - 1n).toString(16).padStart(16, '0');
      for (let round = 0; round < 2; round++) {
        // The second round starts from the same position again: every event is delivered twice.
        await store.setCheckpoint('events:ship-redis', null, { replayId: from });
        const sink = openSink(parseSinkConfig({ kind: 'redis', url, name: key }));
        const { controller, done, counts } = follow(store, 'ship-redis', sink);
        await until(() => counts.delivered >= 2, 'the deliveries');
        controller.abort();
        await done;
        await sink.close();
      }
      const stored = await readRedis(url, key);
      assert.deepEqual(stored.map((m) => m.id), ['ev-R1', 'ev-R2']);
      assert.equal((stored[0].body as { payload: { Order__c: string } }).payload.Order__c, 'R1');
      assert.equal(stored[0].headers['sfbridge-topic'], '/event/Shipment__e');
      await deleteRedisKeys(url, key, redisIdSetKey(key));
    } finally {
      await store.close();
    }
  });

  it('a webhook that refuses one event: one dead letter, the rest delivered; a webhook that is out: retried, the checkpoint waits', async () => {
    const store = await openStore('sqlite::memory:');
    const received: string[] = [];
    let down = false;
    const hook: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const ids = (JSON.parse(body) as { messages: { id: string }[] }).messages.map((m) => m.id);
        if (down) return void res.writeHead(503).end('maintenance');
        if (ids.includes('ev-W2')) return void res.writeHead(422, { 'content-type': 'application/json' }).end('{"error":"unknown order W2"}');
        received.push(...ids);
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(hook.address() as { port: number }).port}/hook`;
    await publish(['W1', 'W2', 'W3']);
    const sink = openSink(parseSinkConfig({ kind: 'webhook', url }));
    const { controller, done, counts } = follow(store, 'ship-hook', sink, { from: 'earliest' });
    try {
      await until(() => received.includes('ev-W3'), 'W3 at the webhook');
      // W2's dead letter may be written just after W3 is delivered.
      await until(() => counts.deadLettered === 1, 'W2 dead-lettered');
      const state = await store.publishState();
      const letters = await state.listDeadLetters({ pipeline: 'ship-hook' });
      assert.equal(letters.length, 1);
      assert.equal(letters[0].key, 'ev-W2');
      assert.equal(letters[0].object, '/event/Shipment__e');
      assert.equal(letters[0].error.code, 'SINK_REJECTED');
      assert.match(letters[0].error.message, /HTTP 422: \{"error":"unknown order W2"\}/);
      assert.equal((letters[0].payload as { payload: { Order__c: string } }).payload.Order__c, 'W2');
      assert.ok(received.includes('ev-W1') && !received.includes('ev-W2'));
      assert.equal(counts.deadLettered, 1);

      // Out: the batch is retried and the checkpoint stays before it until the webhook takes it.
      await until(async () => (await readReplayCheckpoint(store, 'ship-hook')) !== null, 'a checkpoint');
      down = true;
      const [w4] = await publish(['W4']);
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(!received.includes('ev-W4'));
      assert.ok(Buffer.from((await readReplayCheckpoint(store, 'ship-hook'))!).readBigUInt64BE() < w4, 'the checkpoint did not pass the undelivered event');
      down = false;
      await until(() => received.includes('ev-W4'), 'W4 after the outage');
      await until(async () => Buffer.from((await readReplayCheckpoint(store, 'ship-hook'))!).readBigUInt64BE() >= w4, 'the checkpoint at W4');
      controller.abort();
      await done;
    } finally {
      // A failed assertion must not leave the loop running (the test file would never end).
      controller.abort();
      await done.catch(() => undefined);
      await sink.close();
      hook.close();
      await store.close();
    }
  });

  it('a store that fails while an event is refused fails the loop (it does not hang on the idle stream)', async () => {
    const store = await openStore('sqlite::memory:');
    const broken = await openStore('sqlite::memory:');
    const deadLetters = await broken.publishState();
    await broken.close();
    const refuse = { kind: 'webhook' as const, label: 'refuses everything', deliver: async () => { throw new SinkError('SINK_REJECTED', 'refuses everything', 'HTTP 400'); }, close: async () => undefined };
    const [r] = await publish(['S1']);
    await store.setCheckpoint('events:ship-broken', null, { replayId: (r - 1n).toString(16).padStart(16, '0') });
    const controller = new AbortController();
    await assert.rejects(followTopic({ pipeline: 'ship-broken', topic: '/event/Shipment__e', source: sf.events, sink: refuse, store, deadLetters, lingerMs: 20, signal: controller.signal }));
    // The event was not dead-lettered, so the checkpoint stays before it.
    assert.equal(Buffer.from((await readReplayCheckpoint(store, 'ship-broken'))!).readBigUInt64BE(), r - 1n);
    await store.close();
  });

  it('an expired replay id restarts the stream at the tip and reports it', async () => {
    const store = await openStore('sqlite::memory:');
    await store.setCheckpoint('events:ship-expired', null, { replayId: 'ffffffffffff0000' });
    const restarts: { code: string; expiredReplayId: string | null }[] = [];
    const path = join(dir, 'expired.jsonl');
    const sink = openSink(parseSinkConfig({ kind: 'jsonl', url: path, envelope: true }));
    const { controller, done } = follow(store, 'ship-expired', sink, { onRestart: (i) => void restarts.push(i) });
    await until(() => restarts.length === 1, 'the restart');
    assert.equal(restarts[0].code, 'PUBSUB_REPLAY_ID_EXPIRED');
    assert.equal(restarts[0].expiredReplayId, 'ffffffffffff0000');
    const cp = await store.getCheckpoint('events:ship-expired');
    assert.equal(cp?.extra?.restartReason, 'PUBSUB_REPLAY_ID_EXPIRED');
    // At the tip: the first keepalive's position becomes the checkpoint; from then on only new events come.
    await until(async () => typeof (await store.getCheckpoint('events:ship-expired'))?.extra?.replayId === 'string', 'the keepalive position');
    await publish(['X1']);
    await until(async () => (await readFile(path, 'utf8').catch(() => '')).includes('ev-X1'), 'X1');
    const ids = (await readFile(path, 'utf8')).trim().split('\n').map((l) => JSON.parse(l).id);
    assert.deepEqual(ids, ['ev-X1']);
    controller.abort();
    await done;
    await sink.close();
    await store.close();
  });

  it("docs/CONFIG.md's example loads as it is; a bad sink or topic is refused naming the key and the fix", async () => {
    const doc = await readFile(new URL('../../docs/CONFIG.md', import.meta.url), 'utf8');
    const yaml = /```yaml events-example\n([\s\S]*?)```/.exec(doc)![1];
    const file = join(dir, 'events.yaml');
    await writeFile(file, yaml);
    const config = await loadServiceConfig(file, {});
    assert.deepEqual(config.pipelines.map((p) => [p.spec.name, p.spec.kind]), [['account-changes', 'events'], ['account-table', 'events']]);
    assert.deepEqual(config.connections.local.pubsub, { endpoint: '127.0.0.1:7443', plaintext: true });
    const base = { name: 'e', kind: 'events', connection: 'local', topic: '/event/Order__e' };
    const refused: [Record<string, unknown>, RegExp][] = [
      [{ ...base, sink: { kind: 'store' } }, /pipeline\.sink\.kind: a store sink takes search documents; for events use kind: table/],
      [{ ...base, sink: { kind: 'table', table: 'x', tabel: 'y' } }, /pipeline\.sink: unknown key "tabel" for a table sink/],
      [{ ...base, sink: { kind: 'table', table: '1x' } }, /pipeline\.sink\.table: a table name of letters/],
      [{ ...base, sink: { kind: 'webhook' } }, /pipeline\.sink\.url: a webhook sink needs url/],
      [{ ...base, topic: 'Order__e', sink: { kind: 'jsonl', url: './x.jsonl' } }, /pipeline\.topic: a Pub\/Sub topic such as \/event\/Order_Placed__e/],
      [{ ...base, sink: { kind: 'jsonl', url: './x.jsonl' }, batch_size: 500 }, /pipeline\.batch_size/],
    ];
    for (const [raw, message] of refused) assert.throws(() => parsePipeline(raw), message, JSON.stringify(raw));
  });
});

/**
 * Platform events published over the Pub/Sub API: the emulator's gRPC server on a real socket, the publisher
 * choosing Pub/Sub for `X__e` targets when the client reaches it, per-event results in the same outbox,
 * results and dead letters as every other path (a refused event is a dead letter carrying the Pub/Sub error),
 * `path: collections` kept selectable, and a silent endpoint falling back to Collections with a warning.
 */
import assert from 'node:assert/strict';
import { writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SalesforceClient } from '../../src/client/index.ts';
import type { PubSubEvent } from '../../src/client/pubsub/client.ts';
import { createEmulator, type Emulator } from '../../src/emulator/app.ts';
import { startPubSub, type PubSubServer } from '../../src/emulator/events/pubsub/server.ts';
import { schemaFromData } from '../../src/emulator/schema/custom.ts';
import { eventIdOf, publish, runPipeline, type PublishOptions, type PublishRecordResult } from '../../src/engine/publish/index.ts';
import { openStore, type PublishState } from '../../src/store/index.ts';

const BASE = 'http://127.0.0.1:8484';

const replayAt = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return new Uint8Array(b);
};

describe('publishing platform events over the Pub/Sub API', () => {
  let emu: Emulator;
  let server: PubSubServer;
  const rest: string[] = [];

  const client = (pubsub?: { endpoint: string; tls: false }) =>
    new SalesforceClient({
      credentials: { kind: 'clientCredentials', instanceUrl: BASE, clientId: emu.org.clientId, clientSecret: emu.org.clientSecret },
      fetch: (input, init) => {
        const req = new Request(input, init);
        if (!req.url.includes('/oauth2/')) rest.push(`${req.method} ${new URL(req.url).pathname}`);
        return emu.fetch(req);
      },
      governor: false,
      retry: { maxAttempts: 1 },
      ...(pubsub ? { pubsub: { ...pubsub, retry: { baseDelayMs: 5, maxDelayMs: 20 } } } : {}),
    });

  async function run(sf: SalesforceClient, state: PublishState, opts: Partial<PublishOptions> & Pick<PublishOptions, 'records'>) {
    const results: PublishRecordResult[] = [];
    const warnings: string[] = [];
    const summary = await publish({ client: sf, state, pipeline: 'orders', target: { object: 'Order_Placed__e', operation: 'insert' }, retryBaseDelayMs: 1, ...opts, onResult: (r) => void results.push(r), onWarning: (m) => void warnings.push(m) });
    return { summary, results, warnings };
  }

  /** Every event on the channel after `from`, up to `n`. */
  async function received(sf: SalesforceClient, from: number, n: number): Promise<PubSubEvent[]> {
    const out: PubSubEvent[] = [];
    if (n === 0) return out;
    for await (const ev of sf.events.subscribe('/event/Order_Placed__e', { replay: { after: replayAt(from) } })) {
      out.push(ev);
      if (out.length === n) break;
    }
    return out;
  }

  before(async () => {
    emu = createEmulator({
      objects: schemaFromData({
        objects: [{ name: 'Order_Placed__e', fields: [{ name: 'Order_Number__c', type: 'string', length: 20 }, { name: 'Amount__c', type: 'double' }, { name: 'Placed_At__c', type: 'datetime' }, { name: 'Notes__c', type: 'textarea', length: 131072 }] }],
      }),
    });
    server = await startPubSub(emu, { port: 0, host: '127.0.0.1', keepaliveMs: 100 });
  });

  after(async () => {
    await server.close();
    emu.close();
  });

  it('sends X__e targets over Pub/Sub by default (Publish, then PublishStream above 200), with a result per event', async () => {
    const sf = client({ endpoint: server.address, tls: false });
    const state = await (await openStore('sqlite::memory:')).publishState();
    const start = emu.org.bus.tip;
    rest.length = 0;
    const streams = server.stats.publishStreams;
    // Values as a CSV file gives them: numbers and datetimes as text.
    const records = Array.from({ length: 450 }, (_, i) => ({ key: `o-${i}`, record: { Order_Number__c: `O-${i}`, Amount__c: `${i}.5`, Placed_At__c: '2026-03-01T10:00:00.000+0000' } }));
    const { summary, results } = await run(sf, state, { records });
    assert.deepEqual(summary.paths, ['pubsub']);
    assert.equal(summary.succeeded, 450);
    assert.equal(server.stats.publishStreams, streams + 1, 'one PublishStream for the page of 450');
    assert.equal(summary.failed, 0);
    assert.ok(!rest.some((p) => p.includes('/composite/')), `no REST writes: ${rest.join(', ')}`);
    assert.ok(results.every((r, i) => r.success && r.id === eventIdOf('orders', `o-${i}`)));
    const events = await received(sf, start, 450);
    assert.deepEqual(events.map((e) => e.id), results.map((r) => r.id));
    assert.deepEqual(events[7].payload.Order_Number__c, 'O-7');
    assert.equal(events[7].payload.Amount__c, 7.5);
    assert.equal(events[7].payload.Placed_At__c, Date.parse('2026-03-01T10:00:00Z'));
    // The outbox has them: the same input again sends nothing.
    const tip = emu.org.bus.tip;
    const again = await run(sf, state, { records });
    assert.equal(again.summary.alreadyPublished, 450);
    assert.equal(emu.org.bus.tip, tip);
    sf.events.close();
  });

  it('makes each refused event a dead letter with the Pub/Sub error; the others publish', async () => {
    const sf = client({ endpoint: server.address, tls: false });
    const state = await (await openStore('sqlite::memory:')).publishState();
    const start = emu.org.bus.tip;
    const records = [
      { key: 'ok-1', record: { Order_Number__c: 'A-1', Amount__c: 1 } },
      { key: 'big', record: { Order_Number__c: 'A-2', Notes__c: 'x'.repeat(1_100_000) } },
      { key: 'typo', record: { Order_Number__c: 'A-3', Amount__cc: 3 } },
      { key: 'nan', record: { Order_Number__c: 'A-4', Amount__c: 'lots' } },
      { key: 'ok-2', record: { order_number__c: 'A-5' } },
    ];
    const { summary, results } = await run(sf, state, { records });
    assert.deepEqual(summary.paths, ['pubsub']);
    assert.equal(summary.succeeded, 2);
    assert.equal(summary.deadLettered, 3);
    assert.deepEqual(results.map((r) => r.errors[0]?.code ?? 'ok'), ['ok', 'PUBLISH', 'INVALID_FIELD', 'INVALID_EVENT', 'ok']);
    assert.match(results[1].errors[0].message, /over the maximum event size of 1048576 bytes/);
    assert.match(results[2].errors[0].message, /Order_Placed__e has no field Amount__cc; its fields are .*Amount__c/);
    const letters = await state.listDeadLetters({ pipeline: 'orders' });
    assert.deepEqual(letters.map((l) => [l.key, l.error.code]).sort(), [['big', 'PUBLISH'], ['nan', 'INVALID_EVENT'], ['typo', 'INVALID_FIELD']]);
    assert.ok(letters.every((l) => l.object === 'Order_Placed__e' && l.attempts === 1));
    const events = await received(sf, start, 2);
    assert.deepEqual(events.map((e) => e.payload.Order_Number__c), ['A-1', 'A-5']);
    sf.events.close();
  });

  it('keeps path: collections on REST, refuses path: pubsub without an endpoint, and falls back when the endpoint does not answer', async () => {
    const state = await (await openStore('sqlite::memory:')).publishState();
    const sf = client({ endpoint: server.address, tls: false });
    rest.length = 0;
    const viaRest = await run(sf, state, { path: 'collections', records: [{ key: 'c-1', record: { Order_Number__c: 'C-1' } }] });
    assert.deepEqual(viaRest.summary.paths, ['collections']);
    assert.ok(rest.some((p) => p === 'POST /services/data/v62.0/composite/sobjects' || p.endsWith('/composite/sobjects')));
    // An org on a local host with no pubsub setting has no Pub/Sub API: auto keeps to Collections.
    const none = client();
    assert.equal(await none.events.available(), false);
    assert.deepEqual((await run(none, state, { records: [{ key: 'c-2', record: { Order_Number__c: 'C-2' } }] })).summary.paths, ['collections']);
    await assert.rejects(run(none, state, { path: 'pubsub', records: [{ key: 'c-3', record: { Order_Number__c: 'C-3' } }] }), /path pubsub needs the Pub\/Sub API.*pubsub: \{ endpoint: HOST:PORT \}/);
    await assert.rejects(run(none, state, { path: 'pubsub', target: { object: 'Contact', operation: 'insert' }, records: [] }), /path pubsub publishes platform events \(Name__e\) only/);
    const down = client({ endpoint: '127.0.0.1:1', tls: false });
    const fallback = await run(down, state, { records: [{ key: 'c-4', record: { Order_Number__c: 'C-4' } }] });
    assert.deepEqual(fallback.summary.paths, ['collections']);
    assert.equal(fallback.summary.succeeded, 1);
    assert.match(fallback.warnings.join('\n'), /Pub\/Sub API at 127\.0\.0\.1:1 does not answer .*through sObject Collections/);
    sf.events.close();
    down.events.close();
  });

  it("takes the endpoint from a connection's pubsub: setting, and refuses a malformed one", async () => {
    const { Connections, SecretBox } = await import('../../src/engine/connections/registry.ts');
    const { connectionSchema } = await import('../../src/engine/connections/schema.ts');
    const spec = connectionSchema.parse({ kind: 'client_credentials', instance_url: BASE, client_id: emu.org.clientId, client_secret: emu.org.clientSecret, pubsub: { endpoint: server.address, plaintext: true } });
    const store = await openStore('sqlite::memory:');
    const connections = new Connections({ state: await store.serviceState(), box: new SecretBox(new Uint8Array(32)), fromConfig: { emu: spec }, fetch: (input, init) => emu.fetch(new Request(input, init)) });
    const sf = await connections.client('emu');
    assert.equal(sf.events.endpoint, server.address);
    assert.equal(await sf.events.available(), true);
    const state = await store.publishState();
    const { summary } = await run(sf, state, { records: [{ key: 'n-1', record: { Order_Number__c: 'N-1' } }] });
    assert.deepEqual(summary.paths, ['pubsub']);
    sf.events.close();
    await store.close();
    const bad = connectionSchema.safeParse({ ...spec, pubsub: { endpoint: 'https://api.pubsub.salesforce.com' } });
    assert.equal(bad.success, false);
    assert.match(bad.error!.issues[0].message, /HOST:PORT/);
    assert.equal(connectionSchema.safeParse({ ...spec, pubsub: { endpoint: 'h:1', plaintext: true, ca: './ca.pem' } }).success, false);
  });

  it('runs a publish pipeline from a JSONL file over Pub/Sub', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sfb-pubsub-'));
    await writeFile(join(dir, 'orders.jsonl'), '{"n":"P-1","amount":"5"}\n{"n":"P-2","amount":"6"}\n');
    const sf = client({ endpoint: server.address, tls: false });
    const start = emu.org.bus.tip;
    const summary = await runPipeline(
      { name: 'file-orders', source: { file: 'orders.jsonl', key: 'n' }, transform: { rename: { n: 'Order_Number__c', amount: 'Amount__c' } }, target: { object: 'Order_Placed__e', operation: 'insert' }, state: 'sqlite::memory:' },
      { client: sf, baseDir: dir },
    );
    assert.deepEqual(summary.paths, ['pubsub']);
    assert.equal(summary.succeeded, 2);
    const events = await received(sf, start, 2);
    assert.deepEqual(events.map((e) => [e.payload.Order_Number__c, e.payload.Amount__c, e.id]), [['P-1', 5, eventIdOf('file-orders', 'P-1')], ['P-2', 6, eventIdOf('file-orders', 'P-2')]]);
    sf.events.close();
  });
});

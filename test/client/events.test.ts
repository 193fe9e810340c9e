/**
 * `client.events` on a SalesforceClient, against the emulator's Pub/Sub server over a real gRPC socket:
 * durable replay-id checkpoints in the sfbridge store (at-least-once across runs, keepalive positions),
 * a token that expires mid-stream (refreshed once, nothing lost or repeated), and publishing unary and over
 * PublishStream with a result per event and correlation keys.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createEmulator, type Emulator } from '../../src/emulator/app.ts';
import { startPubSub, type PubSubServer } from '../../src/emulator/events/pubsub/server.ts';
import { schemaFromData } from '../../src/emulator/schema/custom.ts';
import { insertRecord } from '../../src/emulator/dml.ts';
import { MemoryReplayCheckpoints, SalesforceClient, storeReplayCheckpoints, readReplayCheckpoint } from '../../src/client/index.ts';
import type { PubSubEvent } from '../../src/client/pubsub/client.ts';
import { openStore } from '../../src/store/index.ts';
import type { Store } from '../../src/store/types.ts';

const BASE = 'http://127.0.0.1:8484';

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; !cond(); i++) {
    if (i > 400) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const replayBytes = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return new Uint8Array(b);
};
const replayNumber = (id: Uint8Array) => Number(Buffer.from(id).readBigUInt64BE());

describe('client.events', () => {
  let emu: Emulator;
  let server: PubSubServer;
  let sf: SalesforceClient;
  let store: Store;
  let tokenRequests = 0;

  const account = (name: string) => insertRecord(emu.org, emu.org.schema.get('Account')!, { Name: name });

  before(async () => {
    const objects = schemaFromData({ objects: [{ name: 'Ping__e', fields: [{ name: 'Note__c', type: 'string', length: 50 }, { name: 'Count__c', type: 'double' }] }] });
    emu = createEmulator({ objects });
    server = await startPubSub(emu, { port: 0, keepaliveMs: 60 });
    sf = new SalesforceClient({
      credentials: { kind: 'clientCredentials', instanceUrl: BASE, clientId: emu.org.clientId, clientSecret: emu.org.clientSecret },
      fetch: (input, init) => {
        const req = new Request(input, init);
        if (new URL(req.url).pathname === '/services/oauth2/token') tokenRequests++;
        return emu.fetch(req);
      },
      governor: false,
      pubsub: { endpoint: server.address, tls: false, retry: { baseDelayMs: 5, maxDelayMs: 20 } },
    });
    store = await openStore('sqlite::memory:');
  });

  after(async () => {
    sf.events.close();
    await server.close();
    await store.close();
    emu.close();
  });

  test('checkpoints in the store: a second run resumes after the last finished event (the unfinished one comes again)', async () => {
    const checkpoints = storeReplayCheckpoints(store);
    const start = emu.org.bus.tip;
    for (let i = 0; i < 5; i++) account(`Cp ${i}`);
    const run = async (take: number) => {
      const names: string[] = [];
      for await (const ev of sf.events.subscribe('/data/AccountChangeEvent', { replay: { after: replayBytes(start) }, checkpoint: { store: checkpoints, key: 'accounts' }, batch: 2 })) {
        names.push(String(ev.payload.Name));
        if (names.length === take) break;
      }
      return names;
    };
    assert.deepEqual(await run(3), ['Cp 0', 'Cp 1', 'Cp 2']);
    // Cp 2 was handed over but the consumer broke before asking for more: it was not finished.
    const saved = await readReplayCheckpoint(store, 'accounts');
    assert.ok(saved);
    assert.deepEqual(await run(3), ['Cp 2', 'Cp 3', 'Cp 4']);
    const cp = await store.getCheckpoint('events:accounts');
    assert.match(String(cp?.extra?.replayId), /^[0-9a-f]{16}$/);
  });

  test('an idle subscription checkpoints the keepalive position, so the next run skips nothing and rereads nothing', async () => {
    const checkpoints = new MemoryReplayCheckpoints();
    account('Before idle');
    const ctl = new AbortController();
    const names: string[] = [];
    const loop = (async () => {
      for await (const ev of sf.events.subscribe('/data/AccountChangeEvent', { replay: 'latest', checkpoint: { store: checkpoints, key: 'idle' }, signal: ctl.signal })) names.push(String(ev.payload.Name));
    })();
    const tip = emu.org.bus.tip;
    await until(() => server.stats.keepalives > 0 && names.length === 0, 'a keepalive');
    const k = server.stats.keepalives;
    await until(() => server.stats.keepalives >= k + 2, 'two more keepalives');
    ctl.abort();
    await loop;
    const saved = await checkpoints.load('idle');
    assert.ok(saved);
    assert.equal(replayNumber(saved), tip);
    account('After idle');
    for await (const ev of sf.events.subscribe('/data/AccountChangeEvent', { replay: 'earliest', checkpoint: { store: checkpoints, key: 'idle' } })) {
      // The stored position wins over `replay: earliest`.
      assert.equal(ev.payload.Name, 'After idle');
      break;
    }
  });

  test('a token that expires mid-stream is refreshed once; no event is lost or repeated', async () => {
    const start = emu.org.bus.tip;
    const got: PubSubEvent[] = [];
    const ctl = new AbortController();
    const loop = (async () => {
      for await (const ev of sf.events.subscribe('/data/AccountChangeEvent', { replay: { after: replayBytes(start) }, batch: 2, signal: ctl.signal })) {
        got.push(ev);
        if (got.length === 6) ctl.abort();
      }
    })();
    for (let i = 0; i < 3; i++) account(`Tok ${i}`);
    await until(() => got.length === 3, 'three events before the expiry');
    const before = tokenRequests;
    await emu.request('/__emulator/sessions/expire', { method: 'POST' });
    for (let i = 3; i < 6; i++) account(`Tok ${i}`);
    await loop;
    assert.deepEqual(got.map((e) => e.payload.Name), Array.from({ length: 6 }, (_, i) => `Tok ${i}`));
    assert.equal(tokenRequests - before, 1, 'one token request for the refresh');
    const ids = got.map((e) => replayNumber(e.replayId));
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
  });

  test('publish over PublishStream: a result per event in input order, correlation keys kept, a value that does not fit refused alone', async () => {
    const start = emu.org.bus.tip;
    const events = Array.from({ length: 5 }, (_, i) => ({ id: `corr-${i}`, Note__c: `stream ${i}`, Count__c: i }));
    events[2] = { id: 'corr-2', Note__c: 'bad', Count__c: 'not a number' as unknown as number };
    const results = await sf.events.publish('/event/Ping__e', events, { via: 'stream', batchSize: 2 });
    assert.deepEqual(results.map((r) => r.correlationKey), ['corr-0', 'corr-1', 'corr-2', 'corr-3', 'corr-4']);
    assert.equal(results[2].error?.code, 'INVALID_EVENT');
    assert.equal(results[2].replayId, undefined);
    for (const i of [0, 1, 3, 4]) assert.ok(results[i].replayId && replayNumber(results[i].replayId!) > start, `event ${i} published`);
    const got: PubSubEvent[] = [];
    for await (const ev of sf.events.subscribe('/event/Ping__e', { replay: { after: replayBytes(start) } })) {
      got.push(ev);
      if (got.length === 4) break;
    }
    assert.deepEqual(got.map((e) => e.id), ['corr-0', 'corr-1', 'corr-3', 'corr-4']);
    assert.deepEqual(got.map((e) => e.payload.Note__c), ['stream 0', 'stream 1', 'stream 3', 'stream 4']);
  });

  test('PublishStream and unary Publish after the token expired: refreshed once, every event published', async () => {
    await emu.request('/__emulator/sessions/expire', { method: 'POST' });
    const before = tokenRequests;
    const streamed = await sf.events.publish('/event/Ping__e', [{ Note__c: 'after expiry' }], { via: 'stream' });
    assert.ok(streamed[0].replayId);
    assert.match(streamed[0].correlationKey, /^[0-9a-f-]{36}$/);
    assert.equal(tokenRequests - before, 1);
    await emu.request('/__emulator/sessions/expire', { method: 'POST' });
    const unary = await sf.events.publish('/event/Ping__e', [{ id: 'u-1', Note__c: 'unary' }, { id: 'u-2', Note__c: 'unary 2' }]);
    assert.deepEqual(unary.map((r) => [r.correlationKey, Boolean(r.replayId)]), [['u-1', true], ['u-2', true]]);
    assert.equal(tokenRequests - before, 2);
  });

  test('publishing to a change event topic or with two events sharing an id is refused before anything is sent', async () => {
    const tip = emu.org.bus.tip;
    await assert.rejects(sf.events.publish('/data/AccountChangeEvent', [{ Name: 'x' }], { via: 'stream' }), /cannot be published to/);
    await assert.rejects(sf.events.publish('/event/Ping__e', [{ id: 'same', Note__c: 'a' }, { id: 'same', Note__c: 'b' }]), (err: Error & { code: string }) => err.code === 'PUBSUB_INVALID_EVENT');
    assert.equal(emu.org.bus.tip, tip);
  });
});

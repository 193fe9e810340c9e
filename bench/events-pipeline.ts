/**
 * Platform events out and in, through the emulator's Pub/Sub server on a real gRPC socket and its REST API
 * over HTTP (one process):
 *
 * 1. The publisher (`publish()` with an outbox in SQLite) sending N platform events over Pub/Sub
 *    (Publish / PublishStream) and through sObject Collections: wall time, events/s, REST calls.
 * 2. An event pipeline's loop (`followTopic`) delivering a topic to a JSONL sink while events are published
 *    at a steady rate: publish → line written (and fsynced) latency p50 / p99 / max, and events/s.
 *
 *   npx node --disable-warning=ExperimentalWarning bench/events-pipeline.ts [--events 5000] [--rate 200] [--seconds 10]
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SalesforceClient } from '../src/client/index.ts';
import { createEmulator } from '../src/emulator/app.ts';
import { startPubSub } from '../src/emulator/events/pubsub/server.ts';
import { serve } from '../src/emulator/http/node-server.ts';
import { schemaFromData } from '../src/emulator/schema/custom.ts';
import { publish } from '../src/engine/publish/index.ts';
import { openSink, parseSinkConfig, type Sink } from '../src/engine/sinks/index.ts';
import { followTopic } from '../src/engine/subscriptions/follow.ts';
import { openStore } from '../src/store/index.ts';

const { values } = parseArgs({ options: { events: { type: 'string', default: '5000' }, rate: { type: 'string', default: '200' }, seconds: { type: 'string', default: '10' } } });
const N = Number(values.events);
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const TOPIC = '/event/Order_Placed__e';

const emu = createEmulator({ objects: schemaFromData({ objects: [{ name: 'Order_Placed__e', fields: [{ name: 'Order_Number__c', type: 'string', length: 20 }, { name: 'Amount__c', type: 'double' }] }] }) });
const server = await startPubSub(emu, { port: 0, host: '127.0.0.1' });
// REST over HTTP too, so both paths cross a real socket.
const http = await serve(emu.fetch, { port: 0, host: '127.0.0.1' });
let restCalls = 0;
const sf = new SalesforceClient({
  credentials: { kind: 'clientCredentials', instanceUrl: http.url, clientId: emu.org.clientId, clientSecret: emu.org.clientSecret },
  fetch: (input, init) => {
    const req = new Request(input, init);
    if (!req.url.includes('/oauth2/')) restCalls++;
    return fetch(req);
  },
  governor: false,
  pubsub: { endpoint: server.address, tls: false },
});
const dir = await mkdtemp(join(tmpdir(), 'sfb-bench-events-'));
const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

// 1. The publisher, both paths (after an untimed round of 200 through each, so neither pays the warm-up).
for (const path of ['pubsub', 'collections'] as const) {
  const store = await openStore('sqlite::memory:');
  await publish({ client: sf, state: await store.publishState(), pipeline: `warm-${path}`, target: { object: 'Order_Placed__e', operation: 'insert' }, path, records: Array.from({ length: 200 }, (_, i) => ({ key: `w${i}`, record: { Order_Number__c: `W-${i}` } })) });
  await store.close();
}
for (const path of ['pubsub', 'collections'] as const) {
  const store = await openStore(`sqlite:${join(dir, `${path}.db`)}`);
  const state = await store.publishState();
  const records = Array.from({ length: N }, (_, i) => ({ key: `${path}-${i}`, record: { Order_Number__c: `O-${i}`, Amount__c: i } }));
  restCalls = 0;
  const t = performance.now();
  const summary = await publish({ client: sf, state, pipeline: `bench-${path}`, target: { object: 'Order_Placed__e', operation: 'insert' }, path, records });
  const ms = performance.now() - t;
  console.log(`publish ${N} events via ${summary.paths.join('+')}: ${(ms / 1000).toFixed(2)} s, ${Math.round(N / (ms / 1000))} events/s, ${restCalls} REST calls, ${summary.succeeded} succeeded`);
  await store.close();
}

// 2. The event pipeline loop into a JSONL file, at a steady publishing rate.
const store = await openStore(`sqlite:${join(dir, 'pipeline.db')}`);
const file = join(dir, 'orders.jsonl');
const jsonl = openSink(parseSinkConfig({ kind: 'jsonl', url: file, envelope: true }));
const sentAt = new Map<string, number>();
const latencies: number[] = [];
let delivered = 0;
// The JSONL sink, timing each event from its publish to its line being written and fsynced.
const sink: Sink = {
  kind: jsonl.kind,
  label: jsonl.label,
  async deliver(messages, options) {
    await jsonl.deliver(messages, options);
    const now = performance.now();
    for (const m of messages) {
      const at = sentAt.get(m.id);
      if (at !== undefined) latencies.push(now - at);
    }
    delivered += messages.length;
  },
  close: () => jsonl.close(),
};
const controller = new AbortController();
const loop = followTopic({ pipeline: 'bench', topic: TOPIC, source: sf.events, sink, store, deadLetters: await store.publishState(), from: 'latest', lingerMs: 20, signal: controller.signal });
await new Promise((r) => setTimeout(r, 500));
const total = rate * seconds;
const t0 = performance.now();
for (let i = 0; i < total; i++) {
  const due = t0 + (i * 1000) / rate;
  const wait = due - performance.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  sentAt.set(`p-${i}`, performance.now());
  void sf.events.publish(TOPIC, [{ id: `p-${i}`, Order_Number__c: `P-${i}`, Amount__c: i }]);
}
for (let i = 0; delivered < total && i < 600; i++) await new Promise((r) => setTimeout(r, 50));
const elapsed = (performance.now() - t0) / 1000;
controller.abort();
await loop;
await sink.close();
const lines = (await readFile(file, 'utf8')).split('\n').filter(Boolean).length;
latencies.sort((a, b) => a - b);
console.log(`pipeline: ${delivered}/${total} events delivered to JSONL (${lines} lines) in ${elapsed.toFixed(1)} s at ${rate}/s published; latency p50 ${pct(latencies, 50).toFixed(1)} ms, p99 ${pct(latencies, 99).toFixed(1)} ms, max ${latencies.at(-1)!.toFixed(1)} ms`);
console.log(`peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MB`);
sf.events.close();
await store.close();
await server.close();
await http.close();
emu.close();
await rm(dir, { recursive: true, force: true });

/**
 * Change events through the emulator's Pub/Sub API: REST creates at a steady rate while sfbridge's Pub/Sub
 * client (real gRPC socket) consumes /data/AccountChangeEvent; prints the write → received latency (p50, p99,
 * max), the events/s delivered, the cost of change capture per REST create (CDC on vs off) and peak RSS.
 *
 *   npx node bench/events.ts [--rate 200] [--seconds 15] [--writes 1000]
 */
import { parseArgs } from 'node:util';
import { createEmulator } from '../src/emulator/app.ts';
import { startPubSub } from '../src/emulator/events/pubsub/server.ts';
import { SalesforceClient } from '../src/client/index.ts';
import { PubSubClient } from '../src/client/pubsub/client.ts';

const { values } = parseArgs({ options: { rate: { type: 'string', default: '200' }, seconds: { type: 'string', default: '15' }, writes: { type: 'string', default: '1000' } } });
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const BASE = 'http://127.0.0.1:8484';

async function token(emu: ReturnType<typeof createEmulator>): Promise<string> {
  const res = await emu.request('/services/oauth2/token', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'client_credentials', client_id: emu.org.clientId, client_secret: emu.org.clientSecret }) });
  return ((await res.json()) as { access_token: string }).access_token;
}

async function create(emu: ReturnType<typeof createEmulator>, tok: string, name: string): Promise<void> {
  const res = await emu.request('/services/data/v62.0/sobjects/Account', { method: 'POST', headers: { authorization: `Bearer ${tok}`, 'content-type': 'application/json' }, body: JSON.stringify({ Name: name, BillingCity: 'Leeds', Industry: 'Energy' }) });
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${await res.text()}`);
}

const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
let peakRss = 0;
const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);

// 1. The cost of change capture on the write path.
for (const cdc of [[], undefined] as (string[] | undefined)[]) {
  const emu = createEmulator({ cdc });
  const tok = await token(emu);
  const n = Number(values.writes);
  const t = performance.now();
  for (let i = 0; i < n; i++) await create(emu, tok, `W${i}`);
  console.log(`REST create, CDC ${cdc ? 'off' : 'on '}: ${((performance.now() - t) / n).toFixed(3)} ms per create (${n} creates)`);
  emu.close();
}

// 2. Latency from write to the subscriber, at a steady rate.
const emu = createEmulator();
const server = await startPubSub(emu, { port: 0 });
const tok = await token(emu);
const sf = new SalesforceClient({ credentials: { kind: 'clientCredentials', instanceUrl: BASE, clientId: emu.org.clientId, clientSecret: emu.org.clientSecret }, fetch: (i, init) => emu.fetch(new Request(i, init)), governor: false });
const pubsub = new PubSubClient({ auth: sf.auth, endpoint: server.address, tls: false });
const sent = new Map<string, number>();
const latencies: number[] = [];
/** Latencies after the first second (the first events wait for the one schema fetch and Avro compile). */
const steady: number[] = [];
const total = rate * seconds;
const ctl = new AbortController();
const consumer = (async () => {
  for await (const ev of pubsub.subscribe('/data/AccountChangeEvent', { replay: 'latest', signal: ctl.signal })) {
    const t0 = sent.get(String(ev.payload.Name));
    if (t0 !== undefined) {
      latencies.push(performance.now() - t0);
      if (Number(String(ev.payload.Name).slice(1)) >= rate) steady.push(performance.now() - t0);
    }
    if (latencies.length === total) ctl.abort();
  }
})();
while (server.stats.subscriptions === 0) await new Promise((r) => setTimeout(r, 10));
await new Promise((r) => setTimeout(r, 100));
const started = performance.now();
for (let i = 0; i < total; i++) {
  const due = started + (i * 1000) / rate;
  const wait = due - performance.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  const name = `L${i}`;
  sent.set(name, performance.now());
  await create(emu, tok, name);
}
await consumer;
const elapsed = (performance.now() - started) / 1000;
latencies.sort((a, b) => a - b);
steady.sort((a, b) => a - b);
console.log(`Pub/Sub: ${latencies.length} change events at ${rate}/s for ${seconds} s → ${(latencies.length / elapsed).toFixed(0)} events/s received`);
console.log(`write → received latency: p50 ${pct(latencies, 50).toFixed(1)} ms, p99 ${pct(latencies, 99).toFixed(1)} ms, max ${latencies.at(-1)!.toFixed(1)} ms`);
console.log(`  after the first second: p50 ${pct(steady, 50).toFixed(1)} ms, p99 ${pct(steady, 99).toFixed(1)} ms, max ${steady.at(-1)!.toFixed(1)} ms`);
console.log(`peak RSS ${(peakRss / 1024 / 1024).toFixed(0)} MB; load average ${(await import('node:os')).loadavg()[0].toFixed(1)}`);
clearInterval(rssTimer);
pubsub.close();
await server.close();
emu.close();

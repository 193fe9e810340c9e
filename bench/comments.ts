/**
 * Comments benchmark.
 *
 * 1. Cleaning accuracy on the corpus (test/fixtures/emails): exact-match rate (body, signature and
 *    forwarded parts all equal to the hand-written expectation), body-only exact rate, and character-level
 *    precision/recall of the kept body — for email-reply-parser and planer, each alone and with sfbridge's
 *    rules — and the cleaning rate of the chosen combination.
 * 2. The pipeline end to end into each broker: N emails (corpus bodies) in an emulator process, one
 *    `runComments` cycle per broker (shared NATS / RabbitMQ / Redis on 127.0.0.1, unique names, removed
 *    afterwards): comments/s (wall and per CPU second), then a second
 *    cycle that re-reads everything and must emit nothing. CPU seconds are this process's (the pipeline).
 * 3. Peak RSS of the process.
 *
 *   npx node --disable-warning=ExperimentalWarning bench/comments.ts [--emails 5000] [--brokers nats,rabbitmq,redis] [--page 2000]
 */
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { SalesforceClient } from '../src/client/index.ts';
import { cleanEmail, EMAIL_MESSAGE, runComments } from '../src/engine/comments/index.ts';
import { openSink, parseSinkConfig, type Sink } from '../src/engine/sinks/index.ts';
import { openStore } from '../src/store/index.ts';
import { deleteNatsStream, deleteRedisKeys, readRabbit } from '../test/helpers/sink-readers.ts';
import { NATS_URL, RABBITMQ_URL, REDIS_URL, uniqueName } from '../test/helpers/brokers.ts';
import { loadCorpus, scoreCorpus } from './lib-emails.ts';
import { startEmulator } from './lib.ts';
import { redisIdSetKey } from '../src/engine/sinks/redis.ts';
import type { NatsSink } from '../src/engine/sinks/nats.ts';

const { values } = parseArgs({ options: { emails: { type: 'string', default: '5000' }, brokers: { type: 'string', default: 'nats,rabbitmq,redis' }, page: { type: 'string', default: '2000' } } });
const PAGE = Number(values.page);
const N = Number(values.emails);
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const cpuSeconds = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1e6;
let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);

console.log(`node ${process.version}, ${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);

// 1. Accuracy.
const corpus = loadCorpus();
console.log(`\ncleaning accuracy on ${corpus.length} messages (exact = body, signature and forwarded parts all as expected)`);
console.log('variant                              exact            body exact   char precision  char recall');
for (const [label, opts] of [
  ['email-reply-parser alone', { quotes: 'email-reply-parser', rules: false }],
  ['planer alone', { quotes: 'planer', rules: false }],
  ['planer + sfbridge rules', { quotes: 'planer' }],
  ['email-reply-parser + rules (default)', { quotes: 'email-reply-parser' }],
] as const) {
  const s = scoreCorpus(corpus, opts);
  console.log(`${label.padEnd(37)}${`${s.exact}/${s.cases} ${pct(s.exactRate)}`.padEnd(17)}${pct(s.bodyExactRate).padEnd(13)}${pct(s.precision).padEnd(16)}${pct(s.recall)}`);
}
{
  const rounds = 50;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) for (const c of corpus) cleanEmail({ text: c.text, html: c.html, subject: c.subject });
  const secs = (performance.now() - t0) / 1000;
  console.log(`cleaning rate: ${Math.round((rounds * corpus.length) / secs)} messages/s (${Math.round((rounds * corpus.length) / cpuSeconds(process.cpuUsage(c0)))} per CPU second)`);
}

const rssAfterCleaning = process.memoryUsage().rss;
// 2. Pipeline into each broker.
// The emulator runs in its own process, so CPU time and RSS below are the pipeline's.
const emu = await startEmulator(['--seed', 'Account=200,Contact=400,Case=1000', '--db', ':memory:']);
const client = new SalesforceClient({ credentials: { kind: 'clientCredentials', instanceUrl: emu.url, clientId: 'sfbridge-emulator', clientSecret: 'sfbridge-emulator-secret' } });
const cases = (await client.query<{ Id: string }>('SELECT Id FROM Case').toArray()).map((r) => r.Id);
const emails = Array.from({ length: N }, (_, i) => {
  const c = corpus[i % corpus.length];
  return { attributes: { type: 'EmailMessage' }, ParentId: cases[i % cases.length], Incoming: i % 3 !== 0, Subject: c.subject, FromAddress: `sender${i % 97}@example.com`, ToAddress: 'support@acme.example', TextBody: c.text ?? null, HtmlBody: c.html ?? null, MessageDate: new Date(Date.UTC(2025, 0, 1) + i * 60_000).toISOString() };
});
let t = performance.now();
await client.collections.create(emails);
console.log(`\n${N} emails on ${cases.length} cases created in ${((performance.now() - t) / 1000).toFixed(1)} s`);

interface Target {
  name: string;
  sink: () => Sink;
  cleanup: (sink: Sink) => Promise<void>;
}
const targets: Record<string, Target> = {
  nats: (() => {
    const subject = uniqueName('sfbridge.bench', '.');
    return { name: 'NATS JetStream', sink: () => openSink(parseSinkConfig({ kind: 'nats', url: NATS_URL, name: subject })), cleanup: async (s) => deleteNatsStream(NATS_URL, (s as NatsSink).stream!) };
  })(),
  rabbitmq: (() => {
    const queue = uniqueName('sfbridge-bench');
    return { name: 'RabbitMQ', sink: () => openSink(parseSinkConfig({ kind: 'rabbitmq', url: RABBITMQ_URL, name: queue })), cleanup: async () => void (await readRabbit(RABBITMQ_URL, queue, { deleteAfter: true })) };
  })(),
  redis: (() => {
    const key = uniqueName('sfbridge:bench', ':');
    return { name: 'Redis Streams', sink: () => openSink(parseSinkConfig({ kind: 'redis', url: REDIS_URL, name: key })), cleanup: async () => deleteRedisKeys(REDIS_URL, key, redisIdSetKey(key)) };
  })(),
};
const rssBeforePipeline = process.memoryUsage().rss;
console.log('broker            comments  wall s  comments/s  CPU s  per CPU s  API calls  re-read emitted');
for (const name of values.brokers!.split(',')) {
  const target = targets[name];
  if (!target) throw new Error(`--brokers: unknown broker ${name} (nats, rabbitmq, redis)`);
  const store = await openStore('sqlite::memory:');
  const sink = target.sink();
  try {
    const c0 = process.cpuUsage();
    t = performance.now();
    const run = await runComments({ client, store, sources: [EMAIL_MESSAGE], sinks: [sink], lagMs: 0, pageSize: PAGE });
    const wall = (performance.now() - t) / 1000;
    const cpu = cpuSeconds(process.cpuUsage(c0));
    if (run.status !== 'succeeded') throw new Error(`${name}: ${run.objects[0].error}`);
    // A second cycle re-reading everything (lag larger than the data's age) must emit nothing.
    const again = await runComments({ client, store, sources: [EMAIL_MESSAGE], sinks: [sink], lagMs: 10 * 365 * 86_400_000, pageSize: PAGE });
    const o = run.objects[0];
    console.log(`${target.name.padEnd(18)}${String(o.emitted).padStart(8)}${wall.toFixed(2).padStart(8)}${Math.round(o.emitted / wall).toString().padStart(12)}${cpu.toFixed(2).padStart(7)}${Math.round(o.emitted / cpu).toString().padStart(11)}${String(run.apiCalls).padStart(11)}${String(again.objects[0].emitted).padStart(17)}`);
  } finally {
    await target.cleanup(sink).catch(() => undefined);
    await sink.close();
    await store.close();
  }
}
clearInterval(sampler);
peakRss = Math.max(peakRss, process.memoryUsage().rss);
console.log(`\nRSS after the accuracy runs ${(rssAfterCleaning / 1048576).toFixed(0)} MB, before the pipeline ${(rssBeforePipeline / 1048576).toFixed(0)} MB`);
console.log(`peak RSS ${(peakRss / 1048576).toFixed(0)} MB (this process: corpus scoring, ${N} emails created, the pipeline; the emulator is a separate process)`);
await emu.stop();

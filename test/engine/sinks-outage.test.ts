/**
 * A broker outage in the middle of a run, per broker, without touching the shared services: a private
 * nats-server / redis-server on a free port is killed and restarted; RabbitMQ is reached through a TCP
 * proxy that is cut and restored. The pipeline loop moves its cursor only after a batch is delivered; the
 * test checks that the pause is reported with its reason, the cursor waited, and afterwards every message
 * is in the broker, in order per record, any duplicate carrying the id of its original.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deliverWithRetry, openSink, parseSinkConfig, type Sink, type SinkMessage, type SinkPausedEvent, type SinkResumedEvent } from '../../src/engine/sinks/index.ts';
import type { NatsSink } from '../../src/engine/sinks/nats.ts';
import { privateNats, privateRedis, RABBITMQ_URL, tcpProxy, uniqueName } from '../helpers/brokers.ts';
import { readNats, readRabbit, readRedis, type Stored } from '../helpers/sink-readers.ts';

const BATCHES = 10;
const RECORDS = 20;

/** Batch b holds version b of every record: one message per record per batch, like a page of changes. */
function batch(b: number): SinkMessage[] {
  return Array.from({ length: RECORDS }, (_, r) => ({ id: `rec${r}:v${b}`, key: `rec${r}`, body: { record: `rec${r}`, version: b } }));
}

interface OutageRun {
  paused: SinkPausedEvent[];
  resumed: SinkResumedEvent[];
  /** The cursor (last delivered batch) when the first pause was reported, and the batch being attempted. */
  cursorAtPause: number;
  batchAtPause: number;
}

/**
 * Delivers the batches like a pipeline: cursor = last batch delivered. `outage()` starts while batch 3 is
 * being delivered; `recover()` runs after the third pause report.
 */
async function runWithOutage(sink: Sink, outage: () => Promise<void>, recover: () => Promise<void>): Promise<OutageRun> {
  const run: OutageRun = { paused: [], resumed: [], cursorAtPause: -1, batchAtPause: -1 };
  let cursor = -1;
  let current = 0;
  let recovering: Promise<void> | undefined;
  const observer = {
    paused: (e: SinkPausedEvent) => {
      run.paused.push(e);
      if (run.paused.length === 1) {
        run.cursorAtPause = cursor;
        run.batchAtPause = current;
      }
      if (run.paused.length === 3) recovering = recover();
    },
    resumed: (e: SinkResumedEvent) => run.resumed.push(e),
  };
  let stopping: Promise<void> | undefined;
  for (let b = 0; b < BATCHES; b++) {
    current = b;
    if (b === 3) stopping = outage();
    await deliverWithRetry(sink, batch(b), { retry: { baseDelayMs: 50, maxDelayMs: 250, attemptTimeoutMs: 4_000, maxPauseMs: 60_000 }, observer });
    if (b === 3) await stopping;
    cursor = b;
  }
  await recovering;
  return run;
}

function assertNoLoss(stored: Stored[], run: OutageRun): void {
  // The pause was reported, with the broker's reason, before the cursor moved past the batch.
  assert.ok(run.paused.length >= 3, `paused ${run.paused.length} times`);
  assert.equal(run.cursorAtPause, run.batchAtPause - 1, 'the cursor stays before the undelivered batch');
  assert.ok(run.paused.every((p) => p.reason.length > 0 && p.pending === RECORDS && p.retryInMs >= 0));
  assert.ok(run.resumed.length >= 1 && run.resumed[0].pausedMs > 0);
  // Every message is there.
  const ids = new Set(stored.map((s) => s.id));
  for (let b = 0; b < BATCHES; b++) for (const m of batch(b)) assert.ok(ids.has(m.id), `${m.id} delivered`);
  // A duplicate is the same message: same id, same body.
  const byId = new Map<string, string>();
  for (const s of stored) {
    const body = JSON.stringify(s.body);
    assert.equal(byId.get(s.id) ?? body, body, `duplicate ${s.id} carries the same body`);
    byId.set(s.id, body);
    const { record, version } = s.body as { record: string; version: number };
    assert.equal(s.id, `${record}:v${version}`, 'the id names the version it carries');
    assert.equal(s.key, record);
  }
  // Per record, versions never go backwards.
  const last = new Map<string, number>();
  for (const s of stored) {
    const { record, version } = s.body as { record: string; version: number };
    assert.ok(version >= (last.get(record) ?? -1), `${record}: v${version} after v${last.get(record)}`);
    last.set(record, version);
  }
}

describe('sink outages', { concurrency: false }, () => {
  test('NATS: the private server is killed mid-run and restarted; JetStream dedupe leaves exactly one copy', async () => {
    const server = await privateNats();
    const subject = uniqueName('sfbridge.outage', '.');
    const sink = openSink(parseSinkConfig({ kind: 'nats', url: server.url, name: subject })) as NatsSink;
    try {
      const run = await runWithOutage(sink, () => server.stop(), () => server.start());
      const stored = await readNats(server.url, sink.stream!);
      assertNoLoss(stored, run);
      assert.equal(stored.length, BATCHES * RECORDS, 'Nats-Msg-Id dropped the redelivered copies');
      assert.match(run.paused[0].reason, /disconnected|CONNECTION|ECONNREFUSED|TIMEOUT|no PubAck|closed/i);
    } finally {
      await sink.close();
      await server.dispose();
    }
  });

  test('Redis: the private server is killed mid-run and restarted; the id set leaves exactly one copy', async () => {
    const server = await privateRedis();
    const key = uniqueName('sfbridge:outage', ':');
    const sink = openSink(parseSinkConfig({ kind: 'redis', url: server.url, name: key }));
    try {
      const run = await runWithOutage(sink, () => server.stop(), () => server.start());
      const stored = await readRedis(server.url, key);
      assertNoLoss(stored, run);
      assert.equal(stored.length, BATCHES * RECORDS);
      assert.match(run.paused[0].reason, /^(connection lost|not connected)/);
    } finally {
      await sink.close();
      await server.dispose();
    }
  });

  test('RabbitMQ: the connection is cut mid-run (proxy) and restored; nothing lost, repeats carry the same messageId', async () => {
    const proxy = await tcpProxy(5672);
    const queue = uniqueName('sfbridge-outage');
    const url = RABBITMQ_URL.replace(/:5672\b/, `:${proxy.port}`);
    const sink = openSink(parseSinkConfig({ kind: 'rabbitmq', url, name: queue }));
    try {
      const run = await runWithOutage(
        sink,
        async () => proxy.cut(),
        async () => proxy.restore(),
      );
      await sink.close();
      const stored = await readRabbit(RABBITMQ_URL, queue, { deleteAfter: true });
      assertNoLoss(stored, run);
      assert.ok(stored.length >= BATCHES * RECORDS);
      assert.match(run.paused[0].reason, /connection lost|ECONNRESET|ECONNREFUSED|socket|closed/i);
    } finally {
      await sink.close();
      await proxy.close();
    }
  });
});

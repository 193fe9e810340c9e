/**
 * Sinks against the real brokers on 127.0.0.1 (unique subjects, queues and keys on the shared services),
 * a local HTTP endpoint, a file and a store: delivery, order per key, message ids and deduplication, and
 * the errors that say what to fix.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { deliverWithRetry, openSink, parseSinkConfig, SinkError, webhookSignature, type Sink, type SinkMessage, type SinkPausedEvent, type SinkResumedEvent } from '../../src/engine/sinks/index.ts';
import { NatsSink } from '../../src/engine/sinks/nats.ts';
import { openStore } from '../../src/store/index.ts';
import { NATS_URL, RABBITMQ_URL, REDIS_URL, uniqueName } from '../helpers/brokers.ts';
import { redisIdSetKey } from "../../src/engine/sinks/index.ts";
import { deleteNatsStream, deleteRedisKeys, readNats, readRabbit, readRedis, versions } from '../helpers/sink-readers.ts';

async function withSink<T>(sink: Sink, fn: (s: Sink) => Promise<T>): Promise<T> {
  try {
    return await fn(sink);
  } finally {
    await sink.close();
  }
}

describe('NATS JetStream sink (shared server, unique subject)', () => {
  test('delivers in order with Nats-Msg-Id; a redelivery is dropped by the stream', async () => {
    const subject = uniqueName('sfbridge.test', '.');
    const sink = openSink(parseSinkConfig({ kind: 'nats', url: NATS_URL, name: subject })) as NatsSink;
    const msgs = versions(60, 6);
    try {
      await sink.deliver(msgs);
      await sink.deliver(msgs);
      assert.equal(sink.stream, subject.replace(/\./g, '_').toUpperCase());
      const stored = await readNats(NATS_URL, sink.stream!);
      assert.deepEqual(stored.map((s) => s.id), msgs.map((m) => m.id));
      assert.deepEqual(stored.map((s) => s.body), msgs.map((m) => m.body));
      assert.deepEqual(stored.map((s) => s.key), msgs.map((m) => m.key));
      assert.equal(stored[0].headers['x-test'], 'v');
    } finally {
      await sink.close();
      if (sink.stream) await deleteNatsStream(NATS_URL, sink.stream);
    }
  });

  test('create: false with no stream for the subject names the fix', async () => {
    const subject = uniqueName('sfbridge.test', '.');
    await withSink(openSink(parseSinkConfig({ kind: 'nats', url: NATS_URL, name: subject, create: false })), async (sink) => {
      await assert.rejects(sink.deliver(versions(1, 1)), (err: SinkError) => {
        assert.equal(err.code, 'SINK_MISCONFIGURED');
        assert.equal(err.retryable, false);
        assert.match(err.message, new RegExp(`no JetStream stream captures subject ${subject.replace(/\./g, '\\.')}; create one`));
        return true;
      });
    });
  });
});

describe('RabbitMQ sink (shared broker, unique queue)', () => {
  test('publisher confirms, order, messageId; no broker dedupe, so a redelivery repeats the same ids', async () => {
    const queue = uniqueName('sfbridge-test');
    const msgs = versions(60, 6);
    await withSink(openSink(parseSinkConfig({ kind: 'rabbitmq', url: RABBITMQ_URL, name: queue })), async (sink) => {
      await sink.deliver(msgs);
      await sink.deliver(msgs.slice(0, 10));
    });
    const stored = await readRabbit(RABBITMQ_URL, queue, { deleteAfter: true });
    assert.deepEqual(stored.map((s) => s.id), [...msgs, ...msgs.slice(0, 10)].map((m) => m.id));
    assert.deepEqual(stored.slice(0, 60).map((s) => s.body), msgs.map((m) => m.body));
    assert.deepEqual(stored.map((s) => s.key), [...msgs, ...msgs.slice(0, 10)].map((m) => m.key));
    assert.equal(stored[0].headers['x-test'], 'v');
  });

  test('an unroutable message (exchange with no binding) fails instead of vanishing', async () => {
    await withSink(openSink(parseSinkConfig({ kind: 'rabbitmq', url: RABBITMQ_URL, exchange: 'amq.direct', name: uniqueName('unbound') })), async (sink) => {
      await assert.rejects(sink.deliver(versions(2, 2)), (err: SinkError) => {
        assert.equal(err.code, 'SINK_MISCONFIGURED');
        assert.equal(err.retryable, false);
        assert.match(err.message, /was unroutable: exchange "amq\.direct" has no queue bound for key unbound-[0-9a-f]{12}; bind a queue/);
        return true;
      });
    });
  });

  test('a missing exchange is a configuration error naming it', async () => {
    const exchange = uniqueName('no-such-exchange');
    await withSink(openSink(parseSinkConfig({ kind: 'rabbitmq', url: RABBITMQ_URL, exchange, name: 'k' })), async (sink) => {
      await assert.rejects(sink.deliver(versions(1, 1)), (err: SinkError) => err.code === 'SINK_MISCONFIGURED' && err.message.includes(`exchange ${exchange} does not exist`));
    });
  });
});

describe('Redis Streams sink (shared server, unique key)', () => {
  test('XADD in order with id, key, body and headers; a redelivery inside the dedupe window adds nothing', async () => {
    const key = uniqueName('sfbridge:test', ':');
    const msgs = versions(60, 6);
    try {
      await withSink(openSink(parseSinkConfig({ kind: 'redis', url: REDIS_URL, name: key })), async (sink) => {
        await sink.deliver(msgs);
        await sink.deliver(msgs);
      });
      const stored = await readRedis(REDIS_URL, key);
      assert.deepEqual(stored.map((s) => s.id), msgs.map((m) => m.id));
      assert.deepEqual(stored.map((s) => s.body), msgs.map((m) => m.body));
      assert.deepEqual(stored.map((s) => s.key), msgs.map((m) => m.key));
      assert.deepEqual(stored[0].headers, { 'x-test': 'v' });
    } finally {
      await deleteRedisKeys(REDIS_URL, key, redisIdSetKey(key));
    }
  });

  test('dedupe_window: 0 appends every delivery', async () => {
    const key = uniqueName('sfbridge:test', ':');
    try {
      await withSink(openSink(parseSinkConfig({ kind: 'redis', url: REDIS_URL, name: key, dedupe_window: 0 })), async (sink) => {
        await sink.deliver(versions(3, 3));
        await sink.deliver(versions(3, 3));
      });
      assert.equal((await readRedis(REDIS_URL, key)).length, 6);
    } finally {
      await deleteRedisKeys(REDIS_URL, key, redisIdSetKey(key));
    }
  });
});

describe('webhook sink', () => {
  async function endpoint(answer: (req: IncomingMessage, body: string, n: number) => { status: number; headers?: Record<string, string>; body?: string }) {
    const requests: { headers: IncomingMessage['headers']; body: string }[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        requests.push({ headers: req.headers, body });
        const a = answer(req, body, requests.length);
        res.writeHead(a.status, a.headers).end(a.body ?? '');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hooks/sfbridge`;
    return { url, requests, close: () => new Promise<void>((r) => server.close(() => r())) };
  }

  test('batched POSTs in order, HMAC-signed, same Idempotency-Key for the same batch', async () => {
    const ep = await endpoint(() => ({ status: 204 }));
    const secret = 'a-test-secret-of-32-characters!!';
    const msgs = versions(250, 5);
    try {
      await withSink(openSink(parseSinkConfig({ kind: 'webhook', url: ep.url, secret, batch_size: 100, headers: { Authorization: 'Bearer t0k' } })), async (sink) => {
        await sink.deliver(msgs);
        await sink.deliver(msgs.slice(0, 100));
      });
      assert.equal(ep.requests.length, 4);
      const got = ep.requests.slice(0, 3).flatMap((r) => (JSON.parse(r.body) as { messages: SinkMessage[] }).messages);
      assert.deepEqual(got, msgs.map((m) => ({ id: m.id, key: m.key, headers: m.headers, body: m.body })));
      for (const r of ep.requests) {
        const ts = Number(r.headers['x-sfbridge-timestamp']);
        assert.equal(r.headers['x-sfbridge-signature'], webhookSignature(secret, ts, r.body));
        assert.equal(r.headers.authorization, 'Bearer t0k');
        assert.equal(r.headers['content-type'], 'application/json');
      }
      assert.equal(ep.requests[3].headers['idempotency-key'], ep.requests[0].headers['idempotency-key']);
      assert.notEqual(ep.requests[1].headers['idempotency-key'], ep.requests[0].headers['idempotency-key']);
    } finally {
      await ep.close();
    }
  });

  test('503 with Retry-After pauses and resumes; a 400 fails at once with the endpoint\'s answer', async () => {
    const ep = await endpoint((_req, _body, n) => (n === 1 ? { status: 503, headers: { 'retry-after': '0' }, body: 'maintenance' } : n === 2 ? { status: 200 } : { status: 400, body: '{"error":"bad field"}' }));
    const paused: SinkPausedEvent[] = [];
    const resumed: SinkResumedEvent[] = [];
    try {
      await withSink(openSink(parseSinkConfig({ kind: 'webhook', url: ep.url })), async (sink) => {
        const out = await deliverWithRetry(sink, versions(3, 3), { retry: { baseDelayMs: 1, maxDelayMs: 5 }, observer: { paused: (e) => paused.push(e), resumed: (e) => resumed.push(e) } });
        assert.equal(out.attempts, 2);
        assert.equal(paused.length, 1);
        assert.equal(paused[0].code, 'SINK_BUSY');
        assert.equal(paused[0].reason, 'HTTP 503: maintenance');
        assert.equal(paused[0].pending, 3);
        assert.equal(resumed.length, 1);
        assert.equal(resumed[0].attempts, 2);
        await assert.rejects(deliverWithRetry(sink, versions(1, 1), { retry: { baseDelayMs: 1 } }), (err: SinkError) => {
          assert.equal(err.code, 'SINK_REJECTED');
          assert.equal(err.retryable, false);
          assert.equal(err.message, `${sink.label}: HTTP 400: {"error":"bad field"}`);
          return true;
        });
      });
      assert.equal(ep.requests.length, 3);
    } finally {
      await ep.close();
    }
  });
});

describe('jsonl and store sinks', () => {
  test('jsonl appends bodies (or envelopes) in delivery order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sfbridge-jsonl-'));
    try {
      const file = join(dir, 'out', 'docs.jsonl');
      await withSink(openSink(parseSinkConfig({ kind: 'jsonl', url: file })), async (sink) => {
        await Promise.all([sink.deliver(versions(3, 3, 'a')), sink.deliver(versions(2, 2, 'b'))]);
      });
      const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      assert.deepEqual(lines, [...versions(3, 3, 'a'), ...versions(2, 2, 'b')].map((m) => m.body));
      const env = join(dir, 'env.jsonl');
      await withSink(openSink(parseSinkConfig({ kind: 'jsonl', url: env, envelope: true })), (sink) => sink.deliver(versions(1, 1)));
      assert.deepEqual(JSON.parse(readFileSync(env, 'utf8')), { id: 'rec0:v0', key: 'rec0', headers: { 'x-test': 'v' }, body: versions(1, 1)[0].body });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('store sink upserts documents and comments, and removes tombstoned ones', async () => {
    const store = await openStore('sqlite::memory:');
    try {
      const sink = openSink(parseSinkConfig({ kind: 'store' }), { store });
      const doc = { id: '001000000000001AAA', type: 'Account', title: 'Acme', url: null, created: null, updated: null, owner: null, tags: [], categories: ['Standard Objects/Account'], content: 'turbine maintenance', raw: {} };
      const comment = { id: '02s000000000001AAA', thread_id: '500000000000001AAA', timestamp: '2024-03-05T10:00:00.000Z', messages: [{ from: 'ann@example.com', subject: 'Pump noise', body: 'The pump rattles since Monday.' }], user_properties: {}, metadata: { object: 'EmailMessage' } };
      await sink.deliver([
        { id: 'd1', key: doc.id, body: doc },
        { id: 'c1', key: comment.id, body: comment },
      ]);
      assert.deepEqual((await store.search('rattles')).map((h) => [h.id, h.type, h.title]), [[comment.id, 'EmailMessage', 'Pump noise']]);
      assert.equal((await store.search('turbine')).length, 1);
      await sink.deliver([{ id: 'd2', key: doc.id, body: { id: doc.id, deleted: true } }]);
      assert.equal((await store.search('turbine')).length, 0);
      await assert.rejects(sink.deliver([{ id: 'x', key: 'x', body: { id: 'x', nothing: 1 } }]), (err: SinkError) => err.code === 'SINK_REJECTED' && /message x: message body x is not a search document/.test(err.message));
      await sink.close();
    } finally {
      await store.close();
    }
  });
});

describe('queue config', () => {
  const err = (raw: unknown) => {
    try {
      parseSinkConfig(raw);
    } catch (e) {
      return (e as Error).message;
    }
    return 'accepted';
  };
  test('messages name the key and the fix', () => {
    assert.equal(err({ kind: 'kafka' }), 'queue.kind: must be one of nats, rabbitmq, redis, webhook, jsonl, store, got "kafka"');
    assert.equal(err({ kind: 'nats' }), 'queue.name: a nats sink needs name: the subject to publish to, e.g. name: indexing_documents');
    assert.equal(err({ kind: 'rabbitmq', name: 'q', url: 'amqp://u:hunter2@h:5672'.replace('amqp', 'nats') }), 'queue.url: a rabbitmq sink takes amqp:// or amqps:// URLs, got "nats://***@h:5672"');
    assert.equal(err({ kind: 'nats', name: 'docs', exchange: 'x' }), 'queue.exchange: only a rabbitmq sink takes "exchange" (this one is nats); remove it');
    assert.equal(err({ kind: 'webhook' }), 'queue.url: a webhook sink needs url: the https:// endpoint to POST to');
    assert.equal(err({ kind: 'redis', name: 's', nmae: 'x' }), 'queue: unknown key "nmae" (valid keys: kind, url, name, stream, create, exchange, max_len, dedupe_window, secret, headers, batch_size, envelope, fsync, retry)');
    assert.equal(err({ kind: 'webhook', url: 'https://h/x', secret: 'short' }), 'queue.secret: use a secret of at least 16 characters (e.g. `openssl rand -hex 32`)');
    const ok = parseSinkConfig({ kind: 'rabbitmq', name: 'indexing_documents', retry: { max_pause: '1m' } });
    assert.equal(ok.url, 'amqp://127.0.0.1:5672');
    assert.equal(ok.retry.maxPauseMs, 60_000);
  });
});

describe('deliverWithRetry', () => {
  test('a sink that stays out fails the batch after max_pause, saying nothing was skipped', async () => {
    let calls = 0;
    const down: Sink = {
      kind: 'redis',
      label: 'redis://127.0.0.1:1 stream s',
      async deliver() {
        calls++;
        throw new SinkError('SINK_UNAVAILABLE', this.label, 'connect ECONNREFUSED 127.0.0.1:1');
      },
      async close() {},
    };
    await assert.rejects(deliverWithRetry(down, versions(4, 2), { retry: { baseDelayMs: 5, maxDelayMs: 10, maxPauseMs: 60 } }), (e: SinkError) => {
      assert.equal(e.code, 'SINK_UNAVAILABLE');
      assert.match(e.message, /^redis:\/\/127\.0\.0\.1:1 stream s: still failing after a 0 s pause \(\d+ attempts\): connect ECONNREFUSED 127\.0\.0\.1:1; nothing was skipped, the next run delivers these 4 messages first$/);
      return true;
    });
    assert.ok(calls >= 2, `retried (${calls} calls)`);
  });

  test('an attempt that hangs times out and is retried', async () => {
    let calls = 0;
    const slow: Sink = {
      kind: 'webhook',
      label: 'http://h/x',
      deliver(_m, opts) {
        calls++;
        if (calls > 1) return Promise.resolve();
        return new Promise((_, reject) => opts?.signal?.addEventListener('abort', () => reject(opts.signal!.reason)));
      },
      async close() {},
    };
    const paused: SinkPausedEvent[] = [];
    const out = await deliverWithRetry(slow, versions(1, 1), { retry: { attemptTimeoutMs: 30, baseDelayMs: 1 }, observer: { paused: (e) => paused.push(e) } });
    assert.equal(out.attempts, 2);
    assert.equal(paused[0].code, 'SINK_TIMEOUT');
    assert.equal(paused[0].reason, 'no acknowledgement within 30 ms');
  });
});

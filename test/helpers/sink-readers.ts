/** Reading back what a sink delivered, straight from each broker with its own client. */
import amqp from 'amqplib';
import { Redis } from 'ioredis';
import { connect } from 'nats';
import type { SinkMessage } from '../../src/engine/sinks/index.ts';
import type { JsonValue } from '../../src/store/types.ts';

/** A message as stored by a broker. */
export interface Stored {
  id: string;
  key: string;
  body: JsonValue;
  headers: Record<string, string>;
}

/** Every message of a JetStream stream, in stream order. */
export async function readNats(url: string, stream: string): Promise<Stored[]> {
  const u = new URL(url);
  const nc = await connect({ servers: `${u.hostname}:${u.port || 4222}` });
  try {
    const jsm = await nc.jetstreamManager();
    const info = await jsm.streams.info(stream);
    const out: Stored[] = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
      const m = await jsm.streams.getMessage(stream, { seq });
      const headers: Record<string, string> = {};
      for (const k of m.header.keys()) headers[k] = m.header.get(k);
      out.push({ id: headers['Nats-Msg-Id'], key: headers['Sfbridge-Key'], body: m.json(), headers });
    }
    return out;
  } finally {
    await nc.close();
  }
}

export async function deleteNatsStream(url: string, stream: string): Promise<void> {
  const u = new URL(url);
  const nc = await connect({ servers: `${u.hostname}:${u.port || 4222}` });
  try {
    await (await nc.jetstreamManager()).streams.delete(stream).catch(() => undefined);
  } finally {
    await nc.close();
  }
}

/** Drains a RabbitMQ queue (messages are acked as read), in queue order. */
export async function readRabbit(url: string, queue: string, opts: { deleteAfter?: boolean } = {}): Promise<Stored[]> {
  const conn = await amqp.connect(url);
  try {
    const ch = await conn.createChannel();
    const out: Stored[] = [];
    for (;;) {
      const m = await ch.get(queue, { noAck: true });
      if (!m) break;
      const headers = Object.fromEntries(Object.entries(m.properties.headers ?? {}).map(([k, v]) => [k, String(v)]));
      out.push({ id: String(m.properties.messageId), key: headers['sfbridge-key'], body: JSON.parse(m.content.toString()), headers });
    }
    if (opts.deleteAfter) await ch.deleteQueue(queue);
    return out;
  } finally {
    await conn.close();
  }
}

/** Every entry of a Redis stream, in stream order. */
export async function readRedis(url: string, key: string): Promise<Stored[]> {
  const r = new Redis(url);
  try {
    const entries = await r.xrange(key, '-', '+');
    return entries.map(([, fields]) => {
      const f: Record<string, string> = {};
      for (let i = 0; i < fields.length; i += 2) f[fields[i]] = fields[i + 1];
      return { id: f.id, key: f.key, body: JSON.parse(f.body), headers: JSON.parse(f.headers) };
    });
  } finally {
    r.disconnect();
  }
}

export async function deleteRedisKeys(url: string, ...keys: string[]): Promise<void> {
  const r = new Redis(url);
  try {
    await r.del(...keys);
  } finally {
    r.disconnect();
  }
}

/** `n` messages over `keys` records, each record's versions interleaved with the others'. */
export function versions(n: number, keys: number, tag = 'v'): SinkMessage[] {
  return Array.from({ length: n }, (_, i) => {
    const key = `rec${i % keys}`;
    const version = Math.floor(i / keys);
    return { id: `${key}:${tag}${version}`, key, body: { record: key, version, text: `version ${version} of ${key}` }, headers: { 'x-test': tag } };
  });
}


/**
 * The `queue:` block a pipeline delivers to, validated once with zod (snake_case keys, durations like
 * `30s`), with messages that name the fix. One shape for every sink kind; keys that do not apply to the
 * chosen kind are refused rather than ignored, so a `exchange:` under a NATS sink does not silently do
 * nothing.
 */
import { z } from 'zod';
import { durationSchema } from '../duration.ts';
import { SINK_KINDS, type SinkKind } from './types.ts';
import type { SinkRetryOptions } from './deliver.ts';

/** Default broker URLs: the local services a developer machine runs. */
export const DEFAULT_SINK_URLS: Readonly<Partial<Record<SinkKind, string>>> = Object.freeze({
  nats: 'nats://127.0.0.1:4222',
  rabbitmq: 'amqp://127.0.0.1:5672',
  redis: 'redis://127.0.0.1:6379',
});

/** URL schemes each kind accepts. */
const SCHEMES: Readonly<Record<SinkKind, readonly string[]>> = {
  nats: ['nats:', 'tls:', 'ws:', 'wss:'],
  rabbitmq: ['amqp:', 'amqps:'],
  redis: ['redis:', 'rediss:'],
  webhook: ['http:', 'https:'],
  jsonl: [],
  store: ['sqlite:', 'postgres:', 'postgresql:'],
};

/** Keys that only one kind takes. */
const KIND_KEYS: Readonly<Record<string, readonly SinkKind[]>> = {
  stream: ['nats'],
  create: ['nats', 'rabbitmq'],
  exchange: ['rabbitmq'],
  max_len: ['redis'],
  dedupe_window: ['redis'],
  secret: ['webhook'],
  headers: ['webhook'],
  batch_size: ['webhook'],
  envelope: ['jsonl'],
  fsync: ['jsonl'],
};

const retrySchema = z.strictObject({
  base_delay: durationSchema.optional(),
  max_delay: durationSchema.optional(),
  /** `0` pauses until the sink is back. */
  max_pause: durationSchema.optional(),
  attempt_timeout: durationSchema.optional(),
});

/** The raw `queue:` block. */
export const queueSchema = z
  .strictObject({
    kind: z.enum(SINK_KINDS, { error: (iss) => `must be one of ${SINK_KINDS.join(', ')}${iss.input === undefined ? '' : `, got ${JSON.stringify(iss.input)}`}` }),
    url: z.string().min(1).optional(),
    name: z.string().min(1).optional(),
    stream: z.string().regex(/^[^\s.*>/\\]+$/, 'a JetStream stream name has no spaces, dots, *, >, / or \\').optional(),
    create: z.boolean().optional(),
    exchange: z.string().optional(),
    max_len: z.number().int().positive().optional(),
    dedupe_window: durationSchema.optional(),
    secret: z.string().min(16, 'use a secret of at least 16 characters (e.g. `openssl rand -hex 32`)').optional(),
    headers: z.record(z.string().regex(/^[A-Za-z0-9-]+$/, 'header names are letters, digits and -'), z.string()).optional(),
    batch_size: z.number().int().min(1).max(10_000).optional(),
    envelope: z.boolean().optional(),
    fsync: z.boolean().optional(),
    retry: retrySchema.optional(),
  })
  .superRefine((q, ctx) => {
    for (const [key, kinds] of Object.entries(KIND_KEYS)) {
      if ((q as Record<string, unknown>)[key] !== undefined && !kinds.includes(q.kind)) {
        ctx.addIssue({ code: 'custom', path: [key], message: `only a ${kinds.join(' or ')} sink takes "${key}" (this one is ${q.kind}); remove it` });
      }
    }
    const needsName = q.kind === 'nats' || q.kind === 'rabbitmq' || q.kind === 'redis';
    if (needsName && !q.name) {
      const what: Record<string, string> = { nats: 'the subject to publish to', rabbitmq: 'the queue (or routing key with exchange)', redis: 'the stream key' };
      ctx.addIssue({ code: 'custom', path: ['name'], message: `a ${q.kind} sink needs name: ${what[q.kind]}, e.g. name: indexing_documents` });
    }
    if (q.kind === 'nats' && q.name && !/^[^\s*>]+$/.test(q.name)) ctx.addIssue({ code: 'custom', path: ['name'], message: `a NATS subject to publish to has no spaces or wildcards (* >), got ${JSON.stringify(q.name)}` });
    if (q.kind === 'rabbitmq' && q.name && Buffer.byteLength(q.name) > 255) ctx.addIssue({ code: 'custom', path: ['name'], message: 'a RabbitMQ queue name is at most 255 bytes' });
    if ((q.kind === 'webhook' || q.kind === 'jsonl') && !q.url) {
      ctx.addIssue({ code: 'custom', path: ['url'], message: q.kind === 'webhook' ? 'a webhook sink needs url: the https:// endpoint to POST to' : 'a jsonl sink needs url: the file to append to, e.g. url: ./data/documents.jsonl' });
    }
    if (q.url && SCHEMES[q.kind].length) {
      let protocol: string | undefined;
      try {
        protocol = new URL(q.url).protocol;
      } catch {
        protocol = undefined;
      }
      if (!protocol || !SCHEMES[q.kind].includes(protocol)) {
        ctx.addIssue({ code: 'custom', path: ['url'], message: `a ${q.kind} sink takes ${SCHEMES[q.kind].map((s) => `${s}//`).join(' or ')} URLs, got ${JSON.stringify(redactCredentials(q.url))}` });
      }
    }
  });

/** A validated sink configuration (camelCase, durations in ms). */
export interface SinkConfig {
  kind: SinkKind;
  /** Broker URL, endpoint, file path or store URL; broker defaults filled in. Undefined only for `store` (the pipeline's own store). */
  url: string | undefined;
  /** Subject, queue, stream key; for webhook/jsonl/store an optional label. */
  name: string | undefined;
  stream?: string;
  create: boolean;
  exchange?: string;
  maxLen?: number;
  dedupeWindowMs?: number;
  secret?: string;
  headers?: Record<string, string>;
  batchSize?: number;
  envelope: boolean;
  fsync: boolean;
  retry: SinkRetryOptions;
}

/** A bad `queue:` block; `path` is the dotted key it concerns. */
export class SinkConfigError extends Error {
  readonly code = 'SINK_CONFIG_ERROR';
  readonly path: string;
  constructor(path: string, message: string) {
    super(path ? `${path}: ${message}` : message);
    this.name = 'SinkConfigError';
    this.path = path;
  }
}

/** Turns the parsed block into a {@link SinkConfig}. */
export function toSinkConfig(q: z.output<typeof queueSchema>): SinkConfig {
  return {
    kind: q.kind,
    url: q.url ?? DEFAULT_SINK_URLS[q.kind],
    name: q.name,
    stream: q.stream,
    create: q.create ?? true,
    exchange: q.exchange,
    maxLen: q.max_len,
    dedupeWindowMs: q.dedupe_window,
    secret: q.secret,
    headers: q.headers,
    batchSize: q.batch_size,
    envelope: q.envelope ?? false,
    fsync: q.fsync ?? true,
    retry: { baseDelayMs: q.retry?.base_delay, maxDelayMs: q.retry?.max_delay, maxPauseMs: q.retry?.max_pause, attemptTimeoutMs: q.retry?.attempt_timeout },
  };
}

/** Validates a raw `queue:` block (from YAML or the API); throws {@link SinkConfigError} naming the key. */
export function parseSinkConfig(raw: unknown, path = 'queue'): SinkConfig {
  const r = queueSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    const at = [path, ...issue.path.map(String)].filter(Boolean).join('.');
    if (issue.code === 'unrecognized_keys') {
      throw new SinkConfigError(at, `unknown key "${issue.keys[0]}" (valid keys: kind, url, name, ${Object.keys(KIND_KEYS).join(', ')}, retry)`);
    }
    throw new SinkConfigError(at, issue.message);
  }
  return toSinkConfig(r.data);
}

/** A URL with its password (and user) removed, for labels, logs and error messages. */
export function redactCredentials(url: string): string {
  try {
    const u = new URL(url);
    if (!u.username && !u.password) return url;
    u.username = u.password ? '***' : u.username && '***';
    u.password = '';
    return u.toString();
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//***@');
  }
}

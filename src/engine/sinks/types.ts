/**
 * The sink contract shared by every pipeline that hands messages to another system (search documents,
 * comments, event pipelines, inbound deliveries): deliver a batch at least once, in order per key, or throw
 * a {@link SinkError} that says whether trying again can help. The caller moves its cursor only after
 * `deliver` resolved, so a message is never skipped; a replay after a crash or an outage repeats messages
 * with the same `id`, which brokers that deduplicate (JetStream `Nats-Msg-Id`, the Redis sink's id set)
 * drop and every consumer can drop by the same key.
 */
import type { JsonValue } from '../../store/types.ts';

/** One message. */
export interface SinkMessage {
  /**
   * Stable per version of the thing delivered (a document's id and content hash): the same version always
   * gets the same id, a new version a new one. Brokers and consumers deduplicate by it.
   */
  id: string;
  /** Ordering key (the record's Id): messages with one key are delivered in the order given. */
  key: string;
  /** The payload, sent as JSON. */
  body: JsonValue;
  /** Extra headers (AMQP headers, NATS headers, webhook per-message `headers`, a Redis field). */
  headers?: Readonly<Record<string, string>>;
}

/** Options of {@link Sink.deliver}. */
export interface DeliverOptions {
  /** Aborts the delivery; messages already accepted by the broker stay there. */
  signal?: AbortSignal;
}

/** A destination for messages. */
export interface Sink {
  /** `nats`, `rabbitmq`, `redis`, `webhook`, `jsonl` or `store`. */
  readonly kind: SinkKind;
  /** Where it delivers, with any credentials removed (`nats://127.0.0.1:4222 indexing_documents`). */
  readonly label: string;
  /**
   * Resolves once every message is durably accepted (broker ack, publisher confirm, XADD reply, 2xx, file
   * write); throws {@link SinkError} otherwise. Messages with one key keep their order. May have delivered
   * part of the batch when it throws: the caller delivers the whole batch again, with the same ids.
   */
  deliver(messages: readonly SinkMessage[], options?: DeliverOptions): Promise<void>;
  /** Waits for in-flight work and closes connections and files. Further deliveries fail. */
  close(): Promise<void>;
}

/** The sink kinds. */
export const SINK_KINDS = ['nats', 'rabbitmq', 'redis', 'webhook', 'jsonl', 'store'] as const;
export type SinkKind = (typeof SINK_KINDS)[number];

/** Stable error codes of {@link SinkError}. */
export const SINK_ERROR_CODES = {
  /** The broker or endpoint cannot be reached, or the connection dropped (retryable). */
  unavailable: 'SINK_UNAVAILABLE',
  /** No answer within the attempt timeout (retryable). */
  timeout: 'SINK_TIMEOUT',
  /** The endpoint answered "later" (HTTP 429/503, broker flow control, JetStream no responders) (retryable). */
  busy: 'SINK_BUSY',
  /** The broker or endpoint refused the messages for good (4xx, a nack of a bad message) (not retryable). */
  rejected: 'SINK_REJECTED',
  /** The destination does not exist or routes nowhere (unknown exchange, unroutable message) (not retryable). */
  misconfigured: 'SINK_MISCONFIGURED',
  /** Credentials refused (not retryable). */
  auth: 'SINK_AUTH',
  /** The sink was closed (not retryable). */
  closed: 'SINK_CLOSED',
} as const;
export type SinkErrorCode = (typeof SINK_ERROR_CODES)[keyof typeof SINK_ERROR_CODES];

/** A failed delivery. `retryable` says whether the same batch can succeed later without a change of config. */
export class SinkError extends Error {
  readonly code: SinkErrorCode;
  readonly retryable: boolean;
  /** The sink's label (no credentials). */
  readonly sink: string;
  /** The server's own hint (HTTP Retry-After), in milliseconds. */
  readonly retryAfterMs: number | undefined;
  constructor(code: SinkErrorCode, sink: string, message: string, opts: { retryable?: boolean; retryAfterMs?: number; cause?: unknown } = {}) {
    super(`${sink}: ${message}`, { cause: opts.cause });
    this.name = 'SinkError';
    this.code = code;
    this.sink = sink;
    this.retryable = opts.retryable ?? (code === 'SINK_UNAVAILABLE' || code === 'SINK_TIMEOUT' || code === 'SINK_BUSY');
    this.retryAfterMs = opts.retryAfterMs;
  }
}

/** What a pipeline reports while a sink is out: the pause, each retry, the resume. */
export interface SinkPausedEvent {
  sink: string;
  kind: SinkKind;
  code: SinkErrorCode;
  /** Why, as the broker or endpoint said it. */
  reason: string;
  /** Failed attempts so far for this batch. */
  attempt: number;
  /** Wait before the next attempt. */
  retryInMs: number;
  /** Messages waiting in the batch. */
  pending: number;
}

export interface SinkResumedEvent {
  sink: string;
  kind: SinkKind;
  /** How long delivery was paused. */
  pausedMs: number;
  /** Attempts it took, the successful one included. */
  attempts: number;
  delivered: number;
}

/** Receives the pause and resume of {@link deliverWithRetry}; pipelines forward these into their event map. */
export interface SinkObserver {
  paused?(event: SinkPausedEvent): void;
  resumed?(event: SinkResumedEvent): void;
}

/**
 * The message id of one version of a record in a stream: `documents:001…:3f2a9c…`. The same record and
 * content always give the same id (redeliveries deduplicate); changed content gives a new one.
 */
export function versionMessageId(stream: string, recordId: string, contentHash: string): string {
  return `${stream}:${recordId}:${contentHash.slice(0, 20)}`;
}

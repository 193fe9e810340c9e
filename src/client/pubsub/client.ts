/**
 * A Pub/Sub API client: `subscribe(topic)` is an AsyncIterable of decoded events, `publish(topic, events)`
 * publishes platform events. It authenticates with the connection's session (metadata `accesstoken`,
 * `instanceurl`, `tenantid`), fetches schemas by id once and caches them, and decodes CDC bitmaps to field
 * names (`BillingAddress.City` for compound parts).
 *
 * Credit follows the consumer: the first request asks for `batch` events, and more are requested only as the
 * consumer finishes events (half a batch at a time), so a slow consumer never holds more than `batch`.
 * After a stream error it resubscribes from the last finished replay id with full-jitter backoff; on
 * UNAUTHENTICATED it refreshes the session once; a replay id outside retention is a typed
 * {@link PubSubError} (`PUBSUB_REPLAY_ID_EXPIRED`), never a retry loop. Replay ids stay opaque bytes.
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import avro from 'avsc';
import type { Authenticator, Session } from '../auth.ts';
import { DEFAULT_PUBSUB_ENDPOINT } from './endpoint.ts';

export { DEFAULT_PUBSUB_ENDPOINT };
/** Events per FetchRequest at most (the server's limit). */
export const MAX_BATCH = 100;

export const PUBSUB_ERROR_CODES = {
  /** The replay id is outside the retention window (or unknown): resubscribe from earliest/latest and resync. */
  replayExpired: 'PUBSUB_REPLAY_ID_EXPIRED',
  /** The topic does not exist or the user may not use it. */
  topic: 'PUBSUB_TOPIC',
  /** Authentication failed even after a session refresh. */
  auth: 'PUBSUB_AUTH',
  /** The events given cannot be published as a batch (two share an id); nothing was sent. */
  invalidEvent: 'PUBSUB_INVALID_EVENT',
  /** Any other refusal (bad request, publish refused, retries exhausted). */
  failed: 'PUBSUB_FAILED',
} as const;

export type PubSubErrorCode = (typeof PUBSUB_ERROR_CODES)[keyof typeof PUBSUB_ERROR_CODES];

/** A Pub/Sub failure with a stable `code`, the gRPC status and Salesforce's `error-code` trailer. */
export class PubSubError extends Error {
  readonly code: PubSubErrorCode;
  readonly grpcCode: number | undefined;
  readonly errorCode: string | undefined;
  constructor(code: PubSubErrorCode, message: string, opts: { grpcCode?: number; errorCode?: string; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'PubSubError';
    this.code = code;
    this.grpcCode = opts.grpcCode;
    this.errorCode = opts.errorCode;
  }
}

export interface PubSubClientOptions {
  /** Supplies and refreshes the session (a `Connection`'s `auth`). */
  auth: Authenticator;
  /** `host:port`; default {@link DEFAULT_PUBSUB_ENDPOINT}. */
  endpoint?: string;
  /** TLS (default on, as Salesforce requires); `false` for a plaintext emulator; `ca` trusts a private CA. */
  tls?: boolean | { ca?: string | Buffer; rejectUnauthorized?: boolean };
  /** Resubscribe backoff (full jitter). */
  retry?: { baseDelayMs?: number; maxDelayMs?: number; maxAttempts?: number };
  random?: () => number;
}

export type ReplayFrom = 'latest' | 'earliest' | { after: Uint8Array };

export interface SubscribeOptions {
  replay?: ReplayFrom;
  signal?: AbortSignal;
  /** Events requested at a time (1..100, default 100): the most a slow consumer holds. */
  batch?: number;
  /** Called with the position of keepalives (`latest_replay_id`), so an idle subscriber can checkpoint it. */
  onPosition?: (replayId: Uint8Array) => void;
}

export interface ChangeHeader {
  entityName: string;
  recordIds: string[];
  changeType: string;
  changeOrigin: string;
  transactionKey: string;
  sequenceNumber: number;
  commitTimestamp: number;
  commitNumber: number;
  commitUser: string;
  changedFields: string[];
  nulledFields: string[];
  diffFields: string[];
}

export interface PubSubEvent {
  topic: string;
  /** The event's UUID (a platform event's correlation key). */
  id: string;
  schemaId: string;
  /** Opaque position; resubscribe with `{ after: replayId }`. */
  replayId: Uint8Array;
  /** Decoded Avro record; for change events its ChangeEventHeader field lists are field names. */
  payload: Record<string, unknown>;
  /** The decoded ChangeEventHeader of change events. */
  header?: ChangeHeader;
}

/** One platform event to publish: field values, and `id` as its correlation key (a UUID when absent). */
export type PlatformEventInput = Record<string, unknown> & { id?: string };

export interface PublishResult {
  correlationKey: string;
  replayId?: Uint8Array;
  error?: { code: string; message: string };
}

interface WireEvent { event: { id: string; schemaId: string; payload: Buffer }; replayId: Buffer }
interface FetchResponse { events: WireEvent[]; latestReplayId: Buffer; pendingNumRequested: number }
type Stub = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

const PROTO_PATH = fileURLToPath(new URL('./pubsub_api.proto', import.meta.url));
let service: (new (address: string, creds: grpc.ChannelCredentials) => Stub) | undefined;

function stubClass() {
  service ??= (grpc.loadPackageDefinition(protoLoader.loadSync(PROTO_PATH, { keepCase: false, longs: Number, enums: String, defaults: true })) as unknown as {
    eventbus: { v1: { PubSub: new (address: string, creds: grpc.ChannelCredentials) => Stub } };
  }).eventbus.v1.PubSub;
  return service;
}

/** The org id for `tenantid`: from the identity URL, else the access token's prefix (`00D…!`). */
function tenantOf(session: Session): string {
  const fromId = session.identityUrl ? /\/id\/([^/]+)\//.exec(session.identityUrl)?.[1] : undefined;
  return fromId ?? session.accessToken.split('!')[0];
}

function errorCodeOf(err: grpc.ServiceError): string | undefined {
  const v = err.metadata?.get('error-code')?.[0];
  return v === undefined ? undefined : String(v);
}

/** Resolves when `ms` passed or the signal aborted. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** A small push/pull queue between gRPC callbacks and the generator. */
class Inbox<T> {
  readonly #items: T[] = [];
  #waiter: (() => void) | null = null;
  push(item: T): void {
    this.#items.push(item);
    this.#waiter?.();
  }
  async next(): Promise<T> {
    while (this.#items.length === 0) await new Promise<void>((r) => (this.#waiter = r));
    this.#waiter = null;
    return this.#items.shift()!;
  }
}

type Received = { kind: 'data'; msg: FetchResponse } | { kind: 'error'; err: grpc.ServiceError } | { kind: 'end' };

export class PubSubClient {
  readonly #opts: PubSubClientOptions;
  readonly #stub: Stub;
  readonly #schemas = new Map<string, Promise<avro.Type>>();

  constructor(opts: PubSubClientOptions) {
    this.#opts = opts;
    const tls = opts.tls ?? true;
    const creds = tls === false
      ? grpc.credentials.createInsecure()
      : grpc.credentials.createSsl(
        typeof tls === 'object' && tls.ca ? Buffer.from(tls.ca) : null, null, null,
        typeof tls === 'object' && tls.rejectUnauthorized === false ? { rejectUnauthorized: false } : {},
      );
    const Stub = stubClass();
    this.#stub = new Stub(opts.endpoint ?? DEFAULT_PUBSUB_ENDPOINT, creds);
  }

  /** Closes the channel; open subscriptions end. */
  close(): void {
    this.#stub.close();
  }

  #metadata(session: Session): grpc.Metadata {
    const md = new grpc.Metadata();
    md.set('accesstoken', session.accessToken);
    md.set('instanceurl', session.instanceUrl);
    md.set('tenantid', tenantOf(session));
    return md;
  }

  /** A unary call with one session refresh on UNAUTHENTICATED. */
  async #unary<T>(method: string, req: unknown, signal?: AbortSignal, deadlineMs?: number): Promise<T> {
    let session = await this.#opts.auth.getSession(signal);
    for (let attempt = 0; ; attempt++) {
      try {
        return await new Promise<T>((resolve, reject) => {
          this.#stub[method](req, this.#metadata(session), deadlineMs ? { deadline: Date.now() + deadlineMs } : {}, (err: grpc.ServiceError | null, res: T) => (err ? reject(err) : resolve(res)));
        });
      } catch (err) {
        const e = err as grpc.ServiceError;
        if (e.code === grpc.status.UNAUTHENTICATED && attempt === 0) {
          session = await this.#opts.auth.refresh(session, signal);
          continue;
        }
        throw this.#typed(e, method);
      }
    }
  }

  #typed(e: grpc.ServiceError, what: string): PubSubError {
    const errorCode = errorCodeOf(e);
    const code = errorCode?.endsWith('replayid.corrupted') ? PUBSUB_ERROR_CODES.replayExpired
      : e.code === grpc.status.NOT_FOUND || e.code === grpc.status.PERMISSION_DENIED ? PUBSUB_ERROR_CODES.topic
        : e.code === grpc.status.UNAUTHENTICATED ? PUBSUB_ERROR_CODES.auth : PUBSUB_ERROR_CODES.failed;
    const hint = code === PUBSUB_ERROR_CODES.replayExpired ? ': the replay id is outside the retention window; subscribe from earliest or latest and resynchronise from the source' : '';
    return new PubSubError(code, `${what}: ${e.details || e.message}${hint}`, { grpcCode: e.code, errorCode, cause: e });
  }

  /** The Avro type of a schema id (fetched once per id). */
  schema(schemaId: string, signal?: AbortSignal): Promise<avro.Type> {
    let s = this.#schemas.get(schemaId);
    if (!s) {
      s = this.#unary<{ schemaJson: string }>('GetSchema', { schemaId }, signal).then((r) => avro.Type.forSchema(JSON.parse(r.schemaJson) as avro.Schema));
      s.catch(() => this.#schemas.delete(schemaId));
      this.#schemas.set(schemaId, s);
    }
    return s;
  }

  /** Topic metadata: its current schema id and whether the user may publish/subscribe. */
  topic(topicName: string, signal?: AbortSignal, opts: { deadlineMs?: number } = {}): Promise<{ topicName: string; schemaId: string; canPublish: boolean; canSubscribe: boolean }> {
    return this.#unary('GetTopic', { topicName }, signal, opts.deadlineMs);
  }

  async #decode(topic: string, ev: WireEvent, signal?: AbortSignal): Promise<PubSubEvent> {
    const type = await this.schema(ev.event.schemaId, signal);
    const payload = type.fromBuffer(ev.event.payload) as Record<string, unknown>;
    const out: PubSubEvent = { topic, id: ev.event.id, schemaId: ev.event.schemaId, replayId: new Uint8Array(ev.replayId), payload };
    const raw = payload.ChangeEventHeader as Record<string, unknown> | undefined;
    if (raw) {
      const fields = (type as avro.types.RecordType).fields;
      const header = { ...raw } as unknown as ChangeHeader;
      header.changedFields = decodeBitmaps(fields, raw.changedFields as string[]);
      header.nulledFields = decodeBitmaps(fields, raw.nulledFields as string[]);
      header.diffFields = decodeBitmaps(fields, raw.diffFields as string[]);
      payload.ChangeEventHeader = header;
      out.header = header;
    }
    return out;
  }

  /**
   * Subscribes to a topic (`/data/AccountChangeEvent`, `/event/Order__e`). Iterate it; break or abort the
   * signal to stop. Throws {@link PubSubError} for what retrying cannot fix.
   */
  async *subscribe(topicName: string, opts: SubscribeOptions = {}): AsyncGenerator<PubSubEvent> {
    const batch = Math.min(MAX_BATCH, Math.max(1, Math.trunc(opts.batch ?? MAX_BATCH)));
    const signal = opts.signal;
    const retry = { baseDelayMs: 200, maxDelayMs: 30_000, maxAttempts: Infinity, ...this.#opts.retry };
    const random = this.#opts.random ?? Math.random;
    let after: Uint8Array | null = opts.replay && typeof opts.replay === 'object' ? opts.replay.after : null;
    const preset = opts.replay === 'earliest' ? 'EARLIEST' : 'LATEST';
    let failures = 0;
    let refreshed = false;
    let session = await this.#opts.auth.getSession(signal);
    while (!signal?.aborted) {
      const call = this.#stub.Subscribe(this.#metadata(session)) as grpc.ClientDuplexStream<unknown, FetchResponse>;
      const inbox = new Inbox<Received>();
      call.on('data', (msg: FetchResponse) => inbox.push({ kind: 'data', msg }));
      call.on('error', (err: grpc.ServiceError) => inbox.push({ kind: 'error', err }));
      call.on('end', () => inbox.push({ kind: 'end' }));
      const onAbort = () => call.cancel();
      signal?.addEventListener('abort', onAbort, { once: true });
      call.write(after ? { topicName, replayPreset: 'CUSTOM', replayId: Buffer.from(after), numRequested: batch } : { topicName, replayPreset: preset, numRequested: batch });
      let finished = 0;
      let failure: grpc.ServiceError | null = null;
      try {
        for (;;) {
          const got = await inbox.next();
          if (got.kind === 'end') break;
          if (got.kind === 'error') {
            failure = got.err;
            break;
          }
          failures = 0;
          refreshed = false;
          const { msg } = got;
          if (msg.events.length === 0 && msg.latestReplayId?.length) {
            // Nothing pending before this position: resuming from it skips nothing.
            after = new Uint8Array(msg.latestReplayId);
            opts.onPosition?.(after);
          }
          for (const ev of msg.events) {
            const decoded = await this.#decode(topicName, ev, signal);
            yield decoded;
            // The consumer asked for the next one: this event is finished.
            after = decoded.replayId;
            if (++finished >= Math.ceil(batch / 2)) {
              call.write({ numRequested: finished });
              finished = 0;
            }
          }
        }
      } finally {
        signal?.removeEventListener('abort', onAbort);
        call.cancel();
      }
      if (signal?.aborted) return;
      if (failure) {
        const errorCode = errorCodeOf(failure);
        if (failure.code === grpc.status.UNAUTHENTICATED && !refreshed) {
          refreshed = true;
          session = await this.#opts.auth.refresh(session, signal);
          continue;
        }
        const fatal = failure.code === grpc.status.UNAUTHENTICATED || failure.code === grpc.status.NOT_FOUND || failure.code === grpc.status.PERMISSION_DENIED
          || failure.code === grpc.status.INVALID_ARGUMENT || errorCode !== undefined && errorCode.includes('replayid');
        if (fatal || failure.code === grpc.status.CANCELLED) throw this.#typed(failure, `subscribe ${topicName}`);
      }
      if (++failures > retry.maxAttempts) throw new PubSubError(PUBSUB_ERROR_CODES.failed, `subscribe ${topicName}: the stream kept failing (${failures - 1} resubscriptions)${failure ? `: ${failure.details}` : ''}`, { grpcCode: failure?.code, cause: failure });
      await sleep(random() * Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (failures - 1)), signal);
      session = await this.#opts.auth.getSession(signal);
    }
  }

  /**
   * Encodes platform events for a topic with its current schema (missing fields null, CreatedDate and
   * CreatedById filled in). An event whose values do not fit the schema gets a result with the error code
   * `INVALID_EVENT` and is not sent.
   */
  async #encode(topicName: string, events: readonly PlatformEventInput[], signal?: AbortSignal): Promise<{ wire: WireEvent['event'][]; refused: Map<string, PublishResult>; order: string[] }> {
    const topic = await this.topic(topicName, signal);
    if (!topic.canPublish) throw new PubSubError(PUBSUB_ERROR_CODES.topic, `publish ${topicName}: the topic cannot be published to (only platform events can)`);
    const type = await this.schema(topic.schemaId, signal);
    const session = await this.#opts.auth.getSession(signal);
    const userId = session.identityUrl?.split('/').at(-1) ?? '';
    const fields = (type as avro.types.RecordType).fields.map((f) => f.name);
    const wire: WireEvent['event'][] = [];
    const refused = new Map<string, PublishResult>();
    const order: string[] = [];
    for (const { id: given, ...values } of events) {
      const id = given ?? crypto.randomUUID();
      if (order.includes(id)) throw new PubSubError(PUBSUB_ERROR_CODES.invalidEvent, `publish ${topicName}: two events share the id ${id}; each event needs its own correlation key`);
      order.push(id);
      const rec: Record<string, unknown> = {};
      for (const name of fields) rec[name] = values[name] ?? null;
      rec.CreatedDate ??= Date.now();
      rec.CreatedById ??= userId;
      try {
        wire.push({ id, schemaId: topic.schemaId, payload: type.toBuffer(rec) });
      } catch (err) {
        refused.set(id, { correlationKey: id, error: { code: 'INVALID_EVENT', message: `the values do not fit the schema of ${topicName}: ${(err as Error).message}` } });
      }
    }
    return { wire, refused, order };
  }

  /**
   * Publishes platform events with one unary Publish (field values; `CreatedDate` and `CreatedById` are
   * filled in when absent). Results are per event, in order, with the correlation key (`id` of each event,
   * or a generated UUID).
   */
  async publish(topicName: string, events: readonly PlatformEventInput[], signal?: AbortSignal): Promise<PublishResult[]> {
    const { wire, refused, order } = await this.#encode(topicName, events, signal);
    const results = new Map(refused);
    if (wire.length > 0) {
      const res = await this.#unary<{ results: WireResult[] }>('Publish', { topicName, events: wire }, signal);
      res.results.forEach((r, i) => results.set(r.correlationKey || wire[i].id, toResult(r)));
    }
    return order.map((id) => results.get(id) ?? { correlationKey: id, error: { code: 'UNACKNOWLEDGED', message: 'the server answered without a result for this event' } });
  }

  /**
   * Publishes platform events over one PublishStream call, `batchSize` events per PublishRequest (default
   * 200, Salesforce's recommendation). Results are per event, in input order, matched by correlation key.
   * A stream refused before any result (auth after one session refresh, topic) throws {@link PubSubError};
   * when it fails part-way, the events the server never answered for get the error code `UNACKNOWLEDGED`
   * (they may or may not have been published: resend them only if duplicates are harmless).
   */
  async publishStream(topicName: string, events: readonly PlatformEventInput[], opts: { signal?: AbortSignal; batchSize?: number } = {}): Promise<PublishResult[]> {
    const { signal } = opts;
    const batchSize = Math.min(200, Math.max(1, Math.trunc(opts.batchSize ?? 200)));
    const { wire, refused, order } = await this.#encode(topicName, events, signal);
    const results = new Map<string, PublishResult>();
    let session = await this.#opts.auth.getSession(signal);
    for (let attempt = 0; ; attempt++) {
      const pending = wire.filter((e) => !results.has(e.id));
      if (pending.length === 0) break;
      const failure = await new Promise<grpc.ServiceError | null>((resolve) => {
        const call = this.#stub.PublishStream(this.#metadata(session)) as grpc.ClientDuplexStream<unknown, { results: WireResult[] }>;
        const onAbort = () => call.cancel();
        signal?.addEventListener('abort', onAbort, { once: true });
        const settle = (err: grpc.ServiceError | null) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(err);
        };
        call.on('data', (res: { results: WireResult[] }) => {
          for (const r of res.results) results.set(r.correlationKey, toResult(r));
        });
        call.on('error', (err: grpc.ServiceError) => settle(err));
        call.on('end', () => settle(null));
        for (let i = 0; i < pending.length; i += batchSize) call.write({ topicName, events: pending.slice(i, i + batchSize) });
        call.end();
      });
      if (signal?.aborted) throw signal.reason ?? new Error('aborted');
      if (!failure) {
        if (wire.every((e) => results.has(e.id))) break;
        throw new PubSubError(PUBSUB_ERROR_CODES.failed, `publishStream ${topicName}: the server ended the stream without a result for every event`);
      }
      // Refused before publishing anything (the server checks the session when the stream opens): refresh once.
      if (failure.code === grpc.status.UNAUTHENTICATED && attempt === 0) {
        session = await this.#opts.auth.refresh(session, signal);
        continue;
      }
      if (results.size === 0) throw this.#typed(failure, `publishStream ${topicName}`);
      for (const e of wire) {
        if (!results.has(e.id)) results.set(e.id, { correlationKey: e.id, error: { code: 'UNACKNOWLEDGED', message: `the stream failed before the server answered for this event (${failure.details || failure.message}); it may or may not have been published` } });
      }
      break;
    }
    return order.map((id) => refused.get(id) ?? results.get(id)!);
  }
}

interface WireResult { replayId: Buffer; correlationKey: string; error: { code: string; msg: string } | null }

function toResult(r: WireResult): PublishResult {
  return r.error
    ? { correlationKey: r.correlationKey, error: { code: r.error.code, message: r.error.msg } }
    : { correlationKey: r.correlationKey, replayId: new Uint8Array(r.replayId) };
}

/**
 * Decodes Pub/Sub field bitmaps: `0x…` over the schema's top-level fields (bit 0 = the header), then
 * `{pos}-0x…` over the nested record of the compound field at `pos` (→ `BillingAddress.City`).
 */
export function decodeBitmaps(fields: readonly avro.types.Field[], bitmaps: readonly string[] | undefined): string[] {
  const out: string[] = [];
  for (const entry of bitmaps ?? []) {
    const m = /^(?:(\d+)-)?0x([0-9a-fA-F]+)$/.exec(entry);
    if (!m) continue;
    const bits = BigInt(`0x${m[2]}`);
    if (m[1] === undefined) {
      fields.forEach((f, i) => {
        if ((bits >> BigInt(i)) & 1n) out.push(f.name);
      });
      continue;
    }
    const parent = fields[Number(m[1])];
    if (!parent) continue;
    const record = (parent.type as unknown as { types?: avro.Type[] }).types?.find((t) => t.typeName === 'record') as avro.types.RecordType | undefined;
    record?.fields.forEach((f, i) => {
      if ((bits >> BigInt(i)) & 1n) out.push(`${parent.name}.${f.name}`);
    });
  }
  return out;
}

/**
 * NATS JetStream sink: each message is published to the configured subject with `Nats-Msg-Id` set to the
 * message id, so the stream drops a repeat within its duplicate window (a redelivery after an outage or a
 * crash is stored once). A publish counts as delivered only when JetStream's PubAck arrives, i.e. the
 * message is in the stream. The stream capturing the subject is found, or created when none exists.
 */
import { connect, headers as natsHeaders, nanos, type JetStreamClient, type NatsConnection, type NatsError } from 'nats';
import { sendInOrder } from './deliver.ts';
import { redactCredentials, type SinkConfig } from './config.ts';
import { SinkError, type DeliverOptions, type Sink, type SinkMessage } from './types.ts';

/** Publishes awaiting their PubAck at once. The server processes one connection's publishes in order. */
export const NATS_PUBLISH_WINDOW = 256;
/** PubAck wait per message. */
export const NATS_ACK_TIMEOUT_MS = 5_000;
/** Duplicate window of a stream this sink creates (JetStream's default too). */
export const NATS_DUPLICATE_WINDOW_MS = 2 * 60_000;

/** The header carrying the message key (ordering key, the record Id). */
export const KEY_HEADER = 'Sfbridge-Key';

/** Stream name for a subject when the sink creates the stream: `indexing.documents` → `INDEXING_DOCUMENTS`. */
export function defaultStreamName(subject: string): string {
  return subject.replace(/[^A-Za-z0-9_-]+/g, '_').toUpperCase();
}

export class NatsSink implements Sink {
  readonly kind = 'nats' as const;
  readonly label: string;
  readonly #config: SinkConfig;
  readonly #subject: string;
  #nc: NatsConnection | undefined;
  #js: JetStreamClient | undefined;
  #connecting: Promise<JetStreamClient> | undefined;
  #connected = false;
  /** Rejects when the connection drops; replaced on every (re)connect. */
  #dropped: Promise<never> = new Promise<never>(() => undefined);
  #drop: (err: SinkError) => void = () => undefined;
  #closed = false;
  /** The stream the subject lands in, once resolved. */
  stream: string | undefined;

  constructor(config: SinkConfig) {
    this.#config = config;
    this.#subject = config.name!;
    this.label = `${redactCredentials(config.url!)} ${this.#subject}`;
  }

  async deliver(messages: readonly SinkMessage[], options: DeliverOptions = {}): Promise<void> {
    if (this.#closed) throw new SinkError('SINK_CLOSED', this.label, 'sink is closed');
    if (messages.length === 0) return;
    options.signal?.throwIfAborted();
    const js = await this.#client();
    await sendInOrder(
      messages,
      NATS_PUBLISH_WINDOW,
      async (m) => {
        // While disconnected the client would buffer publishes and replay every attempt's copy on reconnect;
        // failing fast keeps one copy in flight and lets the caller's backoff decide when to try again.
        if (!this.#connected) throw new SinkError('SINK_UNAVAILABLE', this.label, 'disconnected from the NATS server; reconnecting');
        const h = natsHeaders();
        h.set(KEY_HEADER, m.key);
        for (const [k, v] of Object.entries(m.headers ?? {})) h.set(k, v);
        try {
          // A publish waiting for its PubAck when the connection drops would otherwise wait out the ack timeout.
          await Promise.race([js.publish(this.#subject, JSON.stringify(m.body), { msgID: m.id, headers: h, timeout: NATS_ACK_TIMEOUT_MS }), this.#dropped]);
        } catch (err) {
          throw this.#error(err);
        }
      },
      options.signal,
    );
  }

  async close(): Promise<void> {
    this.#closed = true;
    const nc = this.#nc ?? (await this.#connecting?.then(() => this.#nc).catch(() => undefined));
    this.#nc = undefined;
    if (nc && !nc.isClosed()) await nc.drain().catch(() => nc.close());
  }

  #client(): Promise<JetStreamClient> {
    if (this.#js && this.#nc && !this.#nc.isClosed()) return Promise.resolve(this.#js);
    this.#connecting ??= this.#connect().finally(() => (this.#connecting = undefined));
    return this.#connecting;
  }

  async #connect(): Promise<JetStreamClient> {
    const u = new URL(this.#config.url!);
    const user = decodeURIComponent(u.username);
    const pass = decodeURIComponent(u.password);
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers: `${u.hostname.includes(':') ? `[${u.hostname}]` : u.hostname}:${u.port || 4222}`,
        ...(user && pass ? { user, pass } : user ? { token: user } : {}),
        ...(u.protocol === 'tls:' ? { tls: {} } : {}),
        name: 'sfbridge',
        reconnect: true,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 500,
        timeout: 5_000,
      });
    } catch (err) {
      throw this.#error(err);
    }
    this.#nc = nc;
    this.#online();
    const offline = () => {
      this.#connected = false;
      this.#drop(new SinkError('SINK_UNAVAILABLE', this.label, 'disconnected from the NATS server; reconnecting'));
    };
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect') offline();
        else if (s.type === 'reconnect') this.#online();
      }
    })().catch(() => undefined);
    void nc.closed().then(offline);
    try {
      const jsm = await nc.jetstreamManager();
      this.stream = await this.#resolveStream(jsm);
      this.#js = nc.jetstream();
      return this.#js;
    } catch (err) {
      await nc.close().catch(() => undefined);
      this.#nc = undefined;
      throw err instanceof SinkError ? err : this.#error(err);
    }
  }

  #online(): void {
    this.#connected = true;
    this.#dropped = new Promise<never>((_, reject) => (this.#drop = reject));
    this.#dropped.catch(() => undefined);
  }

  async #resolveStream(jsm: Awaited<ReturnType<NatsConnection['jetstreamManager']>>): Promise<string> {
    let found: string | undefined;
    try {
      found = await jsm.streams.find(this.#subject);
    } catch (err) {
      if (!/no stream matches subject/i.test((err as Error).message)) throw err;
    }
    if (found) {
      if (this.#config.stream && found !== this.#config.stream) {
        throw new SinkError('SINK_MISCONFIGURED', this.label, `subject ${this.#subject} is captured by stream ${found}, not by the configured stream ${this.#config.stream}; set stream: ${found} or remove it`);
      }
      return found;
    }
    if (!this.#config.create) {
      throw new SinkError('SINK_MISCONFIGURED', this.label, `no JetStream stream captures subject ${this.#subject}; create one (nats stream add --subjects ${this.#subject}) or set create: true`);
    }
    const name = this.#config.stream ?? defaultStreamName(this.#subject);
    try {
      await jsm.streams.add({ name, subjects: [this.#subject], duplicate_window: nanos(NATS_DUPLICATE_WINDOW_MS) });
    } catch (err) {
      throw new SinkError('SINK_MISCONFIGURED', this.label, `could not create stream ${name} for subject ${this.#subject}: ${(err as Error).message}`, { cause: err });
    }
    return name;
  }

  #error(err: unknown): SinkError {
    if (err instanceof SinkError) return err;
    const e = err as NatsError;
    const code = String(e?.code ?? '');
    const msg = e?.message ?? String(err);
    if (code === 'AUTHORIZATION_VIOLATION' || code === 'AUTHENTICATION_EXPIRED') return new SinkError('SINK_AUTH', this.label, `NATS refused the credentials in the URL (${msg})`, { cause: err });
    if (code === 'PERMISSIONS_VIOLATION') return new SinkError('SINK_AUTH', this.label, `not allowed to publish to ${this.#subject} (${msg})`, { cause: err });
    if (code === 'TIMEOUT') return new SinkError('SINK_TIMEOUT', this.label, `no PubAck within ${NATS_ACK_TIMEOUT_MS} ms`, { cause: err });
    // 503 "no responders": JetStream not enabled, or the stream is being recovered after a restart.
    if (code === '503') return new SinkError('SINK_BUSY', this.label, 'JetStream did not answer (no responders: not enabled on this server, or the stream is still recovering)', { cause: err });
    const api = (e as { api_error?: { err_code?: number; description?: string } }).api_error;
    if (api) return new SinkError('SINK_REJECTED', this.label, `JetStream refused the message: ${api.description ?? msg} (${api.err_code})`, { cause: err });
    return new SinkError('SINK_UNAVAILABLE', this.label, `${msg}${code && !msg.includes(code) ? ` (${code})` : ''}`, { cause: err });
  }
}

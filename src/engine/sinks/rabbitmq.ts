/**
 * RabbitMQ sink on a confirm channel: a message counts as delivered when the broker confirms it (persistent
 * messages on a durable queue are confirmed once written to disk). Messages go to the queue `name` through
 * the default exchange (the queue is declared durable unless `create: false`), or to `exchange` with
 * `name` as routing key; `mandatory` makes an unroutable message an error instead of a silent drop.
 * AMQP has no broker-side dedupe: a redelivery carries the same `messageId` for consumers to drop.
 */
import amqp, { type ChannelModel, type ConfirmChannel, type Message } from 'amqplib';
import { sendInOrder } from './deliver.ts';
import { redactCredentials, type SinkConfig } from './config.ts';
import { SinkError, type DeliverOptions, type Sink, type SinkMessage } from './types.ts';

/** Unconfirmed publishes at once; one channel keeps them in order. */
export const RABBITMQ_PUBLISH_WINDOW = 512;
/** Connection (TCP + AMQP handshake) timeout. */
export const RABBITMQ_CONNECT_TIMEOUT_MS = 5_000;
/** Heartbeat: a broker that vanished without closing the socket is noticed within about two of these. */
export const RABBITMQ_HEARTBEAT_S = 10;

export class RabbitMqSink implements Sink {
  readonly kind = 'rabbitmq' as const;
  readonly label: string;
  readonly #config: SinkConfig;
  #conn: ChannelModel | undefined;
  #channel: ConfirmChannel | undefined;
  #opening: Promise<ConfirmChannel> | undefined;
  /** Why the channel or connection went away, for the next error message. */
  #lost: Error | undefined;
  #returned = new Set<string>();
  #closed = false;

  constructor(config: SinkConfig) {
    this.#config = config;
    this.label = `${redactCredentials(config.url!)} ${config.exchange ? `exchange ${config.exchange} key ` : 'queue '}${config.name}`;
  }

  async deliver(messages: readonly SinkMessage[], options: DeliverOptions = {}): Promise<void> {
    if (this.#closed) throw new SinkError('SINK_CLOSED', this.label, 'sink is closed');
    if (messages.length === 0) return;
    options.signal?.throwIfAborted();
    const ch = await this.#open();
    const exchange = this.#config.exchange ?? '';
    const routingKey = this.#config.name!;
    let onClose: (() => void) | undefined;
    const lost = new Promise<never>((_, reject) => {
      onClose = () => reject(this.#lostError());
      ch.once('close', onClose);
    });
    lost.catch(() => undefined);
    // An attempt that times out (a broker that stopped answering without closing the socket) drops the
    // connection, so the next attempt starts on a fresh one instead of waiting behind the stuck confirms.
    const onAbort = () => this.#reset();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await sendInOrder(
        messages,
        RABBITMQ_PUBLISH_WINDOW,
        (m) =>
          Promise.race([
            lost,
            new Promise<void>((resolve, reject) => {
              const content = Buffer.from(JSON.stringify(m.body));
              // The boolean is the write buffer's state; waiting for the confirm is the backpressure.
              ch.publish(
                exchange,
                routingKey,
                content,
                { persistent: true, mandatory: true, messageId: m.id, contentType: 'application/json', headers: { ...m.headers, 'sfbridge-key': m.key } },
                (err) => {
                  if (err) return reject(this.#closedOr(new SinkError('SINK_REJECTED', this.label, `broker refused message ${m.id} (nack)`, { retryable: true, cause: err })));
                  // A returned (unroutable) message is confirmed too: the return arrives first.
                  if (this.#returned.delete(m.id)) return reject(new SinkError('SINK_MISCONFIGURED', this.label, `message ${m.id} was unroutable: exchange ${JSON.stringify(exchange)} has no queue bound for key ${routingKey}; bind a queue or fix exchange/name`));
                  resolve();
                },
              );
            }),
          ]),
        options.signal,
      );
    } catch (err) {
      throw err instanceof SinkError ? err : this.#asError(err);
    } finally {
      if (onClose) ch.off('close', onClose);
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Forgets the connection (closing it in the background); the next delivery connects again. */
  #reset(): void {
    const conn = this.#conn;
    this.#conn = undefined;
    this.#channel = undefined;
    if (conn) void conn.close().catch(() => undefined);
  }

  /** A nack caused by the channel closing is an outage, not a refusal. */
  #closedOr(err: SinkError): SinkError {
    const cause = (err.cause as Error | undefined)?.message ?? '';
    return this.#channel && !/channel closed|connection closed/i.test(cause) ? err : this.#lostError();
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#opening?.catch(() => undefined);
    const conn = this.#conn;
    this.#conn = undefined;
    this.#channel = undefined;
    if (conn) await conn.close().catch(() => undefined);
  }

  #open(): Promise<ConfirmChannel> {
    if (this.#channel) return Promise.resolve(this.#channel);
    this.#opening ??= this.#connect().finally(() => (this.#opening = undefined));
    return this.#opening;
  }

  async #connect(): Promise<ConfirmChannel> {
    let conn: ChannelModel;
    try {
      const url = new URL(this.#config.url!);
      if (!url.searchParams.has('heartbeat')) url.searchParams.set('heartbeat', String(RABBITMQ_HEARTBEAT_S));
      conn = await amqp.connect(url.toString(), { timeout: RABBITMQ_CONNECT_TIMEOUT_MS });
    } catch (err) {
      throw this.#asError(err);
    }
    this.#lost = undefined;
    conn.on('error', (err: Error) => (this.#lost = err));
    conn.on('close', (err?: Error) => {
      this.#lost ??= err ?? new Error('connection closed');
      if (this.#conn === conn) {
        this.#conn = undefined;
        this.#channel = undefined;
      }
    });
    try {
      const ch = await conn.createConfirmChannel();
      ch.on('error', (err: Error) => (this.#lost = err));
      ch.on('close', () => {
        if (this.#channel === ch) this.#channel = undefined;
      });
      ch.on('return', (msg: Message) => {
        if (msg.properties.messageId) this.#returned.add(String(msg.properties.messageId));
      });
      if (this.#config.exchange) {
        await ch.checkExchange(this.#config.exchange).catch((err: unknown) => {
          throw new SinkError('SINK_MISCONFIGURED', this.label, `exchange ${this.#config.exchange} does not exist; declare it or remove exchange:`, { cause: err });
        });
      } else if (this.#config.create) {
        await ch.assertQueue(this.#config.name!, { durable: true }).catch((err: unknown) => {
          throw new SinkError('SINK_MISCONFIGURED', this.label, `could not declare durable queue ${this.#config.name}: ${(err as Error).message} (an existing queue with other settings? set create: false to publish to it as is)`, { cause: err });
        });
      } else {
        await ch.checkQueue(this.#config.name!).catch((err: unknown) => {
          throw new SinkError('SINK_MISCONFIGURED', this.label, `queue ${this.#config.name} does not exist; declare it or set create: true`, { cause: err });
        });
      }
      this.#conn = conn;
      this.#channel = ch;
      return ch;
    } catch (err) {
      await conn.close().catch(() => undefined);
      throw err instanceof SinkError ? err : this.#asError(err);
    }
  }

  #lostError(): SinkError {
    const why = this.#lost?.message ?? 'channel closed';
    // 4xx AMQP replies on a channel (e.g. 404 NOT_FOUND, 406 PRECONDITION_FAILED) are configuration errors.
    if (/\b(404|406|403)\b/.test(why)) return new SinkError('SINK_MISCONFIGURED', this.label, why, { cause: this.#lost });
    return new SinkError('SINK_UNAVAILABLE', this.label, `connection lost: ${why}`, { cause: this.#lost });
  }

  #asError(err: unknown): SinkError {
    const e = err as NodeJS.ErrnoException & { code?: string | number };
    const msg = redactCredentials(e?.message ?? String(err));
    if (/ACCESS_REFUSED|403/.test(msg)) return new SinkError('SINK_AUTH', this.label, `RabbitMQ refused the credentials in the URL (${msg})`, { cause: err });
    if (/timeout|ETIMEDOUT/i.test(msg)) return new SinkError('SINK_TIMEOUT', this.label, msg, { cause: err });
    return new SinkError('SINK_UNAVAILABLE', this.label, msg, { cause: err });
  }
}

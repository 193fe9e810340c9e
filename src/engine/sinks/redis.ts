/**
 * Redis Streams sink: `XADD name * id … key … body … headers …` per message. Redis has no broker-side
 * dedupe for streams, so the XADDs of a chunk run in one Lua script that also keeps the ids added within
 * `dedupe_window` (default 2 minutes, as JetStream's) in a sorted set next to the stream and skips an id it
 * has already added: a chunk whose reply was lost in an outage is retried without a second copy. The
 * script is atomic, so a chunk is either entirely in the stream or not at all, in order.
 */
import { Redis } from 'ioredis';
import { redactCredentials, type SinkConfig } from './config.ts';
import { SinkError, type DeliverOptions, type Sink, type SinkMessage } from './types.ts';

/** Messages per script call: one round trip each, short enough not to stall the server. */
export const REDIS_CHUNK = 500;
/** Default dedupe window. */
export const REDIS_DEDUPE_WINDOW_MS = 2 * 60_000;
/** Key of the id set kept next to the stream. */
export const redisIdSetKey = (stream: string): string => `${stream}:sfbridge-ids`;

const XADD_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local maxlen = tonumber(ARGV[2])
if window > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window) end
local added = 0
for i = 3, #ARGV, 4 do
  local id = ARGV[i]
  if window == 0 or not redis.call('ZSCORE', KEYS[2], id) then
    if maxlen > 0 then
      redis.call('XADD', KEYS[1], 'MAXLEN', '~', maxlen, '*', 'id', id, 'key', ARGV[i + 1], 'body', ARGV[i + 2], 'headers', ARGV[i + 3])
    else
      redis.call('XADD', KEYS[1], '*', 'id', id, 'key', ARGV[i + 1], 'body', ARGV[i + 2], 'headers', ARGV[i + 3])
    end
    if window > 0 then redis.call('ZADD', KEYS[2], now, id) end
    added = added + 1
  end
end
if window > 0 then redis.call('PEXPIRE', KEYS[2], window) end
return added
`;

type ScriptedRedis = Redis & { sfbridgeXadd(stream: string, ids: string, ...args: (string | number)[]): Promise<number> };

export class RedisSink implements Sink {
  readonly kind = 'redis' as const;
  readonly label: string;
  readonly #config: SinkConfig;
  readonly #redis: ScriptedRedis;
  #lastError: Error | undefined;
  #closed = false;
  /** Messages the last deliveries actually added (the rest were repeats inside the dedupe window). */
  added = 0;

  constructor(config: SinkConfig) {
    this.#config = config;
    this.label = `${redactCredentials(config.url!)} stream ${config.name}`;
    this.#redis = new Redis(config.url!, {
      lazyConnect: true,
      // Fail commands at once while disconnected: the caller's backoff retries the whole chunk.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 5_000,
      retryStrategy: (times: number) => Math.min(100 * times, 2_000),
    }) as ScriptedRedis;
    this.#redis.on('error', (err: Error) => (this.#lastError = err));
    this.#redis.defineCommand('sfbridgeXadd', { numberOfKeys: 2, lua: XADD_SCRIPT });
  }

  async deliver(messages: readonly SinkMessage[], options: DeliverOptions = {}): Promise<void> {
    if (this.#closed) throw new SinkError('SINK_CLOSED', this.label, 'sink is closed');
    if (messages.length === 0) return;
    await this.#ready(options.signal);
    const window = this.#config.dedupeWindowMs ?? REDIS_DEDUPE_WINDOW_MS;
    const stream = this.#config.name!;
    for (let i = 0; i < messages.length; i += REDIS_CHUNK) {
      options.signal?.throwIfAborted();
      const args: (string | number)[] = [window, this.#config.maxLen ?? 0];
      for (const m of messages.slice(i, i + REDIS_CHUNK)) args.push(m.id, m.key, JSON.stringify(m.body), JSON.stringify(m.headers ?? {}));
      try {
        this.added += await this.#redis.sfbridgeXadd(stream, redisIdSetKey(stream), ...args);
      } catch (err) {
        throw this.#asError(err);
      }
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#redis.status === 'ready') await this.#redis.quit().catch(() => this.#redis.disconnect());
    else this.#redis.disconnect();
  }

  async #ready(signal: AbortSignal | undefined): Promise<void> {
    signal?.throwIfAborted();
    const status = this.#redis.status;
    if (status === 'ready') return;
    if (status === 'wait' || status === 'end') {
      try {
        await this.#redis.connect();
        return;
      } catch (err) {
        throw this.#asError(err);
      }
    }
    throw new SinkError('SINK_UNAVAILABLE', this.label, `not connected (${status}${this.#lastError ? `: ${this.#lastError.message}` : ''})`, { cause: this.#lastError });
  }

  #asError(err: unknown): SinkError {
    const msg = redactCredentials((err as Error)?.message ?? String(err));
    // An in-flight command when the connection dropped (maxRetriesPerRequest: 0 fails it instead of queueing).
    if (/max retries per request/i.test(msg)) return new SinkError('SINK_UNAVAILABLE', this.label, `connection lost${this.#lastError ? ` (${redactCredentials(this.#lastError.message)})` : ''}`, { cause: err });
    if (/NOAUTH|WRONGPASS|NOPERM/.test(msg)) return new SinkError('SINK_AUTH', this.label, `Redis refused the credentials in the URL (${msg})`, { cause: err });
    if (/WRONGTYPE/.test(msg)) return new SinkError('SINK_MISCONFIGURED', this.label, `key ${this.#config.name} holds something other than a stream; choose another name`, { cause: err });
    if (/OOM|BUSY|LOADING|TRYAGAIN|MASTERDOWN/.test(msg)) return new SinkError('SINK_BUSY', this.label, msg, { cause: err });
    if (/^ERR|NOSCRIPT/.test(msg)) return new SinkError('SINK_REJECTED', this.label, msg, { cause: err });
    return new SinkError('SINK_UNAVAILABLE', this.label, msg, { cause: err });
  }
}

/**
 * HTTP webhook sink: batches of messages POSTed as `{"messages":[{id, key, headers, body}, …]}`, in order,
 * one request at a time. A 2xx means delivered; 408/425/429/5xx and network errors are retryable (a
 * `Retry-After` is honoured by the caller's backoff); other 4xx are refused for good with the endpoint's
 * answer. With a `secret` every request is signed like Stripe's webhooks, so the receiver can check origin
 * and freshness: `X-Sfbridge-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>` with
 * `X-Sfbridge-Timestamp: <unix seconds>`. `Idempotency-Key` is the same for a repeated batch.
 */
import { createHash, createHmac } from 'node:crypto';
import type { SinkConfig } from './config.ts';
import { SinkError, type DeliverOptions, type Sink, type SinkMessage } from './types.ts';
import { proxyFetch } from '../../client/proxy.ts';

/** Messages per POST unless `batch_size` says otherwise. */
export const WEBHOOK_BATCH_SIZE = 100;
/** Largest request body; a batch is split before it. */
export const WEBHOOK_MAX_BODY_BYTES = 1_000_000;
/** Statuses worth retrying. */
export const WEBHOOK_RETRY_STATUSES: readonly number[] = [408, 425, 429, 500, 502, 503, 504];

/** The signature header value for a body sent at `timestamp` (unix seconds). Receivers compute the same. */
export function webhookSignature(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export class WebhookSink implements Sink {
  readonly kind = 'webhook' as const;
  readonly label: string;
  readonly #config: SinkConfig;
  readonly #fetch: typeof fetch;
  #closed = false;
  /** Requests sent that got a 2xx. */
  requests = 0;

  constructor(config: SinkConfig, opts: { fetch?: typeof fetch } = {}) {
    this.#config = config;
    // Webhooks honour HTTPS_PROXY/HTTP_PROXY/NO_PROXY like every other HTTP call sfbridge makes.
    this.#fetch = opts.fetch ?? (proxyFetch() as typeof fetch | undefined) ?? fetch;
    const u = new URL(config.url!);
    this.label = `${u.origin}${u.pathname}`;
  }

  async deliver(messages: readonly SinkMessage[], options: DeliverOptions = {}): Promise<void> {
    if (this.#closed) throw new SinkError('SINK_CLOSED', this.label, 'sink is closed');
    for (const batch of this.#batches(messages)) {
      options.signal?.throwIfAborted();
      await this.#post(batch, options.signal);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  *#batches(messages: readonly SinkMessage[]): Generator<string[]> {
    const max = this.#config.batchSize ?? WEBHOOK_BATCH_SIZE;
    let batch: string[] = [];
    let bytes = 0;
    for (const m of messages) {
      const item = JSON.stringify({ id: m.id, key: m.key, headers: m.headers ?? {}, body: m.body });
      const size = Buffer.byteLength(item) + 1;
      if (batch.length && (batch.length >= max || bytes + size > WEBHOOK_MAX_BODY_BYTES)) {
        yield batch;
        batch = [];
        bytes = 0;
      }
      batch.push(item);
      bytes += size;
    }
    if (batch.length) yield batch;
  }

  async #post(items: string[], signal: AbortSignal | undefined): Promise<void> {
    const body = `{"messages":[${items.join(',')}]}`;
    const ids = items.map((i) => (JSON.parse(i) as { id: string }).id);
    const headers: Record<string, string> = {
      ...this.#config.headers,
      'content-type': 'application/json',
      'user-agent': 'sfbridge',
      'idempotency-key': createHash('sha256').update(ids.join('\n')).digest('hex'),
    };
    if (this.#config.secret) {
      const ts = Math.floor(Date.now() / 1000);
      headers['x-sfbridge-timestamp'] = String(ts);
      headers['x-sfbridge-signature'] = webhookSignature(this.#config.secret, ts, body);
    }
    let res: Response;
    try {
      res = await this.#fetch(this.#config.url!, { method: 'POST', headers, body, signal });
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new SinkError('SINK_UNAVAILABLE', this.label, `POST failed: ${cause?.code ?? cause?.message ?? (err as Error).message}`, { cause: err });
    }
    if (res.ok) {
      await res.body?.cancel().catch(() => undefined);
      this.requests++;
      return;
    }
    const text = (await res.text().catch(() => '')).slice(0, 300).trim();
    const answer = `HTTP ${res.status}${text ? `: ${text}` : ''}`;
    const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
    if (res.status === 429 || res.status === 503) throw new SinkError('SINK_BUSY', this.label, answer, { retryAfterMs });
    if (WEBHOOK_RETRY_STATUSES.includes(res.status) || res.status >= 500) throw new SinkError('SINK_UNAVAILABLE', this.label, answer, { retryAfterMs });
    if (res.status === 401 || res.status === 403) throw new SinkError('SINK_AUTH', this.label, `${answer} (check the headers or secret configured for this webhook)`);
    if (res.status === 404 || res.status === 405 || res.status === 410) throw new SinkError('SINK_MISCONFIGURED', this.label, `${answer} (check the webhook url)`);
    throw new SinkError('SINK_REJECTED', this.label, answer);
  }
}

/** `Retry-After` as seconds or an HTTP date, in milliseconds. */
function parseRetryAfter(v: string | null): number | undefined {
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const t = Date.parse(v);
  return Number.isFinite(t) ? Math.max(0, t - Date.now()) : undefined;
}

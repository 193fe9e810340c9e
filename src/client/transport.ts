/**
 * HTTP transport: one place that sends requests, times them out, retries what is safe to retry, and logs.
 *
 * Retry rules (why each exists):
 * - 429/503 and the error codes in `errorCodes` mean Salesforce did not execute the request, so any method
 *   may be replayed, including a POST create.
 * - 502/504, timeouts and sockets dropped after sending may hide an executed request: only idempotent
 *   methods are replayed, otherwise a create could run twice.
 * - Connection refused / DNS failures happen before anything was sent: always replayable.
 * Delays use exponential backoff with full jitter (`random() × min(max, base × 2^n)`) so many clients do not
 * retry in lockstep; `Retry-After` (seconds or HTTP date) wins when present, up to `retryAfterCapMs`.
 * A token-bucket {@link RetryBudget} bounds retries across all calls so a failing org is not hammered.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ERROR_CODES, TransportError, parseErrorBody } from './errors.ts';
import { redactHeaders, redactUrl, type Logger } from './log.ts';
import { NodeResponse, nodeFetch } from './http.ts';
import { proxyFetch } from './proxy.ts';

/** A fetch-compatible function (global fetch, undici, or an in-process emulator). */
export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** A request body that can be sent again on retry: bytes, a string, or a factory producing a fresh body. */
export type BodySource = string | Uint8Array | (() => string | Uint8Array | ReadableStream<Uint8Array>);

/** Which failures are retried and how long to wait. */
export interface RetryPolicy {
  /** Methods replayed after failures that may hide an executed request (timeouts, 502/504, mid-response drops). */
  methods: readonly string[];
  /** Statuses that are retried (for non-idempotent methods only those in {@link NON_EXECUTION_STATUSES}). */
  statuses: readonly number[];
  /** Salesforce `errorCode`s (in 400/403 bodies) that mean "not executed, try again". */
  errorCodes: readonly string[];
  /** Total attempts including the first. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Longest `Retry-After` we wait; longer ones fail fast with RETRY_AFTER_TOO_LONG. */
  retryAfterCapMs: number;
}

/** Defaults: 5 attempts, 200 ms base, 20 s max backoff, Retry-After honoured up to 60 s. */
export const DEFAULT_RETRY: RetryPolicy = Object.freeze({
  // PATCH is included because Salesforce PATCH (update, upsert) sets absolute field values: replaying converges.
  methods: Object.freeze(['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'DELETE']),
  statuses: Object.freeze([429, 502, 503, 504]),
  errorCodes: Object.freeze(['UNABLE_TO_LOCK_ROW', 'REQUEST_LIMIT_EXCEEDED', 'SERVER_UNAVAILABLE']),
  maxAttempts: 5,
  baseDelayMs: 200,
  maxDelayMs: 20_000,
  retryAfterCapMs: 60_000,
});

/** Statuses that guarantee Salesforce did not run the request, so even a POST may be replayed. */
export const NON_EXECUTION_STATUSES: readonly number[] = Object.freeze([429, 503]);

/** Network error codes raised before a byte of the request left: always safe to retry. */
export const BEFORE_SEND_ERROR_CODES: readonly string[] = Object.freeze([
  'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT',
]);

/** Default per-attempt timeout (2 minutes: Salesforce synchronous calls time out server-side at ~120 s). */
export const DEFAULT_TIMEOUT_MS = 120_000;

/**
 * Longest wait with no byte of a response body arriving while it is being read: a stalled body (a proxy that
 * holds the connection, a server that stopped mid-page) fails the attempt after this instead of hanging, and
 * is retried like a dropped connection. Waits for the response headers keep the per-attempt timeout, since a
 * Salesforce call may legitimately think for a long time before it answers.
 */
export const DEFAULT_PROGRESS_TIMEOUT_MS = 30_000;

/**
 * How long a request may wait for its response headers before sfbridge says it is still waiting (at warn
 * level, so the default log shows it): a server that accepts the connection and never answers is then
 * visible within seconds, while the attempt itself keeps the full per-attempt timeout.
 */
export const DEFAULT_WAIT_NOTICE_MS = 10_000;

/** Retry budget defaults: 20 retries in the bucket, refilled at one every 2 seconds. */
export const DEFAULT_RETRY_BUDGET = Object.freeze({ capacity: 20, refillPerSecond: 0.5 });

/**
 * Token bucket shared by all requests of a client (or of an org, when shared): each retry takes a token;
 * tokens refill over time. When empty, failures surface instead of being retried.
 */
export class RetryBudget {
  readonly capacity: number;
  readonly refillPerSecond: number;
  readonly #now: () => number;
  #tokens: number;
  #last: number;

  constructor(opts: { capacity?: number; refillPerSecond?: number; now?: () => number } = {}) {
    this.capacity = opts.capacity ?? DEFAULT_RETRY_BUDGET.capacity;
    this.refillPerSecond = opts.refillPerSecond ?? DEFAULT_RETRY_BUDGET.refillPerSecond;
    this.#now = opts.now ?? Date.now;
    this.#tokens = this.capacity;
    this.#last = this.#now();
  }

  /** Tokens currently available. */
  get available(): number {
    this.#refill();
    return this.#tokens;
  }

  /** Takes one token; false when the bucket is empty. */
  tryAcquire(): boolean {
    this.#refill();
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  #refill(): void {
    const now = this.#now();
    this.#tokens = Math.min(this.capacity, this.#tokens + ((now - this.#last) / 1000) * this.refillPerSecond);
    this.#last = now;
  }
}

/** One HTTP request as the transport sees it. */
export interface TransportRequest {
  method: string;
  /** Absolute URL. */
  url: string;
  headers?: Record<string, string>;
  body?: BodySource;
  signal?: AbortSignal;
  /** Per-attempt timeout; defaults to the transport's. */
  timeoutMs?: number;
  /** No-byte timeout while a body is read; defaults to the transport's ({@link DEFAULT_PROGRESS_TIMEOUT_MS}). */
  progressTimeoutMs?: number;
  /** Overrides the method-based idempotency decision (e.g. a POST query that is safe to replay). */
  idempotent?: boolean;
  /**
   * {@link Transport.stream} only: the timeout covers the wait for the response headers, not the body, which
   * is read at the consumer's pace (a prefetched query page may wait unread while the consumer works).
   */
  headersTimeoutOnly?: boolean;
}

/** A fully read response. */
export interface TransportResponse {
  status: number;
  headers: Headers;
  url: string;
  /** The body text (small JSON bodies; use {@link Transport.stream} for large or binary ones). */
  text: string;
  attempts: number;
}

export interface TransportOptions {
  /** An explicit fetch (an in-process emulator, a test double); it is used as it is, without a proxy. */
  fetch?: FetchLike;
  /**
   * An HTTP proxy for every request (`http://proxy.corp:3128`). Without one, `HTTPS_PROXY`/`HTTP_PROXY`
   * apply; `NO_PROXY` is honoured either way (see proxy.ts).
   */
  proxy?: string;
  retry?: Partial<RetryPolicy>;
  budget?: RetryBudget;
  timeoutMs?: number;
  /** See {@link DEFAULT_PROGRESS_TIMEOUT_MS}. */
  progressTimeoutMs?: number;
  /** See {@link DEFAULT_WAIT_NOTICE_MS}. */
  waitNoticeMs?: number;
  /** Called before each retry's wait (also logged at warn level), so a run shows its retries as they happen. */
  onRetry?: (e: RetryEvent) => void;
  logger?: Logger;
  /** Also log request headers (redacted) at debug level. */
  logHeaders?: boolean;
  /** Source of randomness for jitter (tests pass a constant). */
  random?: () => number;
}

/** One retry about to happen. */
export interface RetryEvent {
  method: string;
  /** Redacted path and query. */
  path: string;
  /** The attempt that failed (1-based) and the most there will be. */
  attempt: number;
  maxAttempts: number;
  /** What failed: `status 503`, `ECONNRESET`, `no data for 30000 ms`, … */
  reason: string;
  delayMs: number;
}

interface Attempt {
  res?: Response;
  text?: string;
  error?: unknown;
}

/** Sends requests with timeouts, retries and logging. */
export class Transport {
  readonly retry: RetryPolicy;
  readonly budget: RetryBudget;
  /**
   * Requests put on the wire so far: every attempt, retries and token calls included (the governor counts
   * admitted calls, which is what the org's allowance sees; this is what the network saw).
   */
  requests = 0;
  readonly #fetch: FetchLike;
  readonly #timeoutMs: number;
  readonly #progressMs: number;
  readonly #waitNoticeMs: number;
  readonly #onRetry: ((e: RetryEvent) => void) | undefined;
  readonly #logger: Logger | undefined;
  readonly #logHeaders: boolean;
  readonly #random: () => number;

  constructor(opts: TransportOptions = {}) {
    // Requests go over Node's own HTTP client (http.ts): it costs less CPU per byte than Node's fetch, and a
    // command that never builds a fetch Response never loads undici (~25 ms of start-up). An explicit fetch,
    // or fetch through a proxy's dispatcher (proxy.ts), is used as given.
    this.#fetch = opts.fetch ?? proxyFetch(opts.proxy) ?? nodeFetch;
    this.retry = { ...DEFAULT_RETRY, ...opts.retry };
    this.budget = opts.budget ?? new RetryBudget();
    this.#timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#progressMs = opts.progressTimeoutMs ?? DEFAULT_PROGRESS_TIMEOUT_MS;
    this.#waitNoticeMs = opts.waitNoticeMs ?? DEFAULT_WAIT_NOTICE_MS;
    this.#onRetry = opts.onRetry;
    this.#logger = opts.logger;
    this.#logHeaders = opts.logHeaders ?? false;
    this.#random = opts.random ?? Math.random;
  }

  /** Sends a request and reads its body as text, retrying as the policy allows. */
  async send(req: TransportRequest): Promise<TransportResponse> {
    const { res, text, attempts } = await this.#run(req, true);
    return { status: res.status, headers: res.headers, url: res.url || req.url, text: text ?? '', attempts };
  }

  /**
   * Sends a request and returns the streaming response. Error statuses (≥ 400) are read and retried like
   * {@link send}; a successful body is handed over unread, so failures while reading it are the caller's.
   */
  async stream(req: TransportRequest): Promise<Response> {
    const { res, text } = await this.#run(req, false);
    if (text !== undefined) return new Response(text, { status: res.status, headers: res.headers });
    // The consumer reads at its own pace (a prefetched page may wait unread): the no-byte clock runs only
    // while a read is waiting, so a stalled body errors the stream instead of hanging the reader.
    if (!res.body) return res;
    const body = watchProgress(res.body, req.progressTimeoutMs ?? this.#progressMs, `${req.method.toUpperCase()} ${redactUrl(pathOf(req.url))}`);
    // A response from node:http stays one (a real Response would load undici only to wrap it).
    if (res instanceof NodeResponse) return new NodeResponse(res, body) as unknown as Response;
    return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
  }

  async #run(req: TransportRequest, readBody: boolean): Promise<{ res: Response; text?: string; attempts: number }> {
    const method = req.method.toUpperCase();
    const idempotent = req.idempotent ?? this.retry.methods.includes(method);
    for (let attempt = 1; ; attempt++) {
      req.signal?.throwIfAborted();
      const started = performance.now();
      const outcome = await this.#attempt(req, method, readBody, attempt);
      this.#log(req, method, outcome, attempt, performance.now() - started);
      const decision = this.#decide(outcome, idempotent);
      if (!decision.retry) {
        if (outcome.res) return { res: outcome.res, text: outcome.text, attempts: attempt };
        throw this.#networkError(outcome.error, attempt, req);
      }
      if (attempt >= this.retry.maxAttempts) {
        if (outcome.res) return { res: outcome.res, text: outcome.text, attempts: attempt };
        throw this.#networkError(outcome.error, attempt, req);
      }
      const retryAfter = outcome.res ? parseRetryAfter(outcome.res.headers.get('retry-after')) : undefined;
      if (retryAfter !== undefined && retryAfter > this.retry.retryAfterCapMs) {
        throw new TransportError(
          ERROR_CODES.retryAfterTooLong,
          `${method} ${redactUrl(pathOf(req.url))}: Salesforce asked to wait ${Math.ceil(retryAfter / 1000)} s (Retry-After), more than the ${Math.ceil(this.retry.retryAfterCapMs / 1000)} s cap; retry later or raise retry.retryAfterCapMs`,
          { attempts: attempt, status: outcome.res?.status },
        );
      }
      if (!this.budget.tryAcquire()) {
        throw new TransportError(
          ERROR_CODES.retryBudget,
          `${method} ${redactUrl(pathOf(req.url))}: retry budget exhausted after ${attempt} attempt(s) (${describeOutcome(outcome)}); the org has been failing repeatedly, so sfbridge stopped retrying. Check the org's status (trust.salesforce.com) and try again later`,
          { attempts: attempt, status: outcome.res?.status, cause: outcome.error },
        );
      }
      const delayMs = retryAfter ?? this.backoff(attempt);
      const event: RetryEvent = { method, path: redactUrl(pathOf(req.url)), attempt, maxAttempts: this.retry.maxAttempts, reason: reasonOf(outcome), delayMs };
      this.#logger?.warn({ ...event }, `retrying ${method} ${event.path} in ${(delayMs / 1000).toFixed(1)} s (attempt ${attempt + 1} of ${this.retry.maxAttempts}): ${event.reason}`);
      this.#onRetry?.(event);
      await sleep(delayMs, undefined, { signal: req.signal }).catch((err: unknown) => {
        throw req.signal?.aborted ? req.signal.reason : err;
      });
    }
  }

  /** Full-jitter exponential backoff for the given (1-based) attempt number. */
  backoff(attempt: number): number {
    const ceiling = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1));
    return Math.floor(this.#random() * ceiling);
  }

  async #attempt(req: TransportRequest, method: string, readBody: boolean, attempt: number): Promise<Attempt> {
    const ms = req.timeoutMs ?? this.#timeoutMs;
    const notice =
      this.#logger && this.#waitNoticeMs < ms
        ? setTimeout(() => {
            const path = redactUrl(pathOf(req.url));
            this.#logger?.warn({ method, path, attempt, waitedMs: this.#waitNoticeMs, timeoutMs: ms }, `still waiting for ${method} ${path}: no response after ${span(this.#waitNoticeMs)} (attempt ${attempt} of ${this.retry.maxAttempts}; this attempt gives up after ${span(ms)})`);
          }, this.#waitNoticeMs)
        : undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let timeout: AbortSignal;
    if (req.headersTimeoutOnly && !readBody) {
      const controller = new AbortController();
      timer = setTimeout(() => controller.abort(new DOMException(`timed out after ${ms} ms waiting for the response headers`, 'TimeoutError')), ms);
      timeout = controller.signal;
    } else timeout = AbortSignal.timeout(ms);
    const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
    const body = materialize(req.body);
    const init: RequestInit & { duplex?: 'half' } = { method, headers: req.headers, body: body as BodyInit | undefined, signal };
    if (body instanceof ReadableStream) init.duplex = 'half';
    let res: Response;
    this.requests++;
    try {
      res = await this.#fetch(req.url, init);
    } catch (error) {
      if (req.signal?.aborted) throw req.signal.reason;
      return { error: { phase: 'send', error } };
    } finally {
      clearTimeout(timer);
      clearTimeout(notice);
    }
    // Error bodies are small: read them so UNABLE_TO_LOCK_ROW & co. can be recognised and retried.
    if (!readBody && res.status < 400) return { res };
    try {
      return { res, text: await readText(res, req.progressTimeoutMs ?? this.#progressMs) };
    } catch (error) {
      if (req.signal?.aborted) throw req.signal.reason;
      return { error: { phase: 'body', error, status: res.status } };
    }
  }

  #decide(outcome: Attempt, idempotent: boolean): { retry: boolean } {
    if (outcome.res) {
      const status = outcome.res.status;
      if (this.retry.statuses.includes(status)) return { retry: idempotent || NON_EXECUTION_STATUSES.includes(status) };
      if ((status === 400 || status === 403) && outcome.text) {
        const items = parseErrorBody(status, outcome.text);
        // A daily TotalRequests limit will not clear within a backoff: surface it (the client maps it to LimitError).
        const retryable = items.some((e) => this.retry.errorCodes.includes(e.errorCode) && !/^TotalRequests/i.test(e.message));
        return { retry: retryable };
      }
      return { retry: false };
    }
    const failure = outcome.error as { phase: 'send' | 'body'; error: unknown };
    if (failure.phase === 'send' && isBeforeSend(failure.error)) return { retry: true };
    return { retry: idempotent };
  }

  #networkError(err: unknown, attempts: number, req: TransportRequest): TransportError {
    const failure = err as { phase: 'send' | 'body'; error: unknown; status?: number };
    const inner = failure.error;
    const where = `${req.method.toUpperCase()} ${redactUrl(pathOf(req.url))}`;
    if (isTimeout(inner)) {
      const stall = /^no data for/.test((inner as Error).message);
      return new TransportError(ERROR_CODES.timeout, stall ? `${where}: ${(inner as Error).message} (attempt ${attempts}); the server or a proxy stopped sending` : `${where} timed out after ${req.timeoutMs ?? this.#timeoutMs} ms (attempt ${attempts}); raise the timeout or narrow the request`, { attempts, cause: inner });
    }
    const code = errorCodeOf(inner);
    const phase = failure.phase === 'body' ? 'while reading the response' : 'while sending';
    const unsafe = failure.phase === 'body' || !isBeforeSend(inner)
      ? this.retry.methods.includes(req.method.toUpperCase()) || req.idempotent ? '' : ' (not retried: the request may have reached Salesforce; check whether it took effect before sending it again)'
      : '';
    return new TransportError(ERROR_CODES.network, `${where} failed ${phase}: ${code ?? (inner as Error)?.message ?? String(inner)} after ${attempts} attempt(s)${unsafe}`, { attempts, status: failure.status, cause: inner });
  }

  #log(req: TransportRequest, method: string, outcome: Attempt, attempt: number, ms: number): void {
    if (!this.#logger) return;
    const usage = outcome.res?.headers.get('sforce-limit-info') ?? undefined;
    const entry: Record<string, unknown> = {
      method,
      path: redactUrl(pathOf(req.url)),
      status: outcome.res?.status ?? 0,
      ms: Math.round(ms),
      attempt,
    };
    if (usage) entry.apiUsage = usage.replace(/^api-usage=/, '');
    if (!outcome.res) entry.error = errorCodeOf((outcome.error as { error: unknown }).error) ?? 'network';
    this.#logger.info(entry, 'salesforce request');
    if (this.#logHeaders && req.headers) this.#logger.debug({ method, path: entry.path, headers: redactHeaders(req.headers) }, 'salesforce request headers');
  }
}

/** Parses Retry-After (delta seconds or an HTTP date) into milliseconds; undefined when absent or invalid. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

function materialize(body: BodySource | undefined): string | Uint8Array | ReadableStream<Uint8Array> | undefined {
  return typeof body === 'function' ? body() : body;
}

function pathOf(url: string): string {
  try {
    const u = new URL(url);
    return u.pathname + u.search;
  } catch {
    return url;
  }
}

/** The most specific error code in an error's cause chain (`ECONNRESET`, `UND_ERR_SOCKET`, …). */
function errorCodeOf(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string') return e.code;
  }
  return undefined;
}

function isBeforeSend(err: unknown): boolean {
  const code = errorCodeOf(err);
  return code !== undefined && BEFORE_SEND_ERROR_CODES.includes(code);
}

function isTimeout(err: unknown): boolean {
  return (err as Error)?.name === 'TimeoutError';
}

/** A failed attempt in a few words for a retry line. */
function reasonOf(o: Attempt): string {
  if (o.res) return `status ${o.res.status}`;
  const inner = (o.error as { error: unknown }).error;
  return errorCodeOf(inner) ?? (inner as Error)?.message ?? 'network failure';
}

/** `400 ms`, `10 s`. */
function span(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`;
}

/** A progress timeout: no byte arrived for `ms`. A TimeoutError, so it is reported and retried like one. */
function stalled(ms: number, what: string): DOMException {
  return new DOMException(`no data for ${ms} ms while reading the response of ${what}`, 'TimeoutError');
}

/** Reads a body as text, failing when no byte arrives for `ms`. */
async function readText(res: Response, ms: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    for (;;) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(stalled(ms, res.url ? redactUrl(pathOf(res.url)) : 'the request')), ms);
      });
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await Promise.race([reader.read(), timeout]);
      } finally {
        clearTimeout(timer);
      }
      if (chunk.done) break;
      text += decoder.decode(chunk.value, { stream: true });
    }
  } catch (err) {
    await reader.cancel(err).catch(() => undefined);
    throw err;
  }
  return text + decoder.decode();
}

/** A body that errors with a progress timeout when a read waits more than `ms` for its next chunk. */
function watchProgress(body: ReadableStream<Uint8Array>, ms: number, what: string): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(stalled(ms, what)), ms);
      });
      try {
        const chunk = await Promise.race([reader.read(), timeout]);
        if (chunk.done) controller.close();
        else controller.enqueue(chunk.value);
      } catch (err) {
        // Frees the socket of a stalled response; the reader sees the timeout as a dropped body.
        await reader.cancel(err).catch(() => undefined);
        controller.error(err);
      } finally {
        clearTimeout(timer);
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

function describeOutcome(o: Attempt): string {
  if (o.res) return `last status ${o.res.status}`;
  return `last error ${errorCodeOf((o.error as { error: unknown }).error) ?? 'network failure'}`;
}

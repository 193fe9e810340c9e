/**
 * Delivery that survives an outage: {@link deliverWithRetry} retries a batch on retryable sink errors with
 * full-jitter exponential backoff, reports the pause (and why) and the resume, and gives up only on a
 * permanent error, an abort, or a pause longer than `maxPauseMs` — always by throwing, so the caller's
 * cursor stays before the undelivered messages and the next run delivers them.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { SinkError, type Sink, type SinkMessage, type SinkObserver } from './types.ts';

/** Retry settings of {@link deliverWithRetry}. */
export interface SinkRetryOptions {
  /** First backoff step; doubles per failed attempt (full jitter: a random wait in [0, step]). */
  baseDelayMs?: number;
  /** Largest backoff step. */
  maxDelayMs?: number;
  /** Longest pause before the batch fails the run (the next run starts with it again). 0 = pause forever. */
  maxPauseMs?: number;
  /** Time one attempt may take before it counts as failed (`SINK_TIMEOUT`). */
  attemptTimeoutMs?: number;
}

/**
 * Named defaults. A broker restart takes seconds to a minute: steps up to 30 s keep a paused pipeline from
 * hammering it; ten minutes of pause then fails the run with the reason (a service's next cycle resumes).
 */
export const DEFAULT_SINK_RETRY: Required<SinkRetryOptions> = Object.freeze({ baseDelayMs: 500, maxDelayMs: 30_000, maxPauseMs: 10 * 60_000, attemptTimeoutMs: 30_000 });

/** Options of {@link deliverWithRetry}. */
export interface DeliverWithRetryOptions {
  signal?: AbortSignal;
  retry?: SinkRetryOptions;
  observer?: SinkObserver;
  /** Random source for jitter (tests). */
  random?: () => number;
}

/** What a delivery took. */
export interface DeliveryOutcome {
  attempts: number;
  /** Time spent paused (0 when the first attempt succeeded). */
  pausedMs: number;
}

/** Delivers `messages` through `sink`, pausing and retrying while the sink is out. */
export async function deliverWithRetry(sink: Sink, messages: readonly SinkMessage[], opts: DeliverWithRetryOptions = {}): Promise<DeliveryOutcome> {
  if (messages.length === 0) return { attempts: 0, pausedMs: 0 };
  const retry = { ...DEFAULT_SINK_RETRY, ...stripUndefined(opts.retry ?? {}) };
  const random = opts.random ?? Math.random;
  const signal = opts.signal;
  let pausedAt: number | undefined;
  for (let attempt = 1; ; attempt++) {
    signal?.throwIfAborted();
    try {
      await attemptOnce(sink, messages, retry.attemptTimeoutMs, signal);
      const pausedMs = pausedAt === undefined ? 0 : Date.now() - pausedAt;
      if (pausedAt !== undefined) opts.observer?.resumed?.({ sink: sink.label, kind: sink.kind, pausedMs, attempts: attempt, delivered: messages.length });
      return { attempts: attempt, pausedMs };
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      const e = asSinkError(sink, err);
      if (!e.retryable) throw e;
      pausedAt ??= Date.now();
      const paused = Date.now() - pausedAt;
      if (retry.maxPauseMs > 0 && paused >= retry.maxPauseMs) {
        throw new SinkError(e.code, sink.label, `still failing after a ${Math.round(paused / 1000)} s pause (${attempt} attempts): ${stripLabel(sink, e.message)}; nothing was skipped, the next run delivers these ${messages.length} messages first`, { retryable: true, cause: e });
      }
      const step = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** Math.min(attempt - 1, 30));
      let wait = Math.round(random() * step);
      if (e.retryAfterMs !== undefined) wait = Math.max(wait, Math.min(e.retryAfterMs, retry.maxDelayMs));
      if (retry.maxPauseMs > 0) wait = Math.min(wait, Math.max(0, retry.maxPauseMs - paused));
      opts.observer?.paused?.({ sink: sink.label, kind: sink.kind, code: e.code, reason: stripLabel(sink, e.message), attempt, retryInMs: wait, pending: messages.length });
      await sleep(wait, undefined, { signal });
    }
  }
}

/** One attempt bounded by the attempt timeout; the sink sees the abort and stops its own I/O. */
async function attemptOnce(sink: Sink, messages: readonly SinkMessage[], timeoutMs: number, signal: AbortSignal | undefined): Promise<void> {
  const timer = new AbortController();
  const handle = setTimeout(() => timer.abort(new SinkError('SINK_TIMEOUT', sink.label, `no acknowledgement within ${timeoutMs} ms`)), timeoutMs);
  const attemptSignal = signal ? AbortSignal.any([signal, timer.signal]) : timer.signal;
  try {
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(attemptSignal.reason);
      attemptSignal.addEventListener('abort', onAbort, { once: true });
      sink.deliver(messages, { signal: attemptSignal }).then(resolve, reject).finally(() => attemptSignal.removeEventListener('abort', onAbort));
    });
  } finally {
    clearTimeout(handle);
  }
}

function asSinkError(sink: Sink, err: unknown): SinkError {
  if (err instanceof SinkError) return err;
  // Anything else is a bug or a bad message, which retrying cannot fix.
  return new SinkError('SINK_REJECTED', sink.label, (err as Error)?.message ?? String(err), { retryable: false, cause: err });
}

function stripLabel(sink: Sink, message: string): string {
  return message.startsWith(`${sink.label}: `) ? message.slice(sink.label.length + 2) : message;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Sends messages with up to `window` in flight, never two with the same key at once (so a retry of the
 * first cannot land after the second), in the given order. On the first failure no further message is
 * sent; the in-flight ones settle and the first error is thrown.
 */
export async function sendInOrder(messages: readonly SinkMessage[], window: number, send: (message: SinkMessage) => Promise<void>, signal?: AbortSignal): Promise<void> {
  const inflight = new Map<string, Promise<void>>();
  const all = new Set<Promise<void>>();
  let failure: { err: unknown } | undefined;
  for (const m of messages) {
    if (failure) break;
    signal?.throwIfAborted();
    const sameKey = inflight.get(m.key);
    if (sameKey) await sameKey.catch(() => undefined);
    while (all.size >= window && !failure) await Promise.race(all).catch(() => undefined);
    if (failure) break;
    const p: Promise<void> = send(m).then(
      () => undefined,
      (err: unknown) => {
        failure ??= { err };
      },
    );
    const tracked = p.finally(() => {
      all.delete(tracked);
      if (inflight.get(m.key) === tracked) inflight.delete(m.key);
    });
    all.add(tracked);
    inflight.set(m.key, tracked);
  }
  await Promise.all(all);
  if (failure) throw failure.err;
}

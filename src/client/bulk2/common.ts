/**
 * Shared pieces of the Bulk API 2.0 client (reference §5): constants, the typed error, job events, adaptive
 * polling and an authenticated streaming GET for CSV bodies (the JSON `Connection.request` reads bodies whole).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Connection } from '../connection.ts';
import { DEFAULT_CALL_OPTIONS, MAX_REFRESHES_PER_REQUEST } from '../connection.ts';
import { ERROR_CODES, SalesforceError, SfClientError, parseErrorBody } from '../errors.ts';

/** First wait between two job-info polls when nothing tells how long the job will take. */
export const BULK_POLL_INITIAL_MS = 250;
/** Without a progress signal each poll waits this factor longer than the previous one… */
export const BULK_POLL_BACKOFF = 1.5;
/** …up to this cap (simple-salesforce caps at 2 s; we go higher because a long job needs no finer reading). */
export const BULK_POLL_MAX_MS = 10_000;
/** Shortest wait before a poll planned from an estimate (an estimate saying "any moment now"). */
export const BULK_POLL_MIN_MS = 250;
/**
 * Longest wait before a poll planned from an estimate. Longer than {@link BULK_POLL_MAX_MS} because an
 * estimate from measured progress is worth trusting further than blind back-off; short enough that a job that
 * speeds up (Salesforce runs a job's internal batches in parallel) is not noticed minutes late.
 */
export const BULK_POLL_ESTIMATE_MAX_MS = 30_000;
/**
 * Rows per second assumed for a fresh ingest job before any progress is seen. Deliberately on the fast side
 * (Salesforce does a few thousand rows/s for simple objects; the emulator 5,000–20,000), so the first poll
 * lands at or before the job's end: early, it reads the real rate and the next poll is planned from it (two
 * polls); late, the wait would add latency for nothing. A job that ends before the first poll costs one.
 */
export const BULK_INGEST_ASSUMED_ROWS_PER_SEC = 20_000;
/** A planned poll sleeps this much past the estimated finish, so it lands just after the job ends, not just before. */
export const BULK_POLL_ESTIMATE_MARGIN = 1.1;
/**
 * A first poll planned from a learned rate (`rowsPerSec`) allows this for job timestamps that Salesforce gives
 * to the second (a measured duration can be a second off either way): `learnedFirstPoll: 'after-end'` (the
 * default) adds it to the estimate ×{@link BULK_LEARNED_AFTER_END_MARGIN}, so a job as fast as before costs one
 * poll; `'before-end'` aims at least this much before the estimated end (see {@link BULK_LEARNED_FIRST_POLL_AIM}).
 */
export const BULK_LEARNED_RATE_SLACK_MS = 1000;
/**
 * `learnedFirstPoll: 'after-end'` waits this multiple of the learned duration (plus
 * {@link BULK_LEARNED_RATE_SLACK_MS}): the same job's time varies from run to run (org load, queueing; the
 * emulator's 100,000-row jobs took 2.8–6.7 s on one shared machine), and this mode spends latency to save a
 * call. With ×1.1 a job 10% slower than the slowest recent one cost a second poll (measured: 2.8 s learned,
 * 4.3 s actual); ×1.5 absorbs that for ~half a job's time of extra latency.
 */
export const BULK_LEARNED_AFTER_END_MARGIN = 1.5;
/**
 * With `learnedFirstPoll: 'before-end'` the first poll comes at most at this fraction of the estimated end (and
 * a second before it): it reads the job's real progress, and the second poll, planned from that, lands just
 * after the end. Two polls instead of one, for latency: aimed after the end, the first poll saw 100,000-row
 * emulator jobs end 1.7–2.3 s late; aimed before, 0.01–0.4 s (docs/BENCHMARKS.md, "Bulk API 2.0").
 */
export const BULK_LEARNED_FIRST_POLL_AIM = 0.9;

/** Where a first poll planned from a learned rate aims: just after the estimated end (fewest calls) or just before (least latency). */
export type LearnedFirstPoll = 'after-end' | 'before-end';
/**
 * Longest wait before a first poll planned from a learned rate. Longer than {@link BULK_POLL_ESTIMATE_MAX_MS}:
 * a rate measured on this org's own jobs is worth trusting further than a guess, and capping a long job's
 * first poll short of its known end would only buy a second poll.
 */
export const BULK_POLL_LEARNED_MAX_MS = 5 * 60_000;

/** Stable codes of {@link BulkError}. */
export const BULK_ERROR_CODES = {
  /** The job ended in `Failed` (bad header, unknown field, retries exhausted); see `errorMessage`. */
  jobFailed: ERROR_CODES.bulkJobFailed,
  /** The job was aborted (by someone else, or by the `signal`). */
  jobAborted: ERROR_CODES.bulkJobAborted,
  /** The `wait` option elapsed before the job reached a final state; the job keeps running server-side. */
  waitExceeded: ERROR_CODES.bulkWaitExceeded,
  /** A results page held a different number of records than its `Sforce-NumberOfRecords` header. */
  pageCount: ERROR_CODES.bulkPageCount,
  /** Input the client refuses before sending anything (unknown column, bad option). */
  invalidInput: ERROR_CODES.bulkInvalidInput,
} as const;

export type BulkErrorCode = (typeof BULK_ERROR_CODES)[keyof typeof BULK_ERROR_CODES];

/** A Bulk 2.0 failure. `jobIds` lists every job involved so the caller can inspect or resume them. */
export class BulkError extends SfClientError {
  readonly jobIds: string[];
  /** Final job state when the error is about a job (`Failed`, `Aborted`, `InProgress` …). */
  readonly state: string | undefined;
  constructor(code: BulkErrorCode, message: string, opts: { jobIds?: string[]; state?: string; cause?: unknown } = {}) {
    super(code, message, { cause: opts.cause });
    this.jobIds = opts.jobIds ?? [];
    this.state = opts.state;
  }
}

/** Progress of bulk work, for logs, progress bars and resume bookkeeping. Job ids are always reported here. */
export type BulkEvent =
  /** Ingest jobs carry the input positions they hold: records `start` … `start + rows - 1` of the input. */
  | { type: 'job-created'; kind: 'query' | 'ingest'; jobId: string; object?: string; operation: string; start?: number; rows?: number }
  /** Right before an ingest job is created: a caller that records it can find the job if it dies before `job-created`. */
  | { type: 'job-creating'; kind: 'ingest'; object: string; operation: string; start: number; rows: number }
  | { type: 'job-uploaded'; jobId: string; rows: number; bytes: number }
  | { type: 'job-polled'; kind: 'query' | 'ingest'; jobId: string; state: string; numberRecordsProcessed: number; numberRecordsFailed: number; nextPollMs: number }
  /** `createdDate`/`systemModstamp`: the job's own timestamps (server clock; the latter is when it ended). */
  | { type: 'job-finished'; kind: 'query' | 'ingest'; jobId: string; state: string; numberRecordsProcessed: number; numberRecordsFailed: number; createdDate?: string; systemModstamp?: string }
  | { type: 'page'; jobId: string; locator: string | null; records: number; nextLocator: string | null }
  | { type: 'results'; jobId: string; successful: number; failed: number; unprocessed: number };

/** Job info as returned by `GET /jobs/{ingest|query}/{id}` (fields used here; Salesforce sends more). */
export interface BulkJobInfo {
  id: string;
  operation: string;
  object: string;
  state: string;
  externalIdFieldName?: string;
  columnDelimiter?: string;
  lineEnding?: string;
  apiVersion?: number;
  numberRecordsProcessed?: number;
  numberRecordsFailed?: number;
  errorMessage?: string;
  [key: string]: unknown;
}

export const FINAL_JOB_STATES: readonly string[] = Object.freeze(['JobComplete', 'Failed', 'Aborted']);

/** `columnDelimiter` names and their characters (§5.1). */
export const DELIMITER_CHARS: Record<string, string> = { BACKQUOTE: '`', CARET: '^', COMMA: ',', PIPE: '|', SEMICOLON: ';', TAB: '\t' };

export interface PollOptions {
  signal?: AbortSignal;
  /**
   * First interval of the back-off (default {@link BULK_POLL_INITIAL_MS}; grows by {@link BULK_POLL_BACKOFF} up
   * to {@link BULK_POLL_MAX_MS}, or this if larger); when given, also the floor of estimated waits (tests).
   */
  pollIntervalMs?: number;
  /** Give up waiting after this many ms (the job keeps running). Default: wait as long as it takes. */
  wait?: number;
  /**
   * Rows the job has to process (ingest: the uploaded row count; query: an estimate of its result size). Lets
   * later polls be planned from the measured rate, and an ingest job's first poll from
   * {@link BULK_INGEST_ASSUMED_ROWS_PER_SEC}; a query job is polled at once first (it may have run for a
   * while already, created ahead of being read).
   */
  expectedRecords?: number;
  /**
   * Rows per second jobs like this one ran at before (rows over the time from close to `JobComplete`), learned
   * from earlier jobs by `client.bulk`. Plans the first poll instead of {@link BULK_INGEST_ASSUMED_ROWS_PER_SEC},
   * aimed as `learnedFirstPoll` says.
   */
  rowsPerSec?: number;
  /** See {@link LearnedFirstPoll}; default `'after-end'`. */
  learnedFirstPoll?: LearnedFirstPoll;
  onEvent?: (e: BulkEvent) => void;
  /** Time source (tests). */
  now?: () => number;
  /** Sleep (tests with a virtual clock). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** What the poller knows about a job when planning the next poll. */
export interface PollState {
  /** ms since waiting started, at the last poll (0 before the first). */
  elapsed: number;
  /** `numberRecordsProcessed` at the last poll. */
  processed: number;
  /** The poll before the last one (waiting started counts as one at 0 ms, 0 rows); absent before the first poll. */
  previous?: { elapsed: number; processed: number };
  /** Rows the job has in all, if known. */
  expected?: number;
  /** Back-off interval to use when there is no progress signal. */
  backoff: number;
  /** Floor of estimated waits. */
  floor: number;
  /** Learned rows/s for the first poll (see {@link PollOptions.rowsPerSec}). */
  rowsPerSec?: number;
  /** Where that first poll aims (default `'after-end'`). */
  learnedFirstPoll?: LearnedFirstPoll;
}

/**
 * Plans the wait before the next poll. With the job's size known: before the first poll, just after or just
 * before the finish estimated from the learned rate (`rowsPerSec`, `learnedFirstPoll`) or else the finish
 * estimated from {@link BULK_INGEST_ASSUMED_ROWS_PER_SEC}; after a poll that saw progress, the finish extrapolated from
 * the rate since the poll before (which for the first poll includes queue time, so it under-rates the job and
 * the next poll errs late rather than early); these two ×{@link BULK_POLL_ESTIMATE_MARGIN}; each clamped to
 * [floor, {@link BULK_POLL_ESTIMATE_MAX_MS}]. With no size or no progress since the last poll (queued,
 * stalled, or progress reported in steps), the back-off interval.
 */
export function planNextPoll(s: PollState): { ms: number; estimated: boolean } {
  // Back-off grows with the time already waited too (×(BACKOFF−1)), so a job found still queued after a long
  // estimated wait is not then polled every 250 ms; for plain back-off this is the interval itself.
  const backoff = { ms: Math.min(Math.max(BULK_POLL_MAX_MS, s.backoff), Math.max(s.backoff, Math.round(s.elapsed * (BULK_POLL_BACKOFF - 1)))), estimated: false };
  if (s.expected === undefined || s.expected <= 0) return backoff;
  let rowsPerMs: number;
  if (!s.previous && s.rowsPerSec !== undefined && s.rowsPerSec > 0) {
    const end = s.expected / (s.rowsPerSec / 1000);
    const ms = s.learnedFirstPoll === 'before-end' ? Math.min(end * BULK_LEARNED_FIRST_POLL_AIM, end - BULK_LEARNED_RATE_SLACK_MS) : end * BULK_LEARNED_AFTER_END_MARGIN + BULK_LEARNED_RATE_SLACK_MS;
    return { ms: Math.round(Math.min(BULK_POLL_LEARNED_MAX_MS, Math.max(s.floor, ms))), estimated: true };
  }
  if (!s.previous) rowsPerMs = BULK_INGEST_ASSUMED_ROWS_PER_SEC / 1000;
  else if (s.processed > s.previous.processed && s.elapsed > s.previous.elapsed) rowsPerMs = (s.processed - s.previous.processed) / (s.elapsed - s.previous.elapsed);
  else return backoff;
  const ms = (Math.max(0, s.expected - s.processed) / rowsPerMs) * BULK_POLL_ESTIMATE_MARGIN;
  return { ms: Math.round(Math.min(BULK_POLL_ESTIMATE_MAX_MS, Math.max(s.floor, ms))), estimated: true };
}

/**
 * Polls a job until it reaches a final state and returns its info (whatever the state: callers decide what
 * `Failed`/`Aborted` mean for them). It never stops before the job is final (unless `wait` is set). With
 * `expectedRecords` each wait runs to the finish estimated from the job's own progress ({@link planNextPoll}),
 * so a job that ends as estimated costs one or two polls; without a progress signal intervals start small and
 * back off, so a 1-second job costs a few calls and a 2-hour job one call per {@link BULK_POLL_MAX_MS}.
 */
export async function waitForJob(conn: Connection, kind: 'query' | 'ingest', jobId: string, opts: PollOptions = {}): Promise<BulkJobInfo> {
  const now = opts.now ?? Date.now;
  const pause = opts.sleep ?? ((ms: number, signal?: AbortSignal) => sleep(ms, undefined, { signal }));
  const started = now();
  const floor = Math.max(1, opts.pollIntervalMs ?? BULK_POLL_MIN_MS);
  let backoff = Math.max(1, opts.pollIntervalMs ?? BULK_POLL_INITIAL_MS);
  const cap = Math.max(BULK_POLL_MAX_MS, backoff);
  let state: PollState = { elapsed: 0, processed: 0, expected: opts.expectedRecords, backoff, floor, rowsPerSec: opts.rowsPerSec, learnedFirstPoll: opts.learnedFirstPoll };
  // Without a size the first poll goes at once, and for a query job always (its info is worth reading
  // straight away, and a job created ahead of being read may be complete already).
  let next = state.expected && kind === 'ingest' ? planNextPoll(state) : { ms: 0, estimated: false };
  for (;;) {
    if (next.ms > 0) {
      const ms = opts.wait === undefined ? next.ms : Math.max(0, Math.min(next.ms, opts.wait - (now() - started)));
      await pause(ms, opts.signal);
    }
    const info = await conn.request<BulkJobInfo>(`jobs/${kind}/${jobId}`, { signal: opts.signal });
    const processed = Number(info.numberRecordsProcessed ?? 0);
    const failed = Number(info.numberRecordsFailed ?? 0);
    if (FINAL_JOB_STATES.includes(info.state)) {
      opts.onEvent?.({ type: 'job-finished', kind, jobId, state: info.state, numberRecordsProcessed: processed, numberRecordsFailed: failed, createdDate: info.createdDate as string | undefined, systemModstamp: info.systemModstamp as string | undefined });
      return info;
    }
    const elapsed = now() - started;
    if (next.ms > 0 && !next.estimated) backoff = Math.min(cap, Math.ceil(backoff * BULK_POLL_BACKOFF));
    state = { elapsed: Math.max(elapsed, state.elapsed + 1), processed, previous: { elapsed: state.elapsed, processed: state.processed }, expected: opts.expectedRecords, backoff, floor };
    next = planNextPoll(state);
    opts.onEvent?.({ type: 'job-polled', kind, jobId, state: info.state, numberRecordsProcessed: processed, numberRecordsFailed: failed, nextPollMs: next.ms });
    if (opts.wait !== undefined && elapsed >= opts.wait) {
      throw new BulkError(BULK_ERROR_CODES.waitExceeded, `bulk ${kind} job ${jobId} is still ${info.state} after waiting ${Math.round(elapsed / 1000)} s (wait limit ${Math.round(opts.wait / 1000)} s); it keeps running in Salesforce: ${kind === 'ingest' ? `check it with \`sfbridge bulk status ${jobId}\` or re-attach with \`sfbridge bulk resume ${jobId}\`` : `continue with bulk.query(soql, { resume: { jobId: '${jobId}' } })`}`, { jobIds: [jobId], state: info.state });
    }
  }
}

/**
 * An authenticated GET whose successful body is returned unread (CSV result files can be gigabytes). Error
 * statuses are read and thrown as {@link SalesforceError}; a 401 refreshes the session once like `request()`.
 * The governor slot is held only until the headers arrive: the body is read at the consumer's pace.
 */
export async function streamGet(conn: Connection, path: string, opts: { query?: Record<string, string | number | undefined>; signal?: AbortSignal } = {}): Promise<Response> {
  const release = conn.governor ? await conn.governor.admit({ long: true, signal: opts.signal }) : undefined;
  try {
    let session = await conn.session(opts.signal);
    for (let refreshes = 0; ; refreshes++) {
      const url = new URL(`${session.instanceUrl}${conn.dataPath}/${path.replace(/^\/+/, '')}`);
      for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
      const res = await conn.transport.stream({
        method: 'GET',
        url: url.toString(),
        headers: { accept: 'text/csv', 'sforce-call-options': DEFAULT_CALL_OPTIONS, authorization: `Bearer ${session.accessToken}` },
        signal: opts.signal,
      });
      conn.governor?.observe(res.headers.get('sforce-limit-info'));
      if (res.status === 401 && refreshes < MAX_REFRESHES_PER_REQUEST) {
        await res.body?.cancel().catch(() => undefined);
        session = await conn.auth.refresh(session, opts.signal);
        continue;
      }
      if (res.status >= 300) {
        const text = await res.text().catch(() => '');
        throw new SalesforceError(res.status, parseErrorBody(res.status, text));
      }
      return res;
    }
  } finally {
    release?.();
  }
}

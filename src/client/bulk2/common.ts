/**
 * Shared pieces of the Bulk API 2.0 client (reference §5): constants, the typed error, job events, adaptive
 * polling and an authenticated streaming GET for CSV bodies (the JSON `Connection.request` reads bodies whole).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Connection } from '../connection.ts';
import { DEFAULT_CALL_OPTIONS, MAX_REFRESHES_PER_REQUEST } from '../connection.ts';
import { ERROR_CODES, SalesforceError, SfClientError, parseErrorBody } from '../errors.ts';

/** First wait between two job-info polls. Small so short jobs finish fast. */
export const BULK_POLL_INITIAL_MS = 250;
/** Each poll waits this factor longer than the previous one… */
export const BULK_POLL_BACKOFF = 1.5;
/** …up to this cap (simple-salesforce caps at 2 s; we go higher because a long job needs no finer reading). */
export const BULK_POLL_MAX_MS = 10_000;

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
  | { type: 'job-created'; kind: 'query' | 'ingest'; jobId: string; object?: string; operation: string }
  | { type: 'job-uploaded'; jobId: string; rows: number; bytes: number }
  | { type: 'job-polled'; kind: 'query' | 'ingest'; jobId: string; state: string; numberRecordsProcessed: number; numberRecordsFailed: number; nextPollMs: number }
  | { type: 'job-finished'; kind: 'query' | 'ingest'; jobId: string; state: string; numberRecordsProcessed: number; numberRecordsFailed: number }
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
  /** First interval; grows by {@link BULK_POLL_BACKOFF} up to {@link BULK_POLL_MAX_MS} (or this, if larger). */
  pollIntervalMs?: number;
  /** Give up waiting after this many ms (the job keeps running). Default: wait as long as it takes. */
  wait?: number;
  onEvent?: (e: BulkEvent) => void;
  /** Time source (tests). */
  now?: () => number;
}

/**
 * Polls a job until it reaches a final state and returns its info (whatever the state: callers decide what
 * `Failed`/`Aborted` mean for them). Intervals start small and back off, so a 1-second job costs a few calls
 * and a 2-hour job costs one call per {@link BULK_POLL_MAX_MS}.
 */
export async function waitForJob(conn: Connection, kind: 'query' | 'ingest', jobId: string, opts: PollOptions = {}): Promise<BulkJobInfo> {
  const now = opts.now ?? Date.now;
  const started = now();
  let interval = Math.max(1, opts.pollIntervalMs ?? BULK_POLL_INITIAL_MS);
  const cap = Math.max(BULK_POLL_MAX_MS, interval);
  for (;;) {
    const info = await conn.request<BulkJobInfo>(`jobs/${kind}/${jobId}`, { signal: opts.signal });
    const processed = Number(info.numberRecordsProcessed ?? 0);
    const failed = Number(info.numberRecordsFailed ?? 0);
    if (FINAL_JOB_STATES.includes(info.state)) {
      opts.onEvent?.({ type: 'job-finished', kind, jobId, state: info.state, numberRecordsProcessed: processed, numberRecordsFailed: failed });
      return info;
    }
    opts.onEvent?.({ type: 'job-polled', kind, jobId, state: info.state, numberRecordsProcessed: processed, numberRecordsFailed: failed, nextPollMs: interval });
    if (opts.wait !== undefined && now() - started + interval > opts.wait) {
      throw new BulkError(BULK_ERROR_CODES.waitExceeded, `bulk ${kind} job ${jobId} is still ${info.state} after waiting ${Math.round((now() - started) / 1000)} s (wait limit ${Math.round(opts.wait / 1000)} s); it keeps running in Salesforce: check it with \`sfbridge bulk status ${jobId}\` or re-attach with \`sfbridge bulk resume ${jobId}\``, { jobIds: [jobId], state: info.state });
    }
    await sleep(interval, undefined, { signal: opts.signal });
    interval = Math.min(cap, Math.ceil(interval * BULK_POLL_BACKOFF));
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

/**
 * Bulk API 2.0 client (reference §5): streaming queries with resume, and ingest with jobs split by size,
 * results joined back to the input rows. Use it as `client.bulk` or as functions over a bare Connection.
 *
 * @example
 * for await (const row of sf.bulk.query('SELECT Id, Name FROM Account')) console.log(row.Id, row.Name);
 */
import type { Connection } from './connection.ts';
import { BulkQueryResult, type BulkQueryOptions } from './bulk2/query.ts';
import { bulkIngest, ingestJobInfo, ingestResultFile, type BulkIngestOptions, type BulkOperation, type BulkRecordResult, type DescribeFn } from './bulk2/ingest.ts';
import { waitForJob, type BulkEvent, type BulkJobInfo, type PollOptions } from './bulk2/common.ts';
import { describe as describeObject, MemoryDescribeCache, type DescribeCache } from './describe.ts';
import { parseSfDate } from './datetime.ts';
import { MemoryKeyValueStore, type KeyValueStore } from './kv.ts';

export { BulkQueryResult, bulkQuery, type BulkQueryOptions } from './bulk2/query.ts';
export { csvRowBatches } from './bulk2/csv-rows.ts';
export { bulkIngest, ingestCells, ingestJobInfo, removeOrphanSpools, ingestResultFile, BULK_OPERATIONS, DEFAULT_INGEST_CONCURRENCY, DEFAULT_MAX_BYTES_PER_JOB, DEFAULT_MAX_ROWS_PER_JOB, type BulkIngestOptions, type BulkOperation, type BulkRecordResult, type DescribeFn } from './bulk2/ingest.ts';
export { BULK_ERROR_CODES, BULK_INGEST_ASSUMED_ROWS_PER_SEC, BULK_LEARNED_AFTER_END_MARGIN, BULK_LEARNED_RATE_SLACK_MS, BULK_POLL_LEARNED_MAX_MS, BULK_POLL_BACKOFF, BULK_POLL_ESTIMATE_MARGIN, BULK_POLL_ESTIMATE_MAX_MS, BULK_POLL_INITIAL_MS, BULK_POLL_MAX_MS, BULK_POLL_MIN_MS, BulkError, FINAL_JOB_STATES, planNextPoll, streamGet, waitForJob, type BulkErrorCode, type BulkEvent, type BulkJobInfo, type PollOptions, type PollState } from './bulk2/common.ts';

/**
 * How long `client.bulk` reuses an object's describe for ingest column checks without asking again. The
 * describe cache revalidates on every use unless told otherwise (`freshForMs`); a
 * publisher sending retry rounds or many small loads would pay that call per load. A field added in the org
 * meanwhile is only seen after this long (a column naming it is refused until then, never sent wrong).
 */
export const BULK_DESCRIBE_REUSE_MS = 15 * 60_000;

/**
 * Ingest jobs smaller than this teach no rate: their time is mostly fixed overhead (queueing, one internal
 * batch), and a rate learned from them would plan the next big job's first poll far too late.
 */
export const BULK_RATE_MIN_ROWS = 1000;
/**
 * Measurements kept per object and operation. The first poll is planned from the slowest of them: job times
 * vary from run to run (org load, inserts against updates), and a poll that comes a little late costs some
 * latency while one that comes early costs a call. Older measurements drop out, so an org that got faster is
 * trusted again after this many jobs.
 */
export const BULK_RATE_HISTORY = 5;

/** The measured throughput of ingest jobs of one object and operation in one org. */
export interface BulkIngestRate {
  /** The rate to plan with: the slowest of `recent`. */
  rowsPerSec: number;
  /** The last measurements (rows over the time from close to `JobComplete`, queue time included), oldest first. */
  recent?: number[];
  /** Rows of the job it was measured on. */
  rows: number;
  /** When (epoch ms). */
  measuredAt: number;
}

/** Where learned ingest rates are kept (in memory by default; the publisher keeps them in its state store). */
export interface BulkRateStore extends KeyValueStore<BulkIngestRate> {}

/** In-memory {@link BulkRateStore}. */
export class MemoryBulkRateStore extends MemoryKeyValueStore<BulkIngestRate> {}

/** A stored rate worth planning with: persisted stores can hand back anything (an old format, a hand edit). */
function usableRate(r: BulkIngestRate | null | undefined): BulkIngestRate | undefined {
  return r && typeof r.rowsPerSec === 'number' && r.rowsPerSec > 0 ? r : undefined;
}

/** Options of {@link Bulk2} beyond the describe cache. */
export interface Bulk2Options {
  /** How long a describe the org confirmed is used for column checks without asking again; default {@link BULK_DESCRIBE_REUSE_MS}. */
  describeFreshForMs?: number;
  /** Learned ingest rates (default: in memory, for this client's lifetime). */
  rates?: BulkRateStore;
}

/**
 * The duration of an ingest job from its close to its end, from the job's own timestamps (server clock:
 * created → ended) less the time the client spent between the create and the close (client clock: the
 * upload). Neither subtraction mixes the two clocks. `undefined` when the timestamps are missing.
 */
export function closeToEndMs(info: { createdDate?: string; systemModstamp?: string }, createdAtClient: number, closingAtClient: number): number | undefined {
  const created = info.createdDate ? parseSfDate(info.createdDate) : NaN;
  const ended = info.systemModstamp ? parseSfDate(info.systemModstamp) : NaN;
  if (!Number.isFinite(created) || !Number.isFinite(ended)) return undefined;
  return ended - created - (closingAtClient - createdAtClient);
}

/** The Bulk API 2.0 surface of a client (`client.bulk`). */
export class Bulk2 {
  readonly conn: Connection;
  readonly rates: BulkRateStore;
  readonly #describe: DescribeFn;
  #learning: Promise<void> = Promise.resolve();

  /**
   * Column checks describe through `cache` (the client passes its own), reusing a describe the org confirmed
   * less than `describeFreshForMs` ago without asking again (and asking once more when a column is not in it).
   */
  constructor(conn: Connection, cache: DescribeCache = new MemoryDescribeCache(), opts: Bulk2Options = {}) {
    this.conn = conn;
    this.rates = opts.rates ?? new MemoryBulkRateStore();
    const freshForMs = opts.describeFreshForMs ?? BULK_DESCRIBE_REUSE_MS;
    this.#describe = (sobject, signal, o) => describeObject(conn, sobject, cache, { signal, freshForMs: o?.fresh ? 0 : freshForMs });
  }

  /** Streams the records of a SOQL query run as a Bulk 2.0 job (see {@link BulkQueryResult}). */
  query(soql: string | { toString(): string }, opts: BulkQueryOptions = {}): BulkQueryResult {
    return new BulkQueryResult(this.conn, String(soql), opts);
  }

  /**
   * Loads records through Bulk 2.0 ingest jobs; yields exactly one result per input record, in input order
   * (see {@link bulkIngest}).
   */
  ingest(object: string, operation: BulkOperation, records: AsyncIterable<Record<string, unknown>> | Iterable<Record<string, unknown>>, opts: BulkIngestOptions = {}): AsyncGenerator<BulkRecordResult> {
    return this.#ingest(object, operation, records, opts);
  }

  /**
   * Runs the ingest with the rate learned for this org, object and operation (so each job's first status poll
   * lands just after the job ends), and learns the rate again from every job that completes.
   */
  async *#ingest(object: string, operation: BulkOperation, records: AsyncIterable<Record<string, unknown>> | Iterable<Record<string, unknown>>, opts: BulkIngestOptions): AsyncGenerator<BulkRecordResult> {
    const key = `${(await this.conn.session(opts.signal)).instanceUrl}|${object.toLowerCase()}|${operation}`;
    const learned = opts.rowsPerSec === undefined ? await this.#rate(key).catch(() => undefined) : undefined;
    const times = new Map<string, { created: number; closing?: number }>();
    const writes: Promise<void>[] = [];
    const onEvent = (e: BulkEvent): void => {
      if (e.type === 'job-created') times.set(e.jobId, { created: Date.now() });
      else if (e.type === 'job-uploaded') {
        const t = times.get(e.jobId);
        if (t) t.closing = Date.now();
      } else if (e.type === 'job-finished' && e.state === 'JobComplete') {
        const t = times.get(e.jobId);
        const ms = t?.closing !== undefined ? closeToEndMs(e, t.created, t.closing) : undefined;
        if (ms !== undefined && ms > 0 && e.numberRecordsProcessed >= BULK_RATE_MIN_ROWS) {
          const measured = (e.numberRecordsProcessed / ms) * 1000;
          // A store that cannot save only costs a later run a poll: never fail the load for it.
          writes.push(this.#learn(key, measured, e.numberRecordsProcessed).catch(() => undefined));
        }
      }
      opts.onEvent?.(e);
    };
    try {
      // A first poll aimed before the end plans from the fastest recent job (a slow one, queued behind another
      // job of its load, would put it after the end); one aimed after the end from the slowest.
      const plan = opts.learnedFirstPoll === 'before-end' && learned?.recent?.length ? Math.max(...learned.recent) : learned?.rowsPerSec;
      yield* bulkIngest(this.conn, this.#describe, object, operation, records, { ...opts, onEvent, rowsPerSec: opts.rowsPerSec ?? plan });
    } finally {
      await Promise.all(writes);
    }
  }

  #rate(key: string): Promise<BulkIngestRate | undefined> {
    return this.rates.get(key).then(usableRate);
  }

  /** Adds a measurement (jobs of one load finish one after another, so the read-modify-write is chained). */
  #learn(key: string, rowsPerSec: number, rows: number): Promise<void> {
    this.#learning = this.#learning.catch(() => undefined).then(async () => {
      const before = await this.#rate(key);
      const recent = [...(before?.recent ?? (before ? [before.rowsPerSec] : [])), rowsPerSec].slice(-BULK_RATE_HISTORY);
      await this.rates.set(key, { rowsPerSec: Math.min(...recent), recent, rows, measuredAt: Date.now() });
    });
    return this.#learning;
  }

  /** Current info of a job. */
  jobInfo(kind: 'ingest' | 'query', jobId: string, signal?: AbortSignal): Promise<BulkJobInfo> {
    return kind === 'ingest' ? ingestJobInfo(this.conn, jobId, signal) : this.conn.request<BulkJobInfo>(`jobs/query/${jobId}`, { signal });
  }

  /** Polls a job until it is final (planned from its progress when `expectedRecords` is given, else backed off); returns its info. */
  waitForJob(kind: 'ingest' | 'query', jobId: string, opts: PollOptions = {}): Promise<BulkJobInfo> {
    return waitForJob(this.conn, kind, jobId, opts);
  }

  /** Aborts a job. */
  abort(kind: 'ingest' | 'query', jobId: string, signal?: AbortSignal): Promise<BulkJobInfo> {
    return this.conn.request<BulkJobInfo>(`jobs/${kind}/${jobId}`, { method: 'PATCH', json: { state: 'Aborted' }, signal });
  }

  /** Streams a raw result CSV of an ingest job. */
  resultFile(jobId: string, file: 'successfulResults' | 'failedResults' | 'unprocessedrecords', signal?: AbortSignal): Promise<Response> {
    return ingestResultFile(this.conn, jobId, file, signal);
  }
}

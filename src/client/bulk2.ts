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
import { waitForJob, type BulkJobInfo, type PollOptions } from './bulk2/common.ts';
import { describe as describeObject, MemoryDescribeCache, type DescribeCache } from './describe.ts';

export { BulkQueryResult, bulkQuery, type BulkQueryOptions } from './bulk2/query.ts';
export { bulkIngest, ingestJobInfo, ingestResultFile, BULK_OPERATIONS, DEFAULT_INGEST_CONCURRENCY, DEFAULT_MAX_BYTES_PER_JOB, DEFAULT_MAX_ROWS_PER_JOB, type BulkIngestOptions, type BulkOperation, type BulkRecordResult, type DescribeFn } from './bulk2/ingest.ts';
export { BULK_ERROR_CODES, BULK_INGEST_ASSUMED_ROWS_PER_SEC, BULK_POLL_BACKOFF, BULK_POLL_ESTIMATE_MARGIN, BULK_POLL_ESTIMATE_MAX_MS, BULK_POLL_INITIAL_MS, BULK_POLL_MAX_MS, BULK_POLL_MIN_MS, BulkError, FINAL_JOB_STATES, planNextPoll, streamGet, waitForJob, type BulkErrorCode, type BulkEvent, type BulkJobInfo, type PollOptions, type PollState } from './bulk2/common.ts';

/**
 * How long `client.bulk` reuses an object's describe for ingest column checks without asking again. The
 * describe cache revalidates on every use unless told otherwise (`freshForMs`); a
 * publisher sending retry rounds or many small loads would pay that call per load. A field added in the org
 * meanwhile is only seen after this long (a column naming it is refused until then, never sent wrong).
 */
export const BULK_DESCRIBE_REUSE_MS = 15 * 60_000;

/** The Bulk API 2.0 surface of a client (`client.bulk`). */
export class Bulk2 {
  readonly conn: Connection;
  readonly #describe: DescribeFn;

  /**
   * Column checks describe through `cache` (the client passes its own), reusing a describe the org confirmed
   * less than {@link BULK_DESCRIBE_REUSE_MS} ago without asking again.
   */
  constructor(conn: Connection, cache: DescribeCache = new MemoryDescribeCache()) {
    this.conn = conn;
    this.#describe = (sobject, signal) => describeObject(conn, sobject, cache, { signal, freshForMs: BULK_DESCRIBE_REUSE_MS });
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
    return bulkIngest(this.conn, this.#describe, object, operation, records, opts);
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

/**
 * Bulk API 2.0 client (reference §5): streaming queries with resume, and ingest with jobs split by size,
 * results joined back to the input rows. Use it as `client.bulk` or as functions over a bare Connection.
 *
 * @example
 * for await (const row of sf.bulk.query('SELECT Id, Name FROM Account')) console.log(row.Id, row.Name);
 */
import type { Connection } from './connection.ts';
import { BulkQueryResult, type BulkQueryOptions } from './bulk2/query.ts';

export { BulkQueryResult, bulkQuery, type BulkQueryOptions } from './bulk2/query.ts';
export { BULK_ERROR_CODES, BULK_POLL_BACKOFF, BULK_POLL_INITIAL_MS, BULK_POLL_MAX_MS, BulkError, FINAL_JOB_STATES, streamGet, waitForJob, type BulkErrorCode, type BulkEvent, type BulkJobInfo, type PollOptions } from './bulk2/common.ts';

/** The Bulk API 2.0 surface of a client (`client.bulk`). */
export class Bulk2 {
  readonly conn: Connection;

  constructor(conn: Connection) {
    this.conn = conn;
  }

  /** Streams the records of a SOQL query run as a Bulk 2.0 job (see {@link BulkQueryResult}). */
  query(soql: string | { toString(): string }, opts: BulkQueryOptions = {}): BulkQueryResult {
    return new BulkQueryResult(this.conn, String(soql), opts);
  }
}

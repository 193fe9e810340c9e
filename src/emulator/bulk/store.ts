/**
 * Persistence for Bulk API 2.0 jobs, kept in the org's own SQLite database so that jobs, their uploaded rows
 * and their per-row results survive a restart when the emulator runs on a file, and so that a million-row
 * job costs disk, not memory.
 *
 * Tables:
 * - `_bulk_job`: one row per job (ingest and query), including the progress pointer `next_row`;
 * - `_bulk_row`: uploaded ingest rows (cells as a JSON array) and, once attempted, their outcome;
 * - `_bulk_qrow`: the snapshot of a query job's result, one pre-encoded CSV line per record.
 */
import type { Org } from '../org.ts';
import type { ObjectDef } from '../schema/types.ts';
import type { SqlValue } from '../store/values.ts';
import { ensureBulk1Tables } from '../bulk1/store.ts';

/** Ingest operations Bulk API 2.0 accepts. */
export const INGEST_OPERATIONS = ['insert', 'update', 'upsert', 'delete', 'hardDelete'] as const;
export type IngestOperation = (typeof INGEST_OPERATIONS)[number];

/** Job states, in Salesforce's spelling. */
export type JobState = 'Open' | 'UploadComplete' | 'InProgress' | 'JobComplete' | 'Failed' | 'Aborted';

/** States after which a job never changes again. */
export const FINAL_STATES: readonly JobState[] = ['JobComplete', 'Failed', 'Aborted'];

/** A job as stored. Column names are the SQL ones; `jobInfo` renders the API shape. */
export interface JobRow {
  id: string;
  kind: 'ingest' | 'query';
  operation: string;
  object: string;
  externalIdFieldName: string | null;
  assignmentRuleId: string | null;
  query: string | null;
  state: JobState;
  columnDelimiter: string;
  lineEnding: string;
  apiVersion: string;
  createdById: string;
  createdDate: number;
  systemModstamp: number;
  /** Uploaded header (JSON array of the column names as written), null before the upload. */
  header: string | null;
  uploadedBytes: number;
  /** 1 once an upload has started: Bulk 2.0 takes exactly one upload per job. */
  uploaded: number;
  totalRows: number;
  /** Rows with `seq < nextRow` have been attempted (ingest) or written (query snapshot). */
  nextRow: number;
  processed: number;
  failed: number;
  retries: number;
  totalProcessingTime: number;
  apiActiveProcessingTime: number;
  /** A problem found during upload that fails the job once processing starts (Salesforce validates late). */
  pendingError: string | null;
  errorMessage: string | null;
  /** Bytes of result CSV written by a query job (for DailyBulkV2QueryFileStorageMB). */
  resultBytes: number;
}

const COLUMNS: Record<keyof JobRow, string> = {
  id: 'id', kind: 'kind', operation: 'operation', object: 'object', externalIdFieldName: 'external_id_field',
  assignmentRuleId: 'assignment_rule_id', query: 'query', state: 'state', columnDelimiter: 'column_delimiter',
  lineEnding: 'line_ending', apiVersion: 'api_version', createdById: 'created_by', createdDate: 'created_date',
  systemModstamp: 'system_modstamp', header: 'header', uploadedBytes: 'uploaded_bytes', uploaded: 'uploaded',
  totalRows: 'total_rows', nextRow: 'next_row', processed: 'processed', failed: 'failed', retries: 'retries',
  totalProcessingTime: 'total_processing_ms', apiActiveProcessingTime: 'api_active_ms', pendingError: 'pending_error',
  errorMessage: 'error_message', resultBytes: 'result_bytes',
};

const SELECT_JOB = `SELECT ${Object.entries(COLUMNS).map(([k, c]) => `${c} AS ${k}`).join(', ')} FROM _bulk_job`;

/** The pseudo-object used to allocate job IDs from the org's persisted sequence (key prefix 750). */
const JOB_ID_DEF: ObjectDef = { name: '_BulkJob', label: 'Bulk Job', labelPlural: 'Bulk Jobs', keyPrefix: '750', fields: [] };

/** Data access for Bulk jobs on one org's database. */
export class BulkStore {
  readonly org: Org;

  constructor(org: Org) {
    this.org = org;
    org.store.db.exec(`CREATE TABLE IF NOT EXISTS _bulk_job (
        id TEXT PRIMARY KEY, kind TEXT NOT NULL, operation TEXT NOT NULL, object TEXT NOT NULL,
        external_id_field TEXT, assignment_rule_id TEXT, query TEXT, state TEXT NOT NULL,
        column_delimiter TEXT NOT NULL, line_ending TEXT NOT NULL, api_version TEXT NOT NULL,
        created_by TEXT NOT NULL, created_date INTEGER NOT NULL, system_modstamp INTEGER NOT NULL,
        header TEXT, uploaded_bytes INTEGER NOT NULL DEFAULT 0, uploaded INTEGER NOT NULL DEFAULT 0,
        total_rows INTEGER NOT NULL DEFAULT 0, next_row INTEGER NOT NULL DEFAULT 0,
        processed INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0, retries INTEGER NOT NULL DEFAULT 0,
        total_processing_ms INTEGER NOT NULL DEFAULT 0, api_active_ms INTEGER NOT NULL DEFAULT 0,
        pending_error TEXT, error_message TEXT, result_bytes INTEGER NOT NULL DEFAULT 0);
      CREATE INDEX IF NOT EXISTS _bulk_job_state ON _bulk_job (state);
      CREATE TABLE IF NOT EXISTS _bulk_row (
        job_id TEXT NOT NULL, seq INTEGER NOT NULL, data TEXT NOT NULL,
        status INTEGER, record_id TEXT, created INTEGER, error TEXT,
        PRIMARY KEY (job_id, seq)) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS _bulk_qrow (
        job_id TEXT NOT NULL, seq INTEGER NOT NULL, line TEXT NOT NULL,
        PRIMARY KEY (job_id, seq)) WITHOUT ROWID;`);
    ensureBulk1Tables(org.store.db);
  }

  /** Allocates a job ID (`750…`, 18 chars) that never repeats on this org. */
  newJobId(): string {
    return this.org.store.nextId(JOB_ID_DEF);
  }

  insert(job: Pick<JobRow, 'id' | 'kind' | 'operation' | 'object' | 'externalIdFieldName' | 'assignmentRuleId' | 'query' | 'state' | 'columnDelimiter' | 'lineEnding' | 'apiVersion' | 'createdById' | 'createdDate' | 'systemModstamp'>): void {
    const keys = Object.keys(job) as (keyof JobRow)[];
    this.org.store
      .prepare(`INSERT INTO _bulk_job (${keys.map((k) => COLUMNS[k]).join(', ')}) VALUES (${keys.map(() => '?').join(', ')})`)
      .run(...keys.map((k) => (job as Partial<JobRow>)[k] as SqlValue));
  }

  get(id: string): JobRow | undefined {
    return this.org.store.prepare(`${SELECT_JOB} WHERE id = ?`).get(id) as JobRow | undefined;
  }

  /** Updates the given job fields (always also bumping nothing else: callers set systemModstamp when due). */
  update(id: string, changes: Partial<JobRow>): void {
    const keys = Object.keys(changes) as (keyof JobRow)[];
    if (keys.length === 0) return;
    this.org.store
      .prepare(`UPDATE _bulk_job SET ${keys.map((k) => `${COLUMNS[k]} = ?`).join(', ')} WHERE id = ?`)
      .run(...keys.map((k) => changes[k] as SqlValue), id);
  }

  /** One page of jobs of a kind, oldest first (IDs are allocated in creation order). */
  list(kind: 'ingest' | 'query', offset: number, limit: number): JobRow[] {
    // Jobs that run Bulk API 1.0 batches are the engine's, not the client's: they are not listed.
    const sql = `${SELECT_JOB} WHERE kind = ? AND id NOT IN (SELECT engine_job FROM _bulk1_batch WHERE engine_job IS NOT NULL) ORDER BY created_date, id LIMIT ? OFFSET ?`;
    return this.org.store.prepare(sql).all(kind, limit, offset) as unknown as JobRow[];
  }

  /** The next job with work to do after `afterId` (round robin, so one big job cannot starve the others). */
  nextRunnable(afterId: string): JobRow | undefined {
    const sql = `${SELECT_JOB} WHERE state IN ('UploadComplete', 'InProgress') AND id > ? ORDER BY id LIMIT 1`;
    return (this.org.store.prepare(sql).get(afterId) ?? this.org.store.prepare(sql).get('')) as JobRow | undefined;
  }

  /** Final-state jobs whose last change is older than `before` (epoch ms), for retention. */
  expired(before: number): string[] {
    const sql = "SELECT id FROM _bulk_job WHERE state IN ('JobComplete', 'Failed', 'Aborted') AND system_modstamp < ?";
    return this.org.store.prepare(sql).all(before).map((r) => String(r.id));
  }

  /** Removes a job with its rows and results. */
  delete(id: string): void {
    this.org.store.transaction(() => {
      this.org.store.prepare('DELETE FROM _bulk_row WHERE job_id = ?').run(id);
      this.org.store.prepare('DELETE FROM _bulk_qrow WHERE job_id = ?').run(id);
      this.org.store.prepare('DELETE FROM _bulk_job WHERE id = ?').run(id);
    });
  }
}

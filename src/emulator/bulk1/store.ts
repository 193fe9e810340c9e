/**
 * Bulk API 1.0 jobs and batches. A job is a container with a content type (CSV, XML, JSON); each batch is
 * run by the org's Bulk engine as an internal job (an ingest job for DML batches, a query job for query
 * batches), so 1.0 and 2.0 share row processing (`dml.ts` through bulk/ingest.ts), chunking and restarts.
 *
 * Tables (in the org database, beside the Bulk 2.0 ones):
 * - `_bulk1_job`: the 1.0 job;
 * - `_bulk1_batch`: one row per batch, with the engine job running it and the request as uploaded.
 */
import type { DatabaseSync } from 'node:sqlite';
import { makeId } from '../ids.ts';
import { idSequence } from '../seed/writer.ts';
import type { Org } from '../org.ts';

export type ContentType = 'CSV' | 'XML' | 'JSON';
export type Job1State = 'Open' | 'Closed' | 'Aborted' | 'Failed';

export interface Job1Row {
  id: string;
  operation: string;
  object: string;
  externalIdFieldName: string | null;
  assignmentRuleId: string | null;
  concurrencyMode: string;
  contentType: ContentType;
  state: Job1State;
  apiVersion: string;
  createdById: string;
  createdDate: number;
  systemModstamp: number;
  /** `Sforce-Enable-PKChunking` of the create call: `chunkSize=N[; startRow=Id]`, null when off. */
  pkChunking: string | null;
}

export interface Batch1Row {
  id: string;
  jobId: string;
  /** The engine job that runs the batch; null for a PK-chunked original batch (NotProcessed). */
  engineJob: string | null;
  createdDate: number;
  request: string;
  /** A state set here rather than derived from the engine job (NotProcessed, Failed on bad input). */
  fixedState: string | null;
  stateMessage: string | null;
}

/** Creates the Bulk 1.0 tables (called by the Bulk store, so they exist whenever jobs are listed). */
export function ensureBulk1Tables(db: DatabaseSync): void {
  db.exec(`CREATE TABLE IF NOT EXISTS _bulk1_job (
      id TEXT PRIMARY KEY, operation TEXT NOT NULL, object TEXT NOT NULL, external_id_field TEXT, assignment_rule_id TEXT,
      concurrency_mode TEXT NOT NULL, content_type TEXT NOT NULL, state TEXT NOT NULL, api_version TEXT NOT NULL,
      created_by TEXT NOT NULL, created_date INTEGER NOT NULL, system_modstamp INTEGER NOT NULL, pk_chunking TEXT);
    CREATE TABLE IF NOT EXISTS _bulk1_batch (
      id TEXT PRIMARY KEY, job_id TEXT NOT NULL, engine_job TEXT, created_date INTEGER NOT NULL, request TEXT NOT NULL,
      fixed_state TEXT, state_message TEXT);
    CREATE INDEX IF NOT EXISTS _bulk1_batch_job ON _bulk1_batch (job_id, id);
    CREATE INDEX IF NOT EXISTS _bulk1_batch_engine ON _bulk1_batch (engine_job);`);
}

const JOB_SELECT = `SELECT id, operation, object, external_id_field AS externalIdFieldName, assignment_rule_id AS assignmentRuleId,
  concurrency_mode AS concurrencyMode, content_type AS contentType, state, api_version AS apiVersion, created_by AS createdById,
  created_date AS createdDate, system_modstamp AS systemModstamp, pk_chunking AS pkChunking FROM _bulk1_job`;
const BATCH_SELECT = `SELECT id, job_id AS jobId, engine_job AS engineJob, created_date AS createdDate, request,
  fixed_state AS fixedState, state_message AS stateMessage FROM _bulk1_batch`;

export class Bulk1Store {
  readonly org: Org;
  constructor(org: Org) {
    this.org = org;
    ensureBulk1Tables(org.store.db);
  }

  insertJob(job: Job1Row): void {
    this.org.store.prepare(`INSERT INTO _bulk1_job (id, operation, object, external_id_field, assignment_rule_id, concurrency_mode, content_type, state, api_version, created_by, created_date, system_modstamp, pk_chunking)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(job.id, job.operation, job.object, job.externalIdFieldName, job.assignmentRuleId, job.concurrencyMode, job.contentType, job.state, job.apiVersion, job.createdById, job.createdDate, job.systemModstamp, job.pkChunking);
  }

  job(id: string): Job1Row | undefined {
    return this.org.store.prepare(`${JOB_SELECT} WHERE id = ?`).get(id) as Job1Row | undefined;
  }

  setJobState(id: string, state: Job1State): void {
    this.org.store.prepare('UPDATE _bulk1_job SET state = ?, system_modstamp = ? WHERE id = ?').run(state, this.org.clock.now(), id);
  }

  /** Batch IDs (`751…`) from the org's persisted sequence. */
  newBatchId(): string {
    return makeId('751', this.org.store.nextSequence('751'));
  }

  /** Result IDs of query batches (`752…`), one per batch. */
  resultId(batchId: string): string {
    return makeId('752', idSequence(batchId));
  }

  insertBatch(b: Batch1Row): void {
    this.org.store.prepare('INSERT INTO _bulk1_batch (id, job_id, engine_job, created_date, request, fixed_state, state_message) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(b.id, b.jobId, b.engineJob, b.createdDate, b.request, b.fixedState, b.stateMessage);
  }

  batch(jobId: string, id: string): Batch1Row | undefined {
    return this.org.store.prepare(`${BATCH_SELECT} WHERE job_id = ? AND id = ?`).get(jobId, id) as Batch1Row | undefined;
  }

  batches(jobId: string): Batch1Row[] {
    return this.org.store.prepare(`${BATCH_SELECT} WHERE job_id = ? ORDER BY id`).all(jobId) as unknown as Batch1Row[];
  }
}

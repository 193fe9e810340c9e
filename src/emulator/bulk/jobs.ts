/**
 * Shared pieces of the `/jobs` resources: job-info JSON in Salesforce's field order, the job list with its
 * paging, lookup of a job by ID, and the errors Bulk 2.0 answers with.
 */
import type { Ctx } from '../app.ts';
import { SfError } from '../errors.ts';
import { JSON_TYPE } from '../http/respond.ts';
import { isValidId, makeId, normaliseId } from '../ids.ts';
import { formatDateTime } from '../store/values.ts';
import type { BulkEngine } from './engine.ts';
import type { JobRow } from './store.ts';

/** Jobs per page of `GET /jobs/ingest` and `GET /jobs/query`. */
export const JOBS_PER_PAGE = 1000;

/** Serialises a response body, writing `apiVersion` as a JSON number with one decimal (`62.0`) as Salesforce does. */
export function jobJson(body: unknown, status = 200): Response {
  const text = JSON.stringify(body).replace(/"apiVersion":"(\d+\.\d)"/g, '"apiVersion":$1');
  return new Response(text, { status, headers: { 'content-type': JSON_TYPE } });
}

/** Bulk error bodies carry no `fields`. */
export function bulkError(status: number, errorCode: string, message: string): SfError {
  return new SfError(status, errorCode, message);
}

/** Reads a job of the given kind (15- or 18-char ID) or answers 404 as Salesforce does for an unknown job. */
export function requireJob(engine: BulkEngine, kind: 'ingest' | 'query', id: string): JobRow {
  const job = isValidId(id) ? engine.store.get(normaliseId(id)) : undefined;
  if (!job || job.kind !== kind) throw bulkError(404, 'NOT_FOUND', 'The requested resource does not exist');
  return job;
}

/** The job-info object: `full` is the GET shape (with counters), otherwise the create/close/abort shape. */
export function jobInfo(job: JobRow, full: boolean): Record<string, unknown> {
  const info: Record<string, unknown> = {
    id: job.id,
    operation: job.operation,
    object: job.object,
    createdById: job.createdById,
    createdDate: formatDateTime(job.createdDate),
    systemModstamp: formatDateTime(job.systemModstamp),
    state: job.state,
  };
  if (job.externalIdFieldName) info.externalIdFieldName = job.externalIdFieldName;
  if (job.assignmentRuleId) info.assignmentRuleId = job.assignmentRuleId;
  info.concurrencyMode = 'Parallel';
  info.contentType = 'CSV';
  info.apiVersion = job.apiVersion;
  if (full) info.jobType = job.kind === 'ingest' ? 'V2Ingest' : 'V2Query';
  if (!full && job.kind === 'ingest') info.contentUrl = `services/data/v${job.apiVersion}/jobs/ingest/${job.id}/batches`;
  info.lineEnding = job.lineEnding;
  info.columnDelimiter = job.columnDelimiter;
  if (full) {
    info.numberRecordsProcessed = job.processed;
    if (job.kind === 'ingest') info.numberRecordsFailed = job.failed;
    info.retries = job.retries;
    info.totalProcessingTime = job.totalProcessingTime;
    if (job.kind === 'ingest') {
      info.apiActiveProcessingTime = job.apiActiveProcessingTime;
      info.apexProcessingTime = 0;
    } else {
      info.isPkChunkingSupported = isPkChunkingSupported(job);
    }
    if (job.state === 'Failed' && job.errorMessage) info.errorMessage = job.errorMessage;
  }
  return info;
}

/** PK chunking applies to plain queries; ORDER BY and LIMIT disable it. */
function isPkChunkingSupported(job: JobRow): boolean {
  return !/\b(order\s+by|limit)\b/i.test(job.query ?? '');
}

/** The list-entry shape of a job (`GET /jobs/ingest` records). */
function listEntry(job: JobRow): Record<string, unknown> {
  return {
    id: job.id,
    operation: job.operation,
    object: job.object,
    createdById: job.createdById,
    createdDate: formatDateTime(job.createdDate),
    systemModstamp: formatDateTime(job.systemModstamp),
    state: job.state,
    concurrencyMode: 'Parallel',
    contentType: 'CSV',
    apiVersion: job.apiVersion,
    jobType: job.kind === 'ingest' ? 'V2Ingest' : 'V2Query',
    lineEnding: job.lineEnding,
    columnDelimiter: job.columnDelimiter,
  };
}

/** `GET /jobs/ingest` / `GET /jobs/query` with filters and `queryLocator` paging. */
export function listJobs(ctx: Ctx, engine: BulkEngine, kind: 'ingest' | 'query'): Response {
  const p = ctx.url.searchParams;
  const locator = p.get('queryLocator');
  let offset = 0;
  if (locator) {
    const m = /-(\d+)$/.exec(locator);
    if (!m) throw bulkError(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
    offset = Number(m[1]);
  }
  const jobType = p.get('jobType');
  const concurrency = p.get('concurrencyMode');
  const pk = p.get('isPkChunkingEnabled');
  // Every emulated job is a Bulk 2.0, parallel, non-PK-chunked job: other filter values match nothing.
  const matches = (jobType === null || jobType === (kind === 'ingest' ? 'V2Ingest' : 'V2Query')) && (concurrency === null || concurrency === 'Parallel') && (pk === null || pk === 'false');
  const page = matches ? engine.store.list(kind, offset, JOBS_PER_PAGE + 1) : [];
  const more = page.length > JOBS_PER_PAGE;
  const records = page.slice(0, JOBS_PER_PAGE).map(listEntry);
  let nextRecordsUrl: string | null = null;
  if (more) {
    const next = new URLSearchParams(p);
    next.set('queryLocator', `${makeId('01g', 1)}-${offset + JOBS_PER_PAGE}`);
    nextRecordsUrl = `/services/data/v${ctx.version}/jobs/${kind}?${next.toString()}`;
  }
  return jobJson({ done: !more, records, nextRecordsUrl });
}

/**
 * `/services/data/vXX.X/jobs/query`: create, info, abort, delete, list, paged results and result pages of
 * Bulk API 2.0 query jobs. The SOQL is validated at create; the snapshot is taken in the background.
 */
import type { Ctx } from '../app.ts';
import { readJson } from '../http/respond.ts';
import type { Params, Router } from '../http/router.ts';
import { csvQuoted, DELIMITERS, LINE_ENDINGS } from './csv.ts';
import { bulkEngine, type BulkEngine } from './engine.ts';
import { bulkError, jobInfo, jobJson, listJobs, requireJob } from './jobs.ts';
import { compile, decodeLocator, encodeLocator } from './query-snapshot.ts';
import { FINAL_STATES, type JobRow } from './store.ts';

const BASE = '/services/data/:version/jobs/query';
/** Rows per read while streaming a results page. */
const IO_BATCH = 1000;
/** `resultUrl`s per `/resultPages` response. */
const RESULT_URLS_PER_RESPONSE = 5;

/** Bulk 2.0 query arrived in v47.0. */
function engineFor(ctx: Ctx): BulkEngine {
  if (Number(ctx.version) < 47) throw bulkError(404, 'NOT_FOUND', 'The requested resource does not exist');
  return bulkEngine(ctx.org);
}

interface QuerySpec {
  operation?: unknown;
  query?: unknown;
  contentType?: unknown;
  columnDelimiter?: unknown;
  lineEnding?: unknown;
}

async function createQueryJob(ctx: Ctx): Promise<Response> {
  const engine = engineFor(ctx);
  const spec = await readJson<QuerySpec>(ctx.req);
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) throw bulkError(400, 'JSON_PARSER_ERROR', 'The request body must be a JSON object');
  const invalid = (message: string) => bulkError(400, 'INVALIDJOB', message);
  if (spec.operation !== 'query' && spec.operation !== 'queryAll') throw invalid(`InvalidJob : Invalid operation: ${String(spec.operation ?? '')}`);
  if (typeof spec.query !== 'string' || spec.query.trim() === '') throw invalid('InvalidJob : Query is required');
  const contentType = spec.contentType ?? 'CSV';
  if (contentType !== 'CSV') throw invalid(`InvalidJob : Unsupported content type: ${String(contentType)}`);
  const columnDelimiter = spec.columnDelimiter ?? 'COMMA';
  if (typeof columnDelimiter !== 'string' || !(columnDelimiter in DELIMITERS)) throw invalid(`InvalidJob : Invalid column delimiter: ${String(columnDelimiter)}`);
  const lineEnding = spec.lineEnding ?? 'LF';
  if (typeof lineEnding !== 'string' || !(lineEnding in LINE_ENDINGS)) throw invalid(`InvalidJob : Invalid line ending: ${String(lineEnding)}`);
  const prepared = compile(ctx.org, spec.query, spec.operation === 'queryAll');
  engine.purgeExpired();
  const now = ctx.org.clock.now();
  const id = engine.store.newJobId();
  engine.store.insert({
    id, kind: 'query', operation: spec.operation, object: prepared.object, externalIdFieldName: null, assignmentRuleId: null,
    query: spec.query, state: 'UploadComplete', columnDelimiter, lineEnding, apiVersion: ctx.version,
    createdById: ctx.session!.userId, createdDate: now, systemModstamp: now,
  });
  ctx.org.bumpLimit('DailyBulkV2QueryJobs', 1);
  engine.kick();
  return jobJson(jobInfo(engine.store.get(id)!, false));
}

async function patchQueryJob(ctx: Ctx, params: Params): Promise<Response> {
  const engine = engineFor(ctx);
  const job = requireJob(engine, 'query', params.id);
  const body = await readJson<{ state?: unknown }>(ctx.req);
  const target = body && typeof body === 'object' ? body.state : undefined;
  if (target !== 'Aborted') throw bulkError(400, 'INVALIDJOBSTATE', `Invalid state: ${String(target)}; a query job can only be Aborted`);
  if (FINAL_STATES.includes(job.state)) throw bulkError(409, 'INVALIDJOBSTATE', `Job state ${job.state} cannot be changed to Aborted`);
  engine.store.update(job.id, { state: 'Aborted', systemModstamp: ctx.org.clock.now() });
  engine.forget(job.id);
  return jobJson(jobInfo(engine.store.get(job.id)!, false));
}

function deleteQueryJob(ctx: Ctx, params: Params): Response {
  const engine = engineFor(ctx);
  const job = requireJob(engine, 'query', params.id);
  if (job.state === 'InProgress') throw bulkError(409, 'INVALIDJOBSTATE', 'Unable to delete a job in state InProgress; abort it first.');
  engine.forget(job.id);
  engine.store.delete(job.id);
  return new Response(null, { status: 204 });
}

/** A job whose results can be read: complete, and asked for with the API version it was created with. */
function requireResults(ctx: Ctx, engine: BulkEngine, id: string): JobRow {
  const job = requireJob(engine, 'query', id);
  if (job.apiVersion !== ctx.version) {
    throw bulkError(409, 'API_VERSION_MISMATCH', `The job was created with API version ${job.apiVersion}; request its results with the same version.`);
  }
  if (job.state !== 'JobComplete') {
    throw bulkError(412, 'JOB_NOT_COMPLETE', `can only download query results of successfully completed bulk job: ${job.id}`);
  }
  return job;
}

function parseMaxRecords(value: string | null, fallback: number): number {
  if (value === null || value === '') return fallback;
  if (!/^\d+$/.test(value) || Number(value) < 1) throw bulkError(400, 'INVALIDJOB', `InvalidJob : maxRecords must be a positive integer: ${value}`);
  return Number(value);
}

/**
 * `GET /jobs/query/{id}/results`: one standalone CSV page (header included) from `locator`, at most
 * `maxRecords` records, with `Sforce-NumberOfRecords` and `Sforce-Locator` (`null` on the last page).
 */
function results(ctx: Ctx, params: Params): Response {
  const engine = engineFor(ctx);
  const job = requireResults(ctx, engine, params.id);
  const locator = ctx.url.searchParams.get('locator');
  const offset = locator && locator !== 'null' ? decodeLocator(locator) : 0;
  if (offset > job.totalRows) throw bulkError(400, 'INVALID_QUERY_LOCATOR', `Invalid locator: ${locator}`);
  const max = parseMaxRecords(ctx.url.searchParams.get('maxRecords'), engine.settings.defaultMaxRecords);
  const count = Math.min(max, job.totalRows - offset);
  const end = offset + count;
  const delimiter = DELIMITERS[job.columnDelimiter];
  const eol = LINE_ENDINGS[job.lineEnding];
  const header = (JSON.parse(job.header ?? '[]') as string[]).map(csvQuoted).join(delimiter) + eol;
  const encoder = new TextEncoder();
  const org = ctx.org;
  let next = offset;
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(header));
      if (next >= end) controller.close();
    },
    pull(controller) {
      if (!org.store.db.isOpen) return controller.close();
      const rows = org.store.prepare('SELECT seq, line FROM _bulk_qrow WHERE job_id = ? AND seq >= ? AND seq < ? ORDER BY seq LIMIT ?').all(job.id, next, end, IO_BATCH);
      let out = '';
      for (const r of rows) {
        out += String(r.line) + eol;
        next = Number(r.seq) + 1;
      }
      if (out) controller.enqueue(encoder.encode(out));
      if (rows.length < IO_BATCH || next >= end) controller.close();
    },
  });
  return new Response(stream, {
    status: 200,
    headers: {
      'content-type': 'text/csv',
      'sforce-numberofrecords': String(count),
      'sforce-locator': end < job.totalRows ? encodeLocator(end) : 'null',
    },
  });
}

/** `GET /jobs/query/{id}/resultPages` (v58+): result URLs for parallel download, five per response. */
function resultPages(ctx: Ctx, params: Params): Response {
  if (Number(ctx.version) < 58) throw bulkError(404, 'NOT_FOUND', 'The requested resource does not exist');
  const engine = engineFor(ctx);
  const job = requireResults(ctx, engine, params.id);
  const size = engine.settings.resultPageSize;
  const locator = ctx.url.searchParams.get('locator');
  const start = locator ? decodeLocator(locator) : 0;
  const base = `/services/data/v${ctx.version}/jobs/query/${job.id}`;
  const extra = size === engine.settings.defaultMaxRecords ? '' : `&maxRecords=${size}`;
  const pages: { resultUrl: string }[] = [];
  let offset = start;
  // An empty result still has one (header-only) page.
  if (job.totalRows === 0 && start === 0) pages.push({ resultUrl: `${base}/results?locator=${encodeLocator(0)}${extra}` });
  while (offset < job.totalRows && pages.length < RESULT_URLS_PER_RESPONSE) {
    pages.push({ resultUrl: `${base}/results?locator=${encodeLocator(offset)}${extra}` });
    offset += size;
  }
  const done = offset >= job.totalRows;
  return jobJson({ resultPages: pages, nextRecordUrl: done ? null : `${base}/resultPages?locator=${encodeLocator(offset)}`, done });
}

/** Registers the query-job routes. */
export function registerQueryRoutes(router: Router<Ctx>): void {
  router.on('POST', BASE, createQueryJob);
  router.on('GET', BASE, (ctx) => listJobs(ctx, engineFor(ctx), 'query'));
  router.on('GET', `${BASE}/:id`, (ctx, p) => jobJson(jobInfo(requireJob(engineFor(ctx), 'query', p.id), true)));
  router.on('PATCH', `${BASE}/:id`, patchQueryJob);
  router.on('DELETE', `${BASE}/:id`, deleteQueryJob);
  router.on('GET', `${BASE}/:id/results`, results);
  router.on('GET', `${BASE}/:id/resultPages`, resultPages);
}

/**
 * Bulk API 1.0 under `/services/async/XX.X/`: jobs (`/job`, `/job/{id}`), batches (`/job/{id}/batch`,
 * `/batch/{id}`, `/request`, `/result`, `/result/{resultId}`) in CSV, XML or JSON, authenticated by the
 * `X-SFDC-Session` header (or a bearer token), with PK chunking (`Sforce-Enable-PKChunking`) for queries.
 * Each batch runs as an internal job of the org's Bulk engine, the same row processing as Bulk API 2.0.
 */
import { XMLParser } from 'fast-xml-parser';
import { composeQuery, parseQuery, type Query } from '@jetstreamapp/soql-parser-js';
import { parse as parseCsv } from 'csv-parse/sync';
import type { Ctx } from '../app.ts';
import { csvQuoted } from '../bulk/csv.ts';
import { bulkEngine, type BulkEngine } from '../bulk/engine.ts';
import { compile as compileBulkQuery } from '../bulk/query-snapshot.ts';
import { INGEST_OPERATIONS, type JobRow } from '../bulk/store.ts';
import type { Router } from '../http/router.ts';
import { isValidId, normaliseId } from '../ids.ts';
import { formatDateTime, formatDateTimeZ } from '../store/values.ts';
import { AsyncError, respond, requestWire, type Wire } from './format.ts';
import { Bulk1Store, type Batch1Row, type ContentType, type Job1Row } from './store.ts';

const BASE = '/services/async/:apiVersion';
const OPERATIONS = [...INGEST_OPERATIONS, 'query', 'queryAll'];
/** Salesforce's limits for one batch: 10,000 records (Bulk 1.0 counts a batch as at most that). */
const MAX_BATCH_RECORDS = 10_000;
/** PK chunking defaults: 100,000 records per chunk, at most 250,000. */
const PK_CHUNK_DEFAULT = 100_000;
const PK_CHUNK_MAX = 250_000;

const stores = new WeakMap<object, Bulk1Store>();
function storeFor(ctx: Ctx): Bulk1Store {
  let s = stores.get(ctx.org);
  if (!s) stores.set(ctx.org, (s = new Bulk1Store(ctx.org)));
  return s;
}

function version(ctx: Ctx, params: Record<string, string>): string {
  const v = params.apiVersion;
  if (!/^\d+\.\d$/.test(v) || Number(v) < 17 || Number(v) > 66) throw new AsyncError(400, 'InvalidVersion', `Invalid api version specified on URL: ${v}`);
  return v;
}

const wireOf = (job: Job1Row): Wire => (job.contentType === 'JSON' ? 'JSON' : 'XML');

function requireJob1(ctx: Ctx, id: string): Job1Row {
  const job = isValidId(id) ? storeFor(ctx).job(normaliseId(id)) : undefined;
  if (!job) throw new AsyncError(400, 'InvalidJob', `Unable to find job with ID: ${id}`);
  return job;
}

function requireBatch(ctx: Ctx, job: Job1Row, id: string): Batch1Row {
  const b = isValidId(id) ? storeFor(ctx).batch(job.id, normaliseId(id)) : undefined;
  if (!b) throw new AsyncError(400, 'InvalidBatch', `Unable to find batch for id: ${id}`);
  return b;
}

const xml = new XMLParser({ ignoreAttributes: false, removeNSPrefix: true, parseTagValue: false, trimValues: true, isArray: (name) => name === 'sObject' });

/** The job spec of a create call, from XML `<jobInfo>` or a JSON object. */
async function readSpec(ctx: Ctx): Promise<Record<string, string>> {
  const text = await ctx.req.text();
  if (requestWire(ctx.req) === 'JSON') {
    try {
      const v = JSON.parse(text) as Record<string, string>;
      if (v && typeof v === 'object' && !Array.isArray(v)) return v;
    } catch { /* answered below */ }
    throw new AsyncError(400, 'InvalidJob', 'Unable to parse Job: the request body must be a JSON object like {"operation":"insert","object":"Account","contentType":"JSON"}');
  }
  let doc: Record<string, unknown>;
  try {
    doc = xml.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new AsyncError(400, 'XmlParserError', `Unable to parse the request XML: ${(err as Error).message}`);
  }
  const info = doc.jobInfo as Record<string, string> | undefined;
  if (!info || typeof info !== 'object') throw new AsyncError(400, 'InvalidJob', 'Unable to parse Job: the request body must be a <jobInfo> element in the http://www.force.com/2009/06/asyncapi/dataload namespace');
  return info;
}

/** `POST /job`: validates and stores an Open job. */
async function createJob(ctx: Ctx, params: Record<string, string>): Promise<Response> {
  const apiVersion = version(ctx, params);
  const spec = await readSpec(ctx);
  const wire = requestWire(ctx.req);
  const operation = String(spec.operation ?? '');
  if (!OPERATIONS.includes(operation)) throw new AsyncError(400, 'InvalidJob', `Invalid operation: ${operation || '(none)'}; use one of ${OPERATIONS.join(', ')}`);
  const def = ctx.org.schema.get(String(spec.object ?? ''));
  if (!def || def.queryable === false) throw new AsyncError(400, 'InvalidJob', `Unable to find object: ${String(spec.object ?? '')}`);
  const contentType = String(spec.contentType ?? (wire === 'JSON' ? 'JSON' : 'XML')) as ContentType;
  if (!['CSV', 'XML', 'JSON'].includes(contentType)) throw new AsyncError(400, 'InvalidJob', `Unsupported content type: ${contentType}; use CSV, XML or JSON`);
  let externalIdFieldName: string | null = null;
  if (operation === 'upsert') {
    const f = spec.externalIdFieldName ? ctx.org.schema.field(def.name, String(spec.externalIdFieldName)) : undefined;
    if (!spec.externalIdFieldName) throw new AsyncError(400, 'InvalidJob', `External ID was blank for ${def.name}. An External ID must be specified for upsert.`);
    if (!f || f.hidden || !(f.externalId || f.idLookup)) throw new AsyncError(400, 'InvalidJob', `Field name provided, ${String(spec.externalIdFieldName)} is not an External ID or indexed field for ${def.name}`);
    externalIdFieldName = f.name;
  }
  const concurrencyMode = String(spec.concurrencyMode ?? 'Parallel');
  if (concurrencyMode !== 'Parallel' && concurrencyMode !== 'Serial') throw new AsyncError(400, 'InvalidJob', `Invalid concurrency mode: ${concurrencyMode}; use Parallel or Serial`);
  const pk = ctx.req.headers.get('sforce-enable-pkchunking');
  const pkChunking = pk && !/^false$/i.test(pk.trim()) ? pkChunkSpec(pk) : null;
  if (pkChunking && !operation.startsWith('query')) throw new AsyncError(400, 'InvalidJob', 'PK Chunking is supported for query and queryAll jobs only');
  const engine = bulkEngine(ctx.org);
  const now = ctx.org.clock.now();
  const job: Job1Row = {
    id: engine.store.newJobId(), operation, object: def.name, externalIdFieldName, assignmentRuleId: spec.assignmentRuleId ? String(spec.assignmentRuleId) : null,
    concurrencyMode, contentType, state: 'Open', apiVersion, createdById: ctx.session!.userId, createdDate: now, systemModstamp: now, pkChunking,
  };
  storeFor(ctx).insertJob(job);
  return respond(wire, 'jobInfo', forWire(wire, jobInfo(ctx, job)), 201);
}

/** Normalises the PK chunking header: `true`, `chunkSize=50000`, `chunkSize=50000; startRow=001…`. */
function pkChunkSpec(header: string): string {
  const size = /chunkSize=(\d+)/i.exec(header)?.[1];
  const start = /startRow=([A-Za-z0-9]{15,18})/i.exec(header)?.[1];
  const n = size ? Number(size) : PK_CHUNK_DEFAULT;
  if (n < 1 || n > PK_CHUNK_MAX) throw new AsyncError(400, 'InvalidJob', `Invalid chunk size: ${size}; the maximum is ${PK_CHUNK_MAX}`);
  return `chunkSize=${n}${start ? `; startRow=${normaliseId(start)}` : ''}`;
}

/** The state a batch reports, from its engine job. */
function batchState(engine: BulkEngine, b: Batch1Row): { state: string; message: string | null; job: JobRow | undefined } {
  if (b.fixedState) return { state: b.fixedState, message: b.stateMessage, job: undefined };
  const job = b.engineJob ? engine.store.get(b.engineJob) : undefined;
  if (!job) return { state: 'Failed', message: 'InvalidBatch : the batch was lost', job };
  const state = { Open: 'Queued', UploadComplete: 'Queued', InProgress: 'InProgress', JobComplete: 'Completed', Failed: 'Failed', Aborted: 'NotProcessed' }[job.state];
  const message = job.state === 'Failed' ? (job.errorMessage ?? '').replace(/^InvalidJob : /, 'InvalidBatch : ') : null;
  return { state, message, job };
}

function batchInfo(ctx: Ctx, b: Batch1Row): Record<string, unknown> {
  const engine = bulkEngine(ctx.org);
  const { state, message, job } = batchState(engine, b);
  const info: Record<string, unknown> = { id: b.id, jobId: b.jobId, state };
  if (message) info.stateMessage = message;
  Object.assign(info, {
    createdDate: formatDateTimeZ(b.createdDate),
    systemModstamp: formatDateTimeZ(job?.systemModstamp ?? b.createdDate),
    numberRecordsProcessed: job?.processed ?? 0,
    numberRecordsFailed: job?.kind === 'ingest' ? job.failed : 0,
    totalProcessingTime: job?.totalProcessingTime ?? 0,
    apiActiveProcessingTime: job?.apiActiveProcessingTime ?? 0,
    apexProcessingTime: 0,
  });
  return info;
}

function jobInfo(ctx: Ctx, job: Job1Row): Record<string, unknown> {
  const batches = storeFor(ctx).batches(job.id).map((b) => batchInfo(ctx, b));
  const count = (s: string) => batches.filter((b) => b.state === s).length;
  const sum = (k: string) => batches.reduce((a, b) => a + Number(b[k] ?? 0), 0);
  const info: Record<string, unknown> = {
    id: job.id, operation: job.operation, object: job.object, createdById: job.createdById,
    createdDate: formatDateTimeZ(job.createdDate), systemModstamp: formatDateTimeZ(job.systemModstamp), state: job.state,
  };
  if (job.externalIdFieldName) info.externalIdFieldName = job.externalIdFieldName;
  if (job.assignmentRuleId) info.assignmentRuleId = job.assignmentRuleId;
  Object.assign(info, {
    concurrencyMode: job.concurrencyMode, contentType: job.contentType,
    numberBatchesQueued: count('Queued'), numberBatchesInProgress: count('InProgress'), numberBatchesCompleted: count('Completed'),
    numberBatchesFailed: count('Failed'), numberBatchesTotal: batches.length, numberRecordsProcessed: sum('numberRecordsProcessed'),
    numberRetries: 0, apiVersion: job.apiVersion, numberRecordsFailed: sum('numberRecordsFailed'),
    totalProcessingTime: sum('totalProcessingTime'), apiActiveProcessingTime: sum('apiActiveProcessingTime'), apexProcessingTime: 0,
  });
  return info;
}

/** JSON wire dates are `…+0000`, XML ones `…Z`, as in the guide's examples. */
function forWire(wire: Wire, info: Record<string, unknown>): Record<string, unknown> {
  if (wire === 'XML') return info;
  const out = { ...info };
  for (const k of ['createdDate', 'systemModstamp']) if (typeof out[k] === 'string') out[k] = formatDateTime(Date.parse(String(out[k])));
  return out;
}

/** `POST /job/{id}`: close or abort. */
async function changeJob(ctx: Ctx, params: Record<string, string>): Promise<Response> {
  version(ctx, params);
  const job = requireJob1(ctx, params.jobId);
  const spec = await readSpec(ctx);
  const target = String(spec.state ?? '');
  if (target !== 'Closed' && target !== 'Aborted') throw new AsyncError(400, 'InvalidJobState', `Invalid state: ${target || '(none)'}; a job can be set to Closed or Aborted`);
  if (job.state !== 'Open') throw new AsyncError(400, 'InvalidJobState', `Invalid state transition from ${job.state} to ${target}`);
  const store = storeFor(ctx);
  store.setJobState(job.id, target);
  if (target === 'Aborted') {
    // Batches not yet processed are not processed; finished ones keep their results.
    const engine = bulkEngine(ctx.org);
    for (const b of store.batches(job.id)) {
      const ej = b.engineJob ? engine.store.get(b.engineJob) : undefined;
      if (ej && (ej.state === 'UploadComplete' || ej.state === 'InProgress' || ej.state === 'Open')) {
        engine.store.update(ej.id, { state: 'Aborted', systemModstamp: ctx.org.clock.now() });
        engine.forget(ej.id);
      }
    }
  }
  return respond(requestWire(ctx.req), 'jobInfo', forWire(requestWire(ctx.req), jobInfo(ctx, store.job(job.id)!)));
}

/** Turns a batch request into a header row and cells, whatever the job's content type. */
function batchRows(job: Job1Row, text: string): { header: string[]; rows: string[][] } {
  if (job.contentType === 'CSV') {
    let records: string[][];
    try {
      records = parseCsv(text, { relax_column_count: false, skip_empty_lines: true }) as string[][];
    } catch (err) {
      throw new AsyncError(400, 'InvalidBatch', `InvalidBatch : Failed to parse CSV: ${(err as Error).message}`);
    }
    if (records.length === 0) throw new AsyncError(400, 'InvalidBatch', 'InvalidBatch : The batch has no header row');
    return { header: records[0], rows: records.slice(1) };
  }
  let objects: Record<string, unknown>[];
  if (job.contentType === 'JSON') {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (err) {
      throw new AsyncError(400, 'InvalidBatch', `InvalidBatch : Failed to parse JSON: ${(err as Error).message}`);
    }
    if (!Array.isArray(v)) throw new AsyncError(400, 'InvalidBatch', 'InvalidBatch : A JSON batch is an array of records');
    objects = v as Record<string, unknown>[];
  } else {
    let doc: Record<string, unknown>;
    try {
      doc = xml.parse(text) as Record<string, unknown>;
    } catch (err) {
      throw new AsyncError(400, 'InvalidBatch', `InvalidBatch : Failed to parse XML: ${(err as Error).message}`);
    }
    const root = doc.sObjects as { sObject?: Record<string, unknown>[] } | undefined;
    if (!root) throw new AsyncError(400, 'InvalidBatch', 'InvalidBatch : An XML batch is an <sObjects> element of <sObject> records');
    objects = (root.sObject ?? []).map((o) => {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(o)) {
        if (k.startsWith('@_')) continue;
        // `<Field xsi:nil="true"/>` sets null; nested `<Account><Ext__c>…</Ext__c></Account>` is a parent reference.
        out[k] = v && typeof v === 'object' && (v as Record<string, unknown>)['@_nil'] === 'true' ? null : v;
      }
      return out;
    });
  }
  const header: string[] = [];
  const flat = objects.map((o) => {
    const row: Record<string, string> = {};
    for (const [k, v] of Object.entries(o)) {
      if (k === 'attributes') continue;
      if (v && typeof v === 'object') {
        for (const [ck, cv] of Object.entries(v as Record<string, unknown>)) if (ck !== 'attributes' && !ck.startsWith('@_')) row[`${k}.${ck}`] = String(cv);
      } else row[k] = v === null ? '#N/A' : String(v);
    }
    for (const k of Object.keys(row)) if (!header.includes(k)) header.push(k);
    return row;
  });
  return { header, rows: flat.map((r) => header.map((h) => r[h] ?? '')) };
}

/** `POST /job/{id}/batch`: stores the request and hands it to the engine (one engine job per batch). */
async function addBatch(ctx: Ctx, params: Record<string, string>): Promise<Response> {
  const apiVersion = version(ctx, params);
  const job = requireJob1(ctx, params.jobId);
  const wire = wireOf(job);
  if (job.state !== 'Open') throw new AsyncError(400, 'InvalidJobState', `Job ${job.id} is ${job.state}: batches can be added only while it is Open`);
  const type = (ctx.req.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
  const expected = { CSV: 'text/csv', XML: 'application/xml', JSON: 'application/json' }[job.contentType];
  if (type !== expected && !(job.contentType === 'XML' && type === 'text/xml')) {
    throw new AsyncError(400, 'InvalidBatch', `InvalidBatch : Content-Type ${type || '(none)'} does not match the job's content type ${job.contentType}; send ${expected}`);
  }
  const text = await ctx.req.text();
  const store = storeFor(ctx);
  const engine = bulkEngine(ctx.org);
  const now = ctx.org.clock.now();
  const batchId = store.newBatchId();
  const base = { columnDelimiter: 'COMMA', lineEnding: 'LF', apiVersion, createdById: job.createdById, createdDate: now, systemModstamp: now };
  if (job.operation.startsWith('query')) {
    const soql = text.trim();
    try {
      compileBulkQuery(ctx.org, soql, job.operation === 'queryAll');
    } catch (err) {
      store.insertBatch({ id: batchId, jobId: job.id, engineJob: null, createdDate: now, request: text, fixedState: 'Failed', stateMessage: `InvalidBatch : Failed to process query: ${(err as { errorCode?: string }).errorCode ?? 'MALFORMED_QUERY'}: ${(err as Error).message}` });
      return respond(wire, 'batchInfo', forWire(wire, batchInfo(ctx, store.batch(job.id, batchId)!)), 201);
    }
    const queryJob = (q: string, id: string) => {
      const engineId = engine.store.newJobId();
      engine.store.insert({ id: engineId, kind: 'query', operation: job.operation, object: job.object, externalIdFieldName: null, assignmentRuleId: null, query: q, state: 'UploadComplete', ...base });
      store.insertBatch({ id, jobId: job.id, engineJob: engineId, createdDate: now, request: q, fixedState: null, stateMessage: null });
    };
    if (job.pkChunking) {
      // The original batch is not processed; one batch per chunk of Ids runs the query over its range.
      store.insertBatch({ id: batchId, jobId: job.id, engineJob: null, createdDate: now, request: text, fixedState: 'NotProcessed', stateMessage: null });
      for (const q of chunkQueries(ctx, job, soql)) queryJob(q, store.newBatchId());
    } else {
      queryJob(soql, batchId);
    }
  } else {
    const { header, rows } = batchRows(job, text);
    if (rows.length > MAX_BATCH_RECORDS) throw new AsyncError(400, 'InvalidBatch', `InvalidBatch : Records in a batch exceeded ${MAX_BATCH_RECORDS}: split the data into batches of at most ${MAX_BATCH_RECORDS} records`);
    const engineId = engine.store.newJobId();
    ctx.org.store.transaction(() => {
      engine.store.insert({ id: engineId, kind: 'ingest', operation: job.operation, object: job.object, externalIdFieldName: job.externalIdFieldName, assignmentRuleId: job.assignmentRuleId, query: null, state: 'Open', ...base });
      const insert = ctx.org.store.prepare('INSERT INTO _bulk_row (job_id, seq, data) VALUES (?, ?, ?)');
      rows.forEach((cells, seq) => insert.run(engineId, seq, JSON.stringify(cells)));
      engine.store.update(engineId, { header: JSON.stringify(header), totalRows: rows.length, uploaded: 1, uploadedBytes: Buffer.byteLength(text), state: 'UploadComplete' });
      store.insertBatch({ id: batchId, jobId: job.id, engineJob: engineId, createdDate: now, request: text, fixedState: null, stateMessage: null });
    });
  }
  engine.kick();
  return respond(wire, 'batchInfo', forWire(wire, batchInfo(ctx, store.batch(job.id, batchId)!)), 201);
}

/** The chunk queries of a PK-chunked query: the original SOQL with `Id >= lo AND Id < hi` per chunk of Ids. */
function chunkQueries(ctx: Ctx, job: Job1Row, soql: string): string[] {
  const size = Number(/chunkSize=(\d+)/.exec(job.pkChunking!)![1]);
  const start = /startRow=(\w+)/.exec(job.pkChunking!)?.[1] ?? '';
  const table = `"${job.object.replace(/"/g, '""')}"`;
  const bounds = ctx.org.store.prepare(`SELECT Id FROM (SELECT Id, ROW_NUMBER() OVER (ORDER BY Id) - 1 AS n FROM ${table} WHERE Id >= ?) WHERE n % ? = 0 ORDER BY Id`).all(start, size).map((r) => String(r.Id));
  if (bounds.length === 0) bounds.push(start || '000000000000000AAA');
  // The parser's WhereClause types do not model appending to a chain; this is the same shape, loosely typed.
  type Chain = { left: Record<string, unknown> | null; operator?: string; right?: Chain };
  return bounds.map((lo, i) => {
    const ast = parseQuery(soql) as unknown as { where?: Chain };
    const cond = (op: string, id: string): Chain => ({ left: { field: 'Id', operator: op, value: `'${id}'`, literalType: 'STRING' } });
    let range: Chain = cond('>=', lo);
    if (bounds[i + 1]) range = { ...range, operator: 'AND', right: cond('<', bounds[i + 1]) };
    if (ast.where) {
      // (original) AND range: parenthesise the original condition chain.
      const orig = ast.where;
      orig.left = { ...orig.left, openParen: Number(orig.left?.openParen ?? 0) + 1 };
      let last: Chain = orig;
      while (last.right) last = last.right;
      last.left = { ...last.left, closeParen: Number(last.left?.closeParen ?? 0) + 1 };
      last.operator = 'AND';
      last.right = range;
    } else {
      ast.where = range;
    }
    return composeQuery(ast as unknown as Query);
  });
}

/** Results of a DML batch, in the job's format: CSV `Id,Success,Created,Error`, XML `<results>`, JSON array. */
function ingestResults(ctx: Ctx, job: Job1Row, b: Batch1Row): Response {
  const rows = ctx.org.store.prepare('SELECT record_id, status, created, error FROM _bulk_row WHERE job_id = ? AND status IS NOT NULL ORDER BY seq').all(b.engineJob);
  const parsed = rows.map((r) => ({ id: r.record_id === null ? null : String(r.record_id), success: r.status === 1, created: r.created === 1, error: r.error === null ? null : String(r.error) }));
  if (job.contentType === 'CSV') {
    const lines = ['"Id","Success","Created","Error"', ...parsed.map((r) => [csvQuoted(r.id ?? ''), csvQuoted(String(r.success)), csvQuoted(String(r.created)), csvQuoted(r.error ?? '')].join(','))];
    return new Response(lines.join('\n') + '\n', { headers: { 'content-type': 'text/csv' } });
  }
  const errors = (e: string | null) => {
    if (!e) return [];
    // `CODE:message:Field1,Field2 --` (see bulk/ingest.ts formatRowError).
    const m = /^([A-Z_]+):([\s\S]*):(?:([^:]*) )?--$/.exec(e);
    return [{ fields: m?.[3] ? m[3].split(',') : [], message: m ? m[2] : e, statusCode: m ? m[1] : 'UNKNOWN_EXCEPTION' }];
  };
  if (job.contentType === 'JSON') return respond('JSON', 'results', parsed.map((r) => ({ success: r.success, created: r.created, id: r.id, errors: errors(r.error) })));
  const body = { result: parsed.map((r) => ({ ...(r.success ? { id: r.id } : { errors: errors(r.error) }), success: r.success, created: r.created })) };
  return respond('XML', 'results', body);
}

const ready = (state: string) => state === 'Completed' || (state === 'Failed');

/** `GET …/batch/{id}/result`: DML results, or the result list of a query batch. */
function batchResult(ctx: Ctx, params: Record<string, string>): Response {
  version(ctx, params);
  const job = requireJob1(ctx, params.jobId);
  const b = requireBatch(ctx, job, params.batchId);
  const { state } = batchState(bulkEngine(ctx.org), b);
  if (!ready(state) || !b.engineJob) throw new AsyncError(400, 'InvalidBatch', `Batch not completed: its state is ${state}`);
  if (!job.operation.startsWith('query')) return ingestResults(ctx, job, b);
  const resultId = storeFor(ctx).resultId(b.id);
  return job.contentType === 'JSON' ? respond('JSON', 'result-list', [resultId]) : respond('XML', 'result-list', { result: resultId });
}

/** `GET …/batch/{id}/result/{resultId}`: a query batch's records as CSV, XML or JSON. */
function queryResult(ctx: Ctx, params: Record<string, string>): Response {
  version(ctx, params);
  const job = requireJob1(ctx, params.jobId);
  const b = requireBatch(ctx, job, params.batchId);
  if (!b.engineJob || storeFor(ctx).resultId(b.id) !== params.resultId) throw new AsyncError(400, 'InvalidBatch', `Unable to find result for id: ${params.resultId}`);
  const engineJob = bulkEngine(ctx.org).store.get(b.engineJob)!;
  if (engineJob.state !== 'JobComplete') throw new AsyncError(400, 'InvalidBatch', `Batch not completed: its state is ${batchState(bulkEngine(ctx.org), b).state}`);
  const header = JSON.parse(engineJob.header ?? '[]') as string[];
  const lines = ctx.org.store.prepare('SELECT line FROM _bulk_qrow WHERE job_id = ? ORDER BY seq').all(b.engineJob).map((r) => String(r.line));
  if (job.contentType === 'CSV') {
    if (lines.length === 0) return new Response('Records not found for this query', { headers: { 'content-type': 'text/csv' } });
    return new Response([header.map((h) => csvQuoted(h)).join(','), ...lines].join('\n') + '\n', { headers: { 'content-type': 'text/csv' } });
  }
  const cells = lines.length ? (parseCsv(lines.join('\n'), { relax_column_count: true }) as string[][]) : [];
  const records = cells.map((row) => {
    const rec: Record<string, unknown> = { attributes: { type: job.object, url: `/services/data/v${job.apiVersion}/sobjects/${job.object}/${row[header.indexOf('Id')] ?? ''}` } };
    header.forEach((h, i) => {
      const f = ctx.org.schema.field(job.object, h);
      const v = row[i] ?? '';
      // JSON results carry typed values; datetimes are epoch milliseconds, as Bulk 1.0 writes them.
      rec[h] = v === '' ? null : f?.type === 'boolean' ? v === 'true' : f && ['int', 'double', 'currency', 'percent', 'long'].includes(f.type) ? Number(v) : f?.type === 'datetime' ? Date.parse(v) : v;
    });
    return rec;
  });
  if (job.contentType === 'JSON') return respond('JSON', 'queryResult', records);
  return respond('XML', 'queryResult', { records: records.map(({ attributes: _a, ...r }) => ({ ...r })) });
}

export function registerBulk1Routes(router: Router<Ctx>): void {
  router.on('POST', `${BASE}/job`, (ctx, p) => createJob(ctx, p));
  router.on('GET', `${BASE}/job/:jobId`, (ctx, p) => {
    version(ctx, p);
    const job = requireJob1(ctx, p.jobId);
    return respond(wireOf(job), 'jobInfo', forWire(wireOf(job), jobInfo(ctx, job)));
  });
  router.on('POST', `${BASE}/job/:jobId`, (ctx, p) => changeJob(ctx, p));
  router.on('POST', `${BASE}/job/:jobId/batch`, (ctx, p) => addBatch(ctx, p));
  router.on('GET', `${BASE}/job/:jobId/batch`, (ctx, p) => {
    version(ctx, p);
    const job = requireJob1(ctx, p.jobId);
    const list = storeFor(ctx).batches(job.id).map((b) => forWire(wireOf(job), batchInfo(ctx, b)));
    return respond(wireOf(job), 'batchInfoList', { batchInfo: list });
  });
  router.on('GET', `${BASE}/job/:jobId/batch/:batchId`, (ctx, p) => {
    version(ctx, p);
    const job = requireJob1(ctx, p.jobId);
    return respond(wireOf(job), 'batchInfo', forWire(wireOf(job), batchInfo(ctx, requireBatch(ctx, job, p.batchId))));
  });
  router.on('GET', `${BASE}/job/:jobId/batch/:batchId/request`, (ctx, p) => {
    version(ctx, p);
    const job = requireJob1(ctx, p.jobId);
    const b = requireBatch(ctx, job, p.batchId);
    const type = job.operation.startsWith('query') ? 'text/plain' : { CSV: 'text/csv', XML: 'application/xml', JSON: 'application/json' }[job.contentType];
    return new Response(b.request, { headers: { 'content-type': type } });
  });
  router.on('GET', `${BASE}/job/:jobId/batch/:batchId/result`, (ctx, p) => batchResult(ctx, p));
  router.on('GET', `${BASE}/job/:jobId/batch/:batchId/result/:resultId`, (ctx, p) => queryResult(ctx, p));
}

/**
 * `/services/data/vXX.X/jobs/ingest`: create, upload, close/abort, info, results, delete and list of Bulk API
 * 2.0 ingest jobs. Uploads stream into SQLite; processing happens in the background engine.
 */
import type { Ctx } from '../app.ts';
import { readJson } from '../http/respond.ts';
import type { Router } from '../http/router.ts';
import type { Params } from '../http/router.ts';
import { csvCell, csvQuoted, DELIMITERS, LINE_ENDINGS, parseUpload, UploadTooLargeError } from './csv.ts';
import { bulkEngine, type BulkEngine } from './engine.ts';
import { bulkError, jobInfo, jobJson, listJobs, requireJob } from './jobs.ts';
import { FINAL_STATES, INGEST_OPERATIONS, type JobRow } from './store.ts';

const BASE = '/services/data/:version/jobs/ingest';
/** Rows per SQLite transaction while storing an upload, and per read while streaming results. */
const IO_BATCH = 1000;

/** Bulk 2.0 ingest arrived in v41.0; older versions do not have the resource. */
function engineFor(ctx: Ctx): BulkEngine {
  if (Number(ctx.version) < 41) throw bulkError(404, 'NOT_FOUND', 'The requested resource does not exist');
  return bulkEngine(ctx.org);
}

interface IngestSpec {
  object?: unknown;
  operation?: unknown;
  externalIdFieldName?: unknown;
  contentType?: unknown;
  columnDelimiter?: unknown;
  lineEnding?: unknown;
  assignmentRuleId?: unknown;
}

/** Validates a job spec the way `POST /jobs/ingest` does and stores the new Open job. */
function createIngestJob(ctx: Ctx, engine: BulkEngine, spec: IngestSpec): JobRow {
  const invalid = (message: string) => bulkError(400, 'INVALIDJOB', message);
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) throw bulkError(400, 'JSON_PARSER_ERROR', 'The request body must be a JSON object');
  if (typeof spec.object !== 'string' || spec.object === '') throw invalid('InvalidJob : Object is required');
  if (typeof spec.operation !== 'string' || !(INGEST_OPERATIONS as readonly string[]).includes(spec.operation)) {
    throw invalid(`InvalidJob : Invalid operation: ${String(spec.operation ?? '')}`);
  }
  const def = ctx.org.schema.get(spec.object);
  if (!def) throw bulkError(400, 'NOT_FOUND', `sObject type '${spec.object}' is not supported.`);
  const contentType = spec.contentType ?? 'CSV';
  if (contentType !== 'CSV') throw invalid(`InvalidJob : Unsupported content type: ${String(contentType)}`);
  const columnDelimiter = spec.columnDelimiter ?? 'COMMA';
  if (typeof columnDelimiter !== 'string' || !(columnDelimiter in DELIMITERS)) throw invalid(`InvalidJob : Invalid column delimiter: ${String(columnDelimiter)}`);
  const lineEnding = spec.lineEnding ?? 'LF';
  if (typeof lineEnding !== 'string' || !(lineEnding in LINE_ENDINGS)) throw invalid(`InvalidJob : Invalid line ending: ${String(lineEnding)}`);
  let externalIdFieldName: string | null = null;
  if (spec.operation === 'upsert') {
    if (typeof spec.externalIdFieldName !== 'string' || spec.externalIdFieldName === '') {
      throw invalid(`InvalidJob : External ID was blank for ${def.name}. An External ID must be specified for upsert.`);
    }
    const f = ctx.org.schema.field(def.name, spec.externalIdFieldName);
    if (!f || f.hidden || !(f.externalId || f.idLookup || f.name === 'Id')) {
      throw invalid(`InvalidJob : Field name provided, ${spec.externalIdFieldName} is not an External ID or indexed field for ${def.name}`);
    }
    externalIdFieldName = f.name;
  }
  const assignmentRuleId = typeof spec.assignmentRuleId === 'string' && spec.assignmentRuleId !== '' ? spec.assignmentRuleId : null;
  engine.purgeExpired();
  const now = ctx.org.clock.now();
  const id = engine.store.newJobId();
  engine.store.insert({
    id, kind: 'ingest', operation: spec.operation, object: def.name, externalIdFieldName, assignmentRuleId, query: null,
    state: 'Open', columnDelimiter, lineEnding, apiVersion: ctx.version, createdById: ctx.session!.userId,
    createdDate: now, systemModstamp: now,
  });
  return engine.store.get(id)!;
}

/** Streams an upload into `_bulk_row`, one transaction per `IO_BATCH` rows, and records what was received. */
async function storeUpload(ctx: Ctx, engine: BulkEngine, job: JobRow, body: ReadableStream<Uint8Array> | null): Promise<void> {
  const delimiter = DELIMITERS[job.columnDelimiter];
  const upload = parseUpload(body, delimiter, engine.settings.maxUploadBytes);
  const db = ctx.org.store;
  const insert = db.prepare('INSERT INTO _bulk_row (job_id, seq, data) VALUES (?, ?, ?)');
  let header: string[] | null = null;
  let seq = 0;
  let batch: string[][] = [];
  let pendingError: string | null = null;
  const flush = () => {
    if (batch.length === 0) return;
    const rows = batch;
    batch = [];
    db.transaction(() => {
      for (const cells of rows) insert.run(job.id, seq++, JSON.stringify(cells));
    });
  };
  engine.store.update(job.id, { uploaded: 1 });
  try {
    for await (const record of upload.records) {
      if (header === null) header = record;
      else batch.push(record);
      if (batch.length >= IO_BATCH) flush();
    }
    flush();
  } catch (err) {
    if (err instanceof UploadTooLargeError) {
      // Nothing of an oversized upload is kept; the job stays Open for a smaller one.
      db.prepare('DELETE FROM _bulk_row WHERE job_id = ?').run(job.id);
      engine.store.update(job.id, { uploaded: 0 });
      const mb = Math.round((engine.settings.maxUploadBytes * 4) / 3 / (1024 * 1024));
      throw bulkError(413, 'REQUEST_ENTITY_TOO_LARGE', `The request exceeded the maximum upload size of ${mb} MB (base64-encoded) for a Bulk API 2.0 job.`);
    }
    flush();
    pendingError = `ClientInputError : Unable to parse CSV data: ${(err as Error).message}`;
  }
  const detected = upload.detectedLineEnding();
  if (!pendingError && detected && detected !== job.lineEnding) {
    pendingError = `ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is ${job.lineEnding}`;
  }
  engine.store.update(job.id, {
    header: header ? JSON.stringify(header) : null,
    totalRows: seq,
    uploadedBytes: upload.bytes(),
    pendingError,
    systemModstamp: ctx.org.clock.now(),
  });
}

async function uploadData(ctx: Ctx, params: Params): Promise<Response> {
  const engine = engineFor(ctx);
  const job = requireJob(engine, 'ingest', params.id);
  if (job.state !== 'Open') throw bulkError(409, 'INVALIDJOBSTATE', `Unable to upload data to a job in state ${job.state}; data can only be uploaded while the job is Open.`);
  if (job.uploaded) throw bulkError(400, 'INVALIDJOB', 'Data has already been uploaded to this job. A Bulk API 2.0 job accepts one upload; create another job for more data.');
  const type = (ctx.req.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'text/csv') throw bulkError(415, 'INVALID_CONTENT_TYPE', `Unsupported Content-Type: ${type || '(none)'}; upload job data as text/csv.`);
  await storeUpload(ctx, engine, job, ctx.req.body);
  return new Response(null, { status: 201 });
}

async function patchJob(ctx: Ctx, params: Params): Promise<Response> {
  const engine = engineFor(ctx);
  const job = requireJob(engine, 'ingest', params.id);
  const body = await readJson<{ state?: unknown }>(ctx.req);
  const target = body && typeof body === 'object' ? body.state : undefined;
  const now = ctx.org.clock.now();
  if (target === 'UploadComplete') {
    if (job.state !== 'Open') throw bulkError(409, 'INVALIDJOBSTATE', `Job state ${job.state} cannot be changed to UploadComplete`);
    // A job closed without an upload has nothing to do: it completes with 0 records processed.
    engine.store.update(job.id, { state: 'UploadComplete', pendingError: job.pendingError, systemModstamp: now });
    engine.kick();
  } else if (target === 'Aborted') {
    if (FINAL_STATES.includes(job.state)) throw bulkError(409, 'INVALIDJOBSTATE', `Job state ${job.state} cannot be changed to Aborted`);
    // Processing checks the state between chunks, so rows already committed stay processed; the rest never run.
    engine.store.update(job.id, { state: 'Aborted', systemModstamp: now });
    engine.forget(job.id);
  } else {
    throw bulkError(400, 'INVALIDJOBSTATE', `Invalid state: ${String(target)}; use UploadComplete or Aborted`);
  }
  return jobJson(jobInfo(engine.store.get(job.id)!, false));
}

function deleteJob(ctx: Ctx, params: Params): Response {
  const engine = engineFor(ctx);
  const job = requireJob(engine, 'ingest', params.id);
  if (job.state === 'Open' || job.state === 'InProgress') {
    throw bulkError(409, 'INVALIDJOBSTATE', `Unable to delete a job in state ${job.state}; close or abort it first.`);
  }
  engine.forget(job.id);
  engine.store.delete(job.id);
  return new Response(null, { status: 204 });
}

type ResultKind = 'successful' | 'failed' | 'unprocessed';

/**
 * Streams a result file from SQLite in `IO_BATCH`-row reads keyed on the row sequence, so a result of any
 * size is served in constant memory. Rows come in upload order.
 */
function resultFile(ctx: Ctx, params: Params, kind: ResultKind): Response {
  const engine = engineFor(ctx);
  const job = requireJob(engine, 'ingest', params.id);
  const delimiter = DELIMITERS[job.columnDelimiter];
  const eol = LINE_ENDINGS[job.lineEnding];
  const header = job.header ? (JSON.parse(job.header) as string[]) : null;
  const headers = { 'content-type': 'text/csv' };
  if (!header) return new Response('', { status: 200, headers });
  const original = (cells: string[]) => header.map((_, i) => csvCell(cells[i] ?? '', delimiter)).join(delimiter);
  const prefix = kind === 'successful' ? ['"sf__Id"', '"sf__Created"'] : kind === 'failed' ? ['"sf__Id"', '"sf__Error"'] : [];
  const first = [...prefix, original(header)].join(delimiter) + eol;
  const where = kind === 'successful' ? 'status = 1' : kind === 'failed' ? 'status = 0' : 'status IS NULL';
  const sql = `SELECT seq, data, record_id, created, error FROM _bulk_row WHERE job_id = ? AND seq > ? AND ${where} ORDER BY seq LIMIT ${IO_BATCH}`;
  let after = -1;
  const encoder = new TextEncoder();
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(first));
    },
    pull(controller) {
      if (!ctx.org.store.db.isOpen) return controller.close();
      const rows = ctx.org.store.prepare(sql).all(job.id, after);
      let out = '';
      for (const r of rows) {
        after = Number(r.seq);
        const cells = JSON.parse(String(r.data)) as string[];
        const lead = kind === 'successful' ? [csvQuoted(String(r.record_id ?? '')), csvQuoted(r.created ? 'true' : 'false')] : kind === 'failed' ? [csvQuoted(String(r.record_id ?? '')), csvQuoted(String(r.error ?? ''))] : [];
        out += [...lead, original(cells)].join(delimiter) + eol;
      }
      if (out) controller.enqueue(encoder.encode(out));
      if (rows.length < IO_BATCH) controller.close();
    },
  });
  return new Response(stream, { status: 200, headers });
}

/**
 * The multipart form of create: a `job` part (JSON spec) and a `content` part (CSV). The job is created with
 * its data and closed in one call. Salesforce intends this for small files, so reading the form whole is fine.
 */
async function createMultipart(ctx: Ctx, engine: BulkEngine): Promise<Response> {
  let form: FormData;
  try {
    form = await ctx.req.formData();
  } catch (err) {
    throw bulkError(400, 'INVALIDJOB', `InvalidJob : Unable to parse the multipart request: ${(err as Error).message}`);
  }
  const specPart = form.get('job');
  const content = form.get('content');
  if (specPart === null || content === null) throw bulkError(400, 'INVALIDJOB', 'InvalidJob : A multipart request needs a job part and a content part');
  let spec: IngestSpec;
  try {
    spec = JSON.parse(typeof specPart === 'string' ? specPart : await specPart.text()) as IngestSpec;
  } catch (err) {
    throw bulkError(400, 'JSON_PARSER_ERROR', `Unexpected character in JSON body: ${(err as Error).message}`);
  }
  const job = createIngestJob(ctx, engine, spec);
  const data = typeof content === 'string' ? new Blob([content]) : content;
  engine.store.update(job.id, { uploaded: 1 });
  await storeUpload(ctx, engine, job, data.stream());
  const stored = engine.store.get(job.id)!;
  engine.store.update(job.id, { state: 'UploadComplete', pendingError: stored.pendingError, systemModstamp: ctx.org.clock.now() });
  engine.kick();
  return jobJson(jobInfo(engine.store.get(job.id)!, false));
}

/** Registers the ingest routes. */
export function registerIngestRoutes(router: Router<Ctx>): void {
  router.on('POST', BASE, async (ctx) => {
    const engine = engineFor(ctx);
    if (/^multipart\/form-data/i.test(ctx.req.headers.get('content-type') ?? '')) return createMultipart(ctx, engine);
    const job = createIngestJob(ctx, engine, await readJson<IngestSpec>(ctx.req));
    return jobJson(jobInfo(job, false));
  });
  router.on('GET', BASE, (ctx) => listJobs(ctx, engineFor(ctx), 'ingest'));
  router.on('GET', `${BASE}/:id`, (ctx, p) => {
    const engine = engineFor(ctx);
    return jobJson(jobInfo(requireJob(engine, 'ingest', p.id), true));
  });
  router.on('PATCH', `${BASE}/:id`, patchJob);
  router.on('DELETE', `${BASE}/:id`, deleteJob);
  router.on('PUT', `${BASE}/:id/batches`, uploadData);
  router.on('GET', `${BASE}/:id/successfulResults`, (ctx, p) => resultFile(ctx, p, 'successful'));
  router.on('GET', `${BASE}/:id/failedResults`, (ctx, p) => resultFile(ctx, p, 'failed'));
  router.on('GET', `${BASE}/:id/unprocessedrecords`, (ctx, p) => resultFile(ctx, p, 'unprocessed'));
}

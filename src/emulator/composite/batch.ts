/**
 * Batch (`POST /composite/batch`): up to 25 independent subrequests run serially, each committing on its own
 * (no shared transaction, no references). `haltOnError` stops at the first failure and reports the rest as
 * 412 BATCH_PROCESSING_HALTED.
 */
import type { Ctx } from '../app.ts';
import { SfError } from '../errors.ts';
import { json, readJson } from '../http/respond.ts';
import type { Router } from '../http/router.ts';
import { runSubrequest } from './subrequest.ts';

/** Most subrequests in one batch. */
export const MAX_BATCH_REQUESTS = 25;
/** Oldest API version a batch subrequest may use. */
export const MIN_BATCH_VERSION = 34;

const METHODS = new Set(['GET', 'POST', 'PATCH', 'PUT', 'DELETE', 'HEAD']);

interface BatchResult {
  statusCode: number;
  result: unknown;
}

function halted(): BatchResult {
  return { statusCode: 412, result: [{ errorCode: 'BATCH_PROCESSING_HALTED', message: 'Batch processing halted per request' }] };
}

function subError(errorCode: string, message: string): BatchResult {
  return { statusCode: 400, result: [{ errorCode, message }] };
}

/** `v62.0/sobjects/…` (relative to /services/data/; a leading `/services/data/` is tolerated) → absolute path. */
function absolutePath(url: string): { path: string; version: number } | null {
  const rel = url.replace(/^\/+/, '').replace(/^services\/data\//, '');
  const m = /^v(\d+\.\d)(\/.*)?$/.exec(rel.split('?')[0]);
  return m ? { path: `/services/data/${rel}`, version: Number(m[1]) } : null;
}

/** Registers `POST /composite/batch`. */
export function registerBatchRoutes(router: Router<Ctx>): void {
  router.on('POST', '/services/data/:version/composite/batch', async (ctx) => {
    if (Number(ctx.version) < MIN_BATCH_VERSION) throw new SfError(404, 'NOT_FOUND', 'The requested resource does not exist');
    const body = await readJson<Record<string, unknown>>(ctx.req);
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new SfError(400, 'JSON_PARSER_ERROR', 'The request body must be a JSON object');
    if (body.haltOnError !== undefined && typeof body.haltOnError !== 'boolean') {
      throw new SfError(400, 'JSON_PARSER_ERROR', `Cannot deserialize value of type boolean from ${JSON.stringify(body.haltOnError)} at [haltOnError]`);
    }
    const requests = body.batchRequests;
    if (!Array.isArray(requests) || requests.length === 0) throw new SfError(400, 'JSON_PARSER_ERROR', 'batchRequests must be a non-empty JSON array');
    if (requests.length > MAX_BATCH_REQUESTS) {
      throw new SfError(400, 'INVALID_BATCH_REQUEST', `The number of batch requests (${requests.length}) exceeds the limit of ${MAX_BATCH_REQUESTS}.`);
    }
    // The whole body is checked before anything runs: an undeserializable entry fails the call, not one slot.
    const parsed = requests.map((r: unknown, i: number) => {
      if (r === null || typeof r !== 'object' || Array.isArray(r)) throw new SfError(400, 'JSON_PARSER_ERROR', `batchRequests[${i}] must be a JSON object`);
      const e = r as Record<string, unknown>;
      const method = typeof e.method === 'string' ? e.method.toUpperCase() : '';
      if (!METHODS.has(method)) throw new SfError(400, 'JSON_PARSER_ERROR', `batchRequests[${i}].method must be one of ${[...METHODS].join(', ')}`);
      if (typeof e.url !== 'string') throw new SfError(400, 'JSON_PARSER_ERROR', `batchRequests[${i}].url is required`);
      return { method, url: e.url, richInput: e.richInput };
    });
    const results: BatchResult[] = [];
    let stop = false;
    for (const sub of parsed) {
      if (stop) {
        results.push(halted());
        continue;
      }
      const target = absolutePath(sub.url);
      let result: BatchResult;
      if (!target) {
        result = subError('INVALID_BATCH_REQUEST', `The batch subrequest URL must start with the API version, e.g. v${ctx.version}/sobjects: ${sub.url}`);
      } else if (target.version < MIN_BATCH_VERSION || target.version > Number(ctx.version)) {
        result = subError('INVALID_BATCH_REQUEST', `The batch subrequest version must be between ${MIN_BATCH_VERSION}.0 and ${ctx.version}: ${sub.url}`);
      } else if (/^\/services\/data\/v\d+\.\d\/composite(\/|\?|$)/.test(target.path)) {
        result = subError('INVALID_BATCH_REQUEST', `Composite resources cannot be nested in a batch: ${sub.url}`);
      } else {
        const res = await runSubrequest(ctx, sub.method, target.path, sub.richInput);
        result = { statusCode: res.status, result: res.body };
      }
      results.push(result);
      if (result.statusCode >= 400 && body.haltOnError === true) stop = true;
    }
    return json({ hasErrors: results.some((r) => r.statusCode >= 400), results });
  });
}

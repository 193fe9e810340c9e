/**
 * Composite (`POST /composite`) and Composite Graph (`POST /composite/graph`): ordered subrequests whose
 * URLs and bodies may reference earlier results with `@{referenceId.path}`.
 *
 * allOrNone runs the whole request through `atomically`: an exclusive section of the org write lock plus a
 * savepoint spanning every subrequest, because subrequests are async and the savepoint must stay open across
 * their awaits (see write-lock.ts for why other writers have to wait meanwhile). Without allOrNone each
 * subrequest commits on its own, as on Salesforce.
 *
 * `collateSubrequests` only lets Salesforce reorder independent subrequests; the emulator always runs them
 * serially in request order, which is one of the orders a real org may choose.
 */
import type { Ctx } from '../app.ts';
import { SfError } from '../errors.ts';
import { json, readJson } from '../http/respond.ts';
import type { Router } from '../http/router.ts';
import { runSubrequest } from './subrequest.ts';
import { atomically } from './write-lock.ts';

/** Most subrequests in one Composite request. */
export const MAX_SUBREQUESTS = 25;
/** Most query/queryAll or sObject Collections subrequests in one Composite request. */
export const MAX_QUERY_OR_COLLECTION_SUBREQUESTS = 5;
/** Most graphs in one Composite Graph request. */
export const MAX_GRAPHS = 75;
/** Most nodes across all graphs of one Composite Graph request. */
export const MAX_GRAPH_NODES = 500;
/** After this many failed graphs the remaining ones are not run. */
export const MAX_FAILED_GRAPHS = 14;

const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);
const FORBIDDEN_HEADERS = new Set(['accept', 'authorization', 'content-type']);
const REFERENCE_ID = /^[A-Za-z0-9][A-Za-z0-9_]*$/;
const DATA_PATH = /^\/services\/data\/v\d+\.\d(\/|$)/;

const ROLLED_BACK_MESSAGE = 'The transaction was rolled back since another operation in the same transaction failed.';

/** One validated subrequest. */
interface SubRequest {
  method: string;
  url: string;
  referenceId: string;
  body: unknown;
  httpHeaders: Record<string, string>;
}

/** One entry of `compositeResponse`, keys in Salesforce's order. */
interface CompositeItem {
  body: unknown;
  httpHeaders: Record<string, string>;
  httpStatusCode: number;
  referenceId: string;
}

/** Which resources a subrequest may target (the part of the path after `/services/data/vXX.X/`). */
type TargetRule = (method: string, resource: string) => boolean;

/** Composite: sObject resources (not blobs), query/queryAll, and sObject Collections. */
const compositeTargets: TargetRule = (_m, r) => /^(sobjects|query|queryAll)(\/|$)/.test(r) || /^composite\/sobjects(\/|$)/.test(r);

/** Graph: record create, record read/update/delete by Id or external ID; no collections or queries. */
const graphTargets: TargetRule = (m, r) => {
  const parts = r.split('/').filter(Boolean);
  if (parts[0] !== 'sobjects') return false;
  if (parts.length === 2) return m === 'POST';
  return (parts.length === 3 || parts.length === 4) && (m === 'GET' || m === 'PATCH' || m === 'DELETE');
};

function envelopeError(message: string, errorCode = 'INVALID_BATCH_REQUEST'): SfError {
  return new SfError(400, errorCode, message);
}

function resourceOf(url: string): string {
  return url.split('?')[0].replace(/^\/services\/data\/v\d+\.\d\/?/, '');
}

const isQueryOrCollection = (url: string): boolean => /^(query|queryAll|composite\/sobjects)(\/|$)/.test(resourceOf(url));

/** Validates the `compositeRequest` array; structural problems fail the whole request with HTTP 400. */
function parseSubrequests(raw: unknown, where = 'compositeRequest'): SubRequest[] {
  if (!Array.isArray(raw)) throw envelopeError(`${where} must be a JSON array`, 'JSON_PARSER_ERROR');
  const seen = new Set<string>();
  return raw.map((entry, i): SubRequest => {
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) throw envelopeError(`${where}[${i}] must be a JSON object`, 'JSON_PARSER_ERROR');
    const e = entry as Record<string, unknown>;
    const method = typeof e.method === 'string' ? e.method.toUpperCase() : '';
    if (!METHODS.has(method)) throw envelopeError(`${where}[${i}].method must be one of GET, POST, PUT, PATCH, DELETE`, 'JSON_PARSER_ERROR');
    if (typeof e.url !== 'string' || !DATA_PATH.test(e.url)) throw envelopeError(`${where}[${i}].url must begin with /services/data/vXX.X/`);
    if (typeof e.referenceId !== 'string' || e.referenceId === '') throw envelopeError(`${where}[${i}].referenceId is required`);
    if (!REFERENCE_ID.test(e.referenceId)) {
      throw envelopeError(`Invalid referenceId ('${e.referenceId}'): a referenceId must start with a letter or number and contain only letters, numbers and underscores.`);
    }
    if (seen.has(e.referenceId)) throw envelopeError(`Duplicate referenceId provided in the request: ${e.referenceId}`);
    seen.add(e.referenceId);
    const httpHeaders: Record<string, string> = {};
    if (e.httpHeaders !== undefined && e.httpHeaders !== null) {
      if (typeof e.httpHeaders !== 'object' || Array.isArray(e.httpHeaders)) throw envelopeError(`${where}[${i}].httpHeaders must be a JSON object`, 'JSON_PARSER_ERROR');
      for (const [k, v] of Object.entries(e.httpHeaders as Record<string, unknown>)) {
        if (FORBIDDEN_HEADERS.has(k.toLowerCase())) throw envelopeError(`The ${k} header is not allowed in a composite subrequest.`);
        httpHeaders[k] = String(v);
      }
    }
    return { method, url: e.url, referenceId: e.referenceId, body: e.body, httpHeaders };
  });
}

/** Thrown while resolving `@{…}` when the referenced value is not available. */
class ReferenceError_ extends Error {}

const REF_PATTERN = /@\{([^}]*)\}/g;

/** Walks `ref.a.b[0].c` through the body of an earlier successful subrequest. */
function lookup(expr: string, results: Map<string, unknown>, nullAllowed: boolean): unknown {
  const m = /^([A-Za-z0-9][A-Za-z0-9_]*)(.*)$/.exec(expr);
  const fail = () => new ReferenceError_(`Invalid reference specified. No value for ${expr} found in ${m?.[1] ?? expr}`);
  if (!m || !results.has(m[1])) throw fail();
  let value = results.get(m[1]);
  const steps = m[2].match(/\.[^.[\]]+|\[\d+\]/g) ?? [];
  if (steps.join('') !== m[2]) throw fail();
  for (const step of steps) {
    if (value === null || typeof value !== 'object') throw fail();
    if (step.startsWith('[')) {
      if (!Array.isArray(value)) throw fail();
      value = value[Number(step.slice(1, -1))];
    } else {
      const key = step.slice(1);
      const obj = value as Record<string, unknown>;
      // Record JSON keys are API names; Salesforce resolves them regardless of the casing used in the reference.
      const actual = key in obj ? key : Object.keys(obj).find((k) => k.toLowerCase() === key.toLowerCase());
      value = actual === undefined ? undefined : obj[actual];
    }
    if (value === undefined) throw fail();
  }
  if (value === null && !nullAllowed) throw fail();
  return value;
}

function asText(v: unknown): string {
  if (v === null) return '';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** Resolves references inside one string; a string that is exactly one reference keeps the value's JSON type. */
function resolveString(s: string, results: Map<string, unknown>, nullAllowed: boolean): unknown {
  const whole = /^@\{([^}]*)\}$/.exec(s);
  if (whole) return lookup(whole[1], results, nullAllowed);
  return s.replace(REF_PATTERN, (_, expr: string) => asText(lookup(expr, results, nullAllowed)));
}

function resolveValue(v: unknown, results: Map<string, unknown>, nullAllowed: boolean): unknown {
  if (typeof v === 'string') return v.includes('@{') ? resolveString(v, results, nullAllowed) : v;
  if (Array.isArray(v)) return v.map((x) => resolveValue(x, results, nullAllowed));
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = resolveValue(x, results, nullAllowed);
    return out;
  }
  return v;
}

function errorItem(referenceId: string, status: number, errorCode: string, message: string): CompositeItem {
  return { body: [{ errorCode, message }], httpHeaders: {}, httpStatusCode: status, referenceId };
}

/** A Collections write whose own results report a failure (the HTTP status stays 200). */
function collectionFailed(body: unknown): boolean {
  return Array.isArray(body) && body.some((r) => r !== null && typeof r === 'object' && (r as { success?: unknown }).success === false);
}

/**
 * Runs subrequests in order. Under allOrNone the first failure stops execution; `failedAt` tells the caller
 * to roll back and which entry keeps its real error.
 */
async function execute(ctx: Ctx, subs: SubRequest[], allOrNone: boolean, allowed: TargetRule): Promise<{ items: CompositeItem[]; failedAt: number }> {
  const items: CompositeItem[] = [];
  const results = new Map<string, unknown>();
  const nullAllowed = Number(ctx.version) >= 52;
  let failedAt = -1;
  for (const [i, sub] of subs.entries()) {
    if (allOrNone && failedAt >= 0) break;
    let url: string;
    let body: unknown;
    try {
      url = asText(resolveString(sub.url, results, nullAllowed));
      body = resolveValue(sub.body, results, nullAllowed);
    } catch (err) {
      if (!(err instanceof ReferenceError_)) throw err;
      items.push(errorItem(sub.referenceId, 400, 'PROCESSING_HALTED', err.message));
      if (failedAt < 0) failedAt = i;
      continue;
    }
    const resource = resourceOf(url);
    if (!allowed(sub.method, resource)) {
      items.push(errorItem(sub.referenceId, 400, 'INVALID_BATCH_REQUEST', `The resource ${url.split('?')[0]} is not supported in this request. Use sObject, query or sObject Collections resources.`));
      if (failedAt < 0) failedAt = i;
      continue;
    }
    const isCollectionWrite = /^composite\/sobjects\/?$/.test(resource) || (sub.method === 'PATCH' && /^composite\/sobjects\/[^/]+\/[^/]+\/?$/.test(resource));
    if (allOrNone && isCollectionWrite) {
      // The top-level allOrNone overrides the collection's own flag.
      if (sub.method === 'DELETE') {
        const u = new URL(url, ctx.url.origin);
        u.searchParams.set('allOrNone', 'true');
        url = u.pathname + u.search;
      } else if (body !== null && typeof body === 'object' && !Array.isArray(body)) {
        body = { ...(body as Record<string, unknown>), allOrNone: true };
      }
    }
    const res = await runSubrequest(ctx, sub.method, url, body, sub.httpHeaders);
    items.push({ body: res.body, httpHeaders: res.headers, httpStatusCode: res.status, referenceId: sub.referenceId });
    const failed = res.status >= 400 || (allOrNone && isCollectionWrite && collectionFailed(res.body));
    if (failed) {
      if (failedAt < 0) failedAt = i;
    } else {
      results.set(sub.referenceId, res.body);
    }
  }
  return { items, failedAt };
}

/** Runs a subrequest list, atomically when asked, and renders `compositeResponse`. */
async function runComposite(ctx: Ctx, subs: SubRequest[], allOrNone: boolean, allowed: TargetRule): Promise<{ items: CompositeItem[]; ok: boolean }> {
  if (!allOrNone) {
    const { items, failedAt } = await execute(ctx, subs, false, allowed);
    return { items, ok: failedAt < 0 };
  }
  const { items, failedAt } = await atomically(ctx.org, () => execute(ctx, subs, true, allowed), (r) => r.failedAt < 0);
  if (failedAt < 0) return { items, ok: true };
  // Everything was rolled back: only the failing subrequest keeps its error; the rest (run or not) report halted.
  const out = subs.map((sub, i) => (i === failedAt ? items[i] : errorItem(sub.referenceId, 400, 'PROCESSING_HALTED', ROLLED_BACK_MESSAGE)));
  return { items: out, ok: false };
}

function requireVersion(ctx: Ctx, min: number): void {
  if (Number(ctx.version) < min) throw new SfError(404, 'NOT_FOUND', 'The requested resource does not exist');
}

function optionalBoolean(v: unknown, name: string, fallback: boolean): boolean {
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'boolean') throw envelopeError(`Cannot deserialize value of type boolean from ${JSON.stringify(v)} at [${name}]`, 'JSON_PARSER_ERROR');
  return v;
}

function requireObjectBody(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw envelopeError('The request body must be a JSON object', 'JSON_PARSER_ERROR');
  return body as Record<string, unknown>;
}

/** Registers `GET /composite` (directory), `POST /composite` and `POST /composite/graph`. */
export function registerCompositeRoutes(router: Router<Ctx>): void {
  router.on('GET', '/services/data/:version/composite', (ctx) => {
    requireVersion(ctx, 34);
    const b = `/services/data/v${ctx.version}/composite`;
    const v = Number(ctx.version);
    const out: Record<string, string> = {};
    if (v >= 42) out.tree = `${b}/tree`;
    out.batch = `${b}/batch`;
    if (v >= 42) out.sobjects = `${b}/sobjects`;
    if (v >= 50) out.graph = `${b}/graph`;
    return json(out);
  });

  router.on('POST', '/services/data/:version/composite', async (ctx) => {
    requireVersion(ctx, 38);
    const body = requireObjectBody(await readJson(ctx.req));
    const allOrNone = optionalBoolean(body.allOrNone, 'allOrNone', false);
    optionalBoolean(body.collateSubrequests, 'collateSubrequests', Number(ctx.version) >= 49);
    const subs = parseSubrequests(body.compositeRequest);
    if (subs.length === 0) throw envelopeError('compositeRequest must contain at least one subrequest');
    if (subs.length > MAX_SUBREQUESTS) throw envelopeError(`The number of subrequests (${subs.length}) exceeds the limit of ${MAX_SUBREQUESTS}.`);
    const heavy = subs.filter((s) => isQueryOrCollection(s.url)).length;
    if (heavy > MAX_QUERY_OR_COLLECTION_SUBREQUESTS) {
      throw envelopeError(`A composite request can contain at most ${MAX_QUERY_OR_COLLECTION_SUBREQUESTS} query or sObject Collections subrequests; this one has ${heavy}.`);
    }
    const { items } = await runComposite(ctx, subs, allOrNone, compositeTargets);
    return json({ compositeResponse: items });
  });

  router.on('POST', '/services/data/:version/composite/graph', async (ctx) => {
    requireVersion(ctx, 50);
    const body = requireObjectBody(await readJson(ctx.req));
    if (!Array.isArray(body.graphs) || body.graphs.length === 0) throw envelopeError('graphs must be a non-empty JSON array', 'JSON_PARSER_ERROR');
    if (body.graphs.length > MAX_GRAPHS) throw envelopeError(`The number of graphs (${body.graphs.length}) exceeds the limit of ${MAX_GRAPHS}.`);
    const seen = new Set<string>();
    let nodes = 0;
    const graphs = body.graphs.map((g: unknown, i: number) => {
      const graph = requireObjectBody(g);
      const id = graph.graphId;
      if (typeof id !== 'string' || id === '' || id.length >= 40 || !/^[A-Za-z0-9]/.test(id) || id.includes('.')) {
        throw envelopeError(`graphs[${i}].graphId must be under 40 characters, start with a letter or number and contain no periods`);
      }
      if (seen.has(id)) throw envelopeError(`Duplicate graphId provided in the request: ${id}`);
      seen.add(id);
      const subs = parseSubrequests(graph.compositeRequest, `graphs[${i}].compositeRequest`);
      for (const s of subs) {
        if (Number(/^\/services\/data\/v(\d+\.\d)/.exec(s.url)![1]) < 50) throw envelopeError(`Composite Graph nodes must use API version 50.0 or later: ${s.url}`);
      }
      nodes += subs.length;
      return { graphId: id, subs };
    });
    if (nodes > MAX_GRAPH_NODES) throw envelopeError(`The number of nodes (${nodes}) exceeds the limit of ${MAX_GRAPH_NODES}.`);
    const out: { graphId: string; graphResponse: { compositeResponse: CompositeItem[] }; isSuccessful: boolean }[] = [];
    let failures = 0;
    for (const { graphId, subs } of graphs) {
      if (failures > MAX_FAILED_GRAPHS) {
        out.push({ graphId, graphResponse: { compositeResponse: subs.map((s) => errorItem(s.referenceId, 400, 'PROCESSING_HALTED', 'This graph was not processed because too many graphs in the request failed.')) }, isSuccessful: false });
        continue;
      }
      // Each graph is its own all-or-none transaction, independent of the others.
      const { items, ok } = await runComposite(ctx, subs, true, graphTargets);
      if (!ok) failures++;
      out.push({ graphId, graphResponse: { compositeResponse: items }, isSuccessful: ok });
    }
    return json({ graphs: out });
  });
}

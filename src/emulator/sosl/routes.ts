/** `/search?q=FIND …` (SOSL) and `/parameterizedSearch` (GET with query parameters, POST with a JSON body). */
import type { Ctx } from '../app.ts';
import { SfError } from '../errors.ts';
import { json, readJson } from '../http/respond.ts';
import type { Router } from '../http/router.ts';
import { parseSosl, parseTerm, type FieldScope, type Returning } from './parser.ts';
import { runSearch } from './search.ts';

const V = '/services/data/:version';
const SCOPES = ['ALL', 'NAME', 'EMAIL', 'PHONE', 'SIDEBAR'];

interface ParamSpec {
  q?: unknown;
  in?: unknown;
  fields?: unknown;
  sobjects?: { name?: unknown; fields?: unknown; where?: unknown; limit?: unknown }[];
  overallLimit?: unknown;
  defaultLimit?: unknown;
}

const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : typeof v === 'string' ? v.split(',') : []).map((s) => s.trim()).filter(Boolean);
const num = (v: unknown, name: string): number | null => {
  if (v === undefined || v === null || v === '') return null;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new SfError(400, 'INVALID_SEARCH', `${name} must be a non-negative integer: ${String(v)}`);
  return n;
};

/** A parameterized search (GET parameters or POST body) as a parsed SOSL query. */
function parameterized(spec: ParamSpec) {
  if (typeof spec.q !== 'string' || spec.q.trim() === '') throw new SfError(400, 'MALFORMED_SEARCH', 'No search term found: the q parameter is required.');
  const scope = String(spec.in ?? 'ALL').toUpperCase();
  if (!SCOPES.includes(scope)) throw new SfError(400, 'INVALID_SEARCH', `in must be one of ${SCOPES.join(', ')}: ${String(spec.in)}`);
  const fields = list(spec.fields);
  const defaultLimit = num(spec.defaultLimit, 'defaultLimit');
  const returning: Returning[] = (spec.sobjects ?? []).map((o) => {
    if (typeof o?.name !== 'string') throw new SfError(400, 'INVALID_SEARCH', 'each entry of sobjects needs a name');
    return { object: o.name, fields: list(o.fields).length ? list(o.fields) : fields, where: typeof o.where === 'string' && o.where ? o.where : null, orderBy: null, limit: num(o.limit, `${o.name}.limit`) ?? defaultLimit, offset: null };
  });
  return { term: parseTerm(spec.q), scope: scope as FieldScope, returning, limit: num(spec.overallLimit, 'overallLimit') };
}

export function registerSearchRoutes(router: Router<Ctx>): void {
  router.on('GET', `${V}/search`, (ctx) => {
    const q = ctx.url.searchParams.get('q');
    if (!q) throw new SfError(400, 'MALFORMED_SEARCH', 'No search term found. The search term must be enclosed in braces.');
    return json(runSearch(ctx.org, parseSosl(q)));
  });
  router.on('GET', `${V}/parameterizedSearch`, (ctx) => {
    const p = ctx.url.searchParams;
    const sobjects = p.getAll('sobject').map((name) => ({ name, fields: p.get(`${name}.fields`) ?? undefined, where: p.get(`${name}.where`) ?? undefined, limit: p.get(`${name}.limit`) ?? undefined }));
    return json(runSearch(ctx.org, parameterized({ q: p.get('q') ?? undefined, in: p.get('in') ?? undefined, fields: p.get('fields') ?? undefined, sobjects, overallLimit: p.get('overallLimit') ?? undefined, defaultLimit: p.get('defaultLimit') ?? undefined })));
  });
  router.on('POST', `${V}/parameterizedSearch`, async (ctx) => {
    const body = await readJson<ParamSpec>(ctx.req);
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new SfError(400, 'JSON_PARSER_ERROR', 'The request body must be a JSON object like {"q":"Acme","sobjects":[{"name":"Account"}]}');
    return json(runSearch(ctx.org, parameterized(body)));
  });
}

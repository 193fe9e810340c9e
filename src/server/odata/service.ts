/**
 * The OData 4.0 producer: a hono app serving one or more sources, each a set of tables in a store (mirror
 * tables and the application's own tables) as entity sets. It answers what Salesforce Connect sends
 * (reference §8.3: `$select`, `$filter`, `$orderby`, `$top`, `$skip`, `$count`, `$search`, entity by key,
 * LIMIT + 1 probing) and what general OData clients use (server-driven paging with `@odata.nextLink`,
 * `/$count`, single-valued `$expand` and navigation, writes on writable sets).
 *
 * Every query option is parsed into the store's query AST (`parse.ts` → `store/query.ts`), so values reach
 * SQL only as bound parameters. Paging past the first page is keyset-based (`$skiptoken` carries the last
 * row's sort values), so deep pages of a million-row table cost the same as the first.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import { Hono, type Context } from 'hono';
import type { QueryExpr, QueryOrder, QueryValue, Store, TableShape } from '../../store/types.ts';
import type { Canonical } from '../../store/values.ts';
import { metadataXml, serviceDocument } from './csdl.ts';
import type { EntitySet, Navigation, Property } from './model.ts';
import { ODataQueryError, parseFilter, parseKey, parseOrderBy, parseSearch, parseSelect, suggest } from './parse.ts';

/** How requests to a source authenticate (Salesforce Connect sends Basic or a bearer token). */
export type ODataAuth =
  | { kind: 'basic'; username: string; password: string }
  | { kind: 'bearer'; tokens: readonly string[] }
  /** A caller-supplied check (the service's own API tokens). */
  | { kind: 'custom'; verify(request: Request): Promise<boolean> | boolean }
  | { kind: 'none' };

/** One served source. */
export interface ODataSource {
  /** URL segment: `/odata/v4/{name}/`. */
  name: string;
  /** Schema namespace in `$metadata`. */
  namespace: string;
  store: Store;
  sets: EntitySet[];
  auth: ODataAuth;
}

/** Options of {@link odataApp}. */
export interface ODataAppOptions {
  /** The sources, or a function returning them (so configuration and table shapes can change without a new app). */
  sources: readonly ODataSource[] | (() => readonly ODataSource[] | Promise<readonly ODataSource[]>);
  /** Where the sources are served (default `/odata/v4`): `{basePath}/{source}/…`. */
  basePath?: string;
}

const JSON_TYPE = 'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8';
const SYSTEM_OPTIONS = new Set(['$select', '$filter', '$orderby', '$top', '$skip', '$count', '$search', '$expand', '$skiptoken', '$format']);

/** Builds the producer, serving `{basePath}/{source}/…`; mount it with `app.route('/', odataApp(…))`. */
export function odataApp(options: ODataAppOptions): Hono {
  const app = new Hono();
  const basePath = (options.basePath ?? '/odata/v4').replace(/\/+$/, '');
  const sources = () => (typeof options.sources === 'function' ? options.sources() : options.sources);
  const handler = async (c: Context) => {
    try {
      return await handle(c, await sources(), basePath);
    } catch (err) {
      if (err instanceof ODataQueryError) return odataError(c, err.status, err.code, err.message);
      if (err instanceof Error && err.name === 'ODataConfigError') return odataError(c, 503, 'ServiceUnavailable', err.message);
      if (err instanceof Error && err.name === 'QueryError') return odataError(c, 400, 'BadRequest', err.message);
      throw err;
    }
  };
  app.all(basePath, handler);
  app.all(`${basePath}/*`, handler);
  return app;
}

function odataError(c: Context, status: number, code: string, message: string, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ error: { code, message } }), { status, headers: { 'content-type': JSON_TYPE, 'odata-version': '4.0', ...headers } });
}

/** The path below `basePath`, split into the source name and the resource path. */
function splitPath(c: Context, basePath: string): { source: string; resource: string; root: string } {
  const url = new URL(c.req.url);
  const full = decodeURIComponent(url.pathname);
  const below = full.slice(basePath.length).replace(/^\/+/, '');
  const slash = below.indexOf('/');
  const source = slash < 0 ? below : below.slice(0, slash);
  const resource = slash < 0 ? '' : below.slice(slash + 1);
  return { source, resource, root: `${url.origin}${basePath}/${source}/` };
}

async function authorized(auth: ODataAuth, request: Request): Promise<boolean> {
  const header = request.headers.get('authorization') ?? '';
  switch (auth.kind) {
    case 'none':
      return true;
    case 'custom':
      return auth.verify(request);
    case 'basic': {
      const m = /^Basic\s+(.+)$/i.exec(header);
      if (!m) return false;
      const decoded = Buffer.from(m[1], 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) return false;
      return sameSecret(decoded.slice(0, colon), auth.username) && sameSecret(decoded.slice(colon + 1), auth.password);
    }
    case 'bearer': {
      const m = /^Bearer\s+(.+)$/i.exec(header);
      return m ? auth.tokens.some((t) => sameSecret(m[1].trim(), t)) : false;
    }
  }
}

/** Constant-time comparison of two secrets (hashed first, so lengths leak nothing either). */
function sameSecret(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

async function handle(c: Context, all: readonly ODataSource[], basePath: string): Promise<Response> {
  const { source: name, resource, root } = splitPath(c, basePath);
  const source = all.find((s) => s.name === name);
  if (!source) {
    const names = all.map((s) => s.name);
    return odataError(c, 404, 'NotFound', name === '' ? `name a source: ${names.join(', ') || '(none configured)'}` : `no OData source ${name}${suggest(name, names)}; sources: ${names.join(', ') || '(none configured)'}`);
  }
  if (!(await authorized(source.auth, c.req.raw))) {
    const challenge = source.auth.kind === 'basic' ? 'Basic realm="sfbridge OData", charset="UTF-8"' : 'Bearer realm="sfbridge OData"';
    return odataError(c, 401, 'Unauthorized', `credentials missing or wrong for OData source ${source.name}: send ${source.auth.kind === 'basic' ? 'Basic' : 'Bearer'} authentication as configured for it (in Salesforce: the external data source's Identity Type and credentials)`, { 'www-authenticate': challenge });
  }
  const maxVersion = c.req.header('maxdataserviceversion');
  if (maxVersion && Number.parseFloat(maxVersion) < 4 && !c.req.header('odata-maxversion')) {
    throw new ODataQueryError(`this is an OData 4.0 service and the client speaks OData ${maxVersion}: choose the OData 4.0 adapter for the external data source`);
  }
  const params = new URL(c.req.url).searchParams;
  checkOptions(params);
  const method = c.req.method;
  if (resource === '' || resource === '/') {
    if (method !== 'GET') return odataError(c, 405, 'MethodNotAllowed', 'the service document is read-only');
    return json(serviceDocument(root, source.sets));
  }
  if (resource === '$metadata') {
    if (method !== 'GET') return odataError(c, 405, 'MethodNotAllowed', '$metadata is read-only');
    return new Response(metadataXml(source.namespace, source.sets), { headers: { 'content-type': 'application/xml;charset=utf-8', 'odata-version': '4.0' } });
  }
  const path = parseResourcePath(resource, source);
  if (method === 'GET') return read(source, path, params, root);
  return write(c, source, path, method);
}

function checkOptions(params: URLSearchParams): void {
  for (const key of params.keys()) {
    if (!key.startsWith('$')) continue; // custom query options are ignored, as OData allows
    if (key === '$inlinecount') throw new ODataQueryError('$inlinecount is OData 2.0: this is an OData 4.0 service, use $count=true (choose the OData 4.0 adapter for the external data source)');
    if (!SYSTEM_OPTIONS.has(key)) throw new ODataQueryError(`the system query option ${key} is not supported by this service; supported: ${[...SYSTEM_OPTIONS].join(', ')}`, 'NotImplemented', 501);
  }
  const format = params.get('$format');
  if (format && !/^(json|application\/json)/i.test(format)) throw new ODataQueryError(`$format=${format}: this service answers JSON only; use $format=json or set the data source's format to JSON`, 'NotAcceptable', 406);
}

/** `Set`, `Set/$count`, `Set(key)`, `Set(key)/Property`, `Set(key)/Property/$value`, `Set(key)/Navigation`. */
interface ResourcePath {
  set: EntitySet;
  key?: Map<Property, QueryValue>;
  count?: boolean;
  property?: Property;
  rawValue?: boolean;
  navigation?: Navigation;
}

function parseResourcePath(resource: string, source: ODataSource): ResourcePath {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:\((.*?)\))?(?:\/(.*))?$/.exec(resource);
  if (!m) throw new ODataQueryError(`no resource ${resource}`, 'NotFound', 404);
  const set = source.sets.find((s) => s.name === m[1]) ?? source.sets.find((s) => s.name.toLowerCase() === m[1].toLowerCase());
  if (!set) throw new ODataQueryError(`no entity set ${m[1]}${suggest(m[1], source.sets.map((s) => s.name))}; see ${source.name}/$metadata`, 'NotFound', 404);
  const path: ResourcePath = { set };
  if (m[2] !== undefined) path.key = parseKey(m[2], set.type);
  const rest = m[3];
  if (rest === undefined || rest === '') return path;
  if (rest === '$count') {
    if (path.key) throw new ODataQueryError('$count applies to an entity set, not a single entity', 'BadRequest');
    path.count = true;
    return path;
  }
  if (!path.key) throw new ODataQueryError(`${set.name}/${rest}: address one entity first, e.g. ${set.name}('…')/${rest}`, 'NotFound', 404);
  const [segment, tail] = rest.split('/', 2);
  const nav = set.type.navigation(segment);
  if (nav && tail === undefined) {
    path.navigation = nav;
    return path;
  }
  const prop = set.type.property(segment);
  if (!prop) throw new ODataQueryError(`${set.type.name} has no property or navigation ${segment}${suggest(segment, [...set.type.propertyNames(), ...set.type.navigations.map((n) => n.name)])}`, 'NotFound', 404);
  path.property = prop;
  if (tail === '$value') path.rawValue = true;
  else if (tail !== undefined) throw new ODataQueryError(`no resource ${rest}`, 'NotFound', 404);
  return path;
}

function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': JSON_TYPE, 'odata-version': '4.0', ...headers } });
}

/** A canonical column value in its OData JSON form. */
function jsonValue(p: Property, v: Canonical): unknown {
  if (v === null) return null;
  switch (p.edm) {
    case 'Edm.Decimal':
    case 'Edm.Double':
      return Number(v);
    default:
      return v;
  }
}

function nonNegativeInt(params: URLSearchParams, name: string): number | undefined {
  const raw = params.get(name);
  if (raw === null) return undefined;
  if (!/^\d+$/.test(raw)) throw new ODataQueryError(`${name}=${raw}: expected a non-negative integer`);
  return Number(raw);
}

/** `$expand=Nav,Nav2($select=A,B)` → navigations with their selected properties. */
function parseExpand(text: string, set: EntitySet): { nav: Navigation; select: Property[] }[] {
  const out: { nav: Navigation; select: Property[] }[] = [];
  for (const m of text.matchAll(/([A-Za-z_][A-Za-z0-9_]*)(?:\(([^)]*)\))?\s*(?:,|$)/g)) {
    const nav = set.type.navigation(m[1]);
    if (!nav) throw new ODataQueryError(`$expand: ${set.type.name} has no navigation property ${m[1]}${suggest(m[1], set.type.navigations.map((n) => n.name))}`);
    let select = nav.target.type.properties;
    if (m[2]) {
      const opt = /^\$select=(.+)$/.exec(m[2].trim());
      if (!opt) throw new ODataQueryError(`$expand=${m[1]}(${m[2]}): only $select is supported inside $expand`, 'NotImplemented', 501);
      select = parseSelect(opt[1], nav.target.type);
    }
    out.push({ nav, select });
  }
  if (out.length === 0) throw new ODataQueryError('$expand is empty');
  return out;
}

/** The rows' order: `$orderby`, then the key, so every page boundary is exact. */
function effectiveOrder(set: EntitySet, orderBy: QueryOrder[]): QueryOrder[] {
  const out = [...orderBy];
  for (const k of set.type.key) if (!out.some((o) => o.column === k.column)) out.push({ column: k.column });
  return out;
}

/** Rows strictly after `values` in `order` (nulls first ascending, last descending, as the store sorts). */
function after(order: QueryOrder[], values: QueryValue[]): QueryExpr {
  const alternatives: QueryExpr[] = [];
  for (let i = 0; i < order.length; i++) {
    const parts: QueryExpr[] = [];
    for (let j = 0; j < i; j++) parts.push({ kind: 'compare', op: 'eq', column: order[j].column, value: values[j] });
    const o = order[i];
    const v = values[i];
    let beyond: QueryExpr | undefined;
    if (v === null) beyond = o.descending ? undefined : { kind: 'compare', op: 'ne', column: o.column, value: null };
    else if (o.descending) beyond = { kind: 'or', args: [{ kind: 'compare', op: 'lt', column: o.column, value: v }, { kind: 'compare', op: 'eq', column: o.column, value: null }] };
    else beyond = { kind: 'compare', op: 'gt', column: o.column, value: v };
    if (!beyond) continue;
    parts.push(beyond);
    alternatives.push(parts.length === 1 ? parts[0] : { kind: 'and', args: parts });
  }
  return alternatives.length === 0 ? { kind: 'literal', value: false } : { kind: 'or', args: alternatives };
}

function encodeToken(values: QueryValue[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

function decodeToken(token: string, length: number): QueryValue[] {
  try {
    const values = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(values) && values.length === length && values.every((v) => v === null || ['string', 'number', 'boolean'].includes(typeof v))) return values as QueryValue[];
  } catch {
    // fall through
  }
  throw new ODataQueryError('$skiptoken is not one this service issued for this query: follow @odata.nextLink as given, or start again without $skiptoken');
}

function rowOut(props: readonly Property[], row: Record<string, Canonical>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of props) out[p.name] = jsonValue(p, row[p.column] ?? null);
  return out;
}

async function read(source: ODataSource, path: ResourcePath, params: URLSearchParams, root: string): Promise<Response> {
  const { set } = path;
  const type = set.type;
  const store = source.store;
  const select = params.has('$select') ? parseSelect(params.get('$select') ?? '', type) : type.properties;
  const expand = params.has('$expand') ? parseExpand(params.get('$expand') ?? '', set) : [];
  const conditions: QueryExpr[] = [];
  if (params.has('$filter')) conditions.push(parseFilter(params.get('$filter') ?? '', type));
  if (params.has('$search')) conditions.push(parseSearch(params.get('$search') ?? '', type.properties.filter((p) => p.edm === 'Edm.String').map((p) => p.column)));

  if (path.key) {
    const keyExpr: QueryExpr = { kind: 'and', args: [...path.key].map(([p, v]) => ({ kind: 'compare', op: 'eq', column: p.column, value: v }) as QueryExpr) };
    const needed = new Set<Property>([...select, ...type.key, ...expand.map((e) => e.nav.property), ...(path.navigation ? [path.navigation.property] : []), ...(path.property ? [path.property] : [])]);
    const [row] = await store.queryTable(set.shape, { columns: [...needed].map((p) => p.column), where: keyExpr, limit: 1 });
    if (!row) throw new ODataQueryError(`no ${type.name} with key ${[...path.key.values()].map((v) => JSON.stringify(v)).join(', ')}`, 'NotFound', 404);
    if (path.property) {
      const v = jsonValue(path.property, row[path.property.column] ?? null);
      if (path.rawValue) {
        if (v === null) return new Response(null, { status: 204, headers: { 'odata-version': '4.0' } });
        return new Response(String(v), { headers: { 'content-type': 'text/plain;charset=utf-8', 'odata-version': '4.0' } });
      }
      return json({ '@odata.context': `${root}$metadata#${set.name}(${keyText(path.key)})/${path.property.name}`, value: v });
    }
    if (path.navigation) {
      const nav = path.navigation;
      const fk = row[nav.property.column];
      const target = fk == null ? undefined : (await store.queryTable(nav.target.shape, { columns: nav.target.type.properties.map((p) => p.column), where: { kind: 'compare', op: 'eq', column: nav.target.type.key[0].column, value: fk }, limit: 1 }))[0];
      if (!target) return new Response(null, { status: 204, headers: { 'odata-version': '4.0' } });
      return json({ '@odata.context': `${root}$metadata#${nav.target.name}/$entity`, ...rowOut(nav.target.type.properties, target) });
    }
    const out = { '@odata.context': `${root}$metadata#${set.name}${selectSuffix(params, select)}/$entity`, ...rowOut(select, row) };
    await expandRows(store, expand, [row], [out]);
    return json(out);
  }

  const where: QueryExpr | undefined = conditions.length === 0 ? undefined : conditions.length === 1 ? conditions[0] : { kind: 'and', args: conditions };
  if (path.count) {
    const n = await store.countTable(set.shape, where);
    return new Response(String(n), { headers: { 'content-type': 'text/plain;charset=utf-8', 'odata-version': '4.0' } });
  }
  const orderBy = effectiveOrder(set, params.has('$orderby') ? parseOrderBy(params.get('$orderby') ?? '', type) : []);
  const top = nonNegativeInt(params, '$top');
  const skip = nonNegativeInt(params, '$skip');
  const countParam = params.get('$count');
  if (countParam !== null && !/^(true|false)$/i.test(countParam)) throw new ODataQueryError(`$count=${countParam}: expected true or false`);
  const withCount = countParam?.toLowerCase() === 'true';
  const token = params.get('$skiptoken');
  const pageConditions = [...conditions];
  if (token !== null) pageConditions.push(after(orderBy, decodeToken(token, orderBy.length)));
  const pageWhere: QueryExpr | undefined = pageConditions.length === 0 ? undefined : pageConditions.length === 1 ? pageConditions[0] : { kind: 'and', args: pageConditions };
  const pageSize = set.maxPageSize;
  const wanted = top === undefined ? pageSize : Math.min(top, pageSize);
  // One row more than the page tells whether a next link is needed, without counting.
  const probe = top === undefined || top > pageSize;
  const columns = new Set<string>([...select.map((p) => p.column), ...orderBy.map((o) => o.column), ...expand.map((e) => e.nav.property.column)]);
  const rowsPromise = store.queryTable(set.shape, { columns: [...columns], where: pageWhere, orderBy, limit: wanted + (probe ? 1 : 0), ...(token === null && skip ? { offset: skip } : {}) });
  const countPromise = withCount ? store.countTable(set.shape, where) : undefined;
  const rows = await rowsPromise;
  const more = probe && rows.length > wanted;
  const page = more ? rows.slice(0, wanted) : rows;
  const value = page.map((r) => rowOut(select, r));
  await expandRows(store, expand, page, value);
  const body: Record<string, unknown> = { '@odata.context': `${root}$metadata#${set.name}${selectSuffix(params, select)}` };
  if (countPromise) body['@odata.count'] = await countPromise;
  body.value = value;
  if (more) {
    const last = page[page.length - 1];
    const next = new URLSearchParams(params);
    next.delete('$skip');
    next.set('$skiptoken', encodeToken(orderBy.map((o) => (last[o.column] ?? null) as QueryValue)));
    if (top !== undefined) next.set('$top', String(top - wanted));
    body['@odata.nextLink'] = `${root}${set.name}?${next.toString().replace(/%24/g, '$')}`;
  }
  return json(body);
}

function selectSuffix(params: URLSearchParams, select: readonly Property[]): string {
  return params.has('$select') ? `(${select.map((p) => p.name).join(',')})` : '';
}

function keyText(key: Map<Property, QueryValue>): string {
  const lit = (v: QueryValue) => (typeof v === 'string' ? `'${v.replaceAll("'", "''")}'` : String(v));
  return key.size === 1 ? lit([...key.values()][0]) : [...key].map(([p, v]) => `${p.name}=${lit(v)}`).join(',');
}

/** Adds each expanded navigation to the output rows, fetching targets in batches by key. */
async function expandRows(store: Store, expand: readonly { nav: Navigation; select: Property[] }[], rows: readonly Record<string, Canonical>[], out: Record<string, unknown>[]): Promise<void> {
  for (const { nav, select } of expand) {
    const keyProp = nav.target.type.key[0];
    const ids = [...new Set(rows.map((r) => r[nav.property.column]).filter((v): v is string | number | boolean => v !== null && v !== undefined))];
    const found = new Map<unknown, Record<string, Canonical>>();
    for (let i = 0; i < ids.length; i += 500) {
      const batch = ids.slice(i, i + 500);
      const where: QueryExpr = { kind: 'or', args: batch.map((v) => ({ kind: 'compare', op: 'eq', column: keyProp.column, value: v }) as QueryExpr) };
      const cols = [...new Set([...select, keyProp].map((p) => p.column))];
      for (const r of await store.queryTable(nav.target.shape, { columns: cols, where })) found.set(r[keyProp.column], r);
    }
    rows.forEach((r, i) => {
      const t = found.get(r[nav.property.column]);
      out[i][nav.name] = t ? rowOut(select, t) : null;
    });
  }
}

async function write(c: Context, source: ODataSource, path: ResourcePath, method: string): Promise<Response> {
  const { set } = path;
  if (!set.writable) {
    return odataError(c, 405, 'MethodNotAllowed', `${set.name} is read-only${set.shape.mirror ? ' (a Salesforce mirror table: write to Salesforce instead)' : ': set writable: true on the entity set to allow writes'}`, { allow: 'GET' });
  }
  if (path.count || path.property || path.navigation) return odataError(c, 405, 'MethodNotAllowed', `${method} applies to an entity set or one entity`);
  const shape: TableShape = set.shape;
  if (method === 'POST') {
    if (path.key) return odataError(c, 405, 'MethodNotAllowed', `POST to the entity set ${set.name}, not to one entity`);
    const values = await body(c, set, false);
    for (const k of set.type.key) if (values[k.column] === undefined) throw new ODataQueryError(`a new ${set.type.name} needs its key property ${k.name}`);
    try {
      await source.store.mutateTable(shape, { kind: 'insert', values });
    } catch (err) {
      if (isUniqueViolation(err)) return odataError(c, 409, 'Conflict', `a ${set.type.name} with that key already exists`);
      throw err;
    }
    const key = new Map(set.type.key.map((k) => [k, values[k.column]] as const));
    const [row] = await source.store.queryTable(shape, { columns: set.type.properties.map((p) => p.column), where: { kind: 'and', args: [...key].map(([p, v]) => ({ kind: 'compare', op: 'eq', column: p.column, value: v }) as QueryExpr) }, limit: 1 });
    const location = `${new URL(c.req.url).href.replace(/\/[^/]*$/, '')}/${set.name}(${keyText(key)})`;
    return json({ ...rowOut(set.type.properties, row ?? {}) }, 201, { location });
  }
  if (!path.key) return odataError(c, 405, 'MethodNotAllowed', `${method} needs one entity: ${set.name}(key)`);
  const key = Object.fromEntries([...path.key].map(([p, v]) => [p.column, v]));
  if (method === 'DELETE') {
    const n = await source.store.mutateTable(shape, { kind: 'delete', key });
    return n === 0 ? odataError(c, 404, 'NotFound', `no ${set.type.name} with that key`) : new Response(null, { status: 204, headers: { 'odata-version': '4.0' } });
  }
  if (method === 'PATCH' || method === 'MERGE' || method === 'PUT') {
    const values = await body(c, set, method === 'PUT');
    for (const k of set.type.key) {
      if (values[k.column] !== undefined && values[k.column] !== key[k.column]) throw new ODataQueryError(`the key property ${k.name} cannot be changed`);
      delete values[k.column];
    }
    if (Object.keys(values).length === 0) return new Response(null, { status: 204, headers: { 'odata-version': '4.0' } });
    const n = await source.store.mutateTable(shape, { kind: 'update', key, values });
    return n === 0 ? odataError(c, 404, 'NotFound', `no ${set.type.name} with that key`) : new Response(null, { status: 204, headers: { 'odata-version': '4.0' } });
  }
  return odataError(c, 405, 'MethodNotAllowed', `${method} is not supported`, { allow: 'GET, POST, PATCH, PUT, DELETE' });
}

/** The request body's properties by column; PUT replaces, so properties it omits become null. */
async function body(c: Context, set: EntitySet, replace: boolean): Promise<Record<string, QueryValue>> {
  let parsed: unknown;
  try {
    parsed = await c.req.json();
  } catch {
    throw new ODataQueryError('the request body is not JSON: send the entity as a JSON object with Content-Type: application/json');
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ODataQueryError('the request body must be one JSON object');
  const out: Record<string, QueryValue> = {};
  for (const [name, v] of Object.entries(parsed as Record<string, unknown>)) {
    if (name.startsWith('@')) continue; // annotations
    const p = set.type.property(name);
    if (!p) throw new ODataQueryError(`${set.type.name} has no property ${name}${suggest(name, set.type.propertyNames())}`);
    if (v !== null && typeof v === 'object') throw new ODataQueryError(`${name}: expected a primitive value`);
    out[p.column] = v as QueryValue;
  }
  if (replace) for (const p of set.type.properties) if (!(p.column in out) && !set.type.key.includes(p)) out[p.column] = null;
  return out;
}

function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e?.code === '23505' || /UNIQUE constraint failed|PRIMARY KEY/i.test(e?.message ?? '');
}

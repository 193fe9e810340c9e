/**
 * SOQL and REST on external objects become OData 4.0 calls to the data source, the way Salesforce Connect
 * makes them (reference §8.3): `$select` of the mapped columns, the WHERE clause as `$filter`, ORDER BY as
 * `$orderby`, `$top` of the page size plus one (to learn whether more rows exist without counting),
 * `$count=true` when the source requests row counts, and `$skip` for later pages — or the producer's
 * `@odata.nextLink` when the source uses server-driven paging. Nothing is cached: every query is a live
 * callout. Each external row gets a stable Salesforce Id (key prefix of the object), kept in the object's
 * own table as the org's ID mapping.
 */
import { parseQuery, type Condition, type FieldType as AstField, type Query, type WhereClause } from '@jetstreamapp/soql-parser-js';
import { SfError } from '../errors.ts';
import { makeId, isValidId, normaliseId } from '../ids.ts';
import type { Org } from '../org.ts';
import type { FieldDef, ObjectDef } from '../schema/types.ts';
import { malformed, noSuchColumn, soqlError, locate } from '../soql/errors.ts';
import { flatten, unquote } from '../soql/compiler.ts';
import { DEFAULT_BATCH_SIZE, LOCATOR_IDLE_MS, MAX_OPEN_CURSORS, MIN_BATCH_SIZE, type QueryResult } from '../soql/cursors.ts';
import { q } from '../store/org-store.ts';
import type { ExternalObjectInfo } from './schema.ts';

type Row = Record<string, unknown>;

/** The external object a SOQL statement queries, or undefined when it queries anything else. */
export function externalTarget(org: Org, soql: string): ObjectDef | undefined {
  const m = /\bFROM\s+([A-Za-z][A-Za-z0-9_]*__x)\b/i.exec(soql);
  if (!m) return undefined;
  const def = org.schema.get(m[1]);
  return def?.external ? def : undefined;
}

// ---------------------------------------------------------------------------------------------------
// The OData callout

/** Why a callout failed, in the StatusCode names Salesforce uses for external objects. */
function calloutError(code: 'EXTERNAL_OBJECT_EXCEPTION' | 'EXTERNAL_OBJECT_CONNECTION_EXCEPTION' | 'EXTERNAL_OBJECT_AUTHENTICATION_EXCEPTION', message: string): SfError {
  // The HTTP status of these errors is not documented; 400 is what the query resource uses for a failed query.
  return new SfError(400, code, message);
}

/** Sends one OData request to the object's data source and returns the parsed JSON body. */
export async function odataCall(info: ExternalObjectInfo, method: string, pathAndQuery: string, body?: unknown): Promise<{ status: number; json: Row | undefined; headers: Headers }> {
  const url = new URL(pathAndQuery, info.source.url.endsWith('/') ? info.source.url : `${info.source.url}/`);
  const headers = new Headers({ accept: 'application/json', 'odata-version': '4.0', 'odata-maxversion': '4.0' });
  const auth = info.source.auth;
  if (auth && 'username' in auth) headers.set('authorization', `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`);
  if (auth && 'bearer' in auth) headers.set('authorization', `Bearer ${auth.bearer}`);
  if (body !== undefined) headers.set('content-type', 'application/json');
  let res: Response;
  try {
    res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(info.source.timeoutMs) });
  } catch (err) {
    const e = err as Error;
    const why = e.name === 'TimeoutError' ? `no answer within ${info.source.timeoutMs} ms` : (e.cause as Error | undefined)?.message ?? e.message;
    throw calloutError('EXTERNAL_OBJECT_CONNECTION_EXCEPTION', `Failed to connect to the external data source ${info.source.name} at ${url.origin}: ${why}`);
  }
  const text = await res.text();
  let json: Row | undefined;
  try {
    json = text === '' ? undefined : (JSON.parse(text) as Row);
  } catch {
    json = undefined;
  }
  if (res.status === 401 || res.status === 403) {
    throw calloutError('EXTERNAL_OBJECT_AUTHENTICATION_EXCEPTION', `The external data source ${info.source.name} refused the credentials (HTTP ${res.status}); check the data source's authentication settings`);
  }
  if (res.status >= 400 && res.status !== 404) {
    const detail = (json?.error as { message?: string } | undefined)?.message ?? text.slice(0, 500);
    throw calloutError('EXTERNAL_OBJECT_EXCEPTION', `The external data source ${info.source.name} answered HTTP ${res.status}: ${detail}`);
  }
  return { status: res.status, json, headers: res.headers };
}

// ---------------------------------------------------------------------------------------------------
// SOQL → OData

/** An OData string literal. */
const str = (v: string) => `'${v.replaceAll("'", "''")}'`;

/** The external key as an OData literal of the key property's type. */
const keyLiteral = (info: ExternalObjectInfo, key: string) => (info.keyType === 'number' ? (/^-?\d+(\.\d+)?$/.test(key) ? key : 'null') : str(key));

interface Translated {
  def: ObjectDef;
  info: ExternalObjectInfo;
  /** Selected fields in select-list order. */
  fields: FieldDef[];
  countOnly: boolean;
  /** OData query options except paging. */
  options: URLSearchParams;
  limit: number | undefined;
  offset: number;
  /** A WHERE clause that can match nothing (an unknown Id): no callout at all. */
  empty: boolean;
}

function fieldOf(org: Org, def: ObjectDef, name: string, soql: string): FieldDef {
  if (name.includes('.')) throw soqlError('INVALID_FIELD', soql, locate(soql, name), `Relationship queries are not supported on external object ${def.name} in this emulator; query its fields directly`);
  const f = org.schema.field(def.name, name);
  if (!f || f.hidden) throw soqlError('INVALID_FIELD', soql, locate(soql, name), noSuchColumn(name, def.name));
  return f;
}

/** The OData property behind a field (`ExternalId` is the entity key). */
function columnOf(info: ExternalObjectInfo, f: FieldDef, soql: string): string {
  if (f.name === 'ExternalId' || f.name === 'Id') return info.keyColumn;
  const c = info.columns.get(f.name.toLowerCase());
  if (!c) throw soqlError('INVALID_FIELD', soql, locate(soql, f.name), `${f.name} is not backed by an external column and cannot be filtered or sorted on`);
  return c;
}

/** A SOQL literal as an OData literal for the field's type. */
function odataLiteral(f: FieldDef, value: string, literalType: string | undefined, soql: string): string {
  const lt = (literalType ?? 'STRING').toUpperCase();
  if (lt === 'NULL' || value.toLowerCase() === 'null') return 'null';
  switch (f.type) {
    case 'boolean':
      if (lt !== 'BOOLEAN') break;
      return value.toLowerCase();
    case 'int':
    case 'long':
    case 'double':
    case 'currency':
    case 'percent':
      if (lt !== 'INTEGER' && lt !== 'DECIMAL' && lt !== 'DECIMAL_WITH_CURRENCY_PREFIX' && lt !== 'INTEGER_WITH_CURRENCY_PREFIX') break;
      return value.replace(/^[A-Z]{3}/, '');
    case 'date':
      if (lt !== 'DATE') break;
      return value;
    case 'datetime':
      if (lt !== 'DATETIME') break;
      return value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
    default:
      if (lt !== 'STRING') break;
      return str(unquote(value, false));
  }
  if (lt === 'DATE_LITERAL' || lt === 'DATE_N_LITERAL') {
    throw soqlError('MALFORMED_QUERY', soql, locate(soql, value), `Date literals such as ${value} are not supported on external objects by this emulator; use a date or datetime value`);
  }
  throw soqlError('INVALID_FIELD', soql, locate(soql, value), `value of filter criterion for field '${f.name}' must be of type ${f.type} and should not be enclosed in quotes`);
}

/** One WHERE condition as an OData boolean expression. */
function conditionFilter(org: Org, t: Omit<Translated, 'options'>, cond: Condition, soql: string, idLookups: (ids: string[]) => (string | null)[]): string {
  const c = cond as Condition & { field?: string; operator?: string; value?: string | string[]; literalType?: string | string[]; fn?: unknown };
  if (!c.field) throw soqlError('MALFORMED_QUERY', soql, undefined, 'Only field comparisons are supported in WHERE on external objects');
  const f = fieldOf(org, t.def, c.field, soql);
  const op = String(c.operator).toUpperCase();
  const values = Array.isArray(c.value) ? c.value : [String(c.value)];
  const types = Array.isArray(c.literalType) ? c.literalType : values.map(() => c.literalType as string | undefined);
  if (f.name === 'DisplayUrl') throw soqlError('INVALID_FIELD', soql, locate(soql, c.field), `field 'DisplayUrl' can not be filtered in a query call`);
  let col = columnOf(t.info, f, soql);
  let lits: string[];
  if (f.name === 'Id') {
    // Ids are Salesforce's, not the producer's: translate them through the ID mapping.
    const keys = idLookups(values.map((v) => unquote(v, false)));
    lits = keys.map((k) => (k === null ? '' : keyLiteral(t.info, k)));
    col = t.info.keyColumn;
    const known = lits.filter((l) => l !== '');
    if (op === '=' || op === 'IN') return known.length === 0 ? 'false' : known.map((l) => `${col} eq ${l}`).join(' or ');
    if (op === '!=' || op === 'NOT IN') return known.length === 0 ? 'true' : known.map((l) => `${col} ne ${l}`).join(' and ');
    throw soqlError('INVALID_QUERY_FILTER_OPERATOR', soql, locate(soql, c.field), `invalid operator on id field: ${op}`);
  }
  lits = values.map((v, i) => odataLiteral(f, v, types[i] ?? types[0], soql));
  switch (op) {
    case '=':
      return `${col} eq ${lits[0]}`;
    case '!=':
    case '<>':
      return `${col} ne ${lits[0]}`;
    case '<':
      return `${col} lt ${lits[0]}`;
    case '<=':
      return `${col} le ${lits[0]}`;
    case '>':
      return `${col} gt ${lits[0]}`;
    case '>=':
      return `${col} ge ${lits[0]}`;
    case 'IN':
      return `(${lits.map((l) => `${col} eq ${l}`).join(' or ')})`;
    case 'NOT IN':
      return `(${lits.map((l) => `${col} ne ${l}`).join(' and ')})`;
    case 'LIKE': {
      const like = likeToOData(unquote(values[0], true));
      if (!like) {
        throw soqlError('MALFORMED_QUERY', soql, locate(soql, c.field), `LIKE on an external object supports 'text%', '%text' and '%text%' (OData's startswith, endswith and contains); ${values[0]} has a wildcard inside`);
      }
      return like.fn ? `${like.fn}(${col},${str(like.text)})` : `${col} eq ${str(like.text)}`;
    }
    default:
      throw soqlError('INVALID_QUERY_FILTER_OPERATOR', soql, locate(soql, c.field), `invalid operator on ${f.type} field: ${op}`);
  }
}

/**
 * A LIKE pattern (escapes kept, as `unquote(…, true)` returns it) as an OData text function, or undefined
 * when it has a wildcard OData cannot express (one inside the text, or `_`).
 */
function likeToOData(pattern: string): { fn: 'startswith' | 'endswith' | 'contains' | undefined; text: string } | undefined {
  const parts: { ch: string; wild: boolean }[] = [];
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] === '\\' && i + 1 < pattern.length) parts.push({ ch: pattern[++i], wild: false });
    else parts.push({ ch: pattern[i], wild: pattern[i] === '%' || pattern[i] === '_' });
  }
  const lead = parts[0]?.wild === true && parts[0].ch === '%';
  const trail = parts.length > 1 && parts[parts.length - 1].wild && parts[parts.length - 1].ch === '%';
  const inner = parts.slice(lead ? 1 : 0, trail ? -1 : undefined);
  if (inner.some((p) => p.wild)) return undefined;
  const text = inner.map((p) => p.ch).join('');
  return { fn: lead && trail ? 'contains' : lead ? 'endswith' : trail ? 'startswith' : undefined, text };
}

/** WHERE → `$filter`, keeping SOQL's parenthesised AND/OR/NOT structure. */
function whereFilter(org: Org, t: Omit<Translated, 'options'>, where: WhereClause, soql: string, idLookups: (ids: string[]) => (string | null)[]): string {
  const toks = flatten(where);
  return toks.map((tok) => (typeof tok === 'object' ? `(${conditionFilter(org, t, tok.cond as Condition, soql, idLookups)})` : tok === 'NOT' ? 'not' : tok === 'AND' ? 'and' : tok === 'OR' ? 'or' : tok)).join(' ');
}

function translate(org: Org, def: ObjectDef, soql: string): Translated {
  let ast: Query;
  try {
    ast = parseQuery(soql, { allowApexBindVariables: false }) as Query;
  } catch (err) {
    throw malformed(soql, err);
  }
  const info = def.external!;
  const fields: FieldDef[] = [];
  let countOnly = false;
  for (const sel of ast.fields ?? []) {
    const s = sel as AstField & { field?: string; functionName?: string; parameters?: unknown[] };
    if (s.type === 'Field') fields.push(fieldOf(org, def, s.field!, soql));
    else if (s.type === 'FieldFunctionExpression' && s.functionName?.toUpperCase() === 'COUNT' && (s.parameters ?? []).length === 0) countOnly = true;
    else if (s.type === 'FieldSubquery') throw soqlError('MALFORMED_QUERY', soql, undefined, `Subqueries are not supported on external object ${def.name}`);
    else throw soqlError('MALFORMED_QUERY', soql, undefined, `Only fields and COUNT() can be selected from external object ${def.name}`);
  }
  if (countOnly && fields.length > 0) throw soqlError('MALFORMED_QUERY', soql, undefined, 'COUNT() cannot be combined with other fields');
  if (ast.groupBy || ast.having) throw soqlError('MALFORMED_QUERY', soql, undefined, `GROUP BY is not supported on external object ${def.name}`);
  if (ast.for || ast.update) throw soqlError('MALFORMED_QUERY', soql, undefined, `FOR ${String(ast.for ?? 'UPDATE')} is not supported on external objects`);
  const options = new URLSearchParams();
  const base = { def, info, fields, countOnly, limit: ast.limit, offset: ast.offset ?? 0, empty: false };
  const columns = new Set<string>([info.keyColumn]);
  for (const f of fields) if (f.name !== 'Id' && f.name !== 'ExternalId' && f.name !== 'DisplayUrl') columns.add(columnOf(info, f, soql));
  if (!countOnly) options.set('$select', [...columns].join(','));
  if (ast.where) {
    const filter = whereFilter(org, base, ast.where, soql, (ids) => ids.map((id) => externalIdFor(org, def, id)));
    // `Id = '<an Id this org never handed out>'` matches nothing: no callout.
    if (filter === '(false)') base.empty = true;
    options.set('$filter', filter);
  }
  if (ast.orderBy) {
    const terms = (Array.isArray(ast.orderBy) ? ast.orderBy : [ast.orderBy]).map((o) => {
      const ob = o as { field?: string; order?: string; nulls?: string };
      if (!ob.field) throw soqlError('MALFORMED_QUERY', soql, undefined, 'ORDER BY on external objects takes fields');
      if (ob.nulls) throw soqlError('MALFORMED_QUERY', soql, locate(soql, 'NULLS'), 'NULLS FIRST/LAST is not supported on external objects: OData has no null ordering');
      const f = fieldOf(org, def, ob.field, soql);
      return `${columnOf(info, f, soql)} ${String(ob.order ?? 'ASC').toLowerCase()}`;
    });
    options.set('$orderby', terms.join(','));
  }
  return { ...base, options };
}

// ---------------------------------------------------------------------------------------------------
// The ID mapping

/** The Salesforce Id of an external row (allocated on first sight, then stable). */
function idFor(org: Org, def: ObjectDef, key: string): string {
  const found = org.store.prepare(`SELECT Id FROM ${q(def.name)} WHERE ExternalId = ?`).get(key);
  if (found) return String(found.Id);
  const id = org.store.nextId(def);
  org.store.prepare(`INSERT INTO ${q(def.name)} (Id, ExternalId) VALUES (?, ?)`).run(id, key);
  return id;
}

/** The external key of an Id, or null when the org never saw it. */
export function externalIdFor(org: Org, def: ObjectDef, id: string): string | null {
  if (!isValidId(id)) return null;
  const row = org.store.prepare(`SELECT ExternalId FROM ${q(def.name)} WHERE Id = ?`).get(normaliseId(id));
  return row ? String(row.ExternalId) : null;
}

/** An OData entity as an API record of the external object. */
export function toRecord(org: Org, def: ObjectDef, entity: Row, fields: readonly FieldDef[], version: string): Row {
  const info = def.external!;
  const key = entity[info.keyColumn];
  if (key === undefined || key === null) throw calloutError('EXTERNAL_OBJECT_EXCEPTION', `The external data source ${info.source.name} returned a ${info.table} row without its key ${info.keyColumn}`);
  const keyText = String(key);
  const id = idFor(org, def, keyText);
  const out: Row = { attributes: { type: def.name, url: `/services/data/v${version}/sobjects/${def.name}/${id}` } };
  for (const f of fields) {
    if (f.name === 'Id') out.Id = id;
    else if (f.name === 'ExternalId') out.ExternalId = keyText;
    else if (f.name === 'DisplayUrl') out.DisplayUrl = `${info.source.url.replace(/\/?$/, '/')}${info.table}(${typeof key === 'string' ? str(key) : String(key)})`;
    else {
      const v = entity[info.columns.get(f.name.toLowerCase())!];
      out[f.name] = v === undefined ? null : v;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Query paging

interface ExternalCursor {
  t: Translated;
  version: string;
  /** Rows already returned (the next `$skip`, offset included). */
  position: number;
  /** Rows still allowed by LIMIT. */
  remaining: number | undefined;
  totalSize: number;
  /** Server-driven paging: the producer's next link. */
  nextLink: string | undefined;
  lastUsed: number;
}

const cursorsByOrg = new WeakMap<Org, Map<string, ExternalCursor>>();
let cursorSeq = 0;

function cursors(org: Org): Map<string, ExternalCursor> {
  let m = cursorsByOrg.get(org);
  if (!m) cursorsByOrg.set(org, (m = new Map()));
  return m;
}

/** True when a query locator belongs to an external-object query. */
export function isExternalLocator(org: Org, locatorPath: string): boolean {
  return cursors(org).has(locatorPath.split('-')[0]);
}

async function fetchPage(org: Org, cur: Omit<ExternalCursor, 'lastUsed' | 'totalSize'> & { totalSize?: number }, batchSize: number): Promise<{ rows: Row[]; more: boolean; count: number | undefined; nextLink: string | undefined }> {
  const { t } = cur;
  const size = cur.remaining === undefined ? batchSize : Math.min(batchSize, cur.remaining);
  if (t.empty || size === 0) return { rows: [], more: false, count: 0, nextLink: undefined };
  let path: string;
  if (cur.nextLink) {
    path = cur.nextLink;
  } else {
    const opts = new URLSearchParams(t.options);
    if (t.info.source.serverDrivenPaging) {
      if (cur.remaining !== undefined) opts.set('$top', String(cur.remaining));
    } else {
      opts.set('$top', String(size + 1));
      if (cur.position > 0) opts.set('$skip', String(cur.position));
    }
    if (t.info.source.requestRowCounts && cur.totalSize === undefined) opts.set('$count', 'true');
    path = `${encodeURIComponent(t.info.table)}?${opts.toString().replace(/%24/g, '$').replace(/\+/g, '%20')}`;
  }
  const { status, json } = await odataCall(t.info, 'GET', path);
  if (status === 404) throw calloutError('EXTERNAL_OBJECT_EXCEPTION', `The external data source ${t.info.source.name} has no entity set ${t.info.table}`);
  const value = json?.value;
  if (!Array.isArray(value)) throw calloutError('EXTERNAL_OBJECT_EXCEPTION', `The external data source ${t.info.source.name} answered without a value array for ${t.info.table}`);
  const count = typeof json?.['@odata.count'] === 'number' ? (json['@odata.count'] as number) : undefined;
  if (t.info.source.serverDrivenPaging) {
    const next = typeof json?.['@odata.nextLink'] === 'string' ? (json['@odata.nextLink'] as string) : undefined;
    const rows = value.slice(0, size) as Row[];
    return { rows, more: value.length > size || next !== undefined, count, nextLink: value.length > size ? undefined : next };
  }
  return { rows: value.slice(0, size) as Row[], more: value.length > size, count, nextLink: undefined };
}

function pageSize(batchSize: number | undefined): number {
  return Math.max(MIN_BATCH_SIZE, Math.min(DEFAULT_BATCH_SIZE, batchSize ?? DEFAULT_BATCH_SIZE));
}

/** `GET /query?q=…` for an external object. */
export async function runExternalQuery(org: Org, def: ObjectDef, soql: string, opts: { queryAll?: boolean; batchSize?: number; version: string }): Promise<QueryResult> {
  if (opts.queryAll) throw new SfError(400, 'MALFORMED_QUERY', `queryAll is not supported on external object ${def.name}`);
  const t = translate(org, def, soql);
  if (t.countOnly) {
    if (!t.info.source.requestRowCounts) throw new SfError(400, 'EXTERNAL_OBJECT_EXCEPTION', `COUNT() needs row counts from the external data source ${t.info.source.name}: turn on requestRowCounts for it`);
    if (t.empty) return { totalSize: 0, done: true, records: [] };
    const opts2 = new URLSearchParams(t.options);
    opts2.set('$top', '0');
    opts2.set('$count', 'true');
    const { json } = await odataCall(t.info, 'GET', `${encodeURIComponent(t.info.table)}?${opts2.toString().replace(/%24/g, '$').replace(/\+/g, '%20')}`);
    const n = Number(json?.['@odata.count'] ?? 0);
    const afterOffset = Math.max(0, n - t.offset);
    return { totalSize: t.limit === undefined ? afterOffset : Math.min(afterOffset, t.limit), done: true, records: [] };
  }
  const cur = { t, version: opts.version, position: t.offset, remaining: t.limit, nextLink: undefined as string | undefined };
  const page = await fetchPage(org, cur, pageSize(opts.batchSize));
  const records = page.rows.map((r) => toRecord(org, def, r, t.fields, opts.version));
  // LIMIT reached: whatever else the source has is beyond the query.
  if (t.limit !== undefined && records.length >= t.limit) page.more = false;
  const fromCount = page.count === undefined ? undefined : Math.max(0, page.count - t.offset);
  const totalSize = fromCount === undefined ? records.length : t.limit === undefined ? fromCount : Math.min(fromCount, t.limit);
  if (!page.more) return { totalSize: page.count === undefined ? records.length : totalSize, done: true, records };
  const store = cursors(org);
  const now = org.clock.now();
  for (const [id, c] of store) if (now - c.lastUsed > LOCATOR_IDLE_MS) store.delete(id);
  while (store.size >= MAX_OPEN_CURSORS) store.delete(store.keys().next().value!);
  const id = makeId('01g', ++cursorSeq, 'Hx0');
  const position = cur.position + records.length;
  store.set(id, { t, version: opts.version, position, remaining: t.limit === undefined ? undefined : t.limit - records.length, totalSize, nextLink: page.nextLink, lastUsed: now });
  return { totalSize, done: false, nextRecordsUrl: `/services/data/v${opts.version}/query/${id}-${position}`, records };
}

/** `GET /query/{locator}-{n}` for an external-object query. */
export async function externalQueryMore(org: Org, locatorPath: string, opts: { batchSize?: number; version: string }): Promise<QueryResult> {
  const [id] = locatorPath.split('-');
  const store = cursors(org);
  const cur = store.get(id);
  if (!cur || org.clock.now() - cur.lastUsed > LOCATOR_IDLE_MS) {
    store.delete(id);
    throw new SfError(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
  }
  const page = await fetchPage(org, cur, pageSize(opts.batchSize));
  const records = page.rows.map((r) => toRecord(org, cur.t.def, r, cur.t.fields, opts.version));
  cur.position += records.length;
  if (cur.remaining !== undefined) cur.remaining -= records.length;
  cur.nextLink = page.nextLink;
  cur.lastUsed = org.clock.now();
  if (!page.more || (cur.remaining !== undefined && cur.remaining <= 0)) {
    store.delete(id);
    return { totalSize: cur.totalSize, done: true, records };
  }
  return { totalSize: cur.totalSize, done: false, nextRecordsUrl: `/services/data/v${opts.version}/query/${id}-${cur.position}`, records };
}

// ---------------------------------------------------------------------------------------------------
// REST

/** `GET /sobjects/X__x/{Id}` or `/sobjects/X__x/{ExternalId}`: one row by its Salesforce Id or external key. */
export async function retrieveExternal(org: Org, def: ObjectDef, idOrKey: string, fieldNames: string[] | undefined, version: string): Promise<Row> {
  const info = def.external!;
  const key = externalIdFor(org, def, idOrKey) ?? (def.keyPrefix && idOrKey.startsWith(def.keyPrefix) && isValidId(idOrKey) ? null : idOrKey);
  if (key === null) throw new SfError(404, 'NOT_FOUND', 'The requested resource does not exist');
  const fields = (fieldNames ?? def.fields.map((f) => f.name)).map((n) => {
    const f = org.schema.field(def.name, n);
    if (!f) throw new SfError(400, 'INVALID_FIELD', `No such column '${n}' on sobject of type ${def.name}`);
    return f;
  });
  const opts = new URLSearchParams({ $filter: `${info.keyColumn} eq ${keyLiteral(info, key)}`, $top: '1' });
  const columns = new Set([info.keyColumn, ...fields.filter((f) => info.columns.has(f.name.toLowerCase())).map((f) => info.columns.get(f.name.toLowerCase())!)]);
  opts.set('$select', [...columns].join(','));
  const { json } = await odataCall(info, 'GET', `${encodeURIComponent(info.table)}?${opts.toString().replace(/%24/g, '$').replace(/\+/g, '%20')}`);
  const row = Array.isArray(json?.value) ? (json.value as Row[])[0] : undefined;
  if (!row) throw new SfError(404, 'NOT_FOUND', 'The requested resource does not exist');
  return toRecord(org, def, row, fields, version);
}

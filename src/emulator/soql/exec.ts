/**
 * Runs compiled plans: counts, fetches one page of rows (keyset on rowid when the query has no ORDER BY,
 * OFFSET otherwise), fetches child subqueries for the whole page in one statement each, and shapes rows
 * into Salesforce records.
 */
import type { Org } from '../org.ts';
import type { FieldType } from '../schema/types.ts';
import { formatDateTime, type SqlValue } from '../store/values.ts';
import type { ChildPlan, OutBody, Plan } from './compiler.ts';

type Row = Record<string, SqlValue>;
export type ApiRecord = Record<string, unknown>;

/** Per-page shaping context. */
interface Env {
  org: Org;
  urlPrefix: string;
  children: Map<string, ApiRecord>[];
}

function conv(type: FieldType, v: SqlValue): unknown {
  if (v === null || v === undefined) return null;
  switch (type) {
    case 'boolean': return v === 1 || v === 1n;
    case 'int': case 'long': case 'double': case 'currency': case 'percent': return Number(v);
    case 'datetime': return formatDateTime(Number(v));
    default: return v;
  }
}

const formats = new Map<string, Intl.NumberFormat | Intl.DateTimeFormat>();
function cached<T extends Intl.NumberFormat | Intl.DateTimeFormat>(key: string, make: () => T): T {
  let f = formats.get(key);
  if (!f) formats.set(key, (f = make()));
  return f as T;
}

/**
 * FORMAT(): what Salesforce Classic shows the running user — currency with its symbol and scale
 * (`$5,000.00`), grouped numbers, dates and datetimes in the user's locale and time zone
 * (`3/15/2024`, `3/15/2024, 12:00 PM`). Other types come back as they are.
 */
function formatValue(n: Extract<OutBody['entries'][number], { k: 'fmt' }>, v: SqlValue): unknown {
  if (v === null || v === undefined) return null;
  // ICU puts a narrow no-break space before AM/PM; Salesforce's formats use a plain space.
  const plain = (s: string) => s.replace(/[\u202f\u00a0]/g, ' ');
  const digits = { minimumFractionDigits: n.scale, maximumFractionDigits: n.scale };
  switch (n.type) {
    case 'currency':
      return plain(cached(`c:${n.locale}:${n.currency}:${n.scale}`, () => new Intl.NumberFormat(n.locale, { style: 'currency', currency: n.currency, ...digits })).format(Number(v)));
    case 'int': case 'long': case 'double':
      return plain(cached(`n:${n.locale}:${n.scale}`, () => new Intl.NumberFormat(n.locale, digits)).format(Number(v)));
    case 'percent':
      return `${plain(cached(`n:${n.locale}:${n.scale}`, () => new Intl.NumberFormat(n.locale, digits)).format(Number(v)))}%`;
    case 'date':
      return plain(cached(`d:${n.locale}`, () => new Intl.DateTimeFormat(n.locale, { timeZone: 'UTC', year: 'numeric', month: 'numeric', day: 'numeric' })).format(new Date(`${String(v)}T00:00:00Z`)));
    case 'datetime':
      return plain(cached(`dt:${n.locale}:${n.timeZone}`, () => new Intl.DateTimeFormat(n.locale, { timeZone: n.timeZone, year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: '2-digit' })).format(new Date(Number(v))));
    case 'time':
      return plain(cached(`t:${n.locale}`, () => new Intl.DateTimeFormat(n.locale, { timeZone: 'UTC', hour: 'numeric', minute: '2-digit' })).format(new Date(`1970-01-01T${String(v).replace(/Z$/, '')}Z`)));
    default:
      return conv(n.type, v);
  }
}

function fill(out: ApiRecord, body: OutBody, row: Row, env: Env, id: SqlValue): void {
  for (const n of body.entries) {
    switch (n.k) {
      case 'val':
        out[n.key] = conv(n.type, row[n.col]);
        break;
      case 'fmt':
        out[n.key] = formatValue(n, row[n.col]);
        break;
      case 'blob':
        out[n.key] = row[n.has] === 1 ? `${env.urlPrefix}${n.type}/${String(row[n.idCol])}/${n.key}` : null;
        break;
      case 'addr': {
        const o: ApiRecord = {};
        let any = false;
        for (const [k, c] of n.parts) {
          const v = row[c] ?? null;
          if (v !== null) any = true;
          o[k] = v;
        }
        out[n.key] = any ? o : null;
        break;
      }
      case 'loc': {
        const lat = n.lat ? (row[n.lat] ?? null) : null;
        const lon = n.lon ? (row[n.lon] ?? null) : null;
        out[n.key] = lat === null && lon === null ? null : { latitude: lat, longitude: lon };
        break;
      }
      case 'const':
        out[n.key] = n.value;
        break;
      case 'parent': {
        const pid = row[n.idCol];
        if (pid === null || pid === undefined) {
          out[n.key] = null;
          break;
        }
        const o: ApiRecord = { attributes: { type: n.type, url: `${env.urlPrefix}${n.type}/${pid}` } };
        fill(o, n.body, row, env, pid);
        out[n.key] = o;
        break;
      }
      case 'poly': {
        const fk = row[n.fkCol];
        if (fk === null || fk === undefined) {
          out[n.key] = null;
          break;
        }
        const type = env.org.schema.objectForId(String(fk))?.name ?? 'Name';
        const o: ApiRecord = { attributes: { type, url: `${env.urlPrefix}${type}/${fk}` } };
        fill(o, n.common, row, env, fk);
        const branch = n.byType.get(type) ?? n.otherwise;
        if (branch) fill(o, branch, row, env, fk);
        out[n.key] = o;
        break;
      }
      case 'polyType': {
        const fk = row[n.fkCol];
        out[n.key] = fk === null || fk === undefined ? null : (env.org.schema.objectForId(String(fk))?.name ?? null);
        break;
      }
      case 'child':
        out[n.key] = env.children[n.index].get(String(id)) ?? null;
        break;
    }
  }
}

function shape(plan: Plan, row: Row, env: Env): ApiRecord {
  if (plan.aggregate) {
    const out: ApiRecord = { attributes: { type: 'AggregateResult' } };
    fill(out, plan.body, row, env, null);
    return out;
  }
  const id = row[plan.idCol!];
  const out: ApiRecord = { attributes: { type: plan.def.name, url: `${env.urlPrefix}${plan.def.name}/${id}` } };
  fill(out, plan.body, row, env, id);
  return out;
}

/** Total rows the query returns, honouring OFFSET and LIMIT (computed once per cursor). */
export function countPlan(org: Org, plan: Plan): number {
  let sql: string;
  if (plan.countOnly || !plan.aggregate) sql = `SELECT COUNT(*) AS n ${plan.from} WHERE ${plan.where.sql}`;
  else sql = `SELECT COUNT(*) AS n FROM (SELECT ${plan.select} ${plan.from} WHERE ${plan.where.sql}${grouping(plan)})`;
  const params = plan.having && !plan.countOnly ? [...plan.where.params, ...plan.having.params] : plan.where.params;
  const row = org.store.prepare(sql).get(...params) as { n: number } | undefined;
  let n = Math.max(0, Number(row?.n ?? 0) - plan.offset);
  if (plan.limit !== undefined) n = Math.min(n, plan.limit);
  return n;
}

/** Where a page starts: `afterKey` (rowid of the last row returned) enables keyset paging. */
export interface PagePosition {
  position: number;
  afterKey: number | null;
}

export interface Page {
  records: ApiRecord[];
  /** Rows of the main query consumed by this page. */
  consumed: number;
  /** rowid of the last row, for keyset continuation (null for ordered or aggregate plans). */
  lastKey: number | null;
}

function grouping(plan: Plan): string {
  return `${plan.groupBy ? ` GROUP BY ${plan.groupBy}` : ''}${plan.having ? ` HAVING ${plan.having.sql}` : ''}`;
}

function rowsSql(plan: Plan, keyset: boolean): string {
  const head = `SELECT ${plan.select} ${plan.from} WHERE ${plan.where.sql}`;
  if (plan.aggregate) {
    return `${head}${grouping(plan)}${plan.orderBy ? ` ORDER BY ${plan.orderBy}` : ''} LIMIT ? OFFSET ?`;
  }
  if (keyset) return `${head} AND ${plan.alias}.rowid > ? ORDER BY _rk LIMIT ? OFFSET ?`;
  return `${head} ORDER BY ${plan.orderBy ? `${plan.orderBy}, ` : ''}_rk LIMIT ? OFFSET ?`;
}

/** Keyset paging applies when rows come out in rowid order. */
export function usesKeyset(plan: Plan): boolean {
  return !plan.aggregate && plan.orderBy === '';
}

function fetchChildren(org: Org, child: ChildPlan, parentIds: SqlValue[], env: Env): Map<string, ApiRecord> {
  const byParent = new Map<string, ApiRecord[]>();
  if (parentIds.length === 0) return new Map();
  const rows = org.store.prepare(child.sql).all(JSON.stringify(parentIds), ...child.plan.where.params) as Row[];
  for (const row of rows) {
    const key = String(row[child.fkCol]);
    let list = byParent.get(key);
    if (!list) byParent.set(key, (list = []));
    if (child.limit !== undefined && list.length >= child.limit) continue;
    list.push(shape(child.plan, row, env));
  }
  const out = new Map<string, ApiRecord>();
  for (const [key, records] of byParent) out.set(key, { totalSize: records.length, done: true, records });
  return out;
}

/**
 * Fetches up to `max` rows starting at `at`. With child subqueries the page is cut so that parents plus
 * their children stay within `budget` (the batch size) (at least one parent per page), as Salesforce counts child rows
 * toward the batch.
 */
export function fetchPage(org: Org, plan: Plan, at: PagePosition, max: number, version: string, budget = max): Page {
  const keyset = usesKeyset(plan) && (at.afterKey !== null || at.position === 0);
  const sql = rowsSql(plan, keyset);
  const params: SqlValue[] = [...plan.where.params];
  if (plan.having) params.push(...plan.having.params);
  if (keyset) params.push(at.afterKey ?? Number.MIN_SAFE_INTEGER, max, at.afterKey === null ? plan.offset : 0);
  else params.push(max, plan.offset + at.position);
  const rows = org.store.prepare(sql).all(...params) as Row[];
  const env: Env = { org, urlPrefix: `/services/data/v${version}/sobjects/`, children: [] };
  if (plan.children.length && rows.length) {
    const ids = rows.map((r) => r[plan.idCol!]);
    env.children = plan.children.map((c) => fetchChildren(org, c, ids, env));
  }
  let take = rows.length;
  if (plan.children.length) {
    let weight = 0;
    for (let i = 0; i < rows.length; i++) {
      const id = String(rows[i][plan.idCol!]);
      weight += 1 + env.children.reduce((n, m) => n + (((m.get(id) as { totalSize?: number } | undefined)?.totalSize) ?? 0), 0);
      if (weight > budget && i > 0) {
        take = i;
        break;
      }
    }
  }
  const records = new Array<ApiRecord>(take);
  for (let i = 0; i < take; i++) records[i] = shape(plan, rows[i], env);
  const last = take > 0 ? rows[take - 1]._rk : undefined;
  return { records, consumed: take, lastKey: usesKeyset(plan) && typeof last === 'number' ? last : null };
}

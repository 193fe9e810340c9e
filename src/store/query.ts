/**
 * Read queries over one table — a mirror table or an application table in the same database — as an AST
 * compiled to SQL, the way kysely compiles its query trees: identifiers come only from the table's known
 * columns (quoted), and every value is a bound parameter. Front ends (the OData producer's `$filter`,
 * `$orderby`, `$select`, `$search`, `$top`, `$skip` and skip tokens) build this tree; nothing they receive is
 * ever spliced into SQL text.
 */
import { randomBytes } from 'node:crypto';
import { Params, quote, type Conn, type Dialect } from './driver.ts';
import { toCanonical, type Canonical, type StorageKind } from './values.ts';

/** A literal in a filter: compared to a column after conversion to that column's storage form. */
export type QueryValue = string | number | boolean | null;

/** Comparison operators (OData's `eq`, `ne`, …). */
export type CompareOp = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';

/** Case-sensitive text predicates (OData `contains`, `startswith`, `endswith`). */
export type TextOp = 'contains' | 'startswith' | 'endswith';

/** A filter expression. */
export type QueryExpr =
  | { kind: 'compare'; op: CompareOp; column: string; value: QueryValue }
  | { kind: 'text'; op: TextOp; column: string; value: string }
  | { kind: 'and' | 'or'; args: QueryExpr[] }
  | { kind: 'not'; arg: QueryExpr }
  /** Case-insensitive free text: true when any of `columns` contains `text`. */
  | { kind: 'search'; columns: string[]; text: string }
  | { kind: 'literal'; value: boolean };

/** One ORDER BY term. */
export interface QueryOrder {
  column: string;
  descending?: boolean;
}

/** A read of one table. */
export interface TableQuery {
  /** Columns to return; default all. */
  columns?: readonly string[];
  where?: QueryExpr;
  orderBy?: readonly QueryOrder[];
  limit?: number;
  offset?: number;
}

/** A column as queries see it. */
export interface QueryColumn {
  name: string;
  kind: StorageKind;
  /** Declared maximum length of text columns, when known. */
  length?: number;
  nullable: boolean;
}

/** What a query may address in one table. */
export interface TableShape {
  /** The table's name as stored. */
  table: string;
  /** True for a sfbridge mirror table (rows flagged deleted are never returned). */
  mirror: boolean;
  /** A mirror table made writable (two-way sync): its rows may be changed, and the changes go to Salesforce. */
  writable?: boolean;
  columns: QueryColumn[];
  /** Primary-key columns, in order (mirror tables: `Id`). */
  key: string[];
}

/** Raised for a query that names something the table does not have or a value its column cannot hold. */
export class QueryError extends Error {
  readonly code = 'QUERY_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'QueryError';
  }
}

/** Looks a column up case-insensitively (Salesforce names are case-insensitive, app tables usually lower case). */
export function columnOf(shape: TableShape, name: string): QueryColumn {
  const lower = name.toLowerCase();
  const col = shape.columns.find((c) => c.name === name) ?? shape.columns.find((c) => c.name.toLowerCase() === lower);
  if (!col) throw new QueryError(`${shape.table} has no column ${name}`);
  return col;
}

/** A value converted to the column's canonical storage form, or a {@link QueryError} naming the mismatch. */
function canonicalFor(shape: TableShape, col: QueryColumn, value: QueryValue): Canonical {
  if (value === null) return null;
  if (col.kind === 'json') return typeof value === 'string' ? value : JSON.stringify(value);
  // An application table may hold empty strings, which the mirror's conversion reads as null.
  if (col.kind === 'text' && typeof value === 'string') return value;
  try {
    return toCanonical(col.kind, value, { object: shape.table, field: { name: col.name, type: col.kind }, recordId: undefined });
  } catch {
    throw new QueryError(`${JSON.stringify(value)} is not a valid value for ${col.name} (${col.kind})`);
  }
}

/** Compiles `query` against `shape` into SQL text and its bound parameters. */
export function compileQuery(d: Dialect, shape: TableShape, query: TableQuery, deletedColumn?: string): { sql: string; params: unknown[] } {
  const p = new Params(d);
  const cols = (query.columns ?? shape.columns.map((c) => c.name)).map((n) => columnOf(shape, n));
  const where = whereSql(d, shape, p, query.where, deletedColumn);
  const order = (query.orderBy ?? []).map((o) => `${quote(columnOf(shape, o.column).name)} ${o.descending ? 'DESC' : 'ASC'}${nullsOrder(d, o.descending === true)}`);
  let sql = `SELECT ${cols.map((c) => quote(c.name)).join(', ')} FROM ${d.table(shape.table)}${where}`;
  if (order.length > 0) sql += ` ORDER BY ${order.join(', ')}`;
  if (query.limit !== undefined) sql += ` LIMIT ${p.add(Math.max(0, Math.floor(query.limit)))}`;
  if (query.offset !== undefined && query.offset > 0) {
    if (query.limit === undefined) sql += ` LIMIT ${d.name === 'sqlite' ? '-1' : 'ALL'}`;
    sql += ` OFFSET ${p.add(Math.floor(query.offset))}`;
  }
  return { sql, params: p.values };
}

/** Compiles a `COUNT(*)` over the rows `where` selects. */
export function compileCount(d: Dialect, shape: TableShape, where: QueryExpr | undefined, deletedColumn?: string): { sql: string; params: unknown[] } {
  const p = new Params(d);
  return { sql: `SELECT COUNT(*) AS n FROM ${d.table(shape.table)}${whereSql(d, shape, p, where, deletedColumn)}`, params: p.values };
}

/**
 * Nulls sort first ascending and last descending on both backends (SQLite's order; Postgres is told), so a
 * page boundary means the same row on either.
 */
function nullsOrder(d: Dialect, descending: boolean): string {
  if (d.name !== 'postgres') return '';
  return descending ? ' NULLS LAST' : ' NULLS FIRST';
}

function whereSql(d: Dialect, shape: TableShape, p: Params, expr: QueryExpr | undefined, deletedColumn: string | undefined): string {
  const conds: string[] = [];
  if (shape.mirror && deletedColumn) conds.push(`${quote(deletedColumn)} = ${p.add(d.toParam('boolean', false))}`);
  if (expr) conds.push(exprSql(d, shape, p, expr));
  return conds.length > 0 ? ` WHERE ${conds.map((c) => (conds.length > 1 ? `(${c})` : c)).join(' AND ')}` : '';
}

const SQL_OP: Record<CompareOp, string> = { eq: '=', ne: '<>', lt: '<', le: '<=', gt: '>', ge: '>=' };

function exprSql(d: Dialect, shape: TableShape, p: Params, e: QueryExpr): string {
  switch (e.kind) {
    case 'literal':
      return e.value ? '1 = 1' : '1 = 0';
    case 'and':
    case 'or':
      if (e.args.length === 0) return e.kind === 'and' ? '1 = 1' : '1 = 0';
      return e.args.map((a) => `(${exprSql(d, shape, p, a)})`).join(e.kind === 'and' ? ' AND ' : ' OR ');
    case 'not':
      // NOT over a comparison with NULL is NULL in SQL; OData's `not` of a false-or-null predicate is true.
      return `NOT COALESCE((${exprSql(d, shape, p, e.arg)}), ${d.name === 'sqlite' ? '0' : 'false'})`;
    case 'compare': {
      const col = columnOf(shape, e.column);
      const c = quote(col.name);
      const value = canonicalFor(shape, col, e.value);
      if (value === null) {
        if (e.op === 'eq') return `${c} IS NULL`;
        if (e.op === 'ne') return `${c} IS NOT NULL`;
        // OData: comparing with null by lt/gt is false.
        return '1 = 0';
      }
      const v = p.add(d.toParam(col.kind, value));
      // OData's `ne` is true for a null column (null ne 'x'); SQL's `<>` would be NULL.
      if (e.op === 'ne') return `(${c} IS NULL OR ${c} <> ${v})`;
      return `${c} ${SQL_OP[e.op]} ${v}`;
    }
    case 'text': {
      const col = columnOf(shape, e.column);
      if (col.kind !== 'text') throw new QueryError(`${e.op}() needs a text column; ${col.name} is ${col.kind}`);
      // Every string contains, starts and ends with the empty string (substr(x, -0) would be all of x).
      if (e.value === '') return `${quote(col.name)} IS NOT NULL`;
      return d.textMatch(e.op, quote(col.name), () => p.add(e.value));
    }
    case 'search': {
      const cols = e.columns.map((n) => columnOf(shape, n)).filter((c) => c.kind === 'text');
      if (cols.length === 0 || e.text === '') return e.text === '' ? '1 = 1' : '1 = 0';
      return cols.map((c) => d.textMatch('contains', `lower(${quote(c.name)})`, () => p.add(e.text.toLowerCase()))).join(' OR ');
    }
  }
}

/** Runs a compiled read and converts each column to its canonical value. */
export async function runQuery(conn: Conn, d: Dialect, shape: TableShape, query: TableQuery, deletedColumn?: string): Promise<Record<string, Canonical>[]> {
  const { sql, params } = compileQuery(d, shape, query, deletedColumn);
  const cols = (query.columns ?? shape.columns.map((c) => c.name)).map((n) => columnOf(shape, n));
  const rows = await conn.all(sql, params);
  return rows.map((row) => {
    const out: Record<string, Canonical> = {};
    for (const c of cols) out[c.name] = d.fromColumn(c.kind, row[c.name]);
    return out;
  });
}

/** Runs a compiled count. */
export async function runCount(conn: Conn, d: Dialect, shape: TableShape, where: QueryExpr | undefined, deletedColumn?: string): Promise<number> {
  const { sql, params } = compileCount(d, shape, where, deletedColumn);
  const [row] = await conn.all(sql, params);
  return Number(row?.n ?? 0);
}

/** Storage kind of an application-table column from its SQL type name (either backend's spelling). */
export function kindOfSqlType(type: string): StorageKind {
  const t = type.toLowerCase();
  if (/bool/.test(t)) return 'boolean';
  if (/^(bigint|int8|bigserial)/.test(t)) return 'bigint';
  if (/int/.test(t)) return 'integer';
  if (/(numeric|decimal|real|double|float|money)/.test(t)) return 'decimal';
  if (/timestamp|datetime/.test(t)) return 'datetime';
  if (/^date$/.test(t)) return 'date';
  if (/^time/.test(t)) return 'time';
  if (/json/.test(t)) return 'json';
  return 'text';
}

/** A change to one row of an application table, addressed by its key. */
export type TableMutation =
  | { kind: 'insert'; values: Record<string, QueryValue> }
  | { kind: 'update'; key: Record<string, QueryValue>; values: Record<string, QueryValue> }
  | { kind: 'delete'; key: Record<string, QueryValue> };

/**
 * Compiles a mutation. Mirror tables are refused (the next sync would overwrite what was written) unless
 * writable: then the change is captured and sent to Salesforce, and an insert without `Id` gets a
 * placeholder until Salesforce's Id replaces it.
 */
export function compileMutation(d: Dialect, shape: TableShape, m: TableMutation): { sql: string; params: unknown[] } {
  if (shape.mirror && !shape.writable) throw new QueryError(`${shape.table} is a Salesforce mirror table: write to Salesforce, and the sync brings the change back (or make it writable: objects.${shape.table}.writable: true)`);
  if (shape.mirror) {
    const bookkeeping = Object.keys(m.kind === 'delete' ? {} : m.values).find((k) => k.startsWith('_'));
    if (bookkeeping) throw new QueryError(`${bookkeeping} is sfbridge's own column of ${shape.table}: write the object's fields only`);
    if (m.kind === 'update' && Object.keys(m.values).some((k) => k.toLowerCase() === 'id')) throw new QueryError(`the Id of a ${shape.table} row cannot change: delete the row and insert another`);
    if (m.kind === 'insert' && !Object.keys(m.values).some((k) => k.toLowerCase() === 'id')) m = { ...m, values: { ...m.values, Id: newPlaceholderId() } };
  }
  const p = new Params(d);
  const bind = (name: string, value: QueryValue) => {
    const col = columnOf(shape, name);
    return { col: quote(col.name), ph: p.add(d.toParam(col.kind, canonicalFor(shape, col, value))) };
  };
  if (m.kind === 'insert') {
    const pairs = Object.entries(m.values).map(([k, v]) => bind(k, v));
    if (pairs.length === 0) throw new QueryError(`an insert into ${shape.table} needs at least one column`);
    return { sql: `INSERT INTO ${d.table(shape.table)} (${pairs.map((x) => x.col).join(', ')}) VALUES (${pairs.map((x) => x.ph).join(', ')})`, params: p.values };
  }
  const keyNames = Object.keys(m.key);
  if (keyNames.length === 0) throw new QueryError(`a ${m.kind} of ${shape.table} needs its key`);
  if (m.kind === 'update') {
    const sets = Object.entries(m.values).map(([k, v]) => bind(k, v));
    if (sets.length === 0) throw new QueryError(`an update of ${shape.table} needs at least one column to change`);
    const setSql = sets.map((x) => `${x.col} = ${x.ph}`).join(', ');
    const where = keyNames.map((k) => bind(k, m.key[k])).map((x) => `${x.col} = ${x.ph}`).join(' AND ');
    return { sql: `UPDATE ${d.table(shape.table)} SET ${setSql} WHERE ${where}`, params: p.values };
  }
  const where = keyNames.map((k) => bind(k, m.key[k])).map((x) => `${x.col} = ${x.ph}`).join(' AND ');
  return { sql: `DELETE FROM ${d.table(shape.table)} WHERE ${where}`, params: p.values };
}

/** A placeholder Id for a row inserted into a writable mirror table (`new-` and 14 hex digits). */
export function newPlaceholderId(): string {
  return `new-${randomBytes(7).toString('hex')}`;
}

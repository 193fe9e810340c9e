/**
 * SQLite SQL differences. Storage choices:
 * - datetimes are TEXT `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC, always millis): readable in any SQLite tool, and
 *   text order equals time order, so the SystemModstamp guard compares them directly in SQL;
 * - dates `YYYY-MM-DD`, times `HH:MM:SS.mmm` as TEXT; booleans INTEGER 0/1;
 * - int/long INTEGER; double/currency/percent REAL; address/location/anyType (and unknown types) JSON TEXT;
 * - `Id` uses the default BINARY collation, so `ORDER BY "Id"` is byte order.
 */
import { quote, type Conn, type Dialect } from '../driver.ts';
import type { FieldSpec, SearchIndex } from '../types.ts';
import { type Canonical, type StorageKind } from '../values.ts';
import { EMITTED_TABLE, FIELDS_TABLE, RUNS_TABLE, STATE_TABLE, TOMBSTONES_TABLE } from '../core.ts';
import { SqliteSearchIndex, searchDdl } from './search.ts';

const COLUMN: Record<StorageKind, string> = {
  text: 'TEXT',
  boolean: 'INTEGER',
  integer: 'INTEGER',
  bigint: 'INTEGER',
  decimal: 'REAL',
  date: 'TEXT',
  datetime: 'TEXT',
  time: 'TEXT',
  json: 'TEXT',
};

/** The SQLite dialect. */
export class SqliteDialect implements Dialect {
  readonly name = 'sqlite' as const;
  readonly maxParams = 32766;
  // SQLite has no identifier limit; keep names portable to Postgres so a mirror can move between backends.
  readonly maxIdentifierLength = 63;
  readonly idColumn = 'TEXT NOT NULL';
  readonly timestampType = 'TEXT';
  readonly booleanType = 'INTEGER';
  readonly jsonType = 'TEXT';
  readonly serialPrimaryKey = 'INTEGER PRIMARY KEY AUTOINCREMENT';

  placeholder(): string {
    return '?';
  }

  table(name: string): string {
    return quote(name);
  }

  indexName(object: string): string {
    return `_sfbridge_ms_${object}`;
  }

  columnType(kind: StorageKind, _field: FieldSpec): string {
    return COLUMN[kind];
  }

  toParam(kind: StorageKind, value: Canonical): unknown {
    if (value === null) return null;
    if (kind === 'boolean') return value ? 1 : 0;
    if (kind === 'decimal') return Number(value);
    return value;
  }

  fromColumn(kind: StorageKind, value: unknown): Canonical {
    if (value === null || value === undefined) return null;
    switch (kind) {
      case 'boolean':
        return Number(value) !== 0;
      case 'integer':
      case 'bigint':
        return Number(value);
      case 'decimal':
        return String(value);
      default:
        return typeof value === 'string' ? value : String(value);
    }
  }

  bootstrap(): string[] {
    const ts = this.timestampType;
    return [
      `CREATE TABLE IF NOT EXISTS ${quote(FIELDS_TABLE)} (object_key TEXT NOT NULL, field_key TEXT NOT NULL, object TEXT NOT NULL, field TEXT NOT NULL, type TEXT NOT NULL, length INTEGER, precision INTEGER, scale INTEGER, removed INTEGER NOT NULL DEFAULT 0, position INTEGER NOT NULL, PRIMARY KEY (object_key, field_key))`,
      `CREATE TABLE IF NOT EXISTS ${quote(TOMBSTONES_TABLE)} (object TEXT NOT NULL, id TEXT NOT NULL, deleted_at ${ts} NOT NULL, PRIMARY KEY (object, id))`,
      `CREATE TABLE IF NOT EXISTS ${quote(STATE_TABLE)} (key TEXT PRIMARY KEY, system_modstamp TEXT, record_id TEXT, extra ${this.jsonType}, updated_at ${ts} NOT NULL)`,
      `CREATE TABLE IF NOT EXISTS ${quote(EMITTED_TABLE)} (stream TEXT NOT NULL, id TEXT NOT NULL, hash TEXT NOT NULL, updated_at ${ts} NOT NULL, PRIMARY KEY (stream, id))`,
      `CREATE TABLE IF NOT EXISTS ${quote(RUNS_TABLE)} (id ${this.serialPrimaryKey}, started ${ts} NOT NULL, finished ${ts}, status TEXT NOT NULL, api_calls INTEGER NOT NULL, objects ${this.jsonType} NOT NULL, error TEXT)`,
      ...searchDdl(),
    ];
  }

  search(conn: Conn, signal?: AbortSignal): SearchIndex {
    return new SqliteSearchIndex(conn, this, signal);
  }

  queryIndexColumn(quoted: string): string {
    return quoted;
  }

  textMatch(op: 'contains' | 'startswith' | 'endswith', column: string, param: () => string): string {
    // instr() is case-sensitive, unlike LIKE, and needs no escaping of % and _.
    if (op === 'contains') return `instr(${column}, ${param()}) > 0`;
    if (op === 'startswith') return `instr(${column}, ${param()}) = 1`;
    return `substr(${column}, -length(${param()})) = ${param()}`;
  }

  async columnsOf(conn: Conn, table: string): Promise<{ columns: { name: string; type: string; nullable: boolean }[]; key: string[] } | undefined> {
    const rows = await conn.all(`SELECT name, type, "notnull" AS nn, pk FROM pragma_table_info(?) ORDER BY cid`, [table]);
    if (rows.length === 0) return undefined;
    const key = rows.filter((r) => Number(r.pk) > 0).sort((a, b) => Number(a.pk) - Number(b.pk)).map((r) => String(r.name));
    return { columns: rows.map((r) => ({ name: String(r.name), type: String(r.type ?? ''), nullable: Number(r.nn) === 0 && Number(r.pk) === 0 })), key };
  }
}

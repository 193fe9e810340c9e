/**
 * Postgres SQL differences. Storage choices: text, boolean, integer (int), bigint (long), numeric for
 * double/currency/percent (unconstrained, so describe precision drift never makes a write overflow and
 * decimals are stored exactly as sent), date, timestamptz, time, jsonb for address/location/anyType and
 * unknown types. `Id` is `text COLLATE "C"` so its index order is byte order (the order `listIds` promises)
 * whatever the database's default collation is. All objects live in one schema.
 */
import { createHash } from 'node:crypto';
import { quote, type Conn, type Dialect } from '../driver.ts';
import { EMITTED_TABLE, FIELDS_TABLE, RUNS_TABLE, STATE_TABLE, TOMBSTONES_TABLE } from '../core.ts';
import type { FieldSpec, SearchIndex } from '../types.ts';
import { normalizeDateTime, type Canonical, type StorageKind } from '../values.ts';
import { PostgresSearchIndex, searchDdl } from './search.ts';

const COLUMN: Record<StorageKind, string> = {
  text: 'text',
  boolean: 'boolean',
  integer: 'integer',
  bigint: 'bigint',
  decimal: 'numeric',
  date: 'date',
  datetime: 'timestamptz',
  time: 'time',
  json: 'jsonb',
};

const SCHEMA_RE = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** The Postgres dialect for one schema. */
/** Comment that marks the lower-case views sfbridge makes (so it never drops a view it did not make). */
const VIEW_NOTE = 'sfbridge: lower-case view of';

/** A SQL string literal (COMMENT takes no parameters). */
function literal(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

export class PostgresDialect implements Dialect {
  readonly name = 'postgres' as const;
  readonly maxParams = 65535;
  readonly maxIdentifierLength = 63;
  readonly idColumn = 'text COLLATE "C" NOT NULL';
  readonly timestampType = 'timestamptz';
  readonly booleanType = 'boolean';
  readonly jsonType = 'jsonb';
  readonly serialPrimaryKey = 'bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY';
  readonly schema: string;
  readonly lowercaseViews: boolean;

  constructor(schema: string, options: { lowercaseViews?: boolean } = {}) {
    if (!SCHEMA_RE.test(schema)) throw new TypeError(`Invalid Postgres schema name ${JSON.stringify(schema)}`);
    this.schema = schema;
    this.lowercaseViews = options.lowercaseViews === true;
  }

  /** What the relation named `name` in the schema is: `r` table, `v` view, … and whether sfbridge made it. */
  async #relation(conn: Conn, name: string): Promise<{ kind: string; ours: boolean } | undefined> {
    const [row] = await conn.all(
      `SELECT c.relkind, obj_description(c.oid, 'pg_class') AS note FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`,
      [this.schema, name],
    );
    return row ? { kind: String(row.relkind), ours: String(row.note ?? '').startsWith(VIEW_NOTE) } : undefined;
  }

  // A view depends on the columns it names, so it is dropped before the table is altered (a dropped
  // column would otherwise be refused) and made again over the columns the table has afterwards. Only
  // views sfbridge made (marked by their comment) are ever dropped.
  async beforeAlter(conn: Conn, object: string): Promise<void> {
    const view = object.toLowerCase();
    if (view !== object && (await this.#relation(conn, view))?.ours) await conn.run(`DROP VIEW ${this.table(view)}`);
  }

  async afterTable(conn: Conn, object: string, columns: readonly string[]): Promise<void> {
    const view = object.toLowerCase();
    if (view === object) return;
    const rel = await this.#relation(conn, view);
    if (!this.lowercaseViews) {
      // Switched off: a view an earlier run made goes.
      if (rel?.ours) await conn.run(`DROP VIEW ${this.table(view)}`);
      return;
    }
    // Never over a table or view of the application's that happens to have the name.
    if (rel && !rel.ours) return;
    const list = columns.map((c) => `${quote(c)} AS ${quote(c.toLowerCase())}`).join(', ');
    await conn.run(`CREATE OR REPLACE VIEW ${this.table(view)} AS SELECT ${list} FROM ${this.table(object)}`);
    await conn.run(`COMMENT ON VIEW ${this.table(view)} IS ${literal(`${VIEW_NOTE} ${object}`)}`);
  }

  placeholder(n: number): string {
    return `$${n}`;
  }

  table(name: string): string {
    return `${quote(this.schema)}.${quote(name)}`;
  }

  indexName(object: string): string {
    // Postgres truncates names at 63 bytes; a hash keeps long object names from colliding.
    return `_sfb_ms_${createHash('sha256').update(object).digest('hex').slice(0, 24)}`;
  }

  columnType(kind: StorageKind, _field: FieldSpec): string {
    return COLUMN[kind];
  }

  toParam(_kind: StorageKind, value: Canonical): unknown {
    // Canonical forms are valid Postgres input for their column types (ISO datetimes, decimal strings,
    // JSON text), and sending text keeps numeric values exact.
    return value;
  }

  fromColumn(kind: StorageKind, value: unknown): Canonical {
    if (value === null || value === undefined) return null;
    switch (kind) {
      case 'boolean':
        return value === true || value === 't' || value === 'true';
      case 'integer':
      case 'bigint':
        return Number(value);
      case 'datetime': {
        // Session TimeZone is UTC, so timestamptz arrives as `2024-03-05 17:38:40.123+00`.
        const iso = normalizeDateTime(String(value));
        if (iso === undefined) throw new Error(`Unexpected timestamptz output ${String(value)}`);
        return iso;
      }
      case 'time': {
        const [hms, frac = ''] = String(value).split('.');
        return `${hms}.${frac.padEnd(3, '0').slice(0, 3)}`;
      }
      default:
        return String(value);
    }
  }

  bootstrap(): string[] {
    // Serialise concurrent first opens of the same schema (CREATE … IF NOT EXISTS races on catalogs).
    const lockKey = createHash('sha256').update(`sfbridge:${this.schema}`).digest().readInt32BE(0);
    const ts = this.timestampType;
    return [
      `SELECT pg_advisory_xact_lock(${lockKey})`,
      `CREATE SCHEMA IF NOT EXISTS ${quote(this.schema)}`,
      `CREATE TABLE IF NOT EXISTS ${this.table(FIELDS_TABLE)} (object_key text NOT NULL, field_key text NOT NULL, object text NOT NULL, field text NOT NULL, type text NOT NULL, length integer, precision integer, scale integer, removed boolean NOT NULL DEFAULT false, position integer NOT NULL, PRIMARY KEY (object_key, field_key))`,
      `CREATE TABLE IF NOT EXISTS ${this.table(TOMBSTONES_TABLE)} (object text NOT NULL, id text COLLATE "C" NOT NULL, deleted_at ${ts} NOT NULL, PRIMARY KEY (object, id))`,
      `CREATE TABLE IF NOT EXISTS ${this.table(STATE_TABLE)} (key text PRIMARY KEY, system_modstamp text, record_id text, extra ${this.jsonType}, updated_at ${ts} NOT NULL)`,
      `CREATE TABLE IF NOT EXISTS ${this.table(EMITTED_TABLE)} (stream text NOT NULL, id text COLLATE "C" NOT NULL, hash text NOT NULL, updated_at ${ts} NOT NULL, PRIMARY KEY (stream, id))`,
      `CREATE TABLE IF NOT EXISTS ${this.table(RUNS_TABLE)} (id ${this.serialPrimaryKey}, started ${ts} NOT NULL, finished ${ts}, status text NOT NULL, api_calls integer NOT NULL, objects ${this.jsonType} NOT NULL, error text)`,
      ...searchDdl(this),
    ];
  }

  search(conn: Conn, signal?: AbortSignal): SearchIndex {
    return new PostgresSearchIndex(conn, this, signal);
  }

  queryIndexColumn(quoted: string): string {
    return `${quoted} NULLS FIRST`;
  }

  textMatch(op: 'contains' | 'startswith' | 'endswith', column: string, param: () => string): string {
    // strpos()/starts_with() are case-sensitive and need no escaping of % and _, unlike LIKE.
    if (op === 'contains') return `strpos(${column}, ${param()}) > 0`;
    if (op === 'startswith') return `starts_with(${column}, ${param()})`;
    return `right(${column}, length(${param()})) = ${param()}`;
  }

  async columnsOf(conn: Conn, table: string): Promise<{ columns: { name: string; type: string; nullable: boolean; length?: number }[]; key: string[] } | undefined> {
    const rows = await conn.all(
      `SELECT column_name, data_type, is_nullable, character_maximum_length FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`,
      [this.schema, table],
    );
    if (rows.length === 0) return undefined;
    const keys = await conn.all(
      `SELECT a.attname AS name FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
       WHERE i.indrelid = (quote_ident($1) || '.' || quote_ident($2))::regclass AND i.indisprimary ORDER BY array_position(i.indkey::int2[], a.attnum)`,
      [this.schema, table],
    );
    return {
      columns: rows.map((r) => ({
        name: String(r.column_name),
        type: String(r.data_type),
        nullable: r.is_nullable === 'YES',
        ...(r.character_maximum_length != null ? { length: Number(r.character_maximum_length) } : {}),
      })),
      key: keys.map((r) => String(r.name)),
    };
  }
}

/**
 * The internal contract between the backend-neutral store logic (`core.ts`) and a backend folder.
 * Not part of the public interface: the engine only sees `types.ts` and `index.ts`.
 */
import type { FieldSpec, SearchIndex } from './types.ts';
import type { Canonical, StorageKind } from './values.ts';

/** A result row as the driver returns it. */
export type Row = Record<string, unknown>;

/** A connection (or transaction) that runs parameterised SQL. */
export interface Conn {
  all(sql: string, params?: readonly unknown[]): Promise<Row[]>;
  run(sql: string, params?: readonly unknown[]): Promise<void>;
  /**
   * Runs one statement once per parameter row and returns the rows each run changed. Optional: a backend
   * offers it when a prepared statement run per row beats one many-row statement (SQLite in-process);
   * without it the core sends many-row statements.
   */
  runEach?(sql: string, rows: readonly (readonly unknown[])[]): Promise<number[]>;
}

/** Backend SQL differences. Everything else in the SQL the core writes is common to SQLite and Postgres. */
export interface Dialect {
  readonly name: 'sqlite' | 'postgres';
  /** Bound parameters per statement (SQLite 32766, Postgres 65535). */
  readonly maxParams: number;
  /** Longest identifier the backend keeps intact. */
  readonly maxIdentifierLength: number;
  /** Placeholder for the n-th (1-based) parameter. */
  placeholder(n: number): string;
  /** A quoted (and, for Postgres, schema-qualified) table or index name. */
  table(name: string): string;
  /** Name of the SystemModstamp index of a mirror table (unqualified). */
  indexName(object: string): string;
  /** Column type for a field. */
  columnType(kind: StorageKind, field: FieldSpec): string;
  /** Column type of `Id`, with the collation that gives byte order. */
  readonly idColumn: string;
  /** Column type for instants in bookkeeping tables. */
  readonly timestampType: string;
  /** Column type for booleans in bookkeeping columns. */
  readonly booleanType: string;
  /** Column type for JSON in bookkeeping tables. */
  readonly jsonType: string;
  /** Auto-increment primary key column definition for runs. */
  readonly serialPrimaryKey: string;
  /** Canonical value → driver parameter. */
  toParam(kind: StorageKind, value: Canonical): unknown;
  /** Driver column value → canonical value. */
  fromColumn(kind: StorageKind, value: unknown): Canonical;
  /** Statements that create the bookkeeping tables (idempotent). */
  bootstrap(): string[];
  /** Full-text search bound to a connection. */
  search(conn: Conn, signal?: AbortSignal): SearchIndex;
  /**
   * Called inside `ensureTable`'s transaction before an existing mirror table is altered, and after the table
   * was created or altered with its columns then: a backend that keeps derived objects over mirror tables
   * (Postgres lower-case views) drops and recreates them here.
   */
  beforeAlter?(conn: Conn, object: string): Promise<void>;
  afterTable?(conn: Conn, object: string, columns: readonly string[]): Promise<void>;
  /**
   * A case-sensitive text predicate over the SQL expression `column`; `param()` binds the pattern and
   * returns its placeholder (call it once per use).
   */
  textMatch(op: 'contains' | 'startswith' | 'endswith', column: string, param: () => string): string;
  /**
   * An index column that serves the store's query order (nulls first ascending): Postgres puts nulls last
   * unless told, and would not use the index for such an ORDER BY.
   */
  queryIndexColumn(quoted: string): string;
  /** The columns and primary key of any table in the store's database or schema, or undefined if absent. */
  columnsOf(conn: Conn, table: string): Promise<{ columns: { name: string; type: string; nullable: boolean; length?: number }[]; key: string[] } | undefined>;
}

/** A backend connection pool (or single connection) with transactions. */
export interface Driver {
  readonly dialect: Dialect;
  /** Runs `fn` between BEGIN and COMMIT on a connection nobody else uses meanwhile; ROLLBACK on throw. */
  transaction<T>(fn: (conn: Conn) => Promise<T>): Promise<T>;
  /** Runs `fn` on a connection outside any transaction of other callers. */
  read<T>(fn: (conn: Conn) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  /** Closes at once; open transactions are rolled back by the database. */
  destroy(): Promise<void>;
}

/** Builds a parameter list and placeholders in step. */
export class Params {
  readonly values: unknown[] = [];
  readonly #dialect: Dialect;
  constructor(dialect: Dialect) {
    this.#dialect = dialect;
  }
  /** Adds a value and returns its placeholder. */
  add(value: unknown): string {
    this.values.push(value);
    return this.#dialect.placeholder(this.values.length);
  }
  /** Adds values and returns `(p1, p2, …)`. */
  list(values: readonly unknown[]): string {
    return `(${values.map((v) => this.add(v)).join(', ')})`;
  }
}

/** Quotes an identifier already validated as `[A-Za-z0-9_]` (doubling quotes keeps it safe regardless). */
export const quote = (name: string): string => `"${name.replaceAll('"', '""')}"`;

/**
 * One `node:sqlite` connection. `DatabaseSync` is synchronous and shared, so every transaction and read
 * runs under an async mutex: without it, a read issued while another caller's transaction awaits would run
 * inside that transaction and see (or, for writes, join) uncommitted work.
 */
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import type { Conn, Driver, Row } from '../driver.ts';
import { SqliteDialect } from './dialect.ts';

const STATEMENT_CACHE = 200;

/** SQLite driver over one `DatabaseSync`. */
export class SqliteDriver implements Driver {
  readonly dialect = new SqliteDialect();
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();
  #tail: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(path: string) {
    this.#db = new DatabaseSync(path);
    // WAL lets readers in other processes work during a sync. synchronous=NORMAL may lose the last commits
    // on power loss, but never splits one: rows and checkpoint commit together, so a lost commit only
    // means a replay from the previous checkpoint, which the SystemModstamp guard makes harmless.
    if (path !== ':memory:') this.#db.exec('PRAGMA journal_mode = WAL');
    this.#db.exec('PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = OFF');
  }

  #prepare(sql: string): StatementSync {
    let st = this.#statements.get(sql);
    if (st) {
      // Refresh recency so hot statements stay cached.
      this.#statements.delete(sql);
    } else {
      st = this.#db.prepare(sql);
      if (this.#statements.size >= STATEMENT_CACHE) this.#statements.delete(this.#statements.keys().next().value!);
    }
    this.#statements.set(sql, st);
    return st;
  }

  readonly #conn: Conn = {
    all: async (sql, params = []) => this.#prepare(sql).all(...(params as SQLInputValue[])) as Row[],
    run: async (sql, params = []) => {
      if (params.length === 0) {
        this.#db.exec(sql);
        // A cached `SELECT *` keeps the column list it was prepared with: after a schema change it would
        // leave out a column just added (or back after a drop), so cached statements are prepared again.
        if (/^\s*(ALTER|DROP|CREATE)\b/i.test(sql)) this.#statements.clear();
      } else this.#prepare(sql).run(...(params as SQLInputValue[]));
    },
    runEach: async (sql, rows) => {
      const st = this.#prepare(sql);
      const changes = new Array<number>(rows.length);
      for (let i = 0; i < rows.length; i++) changes[i] = Number(st.run(...(rows[i] as SQLInputValue[])).changes);
      return changes;
    },
  };

  #lock<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(() => {
      if (this.#closed) throw new Error('SQLite store is closed');
      return fn();
    });
    this.#tail = result.catch(() => undefined);
    return result;
  }

  transaction<T>(fn: (conn: Conn) => Promise<T>): Promise<T> {
    return this.#lock(async () => {
      // IMMEDIATE takes the write lock up front, so another process cannot make this transaction fail
      // halfway with SQLITE_BUSY when it first writes.
      this.#db.exec('BEGIN IMMEDIATE');
      try {
        const value = await fn(this.#conn);
        this.#db.exec('COMMIT');
        return value;
      } catch (err) {
        if (this.#db.isOpen && this.#db.isTransaction) this.#db.exec('ROLLBACK');
        throw err;
      }
    });
  }

  read<T>(fn: (conn: Conn) => Promise<T>): Promise<T> {
    return this.#lock(() => fn(this.#conn));
  }

  async close(): Promise<void> {
    await this.#lock(async () => {
      this.#closed = true;
      this.#statements.clear();
      this.#db.close();
    }).catch((err: unknown) => {
      if (!this.#closed) throw err;
    });
  }

  async destroy(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#statements.clear();
    // Closing with a transaction open makes SQLite roll it back; the pending callback then fails.
    if (this.#db.isOpen) this.#db.close();
  }
}

/**
 * Postgres driver over a `pg` pool. Each transaction gets its own pooled client; reads use a client
 * outside any transaction. Sessions run with TimeZone=UTC and the driver returns date/time, numeric, int8
 * and json values as text, so conversion is exact and happens in one place (the dialect).
 */
import pg from 'pg';
import type { Conn, Driver, Row } from '../driver.ts';
import { PostgresDialect } from './dialect.ts';

/** Type OIDs read as raw text instead of pg's lossy defaults (local-time Dates, floats, parsed JSON). */
const RAW_TEXT_OIDS = new Set([
  20, // int8
  114, // json
  1082, // date
  1083, // time
  1114, // timestamp
  1184, // timestamptz
  1700, // numeric
  3802, // jsonb
]);

const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    RAW_TEXT_OIDS.has(oid) ? (value: string) => value : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
};

/** Postgres driver for one schema. */
export class PostgresDriver implements Driver {
  readonly dialect: PostgresDialect;
  readonly #pool: pg.Pool;
  readonly #active = new Map<pg.PoolClient, { released: boolean }>();

  constructor(connectionString: string, schema: string, maxConnections: number, lowercaseViews = false) {
    this.dialect = new PostgresDialect(schema, { lowercaseViews });
    this.#pool = new pg.Pool({ connectionString, max: maxConnections, types, options: '-c TimeZone=UTC' });
    // An idle client losing its connection emits 'error' on the pool; unhandled, that would kill the
    // process. The next checkout simply gets a fresh client.
    this.#pool.on('error', () => undefined);
  }

  #conn(client: pg.PoolClient): Conn {
    return {
      all: async (sql, params = []) => (await client.query(sql, params as unknown[])).rows as Row[],
      run: async (sql, params = []) => {
        await client.query(sql, params as unknown[]);
      },
    };
  }

  async #with<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    const state = { released: false };
    this.#active.set(client, state);
    let broken = false;
    try {
      return await fn(client);
    } catch (err) {
      broken = true;
      throw err;
    } finally {
      this.#active.delete(client);
      if (!state.released) {
        state.released = true;
        // A client whose work failed may sit in an aborted transaction; destroying it is the safe choice.
        client.release(broken ? true : undefined);
      }
    }
  }

  transaction<T>(fn: (conn: Conn) => Promise<T>): Promise<T> {
    return this.#with(async (client) => {
      await client.query('BEGIN');
      try {
        const value = await fn(this.#conn(client));
        await client.query('COMMIT');
        return value;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }

  read<T>(fn: (conn: Conn) => Promise<T>): Promise<T> {
    return this.#with((client) => fn(this.#conn(client)));
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }

  async destroy(): Promise<void> {
    // Dropping a connection makes the server roll back its open transaction.
    for (const [client, state] of this.#active) {
      if (state.released) continue;
      state.released = true;
      client.release(true);
    }
    this.#active.clear();
    if (!this.#pool.ended) await this.#pool.end();
  }
}

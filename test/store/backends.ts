/**
 * Runs the same store tests against every backend. Each test gets its own database: a private SQLite
 * database (in memory, or a temp file when it must survive reopening) or a unique Postgres schema that is
 * dropped afterwards, so parallel runs never collide.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import { openStore } from '../../src/store/index.ts';
import type { FieldSpec, OpenStoreOptions, Store } from '../../src/store/types.ts';

export const PG_URL = process.env.SFBRIDGE_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A database location that can be opened (and reopened) as a store. */
export interface Place {
  url: string;
  open(options?: OpenStoreOptions): Promise<Store>;
  cleanup(): Promise<void>;
}

export interface Backend {
  name: 'sqlite' | 'postgres';
  /** A fresh place; `persistent` asks for one that survives close/reopen (SQLite temp file). */
  place(persistent?: boolean): Promise<Place>;
}

export const backends: Backend[] = [
  {
    name: 'sqlite',
    async place(persistent = false) {
      if (!persistent) {
        return { url: 'sqlite::memory:', open: (o) => openStore('sqlite::memory:', o), cleanup: async () => undefined };
      }
      const dir = mkdtempSync(join(tmpdir(), 'sfbridge-store-'));
      const url = `sqlite:${join(dir, 'mirror.db')}`;
      return { url, open: (o) => openStore(url, o), cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: 'postgres',
    async place() {
      const schema = `sfbridge_test_${randomBytes(6).toString('hex')}`;
      const url = `${PG_URL}?schema=${schema}`;
      return {
        url,
        open: (o) => openStore(url, o),
        async cleanup() {
          const client = new pg.Client({ connectionString: PG_URL });
          await client.connect();
          try {
            await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
          } finally {
            await client.end();
          }
        },
      };
    },
  },
];

/** Opens a fresh store on a backend and returns it with its cleanup. */
export async function fresh(backend: Backend, options?: OpenStoreOptions): Promise<{ store: Store; place: Place; done(): Promise<void> }> {
  const place = await backend.place();
  const store = await place.open(options);
  return {
    store,
    place,
    async done() {
      await store.close();
      await place.cleanup();
    },
  };
}

/** A small Account describe used across tests. */
export const ACCOUNT_FIELDS: FieldSpec[] = [
  { name: 'Id', type: 'id', length: 18 },
  { name: 'Name', type: 'string', length: 255 },
  { name: 'IsDeleted', type: 'boolean' },
  { name: 'SystemModstamp', type: 'datetime' },
  { name: 'Industry', type: 'picklist', length: 255 },
];

/** A REST-shaped Account record. */
export function account(id: string, stamp: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { attributes: { type: 'Account', url: `/services/data/v62.0/sobjects/Account/${id}` }, Id: id, Name: `Account ${id}`, IsDeleted: false, SystemModstamp: stamp, ...extra };
}

/** Collects an async iterable. */
export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** Runs SQL as an application does: its own connection to the store's database (`?` placeholders). */
export async function appSql(place: Place, backend: string): Promise<{ run(sql: string, params?: unknown[]): Promise<void>; close(): Promise<void> }> {
  if (backend === 'sqlite') {
    const db = new DatabaseSync(place.url.slice('sqlite:'.length));
    return { run: async (sql, params = []) => void db.prepare(sql).run(...(params as never[])), close: async () => db.close() };
  }
  const schema = new URL(place.url).searchParams.get('schema')!;
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  await client.query(`SET search_path TO "${schema}"`);
  const numbered = (sql: string) => {
    let n = 0;
    return sql.replace(/\?/g, () => `$${++n}`);
  };
  return { run: async (sql, params = []) => void (await client.query(numbered(sql), params)), close: () => client.end() };
}

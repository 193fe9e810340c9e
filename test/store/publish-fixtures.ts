/** Application tables for publisher tests (shared by store and engine tests). */
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import { PG_URL, type Place } from './backends.ts';

/** Creates and fills an application table `orders` in the place's database. */
export async function createOrders(place: Place, rows: Array<[number, string, string | null]>): Promise<void> {
  const ddl = 'CREATE TABLE orders (id integer PRIMARY KEY, name text, updated_at text, sf_id text, processed_at text, sf_error text)';
  if (place.url.startsWith('sqlite:')) {
    const db = new DatabaseSync(place.url.slice('sqlite:'.length));
    db.exec(ddl);
    const st = db.prepare('INSERT INTO orders (id, name, updated_at) VALUES (?, ?, ?)');
    for (const r of rows) st.run(...r);
    db.close();
    return;
  }
  const schema = new URL(place.url).searchParams.get('schema')!;
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await client.query(`SET search_path TO "${schema}"`);
    await client.query(ddl.replace('updated_at text', 'updated_at timestamptz'));
    for (const r of rows) await client.query('INSERT INTO orders (id, name, updated_at) VALUES ($1, $2, $3)', r);
  } finally {
    await client.end();
  }
}


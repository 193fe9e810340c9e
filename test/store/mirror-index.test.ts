/**
 * The mirror table's (stamp, Id) index can be deferred during an initial load: `ensureTable({ deferIndexes })`
 * leaves it out and `ensureIndexes` creates it idempotently. Checked in the database catalog, on SQLite and
 * Postgres. (The sync runner does not use it yet: see docs/BENCHMARKS.md, "Deferred … index".)
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import { ACCOUNT_FIELDS, PG_URL, backends, type Place } from './backends.ts';

/** Names of the non-primary-key indexes on the object's mirror table that cover SystemModstamp. */
async function stampIndexes(place: Place, object: string): Promise<string[]> {
  if (place.url.startsWith('sqlite:')) {
    const db = new DatabaseSync(place.url.slice('sqlite:'.length), { readOnly: true });
    try {
      const rows = db.prepare(`SELECT name, sql FROM sqlite_master WHERE type = 'index' AND lower(tbl_name) = lower(?) AND sql IS NOT NULL`).all(object) as { name: string; sql: string }[];
      return rows.filter((r) => /SystemModstamp/i.test(r.sql)).map((r) => r.name);
    } finally {
      db.close();
    }
  }
  const schema = new URL(place.url).searchParams.get('schema')!;
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    const res = await client.query<{ indexname: string }>(
      `SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND lower(tablename) = lower($2) AND indexdef ILIKE '%SystemModstamp%'`,
      [schema, object],
    );
    return res.rows.map((r) => r.indexname);
  } finally {
    await client.end();
  }
}

const T1 = '2024-03-05T10:00:00.000Z';

for (const backend of backends) {
  describe(`deferred mirror index (${backend.name})`, () => {
    test('deferIndexes leaves the index out; ensureIndexes creates it once, idempotently, across instances', async () => {
      const place = await backend.place(true);
      let store = await place.open();
      try {
        await store.ensureTable({ object: 'Account', fields: ACCOUNT_FIELDS }, { deferIndexes: true });
        assert.deepEqual(await stampIndexes(place, 'Account'), []);
        const rows = Array.from({ length: 50 }, (_, i) => ({ Id: `001A${String(i).padStart(11, '0')}AAA`, Name: `n${i}`, SystemModstamp: T1 }));
        assert.equal((await store.upsert('Account', rows, { assumeNew: true })).inserted, 50);
        await store.ensureIndexes('Account');
        const once = await stampIndexes(place, 'Account');
        assert.equal(once.length, 1);
        await store.ensureIndexes('account');
        await store.close();
        // A new instance (next run): the statement runs again and finds the index there.
        store = await place.open();
        await store.ensureIndexes('Account');
        assert.deepEqual(await stampIndexes(place, 'Account'), once);
        // deferIndexes does not touch an existing table, and the default still creates the index at once.
        await store.ensureTable({ object: 'Account', fields: ACCOUNT_FIELDS }, { deferIndexes: true });
        assert.deepEqual(await stampIndexes(place, 'Account'), once);
        await store.ensureTable({ object: 'Contact', fields: ACCOUNT_FIELDS });
        assert.equal((await stampIndexes(place, 'Contact')).length, 1);
        assert.equal(await store.count('Account'), 50);
        await assert.rejects(store.ensureIndexes('Lead'), /No mirror table for "Lead"/);
      } finally {
        await store.close();
        await place.cleanup();
      }
    });
  });
}

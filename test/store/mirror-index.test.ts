/**
 * The mirror table's (stamp, Id) index can be deferred during an initial load: `ensureTable({ deferIndexes })`
 * leaves it out, `ensureIndexes` creates it idempotently, and the sync runner builds it when a load finishes —
 * also when the load was interrupted and resumed. Checked in the database catalog, on SQLite and Postgres.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import { SyncEvents } from '../../src/engine/events.ts';
import { ACCOUNT_FIELDS, PG_URL, backends, type Place } from './backends.ts';
import { emulator, sync } from '../engine/helpers.ts';

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
    // Plain catalog joins, no pg_indexes: that view calls pg_get_indexdef(), which opens every index it
    // considers — including other tests' indexes being dropped with their schemas at the same moment, which
    // failed with "could not open relation with OID …" under the full suite. Columns come from pg_attribute.
    const res = await client.query<{ indexname: string }>(
      `SELECT ic.relname AS indexname
         FROM pg_index x
         JOIN pg_class ic ON ic.oid = x.indexrelid
         JOIN pg_class tc ON tc.oid = x.indrelid
         JOIN pg_namespace n ON n.oid = tc.relnamespace
        WHERE n.nspname = $1 AND lower(tc.relname) = lower($2) AND NOT x.indisprimary
          AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = tc.oid AND a.attnum = ANY (x.indkey) AND lower(a.attname) = 'systemmodstamp')
        ORDER BY 1`,
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

    test('the runner builds the index when the initial load ends, also after an interrupted load resumes', async () => {
      const place = await backend.place(true);
      const store = await place.open();
      const emu = await emulator('Account=450');
      try {
        const controller = new AbortController();
        const events = new SyncEvents();
        events.on('object:batch', () => controller.abort());
        const first = await sync(emu, store, ['Account'], { events, signal: controller.signal, pageSize: 200, bulkThreshold: 1000 });
        assert.equal(first.status, 'aborted', first.error);
        const partial = await store.count('Account');
        assert.ok(partial > 0 && partial < 450, `interrupted mid-load (${partial} rows)`);
        assert.deepEqual(await stampIndexes(place, 'Account'), [], 'no index while the load is unfinished');

        const second = await sync(emu, store, ['Account'], { pageSize: 200, bulkThreshold: 1000 });
        assert.equal(second.status, 'succeeded', second.error);
        assert.equal(await store.count('Account'), 450);
        assert.equal((await stampIndexes(place, 'Account')).length, 1, 'index built when the resumed load finished');
        assert.equal((await store.getCheckpoint('Account'))?.extra?.loaded, true);

        const third = await sync(emu, store, ['Account']);
        assert.equal(third.status, 'succeeded', third.error);
        assert.equal((await stampIndexes(place, 'Account')).length, 1);
      } finally {
        emu.close();
        await store.close();
        await place.cleanup();
      }
    });
  });
}

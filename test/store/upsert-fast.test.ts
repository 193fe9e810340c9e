/**
 * The initial-load write path: `upsert(…, { assumeNew: true })` (no insert-or-update lookup), the skipped
 * tombstone lookup when an object has no tombstones, batches spanning several statements, and records of one
 * batch listing their fields in different orders. Same assertions on SQLite (prepared single-row statements)
 * and Postgres (many-row statements).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { normalizeDateTime } from '../../src/store/values.ts';
import { ACCOUNT_FIELDS, account, backends, collect, fresh } from './backends.ts';

const T1 = '2024-03-05T10:00:00.000Z';
const T2 = '2024-03-05T11:00:00.000Z';
const T0 = '2024-03-05T09:00:00.000Z';

/** Bulk-CSV-shaped Accounts (every value a string), `n` of them. */
function csvAccounts(n: number, stamp: string, name = 'v'): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => ({
    Id: `001A${String(i).padStart(11, '0')}AAA`,
    Name: `${name} ${i}`,
    IsDeleted: 'false',
    SystemModstamp: stamp,
    Industry: i % 2 ? 'Energy' : '',
  }));
}

for (const backend of backends) {
  describe(`upsert fast paths (${backend.name})`, () => {
    test('assumeNew loads a batch larger than one statement, and a replay is idempotent', async () => {
      const { store, done } = await fresh(backend);
      try {
        await store.ensureTable({ object: 'Account', fields: ACCOUNT_FIELDS });
        const rows = csvAccounts(2500, T1);
        assert.deepEqual(await store.upsert('Account', rows, { assumeNew: true }), { inserted: 2500, updated: 0, skippedStale: 0, deleted: 0 });
        assert.equal(await store.count('Account'), 2500);
        const r7 = await store.getRecord('Account', rows[7].Id as string);
        assert.equal(r7?.Name, 'v 7');
        assert.equal(r7?.Industry, 'Energy');
        assert.equal((await store.getRecord('Account', rows[8].Id as string))?.Industry, null);
        assert.equal(r7?.SystemModstamp, '2024-03-05T10:00:00.000+0000');

        // A resumed load writes the same rows again: no duplicates; counted as written (all "inserted").
        assert.deepEqual(await store.upsert('Account', rows.slice(0, 1200), { assumeNew: true }), { inserted: 1200, updated: 0, skippedStale: 0, deleted: 0 });
        assert.equal(await store.count('Account'), 2500);

        // The guard still holds: an older version is refused, a newer one replaces.
        const older = csvAccounts(3, T0, 'old');
        assert.deepEqual(await store.upsert('Account', older, { assumeNew: true }), { inserted: 0, updated: 0, skippedStale: 3, deleted: 0 });
        assert.equal((await store.getRecord('Account', older[0].Id as string))?.Name, 'v 0');
        const newer = csvAccounts(3, T2, 'new');
        assert.deepEqual(await store.upsert('Account', newer, { assumeNew: true }), { inserted: 3, updated: 0, skippedStale: 0, deleted: 0 });
        assert.equal((await store.getRecord('Account', newer[1].Id as string))?.Name, 'new 1');

        // Without assumeNew the split between inserts and updates is exact.
        assert.deepEqual(await store.upsert('Account', [...csvAccounts(2, T2, 'again'), ...csvAccounts(2503, T2, 'x').slice(2500)]), { inserted: 3, updated: 2, skippedStale: 0, deleted: 0 });
      } finally {
        await done();
      }
    });

    test('tombstones still block stale versions under assumeNew, and only their own object', async () => {
      const { store, done } = await fresh(backend);
      try {
        await store.ensureTable({ object: 'Account', fields: ACCOUNT_FIELDS });
        await store.ensureTable({ object: 'Other', fields: ACCOUNT_FIELDS });
        const [a, b] = csvAccounts(2, T1);
        await store.upsert('Account', [a, b]);
        await store.markDeleted('Account', [a.Id as string], T1);
        // The same Id in another object has no tombstone: it is written.
        assert.equal((await store.upsert('Other', [a], { assumeNew: true })).inserted, 1);
        // The deleted version (or older) does not come back; b (no tombstone) is rewritten.
        assert.deepEqual(await store.upsert('Account', [a, b], { assumeNew: true }), { inserted: 1, updated: 0, skippedStale: 1, deleted: 0 });
        assert.equal(await store.getRecord('Account', a.Id as string), undefined);
        // A strictly newer version (an undelete) is written and clears the tombstone.
        assert.equal((await store.upsert('Account', [{ ...a, SystemModstamp: T2 }], { assumeNew: true })).inserted, 1);
        assert.equal(await store.getTombstone('Account', a.Id as string), undefined);
        assert.deepEqual((await collect(store.listIds('Account'))).sort(), [a.Id, b.Id].sort());
      } finally {
        await done();
      }
    });

    test('records of one batch may list their fields in different orders and spellings', async () => {
      const { store, done } = await fresh(backend);
      try {
        await store.ensureTable({ object: 'Account', fields: ACCOUNT_FIELDS });
        const ids = ['001A00000000001AAA', '001A00000000002AAA', '001A00000000003AAA'];
        const res = await store.upsert('Account', [
          account(ids[0], T1, { Industry: 'Energy' }),
          { SystemModstamp: T1, Industry: 'Retail', Name: 'Second', Id: ids[1] },
          // Same field twice under two spellings: the later one wins.
          { Id: ids[2], systemmodstamp: T1, Name: 'first spelling', name: 'second spelling' },
        ], { assumeNew: true });
        assert.deepEqual(res, { inserted: 3, updated: 0, skippedStale: 0, deleted: 0 });
        assert.equal((await store.getRecord('Account', ids[0]))?.Industry, 'Energy');
        assert.equal((await store.getRecord('Account', ids[1]))?.Name, 'Second');
        assert.equal((await store.getRecord('Account', ids[1]))?.Industry, 'Retail');
        assert.equal((await store.getRecord('Account', ids[2]))?.Name, 'second spelling');
        // A record without the guard stamp is still refused.
        await assert.rejects(store.upsert('Account', [{ Id: '001A00000000004AAA', Name: 'x' }], { assumeNew: true }), /SystemModstamp/);
      } finally {
        await done();
      }
    });

    test('records after the first of a layout are converted and checked exactly like it', async () => {
      const { store, done } = await fresh(backend);
      try {
        await store.ensureTable({ object: 'Account', fields: ACCOUNT_FIELDS });
        const id = (i: number) => `001A${String(i).padStart(11, '0')}AAA`;
        // Same layout (REST, with attributes and a parent relationship object) several times, then variants.
        const rows: Record<string, unknown>[] = [
          { ...account(id(1), T1, { Owner: { Name: 'Ann' } }), IsDeleted: 'false' },
          { ...account(id(2), '2024-03-05T10:00:00.000+0000', { Owner: null }), IsDeleted: 'true' },
          { ...account(id(3), T1, { Owner: { Name: 'Bo' } }), IsDeleted: 'false', Name: '' },
          // Fewer keys, more keys, other order: each still lands whole.
          { Id: id(4), SystemModstamp: T1, Name: 'short' },
          { ...account(id(5), T1, { Owner: { Name: 'Cy' } }), IsDeleted: 'false', Industry: 'Energy' },
          { Industry: 'Retail', Name: 'reordered', Id: id(6), SystemModstamp: T1 },
        ];
        const res = await store.upsert('Account', rows, { assumeNew: true });
        // The soft-deleted one (IsDeleted 'true' in the shared layout) goes the delete path.
        assert.deepEqual(res, { inserted: 5, updated: 0, skippedStale: 0, deleted: 1 });
        assert.equal((await store.getRecord('Account', id(1)))?.Name, `Account ${id(1)}`);
        assert.equal(await store.getRecord('Account', id(2)), undefined);
        assert.equal((await store.getRecord('Account', id(3)))?.Name, null);
        assert.equal((await store.getRecord('Account', id(4)))?.Name, 'short');
        assert.equal((await store.getRecord('Account', id(5)))?.Industry, 'Energy');
        assert.equal((await store.getRecord('Account', id(6)))?.Industry, 'Retail');
        assert.equal(await store.count('Account'), 5);

        // After a layout is known, a bad value, a missing stamp or a scalar under a non-column key is
        // refused with the same errors as on the first record.
        const layout = (i: number, extra: Record<string, unknown>) => ({ ...account(id(i), T2), IsDeleted: 'false', ...extra });
        await store.upsert('Account', [layout(7, {})], { assumeNew: true });
        await assert.rejects(store.upsert('Account', [layout(8, { IsDeleted: 'maybe' })], { assumeNew: true }), /IsDeleted/);
        await assert.rejects(store.upsert('Account', [layout(9, { SystemModstamp: '' })], { assumeNew: true }), /SystemModstamp/);
        await assert.rejects(store.upsert('Account', [{ ...layout(10, {}), Owner: 'Ann' }], { assumeNew: true }), /Owner/);
        // Inherited keys are never read as fields.
        const proto = Object.assign(Object.create({ Name: 'inherited' }) as Record<string, unknown>, layout(11, {}));
        delete proto.Name;
        await store.upsert('Account', [layout(12, {}), proto], { assumeNew: true });
        assert.equal((await store.getRecord('Account', id(11)))?.Name, null);
      } finally {
        await done();
      }
    });
  });
}

test('canonical datetimes are checked field by field (no Date rollover)', () => {
  assert.equal(normalizeDateTime('2024-02-29T23:59:59.999Z'), '2024-02-29T23:59:59.999Z');
  assert.equal(normalizeDateTime('2024-02-29T23:59:59.999+0000'), '2024-02-29T23:59:59.999Z');
  assert.equal(normalizeDateTime('2000-02-29T00:00:00.000Z'), '2000-02-29T00:00:00.000Z');
  for (const bad of ['2023-02-29T00:00:00.000Z', '1900-02-29T00:00:00.000Z', '2024-04-31T00:00:00.000Z', '2024-13-01T00:00:00.000Z', '2024-01-01T24:00:00.000Z', '2024-01-01T23:60:00.000Z', '2024-01-01T23:59:60.000Z']) {
    assert.equal(normalizeDateTime(bad), undefined, bad);
  }
  // Non-canonical forms still go through the general parser.
  assert.equal(normalizeDateTime('2024-03-05T19:38:40.123+0200'), '2024-03-05T17:38:40.123Z');
  assert.equal(normalizeDateTime('2024-03-05T17:38:40Z'), '2024-03-05T17:38:40.000Z');
});

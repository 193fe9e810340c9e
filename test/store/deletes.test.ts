import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ACCOUNT_FIELDS, account, backends, collect, fresh } from './backends.ts';

const A = '001A00000000001AAA';
const B = '001A00000000002AAA';

for (const backend of backends) {
  describe(`deletes and Id streams (${backend.name})`, () => {
    test('remove mode deletes the row and keeps a tombstone that blocks stale replays', async () => {
      const { store, done } = await fresh(backend);
      try {
        await store.ensureTable({ object: 'Account', fields: ACCOUNT_FIELDS });
        await store.upsert('Account', [account(A, '2024-03-05T10:00:00.000Z'), account(B, '2024-03-05T10:00:00.000Z')]);
        const r = await store.markDeleted('Account', [A, '001A00000000009AAA'], '2024-03-05T17:07:19.000+0000');
        assert.deepEqual(r, { deleted: 1, missing: 1, skippedStale: 0 });
        assert.equal(await store.getRecord('Account', A), undefined);
        assert.equal(await store.getTombstone('Account', A), '2024-03-05T17:07:19.000Z');
        // Even an Id we never had gets a tombstone, so a late page cannot bring it in.
        assert.equal(await store.getTombstone('Account', '001A00000000009AAA'), '2024-03-05T17:07:19.000Z');
        assert.equal(await store.count('Account'), 1);

        // Replaying the pre-delete page must not resurrect the record.
        const replay = await store.upsert('Account', [account(A, '2024-03-05T10:00:00.000Z'), account('001A00000000009AAA', '2024-03-01T00:00:00.000Z')]);
        assert.deepEqual(replay, { inserted: 0, updated: 0, skippedStale: 2, deleted: 0 });
        assert.equal(await store.getRecord('Account', A), undefined);

        // An undelete bumps SystemModstamp past the deletion: the row returns and the tombstone goes.
        const undelete = await store.upsert('Account', [account(A, '2024-03-06T09:00:00.000Z', { Name: 'back' })]);
        assert.equal(undelete.inserted, 1);
        assert.equal((await store.getRecord('Account', A))?.Name, 'back');
        assert.equal(await store.getTombstone('Account', A), undefined);

        // Replaying the old delete now is history: the row is newer than the deletion.
        assert.deepEqual(await store.markDeleted('Account', [{ id: A, deletedDate: '2024-03-05T17:07:19.000+0000' }]), { deleted: 0, missing: 0, skippedStale: 1 });
        assert.ok(await store.getRecord('Account', A));
      } finally {
        await done();
      }
    });

    test('records with IsDeleted true (queryAll) are applied as deletes', async () => {
      const { store, done } = await fresh(backend);
      try {
        await store.ensureTable({ object: 'Account', fields: ACCOUNT_FIELDS });
        await store.upsert('Account', [account(A, '2024-03-05T10:00:00.000Z')]);
        const r = await store.upsert('Account', [account(A, '2024-03-05T12:00:00.000Z', { IsDeleted: true }), account(B, '2024-03-05T12:00:00.000Z')]);
        assert.deepEqual(r, { inserted: 1, updated: 0, skippedStale: 0, deleted: 1 });
        assert.equal(await store.getRecord('Account', A), undefined);
        assert.equal(await store.getTombstone('Account', A), '2024-03-05T12:00:00.000Z');
      } finally {
        await done();
      }
    });

    test('soft mode keeps the row flagged, hides it from count/listIds, and still blocks replays', async () => {
      const { store, done } = await fresh(backend, { deleteMode: 'soft' });
      try {
        assert.equal(store.deleteMode, 'soft');
        await store.ensureTable({ object: 'Account', fields: ACCOUNT_FIELDS });
        await store.upsert('Account', [account(A, '2024-03-05T10:00:00.000Z'), account(B, '2024-03-05T10:00:00.000Z')]);
        assert.deepEqual(await store.markDeleted('Account', [A], '2024-03-05T11:00:00.000Z'), { deleted: 1, missing: 0, skippedStale: 0 });
        const row = await store.getRecord('Account', A);
        assert.equal(row?.IsDeleted, true);
        assert.equal(await store.count('Account'), 1);
        assert.equal(await store.count('Account', { includeDeleted: true }), 2);
        assert.deepEqual(await collect(store.listIds('Account')), [B]);
        assert.deepEqual(await collect(store.listIds('Account', { includeDeleted: true })), [A, B]);
        assert.equal((await store.upsert('Account', [account(A, '2024-03-05T10:30:00.000Z')])).skippedStale, 1);
        assert.equal((await store.getRecord('Account', A))?.IsDeleted, true);
        // A deleted version from queryAll is stored flagged.
        const r = await store.upsert('Account', [account('001A00000000003AAA', '2024-03-05T12:00:00.000Z', { IsDeleted: true })]);
        assert.equal(r.inserted, 1);
        assert.equal(await store.count('Account'), 1);
        assert.equal(await store.getTombstone('Account', '001A00000000003AAA'), '2024-03-05T12:00:00.000Z');
        // Undelete clears the flag.
        await store.upsert('Account', [account(A, '2024-03-06T00:00:00.000Z')]);
        assert.equal(await store.count('Account'), 2);
        assert.equal(await store.getTombstone('Account', A), undefined);
      } finally {
        await done();
      }
    });

    test('markDeleted needs a date for bare Ids and validates it', async () => {
      const { store, done } = await fresh(backend);
      try {
        await store.ensureTable({ object: 'Account', fields: ACCOUNT_FIELDS });
        await assert.rejects(store.markDeleted('Account', [A]), /deletedAt is required/);
        await assert.rejects(store.markDeleted('Account', [A], 'not a date'), /invalid datetime/);
      } finally {
        await done();
      }
    });

    test('listIds streams every Id in byte order across pages', async () => {
      const { store, done } = await fresh(backend);
      try {
        await store.ensureTable({ object: 'Account', fields: ACCOUNT_FIELDS });
        // Mixed case and digits: byte order puts digits < upper case < lower case, unlike most collations.
        const ids: string[] = [];
        const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
        for (let i = 0; i < 2500; i++) ids.push(`001${alphabet[i % 62]}${alphabet[Math.floor(i / 62) % 62]}000000000${String(i).padStart(4, '0')}`);
        const shuffled = [...ids].sort(() => 0.5 - Math.random());
        await store.upsert('Account', shuffled.map((id) => account(id, '2024-03-05T00:00:00.000Z')));
        const listed = await collect(store.listIds('Account'));
        const expected = [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        assert.equal(listed.length, 2500);
        assert.deepEqual(listed, expected);
        assert.equal(await store.count('Account'), 2500);
      } finally {
        await done();
      }
    });
  });
}

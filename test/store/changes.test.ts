/** The mirror change feed (`changesSince`): write order, ties by Id, resumption, and deletes in both delete modes. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ACCOUNT_FIELDS, account, backends, fresh } from './backends.ts';

const A = '001A00000000001AAA';
const B = '001A00000000002AAA';
const C = '001A00000000003AAA';

for (const backend of backends) {
  describe(`mirror change feed (${backend.name})`, () => {
    for (const deleteMode of ['remove', 'soft'] as const) {
      test(`rows in write order, resumed after a position, deletes included (${deleteMode})`, async () => {
        const { store, done } = await fresh(backend, { deleteMode });
        try {
          await store.ensureTable({ object: 'Account', fields: ACCOUNT_FIELDS });
          assert.deepEqual(await store.changesSince('Account', null, 10), []);
          await store.upsert('Account', [account(B, '2024-03-05T10:00:00.000Z'), account(A, '2024-03-05T10:00:00.000Z')]);
          const first = await store.changesSince('Account', null, 10);
          assert.deepEqual(first.map((c) => [c.id, c.deleted]), [[A, false], [B, false]]);
          assert.equal(first[0].record.Id, A);
          const page = await store.changesSince('Account', null, 1);
          assert.deepEqual(page.map((c) => c.id), [A], 'the limit cuts in order');
          const pos = { at: first[1].at, id: first[1].id };
          assert.deepEqual(await store.changesSince('Account', pos, 10), [], 'nothing after the last row');
          await new Promise((r) => setTimeout(r, 5));
          await store.upsert('Account', [account(C, '2024-03-05T11:00:00.000Z'), account(A, '2024-03-05T11:00:00.000Z', { Name: 'renamed' })]);
          await store.markDeleted('Account', [B], '2024-03-05T12:00:00.000Z');
          const next = await store.changesSince('Account', pos, 10);
          assert.deepEqual(next.map((c) => [c.id, c.deleted]).sort(), [[A, false], [B, true], [C, false]].sort());
          assert.equal(next.find((c) => c.id === A)!.record.Name, 'renamed');
          const last = next.at(-1)!;
          assert.deepEqual(await store.changesSince('Account', { at: last.at, id: last.id }, 10), []);
        } finally {
          await done();
        }
      });
    }
  });
}

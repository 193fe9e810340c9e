import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backends, fresh } from './backends.ts';

for (const backend of backends) {
  describe(`emitted content hashes (${backend.name})`, () => {
    test('set, read per stream, replace, roll back with the transaction, delete', async () => {
      const { store, done } = await fresh(backend);
      try {
        await store.setEmitted('documents', [{ id: 'a', hash: 'h1' }, { id: 'b', hash: 'h2' }, { id: 'a', hash: 'h3' }]);
        await store.setEmitted('comments', [{ id: 'a', hash: 'c1' }]);
        assert.deepEqual([...(await store.getEmitted('documents', ['a', 'b', 'z', 'a']))].sort(), [['a', 'h3'], ['b', 'h2']]);
        assert.deepEqual([...(await store.getEmitted('comments', ['a', 'b']))], [['a', 'c1']]);
        await assert.rejects(
          store.transaction(async (tx) => {
            await tx.setEmitted('documents', [{ id: 'b', hash: 'changed' }]);
            assert.equal((await tx.getEmitted('documents', ['b'])).get('b'), 'changed');
            throw new Error('boom');
          }),
          /boom/,
        );
        assert.equal((await store.getEmitted('documents', ['b'])).get('b'), 'h2');
        assert.equal(await store.deleteEmitted('documents', ['a', 'nope']), 1);
        assert.deepEqual([...(await store.getEmitted('documents', ['a', 'b']))], [['b', 'h2']]);
        const many = Array.from({ length: 2500 }, (_, i) => ({ id: `id${i}`, hash: `h${i}` }));
        await store.setEmitted('bulk', many);
        const got = await store.getEmitted('bulk', many.map((m) => m.id));
        assert.equal(got.size, 2500);
        assert.equal(got.get('id2499'), 'h2499');
      } finally {
        await done();
      }
    });
  });
}

/**
 * Publisher state on both backends: outbox enqueue is idempotent per key, state transitions persist across
 * reopen, dead letters, cursors, and application tables read by cursor / unprocessed marker and written back.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { backends, type Place } from './backends.ts';
import { createOrders } from './publish-fixtures.ts';

for (const backend of backends) {
  describe(`publish state (${backend.name})`, () => {
    const places: Place[] = [];
    after(async () => {
      for (const p of places) await p.cleanup();
    });

    it('enqueues once per key, tracks per-record state and survives reopening', async () => {
      const place = await backend.place(true);
      places.push(place);
      let store = await place.open();
      let state = await store.publishState();
      assert.equal(await state.enqueue('p', [{ key: 'a', payload: { LastName: 'A' } }, { key: 'b', payload: { LastName: 'B', n: 1.5 } }]).then((a) => a.length), 2);
      assert.deepEqual(await state.enqueue('p', [{ key: 'b', payload: { LastName: 'changed' } }, { key: 'c', payload: {} }]), [{ key: 'c', position: 4 }]);
      assert.equal((await state.enqueue('other', [{ key: 'a', payload: {} }])).length, 1);
      await state.markSent('p', ['a', 'b']);
      await state.updateOutbox('p', [
        { key: 'a', state: 'succeeded', sfId: '003A', created: true, error: null, attempted: true },
        { key: 'b', state: 'failed', error: { code: 'INVALID_EMAIL_ADDRESS', message: 'bad', fields: ['Email'] }, attempted: true },
      ]);
      await store.close();
      store = await place.open();
      state = await store.publishState();
      const rows = await state.outbox('p');
      assert.deepEqual(rows.map((r) => [r.key, r.position, r.state, r.sfId, r.created, r.attempts]), [
        ['a', 1, 'succeeded', '003A', true, 1],
        ['b', 2, 'failed', null, null, 1],
        ['c', 4, 'pending', null, null, 0], // positions may have gaps (a skipped duplicate uses one)
      ]);
      assert.deepEqual(rows[1].payload, { LastName: 'B', n: 1.5 });
      assert.deepEqual(rows[1].error, { code: 'INVALID_EMAIL_ADDRESS', message: 'bad', fields: ['Email'] });
      assert.deepEqual((await state.outbox('p', { states: ['pending', 'sent'] })).map((r) => r.key), ['c']);
      assert.deepEqual((await state.outbox('p', { keys: ['c', 'a'] })).map((r) => r.key), ['a', 'c']);
      assert.deepEqual(await state.outboxCounts('p'), { pending: 1, sent: 0, succeeded: 1, failed: 1 });
      assert.equal(await state.clearOutbox('p', ['succeeded']), 1);
      assert.deepEqual(await state.outboxCounts('other'), { pending: 1, sent: 0, succeeded: 0, failed: 0 });
      await store.close();
    });

    it('stores dead letters, replaces an open letter for the same key, and updates status and payload', async () => {
      const place = await backend.place();
      places.push(place);
      const store = await place.open();
      const state = await store.publishState();
      const base = { pipeline: 'p', object: 'Contact', operation: 'upsert', externalIdField: 'External_Id__c', attempts: 1 };
      const [id1, id2] = await state.addDeadLetters([
        { ...base, key: 'k1', payload: { Email: 'x' }, error: { code: 'INVALID_EMAIL_ADDRESS', message: 'bad', fields: ['Email'] } },
        { ...base, key: 'k2', payload: {}, error: { code: 'REQUIRED_FIELD_MISSING', message: 'LastName', fields: ['LastName'] } },
      ]);
      const [id3] = await state.addDeadLetters([{ ...base, key: 'k1', payload: { Email: 'y' }, error: { code: 'INVALID_EMAIL_ADDRESS', message: 'still bad', fields: [] }, attempts: 2 }]);
      assert.ok(id3 > id2 && id2 > id1);
      assert.deepEqual((await state.listDeadLetters()).map((l) => [l.id, l.key, l.status]), [[id2, 'k2', 'open'], [id3, 'k1', 'open']]);
      await state.updateDeadLetter(id3, { status: 'replayed', sfId: '003X', payload: { Email: 'ok@x.io' } });
      const l = (await state.getDeadLetter(id3))!;
      assert.equal(l.status, 'replayed');
      assert.equal(l.sfId, '003X');
      assert.deepEqual(l.payload, { Email: 'ok@x.io' });
      assert.equal(l.attempts, 2);
      assert.deepEqual((await state.listDeadLetters({ status: 'all' })).map((x) => x.id), [id2, id3]);
      assert.equal(await state.getDeadLetter(9999), undefined);
      await store.close();
    });

    it('keeps cursors and reads application tables by cursor or unprocessed marker, writing Ids back', async () => {
      const place = await backend.place(true);
      places.push(place);
      const store = await place.open();
      await createOrders(place, [
        [1, 'one', '2026-01-01T00:00:00.000Z'],
        [2, 'two', '2026-01-02T00:00:00.000Z'],
        [3, 'three', '2026-01-02T00:00:00.000Z'],
        [4, 'four', null],
      ]);
      const state = await store.publishState();
      assert.equal(await state.getCursor('orders'), undefined);
      const all = await state.readSource('orders', { keyColumn: 'id', cursorColumn: 'updated_at' });
      assert.deepEqual(all.map((r) => r.id), [1, 2, 3]);
      const page = await state.readSource('orders', { keyColumn: 'id', cursorColumn: 'updated_at', limit: 2 });
      const last = page[1];
      await state.setCursor('orders', { cursor: last.updated_at as string, key: last.id as number });
      const cursor = (await state.getCursor('orders'))!;
      const rest = await state.readSource('orders', { keyColumn: 'id', cursorColumn: 'updated_at', after: cursor });
      assert.deepEqual(rest.map((r) => r.name), ['three']);
      assert.equal(await state.writeBack('orders', 'id', [{ key: 1, values: { sf_id: '801A', processed_at: '2026-01-03' } }, { key: 99, values: { sf_id: 'x' } }]), 1);
      assert.deepEqual((await state.readSource('orders', { keyColumn: 'id', unprocessedColumn: 'processed_at' })).map((r) => r.id), [2, 3, 4]);
      assert.deepEqual((await state.readSource('orders', { keyColumn: 'id', unprocessedColumn: 'processed_at', after: { cursor: null, key: 2 } })).map((r) => r.id), [3, 4]);
      await assert.rejects(state.readSource('orders; DROP TABLE orders', { keyColumn: 'id' }), /plain SQL identifier/);
      await assert.rejects(state.writeBack('orders', 'id', [{ key: 1, values: { 'sf_id = 1 --': 'x' } }]), /plain SQL identifier/);
      await store.close();
    });
  });
}

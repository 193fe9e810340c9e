/**
 * Writable mirror tables on both backends: an application's inserts, updates and deletes (made over its own
 * database connection, as an application would) are captured with the fields they set and the version they
 * were based on; the store's own writes never are; a pending change keeps its fields against an incoming
 * Salesforce version; a placeholder Id is replaced by the Salesforce Id without being captured.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ACCOUNT_FIELDS, account, appSql, backends } from './backends.ts';

for (const backend of backends) {
  describe(`writable mirror tables (${backend.name})`, () => {
    test('application writes are captured, the store\'s own are not; pending fields are held; placeholder Ids are replaced', async () => {
      const place = await backend.place(true);
      const store = await place.open();
      const app = await appSql(place, backend.name);
      try {
        await store.ensureTable({ object: 'Account', fields: ACCOUNT_FIELDS });
        await store.upsert('Account', [account('001000000000001AAA', '2024-03-05T10:00:00.000+0000', { Industry: 'Banking' }), account('001000000000002AAA', '2024-03-05T10:00:00.000+0000')]);
        const cap = await store.writeCapture();
        assert.deepEqual(await cap.enable('Account'), { changed: true });
        assert.deepEqual(await cap.enable('account'), { changed: false });
        assert.deepEqual(await cap.writableObjects(), ['Account']);
        // The store's own writes, after enabling: not captured.
        await store.upsert('Account', [account('001000000000003AAA', '2024-03-05T10:00:00.000+0000')]);
        await store.markDeleted('Account', ['001000000000003AAA'], '2024-03-05T11:00:00.000Z');
        assert.deepEqual(await cap.pending('Account'), []);

        await app.run(`UPDATE "Account" SET "Name" = ?, "Industry" = ? WHERE "Id" = ?`, ['Renamed', 'Banking', '001000000000001AAA']);
        await app.run(`UPDATE "Account" SET "Name" = "Name" WHERE "Id" = ?`, ['001000000000002AAA']);
        if (backend.name === 'postgres') await app.run(`INSERT INTO "Account" ("Name", "IsDeleted") VALUES (?, false)`, ['Brand new']);
        else await app.run(`INSERT INTO "Account" ("Id", "Name", "IsDeleted") VALUES (?, ?, 0)`, ['new-local-1', 'Brand new']);
        await app.run(`DELETE FROM "Account" WHERE "Id" = ?`, ['001000000000002AAA']);
        const pending = await cap.pending('Account');
        assert.deepEqual(pending.map((c) => [c.op, c.fields]), [['update', ['Name']], ['insert', ['Id', 'Name', 'IsDeleted']], ['delete', []]]);
        assert.equal(pending[0].recordId, '001000000000001AAA');
        assert.equal(pending[0].baseStamp, '2024-03-05T10:00:00.000Z');
        assert.match(pending[1].recordId, /^new-/);
        assert.equal(pending[2].baseStamp, '2024-03-05T10:00:00.000Z');

        // Salesforce's newer version arrives: the pending Name stays, the rest is applied; the deleted row stays deleted.
        const r = await store.upsert('Account', [account('001000000000001AAA', '2024-03-05T12:00:00.000+0000', { Name: 'From Salesforce', Industry: 'Energy' }), account('001000000000002AAA', '2024-03-05T12:00:00.000+0000')]);
        assert.equal(r.skippedStale, 1);
        const row = await store.getRecord('Account', '001000000000001AAA');
        assert.equal(row?.Name, 'Renamed');
        assert.equal(row?.Industry, 'Energy');
        assert.equal(row?.SystemModstamp, '2024-03-05T12:00:00.000+0000');
        assert.equal(await store.getRecord('Account', '001000000000002AAA'), undefined);
        assert.equal((await cap.pending('Account')).length, 3, 'the store\'s writes captured nothing');

        // Settled: the insert gets its Salesforce Id, unseen by the triggers; later changes follow the new Id.
        const placeholder = pending[1].recordId;
        await app.run(`UPDATE "Account" SET "Industry" = ? WHERE "Id" = ?`, ['Media', placeholder]);
        await cap.settle([{ seqs: [pending[1].seq], state: 'succeeded', sfId: '001000000000009AAA', sent: { Name: 'Brand new' } }]);
        await cap.adoptId('Account', placeholder, '001000000000009AAA');
        assert.equal((await store.getRecord('Account', '001000000000009AAA'))?.Name, 'Brand new');
        assert.equal(await store.getRecord('Account', placeholder), undefined);
        const after = await cap.pending('Account');
        assert.deepEqual(after.map((c) => [c.op, c.recordId]), [['update', '001000000000001AAA'], ['delete', '001000000000002AAA'], ['update', '001000000000009AAA']]);
        assert.deepEqual([...(await cap.lastSent('Account', ['001000000000009AAA']))].map(([id, v]) => [id, v.sent]), [['001000000000009AAA', { Name: 'Brand new' }]]);

        // Settled for Salesforce: superseded, recorded with both versions, Salesforce's row written (not captured).
        const conflictId = await cap.resolveForSalesforce('Account', {
          supersede: [after[0].seq], id: '001000000000001AAA', record: account('001000000000001AAA', '2024-03-05T12:00:00.000+0000', { Name: 'From Salesforce', Industry: 'Energy' }),
          conflict: { object: 'Account', recordId: '001000000000001AAA', policy: 'salesforce_wins', winner: 'salesforce', fields: ['Name'], local: { Name: 'Renamed' }, remote: { Name: 'From Salesforce' }, localModified: after[0].capturedAt, remoteModified: '2024-03-05T12:00:00.000Z' },
        });
        assert.equal((await store.getRecord('Account', '001000000000001AAA'))?.Name, 'From Salesforce');
        const [conflict] = await cap.conflicts();
        assert.equal(conflict.id, conflictId);
        assert.deepEqual([conflict.winner, conflict.local, conflict.remote, conflict.fields], ['salesforce', { Name: 'Renamed' }, { Name: 'From Salesforce' }, ['Name']]);
        assert.equal((await cap.pending('Account')).length, 2);
        assert.equal((await cap.counts('Account')).superseded, 1);

        // A new column, and a column dropped with its data: the capture follows within ensureTable itself.
        await store.ensureTable({ object: 'Account', fields: [...ACCOUNT_FIELDS.filter((f) => f.name !== 'Industry'), { name: 'Phone', type: 'phone', length: 40 }] }, { drop: ['Industry'] });
        assert.deepEqual(await cap.enable('Account'), { changed: false });
        await app.run(`UPDATE "Account" SET "Phone" = ? WHERE "Id" = ?`, ['555', '001000000000009AAA']);
        assert.deepEqual((await cap.pending('Account')).at(-1)?.fields, ['Phone']);
        assert.equal((await store.describeTable('Account'))?.some((f) => f.name === 'Industry'), false);

        await cap.disable('Account');
        await app.run(`UPDATE "Account" SET "Phone" = ? WHERE "Id" = ?`, ['556', '001000000000009AAA']);
        assert.equal((await cap.pending('Account')).length, 3);
        assert.deepEqual(await cap.writableObjects(), []);
      } finally {
        await app.close();
        await store.close();
        await place.cleanup();
      }
    });
  });
}

describe('writable mirror tables with many columns (sqlite)', () => {
  test('a table of 1,200 fields gets its triggers, and a change to its last field is captured', async () => {
    const sqlite = backends.find((b) => b.name === 'sqlite')!;
    const place = await sqlite.place(true);
    const store = await place.open();
    const app = await appSql(place, 'sqlite');
    try {
      const wide = Array.from({ length: 1200 }, (_, i) => ({ name: `F${i}__c`, type: 'string', length: 20 }));
      await store.ensureTable({ object: 'Wide__c', fields: [{ name: 'Id', type: 'id' }, { name: 'SystemModstamp', type: 'datetime' }, ...wide] });
      await store.upsert('Wide__c', [{ Id: 'a00000000000001AAA', SystemModstamp: '2024-03-05T10:00:00.000Z', F0__c: 'x' }]);
      const cap = await store.writeCapture();
      await cap.enable('Wide__c');
      await app.run(`UPDATE "Wide__c" SET "F1199__c" = ? WHERE "Id" = ?`, ['y', 'a00000000000001AAA']);
      assert.deepEqual((await cap.pending('Wide__c')).map((c) => c.fields), [['F1199__c']]);
    } finally {
      await app.close();
      await store.close();
      await place.cleanup();
    }
  });
});


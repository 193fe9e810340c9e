import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { StoreValueError, type FieldSpec } from '../../src/store/types.ts';
import { ACCOUNT_FIELDS, account, backends, fresh } from './backends.ts';

/** One field per describe type, with a REST JSON value and the value read back. */
const TYPED: { field: FieldSpec; value: unknown; back?: unknown }[] = [
  { field: { name: 'Str__c', type: 'string', length: 80 }, value: 'héllo "quoted" \'x\'' },
  { field: { name: 'Area__c', type: 'textarea' }, value: 'line 1\nline 2' },
  { field: { name: 'Pick__c', type: 'picklist' }, value: 'Hot' },
  { field: { name: 'Multi__c', type: 'multipicklist' }, value: 'A;B;C' },
  { field: { name: 'Flag__c', type: 'boolean' }, value: true },
  { field: { name: 'Count__c', type: 'int' }, value: -2147483648 },
  { field: { name: 'Big__c', type: 'long' }, value: 9007199254740991 },
  { field: { name: 'Ratio__c', type: 'double', precision: 18, scale: 6 }, value: 0.1 },
  { field: { name: 'Amount__c', type: 'currency', precision: 18, scale: 2 }, value: 1234567.89 },
  { field: { name: 'Pct__c', type: 'percent', precision: 5, scale: 2 }, value: 12.5 },
  { field: { name: 'Day__c', type: 'date' }, value: '2024-02-29' },
  { field: { name: 'When__c', type: 'datetime' }, value: '2024-03-05T19:38:40.123+0200', back: '2024-03-05T17:38:40.123+0000' },
  { field: { name: 'At__c', type: 'time' }, value: '17:38:40.500Z' },
  { field: { name: 'Parent__c', type: 'reference' }, value: '001Hs00000AbCdEIAV' },
  { field: { name: 'Mail__c', type: 'email' }, value: 'a@example.com' },
  { field: { name: 'Tel__c', type: 'phone' }, value: '+1 (555) 010-0000' },
  { field: { name: 'Site__c', type: 'url' }, value: 'https://example.com/a?b=c' },
  { field: { name: 'Blob__c', type: 'base64' }, value: 'SGVsbG8=' },
  {
    field: { name: 'Addr__c', type: 'address' },
    value: { city: 'Paris', country: 'France', geocodeAccuracy: null, latitude: 48.85, longitude: 2.35, postalCode: '75001', state: null, street: '1 Rue' },
  },
  { field: { name: 'Loc__c', type: 'location' }, value: { latitude: -33.9, longitude: 151.2 } },
  { field: { name: 'Any__c', type: 'anyType' }, value: 'free text' },
];

for (const backend of backends) {
  describe(`mirror tables (${backend.name})`, () => {
    test('every describe type round-trips through its typed column', async () => {
      const { store, done } = await fresh(backend);
      try {
        const fields = [...ACCOUNT_FIELDS, ...TYPED.map((t) => t.field)];
        assert.deepEqual(await store.ensureTable({ object: 'Account', fields }), { created: true, added: [], removed: [], dropped: [], typeChanges: [] });
        const record = account('001A00000000001AAA', '2024-03-05T17:38:40.000+0000', Object.fromEntries(TYPED.map((t) => [t.field.name, t.value])));
        assert.deepEqual(await store.upsert('Account', [record]), { inserted: 1, updated: 0, skippedStale: 0, deleted: 0 });
        const back = await store.getRecord('Account', '001A00000000001AAA');
        assert.ok(back);
        for (const t of TYPED) assert.deepEqual(back[t.field.name], t.back ?? t.value, t.field.type);
        assert.equal(back.SystemModstamp, '2024-03-05T17:38:40.000+0000');

        // Nulls and Bulk CSV strings ('' is null, 'true', numeric text) are accepted for every type.
        const csvish = account('001A00000000002AAA', '2024-03-05T17:38:40.000Z', {
          ...Object.fromEntries(TYPED.map((t) => [t.field.name, null])),
          Flag__c: 'false',
          Count__c: '42',
          Amount__c: '10.50',
          Str__c: '',
        });
        await store.upsert('Account', [csvish]);
        const back2 = await store.getRecord('Account', '001A00000000002AAA');
        assert.equal(back2?.Flag__c, false);
        assert.equal(back2?.Count__c, 42);
        assert.equal(back2?.Amount__c, 10.5);
        assert.equal(back2?.Str__c, null);
        assert.equal(back2?.Addr__c, null);
      } finally {
        await done();
      }
    });

    test('malformed values and unknown fields are refused, not stored as something else', async () => {
      const { store, done } = await fresh(backend);
      try {
        await store.ensureTable({ object: 'Account', fields: [...ACCOUNT_FIELDS, { name: 'Day__c', type: 'date' }, { name: 'N__c', type: 'int' }] });
        const base = account('001A00000000001AAA', '2024-03-05T17:38:40.000+0000');
        await assert.rejects(store.upsert('Account', [{ ...base, Day__c: '2024-02-30' }]), StoreValueError);
        await assert.rejects(store.upsert('Account', [{ ...base, N__c: 1.5 }]), StoreValueError);
        await assert.rejects(store.upsert('Account', [{ ...base, SystemModstamp: 'yesterday' }]), StoreValueError);
        await assert.rejects(store.upsert('Account', [{ ...base, Nope__c: 'x' }]), /Nope__c/);
        await assert.rejects(store.upsert('Account', [{ ...base, SystemModstamp: null }]), /SystemModstamp/);
        await assert.rejects(store.upsert('Contact', [base]), /ensureTable/);
        // Parent relationship objects are not columns and are dropped, like `attributes`.
        const r = await store.upsert('Account', [{ ...base, Owner: { attributes: { type: 'User' }, Name: 'Ann' } }]);
        assert.equal(r.inserted, 1);
        assert.equal(await store.count('Account'), 1);
      } finally {
        await done();
      }
    });

    test('new fields are added, vanished fields kept and reported, type changes reported', async () => {
      const { store, done } = await fresh(backend);
      try {
        await store.ensureTable({ object: 'Account', fields: [...ACCOUNT_FIELDS, { name: 'Old__c', type: 'string' }, { name: 'Score__c', type: 'string' }] });
        await store.upsert('Account', [account('001A00000000001AAA', '2024-01-01T00:00:00.000Z', { Old__c: 'keep me', Score__c: '7' })]);

        const fields: FieldSpec[] = [...ACCOUNT_FIELDS, { name: 'Score__c', type: 'double' }, { name: 'New__c', type: 'int' }];
        fields[4] = { name: 'Industry', type: 'string', length: 255 };
        const r = await store.ensureTable({ object: 'Account', fields });
        assert.equal(r.created, false);
        assert.deepEqual(r.added, ['New__c']);
        assert.deepEqual(r.removed, ['Old__c']);
        assert.deepEqual(
          r.typeChanges.sort((a, b) => a.field.localeCompare(b.field)),
          [
            { field: 'Industry', from: 'picklist', to: 'string', applied: true },
            { field: 'Score__c', from: 'string', to: 'double', applied: false },
          ],
        );
        // The removed field's data is still there; the new column is writable.
        await store.upsert('Account', [account('001A00000000001AAA', '2024-01-02T00:00:00.000Z', { New__c: 5, Score__c: 7.5 })]);
        const back = await store.getRecord('Account', '001A00000000001AAA');
        assert.equal(back?.Old__c, 'keep me');
        assert.equal(back?.New__c, 5);
        // Score__c keeps its text column: the double arrives as its decimal text.
        assert.equal(back?.Score__c, '7.5');

        // Same describe again: nothing to add, the removal is still reported, the unapplied change too.
        const again = await store.ensureTable({ object: 'Account', fields });
        assert.deepEqual(again.added, []);
        assert.deepEqual(again.removed, ['Old__c']);
        assert.deepEqual(again.typeChanges, [{ field: 'Score__c', from: 'string', to: 'double', applied: false }]);
        const described = await store.describeTable('account');
        assert.equal(described?.find((f) => f.name === 'Industry')?.type, 'string');
      } finally {
        await done();
      }
    });

    test('bad names and specs are rejected', async () => {
      const { store, done } = await fresh(backend);
      try {
        await assert.rejects(store.ensureTable({ object: 'Account"; DROP TABLE x; --', fields: ACCOUNT_FIELDS }), /Invalid object name/);
        await assert.rejects(store.ensureTable({ object: 'Account', fields: [...ACCOUNT_FIELDS, { name: 'bad name', type: 'string' }] }), /Invalid field name/);
        await assert.rejects(store.ensureTable({ object: 'Account', fields: ACCOUNT_FIELDS.slice(1) }), /no Id/);
        await assert.rejects(store.ensureTable({ object: 'Thing__c', fields: [{ name: 'Id', type: 'id' }, { name: 'Name', type: 'string' }] }), /SystemModstamp/);
        await assert.rejects(store.ensureTable({ object: 'Account', fields: [...ACCOUNT_FIELDS, { name: 'name', type: 'string' }] }), /twice/);
      } finally {
        await done();
      }
    });

    test('older versions never overwrite newer ones; equal stamps rewrite idempotently', async () => {
      const { store, done } = await fresh(backend);
      try {
        await store.ensureTable({ object: 'Account', fields: ACCOUNT_FIELDS });
        const id = '001A00000000001AAA';
        assert.equal((await store.upsert('Account', [account(id, '2024-03-05T17:38:40.000+0000', { Name: 'v2' })])).inserted, 1);
        // Older: skipped.
        assert.deepEqual(await store.upsert('Account', [account(id, '2024-03-05T17:38:39.999+0000', { Name: 'v1' })]), { inserted: 0, updated: 0, skippedStale: 1, deleted: 0 });
        assert.equal((await store.getRecord('Account', id))?.Name, 'v2');
        // Same instant written with another offset: equal, so rewritten.
        assert.deepEqual(await store.upsert('Account', [account(id, '2024-03-05T18:38:40.000+01:00', { Name: 'v2' })]), { inserted: 0, updated: 1, skippedStale: 0, deleted: 0 });
        // Newer: applied.
        await store.upsert('Account', [account(id, '2024-03-06T00:00:00.000Z', { Name: 'v3' })]);
        assert.equal((await store.getRecord('Account', id))?.Name, 'v3');
        // Within one batch the newest version wins whatever the order.
        const b = '001A00000000002AAA';
        const r = await store.upsert('Account', [account(b, '2024-03-07T00:00:00.000Z', { Name: 'new' }), account(b, '2024-03-01T00:00:00.000Z', { Name: 'old' })]);
        assert.deepEqual(r, { inserted: 1, updated: 0, skippedStale: 1, deleted: 0 });
        assert.equal((await store.getRecord('Account', b))?.Name, 'new');
      } finally {
        await done();
      }
    });

    test('fields absent from a record are left as stored; explicit nulls clear', async () => {
      const { store, done } = await fresh(backend);
      try {
        await store.ensureTable({ object: 'Account', fields: ACCOUNT_FIELDS });
        const id = '001A00000000001AAA';
        await store.upsert('Account', [account(id, '2024-03-05T00:00:00.000Z', { Industry: 'Energy' })]);
        await store.upsert('Account', [{ Id: id, SystemModstamp: '2024-03-06T00:00:00.000Z', Name: 'Renamed' }]);
        let back = await store.getRecord('Account', id);
        assert.equal(back?.Name, 'Renamed');
        assert.equal(back?.Industry, 'Energy');
        await store.upsert('Account', [{ Id: id, SystemModstamp: '2024-03-07T00:00:00.000Z', Industry: null }]);
        back = await store.getRecord('Account', id);
        assert.equal(back?.Industry, null);
      } finally {
        await done();
      }
    });

    test('large batches are chunked under the parameter limit', async () => {
      const { store, done } = await fresh(backend);
      try {
        const extra: FieldSpec[] = Array.from({ length: 10 }, (_, i) => ({ name: `F${i}__c`, type: 'string' }));
        await store.ensureTable({ object: 'Account', fields: [...ACCOUNT_FIELDS, ...extra] });
        // 7000 rows × 17 parameters is past both SQLite's 32766 and Postgres's 65535.
        const records = Array.from({ length: 7000 }, (_, i) =>
          account(`001A0000${String(i).padStart(7, '0')}AAA`, '2024-03-05T00:00:00.000Z', Object.fromEntries(extra.map((f) => [f.name, `v${i}`]))),
        );
        assert.deepEqual(await store.upsert('Account', records), { inserted: 7000, updated: 0, skippedStale: 0, deleted: 0 });
        assert.equal(await store.count('Account'), 7000);
        assert.deepEqual(await store.upsert('Account', records), { inserted: 0, updated: 7000, skippedStale: 0, deleted: 0 });
      } finally {
        await done();
      }
    });
  });
}

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testOrg, V, type TestOrg } from '../helpers/emulator.ts';
import { text } from '../../src/emulator/schema/dsl.ts';

type Result = { id?: string; success: boolean; errors: { statusCode: string; message: string; fields: string[] }[]; created?: boolean };

const withExtKey = { objects: [{ name: 'Account', label: 'Account', labelPlural: 'Accounts', keyPrefix: '001', fields: [text('Ext_Key__c', 40, { externalId: true, unique: true, custom: true })] }] };

async function call(org: TestOrg, method: string, path: string, json?: unknown): Promise<{ status: number; body: unknown }> {
  const res = await org.api(path, { method, json });
  return { status: res.status, body: await res.json() };
}

const count = (org: TestOrg, object: string) => org.emu.org.store.count(org.emu.org.schema.get(object)!);

test('collections create: mixed types, results in input order, failures omit id', async () => {
  const org = await testOrg();
  const { status, body } = await call(org, 'POST', '/composite/sobjects', {
    records: [
      { attributes: { type: 'Account' }, Name: 'A' },
      { attributes: { type: 'Contact' }, FirstName: 'No last name' },
      { attributes: { type: 'Contact' }, LastName: 'Okafor' },
      { Name: 'untyped' },
      { attributes: { type: 'Account' }, Id: '001000000000000AAA', Name: 'with id' },
    ],
  });
  assert.equal(status, 200);
  const r = body as Result[];
  assert.equal(r.length, 5);
  assert.deepEqual(Object.keys(r[0]), ['id', 'success', 'errors']);
  assert.match(r[0].id!, /^001/);
  assert.deepEqual(r[1], { success: false, errors: [{ statusCode: 'REQUIRED_FIELD_MISSING', message: 'Required fields are missing: [LastName]', fields: ['LastName'] }] });
  assert.match(r[2].id!, /^003/);
  assert.equal(r[3].success, false);
  assert.equal(r[3].errors[0].statusCode, 'INVALID_TYPE');
  assert.deepEqual(r[4], { success: false, errors: [{ statusCode: 'INVALID_FIELD', message: 'Cannot specify Id in an insert call', fields: [] }] });
  assert.equal(count(org, 'Account'), 1);
  assert.equal(count(org, 'Contact'), 1);
  org.close();
});

test('collections create allOrNone: nothing written, real error plus ALL_OR_NONE_OPERATION_ROLLED_BACK', async () => {
  const org = await testOrg();
  const { status, body } = await call(org, 'POST', '/composite/sobjects', {
    allOrNone: true,
    records: [{ attributes: { type: 'Account' }, Name: 'A' }, { attributes: { type: 'Account' } }, { attributes: { type: 'Account' }, Name: 'C' }],
  });
  assert.equal(status, 200);
  const rolledBack = { success: false, errors: [{ statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK', message: 'Record rolled back because not all records were valid and the request was using AllOrNone header', fields: [] }] };
  assert.deepEqual(body, [rolledBack, { success: false, errors: [{ statusCode: 'REQUIRED_FIELD_MISSING', message: 'Required fields are missing: [Name]', fields: ['Name'] }] }, rolledBack]);
  assert.equal(count(org, 'Account'), 0);
  org.close();
});

test('collections limits: 201 records and 201 delete ids fail with EXCEEDED_ID_LIMIT; 200 work', async () => {
  const org = await testOrg();
  const recs = (n: number) => Array.from({ length: n }, (_, i) => ({ attributes: { type: 'Account' }, Name: `A${i}` }));
  const over = await call(org, 'POST', '/composite/sobjects', { records: recs(201) });
  assert.equal(over.status, 400);
  assert.deepEqual(over.body, [{ message: 'record limit reached. cannot submit more than 200 records into this call', errorCode: 'EXCEEDED_ID_LIMIT' }]);
  assert.equal(count(org, 'Account'), 0);
  const ok = await call(org, 'POST', '/composite/sobjects', { records: recs(200) });
  assert.equal((ok.body as Result[]).filter((r) => r.success).length, 200);
  const ids = (ok.body as Result[]).map((r) => r.id!);
  const del = await call(org, 'DELETE', `/composite/sobjects?ids=${[...ids, ids[0]].join(',')}`);
  assert.equal(del.status, 400);
  org.close();
});

test('collections: more than 10 type chunks is rejected', async () => {
  const org = await testOrg();
  const records = Array.from({ length: 11 }, (_, i) => (i % 2 ? { attributes: { type: 'Contact' }, LastName: 'C' } : { attributes: { type: 'Account' }, Name: 'A' }));
  const res = await call(org, 'POST', '/composite/sobjects', { records });
  assert.equal(res.status, 400);
  org.close();
});

test('collections update: per-record results, duplicate ids, missing Id, unknown id', async () => {
  const org = await testOrg();
  const created = (await call(org, 'POST', '/composite/sobjects', { records: [{ attributes: { type: 'Account' }, Name: 'A' }, { attributes: { type: 'Account' }, Name: 'B' }] })).body as Result[];
  const [a, b] = created.map((r) => r.id!);
  const { body } = await call(org, 'PATCH', '/composite/sobjects', {
    records: [
      { attributes: { type: 'Account' }, Id: a, Industry: 'Banking' },
      { attributes: { type: 'Account' }, Name: 'no id' },
      { attributes: { type: 'Account' }, Id: b, Name: 'B1' },
      { attributes: { type: 'Account' }, Id: b, Name: 'B2' },
      { attributes: { type: 'Account' }, Id: '001000000000zzzAAA', Name: 'ghost' },
    ],
  });
  const r = body as Result[];
  assert.deepEqual(r[0], { id: a, success: true, errors: [] });
  assert.equal(r[1].errors[0].statusCode, 'MISSING_ARGUMENT');
  assert.equal(r[2].errors[0].statusCode, 'DUPLICATE_VALUE');
  assert.equal(r[3].id, b);
  assert.equal(r[4].success, false);
  const acct = org.emu.org.schema.get('Account')!;
  assert.equal(org.emu.org.store.getRow(acct, a)!.Industry, 'Banking');
  assert.equal(org.emu.org.store.getRow(acct, b)!.Name, 'B');
  org.close();
});

test('collections update allOrNone rolls back earlier successful updates', async () => {
  const org = await testOrg();
  const [a] = ((await call(org, 'POST', '/composite/sobjects', { records: [{ attributes: { type: 'Account' }, Name: 'A' }] })).body as Result[]).map((r) => r.id!);
  const { body } = await call(org, 'PATCH', '/composite/sobjects', {
    allOrNone: true,
    records: [{ attributes: { type: 'Account' }, Id: a, Name: 'Changed' }, { attributes: { type: 'Account' }, Id: a.slice(0, 3) + 'x', Name: 'bad' }],
  });
  const r = body as Result[];
  assert.equal(r[0].errors[0].statusCode, 'ALL_OR_NONE_OPERATION_ROLLED_BACK');
  assert.equal(r[1].errors[0].statusCode, 'MALFORMED_ID');
  assert.equal(org.emu.org.store.getRow(org.emu.org.schema.get('Account')!, a)!.Name, 'A');
  org.close();
});

test('collections upsert by external id: created flags, duplicates, missing value, allOrNone', async () => {
  const org = await testOrg(withExtKey);
  const first = await call(org, 'PATCH', '/composite/sobjects/Account/Ext_Key__c', {
    records: [{ attributes: { type: 'Account' }, Ext_Key__c: 'K-1', Name: 'One' }, { attributes: { type: 'Account' }, Ext_Key__c: 'K-2', Name: 'Two' }],
  });
  assert.equal(first.status, 200);
  const r1 = first.body as Result[];
  assert.deepEqual(r1.map((r) => [r.success, r.created]), [[true, true], [true, true]]);
  assert.deepEqual(Object.keys(r1[0]), ['id', 'success', 'errors', 'created']);
  const second = (await call(org, 'PATCH', '/composite/sobjects/Account/Ext_Key__c', {
    records: [
      { attributes: { type: 'Account' }, Ext_Key__c: 'K-1', Name: 'One updated' },
      { attributes: { type: 'Account' }, Name: 'no key' },
      { attributes: { type: 'Account' }, Ext_Key__c: 'K-3', Name: 'Three' },
      { attributes: { type: 'Account' }, Ext_Key__c: 'K-3', Name: 'Three again' },
    ],
  })).body as Result[];
  assert.deepEqual(second[0], { id: r1[0].id, success: true, errors: [], created: false });
  assert.equal(second[1].errors[0].statusCode, 'MISSING_ARGUMENT');
  assert.equal(second[2].errors[0].statusCode, 'DUPLICATE_EXTERNAL_ID');
  assert.equal(count(org, 'Account'), 2);

  const all = (await call(org, 'PATCH', '/composite/sobjects/Account/Ext_Key__c', {
    allOrNone: true,
    records: [{ attributes: { type: 'Account' }, Ext_Key__c: 'K-9', Name: 'Nine' }, { attributes: { type: 'Account' }, Ext_Key__c: 'K-10', Name: 'x'.repeat(300) }],
  })).body as Result[];
  assert.equal(all[0].errors[0].statusCode, 'ALL_OR_NONE_OPERATION_ROLLED_BACK');
  assert.equal(all[1].errors[0].statusCode, 'STRING_TOO_LONG');
  assert.equal(count(org, 'Account'), 2);

  const notExt = await call(org, 'PATCH', '/composite/sobjects/Account/Industry', { records: [] });
  assert.equal(notExt.status, 404);
  org.close();
});

test('collections retrieve: GET and POST, ID order, null for missing/deleted, INVALID_FIELD', async () => {
  const org = await testOrg();
  const ids = ((await call(org, 'POST', '/composite/sobjects', { records: [{ attributes: { type: 'Account' }, Name: 'A', Industry: 'Banking' }, { attributes: { type: 'Account' }, Name: 'B' }] })).body as Result[]).map((r) => r.id!);
  await org.api(`/sobjects/Account/${ids[1]}`, { method: 'DELETE' });
  const ghost = '001000000000zzzAAA';
  const get = await call(org, 'GET', `/composite/sobjects/Account?ids=${ghost},${ids[0]},${ids[1]}&fields=Name,Industry`);
  assert.equal(get.status, 200);
  assert.deepEqual(get.body, [null, { attributes: { type: 'Account', url: `${V}/sobjects/Account/${ids[0]}` }, Name: 'A', Industry: 'Banking' }, null]);
  const post = await call(org, 'POST', '/composite/sobjects/Account', { ids: [ids[0]], fields: ['Id', 'Name'] });
  assert.deepEqual(post.body, [{ attributes: { type: 'Account', url: `${V}/sobjects/Account/${ids[0]}` }, Id: ids[0], Name: 'A' }]);
  const bad = await call(org, 'POST', '/composite/sobjects/Account', { ids: [ids[0]], fields: ['Nope'] });
  assert.equal(bad.status, 400);
  assert.equal((bad.body as { errorCode: string }[])[0].errorCode, 'INVALID_FIELD');
  const tooMany = await call(org, 'POST', '/composite/sobjects/Account', { ids: Array.from({ length: 2001 }, () => ids[0]), fields: ['Name'] });
  assert.equal(tooMany.status, 400);
  org.close();
});

test('collections delete: mixed types, per-record errors, allOrNone keeps everything', async () => {
  const org = await testOrg();
  const ids = ((await call(org, 'POST', '/composite/sobjects', { records: [{ attributes: { type: 'Account' }, Name: 'A' }, { attributes: { type: 'Contact' }, LastName: 'C' }] })).body as Result[]).map((r) => r.id!);
  const ghost = '001000000000zzzAAA';
  const aon = (await call(org, 'DELETE', `/composite/sobjects?ids=${ids.join(',')},${ghost}&allOrNone=true`)).body as Result[];
  assert.deepEqual(aon.map((r) => r.errors[0]?.statusCode), ['ALL_OR_NONE_OPERATION_ROLLED_BACK', 'ALL_OR_NONE_OPERATION_ROLLED_BACK', 'ENTITY_IS_DELETED']);
  assert.equal(count(org, 'Account') + count(org, 'Contact'), 2);
  const del = (await call(org, 'DELETE', `/composite/sobjects?ids=${ids.join(',')},${ghost},nope`)).body as Result[];
  assert.deepEqual(del.slice(0, 2), [{ id: ids[0], success: true, errors: [] }, { id: ids[1], success: true, errors: [] }]);
  assert.deepEqual(del[2], { id: ghost, success: false, errors: [{ statusCode: 'ENTITY_IS_DELETED', message: 'entity is deleted', fields: [] }] });
  assert.equal(del[3].errors[0].statusCode, 'MALFORMED_ID');
  assert.equal(count(org, 'Account') + count(org, 'Contact'), 0);
  org.close();
});

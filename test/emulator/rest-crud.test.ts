import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testOrg, V } from '../helpers/emulator.ts';

test('versions list needs no auth and carries no Sforce-Limit-Info', async () => {
  const org = await testOrg();
  const res = await org.emu.request('/services/data');
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('sforce-limit-info'), null);
  const versions = (await res.json()) as { version: string; label: string; url: string }[];
  const v62 = versions.find((v) => v.version === '62.0');
  assert.deepEqual(v62, { label: "Winter '25", url: '/services/data/v62.0', version: '62.0' });
  org.close();
});

test('counted calls carry Sforce-Limit-Info api-usage=used/max', async () => {
  const org = await testOrg();
  const a = await org.api('/sobjects');
  const b = await org.api('/sobjects');
  const used = (r: Response) => Number(/api-usage=(\d+)\/(\d+)/.exec(r.headers.get('sforce-limit-info') ?? '')?.[1]);
  assert.equal(used(b), used(a) + 1);
  org.close();
});

test('create, read, update, delete a record with Salesforce status codes and shapes', async () => {
  const org = await testOrg();
  const created = await org.api('/sobjects/Account', { method: 'POST', json: { Name: 'Globex Ltd', Industry: 'Banking', BillingCity: 'Paris' } });
  assert.equal(created.status, 201);
  const { id, success, errors } = (await created.json()) as { id: string; success: boolean; errors: unknown[] };
  assert.equal(success, true);
  assert.deepEqual(errors, []);
  assert.match(id, /^001[A-Za-z0-9]{15}$/);

  const read = await org.api(`/sobjects/Account/${id}`);
  assert.equal(read.status, 200);
  const rec = (await read.json()) as Record<string, unknown>;
  assert.deepEqual(Object.keys(rec)[0], 'attributes');
  assert.deepEqual(rec.attributes, { type: 'Account', url: `${V}/sobjects/Account/${id}` });
  assert.equal(rec.Name, 'Globex Ltd');
  assert.equal(rec.IsDeleted, false);
  assert.match(String(rec.CreatedDate), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/);
  assert.equal((rec.BillingAddress as Record<string, unknown>).city, 'Paris');
  assert.equal(rec.ShippingAddress, null);

  const partial = (await (await org.api(`/sobjects/Account/${id}?fields=Name,Industry`)).json()) as Record<string, unknown>;
  assert.deepEqual(Object.keys(partial), ['attributes', 'Name', 'Industry']);

  const patched = await org.api(`/sobjects/Account/${id}`, { method: 'PATCH', json: { Industry: 'Retail' } });
  assert.equal(patched.status, 204);
  const after = (await (await org.api(`/sobjects/Account/${id}`)).json()) as Record<string, unknown>;
  assert.equal(after.Industry, 'Retail');
  assert.ok(String(after.SystemModstamp) >= String(rec.SystemModstamp));

  const del = await org.api(`/sobjects/Account/${id}`, { method: 'DELETE' });
  assert.equal(del.status, 204);
  const gone = await org.api(`/sobjects/Account/${id}`);
  assert.equal(gone.status, 404);
  assert.deepEqual(await gone.json(), [{ message: 'entity is deleted', errorCode: 'ENTITY_IS_DELETED' }]);
  org.close();
});

test('validation errors: required field, unknown field, read-only field, bad JSON', async () => {
  const org = await testOrg();
  const missing = await org.api('/sobjects/Contact', { method: 'POST', json: { FirstName: 'Ada' } });
  assert.equal(missing.status, 400);
  assert.deepEqual(await missing.json(), [{ message: 'Required fields are missing: [LastName]', errorCode: 'REQUIRED_FIELD_MISSING', fields: ['LastName'] }]);

  const unknown = await org.api('/sobjects/Account', { method: 'POST', json: { Name: 'x', Foo: 1 } });
  assert.deepEqual(await unknown.json(), [{ message: "No such column 'Foo' on sobject of type Account", errorCode: 'INVALID_FIELD', fields: ['Foo'] }]);

  const readOnly = await org.api('/sobjects/Account', { method: 'POST', json: { Name: 'x', CreatedDate: '2020-01-01T00:00:00Z' } });
  assert.equal(((await readOnly.json()) as { errorCode: string }[])[0].errorCode, 'INVALID_FIELD_FOR_INSERT_UPDATE');

  const bad = await org.api('/sobjects/Account', { method: 'POST', body: '{nope', headers: { 'content-type': 'application/json' } });
  assert.equal(bad.status, 400);
  assert.equal(((await bad.json()) as { errorCode: string }[])[0].errorCode, 'JSON_PARSER_ERROR');
  org.close();
});

test('unknown object and unknown record are 404 NOT_FOUND', async () => {
  const org = await testOrg();
  const obj = await org.api('/sobjects/Nope__c/describe');
  assert.equal(obj.status, 404);
  assert.deepEqual(await obj.json(), [{ message: 'The requested resource does not exist', errorCode: 'NOT_FOUND' }]);
  const rec = await org.api('/sobjects/Account/001000000000000AAA');
  assert.equal(rec.status, 404);
  org.close();
});

test('empty strings are stored as null', async () => {
  const org = await testOrg();
  const { id } = (await (await org.api('/sobjects/Account', { method: 'POST', json: { Name: 'x', Phone: '' } })).json()) as { id: string };
  const rec = (await (await org.api(`/sobjects/Account/${id}?fields=Phone`)).json()) as Record<string, unknown>;
  assert.equal(rec.Phone, null);
  org.close();
});

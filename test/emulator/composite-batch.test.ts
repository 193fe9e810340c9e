import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testOrg, V } from '../helpers/emulator.ts';

type BatchBody = { hasErrors: boolean; results: { statusCode: number; result: unknown }[] };

test('batch: independent subrequests, statuses and results in order, each committed on its own', async () => {
  const org = await testOrg();
  const created = (await (await org.api('/sobjects/Account', { method: 'POST', json: { Name: 'Globex' } })).json()) as { id: string };
  const res = await org.api('/composite/batch', {
    method: 'POST',
    json: {
      batchRequests: [
        { method: 'PATCH', url: `v62.0/sobjects/Account/${created.id}`, richInput: { Name: 'Globex PLC' } },
        { method: 'GET', url: `v62.0/sobjects/Account/${created.id}?fields=Name` },
        { method: 'POST', url: 'v62.0/sobjects/Contact', richInput: { FirstName: 'no last name' } },
        { method: 'POST', url: 'v62.0/sobjects/Account', richInput: { Name: 'After failure' } },
      ],
    },
  });
  assert.equal(res.status, 200);
  const body = (await res.json()) as BatchBody;
  assert.equal(body.hasErrors, true);
  assert.deepEqual(body.results.map((r) => r.statusCode), [204, 200, 400, 201]);
  assert.equal(body.results[0].result, null);
  assert.deepEqual(body.results[1].result, { attributes: { type: 'Account', url: `${V}/sobjects/Account/${created.id}` }, Name: 'Globex PLC' });
  assert.deepEqual(body.results[2].result, [{ message: 'Required fields are missing: [LastName]', errorCode: 'REQUIRED_FIELD_MISSING', fields: ['LastName'] }]);
  assert.deepEqual(Object.keys(body.results[0]), ['statusCode', 'result']);
  assert.equal(org.emu.org.store.count(org.emu.org.schema.get('Account')!), 2);
  org.close();
});

test('batch haltOnError: the rest report 412 BATCH_PROCESSING_HALTED and do not run', async () => {
  const org = await testOrg();
  const res = await org.api('/composite/batch', {
    method: 'POST',
    json: {
      haltOnError: true,
      batchRequests: [
        { method: 'POST', url: 'v62.0/sobjects/Account', richInput: { Name: 'First' } },
        { method: 'GET', url: 'v62.0/sobjects/Account/001000000000zzzAAA' },
        { method: 'POST', url: 'v62.0/sobjects/Account', richInput: { Name: 'Never' } },
      ],
    },
  });
  const body = (await res.json()) as BatchBody;
  assert.deepEqual(body.results.map((r) => r.statusCode), [201, 404, 412]);
  assert.deepEqual(body.results[2].result, [{ errorCode: 'BATCH_PROCESSING_HALTED', message: 'Batch processing halted per request' }]);
  assert.equal(org.emu.org.store.count(org.emu.org.schema.get('Account')!), 1);
  org.close();
});

test('batch limits and envelope: 26 requests, bad body, versions outside 34.0..call version', async () => {
  const org = await testOrg();
  const get = { method: 'GET', url: 'v62.0/sobjects' };
  assert.equal((await org.api('/composite/batch', { method: 'POST', json: { batchRequests: Array.from({ length: 26 }, () => get) } })).status, 400);
  assert.equal((await org.api('/composite/batch', { method: 'POST', json: { batchRequests: Array.from({ length: 25 }, () => get) } })).status, 200);
  assert.equal((await org.api('/composite/batch', { method: 'POST', json: { batchRequests: [{ method: 'FETCH', url: 'v62.0/sobjects' }] } })).status, 400);
  const res = await org.api('/composite/batch', { method: 'POST', json: { batchRequests: [{ method: 'GET', url: 'v63.0/sobjects' }, { method: 'GET', url: 'v33.0/sobjects' }, { method: 'GET', url: '/services/data/v62.0/sobjects' }] } });
  const body = (await res.json()) as BatchBody;
  assert.deepEqual(body.results.map((r) => r.statusCode), [400, 400, 200]);
  org.close();
});

test('batch counts one API call', async () => {
  const org = await testOrg();
  const before = org.emu.org.apiUsage;
  await org.api('/composite/batch', { method: 'POST', json: { batchRequests: [{ method: 'GET', url: 'v62.0/sobjects' }, { method: 'GET', url: 'v62.0/sobjects' }] } });
  assert.equal(org.emu.org.apiUsage, before + 1);
  org.close();
});

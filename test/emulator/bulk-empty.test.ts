/** Ingest jobs with nothing to do complete with 0 records; rolled-back upsert results keep `created`. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bulkOrg, createJob, results, runJob, setState, waitFinal } from './bulk-helpers.ts';

test('an ingest job closed without an upload ends JobComplete with 0 records processed, whatever its operation', async () => {
  const org = await bulkOrg();
  for (const operation of ['insert', 'update', 'delete']) {
    const job = await createJob(org, { object: 'Account', operation, contentType: 'CSV', lineEnding: 'LF' });
    const closed = await setState(org, 'ingest', job.id, 'UploadComplete');
    assert.equal(closed.status, 200);
    const info = await waitFinal(org, 'ingest', job.id);
    assert.deepEqual([info.state, info.numberRecordsProcessed, info.numberRecordsFailed, info.errorMessage], ['JobComplete', 0, 0, undefined], operation);
    // No upload, no header: the result files are empty.
    assert.equal(await results(org, job.id, 'successfulResults'), '');
    assert.equal(await results(org, job.id, 'failedResults'), '');
  }
  org.close();
});

test('an upload with a header and no rows ends JobComplete with 0 records; its results carry the header', async () => {
  const org = await bulkOrg();
  const info = await runJob(org, { object: 'Account', operation: 'insert' }, 'Name,Industry\n');
  assert.deepEqual([info.state, info.numberRecordsProcessed, info.numberRecordsFailed], ['JobComplete', 0, 0]);
  assert.equal(await results(org, info.id, 'successfulResults'), '"sf__Id","sf__Created",Name,Industry\n');
  org.close();
});

test('successful results carry sf__Created: true for inserted rows, false for updated ones', async () => {
  const org = await bulkOrg();
  await runJob(org, { object: 'Account', operation: 'insert' }, 'Name,External_Id__c\nOld,E1\n');
  const info = await runJob(org, { object: 'Account', operation: 'upsert', externalIdFieldName: 'External_Id__c' }, 'Name,External_Id__c\nNew,E2\nOld2,E1\n');
  const lines = (await results(org, info.id, 'successfulResults')).trim().split('\n');
  assert.equal(lines[0], '"sf__Id","sf__Created",Name,External_Id__c');
  assert.deepEqual(lines.slice(1).map((l) => l.split(',').slice(1).join(',')).sort(), ['"false",Old2,E1', '"true",New,E2']);
  org.close();
});

test('sObject Collections upsert with allOrNone: rolled-back rows carry created false; create results have no created key', async () => {
  const org = await bulkOrg();
  const upsert = await org.api('/composite/sobjects/Account/External_Id__c', {
    method: 'PATCH',
    json: { allOrNone: true, records: [{ attributes: { type: 'Account' }, Name: 'A', External_Id__c: 'X1' }, { attributes: { type: 'Account' }, External_Id__c: 'X2', Name: '' }] },
  });
  assert.equal(upsert.status, 200);
  const rolled = (await upsert.json()) as Record<string, unknown>[];
  assert.deepEqual(rolled[0], { success: false, errors: [{ statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK', message: 'Record rolled back because not all records were valid and the request was using AllOrNone header', fields: [] }], created: false });
  assert.equal(rolled[1].success, false);
  assert.equal(rolled[1].created, false);
  const create = await org.api('/composite/sobjects', { method: 'POST', json: { allOrNone: true, records: [{ attributes: { type: 'Account' }, Name: 'B' }, { attributes: { type: 'Account' } }] } });
  const created = (await create.json()) as Record<string, unknown>[];
  assert.equal(created[0].success, false);
  assert.equal('created' in created[0], false);
  org.close();
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bulkOrg, createJob, getRecord, jobInfo, results, runJob, setState, upload } from './bulk-helpers.ts';

test('create returns 200 with the job info shape in Salesforce field order', async () => {
  const org = await bulkOrg();
  const res = await org.api('/jobs/ingest', { method: 'POST', json: { object: 'contact', operation: 'upsert', externalIdFieldName: 'legacy_key__c', contentType: 'CSV', lineEnding: 'LF' } });
  assert.equal(res.status, 200);
  const text = await res.text();
  assert.match(text, /"apiVersion":62\.0,/);
  const info = JSON.parse(text) as Record<string, unknown>;
  assert.deepEqual(Object.keys(info), ['id', 'operation', 'object', 'createdById', 'createdDate', 'systemModstamp', 'state', 'externalIdFieldName', 'concurrencyMode', 'contentType', 'apiVersion', 'contentUrl', 'lineEnding', 'columnDelimiter']);
  assert.match(String(info.id), /^750[A-Za-z0-9]{15}$/);
  assert.equal(info.object, 'Contact');
  assert.equal(info.externalIdFieldName, 'Legacy_Key__c');
  assert.equal(info.state, 'Open');
  assert.equal(info.columnDelimiter, 'COMMA');
  assert.equal(info.contentUrl, `services/data/v62.0/jobs/ingest/${info.id}/batches`);
  assert.match(String(info.createdDate), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/);
  org.close();
});

test('create validation: unknown object, bad operation, upsert without external ID, bad delimiter', async () => {
  const org = await bulkOrg();
  const bad = async (spec: Record<string, unknown>) => {
    const res = await org.api('/jobs/ingest', { method: 'POST', json: spec });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { errorCode: string; message: string; fields?: unknown }[];
    assert.equal(body.length, 1);
    assert.equal('fields' in body[0], false);
    return body[0];
  };
  assert.equal((await bad({ object: 'Nope__c', operation: 'insert' })).message, "sObject type 'Nope__c' is not supported.");
  assert.match((await bad({ object: 'Account', operation: 'merge' })).message, /Invalid operation/);
  assert.match((await bad({ object: 'Contact', operation: 'upsert' })).message, /External ID was blank for Contact/);
  assert.match((await bad({ object: 'Contact', operation: 'upsert', externalIdFieldName: 'FirstName' })).message, /not an External ID/);
  assert.match((await bad({ object: 'Account', operation: 'insert', columnDelimiter: 'COLON' })).message, /column delimiter/);
  assert.match((await bad({ object: 'Account', operation: 'insert', lineEnding: 'CR' })).message, /line ending/);
  org.close();
});

test('insert: job info counters, successfulResults and failedResults with exact sf__ columns', async () => {
  const org = await bulkOrg();
  const info = await runJob(org, { object: 'Contact', operation: 'insert' }, 'LastName,Legacy_Key__c\nOkafor,L-1\n,L-3\nWaddams,L-2\n');
  assert.equal(info.state, 'JobComplete');
  assert.deepEqual(Object.keys(info), ['id', 'operation', 'object', 'createdById', 'createdDate', 'systemModstamp', 'state', 'concurrencyMode', 'contentType', 'apiVersion', 'jobType', 'lineEnding', 'columnDelimiter', 'numberRecordsProcessed', 'numberRecordsFailed', 'retries', 'totalProcessingTime', 'apiActiveProcessingTime', 'apexProcessingTime']);
  assert.equal(info.jobType, 'V2Ingest');
  assert.equal(info.numberRecordsProcessed, 3);
  assert.equal(info.numberRecordsFailed, 1);
  assert.equal(info.retries, 0);

  const ok = (await results(org, info.id, 'successfulResults')).split('\n');
  assert.equal(ok[0], '"sf__Id","sf__Created",LastName,Legacy_Key__c');
  assert.match(ok[1], /^"003[A-Za-z0-9]{15}","true",Okafor,L-1$/);
  assert.match(ok[2], /^"003[A-Za-z0-9]{15}","true",Waddams,L-2$/);
  assert.equal(ok[3], '');
  const failed = await results(org, info.id, 'failedResults');
  assert.equal(failed, '"sf__Id","sf__Error",LastName,Legacy_Key__c\n"","REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --",,L-3\n');
  assert.equal(await results(org, info.id, 'unprocessedrecords'), 'LastName,Legacy_Key__c\n');

  const id = /^"([^"]+)"/.exec(ok[1])![1];
  const rec = await getRecord(org, 'Contact', id, 'LastName,Legacy_Key__c,OwnerId');
  assert.equal(rec.LastName, 'Okafor');
  assert.equal(rec.OwnerId, info.createdById);
  org.close();
});

test('update: empty cell leaves the field unchanged, #N/A sets null, missing Id fails the row', async () => {
  const org = await bulkOrg();
  const created = (await (await org.api('/sobjects/Contact', { method: 'POST', json: { LastName: 'Ito', FirstName: 'Ada', Title: 'CTO', Phone: '555' } })).json()) as { id: string };
  const info = await runJob(org, { object: 'Contact', operation: 'update' }, `Id,FirstName,Title,Phone\n${created.id},,#N/A,556\n,X,,\n`);
  assert.equal(info.numberRecordsProcessed, 2);
  assert.equal(info.numberRecordsFailed, 1);
  const rec = await getRecord(org, 'Contact', created.id, 'FirstName,Title,Phone');
  assert.equal(rec.FirstName, 'Ada');
  assert.equal(rec.Title, null);
  assert.equal(rec.Phone, '556');
  const ok = await results(org, info.id, 'successfulResults');
  assert.equal(ok, `"sf__Id","sf__Created",Id,FirstName,Title,Phone\n"${created.id}","false",${created.id},,#N/A,556\n`);
  const failed = await results(org, info.id, 'failedResults');
  assert.equal(failed, '"sf__Id","sf__Error",Id,FirstName,Title,Phone\n"","MISSING_ARGUMENT:Id not specified in an update call:--",,X,,\n');
  org.close();
});

test('upsert by external ID: sf__Created true for inserts, false for updates; relationship column resolves the parent', async () => {
  const org = await bulkOrg();
  const acct = (await (await org.api('/sobjects/Account', { method: 'POST', json: { Name: 'Globex', External_Id__c: 'A-1' } })).json()) as { id: string };
  await org.api('/sobjects/Contact', { method: 'POST', json: { LastName: 'Old', Legacy_Key__c: 'L-2' } });
  const info = await runJob(org, { object: 'Contact', operation: 'upsert', externalIdFieldName: 'Legacy_Key__c' }, 'LASTNAME,legacy_key__c,Account.External_Id__c\nOkafor,L-1,A-1\nWaddams,L-2,\nNobody,L-4,A-404\n');
  assert.equal(info.numberRecordsProcessed, 3);
  assert.equal(info.numberRecordsFailed, 1);
  const ok = (await results(org, info.id, 'successfulResults')).trimEnd().split('\n');
  assert.equal(ok[0], '"sf__Id","sf__Created",LASTNAME,legacy_key__c,Account.External_Id__c');
  assert.match(ok[1], /","true",Okafor,L-1,A-1$/);
  assert.match(ok[2], /","false",Waddams,L-2,$/);
  const newId = /^"([^"]+)"/.exec(ok[1])![1];
  assert.equal((await getRecord(org, 'Contact', newId, 'AccountId')).AccountId, acct.id);
  const failed = (await results(org, info.id, 'failedResults')).trimEnd().split('\n');
  assert.equal(failed[1], '"","INVALID_FIELD:Foreign key external ID: A-404 not found for field External_Id__c in entity Account:AccountId --",Nobody,L-4,A-404');
  org.close();
});

test('delete soft-deletes into the recycle bin; hardDelete purges and logs the purge', async () => {
  const org = await bulkOrg();
  const ids: string[] = [];
  for (const n of ['a', 'b', 'c']) ids.push(((await (await org.api('/sobjects/Account', { method: 'POST', json: { Name: n } })).json()) as { id: string }).id);
  const del = await runJob(org, { object: 'Account', operation: 'delete' }, `Id\n${ids[0]}\n001000000000000AAA\n`);
  assert.equal(del.numberRecordsProcessed, 2);
  assert.equal(del.numberRecordsFailed, 1);
  assert.equal((await org.api(`/sobjects/Account/${ids[0]}`)).status, 404);
  assert.equal(org.emu.org.store.db.prepare('SELECT IsDeleted FROM Account WHERE Id = ?').get(ids[0])?.IsDeleted, 1);
  assert.match(await results(org, del.id, 'successfulResults'), new RegExp(`^"sf__Id","sf__Created",Id\n"${ids[0]}","false",${ids[0]}\n$`));
  assert.match(await results(org, del.id, 'failedResults'), /"001000000000000AAA","INVALID_CROSS_REFERENCE_KEY:invalid cross reference id:--",001000000000000AAA/);

  const hard = await runJob(org, { object: 'Account', operation: 'hardDelete' }, `Id\n${ids[0]}\n${ids[1]}\n`);
  assert.equal(hard.numberRecordsProcessed, 2);
  assert.equal(hard.numberRecordsFailed, 0);
  assert.equal(org.emu.org.store.db.prepare('SELECT COUNT(*) AS n FROM Account WHERE Id IN (?, ?)').get(ids[0], ids[1])?.n, 0);
  const log = org.emu.org.store.db.prepare('SELECT id, purged FROM _deleted_log WHERE object = ? ORDER BY id').all('Account');
  assert.deepEqual(log.map((r) => [r.id, r.purged]), [[ids[0], 1], [ids[1], 1]]);
  org.close();
});

test('CSV edge cases: quoted newlines, escaped quotes, embedded delimiters, CRLF, BOM, booleans 1/0', async () => {
  const org = await bulkOrg();
  const csv = '\uFEFFName,Description,Phone\r\n"Acme, Inc.","line one\r\nline ""two""",1\r\nPlain,,\r\n';
  const info = await runJob(org, { object: 'Account', operation: 'insert', lineEnding: 'CRLF' }, csv);
  assert.equal(info.state, 'JobComplete');
  assert.equal(info.numberRecordsFailed, 0);
  const ok = await results(org, info.id, 'successfulResults');
  const lines = ok.split('\r\n');
  assert.equal(lines[0], '"sf__Id","sf__Created",Name,Description,Phone');
  assert.match(ok, /"true","Acme, Inc\.","line one\r\nline ""two""",1\r\n/);
  const id = /^"([^"]+)"/.exec(lines[1])![1];
  const rec = await getRecord(org, 'Account', id, 'Name,Description');
  assert.equal(rec.Name, 'Acme, Inc.');
  assert.equal(rec.Description, 'line one\r\nline "two"');

  const contact = await runJob(org, { object: 'Contact', operation: 'insert' }, 'LastName,DoNotCall,Birthdate\nA,1,1940-06-07Z\nB,false,\n');
  assert.equal(contact.numberRecordsFailed, 0);
  const cid = /^"([^"]+)"/.exec((await results(org, contact.id, 'successfulResults')).split('\n')[1])![1];
  const c = await getRecord(org, 'Contact', cid, 'DoNotCall,Birthdate');
  assert.equal(c.DoNotCall, true);
  assert.equal(c.Birthdate, '1940-06-07');
  org.close();
});

test('TAB, PIPE and SEMICOLON delimiters are used for parsing and for the result files', async () => {
  const org = await bulkOrg();
  for (const [name, ch] of [['TAB', '\t'], ['PIPE', '|'], ['SEMICOLON', ';']] as const) {
    const info = await runJob(org, { object: 'Account', operation: 'insert', columnDelimiter: name }, `Name${ch}Site\nA, B${ch}"x${ch}y"\n`);
    assert.equal(info.columnDelimiter, name);
    assert.equal(info.numberRecordsFailed, 0, name);
    const ok = (await results(org, info.id, 'successfulResults')).split('\n');
    assert.equal(ok[0], `"sf__Id"${ch}"sf__Created"${ch}Name${ch}Site`);
    assert.match(ok[1], new RegExp(`"true"\\${ch}A, B\\${ch}"x\\${ch}y"$`));
  }
  org.close();
});

test('line ending mismatch and unknown columns fail the job with errorMessage; rows stay unprocessed', async () => {
  const org = await bulkOrg();
  const crlf = await runJob(org, { object: 'Account', operation: 'insert', lineEnding: 'LF' }, 'Name\r\nA\r\n');
  assert.equal(crlf.state, 'Failed');
  assert.equal(crlf.errorMessage, 'ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is LF');
  assert.equal(await results(org, crlf.id, 'unprocessedrecords'), 'Name\nA\n');

  const unknown = await runJob(org, { object: 'Account', operation: 'insert' }, 'Name,Foo__c\nA,1\n');
  assert.equal(unknown.state, 'Failed');
  assert.equal(unknown.errorMessage, 'InvalidBatch : Field name not found : Foo__c');
  assert.equal(unknown.numberRecordsProcessed, 0);
  org.close();
});

test('state machine: one upload per job, no upload after close, delete only in final states, 404 after delete', async () => {
  const org = await bulkOrg();
  const job = await createJob(org, { object: 'Account', operation: 'insert' });
  const wrongType = await org.api(`/jobs/ingest/${job.id}/batches`, { method: 'PUT', body: 'Name\nA\n', headers: { 'content-type': 'application/json' } });
  assert.equal(wrongType.status, 415);
  const delOpen = await org.api(`/jobs/ingest/${job.id}`, { method: 'DELETE' });
  assert.equal(delOpen.status, 409);
  assert.equal(((await delOpen.json()) as { errorCode: string }[])[0].errorCode, 'INVALIDJOBSTATE');
  const up = await upload(org, job.id, 'Name\nA\n');
  assert.equal(up.status, 201);
  assert.equal(await up.text(), '');
  const second = await upload(org, job.id, 'Name\nB\n');
  assert.equal(second.status, 400);
  const closed = await setState(org, 'ingest', job.id, 'UploadComplete');
  assert.equal(((await closed.json()) as { state: string }).state, 'UploadComplete');
  const late = await upload(org, job.id, 'Name\nC\n');
  assert.equal(late.status, 409);
  assert.deepEqual(Object.keys(((await late.json()) as object[])[0]), ['message', 'errorCode']);
  const again = await setState(org, 'ingest', job.id, 'UploadComplete');
  assert.equal(again.status, 409);
  let info = await jobInfo(org, 'ingest', job.id);
  for (let i = 0; i < 1000 && info.state !== 'JobComplete'; i++) {
    await new Promise((r) => setTimeout(r, 5));
    info = await jobInfo(org, 'ingest', job.id);
  }
  assert.equal((await setState(org, 'ingest', job.id, 'Aborted')).status, 409);
  const del = await org.api(`/jobs/ingest/${job.id}`, { method: 'DELETE' });
  assert.equal(del.status, 204);
  const gone = await org.api(`/jobs/ingest/${job.id}`);
  assert.equal(gone.status, 404);
  assert.equal(((await gone.json()) as { errorCode: string }[])[0].errorCode, 'NOT_FOUND');
  assert.equal((await org.api('/jobs/ingest/750000000000000AAA')).status, 404);
  org.close();
});

test('an upload over the configured size limit is rejected and the job stays Open', async () => {
  const org = await bulkOrg();
  const { bulkEngine } = await import('../../src/emulator/bulk/engine.ts');
  bulkEngine(org.emu.org).settings.maxUploadBytes = 1000;
  const job = await createJob(org, { object: 'Account', operation: 'insert' });
  const res = await upload(org, job.id, `Name\n${'x,\n'.repeat(400)}`);
  assert.equal(res.status, 413);
  assert.equal(((await res.json()) as { errorCode: string }[])[0].errorCode, 'REQUEST_ENTITY_TOO_LARGE');
  assert.equal((await jobInfo(org, 'ingest', job.id)).state, 'Open');
  assert.equal((await upload(org, job.id, 'Name\nsmall\n')).status, 201);
  org.close();
});

test('job list shape and filters', async () => {
  const org = await bulkOrg();
  const a = await createJob(org, { object: 'Account', operation: 'insert' });
  const b = await createJob(org, { object: 'Contact', operation: 'delete' });
  const res = await org.api('/jobs/ingest');
  const text = await res.text();
  assert.match(text, /"apiVersion":62\.0,"jobType":"V2Ingest"/);
  const list = JSON.parse(text) as { done: boolean; records: Record<string, unknown>[]; nextRecordsUrl: unknown };
  assert.equal(list.done, true);
  assert.equal(list.nextRecordsUrl, null);
  assert.deepEqual(list.records.map((r) => r.id), [a.id, b.id]);
  assert.deepEqual(Object.keys(list.records[0]), ['id', 'operation', 'object', 'createdById', 'createdDate', 'systemModstamp', 'state', 'concurrencyMode', 'contentType', 'apiVersion', 'jobType', 'lineEnding', 'columnDelimiter']);
  const classic = (await (await org.api('/jobs/ingest?jobType=Classic')).json()) as { records: unknown[] };
  assert.equal(classic.records.length, 0);
  org.close();
});

test('ingest counts one DailyBulkApiBatches per 10,000 records', async () => {
  const org = await bulkOrg();
  const before = org.emu.org.limitUsage('DailyBulkApiBatches');
  const rows = Array.from({ length: 10_001 }, (_, i) => `N${i}`).join('\n');
  const info = await runJob(org, { object: 'Account', operation: 'insert' }, `Name\n${rows}\n`);
  assert.equal(info.numberRecordsProcessed, 10_001);
  assert.equal(org.emu.org.limitUsage('DailyBulkApiBatches') - before, 2);
  org.close();
});

test('multipart create uploads and closes in one call', async () => {
  const org = await bulkOrg();
  const form = new FormData();
  form.set('job', JSON.stringify({ object: 'Account', operation: 'insert', contentType: 'CSV', lineEnding: 'LF' }));
  form.set('content', new Blob(['Name\nMulti One\nMulti Two\n'], { type: 'text/csv' }), 'content');
  const res = await org.api('/jobs/ingest', { method: 'POST', body: form });
  assert.equal(res.status, 200);
  const job = (await res.json()) as { id: string; state: string };
  assert.equal(job.state, 'UploadComplete');
  const { waitFinal } = await import('./bulk-helpers.ts');
  const info = await waitFinal(org, 'ingest', job.id);
  assert.equal(info.state, 'JobComplete');
  assert.equal(info.numberRecordsProcessed, 2);
  org.close();
});

/** Bulk API 1.0: jobs, batches in CSV, XML and JSON, results, query result lists, PK chunking, errors. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bulkEngine } from '../../src/emulator/bulk/engine.ts';
import { testOrg, type TestOrg } from '../helpers/emulator.ts';

const A = '/services/async/62.0';
const NS = 'xmlns="http://www.force.com/2009/06/asyncapi/dataload"';

function call(org: TestOrg, path: string, init: { method?: string; type?: string; body?: string; headers?: Record<string, string> } = {}) {
  return org.emu.request(`${A}${path}`, {
    method: init.method ?? 'GET',
    headers: { 'x-sfdc-session': org.token, ...(init.type ? { 'content-type': init.type } : {}), ...init.headers },
    body: init.body,
  });
}
const tag = (xml: string, name: string) => [...xml.matchAll(new RegExp(`<${name}>([^<]*)</${name}>`, 'g'))].map((m) => m[1]);
const jobXml = (op: string, object: string, ct: string, extra = '') => `<?xml version="1.0" encoding="UTF-8"?><jobInfo ${NS}><operation>${op}</operation><object>${object}</object>${extra}<contentType>${ct}</contentType></jobInfo>`;
const close = (id: string, org: TestOrg) => call(org, `/job/${id}`, { method: 'POST', type: 'application/xml; charset=UTF-8', body: `<?xml version="1.0" encoding="UTF-8"?><jobInfo ${NS}><state>Closed</state></jobInfo>` });

test('CSV insert job: create (XML), add a batch, close, batch Completed, results CSV with Id/Success/Created/Error', async () => {
  const org = await testOrg();
  const created = await call(org, '/job', { method: 'POST', type: 'application/xml; charset=UTF-8', body: jobXml('insert', 'Account', 'CSV') });
  assert.equal(created.status, 201);
  assert.equal(created.headers.get('content-type'), 'application/xml');
  const xml = await created.text();
  assert.ok(xml.includes(`<jobInfo\n   ${NS}>`));
  const [jobId] = tag(xml, 'id');
  assert.match(jobId, /^750/);
  assert.deepEqual([tag(xml, 'operation'), tag(xml, 'object'), tag(xml, 'state'), tag(xml, 'concurrencyMode'), tag(xml, 'contentType'), tag(xml, 'apiVersion'), tag(xml, 'numberBatchesTotal')], [['insert'], ['Account'], ['Open'], ['Parallel'], ['CSV'], ['62.0'], ['0']]);

  const batch = await call(org, `/job/${jobId}/batch`, { method: 'POST', type: 'text/csv', body: 'Name,Industry\nAcme,Banking\n,Energy\n"Globex, Inc",\n' });
  assert.equal(batch.status, 201);
  const bxml = await batch.text();
  const [batchId] = tag(bxml, 'id');
  assert.match(batchId, /^751/);
  assert.deepEqual([tag(bxml, 'jobId'), tag(bxml, 'state')], [[jobId], ['Queued']]);
  await close(jobId, org);
  await bulkEngine(org.emu.org).idle();

  const info = await (await call(org, `/job/${jobId}/batch/${batchId}`)).text();
  assert.deepEqual([tag(info, 'state'), tag(info, 'numberRecordsProcessed'), tag(info, 'numberRecordsFailed')], [['Completed'], ['3'], ['1']]);
  const job = await (await call(org, `/job/${jobId}`)).text();
  assert.deepEqual([tag(job, 'state'), tag(job, 'numberBatchesCompleted'), tag(job, 'numberRecordsProcessed'), tag(job, 'numberRecordsFailed')], [['Closed'], ['1'], ['3'], ['1']]);

  const result = await call(org, `/job/${jobId}/batch/${batchId}/result`);
  assert.equal(result.headers.get('content-type'), 'text/csv');
  const lines = (await result.text()).trim().split('\n');
  assert.equal(lines[0], '"Id","Success","Created","Error"');
  assert.match(lines[1], /^"001\w{15}","true","true",""$/);
  assert.equal(lines[2], '"","false","false","REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --"');
  assert.match(lines[3], /^"001\w{15}","true","true",""$/);
  const request = await call(org, `/job/${jobId}/batch/${batchId}/request`);
  assert.equal(await request.text(), 'Name,Industry\nAcme,Banking\n,Energy\n"Globex, Inc",\n');
  const list = await (await call(org, `/job/${jobId}/batch`)).text();
  assert.ok(list.startsWith(`<?xml version="1.0" encoding="UTF-8"?><batchInfoList\n   ${NS}>`));
  assert.deepEqual(tag(list, 'id'), [batchId]);
  // Engine jobs that run 1.0 batches are not Bulk 2.0 jobs of the client.
  const v2 = (await (await org.api('/jobs/ingest')).json()) as { records: unknown[] };
  assert.deepEqual(v2.records, []);
  org.close();
});

test('JSON job: upsert by external id, JSON batch with nulls, JSON results and job info', async () => {
  const org = await testOrg();
  const res = await call(org, '/job', { method: 'POST', type: 'application/json', body: JSON.stringify({ operation: 'upsert', object: 'User', externalIdFieldName: 'Username', contentType: 'JSON' }) });
  assert.equal(res.status, 201);
  const info = (await res.json()) as Record<string, unknown>;
  assert.deepEqual(Object.keys(info), ['apexProcessingTime', 'apiActiveProcessingTime', 'apiVersion', 'concurrencyMode', 'contentType', 'createdById', 'createdDate', 'externalIdFieldName', 'id', 'numberBatchesCompleted', 'numberBatchesFailed', 'numberBatchesInProgress', 'numberBatchesQueued', 'numberBatchesTotal', 'numberRecordsFailed', 'numberRecordsProcessed', 'numberRetries', 'object', 'operation', 'state', 'systemModstamp', 'totalProcessingTime']);
  assert.equal(info.apiVersion, 62);
  assert.match(String(info.createdDate), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/);
  const jobId = String(info.id);
  const batch = await call(org, `/job/${jobId}/batch`, { method: 'POST', type: 'application/json', body: JSON.stringify([{ Username: 'admin@emulator.sfbridge.dev', Title: 'Boss', Department: null }, { Username: 'nobody@example.com', LastName: 'Nobody' }]) });
  assert.equal(batch.status, 201);
  const b = (await batch.json()) as { id: string; state: string };
  assert.equal(b.state, 'Queued');
  await bulkEngine(org.emu.org).idle();
  const results = (await (await call(org, `/job/${jobId}/batch/${b.id}/result`)).json()) as unknown[];
  assert.deepEqual(results, [
    { success: true, created: false, id: org.emu.org.adminUserId, errors: [] },
    { success: false, created: false, id: null, errors: [{ fields: ['Email', 'Alias', 'TimeZoneSidKey', 'LocaleSidKey', 'EmailEncodingKey', 'ProfileId', 'LanguageLocaleKey'], message: 'Required fields are missing: [Email, Alias, TimeZoneSidKey, LocaleSidKey, EmailEncodingKey, ProfileId, LanguageLocaleKey]', statusCode: 'REQUIRED_FIELD_MISSING' }] },
  ]);
  const me = (await (await org.api(`/sobjects/User/${org.emu.org.adminUserId}?fields=Title,Department`)).json()) as Record<string, unknown>;
  assert.deepEqual([me.Title, me.Department], ['Boss', null]);
  org.close();
});

test('XML batch of sObjects with xsi:nil and a parent reference; XML results', async () => {
  const org = await testOrg();
  const acct = (await (await org.api('/sobjects/Account', { method: 'POST', json: { Name: 'Parent Co' } })).json()) as { id: string };
  const job = await (await call(org, '/job', { method: 'POST', type: 'application/xml', body: jobXml('insert', 'Contact', 'XML') })).text();
  const [jobId] = tag(job, 'id');
  const body = `<?xml version="1.0" encoding="UTF-8"?><sObjects ${NS} xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><sObject><LastName>Doe</LastName><AccountId>${acct.id}</AccountId><Email xsi:nil="true"/></sObject><sObject><FirstName>No</FirstName></sObject></sObjects>`;
  const b = await (await call(org, `/job/${jobId}/batch`, { method: 'POST', type: 'application/xml', body })).text();
  await bulkEngine(org.emu.org).idle();
  const out = await (await call(org, `/job/${jobId}/batch/${tag(b, 'id')[0]}/result`)).text();
  assert.ok(out.startsWith(`<?xml version="1.0" encoding="UTF-8"?><results\n   ${NS}>`));
  assert.equal(tag(out, 'success').join(','), 'true,false');
  assert.equal(tag(out, 'statusCode')[0], 'REQUIRED_FIELD_MISSING');
  const [contactId] = tag(out, 'id');
  const c = (await (await org.api(`/sobjects/Contact/${contactId}?fields=LastName,AccountId`)).json()) as Record<string, unknown>;
  assert.deepEqual([c.LastName, c.AccountId], ['Doe', acct.id]);
  org.close();
});

test('query job: result list, CSV and JSON results (typed, datetimes as epoch ms); PK chunking splits by Id', async () => {
  const org = await testOrg();
  for (const n of ['A', 'B', 'C', 'D', 'E']) await org.api('/sobjects/Account', { method: 'POST', json: { Name: n, NumberOfEmployees: 7 } });
  const job = await (await call(org, '/job', { method: 'POST', type: 'application/xml', body: jobXml('query', 'Account', 'CSV') })).text();
  const [jobId] = tag(job, 'id');
  const b = await (await call(org, `/job/${jobId}/batch`, { method: 'POST', type: 'text/csv', body: "SELECT Id, Name FROM Account WHERE Name != 'E' ORDER BY Name" })).text();
  const [batchId] = tag(b, 'id');
  await bulkEngine(org.emu.org).idle();
  const list = await (await call(org, `/job/${jobId}/batch/${batchId}/result`)).text();
  const [resultId] = tag(list, 'result');
  assert.match(resultId, /^752/);
  const csv = await (await call(org, `/job/${jobId}/batch/${batchId}/result/${resultId}`)).text();
  assert.deepEqual(csv.trim().split('\n').map((l) => l.replace(/"001\w{15}"/, 'ID')), ['"Id","Name"', 'ID,"A"', 'ID,"B"', 'ID,"C"', 'ID,"D"']);

  const jj = (await (await call(org, '/job', { method: 'POST', type: 'application/json', body: JSON.stringify({ operation: 'query', object: 'Account', contentType: 'JSON' }) })).json()) as { id: string };
  const jb = (await (await call(org, `/job/${jj.id}/batch`, { method: 'POST', type: 'application/json', body: "SELECT Id, Name, NumberOfEmployees, CreatedDate FROM Account WHERE Name = 'A'" })).json()) as { id: string };
  await bulkEngine(org.emu.org).idle();
  const [rid] = (await (await call(org, `/job/${jj.id}/batch/${jb.id}/result`)).json()) as string[];
  const recs = (await (await call(org, `/job/${jj.id}/batch/${jb.id}/result/${rid}`)).json()) as Record<string, unknown>[];
  assert.equal(recs.length, 1);
  assert.deepEqual([recs[0].Name, recs[0].NumberOfEmployees, typeof recs[0].CreatedDate], ['A', 7, 'number']);
  assert.deepEqual(recs[0].attributes, { type: 'Account', url: `/services/data/v62.0/sobjects/Account/${recs[0].Id}` });

  const pk = await (await call(org, '/job', { method: 'POST', type: 'application/xml', body: jobXml('query', 'Account', 'CSV'), headers: { 'Sforce-Enable-PKChunking': 'chunkSize=2' } })).text();
  const [pkJob] = tag(pk, 'id');
  const orig = await (await call(org, `/job/${pkJob}/batch`, { method: 'POST', type: 'text/csv', body: "SELECT Name FROM Account WHERE Name != 'C' OR Name = 'C'" })).text();
  assert.deepEqual(tag(orig, 'state'), ['NotProcessed']);
  await bulkEngine(org.emu.org).idle();
  const batches = await (await call(org, `/job/${pkJob}/batch`)).text();
  const ids = tag(batches, 'id');
  assert.deepEqual(tag(batches, 'state'), ['NotProcessed', 'Completed', 'Completed', 'Completed']);
  const names: string[] = [];
  for (const id of ids.slice(1)) {
    const r = tag(await (await call(org, `/job/${pkJob}/batch/${id}/result`)).text(), 'result')[0];
    names.push(...(await (await call(org, `/job/${pkJob}/batch/${id}/result/${r}`)).text()).trim().split('\n').slice(1));
    assert.match(await (await call(org, `/job/${pkJob}/batch/${id}/request`)).text(), /^SELECT Name FROM Account WHERE \(Name != 'C' OR Name = 'C'\) AND Id >= '001\w{15}'( AND Id < '001\w{15}')?$/);
  }
  assert.deepEqual(names.sort(), ['"A"', '"B"', '"C"', '"D"', '"E"']);
  org.close();
});

test('errors: InvalidSessionId, unknown job, unknown object, batch on a closed job, bad query batch', async () => {
  const org = await testOrg();
  const bad = await org.emu.request(`${A}/job`, { method: 'POST', headers: { 'x-sfdc-session': 'nope', 'content-type': 'application/xml' }, body: jobXml('insert', 'Account', 'CSV') });
  assert.equal(bad.status, 400);
  assert.equal(await bad.text(), `<?xml version="1.0" encoding="UTF-8"?><error\n   ${NS}>\n <exceptionCode>InvalidSessionId</exceptionCode>\n <exceptionMessage>Invalid session id</exceptionMessage>\n</error>`);
  const unknown = await call(org, '/job/750000000000000AAA');
  assert.deepEqual([unknown.status, tag(await unknown.text(), 'exceptionCode')], [400, ['InvalidJob']]);
  const obj = await call(org, '/job', { method: 'POST', type: 'application/json', body: JSON.stringify({ operation: 'insert', object: 'Nope__c', contentType: 'CSV' }) });
  assert.deepEqual([obj.status, await obj.json()], [400, { exceptionCode: 'InvalidJob', exceptionMessage: 'Unable to find object: Nope__c' }]);
  const [jobId] = tag(await (await call(org, '/job', { method: 'POST', type: 'application/xml', body: jobXml('query', 'Account', 'CSV') })).text(), 'id');
  const q = await (await call(org, `/job/${jobId}/batch`, { method: 'POST', type: 'text/csv', body: 'SELECT Nope FROM Account' })).text();
  assert.deepEqual(tag(q, 'state'), ['Failed']);
  assert.match(tag(q, 'stateMessage')[0], /^InvalidBatch : Failed to process query: INVALID_FIELD: \nSELECT Nope FROM Account\n {7}\^\nERROR at Row:1:Column:8\nNo such column 'Nope' on entity 'Account'/);
  await close(jobId, org);
  const late = await call(org, `/job/${jobId}/batch`, { method: 'POST', type: 'text/csv', body: 'SELECT Id FROM Account' });
  assert.deepEqual([late.status, tag(await late.text(), 'exceptionCode')], [400, ['InvalidJobState']]);
  org.close();
});

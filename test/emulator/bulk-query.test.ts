import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bulkEngine } from '../../src/emulator/bulk/engine.ts';
import type { TestOrg } from '../helpers/emulator.ts';
import { bulkOrg, runJob, waitFinal, type JobInfo } from './bulk-helpers.ts';

async function createQuery(org: TestOrg, spec: Record<string, unknown>): Promise<Response> {
  return org.api('/jobs/query', { method: 'POST', json: spec });
}

async function completedQuery(org: TestOrg, query: string, extra: Record<string, unknown> = {}): Promise<JobInfo> {
  const res = await createQuery(org, { operation: 'query', query, ...extra });
  assert.equal(res.status, 200, await res.clone().text());
  const job = (await res.json()) as JobInfo;
  return waitFinal(org, 'query', job.id);
}

async function seedAccounts(org: TestOrg, n: number): Promise<void> {
  const rows = Array.from({ length: n }, (_, i) => `Acct ${String(i).padStart(5, '0')},${i % 2 === 0 ? 'Banking' : ''}`).join('\n');
  const info = await runJob(org, { object: 'Account', operation: 'insert' }, `Name,Industry\n${rows}\n`);
  assert.equal(info.numberRecordsFailed, 0);
}

test('query job: create shape, JobComplete with numberRecordsProcessed, GET info shape', async () => {
  const org = await bulkOrg();
  await seedAccounts(org, 3);
  const res = await createQuery(org, { operation: 'query', query: 'SELECT Id, Name FROM Account' });
  assert.equal(res.status, 200);
  const text = await res.text();
  assert.match(text, /"apiVersion":62\.0,/);
  const created = JSON.parse(text) as JobInfo;
  assert.deepEqual(Object.keys(created), ['id', 'operation', 'object', 'createdById', 'createdDate', 'systemModstamp', 'state', 'concurrencyMode', 'contentType', 'apiVersion', 'lineEnding', 'columnDelimiter']);
  assert.equal(created.state, 'UploadComplete');
  assert.equal(created.object, 'Account');
  const info = await waitFinal(org, 'query', created.id);
  assert.equal(info.state, 'JobComplete');
  assert.deepEqual(Object.keys(info), ['id', 'operation', 'object', 'createdById', 'createdDate', 'systemModstamp', 'state', 'concurrencyMode', 'contentType', 'apiVersion', 'jobType', 'lineEnding', 'columnDelimiter', 'numberRecordsProcessed', 'retries', 'totalProcessingTime', 'isPkChunkingSupported']);
  assert.equal(info.jobType, 'V2Query');
  assert.equal(info.numberRecordsProcessed, 3);
  assert.equal(info.isPkChunkingSupported, true);
  org.close();
});

test('invalid and Bulk-unsupported SOQL is rejected at create with 400', async () => {
  const org = await bulkOrg();
  const reject = async (query: string) => {
    const res = await createQuery(org, { operation: 'query', query });
    assert.equal(res.status, 400, query);
    const body = (await res.json()) as { errorCode: string; message: string }[];
    return body[0];
  };
  assert.equal((await reject('SELEKT Id FROM Account')).errorCode, 'MALFORMED_QUERY');
  assert.equal((await reject('SELECT Nope__c FROM Account')).errorCode, 'INVALID_FIELD');
  assert.equal((await reject('SELECT Id FROM Nope__c')).errorCode, 'INVALID_TYPE');
  assert.match((await reject('SELECT COUNT() FROM Account')).message, /Aggregate/);
  assert.match((await reject('SELECT Industry, COUNT(Id) FROM Account GROUP BY Industry')).message, /GROUP BY|Aggregate/);
  assert.match((await reject('SELECT Id, (SELECT Id FROM Contacts) FROM Account')).message, /Aggregate Relationships/);
  assert.match((await reject('SELECT Id FROM Account LIMIT 5 OFFSET 2')).message, /OFFSET/);
  assert.match((await reject('SELECT Id, BillingAddress FROM Account')).message, /BillingAddress/);
  const badOp = await createQuery(org, { operation: 'select', query: 'SELECT Id FROM Account' });
  assert.equal(badOp.status, 400);
  // A keyword inside a string literal is data, not syntax.
  const fine = await createQuery(org, { operation: 'query', query: "SELECT Id FROM Account WHERE Name = 'group by x'" });
  assert.equal(fine.status, 200);
  org.close();
});

test('results paging: header on every page, Sforce-NumberOfRecords, locator null at the end, stable locators', async () => {
  const org = await bulkOrg();
  await seedAccounts(org, 25);
  const info = await completedQuery(org, 'SELECT Id, Name, Industry FROM Account ORDER BY Name');
  assert.equal(info.numberRecordsProcessed, 25);
  const pages: string[][] = [];
  const locators: string[] = [];
  let locator: string | null = null;
  for (let i = 0; i < 10; i++) {
    const res: Response = await org.api(`/jobs/query/${info.id}/results?maxRecords=10${locator ? `&locator=${locator}` : ''}`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/csv/);
    const lines = (await res.text()).split('\n');
    assert.equal(lines.pop(), '');
    assert.equal(lines[0], '"Id","Name","Industry"');
    assert.equal(Number(res.headers.get('sforce-numberofrecords')), lines.length - 1);
    pages.push(lines.slice(1));
    locator = res.headers.get('sforce-locator');
    assert.ok(locator);
    if (locator === 'null') break;
    locators.push(locator);
  }
  assert.deepEqual(pages.map((p) => p.length), [10, 10, 5]);
  assert.equal(locators[0], 'MTA');
  const all = pages.flat();
  assert.match(all[0], /^"001[A-Za-z0-9]{15}","Acct 00000","Banking"$/);
  assert.match(all[1], /^"001[A-Za-z0-9]{15}","Acct 00001",""$/);
  assert.match(all[24], /"Acct 00024"/);
  // A locator can be fetched again, in any order, and returns the same page.
  const again = await (await org.api(`/jobs/query/${info.id}/results?maxRecords=10&locator=${locators[0]}`)).text();
  assert.deepEqual(again.split('\n').slice(1, -1), pages[1]);
  // Without maxRecords the whole (small) result is one page.
  const whole = await org.api(`/jobs/query/${info.id}/results`);
  assert.equal(whole.headers.get('sforce-locator'), 'null');
  assert.equal(whole.headers.get('sforce-numberofrecords'), '25');
  org.close();
});

test('results are a snapshot: later writes do not change a completed job', async () => {
  const org = await bulkOrg();
  await seedAccounts(org, 2);
  const info = await completedQuery(org, 'SELECT Name FROM Account');
  await org.api('/sobjects/Account', { method: 'POST', json: { Name: 'Later' } });
  const text = await (await org.api(`/jobs/query/${info.id}/results`)).text();
  assert.equal(text.trimEnd().split('\n').length, 3);
  assert.doesNotMatch(text, /Later/);
  org.close();
});

test('CSV format: parent columns dotted, null parent empty, Bulk dateTime form, booleans, delimiter and CRLF', async () => {
  const org = await bulkOrg();
  const acct = (await (await org.api('/sobjects/Account', { method: 'POST', json: { Name: 'Globex "Ltd"' } })).json()) as { id: string };
  await org.api('/sobjects/Contact', { method: 'POST', json: { LastName: 'With', AccountId: acct.id, DoNotCall: true } });
  await org.api('/sobjects/Contact', { method: 'POST', json: { LastName: 'Without' } });
  const info = await completedQuery(org, 'SELECT LastName, Account.Name, DoNotCall, CreatedDate FROM Contact ORDER BY LastName', { columnDelimiter: 'PIPE', lineEnding: 'CRLF' });
  const text = await (await org.api(`/jobs/query/${info.id}/results`)).text();
  const lines = text.split('\r\n');
  assert.equal(lines[0], '"LastName"|"Account.Name"|"DoNotCall"|"CreatedDate"');
  assert.match(lines[1], /^"With"\|"Globex ""Ltd"""\|"true"\|"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"$/);
  assert.match(lines[2], /^"Without"\|""\|"false"\|"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"$/);
  assert.equal(lines[3], '');
  org.close();
});

test('queryAll includes recycle-bin rows; query does not', async () => {
  const org = await bulkOrg();
  const id = ((await (await org.api('/sobjects/Account', { method: 'POST', json: { Name: 'Binned' } })).json()) as { id: string }).id;
  await org.api(`/sobjects/Account/${id}`, { method: 'DELETE' });
  const live = await completedQuery(org, 'SELECT Id FROM Account');
  const all = await completedQuery(org, 'SELECT Id, IsDeleted FROM Account', { operation: 'queryAll' });
  assert.equal(live.numberRecordsProcessed, 0);
  assert.equal(all.numberRecordsProcessed, 1);
  const empty = await org.api(`/jobs/query/${live.id}/results`);
  assert.equal(await empty.text(), '"Id"\n');
  assert.equal(empty.headers.get('sforce-numberofrecords'), '0');
  assert.equal(empty.headers.get('sforce-locator'), 'null');
  org.close();
});

test('results need the creating API version (409) and a completed job; abort, delete and list', async () => {
  const org = await bulkOrg();
  await seedAccounts(org, 300);
  const info = await completedQuery(org, 'SELECT Id FROM Account');
  const other = await org.api(`/services/data/v61.0/jobs/query/${info.id}/results`);
  assert.equal(other.status, 409);

  bulkEngine(org.emu.org).settings.chunkSize = 1;
  const res = await createQuery(org, { operation: 'query', query: 'SELECT Id FROM Account' });
  const job = (await res.json()) as JobInfo;
  const aborted = await org.api(`/jobs/query/${job.id}`, { method: 'PATCH', json: { state: 'Aborted' } });
  assert.equal(aborted.status, 200);
  assert.equal(((await aborted.json()) as JobInfo).state, 'Aborted');
  const notDone = await org.api(`/jobs/query/${job.id}/results`);
  assert.equal(notDone.status, 412);
  assert.equal(((await notDone.json()) as { errorCode: string }[])[0].errorCode, 'JOB_NOT_COMPLETE');

  const list = (await (await org.api('/jobs/query')).json()) as { done: boolean; records: { id: string; jobType: string }[] };
  assert.deepEqual(list.records.map((r) => r.id), [info.id, job.id]);
  assert.equal(list.records[0].jobType, 'V2Query');
  assert.equal(((await (await org.api('/jobs/ingest')).json()) as { records: { id: string }[] }).records.some((r) => r.id === job.id), false);
  assert.equal((await org.api(`/jobs/ingest/${job.id}`)).status, 404);

  assert.equal((await org.api(`/jobs/query/${job.id}`, { method: 'DELETE' })).status, 204);
  assert.equal((await org.api(`/jobs/query/${job.id}`)).status, 404);
  org.close();
});

test('resultPages lists result URLs five at a time with nextRecordUrl until done', async () => {
  const org = await bulkOrg();
  await seedAccounts(org, 13);
  const engine = bulkEngine(org.emu.org);
  engine.settings.resultPageSize = 2;
  engine.settings.defaultMaxRecords = 2;
  const info = await completedQuery(org, 'SELECT Name FROM Account ORDER BY Name');
  const first = (await (await org.api(`/jobs/query/${info.id}/resultPages`)).json()) as { resultPages: { resultUrl: string }[]; nextRecordUrl: string | null; done: boolean };
  assert.equal(first.resultPages.length, 5);
  assert.equal(first.done, false);
  assert.ok(first.nextRecordUrl?.startsWith(`/services/data/v62.0/jobs/query/${info.id}/resultPages?locator=`));
  const second = (await (await org.api(first.nextRecordUrl!)).json()) as typeof first;
  assert.equal(second.resultPages.length, 2);
  assert.equal(second.done, true);
  assert.equal(second.nextRecordUrl, null);
  let total = 0;
  for (const page of [...first.resultPages, ...second.resultPages]) {
    const res = await org.api(page.resultUrl);
    assert.equal(res.status, 200);
    total += Number(res.headers.get('sforce-numberofrecords'));
  }
  assert.equal(total, 13);
  org.close();
});

test('query jobs bump DailyBulkV2QueryJobs and DailyBulkV2QueryFileStorageMB', async () => {
  const org = await bulkOrg();
  const jobs = org.emu.org.limitUsage('DailyBulkV2QueryJobs');
  const mb = org.emu.org.limitUsage('DailyBulkV2QueryFileStorageMB');
  await completedQuery(org, 'SELECT Id FROM User');
  assert.equal(org.emu.org.limitUsage('DailyBulkV2QueryJobs'), jobs + 1);
  assert.equal(org.emu.org.limitUsage('DailyBulkV2QueryFileStorageMB'), mb + 1);
  org.close();
});

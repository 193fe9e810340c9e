/**
 * Bulk 2.0 query client against the in-process emulator: paging, resume after a simulated crash (at a page
 * boundary and mid-page), CSV edge cases, queryAll, typed errors; and against a scripted server: a page whose
 * record count disagrees with Sforce-NumberOfRecords, and a job that never finishes within `wait`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BulkError, SalesforceClient, SalesforceError, type BulkEvent } from '../../src/client/index.ts';
import { bulkEngine } from '../../src/emulator/bulk/engine.ts';
import { bulkOrg, runJob } from '../emulator/bulk-helpers.ts';
import type { TestOrg } from '../helpers/emulator.ts';
import { scriptedServer } from './helpers/scripted-server.ts';

const BASE = 'http://127.0.0.1:8484';
const N = 2500;
let org: TestOrg;
let sf: SalesforceClient;
let names: string[];

function client(o: TestOrg): SalesforceClient {
  return new SalesforceClient({
    credentials: { kind: 'clientCredentials', instanceUrl: BASE, clientId: o.emu.org.clientId, clientSecret: o.emu.org.clientSecret },
    fetch: (i, init) => o.emu.fetch(new Request(i, init)),
    retry: { baseDelayMs: 1, maxDelayMs: 2 },
  });
}

before(async () => {
  org = await bulkOrg();
  sf = client(org);
  names = Array.from({ length: N }, (_, i) => `Acct ${String(i).padStart(5, '0')}`);
  const info = await runJob(org, { object: 'Account', operation: 'insert' }, `Name,External_Id__c\n${names.map((n, i) => `${n},X-${i}`).join('\n')}\n`);
  assert.equal(info.numberRecordsFailed, 0);
});

after(() => org.close());

const SOQL = 'SELECT Id, Name, External_Id__c FROM Account ORDER BY Name';

describe('bulk.query', () => {
  it('streams every record across pages and reports the job id', async () => {
    const events: BulkEvent[] = [];
    const q = sf.bulk.query(SOQL, { maxRecords: 1000, pollIntervalMs: 5, onEvent: (e) => events.push(e) });
    const rows = await q.toArray();
    assert.deepEqual(rows.map((r) => r.Name), names);
    assert.deepEqual(Object.keys(rows[0]), ['Id', 'Name', 'External_Id__c']);
    assert.match(rows[0].Id, /^001/);
    const jobId = await q.jobId;
    assert.match(jobId, /^750/);
    assert.equal(q.pagesFetched, 3);
    assert.equal(q.recordsRead, N);
    assert.equal(q.done, true);
    assert.equal(q.locator, null);
    assert.deepEqual(events.filter((e) => e.type === 'page').map((e) => (e as { records: number }).records), [1000, 1000, 500]);
    assert.ok(events.some((e) => e.type === 'job-created' && e.jobId === jobId));
  });

  for (const stopAfter of [1000, 1500, 1]) {
    it(`resumes after a crash after ${stopAfter} records with exactly the remaining rows`, async () => {
      const first = sf.bulk.query(SOQL, { maxRecords: 1000, pollIntervalMs: 5 });
      const seen: string[] = [];
      for await (const r of first) {
        seen.push(r.Name);
        if (seen.length === stopAfter) break; // simulated crash: the consumer stops; only the saved state survives
      }
      const saved = { jobId: await first.jobId, locator: first.locator, skip: first.pageOffset };
      assert.equal(first.recordsRead, stopAfter);
      const rest = await client(org).bulk.query(SOQL, { maxRecords: 1000, resume: saved }).toArray();
      assert.deepEqual([...seen, ...rest.map((r) => r.Name)], names);
      if (stopAfter === 1000) assert.equal(saved.skip, 0, 'a page boundary needs no skip');
    });
  }

  it('start() creates the job without reading it; iterating later reads that same job', async () => {
    const jobs = () => bulkEngine(org.emu.org).store.list('query', 0, 10_000).length;
    const before = jobs();
    const q = sf.bulk.query(SOQL, { maxRecords: 1000, pollIntervalMs: 5 });
    const id = await q.start();
    assert.match(id, /^750/);
    assert.equal(await q.start(), id, 'a second call returns the same job');
    assert.equal(await q.jobId, id);
    assert.match(q.createdDate ?? '', /^\d{4}-\d\d-\d\dT/, 'the job\'s createdDate, by the org\'s clock');
    assert.equal(q.recordsRead, 0);
    assert.equal(jobs(), before + 1);
    const rows = await q.toArray();
    assert.equal(rows.length, N);
    assert.equal(jobs(), before + 1, 'no second job');
  });

  it('keeps CSV edge cases intact: quoted newlines, delimiters, quotes, #N/A', async () => {
    const tricky = ['line one\nline two', 'comma, inside', 'say "hi"', '"quoted", and\r\nall', '#N/A', ' padded '];
    const ids: string[] = [];
    for (const [i, d] of tricky.entries()) ids.push((await sf.create('Account', { Name: `Tricky ${i}`, Description: d })).id);
    const rows = await sf.bulk.query("SELECT ID, NAME, DESCRIPTION FROM Account WHERE Name LIKE 'Tricky%' ORDER BY Name", { pollIntervalMs: 5 }).toArray();
    // The emulator answers with the fields' API names; the headers a real org writes are passed through as is
    // (see the scripted upper-case test below).
    assert.deepEqual(rows.map((r) => r.Description), tricky);
    assert.deepEqual(rows.map((r) => r.Id), ids);
  });

  it('null parents and nulls are empty strings; queryAll includes deleted rows', async () => {
    const { id } = await sf.create('Contact', { LastName: 'Gone' });
    await sf.create('Contact', { LastName: 'Orphan' });
    await sf.delete('Contact', id);
    const live = await sf.bulk.query('SELECT Id, LastName, Account.Name, Email FROM Contact', { pollIntervalMs: 5 }).toArray();
    assert.deepEqual(live.map((r) => r.LastName), ['Orphan']);
    assert.equal(live[0]['Account.Name'], '');
    assert.equal(live[0].Email, '');
    const all = await sf.bulk.query('SELECT Id, LastName, IsDeleted FROM Contact ORDER BY LastName', { queryAll: true, pollIntervalMs: 5 }).toArray();
    assert.deepEqual(all.map((r) => [r.LastName, r.IsDeleted]), [['Gone', 'true'], ['Orphan', 'false']]);
  });

  it('rejects invalid SOQL with the Salesforce error and rejects jobId', async () => {
    const q = sf.bulk.query('SELECT Nope__c FROM Account');
    await assert.rejects(q.toArray(), (err: unknown) => err instanceof SalesforceError && err.errorCode === 'INVALID_FIELD');
    await assert.rejects(q.jobId);
  });

  it('an aborted query job is a typed error naming the job', async () => {
    const q = sf.bulk.query(SOQL, {
      pollIntervalMs: 5,
      onEvent: (e) => {
        if (e.type === 'job-created') void org.api(`/jobs/query/${e.jobId}`, { method: 'PATCH', json: { state: 'Aborted' } });
      },
    });
    await assert.rejects(q.toArray(), (err: unknown) => err instanceof BulkError && err.code === 'BULK_JOB_ABORTED' && err.jobIds.length === 1);
  });
});

describe('bulk.query against a scripted server', () => {
  const job = { id: '750000000000001AAA', operation: 'query', object: 'Account', state: 'UploadComplete', columnDelimiter: 'COMMA', lineEnding: 'LF' };

  it('a page with fewer records than Sforce-NumberOfRecords is a typed error', async () => {
    const srv = await scriptedServer({
      'POST /services/data/v62.0/jobs/query': [{ json: job }],
      [`GET /services/data/v62.0/jobs/query/${job.id}`]: [{ json: { ...job, state: 'JobComplete' } }],
      [`GET /services/data/v62.0/jobs/query/${job.id}/results`]: [{ headers: { 'content-type': 'text/csv', 'sforce-numberofrecords': '3', 'sforce-locator': 'null' }, body: '"Id","Name"\n"001A","a"\n"001B","b"\n' }],
    });
    const c = new SalesforceClient({ credentials: { kind: 'accessToken', instanceUrl: srv.url, accessToken: 't' }, governor: false });
    const got: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const r of c.bulk.query('SELECT Id, Name FROM Account', { pollIntervalMs: 1 })) got.push(r.Id);
      })(),
      (err: unknown) => err instanceof BulkError && err.code === 'BULK_PAGE_COUNT_MISMATCH' && /held 2 records but Sforce-NumberOfRecords said 3/.test(err.message) && err.jobIds[0] === job.id,
    );
    // The last record of a page is released only after the count check, so a bad page's tail is never trusted.
    assert.deepEqual(got, ['001A']);
    await srv.close();
  });

  it('a page whose last row is cut short is a typed error, and that row is never handed out', async () => {
    const srv = await scriptedServer({
      'POST /services/data/v62.0/jobs/query': [{ json: job }],
      [`GET /services/data/v62.0/jobs/query/${job.id}`]: [{ json: { ...job, state: 'JobComplete' } }],
      [`GET /services/data/v62.0/jobs/query/${job.id}/results`]: [{ headers: { 'content-type': 'text/csv', 'sforce-numberofrecords': '2', 'sforce-locator': 'null' }, body: '"Id","Name"\n"001A","a"\n"001B"' }],
    });
    const c = new SalesforceClient({ credentials: { kind: 'accessToken', instanceUrl: srv.url, accessToken: 't' }, governor: false });
    const got: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const r of c.bulk.query('SELECT Id, Name FROM Account', { pollIntervalMs: 1 })) got.push(r.Id);
      })(),
      (err: unknown) => err instanceof BulkError && err.code === 'BULK_PAGE_COUNT_MISMATCH' && /record 2 .* has 1 fields but the header has 2/.test(err.message),
    ).finally(() => srv.close());
    assert.ok(!got.includes('001B'));
  });

  it('passes upper-case headers through and parses a CRLF, semicolon-delimited page', async () => {
    const srv = await scriptedServer({
      'POST /services/data/v62.0/jobs/query': [{ json: job }],
      [`GET /services/data/v62.0/jobs/query/${job.id}`]: [{ json: { ...job, state: 'JobComplete', columnDelimiter: 'SEMICOLON', lineEnding: 'CRLF' } }],
      [`GET /services/data/v62.0/jobs/query/${job.id}/results`]: [
        (req) => req.url.searchParams.get('locator') === 'P2'
          ? { headers: { 'sforce-numberofrecords': '1', 'sforce-locator': 'null' }, body: '"ID";"NAME"\r\n"001C";"x;y"\r\n' }
          : { headers: { 'sforce-numberofrecords': '2', 'sforce-locator': 'P2' }, body: '\ufeff"ID";"NAME"\r\n"001A";"multi\r\nline"\r\n"001B";"#N/A"\r\n' },
      ],
    });
    const c = new SalesforceClient({ credentials: { kind: 'accessToken', instanceUrl: srv.url, accessToken: 't' }, governor: false });
    const rows = await c.bulk.query('SELECT ID, NAME FROM Account', { pollIntervalMs: 1 }).toArray();
    assert.deepEqual(rows, [{ ID: '001A', NAME: 'multi\r\nline' }, { ID: '001B', NAME: '#N/A' }, { ID: '001C', NAME: 'x;y' }]);
    await srv.close();
  });

  it('stops waiting after `wait` with the job id in the error', async () => {
    const srv = await scriptedServer({
      'POST /services/data/v62.0/jobs/query': [{ json: job }],
      [`GET /services/data/v62.0/jobs/query/${job.id}`]: [{ json: { ...job, state: 'InProgress' } }],
    });
    const c = new SalesforceClient({ credentials: { kind: 'accessToken', instanceUrl: srv.url, accessToken: 't' }, governor: false });
    const events: BulkEvent[] = [];
    await assert.rejects(c.bulk.query('SELECT Id FROM Account', { pollIntervalMs: 5, wait: 60, onEvent: (e) => events.push(e) }).toArray(), (err: unknown) => err instanceof BulkError && err.code === 'BULK_WAIT_EXCEEDED' && err.jobIds[0] === job.id && err.message.includes(job.id));
    const polls = events.filter((e) => e.type === 'job-polled') as { nextPollMs: number }[];
    assert.ok(polls.length >= 2);
    assert.ok(polls[1].nextPollMs > polls[0].nextPollMs, 'intervals back off');
    await srv.close();
  });
});

/**
 * Bulk 2.0 ingest client against the in-process emulator: every operation, failed rows among good ones,
 * results joined back to inputs in order, job splitting by rows and bytes, the header built from all records
 * (describe-checked), CSV edge cases, and a job aborted through the API while the client waits.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bulkEngine } from '../../src/emulator/bulk/engine.ts';
import { BulkError, SalesforceClient, SalesforceError, type BulkEvent, type BulkRecordResult } from '../../src/client/index.ts';
import { rowHash } from '../../src/client/bulk2/ingest.ts';
import { bulkOrg } from '../emulator/bulk-helpers.ts';
import type { TestOrg } from '../helpers/emulator.ts';

const BASE = 'http://127.0.0.1:8484';

async function setup(): Promise<{ org: TestOrg; sf: SalesforceClient; calls: string[] }> {
  const org = await bulkOrg();
  const calls: string[] = [];
  const sf = new SalesforceClient({
    credentials: { kind: 'clientCredentials', instanceUrl: BASE, clientId: org.emu.org.clientId, clientSecret: org.emu.org.clientSecret },
    fetch: (i, init) => {
      const req = new Request(i, init);
      calls.push(`${req.method} ${new URL(req.url).pathname}`);
      return org.emu.fetch(req);
    },
    retry: { baseDelayMs: 1, maxDelayMs: 2 },
  });
  return { org, sf, calls };
}

async function collect(it: AsyncIterable<BulkRecordResult>): Promise<BulkRecordResult[]> {
  const out: BulkRecordResult[] = [];
  for await (const r of it) out.push(r);
  return out;
}

async function* gen<T>(items: T[]): AsyncGenerator<T> {
  for (const x of items) yield x;
}

const FAST = { pollIntervalMs: 2 };

describe('bulk.ingest', () => {
  it('insert: every row succeeds with Id and created=true; CSV edge cases and null (#N/A) round-trip', async () => {
    const { org, sf } = await setup();
    const tricky = ['line one\nline two', 'comma, inside', 'say "hi"', '"quoted", and\r\nall', ' padded ', 'ünïcødé'];
    const input = tricky.map((d, i) => ({ Name: `Tricky ${i}`, Description: d, Industry: i === 0 ? null : 'Banking', NumberOfEmployees: i, External_Id__c: `T-${i}` }));
    const res = await collect(sf.bulk.ingest('Account', 'insert', input, FAST));
    assert.equal(res.length, input.length);
    for (const [i, r] of res.entries()) {
      assert.equal(r.index, i);
      assert.deepEqual(r.input, input[i]);
      assert.equal(r.success, true, r.error ?? '');
      assert.equal(r.created, true);
      assert.match(r.id ?? '', /^001/);
      const rec = await sf.retrieve<Record<string, unknown>>('Account', r.id!, ['Description', 'Industry', 'NumberOfEmployees']);
      assert.equal(rec.Description, tricky[i]);
      assert.equal(rec.Industry, i === 0 ? null : 'Banking');
      assert.equal(rec.NumberOfEmployees, i);
    }
    org.close();
  });

  it('update and failed rows mixed with good ones keep input order and carry sf__Error', async () => {
    const { org, sf } = await setup();
    const created = await collect(sf.bulk.ingest('Contact', 'insert', [{ LastName: 'A' }, { FirstName: 'No last name' }, { LastName: 'C' }, { LastName: 'D' }], FAST));
    assert.deepEqual(created.map((r) => r.success), [true, false, true, true]);
    assert.match(created[1].error ?? '', /^REQUIRED_FIELD_MISSING:.*LastName/);
    assert.equal(created[1].id, null);
    const updates = [
      { Id: created[0].id, Title: 'Boss' },
      { Id: '003000000000000AAA', Title: 'Ghost' },
      { Id: created[2].id, Title: 'Peer', LastName: null },
      { Id: created[3].id, Title: 'Same' },
    ];
    const res = await collect(sf.bulk.ingest('Contact', 'update', updates, FAST));
    assert.deepEqual(res.map((r) => [r.index, r.success, r.created]), [[0, true, false], [1, false, false], [2, false, false], [3, true, false]]);
    assert.ok(res[1].error);
    assert.match(res[2].error ?? '', /REQUIRED_FIELD_MISSING/);
    assert.equal(res[0].id, created[0].id);
    assert.equal((await sf.retrieve<{ Title: string }>('Contact', created[0].id!)).Title, 'Boss');
    org.close();
  });

  it('upsert by external id: created vs updated, parent reference by external id', async () => {
    const { org, sf } = await setup();
    const [acct] = await collect(sf.bulk.ingest('Account', 'insert', [{ Name: 'Parent', External_Id__c: 'ACC-1' }], FAST));
    await collect(sf.bulk.ingest('Contact', 'insert', [{ LastName: 'Old', Legacy_Key__c: 'L-1' }], FAST));
    const res = await collect(sf.bulk.ingest('Contact', 'upsert', gen([
      { LastName: 'Updated', Legacy_Key__c: 'L-1', Account: { External_Id__c: 'ACC-1' } },
      { LastName: 'New', legacy_key__c: 'L-2' },
    ]), { ...FAST, externalIdField: 'Legacy_Key__c' }));
    assert.deepEqual(res.map((r) => [r.success, r.created]), [[true, false], [true, true]]);
    const rows = await sf.query<{ LastName: string; Legacy_Key__c: string; AccountId: string | null }>('SELECT LastName, Legacy_Key__c, AccountId FROM Contact ORDER BY Legacy_Key__c').toArray();
    assert.deepEqual(rows.map((r) => [r.LastName, r.Legacy_Key__c, r.AccountId]), [['Updated', 'L-1', acct.id], ['New', 'L-2', null]]);
    org.close();
  });

  it('delete and hardDelete take the Id column only and report each row', async () => {
    const { org, sf } = await setup();
    const made = await collect(sf.bulk.ingest('Account', 'insert', [1, 2, 3, 4].map((i) => ({ Name: `Del ${i}` })), FAST));
    const del = await collect(sf.bulk.ingest('Account', 'delete', [{ Id: made[0].id, Name: 'ignored' }, { Id: made[1].id }], FAST));
    assert.deepEqual(del.map((r) => [r.success, r.id]), [[true, made[0].id], [true, made[1].id]]);
    const hard = await collect(sf.bulk.ingest('Account', 'hardDelete', [{ Id: made[2].id }, { Id: made[0].id }, { Id: '001000000000000AAA' }], FAST));
    assert.deepEqual(hard.map((r) => r.success), [true, true, false]);
    const left = await sf.queryAll<{ Id: string }>('SELECT Id FROM Account').toArray();
    assert.deepEqual(left.map((r) => r.Id).sort(), [made[1].id, made[3].id].sort());
    await assert.rejects(sf.retrieve('Account', made[2].id!), (err: unknown) => err instanceof SalesforceError && err.status === 404);
    org.close();
  });

  it('builds the header from all records: a field present only in the 5000th record is loaded', async () => {
    const { org, sf } = await setup();
    const input = Array.from({ length: 5000 }, (_, i) => (i === 4999 ? { Name: `Acct ${i}`, Description: 'only here' } : { Name: `Acct ${i}` }));
    const res = await collect(sf.bulk.ingest('Account', 'insert', gen(input), FAST));
    assert.equal(res.length, 5000);
    assert.ok(res.every((r, i) => r.success && r.index === i));
    const rec = await sf.retrieve<{ Description: string; Name: string }>('Account', res[4999].id!, ['Name', 'Description']);
    assert.deepEqual([rec.Name, rec.Description], ['Acct 4999', 'only here']);
    org.close();
  });

  it('an unknown field in the 5000th record fails before any job is created, naming the field', async () => {
    const { org, sf, calls } = await setup();
    const input = Array.from({ length: 5000 }, (_, i) => (i === 4999 ? { Name: 'x', Bogus__c: 1 } : { Name: `Acct ${i}` }));
    await assert.rejects(collect(sf.bulk.ingest('Account', 'insert', input, FAST)), (err: unknown) => err instanceof BulkError && err.code === 'BULK_INVALID_INPUT' && /Bogus__c \(first seen in record 5000\)/.test(err.message));
    assert.ok(!calls.includes('POST /services/data/v62.0/jobs/ingest'));
    org.close();
  });

  it('splits into jobs by rows and by bytes, with bounded concurrency, results still in input order', async () => {
    const { org, sf } = await setup();
    const events: BulkEvent[] = [];
    const input = Array.from({ length: 350 }, (_, i) => ({ Name: `Split ${i}`, Description: 'x'.repeat(i % 7) }));
    const res = await collect(sf.bulk.ingest('Account', 'insert', gen(input), { ...FAST, maxRowsPerJob: 100, concurrency: 2, onEvent: (e) => events.push(e) }));
    assert.deepEqual(res.map((r) => r.index), input.map((_, i) => i));
    assert.ok(res.every((r) => r.success));
    // Concurrent jobs may finish creating/uploading in either order; the split is what is checked.
    const created = (events.filter((e) => e.type === 'job-created') as { start: number; rows: number }[]).sort((a, b) => a.start - b.start);
    assert.deepEqual(created.map((j) => [j.start, j.rows]), [[0, 100], [100, 100], [200, 100], [300, 50]]);
    const jobs = events.filter((e) => e.type === 'job-uploaded') as { jobId: string; rows: number; bytes: number }[];
    assert.deepEqual(jobs.map((j) => j.rows).sort((a, b) => a - b), [50, 100, 100, 100]);
    assert.equal(new Set(res.map((r) => r.jobId)).size, 4);
    const byBytes: BulkEvent[] = [];
    const res2 = await collect(sf.bulk.ingest('Account', 'insert', gen(input.slice(0, 50)), { ...FAST, maxBytesPerJob: 100, onEvent: (e) => byBytes.push(e) }));
    const uploads = byBytes.filter((e) => e.type === 'job-uploaded') as { rows: number; bytes: number }[];
    assert.ok(uploads.length > 5, `expected many small jobs, got ${uploads.length}`);
    assert.ok(uploads.every((u) => u.bytes <= 100 || u.rows === 1), JSON.stringify(uploads));
    assert.equal(uploads.reduce((n, u) => n + u.rows, 0), 50);
    assert.ok(res2.every((r, i) => r.success && r.index === i));
    org.close();
  });

  it('duplicate rows are joined one to one', async () => {
    const { org, sf } = await setup();
    const res = await collect(sf.bulk.ingest('Account', 'insert', [{ Name: 'Twin' }, { Name: 'Twin' }, { Name: 'Twin' }], FAST));
    assert.equal(new Set(res.map((r) => r.id)).size, 3);
    org.close();
  });

  it('a job aborted through the API while the client waits yields processed rows and unprocessed for the rest', async () => {
    const { org, sf } = await setup();
    const engine = bulkEngine(org.emu.org);
    engine.settings.chunkSize = 50;
    const total = 5000;
    let aborting: Promise<unknown> | undefined;
    const events: BulkEvent[] = [];
    const onEvent = (e: BulkEvent) => {
      events.push(e);
      // On upload, not on the first poll: the first poll is planned for the job's estimated end.
      if (e.type === 'job-uploaded' && !aborting) {
        aborting = (async () => {
          // Let a few chunks commit so the abort lands midway.
          while ((engine.store.get(e.jobId)?.processed ?? 0) < 200) await new Promise((r) => setImmediate(r));
          const res = await org.api(`/jobs/ingest/${e.jobId}`, { method: 'PATCH', json: { state: 'Aborted' } });
          assert.equal(res.status, 200);
        })();
      }
    };
    const input = Array.from({ length: total }, (_, i) => ({ Name: `Abort ${i}` }));
    const res = await collect(sf.bulk.ingest('Account', 'insert', input, { ...FAST, onEvent }));
    await aborting;
    assert.equal(res.length, total);
    assert.ok(res.every((r, i) => r.index === i));
    const ok = res.filter((r) => r.success);
    const unprocessed = res.filter((r) => r.unprocessed);
    assert.ok(ok.length >= 200 && ok.length < total, `processed ${ok.length}`);
    assert.equal(ok.length + unprocessed.length, total);
    assert.match(unprocessed[0].error ?? '', /not processed: job 750\w+ ended Aborted/);
    // Rows are processed in upload order, so the processed ones are a prefix.
    assert.ok(res.slice(0, ok.length).every((r) => r.success));
    assert.ok(events.some((e) => e.type === 'job-finished' && e.state === 'Aborted'));
    org.close();
  });

  it("a job's results are downloaded only after the previous job's have been yielded (one job's results in memory at a time)", async () => {
    const { sf, calls } = await setup();
    const input = Array.from({ length: 90 }, (_, i) => ({ Name: `Gate ${i}`, External_Id__c: `G-${i}` }));
    let consumed = 0;
    const seenAt: number[] = [];
    const results: BulkRecordResult[] = [];
    const before = calls.length;
    for await (const r of sf.bulk.ingest('Account', 'insert', input, { ...FAST, maxRowsPerJob: 30, concurrency: 3 })) {
      for (const c of calls.splice(before)) if (/successfulResults$/.test(c)) seenAt.push(consumed);
      results.push(r);
      consumed++;
    }
    for (const c of calls.splice(before)) if (/successfulResults$/.test(c)) seenAt.push(consumed);
    assert.deepEqual(results.map((r) => r.index), input.map((_, i) => i));
    assert.ok(results.every((r) => r.success));
    // Job 1's file before anything was consumed; job 2's once job 1's 30 results were; job 3's after 60.
    assert.deepEqual(seenAt, [0, 30, 60]);
  });

  it('the caller aborting its signal aborts the job in Salesforce; leaving the loop early does not', async () => {
    const { org, sf } = await setup();
    bulkEngine(org.emu.org).settings.chunkSize = 20;
    const input = Array.from({ length: 3000 }, (_, i) => ({ Name: `Sig ${i}` }));
    const controller = new AbortController();
    let jobId = '';
    await assert.rejects(collect(sf.bulk.ingest('Account', 'insert', input, { ...FAST, signal: controller.signal, onEvent: (e) => {
      if (e.type === 'job-created') jobId = e.jobId;
      // Aborted between upload and close: the job must not be left Open (nor closed) in Salesforce.
      if (e.type === 'job-uploaded') controller.abort();
    } })), (err: unknown) => (err as Error).name === 'AbortError');
    const info = (await (await org.api(`/jobs/ingest/${jobId}`)).json()) as { state: string };
    assert.equal(info.state, 'Aborted');
    // A consumer that breaks out after the first result: the generator returns, the job is left to finish.
    let second = '';
    for await (const r of sf.bulk.ingest('Account', 'insert', input.slice(0, 300), { ...FAST, maxRowsPerJob: 100, onEvent: (e) => { if (e.type === 'job-created') second ||= e.jobId; } })) {
      assert.equal(r.index, 0);
      break;
    }
    await bulkEngine(org.emu.org).idle();
    assert.equal(((await (await org.api(`/jobs/ingest/${second}`)).json()) as { state: string }).state, 'JobComplete');
    org.close();
  });

  it('upsert without externalIdField and bad options are refused up front', async () => {
    const { org, sf } = await setup();
    await assert.rejects(collect(sf.bulk.ingest('Contact', 'upsert', [{ LastName: 'x' }])), (err: unknown) => err instanceof BulkError && err.code === 'BULK_INVALID_INPUT');
    await assert.rejects(collect(sf.bulk.ingest('Contact', 'insert', [{ LastName: 'x' }], { maxRowsPerJob: 0 })), /maxRowsPerJob/);
    await assert.rejects(collect(sf.bulk.ingest('Contact', 'upsert', [{ LastName: 'x' }], { externalIdField: 'Nope__c' })), /Contact has no field Nope__c/);
    org.close();
  });
});

describe('bulk.ingest CSV spool and row hashes', () => {
  it('records with keys in any order and case, and fields left out, load into the right columns in input order', async () => {
    const { org, sf } = await setup();
    const records = [
      { LastName: 'Alpha', Email: 'a@x.test', Title: 'T1' },
      { title: 'T2', email: 'b@x.test', lastname: 'Beta' },
      { Email: 'c@x.test', LastName: 'Gamma' },
      { LastName: 'Delta, "D"', Title: 'line1\nline2' },
    ];
    const results = await collect(sf.bulk.ingest('Contact', 'insert', gen(records), FAST));
    assert.deepEqual(results.map((r) => [r.index, r.success, r.input]), records.map((rec, i) => [i, true, rec]));
    const q = await org.api(`/query?q=${encodeURIComponent(`SELECT LastName, Email, Title FROM Contact WHERE Id IN ('${results.map((r) => r.id).join("','")}') ORDER BY LastName`)}`);
    const rows = ((await q.json()) as { records: Record<string, unknown>[] }).records.map(({ LastName, Email, Title }) => ({ LastName, Email, Title }));
    assert.deepEqual(rows, [
      { LastName: 'Alpha', Email: 'a@x.test', Title: 'T1' },
      { LastName: 'Beta', Email: 'b@x.test', Title: 'T2' },
      { LastName: 'Delta, "D"', Email: null, Title: 'line1\nline2' },
      { LastName: 'Gamma', Email: 'c@x.test', Title: null },
    ]);
    org.close();
  });

  it('rowHash tells cell boundaries and empty trailing cells apart, is a safe integer, and does not collide on 200,000 similar rows', () => {
    const variants = [['a,b'], ['a', 'b'], ['ab'], ['a', 'b', ''], ['', 'a', 'b'], ['b', 'a'], []];
    const hashes = variants.map(rowHash);
    assert.equal(new Set(hashes).size, variants.length);
    for (const h of hashes) assert.ok(Number.isSafeInteger(h) && h >= 0);
    assert.equal(rowHash(['x', 'y']), rowHash(['x', 'y']));
    const seen = new Set<number>();
    for (let i = 0; i < 200_000; i++) seen.add(rowHash([`Bench${i}`, `Contact, A${i}`, `c${i}@a.example.com`, 'Engineer', `A-${i}`]));
    assert.equal(seen.size, 200_000);
  });
});

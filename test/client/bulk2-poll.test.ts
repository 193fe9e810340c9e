/**
 * Status polling of Bulk 2.0 jobs: waits planned from the job's progress (few polls for a job that ends as
 * estimated, never a return before the job is final however slow or stalled it is), and the calls one ingest
 * run makes against the emulator, counted by a fetch wrapper: one describe per object per client, one status
 * poll or two, no failed/unprocessed downloads when every row succeeded.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Connection } from '../../src/client/connection.ts';
import { BULK_LEARNED_FIRST_POLL_AIM } from '../../src/client/bulk2/common.ts';
import { BULK_INGEST_ASSUMED_ROWS_PER_SEC, BULK_LEARNED_AFTER_END_MARGIN, BULK_LEARNED_RATE_SLACK_MS, BULK_POLL_ESTIMATE_MAX_MS, BULK_POLL_MIN_MS, closeToEndMs, planNextPoll, SalesforceClient, waitForJob, type BulkEvent, type BulkJobInfo } from '../../src/client/index.ts';
import { bulkOrg } from '../emulator/bulk-helpers.ts';

const BASE = 'http://127.0.0.1:8484';

/**
 * A job on a virtual clock: queued for `queuedMs`, then processing `rowsPerSec`, paused during `stall`
 * ([from, to) ms), reporting progress in steps of `step` rows. Only `sleep` moves the clock.
 */
function virtualJob(o: { rows: number; queuedMs: number; rowsPerSec: number; stall?: [number, number]; step?: number }) {
  let t = 0;
  const polls: { t: number; state: string; processed: number }[] = [];
  const [s0, s1] = o.stall ?? [0, 0];
  const working = (at: number): number => Math.max(0, at - o.queuedMs) - Math.max(0, Math.min(at, s1) - Math.max(s0, o.queuedMs));
  const processedAt = (at: number): number => {
    const done = Math.min(o.rows, Math.floor((working(at) * o.rowsPerSec) / 1000));
    return done >= o.rows ? o.rows : Math.floor(done / (o.step ?? 1)) * (o.step ?? 1);
  };
  const finish = (() => {
    const need = (o.rows * 1000) / o.rowsPerSec;
    const end = o.queuedMs + need;
    return o.stall && end > Math.max(s0, o.queuedMs) ? end + (s1 - Math.max(s0, o.queuedMs)) : end;
  })();
  const conn = {
    async request<T>(): Promise<T> {
      const processed = processedAt(t);
      const state = t < o.queuedMs ? 'UploadComplete' : processed >= o.rows ? 'JobComplete' : 'InProgress';
      polls.push({ t, state, processed });
      return { id: '750000000000001AAA', operation: 'insert', object: 'Account', state, numberRecordsProcessed: processed, numberRecordsFailed: 0 } as T;
    },
  } as unknown as Connection;
  return {
    conn,
    polls,
    finish,
    now: () => t,
    sleep: async (ms: number) => {
      assert.ok(ms >= 0 && Number.isFinite(ms), `bad sleep ${ms}`);
      t += ms;
    },
  };
}

describe('bulk job polling', () => {
  it('plans the first poll from the row count and later ones from the measured rate', () => {
    const base = { backoff: 250, floor: BULK_POLL_MIN_MS };
    // Fresh job: rows at the assumed rate, plus the margin.
    const first = planNextPoll({ ...base, elapsed: 0, processed: 0, expected: 50_000 });
    assert.deepEqual(first, { ms: Math.round((50_000 / BULK_INGEST_ASSUMED_ROWS_PER_SEC) * 1000 * 1.1), estimated: true });
    // 20,000 of 100,000 done in 4 s: 80,000 left at 5 rows/ms.
    assert.deepEqual(planNextPoll({ ...base, elapsed: 4000, processed: 20_000, previous: { elapsed: 0, processed: 0 }, expected: 100_000 }), { ms: 17_600, estimated: true });
    // The rate of the latest interval wins over the average.
    assert.deepEqual(planNextPoll({ ...base, elapsed: 6000, processed: 40_000, previous: { elapsed: 4000, processed: 20_000 }, expected: 100_000 }), { ms: 6600, estimated: true });
    // No progress since the last poll, or no size: back off (by half the time waited so far, at least the interval).
    assert.deepEqual(planNextPoll({ ...base, elapsed: 6000, processed: 0, previous: { elapsed: 0, processed: 0 }, expected: 100_000 }), { ms: 3000, estimated: false });
    assert.deepEqual(planNextPoll({ ...base, elapsed: 6000, processed: 10, previous: { elapsed: 4000, processed: 10 }, expected: 100_000 }), { ms: 3000, estimated: false });
    assert.deepEqual(planNextPoll({ ...base, elapsed: 0, processed: 0 }), { ms: 250, estimated: false });
    assert.deepEqual(planNextPoll({ ...base, elapsed: 600_000, processed: 0 }), { ms: 10_000, estimated: false });
    // Clamped both ways.
    assert.equal(planNextPoll({ ...base, elapsed: 0, processed: 0, expected: 10_000_000 }).ms, BULK_POLL_ESTIMATE_MAX_MS);
    assert.equal(planNextPoll({ ...base, elapsed: 0, processed: 0, expected: 3 }).ms, BULK_POLL_MIN_MS);
  });

  it('a job that runs at about the assumed pace costs one or two polls', async () => {
    const job = virtualJob({ rows: 100_000, queuedMs: 800, rowsPerSec: 7000, step: 2000 });
    const info = await waitForJob(job.conn, 'ingest', 'x', { expectedRecords: 100_000, now: job.now, sleep: job.sleep });
    assert.equal(info.state, 'JobComplete');
    assert.ok(job.polls.length <= 2, JSON.stringify(job.polls));
    assert.ok(job.now() >= job.finish);
  });

  it('a slow job is waited for to the end, with few polls', async () => {
    // Ten times slower than assumed, after a long queue: 100 s of processing.
    const job = virtualJob({ rows: 100_000, queuedMs: 5000, rowsPerSec: 1000, step: 2000 });
    const events: BulkEvent[] = [];
    const info = await waitForJob(job.conn, 'ingest', 'x', { expectedRecords: 100_000, now: job.now, sleep: job.sleep, onEvent: (e) => events.push(e) });
    assert.equal(info.state, 'JobComplete');
    assert.equal(info.numberRecordsProcessed, 100_000);
    assert.ok(job.now() >= job.finish);
    assert.ok(job.polls.slice(0, -1).every((p) => p.state !== 'JobComplete'), 'returned at the first final reading');
    // Blind back-off (250 ms ×1.5 to 10 s) would take ~17 polls over 105 s.
    assert.ok(job.polls.length <= 8, `${job.polls.length} polls: ${JSON.stringify(job.polls)}`);
    assert.ok(events.filter((e) => e.type === 'job-polled').length === job.polls.length - 1);
  });

  it('a job that stalls for minutes mid-way is still waited for', async () => {
    const job = virtualJob({ rows: 20_000, queuedMs: 0, rowsPerSec: 4000, stall: [1000, 301_000] });
    const info = await waitForJob(job.conn, 'ingest', 'x', { expectedRecords: 20_000, now: job.now, sleep: job.sleep });
    assert.equal(info.state, 'JobComplete');
    assert.ok(job.now() >= job.finish && job.finish > 301_000);
    // During the stall the back-off caps at 10 s: about 30 polls for 5 minutes, not thousands.
    assert.ok(job.polls.length < 60, `${job.polls.length} polls`);
  });

  it('a rate learned from an earlier job plans the first poll just after the end: one poll instead of two', async () => {
    const base = { backoff: 250, floor: BULK_POLL_MIN_MS };
    // 50,000 rows at a learned 10,000 rows/s: 5 s ×BULK_LEARNED_AFTER_END_MARGIN, plus the second of slack for Salesforce's timestamps.
    assert.deepEqual(planNextPoll({ ...base, elapsed: 0, processed: 0, expected: 50_000, rowsPerSec: 10_000 }), { ms: 5000 * BULK_LEARNED_AFTER_END_MARGIN + BULK_LEARNED_RATE_SLACK_MS, estimated: true });
    const spec = { rows: 100_000, queuedMs: 2000, rowsPerSec: 12_000 };
    const learned = virtualJob(spec);
    await waitForJob(learned.conn, 'ingest', 'x', { expectedRecords: 100_000, rowsPerSec: (100_000 / learned.finish) * 1000, now: learned.now, sleep: learned.sleep });
    assert.equal(learned.polls.length, 1, JSON.stringify(learned.polls));
    const cold = virtualJob(spec);
    await waitForJob(cold.conn, 'ingest', 'x', { expectedRecords: 100_000, now: cold.now, sleep: cold.sleep });
    assert.equal(cold.polls.length, 2, JSON.stringify(cold.polls));
    // A job slower than the learned rate is still waited for to the end (planned from its progress).
    const slow = virtualJob({ ...spec, rowsPerSec: 3000 });
    const info = await waitForJob(slow.conn, 'ingest', 'x', { expectedRecords: 100_000, rowsPerSec: 12_000, now: slow.now, sleep: slow.sleep });
    assert.equal(info.state, 'JobComplete');
    assert.ok(slow.now() >= slow.finish);
  });

  it("learnedFirstPoll 'before-end' polls a little before the learned end, then just after it (least latency)", async () => {
    const base = { backoff: 250, floor: BULK_POLL_MIN_MS, learnedFirstPoll: 'before-end' as const };
    // 50,000 rows at a learned 10,000 rows/s: 5 s, aimed a second early (more than 10% of it).
    assert.deepEqual(planNextPoll({ ...base, elapsed: 0, processed: 0, expected: 50_000, rowsPerSec: 10_000 }), { ms: 5000 - BULK_LEARNED_RATE_SLACK_MS, estimated: true });
    // A 100 s job: 10% early (a long job's first poll comes early enough to re-plan from).
    assert.deepEqual(planNextPoll({ ...base, elapsed: 0, processed: 0, expected: 100_000, rowsPerSec: 1000 }), { ms: 100_000 * BULK_LEARNED_FIRST_POLL_AIM, estimated: true });
    const spec = { rows: 100_000, queuedMs: 2000, rowsPerSec: 12_000 };
    const rowsPerSec = (100_000 / virtualJob(spec).finish) * 1000;
    const early = virtualJob(spec);
    await waitForJob(early.conn, 'ingest', 'x', { expectedRecords: 100_000, rowsPerSec, learnedFirstPoll: 'before-end', now: early.now, sleep: early.sleep });
    assert.equal(early.polls.length, 2, JSON.stringify(early.polls));
    const late = virtualJob(spec);
    await waitForJob(late.conn, 'ingest', 'x', { expectedRecords: 100_000, rowsPerSec, now: late.now, sleep: late.sleep });
    const earlyLag = early.polls[1].t - early.finish;
    const lateLag = late.polls[0].t - late.finish;
    assert.ok(earlyLag >= 0 && earlyLag < lateLag, `${earlyLag} ms vs ${lateLag} ms after the end`);
    assert.ok(earlyLag < 0.05 * early.finish, `${earlyLag} ms after the end of a ${early.finish} ms job`);
  });

  it('measures close → end from the job\'s own timestamps less the client-side upload time (no clock mixing)', () => {
    // Created 17:40:12, ended 17:40:42 (server); the client spent 10 s between create and close (its clock).
    assert.equal(closeToEndMs({ createdDate: '2024-03-05T17:40:12.000+0000', systemModstamp: '2024-03-05T17:40:42.000+0000' }, 1_000_000, 1_010_000), 20_000);
    assert.equal(closeToEndMs({ createdDate: '2024-03-05T17:40:12.000+0000' }, 0, 0), undefined);
  });

  it('without a size (query jobs) it polls at once and backs off', async () => {
    const job = virtualJob({ rows: 1000, queuedMs: 3000, rowsPerSec: 1000 });
    await waitForJob(job.conn, 'query', 'x', { now: job.now, sleep: job.sleep });
    assert.equal(job.polls[0].t, 0);
    const gaps = job.polls.slice(1).map((p, i) => p.t - job.polls[i].t);
    assert.ok(gaps.every((g, i) => i === 0 || g >= gaps[i - 1]), JSON.stringify(gaps));
    assert.ok(job.now() >= job.finish);
  });

  it('wait: polls once more at the deadline, then reports the job still running', async () => {
    const job = virtualJob({ rows: 100_000, queuedMs: 0, rowsPerSec: 100 });
    await assert.rejects(waitForJob(job.conn, 'ingest', 'x', { expectedRecords: 100_000, wait: 45_000, now: job.now, sleep: job.sleep }), /still InProgress after waiting 45 s/);
    assert.equal(job.polls.at(-1)!.t, 45_000);
  });
});

describe('bulk ingest API calls', () => {
  it('one run: describe once per object per client, one or two polls, only the result files that have rows', async () => {
    const org = await bulkOrg();
    const calls: string[] = [];
    const sf = new SalesforceClient({
      credentials: { kind: 'clientCredentials', instanceUrl: BASE, clientId: org.emu.org.clientId, clientSecret: org.emu.org.clientSecret },
      fetch: (i, init) => {
        const req = new Request(i, init);
        const path = new URL(req.url).pathname.replace(/^\/services\/data\/v[\d.]+/, '').replace(/750\w+/, 'ID');
        calls.push(`${req.method} ${path}`);
        return org.emu.fetch(req);
      },
    });
    const count = (key: string) => calls.filter((c) => c === key).length;
    const input = Array.from({ length: 3000 }, (_, i) => ({ Name: `Poll ${i}`, External_Id__c: `P-${i}` }));
    let n = 0;
    for await (const r of sf.bulk.ingest('Account', 'insert', input)) assert.ok(r.success && r.index === n++);
    assert.equal(n, 3000);
    const polls = count('GET /jobs/ingest/ID');
    assert.ok(polls >= 1 && polls <= 2, `${polls} polls: ${calls.join(', ')}`);
    assert.equal(count('GET /sobjects/Account/describe'), 1);
    assert.equal(count('GET /jobs/ingest/ID/successfulResults'), 1);
    assert.equal(count('GET /jobs/ingest/ID/failedResults'), 0);
    assert.equal(count('GET /jobs/ingest/ID/unprocessedrecords'), 0);
    assert.equal(count('GET /limits'), 0, 'the governor reads the first response, not /limits');
    const api = calls.filter((c) => !c.includes('oauth2'));
    assert.equal(api.length, 1 + 4 + polls, calls.join(', '));

    // A second run of the same client on the same object: no describe; a failed row brings its file, only it.
    calls.length = 0;
    const res: boolean[] = [];
    for await (const r of sf.bulk.ingest('Account', 'upsert', [{ External_Id__c: 'P-1', Name: 'Renamed' }, { External_Id__c: 'P-new', Name: null }], { externalIdField: 'External_Id__c' })) res.push(r.success);
    assert.deepEqual(res, [true, false]);
    assert.equal(count('GET /sobjects/Account/describe'), 0);
    assert.equal(count('GET /jobs/ingest/ID/successfulResults'), 1);
    assert.equal(count('GET /jobs/ingest/ID/failedResults'), 1);
    assert.equal(count('GET /jobs/ingest/ID/unprocessedrecords'), 0);
    org.close();
  });
});

/** `/limits` and `/limits/recordCount` (§3): shape, API usage in step with Sforce-Limit-Info, Bulk counters. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BULK_LIMITS, DATA_STORAGE_MB, STATIC_LIMITS } from '../../src/emulator/rest/limits.ts';
import { seedOrg } from '../../src/emulator/seed/index.ts';
import { testOrg } from '../helpers/emulator.ts';
import { bulkOrg, runJob, waitFinal } from './bulk-helpers.ts';

type Limits = Record<string, { Max: number; Remaining: number } & Record<string, unknown>>;

describe('/limits', () => {
  test('every entry is {Max, Remaining}; DailyApiRequests agrees with Sforce-Limit-Info on the same response', async () => {
    const org = await testOrg({ faults: { ...(await import('../../src/emulator/faults.ts')).DEFAULT_FAULTS, dailyLimit: 500 } });
    await org.api('/sobjects');
    await org.api('/sobjects/Account/describe');
    const res = await org.api('/limits');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json;charset=UTF-8');
    const info = /api-usage=(\d+)\/(\d+)/.exec(res.headers.get('sforce-limit-info') ?? '');
    assert.ok(info);
    const body = (await res.json()) as Limits;
    assert.deepEqual(Object.keys(body), Object.keys(body).slice().sort((a, b) => a.localeCompare(b)));
    for (const [name, l] of Object.entries(body)) {
      assert.equal(typeof l.Max, 'number', name);
      assert.equal(typeof l.Remaining, 'number', name);
    }
    for (const name of [...Object.keys(STATIC_LIMITS), ...Object.keys(BULK_LIMITS), 'DailyApiRequests', 'DataStorageMB', 'PermissionSets']) assert.ok(body[name], name);
    assert.equal(body.DailyApiRequests.Max, 500);
    assert.equal(body.DailyApiRequests.Max, Number(info[2]));
    assert.equal(body.DailyApiRequests.Remaining, 500 - Number(info[1]));
    assert.equal(Number(info[1]), 3);
    assert.deepEqual(body.PermissionSets.CreateCustom, { Max: 1000, Remaining: 998 });
    org.close();
  });

  test('the dailyLimit fault changes Max at runtime and /limits counts down to 0', async () => {
    const org = await testOrg();
    const set = await org.emu.request('/__emulator/faults', { method: 'POST', body: 'dailyLimit=3' });
    assert.equal(set.status, 200);
    await org.api('/sobjects');
    await org.api('/sobjects');
    const last = (await (await org.api('/limits')).json()) as Limits;
    assert.deepEqual({ Max: last.DailyApiRequests.Max, Remaining: last.DailyApiRequests.Remaining }, { Max: 3, Remaining: 0 });
    const refused = await org.api('/limits');
    assert.equal(refused.status, 403);
    await org.emu.request('/__emulator/faults', { method: 'POST', body: '{"dailyLimit": 1000}' });
    const body = (await (await org.api('/limits')).json()) as Limits;
    assert.equal(body.DailyApiRequests.Max, 1000);
    assert.equal(body.DailyApiRequests.Remaining, 1000 - org.emu.org.apiUsage);
    org.close();
  });

  test('Bulk ingest batches and query jobs are counted', async () => {
    const org = await bulkOrg();
    const before = (await (await org.api('/limits')).json()) as Limits;
    assert.equal(before.DailyBulkApiBatches.Remaining, 15_000);
    assert.equal(before.DailyBulkV2QueryJobs.Remaining, 10_000);
    const done = await runJob(org, { object: 'Account', operation: 'insert' }, 'Name\nA1\nA2\n');
    assert.equal(done.state, 'JobComplete');
    const created = await org.api('/jobs/query', { method: 'POST', json: { operation: 'query', query: 'SELECT Id FROM Account' } });
    assert.equal(created.status, 200);
    const queryJob = (await created.json()) as { id: string };
    await waitFinal(org, 'query', queryJob.id);
    const after = (await (await org.api('/limits')).json()) as Limits;
    assert.equal(after.DailyBulkApiBatches.Remaining, 15_000 - 1);
    assert.equal(after.DailyBulkV2QueryJobs.Remaining, 10_000 - 1);
    org.close();
  });

  test('DataStorageMB follows the record count at about 2 KB per record', async () => {
    const org = await testOrg();
    await seedOrg(org.emu.org, 'Account=3000');
    const stats = (await (await org.emu.request('/__emulator/stats')).json()) as { records: Record<string, number> };
    const records = Object.entries(stats.records).filter(([name]) => !name.endsWith('ChangeEvent')).reduce((n, [, c]) => n + c, 0);
    assert.ok(records >= 3000);
    const body = (await (await org.api('/limits')).json()) as Limits;
    assert.deepEqual(body.DataStorageMB, { Max: DATA_STORAGE_MB, Remaining: DATA_STORAGE_MB - Math.ceil((records * 2) / 1024) });
    org.close();
  });

  test('recordCount counts live records of the named objects', async () => {
    const org = await testOrg();
    for (const name of ['A', 'B', 'C']) await org.api('/sobjects/Account', { method: 'POST', json: { Name: name } });
    const del = (await (await org.api('/sobjects/Account', { method: 'POST', json: { Name: 'gone' } })).json()) as { id: string };
    await org.api(`/sobjects/Account/${del.id}`, { method: 'DELETE' });
    const res = await org.api('/limits/recordCount?sObjects=Account,Contact,NoSuchObject');
    assert.deepEqual(await res.json(), { sObjects: [{ count: 3, name: 'Account' }, { count: 0, name: 'Contact' }] });
    const all = (await (await org.api('/limits/recordCount')).json()) as { sObjects: { name: string; count: number }[] };
    assert.ok(all.sObjects.some((e) => e.name === 'Account' && e.count === 3));
    assert.ok(all.sObjects.every((e) => e.count > 0));
    org.close();
  });
});

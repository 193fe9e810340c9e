/** The admin API under `/__emulator/`: reset (wipe and re-seed), faults (merge / replace), clock, stats. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { seedOrg } from '../../src/emulator/seed/index.ts';
import { testOrg } from '../helpers/emulator.ts';

type Query = { totalSize: number; records: { Id: string; Name: string }[] };

describe('/__emulator/reset', () => {
  test('wipes data and re-seeds as started (same IDs), resets usage; sessions survive unless asked', async () => {
    const org = await testOrg();
    await seedOrg(org.emu.org, 'Account=5,Contact=5');
    const q = async (soql: string) => (await (await org.api(`/query?q=${encodeURIComponent(soql)}`)).json()) as Query;
    const before = await q('SELECT Id, Name FROM Account ORDER BY Id');
    assert.equal(before.totalSize, 5);
    const extra = (await (await org.api('/sobjects/Account', { method: 'POST', json: { Name: 'Extra' } })).json()) as { id: string };
    await org.api(`/sobjects/Account/${before.records[0].Id}`, { method: 'DELETE' });
    org.emu.org.bumpLimit('DailyBulkV2QueryJobs', 2);

    const res = await org.emu.request('/__emulator/reset', { method: 'POST' });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { reset: boolean; seed: string; seeded: string; sessionsCleared: boolean };
    assert.equal(body.reset, true);
    assert.equal(body.seed, 'Account=5,Contact=5');
    assert.equal(body.sessionsCleared, false);
    assert.equal(org.emu.org.apiUsage, 0);
    assert.equal(org.emu.org.limitUsage('DailyBulkV2QueryJobs'), 0);

    const after = await q('SELECT Id, Name FROM Account ORDER BY Id');
    assert.deepEqual(after.records.map((r) => [r.Id, r.Name]), before.records.map((r) => [r.Id, r.Name]));
    assert.equal((await org.api(`/sobjects/Account/${extra.id}`)).status, 404);
    assert.equal((await q('SELECT COUNT() FROM Contact')).totalSize, 5);
    const recycle = (await (await org.api(`/queryAll?q=${encodeURIComponent('SELECT Id FROM Account WHERE IsDeleted = true')}`)).json()) as Query;
    assert.equal(recycle.totalSize, 0);
    // The admin user is kept with its ID, and new users do not collide with it.
    const me = (await (await org.api(`/sobjects/User/${org.emu.org.adminUserId}`)).json()) as { Username: string };
    assert.equal(me.Username, 'admin@emulator.sfbridge.dev');
    org.close();
  });

  test('a seed can be chosen; sessions:true logs every client out', async () => {
    const org = await testOrg();
    await seedOrg(org.emu.org, 'Account=3');
    const res = await org.emu.request('/__emulator/reset', { method: 'POST', body: '{"seed":"none","sessions":true}' });
    assert.equal(res.status, 200);
    assert.equal((await org.api('/sobjects')).status, 401);
    const rows = org.emu.org.store.prepare('SELECT COUNT(*) AS n FROM Account').get() as { n: number };
    assert.equal(Number(rows.n), 0);
    const bad = await org.emu.request('/__emulator/reset', { method: 'POST', body: 'not json' });
    assert.equal(bad.status, 400);
    const badSeed = await org.emu.request('/__emulator/reset', { method: 'POST', body: '{"seed":"bogus"}' });
    assert.equal(badSeed.status, 400);
    assert.match(((await badSeed.json()) as { error: string }).error, /not understood/);
    org.close();
  });
});

describe('/__emulator/faults, clock, stats', () => {
  test('POST merges, PUT replaces, GET reads; a bad spec is a 400 naming the problem', async () => {
    const org = await testOrg();
    const post = (method: string, body: string) => org.emu.request('/__emulator/faults', { method, body });
    await post('POST', 'latency=5');
    await post('POST', '{"http503": 0.5}');
    let now = (await (await org.emu.request('/__emulator/faults')).json()) as Record<string, number>;
    assert.equal(now.latency, 5);
    assert.equal(now.http503, 0.5);
    await post('PUT', 'lockrow=0.25');
    now = (await (await org.emu.request('/__emulator/faults')).json()) as Record<string, number>;
    assert.deepEqual([now.latency, now.http503, now.lockrow, now.dailyLimit], [0, 0, 0.25, 100000]);
    const bad = await post('POST', 'reset=7');
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: string }).error, /probability between 0 and 1/);
    org.close();
  });

  test('clock moves and stats count records and requests', async () => {
    const org = await testOrg();
    const set = await org.emu.request('/__emulator/clock', { method: 'POST', body: '{"set":"2024-03-05T00:00:00Z","freeze":true}' });
    assert.deepEqual(await set.json(), { now: '2024-03-05T00:00:00.000Z' });
    const adv = await org.emu.request('/__emulator/clock', { method: 'POST', body: '{"advance":60000}' });
    assert.deepEqual(await adv.json(), { now: '2024-03-05T00:01:00.000Z' });
    await org.api('/sobjects/Account', { method: 'POST', json: { Name: 'Counted' } });
    const stats = (await (await org.emu.request('/__emulator/stats')).json()) as { records: Record<string, number>; apiUsage: number; requests: number };
    assert.equal(stats.records.Account, 1);
    assert.equal(stats.apiUsage, 1);
    assert.ok(stats.requests >= 3);
    org.close();
  });
});

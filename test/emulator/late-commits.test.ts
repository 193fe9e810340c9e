/**
 * commitDelay on existing records: an update, delete or undelete that commits late leaves the record's last
 * committed version visible until it commits, as on Salesforce (a record never vanishes from queries, counts
 * or Id listings while a change of it commits), and then appears stamped as when it was made.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { testOrg, type TestOrg } from '../helpers/emulator.ts';

const T0 = Date.UTC(2024, 0, 1);

async function soql(org: TestOrg, q: string, all = false): Promise<{ totalSize: number; records: Array<Record<string, unknown>> }> {
  const res = await org.api(`/${all ? 'queryAll' : 'query'}?q=${encodeURIComponent(q)}`);
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as { totalSize: number; records: Array<Record<string, unknown>> };
}

async function setup(): Promise<{ org: TestOrg; id: string }> {
  // random 0.999: every late commit takes (almost) the whole delay.
  const org = await testOrg({ random: () => 0.999 });
  org.emu.org.clock.set(T0, true);
  const res = await org.api('/sobjects/Account', { method: 'POST', json: { Name: 'Before' } });
  const { id } = (await res.json()) as { id: string };
  org.emu.org.clock.advance(1000);
  org.emu.org.faults.settings.commitDelay = 5000;
  return { org, id };
}

describe('late commits of existing records (commitDelay)', () => {
  test('an update: the old version stays visible until the commit, then the new one, stamped when it was made', async () => {
    const { org, id } = await setup();
    const patched = await org.api(`/sobjects/Account/${id}`, { method: 'PATCH', json: { Name: 'After' } });
    assert.equal(patched.status, 204);
    const madeAt = org.emu.org.clock.now();
    org.emu.org.clock.advance(4000);
    const during = await soql(org, 'SELECT Id, Name, SystemModstamp FROM Account');
    assert.equal(during.totalSize, 1, 'the record does not vanish while its update commits');
    assert.equal(during.records[0].Name, 'Before');
    assert.equal((await soql(org, 'SELECT COUNT() FROM Account')).totalSize, 1);
    org.emu.org.clock.advance(1000);
    const after = await soql(org, 'SELECT Id, Name, SystemModstamp FROM Account');
    assert.equal(after.records[0].Name, 'After');
    assert.equal(Date.parse(String(after.records[0].SystemModstamp).replace('+0000', 'Z')), madeAt, 'stamped when it was made, not when it committed');
    org.close();
  });

  test('a delete: live until the commit, then in the recycle bin', async () => {
    const { org, id } = await setup();
    assert.equal((await org.api(`/sobjects/Account/${id}`, { method: 'DELETE' })).status, 204);
    org.emu.org.clock.advance(4000);
    assert.equal((await soql(org, 'SELECT Id FROM Account')).totalSize, 1);
    org.emu.org.clock.advance(1000);
    assert.equal((await soql(org, 'SELECT Id FROM Account')).totalSize, 0);
    const bin = await soql(org, 'SELECT Id, IsDeleted FROM Account', true);
    assert.equal(bin.records[0].IsDeleted, true);
    org.close();
  });

  test('a second write to the record waits for the first to commit (its row lock): both apply, in order', async () => {
    const { org, id } = await setup();
    await org.api(`/sobjects/Account/${id}`, { method: 'PATCH', json: { Name: 'First', Industry: 'Banking' } });
    org.emu.org.faults.settings.commitDelay = 0;
    await org.api(`/sobjects/Account/${id}`, { method: 'PATCH', json: { Name: 'Second' } });
    const now = await soql(org, 'SELECT Name, Industry FROM Account');
    assert.equal(now.records[0].Name, 'Second');
    assert.equal(now.records[0].Industry, 'Banking');
    org.close();
  });

  test('a Composite allOrNone that rolls back drops the late changes it made', async () => {
    const { org, id } = await setup();
    const res = await org.api('/composite', {
      method: 'POST',
      json: {
        allOrNone: true,
        compositeRequest: [
          { method: 'PATCH', url: `/services/data/v62.0/sobjects/Account/${id}`, referenceId: 'ok', body: { Name: 'Rolled back' } },
          { method: 'PATCH', url: '/services/data/v62.0/sobjects/Account/001000000000000AAA', referenceId: 'bad', body: { Name: 'x' } },
        ],
      },
    });
    assert.equal(res.status, 200);
    org.emu.org.clock.advance(10_000);
    assert.equal((await soql(org, 'SELECT Name FROM Account')).records[0].Name, 'Before');
    org.close();
  });

  test('getUpdated pins latestDateCovered below an update still committing', async () => {
    const { org, id } = await setup();
    org.emu.org.clock.advance(2 * 60_000);
    await org.api(`/sobjects/Account/${id}`, { method: 'PATCH', json: { Name: 'After' } });
    const stamp = org.emu.org.clock.now();
    org.emu.org.clock.advance(2000);
    const start = new Date(T0 - 10 * 60_000).toISOString();
    const end = new Date(T0 + 30 * 60_000).toISOString();
    const res = await org.api(`/sobjects/Account/updated/?start=${encodeURIComponent(start)}&end=${encodeURIComponent(end)}`);
    const body = (await res.json()) as { ids: string[]; latestDateCovered: string };
    assert.ok(Date.parse(body.latestDateCovered.replace('+0000', 'Z')) <= stamp, `covered ${body.latestDateCovered} stops before the pending update at ${new Date(stamp).toISOString()}`);
    org.close();
  });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testOrg, type TestOrg } from '../helpers/emulator.ts';
import { getUpdated, replicationWindow } from '../../src/emulator/rest/replication.ts';
import { hardDeleteRecord, undeleteRecord } from '../../src/emulator/dml.ts';
import { SfError } from '../../src/emulator/errors.ts';
import { nameField, systemFields } from '../../src/emulator/schema/dsl.ts';

const MIN = 60_000;
const DAY = 24 * 60 * MIN;
/** A frozen "now" 30 seconds into a minute, so second-truncation is observable. */
const T0 = Math.floor(Date.now() / MIN) * MIN - 60 * MIN + 30_000;
const iso = (ms: number) => new Date(ms).toISOString();
const sf = (ms: number) => iso(ms).replace('Z', '+0000');

async function create(org: TestOrg, name: string): Promise<string> {
  const res = await org.api('/sobjects/Account', { method: 'POST', json: { Name: name } });
  return ((await res.json()) as { id: string }).id;
}

async function get(org: TestOrg, kind: 'updated' | 'deleted', start: number | string, end: number | string, object = 'Account'): Promise<{ status: number; body: any }> {
  const s = typeof start === 'number' ? encodeURIComponent(iso(start)) : start;
  const e = typeof end === 'number' ? encodeURIComponent(iso(end)) : end;
  const res = await org.api(`/sobjects/${object}/${kind}/?start=${s}&end=${e}`);
  return { status: res.status, body: await res.json() };
}

test('getUpdated: SystemModstamp window, seconds ignored, latestDateCovered never past end or now', async () => {
  const org = await testOrg();
  const clock = org.emu.org.clock;
  clock.set(T0, true);
  const a = await create(org, 'A');
  clock.advance(2 * MIN);
  const b = await create(org, 'B');
  clock.advance(3 * MIN);
  await org.api(`/sobjects/Account/${a}`, { method: 'PATCH', json: { Industry: 'Banking' } });
  clock.advance(5 * MIN); // now = T0 + 10 min

  // [T0+15s → T0, T0+4m59s → T0+4m): A's modstamp moved to T0+5m, so only B.
  const early = await get(org, 'updated', T0 + 15_000, T0 + 4 * MIN + 29_000);
  assert.equal(early.status, 200);
  assert.deepEqual(early.body, { ids: [b], latestDateCovered: sf(T0 - 30_000 + 4 * MIN) });

  const all = await get(org, 'updated', T0 - 30_000, T0 + 60 * MIN);
  assert.deepEqual(all.body.ids, [b, a]);
  // End is in the future: coverage stops at the current minute.
  assert.equal(all.body.latestDateCovered, sf(T0 - 30_000 + 10 * MIN));
  org.close();
});

test('getUpdated/getDeleted reject reversed or sub-minute windows, old starts, bad or missing dates', async () => {
  const org = await testOrg();
  org.emu.org.clock.set(T0, true);
  const sameMinute = await get(org, 'updated', T0 + 1_000, T0 + 20_000);
  assert.equal(sameMinute.status, 400);
  assert.deepEqual(sameMinute.body, [{ message: 'startDate must chronologically precede endDate by more than one minute', errorCode: 'INVALID_REPLICATION_DATE' }]);
  assert.equal((await get(org, 'updated', T0 + 10 * MIN, T0)).status, 400);
  assert.equal((await get(org, 'updated', T0 - 31 * DAY, T0)).status, 400);
  assert.equal((await get(org, 'updated', T0 - 29 * DAY, T0)).status, 200);
  const oldDelete = await get(org, 'deleted', T0 - 16 * DAY, T0);
  assert.equal(oldDelete.status, 400);
  assert.equal(oldDelete.body[0].errorCode, 'INVALID_REPLICATION_DATE');
  assert.equal((await get(org, 'deleted', T0 - 14 * DAY, T0)).status, 200);
  assert.equal((await get(org, 'updated', 'nope', T0)).status, 400);
  const missing = await org.api('/sobjects/Account/updated/?end=2024-01-01T00:00:00Z');
  assert.equal(missing.status, 400);
  org.close();
});

test('replication accepts an unencoded +hh:mm offset (which arrives as a space)', async () => {
  const org = await testOrg();
  org.emu.org.clock.set(T0, true);
  const start = iso(T0 - 5 * MIN).replace('Z', '+00:00');
  const end = iso(T0).replace('Z', '+00:00');
  const res = await org.api(`/sobjects/Account/updated?start=${start}&end=${end}`);
  assert.equal(res.status, 200);
  org.close();
});

test('getDeleted: delete log window, undelete removes, purge moves earliestDateAvailable', async () => {
  const org = await testOrg();
  const o = org.emu.org;
  o.clock.set(T0, true);
  const a = await create(org, 'A');
  const b = await create(org, 'B');
  const c = await create(org, 'C');
  o.clock.advance(MIN);
  await org.api(`/sobjects/Account/${a}`, { method: 'DELETE' });
  await org.api(`/sobjects/Account/${b}`, { method: 'DELETE' });
  await org.api(`/sobjects/Account/${c}`, { method: 'DELETE' });
  o.clock.advance(2 * MIN);
  const def = o.schema.get('Account')!;
  undeleteRecord(o, def, b);
  const beforePurge = await get(org, 'deleted', T0 - 10 * MIN, T0 + 10 * MIN);
  assert.equal(beforePurge.status, 200);
  assert.deepEqual(Object.keys(beforePurge.body), ['deletedRecords', 'earliestDateAvailable', 'latestDateCovered']);
  assert.deepEqual(beforePurge.body.deletedRecords, [{ id: a, deletedDate: sf(T0 + MIN) }, { id: c, deletedDate: sf(T0 + MIN) }]);
  assert.equal(beforePurge.body.earliestDateAvailable, sf(Math.floor((T0 + 3 * MIN - 15 * DAY) / MIN) * MIN));
  assert.equal(beforePurge.body.latestDateCovered, sf(T0 - 30_000 + 3 * MIN));

  // Emptying the recycle bin: purged deletes are gone and earliestDateAvailable tells the client so.
  hardDeleteRecord(o, def, c);
  const afterPurge = await get(org, 'deleted', T0 - 10 * MIN, T0 + 10 * MIN);
  assert.deepEqual(afterPurge.body.deletedRecords, [{ id: a, deletedDate: sf(T0 + MIN) }]);
  assert.equal(afterPurge.body.earliestDateAvailable, sf(T0 - 30_000 + MIN));

  // getUpdated does not list deleted records; the undeleted one shows once its minute is covered.
  o.clock.advance(MIN);
  const updated = await get(org, 'updated', T0 - 10 * MIN, T0 + 10 * MIN);
  assert.deepEqual(updated.body.ids, [b]);
  org.close();
});

test('getUpdated withholds writes that are not yet visible and pins latestDateCovered before them', async () => {
  const org = await testOrg({ random: () => 0.99 });
  const o = org.emu.org;
  o.clock.set(T0, true);
  const a = await create(org, 'visible');
  o.clock.advance(2 * MIN);
  o.faults.settings.commitDelay = 5 * MIN;
  const b = await create(org, 'committing'); // stamped T0+2m, visible only ~T0+7m
  o.faults.settings.commitDelay = 0;
  o.clock.advance(2 * MIN);
  const during = await get(org, 'updated', T0 - 10 * MIN, T0 + 30 * MIN);
  assert.deepEqual(during.body, { ids: [a], latestDateCovered: sf(T0 - 30_000 + 2 * MIN) });
  o.clock.advance(5 * MIN);
  const after = await get(org, 'updated', during.body.latestDateCovered.replace('+0000', 'Z'), iso(T0 + 30 * MIN));
  assert.deepEqual(after.body.ids, [b]);
  org.close();
});

test('replication: EXCEEDED_ID_LIMIT above the ID cap', async () => {
  const org = await testOrg();
  const o = org.emu.org;
  o.clock.set(T0, true);
  await create(org, 'A');
  await create(org, 'B');
  o.clock.advance(2 * MIN);
  const def = o.schema.get('Account')!;
  const w = replicationWindow(o, def, iso(T0 - MIN), iso(T0 + MIN), 30);
  assert.equal(getUpdated(o, def, w, 2).ids.length, 2);
  assert.throws(() => getUpdated(o, def, w, 1), (err: unknown) => err instanceof SfError && err.errorCode === 'EXCEEDED_ID_LIMIT' && err.status === 400);
  org.close();
});

test('replication on a non-replicateable object is refused; unknown object is 404', async () => {
  const org = await testOrg({
    objects: [{ name: 'Audit__c', label: 'Audit', labelPlural: 'Audits', keyPrefix: 'a01', custom: true, replicateable: false, fields: [...systemFields(), nameField(80)] }],
  });
  org.emu.org.clock.set(T0, true);
  const res = await get(org, 'updated', T0 - 5 * MIN, T0, 'Audit__c');
  assert.equal(res.status, 400);
  assert.equal(res.body[0].errorCode, 'CANNOT_REPLICATE');
  assert.equal((await get(org, 'deleted', T0 - 5 * MIN, T0, 'Nope__c')).status, 404);
  org.close();
});

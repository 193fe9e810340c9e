import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testOrg, V, type TestOrg } from '../helpers/emulator.ts';
import { runJob } from './bulk-helpers.ts';
import { insertRecord, undeleteRecord } from '../../src/emulator/dml.ts';
import { schemaFromData } from '../../src/emulator/schema/custom.ts';
import type { BusEvent, ChangeEventBody, PlatformEventBody } from '../../src/emulator/events/bus.ts';

function changes(org: TestOrg, channel = '/data/AccountChangeEvent', after = 0): (BusEvent & { body: ChangeEventBody })[] {
  return org.emu.org.bus.read(channel, after, 1000) as (BusEvent & { body: ChangeEventBody })[];
}

async function create(org: TestOrg, object: string, body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<string> {
  const res = await org.api(`/sobjects/${object}`, { method: 'POST', json: body, headers });
  assert.equal(res.status, 201, await res.clone().text());
  return ((await res.json()) as { id: string }).id;
}

test('REST create, update, delete and undelete each append one change event with a real header', async () => {
  const org = await testOrg();
  const id = await create(org, 'Account', { Name: 'Globex', BillingCity: 'Leeds', Industry: 'Energy' }, { 'sforce-call-options': 'client=acme-sync' });
  let [ev] = changes(org);
  const h = ev.body.header;
  assert.equal(h.entityName, 'Account');
  assert.deepEqual(h.recordIds, [id]);
  assert.equal(h.changeType, 'CREATE');
  assert.equal(h.changeOrigin, 'com/salesforce/api/rest/62.0;client=acme-sync');
  assert.match(h.transactionKey, /^[0-9a-f-]{36}$/);
  assert.equal(h.sequenceNumber, 1);
  assert.equal(h.commitUser, org.emu.org.adminUserId);
  assert.deepEqual(h.changedFields, []);
  assert.equal(ev.body.fields.Name, 'Globex');
  assert.equal(ev.body.fields.BillingCity, 'Leeds');
  assert.equal(typeof ev.body.fields.CreatedDate, 'number');
  assert.equal(ev.body.fields.OwnerId, org.emu.org.adminUserId);
  assert.equal('SystemModstamp' in ev.body.fields || 'IsDeleted' in ev.body.fields || 'Id' in ev.body.fields, false);
  assert.equal(ev.channel, '/data/AccountChangeEvent');

  // Update: only the changed fields (an unchanged value is not a change), nulls listed in nulledFields.
  const patch = await org.api(`/sobjects/Account/${id}`, { method: 'PATCH', json: { Name: 'Globex PLC', BillingCity: 'Leeds', Industry: null } });
  assert.equal(patch.status, 204);
  ev = changes(org, '/data/AccountChangeEvent', ev.replayId)[0];
  assert.equal(ev.body.header.changeType, 'UPDATE');
  assert.equal(ev.body.header.changeOrigin, 'com/salesforce/api/rest/62.0');
  assert.deepEqual(ev.body.header.changedFields.sort(), ['Industry', 'LastModifiedDate', 'Name']);
  assert.deepEqual(ev.body.header.nulledFields, ['Industry']);
  assert.deepEqual(Object.keys(ev.body.fields).sort(), ['LastModifiedDate', 'Name']);
  assert.notEqual(ev.body.header.transactionKey, h.transactionKey);
  assert.ok(ev.body.header.commitNumber > h.commitNumber);

  assert.equal((await org.api(`/sobjects/Account/${id}`, { method: 'DELETE' })).status, 204);
  const del = changes(org, '/data/AccountChangeEvent', ev.replayId)[0];
  assert.equal(del.body.header.changeType, 'DELETE');
  assert.deepEqual(del.body.fields, {});

  undeleteRecord(org.emu.org, org.emu.org.schema.get('Account')!, id);
  const und = changes(org, '/data/AccountChangeEvent', del.replayId)[0];
  assert.equal(und.body.header.changeType, 'UNDELETE');
  assert.equal(und.body.fields.Name, 'Globex PLC');
  assert.equal(und.body.header.changeOrigin, '');

  const all = changes(org);
  assert.equal(all.length, 4);
  for (let i = 1; i < all.length; i++) assert.ok(all[i].replayId > all[i - 1].replayId);
  // The all-changes channel carries them too; objects without CDC (Task) add nothing.
  await create(org, 'Task', { Subject: 'Call' });
  assert.equal(changes(org, '/data/ChangeEvents').length, 4);
  org.close();
});

test('one Composite request is one transaction; a rolled-back allOrNone request publishes nothing', async () => {
  const org = await testOrg();
  const ok = await org.api('/composite', {
    method: 'POST',
    json: {
      allOrNone: true,
      compositeRequest: [
        { method: 'POST', url: `${V}/sobjects/Account`, referenceId: 'a', body: { Name: 'A1' } },
        { method: 'POST', url: `${V}/sobjects/Contact`, referenceId: 'c', body: { LastName: 'C1', AccountId: '@{a.id}' } },
        { method: 'PATCH', url: `${V}/sobjects/Account/@{a.id}`, referenceId: 'u', body: { Name: 'A2' } },
      ],
    },
  });
  assert.equal(ok.status, 200);
  const evs = changes(org, '/data/ChangeEvents');
  assert.deepEqual(evs.map((e) => [e.body.header.entityName, e.body.header.changeType, e.body.header.sequenceNumber]), [['Account', 'CREATE', 1], ['Contact', 'CREATE', 2], ['Account', 'UPDATE', 3]]);
  assert.equal(new Set(evs.map((e) => e.body.header.transactionKey)).size, 1);
  assert.equal(new Set(evs.map((e) => e.body.header.commitNumber)).size, 1);

  const tip = org.emu.org.bus.tip;
  const failed = await org.api('/composite', {
    method: 'POST',
    json: {
      allOrNone: true,
      compositeRequest: [
        { method: 'POST', url: `${V}/sobjects/Account`, referenceId: 'a', body: { Name: 'Rolled back' } },
        { method: 'POST', url: `${V}/sobjects/Contact`, referenceId: 'c', body: { FirstName: 'No last name' } },
      ],
    },
  });
  assert.equal(failed.status, 200);
  assert.equal(((await failed.json()) as { compositeResponse: { httpStatusCode: number }[] }).compositeResponse[1].httpStatusCode, 400);
  assert.equal(org.emu.org.bus.tip, tip);
  assert.equal(changes(org, '/data/ChangeEvents', tip).length, 0);
  org.close();
});

test('Collections: partial success publishes the saved records only, in one transaction', async () => {
  const org = await testOrg();
  const res = await org.api('/composite/sobjects', {
    method: 'POST',
    json: { allOrNone: false, records: [
      { attributes: { type: 'Account' }, Name: 'One' },
      { attributes: { type: 'Contact' }, FirstName: 'missing last name' },
      { attributes: { type: 'Account' }, Name: 'Three' },
    ] },
  });
  assert.equal(res.status, 200);
  const evs = changes(org, '/data/ChangeEvents');
  assert.deepEqual(evs.map((e) => e.body.fields.Name), ['One', 'Three']);
  assert.equal(evs[0].body.header.transactionKey, evs[1].body.header.transactionKey);

  const rolled = await org.api('/composite/sobjects', {
    method: 'POST',
    json: { allOrNone: true, records: [{ attributes: { type: 'Account' }, Name: 'Four' }, { attributes: { type: 'Contact' } }] },
  });
  assert.equal(rolled.status, 200);
  assert.equal(changes(org, '/data/ChangeEvents').length, 2);
  org.close();
});

test('Bulk API 2.0 ingest: events per record with the bulkapi origin, one transaction per chunk', async () => {
  const org = await testOrg();
  const job = await runJob(org, { object: 'Account', operation: 'insert' }, 'Name,Industry\nB1,Energy\nB2,\nB3,Retail\n');
  assert.equal(job.state, 'JobComplete');
  const evs = changes(org);
  assert.deepEqual(evs.map((e) => e.body.fields.Name), ['B1', 'B2', 'B3']);
  assert.equal(evs[0].body.header.changeOrigin, 'com/salesforce/api/bulkapi/62.0');
  assert.deepEqual(evs.map((e) => e.body.header.sequenceNumber), [1, 2, 3]);
  assert.equal(new Set(evs.map((e) => e.body.header.transactionKey)).size, 1);
  assert.equal('Industry' in evs[1].body.fields, false);
  org.close();
});

test('Bulk API 1.0 deletes publish DELETE events', async () => {
  const org = await testOrg();
  const id = await create(org, 'Account', { Name: 'Doomed' });
  const tip = org.emu.org.bus.tip;
  const session = { 'x-sfdc-session': org.token };
  const job = await org.emu.request('/services/async/62.0/job', { method: 'POST', headers: { ...session, 'content-type': 'application/json' }, body: JSON.stringify({ operation: 'delete', object: 'Account', contentType: 'CSV' }) });
  assert.equal(job.status, 201, await job.clone().text());
  const jobId = ((await job.json()) as { id: string }).id;
  const batch = await org.emu.request(`/services/async/62.0/job/${jobId}/batch`, { method: 'POST', headers: { ...session, 'content-type': 'text/csv' }, body: `Id\n${id}\n` });
  assert.equal(batch.status, 201, await batch.clone().text());
  let evs: ReturnType<typeof changes> = [];
  for (let i = 0; i < 200 && evs.length === 0; i++) {
    await new Promise((r) => setTimeout(r, 25));
    evs = changes(org, '/data/AccountChangeEvent', tip);
  }
  assert.equal(evs.length, 1);
  assert.equal(evs[0].body.header.changeType, 'DELETE');
  assert.deepEqual(evs[0].body.header.recordIds, [id]);
  assert.equal(evs[0].body.header.changeOrigin, 'com/salesforce/api/bulkapi/62.0');
  org.close();
});

test('CDC selection: schema file cdc flags, the cdc option, the admin API; change-event entities follow it', async () => {
  const objects = schemaFromData({ objects: [
    { name: 'Invoice__c', cdc: true, fields: [{ name: 'Amount__c', type: 'currency' }] },
    { name: 'Lead', cdc: false, fields: [] },
  ] });
  const org = await testOrg({ objects });
  assert.deepEqual(org.emu.org.bus.cdcObjects.sort(), ['Account', 'Case', 'Contact', 'Invoice__c', 'Opportunity']);
  assert.ok(org.emu.org.schema.get('Invoice__ChangeEvent'));
  assert.equal(org.emu.org.schema.get('LeadChangeEvent'), undefined);
  const inv = await create(org, 'Invoice__c', { Name: 'INV-1', Amount__c: 12.5 });
  const [ev] = changes(org, '/data/Invoice__ChangeEvent');
  assert.deepEqual(ev.body.header.recordIds, [inv]);
  assert.equal(ev.body.fields.Amount__c, 12.5);

  const put = await org.emu.request('/__emulator/cdc', { method: 'PUT', body: JSON.stringify({ objects: ['Lead'] }) });
  assert.deepEqual(await put.json(), { objects: ['Lead'] });
  assert.ok(org.emu.org.schema.get('LeadChangeEvent'));
  await create(org, 'Account', { Name: 'not captured' });
  await create(org, 'Lead', { LastName: 'Captured', Company: 'X' });
  assert.deepEqual(changes(org, '/data/ChangeEvents').map((e) => e.body.header.entityName), ['Invoice__c', 'Lead']);
  const bad = await org.emu.request('/__emulator/cdc', { method: 'PUT', body: JSON.stringify({ objects: ['Nope__c'] }) });
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { error: string }).error, /no object named Nope__c/);
  org.close();

  const all = await testOrg({ cdc: 'all' });
  assert.ok(all.emu.org.bus.cdcEnabled('Task'));
  assert.ok(all.emu.org.schema.get('TaskChangeEvent'));
  all.close();
});

test('platform events: REST and Collections publish onto /event/X__e after commit', async () => {
  const objects = schemaFromData({ objects: [{ name: 'Order_Placed__e', fields: [{ name: 'Order_Number__c', type: 'string', length: 20 }, { name: 'Total__c', type: 'currency' }] }] });
  const org = await testOrg({ objects });
  const res = await org.api('/sobjects/Order_Placed__e', { method: 'POST', json: { Order_Number__c: 'A-1', Total__c: 10 } });
  assert.equal(res.status, 201);
  const body = (await res.json()) as { id: string; success: boolean; errors: { statusCode: string; message: string; fields: string[] }[] };
  assert.equal(body.success, true);
  assert.equal(body.errors[0].statusCode, 'OPERATION_ENQUEUED');
  const [ev] = org.emu.org.bus.read('/event/Order_Placed__e', 0, 10) as (BusEvent & { body: PlatformEventBody })[];
  assert.equal(ev.body.uuid, body.errors[0].message);
  assert.equal(ev.body.fields?.Order_Number__c, 'A-1');
  assert.equal(ev.body.fields?.CreatedById, org.emu.org.adminUserId);
  assert.equal(ev.body.fields?.EventUuid, ev.body.uuid);

  const coll = await org.api('/composite/sobjects', { method: 'POST', json: { allOrNone: true, records: [{ attributes: { type: 'Order_Placed__e' }, Order_Number__c: 'A-2' }, { attributes: { type: 'Account' } }] } });
  assert.equal(coll.status, 200);
  assert.equal(org.emu.org.bus.read('/event/Order_Placed__e', 0, 10).length, 1, 'a rolled-back publish is not delivered');
  const unknown = await org.api('/sobjects/Order_Placed__e', { method: 'POST', json: { Nope__c: 1 } });
  assert.equal(unknown.status, 400);
  org.close();
});

test('retention: events older than 72 hours on the org clock are purged and their ids refused', async () => {
  const org = await testOrg();
  await create(org, 'Account', { Name: 'Old' });
  const old = org.emu.org.bus.tip;
  assert.equal(org.emu.org.bus.validReplayStart(old), old);
  org.emu.org.clock.advance(73 * 60 * 60 * 1000);
  // (The session expired with the clock move; DML directly is the same write path.)
  insertRecord(org.emu.org, org.emu.org.schema.get('Account')!, { Name: 'New' });
  assert.equal(org.emu.org.bus.validReplayStart(old - 1), null);
  assert.equal(org.emu.org.bus.validReplayStart(org.emu.org.bus.tip + 5), null);
  assert.deepEqual(changes(org).map((e) => e.body.fields.Name), ['New']);
  org.close();
});

test('durable: the log and its replay ids survive a restart of a file-backed org', async () => {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'sfb-events-'));
  const db = join(dir, 'org.db');
  const a = await testOrg({ db });
  await create(a, 'Account', { Name: 'Kept' });
  const tip = a.emu.org.bus.tip;
  a.close();
  const b = await testOrg({ db });
  assert.equal(b.emu.org.bus.tip, tip);
  assert.equal(changes(b)[0].body.fields.Name, 'Kept');
  await create(b, 'Account', { Name: 'After' });
  assert.ok(b.emu.org.bus.tip > tip);
  b.close();
  rmSync(dir, { recursive: true, force: true });
});

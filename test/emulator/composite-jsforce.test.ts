import assert from 'node:assert/strict';
import { test } from 'node:test';
import jsforce from 'jsforce';
import { serve } from '../../src/emulator/http/node-server.ts';
import { testOrg } from '../helpers/emulator.ts';

test('jsforce multi-record CRUD (sObject Collections) and updated/deleted against the emulator', async () => {
  const org = await testOrg();
  const server = await serve(org.emu.fetch, { port: 0, host: '127.0.0.1' });
  try {
    const conn = new jsforce.Connection({ instanceUrl: server.url, accessToken: org.token, version: '62.0' });
    const created = await conn.sobject('Account').create([{ Name: 'J1' }, { Name: 'J2' }], { allOrNone: true });
    assert.equal(created.length, 2);
    assert.ok(created.every((r) => r.success));
    const ids = created.map((r) => (r as { id: string }).id);
    const got = await conn.sobject('Account').retrieve(ids, { fields: ['Name'] });
    assert.deepEqual(got.map((r) => (r as { Name: string }).Name), ['J1', 'J2']);
    const updated = await conn.sobject('Account').update(ids.map((Id) => ({ Id, Industry: 'Banking' })));
    assert.ok(updated.every((r) => r.success));
    const failed = await conn.sobject('Account').create([{ Name: 'ok' }, { Industry: 'Banking' }], { allOrNone: true });
    assert.deepEqual(failed.map((r) => r.success), [false, false]);
    const start = new Date(Date.now() - 10 * 60_000).toISOString();
    const end = new Date(Date.now() + 10 * 60_000).toISOString();
    const destroyed = await conn.sobject('Account').destroy(ids);
    assert.ok(destroyed.every((r) => r.success));
    org.emu.org.clock.advance(2 * 60_000);
    const deleted = await conn.sobject('Account').deleted(start, end);
    assert.deepEqual(deleted.deletedRecords.map((d) => d.id).sort(), [...ids].sort());
    const upd = await conn.sobject('Account').updated(start, end);
    assert.deepEqual(upd.ids, []);
  } finally {
    await server.close();
    org.close();
  }
});

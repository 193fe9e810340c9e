/**
 * jsforce, unmodified, against the emulator over a real socket: the proof that a real client cannot tell it
 * from an org. Each test uses jsforce's public API only.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import jsforce from 'jsforce';
import { schemaFromData } from '../../src/emulator/schema/custom.ts';
import { servedOrg, type ServedOrg } from '../helpers/served.ts';

const CLIENT_ID = 'sfbridge-emulator';
const CLIENT_SECRET = 'sfbridge-emulator-secret';

describe('jsforce against the emulator', () => {
  let org: ServedOrg;
  let conn: jsforce.Connection;

  before(async () => {
    org = await servedOrg({
      objects: schemaFromData({ objects: [{ name: 'Account', fields: [{ name: 'External_Id__c', type: 'string', length: 50, externalId: true, unique: true }] }] }),
    });
    conn = new jsforce.Connection({ oauth2: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, loginUrl: org.url }, version: '62.0' });
    await conn.login('admin@emulator.sfbridge.dev', 'emulator');
  });
  after(() => org.close());

  test('OAuth2 username-password login establishes the session', () => {
    assert.equal(conn.instanceUrl, org.url);
    assert.match(conn.accessToken ?? '', /^00D/);
    assert.equal(conn.userInfo?.organizationId, org.emu.org.orgId);
    assert.equal(conn.userInfo?.id, org.emu.org.adminUserId);
  });

  test('OAuth2 client-credentials login', async () => {
    const cc = new jsforce.Connection({ oauth2: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, loginUrl: org.url }, version: '62.0' });
    const info = await cc.authorize({ grant_type: 'client_credentials' });
    assert.equal(info.organizationId, org.emu.org.orgId);
    const res = await cc.sobject('Account').create({ Name: 'Via client credentials' });
    assert.equal(res.success, true);
  });

  test('a bad password is rejected with invalid_grant', async () => {
    const bad = new jsforce.Connection({ oauth2: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, loginUrl: org.url }, version: '62.0' });
    await assert.rejects(bad.login('admin@emulator.sfbridge.dev', 'wrong'), (err: Error & { name: string }) => {
      assert.match(`${err.name} ${err.message}`, /invalid_grant|authentication failure/);
      return true;
    });
  });

  test('create, retrieve, update, destroy', async () => {
    const created = await conn.sobject('Account').create({ Name: 'jsforce Ltd', Industry: 'Technology' });
    assert.equal(created.success, true);
    const id = created.id!;
    const rec = (await conn.sobject('Account').retrieve(id)) as Record<string, unknown>;
    assert.equal(rec.Name, 'jsforce Ltd');
    assert.equal(rec.Id, id);
    const upd = await conn.sobject('Account').update({ Id: id, Industry: 'Retail' });
    assert.equal(upd.success, true);
    const after1 = (await conn.sobject('Account').retrieve(id)) as Record<string, unknown>;
    assert.equal(after1.Industry, 'Retail');
    const del = await conn.sobject('Account').destroy(id);
    assert.equal(del.success, true);
    await assert.rejects(conn.sobject('Account').retrieve(id), (err: Error & { errorCode?: string; name: string }) => {
      assert.equal(err.errorCode ?? err.name, 'ENTITY_IS_DELETED');
      return true;
    });
  });

  test('create reports a validation error the way jsforce surfaces it', async () => {
    await assert.rejects(conn.sobject('Contact').create({ FirstName: 'No last name' }), (err: Error & { errorCode?: string; name: string }) => {
      assert.equal(err.errorCode ?? err.name, 'REQUIRED_FIELD_MISSING');
      assert.match(err.message, /Required fields are missing: \[LastName\]/);
      return true;
    });
  });

  test('upsert by external ID inserts, then updates', async () => {
    const first = (await conn.sobject('Account').upsert({ Name: 'Upserted', External_Id__c: 'EXT-1' }, 'External_Id__c')) as { success: boolean; id?: string; created?: boolean };
    assert.equal(first.success, true);
    assert.equal(first.created, true);
    const second = (await conn.sobject('Account').upsert({ Name: 'Upserted again', External_Id__c: 'EXT-1' }, 'External_Id__c')) as { success: boolean; id?: string; created?: boolean };
    assert.equal(second.success, true);
    assert.equal(second.created, false);
    assert.equal(second.id, first.id);
  });

  test('describeGlobal and describe', async () => {
    const global = await conn.describeGlobal();
    const names = global.sobjects.map((s) => s.name);
    assert.ok(names.includes('Account') && names.includes('Contact'));
    const desc = await conn.sobject('Account').describe();
    assert.equal(desc.name, 'Account');
    assert.equal(desc.keyPrefix, '001');
    const billing = desc.fields.find((f) => f.name === 'BillingAddress');
    assert.equal(billing?.type, 'address');
    const ext = desc.fields.find((f) => f.name === 'External_Id__c');
    assert.equal(ext?.externalId, true);
    assert.ok(desc.childRelationships.some((c) => c.childSObject === 'Contact' && c.relationshipName === 'Contacts'));
  });

  test('an expired session is refreshed by re-login transparently', async () => {
    const s = new jsforce.Connection({ oauth2: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, loginUrl: org.url }, version: '62.0' });
    await s.login('admin@emulator.sfbridge.dev', 'emulator');
    const before1 = s.accessToken;
    await org.emu.request('/__emulator/sessions/expire', { method: 'POST' });
    const res = await s.sobject('Account').create({ Name: 'After expiry' });
    assert.equal(res.success, true);
    assert.notEqual(s.accessToken, before1);
  });
});

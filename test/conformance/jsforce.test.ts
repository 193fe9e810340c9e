/**
 * jsforce, unmodified, against the emulator over a real socket: the proof that a real client cannot tell it
 * from an org. Each test uses jsforce's public API only.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createPrivateKey } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import jsforce from 'jsforce';
import { schemaFromData } from '../../src/emulator/schema/custom.ts';
import { seedOrg } from '../../src/emulator/seed/index.ts';
import { servedOrg, type ServedOrg } from '../helpers/served.ts';

const CLIENT_ID = 'sfbridge-emulator';
const CLIENT_SECRET = 'sfbridge-emulator-secret';
const USERNAME = 'admin@emulator.sfbridge.dev';
const JWT_CERT = readFileSync(new URL('./fixtures/jwt-test.crt', import.meta.url), 'utf8');
const JWT_KEY = readFileSync(new URL('./fixtures/jwt-test.key', import.meta.url), 'utf8');
/** Seeded accounts: more than two REST pages, so paging and autoFetch are exercised. */
const SEEDED_ACCOUNTS = 2600;

/** Plays the browser on the emulator's approve page: load it, submit the form, return the callback URL. */
async function approveInBrowser(authorizationUrl: string, action: 'approve' | 'deny' = 'approve'): Promise<URL> {
  const page = await fetch(authorizationUrl);
  assert.equal(page.status, 200);
  const html = await page.text();
  const form = new URLSearchParams();
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) form.set(m[1], m[2].replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n))));
  form.set('username', USERNAME);
  form.set('password', 'emulator');
  form.set('action', action);
  const res = await fetch(new URL('/services/oauth2/authorize', authorizationUrl), { method: 'POST', body: form, redirect: 'manual' });
  assert.equal(res.status, 302);
  return new URL(res.headers.get('location')!);
}

describe('jsforce against the emulator', () => {
  let org: ServedOrg;
  let conn: jsforce.Connection;

  before(async () => {
    org = await servedOrg({
      objects: schemaFromData({ objects: [{ name: 'Account', fields: [{ name: 'External_Id__c', type: 'string', length: 50, externalId: true, unique: true }] }] }),
      jwtCert: JWT_CERT,
    });
    await seedOrg(org.emu.org, `Account=${SEEDED_ACCOUNTS}`);
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

  test('query returns the first 2000 rows and a locator; queryMore fetches the rest', async () => {
    const soql = 'SELECT Id, Name FROM Account ORDER BY Id';
    const total = org.emu.org.store.count(org.emu.org.schema.get('Account')!);
    assert.ok(total > 2000);
    const first = await conn.query<{ Id: string; Name: string }>(soql);
    assert.equal(first.totalSize, total);
    assert.equal(first.done, false);
    assert.equal(first.records.length, 2000);
    assert.match(first.nextRecordsUrl ?? '', /\/services\/data\/v62\.0\/query\/01g/);
    const rest = await conn.queryMore<{ Id: string; Name: string }>(first.nextRecordsUrl!);
    assert.equal(rest.done, true);
    assert.equal(rest.records.length, total - 2000);
    const ids = new Set([...first.records, ...rest.records].map((r) => r.Id));
    assert.equal(ids.size, total);
    assert.equal((first.records[0] as { attributes?: { type: string } }).attributes?.type, 'Account');
  });

  test('autoFetch with maxFetch raised reads every row across pages; the record stream too', async () => {
    const total = org.emu.org.store.count(org.emu.org.schema.get('Account')!);
    const all = await conn.query<{ Id: string }>('SELECT Id FROM Account').run({ autoFetch: true, maxFetch: 100_000 });
    assert.equal(all.records.length, total);
    assert.equal(new Set(all.records.map((r) => r.Id)).size, total);
    const viaFind = await conn.sobject('Account').find({}, ['Id', 'Name']).execute({ autoFetch: true, maxFetch: 100_000 });
    assert.equal(viaFind.length, total);
    // jsforce's default maxFetch (10000) is not hit, but a small one stops early.
    const capped = await conn.query('SELECT Id FROM Account').run({ autoFetch: true, maxFetch: 2100 });
    assert.equal(capped.records.length, 2100);
  });

  test('query with a parent path and a child subquery', async () => {
    const acc = await conn.sobject('Account').create({ Name: 'Parent Co' });
    await conn.sobject('Contact').create({ LastName: 'Child', AccountId: acc.id });
    const res = await conn.query<{ Name: string; Contacts: { totalSize: number; records: { LastName: string }[] } | null }>(`SELECT Name, (SELECT LastName FROM Contacts) FROM Account WHERE Id = '${acc.id}'`);
    assert.equal(res.records[0].Contacts?.records[0].LastName, 'Child');
    const child = await conn.query<{ Account: { Name: string } }>(`SELECT Account.Name FROM Contact WHERE AccountId = '${acc.id}'`);
    assert.equal(child.records[0].Account.Name, 'Parent Co');
  });

  test('sObject collections: create, retrieve, update and destroy several records in one call each', async () => {
    const before1 = org.emu.org.apiUsage;
    const created = await conn.sobject('Account').create([{ Name: 'Coll 1' }, { Name: 'Coll 2' }, { Name: 'Coll 3' }]);
    assert.equal(org.emu.org.apiUsage, before1 + 1, 'one call for the whole collection');
    assert.equal(created.length, 3);
    assert.ok(created.every((r) => r.success));
    const ids = created.map((r) => (r as { id: string }).id);
    const got = (await conn.sobject('Account').retrieve(ids)) as { Id: string; Name: string }[];
    assert.deepEqual(got.map((r) => r.Name), ['Coll 1', 'Coll 2', 'Coll 3']);
    const updated = await conn.sobject('Account').update(ids.map((Id, i) => ({ Id, Industry: i === 0 ? 'Retail' : 'Energy' })));
    assert.ok(updated.every((r) => r.success));
    const check = await conn.query<{ Industry: string }>(`SELECT Industry FROM Account WHERE Id IN ('${ids.join("','")}') ORDER BY Name`);
    assert.deepEqual(check.records.map((r) => r.Industry), ['Retail', 'Energy', 'Energy']);
    // A failing record in a non-allOrNone call fails alone, with the SaveResult error shape.
    const mixed = await conn.sobject('Contact').create([{ LastName: 'Fine' }, { FirstName: 'Missing last name' }]);
    assert.equal(mixed[0].success, true);
    assert.equal(mixed[1].success, false);
    assert.equal((mixed[1] as { errors: { statusCode?: string; errorCode?: string }[] }).errors[0].errorCode ?? (mixed[1] as { errors: { statusCode?: string }[] }).errors[0].statusCode, 'REQUIRED_FIELD_MISSING');
    const destroyed = await conn.sobject('Account').destroy(ids);
    assert.ok(destroyed.every((r) => r.success));
    const gone = await conn.query(`SELECT Id FROM Account WHERE Id IN ('${ids.join("','")}')`);
    assert.equal(gone.totalSize, 0);
  });

  test('limits() and limitInfo track API usage', async () => {
    const limits = await conn.limits();
    assert.equal(limits.DailyApiRequests.Max, 100_000);
    assert.equal(limits.DailyApiRequests.Remaining, 100_000 - org.emu.org.apiUsage);
    assert.equal(typeof limits.DailyBulkV2QueryJobs.Remaining, 'number');
    assert.equal(conn.limitInfo.apiUsage?.used, org.emu.org.apiUsage);
    assert.equal(conn.limitInfo.apiUsage?.limit, 100_000);
  });

  test('identity()', async () => {
    const id = await conn.identity();
    assert.equal(id.user_id, org.emu.org.adminUserId);
    assert.equal(id.organization_id, org.emu.org.orgId);
    assert.equal(id.username, USERNAME);
  });

  test('authorization code flow with PKCE: getAuthorizationUrl → approve → authorize(code); refresh on expiry', async () => {
    const redirectUri = 'http://localhost:1717/OauthRedirect';
    const oauth2 = new jsforce.OAuth2({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, loginUrl: org.url, redirectUri, useVerifier: true });
    const authUrl = oauth2.getAuthorizationUrl({ scope: 'api refresh_token id', state: 'st-42' });
    const callback = await approveInBrowser(authUrl);
    assert.equal(`${callback.origin}${callback.pathname}`, redirectUri);
    assert.equal(callback.searchParams.get('state'), 'st-42');
    const code = callback.searchParams.get('code')!;
    const web = new jsforce.Connection({ oauth2, version: '62.0' });
    const info = await web.authorize(code);
    assert.equal(info.id, org.emu.org.adminUserId);
    assert.equal(info.organizationId, org.emu.org.orgId);
    assert.ok(web.refreshToken);
    const res = await web.query<{ Name: string }>(`SELECT Name FROM User WHERE Id = '${info.id}'`);
    assert.equal(res.totalSize, 1);
    // Expired session → jsforce refreshes with the refresh token and retries.
    const stale = web.accessToken;
    await fetch(`${org.url}/__emulator/sessions/expire`, { method: 'POST' });
    const again = await web.query('SELECT Id FROM Account LIMIT 1');
    assert.equal(again.totalSize, 1);
    assert.notEqual(web.accessToken, stale);
    // The same code cannot be used twice.
    await assert.rejects(new jsforce.Connection({ oauth2, version: '62.0' }).authorize(code), (err: Error) => {
      assert.equal(err.name, 'invalid_grant');
      assert.equal(err.message, 'invalid authorization code');
      return true;
    });
  });

  test('authorization code flow: deny comes back as access_denied', async () => {
    const oauth2 = new jsforce.OAuth2({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, loginUrl: org.url, redirectUri: 'http://127.0.0.1:9999/cb' });
    const callback = await approveInBrowser(oauth2.getAuthorizationUrl({ state: 'd' }), 'deny');
    assert.equal(callback.searchParams.get('error'), 'access_denied');
    assert.equal(callback.searchParams.get('state'), 'd');
  });

  test('JWT bearer via conn.authorize({grant_type, assertion})', async () => {
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256' })
      .setIssuer(CLIENT_ID)
      .setSubject(USERNAME)
      .setAudience(org.url)
      .setExpirationTime(Math.floor(Date.now() / 1000) + 180)
      .sign(createPrivateKey(JWT_KEY));
    const jwtConn = new jsforce.Connection({ oauth2: { clientId: CLIENT_ID, loginUrl: org.url }, version: '62.0' });
    const info = await jwtConn.authorize({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion });
    assert.equal(info.id, org.emu.org.adminUserId);
    assert.equal(jwtConn.refreshToken, undefined);
    const res = await jwtConn.sobject('Account').create({ Name: 'Via JWT' });
    assert.equal(res.success, true);
    const bad = new jsforce.Connection({ oauth2: { clientId: CLIENT_ID, loginUrl: org.url }, version: '62.0' });
    const wrongAud = await new SignJWT({}).setProtectedHeader({ alg: 'RS256' }).setIssuer(CLIENT_ID).setSubject(USERNAME).setAudience('https://elsewhere.example.com').setExpirationTime(Math.floor(Date.now() / 1000) + 180).sign(createPrivateKey(JWT_KEY));
    await assert.rejects(bad.authorize({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: wrongAud }), (err: Error) => {
      assert.equal(err.name, 'invalid_grant');
      assert.equal(err.message, 'Audience validation failed');
      return true;
    });
  });
});

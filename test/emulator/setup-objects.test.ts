/** Profiles, roles and permission sets every org has; feed views by Id; ActivityHistories / OpenActivities. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seedOrg } from '../../src/emulator/seed/index.ts';
import { testOrg, V } from '../helpers/emulator.ts';

type Rec = Record<string, unknown>;
const query = async (org: Awaited<ReturnType<typeof testOrg>>, soql: string) => {
  const res = await org.api(`/query?q=${encodeURIComponent(soql)}`);
  const body = (await res.json()) as { records: Rec[] } | { errorCode: string; message: string }[];
  return { status: res.status, body };
};
const records = async (org: Awaited<ReturnType<typeof testOrg>>, soql: string) => {
  const r = await query(org, soql);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return (r.body as { records: Rec[] }).records.map(({ attributes: _a, ...rest }) => rest);
};

test('the admin user is a System Administrator at the top of the role hierarchy, with its permission sets', async () => {
  const org = await testOrg();
  const me = await records(org, 'SELECT Username, Profile.Name, Profile.UserLicense.Name, UserRole.Name, UserRole.ParentRoleId FROM User');
  assert.deepEqual(me, [{ Username: 'admin@emulator.sfbridge.dev', Profile: { attributes: { type: 'Profile', url: me[0].Profile && `${V}/sobjects/Profile/${(await records(org, "SELECT Id FROM Profile WHERE Name = 'System Administrator'"))[0].Id}` }, Name: 'System Administrator', UserLicense: { attributes: (me[0].Profile as { UserLicense: { attributes: unknown } }).UserLicense.attributes, Name: 'Salesforce' } }, UserRole: { attributes: (me[0].UserRole as { attributes: unknown }).attributes, Name: 'CEO', ParentRoleId: null } }]);
  const profiles = await records(org, 'SELECT Name, UserType, PermissionsModifyAllData, PermissionsApiEnabled FROM Profile ORDER BY Name');
  assert.deepEqual(profiles.map((p) => p.Name), ['Chatter Free User', 'Contract Manager', 'Marketing User', 'Minimum Access - Salesforce', 'Read Only', 'Solution Manager', 'Standard Platform User', 'Standard User', 'System Administrator']);
  assert.deepEqual(profiles.find((p) => p.Name === 'System Administrator'), { Name: 'System Administrator', UserType: 'Standard', PermissionsModifyAllData: true, PermissionsApiEnabled: true });
  assert.deepEqual(profiles.find((p) => p.Name === 'Standard User'), { Name: 'Standard User', UserType: 'Standard', PermissionsModifyAllData: false, PermissionsApiEnabled: true });
  const assigned = await records(org, `SELECT PermissionSet.Name, PermissionSet.IsOwnedByProfile, PermissionSet.Profile.Name FROM PermissionSetAssignment WHERE AssigneeId = '${org.emu.org.adminUserId}' ORDER BY PermissionSet.IsOwnedByProfile DESC`);
  assert.equal(assigned.length, 2);
  assert.deepEqual((assigned[0].PermissionSet as Rec).IsOwnedByProfile, true);
  assert.equal(((assigned[0].PermissionSet as Rec).Profile as Rec).Name, 'System Administrator');
  assert.equal((assigned[1].PermissionSet as Rec).Name, 'API_Integration');
  const roles = await records(org, 'SELECT Name, ParentRole.Name FROM UserRole ORDER BY Name');
  assert.deepEqual(roles.map((r) => [r.Name, (r.ParentRole as Rec | null)?.Name ?? null]), [
    ['CEO', null], ['Customer Support, North America', 'VP, Customer Support'], ['Sales Rep', 'VP, Sales'], ['VP, Customer Support', 'CEO'], ['VP, Sales', 'CEO'],
  ]);
  org.close();
});

test('User requires a ProfileId on create (REQUIRED_FIELD_MISSING), and takes one', async () => {
  const org = await testOrg();
  const user = { Username: 'new.user@example.com', LastName: 'User', Email: 'new.user@example.com', Alias: 'nuser', TimeZoneSidKey: 'GMT', LocaleSidKey: 'en_US', EmailEncodingKey: 'UTF-8', LanguageLocaleKey: 'en_US' };
  const missing = await org.api('/sobjects/User', { method: 'POST', json: user });
  assert.equal(missing.status, 400);
  assert.deepEqual(await missing.json(), [{ message: 'Required fields are missing: [ProfileId]', errorCode: 'REQUIRED_FIELD_MISSING', fields: ['ProfileId'] }]);
  const [standard] = await records(org, "SELECT Id FROM Profile WHERE Name = 'Standard User'");
  const created = await org.api('/sobjects/User', { method: 'POST', json: { ...user, ProfileId: standard.Id } });
  assert.equal(created.status, 201);
  const { id } = (await created.json()) as { id: string };
  assert.deepEqual(await records(org, `SELECT Profile.Name, UserRoleId, ContactId, AccountId, DigestFrequency, DefaultGroupNotificationFrequency FROM User WHERE Id = '${id}'`), [
    { Profile: { attributes: { type: 'Profile', url: `${V}/sobjects/Profile/${standard.Id}` }, Name: 'Standard User' }, UserRoleId: null, ContactId: null, AccountId: null, DigestFrequency: 'D', DefaultGroupNotificationFrequency: 'N' },
  ]);
  const write = await org.api(`/sobjects/Profile/${standard.Id}`, { method: 'PATCH', json: { Name: 'Renamed' } });
  assert.equal(write.status, 400);
  assert.deepEqual(await write.json(), [{ message: 'entity type cannot be updated: Profile', errorCode: 'CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY' }]);
  org.close();
});

test('an admin reset keeps the access setup and the admin on System Administrator', async () => {
  const org = await testOrg();
  const before = await records(org, 'SELECT Id, Name FROM Profile ORDER BY Name');
  const res = await org.emu.request('/__emulator/reset', { method: 'POST' });
  assert.equal(res.status, 200);
  assert.deepEqual(await records(org, 'SELECT Id, Name FROM Profile ORDER BY Name'), before);
  assert.deepEqual(await records(org, 'SELECT Profile.Name FROM User').then((r) => r.map((u) => (u.Profile as Rec).Name)), ['System Administrator']);
  org.close();
});

test('CaseFeed (and every <Object>Feed) answers GET by the Ids its own query returned, and shows new posts', async () => {
  const org = await testOrg();
  const kase = (await (await org.api('/sobjects/Case', { method: 'POST', json: { Subject: 'Printer on fire' } })).json()) as { id: string };
  const acct = (await (await org.api('/sobjects/Account', { method: 'POST', json: { Name: 'Acme' } })).json()) as { id: string };
  const post = (await (await org.api('/sobjects/FeedItem', { method: 'POST', json: { ParentId: kase.id, Body: 'Called the customer' } })).json()) as { id: string };
  await org.api('/sobjects/FeedItem', { method: 'POST', json: { ParentId: acct.id, Body: 'Renewal next month' } });
  const feed = await query(org, `SELECT Id, ParentId, Body, Type FROM CaseFeed WHERE ParentId = '${kase.id}'`);
  const rec = (feed.body as { records: Rec[] }).records;
  assert.deepEqual(rec, [{ attributes: { type: 'CaseFeed', url: `${V}/sobjects/CaseFeed/${post.id}` }, Id: post.id, ParentId: kase.id, Body: 'Called the customer', Type: 'TextPost' }]);
  const byId = await org.api(`/sobjects/CaseFeed/${post.id}?fields=Id,Body`);
  assert.equal(byId.status, 200);
  assert.deepEqual(await byId.json(), { attributes: { type: 'CaseFeed', url: `${V}/sobjects/CaseFeed/${post.id}` }, Id: post.id, Body: 'Called the customer' });
  // The Account post is in AccountFeed, not CaseFeed; a CaseFeed GET of it is 404.
  const [acctPost] = await records(org, 'SELECT Id FROM AccountFeed');
  assert.equal((await org.api(`/sobjects/AccountFeed/${acctPost.Id}`)).status, 200);
  assert.equal((await org.api(`/sobjects/CaseFeed/${acctPost.Id}`)).status, 404);
  // Feeds are the Case's child relationship, and deleting through the feed deletes the post.
  assert.deepEqual(await records(org, `SELECT (SELECT Body FROM Feeds) FROM Case WHERE Id = '${kase.id}'`), [{ Feeds: { totalSize: 1, done: true, records: [{ attributes: { type: 'CaseFeed', url: `${V}/sobjects/CaseFeed/${post.id}` }, Body: 'Called the customer' }] } }]);
  assert.equal((await org.api(`/sobjects/CaseFeed/${post.id}`, { method: 'DELETE' })).status, 204);
  assert.equal((await org.api(`/sobjects/FeedItem/${post.id}`)).status, 404);
  org.close();
});

test('ActivityHistories and OpenActivities: subqueries of Account and Contact; not queryable alone', async () => {
  const org = await testOrg();
  org.emu.org.clock.set(Date.parse('2024-06-01T12:00:00Z'), true);
  const acct = (await (await org.api('/sobjects/Account', { method: 'POST', json: { Name: 'Acme' } })).json()) as { id: string };
  const contact = (await (await org.api('/sobjects/Contact', { method: 'POST', json: { LastName: 'Doe', AccountId: acct.id } })).json()) as { id: string };
  const mk = async (obj: string, body: Rec) => ((await (await org.api(`/sobjects/${obj}`, { method: 'POST', json: body })).json()) as { id: string }).id;
  const done = await mk('Task', { Subject: 'Call', Status: 'Completed', WhatId: acct.id, WhoId: contact.id, ActivityDate: '2024-05-20' });
  const open = await mk('Task', { Subject: 'Send Quote', Status: 'Not Started', WhatId: acct.id, ActivityDate: '2024-06-10' });
  const past = await mk('Event', { Subject: 'Meeting', WhatId: acct.id, StartDateTime: '2024-05-01T10:00:00Z', EndDateTime: '2024-05-01T11:00:00Z', DurationInMinutes: 60, ActivityDateTime: '2024-05-01T10:00:00Z' });
  const future = await mk('Event', { Subject: 'Demo', WhoId: contact.id, StartDateTime: '2024-06-05T10:00:00Z', EndDateTime: '2024-06-05T11:00:00Z', DurationInMinutes: 60, ActivityDateTime: '2024-06-05T10:00:00Z' });
  const [a] = await records(org, `SELECT (SELECT Id, Subject, IsTask, IsClosed, ActivityType FROM ActivityHistories ORDER BY Subject), (SELECT Id, Subject, IsTask, IsClosed FROM OpenActivities ORDER BY Subject) FROM Account WHERE Id = '${acct.id}'`);
  const strip = (r: Rec): Rec[] => (r as { records: Rec[] }).records.map(({ attributes, ...x }) => ({ type: (attributes as { type: string }).type, ...x }));
  assert.deepEqual(strip(a.ActivityHistories as Rec), [
    { type: 'ActivityHistory', Id: done, Subject: 'Call', IsTask: true, IsClosed: true, ActivityType: null },
    { type: 'ActivityHistory', Id: past, Subject: 'Meeting', IsTask: false, IsClosed: true, ActivityType: null },
  ]);
  assert.deepEqual(strip(a.OpenActivities as Rec), [{ type: 'OpenActivity', Id: open, Subject: 'Send Quote', IsTask: true, IsClosed: false }]);
  const [c] = await records(org, `SELECT (SELECT Subject FROM ActivityHistories), (SELECT Id, Subject FROM OpenActivities) FROM Contact WHERE Id = '${contact.id}'`);
  assert.deepEqual(strip(c.ActivityHistories as Rec).map((r) => r.Subject), ['Call']);
  assert.deepEqual(strip(c.OpenActivities as Rec).map((r) => [r.Id, r.Subject]), [[future, 'Demo']]);
  // The clock passing the event's end moves it to the history.
  org.emu.org.clock.set(Date.parse('2024-06-06T00:00:00Z'), true);
  const [c2] = await records(org, `SELECT (SELECT Subject FROM ActivityHistories ORDER BY Subject) FROM Contact WHERE Id = '${contact.id}'`);
  assert.deepEqual(strip(c2.ActivityHistories as Rec).map((r) => r.Subject), ['Call', 'Demo']);
  const alone = await query(org, 'SELECT Id FROM ActivityHistory');
  assert.equal(alone.status, 400);
  assert.deepEqual(alone.body, [{ message: 'entity type ActivityHistory does not support query', errorCode: 'INVALID_TYPE_FOR_OPERATION' }]);
  const d = (await (await org.api('/sobjects/Account/describe')).json()) as { childRelationships: { relationshipName: string; childSObject: string; field: string }[] };
  assert.deepEqual(d.childRelationships.filter((r) => /Activit/.test(r.relationshipName ?? '')).map((r) => [r.relationshipName, r.childSObject, r.field]), [
    ['ActivityHistories', 'ActivityHistory', 'AccountId'], ['OpenActivities', 'OpenActivity', 'AccountId'],
  ]);
  org.close();
});

test('demo users have profiles, roles and permission sets', async () => {
  const org = await testOrg();
  await seedOrg(org.emu.org, 'demo');
  const users = await records(org, "SELECT Name, Profile.Name, UserRole.DeveloperName FROM User WHERE Username != 'admin@emulator.sfbridge.dev' ORDER BY CreatedDate");
  assert.deepEqual(users.map((u) => [u.Name, (u.Profile as Rec).Name, (u.UserRole as Rec).DeveloperName]), [
    ['Maria Garcia', 'Standard User', 'VPSales'], ['James Chen', 'Standard User', 'SalesRep'], ['Priya Patel', 'Standard User', 'SalesRep'],
    ['Tom Walker', 'Standard User', 'SalesRep'], ['Aisha Okafor', 'Standard User', 'CustomerSupportNorthAmerica'], ['Lukas Schmidt', 'Standard User', 'CustomerSupportNorthAmerica'],
  ]);
  org.close();
});

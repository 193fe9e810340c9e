/**
 * jsforce, unmodified, against the emulator over a real socket, for the resources beyond records and
 * queries: Bulk API 1.0 (`conn.bulk`), SOSL (`conn.search`) and the file blob endpoints.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import jsforce from 'jsforce';
import { servedOrg, type ServedOrg } from '../helpers/served.ts';

/** A fresh emulator on a socket and a jsforce connection logged in to it by username and password. */
async function connected(): Promise<{ org: ServedOrg; conn: jsforce.Connection }> {
  const org = await servedOrg();
  const conn = new jsforce.Connection({ oauth2: { clientId: 'sfbridge-emulator', clientSecret: 'sfbridge-emulator-secret', loginUrl: org.url }, version: '62.0' });
  await conn.login('admin@emulator.sfbridge.dev', 'emulator');
  return { org, conn };
}

describe('jsforce surface: Bulk 1.0, SOSL, files', () => {
  let org: ServedOrg;
  let conn: jsforce.Connection;

  before(async () => {
    ({ org, conn } = await connected());
    conn.bulk.pollInterval = 50;
    conn.bulk.pollTimeout = 20_000;
  });
  after(() => org.close());

  test('conn.bulk.load inserts records and reports per-record results', async () => {
    // jsforce writes the CSV header from the first record, so every record carries the same keys.
    const rows = [{ Name: 'Bulk One', Industry: 'Banking', NumberOfEmployees: null }, { Name: 'Bulk Two', Industry: null, NumberOfEmployees: 12 }, { Name: null, Industry: 'Energy', NumberOfEmployees: null }];
    const results = (await conn.bulk.load('Account', 'insert', rows)) as { id: string | null; success: boolean; created: boolean; errors: string[] }[];
    assert.equal(results.length, 3);
    assert.deepEqual(results.map((r) => [r.success, r.created]), [[true, true], [true, true], [false, false]]);
    assert.match(String(results[0].id), /^001\w{15}$/);
    assert.deepEqual(results[2].errors, ['REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --']);
    const back = await conn.query<{ Name: string; NumberOfEmployees: number | null }>(`SELECT Name, NumberOfEmployees FROM Account WHERE Id = '${results[1].id}'`);
    assert.deepEqual(back.records.map((r) => [r.Name, r.NumberOfEmployees]), [['Bulk Two', 12]]);
  });

  test('conn.bulk.load update and delete by Id', async () => {
    const [a] = (await conn.bulk.load('Account', 'insert', [{ Name: 'To change' }])) as { id: string }[];
    const upd = (await conn.bulk.load('Account', 'update', [{ Id: a.id, Name: 'Changed' }])) as { success: boolean }[];
    assert.deepEqual(upd.map((r) => r.success), [true]);
    assert.equal(((await conn.sobject('Account').retrieve(a.id)) as { Name: string }).Name, 'Changed');
    const del = (await conn.bulk.load('Account', 'delete', [{ Id: a.id }])) as { success: boolean }[];
    assert.deepEqual(del.map((r) => r.success), [true]);
    await assert.rejects(conn.sobject('Account').retrieve(a.id), /entity is deleted|ENTITY_IS_DELETED/);
  });

  test('conn.bulk.query streams the records of a query batch', async () => {
    await conn.bulk.load('Contact', 'insert', [{ LastName: 'Query-1', Email: 'q1@example.com' }, { LastName: 'Query-2' }]);
    const stream = await conn.bulk.query("SELECT LastName, Email FROM Contact WHERE LastName LIKE 'Query-%' ORDER BY LastName");
    const records: Record<string, unknown>[] = [];
    await new Promise<void>((resolve, reject) => {
      stream.on('record', (r: Record<string, unknown>) => records.push(r));
      stream.on('end', () => resolve());
      stream.on('error', reject);
    });
    // A null is an empty CSV cell, which jsforce reads as ''.
    assert.deepEqual(records, [{ LastName: 'Query-1', Email: 'q1@example.com' }, { LastName: 'Query-2', Email: '' }]);
  });

  test('conn.search runs SOSL and returns searchRecords', async () => {
    const acct = await conn.sobject('Account').create({ Name: 'Searchable Widgets Ltd', Industry: 'Retail' });
    const res = await conn.search("FIND {Widgets} IN NAME FIELDS RETURNING Account(Id, Name, Industry WHERE Industry = 'Retail')");
    assert.deepEqual(res.searchRecords, [{ attributes: { type: 'Account', url: `/services/data/v62.0/sobjects/Account/${acct.id}` }, Id: acct.id, Name: 'Searchable Widgets Ltd', Industry: 'Retail' }]);
    await assert.rejects(conn.search('FIND Widgets'), (err: Error & { errorCode?: string }) => {
      assert.equal(err.errorCode ?? err.name, 'MALFORMED_SEARCH');
      return true;
    });
  });

  test('files: a ContentVersion uploaded with jsforce reads back through its blob URL', async () => {
    const data = Buffer.from('hello from jsforce');
    const cv = await conn.sobject('ContentVersion').create({ Title: 'greeting', PathOnClient: 'greeting.txt', VersionData: data.toString('base64') });
    const rec = (await conn.sobject('ContentVersion').retrieve(cv.id!)) as { VersionData: string; ContentDocumentId: string };
    assert.equal(rec.VersionData, `/services/data/v62.0/sobjects/ContentVersion/${cv.id}/VersionData`);
    const body = await conn.request<string>({ method: 'GET', url: rec.VersionData });
    assert.equal(body, 'hello from jsforce');
    assert.match(rec.ContentDocumentId, /^069/);
  });
});

describe('jsforce surface: layouts, list views, quick actions, recent, Chatter', () => {
  let org: ServedOrg;
  let conn: jsforce.Connection;

  before(async () => {
    ({ org, conn } = await connected());
  });
  after(() => org.close());

  test('sobject.layouts() and compactLayouts()', async () => {
    const layouts = await conn.sobject('Account').layouts();
    assert.equal(layouts.layouts.length, 1);
    assert.equal(layouts.layouts[0].detailLayoutSections[0].heading, 'Account Information');
    assert.deepEqual(layouts.recordTypeSelectorRequired, [false]);
    const compact = await conn.sobject('Account').compactLayouts();
    assert.equal(compact.compactLayouts[0].name, 'SYSTEM');
  });

  test('sobject.listviews(), listview(id).describe() and results()', async () => {
    await conn.sobject('Account').create({ Name: 'Listed Co' });
    const views = (await conn.sobject('Account').listviews()) as { listviews: { id: string; developerName: string }[] };
    const all = views.listviews.find((v: { developerName: string }) => v.developerName === 'AllAccounts')!;
    const described = (await conn.sobject('Account').listview(all.id).describe()) as { query: string };
    assert.match(described.query, /^SELECT Name, .* FROM Account ORDER BY Name ASC NULLS FIRST, Id ASC NULLS FIRST$/);
    const results = (await conn.sobject('Account').listview(all.id).results()) as { size: number; records: { columns: unknown[] }[] };
    assert.deepEqual([results.size, results.records[0].columns[0]], [1, { fieldNameOrPath: 'Name', value: 'Listed Co' }]);
  });

  test('sobject.quickActions() and quickAction(name).describe() / execute()', async () => {
    const actions = (await conn.sobject('Account').quickActions()) as { name: string }[];
    assert.ok(actions.some((a: { name: string }) => a.name === 'Account.NewContact'));
    const action = conn.sobject('Account').quickAction('Account.NewContact');
    const d = await action.describe();
    assert.deepEqual([d.targetSobjectType, d.targetParentField], ['Contact', 'AccountId']);
    const acct = await conn.sobject('Account').create({ Name: 'Action Co' });
    const res = await action.execute(acct.id!, { LastName: 'Acted' });
    assert.deepEqual([res.success, res.created, res.contextId], [true, true, acct.id]);
    const c = (await conn.sobject('Contact').retrieve(res.id)) as { AccountId: string; LastName: string };
    assert.deepEqual([c.AccountId, c.LastName], [acct.id, 'Acted']);
  });

  test('conn.recent() and sobject.recent() list the records viewed last', async () => {
    const a = await conn.sobject('Account').create({ Name: 'Seen Co' });
    await conn.sobject('Account').retrieve(a.id!);
    const recent = (await conn.recent(5)) as { Id: string }[];
    assert.equal(recent[0].Id, a.id);
    const items = (await conn.sobject('Account').recent()) as { Id: string; Name: string }[];
    assert.deepEqual(items[0], { attributes: { type: 'Account', url: `/services/data/v62.0/sobjects/Account/${a.id}` }, Id: a.id, Name: 'Seen Co' });
  });

  test('conn.chatter: post a feed element, comment on it, read users/me', async () => {
    const acct = await conn.sobject('Account').create({ Name: 'Chatty Co' });
    const post = await conn.chatter.resource('/feed-elements').create({ feedElementType: 'FeedItem', subjectId: acct.id, body: { messageSegments: [{ type: 'Text', text: 'Renewal call booked' }] } });
    assert.equal((post as { body: { text: string } }).body.text, 'Renewal call booked');
    const id = (post as { id: string }).id;
    const comment = await conn.chatter.resource(`/feed-elements/${id}/capabilities/comments/items`).create({ body: { messageSegments: [{ type: 'Text', text: 'Great' }] } });
    assert.equal((comment as { body: { text: string } }).body.text, 'Great');
    const fetched = (await conn.chatter.resource(`/feed-elements/${id}`).retrieve()) as { capabilities: { comments: { page: { total: number } } } };
    assert.equal(fetched.capabilities.comments.page.total, 1);
    const me = (await conn.chatter.resource('/users/me').retrieve()) as { id: string; username: string };
    assert.deepEqual([me.id, me.username], [org.emu.org.adminUserId, 'admin@emulator.sfbridge.dev']);
    const feed = (await conn.query<{ Id: string; Body: string }>(`SELECT Id, Body FROM AccountFeed WHERE ParentId = '${acct.id}'`)).records;
    assert.deepEqual(feed.map((r) => [r.Id, r.Body]), [[id, 'Renewal call booked']]);
    await conn.chatter.resource(`/feed-elements/${id}`).delete();
    await assert.rejects(conn.chatter.resource(`/feed-elements/${id}`).retrieve().promise(), /NOT_FOUND|does not exist/);
  });
});

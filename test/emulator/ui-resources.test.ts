/** Layouts, compact layouts, list views, quick actions, recent items, tabs and theme. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testOrg, V, type TestOrg } from '../helpers/emulator.ts';

type Rec = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const get = async (org: TestOrg, path: string) => {
  const res = await org.api(path);
  return { status: res.status, body: (await res.json()) as Rec };
};
const create = async (org: TestOrg, obj: string, body: Rec) => ((await (await org.api(`/sobjects/${obj}`, { method: 'POST', json: body })).json()) as { id: string }).id;

test('list views: the standard views, their describe (SOQL, columns) and results (rows as column values)', async () => {
  const org = await testOrg();
  const mine = await create(org, 'Account', { Name: 'Beta Ltd', Site: 'HQ', BillingState: 'CA' });
  await create(org, 'Account', { Name: 'Alpha Inc', OwnerId: org.emu.org.adminUserId });
  const list = await get(org, '/sobjects/Account/listviews');
  assert.equal(list.status, 200);
  assert.deepEqual(list.body.listviews.map((v: Rec) => [v.developerName, v.label]), [['AllAccounts', 'All Accounts'], ['MyAccounts', 'My Accounts'], ['NewThisWeek', 'New This Week'], ['NewLastWeek', 'New Last Week'], ['RecentlyViewedAccounts', 'Recently Viewed Accounts']]);
  const all = list.body.listviews[0];
  assert.match(all.id, /^00B\w{15}$/);
  assert.deepEqual(all, { describeUrl: `${V}/sobjects/Account/listviews/${all.id}/describe`, developerName: 'AllAccounts', id: all.id, label: 'All Accounts', resultsUrl: `${V}/sobjects/Account/listviews/${all.id}/results`, soqlCompatible: true, url: `${V}/sobjects/Account/listviews/${all.id}` });
  assert.deepEqual([list.body.done, list.body.nextRecordsUrl, list.body.size, list.body.sobjectType], [true, null, 5, 'Account']);
  assert.deepEqual((await get(org, `/sobjects/Account/listviews/${all.id}`)).body, all);

  const d = (await get(org, `/sobjects/Account/listviews/${all.id}/describe`)).body;
  assert.equal(d.query, 'SELECT Name, Site, BillingState, Phone, toLabel(Type), Owner.Alias, Id, CreatedDate, LastModifiedDate, SystemModstamp FROM Account ORDER BY Name ASC NULLS FIRST, Id ASC NULLS FIRST');
  assert.deepEqual(d.columns[0], { ascendingLabel: 'Z-A', descendingLabel: 'A-Z', fieldNameOrPath: 'Name', hidden: false, label: 'Account Name', searchable: true, selectListItem: 'Name', sortDirection: 'ascending', sortIndex: 0, sortable: true, type: 'string' });
  assert.deepEqual(d.columns.filter((c: Rec) => c.hidden).map((c: Rec) => c.fieldNameOrPath), ['Id', 'CreatedDate', 'LastModifiedDate', 'SystemModstamp']);
  assert.deepEqual([d.scope, d.sobjectType, d.orderBy[0]], ['everything', 'Account', { fieldNameOrPath: 'Name', nullsPosition: 'first', sortDirection: 'ascending' }]);

  const r = (await get(org, `/sobjects/Account/listviews/${all.id}/results?limit=1`)).body;
  assert.deepEqual([r.developerName, r.label, r.size, r.done, r.records.length], ['AllAccounts', 'All Accounts', 2, false, 1]);
  assert.deepEqual(r.records[0].columns.slice(0, 6), [
    { fieldNameOrPath: 'Name', value: 'Alpha Inc' }, { fieldNameOrPath: 'Site', value: null }, { fieldNameOrPath: 'BillingState', value: null },
    { fieldNameOrPath: 'Phone', value: null }, { fieldNameOrPath: 'Type', value: null }, { fieldNameOrPath: 'Owner.Alias', value: 'eadmin' },
  ]);
  const page2 = (await get(org, `/sobjects/Account/listviews/${all.id}/results?limit=1&offset=1`)).body;
  assert.deepEqual([page2.done, page2.records[0].columns[0].value, page2.records[0].columns[6].value], [true, 'Beta Ltd', mine]);
  assert.equal((await get(org, '/sobjects/Account/listviews/00B000000000000AAA')).status, 404);
  assert.deepEqual((await get(org, `/sobjects/Account/listviews/${all.id}/results?limit=5000`)).body, [{ message: 'limit must be between 1 and 2000: 5000', errorCode: 'INVALID_PARAMETER_VALUE' }]);
  org.close();
});

test('describe layouts: sections of field components, related lists, record type mappings; compact layouts', async () => {
  const org = await testOrg();
  const l = (await get(org, '/sobjects/Account/describe/layouts')).body;
  assert.deepEqual(Object.keys(l), ['layouts', 'recordTypeMappings', 'recordTypeSelectorRequired']);
  assert.deepEqual(l.recordTypeSelectorRequired, [false]);
  const layout = l.layouts[0];
  assert.deepEqual(Object.keys(layout), ['buttonLayoutSection', 'detailLayoutSections', 'editLayoutSections', 'feedView', 'highlightsPanelLayoutSection', 'id', 'multirowEditLayoutSections', 'offlineLinks', 'quickActionList', 'relatedContent', 'relatedLists', 'saveOptions']);
  const first = layout.detailLayoutSections[0];
  assert.equal(first.heading, 'Account Information');
  const item = first.layoutRows[0].layoutItems[0];
  assert.deepEqual([item.label, item.layoutComponents[0].type, item.layoutComponents[0].value, item.layoutComponents[0].details.name], ['Owner ID', 'Field', 'OwnerId', 'OwnerId']);
  const editName = layout.editLayoutSections[0].layoutRows.flatMap((r: Rec) => r.layoutItems).find((i: Rec) => i.layoutComponents[0].value === 'Name');
  assert.deepEqual([editName.required, editName.editableForNew], [true, true]);
  assert.deepEqual(layout.relatedLists.find((r: Rec) => r.name === 'Contacts'), { accessLevelRequiredForCreate: null, buttons: [], columns: layout.relatedLists.find((r: Rec) => r.name === 'Contacts').columns, custom: false, field: 'AccountId', label: 'Contacts', limitRows: 5, name: 'Contacts', sobject: 'Contact', sort: [] });
  assert.deepEqual(layout.relatedLists.find((r: Rec) => r.name === 'Contacts').columns.map((c: Rec) => c.name), ['Name', 'Title', 'Phone', 'Email']);
  assert.ok(layout.relatedLists.some((r: Rec) => r.name === 'ActivityHistories'));
  const m = l.recordTypeMappings[0];
  assert.deepEqual([m.recordTypeId, m.master, m.layoutId, m.urls.layout], ['012000000000000AAA', true, layout.id, `${V}/sobjects/Account/describe/layouts/012000000000000AAA`]);
  assert.ok(m.picklistsForRecordType.some((p: Rec) => p.picklistName === 'Industry' && p.picklistValues.some((v: Rec) => v.value === 'Banking')));
  assert.deepEqual((await get(org, '/sobjects/Account/describe/layouts/012000000000000AAA')).body.id, layout.id);
  assert.equal((await get(org, '/sobjects/Account/describe/layouts/012000000000001AAA')).status, 404);

  const cl = (await get(org, '/sobjects/Contact/describe/compactLayouts')).body;
  assert.deepEqual([cl.defaultCompactLayoutId, cl.recordTypeCompactLayoutMappings[0].compactLayoutName, cl.compactLayouts[0].name], [null, 'SYSTEM', 'SYSTEM']);
  const primary = (await get(org, '/sobjects/Contact/describe/compactLayouts/primary')).body;
  assert.deepEqual(primary.fieldItems.map((f: Rec) => f.layoutComponents[0].value), ['Name', 'AccountId', 'Title', 'Phone']);
  assert.deepEqual(Object.keys((await get(org, '/compactLayouts?q=Account,Contact')).body), ['Account', 'Contact']);
  assert.equal((await get(org, '/sobjects/AccountChangeEvent/describe/layouts')).status, 404);
  org.close();
});

test('quick actions: global and object-specific lists, describe, defaults, invoke creates the record', async () => {
  const org = await testOrg();
  const global = (await get(org, '/quickActions')).body as unknown as Rec[];
  assert.deepEqual(global.map((a) => a.name), ['NewAccount', 'NewCase', 'NewContact', 'NewEvent', 'NewLead', 'NewOpportunity', 'NewTask', 'LogACall']);
  assert.deepEqual(global[2], { actionEnumOrId: 'NewContact', label: 'New Contact', name: 'NewContact', type: 'Create', urls: { defaultValues: `${V}/quickActions/NewContact/defaultValues`, quickAction: `${V}/quickActions/NewContact`, describe: `${V}/quickActions/NewContact/describe`, defaultValuesTemplate: `${V}/quickActions/NewContact/defaultValues/{ID}` } });
  const acctActions = (await get(org, '/sobjects/Account/quickActions')).body as unknown as Rec[];
  assert.deepEqual(acctActions.slice(0, 5).map((a) => a.name), ['Account.NewContact', 'Account.NewOpportunity', 'Account.NewCase', 'Account.NewTask', 'Account.NewEvent']);
  const d = (await get(org, '/sobjects/Account/quickActions/Account.NewContact/describe')).body;
  assert.deepEqual([d.name, d.targetSobjectType, d.targetParentField, d.contextSobjectType, d.type], ['Account.NewContact', 'Contact', 'AccountId', 'Account', 'Create']);
  const acct = await create(org, 'Account', { Name: 'Acme' });
  assert.deepEqual((await get(org, `/sobjects/Account/quickActions/Account.NewContact/defaultValues/${acct}`)).body, { attributes: { type: 'Contact' }, AccountId: acct });
  const res = await org.api('/sobjects/Account/quickActions/Account.NewContact', { method: 'POST', json: { contextId: acct, record: { LastName: 'Quick', Email: 'quick@example.com' } } });
  assert.equal(res.status, 201);
  const out = (await res.json()) as Rec;
  assert.deepEqual(out, { contextId: acct, created: true, errors: [], feedItemIds: null, id: out.id, ids: [out.id], success: true, successMessage: 'Contact created' });
  const c = (await get(org, `/sobjects/Contact/${out.id}?fields=LastName,AccountId`)).body;
  assert.deepEqual([c.LastName, c.AccountId], ['Quick', acct]);
  const call = (await (await org.api('/quickActions/LogACall', { method: 'POST', json: { record: { WhatId: acct, Description: 'Talked' } } })).json()) as Rec;
  const task = (await get(org, `/sobjects/Task/${call.id}?fields=Subject,Status,WhatId`)).body;
  assert.deepEqual([task.Subject, task.Status, task.WhatId], ['Call', 'Completed', acct]);
  const bad = await org.api('/sobjects/Account/quickActions/Account.NewContact', { method: 'POST', json: { record: { LastName: 'x' } } });
  assert.deepEqual([bad.status, await bad.json()], [400, [{ message: 'Account.NewContact needs a contextId: the Account record the new Contact belongs to', errorCode: 'REQUIRED_FIELD_MISSING', fields: ['contextId'] }]]);
  const invalid = await org.api('/quickActions/NewContact', { method: 'POST', json: { record: { Email: 'x@example.com' } } });
  assert.deepEqual((await invalid.json()) as Rec, [{ message: 'Required fields are missing: [LastName]', errorCode: 'REQUIRED_FIELD_MISSING', fields: ['LastName'] }]);
  assert.equal((await get(org, '/quickActions/Nope')).status, 404);
  org.close();
});

test('recent items follow record views (unless Sforce-Mru: updateMru=false); tabs and theme', async () => {
  const org = await testOrg();
  const a = await create(org, 'Account', { Name: 'Viewed first' });
  const c = await create(org, 'Contact', { LastName: 'Viewed second' });
  const b = await create(org, 'Account', { Name: 'Not viewed' });
  assert.deepEqual((await get(org, '/recent')).body, []);
  org.emu.org.clock.advance(-1000);
  await org.api(`/sobjects/Account/${a}`);
  org.emu.org.clock.advance(1000);
  await org.api(`/sobjects/Contact/${c}`);
  await org.api(`/sobjects/Account/${b}`, { headers: { 'sforce-mru': 'updateMru=false' } });
  assert.deepEqual((await get(org, '/recent?limit=5')).body, [
    { attributes: { type: 'Contact', url: `${V}/sobjects/Contact/${c}` }, Id: c, Name: 'Viewed second' },
    { attributes: { type: 'Account', url: `${V}/sobjects/Account/${a}` }, Id: a, Name: 'Viewed first' },
  ]);
  assert.deepEqual((await get(org, '/recent?limit=1')).body.map((r: Rec) => r.Id), [c]);
  const tabs = (await get(org, '/tabs')).body as unknown as Rec[];
  const acct = tabs.find((t) => t.sobjectName === 'Account')!;
  assert.deepEqual([acct.label, acct.name, acct.custom, acct.colors[0]], ['Accounts', 'standard-Account', false, { color: '7F8DE1', context: 'primary', theme: 'theme4' }]);
  assert.equal(acct.iconUrl, 'http://127.0.0.1:8484/img/icon/t4v35/standard/account_32.png');
  const theme = (await get(org, '/theme')).body;
  assert.deepEqual(theme.themeItems.find((t: Rec) => t.name === 'Account').colors, acct.colors);
  org.close();
});

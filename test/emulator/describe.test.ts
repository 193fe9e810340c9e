import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testOrg } from '../helpers/emulator.ts';

/** Every key of the Field object in the API reference (§2.4). */
const FIELD_KEYS = ['aggregatable', 'aiPredictionField', 'autoNumber', 'byteLength', 'calculated', 'calculatedFormula', 'cascadeDelete', 'caseSensitive', 'compoundFieldName', 'controllerName', 'createable', 'custom', 'defaultValue', 'defaultValueFormula', 'defaultedOnCreate', 'dependentPicklist', 'deprecatedAndHidden', 'digits', 'displayLocationInDecimal', 'encrypted', 'externalId', 'extraTypeInfo', 'filterable', 'filteredLookupInfo', 'formulaTreatNullNumberAsZero', 'groupable', 'highScaleNumber', 'htmlFormatted', 'idLookup', 'inlineHelpText', 'label', 'length', 'mask', 'maskType', 'name', 'nameField', 'namePointing', 'nillable', 'permissionable', 'picklistValues', 'polymorphicForeignKey', 'precision', 'queryByDistance', 'referenceTargetField', 'referenceTo', 'relationshipName', 'relationshipOrder', 'restrictedDelete', 'restrictedPicklist', 'scale', 'searchPrefilterable', 'soapType', 'sortable', 'type', 'unique', 'updateable', 'writeRequiresMasterRead'].sort();
/** Every top-level key of DescribeSObjectResult in the reference. */
const DESCRIBE_KEYS = ['actionOverrides', 'activateable', 'associateEntityType', 'associateParentEntity', 'childRelationships', 'compactLayoutable', 'createable', 'custom', 'customSetting', 'deepCloneable', 'defaultImplementation', 'deletable', 'deprecatedAndHidden', 'extendedBy', 'extendsInterfaces', 'feedEnabled', 'fields', 'hasSubtypes', 'implementedBy', 'implementsInterfaces', 'isInterface', 'isSubtype', 'keyPrefix', 'label', 'labelPlural', 'layoutable', 'listviewable', 'lookupLayoutable', 'mergeable', 'mruEnabled', 'name', 'namedLayoutInfos', 'networkScopeFieldName', 'queryable', 'recordTypeInfos', 'replicateable', 'retrieveable', 'searchLayoutable', 'searchable', 'sobjectDescribeOption', 'supportedScopes', 'triggerable', 'undeletable', 'updateable', 'urls'].sort();
const GLOBAL_KEYS = ['activateable', 'associateEntityType', 'associateParentEntity', 'createable', 'custom', 'customSetting', 'deepCloneable', 'deletable', 'deprecatedAndHidden', 'feedEnabled', 'hasSubtypes', 'isInterface', 'isSubtype', 'keyPrefix', 'label', 'labelPlural', 'layoutable', 'mergeable', 'mruEnabled', 'name', 'queryable', 'replicateable', 'retrieveable', 'searchable', 'triggerable', 'undeletable', 'updateable', 'urls'];

type Field = Record<string, unknown> & { name: string; referenceTo: string[]; picklistValues: Record<string, unknown>[] };
type Describe = Record<string, unknown> & { fields: Field[]; childRelationships: Record<string, unknown>[]; recordTypeInfos: Record<string, unknown>[] };

const PREFIXES: Record<string, string> = {
  Account: '001', Contact: '003', Lead: '00Q', Opportunity: '006', Campaign: '701', CampaignMember: '00v', Case: '500', CaseComment: '00a',
  FeedItem: '0D5', FeedComment: '0D7', EmailMessage: '02s', Task: '00T', Event: '00U', User: '005', ContentDocument: '069', ContentVersion: '068',
  ContentDocumentLink: '06A', Group: '00G', RecordType: '012', Organization: '00D',
};

test('describeGlobal lists the standard objects with their key prefixes and exact entry keys; If-Modified-Since gives 304', async () => {
  const org = await testOrg();
  const res = await org.api('/sobjects');
  const body = (await res.json()) as { encoding: string; maxBatchSize: number; sobjects: Record<string, unknown>[] };
  assert.equal(body.maxBatchSize, 200);
  const byName = new Map(body.sobjects.map((o) => [o.name as string, o]));
  for (const [name, prefix] of Object.entries(PREFIXES)) assert.equal(byName.get(name)?.keyPrefix, prefix, name);
  for (const o of body.sobjects) assert.deepEqual(Object.keys(o).sort(), [...GLOBAL_KEYS].sort(), String(o.name));
  const cdc = byName.get('AccountChangeEvent')!;
  assert.equal(cdc.queryable, false);
  assert.equal(cdc.associateEntityType, 'ChangeEvent');
  assert.equal(cdc.associateParentEntity, 'Account');
  assert.equal(byName.get('CaseFeed')?.associateEntityType, 'Feed');
  const again = await org.api('/sobjects', { headers: { 'if-modified-since': res.headers.get('last-modified')! } });
  assert.equal(again.status, 304);
  org.close();
});

test('describe has exactly the reference keys on every object and field', async () => {
  const org = await testOrg();
  for (const name of [...Object.keys(PREFIXES), 'CaseFeed', 'AccountChangeEvent']) {
    const d = (await (await org.api(`/sobjects/${name}/describe`)).json()) as Describe;
    assert.deepEqual(Object.keys(d).sort(), DESCRIBE_KEYS, name);
    for (const f of d.fields) assert.deepEqual(Object.keys(f).sort(), FIELD_KEYS, `${name}.${f.name}`);
    const master = d.recordTypeInfos.find((rt) => rt.master);
    assert.equal(master?.recordTypeId, '012000000000000AAA');
  }
  org.close();
});

test('Account: compound BillingAddress, child relationships, picklists, hidden field', async () => {
  const org = await testOrg();
  const d = (await (await org.api('/sobjects/Account/describe')).json()) as Describe;
  const field = (n: string) => d.fields.find((f) => f.name === n)!;
  const billing = field('BillingAddress');
  assert.equal(billing.type, 'address');
  assert.equal(billing.soapType, 'urn:address');
  assert.equal(billing.createable, false);
  assert.equal(billing.updateable, false);
  for (const c of ['BillingStreet', 'BillingCity', 'BillingState', 'BillingPostalCode', 'BillingCountry', 'BillingLatitude', 'BillingLongitude', 'BillingGeocodeAccuracy']) {
    assert.equal(field(c).compoundFieldName, 'BillingAddress', c);
  }
  assert.equal(field('BillingCity').createable, true);
  assert.equal(field('Id').label, 'Account ID');
  assert.equal(field('OwnerId').label, 'Owner ID');
  assert.equal(field('Description').filterable, false);
  assert.equal(field('Description').extraTypeInfo, 'plaintextarea');
  const rels = new Map(d.childRelationships.map((c) => [c.relationshipName, c]));
  for (const r of ['Contacts', 'Opportunities', 'Cases', 'ChildAccounts', 'Tasks', 'Events', 'ContentDocumentLinks']) assert.ok(rels.has(r), r);
  assert.deepEqual(rels.get('Contacts'), { cascadeDelete: true, childSObject: 'Contact', deprecatedAndHidden: false, field: 'AccountId', junctionIdListNames: [], junctionReferenceTo: [], relationshipName: 'Contacts', restrictedDelete: false });
  assert.equal(d.childRelationships.some((c) => c.childSObject === 'AccountChangeEvent'), false);
  const industry = field('Industry');
  assert.equal(industry.restrictedPicklist, false);
  for (const p of industry.picklistValues) assert.deepEqual(Object.keys(p).sort(), ['active', 'defaultValue', 'label', 'validFor', 'value']);
  assert.ok(industry.picklistValues.some((p) => p.value === 'Banking'));
  assert.equal(d.fields.some((f) => f.name === 'Credit_Score__c'), false, 'hidden by field-level security');
  const hidden = await org.api('/sobjects/Account', { method: 'POST', json: { Name: 'X', Credit_Score__c: 700 } });
  assert.equal(hidden.status, 400);
  org.close();
});

test('polymorphic references, person names, auto numbers, formulas and cascade flags', async () => {
  const org = await testOrg();
  const get = async (o: string) => (await (await org.api(`/sobjects/${o}/describe`)).json()) as Describe;
  const [task, lead, kase, opp, cc, contact, feed, cdl] = await Promise.all(['Task', 'Lead', 'Case', 'Opportunity', 'CaseComment', 'Contact', 'FeedItem', 'ContentDocumentLink'].map(get));
  const f = (d: Describe, n: string) => d.fields.find((x) => x.name === n)!;
  for (const [d, n, rel] of [[task, 'WhatId', 'What'], [task, 'WhoId', 'Who'], [lead, 'OwnerId', 'Owner'], [kase, 'OwnerId', 'Owner'], [feed, 'ParentId', 'Parent'], [cdl, 'LinkedEntityId', 'LinkedEntity']] as const) {
    assert.equal(f(d, n).polymorphicForeignKey, true, n);
    assert.ok(f(d, n).referenceTo.length > 1, n);
    assert.equal(f(d, n).relationshipName, rel);
  }
  assert.deepEqual(f(task, 'WhoId').referenceTo, ['Contact', 'Lead']);
  assert.deepEqual(f(lead, 'OwnerId').referenceTo, ['Group', 'User']);
  assert.equal(f(contact, 'Name').extraTypeInfo, 'personname');
  assert.equal(f(contact, 'Name').createable, false);
  assert.equal(f(kase, 'CaseNumber').autoNumber, true);
  assert.equal(f(kase, 'CaseNumber').createable, false);
  assert.equal(f(opp, 'ExpectedRevenue').calculated, true);
  assert.equal(f(opp, 'ExpectedRevenue').calculatedFormula, 'Amount * Probability / 100');
  assert.equal(f(cc, 'ParentId').cascadeDelete, true);
  const status = f(lead, 'Status').picklistValues.find((p) => p.defaultValue);
  assert.equal(status?.value, 'Open - Not Contacted');
  assert.ok(kase.childRelationships.some((c) => c.relationshipName === 'CaseComments' && c.cascadeDelete === true));
  assert.ok(kase.childRelationships.some((c) => c.relationshipName === 'Feeds' && c.childSObject === 'CaseFeed'));
  const contactRels = contact.childRelationships.map((c) => c.relationshipName);
  assert.ok(contactRels.includes('Tasks') && contactRels.includes('Cases') && contactRels.includes('CampaignMembers'));
  org.close();
});

/** `query?columns=true` (the column metadata the sf CLI reads after a query) and `query?explain=` (query plans). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testOrg } from '../helpers/emulator.ts';

const q = (s: string) => encodeURIComponent(s);

const col = (c: Record<string, unknown>) => ({
  aggregate: false, apexType: null, booleanType: false, custom: false, foreignKeyName: null, insertable: false, joinColumns: [],
  numberType: false, textType: false, updatable: false, ...c, displayName: c.displayName ?? c.columnName,
});

test('columns=true answers the column metadata of fields, parent paths and child subqueries, without running the query', async () => {
  const org = await testOrg();
  const res = await org.api(`/query?q=${q('select id, NAME, Owner.Name, Parent.Owner.Email, (SELECT LastName FROM Contacts) FROM Account')}&columns=true`);
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.deepEqual(body, {
    columnMetadata: [
      col({ apexType: 'Id', columnName: 'Id' }),
      col({ apexType: 'String', columnName: 'Name', insertable: true, textType: true, updatable: true }),
      col({ columnName: 'Owner', foreignKeyName: 'OwnerId', joinColumns: [col({ apexType: 'String', columnName: 'Name', textType: true })] }),
      col({
        columnName: 'Parent', foreignKeyName: 'ParentId',
        joinColumns: [col({ columnName: 'Owner', foreignKeyName: 'OwnerId', joinColumns: [col({ apexType: 'String', columnName: 'Email', insertable: true, textType: true, updatable: true })] })],
      }),
      col({ aggregate: true, columnName: 'Contacts', joinColumns: [col({ apexType: 'String', columnName: 'LastName', insertable: true, textType: true, updatable: true })] }),
    ],
    entityName: 'Account',
    groupBy: false,
    idSelected: true,
    keyPrefix: '001',
  });
  // The records resource is untouched: no query locator was opened, nothing was counted.
  const normal = (await (await org.api(`/query?q=${q('SELECT Id FROM Account')}`)).json()) as { totalSize: number };
  assert.equal(normal.totalSize, 0);
  org.close();
});

test('columns=true names aggregates expr0… (or their alias) with the call as written, and types numbers and booleans', async () => {
  const org = await testOrg();
  const agg = (await (await org.api(`/query?q=${q('SELECT Industry, COUNT(Id), MAX(AnnualRevenue) top, MIN(Name) FROM Account GROUP BY Industry')}&columns=true`)).json()) as { columnMetadata: unknown[]; groupBy: boolean; idSelected: boolean };
  assert.deepEqual(agg.columnMetadata, [
    col({ apexType: 'String', columnName: 'Industry', insertable: true, textType: true, updatable: true }),
    col({ aggregate: true, columnName: 'expr0', displayName: 'COUNT(Id)', numberType: true }),
    col({ aggregate: true, columnName: 'top', displayName: 'MAX(AnnualRevenue)', numberType: true }),
    col({ aggregate: true, columnName: 'expr1', displayName: 'MIN(Name)' }),
  ]);
  assert.deepEqual([agg.groupBy, agg.idSelected], [true, false]);
  const typed = (await (await org.api(`/query?q=${q('SELECT IsDeleted, NumberOfEmployees, AnnualRevenue, CreatedDate, BillingAddress FROM Account')}&columns=true`)).json()) as { columnMetadata: { columnName: string; apexType: string; booleanType: boolean; numberType: boolean }[] };
  assert.deepEqual(typed.columnMetadata.map((c) => [c.columnName, c.apexType, c.booleanType, c.numberType]), [
    ['IsDeleted', 'Boolean', true, false], ['NumberOfEmployees', 'Integer', false, true], ['AnnualRevenue', 'Decimal', false, true],
    ['CreatedDate', 'Datetime', false, false], ['BillingAddress', 'Address', false, false],
  ]);
  org.close();
});

test('columns=true refuses a bad query exactly as the query does', async () => {
  const org = await testOrg();
  const soql = 'SELECT Nmae FROM Account';
  const plain = await org.api(`/query?q=${q(soql)}`);
  const cols = await org.api(`/query?q=${q(soql)}&columns=true`);
  assert.deepEqual([cols.status, await cols.json()], [plain.status, await plain.json()]);
  org.close();
});

test('explain answers the plans cheapest first: an index on an indexed filter, a table scan, and notes on unindexed filters', async () => {
  const org = await testOrg();
  for (let i = 0; i < 10; i++) await org.api('/sobjects/Account', { method: 'POST', json: { Name: i < 3 ? 'Acme' : `Other ${i}`, Industry: 'Energy' } });
  const soql = "SELECT Id FROM Account WHERE Name = 'Acme' AND Industry = 'Energy'";
  const res = await org.api(`/query?explain=${q(soql)}`);
  assert.equal(res.status, 200);
  const note = { description: 'Not considering filter for optimization because unindexed', fields: ['Industry'], tableEnumOrId: 'Account' };
  // 10 rows: the standard-index threshold is 30% of them (3), so 3 matching rows cost 1.0 and a scan 10/3.
  assert.deepEqual(await res.json(), {
    plans: [
      { cardinality: 3, fields: ['Name'], leadingOperationType: 'Index', notes: [note], relativeCost: 1, sobjectCardinality: 10, sobjectType: 'Account' },
      { cardinality: 3, fields: [], leadingOperationType: 'TableScan', notes: [note], relativeCost: 3.333333333333, sobjectCardinality: 10, sobjectType: 'Account' },
    ],
    sourceQuery: soql,
  });
  // OR with an unindexed branch cannot lead with the index; != never uses one.
  const or = (await (await org.api(`/query?explain=${q("SELECT Id FROM Account WHERE Name = 'Acme' OR Industry = 'Energy'")}`)).json()) as { plans: { leadingOperationType: string }[] };
  assert.deepEqual(or.plans.map((p) => p.leadingOperationType), ['TableScan']);
  const ne = (await (await org.api(`/query?explain=${q("SELECT Id FROM Account WHERE Name != 'Acme'")}`)).json()) as { plans: { leadingOperationType: string; cardinality: number }[] };
  assert.deepEqual(ne.plans.map((p) => [p.leadingOperationType, p.cardinality]), [['TableScan', 7]]);
  org.close();
});

test('explain takes a list view Id, and refuses bad SOQL with the query error', async () => {
  const org = await testOrg();
  const views = (await (await org.api('/sobjects/Account/listviews')).json()) as { listviews: { id: string; developerName: string }[] };
  const all = views.listviews.find((v) => v.developerName === 'AllAccounts')!;
  const res = (await (await org.api(`/query?explain=${all.id}`)).json()) as { sourceQuery: string; plans: { sobjectType: string }[] };
  assert.match(res.sourceQuery, /^SELECT .* FROM Account ORDER BY Name ASC NULLS FIRST, Id ASC NULLS FIRST$/);
  assert.equal(res.plans[0].sobjectType, 'Account');
  const bad = await org.api(`/query?explain=${q('SELECT FROM Account')}`);
  assert.equal(bad.status, 400);
  assert.equal(((await bad.json()) as { errorCode: string }[])[0].errorCode, 'MALFORMED_QUERY');
  org.close();
});

test('columns=true on an external object answers from its fields, without calling the data source', async () => {
  const { schemaFromData } = await import('../../src/emulator/schema/custom.ts');
  const objects = schemaFromData({
    // Port 9 (discard): a callout would fail, so a 200 proves none was made.
    externalDataSources: [{ name: 'ERP', url: 'http://127.0.0.1:9/odata/' }],
    objects: [{ name: 'Order__x', dataSource: 'ERP', table: 'Orders', externalIdColumn: 'order_id', fields: [{ name: 'Total__c', type: 'currency', externalName: 'total' }] }],
  });
  const org = await testOrg({ objects });
  const res = await org.api(`/query?q=${q('SELECT ExternalId, Total__c FROM Order__x')}&columns=true`);
  assert.equal(res.status, 200, await res.clone().text());
  const body = (await res.json()) as { entityName: string; idSelected: boolean; columnMetadata: { columnName: string; apexType: string; custom: boolean }[] };
  assert.deepEqual([body.entityName, body.idSelected], ['Order__x', false]);
  assert.deepEqual(body.columnMetadata.map((c) => [c.columnName, c.apexType, c.custom]), [['ExternalId', 'String', false], ['Total__c', 'Decimal', true]]);
  org.close();
});

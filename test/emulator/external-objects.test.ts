/**
 * External objects (`__x`) end to end: the emulator's SOQL and REST on an external object become OData 4.0
 * calls to sfbridge's own producer, served over real HTTP, and the rows come back live. The producer's
 * request log shows exactly what Salesforce Connect sends (reference §8.3): LIMIT + 1, $count, $select,
 * the WHERE clause as $filter, $skip paging.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, test } from 'node:test';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { schemaFromData } from '../../src/emulator/schema/custom.ts';
import { buildODataSources, odataConfigSchema } from '../../src/server/odata/config.ts';
import { odataApp } from '../../src/server/odata/service.ts';
import { openStore } from '../../src/store/index.ts';
import type { Store } from '../../src/store/types.ts';
import { testOrg, type TestOrg } from '../helpers/emulator.ts';

const ORDERS = Array.from({ length: 450 }, (_, i) => ({
  order_id: `O-${String(i).padStart(4, '0')}`,
  status: ['Open', 'Shipped', 'Closed'][i % 3],
  total: Math.round(i * 12.5 * 100) / 100,
  customer: i % 10 === 0 ? "O'Brien & Sons" : `Customer ${i % 7}`,
}));

describe('external objects over OData 4.0 (Salesforce Connect)', () => {
  let store: Store;
  let server: ServerType;
  let org: TestOrg;
  let root: string;
  let dir: string;
  const seen: URL[] = [];

  before(async () => {
    // The application's own table, in the database sfbridge's store opens.
    dir = mkdtempSync(join(tmpdir(), 'sfbridge-xo-'));
    const db = new DatabaseSync(join(dir, 'app.db'));
    db.exec('CREATE TABLE orders (order_id TEXT PRIMARY KEY, status TEXT NOT NULL, total NUMERIC, customer TEXT)');
    const insert = db.prepare('INSERT INTO orders VALUES (?, ?, ?, ?)');
    for (const o of ORDERS) insert.run(o.order_id, o.status, o.total, o.customer);
    db.close();
    store = await openStore(`sqlite:${join(dir, 'app.db')}`);
    const config = odataConfigSchema.parse({ sources: { erp: { auth: { basic: { username: 'sf', password: 'connect-secret' } }, entity_sets: [{ table: 'orders', name: 'Orders', index: ['status'] }] } } });
    const { sources } = await buildODataSources(config, { store, openStore });
    const odata = odataApp({ sources });
    const app = new Hono();
    app.use('*', async (c, next) => {
      seen.push(new URL(c.req.url));
      await next();
    });
    app.route('/', odata);
    const port = await new Promise<number>((resolve) => {
      server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => resolve(info.port));
    });
    root = `http://127.0.0.1:${port}/odata/v4/erp/`;
    const objects = schemaFromData({
      externalDataSources: [{ name: 'ERP', url: root, auth: { username: 'sf', password: 'connect-secret' } }],
      objects: [
        {
          name: 'Order__x',
          dataSource: 'ERP',
          table: 'Orders',
          externalIdColumn: 'order_id',
          fields: [
            { name: 'Status__c', type: 'string', length: 40, externalName: 'status' },
            { name: 'Total__c', type: 'currency', externalName: 'total' },
            { name: 'Customer__c', type: 'string', length: 80, externalName: 'customer' },
          ],
        },
      ],
    });
    org = await testOrg({ objects });
  });
  after(async () => {
    org.close();
    await new Promise((r) => server.close(r));
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const query = async (soql: string, headers: Record<string, string> = {}) => {
    const res = await org.api(`/query?q=${encodeURIComponent(soql)}`, { headers });
    const body = (await res.json()) as { totalSize: number; done: boolean; nextRecordsUrl?: string; records: Record<string, unknown>[] } & { 0?: { errorCode: string; message: string } };
    return { status: res.status, body };
  };

  test("the issue's example: SELECT ExternalId, Status__c FROM Order__x WHERE Status__c = 'Open' LIMIT 25", async () => {
    seen.length = 0;
    const { status, body } = await query("SELECT ExternalId, Status__c FROM Order__x WHERE Status__c = 'Open' LIMIT 25");
    assert.equal(status, 200, JSON.stringify(body));
    const open = ORDERS.filter((o) => o.status === 'Open');
    assert.equal(body.totalSize, 25);
    assert.equal(body.done, true);
    assert.deepEqual(body.records.map((r) => [r.ExternalId, r.Status__c]), open.slice(0, 25).map((o) => [o.order_id, 'Open']));
    const r0 = body.records[0];
    assert.equal((r0.attributes as { type: string }).type, 'Order__x');
    assert.match(String((r0.attributes as { url: string }).url), /^\/services\/data\/v62\.0\/sobjects\/Order__x\/x00/);
    assert.equal(seen.length, 1);
    const sent = seen[0].searchParams;
    assert.equal(seen[0].pathname, '/odata/v4/erp/Orders');
    assert.equal(sent.get('$top'), '26', 'LIMIT + 1, to learn whether more rows exist');
    assert.equal(sent.get('$count'), 'true');
    assert.equal(sent.get('$select'), 'order_id,status');
    assert.equal(sent.get('$filter'), "(status eq 'Open')");
  });

  test('filters, LIKE, IN, ORDER BY and quotes translate to OData and return exactly the rows', async () => {
    seen.length = 0;
    const { body } = await query("SELECT ExternalId, Customer__c, Total__c FROM Order__x WHERE (Customer__c LIKE 'O\\'Brien%' OR Status__c IN ('Closed')) AND Total__c >= 100 AND Total__c < 1000 ORDER BY Total__c DESC LIMIT 500");
    assert.ok(Array.isArray(body.records), JSON.stringify(body));
    const expected = ORDERS.filter((o) => (o.customer.startsWith("O'Brien") || o.status === 'Closed') && o.total >= 100 && o.total < 1000).sort((a, b) => b.total - a.total);
    assert.deepEqual(body.records.map((r) => r.ExternalId), expected.map((o) => o.order_id));
    assert.deepEqual(body.records.map((r) => r.Total__c), expected.map((o) => o.total));
    assert.equal(body.totalSize, expected.length);
    assert.equal(seen[0].searchParams.get('$orderby'), 'total desc');
    assert.equal(seen[0].searchParams.get('$filter'), "( (startswith(customer,'O''Brien')) or ((status eq 'Closed')) ) and (total ge 100) and (total lt 1000)");
  });

  test('a query without LIMIT pages with $skip; every row once, Ids stable across queries', async () => {
    seen.length = 0;
    const first = await query('SELECT Id, ExternalId FROM Order__x ORDER BY ExternalId', { 'sforce-query-options': 'batchSize=200' });
    assert.equal(first.body.totalSize, 450);
    assert.equal(first.body.done, false);
    const rows = [...first.body.records];
    let next = first.body.nextRecordsUrl;
    while (next) {
      const res = await org.api(next, { headers: { 'sforce-query-options': 'batchSize=200' } });
      const page = (await res.json()) as { done: boolean; nextRecordsUrl?: string; records: Record<string, unknown>[]; totalSize: number };
      assert.equal(page.totalSize, 450);
      rows.push(...page.records);
      next = page.nextRecordsUrl;
    }
    assert.deepEqual(rows.map((r) => r.ExternalId), ORDERS.map((o) => o.order_id));
    assert.deepEqual(seen.map((u) => u.searchParams.get('$skip')), [null, '200', '400']);
    assert.deepEqual(seen.map((u) => u.searchParams.get('$top')), ['201', '201', '201']);
    const ids = rows.map((r) => r.Id as string);
    assert.equal(new Set(ids).size, 450);
    const again = await query("SELECT Id FROM Order__x WHERE ExternalId = 'O-0007'");
    assert.equal(again.body.records[0].Id, ids[7]);
    // By Id, by the external key, and with ?fields=.
    const byId = (await (await org.api(`/sobjects/Order__x/${ids[7]}`)).json()) as Record<string, unknown>;
    assert.equal(byId.ExternalId, 'O-0007');
    assert.equal(byId.DisplayUrl, `${root}Orders('O-0007')`);
    assert.equal(byId.Status__c, ORDERS[7].status);
    const byKey = (await (await org.api('/sobjects/Order__x/ExternalId/O-0008?fields=Status__c')).json()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(byKey), ['attributes', 'Status__c']);
    assert.equal((await org.api('/sobjects/Order__x/O-9999')).status, 404);
    const byIdFilter = await query(`SELECT ExternalId FROM Order__x WHERE Id IN ('${ids[1]}', '${ids[2]}')`);
    assert.deepEqual(byIdFilter.body.records.map((r) => r.ExternalId), ['O-0001', 'O-0002']);
  });

  test('COUNT() asks for $count with $top=0', async () => {
    seen.length = 0;
    const { body } = await query("SELECT COUNT() FROM Order__x WHERE Status__c = 'Shipped'");
    assert.equal(body.totalSize, ORDERS.filter((o) => o.status === 'Shipped').length);
    assert.deepEqual(body.records, []);
    assert.equal(seen[0].searchParams.get('$top'), '0');
    assert.equal(seen[0].searchParams.get('$count'), 'true');
  });

  test('describe shows the external object; what it cannot do is refused with the reason', async () => {
    const d = (await (await org.api('/sobjects/Order__x/describe')).json()) as { fields: { name: string; type: string }[]; queryable: boolean; createable: boolean };
    assert.deepEqual(d.fields.map((f) => f.name), ['Id', 'ExternalId', 'DisplayUrl', 'Status__c', 'Total__c', 'Customer__c']);
    assert.equal(d.createable, false);
    for (const [soql, code] of [
      ['SELECT Status__c, COUNT(Id) FROM Order__x GROUP BY Status__c', 'MALFORMED_QUERY'],
      ['SELECT Nope__c FROM Order__x', 'INVALID_FIELD'],
      ["SELECT Id FROM Order__x WHERE Customer__c LIKE 'a%b%'", 'MALFORMED_QUERY'],
    ] as const) {
      const { status, body } = await query(soql);
      assert.equal(status, 400, soql);
      assert.equal((body as unknown as { errorCode: string }[])[0].errorCode, code, soql);
    }
    const all = await org.api(`/queryAll?q=${encodeURIComponent('SELECT Id FROM Order__x')}`);
    assert.equal(all.status, 400);
  });

  test('a producer that refuses the credentials or is down gives the external-object error codes', async () => {
    const objects = schemaFromData({
      externalDataSources: [
        { name: 'Wrong', url: root, auth: { username: 'sf', password: 'nope' } },
        { name: 'Down', url: 'http://127.0.0.1:9/odata/v4/erp/', timeoutMs: 2000 },
      ],
      objects: [
        { name: 'A__x', dataSource: 'Wrong', table: 'Orders', externalIdColumn: 'order_id', fields: [] },
        { name: 'B__x', dataSource: 'Down', table: 'Orders', externalIdColumn: 'order_id', fields: [] },
      ],
    });
    const other = await testOrg({ objects });
    try {
      for (const [obj, code] of [['A__x', 'EXTERNAL_OBJECT_AUTHENTICATION_EXCEPTION'], ['B__x', 'EXTERNAL_OBJECT_CONNECTION_EXCEPTION']]) {
        const res = await other.api(`/query?q=${encodeURIComponent(`SELECT ExternalId FROM ${obj}`)}`);
        const body = (await res.json()) as { errorCode: string; message: string }[];
        assert.equal(res.status, 400);
        assert.equal(body[0].errorCode, code, body[0].message);
      }
    } finally {
      other.close();
    }
  });

  test('the schema file refuses an external object it cannot serve, naming the fix', () => {
    assert.throws(() => schemaFromData({ objects: [{ name: 'C__x', dataSource: 'ERP', table: 'T', externalIdColumn: 'k', fields: [] }] }), /no external data source ERP; define it under externalDataSources/);
    assert.throws(() => schemaFromData({ externalDataSources: [{ name: 'ERP', url: root }], objects: [{ name: 'C__x', dataSource: 'ERP', externalIdColumn: 'k', fields: [] }] }), /needs table:/);
    assert.throws(() => schemaFromData({ objects: [{ name: 'D__c', table: 'T', fields: [] }] }), /apply to external objects only/);
  });
});

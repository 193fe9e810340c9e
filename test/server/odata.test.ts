/**
 * The OData 4.0 producer over mirror tables and an application table, on both store backends, through the
 * hono app (`app.request()`). Filters built with the independent `@odata/parser` query builder are checked
 * against the same predicate evaluated in JavaScript over the seeded rows.
 */
import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, test } from 'node:test';
import { filter as odataFilter, param as odataParam } from '@odata/parser';
import { XMLParser } from 'fast-xml-parser';
import pg from 'pg';
import { buildODataSources, odataConfigSchema } from '../../src/server/odata/config.ts';
import { odataApp } from '../../src/server/odata/service.ts';
import { openStore } from '../../src/store/index.ts';
import type { Store } from '../../src/store/types.ts';
import { backends, type Place, PG_URL } from '../store/backends.ts';

const ACCOUNT_FIELDS = [
  { name: 'Id', type: 'id', length: 18 },
  { name: 'Name', type: 'string', length: 255 },
  { name: 'Industry', type: 'picklist', length: 40 },
  { name: 'AnnualRevenue', type: 'currency' },
  { name: 'NumberOfEmployees', type: 'int' },
  { name: 'IsActive__c', type: 'boolean' },
  { name: 'CreatedDate', type: 'datetime' },
  { name: 'SystemModstamp', type: 'datetime' },
  { name: 'IsDeleted', type: 'boolean' },
];
const CONTACT_FIELDS = [
  { name: 'Id', type: 'id', length: 18 },
  { name: 'LastName', type: 'string', length: 80 },
  { name: 'AccountId', type: 'reference', length: 18 },
  { name: 'SystemModstamp', type: 'datetime' },
  { name: 'IsDeleted', type: 'boolean' },
];
const INDUSTRIES = ['Energy', 'Banking', 'Retail', null];
const N = 230;

const id = (prefix: string, i: number) => `${prefix}A0000000${String(i).padStart(4, '0')}AAA`;
interface Acct {
  Id: string;
  Name: string;
  Industry: string | null;
  AnnualRevenue: number;
  NumberOfEmployees: number;
  IsActive__c: boolean;
  CreatedDate: string;
}
const ACCOUNTS: Acct[] = Array.from({ length: N }, (_, i) => ({
  Id: id('001', i),
  Name: i % 7 === 0 ? `Acme ${i}` : `Account ${String(i).padStart(3, '0')}`,
  Industry: INDUSTRIES[i % 4],
  AnnualRevenue: i * 1000.5,
  NumberOfEmployees: (i * 37) % 101,
  IsActive__c: i % 3 === 0,
  CreatedDate: new Date(Date.UTC(2024, 0, 1) + i * 3_600_000).toISOString(),
}));

const BASIC = `Basic ${Buffer.from('salesforce:s3cret-password').toString('base64')}`;

async function seed(store: Store): Promise<void> {
  await store.ensureTable({ object: 'Account', fields: ACCOUNT_FIELDS });
  await store.ensureTable({ object: 'Contact', fields: CONTACT_FIELDS });
  const stamp = '2024-06-01T00:00:00.000+0000';
  await store.upsert('Account', ACCOUNTS.map((a) => ({ ...a, CreatedDate: a.CreatedDate.replace('Z', '+0000'), SystemModstamp: stamp, IsDeleted: false })));
  await store.upsert('Contact', Array.from({ length: 20 }, (_, i) => ({ Id: id('003', i), LastName: `Smith ${i}`, AccountId: i < 18 ? id('001', i) : null, SystemModstamp: stamp, IsDeleted: false })));
  // One deleted account: a mirror never serves it.
  await store.markDeleted('Account', [id('001', N - 1)], '2024-06-02T00:00:00.000Z');
}

/** Creates the application table `orders` next to the mirror. */
async function createOrders(backend: string, place: Place): Promise<void> {
  if (backend === 'sqlite') {
    const db = new DatabaseSync(place.url.slice('sqlite:'.length));
    db.exec(`CREATE TABLE orders (order_id TEXT PRIMARY KEY, account_id TEXT, status TEXT NOT NULL, total NUMERIC, placed_at TIMESTAMP)`);
    db.exec(`INSERT INTO orders VALUES ('O-1', '${id('001', 1)}', 'Open', 10.5, '2024-05-01T10:00:00.000Z'), ('O-2', '${id('001', 2)}', 'Shipped', 99, '2024-05-02T10:00:00.000Z')`);
    db.close();
    return;
  }
  const schema = new URL(place.url).searchParams.get('schema');
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(`CREATE TABLE "${schema}".orders (order_id text PRIMARY KEY, account_id text, status text NOT NULL, total numeric, placed_at timestamptz)`);
    await client.query(`INSERT INTO "${schema}".orders VALUES ('O-1', $1, 'Open', 10.5, '2024-05-01T10:00:00Z'), ('O-2', $2, 'Shipped', 99, '2024-05-02T10:00:00Z')`, [id('001', 1), id('001', 2)]);
  } finally {
    await client.end();
  }
}

for (const backend of backends) {
  describe(`OData 4.0 producer (${backend.name})`, () => {
    let place: Place;
    let store: Store;
    let app: ReturnType<typeof odataApp>;

    before(async () => {
      place = await backend.place(true);
      store = await place.open();
      await seed(store);
      await createOrders(backend.name, place);
      const config = odataConfigSchema.parse({
        page_size: 100,
        sources: {
          erp: {
            auth: { basic: { username: 'salesforce', password: 's3cret-password' } },
            entity_sets: [
              { table: 'Account', index: ['Industry'] },
              { table: 'Contact' },
              { table: 'orders', name: 'Orders', writable: true },
            ],
            navigation: { Orders: { Account: { property: 'account_id', target: 'Account' } } },
          },
        },
      });
      const { sources } = await buildODataSources(config, { store, openStore });
      app = odataApp({ sources });
    });
    after(async () => {
      await store.close();
      await place.cleanup();
    });

    const get = (path: string, headers: Record<string, string> = { authorization: BASIC }) => app.request(`http://erp.test/odata/v4/erp/${path}`, { headers });
    const getJson = async (path: string) => {
      const res = await get(path);
      const body = (await res.json()) as Record<string, unknown> & { value: Record<string, unknown>[] };
      assert.equal(res.status, 200, JSON.stringify(body));
      return body;
    };
    const live = ACCOUNTS.slice(0, N - 1);
    /** Every row of a query, following @odata.nextLink. */
    const all = async (path: string) => {
      const rows: Record<string, unknown>[] = [];
      let url: string | undefined = path;
      let first: Record<string, unknown> | undefined;
      while (url) {
        const body = await getJson(url);
        first ??= body;
        rows.push(...body.value);
        url = (body['@odata.nextLink'] as string | undefined)?.replace('http://erp.test/odata/v4/erp/', '');
      }
      return { rows, count: first?.['@odata.count'] };
    };

    test('refuses requests without the configured credentials', async () => {
      for (const headers of [{} as Record<string, string>, { authorization: `Basic ${Buffer.from('salesforce:wrong').toString('base64')}` }, { authorization: 'Bearer s3cret-password' }]) {
        const res = await get('Account', headers);
        assert.equal(res.status, 401);
        assert.match(res.headers.get('www-authenticate') ?? '', /^Basic realm=/);
        const body = (await res.json()) as { error: { code: string; message: string } };
        assert.equal(body.error.code, 'Unauthorized');
      }
    });

    test('service document and $metadata describe every set, key, type, length and navigation', async () => {
      const doc = await getJson('');
      assert.equal(doc['@odata.context'], 'http://erp.test/odata/v4/erp/$metadata');
      assert.deepEqual(doc.value, [
        { name: 'Account', kind: 'EntitySet', url: 'Account' },
        { name: 'Contact', kind: 'EntitySet', url: 'Contact' },
        { name: 'Orders', kind: 'EntitySet', url: 'Orders' },
      ]);
      const res = await get('$metadata');
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^application\/xml/);
      assert.equal(res.headers.get('odata-version'), '4.0');
      const parsed = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (name, _jpath, _leaf, isAttribute) => !isAttribute && ['EntityType', 'Property', 'NavigationProperty', 'EntitySet', 'PropertyRef', 'NavigationPropertyBinding'].includes(name) }).parse(await res.text());
      const schema = parsed['edmx:Edmx']['edmx:DataServices'].Schema;
      assert.equal(parsed['edmx:Edmx'].Version, '4.0');
      assert.equal(schema.Namespace, 'sfbridge.erp');
      const types = Object.fromEntries(schema.EntityType.map((t: { Name: string }) => [t.Name, t]));
      const account = types.Account;
      assert.deepEqual(account.Key.PropertyRef.map((r: { Name: string }) => r.Name), ['Id']);
      const prop = (t: { Property: { Name: string }[] }, n: string) => t.Property.find((p) => p.Name === n);
      assert.deepEqual(prop(account, 'Id'), { Name: 'Id', Type: 'Edm.String', Nullable: 'false', MaxLength: '18' });
      assert.deepEqual(prop(account, 'Industry'), { Name: 'Industry', Type: 'Edm.String', MaxLength: '40' });
      assert.equal(prop(account, 'AnnualRevenue')?.['Type' as 'Name'], 'Edm.Decimal');
      assert.equal(prop(account, 'NumberOfEmployees')?.['Type' as 'Name'], 'Edm.Int32');
      assert.equal(prop(account, 'CreatedDate')?.['Type' as 'Name'], 'Edm.DateTimeOffset');
      assert.equal(prop(account, 'IsActive__c')?.['Type' as 'Name'], 'Edm.Boolean');
      // Mirror bookkeeping columns are not part of the model.
      assert.equal(account.Property.some((p: { Name: string }) => p.Name.startsWith('_')), false);
      // Contact.AccountId → Account, derived from Salesforce's naming; Orders.account_id → Account, configured.
      assert.deepEqual(types.Contact.NavigationProperty[0], { Name: 'Account', Type: 'sfbridge.erp.Account', ReferentialConstraint: { Property: 'AccountId', ReferencedProperty: 'Id' } });
      assert.equal(types.Orders.NavigationProperty[0].Name, 'Account');
      assert.deepEqual(types.Orders.Key.PropertyRef.map((r: { Name: string }) => r.Name), ['order_id']);
      const sets = schema.EntityContainer.EntitySet.map((s: { Name: string; EntityType: string }) => [s.Name, s.EntityType]);
      assert.deepEqual(sets, [['Account', 'sfbridge.erp.Account'], ['Contact', 'sfbridge.erp.Contact'], ['Orders', 'sfbridge.erp.Orders']]);
    });

    test("what Salesforce Connect sends for a LIMIT 25 list: $select, $filter, $orderby, $top=26, $count", async () => {
      const q = `Account?$select=Id,Name,Industry&$filter=${encodeURIComponent("Industry eq 'Energy'")}&$orderby=Name asc&$top=26&$count=true`;
      const body = await getJson(q);
      const expected = live.filter((a) => a.Industry === 'Energy').sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : a.Id < b.Id ? -1 : 1));
      assert.equal(body['@odata.count'], expected.length);
      assert.equal(body['@odata.context'], 'http://erp.test/odata/v4/erp/$metadata#Account(Id,Name,Industry)');
      assert.deepEqual(body.value, expected.slice(0, 26).map((a) => ({ Id: a.Id, Name: a.Name, Industry: a.Industry })));
      assert.equal(body['@odata.nextLink'], undefined);
      // The next page, client-driven.
      const page2 = await getJson(`${q}&$skip=25`);
      assert.deepEqual(page2.value.map((r) => r.Id), expected.slice(25, 51).map((a) => a.Id));
    });

    test('filters built by an independent OData client match the same predicate over the rows', async () => {
      const cases: [ReturnType<typeof odataFilter>, (a: Acct) => boolean][] = [
        [odataFilter().field('Industry').eq('Banking').field('NumberOfEmployees').gt(50), (a) => a.Industry === 'Banking' && a.NumberOfEmployees > 50],
        [odataFilter().field('AnnualRevenue').ge(5000).field('AnnualRevenue').lt(20000.5), (a) => a.AnnualRevenue >= 5000 && a.AnnualRevenue < 20000.5],
        [odataFilter().field('Industry').in(['Energy', 'Retail']), (a) => a.Industry === 'Energy' || a.Industry === 'Retail'],
        [odataFilter().field('NumberOfEmployees').between(10, 20), (a) => a.NumberOfEmployees >= 10 && a.NumberOfEmployees <= 20],
        [odataFilter().field('Industry').ne('Energy'), (a) => a.Industry !== 'Energy'],
      ];
      for (const [f, predicate] of cases) {
        const qs = odataParam().filter(f).count(true).toString();
        const { rows, count } = await all(`Account?${qs}`);
        const expected = live.filter(predicate).map((a) => a.Id).sort();
        assert.deepEqual(rows.map((r) => r.Id), expected, qs);
        assert.equal(count, expected.length, qs);
      }
    });

    test('every $filter form this service documents, with exact rows', async () => {
      const ids = async (f: string) => (await all(`Account?$select=Id&$filter=${encodeURIComponent(f)}`)).rows.map((r) => r.Id as string);
      const want = (p: (a: Acct) => boolean) => live.filter(p).map((a) => a.Id);
      assert.deepEqual(await ids("contains(Name,'cme')"), want((a) => a.Name.includes('cme')));
      assert.deepEqual(await ids("contains(Name,'ACME')"), [], 'contains is case-sensitive, as OData defines it');
      assert.deepEqual(await ids("startswith(Name,'Acme 1')"), want((a) => a.Name.startsWith('Acme 1')));
      assert.deepEqual(await ids("endswith(Name,'00')"), want((a) => a.Name.endsWith('00')));
      assert.deepEqual(await ids("substringof('cme',Name) eq true"), want((a) => a.Name.includes('cme')));
      assert.deepEqual(await ids("not contains(Name,'Acme') and IsActive__c"), want((a) => !a.Name.includes('Acme') && a.IsActive__c));
      assert.deepEqual(await ids('Industry eq null'), want((a) => a.Industry === null));
      assert.deepEqual(await ids("Industry ne null and not (Industry eq 'Retail' or Industry eq 'Banking')"), want((a) => a.Industry === 'Energy'));
      assert.deepEqual(await ids('CreatedDate ge 2024-01-05T00:00:00Z and CreatedDate lt 2024-01-06'), want((a) => a.CreatedDate >= '2024-01-05T00:00:00.000Z' && a.CreatedDate < '2024-01-06T00:00:00.000Z'));
      assert.deepEqual(await ids('IsActive__c eq false and NumberOfEmployees le 3'), want((a) => !a.IsActive__c && a.NumberOfEmployees <= 3));
      assert.deepEqual(await ids("10 lt NumberOfEmployees and 'Energy' eq Industry"), want((a) => a.NumberOfEmployees > 10 && a.Industry === 'Energy'));
    });

    test('values never reach SQL text: quotes, comments and SQL in literals are just strings', async () => {
      for (const f of ["Name eq 'x'' OR 1=1 --'", "Name eq 'Acme 0'';DROP TABLE \"Account\";--'", "contains(Name,'%')", "contains(Name,'_')"]) {
        const body = await getJson(`Account?$filter=${encodeURIComponent(f)}`);
        assert.deepEqual(body.value, [], f);
      }
      assert.equal((await getJson('Account?$count=true&$top=0'))['@odata.count'], N - 1);
    });

    test('bad options are refused with the position and the fix', async () => {
      const cases: [string, number, RegExp][] = [
        [`Account?$filter=${encodeURIComponent("Industy eq 'Energy'")}`, 400, /Account has no property Industy \(position 1\) \(did you mean Industry\?\)/],
        [`Account?$filter=${encodeURIComponent('NumberOfEmployees eq ten')}`, 400, /has no property ten/],
        [`Account?$filter=${encodeURIComponent("NumberOfEmployees eq '10'")}`, 400, /NumberOfEmployees is Edm\.Int32; '10' is not an integer/],
        [`Account?$filter=${encodeURIComponent("Name eq 'open")}`, 400, /not closed/],
        [`Account?$filter=${encodeURIComponent("tolower(Name) eq 'x'")}`, 501, /function tolower\(\) is not supported/],
        ['Account?$top=-1', 400, /\$top=-1: expected a non-negative integer/],
        ['Account?$inlinecount=allpages', 400, /use \$count=true/],
        ['Account?$apply=groupby((Industry))', 501, /\$apply is not supported/],
        ['Account?$format=atom', 406, /JSON only/],
        ['Acount', 404, /no entity set Acount \(did you mean Account\?\)/],
        ['Account?$orderby=Nmae desc', 400, /no property Nmae \(did you mean Name\?\)/],
        ['Account?$skiptoken=bm9wZQ', 400, /skiptoken is not one this service issued/],
      ];
      for (const [path, status, message] of cases) {
        const res = await get(path);
        const body = (await res.json()) as { error: { code: string; message: string } };
        assert.equal(res.status, status, path);
        assert.match(body.error.message, message, path);
      }
    });

    test('server-driven paging follows @odata.nextLink through every row exactly once', async () => {
      const seen: string[] = [];
      let url: string | undefined = 'Account?$orderby=Industry desc,NumberOfEmployees&$select=Id,Industry,NumberOfEmployees&$count=true';
      let pages = 0;
      while (url) {
        const body = await getJson(url);
        if (pages === 0) assert.equal(body['@odata.count'], N - 1);
        seen.push(...body.value.map((r) => r.Id as string));
        const next = body['@odata.nextLink'] as string | undefined;
        url = next?.replace('http://erp.test/odata/v4/erp/', '');
        pages++;
      }
      assert.equal(pages, 3); // 229 rows, 100 per page
      const cmpNullsLastDesc = (a: string | null, b: string | null) => (a === b ? 0 : a === null ? 1 : b === null ? -1 : a < b ? 1 : -1);
      const expected = [...live].sort((a, b) => cmpNullsLastDesc(a.Industry, b.Industry) || a.NumberOfEmployees - b.NumberOfEmployees || (a.Id < b.Id ? -1 : 1)).map((a) => a.Id);
      assert.deepEqual(seen, expected);
      // $top larger than a page: the link carries what remains of it.
      const first = await getJson('Account?$top=150&$select=Id');
      assert.equal(first.value.length, 100);
      assert.match(String(first['@odata.nextLink']), /\$top=50/);
      const second = await getJson(String(first['@odata.nextLink']).replace('http://erp.test/odata/v4/erp/', ''));
      assert.equal(second.value.length, 50);
      assert.equal(second['@odata.nextLink'], undefined);
    });

    test('$search matches any string property, case-insensitively, with AND/OR/NOT', async () => {
      const ids = async (s: string) => (await all(`Account?$select=Id&$search=${encodeURIComponent(s)}`)).rows.map((r) => r.Id as string);
      assert.deepEqual(await ids('acme'), live.filter((a) => a.Name.includes('Acme')).map((a) => a.Id));
      assert.deepEqual(await ids('acme OR retail'), live.filter((a) => a.Name.includes('Acme') || a.Industry === 'Retail').map((a) => a.Id));
      assert.deepEqual(await ids('acme NOT energy'), live.filter((a) => a.Name.includes('Acme') && a.Industry !== 'Energy').map((a) => a.Id));
      assert.deepEqual(await ids('"acme 14"'), [id('001', 14), ...live.filter((a) => a.Name.startsWith('Acme 14') && a.Id !== id('001', 14)).map((a) => a.Id)].sort());
    });

    test('entity by key, a property, /$value, /$count, navigation and $expand', async () => {
      const a = ACCOUNTS[14];
      const one = await getJson(`Account('${a.Id}')?$select=Name,AnnualRevenue`);
      assert.deepEqual(one, { '@odata.context': 'http://erp.test/odata/v4/erp/$metadata#Account(Name,AnnualRevenue)/$entity', Name: a.Name, AnnualRevenue: a.AnnualRevenue });
      assert.deepEqual(await getJson(`Account(Id='${a.Id}')/Name`), { '@odata.context': `http://erp.test/odata/v4/erp/$metadata#Account('${a.Id}')/Name`, value: a.Name });
      assert.equal(await (await get(`Account('${a.Id}')/NumberOfEmployees/$value`)).text(), String(a.NumberOfEmployees));
      assert.equal(await (await get(`Account/$count?$filter=${encodeURIComponent("Industry eq 'Retail'")}`)).text(), String(live.filter((x) => x.Industry === 'Retail').length));
      assert.equal((await get(`Account('${id('001', N - 1)}')`)).status, 404, 'a deleted mirror row is gone');
      assert.equal((await get(`Account('001A00000000nopeAAA')`)).status, 404);
      const nav = await getJson(`Contact('${id('003', 3)}')/Account`);
      assert.equal(nav.Id, id('001', 3));
      assert.equal((await get(`Contact('${id('003', 19)}')/Account`)).status, 204, 'a null lookup has no target');
      const expanded = await getJson(`Contact?$select=LastName&$expand=Account($select=Name)&$filter=${encodeURIComponent("startswith(LastName,'Smith 1')")}`);
      assert.deepEqual(expanded.value.slice(0, 3), [
        { LastName: 'Smith 1', Account: { Name: ACCOUNTS[1].Name } },
        { LastName: 'Smith 10', Account: { Name: ACCOUNTS[10].Name } },
        { LastName: 'Smith 11', Account: { Name: ACCOUNTS[11].Name } },
      ]);
      assert.deepEqual(expanded.value.find((r) => r.LastName === 'Smith 19'), { LastName: 'Smith 19', Account: null });
    });

    test('writable application table: create, update, replace, delete; mirror tables refuse writes', async () => {
      const send = (method: string, path: string, body?: unknown) => app.request(`http://erp.test/odata/v4/erp/${path}`, { method, headers: { authorization: BASIC, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      const created = await send('POST', 'Orders', { order_id: 'O-3', account_id: id('001', 3), status: 'Open', total: 12.25, placed_at: '2024-05-03T10:00:00Z' });
      assert.equal(created.status, 201);
      assert.equal(created.headers.get('location'), "http://erp.test/odata/v4/erp/Orders('O-3')");
      assert.deepEqual(await created.json(), { order_id: 'O-3', account_id: id('001', 3), status: 'Open', total: 12.25, placed_at: '2024-05-03T10:00:00.000Z' });
      assert.equal((await send('POST', 'Orders', { order_id: 'O-3', status: 'Open' })).status, 409);
      assert.equal((await send('PATCH', "Orders('O-3')", { status: 'Shipped' })).status, 204);
      assert.deepEqual(await getJson("Orders('O-3')?$select=status,total&$expand=Account($select=Id)"), { '@odata.context': 'http://erp.test/odata/v4/erp/$metadata#Orders(status,total)/$entity', status: 'Shipped', total: 12.25, Account: { Id: id('001', 3) } });
      const put = await send('PUT', "Orders('O-3')", { status: 'Closed' });
      assert.equal(put.status, 204, await put.text());
      assert.deepEqual(await getJson("Orders('O-3')?$select=status,total,account_id"), { '@odata.context': 'http://erp.test/odata/v4/erp/$metadata#Orders(status,total,account_id)/$entity', status: 'Closed', total: null, account_id: null });
      const bad = await send('PATCH', "Orders('O-3')", { staus: 'x' });
      assert.equal(bad.status, 400);
      assert.match(((await bad.json()) as { error: { message: string } }).error.message, /no property staus \(did you mean status\?\)/);
      assert.equal((await send('DELETE', "Orders('O-3')")).status, 204);
      assert.equal((await send('DELETE', "Orders('O-3')")).status, 404);
      const refused = await send('PATCH', `Account('${id('001', 1)}')`, { Name: 'x' });
      assert.equal(refused.status, 405);
      assert.match(((await refused.json()) as { error: { message: string } }).error.message, /mirror table: write to Salesforce instead/);
      assert.deepEqual((await getJson("Orders?$filter=status eq 'Open'")).value.map((r) => r.order_id), ['O-1']);
    });
  });
}

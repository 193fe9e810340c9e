/**
 * REST query paging with locators, batch sizes, expiry, commitDelay visibility, the Bulk-facing
 * prepareQuery contract, and the compiler's SQL/parameters.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { insertRecord } from '../../src/emulator/dml.ts';
import { compile } from '../../src/emulator/soql/compiler.ts';
import { cursorsFor, LOCATOR_IDLE_MS, MAX_OPEN_CURSORS, prepareQuery } from '../../src/emulator/soql/index.ts';
import { testOrg, type TestOrg } from '../helpers/emulator.ts';
import { fixture, query, type Fixture } from './soql-fixture.ts';

const N = 5200;

describe('query paging', () => {
  let org: TestOrg;
  before(async () => {
    org = await testOrg();
    const o = org.emu.org;
    const def = o.schema.get('Account')!;
    o.store.transaction(() => {
      for (let i = 0; i < N; i++) insertRecord(o, def, { Name: `Acct ${String(i).padStart(5, '0')}`, NumberOfEmployees: i });
    });
  });
  after(() => org.close());

  const get = async (path: string, headers: Record<string, string> = {}) => {
    const res = await org.api(path, { headers });
    return { status: res.status, body: (await res.json()) as any };
  };

  it('first page holds 2000 records by default, with a locator URL', async () => {
    const { body } = await get(`/query?q=${encodeURIComponent('SELECT Id FROM Account')}`);
    assert.equal(body.totalSize, N);
    assert.equal(body.done, false);
    assert.equal(body.records.length, 2000);
    assert.match(body.nextRecordsUrl, /^\/services\/data\/v62\.0\/query\/01g[A-Za-z0-9]{15}-2000$/);
    assert.deepEqual(Object.keys(body), ['totalSize', 'done', 'nextRecordsUrl', 'records']);
  });

  it('walking the locator returns every row once, in order, and the last page has no nextRecordsUrl', async () => {
    let page = (await get(`/query?q=${encodeURIComponent('SELECT Name FROM Account')}`)).body;
    const names: string[] = page.records.map((r: { Name: string }) => r.Name);
    const sizes = [page.records.length];
    while (!page.done) {
      page = (await get(page.nextRecordsUrl)).body;
      assert.equal(page.totalSize, N);
      sizes.push(page.records.length);
      names.push(...page.records.map((r: { Name: string }) => r.Name));
    }
    assert.equal('nextRecordsUrl' in page, false);
    assert.deepEqual(sizes, [2000, 2000, 1200]);
    assert.equal(names.length, N);
    assert.equal(new Set(names).size, N);
    const nums = names.map((n) => Number(n.slice(5)));
    assert.ok(nums.every((n, i) => n === i));
  });

  it('ORDER BY queries page by position with no gaps or duplicates', async () => {
    let page = (await get(`/query?q=${encodeURIComponent('SELECT NumberOfEmployees FROM Account ORDER BY NumberOfEmployees DESC')}`, { 'Sforce-Query-Options': 'batchSize=1000' })).body;
    const seen: number[] = page.records.map((r: { NumberOfEmployees: number }) => r.NumberOfEmployees);
    while (!page.done) {
      page = (await get(page.nextRecordsUrl, { 'Sforce-Query-Options': 'batchSize=1000' })).body;
      seen.push(...page.records.map((r: { NumberOfEmployees: number }) => r.NumberOfEmployees));
    }
    assert.deepEqual(seen, Array.from({ length: N }, (_, i) => N - 1 - i));
  });

  it('batchSize header sets the page size, clamped to 200..2000', async () => {
    const q = `/query?q=${encodeURIComponent('SELECT Id FROM Account')}`;
    assert.equal((await get(q, { 'Sforce-Query-Options': 'batchSize=500' })).body.records.length, 500);
    assert.match((await get(q, { 'Sforce-Query-Options': 'batchSize=500' })).body.nextRecordsUrl, /-500$/);
    assert.equal((await get(q, { 'Sforce-Query-Options': 'batchSize=10' })).body.records.length, 200);
    assert.equal((await get(q, { 'Sforce-Query-Options': 'batchSize=5000' })).body.records.length, 2000);
  });

  it('LIMIT bounds totalSize and the walk', async () => {
    let page = (await get(`/query?q=${encodeURIComponent('SELECT Id FROM Account LIMIT 2500')}`)).body;
    assert.equal(page.totalSize, 2500);
    let count = page.records.length;
    while (!page.done) {
      page = (await get(page.nextRecordsUrl)).body;
      count += page.records.length;
    }
    assert.equal(count, 2500);
  });

  it('a retried page (same offset) returns the same rows; queryAll locators are accepted', async () => {
    const first = (await get(`/queryAll?q=${encodeURIComponent('SELECT Name FROM Account WHERE NumberOfEmployees < 700')}`, { 'Sforce-Query-Options': 'batchSize=200' })).body;
    assert.match(first.nextRecordsUrl, /\/query\//);
    const again = (await get(first.nextRecordsUrl.replace('/query/', '/queryAll/'), { 'Sforce-Query-Options': 'batchSize=200' })).body;
    const retry = (await get(first.nextRecordsUrl, { 'Sforce-Query-Options': 'batchSize=200' })).body;
    assert.deepEqual(retry.records, again.records);
    assert.equal(again.records[0].Name, 'Acct 00200');
  });

  it('child subqueries count toward the batch', async () => {
    const o = org.emu.org;
    const acc = o.store.findBy(o.schema.get('Account')!, o.schema.field('Account', 'Name')!, 'Acct 00000')[0].Id as string;
    for (let i = 0; i < 300; i++) insertRecord(o, o.schema.get('Contact')!, { LastName: `Kid ${i}`, AccountId: acc });
    const { body } = await get(`/query?q=${encodeURIComponent("SELECT Name, (SELECT Id FROM Contacts) FROM Account WHERE Name LIKE 'Acct 000%'")}`, { 'Sforce-Query-Options': 'batchSize=200' });
    assert.equal(body.totalSize, 100);
    assert.equal(body.records.length, 1);
    assert.equal(body.records[0].Contacts.totalSize, 300);
    assert.match(body.nextRecordsUrl, /-1$/);
    const next = (await get(body.nextRecordsUrl, { 'Sforce-Query-Options': 'batchSize=200' })).body;
    assert.equal(next.records.length, 99);
    assert.equal(next.done, true);
    assert.equal(next.records[0].Contacts, null);
  });

  it('locators expire after 15 minutes of inactivity (org clock)', async () => {
    const { body } = await get(`/query?q=${encodeURIComponent('SELECT Id FROM Account')}`);
    org.emu.org.clock.advance(LOCATOR_IDLE_MS + 1000);
    try {
      const res = await get(body.nextRecordsUrl);
      assert.equal(res.status, 400);
      assert.deepEqual(res.body, [{ message: 'invalid query locator', errorCode: 'INVALID_QUERY_LOCATOR' }]);
    } finally {
      org.emu.org.clock.reset();
    }
  });

  it('a locator in use stays valid across pages within the idle window', async () => {
    let page = (await get(`/query?q=${encodeURIComponent('SELECT Id FROM Account')}`)).body;
    while (!page.done) {
      org.emu.org.clock.advance(LOCATOR_IDLE_MS - 60_000);
      const res = await get(page.nextRecordsUrl);
      assert.equal(res.status, 200);
      page = res.body;
    }
    org.emu.org.clock.reset();
  });

  it('unknown and malformed locators are INVALID_QUERY_LOCATOR', async () => {
    for (const loc of ['01gHs0000000zzzIAA-2000', 'nonsense']) {
      const res = await get(`/query/${loc}`);
      assert.equal(res.status, 400);
      assert.equal(res.body[0].errorCode, 'INVALID_QUERY_LOCATOR');
    }
  });

  it('open cursors are bounded per org: the least recently used is evicted', async () => {
    const urls: string[] = [];
    for (let i = 0; i < MAX_OPEN_CURSORS + 5; i++) urls.push((await get(`/query?q=${encodeURIComponent('SELECT Id FROM Account')}`)).body.nextRecordsUrl);
    assert.ok(cursorsFor(org.emu.org).size <= MAX_OPEN_CURSORS);
    assert.equal((await get(urls[0])).status, 400);
    assert.equal((await get(urls[urls.length - 1])).status, 200);
  });

  it('prepareQuery streams rows lazily in order and counts with LIMIT', () => {
    const pq = prepareQuery(org.emu.org, "SELECT Id, Name, Owner.Name FROM Account WHERE Name LIKE 'Acct%' LIMIT 4100");
    assert.equal(pq.object, 'Account');
    assert.equal(pq.isAggregate, false);
    assert.deepEqual(pq.columns, ['Id', 'Name', 'Owner.Name']);
    assert.equal(pq.count(), 4100);
    let n = 0;
    let last = '';
    for (const r of pq.rows()) {
      assert.ok(String(r.Name) > last);
      last = String(r.Name);
      n++;
    }
    assert.equal(n, 4100);
    const first = prepareQuery(org.emu.org, "select name, owner.name from account where name = 'Acct 00007'").rows().next().value;
    assert.deepEqual(first, {
      attributes: { type: 'Account', url: `/services/data/v62.0/sobjects/Account/${first!.attributes && (first!.attributes as { url: string }).url.split('/').pop()}` },
      Name: 'Acct 00007',
      Owner: { attributes: { type: 'User', url: `/services/data/v62.0/sobjects/User/${org.emu.org.adminUserId}` }, Name: 'Emulator Admin' },
    });
  });

  it('prepareQuery: aggregate flag and columns, and errors as SfError', () => {
    const agg = prepareQuery(org.emu.org, 'SELECT COUNT(Id) n, MAX(NumberOfEmployees) FROM Account');
    assert.equal(agg.isAggregate, true);
    assert.deepEqual(agg.columns, ['n', 'expr0']);
    assert.deepEqual([...agg.rows()], [{ attributes: { type: 'AggregateResult' }, n: N, expr0: N - 1 }]);
    assert.throws(() => prepareQuery(org.emu.org, 'SELECT Bogus FROM Account'), (e: Error & { errorCode?: string }) => e.errorCode === 'INVALID_FIELD');
    assert.throws(() => prepareQuery(org.emu.org, 'SELECT Id FROM Nope'), (e: Error & { errorCode?: string }) => e.errorCode === 'INVALID_TYPE');
    assert.throws(() => prepareQuery(org.emu.org, 'SELEC Id FROM Account'), (e: Error & { errorCode?: string }) => e.errorCode === 'MALFORMED_QUERY');
  });
});

describe('commitDelay visibility', () => {
  it('rows written under commitDelay are invisible until the clock passes their commit time', async () => {
    const org = await testOrg({ random: () => 0.999 });
    const o = org.emu.org;
    o.clock.set(Date.UTC(2024, 0, 1), true);
    o.faults.settings.commitDelay = 5000;
    insertRecord(o, o.schema.get('Account')!, { Name: 'Late Co' });
    o.faults.settings.commitDelay = 0;
    assert.equal((await query(org, "SELECT Id FROM Account WHERE Name = 'Late Co'")).body.totalSize, 0);
    assert.equal((await query(org, 'SELECT COUNT() FROM Account')).body.totalSize, 0);
    o.clock.advance(5000);
    assert.equal((await query(org, "SELECT Id FROM Account WHERE Name = 'Late Co'")).body.totalSize, 1);
    org.close();
  });
});

describe('compiler output', () => {
  let f: Fixture;
  before(async () => {
    f = await fixture();
  });
  after(() => f.close());

  it('values become bound parameters; identifiers come from the schema, quoted', () => {
    const plan = compile(f.emu.org, "SELECT name FROM account WHERE name = 'x\\'; DROP TABLE Account; --' AND AnnualRevenue > 5 AND Id IN ('{A1}')".replace('{A1}', f.ids.A1));
    assert.equal(plan.where.sql, `t0._visible_at <= ? AND t0."IsDeleted" = 0 AND (t0."Name" = ? AND t0."AnnualRevenue" > ? AND (t0."Id" IN (?)))`);
    assert.deepEqual(plan.where.params.slice(1), ["x'; DROP TABLE Account; --", 5, f.ids.A1]);
    assert.equal(plan.select, 't0."Id" AS c0, t0."Name" AS c1, t0.rowid AS _rk');
    assert.equal(plan.from, 'FROM "Account" AS t0');
  });

  it('parent paths become LEFT JOINs; != is null-safe; NOT is two-valued', () => {
    const plan = compile(f.emu.org, "SELECT Account.Owner.Email FROM Contact WHERE Account.Name != 'Acme' AND NOT Email LIKE '%x%'");
    assert.equal(plan.from, 'FROM "Contact" AS t0 LEFT JOIN "Account" AS t1 ON t1."Id" = t0."AccountId" AND t1."IsDeleted" = 0 LEFT JOIN "User" AS t2 ON t2."Id" = t1."OwnerId" AND t2."IsDeleted" = 0');
    assert.match(plan.where.sql, /t1\."Name" IS NOT \? AND NOT COALESCE\(t0\."Email" LIKE \? ESCAPE '\\', 0\)/);
    assert.deepEqual(plan.where.params.slice(1), ['Acme', '%x%']);
  });

  it('relative dates become half-open ranges from the org clock', () => {
    const plan = compile(f.emu.org, 'SELECT Id FROM Account WHERE CreatedDate = LAST_N_DAYS:2 AND Since__c = THIS_MONTH');
    assert.deepEqual(plan.where.params.slice(1), [Date.UTC(2024, 2, 13), Date.UTC(2024, 2, 16), '2024-03-01', '2024-04-01']);
  });

  it('semi-joins compile to IN (SELECT …) with their own visibility filter', () => {
    const plan = compile(f.emu.org, "SELECT Id FROM Account WHERE Id NOT IN (SELECT AccountId FROM Contact WHERE LastName = 'x')");
    assert.match(plan.where.sql, /NOT COALESCE\(t0\."Id" IN \(SELECT t1\."AccountId" FROM "Contact" AS t1 WHERE t1\."IsDeleted" = 0 AND t1\._visible_at <= \? AND t1\."AccountId" IS NOT NULL AND t1\."LastName" = \?\), 0\)/);
  });

  it('ORDER BY spells out Salesforce null ordering', () => {
    assert.equal(compile(f.emu.org, 'SELECT Id FROM Account ORDER BY Name, Industry DESC, Rating NULLS LAST').orderBy, 't0."Name" ASC NULLS FIRST, t0."Industry" DESC NULLS LAST, t0."Rating" ASC NULLS LAST');
  });

  it('selective queries use indexes (Id, external ID, SystemModstamp range)', () => {
    const o = f.emu.org;
    for (const soql of [`SELECT Name FROM Account WHERE Id = '${f.ids.A1}'`, "SELECT Name FROM Account WHERE Ext__c = 'EXT-1'", 'SELECT Name FROM Account WHERE SystemModstamp > 2024-01-01T00:00:00Z']) {
      const plan = compile(o, soql);
      const detail = o.store.db.prepare(`EXPLAIN QUERY PLAN SELECT ${plan.select} ${plan.from} WHERE ${plan.where.sql}`).all(...plan.where.params).map((r) => String(r.detail)).join('; ');
      assert.match(detail, /USING (INDEX|PRIMARY KEY|COVERING INDEX)|USING INDEX sqlite_autoindex/, `${soql}: ${detail}`);
    }
  });
});

/**
 * SOQL fidelity: clauses a real org answers (USING SCOPE, semi-join rules, qualifiers, ROLLUP/CUBE,
 * FORMAT/convertCurrency/convertTimezone, DISTANCE, TYPEOF, date literals in IN) each asserted as exact
 * rows, and what a real org refuses asserted as its exact errorCode and message.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { insertRecord } from '../../src/emulator/dml.ts';
import { location, nameField, systemFields } from '../../src/emulator/schema/dsl.ts';
import type { ObjectDef } from '../../src/emulator/schema/types.ts';
import { testOrg } from '../helpers/emulator.ts';
import { fixture, query, type Fixture } from './soql-fixture.ts';

/** Haversine reference for the assertions (mean Earth radius 6371 km, 1 mi = 1.609344 km). */
function haversineKm(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const r = (d: number) => (d * Math.PI) / 180;
  const h = Math.sin((r(lat2) - r(lat1)) / 2) ** 2 + Math.cos(r(lat1)) * Math.cos(r(lat2)) * Math.sin((r(lon2) - r(lon1)) / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.sqrt(h));
}
const PARIS = [48.8566, 2.3522] as const;
const LONDON = [51.5074, -0.1278] as const;
const NEW_YORK = [40.7128, -74.006] as const;

/** Drops `attributes` everywhere, so cases state just the values. */
function strip(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(strip);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (k !== 'attributes') out[k] = strip(x);
    return out;
  }
  return v;
}

describe('SOQL fidelity', () => {
  let f: Fixture;
  const users: Record<string, string> = {};
  before(async () => {
    f = await fixture();
    const o = f.emu.org;
    const profileId = String((o.store.prepare('SELECT "Id" FROM "Profile" LIMIT 1').get() as { Id: string }).Id);
    const addUser = (key: string, manager?: string) => {
      users[key] = insertRecord(o, o.schema.get('User')!, {
        Username: `${key.toLowerCase()}@example.com`, LastName: key, Email: `${key.toLowerCase()}@example.com`, Alias: key.toLowerCase(),
        TimeZoneSidKey: 'GMT', LocaleSidKey: 'en_US', EmailEncodingKey: 'UTF-8', LanguageLocaleKey: 'en_US', ProfileId: profileId,
        ManagerId: manager ?? null,
      });
    };
    addUser('Report', o.adminUserId);
    addUser('Deep');
    addUser('Other');
    o.store.prepare('UPDATE "User" SET "ManagerId" = ? WHERE "Id" = ?').run(users.Report, users.Deep);
    // Globex is the direct report's, Initech their report's, Umbrella an unrelated user's.
    const own = (account: string, user: string) => o.store.prepare('UPDATE "Account" SET "OwnerId" = ? WHERE "Id" = ?').run(user, f.ids[account]);
    own('A2', users.Report);
    own('A3', users.Deep);
    own('A4', users.Other);
    // T2 was created by the running user and assigned to someone else: a delegated task.
    o.store.prepare('UPDATE "Task" SET "OwnerId" = ? WHERE "Id" = ?').run(users.Other, f.ids.T2);
    // T3 was created by another user for the running user.
    o.store.prepare('UPDATE "Task" SET "CreatedById" = ? WHERE "Id" = ?').run(users.Other, f.ids.T3);
  });
  after(() => f.close());

  const ok = async (soql: string) => {
    const { status, body } = await query(f, soql.replace(/\{(\w+)\}/g, (_, k: string) => f.ids[k] ?? users[k]));
    assert.equal(status, 200, JSON.stringify(body));
    return body;
  };
  const rows = async (soql: string) => strip((await ok(soql)).records);
  const names = async (soql: string) => ((await ok(soql)).records as { Name?: string; Subject?: string }[]).map((r) => r.Name ?? r.Subject);
  /** Asserts the exact error: code, and the explanation after the caret block. */
  const refused = async (soql: string, errorCode: string, text: string, column?: number) => {
    const { status, body } = await query(f, soql);
    assert.equal(status, 400, JSON.stringify(body));
    assert.equal(body.length, 1);
    assert.equal(body[0].errorCode, errorCode, body[0].message);
    const lines = String(body[0].message).split('\n');
    assert.equal(lines[lines.length - 1], text);
    if (column !== undefined) assert.equal(lines[lines.length - 2], `ERROR at Row:1:Column:${column}`);
  };

  describe('USING SCOPE', () => {
    it('mine returns only the running user\'s records', async () => {
      assert.deepEqual(await names('SELECT Name FROM Account USING SCOPE mine ORDER BY Name'), ['Acme', 'acme subsidiary', "O'Reilly Media"]);
      assert.equal((await ok('SELECT COUNT() FROM Account USING SCOPE mine')).totalSize, 3);
      assert.deepEqual(await names("SELECT Name FROM Account USING SCOPE MINE WHERE Name LIKE 'a%' ORDER BY Name"), ['Acme', 'acme subsidiary']);
    });
    it('everything returns every record', async () => {
      assert.equal((await ok('SELECT COUNT() FROM Account USING SCOPE everything')).totalSize, 6);
    });
    it('team adds the records of users who report to the running user, at any depth', async () => {
      assert.deepEqual(await names('SELECT Name FROM Account USING SCOPE team ORDER BY Name'), ['Acme', 'acme subsidiary', 'Globex', 'Initech', "O'Reilly Media"]);
    });
    it('delegated returns what the running user created for someone else', async () => {
      assert.deepEqual(await names('SELECT Subject FROM Task USING SCOPE delegated'), ['Email']);
      assert.deepEqual(await names('SELECT Subject FROM Task USING SCOPE mine ORDER BY Subject'), ['Call', 'Note']);
    });
    it('applies to aggregates', async () => {
      assert.deepEqual(await rows('SELECT COUNT(Id) n FROM Account USING SCOPE mine'), [{ n: 3 }]);
    });
    it('applies in child subqueries and semi-joins', async () => {
      assert.deepEqual(await rows("SELECT Name, (SELECT Name FROM ChildAccounts USING SCOPE mine) FROM Account WHERE Name = 'Acme'"), [
        { Name: 'Acme', ChildAccounts: { totalSize: 1, done: true, records: [{ Name: "O'Reilly Media" }] } },
      ]);
      assert.deepEqual(await names('SELECT Name FROM Contact WHERE AccountId IN (SELECT Id FROM Account USING SCOPE mine) ORDER BY LastName'), ['Eve Adams', 'Ada Lovelace', 'Bob Smith']);
    });
    it('a Bulk API 2.0 query job runs as the user who created it', async () => {
      const res = await f.api('/jobs/query', { method: 'POST', json: { operation: 'query', query: 'SELECT Name FROM Account USING SCOPE mine ORDER BY Name' } });
      assert.equal(res.status, 200, await res.clone().text());
      const job = (await res.json()) as { id: string };
      // Another user's request was the last one served when the job's first step runs.
      const o = f.emu.org;
      o.currentUserId = users.Other;
      try {
        for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
      } finally {
        o.currentUserId = o.adminUserId;
      }
      for (let i = 0; i < 5000; i++) {
        const info = (await (await f.api(`/jobs/query/${job.id}`)).json()) as { state: string };
        if (info.state === 'JobComplete') break;
        assert.notEqual(info.state, 'Failed');
        await new Promise((r) => setTimeout(r, 5));
      }
      const csv = await (await f.api(`/jobs/query/${job.id}/results`)).text();
      assert.equal(csv, '"Name"\n"Acme"\n"acme subsidiary"\n"O\'Reilly Media"\n');
    });
    it('refuses the scopes this org cannot honour', async () => {
      await refused('SELECT Name FROM Account USING SCOPE my_territory', 'MALFORMED_QUERY', 'USING SCOPE my_territory is not supported for Account: territory management is not enabled in this org', 38);
      await refused('SELECT Name FROM Account USING SCOPE delegated', 'MALFORMED_QUERY', 'USING SCOPE delegated is not supported for Account: only activities (Task, Event) are delegated', 38);
      await refused('SELECT Name FROM Account USING SCOPE scopingRule', 'MALFORMED_QUERY', 'USING SCOPE scopingRule is not supported for Account: no scoping rule is active for this object', 38);
      await refused("SELECT Name FROM Account USING SCOPE queue WHERE Name = 'x'", 'MALFORMED_QUERY', "unexpected token: 'queue'", 38);
      await refused('SELECT Name FROM Account USING SCOPE mine_and_my_groups', 'MALFORMED_QUERY', 'USING SCOPE mine_and_my_groups is not supported for Account: this scope applies only to ProcessInstanceWorkitem', 38);
    });
  });

  describe('semi-join and anti-join rules', () => {
    const TOP = 'Semi join sub-selects are only allowed at the top level WHERE expressions and not in nested WHERE expressions.';
    it('answers two semi/anti-joins ANDed at the top level, beside an OR group', async () => {
      assert.deepEqual(
        await names("SELECT Name FROM Account WHERE Id IN (SELECT AccountId FROM Contact) AND Id NOT IN (SELECT AccountId FROM Opportunity) AND (Name LIKE 'a%' OR Name LIKE 'O%')"),
        ["O'Reilly Media"],
      );
      assert.deepEqual(await names('SELECT Name FROM Account WHERE Id NOT IN (SELECT AccountId FROM Contact) ORDER BY Name'), ['acme subsidiary', 'Initech', 'Umbrella']);
    });
    it('refuses a semi-join nested in another', async () => {
      await refused('SELECT Name FROM Account WHERE Id IN (SELECT AccountId FROM Contact WHERE Id IN (SELECT WhoId FROM Task))', 'MALFORMED_QUERY', 'Nesting of semi join sub-selects is not supported', 75);
      await refused(
        "SELECT Name FROM Account WHERE Id IN (SELECT AccountId FROM Opportunity) AND Id IN (SELECT AccountId FROM Contact WHERE LastName = 'x' AND Id IN (SELECT WhoId FROM Task))",
        'MALFORMED_QUERY', 'Nesting of semi join sub-selects is not supported', 140,
      );
    });
    it('refuses a semi-join under OR', async () => {
      await refused("SELECT Name FROM Account WHERE Name = 'x' OR Id IN (SELECT AccountId FROM Contact)", 'MALFORMED_QUERY', "Semi join sub-selects are not allowed with the 'OR' operator", 46);
    });
    it('refuses a semi-join under NOT or inside parentheses (NOT IN is the anti-join form)', async () => {
      await refused('SELECT Name FROM Account WHERE NOT (Id IN (SELECT AccountId FROM Contact))', 'MALFORMED_QUERY', TOP, 37);
      await refused("SELECT Name FROM Account WHERE (Name = 'x' AND Id NOT IN (SELECT AccountId FROM Contact))", 'MALFORMED_QUERY', TOP, 48);
      await refused("SELECT Name FROM Account WHERE Name = 'x' AND (Industry = null OR Id IN (SELECT AccountId FROM Contact))", 'MALFORMED_QUERY', TOP, 67);
    });
    it('refuses a third semi-join or anti-join', async () => {
      await refused(
        'SELECT Name FROM Account WHERE Id IN (SELECT AccountId FROM Contact) AND Id IN (SELECT AccountId FROM Opportunity) AND Id NOT IN (SELECT WhatId FROM Task)',
        'MALFORMED_QUERY', 'Maximum 2 semi join sub-selects are allowed', 120,
      );
    });
    it('refuses an aggregate over two fields', async () => {
      await refused('SELECT COUNT(Id, Name) FROM Account', 'MALFORMED_QUERY', "unexpected token: ','", 16);
    });
  });

  describe('object-name and alias qualifiers', () => {
    it('accepts the queried object\'s name before a field, in every clause', async () => {
      assert.deepEqual(
        await rows("SELECT Contact.FirstName, Contact.Account.Name FROM Contact WHERE Contact.LastName LIKE 'S%' ORDER BY Contact.LastName"),
        [{ FirstName: 'Bob', Account: { Name: 'Acme' } }],
      );
      assert.deepEqual(
        await rows('SELECT Account.Industry, COUNT(Id) FROM Account WHERE Account.Industry != null GROUP BY Account.Industry ORDER BY Account.Industry'),
        [{ Industry: 'Banking', expr0: 2 }, { Industry: 'Media', expr0: 1 }, { Industry: 'Technology', expr0: 2 }],
      );
      assert.deepEqual(await names("SELECT Name FROM Account WHERE Id IN (SELECT Contact.AccountId FROM Contact WHERE Contact.LastName = 'Smith')"), ['Acme']);
    });
    it('accepts an alias before a field and before a relationship path', async () => {
      assert.deepEqual(
        await rows("SELECT c.FirstName, c.Account.Name FROM Contact c WHERE c.Account.Name = 'Acme' ORDER BY c.FirstName"),
        [{ FirstName: 'Ada', Account: { Name: 'Acme' } }, { FirstName: 'Bob', Account: { Name: 'Acme' } }],
      );
    });
    it('still refuses another object\'s name as a qualifier', async () => {
      await refused('SELECT Opportunity.Name FROM Contact', 'INVALID_FIELD', "Didn't understand relationship 'Opportunity' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.", 8);
    });
  });

  describe('GROUP BY ROLLUP and CUBE with GROUPING()', () => {
    it('ROLLUP of one field adds a grand total row with a null group', async () => {
      assert.deepEqual(await rows('SELECT Industry, COUNT(Id) cnt FROM Account GROUP BY ROLLUP(Industry)'), [
        { Industry: null, cnt: 1 }, { Industry: 'Banking', cnt: 2 }, { Industry: 'Media', cnt: 1 }, { Industry: 'Technology', cnt: 2 }, { Industry: null, cnt: 6 },
      ]);
      assert.equal((await ok('SELECT Industry, COUNT(Id) cnt FROM Account GROUP BY ROLLUP(Industry)')).totalSize, 5);
    });
    it('ROLLUP of two fields: each detail row, a subtotal per first field, then the grand total', async () => {
      const row = (Industry: string | null, Rating: string | null, gi: number, gr: number, cnt: number) => ({ Industry, Rating, gi, gr, cnt });
      assert.deepEqual(await rows('SELECT Industry, Rating, GROUPING(Industry) gi, GROUPING(Rating) gr, COUNT(Id) cnt FROM Account GROUP BY ROLLUP(Industry, Rating)'), [
        row(null, null, 0, 0, 1), row(null, null, 0, 1, 1),
        row('Banking', 'Hot', 0, 0, 1), row('Banking', 'Warm', 0, 0, 1), row('Banking', null, 0, 1, 2),
        row('Media', null, 0, 0, 1), row('Media', null, 0, 1, 1),
        row('Technology', null, 0, 0, 1), row('Technology', 'Cold', 0, 0, 1), row('Technology', null, 0, 1, 2),
        row(null, null, 1, 1, 6),
      ]);
    });
    it('CUBE adds subtotals for every combination; GROUPING() orders and filters them', async () => {
      assert.deepEqual(
        await rows('SELECT Rating, GROUPING(Industry) gi, GROUPING(Rating) gr, COUNT(Id) cnt FROM Account GROUP BY CUBE(Industry, Rating) HAVING GROUPING(Industry) = 1 ORDER BY GROUPING(Rating), Rating'),
        [{ Rating: null, gi: 1, gr: 0, cnt: 3 }, { Rating: 'Cold', gi: 1, gr: 0, cnt: 1 }, { Rating: 'Hot', gi: 1, gr: 0, cnt: 1 }, { Rating: 'Warm', gi: 1, gr: 0, cnt: 1 }, { Rating: null, gi: 1, gr: 1, cnt: 6 }],
      );
      assert.equal((await ok('SELECT Industry, Rating, COUNT(Id) FROM Account GROUP BY CUBE(Industry, Rating)')).totalSize, 15);
    });
    it('aggregates over a grouped field still aggregate in subtotal rows, in SELECT and HAVING', async () => {
      assert.deepEqual(await rows('SELECT Industry, COUNT_DISTINCT(Industry) d, COUNT(Id) n FROM Account GROUP BY ROLLUP(Industry) HAVING COUNT_DISTINCT(Industry) > 0'), [
        { Industry: 'Banking', d: 1, n: 2 }, { Industry: 'Media', d: 1, n: 1 }, { Industry: 'Technology', d: 1, n: 2 }, { Industry: null, d: 3, n: 6 },
      ]);
      assert.deepEqual(await rows('SELECT Industry, COUNT(Id) n FROM Account GROUP BY ROLLUP(Industry) HAVING Industry != null'), [
        { Industry: 'Banking', n: 2 }, { Industry: 'Media', n: 1 }, { Industry: 'Technology', n: 2 },
      ]);
    });
    it('applies ORDER BY and LIMIT to the subtotal rows too', async () => {
      assert.deepEqual(await rows('SELECT Industry, SUM(AnnualRevenue) total FROM Account GROUP BY ROLLUP(Industry) ORDER BY SUM(AnnualRevenue) DESC NULLS LAST LIMIT 2'), [
        { Industry: null, total: 2500100 }, { Industry: 'Banking', total: 1500000 },
      ]);
    });
    it('refuses what Salesforce refuses', async () => {
      await refused('SELECT Industry, COUNT(Id) FROM Account GROUP BY ROLLUP(Industry), Rating', 'MALFORMED_QUERY', 'GROUP BY ROLLUP cannot be combined with other GROUP BY fields', 68);
      await refused('SELECT Industry, COUNT(Id) FROM Account GROUP BY CUBE(Industry, Rating, Type, Name)', 'MALFORMED_QUERY', 'GROUP BY CUBE can include at most 3 fields', 79);
      await refused('SELECT Name, COUNT(Id) FROM Account GROUP BY ROLLUP(Industry)', 'MALFORMED_QUERY', 'Field must be grouped or aggregated: Name', 8);
      await refused('SELECT Industry, GROUPING(Industry) FROM Account GROUP BY Industry', 'MALFORMED_QUERY', 'GROUPING() can only be used with GROUP BY ROLLUP or GROUP BY CUBE', 18);
    });
  });

  describe('FORMAT(), convertCurrency() and convertTimezone()', () => {
    const setZone = (tz: string) => f.emu.org.store.prepare('UPDATE "User" SET "TimeZoneSidKey" = ? WHERE "Id" = ?').run(tz, f.emu.org.adminUserId);
    it('FORMAT() shows values as the user\'s locale does, keyed by the field name unless aliased', async () => {
      assert.deepEqual(await rows('SELECT Name, FORMAT(Amount), FORMAT(CloseDate) cd, FORMAT(CreatedDate) created FROM Opportunity ORDER BY Name'), [
        { Name: 'Big Deal', Amount: '$5,000.00', cd: '3/1/2024', created: '3/10/2024, 12:00 PM' },
        { Name: 'Mid Deal', Amount: '$1,000.00', cd: null, created: '3/12/2024, 12:00 PM' },
        { Name: 'Small Deal', Amount: '$100.00', cd: '4/10/2024', created: '3/11/2024, 12:00 PM' },
      ]);
      assert.deepEqual(await rows("SELECT FORMAT(Score__c), FORMAT(NumberOfEmployees), Name FROM Account WHERE Name = 'Acme'"), [{ Score__c: '1.50', NumberOfEmployees: '100', Name: 'Acme' }]);
    });
    it('FORMAT() wraps aggregates and convertCurrency()', async () => {
      assert.deepEqual(await rows('SELECT FORMAT(SUM(Amount)) total, FORMAT(MIN(CloseDate)) firstClose, FORMAT(COUNT(Id)) n FROM Opportunity'), [{ total: '$6,100.00', firstClose: '3/1/2024', n: '3' }]);
      assert.deepEqual(await rows('SELECT StageName, FORMAT(SUM(Amount)) FROM Opportunity GROUP BY StageName ORDER BY StageName'), [{ StageName: 'Closed Won', expr0: '$5,000.00' }, { StageName: 'Prospecting', expr0: '$1,100.00' }]);
      assert.deepEqual(await rows("SELECT FORMAT(convertCurrency(Amount)) fc FROM Opportunity WHERE Name = 'Big Deal'"), [{ fc: '$5,000.00' }]);
    });
    it('convertCurrency() leaves the value as it is in a single-currency org', async () => {
      assert.deepEqual(await rows('SELECT Name, convertCurrency(Amount) FROM Opportunity ORDER BY Amount'), [{ Name: 'Small Deal', Amount: 100 }, { Name: 'Mid Deal', Amount: 1000 }, { Name: 'Big Deal', Amount: 5000 }]);
      assert.deepEqual(await rows('SELECT convertCurrency(Amount) amt FROM Opportunity WHERE Amount > 1000'), [{ amt: 5000 }]);
      assert.deepEqual(await rows('SELECT FORMAT(convertCurrency(Amount)) fc, convertCurrency(Amount) FROM Opportunity ORDER BY Amount'), [
        { fc: '$100.00', Amount: 100 }, { fc: '$1,000.00', Amount: 1000 }, { fc: '$5,000.00', Amount: 5000 },
      ]);
    });
    it('date functions over convertTimezone() use the running user\'s time zone, daylight saving included', async () => {
      const hours = 'SELECT HOUR_IN_DAY(convertTimezone(CreatedDate)) h, COUNT(Id) n FROM Account GROUP BY HOUR_IN_DAY(convertTimezone(CreatedDate)) ORDER BY HOUR_IN_DAY(convertTimezone(CreatedDate))';
      assert.deepEqual(await rows(hours), [{ h: 0, n: 4 }, { h: 9, n: 1 }, { h: 12, n: 1 }]);
      setZone('America/Los_Angeles');
      try {
        // PST (UTC-8) before 2024-03-10 10:00Z, PDT (UTC-7) after.
        assert.deepEqual(await rows(hours), [{ h: 2, n: 1 }, { h: 5, n: 1 }, { h: 16, n: 2 }, { h: 17, n: 2 }]);
        assert.deepEqual(await rows('SELECT HOUR_IN_DAY(CreatedDate) h, COUNT(Id) n FROM Account GROUP BY HOUR_IN_DAY(CreatedDate) ORDER BY HOUR_IN_DAY(CreatedDate)'), [{ h: 0, n: 4 }, { h: 9, n: 1 }, { h: 12, n: 1 }]);
        assert.deepEqual(await names("SELECT Name FROM Account WHERE DAY_ONLY(convertTimezone(CreatedDate)) = 2023-05-31"), ['Acme']);
        assert.deepEqual(await rows("SELECT FORMAT(CreatedDate) FROM Account WHERE Name = 'acme subsidiary'"), [{ CreatedDate: '3/15/2024, 5:00 AM' }]);
      } finally {
        setZone('GMT');
      }
    });
    it('refuses what Salesforce refuses', async () => {
      await refused('SELECT convertTimezone(CreatedDate) FROM Account', 'MALFORMED_QUERY', 'convertTimezone() can only be used in a date function', 8);
      await refused('SELECT convertCurrency(Name) FROM Account', 'INVALID_FIELD', 'convertCurrency() can only be applied to currency fields: Name', 8);
      await refused('SELECT Name FROM Opportunity WHERE convertCurrency(Amount) > 100', 'MALFORMED_QUERY', 'convertCurrency() can only be used in the SELECT clause', 36);
      await refused('SELECT convertCurrency(SUM(Amount)) FROM Opportunity', 'MALFORMED_QUERY', 'convertCurrency() cannot convert the result of an aggregate function', 8);
      await refused('SELECT StageName, convertCurrency(Amount) a FROM Opportunity GROUP BY StageName', 'MALFORMED_QUERY', 'Field must be grouped or aggregated: Amount', 19);
      await refused("SELECT Name FROM Account WHERE FORMAT(AnnualRevenue) = '1'", 'MALFORMED_QUERY', 'FORMAT() can only be used in the SELECT clause', 32);
    });
  });

  describe('DISTANCE() and GEOLOCATION()', () => {
    const at = (account: string, [lat, lon]: readonly [number, number]) =>
      f.emu.org.store.prepare('UPDATE "Account" SET "BillingLatitude" = ?, "BillingLongitude" = ? WHERE "Id" = ?').run(lat, lon, f.ids[account]);
    before(() => {
      at('A1', PARIS);
      at('A2', LONDON);
      at('A3', NEW_YORK);
    });
    const near = 'DISTANCE(BillingAddress, GEOLOCATION(48.8566, 2.3522)';
    it('filters and orders by distance from a compound address, and selects it as an expression', async () => {
      assert.deepEqual(await rows(`SELECT Name, ${near}, 'km') d FROM Account WHERE ${near}, 'km') < 6000 ORDER BY ${near}, 'km') DESC`), [
        { Name: 'Initech', d: haversineKm(...PARIS, ...NEW_YORK) },
        { Name: 'Globex', d: haversineKm(...PARIS, ...LONDON) },
        { Name: 'Acme', d: 0 },
      ]);
      assert.deepEqual(await rows(`SELECT Name, ${near}, 'mi') FROM Account WHERE ${near}, 'mi') > 100 ORDER BY Name`), [
        { Name: 'Globex', expr0: haversineKm(...PARIS, ...LONDON) / 1.609344 },
        { Name: 'Initech', expr0: haversineKm(...PARIS, ...NEW_YORK) / 1.609344 },
      ]);
      assert.deepEqual(await names(`SELECT Name FROM Account WHERE ${near}, 'mi') < 250 ORDER BY ${near}, 'mi')`), ['Acme', 'Globex']);
      // Records without coordinates have no distance: never within or beyond a radius, last with NULLS LAST.
      assert.deepEqual(await names(`SELECT Name FROM Account ORDER BY ${near}, 'km') NULLS LAST, Name LIMIT 4`), ['Acme', 'Globex', 'Initech', 'acme subsidiary']);
    });
    it('works on a compound geolocation field', async () => {
      const Warehouse: ObjectDef = {
        name: 'Warehouse__c', label: 'Warehouse', labelPlural: 'Warehouses', keyPrefix: 'a01', custom: true,
        fields: [...systemFields({ owner: true, name: nameField(80) }), ...location('Location__c', { custom: true })],
      };
      const org = await testOrg({ objects: [Warehouse] });
      try {
        const def = org.emu.org.schema.get('Warehouse__c')!;
        insertRecord(org.emu.org, def, { Name: 'London', Location__Latitude__s: LONDON[0], Location__Longitude__s: LONDON[1] });
        insertRecord(org.emu.org, def, { Name: 'New York', Location__Latitude__s: NEW_YORK[0], Location__Longitude__s: NEW_YORK[1] });
        const { status, body } = await query(org, "SELECT Name, Location__c, DISTANCE(Location__c, GEOLOCATION(48.8566, 2.3522), 'km') dist FROM Warehouse__c WHERE DISTANCE(Location__c, GEOLOCATION(48.8566, 2.3522), 'km') < 1000");
        assert.equal(status, 200, JSON.stringify(body));
        assert.deepEqual(strip(body.records), [{ Name: 'London', Location__c: { latitude: LONDON[0], longitude: LONDON[1] }, dist: haversineKm(...PARIS, ...LONDON) }]);
      } finally {
        org.close();
      }
    });
    it('refuses what Salesforce refuses', async () => {
      await refused(`SELECT Name FROM Account WHERE ${near}, 'mi') = 100`, 'MALFORMED_QUERY', 'DISTANCE() can only be compared with < or >', 32);
      await refused("SELECT Name FROM Account WHERE DISTANCE(Name, GEOLOCATION(48.8566, 2.3522), 'mi') < 100", 'INVALID_FIELD', 'DISTANCE() requires a geolocation or address field: Name', 41);
      await refused("SELECT Name FROM Account WHERE DISTANCE(BillingAddress, GEOLOCATION(98.1, 2.3522), 'mi') < 100", 'MALFORMED_QUERY', 'GEOLOCATION() takes a latitude between -90 and 90 and a longitude between -180 and 180', 57);
    });
  });

  describe('TYPEOF … WHEN … THEN … ELSE … END', () => {
    it('picks the branch of each record\'s concrete type, ELSE for the others', async () => {
      assert.deepEqual(
        await rows('SELECT Subject, TYPEOF What WHEN Account THEN Name, Industry WHEN Opportunity THEN Amount, StageName ELSE Name, Type END FROM Task ORDER BY Subject'),
        [
          { Subject: 'Call', What: { Name: 'Acme', Industry: 'Banking' } },
          { Subject: 'Email', What: { Amount: 5000, StageName: 'Closed Won' } },
          { Subject: 'Note', What: null },
        ],
      );
      assert.deepEqual(
        await rows('SELECT Subject, TYPEOF What WHEN Opportunity THEN Amount ELSE Name, Type END FROM Task ORDER BY Subject'),
        [
          { Subject: 'Call', What: { Name: 'Acme', Type: 'Account' } },
          { Subject: 'Email', What: { Amount: 5000 } },
          { Subject: 'Note', What: null },
        ],
      );
      const body = await ok("SELECT TYPEOF What WHEN Account THEN Name END FROM Task WHERE Subject = 'Email'");
      assert.deepEqual(body.records[0].What.attributes.type, 'Opportunity');
    });
    it('follows relationship paths inside a branch, from that branch\'s type', async () => {
      assert.deepEqual(
        await rows("SELECT TYPEOF Who WHEN Contact THEN Email, Account.Name ELSE Name END, TYPEOF What WHEN Opportunity THEN Account.Name ELSE Name END FROM Task WHERE Subject IN ('Call', 'Email') ORDER BY Subject"),
        [
          { Who: { Email: 'ada@example.com', Account: { Name: 'Acme' } }, What: { Name: 'Acme' } },
          { Who: null, What: { Account: { Name: 'Acme' } } },
        ],
      );
    });
    it('works in a child subquery', async () => {
      assert.deepEqual(await rows("SELECT Name, (SELECT Subject, TYPEOF What WHEN Account THEN Industry ELSE Id END FROM Tasks) FROM Account WHERE Name = 'Acme'"), [
        { Name: 'Acme', Tasks: { totalSize: 1, done: true, records: [{ Subject: 'Call', What: { Industry: 'Banking' } }] } },
      ]);
    });
    it('refuses what Salesforce refuses', async () => {
      await refused('SELECT What.Name, TYPEOF What WHEN Account THEN Industry END FROM Task', 'MALFORMED_QUERY', 'TYPEOF What cannot be used with What fields elsewhere in the select list', 26);
      await refused('SELECT TYPEOF What WHEN Account THEN Name ELSE Industry END FROM Task', 'INVALID_FIELD', "No such column 'Industry' on entity 'Name'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.", 48);
      await refused('SELECT TYPEOF Account WHEN Account THEN Name END FROM Contact', 'MALFORMED_QUERY', 'TYPEOF can only be used on a polymorphic relationship field: Account', 15);
      await refused('SELECT TYPEOF What WHEN Lead THEN Name END FROM Task', 'INVALID_TYPE', "sObject type 'Lead' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.", 25);
    });
  });

  describe('date literals inside IN (…)', () => {
    it('IN matches records in any of the literal ranges, beside plain values and null', async () => {
      assert.deepEqual(await names('SELECT Name FROM Account WHERE CreatedDate IN (TODAY, YESTERDAY) ORDER BY Name'), ['acme subsidiary', "O'Reilly Media", 'Umbrella']);
      assert.deepEqual(await names('SELECT Name FROM Account WHERE Since__c IN (2020-01-15, THIS_MONTH) ORDER BY Name'), ['Acme', 'Initech', "O'Reilly Media"]);
      assert.deepEqual(await names('SELECT Name FROM Account WHERE Since__c IN (LAST_N_DAYS:2, null) ORDER BY Name'), ['Initech', "O'Reilly Media", 'Umbrella']);
      assert.deepEqual(await names('SELECT Name FROM Account WHERE CreatedDate IN (LAST_N_DAYS:4, LAST_YEAR) ORDER BY Name'), ['Acme', 'acme subsidiary', "O'Reilly Media", 'Umbrella']);
    });
    it('NOT IN excludes them', async () => {
      assert.deepEqual(await names('SELECT Name FROM Account WHERE CreatedDate NOT IN (TODAY, YESTERDAY) ORDER BY Name'), ['Acme', 'Globex', 'Initech']);
    });
    it('refuses a date literal for a field that is not a date', async () => {
      await refused('SELECT Name FROM Account WHERE Name IN (TODAY)', 'INVALID_FIELD', "value of filter criterion for field 'Name' must be of type string and should be enclosed in quotes", 32);
    });
  });
});

/**
 * SOQL result shapes (field order and casing, nested parents, child subqueries, polymorphic lookups,
 * aggregates, FIELDS()) and errors, each asserted exactly.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fixture, query, type Fixture } from './soql-fixture.ts';

const V = '/services/data/v62.0';

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

const NOT_FOUND_TAIL = "If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.";

describe('SOQL result shapes', () => {
  let f: Fixture;
  before(async () => {
    f = await fixture();
  });
  after(() => f.close());
  const ok = async (soql: string) => {
    const { status, body } = await query(f, soql.replace(/\{(\w+)\}/g, (_, k: string) => f.ids[k]));
    assert.equal(status, 200, JSON.stringify(body));
    return body;
  };
  const rows = async (soql: string) => strip((await ok(soql)).records);

  it('record has attributes first, then select-list fields in canonical casing and order', async () => {
    const body = await ok("select industry, NAME, id from account where name = 'acme'");
    assert.deepEqual(body, {
      totalSize: 1, done: true,
      records: [{ attributes: { type: 'Account', url: `${V}/sobjects/Account/${f.ids.A1}` }, Industry: 'Banking', Name: 'Acme', Id: f.ids.A1 }],
    });
    assert.deepEqual(Object.keys(body.records[0]), ['attributes', 'Industry', 'Name', 'Id']);
  });

  it('Id is not added unless selected', async () => {
    assert.deepEqual(Object.keys((await ok("SELECT Name FROM Account WHERE Name = 'Acme'")).records[0]), ['attributes', 'Name']);
  });

  it('record URLs use the request API version', async () => {
    const res = await f.api(`/services/data/v58.0/query?q=${encodeURIComponent("SELECT Name FROM Account WHERE Name = 'Acme'")}`);
    const body = (await res.json()) as { records: { attributes: { url: string } }[] };
    assert.equal(body.records[0].attributes.url, `/services/data/v58.0/sobjects/Account/${f.ids.A1}`);
  });

  it('typed values: numbers, booleans, dates, datetimes, multipicklist', async () => {
    assert.deepEqual(await rows("SELECT AnnualRevenue, NumberOfEmployees, Vip__c, Since__c, CreatedDate, Reviewed__c, Score__c, Tags__c, Description FROM Account WHERE Name = 'Acme'"), [
      { AnnualRevenue: 1000000, NumberOfEmployees: 100, Vip__c: true, Since__c: '2020-01-15', CreatedDate: '2023-06-01T00:00:00.000+0000', Reviewed__c: '2024-03-15T08:30:00.000+0000', Score__c: 1.5, Tags__c: 'a;b', Description: null },
    ]);
  });

  it('compound address is an object, or null when every component is null', async () => {
    assert.deepEqual(await rows("SELECT Name, BillingAddress, ShippingAddress FROM Account WHERE Name IN ('Acme', 'Umbrella') ORDER BY Name"), [
      { Name: 'Acme', BillingAddress: { city: 'Paris', country: 'France', geocodeAccuracy: null, latitude: null, longitude: null, postalCode: null, state: null, street: null }, ShippingAddress: null },
      { Name: 'Umbrella', BillingAddress: null, ShippingAddress: null },
    ]);
  });

  it('parent fields nest under the relationship with their own attributes', async () => {
    const body = await ok("SELECT Name, Parent.Name, Parent.Industry FROM Account WHERE Name = 'Globex'");
    assert.deepEqual(body.records[0], {
      attributes: { type: 'Account', url: `${V}/sobjects/Account/${f.ids.A2}` },
      Name: 'Globex',
      Parent: { attributes: { type: 'Account', url: `${V}/sobjects/Account/${f.ids.A1}` }, Name: 'Acme', Industry: 'Banking' },
    });
  });

  it('an empty lookup is null', async () => {
    assert.deepEqual(await rows("SELECT Name, Parent.Name FROM Account WHERE Name = 'Acme'"), [{ Name: 'Acme', Parent: null }]);
  });

  it('parent keys keep first-mention position when fields interleave', async () => {
    const r = (await ok("SELECT Account.Name, LastName, Account.Industry FROM Contact WHERE LastName = 'Smith'")).records[0];
    assert.deepEqual(Object.keys(r), ['attributes', 'Account', 'LastName']);
    assert.deepEqual(strip(r), { Account: { Name: 'Acme', Industry: 'Banking' }, LastName: 'Smith' });
  });

  it('multi-level parents: Account.Owner.Email, Parent.Parent.Name', async () => {
    assert.deepEqual(await rows("SELECT LastName, Account.Owner.Email FROM Contact WHERE LastName = 'Adams'"), [
      { LastName: 'Adams', Account: { Owner: { Email: 'admin@emulator.sfbridge.dev' } } },
    ]);
    assert.deepEqual(await rows("SELECT Parent.Parent.Name, Parent.Name FROM Account WHERE Name = 'acme subsidiary'"), [
      { Parent: { Parent: { Name: 'Acme' }, Name: 'Globex' } },
    ]);
  });

  it('five levels of parents are allowed', async () => {
    assert.deepEqual(await rows("SELECT Account.Parent.Owner.CreatedBy.Manager.Name FROM Contact WHERE LastName = 'Adams'"), [
      { Account: { Parent: { Owner: { CreatedBy: { Manager: null } } } } },
    ]);
  });

  it('self lookup on Contact (ReportsTo)', async () => {
    assert.deepEqual(await rows("SELECT Name, ReportsTo.Name, ReportsTo.Email FROM Contact WHERE ReportsToId != null"), [
      { Name: 'Bob Smith', ReportsTo: { Name: 'Ada Lovelace', Email: 'ada@example.com' } },
    ]);
  });

  it('object alias in select and where', async () => {
    assert.deepEqual(await rows("SELECT a.Name, a.Industry FROM Account a WHERE a.Industry = 'Media'"), [{ Name: "O'Reilly Media", Industry: 'Media' }]);
  });

  it('toLabel and FORMAT keep the field name as key', async () => {
    assert.deepEqual(await rows("SELECT toLabel(Rating), FORMAT(AnnualRevenue) FROM Account WHERE Name = 'Acme'"), [{ Rating: 'Hot', AnnualRevenue: '$1,000,000.00' }]);
  });

  it('child subquery: nested result per parent, null when no children', async () => {
    assert.deepEqual(await rows('SELECT Name, (SELECT LastName FROM Contacts ORDER BY LastName) FROM Account ORDER BY Name'), [
      { Name: 'Acme', Contacts: { totalSize: 2, done: true, records: [{ LastName: 'Lovelace' }, { LastName: 'Smith' }] } },
      { Name: 'acme subsidiary', Contacts: null },
      { Name: 'Globex', Contacts: { totalSize: 1, done: true, records: [{ LastName: 'Jones' }] } },
      { Name: 'Initech', Contacts: null },
      { Name: "O'Reilly Media", Contacts: { totalSize: 1, done: true, records: [{ LastName: 'Adams' }] } },
      { Name: 'Umbrella', Contacts: null },
    ]);
  });

  it('child records carry their own attributes', async () => {
    const r = (await ok("SELECT Name, (SELECT Id FROM Contacts WHERE LastName = 'Jones') FROM Account WHERE Name = 'Globex'")).records[0];
    assert.deepEqual(r.Contacts, { totalSize: 1, done: true, records: [{ attributes: { type: 'Contact', url: `${V}/sobjects/Contact/${f.ids.C3}` }, Id: f.ids.C3 }] });
  });

  it('child subquery with WHERE, ORDER BY DESC and LIMIT per parent', async () => {
    assert.deepEqual(await rows("SELECT Name, (SELECT LastName FROM Contacts WHERE LastName != 'Jones' ORDER BY LastName DESC LIMIT 1) FROM Account WHERE Industry = 'Banking' ORDER BY Name"), [
      { Name: 'Acme', Contacts: { totalSize: 1, done: true, records: [{ LastName: 'Smith' }] } },
      { Name: 'Globex', Contacts: null },
    ]);
  });

  it('two child subqueries and parent fields inside a subquery', async () => {
    assert.deepEqual(await rows("SELECT Name, (SELECT Name, Amount FROM Opportunities ORDER BY Amount), (SELECT LastName, Account.Name FROM Contacts ORDER BY LastName LIMIT 1) FROM Account WHERE Name = 'Acme'"), [
      {
        Name: 'Acme',
        Opportunities: { totalSize: 2, done: true, records: [{ Name: 'Mid Deal', Amount: 1000 }, { Name: 'Big Deal', Amount: 5000 }] },
        Contacts: { totalSize: 1, done: true, records: [{ LastName: 'Lovelace', Account: { Name: 'Acme' } }] },
      },
    ]);
  });

  it('self child relationship (ChildAccounts) and polymorphic child relationship (Tasks)', async () => {
    assert.deepEqual(await rows("SELECT Name, (SELECT Name FROM ChildAccounts ORDER BY Name), (SELECT Subject FROM Tasks) FROM Account WHERE Name = 'Acme'"), [
      { Name: 'Acme', ChildAccounts: { totalSize: 2, done: true, records: [{ Name: 'Globex' }, { Name: "O'Reilly Media" }] }, Tasks: { totalSize: 1, done: true, records: [{ Subject: 'Call' }] } },
    ]);
  });

  it('polymorphic What/Who: attributes.type is the concrete type, Type is derived', async () => {
    const body = await ok('SELECT Subject, What.Name, What.Type, Who.Name FROM Task ORDER BY Subject');
    assert.deepEqual(body.records[1].What.attributes, { type: 'Opportunity', url: `${V}/sobjects/Opportunity/${f.ids.O1}` });
    assert.deepEqual(strip(body.records), [
      { Subject: 'Call', What: { Name: 'Acme', Type: 'Account' }, Who: { Name: 'Ada Lovelace' } },
      { Subject: 'Email', What: { Name: 'Big Deal', Type: 'Opportunity' }, Who: null },
      { Subject: 'Note', What: null, Who: null },
    ]);
  });

  it('TYPEOF picks fields per concrete type, ELSE for the rest', async () => {
    assert.deepEqual(await rows('SELECT Subject, TYPEOF What WHEN Account THEN Industry, Rating WHEN Opportunity THEN Amount, StageName END FROM Task ORDER BY Subject'), [
      { Subject: 'Call', What: { Industry: 'Banking', Rating: 'Hot' } },
      { Subject: 'Email', What: { Amount: 5000, StageName: 'Closed Won' } },
      { Subject: 'Note', What: null },
    ]);
    assert.deepEqual(await rows('SELECT Subject, TYPEOF What WHEN Opportunity THEN StageName ELSE Name END FROM Task ORDER BY Subject LIMIT 2'), [
      { Subject: 'Call', What: { Name: 'Acme' } },
      { Subject: 'Email', What: { StageName: 'Closed Won' } },
    ]);
  });

  it('filters on polymorphic Type and Name', async () => {
    assert.deepEqual(await rows("SELECT Subject FROM Task WHERE What.Type = 'Account'"), [{ Subject: 'Call' }]);
    assert.deepEqual(await rows("SELECT Subject FROM Task WHERE What.Name = 'big deal'"), [{ Subject: 'Email' }]);
    assert.deepEqual(await rows("SELECT Subject FROM Task WHERE What.Type IN ('Opportunity') OR WhoId != null ORDER BY Subject"), [{ Subject: 'Call' }, { Subject: 'Email' }]);
  });

  it('COUNT() returns totalSize and no records', async () => {
    assert.deepEqual(await ok('SELECT COUNT() FROM Account'), { totalSize: 6, done: true, records: [] });
    assert.deepEqual(await ok("SELECT COUNT() FROM Account WHERE Industry = 'Banking'"), { totalSize: 2, done: true, records: [] });
    assert.deepEqual(await ok('SELECT COUNT() FROM Contact WHERE Account.Industry = null'), { totalSize: 1, done: true, records: [] });
  });

  it('aggregate records: AggregateResult attributes, exprN names, aliases', async () => {
    const body = await ok('SELECT COUNT(Id), COUNT(Industry), COUNT_DISTINCT(Industry) d, SUM(AnnualRevenue), AVG(NumberOfEmployees), MIN(AnnualRevenue), MAX(Name) FROM Account');
    assert.deepEqual(body, {
      totalSize: 1, done: true,
      records: [{ attributes: { type: 'AggregateResult' }, expr0: 6, expr1: 5, d: 3, expr2: 2500100, expr3: 50, expr4: 100, expr5: 'Umbrella' }],
    });
  });

  it('GROUP BY with HAVING and ORDER BY aggregate', async () => {
    assert.deepEqual(await rows('SELECT Industry, COUNT(Id) n, SUM(AnnualRevenue) FROM Account GROUP BY Industry HAVING COUNT(Id) > 1 ORDER BY Industry'), [
      { Industry: 'Banking', n: 2, expr0: 1500000 },
      { Industry: 'Technology', n: 2, expr0: 250100 },
    ]);
    assert.deepEqual(await rows('SELECT Industry, SUM(AnnualRevenue) total FROM Account GROUP BY Industry HAVING SUM(AnnualRevenue) > 600000 ORDER BY SUM(AnnualRevenue) DESC'), [
      { Industry: 'Banking', total: 1500000 },
      { Industry: 'Media', total: 750000 },
    ]);
    assert.deepEqual(await rows('SELECT Industry, COUNT(Id) FROM Account GROUP BY Industry ORDER BY COUNT(Id) DESC, Industry NULLS LAST'), [
      { Industry: 'Banking', expr0: 2 }, { Industry: 'Technology', expr0: 2 }, { Industry: 'Media', expr0: 1 }, { Industry: null, expr0: 1 },
    ]);
  });

  it('GROUP BY a parent field keeps the field name as key', async () => {
    assert.deepEqual(await rows('SELECT Account.Name, COUNT(Id) FROM Contact GROUP BY Account.Name ORDER BY Account.Name'), [
      { Name: null, expr0: 1 }, { Name: 'Acme', expr0: 2 }, { Name: 'Globex', expr0: 1 }, { Name: "O'Reilly Media", expr0: 1 },
    ]);
  });

  it('MIN/MAX keep field formats; GROUP BY date functions', async () => {
    assert.deepEqual(await rows('SELECT MIN(CreatedDate), MAX(Since__c) FROM Account'), [{ expr0: '2023-06-01T00:00:00.000+0000', expr1: '2024-04-02' }]);
    assert.deepEqual(await rows('SELECT CALENDAR_YEAR(CreatedDate) y, COUNT(Id) FROM Account GROUP BY CALENDAR_YEAR(CreatedDate) ORDER BY CALENDAR_YEAR(CreatedDate)'), [
      { y: 2023, expr0: 1 }, { y: 2024, expr0: 5 },
    ]);
    assert.deepEqual(await rows('SELECT DAY_ONLY(CreatedDate) d, COUNT(Id) c FROM Account WHERE CreatedDate = LAST_N_DAYS:1 GROUP BY DAY_ONLY(CreatedDate) ORDER BY DAY_ONLY(CreatedDate)'), [
      { d: '2024-03-14', c: 1 }, { d: '2024-03-15', c: 2 },
    ]);
  });

  it('GROUP BY multiple fields with LIMIT', async () => {
    assert.deepEqual(await rows('SELECT Industry, Rating, COUNT(Id) FROM Account WHERE Industry != null GROUP BY Industry, Rating ORDER BY Industry, Rating LIMIT 3'), [
      { Industry: 'Banking', Rating: 'Hot', expr0: 1 }, { Industry: 'Banking', Rating: 'Warm', expr0: 1 }, { Industry: 'Media', Rating: null, expr0: 1 },
    ]);
  });

  it('GROUP BY without aggregates lists distinct values', async () => {
    assert.deepEqual(await rows('SELECT StageName FROM Opportunity GROUP BY StageName ORDER BY StageName'), [{ StageName: 'Closed Won' }, { StageName: 'Prospecting' }]);
  });

  it('FIELDS(STANDARD) returns every standard field in describe order', async () => {
    const r = (await ok("SELECT FIELDS(STANDARD) FROM Contact WHERE LastName = 'Smith'")).records[0];
    const expected = f.emu.org.schema.get('Contact')!.fields.filter((x) => !x.custom && !x.hidden).map((x) => x.name);
    assert.deepEqual(Object.keys(r).slice(1), expected);
    assert.equal(r.LastName, 'Smith');
    assert.equal(r.MailingAddress, null);
  });

  it('FIELDS(CUSTOM) LIMIT 200 returns the custom fields', async () => {
    assert.deepEqual(await rows("SELECT FIELDS(CUSTOM) FROM Account WHERE Name = 'Globex' LIMIT 200"), [
      { Ext__c: 'EXT-2', Tags__c: 'b;c', Score__c: 2.5, Since__c: '2024-01-10', Vip__c: false, Reviewed__c: null },
    ]);
  });

  it('FIELDS(ALL) LIMIT 1 includes standard and custom fields', async () => {
    const r = (await ok('SELECT FIELDS(ALL) FROM Account ORDER BY Name LIMIT 1')).records[0];
    assert.equal(r.Name, 'Acme');
    assert.equal(r.Ext__c, 'EXT-1');
    assert.equal(r.BillingAddress.city, 'Paris');
  });

  it('queryAll sees deleted rows, query does not', async () => {
    const del = await f.api(`/sobjects/Contact/${f.ids.C4}`, { method: 'DELETE' });
    assert.equal(del.status, 204);
    try {
      assert.deepEqual(strip((await query(f, "SELECT LastName, IsDeleted FROM Contact WHERE LastName = 'Brown'")).body), { totalSize: 0, done: true, records: [] });
      assert.deepEqual(strip((await query(f, "SELECT LastName, IsDeleted FROM Contact WHERE LastName = 'Brown'", { all: true })).body), { totalSize: 1, done: true, records: [{ LastName: 'Brown', IsDeleted: true }] });
      assert.deepEqual((await query(f, 'SELECT COUNT() FROM Contact WHERE IsDeleted = true', { all: true })).body.totalSize, 1);
    } finally {
      await f.api(`/sobjects/Contact/${f.ids.C4}`, { method: 'DELETE' });
      const { undeleteRecord } = await import('../../src/emulator/dml.ts');
      undeleteRecord(f.emu.org, f.emu.org.schema.get('Contact')!, f.ids.C4);
    }
  });
});

describe('SOQL errors', () => {
  let f: Fixture;
  before(async () => {
    f = await fixture();
  });
  after(() => f.close());
  const fail = async (soql: string) => {
    const { status, body } = await query(f, soql);
    assert.equal(status, 400, JSON.stringify(body));
    assert.equal(body.length, 1);
    return body[0] as { errorCode: string; message: string };
  };
  const caret = (soql: string, col: number, text: string) => `\n${soql}\n${' '.repeat(col - 1)}^\nERROR at Row:1:Column:${col}\n${text}`;

  const CASES: [string, string, string][] = [
    ['SELECT Nmae FROM Account', 'INVALID_FIELD', caret('SELECT Nmae FROM Account', 8, `No such column 'Nmae' on entity 'Account'. ${NOT_FOUND_TAIL}`)],
    ['SELECT Id, Foo__c FROM Contact', 'INVALID_FIELD', caret('SELECT Id, Foo__c FROM Contact', 12, `No such column 'Foo__c' on entity 'Contact'. ${NOT_FOUND_TAIL}`)],
    ['SELECT Score__c FROM Contact', 'INVALID_FIELD', caret('SELECT Score__c FROM Contact', 8, `No such column 'Score__c' on entity 'Contact'. ${NOT_FOUND_TAIL}`)],
    ["SELECT Id FROM Account WHERE Nmae = 'x'", 'INVALID_FIELD', caret("SELECT Id FROM Account WHERE Nmae = 'x'", 30, `No such column 'Nmae' on entity 'Account'. ${NOT_FOUND_TAIL}`)],
    ['SELECT Id FROM Account ORDER BY Nmae', 'INVALID_FIELD', caret('SELECT Id FROM Account ORDER BY Nmae', 33, `No such column 'Nmae' on entity 'Account'. ${NOT_FOUND_TAIL}`)],
    ['SELECT Account.Foo FROM Contact', 'INVALID_FIELD', caret('SELECT Account.Foo FROM Contact', 8, `No such column 'Foo' on entity 'Account'. ${NOT_FOUND_TAIL}`)],
    ['SELECT Id FROM Widget__c', 'INVALID_TYPE', caret('SELECT Id FROM Widget__c', 16, "sObject type 'Widget__c' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.")],
    ['SELECT Id, FROM Account', 'MALFORMED_QUERY', caret('SELECT Id, FROM Account', 12, "unexpected token: 'FROM'")],
    ['SELECT Id FROM', 'MALFORMED_QUERY', caret('SELECT Id FROM', 15, "unexpected token: '<EOF>'")],
    ['SELECT Foo.Name FROM Contact', 'INVALID_FIELD', caret('SELECT Foo.Name FROM Contact', 8, "Didn't understand relationship 'Foo' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.")],
    ['SELECT Id, (SELECT Id FROM Widgets) FROM Account', 'INVALID_TYPE', caret('SELECT Id, (SELECT Id FROM Widgets) FROM Account', 28, "Didn't understand relationship 'Widgets' in FROM part of query call. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.")],
    ["SELECT Id FROM Account WHERE Description = 'x'", 'INVALID_FIELD', caret("SELECT Id FROM Account WHERE Description = 'x'", 30, "field 'Description' can not be filtered in a query call")],
    ['SELECT Id FROM Account ORDER BY Description', 'INVALID_FIELD', caret('SELECT Id FROM Account ORDER BY Description', 33, "field 'Description' can not be sorted in a query call")],
    ['SELECT Description, COUNT(Id) FROM Account GROUP BY Description', 'INVALID_FIELD', caret('SELECT Description, COUNT(Id) FROM Account GROUP BY Description', 53, "field 'Description' can not be grouped in a query call")],
    ['SELECT Name, COUNT(Id) FROM Account', 'MALFORMED_QUERY', caret('SELECT Name, COUNT(Id) FROM Account', 8, 'Field must be grouped or aggregated: Name')],
    ['SELECT SUM(Name) FROM Account', 'INVALID_FIELD', caret('SELECT SUM(Name) FROM Account', 8, 'field Name does not support aggregate operator SUM')],
    ['SELECT Id FROM Account ORDER BY Name OFFSET 2001', 'NUMBER_OUTSIDE_VALID_RANGE', caret('SELECT Id FROM Account ORDER BY Name OFFSET 2001', 38, 'Maximum SOQL offset allowed is 2000')],
    ['SELECT FIELDS(ALL) FROM Account', 'MALFORMED_QUERY', caret('SELECT FIELDS(ALL) FROM Account', 8, 'The SOQL FIELDS function must have a LIMIT of at most 200')],
    ['SELECT FIELDS(CUSTOM) FROM Account LIMIT 201', 'MALFORMED_QUERY', caret('SELECT FIELDS(CUSTOM) FROM Account LIMIT 201', 8, 'The SOQL FIELDS function must have a LIMIT of at most 200')],
    ['SELECT Id FROM Account WHERE Name = 5', 'INVALID_FIELD', caret('SELECT Id FROM Account WHERE Name = 5', 30, "value of filter criterion for field 'Name' must be of type string and should be enclosed in quotes")],
    ["SELECT Id FROM Account WHERE AnnualRevenue = '5'", 'INVALID_FIELD', caret("SELECT Id FROM Account WHERE AnnualRevenue = '5'", 30, "value of filter criterion for field 'AnnualRevenue' must be of type double and should not be enclosed in quotes")],
    ["SELECT Id FROM Account WHERE Vip__c = 'true'", 'INVALID_FIELD', caret("SELECT Id FROM Account WHERE Vip__c = 'true'", 30, "value of filter criterion for field 'Vip__c' must be of type boolean and should not be enclosed in quotes")],
    ['SELECT Id FROM Account WHERE CreatedDate = 2024-01-01', 'INVALID_FIELD', caret('SELECT Id FROM Account WHERE CreatedDate = 2024-01-01', 30, "value of filter criterion for field 'CreatedDate' must be of type dateTime and should not be enclosed in quotes")],
    ['SELECT Id FROM Account WHERE Since__c = 2024-01-01T00:00:00Z', 'INVALID_FIELD', caret('SELECT Id FROM Account WHERE Since__c = 2024-01-01T00:00:00Z', 30, "value of filter criterion for field 'Since__c' must be of type date and should not be enclosed in quotes")],
    ["SELECT Id FROM Account WHERE Id = 'abc'", 'INVALID_QUERY_FILTER_OPERATOR', caret("SELECT Id FROM Account WHERE Id = 'abc'", 30, 'invalid ID field: abc')],
    ["SELECT Id FROM Account WHERE Name = 'a' AND Name = 'b' OR Name = 'c'", 'MALFORMED_QUERY', caret("SELECT Id FROM Account WHERE Name = 'a' AND Name = 'b' OR Name = 'c'", 56, "unexpected token: 'OR'")],
    ["SELECT Id FROM Account WHERE Tags__c LIKE 'a'", 'INVALID_QUERY_FILTER_OPERATOR', caret("SELECT Id FROM Account WHERE Tags__c LIKE 'a'", 30, 'invalid operator on multipicklist field: LIKE')],
    ["SELECT Id FROM Account WHERE Name INCLUDES ('a')", 'INVALID_QUERY_FILTER_OPERATOR', caret("SELECT Id FROM Account WHERE Name INCLUDES ('a')", 30, 'invalid operator on string field: INCLUDES')],
    ['SELECT What.Industry FROM Task', 'INVALID_FIELD', caret('SELECT What.Industry FROM Task', 8, `No such column 'Industry' on entity 'Name'. ${NOT_FOUND_TAIL}`)],
    ['SELECT Parent.Parent.Parent.Parent.Parent.Parent.Name FROM Account', 'MALFORMED_QUERY', caret('SELECT Parent.Parent.Parent.Parent.Parent.Parent.Name FROM Account', 8, 'SOQL statements cannot query relationships that are more than 5 levels away from the root entity object.')],
  ];
  for (const [soql, code, message] of CASES) {
    it(`${code}: ${soql}`, async () => {
      assert.deepEqual(await fail(soql), { message, errorCode: code });
    });
  }

  it('missing q parameter is MALFORMED_QUERY', async () => {
    const res = await f.api('/query');
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { errorCode: string }[])[0].errorCode, 'MALFORMED_QUERY');
  });

  it('multi-line queries report the row and the offending line', async () => {
    const e = await fail('SELECT Id,\n  Nmae\nFROM Account');
    assert.equal(e.message, `\n  Nmae\n  ^\nERROR at Row:2:Column:3\nNo such column 'Nmae' on entity 'Account'. ${NOT_FOUND_TAIL}`);
  });
});

/**
 * SOQL filters, ordering and paging clauses against the fixture: each case lists the exact Account names
 * (in order) the query must return.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fixture, query, type Fixture } from './soql-fixture.ts';

const ALL = ['Acme', 'acme subsidiary', 'Globex', 'Initech', "O'Reilly Media", 'Umbrella'];
const except = (...names: string[]) => ALL.filter((n) => !names.includes(n));

/** [WHERE clause (ORDER BY Name is appended), expected names]. `{A1}`/`{A1_15}` expand to fixture IDs. */
const WHERE_CASES: [string, string[]][] = [
  ["Name = 'Acme'", ['Acme']],
  ["Name = 'ACME'", ['Acme']],
  ["Name != 'Acme'", except('Acme')],
  ["Name <> 'Acme'", except('Acme')],
  ['Industry = null', ['Umbrella']],
  ['Industry != null', except('Umbrella')],
  ["Industry != 'Banking'", ['acme subsidiary', 'Initech', "O'Reilly Media", 'Umbrella']],
  ["Name LIKE 'acme%'", ['Acme', 'acme subsidiary']],
  ["Name LIKE '%E%'", ALL],
  ["Name LIKE 'G_obex'", ['Globex']],
  ["Name LIKE '%\\%%'", []],
  ["Name LIKE 'O\\'Reilly%'", ["O'Reilly Media"]],
  ["Name LIKE '%subsidiary'", ['acme subsidiary']],
  ["Name = 'O\\'Reilly Media'", ["O'Reilly Media"]],
  ["Name IN ('Acme', 'globex')", ['Acme', 'Globex']],
  ["Name NOT IN ('Acme', 'Globex')", except('Acme', 'Globex')],
  ["Industry IN ('Media', null)", ["O'Reilly Media", 'Umbrella']],
  ["Industry NOT IN ('Banking')", ['acme subsidiary', 'Initech', "O'Reilly Media", 'Umbrella']],
  ["Rating IN ('Hot', 'Cold')", ['Acme', 'Initech']],
  ['AnnualRevenue > 500000', ['Acme', "O'Reilly Media"]],
  ['AnnualRevenue >= 500000', ['Acme', 'Globex', "O'Reilly Media"]],
  ['AnnualRevenue < 250000', ['acme subsidiary']],
  ['AnnualRevenue <= 250000', ['acme subsidiary', 'Initech']],
  ['AnnualRevenue = null', ['Umbrella']],
  ['NumberOfEmployees = 50', ['Globex']],
  ['NumberOfEmployees IN (5, 20)', ['acme subsidiary', 'Initech']],
  ['Score__c = 0', ["O'Reilly Media"]],
  ['Score__c > 1.5', ['Globex']],
  ['Score__c >= 1.5', ['Acme', 'Globex']],
  ['Vip__c = true', ['Acme']],
  ['Vip__c = false', except('Acme')],
  ['Vip__c != true', except('Acme')],
  ['Since__c = 2024-03-14', ['Initech']],
  ['Since__c > 2024-03-14', ['acme subsidiary', "O'Reilly Media"]],
  ['Since__c < 2024-01-01', ['Acme']],
  ['Since__c IN (2020-01-15, 2024-04-02)', ['Acme', 'acme subsidiary']],
  ['CreatedDate > 2024-03-14T00:00:00Z', ['acme subsidiary', "O'Reilly Media"]],
  ['CreatedDate >= 2024-03-14T00:00:00Z', ['acme subsidiary', "O'Reilly Media", 'Umbrella']],
  ['CreatedDate < 2024-01-10T00:00:00.000+0000', ['Acme']],
  ['CreatedDate = 2024-03-15T12:00:00Z', ['acme subsidiary']],
  ['CreatedDate > 2024-03-15T10:00:00+01:00', ['acme subsidiary']],
  ['CreatedDate >= 2024-03-15T10:00:00+01:00', ['acme subsidiary', "O'Reilly Media"]],
  ['CreatedDate <= 2024-03-15T04:00:00-05:00', ['Acme', 'Globex', 'Initech', "O'Reilly Media", 'Umbrella']],
  ['Reviewed__c = TODAY', ['Acme']],
  ['CreatedDate = TODAY', ['acme subsidiary', "O'Reilly Media"]],
  ['CreatedDate = YESTERDAY', ['Umbrella']],
  ['CreatedDate = TOMORROW', []],
  ['CreatedDate = THIS_WEEK', ['acme subsidiary', 'Initech', "O'Reilly Media", 'Umbrella']],
  ['CreatedDate = LAST_WEEK', []],
  ['CreatedDate = THIS_MONTH', ['acme subsidiary', 'Initech', "O'Reilly Media", 'Umbrella']],
  ['CreatedDate = LAST_MONTH', []],
  ['CreatedDate = THIS_YEAR', except('Acme')],
  ['CreatedDate = LAST_YEAR', ['Acme']],
  ['CreatedDate = THIS_QUARTER', except('Acme')],
  ['CreatedDate = LAST_QUARTER', []],
  ['CreatedDate = LAST_N_DAYS:1', ['acme subsidiary', "O'Reilly Media", 'Umbrella']],
  ['CreatedDate = LAST_N_DAYS:5', ['acme subsidiary', 'Initech', "O'Reilly Media", 'Umbrella']],
  ['CreatedDate = N_DAYS_AGO:1', ['Umbrella']],
  ['CreatedDate = N_DAYS_AGO:5', ['Initech']],
  ['CreatedDate < LAST_N_DAYS:5', ['Acme', 'Globex']],
  ['CreatedDate > LAST_N_DAYS:5', []],
  ['CreatedDate = LAST_90_DAYS', except('Acme')],
  ['CreatedDate = LAST_N_MONTHS:3', ['Globex']],
  ['CreatedDate = LAST_N_YEARS:1', ['Acme']],
  ['CreatedDate != TODAY', ['Acme', 'Globex', 'Initech', 'Umbrella']],
  ['CreatedDate >= THIS_MONTH', ['acme subsidiary', 'Initech', "O'Reilly Media", 'Umbrella']],
  ['CreatedDate <= LAST_MONTH', ['Acme', 'Globex']],
  ['Since__c = NEXT_MONTH', ['acme subsidiary']],
  ['Since__c = NEXT_N_DAYS:30', ['acme subsidiary']],
  ['Since__c = TODAY', ["O'Reilly Media"]],
  ['Since__c = YESTERDAY', ['Initech']],
  ['Since__c = TOMORROW', []],
  ['Since__c = NEXT_90_DAYS', ['acme subsidiary']],
  ['Since__c = THIS_FISCAL_YEAR', ['acme subsidiary', 'Globex', 'Initech', "O'Reilly Media"]],
  ['Since__c = LAST_N_WEEKS:2', []],
  ['Since__c = NEXT_N_WEEKS:3', ['acme subsidiary']],
  ['Since__c = NEXT_QUARTER', ['acme subsidiary']],
  ['Since__c = N_YEARS_AGO:4', ['Acme']],
  ['Since__c = NEXT_N_MONTHS:1', ['acme subsidiary']],
  ['Since__c = NEXT_WEEK', []],
  ['Since__c = THIS_MONTH', ['Initech', "O'Reilly Media"]],
  ['Since__c = LAST_N_YEARS:5', ['Acme']],
  ["Tags__c INCLUDES ('a')", ['Acme', "O'Reilly Media"]],
  ["Tags__c INCLUDES ('a;b')", ['Acme']],
  ["Tags__c INCLUDES ('b;a')", ['Acme']],
  ["Tags__c INCLUDES ('A')", ['Acme', "O'Reilly Media"]],
  ["Tags__c INCLUDES ('a', 'c')", ['Acme', 'Globex', 'Initech', "O'Reilly Media"]],
  ["Tags__c EXCLUDES ('a')", ['acme subsidiary', 'Globex', 'Initech', 'Umbrella']],
  ["Tags__c EXCLUDES ('b;c')", except('Globex')],
  ["Tags__c = 'c'", ['Initech']],
  ['Tags__c = null', ['acme subsidiary', 'Umbrella']],
  ["Industry = 'Banking' AND AnnualRevenue > 600000", ['Acme']],
  ["Industry = 'Banking' OR Industry = 'Media'", ['Acme', 'Globex', "O'Reilly Media"]],
  ["(Industry = 'Banking' OR Industry = 'Media') AND NumberOfEmployees < 80", ['Globex', "O'Reilly Media"]],
  ["Industry = 'Banking' OR (Industry = 'Technology' AND NumberOfEmployees > 10)", ['Acme', 'Globex', 'Initech']],
  ["((Industry = 'Banking'))", ['Acme', 'Globex']],
  ["NOT Industry = 'Banking'", ['acme subsidiary', 'Initech', "O'Reilly Media", 'Umbrella']],
  ["NOT (Industry = 'Banking' OR Industry = 'Technology')", ["O'Reilly Media", 'Umbrella']],
  ["(NOT Name LIKE 'a%') AND Industry != null", ['Globex', 'Initech', "O'Reilly Media"]],
  ["Industry = 'Banking' AND NOT Name = 'Acme'", ['Globex']],
  ['NOT AnnualRevenue > 300000', ['acme subsidiary', 'Initech', 'Umbrella']],
  ["Id = '{A1}'", ['Acme']],
  ["Id = '{A1_15}'", ['Acme']],
  ["Id IN ('{A1_15}', '{A2}')", ['Acme', 'Globex']],
  ["Id != '{A1}'", except('Acme')],
  ["ParentId = '{A1}'", ['Globex', "O'Reilly Media"]],
  ['ParentId = null', ['Acme', 'Initech', 'Umbrella']],
  ["Ext__c = 'EXT-4'", ['Umbrella']],
  ["Ext__c IN ('ext-1', 'EXT-2')", ['Acme', 'Globex']],
  ["Parent.Name = 'Acme'", ['Globex', "O'Reilly Media"]],
  ["Parent.Parent.Name = 'Acme'", ['acme subsidiary']],
  ["Parent.Industry = 'Banking'", ['acme subsidiary', 'Globex', "O'Reilly Media"]],
  ['Parent.Name = null', ['Acme', 'Initech', 'Umbrella']],
  ["Owner.Email = 'admin@emulator.sfbridge.dev'", ALL],
  ["Owner.Name LIKE 'Emulator%' AND Name LIKE 'U%'", ['Umbrella']],
  ['Id IN (SELECT AccountId FROM Contact)', ['Acme', 'Globex', "O'Reilly Media"]],
  ['Id NOT IN (SELECT AccountId FROM Contact)', ['acme subsidiary', 'Initech', 'Umbrella']],
  ["Id IN (SELECT AccountId FROM Opportunity WHERE StageName = 'Closed Won')", ['Acme']],
  ['Id IN (SELECT WhatId FROM Task)', ['Acme']],
  ["Id IN (SELECT AccountId FROM Contact WHERE LastName LIKE 'J%') AND Industry = 'Banking'", ['Globex']],
  ['Id NOT IN (SELECT ParentId FROM Account)', ['acme subsidiary', 'Initech', "O'Reilly Media", 'Umbrella']],
  ['ParentId IN (SELECT Id FROM Account WHERE Industry = \'Banking\')', ['acme subsidiary', 'Globex', "O'Reilly Media"]],
  ['CALENDAR_YEAR(CreatedDate) = 2023', ['Acme']],
  ['CALENDAR_MONTH(CreatedDate) = 3', ['acme subsidiary', 'Initech', "O'Reilly Media", 'Umbrella']],
  ['DAY_IN_MONTH(Since__c) = 15', ['Acme', "O'Reilly Media"]],
  ['HOUR_IN_DAY(CreatedDate) = 9', ["O'Reilly Media"]],
];

/** [ORDER BY / LIMIT / OFFSET tail, expected names]. */
const ORDER_CASES: [string, string[]][] = [
  ['ORDER BY Name', ALL],
  ['ORDER BY Name DESC', [...ALL].reverse()],
  ['ORDER BY Industry, Name', ['Umbrella', 'Acme', 'Globex', "O'Reilly Media", 'acme subsidiary', 'Initech']],
  ['ORDER BY Industry DESC, Name', ['acme subsidiary', 'Initech', "O'Reilly Media", 'Acme', 'Globex', 'Umbrella']],
  ['ORDER BY Industry NULLS LAST, Name', ['Acme', 'Globex', "O'Reilly Media", 'acme subsidiary', 'Initech', 'Umbrella']],
  ['ORDER BY Industry DESC NULLS FIRST, Name', ['Umbrella', 'acme subsidiary', 'Initech', "O'Reilly Media", 'Acme', 'Globex']],
  ['ORDER BY AnnualRevenue DESC', ['Acme', "O'Reilly Media", 'Globex', 'Initech', 'acme subsidiary', 'Umbrella']],
  ['ORDER BY AnnualRevenue ASC', ['Umbrella', 'acme subsidiary', 'Initech', 'Globex', "O'Reilly Media", 'Acme']],
  ['ORDER BY Name LIMIT 2', ['Acme', 'acme subsidiary']],
  ['ORDER BY Name LIMIT 2 OFFSET 2', ['Globex', 'Initech']],
  ['ORDER BY Name OFFSET 5', ['Umbrella']],
  ['ORDER BY Name LIMIT 10 OFFSET 6', []],
  ['ORDER BY Parent.Name NULLS LAST, Name', ['Globex', "O'Reilly Media", 'acme subsidiary', 'Acme', 'Initech', 'Umbrella']],
  ['ORDER BY CreatedDate DESC LIMIT 3', ['acme subsidiary', "O'Reilly Media", 'Umbrella']],
  ['ORDER BY Since__c', ['Umbrella', 'Acme', 'Globex', 'Initech', "O'Reilly Media", 'acme subsidiary']],
  ['ORDER BY Vip__c DESC, Name LIMIT 2', ['Acme', 'acme subsidiary']],
  ['ORDER BY Rating NULLS LAST, NumberOfEmployees DESC', ['Initech', 'Acme', 'Globex', "O'Reilly Media", 'acme subsidiary', 'Umbrella']],
  ['LIMIT 3', ['Acme', 'Globex', 'Initech']],
];

describe('SOQL filters and ordering', () => {
  let f: Fixture;
  before(async () => {
    f = await fixture();
  });
  after(() => f.close());
  const expand = (s: string) => s.replaceAll('{A1_15}', f.ids.A1.slice(0, 15)).replace(/\{(\w+)\}/g, (_, k: string) => f.ids[k]);

  for (const [where, names] of WHERE_CASES) {
    it(`WHERE ${where}`, async () => {
      const soql = expand(`SELECT Name FROM Account WHERE ${where} ORDER BY Name`);
      const { status, body } = await query(f, soql);
      assert.equal(status, 200, JSON.stringify(body));
      assert.deepEqual(body.records.map((r: { Name: string }) => r.Name), names);
      assert.equal(body.totalSize, names.length);
      assert.equal(body.done, true);
    });
  }
  for (const [tail, names] of ORDER_CASES) {
    it(tail, async () => {
      const { status, body } = await query(f, `SELECT Name FROM Account ${tail}`);
      assert.equal(status, 200, JSON.stringify(body));
      assert.deepEqual(body.records.map((r: { Name: string }) => r.Name), names);
      assert.equal(body.totalSize, names.length);
    });
  }
});

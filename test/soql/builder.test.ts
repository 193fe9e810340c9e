/**
 * SOQL builder: rendering, immutability, de-duplication, literals, and adversarial inputs — checked both as
 * text and by running them against the emulator's SOQL engine.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { and, cond, dateLiteral, escapeLike, fieldsFor, from, likePattern, literal, not, or, soqlDate, subquery } from '../../src/soql/index.ts';
import { SalesforceClient } from '../../src/client/index.ts';
import { createEmulator } from '../../src/emulator/app.ts';

describe('SOQL builder', () => {
  it('renders select/where/order/limit/offset with relationship fields and subqueries', () => {
    const q = from('Contact')
      .select('Id', 'LastName', 'Account.Name')
      .select(subquery('Cases').select('Id', 'Subject').where('IsClosed', '=', false).limit(5))
      .where('AccountId', 'IN', ['001000000000001AAA', '001000000000002AAA'])
      .where(or(cond('LastName', 'LIKE', likePattern(`${escapeLike('O_k')}%`)), not(cond('Email', '=', null))))
      .orderBy('LastName', 'desc', 'LAST')
      .limit(100)
      .offset(10);
    assert.equal(
      q.toString(),
      "SELECT Id, LastName, Account.Name, (SELECT Id, Subject FROM Cases WHERE IsClosed = false LIMIT 5) FROM Contact " +
        "WHERE AccountId IN ('001000000000001AAA', '001000000000002AAA') AND (LastName LIKE 'O\\_k%' OR NOT (Email = null)) " +
        'ORDER BY LastName DESC NULLS LAST LIMIT 100 OFFSET 10',
    );
  });

  it('is immutable and de-duplicates select case-insensitively, keeping first order', () => {
    const base = from('Account').select('Id', 'Name');
    const more = base.select('name', 'ID', 'Industry', 'Owner.Name', 'owner.name');
    assert.equal(base.toString(), 'SELECT Id, Name FROM Account');
    assert.equal(more.toString(), 'SELECT Id, Name, Industry, Owner.Name FROM Account');
    assert.equal(more.where('Name', '=', 'x').countQuery().toString(), "SELECT COUNT() FROM Account WHERE Name = 'x'");
  });

  it('formats literals: dates, datetimes, booleans, numbers, null, date literals', () => {
    assert.equal(literal(new Date('2024-03-05T17:38:40.123Z')), '2024-03-05T17:38:40Z');
    assert.equal(literal(soqlDate('2024-03-05')), '2024-03-05');
    assert.equal(literal(soqlDate(new Date('2024-03-05T23:00:00Z'))), '2024-03-05');
    assert.equal(literal(true), 'true');
    assert.equal(literal(null), 'null');
    assert.equal(literal(-12.5), '-12.5');
    assert.equal(literal(1e21), '1000000000000000000000');
    assert.equal(literal(1e-7), '0.0000001');
    assert.equal(literal(12345678901234567890n), '12345678901234567890');
    assert.equal(literal(dateLiteral('last_n_days', 30)), 'LAST_N_DAYS:30');
    assert.throws(() => literal(NaN), /finite/);
    assert.throws(() => soqlDate('2024-13-45'), /not a date/);
    assert.throws(() => dateLiteral('LAST_N_DAYS'), /unknown date literal/);
    assert.throws(() => dateLiteral('TODAY; DELETE'), /unknown date literal/);
  });

  it('escapes adversarial strings', () => {
    assert.equal(literal("O'Brien"), "'O\\'Brien'");
    assert.equal(literal("x' OR Name != '"), "'x\\' OR Name != \\''");
    assert.equal(literal('back\\slash\\'), "'back\\\\slash\\\\'");
    assert.equal(literal("\\' OR 1=1 --"), "'\\\\\\' OR 1=1 --'");
    assert.equal(literal('line1\nline2\r\t"q"'), "'line1\\nline2\\r\\t\\\"q\\\"'");
    assert.throws(() => literal('nul\u0000byte'), /control character/);
    assert.throws(() => likePattern("abc' OR Name LIKE '%"), /escapeLike/);
  });

  it('rejects identifiers, operators and shapes that could inject', () => {
    assert.throws(() => from('Account WHERE Id != null'), /sObject/);
    assert.throws(() => from('Account').select('Id FROM User --'), /field/);
    assert.throws(() => from('Account').select('Id').where('Name = 1 OR Name', '=', 'x'), /field name/);
    assert.throws(() => from('Account').select('Id').where('Name', '= 1 OR Name =' as never, 'x'), /operator/);
    assert.throws(() => from('Account').select('Id').where('Id', 'IN', []), /empty list/);
    assert.throws(() => from('Account').select('Id').where('Id', '=', ['a'] as never), /single value/);
    assert.throws(() => from('Account').select('Id').where('Id', '>', null), /null/);
    assert.throws(() => from('Account').select('Id').orderBy('Name', 'ASC; DROP' as never), /ASC or DESC/);
    assert.throws(() => from('Account').select('Id').limit(-1), /non-negative/);
    assert.throws(() => from('Account').toString(), /empty/);
    assert.equal(from('Account').select('COUNT(Id)', 'toLabel(Industry)').toString(), 'SELECT COUNT(Id), toLabel(Industry) FROM Account');
  });

  it('adversarial values run against the emulator match only themselves', async () => {
    const emu = createEmulator();
    const sf = new SalesforceClient({ credentials: { kind: 'clientCredentials', instanceUrl: 'http://127.0.0.1:8484', clientId: emu.org.clientId, clientSecret: emu.org.clientSecret }, fetch: (i, init) => emu.fetch(new Request(i, init)) });
    const nasty = ["O'Brien", "x' OR Name != '", 'back\\slash', "\\' OR Name != null OR Name = '", 'multi\nline', '50%_off'];
    for (const name of nasty) await sf.create('Account', { Name: name });
    await sf.create('Account', { Name: 'bystander' });
    for (const name of nasty) {
      const rows = await sf.query(from('Account').select('Id', 'Name').where('Name', '=', name)).toArray();
      assert.deepEqual(rows.map((r) => r.Name), [name], `query for ${JSON.stringify(name)}`);
    }
    const like = await sf.query(from('Account').select('Name').where('Name', 'LIKE', likePattern(`${escapeLike('50%_')}%`))).toArray();
    assert.deepEqual(like.map((r) => r.Name), ['50%_off']);
    const inList = await sf.query(from('Account').select('Name').where(and(cond('Name', 'IN', nasty.slice(0, 2))))).toArray();
    assert.equal(inList.length, 2);
  });
});

describe('fieldsFor', () => {
  const f = (name: string, type: string, extra: Record<string, unknown> = {}) => ({ name, label: name, type, filterable: true, ...extra });
  const account = {
    name: 'Account',
    queryable: true,
    fields: [
      f('Id', 'id'), f('Name', 'string'), f('BillingCity', 'string', { compoundFieldName: 'BillingAddress' }),
      f('BillingAddress', 'address', { filterable: false }), f('Photo__c', 'base64', { filterable: false }),
      f('Notes__c', 'textarea', { filterable: false }), f('Old__c', 'string', { deprecatedAndHidden: true }),
      f('Loc__c', 'location', { filterable: false }),
    ],
  };
  it('drops hidden fields and compounds whose components are selected', () => {
    assert.deepEqual(fieldsFor(account), ['Id', 'Name', 'BillingCity', 'Photo__c', 'Notes__c', 'Loc__c']);
  });
  it('bulk mode drops compounds and base64; filterable keeps only filterable', () => {
    assert.deepEqual(fieldsFor(account, { bulk: true }), ['Id', 'Name', 'BillingCity', 'Notes__c']);
    assert.deepEqual(fieldsFor(account, { filterable: true, exclude: ['name'] }), ['Id', 'BillingCity']);
    assert.throws(() => fieldsFor({ ...account, queryable: false }), /not queryable/);
  });
});

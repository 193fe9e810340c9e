import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { loadSchemaFile, schemaFromData } from '../../src/emulator/schema/custom.ts';
import { evaluateFormula, parseFormula } from '../../src/emulator/schema/formula.ts';
import { testOrg } from '../helpers/emulator.ts';

const EXAMPLE = fileURLToPath(new URL('../../examples/schema.yaml', import.meta.url));

type Field = Record<string, unknown> & { name: string; picklistValues: { value: string; defaultValue: boolean }[] };

test('examples/schema.yaml: describe shows Invoice__c and Account.External_Id__c; REST create and upsert work', async () => {
  const org = await testOrg({ objects: await loadSchemaFile(EXAMPLE) });
  const d = (await (await org.api('/sobjects/Invoice__c/describe')).json()) as { custom: boolean; keyPrefix: string; fields: Field[] };
  assert.equal(d.custom, true);
  assert.match(d.keyPrefix, /^a0/);
  const f = (n: string) => d.fields.find((x) => x.name === n)!;
  assert.equal(f('Invoice_Key__c').externalId, true);
  assert.equal(f('Invoice_Key__c').idLookup, true);
  assert.deepEqual(f('Account__c').referenceTo, ['Account']);
  assert.equal(f('Account__c').relationshipName, 'Account__r');
  assert.equal(f('Delivery__c').type, 'location');
  assert.equal(f('Delivery__Latitude__s').compoundFieldName, 'Delivery__c');
  assert.equal(f('Status__c').picklistValues.find((p) => p.defaultValue)?.value, 'Draft');
  assert.equal(f('Tax__c').calculated, true);
  assert.equal(f('Name').autoNumber, true);

  const acct = (await (await org.api('/sobjects/Account', { method: 'POST', json: { Name: 'Globex', External_Id__c: 'G-1' } })).json()) as { id: string };
  const account = (await (await org.api('/sobjects/Account/describe')).json()) as { keyPrefix: string; fields: Field[]; childRelationships: { relationshipName: string }[] };
  assert.equal(account.keyPrefix, '001', 'extending Account keeps its own properties');
  assert.ok(account.fields.some((x) => x.name === 'External_Id__c' && x.externalId === true));
  assert.ok(account.childRelationships.some((c) => c.relationshipName === 'Invoices__r'));

  const created = await org.api('/sobjects/Invoice__c', { method: 'POST', json: { Invoice_Key__c: 'ERP-1', Account__c: acct.id, Amount__c: 120.5, Delivery__Latitude__s: 48.85, Delivery__Longitude__s: 2.35 } });
  assert.equal(created.status, 201, await created.clone().text());
  const { id } = (await created.json()) as { id: string };
  const rec = (await (await org.api(`/sobjects/Invoice__c/${id}`)).json()) as Record<string, unknown>;
  assert.equal(rec.Status__c, 'Draft');
  assert.deepEqual(rec.Delivery__c, { latitude: 48.85, longitude: 2.35 });
  const upsert = await org.api('/sobjects/Invoice__c/Invoice_Key__c/ERP-1', { method: 'PATCH', json: { Status__c: 'Paid' } });
  assert.ok(upsert.status === 200 || upsert.status === 204, String(upsert.status));
  const bad = await org.api('/sobjects/Invoice__c', { method: 'POST', json: { Status__c: 'Lost' } });
  assert.equal(bad.status, 400, 'restricted picklist');
  org.close();
});

test('schema file errors name the place in the file and the fix', () => {
  const cases: [unknown, RegExp][] = [
    [{ objects: [{ name: 'Invoice__c', fields: [{ name: 'Amount', type: 'currency' }] }] }, /objects\[0\] Invoice__c › fields\[0\] Amount: custom field names end in __c \(write Amount__c\)/],
    [{ objects: [{ name: 'Invoice__c', fields: [{ name: 'A__c', type: 'reference', referenceTo: ['Acount'] }] }] }, /fields\[0\] A__c › referenceTo: no object named Acount/],
    [{ objects: [{ name: 'Invoice__c', fields: [{ name: 'A__c', type: 'money' }] }] }, /objects\[0\] Invoice__c › fields\[0\] A__c › type/],
    [{ objects: [{ name: 'Invoice__c', fields: [{ name: 'S__c', type: 'picklist' }] }] }, /picklistValues: a picklist needs its values/],
    [{ objects: [{ name: 'Invoice', fields: [] }] }, /custom object names end in __c \(write Invoice__c\)/],
    [{ objects: [{ name: 'X__c', fields: [{ name: 'T__c', type: 'currency', formula: 'Amount__c * 2' }] }] }, /formula: Amount__c is not a number field of X__c/],
    [{ objects: [{ name: 'X__c', keyPrefix: '001' }] }, /keyPrefix: 001 is already used/],
    [{ object: [] }, /objects: .*must start with `objects:`/],
  ];
  for (const [data, re] of cases) assert.throws(() => schemaFromData(data, 'my.yaml'), (err: Error) => err.message.startsWith('my.yaml: ') && re.test(err.message), String(re));
});

test('formulas: arithmetic with precedence and blanks', () => {
  const rec: Record<string, unknown> = { Amount: 1000, Probability: 25, Empty: null };
  const get = (n: string) => rec[n];
  assert.equal(evaluateFormula('Amount * Probability / 100', get), 250);
  assert.equal(evaluateFormula('(Amount - 200) * 2 + -Probability', get), 1575);
  assert.equal(evaluateFormula('Amount * Empty', get), null);
  assert.equal(evaluateFormula('Amount / 0', get), null);
  assert.throws(() => parseFormula('IF(Amount > 0, 1, 0)'), /only field names, numbers/);
});

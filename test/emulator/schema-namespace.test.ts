/** A schema file with a managed package's namespaced names (`SBQQ__Quote__c`): describe, REST, SOQL and upsert. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { schemaFromData } from '../../src/emulator/schema/custom.ts';
import { testOrg } from '../helpers/emulator.ts';

const SCHEMA = {
  objects: [
    {
      name: 'SBQQ__Quote__c',
      fields: [
        { name: 'SBQQ__Account__c', type: 'reference', referenceTo: ['Account'], childRelationshipName: 'SBQQ__Quotes__r' },
        { name: 'SBQQ__NetAmount__c', type: 'currency' },
        { name: 'SBQQ__Key__c', type: 'string', length: 40, externalId: true, unique: true },
      ],
    },
    { name: 'SBQQ__QuoteLine__c', fields: [{ name: 'SBQQ__Quote__c', type: 'reference', referenceTo: ['SBQQ__Quote__c'], childRelationshipName: 'SBQQ__LineItems__r' }] },
    { name: 'Account', fields: [{ name: 'SBQQ__Priority__c', type: 'picklist', picklistValues: ['High', 'Low'] }] },
  ],
};

test('namespaced objects and fields describe with labels that leave out the namespace', async () => {
  const org = await testOrg({ objects: schemaFromData(SCHEMA) });
  const d = (await (await org.api('/sobjects/SBQQ__Quote__c/describe')).json()) as { name: string; label: string; custom: boolean; fields: { name: string; label: string; custom: boolean; relationshipName: string | null }[]; childRelationships: unknown[] };
  assert.deepEqual([d.name, d.label, d.custom], ['SBQQ__Quote__c', 'Quote', true]);
  const f = (n: string) => d.fields.find((x) => x.name === n)!;
  assert.deepEqual([f('SBQQ__Account__c').label, f('SBQQ__Account__c').relationshipName, f('SBQQ__Account__c').custom], ['Account', 'SBQQ__Account__r', true]);
  assert.equal(f('SBQQ__NetAmount__c').label, 'Net Amount');
  const acct = (await (await org.api('/sobjects/Account/describe')).json()) as { fields: { name: string }[]; childRelationships: { childSObject: string; field: string; relationshipName: string }[] };
  assert.ok(acct.fields.some((x) => x.name === 'SBQQ__Priority__c'));
  assert.deepEqual(acct.childRelationships.find((r) => r.childSObject === 'SBQQ__Quote__c'), { ...acct.childRelationships.find((r) => r.childSObject === 'SBQQ__Quote__c'), field: 'SBQQ__Account__c', relationshipName: 'SBQQ__Quotes__r' });
  org.close();
});

test('namespaced records through REST, upsert by a namespaced external ID, and SOQL across namespaced relationships', async () => {
  const org = await testOrg({ objects: schemaFromData(SCHEMA) });
  const acct = (await (await org.api('/sobjects/Account', { method: 'POST', json: { Name: 'Acme', SBQQ__Priority__c: 'High' } })).json()) as { id: string };
  const quote = await org.api('/sobjects/SBQQ__Quote__c/SBQQ__Key__c/Q-1', { method: 'PATCH', json: { SBQQ__Account__c: acct.id, SBQQ__NetAmount__c: 1200.5 } });
  assert.equal(quote.status, 201, await quote.clone().text());
  const { id: quoteId } = (await quote.json()) as { id: string };
  const line = await org.api('/sobjects/SBQQ__QuoteLine__c', { method: 'POST', json: { SBQQ__Quote__c: quoteId } });
  assert.equal(line.status, 201);
  const got = (await (await org.api(`/sobjects/SBQQ__Quote__c/${quoteId}?fields=SBQQ__NetAmount__c,SBQQ__Key__c`)).json()) as Record<string, unknown>;
  assert.deepEqual([got.SBQQ__NetAmount__c, got.SBQQ__Key__c], [1200.5, 'Q-1']);

  const soql = 'SELECT Name, SBQQ__Priority__c, (SELECT SBQQ__Key__c, SBQQ__NetAmount__c FROM SBQQ__Quotes__r) FROM Account';
  const res = await org.api(`/query?q=${encodeURIComponent(soql)}`);
  assert.equal(res.status, 200, await res.clone().text());
  const rec = ((await res.json()) as { records: Record<string, any>[] }).records[0];
  assert.equal(rec.SBQQ__Priority__c, 'High');
  assert.equal(rec.SBQQ__Quotes__r.records[0].SBQQ__Key__c, 'Q-1');
  const lines = (await (await org.api(`/query?q=${encodeURIComponent('SELECT (SELECT Id FROM SBQQ__LineItems__r) FROM SBQQ__Quote__c')}`)).json()) as { records: Record<string, any>[] };
  assert.equal(lines.records[0].SBQQ__LineItems__r.totalSize, 1);
  const up = await org.api(`/query?q=${encodeURIComponent('SELECT SBQQ__Quote__r.SBQQ__Account__r.Name FROM SBQQ__QuoteLine__c WHERE SBQQ__Quote__r.SBQQ__NetAmount__c > 1000')}`);
  const upRec = ((await up.json()) as { records: Record<string, any>[] }).records[0];
  assert.equal(upRec.SBQQ__Quote__r.SBQQ__Account__r.Name, 'Acme');
  org.close();
});

test('names still follow the API-name rules: a namespace needs the custom suffix, and no triple underscores', () => {
  for (const name of ['SBQQ__Quote', 'SBQQ___Quote__c', '__Quote__c', 'SBQQ__Quote__c__c']) {
    assert.throws(() => schemaFromData({ objects: [{ name }] }), /objects\[0\].* › name: an object API name/, name);
  }
  assert.throws(() => schemaFromData({ objects: [{ name: 'X__c', fields: [{ name: 'ns__Amount', type: 'int' }] }] }), /fields\[0\] ns__Amount › name: an API name/);
});

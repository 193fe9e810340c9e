/** SOSL (`/search`) and parameterized search over the emulator's text fields. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testOrg, V, type TestOrg } from '../helpers/emulator.ts';

async function setup(): Promise<{ org: TestOrg; ids: Record<string, string> }> {
  const org = await testOrg();
  const ids: Record<string, string> = {};
  const mk = async (key: string, obj: string, body: Record<string, unknown>) => {
    ids[key] = ((await (await org.api(`/sobjects/${obj}`, { method: 'POST', json: body })).json()) as { id: string }).id;
  };
  await mk('acme', 'Account', { Name: 'Acme Corp', Industry: 'Banking', Phone: '(415) 555-0100' });
  await mk('acmeImports', 'Account', { Name: 'Acme Import Company', Industry: 'Retail', Description: 'acme acme acme' });
  await mk('globex', 'Account', { Name: 'Globex', Description: 'Partner of Acme' });
  await mk('jane', 'Contact', { LastName: 'Doe', FirstName: 'Jane', Email: 'jane.doe@acme.example.com', AccountId: ids.acme });
  await mk('lead', 'Lead', { LastName: 'Acmeson', Company: 'Initech' });
  return { org, ids };
}

const search = async (org: TestOrg, sosl: string) => {
  const res = await org.api(`/search?q=${encodeURIComponent(sosl)}`);
  return { status: res.status, body: (await res.json()) as { searchRecords: Record<string, unknown>[] } | { errorCode: string; message: string }[] };
};
const found = (b: unknown) => (b as { searchRecords: Record<string, unknown>[] }).searchRecords;

test('FIND … RETURNING: fields, WHERE, ORDER BY and LIMIT per object; records in RETURNING order', async () => {
  const { org, ids } = await setup();
  const r = await search(org, "FIND {Acme} IN ALL FIELDS RETURNING Account(Id, Name WHERE Industry != 'Retail' ORDER BY Name), Contact(Email)");
  assert.equal(r.status, 200);
  assert.deepEqual(found(r.body), [
    { attributes: { type: 'Account', url: `${V}/sobjects/Account/${ids.acme}` }, Id: ids.acme, Name: 'Acme Corp' },
    { attributes: { type: 'Account', url: `${V}/sobjects/Account/${ids.globex}` }, Id: ids.globex, Name: 'Globex' },
    { attributes: { type: 'Contact', url: `${V}/sobjects/Contact/${ids.jane}` }, Email: 'jane.doe@acme.example.com' },
  ]);
  // Without ORDER BY, the record matching the term most often comes first; LIMIT per object.
  const ranked = await search(org, 'FIND {acme} RETURNING Account(Name LIMIT 2)');
  assert.deepEqual(found(ranked.body).map((x) => x.Name), ['Acme Import Company', 'Acme Corp']);
  org.close();
});

test('terms: phrases, wildcards, AND / OR / AND NOT, scopes (NAME, EMAIL, PHONE by digits)', async () => {
  const { org, ids } = await setup();
  const names = async (sosl: string) => found((await search(org, sosl)).body).map((x) => x.Id);
  assert.deepEqual(await names('FIND {"Import Company"} RETURNING Account'), [ids.acmeImports]);
  assert.deepEqual(await names('FIND {Acme*} IN NAME FIELDS RETURNING Account(Id ORDER BY Name), Lead'), [ids.acme, ids.acmeImports, ids.lead]);
  assert.deepEqual(await names('FIND {Acme AND NOT Import} IN NAME FIELDS RETURNING Account'), [ids.acme]);
  assert.deepEqual(await names('FIND {Globex OR Initech} RETURNING Account, Lead'), [ids.globex, ids.lead]);
  assert.deepEqual(await names('FIND {jane.doe@acme.example.com} IN EMAIL FIELDS RETURNING Contact'), [ids.jane]);
  assert.deepEqual(await names('FIND {4155550100} IN PHONE FIELDS RETURNING Account'), [ids.acme]);
  // No RETURNING: every searchable object, Ids only.
  const all = found((await search(org, 'FIND {Initech}')).body);
  assert.deepEqual(all, [{ attributes: { type: 'Lead', url: `${V}/sobjects/Lead/${ids.lead}` }, Id: ids.lead }]);
  org.close();
});

test('SOSL errors: braces, short terms, unknown objects and fields', async () => {
  const { org } = await setup();
  assert.deepEqual(await search(org, 'FIND Acme'), { status: 400, body: [{ message: 'No search term found. The search term must be enclosed in braces.', errorCode: 'MALFORMED_SEARCH' }] });
  assert.deepEqual(await search(org, 'FIND {a}'), { status: 400, body: [{ message: 'search term must be longer than one character', errorCode: 'MALFORMED_SEARCH' }] });
  const t = await search(org, 'FIND {Acme} RETURNING Nope__c');
  assert.equal(t.status, 400);
  assert.equal((t.body as { errorCode: string }[])[0].errorCode, 'INVALID_TYPE');
  const f = await search(org, 'FIND {Acme} RETURNING Account(Nope)');
  assert.equal((f.body as { errorCode: string }[])[0].errorCode, 'INVALID_FIELD');
  org.close();
});

test('parameterizedSearch: GET parameters and POST body', async () => {
  const { org, ids } = await setup();
  // In ALL fields the Import company's description ranks it first; LIMIT 1 keeps it alone.
  const get = (await (await org.api('/parameterizedSearch?q=Acme&sobject=Account&Account.fields=Id,Name&Account.limit=1&in=ALL')).json()) as { searchRecords: Record<string, unknown>[] };
  assert.deepEqual(get.searchRecords, [{ attributes: { type: 'Account', url: `${V}/sobjects/Account/${ids.acmeImports}` }, Id: ids.acmeImports, Name: 'Acme Import Company' }]);
  const post = await org.api('/parameterizedSearch', { method: 'POST', json: { q: 'Acme', fields: ['Name'], sobjects: [{ name: 'Account', where: "Industry = 'Banking'" }, { name: 'Contact', fields: ['LastName'] }], in: 'ALL', overallLimit: 10 } });
  assert.deepEqual(((await post.json()) as { searchRecords: Record<string, unknown>[] }).searchRecords.map((r) => [(r.attributes as { type: string }).type, r.Name ?? r.LastName]), [['Account', 'Acme Corp'], ['Contact', 'Doe']]);
  const missing = await org.api('/parameterizedSearch');
  assert.deepEqual([missing.status, await missing.json()], [400, [{ message: 'No search term found: the q parameter is required.', errorCode: 'MALFORMED_SEARCH' }]]);
  org.close();
});

/**
 * The OData producer inside `sfbridge serve`: a source over the mirror the service's own sync pipeline fills,
 * authenticated with the service's API tokens (`auth: service`), answering 503 with the fix until the table
 * exists, and outside the service's session/CSRF rules (its sources check their own credentials).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { harness, until, type Harness } from './helpers.ts';

describe('sfbridge serve: OData for Salesforce Connect', () => {
  let h: Harness;
  before(async () => {
    h = await harness({
      seed: 'Account=30',
      start: false,
      pipelines: [{ name: 'accounts', kind: 'sync', connection: 'emu', standard_objects_to_sync: ['Account'], schedule: { cron: '0 3 * * *' }, lag: 0 }],
      odata: { sources: { crm: { auth: 'service', entity_sets: [{ table: 'Account', index: ['Name'] }] } } },
    });
  });
  after(() => h.close());

  const odata = (path: string, headers: Record<string, string> = { authorization: `Bearer ${h.token}` }) => h.app.request(`http://127.0.0.1:8080/odata/v4/crm/${path}`, { headers });

  it('before the first sync the source answers 503 naming the fix; then it serves the mirror', async () => {
    const early = await odata('Account');
    assert.equal(early.status, 503);
    assert.match(((await early.json()) as { error: { message: string } }).error.message, /no table Account in the store: sync the object first \(sfbridge sync --objects Account\)/);
    await h.service.start();
    await until(async () => (await h.service.listRuns({ pipeline: 'accounts' }))[0]?.status === 'succeeded', 15_000, 'the first sync');
    const res = await odata(`Account?$select=Id,Name&$orderby=Name&$top=5&$count=true`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { '@odata.count': number; value: { Id: string; Name: string }[] };
    assert.equal(body['@odata.count'], 30);
    const soql = await h.emu.request(`/services/data/v62.0/query?q=${encodeURIComponent('SELECT Id, Name FROM Account ORDER BY Name, Id LIMIT 5')}`, { headers: { authorization: `Bearer ${await emuToken(h)}` } });
    const expected = ((await soql.json()) as { records: { Id: string; Name: string }[] }).records.map((r) => [r.Id, r.Name]);
    assert.deepEqual(body.value.map((r) => [r.Id, r.Name]), expected);
  });

  it("auth: service takes the service's API tokens and nothing else", async () => {
    assert.equal((await odata('Account', {})).status, 401);
    const wrong = await odata('Account', { authorization: 'Bearer not-a-token-of-this-service' });
    assert.equal(wrong.status, 401);
    assert.equal(((await wrong.json()) as { error: { code: string } }).error.code, 'Unauthorized', 'the OData error shape, not the API one');
    assert.equal((await odata('$metadata')).status, 200);
  });
});

async function emuToken(h: Harness): Promise<string> {
  const res = await h.emu.request('/services/oauth2/token', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'client_credentials', client_id: h.emu.org.clientId, client_secret: h.emu.org.clientSecret }) });
  return ((await res.json()) as { access_token: string }).access_token;
}

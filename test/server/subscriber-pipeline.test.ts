/**
 * A sync pipeline as a subscriber through the service's API: `where:`, relationship paths, an inbound
 * transform and a page size in a pipeline created with PUT, run now, the mirror checked row by row; the
 * OpenAPI document describes the keys and stays valid; bad keys are refused with the field named; a
 * connection's proxy password is write-only.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { harness, until, type Harness } from './helpers.ts';

describe('sync pipelines as subscribers (API)', () => {
  let h: Harness;
  let ids: string[];
  before(async () => {
    h = await harness({ seed: 'none' });
    const c = await (await import('../engine/helpers.ts')).clientFor(h.emu, { governor: false });
    const accounts = await c.collections.create(['Banking', 'Retail', 'Banking'].map((Industry, i) => ({ attributes: { type: 'Account' }, Name: `Firm ${i}`, Industry })));
    const contacts = await c.collections.create(accounts.flatMap((a, i) => [0, 1].map((j) => ({ attributes: { type: 'Contact' }, LastName: `Person ${i}-${j}`, AccountId: a.id }))));
    ids = contacts.map((r) => r.id!);
  });
  after(() => h.close());

  it('the OpenAPI document describes where:, transform:, page_size and proxy, and is valid', async () => {
    const doc = (await h.api('/api/v1/openapi.json')).body;
    const result = await new Validator().validate(doc);
    assert.equal(result.valid, true, JSON.stringify(result.errors));
    const text = JSON.stringify(doc);
    for (const key of ['"where"', '"transform"', '"page_size"', '"proxy"', '"proxy_password"']) assert.ok(text.includes(key), key);
  });

  it('a pipeline created through the API mirrors the filtered, shaped records', async () => {
    const created = await h.api('/api/v1/pipelines/banking-contacts', {
      method: 'PUT',
      json: {
        kind: 'sync', connection: 'emu', standard_objects_to_sync: ['Contact'], schedule: '1h', lag: 0,
        objects: {
          Contact: {
            where: "Account.Industry = 'Banking'",
            fields: { include: ['LastName', 'Account.Name', 'Owner.Email'] },
            transform: { rename: { Account_Name: 'Company' }, expressions: { Display: '{{LastName}} at {{Account_Name}}' } },
            page_size: 200,
          },
        },
      },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await until(async () => (await h.service.listRuns({ pipeline: 'banking-contacts' }))[0]?.status === 'succeeded', 15_000, 'the first run');
    const store = await h.service.store(h.service.storeUrl);
    assert.deepEqual((await store.describeTable('Contact'))!.map((s) => s.name), ['Id', 'SystemModstamp', 'IsDeleted', 'LastName', 'Company', 'Owner_Email', 'Display']);
    const mirrored: string[] = [];
    for await (const id of store.listIds('Contact')) mirrored.push(id);
    assert.deepEqual(mirrored.sort(), [ids[0], ids[1], ids[4], ids[5]].sort());
    const row = (await store.getRecord('Contact', ids[4]))!;
    assert.equal(row.Company, 'Firm 2');
    assert.equal(row.Display, 'Person 2-0 at Firm 2');
    assert.equal(row.Owner_Email, 'admin@emulator.sfbridge.dev');
  });

  it('bad per-object keys are refused with the field named', async () => {
    const bad = await h.api('/api/v1/pipelines/x', { method: 'PUT', json: { kind: 'sync', connection: 'emu', standard_objects_to_sync: ['Lead'], objects: { Lead: { where: "Status = 'Open' ORDER BY Name" } } } });
    assert.equal(bad.status, 400);
    assert.match(JSON.stringify(bad.body), /objects\.Lead\.where: only a condition is allowed, found ORDER BY/);
    const bad2 = await h.api('/api/v1/pipelines/x', { method: 'PUT', json: { kind: 'sync', connection: 'emu', standard_objects_to_sync: ['Lead'], objects: { Lead: { transform: { drop: ['SystemModstamp'] } } } } });
    assert.equal(bad2.status, 400);
    assert.match(JSON.stringify(bad2.body), /SystemModstamp is kept as it is/);
  });

  it("a connection's proxy password is write-only and sealed", async () => {
    const put = await h.api('/api/v1/connections/behind-proxy', { method: 'PUT', json: { kind: 'client_credentials', domain: 'acme', client_id: 'cid', client_secret: 'x', proxy: 'http://svc@proxy.corp:3128', proxy_password: 'pr0xy-pw' } });
    assert.equal(put.status, 201, JSON.stringify(put.body));
    assert.deepEqual(put.body.secrets_set.sort(), ['client_secret', 'proxy_password']);
    assert.equal(put.body.settings.proxy, 'http://svc@proxy.corp:3128');
    assert.ok(!JSON.stringify(put.body).includes('pr0xy-pw'));
    const row = await h.service.state.getConnection('behind-proxy');
    assert.ok(!JSON.stringify(row).includes('pr0xy-pw'), 'sealed at rest');
    const inUrl = await h.api('/api/v1/connections/leaky', { method: 'PUT', json: { kind: 'client_credentials', domain: 'acme', client_id: 'cid', proxy: 'http://svc:pw@proxy.corp:3128' } });
    assert.equal(inUrl.status, 400);
    assert.match(JSON.stringify(inUrl.body), /put the proxy password in proxy_password/);
  });
});

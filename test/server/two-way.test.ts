/**
 * Two-way sync in `sfbridge serve`: a sync pipeline with a writable object sends the application's change
 * to Salesforce; a record edited on both sides shows up as a conflict, with both versions, in
 * `GET /api/v1/two-way` (checked against the OpenAPI document) and on the dashboard's Two-way page.
 */
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { DatabaseSync } from 'node:sqlite';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { SalesforceClient } from '../../src/client/index.ts';
import { harness, until, type Harness } from './helpers.ts';

async function collect(client: SalesforceClient, soql: string): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for await (const r of client.query(soql)) out.push(r as Record<string, unknown>);
  return out;
}

describe('two-way sync in the service', () => {
  let h: Harness;
  let db: string;
  before(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sfb-two-way-'));
    db = join(dir, 'crm.db');
    h = await harness({
      seed: 'Account=3',
      pipelines: [{ name: 'crm', kind: 'sync', connection: 'emu', store: `sqlite:${db}`, standard_objects_to_sync: ['Account'], objects: { Account: { writable: true } }, schedule: '1h', lag: '0s' }],
    });
    await until(async () => (await h.service.listRuns({ pipeline: 'crm' }))[0]?.finishedAt, 15_000, 'the first sync run');
  });
  after(() => h.close());

  const run = async () => {
    const before = (await h.service.listRuns({ pipeline: 'crm' })).length;
    await h.service.runNow('crm');
    await until(async () => {
      const runs = await h.service.listRuns({ pipeline: 'crm' });
      return runs.length > before && runs[0].finishedAt;
    }, 15_000, 'the sync run');
    const [latest] = await h.service.listRuns({ pipeline: 'crm' });
    assert.equal(latest.status, 'succeeded', latest.error ?? '');
  };

  it('sends the application\'s change, and reports a conflict with both versions in the API and the dashboard', async () => {
    const app = new DatabaseSync(db);
    const client = await h.service.connections.client('emu');
    try {
      const [a, b] = (app.prepare('SELECT "Id" FROM "Account" ORDER BY "Id"').all() as { Id: string }[]).map((r) => r.Id);
      app.prepare('UPDATE "Account" SET "Phone" = ? WHERE "Id" = ?').run('555-0199', a);
      await client.update('Account', b, { Industry: 'Retail' });
      app.prepare('UPDATE "Account" SET "Industry" = ? WHERE "Id" = ?').run('Energy', b);
      await run();
      assert.equal((await client.retrieve<{ Phone: string }>('Account', a, ['Phone'])).Phone, '555-0199');

      const res = await h.api('/api/v1/two-way');
      assert.equal(res.status, 200);
      assert.deepEqual(res.body.objects, [{ object: 'Account', counts: { pending: 0, succeeded: 1, failed: 0, superseded: 1, skipped: 0 } }]);
      assert.equal(res.body.conflicts.length, 1);
      const [c] = res.body.conflicts;
      assert.deepEqual([c.object, c.record_id, c.policy, c.winner, c.fields], ['Account', b, 'salesforce_wins', 'salesforce', ['Industry']]);
      assert.equal(c.local.Industry, 'Energy');
      assert.equal(c.remote.Industry, 'Retail');
      assert.equal((await h.api('/api/v1/two-way?object=Contact')).body.conflicts.length, 0);
      assert.deepEqual(res.body.changes.map((x: { op: string; record_id: string; fields: string[]; state: string }) => [x.op, x.record_id, x.fields, x.state]), [['update', b, ['Industry'], 'superseded'], ['update', a, ['Phone'], 'succeeded']]);
      const metrics = await (await h.app.request('/metrics', { headers: { authorization: `Bearer ${h.token}` } })).text();
      assert.match(metrics, /sfbridge_two_way_changes\{object="Account",state="succeeded"\} 1/);
      assert.match(metrics, /sfbridge_two_way_changes\{object="Account",state="superseded"\} 1/);

      const s = await h.login();
      const anon = await h.app.request('/two-way');
      assert.equal(anon.status, 303);
      const page = await (await h.app.request('/two-way', { headers: { cookie: s.cookie } })).text();
      assert.match(page, /<h1 id="two-way">Two-way sync<\/h1>/);
      assert.match(page, /<a href="\/two-way" aria-current="page">Two-way<\/a>/);
      assert.match(page, new RegExp(`Account <code>${b}</code>`));
      assert.match(page, /<th scope="row">Industry<\/th><td>Energy<\/td><td>Retail<\/td>/);
      assert.match(page, /Salesforce&#39;s version/);
      assert.match(page, new RegExp(`<td>update Account <code>${a}</code></td>\\s*<td>Phone</td>\\s*<td data-k="state">succeeded</td>`));
      assert.doesNotMatch(page, /\sstyle="/);
    } finally {
      app.close();
    }
  });

  it('writes rows over HTTP (the outbox API): insert, update and delete reach Salesforce, the insert gets its Id; bad writes are refused', async () => {
    const client = await h.service.connections.client('emu');
    const created = await h.api('/api/v1/two-way/Account', { method: 'POST', json: { values: { Name: 'Over HTTP', Industry: 'Media' } } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.match(created.body.id, /^new-[0-9a-f]{14}$/);
    const app = new DatabaseSync(db);
    const ids = (app.prepare('SELECT "Id" FROM "Account" WHERE "Id" NOT LIKE ? ORDER BY "Id"').all('new-%') as { Id: string }[]).map((r) => r.Id);
    app.close();
    const [first, , third] = ids;
    assert.equal((await h.api(`/api/v1/two-way/account/${first}`, { method: 'PATCH', json: { values: { Phone: '555-0300' } } })).status, 200);
    assert.equal((await h.api(`/api/v1/two-way/Account/${third}`, { method: 'DELETE' })).status, 200);
    await run();
    const [made] = await collect(client, "SELECT Id, Industry FROM Account WHERE Name = 'Over HTTP'");
    assert.equal(made?.Industry, 'Media');
    const check = new DatabaseSync(db);
    try {
      assert.equal((check.prepare('SELECT COUNT(*) AS n FROM "Account" WHERE "Id" = ?').get(String(made.Id)) as { n: number }).n, 1, 'the row carries the Salesforce Id');
    } finally {
      check.close();
    }
    assert.equal((await client.retrieve<{ Phone: string }>('Account', first, ['Phone'])).Phone, '555-0300');
    assert.equal((await collect(client, `SELECT Id FROM Account WHERE Id = '${third}'`)).length, 0);

    const refusals: Array<[string, RequestInit & { json?: unknown }, number, RegExp]> = [
      ['/api/v1/two-way/Contact', { method: 'POST', json: { values: { LastName: 'x' } } }, 404, /no sync pipeline has Contact writable: set objects\.Contact\.writable: true/],
      ['/api/v1/two-way/Account', { method: 'POST', json: { values: { Nmae: 'x' } } }, 400, /Nmae/],
      ['/api/v1/two-way/Account', { method: 'POST', json: { values: { _sfbridge_deleted: true } } }, 400, /sfbridge's own column/],
      [`/api/v1/two-way/Account/${first}`, { method: 'PATCH', json: { values: { Id: '001000000000000AAA' } } }, 400, /Id of a Account row cannot change/],
      ['/api/v1/two-way/Account/001000000000404AAA', { method: 'PATCH', json: { values: { Phone: '1' } } }, 404, /no row 001000000000404AAA/],
      ['/api/v1/two-way/Account/001000000000404AAA', { method: 'DELETE' }, 404, /no row/],
    ];
    for (const [path, init, status, message] of refusals) {
      const r = await h.api(path, init);
      assert.equal(r.status, status, `${path}: ${JSON.stringify(r.body)}`);
      assert.match(r.body.error.message, message, path);
    }
  });
});


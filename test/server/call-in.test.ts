/**
 * Remote call-in: records written into Salesforce through sfbridge, with Idempotency-Key semantics (same key
 * and body → the stored result; another body → 422; 20 concurrent duplicates → one write), async 202 with a
 * status URL, per-record errors, and tokens scoped to objects and operations.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { clientFor } from '../engine/helpers.ts';
import { harness, type Harness } from './helpers.ts';

describe('sfbridge serve: remote call-in', () => {
  let h: Harness;
  before(async () => {
    h = await harness();
  });
  after(() => h.close());

  const call = (object: string, json: unknown, opts: { key?: string; token?: string; query?: string } = {}) =>
    h.api(`/api/v1/call-in/${object}${opts.query ?? ''}`, { method: 'POST', json, headers: { ...(opts.key ? { 'idempotency-key': opts.key } : {}), ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) } });

  it('writes records and returns per-record results; a repeated key returns the stored result', async () => {
    const body = { operation: 'create', records: [{ LastName: 'Call-In-One' }, { LastName: 'Call-In-Two', Email: 'two@example.com' }] };
    const first = await call('Contact', body, { key: 'k-1' });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.status, 'succeeded');
    assert.equal(first.body.replayed, false);
    assert.equal(first.body.results.length, 2);
    assert.ok(first.body.results.every((r: { success: boolean; created: boolean; id: string }) => r.success && r.created && /^003/.test(r.id)));
    const again = await call('Contact', body, { key: 'k-1' });
    assert.equal(again.status, 200);
    assert.equal(again.body.replayed, true);
    assert.equal(again.res.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(again.body.results, first.body.results);
    const c = clientFor(h.emu, { governor: false });
    assert.equal((await c.query("SELECT Id FROM Contact WHERE LastName LIKE 'Call-In-%'").toArray()).length, 2);
    const other = await call('Contact', { ...body, records: [{ LastName: 'Different' }] }, { key: 'k-1' });
    assert.equal(other.status, 422);
    assert.equal(other.body.error.code, 'IDEMPOTENCY_KEY_REUSED');
  });

  it('20 concurrent duplicates with one key make exactly one Salesforce write', async () => {
    const body = { operation: 'create', record: { LastName: 'Concurrent-Key' } };
    const all = await Promise.all(Array.from({ length: 20 }, () => call('Contact', body, { key: 'same-key-20' })));
    assert.ok(all.every((r) => r.status === 200 && r.body.status === 'succeeded'), JSON.stringify(all.map((r) => r.status)));
    assert.equal(new Set(all.map((r) => r.body.results[0].id)).size, 1, 'one record id for all');
    assert.equal(all.filter((r) => !r.body.replayed).length, 1, 'one original, 19 replays');
    const c = clientFor(h.emu, { governor: false });
    assert.equal((await c.query("SELECT Id FROM Contact WHERE LastName = 'Concurrent-Key'").toArray()).length, 1);
  });

  it('reports refused records per record, refuses malformed requests, answers 202 with a status URL when asked not to wait', async () => {
    const bad = await call('Contact', { operation: 'create', records: [{ LastName: 'Fine-Record' }, { FirstName: 'No last name' }] }, { key: 'k-mixed' });
    assert.equal(bad.status, 200);
    assert.equal(bad.body.status, 'failed');
    assert.equal(bad.body.results[0].success, true);
    assert.equal(bad.body.results[1].success, false);
    assert.equal(bad.body.results[1].errors[0].code, 'REQUIRED_FIELD_MISSING');
    const queued = await call('Contact', { operation: 'create', record: { LastName: 'Async-One' } }, { key: 'k-async', query: '?wait=0' });
    assert.equal(queued.status, 202);
    assert.equal(queued.body.status_url, `/api/v1/call-in/requests/${queued.body.id}`);
    let status;
    for (let i = 0; i < 100; i++) {
      status = await h.api(queued.body.status_url);
      if (status.body.status !== 'pending') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(status!.body.status, 'succeeded');
    const upsertNoField = await call('Contact', { operation: 'upsert', record: { LastName: 'x' } });
    assert.equal(upsertNoField.status, 400);
    assert.match(upsertNoField.body.error.message, /external_id_field/);
    const updateNoId = await call('Contact', { operation: 'update', records: [{ LastName: 'x' }] });
    assert.equal(updateNoId.status, 400);
    assert.match(updateNoId.body.error.message, /records\[0\]: update needs the record's Id/);
  });

  it('scoped tokens write only what their scopes name and reach nothing else', async () => {
    const { token } = await h.auth.createToken(`erp-${Date.now()}`, { scopes: ['call-in:Account:create,upsert'] });
    const ok = await call('Account', { operation: 'create', record: { Name: 'Scoped Co' } }, { token });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    const del = await call('Account', { operation: 'delete', record: { Id: ok.body.results[0].id } }, { token });
    assert.equal(del.status, 403);
    assert.match(del.body.error.message, /may not delete Account/);
    const contact = await call('Contact', { operation: 'create', record: { LastName: 'x' } }, { token });
    assert.equal(contact.status, 403);
    const pipelines = await h.api('/api/v1/pipelines', { headers: { authorization: `Bearer ${token}` } });
    assert.equal(pipelines.status, 403);
    assert.match(pipelines.body.error.message, /scoped to call-in:Account:create,upsert/);
    // Another token's request is not visible to a scoped token.
    const mine = await h.api(`/api/v1/call-in/requests/${ok.body.id}`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(mine.status, 200);
    const theirs = await call('Contact', { operation: 'create', record: { LastName: 'Unscoped' } });
    assert.equal((await h.api(`/api/v1/call-in/requests/${theirs.body.id}`, { headers: { authorization: `Bearer ${token}` } })).status, 404);
  });
});

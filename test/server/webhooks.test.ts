/**
 * Webhooks into the service: signatures (generic HMAC with a timestamp, Stripe, GitHub), replay refusal by
 * timestamp, dedupe by event id, 202 after the durable write, and delivery into Salesforce through the
 * publisher exactly once.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { clientFor } from '../engine/helpers.ts';
import { harness, until, type Harness } from './helpers.ts';

const SECRET = 'whsec_test_0123456789';
const hex = (text: string) => createHmac('sha256', SECRET).update(text).digest('hex');

describe('sfbridge serve: webhooks', () => {
  let h: Harness;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sfbridge-hooks-'));
    h = await harness({
      env: { HOOK_SECRET: SECRET },
      pipelines: [
        {
          name: 'signups',
          kind: 'webhook',
          connection: 'emu',
          signature: { scheme: 'hmac-sha256', header: 'X-Signature', timestamp_header: 'X-Timestamp', secret_env: 'HOOK_SECRET', tolerance: '5m' },
          event_id: { header: 'X-Event-Id' },
          records: 'data.people',
          transform: { rename: { first: 'FirstName', last: 'LastName' } },
          target: { salesforce: { object: 'Contact', operation: 'insert' } },
        },
        { name: 'stripe', kind: 'webhook', connection: 'emu', signature: { scheme: 'stripe', secret_env: 'HOOK_SECRET' }, event_id: { path: 'id' }, target: { queue: { kind: 'jsonl', url: join(dir, 'stripe.jsonl') } } },
        { name: 'github', kind: 'webhook', connection: 'emu', signature: { scheme: 'github', secret_env: 'HOOK_SECRET' }, event_id: { header: 'X-GitHub-Delivery' }, target: { queue: { kind: 'jsonl', url: join(dir, 'gh.jsonl') } } },
        { name: 'nosecret', kind: 'webhook', connection: 'emu', signature: { secret_env: 'UNSET_SECRET_X' }, event_id: { path: 'id' }, target: { queue: { kind: 'jsonl', url: join(dir, 'x.jsonl') } } },
      ],
    });
  });
  after(async () => {
    await h.close();
    await rm(dir, { recursive: true, force: true });
  });

  const signed = (body: string, opts: { id?: string; ts?: number; sig?: string } = {}) => {
    const ts = String(opts.ts ?? Math.floor(Date.now() / 1000));
    return h.app.request('/inbound/webhooks/signups', { method: 'POST', headers: { 'content-type': 'application/json', 'x-timestamp': ts, 'x-signature': opts.sig ?? hex(`${ts}.${body}`), ...(opts.id ? { 'x-event-id': opts.id } : {}) }, body });
  };

  it('accepts a signed event with 202, answers a repeat as a duplicate, and writes Salesforce once', async () => {
    const body = JSON.stringify({ data: { people: [{ first: 'Ada', last: 'Lovelace-Hook' }, { first: 'Alan', last: 'Turing-Hook' }] } });
    const first = await signed(body, { id: 'evt_1' });
    assert.equal(first.status, 202);
    const accepted = await first.json();
    assert.equal(accepted.status, 'accepted');
    const state = await (await h.service.store(h.service.storeUrl)).serviceState();
    assert.ok(await state.getInbox(accepted.id), 'written before the answer');
    const repeat = await signed(body, { id: 'evt_1' });
    assert.equal(repeat.status, 200);
    assert.equal((await repeat.json()).status, 'duplicate');
    await until(async () => (await state.getInbox(accepted.id))?.state === 'delivered', 10_000, 'delivery');
    const c = clientFor(h.emu, { governor: false });
    const rows = await c.query("SELECT FirstName, LastName FROM Contact WHERE LastName LIKE '%-Hook' ORDER BY LastName").toArray();
    assert.deepEqual(rows.map((r) => `${r.FirstName} ${r.LastName}`), ['Ada Lovelace-Hook', 'Alan Turing-Hook']);
    const runs = await h.service.listRuns({ pipeline: 'signups' });
    assert.ok(runs.some((r) => r.trigger === 'inbound' && r.status === 'succeeded'));
  });

  it('refuses a bad signature, a stale timestamp, a missing event id, non-JSON and a missing secret', async () => {
    const body = '{"data":{"people":[{"last":"X"}]}}';
    const bad = await signed(body, { id: 'evt_2', sig: hex('something else') });
    assert.equal(bad.status, 401);
    assert.equal((await bad.json()).error.code, 'BAD_SIGNATURE');
    const ts = Math.floor(Date.now() / 1000) - 3600;
    const stale = await signed(body, { id: 'evt_3', ts });
    assert.equal(stale.status, 401);
    const staleBody = await stale.json();
    assert.equal(staleBody.error.code, 'STALE_TIMESTAMP');
    assert.match(staleBody.error.message, /replays are refused/);
    const noId = await signed(body);
    assert.equal(noId.status, 400);
    assert.match((await noId.json()).error.message, /no event id at header X-Event-Id/);
    const notJson = await signed('not json', { id: 'evt_4' });
    assert.equal(notJson.status, 400);
    assert.equal((await notJson.json()).error.code, 'INVALID_JSON');
    const missing = await h.app.request('/inbound/webhooks/nosecret', { method: 'POST', headers: { 'x-signature': 'x' }, body: '{"id":1}' });
    assert.equal(missing.status, 503);
    assert.match((await missing.json()).error.message, /set the environment variable UNSET_SECRET_X/);
    assert.equal((await h.app.request('/inbound/webhooks/none', { method: 'POST', body: '{}' })).status, 404);
    const state = await (await h.service.store(h.service.storeUrl)).serviceState();
    for (const id of ['evt_2', 'evt_3', 'evt_4']) assert.equal(await state.findInbox('signups', id), undefined, `${id} not written`);
  });

  it('verifies Stripe and GitHub signatures', async () => {
    const body = JSON.stringify({ id: 'evt_stripe_1', type: 'charge.succeeded', data: { object: { id: 'ch_1' } } });
    const t = Math.floor(Date.now() / 1000);
    const ok = await h.app.request('/inbound/webhooks/stripe', { method: 'POST', headers: { 'stripe-signature': `t=${t},v1=${hex(`${t}.${body}`)},v0=ignored` }, body });
    assert.equal(ok.status, 202);
    const wrong = await h.app.request('/inbound/webhooks/stripe', { method: 'POST', headers: { 'stripe-signature': `t=${t},v1=${hex(body)}` }, body });
    assert.equal(wrong.status, 401);
    const gh = JSON.stringify({ action: 'opened' });
    const okGh = await h.app.request('/inbound/webhooks/github', { method: 'POST', headers: { 'x-hub-signature-256': `sha256=${hex(gh)}`, 'x-github-delivery': 'd-1' }, body: gh });
    assert.equal(okGh.status, 202);
    const state = await (await h.service.store(h.service.storeUrl)).serviceState();
    await until(async () => (await state.findInbox('stripe', 'evt_stripe_1'))?.state === 'delivered', 10_000, 'stripe delivered');
  });

  it('refuses a webhook pipeline whose target is not a Salesforce write or a queue', async () => {
    const r = await h.api('/api/v1/pipelines/bad-hook', { method: 'PUT', json: { kind: 'webhook', connection: 'emu', signature: { secret_env: 'X' }, event_id: { path: 'id' }, target: { table: 'x' } } });
    assert.equal(r.status, 400);
    assert.match(r.body.error.message, /target/);
    const store = await h.api('/api/v1/pipelines/bad-hook', { method: 'PUT', json: { kind: 'webhook', connection: 'emu', signature: { secret_env: 'X' }, event_id: { path: 'id' }, target: { queue: { kind: 'store' } } } });
    assert.equal(store.status, 400);
    assert.match(store.body.error.message, /a store sink takes search documents/);
  });
});

/**
 * Transport faults against a scripted real-socket server: drops, 503 + Retry-After, lock-row, budget,
 * non-replay of POST creates, and Retry-After parsing.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { SalesforceClient } from '../../src/client/index.ts';
import { LimitError, SalesforceError, TransportError } from '../../src/client/errors.ts';
import { RetryBudget, parseRetryAfter } from '../../src/client/transport.ts';
import { FAST_RETRY, scriptedServer, type ScriptedServer, type Step } from './helpers/scripted-server.ts';

const V = '/services/data/v62.0';
const servers: ScriptedServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function setup(script: Record<string, Step[]>, opts: { budget?: RetryBudget } = {}) {
  const srv = await scriptedServer(script);
  servers.push(srv);
  const client = new SalesforceClient({
    credentials: { kind: 'accessToken', instanceUrl: srv.url, accessToken: 'tok' },
    governor: false,
    retry: FAST_RETRY,
    budget: opts.budget,
  });
  return { srv, client };
}

const account = { attributes: { type: 'Account' }, Id: '001000000000001AAA', Name: 'Acme' };

describe('transport faults (real sockets)', () => {
  it('retries a GET whose socket dropped mid-response', async () => {
    const { srv, client } = await setup({ [`GET ${V}/sobjects/Account/001000000000001AAA`]: [{ drop: 'mid' }, { json: account }] });
    const rec = await client.retrieve('Account', '001000000000001AAA');
    assert.equal(rec.Name, 'Acme');
    assert.equal(srv.count(`GET ${V}/sobjects/Account/001000000000001AAA`), 2);
  });

  it('retries a GET whose connection closed before any response', async () => {
    const { srv, client } = await setup({ [`GET ${V}/limits`]: [{ drop: 'before' }, { json: { DailyApiRequests: { Max: 10, Remaining: 9 } } }] });
    const limits = await client.limits();
    assert.equal(limits.DailyApiRequests.Max, 10);
    assert.equal(srv.count(`GET ${V}/limits`), 2);
  });

  it('honours 503 + Retry-After, then succeeds', async () => {
    const { srv, client } = await setup({
      [`GET ${V}/sobjects/Account/001000000000001AAA`]: [
        { status: 503, headers: { 'retry-after': '0' }, json: [{ errorCode: 'SERVER_UNAVAILABLE', message: 'down' }] },
        { json: account },
      ],
    });
    assert.equal((await client.retrieve('Account', '001000000000001AAA')).Id, account.Id);
    assert.equal(srv.requests.length, 2);
  });

  it('fails fast when Retry-After exceeds the cap', async () => {
    const { srv, client } = await setup({ [`GET ${V}/limits`]: [{ status: 429, headers: { 'retry-after': '3600' }, json: [{ errorCode: 'REQUEST_LIMIT_EXCEEDED', message: 'slow down' }] }] });
    await assert.rejects(client.limits(), (err: unknown) => err instanceof TransportError && err.code === 'RETRY_AFTER_TOO_LONG' && err.status === 429 && /3600 s/.test(err.message));
    assert.equal(srv.requests.length, 1);
  });

  it('retries UNABLE_TO_LOCK_ROW, even for a POST create', async () => {
    const lock = { status: 400, json: [{ errorCode: 'UNABLE_TO_LOCK_ROW', message: 'unable to obtain exclusive access to this record or 1 records' }] };
    const { srv, client } = await setup({ [`POST ${V}/sobjects/Contact`]: [lock, lock, { status: 201, json: { id: '003000000000001AAA', success: true, errors: [] } }] });
    const res = await client.create('Contact', { LastName: 'Okafor' });
    assert.equal(res.id, '003000000000001AAA');
    assert.equal(srv.requests.length, 3);
    // The body was replayed intact on every attempt.
    assert.ok(srv.requests.every((r) => JSON.parse(r.body).LastName === 'Okafor'));
  });

  it('does not replay a POST create after the response was dropped', async () => {
    const { srv, client } = await setup({ [`POST ${V}/sobjects/Contact`]: [{ drop: 'mid' }, { status: 201, json: { id: 'x', success: true, errors: [] } }] });
    await assert.rejects(client.create('Contact', { LastName: 'Once' }), (err: unknown) => err instanceof TransportError && err.code === 'NETWORK_ERROR' && /may have reached Salesforce/.test(err.message));
    assert.equal(srv.requests.length, 1);
  });

  it('does not replay a POST on 502 (may have executed) but does on 503 (did not)', async () => {
    const bad = (status: number): Step => ({ status, json: [{ errorCode: 'GATEWAY', message: 'gw' }] });
    const a = await setup({ [`POST ${V}/sobjects/Contact`]: [bad(502), { status: 201, json: { id: 'x', success: true, errors: [] } }] });
    await assert.rejects(a.client.create('Contact', { LastName: 'A' }), (err: unknown) => err instanceof SalesforceError && err.status === 502);
    assert.equal(a.srv.requests.length, 1);
    const b = await setup({ [`POST ${V}/sobjects/Contact`]: [bad(503), { status: 201, json: { id: 'y', success: true, errors: [] } }] });
    assert.equal((await b.client.create('Contact', { LastName: 'B' })).id, 'y');
    assert.equal(b.srv.requests.length, 2);
  });

  it('stops with a typed error when the retry budget is exhausted', async () => {
    const budget = new RetryBudget({ capacity: 2, refillPerSecond: 0 });
    const { srv, client } = await setup({ [`GET ${V}/limits`]: [{ status: 503, headers: { 'retry-after': '0' }, json: [{ errorCode: 'SERVER_UNAVAILABLE', message: 'down' }] }] }, { budget });
    await assert.rejects(client.limits(), (err: unknown) => err instanceof TransportError && err.code === 'RETRY_BUDGET_EXHAUSTED' && err.attempts === 3);
    assert.equal(srv.requests.length, 3);
    // The bucket is shared: the next failing call gets no retry at all.
    await assert.rejects(client.limits(), (err: unknown) => err instanceof TransportError && err.code === 'RETRY_BUDGET_EXHAUSTED' && err.attempts === 1);
  });

  it('returns the last error after maxAttempts', async () => {
    const { srv, client } = await setup({ [`GET ${V}/limits`]: [{ status: 504, json: [{ errorCode: 'GATEWAY_TIMEOUT', message: 'slow' }] }] });
    await assert.rejects(client.limits(), (err: unknown) => err instanceof SalesforceError && err.status === 504);
    assert.equal(srv.requests.length, 5);
  });

  it('maps a daily REQUEST_LIMIT_EXCEEDED to LimitError without retrying', async () => {
    const { srv, client } = await setup({ [`GET ${V}/limits`]: [{ status: 403, json: [{ errorCode: 'REQUEST_LIMIT_EXCEEDED', message: 'TotalRequests Limit exceeded.' }] }] });
    await assert.rejects(client.limits(), (err: unknown) => err instanceof LimitError && err.code === 'ORG_LIMIT_EXCEEDED');
    assert.equal(srv.requests.length, 1);
  });

  it('retries a concurrent-request REQUEST_LIMIT_EXCEEDED', async () => {
    const { srv, client } = await setup({ [`GET ${V}/limits`]: [{ status: 403, json: [{ errorCode: 'REQUEST_LIMIT_EXCEEDED', message: 'ConcurrentPerOrgLongTxn Limit exceeded.' }] }, { json: { DailyApiRequests: { Max: 1, Remaining: 1 } } }] });
    await client.limits();
    assert.equal(srv.requests.length, 2);
  });

  it('times out and reports TIMEOUT', async () => {
    const srv = await scriptedServer({ [`GET ${V}/limits`]: [{ hang: true }], [`POST ${V}/sobjects/Contact`]: [{ hang: true }] });
    servers.push(srv);
    const client = new SalesforceClient({ credentials: { kind: 'accessToken', instanceUrl: srv.url, accessToken: 't' }, governor: false, retry: { ...FAST_RETRY, maxAttempts: 2 }, timeoutMs: 50 });
    // Idempotent: retried once, then TIMEOUT.
    await assert.rejects(client.limits(), (err: unknown) => err instanceof TransportError && err.code === 'TIMEOUT' && err.attempts === 2);
    // A create that timed out may have run: not retried.
    await assert.rejects(client.create('Contact', { LastName: 'T' }), (err: unknown) => err instanceof TransportError && err.code === 'TIMEOUT' && err.attempts === 1);
    assert.equal(srv.count(`GET ${V}/limits`), 2);
    assert.equal(srv.count(`POST ${V}/sobjects/Contact`), 1);
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    assert.equal(parseRetryAfter('7'), 7000);
    const now = Date.parse('Tue, 05 Mar 2024 00:00:00 GMT');
    assert.equal(parseRetryAfter('Tue, 05 Mar 2024 00:00:30 GMT', now), 30_000);
    assert.equal(parseRetryAfter('garbage'), undefined);
    assert.equal(parseRetryAfter(null), undefined);
  });

  it('user abort stops a request without retrying', async () => {
    const { client } = await setup({ [`GET ${V}/limits`]: [{ status: 503, headers: { 'retry-after': '4' }, json: [] }] });
    const ac = new AbortController();
    const p = client.limits({ signal: ac.signal });
    setTimeout(() => ac.abort(new Error('stop')), 20);
    await assert.rejects(p, /stop/);
  });
});

/**
 * Request-reply routes over real HTTP remotes: the caller is checked (Salesforce session against the org,
 * JWT, HMAC, static header), the request and reply are mapped, a slow remote times out with REMOTE_TIMEOUT,
 * a failing one opens the circuit (CIRCUIT_OPEN, Retry-After) which recovers after its reset, and the cache
 * answers repeated lookups without calling the remote. Errors share one JSON shape.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { clientFor } from '../engine/helpers.ts';
import { harness, type Harness } from './helpers.ts';

describe('sfbridge serve: request-reply routes', () => {
  let h: Harness;
  let remote: Server;
  let dir: string;
  let hits = 0;
  let failing = false;
  let privateKey: CryptoKey;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sfbridge-reply-'));
    remote = createServer((req, res) => {
      hits++;
      if (req.url?.startsWith('/slow')) {
        setTimeout(() => res.end('{"late":true}'), 2000).unref();
        return;
      }
      if (req.url?.startsWith('/flaky') && failing) {
        res.writeHead(500, { 'content-type': 'application/json' }).end('{"oops":1}');
        return;
      }
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        assert.equal(req.headers.authorization, 'Bearer erp-secret-token', 'the remote gets its own credential');
        const m = /\/credit\/([^/?]+)/.exec(req.url ?? '');
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ account: m ? decodeURIComponent(m[1]) : null, limit: 5000, echoed: body ? JSON.parse(body) : null }));
      });
    });
    await new Promise<void>((r) => remote.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(remote.address() as AddressInfo).port}`;
    const keys = await generateKeyPair('RS256', { extractable: true });
    privateKey = keys.privateKey as CryptoKey;
    const keyFile = join(dir, 'signer.pem');
    await writeFile(keyFile, await exportSPKI(keys.publicKey));
    const remoteBlock = (path: string, extra: Record<string, unknown> = {}) => ({ url: `${base}${path}`, method: 'GET', auth: { bearer_env: 'ERP_TOKEN' }, ...extra });
    h = await harness({
      env: { ERP_TOKEN: 'erp-secret-token', HOOK_KEY: 'k3y', SHARED: 'shh' },
      replyRoutes: {
        credit: { auth: { kind: 'salesforce-session', connection: 'emu' }, remote: remoteBlock('/credit/{{account_number}}'), request: { rename: { AccountNumber: 'account_number' } }, reply: { select: ['limit', 'account'], rename: { limit: 'Credit_Limit__c' } }, cache: { ttl: '1m' } },
        keyed: { auth: { kind: 'header', name: 'X-Api-Key', value_env: 'HOOK_KEY' }, remote: { url: `${base}/echo`, method: 'POST', auth: { bearer_env: 'ERP_TOKEN' } } },
        signed: { auth: { kind: 'hmac', secret_env: 'SHARED', header: 'X-Signature' }, remote: remoteBlock('/credit/x') },
        jwt: { auth: { kind: 'jwt', key: keyFile, issuer: 'salesforce', audience: 'sfbridge' }, remote: remoteBlock('/credit/j') },
        slow: { auth: { kind: 'header', name: 'X-Api-Key', value_env: 'HOOK_KEY' }, remote: remoteBlock('/slow', { timeout: 0.3 }) },
        flaky: { auth: { kind: 'header', name: 'X-Api-Key', value_env: 'HOOK_KEY' }, remote: remoteBlock('/flaky'), circuit: { failures: 3, reset: 0.4 } },
      },
    });
  });
  after(async () => {
    await h.close();
    remote.close();
    await rm(dir, { recursive: true, force: true });
  });

  const call = (route: string, body: unknown, headers: Record<string, string> = {}) => h.app.request(`/inbound/reply/${route}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

  it('checks a Salesforce session against the org, maps request and reply, and caches repeated lookups', async () => {
    const session = await clientFor(h.emu, { governor: false }).session();
    const auth = { authorization: `Bearer ${session.accessToken}` };
    const before = hits;
    const first = await call('credit', { AccountNumber: 'ACME 42' }, auth);
    assert.equal(first.status, 200);
    assert.deepEqual(await first.json(), { Credit_Limit__c: 5000, account: 'ACME 42' });
    assert.equal(first.headers.get('x-sfbridge-cache'), 'miss');
    const second = await call('credit', { AccountNumber: 'ACME 42' }, auth);
    assert.equal(second.headers.get('x-sfbridge-cache'), 'hit');
    assert.equal(hits - before, 1, 'the remote was called once');
    const bad = await call('credit', { AccountNumber: 'x' }, { authorization: 'Bearer 00Dnot-a-session' });
    assert.equal(bad.status, 401);
    assert.deepEqual(Object.keys((await bad.json()).error).sort(), ['code', 'message', 'remote_status', 'retryable']);
    assert.equal((await call('credit', {})).status, 401);
  });

  it('authenticates by static header, HMAC and JWT', async () => {
    assert.equal((await call('keyed', { a: 1 }, { 'x-api-key': 'k3y' })).status, 200);
    assert.equal((await call('keyed', { a: 1 }, { 'x-api-key': 'nope' })).status, 401);
    const body = JSON.stringify({ q: 1 });
    const sig = createHmac('sha256', 'shh').update(body).digest('hex');
    assert.equal((await h.app.request('/inbound/reply/signed', { method: 'POST', headers: { 'x-signature': sig }, body })).status, 200);
    assert.equal((await h.app.request('/inbound/reply/signed', { method: 'POST', headers: { 'x-signature': sig }, body: '{"q":2}' })).status, 401);
    const jwt = await new SignJWT({ sub: 'apex' }).setProtectedHeader({ alg: 'RS256' }).setIssuer('salesforce').setAudience('sfbridge').setIssuedAt().setExpirationTime('2m').sign(privateKey);
    assert.equal((await call('jwt', {}, { authorization: `Bearer ${jwt}` })).status, 200);
    const wrongAud = await new SignJWT({}).setProtectedHeader({ alg: 'RS256' }).setIssuer('salesforce').setAudience('other').setExpirationTime('2m').sign(privateKey);
    const r = await call('jwt', {}, { authorization: `Bearer ${wrongAud}` });
    assert.equal(r.status, 401);
    assert.match((await r.json()).error.message, /JWT is not valid/);
  });

  it('times out a slow remote with REMOTE_TIMEOUT, well before the callout limit', async () => {
    const r = await call('slow', {}, { 'x-api-key': 'k3y' });
    assert.equal(r.status, 504);
    const body = await r.json();
    assert.equal(body.error.code, 'REMOTE_TIMEOUT');
    assert.equal(body.error.retryable, true);
    assert.match(body.error.message, /did not answer within 0.3s/);
  });

  it('opens the circuit after repeated failures and closes it after the reset when the remote recovers', async () => {
    failing = true;
    for (let i = 0; i < 3; i++) {
      const r = await call('flaky', {}, { 'x-api-key': 'k3y' });
      assert.equal(r.status, 502);
      const e = (await r.json()).error;
      assert.equal(e.code, 'REMOTE_ERROR');
      assert.equal(e.remote_status, 500);
    }
    const before = hits;
    const open = await call('flaky', {}, { 'x-api-key': 'k3y' });
    assert.equal(open.status, 503);
    assert.equal((await open.json()).error.code, 'CIRCUIT_OPEN');
    assert.ok(Number(open.headers.get('retry-after')) >= 1);
    assert.equal(hits, before, 'an open circuit does not call the remote');
    failing = false;
    await new Promise((r) => setTimeout(r, 450));
    const recovered = await call('flaky', {}, { 'x-api-key': 'k3y' });
    assert.equal(recovered.status, 200);
    assert.equal((await call('flaky', {}, { 'x-api-key': 'k3y' })).status, 200);
  });

  it('answers an unknown route with the same error shape', async () => {
    const r = await call('nope', {});
    assert.equal(r.status, 404);
    assert.equal((await r.json()).error.code, 'NOT_FOUND');
  });
});

/**
 * OAuth flows beyond the simple grants: authorization code (approve page, PKCE, single-use codes), the
 * user-agent flow, refresh-token rotation, OpenID discovery / JWKS / id_token, and JWT bearer.
 */
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { createLocalJWKSet, jwtVerify, SignJWT } from 'jose';
import { createEmulator, type Emulator, type EmulatorOptions } from '../../src/emulator/app.ts';
import { V } from '../helpers/emulator.ts';

const CERT = readFileSync(new URL('../conformance/fixtures/jwt-test.crt', import.meta.url), 'utf8');
const KEY = readFileSync(new URL('../conformance/fixtures/jwt-test.key', import.meta.url), 'utf8');
const BASE = 'http://127.0.0.1:8484';
const CLIENT = { client_id: 'sfbridge-emulator', client_secret: 'sfbridge-emulator-secret' };
const CALLBACK = 'http://localhost:3000/callback';
const USER = 'admin@emulator.sfbridge.dev';

const post = (emu: Emulator, path: string, o: Record<string, string>) =>
  emu.request(path, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(o) });
const token = (emu: Emulator, o: Record<string, string>) => post(emu, '/services/oauth2/token', o);

function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** The hidden fields of a page's form, as a browser would submit them. */
function hiddenFields(html: string): URLSearchParams {
  const fields = new URLSearchParams();
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) fields.set(m[1], m[2].replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n))));
  return fields;
}

function postAuthorize(emu: Emulator, fields: URLSearchParams): Promise<Response> {
  return emu.request('/services/oauth2/authorize', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: fields });
}

/**
 * Runs the pages as browser automation written for Salesforce does, with plain form posts of the controls'
 * names: the login form (`username`, `pw`, `Login`), then the approve form (`oaapprove` or `oadeny`).
 */
async function approve(emu: Emulator, params: Record<string, string>, action = 'approve', password = 'emulator'): Promise<URL> {
  const page = await emu.request(`/services/oauth2/authorize?${new URLSearchParams({ response_type: 'code', client_id: CLIENT.client_id, redirect_uri: CALLBACK, ...params })}`);
  assert.equal(page.status, 200, await page.clone().text());
  assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
  const html = await page.text();
  assert.match(html, /<form name="login" id="login_form" method="POST"/);
  assert.match(html, /<input type="email" id="username" name="username" value="[^"]*"/);
  assert.match(html, /<input type="password" id="password" name="pw"/);
  assert.match(html, /<input type="submit" id="Login" name="Login" value="Log In">/);
  const fields = hiddenFields(html);
  fields.set('username', USER);
  fields.set('pw', password);
  fields.set('Login', 'Log In');
  const login = await postAuthorize(emu, fields);
  assert.equal(login.status, 200);
  const approvePage = await login.text();
  if (!approvePage.includes('id="oaapprove"')) {
    assert.match(approvePage, /<div id="error" class="loginError" role="alert">Please check your username and password/);
    return new URL('about:blank');
  }
  assert.match(approvePage, /<input type="submit" id="oaapprove" name="oaapprove" value="Allow" class="btn">/);
  assert.match(approvePage, /<input type="submit" id="oadeny" name="oadeny" value="Deny" class="btn">/);
  const decision = hiddenFields(approvePage);
  if (action === 'approve') decision.set('oaapprove', 'Allow');
  else decision.set('oadeny', 'Deny');
  const res = await postAuthorize(emu, decision);
  assert.equal(res.status, 302);
  return new URL(res.headers.get('location')!);
}

function emulator(opts: EmulatorOptions = {}) {
  return createEmulator({ jwtCert: CERT, ...opts });
}

describe('authorization code flow', () => {
  test('approve → code and state on the callback → tokens with a refresh token, no expires_in', async () => {
    const emu = emulator();
    const { verifier, challenge } = pkce();
    const cb = await approve(emu, { state: 'xyz/1', code_challenge: challenge, code_challenge_method: 'S256' });
    assert.equal(cb.origin + cb.pathname, CALLBACK);
    assert.equal(cb.searchParams.get('state'), 'xyz/1');
    const code = cb.searchParams.get('code')!;
    assert.ok(code);
    const res = await token(emu, { grant_type: 'authorization_code', code, redirect_uri: CALLBACK, code_verifier: verifier, ...CLIENT });
    assert.equal(res.status, 200);
    const body = (await res.json()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body).sort(), ['access_token', 'id', 'instance_url', 'issued_at', 'refresh_token', 'scope', 'signature', 'token_type']);
    assert.equal(typeof body.issued_at, 'string');
    assert.equal(body.scope, 'api refresh_token id');
    const api = await emu.request(`${V}/sobjects`, { headers: { authorization: `Bearer ${body.access_token}` } });
    assert.equal(api.status, 200);

    // Single use.
    const again = await token(emu, { grant_type: 'authorization_code', code, redirect_uri: CALLBACK, code_verifier: verifier, ...CLIENT });
    assert.deepEqual(await again.json(), { error: 'invalid_grant', error_description: 'invalid authorization code' });
    emu.close();
  });

  test('deny redirects with access_denied and the state', async () => {
    const emu = emulator();
    const cb = await approve(emu, { state: 's1' }, 'deny');
    assert.equal(cb.searchParams.get('error'), 'access_denied');
    assert.equal(cb.searchParams.get('error_description'), 'end-user denied authorization');
    assert.equal(cb.searchParams.get('state'), 's1');
    assert.equal(cb.searchParams.get('code'), null);
    emu.close();
  });

  test('a wrong password shows the page again, with no redirect', async () => {
    const emu = emulator();
    const cb = await approve(emu, {}, 'approve', 'wrong');
    assert.equal(cb.href, 'about:blank');
    emu.close();
  });

  test('codes expire after 15 minutes; the redirect_uri must match; a secret or a PKCE verifier is required', async () => {
    const emu = emulator();
    const code1 = (await approve(emu, {})).searchParams.get('code')!;
    emu.org.clock.advance(15 * 60_000 + 1);
    assert.deepEqual(await (await token(emu, { grant_type: 'authorization_code', code: code1, redirect_uri: CALLBACK, ...CLIENT })).json(), { error: 'invalid_grant', error_description: 'expired authorization code' });
    const code2 = (await approve(emu, {})).searchParams.get('code')!;
    assert.deepEqual(await (await token(emu, { grant_type: 'authorization_code', code: code2, redirect_uri: 'http://localhost:3000/other', ...CLIENT })).json(), { error: 'redirect_uri_mismatch', error_description: 'redirect_uri must match configuration' });
    const code3 = (await approve(emu, {})).searchParams.get('code')!;
    assert.deepEqual(await (await token(emu, { grant_type: 'authorization_code', code: code3, redirect_uri: CALLBACK, client_id: CLIENT.client_id })).json(), { error: 'invalid_client', error_description: 'invalid client credentials' });
    assert.deepEqual(await (await token(emu, { grant_type: 'authorization_code', code: 'aPrxbogus', redirect_uri: CALLBACK, ...CLIENT })).json(), { error: 'invalid_grant', error_description: 'invalid authorization code' });
    emu.close();
  });

  test('PKCE: a missing verifier is invalid_grant, a wrong one invalid_request; without a secret the verifier suffices', async () => {
    const emu = emulator();
    const { verifier, challenge } = pkce();
    // jsforce sends code_challenge without code_challenge_method: S256 is implied.
    const c1 = (await approve(emu, { code_challenge: challenge })).searchParams.get('code')!;
    const missing = await token(emu, { grant_type: 'authorization_code', code: c1, redirect_uri: CALLBACK, ...CLIENT });
    assert.equal((await missing.json() as { error: string }).error, 'invalid_grant');
    const c2 = (await approve(emu, { code_challenge: challenge })).searchParams.get('code')!;
    const wrong = await token(emu, { grant_type: 'authorization_code', code: c2, redirect_uri: CALLBACK, code_verifier: `${verifier}x`, ...CLIENT });
    assert.equal((await wrong.json() as { error: string }).error, 'invalid_request');
    const c3 = (await approve(emu, { code_challenge: challenge })).searchParams.get('code')!;
    const ok = await token(emu, { grant_type: 'authorization_code', code: c3, redirect_uri: CALLBACK, code_verifier: verifier, client_id: CLIENT.client_id });
    assert.equal(ok.status, 200);
    // `plain` is not accepted (Salesforce documents the challenge as a SHA-256 hash).
    const plain = await emu.request(`/services/oauth2/authorize?${new URLSearchParams({ response_type: 'code', client_id: CLIENT.client_id, redirect_uri: CALLBACK, code_challenge: verifier, code_challenge_method: 'plain', state: 'p' })}`);
    assert.equal(plain.status, 302);
    const loc = new URL(plain.headers.get('location')!);
    assert.equal(loc.searchParams.get('error'), 'invalid_request');
    assert.equal(loc.searchParams.get('state'), 'p');
    emu.close();
  });

  test('unknown clients and unregistered callbacks get an error page, never a redirect', async () => {
    const emu = emulator({ redirectUris: ['https://app.example.com/oauth/callback'] });
    const q = (o: Record<string, string>) => emu.request(`/services/oauth2/authorize?${new URLSearchParams({ response_type: 'code', ...o })}`);
    const badClient = await q({ client_id: 'nope', redirect_uri: 'https://app.example.com/oauth/callback' });
    assert.equal(badClient.status, 400);
    assert.match(await badClient.text(), /invalid_client_id/);
    const badUri = await q({ client_id: CLIENT.client_id, redirect_uri: CALLBACK });
    assert.equal(badUri.status, 400);
    assert.equal(badUri.headers.get('location'), null);
    assert.match(await badUri.text(), /redirect_uri_mismatch/);
    const good = await q({ client_id: CLIENT.client_id, redirect_uri: 'https://app.example.com/oauth/callback' });
    assert.equal(good.status, 200);
    emu.close();
    // Without configured callbacks any loopback http URL is accepted, nothing else.
    const loose = emulator();
    const ext = await loose.request(`/services/oauth2/authorize?${new URLSearchParams({ response_type: 'code', client_id: CLIENT.client_id, redirect_uri: 'https://evil.example.com/cb' })}`);
    assert.equal(ext.status, 400);
    const unsupported = await loose.request(`/services/oauth2/authorize?${new URLSearchParams({ response_type: 'id_token', client_id: CLIENT.client_id, redirect_uri: CALLBACK })}`);
    assert.equal(new URL(unsupported.headers.get('location')!).searchParams.get('error'), 'unsupported_response_type');
    loose.close();
  });

  test('the sf CLI public client (PlatformCLI) logs in with PKCE and no secret on its own callback', async () => {
    const emu = emulator();
    const { verifier, challenge } = pkce();
    const sfCallback = 'http://localhost:1717/OauthRedirect';
    const page = await emu.request(`/services/oauth2/authorize?${new URLSearchParams({ response_type: 'code', client_id: 'PlatformCLI', redirect_uri: sfCallback, code_challenge: challenge, scope: 'refresh_token api web' })}`);
    assert.equal(page.status, 200);
    const form = new URLSearchParams({ response_type: 'code', client_id: 'PlatformCLI', redirect_uri: sfCallback, code_challenge: challenge, scope: 'refresh_token api web', username: USER, password: 'emulator', action: 'approve' });
    const res = await emu.request('/services/oauth2/authorize', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form });
    const code = new URL(res.headers.get('location')!).searchParams.get('code')!;
    const tok = await token(emu, { grant_type: 'authorization_code', code, redirect_uri: sfCallback, client_id: 'PlatformCLI', code_verifier: verifier });
    assert.equal(tok.status, 200);
    const body = (await tok.json()) as Record<string, string>;
    assert.ok(body.refresh_token);
    const refreshed = await token(emu, { grant_type: 'refresh_token', refresh_token: body.refresh_token, client_id: 'PlatformCLI' });
    assert.equal(refreshed.status, 200);
    // Another callback is not registered for PlatformCLI.
    const other = await emu.request(`/services/oauth2/authorize?${new URLSearchParams({ response_type: 'code', client_id: 'PlatformCLI', redirect_uri: CALLBACK, code_challenge: challenge })}`);
    assert.equal(other.status, 400);
    emu.close();
  });

  test('user-agent flow returns the token in the fragment', async () => {
    const emu = emulator();
    const form = new URLSearchParams({ response_type: 'token', client_id: CLIENT.client_id, redirect_uri: CALLBACK, state: 'st', username: USER, password: 'emulator', action: 'approve' });
    const res = await emu.request('/services/oauth2/authorize', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form });
    assert.equal(res.status, 302);
    const loc = new URL(res.headers.get('location')!);
    assert.equal(loc.search, '');
    const frag = new URLSearchParams(loc.hash.slice(1));
    assert.equal(frag.get('token_type'), 'Bearer');
    assert.equal(frag.get('state'), 'st');
    assert.match(frag.get('issued_at')!, /^\d{13}$/);
    const api = await emu.request(`${V}/sobjects`, { headers: { authorization: `Bearer ${frag.get('access_token')}` } });
    assert.equal(api.status, 200);
    emu.close();
  });
});

describe('refresh tokens', () => {
  async function codeTokens(emu: Emulator, scope = 'api refresh_token') {
    const code = (await approve(emu, { scope })).searchParams.get('code')!;
    return (await (await token(emu, { grant_type: 'authorization_code', code, redirect_uri: CALLBACK, ...CLIENT })).json()) as Record<string, string>;
  }

  test('without rotation the refresh response has no refresh_token and the token keeps working', async () => {
    const emu = emulator();
    const t = await codeTokens(emu);
    for (let i = 0; i < 2; i++) {
      const r = await token(emu, { grant_type: 'refresh_token', refresh_token: t.refresh_token, ...CLIENT });
      assert.equal(r.status, 200);
      const body = (await r.json()) as Record<string, string>;
      assert.equal(body.refresh_token, undefined);
      assert.notEqual(body.access_token, t.access_token);
    }
    // The secret may be omitted on refresh; a wrong one is refused.
    assert.equal((await token(emu, { grant_type: 'refresh_token', refresh_token: t.refresh_token, client_id: CLIENT.client_id })).status, 200);
    assert.deepEqual(await (await token(emu, { grant_type: 'refresh_token', refresh_token: t.refresh_token, client_id: CLIENT.client_id, client_secret: 'x' })).json(), { error: 'invalid_client', error_description: 'invalid client credentials' });
    // Revoking the refresh token revokes it and the access tokens issued from it.
    assert.equal((await post(emu, '/services/oauth2/revoke', { token: t.refresh_token })).status, 200);
    assert.deepEqual(await (await token(emu, { grant_type: 'refresh_token', refresh_token: t.refresh_token, ...CLIENT })).json(), { error: 'invalid_grant', error_description: 'expired access/refresh token' });
    emu.close();
  });

  test('with rotateRefreshTokens each refresh returns a new refresh token and retires the old one', async () => {
    const emu = emulator({ rotateRefreshTokens: true });
    const t = await codeTokens(emu);
    const r1 = (await (await token(emu, { grant_type: 'refresh_token', refresh_token: t.refresh_token, ...CLIENT })).json()) as Record<string, string>;
    assert.ok(r1.refresh_token);
    assert.notEqual(r1.refresh_token, t.refresh_token);
    assert.deepEqual(await (await token(emu, { grant_type: 'refresh_token', refresh_token: t.refresh_token, ...CLIENT })).json(), { error: 'invalid_grant', error_description: 'expired access/refresh token' });
    const r2 = await token(emu, { grant_type: 'refresh_token', refresh_token: r1.refresh_token, ...CLIENT });
    assert.equal(r2.status, 200);
    // The access token issued before the rotation stays valid until it expires.
    assert.equal((await emu.request(`${V}/sobjects`, { headers: { authorization: `Bearer ${r1.access_token}` } })).status, 200);
    emu.close();
  });

  test('scope without refresh_token gets no refresh token', async () => {
    const emu = emulator();
    const t = await codeTokens(emu, 'api');
    assert.equal(t.refresh_token, undefined);
    emu.close();
  });
});

describe('OpenID Connect', () => {
  test('discovery, JWKS at /id/keys (public) and a verifiable id_token with the nonce', async () => {
    const emu = emulator();
    const disc = (await (await emu.request('/.well-known/openid-configuration')).json()) as Record<string, unknown>;
    assert.equal(disc.issuer, BASE);
    assert.equal(disc.jwks_uri, `${BASE}/id/keys`);
    assert.equal(disc.token_endpoint, `${BASE}/services/oauth2/token`);
    const keysRes = await emu.request('/id/keys');
    assert.equal(keysRes.status, 200);
    const jwks = (await keysRes.json()) as { keys: Record<string, unknown>[] };
    assert.equal(jwks.keys[0].kty, 'RSA');
    const code = (await approve(emu, { scope: 'openid api refresh_token', nonce: 'n-123' })).searchParams.get('code')!;
    const body = (await (await token(emu, { grant_type: 'authorization_code', code, redirect_uri: CALLBACK, ...CLIENT })).json()) as Record<string, string>;
    assert.ok(body.id_token);
    const { payload } = await jwtVerify(body.id_token, createLocalJWKSet(jwks as never), { issuer: BASE, audience: CLIENT.client_id });
    assert.equal(payload.nonce, 'n-123');
    assert.equal(payload.sub, body.id);
    assert.equal(payload.preferred_username, USER);
    emu.close();
  });
});

describe('JWT bearer', () => {
  const GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
  async function assertion(claims: { iss?: string; sub?: string; aud?: string; exp?: number; prn?: string }, key: string | CryptoKey | import('node:crypto').KeyObject = KEY, alg = 'RS256') {
    const { createPrivateKey, createSecretKey } = await import('node:crypto');
    const k = typeof key === 'string' ? (alg === 'HS256' ? createSecretKey(Buffer.from(key)) : createPrivateKey(key)) : key;
    const now = Math.floor(Date.now() / 1000);
    const body: Record<string, unknown> = { iss: CLIENT.client_id, sub: USER, aud: BASE, exp: now + 180, ...claims };
    for (const k2 of Object.keys(body)) if (body[k2] === undefined) delete body[k2];
    return new SignJWT(body).setProtectedHeader({ alg }).sign(k);
  }
  const errorOf = async (res: Response) => res.json();

  test('a signed assertion for a user yields a session without a refresh token', async () => {
    const emu = emulator();
    const res = await token(emu, { grant_type: GRANT, assertion: await assertion({}) });
    assert.equal(res.status, 200);
    const body = (await res.json()) as Record<string, string>;
    assert.equal(body.refresh_token, undefined);
    assert.equal(body.expires_in, undefined);
    assert.match(body.id, new RegExp(`/${emu.org.adminUserId}$`));
    assert.equal((await emu.request(`${V}/limits`, { headers: { authorization: `Bearer ${body.access_token}` } })).status, 200);
    // The real login hosts are accepted as audiences too.
    assert.equal((await token(emu, { grant_type: GRANT, assertion: await assertion({ aud: 'https://login.salesforce.com' }) })).status, 200);
    emu.close();
  });

  test('errors: audience, expiry, signature, algorithm, issuer, subject', async () => {
    const emu = emulator();
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const now = Math.floor(Date.now() / 1000);
    const cases: [Promise<string>, string, string][] = [
      [assertion({ aud: 'https://example.com' }), 'invalid_grant', 'Audience validation failed'],
      [assertion({ exp: now - 300 }), 'invalid_grant', 'invalid assertion'],
      [assertion({}, other), 'invalid_grant', 'invalid assertion'],
      [assertion({}, 'a-shared-secret-that-is-long-enough-for-hs256', 'HS256'), 'invalid_grant', 'invalid assertion'],
      [assertion({ iss: 'someone-else' }), 'invalid_client_id', 'client identifier invalid'],
      [assertion({ sub: 'nobody@example.com' }), 'invalid_grant', "user hasn't approved this consumer"],
      [assertion({ sub: USER, prn: 'nobody@example.com' }), 'invalid_grant', "user hasn't approved this consumer"],
      [Promise.resolve('not.a.jwt'), 'invalid_grant', 'invalid assertion'],
    ];
    for (const [a, error, description] of cases) {
      const res = await token(emu, { grant_type: GRANT, assertion: await a });
      assert.equal(res.status, 400);
      assert.deepEqual(await errorOf(res), { error, error_description: description });
    }
    // exp is checked against the org clock.
    const valid = await assertion({});
    emu.org.clock.advance(10 * 60_000);
    assert.deepEqual(await errorOf(await token(emu, { grant_type: GRANT, assertion: valid })), { error: 'invalid_grant', error_description: 'invalid assertion' });
    emu.close();
  });

  test('without a configured certificate the grant fails; a bad certificate fails at start', async () => {
    const emu = createEmulator();
    assert.deepEqual(await errorOf(await token(emu, { grant_type: GRANT, assertion: await assertion({}) })), { error: 'invalid_grant', error_description: 'invalid assertion' });
    emu.close();
    assert.throws(() => createEmulator({ jwtCert: KEY }), /private key/);
    assert.throws(() => createEmulator({ jwtCert: 'garbage' }), /JWT certificate is not usable/);
  });
});

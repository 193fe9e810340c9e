/**
 * The client's JWT bearer flow and refresh-token rotation against the emulator's real grants (not a scripted
 * server): the assertion the client signs must satisfy the emulator's checks, and a rotated refresh token must
 * be saved before the old one stops working.
 */
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { SalesforceClient, type Credentials } from '../../src/client/index.ts';
import { AuthError } from '../../src/client/errors.ts';
import { storeKey, type RefreshTokenCredentials } from '../../src/client/auth.ts';
import { MemoryTokenStore } from '../../src/client/token-store.ts';
import { createEmulator, type Emulator } from '../../src/emulator/app.ts';

const BASE = 'http://127.0.0.1:8484';
const CERT = readFileSync(new URL('../conformance/fixtures/jwt-test.crt', import.meta.url), 'utf8');
const KEY = readFileSync(new URL('../conformance/fixtures/jwt-test.key', import.meta.url), 'utf8');

function client(emu: Emulator, credentials: Credentials, extra: Partial<ConstructorParameters<typeof SalesforceClient>[0]> = {}) {
  return new SalesforceClient({ credentials, fetch: (input, init) => emu.fetch(new Request(input, init)), governor: false, retry: { baseDelayMs: 1, maxDelayMs: 2 }, ...extra });
}

describe('client JWT bearer against the emulator', () => {
  it('logs in with a signed assertion, and signs a fresh one when the session expires', async () => {
    const emu = createEmulator({ jwtCert: CERT });
    const c = client(emu, { kind: 'jwt', loginUrl: BASE, clientId: emu.org.clientId, username: emu.org.username, privateKey: KEY });
    const { id } = await c.create('Account', { Name: 'Via client JWT' });
    assert.equal((await c.retrieve<{ CreatedById: string }>('Account', id)).CreatedById, emu.org.adminUserId);
    await emu.request('/__emulator/sessions/expire', { method: 'POST' });
    assert.equal((await c.limits()).DailyApiRequests.Max, 100_000);
    assert.equal(c.auth.tokenRequests, 2);
    emu.close();
  });

  it('a key that does not match the certificate fails with the fix in the message', async () => {
    const emu = createEmulator({ jwtCert: CERT });
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const c = client(emu, { kind: 'jwt', loginUrl: BASE, clientId: emu.org.clientId, username: emu.org.username, privateKey: other });
    await assert.rejects(c.limits(), (err: AuthError) => {
      assert.ok(err instanceof AuthError);
      assert.match(err.message, /invalid_grant \(invalid assertion\)/);
      assert.match(err.message, /upload the certificate matching --jwt-key/);
      return true;
    });
    emu.close();
  });

  it('an unknown user is reported as not pre-authorised', async () => {
    const emu = createEmulator({ jwtCert: CERT });
    const c = client(emu, { kind: 'jwt', loginUrl: BASE, clientId: emu.org.clientId, username: 'nobody@example.com', privateKey: KEY });
    await assert.rejects(c.limits(), /user hasn't approved this consumer.*pre-authorise the user/);
    emu.close();
  });
});

describe('client refresh-token rotation against the emulator', () => {
  /** A refresh token from the emulator's authorization-code flow (as a user would get with `sf org login web`). */
  async function refreshTokenFrom(emu: Emulator): Promise<string> {
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const callback = 'http://localhost:1717/OauthRedirect';
    const form = new URLSearchParams({ response_type: 'code', client_id: emu.org.clientId, redirect_uri: callback, code_challenge: challenge, scope: 'api refresh_token', username: emu.org.username, password: emu.org.password, action: 'approve' });
    const approved = await emu.request('/services/oauth2/authorize', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form });
    const code = new URL(approved.headers.get('location')!).searchParams.get('code')!;
    const tok = await emu.request('/services/oauth2/token', {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: callback, client_id: emu.org.clientId, client_secret: emu.org.clientSecret, code_verifier: verifier }),
    });
    return ((await tok.json()) as { refresh_token: string }).refresh_token;
  }

  it('each refresh saves the rotated token; the configured one then stops working, a new process resumes from the store', async () => {
    const emu = createEmulator({ rotateRefreshTokens: true });
    const rt0 = await refreshTokenFrom(emu);
    const store = new MemoryTokenStore();
    const credentials: RefreshTokenCredentials = { kind: 'refreshToken', loginUrl: BASE, clientId: emu.org.clientId, clientSecret: emu.org.clientSecret, refreshToken: rt0 };
    const c = client(emu, credentials, { tokenStore: store });
    await c.limits();
    const rt1 = (await store.get(storeKey(credentials)))?.refreshToken;
    assert.ok(rt1 && rt1 !== rt0);
    await emu.request('/__emulator/sessions/expire', { method: 'POST' });
    await c.limits();
    const rt2 = (await store.get(storeKey(credentials)))?.refreshToken;
    assert.ok(rt2 && rt2 !== rt1);
    // Without the store the configured token is dead: rotation retired it.
    await assert.rejects(client(emu, credentials).limits(), /expired access\/refresh token/);
    // With the store a new client continues from the latest rotated token.
    const resumed = client(emu, credentials, { tokenStore: store });
    assert.equal((await resumed.limits()).DailyApiRequests.Max, 100_000);
    emu.close();
  });
});

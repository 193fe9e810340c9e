/**
 * Session refresh on a scripted real-socket server: 401 → refresh → retry, refresh-token rotation saved,
 * instance moves followed without a refresh loop, single-flight refresh, JWT assertions, login errors.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { importSPKI, jwtVerify } from 'jose';
import { SalesforceClient } from '../../src/client/index.ts';
import { AuthError } from '../../src/client/errors.ts';
import { storeKey, type RefreshTokenCredentials } from '../../src/client/auth.ts';
import { FileTokenStore, MemoryTokenStore } from '../../src/client/token-store.ts';
import { FAST_RETRY, scriptedServer, tokenBody, type Recorded, type ScriptedServer } from './helpers/scripted-server.ts';

const V = '/services/data/v62.0';
const TOKEN = 'POST /services/oauth2/token';
const servers: ScriptedServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});
async function server(script: Parameters<typeof scriptedServer>[0]) {
  const s = await scriptedServer(script);
  servers.push(s);
  return s;
}
const expired = { status: 401, json: [{ errorCode: 'INVALID_SESSION_ID', message: 'Session expired or invalid' }] };
const limitsBody = { DailyApiRequests: { Max: 100, Remaining: 90 } };
const bearer = (r: Recorded) => String(r.headers.authorization);
const form = (r: Recorded) => new URLSearchParams(r.body);

describe('auth and refresh (real sockets)', () => {
  it('401 INVALID_SESSION_ID → one refresh → retried call succeeds; rotated refresh token saved', async () => {
    let issued = 0;
    const srv: ScriptedServer = await server({
      [TOKEN]: [(r) => {
        issued++;
        // Rotation: every refresh returns a new refresh token.
        return { json: tokenBody(srv.url, `AT${issued}`, { refresh_token: `RT${issued}` }), headers: { 'x-seen-refresh': form(r).get('refresh_token') ?? '' } };
      }],
      [`GET ${V}/limits`]: [(r) => (bearer(r) === 'Bearer AT1' ? expired : { json: limitsBody })],
    });
    const store = new MemoryTokenStore();
    const credentials: RefreshTokenCredentials = { kind: 'refreshToken', loginUrl: srv.url, clientId: 'cid', refreshToken: 'RT0' };
    const client = new SalesforceClient({ credentials, governor: false, retry: FAST_RETRY, tokenStore: store });
    const limits = await client.limits();
    assert.equal(limits.DailyApiRequests.Max, 100);
    const tokenReqs = srv.requests.filter((r) => r.path === '/services/oauth2/token').map((r) => form(r).get('refresh_token'));
    // First login used the configured token, the refresh used the rotated one.
    assert.deepEqual(tokenReqs, ['RT0', 'RT1']);
    assert.equal((await store.get(storeKey(credentials)))?.refreshToken, 'RT2');

    // A new process with the same configuration starts from the saved, rotated token.
    const again = new SalesforceClient({ credentials, governor: false, retry: FAST_RETRY, tokenStore: store });
    await again.limits();
    assert.equal(form(srv.requests.filter((r) => r.path === '/services/oauth2/token').at(-1)!).get('refresh_token'), 'RT2');
  });

  it('follows a changed instance_url and never loops on refresh', async () => {
    const moved = await server({ [`GET ${V}/limits`]: [{ json: limitsBody, headers: { 'sforce-limit-info': 'api-usage=10/100' } }] });
    const old: ScriptedServer = await server({
      [TOKEN]: [{ json: tokenBody('PLACEHOLDER', 'AT-old') }],
      [`GET ${V}/limits`]: [expired],
    });
    // First token response: instance = old server; second: the org moved.
    let n = 0;
    const login = await server({ [TOKEN]: [() => ({ json: tokenBody(++n === 1 ? old.url : moved.url, `AT${n}`) })] });
    const client = new SalesforceClient({ credentials: { kind: 'clientCredentials', instanceUrl: login.url, clientId: 'c', clientSecret: 's' }, governor: false, retry: FAST_RETRY });
    await client.limits();
    assert.equal(old.count(`GET ${V}/limits`), 1);
    assert.equal(moved.count(`GET ${V}/limits`), 1);
    assert.equal((await client.session()).instanceUrl, moved.url);
    await client.limits();
    assert.equal(moved.count(`GET ${V}/limits`), 2, 'later calls go straight to the new instance');
    assert.equal(login.count(TOKEN), 2);
  });

  it('a 401 that survives the refresh is an AuthError after exactly one refresh', async () => {
    const srv: ScriptedServer = await server({ [TOKEN]: [() => ({ json: tokenBody(srv.url, 'AT') })], [`GET ${V}/limits`]: [expired] });
    const client = new SalesforceClient({ credentials: { kind: 'clientCredentials', instanceUrl: srv.url, clientId: 'c', clientSecret: 's' }, governor: false, retry: FAST_RETRY });
    await assert.rejects(client.limits(), (err: unknown) => err instanceof AuthError && err.code === 'SESSION_EXPIRED' && /API Enabled/.test(err.message));
    assert.equal(srv.count(TOKEN), 2);
    assert.equal(srv.count(`GET ${V}/limits`), 2);
  });

  it('concurrent 401s share one refresh (single flight)', async () => {
    let n = 0;
    const srv: ScriptedServer = await server({
      [TOKEN]: [() => ({ json: tokenBody(srv.url, `AT${++n}`) })],
      [`GET ${V}/limits`]: [(r) => (bearer(r) === 'Bearer AT1' ? expired : { json: limitsBody })],
    });
    const client = new SalesforceClient({ credentials: { kind: 'clientCredentials', instanceUrl: srv.url, clientId: 'c', clientSecret: 's' }, governor: false, retry: FAST_RETRY });
    await client.session();
    await Promise.all(Array.from({ length: 8 }, () => client.limits()));
    assert.equal(srv.count(TOKEN), 2, 'one login + one refresh for eight 401s');
  });

  it('an access token cannot refresh: typed SESSION_EXPIRED', async () => {
    const srv = await server({ [`GET ${V}/limits`]: [expired] });
    const client = new SalesforceClient({ credentials: { kind: 'accessToken', instanceUrl: srv.url, accessToken: 'x' }, governor: false });
    await assert.rejects(client.limits(), (err: unknown) => err instanceof AuthError && err.code === 'SESSION_EXPIRED' && /--access-token/.test(err.message));
  });

  it('JWT bearer: RS256 assertion with iss/sub/aud/exp', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    let assertion = '';
    const srv: ScriptedServer = await server({
      [TOKEN]: [(r) => {
        assert.equal(form(r).get('grant_type'), 'urn:ietf:params:oauth:grant-type:jwt-bearer');
        assertion = form(r).get('assertion')!;
        return { json: tokenBody(srv.url, 'ATjwt') };
      }],
    });
    const client = new SalesforceClient({
      credentials: { kind: 'jwt', loginUrl: srv.url, clientId: 'consumer-key', username: 'int@acme.example', privateKey: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString() },
      governor: false,
    });
    assert.equal((await client.session()).accessToken, 'ATjwt');
    const key = await importSPKI(publicKey.export({ type: 'spki', format: 'pem' }).toString(), 'RS256');
    const { payload, protectedHeader } = await jwtVerify(assertion, key, { issuer: 'consumer-key', subject: 'int@acme.example', audience: srv.url });
    assert.equal(protectedHeader.alg, 'RS256');
    assert.ok(payload.exp! - Date.now() / 1000 <= 180);
  });

  it('login errors name the fix in Setup', async () => {
    const cases: Array<[string, string, RegExp]> = [
      ['invalid_client_id', 'client identifier invalid', /consumer key and consumer secret/],
      ['invalid_client', 'invalid client credentials', /consumer key and consumer secret/],
      ['invalid_grant', 'authentication failure', /user is active.*password.*security token.*permitted/],
      ['invalid_grant', 'no client credentials user enabled', /Client Credentials Flow.*Run As/],
      ['invalid_grant', 'request not supported on this domain', /My Domain URL/],
    ];
    for (const [error, description, fix] of cases) {
      const srv = await server({ [TOKEN]: [{ status: 400, json: { error, error_description: description } }] });
      const client = new SalesforceClient({ credentials: { kind: 'password', loginUrl: srv.url, clientId: 'c', clientSecret: 's', username: 'u', password: 'p' }, governor: false });
      await assert.rejects(client.session(), (err: unknown) => err instanceof AuthError && err.code === 'AUTH_FAILED' && err.error === error && err.errorDescription === description && fix.test(err.message), `${error}: ${description}`);
    }
  });
});

describe('FileTokenStore', () => {
  it('encrypts with AES-256-GCM, writes 0600 files, and round-trips', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sfb-tok-'));
    const store = new FileTokenStore({ env: { SFBRIDGE_HOME: dir } });
    await store.set('k', { refreshToken: '5Aep861SecretRefreshTokenValue', seed: 'abc', updatedAt: 'now' });
    const raw = await readFile(join(dir, 'tokens.enc'), 'utf8');
    assert.ok(!raw.includes('5Aep861SecretRefreshTokenValue'), 'token is not stored in clear');
    assert.equal((await stat(join(dir, 'tokens.enc'))).mode & 0o777, 0o600);
    // The key lives outside the token directory (a copy of that directory does not carry its key).
    assert.equal(store.keyPath, `${dir}.keys/token.key`);
    assert.equal((await stat(store.keyPath)).mode & 0o777, 0o600);
    assert.equal((await stat(dirname(store.keyPath))).mode & 0o777, 0o700);
    await assert.rejects(stat(join(dir, 'token.key')), /ENOENT/);
    const reopened = new FileTokenStore({ env: { SFBRIDGE_HOME: dir } });
    assert.equal((await reopened.get('k'))?.refreshToken, '5Aep861SecretRefreshTokenValue');
  });

  it('keeps using a key file an older version created inside the token directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sfb-tok-'));
    await writeFile(join(dir, 'token.key'), Buffer.alloc(32, 7).toString('base64'), { mode: 0o600 });
    const store = new FileTokenStore({ env: { SFBRIDGE_HOME: dir } });
    assert.equal(store.keyPath, join(dir, 'token.key'));
    assert.equal(new FileTokenStore({ env: { SFBRIDGE_HOME: dir, SFBRIDGE_TOKEN_KEY_FILE: '/k/token.key' } }).keyPath, '/k/token.key');
  });

  it('uses SFBRIDGE_TOKEN_KEY and refuses to decrypt with another key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sfb-tok-'));
    const keyA = Buffer.alloc(32, 1).toString('base64');
    const keyB = Buffer.alloc(32, 2).toString('hex');
    await new FileTokenStore({ env: { SFBRIDGE_HOME: dir, SFBRIDGE_TOKEN_KEY: keyA } }).set('k', { refreshToken: 'r', seed: 's', updatedAt: 'u' });
    await assert.rejects(new FileTokenStore({ env: { SFBRIDGE_HOME: dir, SFBRIDGE_TOKEN_KEY: keyB } }).get('k'), /cannot decrypt.*key changed/);
    await assert.rejects(new FileTokenStore({ env: { SFBRIDGE_HOME: dir, SFBRIDGE_TOKEN_KEY: 'short' } }).get('k'), /32-byte key/);
  });
});

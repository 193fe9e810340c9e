/**
 * Grant access end to end: the service redirects to the emulator's authorize page, the test plays the
 * browser on the emulator's approve form, and the callback stores the refresh token, which then runs a sync.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EMU, harness, until, type Harness } from './helpers.ts';

/** Follows the service's redirect to the emulator and submits its approve form as a person would. */
async function approve(h: Harness, location: string, action: 'approve' | 'deny', password = 'emulator'): Promise<URL> {
  const authorize = new URL(location);
  const page = await h.emu.request(authorize.pathname + authorize.search);
  assert.equal(page.status, 200, await page.clone().text());
  const form = new URLSearchParams();
  for (const m of (await page.text()).matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) form.set(m[1], m[2].replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n))));
  form.set('username', h.emu.org.username);
  form.set('password', password);
  form.set('action', action);
  const res = await h.emu.request('/services/oauth2/authorize', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form });
  assert.equal(res.status, 302);
  return new URL(res.headers.get('location')!);
}

describe('Grant access (web-server flow) against the emulator', () => {
  let h: Harness;
  let session: { cookie: string; csrf: string };
  before(async () => {
    h = await harness({
      seed: 'Account=25',
      connections: { partner: { kind: 'web', login_url: EMU, client_id: 'sfbridge-emulator', client_secret: 'sfbridge-emulator-secret' } },
    });
    session = await h.login();
  });
  after(() => h.close());

  const start = async () => {
    const res = await h.app.request('/oauth/authorize/partner', { headers: { cookie: session.cookie } });
    assert.equal(res.status, 302);
    return res.headers.get('location')!;
  };
  const callback = (url: URL, cookie = session.cookie) => h.app.request(`/oauth/callback${url.search}`, { headers: { cookie } });

  it('redirects to the authorize endpoint with PKCE S256 and a signed state', async () => {
    const url = new URL(await start());
    assert.equal(url.origin + url.pathname, `${EMU}/services/oauth2/authorize`);
    const p = url.searchParams;
    assert.equal(p.get('response_type'), 'code');
    assert.equal(p.get('client_id'), 'sfbridge-emulator');
    assert.equal(p.get('redirect_uri'), 'http://localhost/oauth/callback');
    assert.equal(p.get('code_challenge_method'), 'S256');
    assert.match(p.get('code_challenge')!, /^[A-Za-z0-9_-]{43}$/);
    assert.match(p.get('state')!, /^[A-Za-z0-9_-]+\.[0-9a-z]+\.[A-Za-z0-9_-]{43}$/);
    assert.equal(p.get('scope'), 'api refresh_token id');
    const view = await h.api('/api/v1/connections/partner');
    assert.equal(view.body.status, 'not_connected');
    assert.equal(view.body.callback_url, undefined, 'no public URL known in-process');
  });

  it('Allow: stores the refresh token sealed, shows user and org, and the connection runs', async () => {
    const back = await approve(h, await start(), 'approve');
    assert.equal(back.pathname, '/oauth/callback');
    const res = await callback(back);
    const page = await res.text();
    assert.equal(res.status, 200, page);
    assert.match(page, /Connected to Salesforce/);
    assert.ok(page.includes(h.emu.org.username), 'the user');
    assert.ok(page.includes(h.emu.org.orgId), 'the org');
    const view = await h.api('/api/v1/connections/partner');
    assert.equal(view.body.status, 'connected');
    assert.equal(view.body.user.username, h.emu.org.username);
    assert.equal(view.body.org_id, h.emu.org.orgId);
    assert.deepEqual(view.body.secrets_set, ['client_secret', 'refresh_token']);
    const creds = (await h.service.connections.credentials('partner')) as { kind: string; refreshToken: string };
    assert.equal(creds.kind, 'refreshToken');
    const row = await h.service.state.getConnection('partner');
    assert.ok(!row!.secrets!.includes(creds.refreshToken), 'the refresh token is sealed at rest');
    assert.ok(!JSON.stringify(view.body).includes(creds.refreshToken));
    // The same callback again: the state is single use.
    const replay = await callback(back);
    assert.equal(replay.status, 400);
    assert.match(await replay.text(), /already used/);
    // The grant works: a pipeline on it syncs.
    await h.api('/api/v1/pipelines/accounts', { method: 'PUT', json: { kind: 'sync', connection: 'partner', standard_objects_to_sync: ['Account'], lag: 0 } });
    await until(async () => (await h.service.listRuns({ pipeline: 'accounts' }))[0]?.finishedAt, 15_000, 'the run');
    const [run] = await h.service.listRuns({ pipeline: 'accounts' });
    assert.equal(run.status, 'succeeded', run.error ?? '');
    assert.equal((run.objects.Account as { written: number }).written, 25);
  });

  it('Deny: access_denied says what to do', async () => {
    const back = await approve(h, await start(), 'deny');
    assert.equal(back.searchParams.get('error'), 'access_denied');
    const res = await callback(back);
    assert.equal(res.status, 403);
    const page = await res.text();
    assert.match(page, /Access was denied/);
    assert.match(page, /Permitted Users/);
  });

  it('a forged, expired or foreign-session state is refused', async () => {
    const forged = await h.app.request('/oauth/callback?code=abc&state=nonce.zzzzzz.AAAA', { headers: { cookie: session.cookie } });
    assert.equal(forged.status, 400);
    assert.match(await forged.text(), /not issued by this service/);
    const back = await approve(h, await start(), 'approve');
    const other = await h.login();
    const foreign = await callback(back, other.cookie);
    assert.equal(foreign.status, 400);
    assert.match(await foreign.text(), /another browser session/);
    // The state's expiry is inside its signature: changing it breaks the signature.
    const [nonce, , sig] = back.searchParams.get('state')!.split('.');
    const late = new URL(back);
    late.searchParams.set('state', `${nonce}.${(Date.now() - 1000).toString(36)}.${sig}`);
    assert.equal((await callback(late)).status, 400);
  });

  it('redirect_uri_mismatch shows the callback URL to paste into the connected app', async () => {
    const url = new URL(await start());
    const res = await h.app.request(`/oauth/callback?error=redirect_uri_mismatch&error_description=redirect_uri%20must%20match%20configuration&state=${encodeURIComponent(url.searchParams.get('state')!)}`, { headers: { cookie: session.cookie } });
    assert.equal(res.status, 400);
    const page = await res.text();
    assert.match(page, /callback URL is not registered/);
    assert.ok(page.includes('<code>http://localhost/oauth/callback</code>'));
    assert.match(page, /Setup → App Manager/);
  });

  it('Revoke disconnects: the token is revoked at Salesforce and forgotten', async () => {
    const { refreshToken } = (await h.service.connections.credentials('partner')) as { refreshToken: string };
    const res = await h.app.request('/oauth/revoke/partner', { method: 'POST', headers: { cookie: session.cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ _csrf: session.csrf }) });
    assert.equal(res.status, 303);
    const view = await h.api('/api/v1/connections/partner');
    assert.equal(view.body.status, 'not_connected');
    await assert.rejects(h.service.connections.credentials('partner'), /not connected yet/);
    const refresh = await h.emu.request('/services/oauth2/token', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: 'sfbridge-emulator' }) });
    assert.equal(refresh.status, 400, 'the emulator no longer honours the revoked token');
    const again = await h.api('/api/v1/connections/partner/grant', { method: 'DELETE' });
    assert.equal(again.status, 409);
    const notWeb = await h.app.request('/oauth/authorize/nope', { headers: { cookie: session.cookie } });
    assert.equal(notWeb.status, 404);
  });
});

/**
 * The login and approve pages as browser automation written for Salesforce sees them: the element ids and
 * names it looks for (`#username`, `#password` named `pw`, `#Login`, `#oaapprove`, `#oadeny`), driven here by
 * plain HTTP form posts over a real socket.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { servedOrg } from '../helpers/served.ts';

const CALLBACK = 'http://localhost:1717/OauthRedirect';

function hidden(html: string): URLSearchParams {
  const out = new URLSearchParams();
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) out.set(m[1], m[2].replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n))));
  return out;
}

/** The value of the element with this id, by its name attribute: what a script's `#id` selector targets. */
function control(html: string, id: string): { name: string; type: string } {
  const m = new RegExp(`<input type="([^"]+)" id="${id}" name="([^"]+)"`).exec(html);
  assert.ok(m, `no input with id="${id}"`);
  return { type: m[1], name: m[2] };
}

test('login by #username/#password/#Login, then #oaapprove: the callback gets a code that trades for tokens', async () => {
  const org = await servedOrg({ redirectUris: [CALLBACK] });
  const { clientId, clientSecret } = org.emu.org;
  const start = `${org.url}/services/oauth2/authorize?${new URLSearchParams({ response_type: 'code', client_id: clientId, redirect_uri: CALLBACK, state: 's-1' })}`;
  const loginHtml = await (await fetch(start)).text();
  assert.deepEqual([control(loginHtml, 'username'), control(loginHtml, 'password'), control(loginHtml, 'Login')], [{ type: 'email', name: 'username' }, { type: 'password', name: 'pw' }, { type: 'submit', name: 'Login' }]);
  const login = hidden(loginHtml);
  login.set(control(loginHtml, 'username').name, org.emu.org.username);
  login.set(control(loginHtml, 'password').name, 'emulator');
  login.set(control(loginHtml, 'Login').name, 'Log In');
  const approveRes = await fetch(`${org.url}/services/oauth2/authorize`, { method: 'POST', body: login, redirect: 'manual' });
  assert.equal(approveRes.status, 200);
  const approveHtml = await approveRes.text();
  assert.deepEqual([control(approveHtml, 'oaapprove'), control(approveHtml, 'oadeny')], [{ type: 'submit', name: 'oaapprove' }, { type: 'submit', name: 'oadeny' }]);
  const decision = hidden(approveHtml);
  decision.set('oaapprove', 'Allow');
  const back = await fetch(`${org.url}/services/oauth2/authorize`, { method: 'POST', body: decision, redirect: 'manual' });
  assert.equal(back.status, 302);
  const cb = new URL(back.headers.get('location')!);
  assert.equal(`${cb.origin}${cb.pathname}`, CALLBACK);
  assert.equal(cb.searchParams.get('state'), 's-1');
  const tok = await fetch(`${org.url}/services/oauth2/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'authorization_code', code: cb.searchParams.get('code')!, client_id: clientId, client_secret: clientSecret, redirect_uri: CALLBACK }) });
  assert.equal(tok.status, 200);
  assert.ok(((await tok.json()) as { access_token: string }).access_token);
  // The approval ticket is single use: replaying the Allow post goes back to the login page.
  const replay = await fetch(`${org.url}/services/oauth2/authorize`, { method: 'POST', body: decision, redirect: 'manual' });
  assert.equal(replay.status, 200);
  assert.match(await replay.text(), /<div id="error" class="loginError" role="alert">Your approval expired or was already used/);
  await org.close();
});

test('#oadeny redirects with access_denied; a wrong password shows #error on the login page; a ticket is bound to its client', async () => {
  const org = await servedOrg({ redirectUris: [CALLBACK] });
  const params = { response_type: 'code', client_id: org.emu.org.clientId, redirect_uri: CALLBACK, state: 'd' };
  const form = (extra: Record<string, string>) => new URLSearchParams({ ...params, ...extra });
  const send = (body: URLSearchParams) => fetch(`${org.url}/services/oauth2/authorize`, { method: 'POST', body, redirect: 'manual' });
  const bad = await send(form({ username: org.emu.org.username, pw: 'nope', Login: 'Log In' }));
  assert.equal(bad.status, 200);
  const badHtml = await bad.text();
  assert.match(badHtml, /<div id="error" class="loginError" role="alert">Please check your username and password/);
  assert.match(badHtml, /id="Login"/);
  const ok = await (await send(form({ username: org.emu.org.username, pw: 'emulator', Login: 'Log In' }))).text();
  const ticket = hidden(ok).get('ticket')!;
  const deny = await send(form({ ticket, oadeny: 'Deny' }));
  assert.equal(deny.status, 302);
  const denied = new URL(deny.headers.get('location')!);
  assert.deepEqual([denied.searchParams.get('error'), denied.searchParams.get('state')], ['access_denied', 'd']);
  // A ticket issued for one client cannot approve for another.
  const ok2 = await (await send(form({ username: org.emu.org.username, pw: 'emulator', Login: 'Log In' }))).text();
  const other = await send(new URLSearchParams({ ...params, client_id: 'PlatformCLI', code_challenge: 'x'.repeat(43), ticket: hidden(ok2).get('ticket')!, oaapprove: 'Allow' }));
  assert.equal(other.status, 200);
  assert.match(await other.text(), /Your approval expired or was already used/);
  await org.close();
});

/** singleaccess → frontdoor.jsp: a one-time link that signs a browser into the session (`sf org open`). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testOrg } from '../helpers/emulator.ts';

const BASE = 'http://127.0.0.1:8484';

test('GET /services/oauth2/singleaccess with a bearer token answers a single-use frontdoor_uri', async () => {
  const org = await testOrg();
  const res = await org.api('/services/oauth2/singleaccess?redirect_uri=%2Flightning%2Fo%2FAccount%2Fhome');
  assert.equal(res.status, 200);
  const { frontdoor_uri } = (await res.json()) as { frontdoor_uri: string };
  assert.match(frontdoor_uri, /^http:\/\/127\.0\.0\.1:8484\/secur\/frontdoor\.jsp\?otp=[\w-]{32}&startURL=%2Flightning%2Fo%2FAccount%2Fhome$/);
  const open = await org.emu.request(frontdoor_uri.replace(BASE, ''), { redirect: 'manual' });
  assert.equal(open.status, 302);
  assert.equal(open.headers.get('location'), '/lightning/o/Account/home');
  const cookie = open.headers.get('set-cookie')!;
  assert.equal(cookie, `sid=${org.token}; Path=/; HttpOnly; SameSite=Lax`);
  const home = await org.emu.request('/', { headers: { cookie: cookie.split(';')[0] } });
  assert.match(await home.text(), /Signed in as <b>admin@emulator\.sfbridge\.dev<\/b>/);
  // The link works once.
  const again = await org.emu.request(frontdoor_uri.replace(BASE, ''), { redirect: 'manual' });
  assert.equal(again.status, 401);
  org.close();
});

test('POST singleaccess with access_token in the form; frontdoor.jsp?sid= works too; bad tokens are refused', async () => {
  const org = await testOrg();
  const res = await org.emu.request('/services/oauth2/singleaccess', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ access_token: org.token }) });
  const { frontdoor_uri } = (await res.json()) as { frontdoor_uri: string };
  assert.match(frontdoor_uri, /\/secur\/frontdoor\.jsp\?otp=[\w-]+$/);
  const sid = await org.emu.request(`/secur/frontdoor.jsp?sid=${org.token}&retURL=%2F001`, { redirect: 'manual' });
  assert.deepEqual([sid.status, sid.headers.get('location')], [302, '/001']);
  // Off-host start URLs are not followed.
  const offHost = await org.emu.request(`/secur/frontdoor.jsp?sid=${org.token}&retURL=https%3A%2F%2Fevil.example`, { redirect: 'manual' });
  assert.equal(offHost.headers.get('location'), '/');
  const bad = await org.emu.request('/services/oauth2/singleaccess', { headers: { authorization: 'Bearer nope' } });
  assert.deepEqual([bad.status, await bad.json()], [401, { error: 'invalid_token', error_description: 'Invalid token: send a valid access token as a Bearer header or access_token' }]);
  org.close();
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createEmulator } from '../../src/emulator/app.ts';
import { V } from '../helpers/emulator.ts';

const form = (o: Record<string, string>, headers: Record<string, string> = {}) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
  body: new URLSearchParams(o),
});

test('client_credentials with body fields returns the Salesforce token shape', async () => {
  const emu = createEmulator();
  const res = await emu.request('/services/oauth2/token', form({ grant_type: 'client_credentials', client_id: 'sfbridge-emulator', client_secret: 'sfbridge-emulator-secret' }));
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/json;charset=UTF-8');
  const body = (await res.json()) as Record<string, unknown>;
  assert.equal(typeof body.issued_at, 'string');
  assert.match(String(body.issued_at), /^\d{13}$/);
  assert.equal(body.token_type, 'Bearer');
  assert.equal(body.expires_in, undefined);
  assert.equal(body.refresh_token, undefined);
  assert.match(String(body.access_token), /^00D[A-Za-z0-9]{12}!/);
  assert.match(String(body.id), /\/id\/00D[A-Za-z0-9]{15}\/005[A-Za-z0-9]{15}$/);
  assert.equal(body.instance_url, 'http://127.0.0.1:8484');
  emu.close();
});

test('client_credentials with a Basic header works too', async () => {
  const emu = createEmulator();
  const basic = Buffer.from('sfbridge-emulator:sfbridge-emulator-secret').toString('base64');
  const res = await emu.request('/services/oauth2/token', form({ grant_type: 'client_credentials' }, { authorization: `Basic ${basic}` }));
  assert.equal(res.status, 200);
  emu.close();
});

test('token errors use the exact error codes and descriptions', async () => {
  const emu = createEmulator();
  const cases: [Record<string, string>, string, string][] = [
    [{ grant_type: 'client_credentials', client_id: 'nope', client_secret: 'x' }, 'invalid_client_id', 'client identifier invalid'],
    [{ grant_type: 'client_credentials', client_id: 'sfbridge-emulator', client_secret: 'wrong' }, 'invalid_client', 'invalid client credentials'],
    [{ grant_type: 'password', client_id: 'sfbridge-emulator', client_secret: 'sfbridge-emulator-secret', username: 'admin@emulator.sfbridge.dev', password: 'bad' }, 'invalid_grant', 'authentication failure'],
    [{ grant_type: 'nonsense' }, 'unsupported_grant_type', 'grant type not supported'],
    [{ client_id: 'x' }, 'invalid_request', 'grant type is missing'],
  ];
  for (const [params, error, description] of cases) {
    const res = await emu.request('/services/oauth2/token', form(params));
    assert.equal(res.status, 400, error);
    assert.deepEqual(await res.json(), { error, error_description: description });
  }
  emu.close();
});

test('password grant logs in the default user', async () => {
  const emu = createEmulator();
  const res = await emu.request('/services/oauth2/token', form({ grant_type: 'password', client_id: 'sfbridge-emulator', client_secret: 'sfbridge-emulator-secret', username: 'admin@emulator.sfbridge.dev', password: 'emulator' }));
  assert.equal(res.status, 200);
  emu.close();
});

test('an expired token answers 401 INVALID_SESSION_ID; a missing one too', async () => {
  const emu = createEmulator();
  const res = await emu.request('/services/oauth2/token', form({ grant_type: 'client_credentials', client_id: 'sfbridge-emulator', client_secret: 'sfbridge-emulator-secret' }));
  const { access_token } = (await res.json()) as { access_token: string };
  const ok = await emu.request(`${V}/sobjects`, { headers: { authorization: `Bearer ${access_token}` } });
  assert.equal(ok.status, 200);
  emu.org.clock.advance(2 * 3600 * 1000 + 1000);
  const expired = await emu.request(`${V}/sobjects`, { headers: { authorization: `Bearer ${access_token}` } });
  assert.equal(expired.status, 401);
  assert.deepEqual(await expired.json(), [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }]);
  const none = await emu.request(`${V}/sobjects`);
  assert.equal(none.status, 401);
  emu.close();
});

test('revoke invalidates the access token', async () => {
  const emu = createEmulator();
  const res = await emu.request('/services/oauth2/token', form({ grant_type: 'client_credentials', client_id: 'sfbridge-emulator', client_secret: 'sfbridge-emulator-secret' }));
  const { access_token } = (await res.json()) as { access_token: string };
  const rev = await emu.request('/services/oauth2/revoke', form({ token: access_token }));
  assert.equal(rev.status, 200);
  const after = await emu.request(`${V}/sobjects`, { headers: { authorization: `Bearer ${access_token}` } });
  assert.equal(after.status, 401);
  emu.close();
});

/** Connection settings: flags win over env, flow selection, SFDX auth URLs, errors naming the missing flag. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveCredentials } from '../../src/client/config.ts';
import { parseSfdxAuthUrl } from '../../src/client/auth.ts';

describe('resolveCredentials', () => {
  it('flags win over env, and a flow named by flags beats one in env', async () => {
    const env = { SF_AUTH_URL: 'force://PlatformCLI::5Aep861abc@acme.my.salesforce.com', SF_INSTANCE_URL: 'https://env.my.salesforce.com' };
    assert.equal((await resolveCredentials({}, env)).kind, 'refreshToken');
    const c = await resolveCredentials({ 'access-token': 'T', 'instance-url': 'https://flag.my.salesforce.com/' }, env);
    assert.deepEqual(c, { kind: 'accessToken', accessToken: 'T', instanceUrl: 'https://flag.my.salesforce.com' });
  });
  it('client credentials need a My Domain URL; password defaults to login.salesforce.com', async () => {
    await assert.rejects(resolveCredentials({}, { SF_CLIENT_ID: 'c', SF_CLIENT_SECRET: 's' }), /--instance-url/);
    const p = await resolveCredentials({ username: 'u', password: 'p' }, { SF_CLIENT_ID: 'c', SF_CLIENT_SECRET: 's' });
    assert.equal(p.kind === 'password' && p.loginUrl, 'https://login.salesforce.com');
    await assert.rejects(resolveCredentials({ 'jwt-key': '/nonexistent.pem', 'client-id': 'c', username: 'u' }, {}), /cannot read key file/);
    await assert.rejects(resolveCredentials({}, {}), /no Salesforce credentials/);
  });
  it('parses SFDX auth URLs with empty secrets and scheme-less hosts', () => {
    assert.deepEqual(parseSfdxAuthUrl('force://PlatformCLI::5Aep861xyz:with:colons@acme.my.salesforce.com'), { kind: 'refreshToken', clientId: 'PlatformCLI', clientSecret: undefined, refreshToken: '5Aep861xyz:with:colons', loginUrl: 'https://acme.my.salesforce.com' });
    assert.equal(parseSfdxAuthUrl('force://id:sec:tok@http://127.0.0.1:8484').loginUrl, 'http://127.0.0.1:8484');
    assert.throws(() => parseSfdxAuthUrl('https://nope'), /force:\/\//);
  });
});

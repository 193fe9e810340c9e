/**
 * The client against the in-process org emulator (injected fetch): login flows, CRUD, upsert outcomes,
 * describe cache revalidation, errors, and the governor reading real Sforce-Limit-Info headers.
 */
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createEmulator, type Emulator } from '../../src/emulator/app.ts';
import { schemaFromData } from '../../src/emulator/schema/custom.ts';
import { serve } from '../../src/emulator/http/node-server.ts';
import { FileDescribeCache, SalesforceClient, type Credentials, type SalesforceClientOptions } from '../../src/client/index.ts';
import { AuthError, SalesforceError } from '../../src/client/errors.ts';

const BASE = 'http://127.0.0.1:8484';

function setup(opts: Partial<SalesforceClientOptions> = {}, creds?: (emu: Emulator) => Credentials) {
  const emu = createEmulator({ objects: schemaFromData({ objects: [{ name: 'Widget__c', fields: [{ name: 'Ext__c', type: 'string', length: 40, externalId: true }] }] }) });
  const calls: string[] = [];
  const client = new SalesforceClient({
    credentials: creds?.(emu) ?? { kind: 'clientCredentials', instanceUrl: BASE, clientId: emu.org.clientId, clientSecret: emu.org.clientSecret },
    fetch: (input, init) => {
      const req = new Request(input, init);
      calls.push(`${req.method} ${new URL(req.url).pathname}${req.headers.get('if-modified-since') ? ' (ims)' : ''}`);
      return emu.fetch(req);
    },
    retry: { baseDelayMs: 1, maxDelayMs: 2 },
    ...opts,
  });
  return { emu, client, calls };
}

describe('client against the emulator', () => {
  it('logs in with client credentials and with username-password', async () => {
    const a = setup();
    assert.match((await a.client.session()).accessToken, /^00D/);
    const b = setup({}, (emu) => ({ kind: 'password', loginUrl: BASE, clientId: emu.org.clientId, clientSecret: emu.org.clientSecret, username: emu.org.username, password: emu.org.password }));
    assert.equal((await b.client.session()).instanceUrl, BASE);
    const c = setup({}, (emu) => ({ kind: 'password', loginUrl: BASE, clientId: emu.org.clientId, clientSecret: emu.org.clientSecret, username: emu.org.username, password: 'wrong' }));
    await assert.rejects(c.client.session(), (err: unknown) => err instanceof AuthError && err.error === 'invalid_grant' && /security token/.test(err.message));
    const d = setup({}, (emu) => ({ kind: 'clientCredentials', instanceUrl: BASE, clientId: emu.org.clientId, clientSecret: 'nope' }));
    await assert.rejects(d.client.session(), (err: unknown) => err instanceof AuthError && err.error === 'invalid_client' && /consumer key and consumer secret/.test(err.message));
  });

  it('CRUD round trip with typed errors', async () => {
    const { client } = setup();
    const { id } = await client.create('Account', { Name: 'Globex Ltd', Industry: 'Banking' });
    const rec = await client.retrieve<{ Name: string; Industry: string }>('Account', id, ['Name', 'Industry']);
    assert.equal(rec.Name, 'Globex Ltd');
    await client.update('Account', id, { Industry: 'Retail' });
    assert.equal((await client.retrieve<{ Industry: string }>('Account', id)).Industry, 'Retail');
    await client.delete('Account', id);
    await assert.rejects(client.retrieve('Account', id), (err: unknown) => err instanceof SalesforceError && err.status === 404 && err.code === 'SALESFORCE_ERROR');
    await assert.rejects(client.create('Account', { Nope__c: 1 }), (err: unknown) => err instanceof SalesforceError && err.errorCode === 'INVALID_FIELD');
    await assert.rejects(client.create('Contact', {}), (err: unknown) => err instanceof SalesforceError && err.errorCode === 'REQUIRED_FIELD_MISSING' && err.fields.includes('LastName'));
    await assert.rejects(client.retrieve('Account', "x' OR 1=1"), TypeError);
  });

  it('upsert: 201 created, 200 updated, 300 multiple matches', async () => {
    const { client } = setup();
    const first = await client.upsert('Widget__c', 'Ext__c', 'K-1', { Name: 'One' });
    assert.equal(first.created, true);
    assert.match(first.id!, /^a0/);
    const second = await client.upsert('Widget__c', 'Ext__c', 'K-1', { Name: 'One again' });
    assert.deepEqual(second, { id: first.id, created: false });
    await client.create('Widget__c', { Name: 'Dup A', Ext__c: 'K-2' });
    await client.create('Widget__c', { Name: 'Dup B', Ext__c: 'K-2' });
    await assert.rejects(client.upsert('Widget__c', 'Ext__c', 'K-2', { Name: 'x' }), (err: unknown) => err instanceof SalesforceError && err.errorCode === 'MULTIPLE_CHOICES' && err.status === 300 && err.matches.length === 2);
    await assert.rejects(client.upsert('Account', 'Nope__c', 'K', { Name: 'x' }), (err: unknown) => err instanceof SalesforceError && err.errorCode === 'NOT_FOUND');
  });

  it('describe cache revalidates with If-Modified-Since and serves 304s from the cache (file-backed)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sfb-desc-'));
    const { client, calls } = setup({ describeCache: new FileDescribeCache(dir) });
    const d1 = await client.describe('Widget__c');
    assert.ok(d1.fields.some((f) => f.name === 'Ext__c'));
    const d2 = await client.describe('Widget__c');
    assert.deepEqual(d2, d1);
    const g1 = await client.describeGlobal();
    const g2 = await client.describeGlobal();
    assert.equal(g2.sobjects.length, g1.sobjects.length);
    const describes = calls.filter((c) => c.includes('/describe') || c.endsWith('/sobjects') || c.endsWith('/sobjects (ims)'));
    assert.deepEqual(describes, [
      'GET /services/data/v62.0/sobjects/Widget__c/describe',
      'GET /services/data/v62.0/sobjects/Widget__c/describe (ims)',
      'GET /services/data/v62.0/sobjects',
      'GET /services/data/v62.0/sobjects (ims)',
    ]);
  });

  it('the default governor picks up Sforce-Limit-Info from the emulator', async () => {
    const { client } = setup();
    await client.create('Account', { Name: 'Counted' });
    const r = client.governor!.reading!;
    assert.equal(r.max, 100_000);
    assert.ok(r.used >= 1);
  });

  it('real socket: the emulator served over node:http, with global fetch', async (t) => {
    const emu = createEmulator();
    const server = await serve(emu.fetch, { port: 0, host: '127.0.0.1' });
    t.after(() => server.close());
    const client = new SalesforceClient({ credentials: { kind: 'clientCredentials', instanceUrl: server.url, clientId: emu.org.clientId, clientSecret: emu.org.clientSecret } });
    const { id } = await client.create('Account', { Name: 'Over TCP' });
    assert.equal((await client.retrieve<{ Name: string }>('Account', id)).Name, 'Over TCP');
    // Expire every session server-side: the next call refreshes (re-logs in) once and succeeds.
    await fetch(`${server.url}/__emulator/sessions/expire`, { method: 'POST' });
    assert.equal((await client.retrieve<{ Name: string }>('Account', id)).Name, 'Over TCP');
    assert.equal(client.auth.tokenRequests, 2);
  });
});

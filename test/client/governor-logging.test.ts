/**
 * Governor refusals carry the numbers; request logs never contain secrets.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { SalesforceClient } from '../../src/client/index.ts';
import { LimitError } from '../../src/client/errors.ts';
import { ApiGovernor, Semaphore, parseLimitInfo } from '../../src/client/governor.ts';
import { redactUrl } from '../../src/client/log.ts';
import { FAST_RETRY, scriptedServer, tokenBody, type ScriptedServer } from './helpers/scripted-server.ts';

const V = '/services/data/v62.0';
const servers: ScriptedServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

describe('API budget governor', () => {
  it('takes the first reading from the first response (no /limits call), then refuses once the run share is spent, with the numbers', async () => {
    let used = 9000;
    const srv = await scriptedServer({
      [`GET ${V}/limits`]: [() => ({ json: { DailyApiRequests: { Max: 10000, Remaining: 10000 - used } } })],
      [`GET ${V}/sobjects/Account/001000000000001AAA`]: [() => ({ json: { Id: '001000000000001AAA' }, headers: { 'sforce-limit-info': `api-usage=${++used}/10000` } })],
    });
    servers.push(srv);
    const events: string[] = [];
    // 1000 calls left at the start; a 0.3 % share is 3 calls.
    const governor = new ApiGovernor({ runShare: 0.003, orgCeiling: 1 });
    governor.on('refused', (e) => events.push(e.code));
    const client = new SalesforceClient({ credentials: { kind: 'accessToken', instanceUrl: srv.url, accessToken: 't' }, governor, retry: FAST_RETRY });
    for (let i = 0; i < 3; i++) await client.retrieve('Account', '001000000000001AAA');
    await assert.rejects(client.retrieve('Account', '001000000000001AAA'), (err: unknown) => {
      assert.ok(err instanceof LimitError);
      assert.equal(err.code, 'RUN_BUDGET_EXCEEDED');
      assert.equal(err.numbers.runBudget, 3);
      assert.equal(err.numbers.runUsed, 3);
      assert.equal(err.numbers.used, 9003);
      assert.equal(err.numbers.max, 10000);
      assert.match(err.message, /3 of 3 calls used \(0% of the 1000 calls the org had left/);
      return true;
    });
    assert.equal(srv.count(`GET ${V}/limits`), 0, 'the first reading came from the first response');
    assert.equal(srv.count(`GET ${V}/sobjects/Account/001000000000001AAA`), 3, 'the refused call never left');
    assert.deepEqual(events, ['RUN_BUDGET_EXCEEDED']);
  });

  it('refuses at the org ceiling (80 % by default) using Sforce-Limit-Info', async () => {
    const srv = await scriptedServer({
      [`GET ${V}/sobjects/Account/001000000000001AAA`]: [{ json: { Id: 'x' }, headers: { 'sforce-limit-info': 'api-usage=799/1000' } }, { json: { Id: 'x' }, headers: { 'sforce-limit-info': 'api-usage=800/1000' } }],
    });
    servers.push(srv);
    const client = new SalesforceClient({ credentials: { kind: 'accessToken', instanceUrl: srv.url, accessToken: 't' }, retry: FAST_RETRY });
    await client.retrieve('Account', '001000000000001AAA');
    await client.retrieve('Account', '001000000000001AAA');
    await assert.rejects(client.retrieve('Account', '001000000000001AAA'), (err: unknown) =>
      err instanceof LimitError && err.code === 'ORG_CEILING_REACHED' && err.numbers.used === 800 && err.numbers.max === 1000 && err.numbers.ceiling === 800 && /800\/1000/.test(err.message));
    assert.equal(srv.count(`GET ${V}/sobjects/Account/001000000000001AAA`), 2);
  });

  it('a run that starts with the org at its ceiling is refused after at most one call, parallel callers included', async () => {
    const srv = await scriptedServer({
      [`GET ${V}/limits`]: [() => ({ json: { DailyApiRequests: { Max: 1000, Remaining: 100 } } })],
      [`GET ${V}/sobjects/Account/001000000000001AAA`]: [{ json: { Id: 'x' }, headers: { 'sforce-limit-info': 'api-usage=900/1000' } }],
    });
    servers.push(srv);
    const client = new SalesforceClient({ credentials: { kind: 'accessToken', instanceUrl: srv.url, accessToken: 't' }, retry: FAST_RETRY });
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => client.retrieve('Account', '001000000000001AAA')));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, 'only the probe went out');
    for (const r of results.filter((x) => x.status === 'rejected')) {
      const err = (r as PromiseRejectedResult).reason;
      assert.ok(err instanceof LimitError && err.code === 'ORG_CEILING_REACHED' && err.numbers.used === 900 && err.numbers.max === 1000 && err.numbers.ceiling === 800, String(err));
    }
    assert.equal(srv.count(`GET ${V}/sobjects/Account/001000000000001AAA`), 1);
    assert.equal(srv.count(`GET ${V}/limits`), 0);
  });

  it('reads /limits once when the probe response carries no Sforce-Limit-Info; governs nothing when neither gives a reading', async () => {
    const srv = await scriptedServer({
      [`GET ${V}/limits`]: [{ json: { DailyApiRequests: { Max: 1000, Remaining: 100 } } }],
      [`GET ${V}/sobjects/Account/001000000000001AAA`]: [{ json: { Id: 'x' } }],
    });
    servers.push(srv);
    const client = new SalesforceClient({ credentials: { kind: 'accessToken', instanceUrl: srv.url, accessToken: 't' }, retry: FAST_RETRY });
    await client.retrieve('Account', '001000000000001AAA');
    await assert.rejects(client.retrieve('Account', '001000000000001AAA'), (err: unknown) => err instanceof LimitError && err.code === 'ORG_CEILING_REACHED' && err.numbers.used === 900);
    assert.equal(srv.count(`GET ${V}/limits`), 1);

    const bare = await scriptedServer({
      [`GET ${V}/limits`]: [{ status: 403, json: [{ errorCode: 'INSUFFICIENT_ACCESS', message: 'no View Setup' }] }],
      [`GET ${V}/sobjects/Account/001000000000001AAA`]: [{ json: { Id: 'x' } }],
    });
    servers.push(bare);
    const c2 = new SalesforceClient({ credentials: { kind: 'accessToken', instanceUrl: bare.url, accessToken: 't' }, retry: FAST_RETRY });
    await Promise.all(Array.from({ length: 3 }, () => c2.retrieve('Account', '001000000000001AAA')));
    await c2.retrieve('Account', '001000000000001AAA');
    assert.equal(bare.count(`GET ${V}/sobjects/Account/001000000000001AAA`), 4);
    assert.equal(bare.count(`GET ${V}/limits`), 1, 'the fallback read is tried once, not per call');
  });

  it('a probe that got no answer at all does not switch the governor off: the next call probes again', async () => {
    const srv = await scriptedServer({
      [`GET ${V}/limits`]: [{ drop: 'before' }],
      [`GET ${V}/sobjects/Account/001000000000001AAA`]: [{ drop: 'before' }, { json: { Id: 'x' }, headers: { 'sforce-limit-info': 'api-usage=900/1000' } }],
    });
    servers.push(srv);
    const client = new SalesforceClient({ credentials: { kind: 'accessToken', instanceUrl: srv.url, accessToken: 't' }, retry: { ...FAST_RETRY, maxAttempts: 1 } });
    await assert.rejects(client.retrieve('Account', '001000000000001AAA'));
    await client.retrieve('Account', '001000000000001AAA');
    await assert.rejects(client.retrieve('Account', '001000000000001AAA'), (err: unknown) => err instanceof LimitError && err.code === 'ORG_CEILING_REACHED');
    assert.equal(srv.count(`GET ${V}/sobjects/Account/001000000000001AAA`), 2);
  });

  it('pauses at the ceiling and resumes when /limits shows room', async () => {
    const readings = [{ used: 500, max: 1000 }];
    const g = new ApiGovernor({ onCeiling: 'pause', pausePollMs: 1, maxPauseMs: 10_000 });
    let limitsReads = 0;
    g.readLimits = async () => {
      limitsReads++;
      return readings.shift();
    };
    const seen: string[] = [];
    g.on('paused', () => seen.push('paused'));
    g.on('resumed', () => seen.push('resumed'));
    const probe = await g.admit();
    g.observe('api-usage=900/1000');
    probe();
    const release = await g.admit();
    release();
    assert.deepEqual(seen, ['paused', 'resumed']);
    assert.equal(limitsReads, 1, 'only the paused wait read /limits');
  });

  it('caps concurrent long-running requests', async () => {
    const sem = new Semaphore(2);
    const a = await sem.acquire();
    await sem.acquire();
    let third = false;
    const p = sem.acquire().then((r) => {
      third = true;
      return r;
    });
    await new Promise((r) => setImmediate(r));
    assert.equal(third, false);
    a();
    (await p)();
    assert.equal(third, true);
    assert.equal(sem.inUse, 1);
  });

  it('parses Sforce-Limit-Info', () => {
    assert.deepEqual(parseLimitInfo('api-usage=10018/100000'), { used: 10018, max: 100000 });
    assert.equal(parseLimitInfo(null), undefined);
  });
});

describe('request logging', () => {
  it('logs method, path, status, ms and api-usage with every secret redacted', async () => {
    const secretAccess = '00D000000000001!AQ4AQFakeAccessTokenValue1234567890';
    const secretRefresh = '5Aep861SecretRefreshTokenValueXYZ0123456789';
    const srv: ScriptedServer = await scriptedServer({
      'POST /services/oauth2/token': [() => ({ json: tokenBody(srv.url, secretAccess, { refresh_token: secretRefresh }) })],
      [`GET ${V}/query`]: [{ json: { totalSize: 0, done: true, records: [] }, headers: { 'sforce-limit-info': 'api-usage=5/100' } }],
      'GET /services/apexrest/hook': [{ json: {} }],
    });
    servers.push(srv);
    const lines: Array<{ obj: Record<string, unknown>; msg?: string }> = [];
    const logger = { debug: (obj: object, msg?: string) => lines.push({ obj: obj as Record<string, unknown>, msg }), info: (obj: object, msg?: string) => lines.push({ obj: obj as Record<string, unknown>, msg }), warn: () => {} };
    const client = new SalesforceClient({
      credentials: { kind: 'password', loginUrl: srv.url, clientId: 'cid', clientSecret: 'TopSecretClientSecret', username: 'u@x', password: 'Hunter2Password' },
      governor: false,
      logger,
      logHeaders: true,
    });
    await client.query('SELECT Id FROM Account').toArray();
    await client.request(`/services/apexrest/hook?access_token=${secretAccess}&refresh_token=${secretRefresh}&client_secret=x&password=y&assertion=z`);
    const text = JSON.stringify(lines);
    for (const secret of [secretAccess, secretRefresh, 'TopSecretClientSecret', 'Hunter2Password', 'Bearer ']) assert.ok(!text.includes(secret), `log leaked ${secret}`);
    const q = lines.find((l) => String(l.obj.path).startsWith(`${V}/query`))!;
    assert.equal(q.obj.method, 'GET');
    assert.equal(q.obj.status, 200);
    assert.equal(q.obj.apiUsage, '5/100');
    assert.equal(typeof q.obj.ms, 'number');
    const hdr = lines.find((l) => (l.obj.headers as Record<string, string> | undefined)?.authorization);
    assert.equal((hdr!.obj.headers as Record<string, string>).authorization, '[REDACTED]');
    assert.match(redactUrl('/x?token=abc&q=SELECT'), /token=%5BREDACTED%5D&q=SELECT/);
  });
});

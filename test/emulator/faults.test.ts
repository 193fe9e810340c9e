/**
 * Every fault of the emulator, set from a `--faults` spec and at runtime through `/__emulator/faults`:
 * http503, http429, lockrow, reset (a real socket: the client sees part of the body, then a connection
 * error), latency, tokenTtl, dailyLimit, commitDelay.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { describe, test } from 'node:test';
import { DEFAULT_FAULTS, parseFaultSpec } from '../../src/emulator/faults.ts';
import { login, testOrg, V } from '../helpers/emulator.ts';
import { servedOrg } from '../helpers/served.ts';

describe('fault spec', () => {
  test('parses every key; unknown keys, bad numbers and probabilities over 1 are named in the error', () => {
    const s = parseFaultSpec('http503=0.1,http429=0.2,lockrow=0.3,reset=0.4,latency=50,tokenTtl=60,dailyLimit=15000,commitDelay=500,concurrentLongLimit=5,longRequestMs=1000,streamDrop=0.5,gap=0.6,overflow=7');
    assert.deepEqual(s, { http503: 0.1, http429: 0.2, lockrow: 0.3, reset: 0.4, latency: 50, tokenTtl: 60, dailyLimit: 15000, commitDelay: 500, concurrentLongLimit: 5, longRequestMs: 1000, streamDrop: 0.5, gap: 0.6, overflow: 7 });
    assert.deepEqual(parseFaultSpec(''), DEFAULT_FAULTS);
    assert.throws(() => parseFaultSpec('http500=0.1'), /unknown fault "http500".*use one of http503/);
    assert.throws(() => parseFaultSpec('latency=abc'), /fault "latency" needs a non-negative number, got "abc"/);
    assert.throws(() => parseFaultSpec('latency'), /needs a non-negative number/);
    assert.throws(() => parseFaultSpec('http503=2'), /probability between 0 and 1, got 2/);
  });
});

describe('faults on API calls', () => {
  test('concurrent long-running requests: past the limit a new call gets 403 ConcurrentPerOrgLongTxn; freed slots admit again', async () => {
    const org = await testOrg({ faults: parseFaultSpec('concurrentLongLimit=2,longRequestMs=50,latency=400') });
    const running = [org.api('/sobjects/Account/describe'), org.api('/limits')];
    await new Promise((r) => setTimeout(r, 150));
    const refused = await org.api('/sobjects');
    assert.equal(refused.status, 403);
    assert.deepEqual(await refused.json(), [{ message: 'ConcurrentPerOrgLongTxn Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }]);
    // The admin API is not an API call and is never refused.
    assert.equal((await org.emu.request('/__emulator/stats')).status, 200);
    for (const res of await Promise.all(running)) assert.equal(res.status, 200);
    assert.equal((await org.api('/sobjects')).status, 200, 'once the long calls finished, calls are admitted again');
    org.close();
  });

  test('calls under the long-running threshold never count toward the limit', async () => {
    const org = await testOrg({ faults: parseFaultSpec('concurrentLongLimit=1,longRequestMs=60000,latency=100') });
    const all = await Promise.all([org.api('/sobjects'), org.api('/sobjects'), org.api('/sobjects')]);
    assert.deepEqual(all.map((r) => r.status), [200, 200, 200]);
    org.close();
  });

  test('http503 (from a spec): 503 SERVER_UNAVAILABLE with Retry-After; OAuth is not affected', async () => {
    const org = await testOrg({ faults: parseFaultSpec('http503=1') });
    const res = await org.api('/sobjects');
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '1');
    assert.deepEqual(await res.json(), [{ message: 'Server unavailable, try again later', errorCode: 'SERVER_UNAVAILABLE' }]);
    assert.ok(await login(org.emu));
    org.close();
  });

  test('http429 at runtime, then off again', async () => {
    const org = await testOrg();
    const set = await org.emu.request('/__emulator/faults', { method: 'POST', body: 'http429=1' });
    assert.equal(((await set.json()) as { http429: number }).http429, 1);
    const res = await org.api('/sobjects');
    assert.equal(res.status, 429);
    assert.equal(res.headers.get('retry-after'), '1');
    assert.equal(((await res.json()) as { errorCode: string }[])[0].errorCode, 'REQUEST_LIMIT_EXCEEDED');
    await org.emu.request('/__emulator/faults', { method: 'POST', body: '{"http429": 0}' });
    assert.equal((await org.api('/sobjects')).status, 200);
    assert.ok(org.emu.stats.faults >= 1);
    org.close();
  });

  test('lockrow: writes fail with UNABLE_TO_LOCK_ROW, reads work', async () => {
    const org = await testOrg({ faults: parseFaultSpec('lockrow=1') });
    const res = await org.api('/sobjects/Account', { method: 'POST', json: { Name: 'Locked' } });
    assert.equal(res.status, 400);
    assert.deepEqual(await res.json(), [{ message: 'unable to obtain exclusive access to this record or 1 records', errorCode: 'UNABLE_TO_LOCK_ROW' }]);
    assert.equal((await org.api('/query?q=SELECT+Id+FROM+Account')).status, 200);
    await org.emu.request('/__emulator/faults', { method: 'POST', body: 'lockrow=0' });
    assert.equal((await org.api('/sobjects/Account', { method: 'POST', json: { Name: 'Free' } })).status, 201);
    org.close();
  });

  test('latency delays every API response by at least MS', async () => {
    const org = await testOrg();
    await org.emu.request('/__emulator/faults', { method: 'POST', body: 'latency=120' });
    const t0 = performance.now();
    assert.equal((await org.api('/sobjects')).status, 200);
    assert.ok(performance.now() - t0 >= 115, 'latency is a lower bound');
    org.close();
  });

  test('tokenTtl: a token expires after that many seconds of the org clock', async () => {
    const org = await testOrg({ faults: parseFaultSpec('tokenTtl=60') });
    assert.equal((await org.api('/sobjects')).status, 200);
    org.emu.org.clock.advance(61_000);
    const res = await org.api('/sobjects');
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as { errorCode: string }[])[0].errorCode, 'INVALID_SESSION_ID');
    org.close();
  });

  test('dailyLimit: the call after N answers 403 REQUEST_LIMIT_EXCEEDED; Sforce-Limit-Info counts up to N', async () => {
    const org = await testOrg({ faults: parseFaultSpec('dailyLimit=3') });
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await org.api('/sobjects');
      assert.equal(res.status, 200);
      seen.push(res.headers.get('sforce-limit-info')!);
    }
    assert.deepEqual(seen, ['api-usage=1/3', 'api-usage=2/3', 'api-usage=3/3']);
    const over = await org.api('/sobjects');
    assert.equal(over.status, 403);
    assert.deepEqual(await over.json(), [{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }]);
    org.close();
  });

  test('commitDelay (at runtime): a REST write is invisible to queries until its commit time passes', async () => {
    const org = await testOrg({ random: () => 0.999 });
    const o = org.emu.org;
    o.clock.set(Date.UTC(2024, 0, 1), true);
    await org.emu.request('/__emulator/faults', { method: 'POST', body: 'commitDelay=5000' });
    const created = await org.api('/sobjects/Account', { method: 'POST', json: { Name: 'Late Co' } });
    assert.equal(created.status, 201);
    const count = async () => ((await (await org.api("/query?q=SELECT+Id+FROM+Account+WHERE+Name='Late Co'")).json()) as { totalSize: number }).totalSize;
    assert.equal(await count(), 0);
    o.clock.advance(4000);
    assert.equal(await count(), 0);
    o.clock.advance(1000);
    assert.equal(await count(), 1);
    org.close();
  });
});

describe('reset fault on a real socket', () => {
  /** A raw HTTP GET that reports what arrived before the connection failed. */
  function rawGet(url: string, token: string): Promise<{ status?: number; received: string; error?: Error }> {
    return new Promise((resolve) => {
      let received = '';
      let status: number | undefined;
      const req = http.get(url, { headers: { authorization: `Bearer ${token}` }, agent: false }, (res) => {
        status = res.statusCode;
        res.setEncoding('utf8');
        res.on('data', (c: string) => (received += c));
        res.on('end', () => resolve({ status, received }));
        res.on('error', (error) => resolve({ status, received, error }));
      });
      req.on('error', (error) => resolve({ status, received, error }));
    });
  }

  test('the client gets the status and part of the body, then a connection error; the call still counted', async () => {
    const org = await servedOrg({ faults: parseFaultSpec('reset=1') });
    const token = await login(org.emu);
    const r = await rawGet(`${org.url}${V}/sobjects`, token);
    assert.equal(r.status, 200);
    assert.ok(r.error, 'the response must fail');
    assert.ok(r.received.length > 0, 'part of the body arrived first');
    assert.throws(() => JSON.parse(r.received));
    assert.ok(r.received.startsWith('{"encoding"'));
    // fetch sees the same: headers, then a failing body.
    const res = await fetch(`${org.url}${V}/sobjects`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    await assert.rejects(res.text());
    assert.equal(org.emu.org.apiUsage, 2);
    await org.close();
  });

  test('a response without a body (204) is dropped before anything is sent; the write happened', async () => {
    const org = await servedOrg();
    const token = await login(org.emu);
    const created = (await (await fetch(`${org.url}${V}/sobjects/Account`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"Name":"Doomed"}' })).json()) as { id: string };
    await fetch(`${org.url}/__emulator/faults`, { method: 'POST', body: 'reset=1' });
    await assert.rejects(fetch(`${org.url}${V}/sobjects/Account/${created.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } }));
    await fetch(`${org.url}/__emulator/faults`, { method: 'POST', body: 'reset=0' });
    const after = await fetch(`${org.url}${V}/sobjects/Account/${created.id}`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(after.status, 404);
    await org.close();
  });
});

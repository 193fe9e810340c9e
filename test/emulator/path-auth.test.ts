/**
 * The path is normalised once, before version handling, authentication and routing. This walks every
 * registered route over a real socket (raw request lines, so nothing tidies the path on the way) with the
 * untidy forms clients send — `//`, `/./`, `/x/../`, encoded slashes, a trailing slash — and proves that each
 * protected route answers 401 without a token, and that public routes answer as their tidy path does.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { servedOrg, type ServedOrg } from '../helpers/served.ts';
import { login } from '../helpers/emulator.ts';
import { normalizePath } from '../../src/emulator/http/path.ts';

/** The routes served without a session; a route missing from here must answer 401 without one. */
const PUBLIC = new Set([
  'GET /', 'GET /services/data', 'POST /services/oauth2/token', 'GET /services/oauth2/authorize', 'POST /services/oauth2/authorize',
  'GET /services/oauth2/revoke', 'POST /services/oauth2/revoke', 'POST /services/oauth2/introspect', 'GET /services/oauth2/singleaccess',
  'POST /services/oauth2/singleaccess', 'GET /secur/frontdoor.jsp', 'GET /id/keys', 'GET /.well-known/openid-configuration',
  'POST /__emulator/reset', 'GET /__emulator/faults', 'POST /__emulator/faults', 'PUT /__emulator/faults', 'POST /__emulator/clock',
  'GET /__emulator/clock', 'GET /__emulator/stats', 'POST /__emulator/sessions/expire',
  'GET /__emulator/cdc', 'PUT /__emulator/cdc', 'POST /__emulator/cdc', 'POST /__emulator/events/gap', 'POST /__emulator/events/drop',
  'GET /__emulator/outbound-messages', 'POST /__emulator/outbound-messages/retry',
]);

const PARAMS: Record<string, string> = {
  version: 'v62.0', apiVersion: '62.0', object: 'Account', id: '001000000000001AAA', field: 'Id', value: '001000000000001AAA',
  name: 'NewContact', locator: '01g000000000001AAA-2000', jobId: '750000000000001AAA', batchId: '751000000000001AAA',
  resultId: '752000000000001AAA', recordId: '001000000000001AAA', recordTypeId: '012000000000000AAA', contextId: '001000000000001AAA',
  orgId: '00D000000000001AAA', userId: '005000000000001AAA',
};

function concrete(pattern: string): string {
  return pattern.replace(/:(\w+)/g, (_, p: string) => {
    assert.ok(PARAMS[p], `the walk needs a sample value for :${p}`);
    return PARAMS[p];
  });
}

/** The untidy spellings of a tidy path. */
function variants(path: string): Record<string, string> {
  const segs = path.split('/').slice(1);
  if (segs.length === 1 && segs[0] === '') return { double: '//', dot: '/./', dotdot: '/x/../' };
  const mid = Math.max(1, segs.length - 1);
  return {
    double: `/${path}`.replace(`/${segs[mid - 1]}/`, `/${segs[mid - 1]}//`),
    dot: `/./${segs.slice(0, mid).join('/')}/./${segs.slice(mid).join('/')}`,
    dotdot: `/${segs[0]}/zz/../${segs.slice(1).join('/')}`.replace(/\/$/, ''),
    encodedSlash: `/${segs.slice(0, mid).join('/')}%2F${segs.slice(mid).join('/')}`,
    trailing: `${path}/`,
  };
}

interface Raw {
  status: number;
  type: string;
  body: string;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

function raw(base: string, method: string, path: string, headers: Record<string, string> = {}): Promise<Raw> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const body = method === 'POST' || method === 'PATCH' || method === 'PUT' ? '{}' : undefined;
    const h = { 'content-type': 'application/json', ...(body ? { 'content-length': String(body.length) } : {}), ...headers };
    const req = http.request({ host: u.hostname, port: u.port, method, path, agent, headers: h }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type'] ?? ''), body }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

let org: ServedOrg;
let token: string;

before(async () => {
  org = await servedOrg();
  token = await login(org.emu);
});
after(async () => {
  agent.destroy();
  await org.close();
});

test('normalizePath collapses, resolves and strips', () => {
  assert.equal(normalizePath('//services//data/v62.0/'), '/services/data/v62.0');
  assert.equal(normalizePath('/services/./data/%2e/v62.0'), '/services/data/v62.0');
  assert.equal(normalizePath('/services/x/../data/%2E%2e/data'), '/services/data');
  assert.equal(normalizePath('/services%2Fdata%2fv62.0'), '/services/data/v62.0');
  assert.equal(normalizePath('/../../services/data'), '/services/data');
  assert.equal(normalizePath('/'), '/');
  assert.equal(normalizePath('/sobjects/Account/Name/A%20B'), '/sobjects/Account/Name/A%20B');
});

test('every protected route answers 401 without a token, in every spelling of its path', async () => {
  const routes = org.emu.router.routes().filter((r) => r.method !== '*' && r.method !== 'HEAD');
  assert.ok(routes.length > 100, `walked ${routes.length} routes`);
  let checked = 0;
  for (const { method, pattern } of routes) {
    // The emulator's own admin API is public by design (every route under /__emulator).
    if (PUBLIC.has(`${method} ${pattern}`) || pattern.startsWith('/__emulator/')) continue;
    const path = concrete(pattern);
    for (const [kind, p] of Object.entries({ tidy: path, ...variants(path) })) {
      const res = await raw(org.url, method, p, pattern.startsWith('/services/async/') ? { 'content-type': 'application/xml; charset=UTF-8' } : {});
      const where = `${method} ${p} (${kind}, route ${pattern})`;
      if (pattern.startsWith('/cometd/')) {
        // CometD answers in Bayeux: each message fails with 401::Authentication invalid and reconnect none.
        assert.equal(res.status, 200, where);
        assert.equal((JSON.parse(res.body) as { error: string }[])[0].error, '401::Authentication invalid', where);
      } else if (pattern.startsWith('/services/async/')) {
        // Bulk API 1.0 reports a missing session in its own shape, with 400, as Salesforce does.
        assert.equal(res.status, 400, where);
        assert.match(res.body, /<exceptionCode>InvalidSessionId<\/exceptionCode>\s*<exceptionMessage>Invalid session id<\/exceptionMessage>/, where);
      } else {
        assert.equal(res.status, 401, `${where}: ${res.body}`);
        assert.deepEqual(JSON.parse(res.body), [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }], where);
      }
      checked++;
    }
  }
  assert.ok(checked > 500, `checked ${checked} requests`);
});

test('Bulk API 1.0 answers InvalidSessionId in JSON for a JSON client', async () => {
  const res = await raw(org.url, 'POST', '//services/async/62.0/job');
  assert.equal(res.status, 400);
  const json = await raw(org.url, 'GET', '/services/async/62.0/job/750000000000001AAA/', { 'content-type': 'application/json', accept: 'application/json' });
  assert.deepEqual([json.status, JSON.parse(json.body)], [400, { exceptionCode: 'InvalidSessionId', exceptionMessage: 'Invalid session id' }]);
});

test('public routes answer the same in every spelling, and are not asked for a session', async () => {
  for (const key of PUBLIC) {
    const [method, pattern] = key.split(' ');
    if (method !== 'GET') continue;
    const path = concrete(pattern);
    const tidy = await raw(org.url, method, path);
    assert.ok(tidy.status < 500, `${key}: ${tidy.status} ${tidy.body}`);
    assert.doesNotMatch(tidy.body, /INVALID_SESSION_ID/, key);
    for (const [kind, p] of Object.entries(variants(path))) {
      const res = await raw(org.url, method, p);
      assert.deepEqual([res.status, res.type], [tidy.status, tidy.type], `${key} as ${p} (${kind})`);
    }
  }
  // The token endpoint, through an untidy path, still signs in.
  const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: org.emu.org.clientId, client_secret: org.emu.org.clientSecret }).toString();
  const signIn = await new Promise<Raw>((resolve, reject) => {
    const u = new URL(org.url);
    const req = http.request({ host: u.hostname, port: u.port, method: 'POST', path: '//services/oauth2/token/', agent, headers: { 'content-type': 'application/x-www-form-urlencoded' } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, type: '', body }));
    });
    req.on('error', reject);
    req.end(form);
  });
  assert.equal(signIn.status, 200, signIn.body);
  assert.ok((JSON.parse(signIn.body) as { access_token: string }).access_token);
});

test('with a token, the untidy spellings reach the same resource as the tidy path', async () => {
  const auth = { authorization: `Bearer ${token}` };
  // The sf CLI keeps a trailing slash on instance URLs: `GET //services/data/v66.0` is its first call.
  const dir = await raw(org.url, 'GET', '//services/data/v66.0', auth);
  assert.equal(dir.status, 200, dir.body);
  assert.equal((JSON.parse(dir.body) as { sobjects: string }).sobjects, '/services/data/v66.0/sobjects');
  const tidy = await raw(org.url, 'GET', '/services/data/v62.0/query?q=SELECT+Id+FROM+User+LIMIT+1', auth);
  assert.equal(tidy.status, 200);
  for (const p of ['//services/data/v62.0/query/?q=SELECT+Id+FROM+User+LIMIT+1', '/services/data/./v62.0/query?q=SELECT+Id+FROM+User+LIMIT+1', '/services/data/v62.0%2Fquery?q=SELECT+Id+FROM+User+LIMIT+1']) {
    const res = await raw(org.url, 'GET', p, auth);
    assert.deepEqual([res.status, JSON.parse(res.body)], [200, JSON.parse(tidy.body)], p);
  }
  // Every GET route answers with the same status in every spelling.
  for (const { method, pattern } of org.emu.router.routes()) {
    if (method !== 'GET' || pattern.startsWith('/__emulator') || pattern.includes(':locator')) continue;
    const path = concrete(pattern);
    const base = await raw(org.url, 'GET', path, auth);
    for (const [kind, p] of Object.entries(variants(path))) {
      const res = await raw(org.url, 'GET', p, auth);
      assert.equal(res.status, base.status, `GET ${p} (${kind}) vs ${path}: ${res.body.slice(0, 200)}`);
    }
  }
});

test('in-process requests treat a leading // as a path, not a host', async () => {
  const res = await org.emu.request('//services/data/v62.0/sobjects');
  assert.equal(res.status, 401);
});

test('a /services/data path without a vNN.N version is not found, after authentication', async () => {
  const anonymous = await raw(org.url, 'GET', '/services/data/latest/sobjects');
  assert.equal(anonymous.status, 401);
  for (const p of ['/services/data/latest', '/services/data/v62/sobjects', '/services/data/62.0']) {
    const res = await raw(org.url, 'GET', p, { authorization: `Bearer ${token}` });
    assert.deepEqual([res.status, JSON.parse(res.body)], [404, [{ message: 'The requested resource does not exist', errorCode: 'NOT_FOUND' }]], p);
  }
});

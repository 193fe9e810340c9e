import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { EMU, harness, PASSWORD, until, type Harness } from './helpers.ts';

describe('sfbridge serve API: access rules', () => {
  let h: Harness;
  before(async () => {
    h = await harness({ start: false });
  });
  after(() => h.close());

  it('health is public; readiness follows the service', async () => {
    assert.deepEqual((await h.api('/healthz', { auth: false })).body, { status: 'ok' });
    const notYet = await h.api('/readyz', { auth: false });
    assert.equal(notYet.status, 503);
    await h.service.start();
    assert.deepEqual(await h.api('/readyz', { auth: false }).then((r) => [r.status, r.body]), [200, { status: 'ready' }]);
  });

  it('every API, Coco and metrics route refuses a request without credentials', async () => {
    const doc = (await h.api('/api/v1/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
    const routes: Array<[string, string]> = [['GET', '/metrics'], ['GET', '/api/v1/openapi.json'], ['GET', '/api/v1/docs']];
    for (const [template, ops] of Object.entries(doc.paths)) for (const m of Object.keys(ops)) routes.push([m.toUpperCase(), template.replace(/\{[^}]+\}/g, 'x1')]);
    let checked = 0;
    for (const [method, path] of routes) {
      if (path === '/healthz' || path === '/readyz') continue;
      const res = await h.app.request(path, { method, headers: { 'content-type': 'application/json' }, body: method === 'GET' || method === 'DELETE' ? undefined : '{}' });
      assert.equal(res.status, 401, `${method} ${path} without credentials answered ${res.status}`);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'UNAUTHORIZED');
      assert.equal(res.headers.get('www-authenticate'), 'Bearer');
      checked++;
    }
    assert.ok(checked >= 25, `only ${checked} routes checked`);
  });

  it('dashboard pages redirect to sign-in; the OAuth callback and sign-in pages are public', async () => {
    for (const path of ['/', '/oauth/authorize/emu', '/api/v1/docs?x=1'.replace('/api/v1/docs', '/nope')]) {
      const res = await h.app.request(path);
      assert.equal(res.status, 303, path);
      assert.equal(res.headers.get('location'), `/login?next=${encodeURIComponent(path)}`);
    }
    assert.equal((await h.app.request('/login')).status, 200);
    assert.equal((await h.app.request('/oauth/callback?state=x&code=y')).status, 400);
    assert.equal((await h.app.request('/assets/app.css')).status, 200);
  });

  it('a wrong, malformed or revoked token is refused', async () => {
    for (const value of ['Bearer sfb_nope', 'Bearer nope', 'Basic dXNlcjpwdw==']) {
      const res = await h.app.request('/api/v1/connections', { headers: { authorization: value } });
      assert.equal(res.status, 401, value);
    }
    const { token } = await h.auth.createToken('short-lived');
    assert.equal((await h.app.request('/api/v1/connections', { headers: { authorization: `Bearer ${token}` } })).status, 200);
    await h.service.state.revokeToken('short-lived', new Date().toISOString());
    const res = await h.app.request('/api/v1/connections', { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 401);
    assert.match(((await res.json()) as { error: { message: string } }).error.message, /unknown or revoked/);
  });

  it('tokens are stored hashed and shown once', async () => {
    const { token } = await h.auth.createToken('ci');
    const rows = await h.service.state.listTokens();
    const row = rows.find((r) => r.name === 'ci')!;
    assert.notEqual(row.hash, token);
    assert.equal(row.hash.length, 64);
    assert.ok(!JSON.stringify(rows).includes(token));
    await assert.rejects(h.auth.createToken('ci'), /exists already/);
  });

  it('password sign-in: CSRF cookie, wrong password, session cookie attributes, sign-out', async () => {
    const page = await h.app.request('/login');
    const csrfCookie = /sfbridge_login_csrf=([^;]+)/.exec(page.headers.get('set-cookie')!)![1];
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())![1];
    assert.equal(decodeURIComponent(csrfCookie), csrf);
    const post = (form: Record<string, string>, cookie = `sfbridge_login_csrf=${csrfCookie}`, headers: Record<string, string> = {}) =>
      h.app.request('/login', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie, ...headers }, body: new URLSearchParams(form) });
    assert.equal((await post({ _csrf: csrf, password: PASSWORD }, '')).status, 403, 'no CSRF cookie');
    assert.equal((await post({ _csrf: 'forged', password: PASSWORD })).status, 403, 'CSRF mismatch');
    assert.equal((await post({ _csrf: csrf, password: PASSWORD }, undefined, { origin: 'https://evil.example' })).status, 403, 'foreign origin');
    assert.equal((await post({ _csrf: csrf, password: 'wrong' })).status, 401);
    const ok = await post({ _csrf: csrf, password: PASSWORD, next: '//evil.example/' });
    assert.equal(ok.status, 303);
    assert.equal(ok.headers.get('location'), '/', 'an off-site next is ignored');
    const setCookie = ok.headers.get('set-cookie')!;
    assert.match(setCookie, /^sfbridge_session=[^;]+; Path=\/; HttpOnly; SameSite=Lax; Max-Age=43200$/);
    const cookie = setCookie.split(';')[0];
    const overview = await h.app.request('/', { headers: { cookie } });
    assert.equal(overview.status, 200);
    const csrfToken = /name="csrf-token" content="([^"]+)"/.exec(await overview.text())![1];
    const out = await h.app.request('/logout', { method: 'POST', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ _csrf: csrfToken }) });
    assert.equal(out.status, 303);
    assert.equal((await h.app.request('/', { headers: { cookie } })).status, 303, 'the session is gone after sign-out');
  });

  it('too many wrong passwords answer 429', async () => {
    const page = await h.app.request('/login');
    const cookie = page.headers.get('set-cookie')!.split(';')[0];
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())![1];
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await h.app.request('/login', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie }, body: new URLSearchParams({ _csrf: csrf, password: `x${i}` }) })).status);
    assert.ok(statuses.slice(0, 9).every((s) => s === 401), statuses.join(','));
    assert.equal(statuses.at(-1), 429);
  });

  it('a login link works once', async () => {
    const link = await h.auth.createLoginLink();
    assert.equal((await h.app.request(`/login/link/${link}`)).status, 303);
    const again = await h.app.request(`/login/link/${link}`);
    assert.equal(again.status, 400);
    assert.match(await again.text(), /was used already/);
    assert.equal((await h.app.request('/login/link/not-a-link')).status, 400);
  });

  it('session writes need the CSRF token and a same-origin Origin; token writes do not', async () => {
    const { cookie, csrf } = await h.login();
    const body = JSON.stringify({ kind: 'sfdx', auth_url: 'force://id:secret:token@example.my.salesforce.com' });
    const put = (headers: Record<string, string>) => h.app.request('/api/v1/connections/csrf-test', { method: 'PUT', headers: { cookie, 'content-type': 'application/json', ...headers }, body });
    assert.equal((await put({})).status, 403);
    assert.equal((await put({ 'x-csrf-token': 'wrong' })).status, 403);
    assert.equal((await put({ 'x-csrf-token': csrf, origin: 'https://evil.example' })).status, 403);
    assert.equal((await put({ 'x-csrf-token': csrf, 'sec-fetch-site': 'cross-site' })).status, 403);
    assert.equal((await put({ 'x-csrf-token': csrf, origin: 'http://localhost' })).status, 201);
    assert.equal((await h.app.request('/api/v1/connections/csrf-test', { headers: { cookie } })).status, 200, 'reads need no CSRF token');
    const viaToken = await h.api('/api/v1/connections/csrf-test', { method: 'DELETE' });
    assert.equal(viaToken.status, 204);
  });

  it('hosts other than loopback names are refused (DNS rebinding)', async () => {
    const res = await h.app.request('http://attacker.example/api/v1/connections', { headers: { authorization: `Bearer ${h.token}` } });
    assert.equal(res.status, 421);
    assert.match(((await res.json()) as { error: { message: string } }).error.message, /--public-url|--allowed-host/);
    assert.equal((await h.app.request('http://127.0.0.1:8080/healthz')).status, 200);
  });
});

describe('sfbridge serve API: connections, pipelines, runs, dead letters, usage', () => {
  let h: Harness;
  before(async () => {
    h = await harness({
      seed: 'Account=40,Contact=60',
      pipelines: [{ name: 'file-sync', kind: 'sync', connection: 'emu', standard_objects_to_sync: ['Account'], schedule: '1h', lag: 0 }],
    });
    await until(async () => (await h.service.listRuns({ pipeline: 'file-sync' }))[0]?.status === 'succeeded', 15_000, 'the scheduled first run');
  });
  after(() => h.close());

  it('the OpenAPI document is a valid OpenAPI 3.1 document and names every route', async () => {
    const doc = (await h.api('/api/v1/openapi.json')).body;
    const result = await new Validator().validate(doc);
    assert.equal(result.valid, true, JSON.stringify(result.errors));
    for (const p of ['/api/v1/connections/{name}', '/api/v1/pipelines/{name}/runs', '/api/v1/runs/{id}/events', '/api/v1/dead-letters/{pipeline}/{id}/replay', '/api/v1/usage', '/connector/{id}', '/datasource/']) assert.ok(doc.paths[p], p);
    const page = await h.api('/api/v1/docs');
    assert.equal(page.status, 200);
    assert.match(page.body, /PUT \/api\/v1\/pipelines\/\{name\}/);
  });

  it('connections: secrets are write-only and never returned; file connections are read-only', async () => {
    const created = await h.api('/api/v1/connections/acme', { method: 'PUT', json: { kind: 'client_credentials', domain: 'acme', client_id: 'cid', client_secret: 's3cr3t-value' } });
    assert.equal(created.status, 201);
    assert.deepEqual(created.body.secrets_set, ['client_secret']);
    assert.ok(!JSON.stringify(created.body).includes('s3cr3t-value'));
    const replaced = await h.api('/api/v1/connections/acme', { method: 'PUT', json: { kind: 'client_credentials', domain: 'acme', client_id: 'cid2' } });
    assert.equal(replaced.status, 200);
    assert.deepEqual(replaced.body.secrets_set, ['client_secret'], 'a left-out secret keeps its value');
    const row = await h.service.state.getConnection('acme');
    assert.ok(row!.secrets && !row!.secrets.includes('s3cr3t-value'), 'sealed at rest');
    assert.equal((await h.service.connections.credentials('acme') as { clientSecret: string }).clientSecret, 's3cr3t-value');
    const list = await h.api('/api/v1/connections');
    assert.ok(!JSON.stringify(list.body).includes('s3cr3t-value'));
    assert.ok(!JSON.stringify(list.body).includes(h.emu.org.clientSecret));
    assert.deepEqual(list.body.connections.map((c: { name: string; source: string }) => [c.name, c.source]), [['emu', 'config'], ['acme', 'api']]);
    const ro = await h.api('/api/v1/connections/emu', { method: 'PUT', json: { kind: 'sfdx', auth_url: 'force://a:b:c@d' } });
    assert.equal(ro.status, 409);
    assert.equal(ro.body.error.code, 'READ_ONLY');
    const bad = await h.api('/api/v1/connections/bad', { method: 'PUT', json: { kind: 'client_credentials', client_id: 'x', instanceurl: 'https://a.my.salesforce.com' } });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /unknown key "instanceurl"/);
    assert.equal((await h.api('/api/v1/connections/acme', { method: 'DELETE' })).status, 204);
    assert.equal((await h.api('/api/v1/connections/acme')).status, 404);
  });

  it('connections test logs in and reports the org', async () => {
    const r = await h.api('/api/v1/connections/emu/test', { method: 'POST' });
    assert.deepEqual(r.body, { ok: true, org_id: h.emu.org.orgId, instance_url: EMU });
  });

  it('pipelines: create, run now, per-object counts and the event log', async () => {
    const created = await h.api('/api/v1/pipelines/contacts', { method: 'PUT', json: { kind: 'sync', connection: 'emu', standard_objects_to_sync: ['Contact'], schedule: { cron: '0 3 * * *' }, lag: 0 } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.source, 'api');
    await until(async () => (await h.service.listRuns({ pipeline: 'contacts' }))[0]?.status === 'succeeded', 15_000, 'the first run');
    const queued = await h.api('/api/v1/pipelines/contacts/runs', { method: 'POST' });
    assert.equal(queued.status, 202);
    await until(async () => (await h.service.listRuns({ pipeline: 'contacts' })).filter((r) => r.status === 'succeeded').length === 2, 15_000, 'the manual run');
    const runs = await h.api('/api/v1/runs?pipeline=contacts');
    assert.equal(runs.body.runs.length, 2);
    const [manual, first] = runs.body.runs;
    assert.equal(manual.trigger, 'manual');
    assert.equal(first.trigger, 'schedule');
    assert.deepEqual(first.objects.Contact, { read: 60, written: 60, deleted: 0, mode: 'rest', status: 'ok' });
    assert.equal(manual.objects.Contact.mode, 'incremental');
    assert.equal(manual.objects.Contact.deleted, 0);
    const one = await h.api(`/api/v1/runs/${first.id}`);
    assert.equal(one.body.status, 'succeeded');
    const events = await h.api(`/api/v1/runs/${first.id}/events`);
    const types = events.body.events.map((e: { type: string }) => e.type);
    assert.deepEqual([types[0], types.at(-1)], ['run:started', 'run:finished']);
    assert.ok(types.includes('object:finished'));
    const view = await h.api('/api/v1/pipelines/contacts');
    assert.equal(view.body.schedule.last_status, 'succeeded');
    assert.ok(Date.parse(view.body.schedule.next_run_at) > Date.now(), 'the cron schedule is set');
    assert.equal(await h.service.store('sqlite::memory:').then((s) => s.count('Contact')), 60);
  });

  it('pipelines: validation names the field; conflicts and file pipelines are refused', async () => {
    const typo = await h.api('/api/v1/pipelines/x', { method: 'PUT', json: { kind: 'sync', connection: 'emu', standard_object_to_sync: ['Account'] } });
    assert.equal(typo.status, 400);
    assert.match(typo.body.error.message, /standard_object_to_sync/);
    const kind = await h.api('/api/v1/pipelines/x', { method: 'PUT', json: { kind: 'teleport', connection: 'emu' } });
    assert.equal(kind.status, 400);
    const conn = await h.api('/api/v1/pipelines/x', { method: 'PUT', json: { kind: 'sync', connection: 'nope' } });
    assert.equal(conn.status, 400);
    assert.match(conn.body.error.message, /connection "nope" does not exist/);
    const clash = await h.api('/api/v1/pipelines/x', { method: 'PUT', json: { kind: 'sync', connection: 'emu', standard_objects_to_sync: ['Account'] } });
    assert.equal(clash.status, 409);
    assert.match(clash.body.error.message, /pipeline "file-sync" already mirrors Account/);
    const ro = await h.api('/api/v1/pipelines/file-sync', { method: 'PUT', json: { kind: 'sync', connection: 'emu' } });
    assert.equal(ro.status, 409);
    assert.equal((await h.api('/api/v1/pipelines/file-sync', { method: 'DELETE' })).status, 409);
    const cron = await h.api('/api/v1/pipelines/x', { method: 'PUT', json: { kind: 'sync', connection: 'emu', standard_objects_to_sync: ['Lead'], schedule: { cron: 'every day' } } });
    assert.equal(cron.status, 400);
    const list = await h.api('/api/v1/pipelines');
    assert.deepEqual(list.body.pipelines.map((p: { name: string; read_only: boolean }) => [p.name, p.read_only]), [['file-sync', true], ['contacts', false]]);
  });

  it('pause keeps the schedule from running; a paused pipeline still runs by hand', async () => {
    const paused = await h.api('/api/v1/pipelines/file-sync/pause', { method: 'POST' });
    assert.equal(paused.body.state, 'paused');
    assert.equal(paused.body.schedule.paused, true);
    const resumed = await h.api('/api/v1/pipelines/file-sync/resume', { method: 'POST' });
    assert.equal(resumed.body.schedule.paused, false);
    assert.equal((await h.api('/api/v1/pipelines/none/runs', { method: 'POST' })).status, 404);
  });

  it('dead letters: list, show, replay with an edited payload, discard', async () => {
    const dir = await import('node:fs/promises').then((fs) => fs.mkdtemp(`${process.env.TMPDIR ?? '/tmp'}/sfb-dlq-`));
    const file = `${dir}/contacts.jsonl`;
    await import('node:fs/promises').then((fs) => fs.writeFile(file, ['{"Email":"a@x.test","LastName":"Ok"}', '{"Email":"b@x.test"}', '{"Email":"c@x.test"}'].join('\n')));
    const put = await h.api('/api/v1/pipelines/push', { method: 'PUT', json: { kind: 'publish', connection: 'emu', source: { file, key: 'Email' }, target: { object: 'Contact', operation: 'insert' }, schedule: '1h', maxRetries: 0 } });
    assert.equal(put.status, 201, JSON.stringify(put.body));
    await until(async () => (await h.service.listRuns({ pipeline: 'push' }))[0]?.finishedAt, 15_000, 'the publish run');
    const [run] = await h.service.listRuns({ pipeline: 'push' });
    assert.equal(run.status, 'failed');
    assert.match(run.error!, /2 of 3 records failed/);
    const list = await h.api('/api/v1/dead-letters?pipeline=push');
    assert.equal(list.body.dead_letters.length, 2);
    const letter = list.body.dead_letters.find((l: { key: string }) => l.key === 'b@x.test');
    assert.equal(letter.error.code, 'REQUIRED_FIELD_MISSING');
    const shown = await h.api(`/api/v1/dead-letters/push/${letter.id}`);
    assert.deepEqual(shown.body.payload, { Email: 'b@x.test' });
    const replay = await h.api(`/api/v1/dead-letters/push/${letter.id}/replay`, { method: 'POST', json: { payload: { Email: 'b@x.test', LastName: 'Fixed' } } });
    assert.equal(replay.status, 200, JSON.stringify(replay.body));
    assert.equal(replay.body.dead_letter.status, 'replayed');
    assert.equal(replay.body.result.success, true);
    assert.match(replay.body.dead_letter.sf_id, /^003/);
    const again = await h.api(`/api/v1/dead-letters/push/${letter.id}/replay`, { method: 'POST' });
    assert.equal(again.status, 409);
    const other = list.body.dead_letters.find((l: { key: string }) => l.key === 'c@x.test');
    const discarded = await h.api(`/api/v1/dead-letters/push/${other.id}/discard`, { method: 'POST' });
    assert.equal(discarded.body.status, 'discarded');
    assert.equal((await h.api('/api/v1/dead-letters?pipeline=push')).body.dead_letters.length, 0);
    assert.equal((await h.api('/api/v1/dead-letters/push/99999')).status, 404);
    assert.equal((await h.api('/api/v1/dead-letters?pipeline=contacts')).status, 404);
  });

  it('API usage per org comes from Sforce-Limit-Info readings', async () => {
    const usage = await h.api('/api/v1/usage');
    const [org] = usage.body.orgs;
    assert.equal(org.org, h.emu.org.orgId);
    assert.equal(org.connection, 'emu');
    assert.equal(org.max, 100000);
    assert.equal(org.remaining, org.max - org.used);
    assert.ok(org.used > 0);
    assert.ok(usage.body.readings.length >= 1);
  });

  it('metrics count records per pipeline and object, usage per org, runs and errors', async () => {
    const res = await h.app.request('/metrics', { headers: { authorization: `Bearer ${h.token}` } });
    const text = await res.text();
    const contactsRead = (await h.service.listRuns({ pipeline: 'contacts' })).reduce((n, r) => n + Number((r.objects.Contact as { read: number }).read), 0);
    assert.ok(contactsRead >= 60);
    assert.match(text, new RegExp(`sfbridge_records_read_total\\{pipeline="contacts",object="Contact"\\} ${contactsRead}\n`));
    assert.match(text, /sfbridge_records_written_total\{pipeline="file-sync",object="Account"\} 40/);
    assert.match(text, new RegExp(`sfbridge_api_calls_remaining\\{org="${h.emu.org.orgId}"\\} \\d+`));
    assert.match(text, /sfbridge_runs_total\{pipeline="push",status="failed"\} 1/);
    assert.match(text, /sfbridge_errors_total\{pipeline="push",code="RECORDS_FAILED"\} 1/);
    assert.match(text, /sfbridge_dead_letters_open\{pipeline="push"\} 0/);
    assert.match(text, /sfbridge_pipeline_lag_seconds\{pipeline="contacts"\} /);
    assert.match(text, /sfbridge_run_duration_seconds_count\{pipeline="contacts",kind="sync",status="succeeded"\} 2/);
  });

  it('Coco: PUT /connector/salesforce?replace=true and POST /datasource/ with the documented bodies', async () => {
    const noReplace = await h.app.request('/connector/salesforce', { method: 'PUT', headers: { authorization: `Bearer ${h.token}` }, body: '{}' });
    assert.equal(noReplace.status, 404);
    // Coco's example uses curl -d: a form content type with a JSON body.
    const connector = await h.app.request('/connector/salesforce?replace=true', {
      method: 'PUT',
      headers: { authorization: `Bearer ${h.token}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: JSON.stringify({ name: 'Salesforce Connector', description: 'Fetch data from Salesforce', category: 'crm', tags: ['salesforce'], processor: { enabled: true, name: 'salesforce' }, config: { domain: EMU, client_id: h.emu.org.clientId, client_secret: h.emu.org.clientSecret, interval: '30s', queue: { name: 'indexing_documents' } } }),
    });
    assert.deepEqual([connector.status, await connector.json()], [200, { _id: 'salesforce', result: 'created' }]);
    const conn = await h.api('/api/v1/connections/salesforce');
    assert.equal(conn.body.kind, 'client_credentials');
    assert.equal(conn.body.settings.instance_url, EMU);
    const ds = await h.api('/datasource/', {
      method: 'POST',
      json: { name: 'My Salesforce Data', type: 'connector', enabled: true, connector: { id: 'salesforce', config: { standard_objects_to_sync: ['Lead', 'Campaign'], sync_custom_objects: true, custom_objects_to_sync: [] } }, sync: { enabled: true, interval: '5m' } },
    });
    assert.deepEqual(ds.body, { _id: 'my-salesforce-data', result: 'created' });
    const p = await h.api('/api/v1/pipelines/my-salesforce-data');
    assert.deepEqual({ objects: p.body.spec.standard_objects_to_sync, schedule: p.body.spec.schedule, queue: p.body.spec.queue, documents: p.body.spec.documents }, { objects: ['Lead', 'Campaign'], schedule: '5m', queue: 'indexing_documents', documents: { enabled: true } });
    const update = await h.api('/connector/salesforce?replace=true', { method: 'PUT', json: { name: 'Salesforce Connector', config: { domain: 'mycompany', client_id: 'other' } } });
    assert.deepEqual(update.body, { _id: 'salesforce', result: 'updated' });
    assert.equal((await h.api('/api/v1/connections/salesforce')).body.settings.domain, 'mycompany');
    const badDs = await h.api('/datasource/', { method: 'POST', json: { name: 'x', connector: { id: 'unknown' } } });
    assert.equal(badDs.status, 400);
    const del = await h.api('/datasource/my-salesforce-data', { method: 'DELETE' });
    assert.deepEqual(del.body, { _id: 'my-salesforce-data', result: 'deleted' });
  });

  it('the overview page lists connections, pipelines, runs and usage', async () => {
    const { cookie, csrf } = await h.login();
    const page = await (await h.app.request('/', { headers: { cookie } })).text();
    for (const s of ['file-sync', 'contacts', 'emu', 'Recent runs', h.emu.org.orgId]) assert.ok(page.includes(s), s);
    const run = await h.app.request('/ui/pipelines/contacts/run', { method: 'POST', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ _csrf: csrf }) });
    assert.equal(run.status, 303);
    assert.match(run.headers.get('location')!, /^\/jobs\/\d+$/);
  });
});

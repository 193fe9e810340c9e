/**
 * One org's trouble holds only that org's pipelines, visibly: two emulated orgs (two emulators on their own
 * sockets) in one service. Org A's connection gets a secret its org refuses (as after a rotation at
 * Salesforce): its next run fails at login, its pipeline shows `held` with the reason in the API and the
 * dashboard, and it is not queued again while org B's pipeline keeps running. Fixing the connection (PUT)
 * ends the hold and A's changes flow again. Org C's connection reaches its API ceiling: held too, until the
 * budget window has moved. Org D's Pub/Sub API refuses the session its REST API accepts: its change-event leader
 * holds D.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { SalesforceClient } from '../../src/client/index.ts';
import { startPubSub, type PubSubServer } from '../../src/emulator/events/pubsub/server.ts';
import { DEFAULT_FAULTS } from '../../src/emulator/faults.ts';
import { seedOrg } from '../../src/emulator/seed/index.ts';
import { SecretBox } from '../../src/engine/connections/registry.ts';
import { parsePipeline } from '../../src/engine/pipelines/index.ts';
import { Service } from '../../src/engine/service.ts';
import { createApp } from '../../src/server/app.ts';
import { Auth, SESSION_COOKIE } from '../../src/server/auth.ts';
import { createMetrics } from '../../src/server/metrics.ts';
import { servedOrg, type ServedOrg } from '../helpers/served.ts';
import { until } from './helpers.ts';

let orgs: ServedOrg[];
let service: Service;
let app: ReturnType<typeof createApp>;
let auth: Auth;
let token: string;
let dir: string;
let pubsub: PubSubServer;

const connection = (o: ServedOrg, secret = o.emu.org.clientSecret) => ({ kind: 'client_credentials', instance_url: o.url, client_id: o.emu.org.clientId, client_secret: secret });

before(async () => {
  // Org C allows 40 calls a day and its connection stops at 10% of them: its first load meets the ceiling.
  orgs = [await servedOrg(), await servedOrg(), await servedOrg({ faults: { ...DEFAULT_FAULTS, dailyLimit: 40 } }), await servedOrg()];
  // Org D's Pub/Sub API refuses the session (it expects another instance URL), while its REST API takes it.
  pubsub = await startPubSub(orgs[3].emu, { port: 0, host: '127.0.0.1', instanceUrl: 'https://elsewhere.example.com' });
  for (const o of orgs) await seedOrg(o.emu.org, 'Account=20');
  dir = mkdtempSync(join(tmpdir(), 'sfbridge-held-'));
  const raw = (name: string, conn: string) => ({ name, kind: 'sync', connection: conn, standard_objects_to_sync: ['Account'], store: `sqlite:${join(dir, `${name}.db`)}`, schedule: '1s', lag: '1s' });
  const pipelines = [raw('crm-a', 'a'), raw('crm-b', 'b'), raw('crm-c', 'c'), { ...raw('crm-d', 'd'), objects: { Account: { mode: 'cdc' } } }].map((r) => ({ spec: parsePipeline(r), raw: r as never, source: 'config' as const }));
  service = await Service.open({ storeUrl: `sqlite:${join(dir, 'service.db')}`, box: new SecretBox(randomBytes(32)), pipelines });
  await service.connections.put('a', connection(orgs[0]));
  await service.connections.put('b', connection(orgs[1]));
  await service.connections.put('c', { ...connection(orgs[2]), budget: { org_ceiling: 0.1 } });
  await service.connections.put('d', { ...connection(orgs[3]), pubsub: { endpoint: pubsub.address, plaintext: true } });
  auth = new Auth({ state: service.state });
  app = createApp({ service, auth, metrics: createMetrics(service, { defaultMetrics: false }), publicUrl: undefined });
  token = (await auth.createToken('test')).token;
  await service.start();
});

after(async () => {
  await service.stop();
  await pubsub.close();
  for (const o of orgs) await o.close();
  rmSync(dir, { recursive: true, force: true });
});

const api = async (path: string, init: RequestInit & { json?: unknown } = {}) => {
  const res = await app.request(path, { ...init, ...(init.json !== undefined ? { body: JSON.stringify(init.json) } : {}), headers: { authorization: `Bearer ${token}`, ...(init.json !== undefined ? { 'content-type': 'application/json' } : {}) } });
  return { status: res.status, body: (await res.json()) as any };
};
const runs = async (pipeline: string, status?: string) => (await service.listRuns({ pipeline, status, limit: 1000 })).length;

it('a refused login holds only that connection\'s pipelines, with the reason; fixing it resumes them', { timeout: 90_000 }, async () => {
  await until(async () => (await runs('crm-a', 'succeeded')) >= 1 && (await runs('crm-b', 'succeeded')) >= 1, 30_000, 'both orgs synced');

  // Org A's connection now has a secret A refuses.
  const put = await api('/api/v1/connections/a', { method: 'PUT', json: connection(orgs[0], 'rotated-away') });
  assert.ok(put.status === 200 || put.status === 201, JSON.stringify(put.body));
  const held = await until(async () => {
    const p = (await api('/api/v1/pipelines/crm-a')).body;
    return p.state === 'held' && p;
  }, 30_000, 'crm-a held');
  assert.equal(held.held.reason, 'auth');
  assert.equal(held.held.code, 'AUTH_FAILED');
  assert.match(held.held.message, /invalid_client|client secret|refused|failed/i);
  assert.match(held.held.ends, /PUT \/api\/v1\/connections\/a/);
  const failedRun = await service.getRun(held.held.run_id);
  assert.equal(failedRun?.status, 'failed');
  const conn = (await api('/api/v1/connections/a')).body;
  assert.equal(conn.held.reason, 'auth');
  assert.equal((await api('/api/v1/connections/b')).body.held, undefined);
  assert.notEqual((await api('/api/v1/pipelines/crm-b')).body.state, 'held');

  // B goes on; A is not queued again every schedule.
  const aRuns = await runs('crm-a');
  const bRuns = await runs('crm-b', 'succeeded');
  await until(async () => (await runs('crm-b', 'succeeded')) >= bRuns + 3, 30_000, 'three more runs of crm-b');
  assert.equal(await runs('crm-a'), aRuns, 'the held pipeline made no run');

  // Org C's spent budget holds C until the window has moved on; A's and C's holds are their own.
  const budget = await until(async () => {
    const p = (await api('/api/v1/pipelines/crm-c')).body;
    return p.state === 'held' && p;
  }, 30_000, 'crm-c held');
  assert.equal(budget.held.reason, 'budget');
  assert.equal(budget.held.code, 'ORG_CEILING_REACHED');
  assert.ok(Date.parse(budget.held.until) > Date.now(), 'a budget hold ends by itself');
  assert.match(budget.held.ends, /rolling 24-hour window/);

  // Org D: loaded, then its change-event leader is refused by the Pub/Sub API: held for that reason.
  const pubsubHeld = await until(async () => {
    const p = (await api('/api/v1/pipelines/crm-d')).body;
    return p.state === 'held' && p;
  }, 30_000, 'crm-d held');
  assert.equal(pubsubHeld.held.reason, 'pubsub');
  assert.equal(pubsubHeld.held.code, 'PUBSUB_AUTH');
  assert.equal(pubsubHeld.held.until, null);

  // The dashboard says so too.
  const { cookie } = await signIn();
  const page = await (await app.request('/pipelines', { headers: { cookie } })).text();
  assert.match(page, /data-pipeline="crm-a"[\s\S]*?>held<br><span class="muted" data-k="held">/);
  const conns = await (await app.request('/connections', { headers: { cookie } })).text();
  assert.match(conns, /data-connection="a"[\s\S]*?pipelines held/);

  // Fixed: A runs again and its changes reach its mirror.
  const writer = new SalesforceClient({ credentials: { kind: 'clientCredentials', instanceUrl: orgs[0].url, clientId: orgs[0].emu.org.clientId, clientSecret: orgs[0].emu.org.clientSecret }, governor: false });
  const { id } = await writer.create('Account', { Name: 'After The Fix' });
  await api('/api/v1/connections/a', { method: 'PUT', json: connection(orgs[0]) });
  assert.equal((await api('/api/v1/connections/a')).body.held, undefined);
  const mirror = await service.store(`sqlite:${join(dir, 'crm-a.db')}`);
  await until(async () => (await mirror.getRecord('Account', id))?.Name === 'After The Fix', 30_000, 'org A\'s change in its mirror after the fix');
  assert.notEqual((await api('/api/v1/pipelines/crm-a')).body.state, 'held');
});

async function signIn(): Promise<{ cookie: string }> {
  const link = await auth.createLoginLink();
  const res = await app.request(`/login/link/${link}`);
  const cookie = /sfbridge_session=([^;]+)/.exec(res.headers.get('set-cookie') ?? '')![1];
  return { cookie: `${SESSION_COOKIE}=${cookie}` };
}

/**
 * The service as a process: SIGKILL during a run, then a restart marks that run interrupted and a new run
 * continues it from its checkpoint (objects the killed run finished are not read again); SIGTERM during
 * that run commits the batch and exits 0; the third start finishes, the schedule is set, and the mirror
 * equals the org. A second pipeline on a short schedule keeps running across the restarts and picks up
 * what changed in the org while the service was down.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { seedOrg } from '../../src/emulator/seed/index.ts';
import { Auth } from '../../src/server/auth.ts';
import { openStore } from '../../src/store/index.ts';
import { mirrorDiff } from '../engine/helpers.ts';
import { servedOrg, type ServedOrg } from '../helpers/served.ts';
import { serviceHome, type ServiceHome, type ServiceProcess } from '../helpers/service-process.ts';
import { until } from './helpers.ts';

const OBJECTS = ['Account', 'Contact', 'Lead', 'Opportunity'];
let org: ServedOrg;
let home: ServiceHome;
let token: string;

before(async () => {
  org = await servedOrg();
  await seedOrg(org.emu.org, 'Account=1200,Contact=1200,Lead=1200,Opportunity=1200,Case=40');
  // Every request waits, so a run lasts long enough to be killed in the middle.
  await org.emu.request('/__emulator/faults', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ latency: 120 }) });
  home = serviceHome(org, [
    '  - name: crm',
    '    kind: sync',
    '    connection: emu',
    `    standard_objects_to_sync: [${OBJECTS.join(', ')}]`,
    '    schedule: 1h',
    '    lag: 0',
    '    bulk_threshold: 1000000',
    '  - name: cases',
    '    kind: sync',
    '    connection: emu',
    '    standard_objects_to_sync: [Case]',
    '    schedule: 2s',
    '    lag: 0',
  ]);
  const store = await openStore(home.storeUrl);
  token = (await new Auth({ state: await store.serviceState() }).createToken('restart-test')).token;
  await store.close();
});

after(async () => {
  home.close();
  await org.close();
});

interface Proc extends ServiceProcess {
  api(path: string): Promise<any>;
}

async function start(): Promise<Proc> {
  const p = await home.start();
  const api = async (path: string) => (await fetch(`${p.url}${path}`, { headers: { authorization: `Bearer ${token}` } })).json();
  return { ...p, api };
}

type RunView = { id: number; status: string; trigger: string; started_at: string; resumed_from: number | null; objects: Record<string, { status: string; read: number; written: number; deleted: number }> };
const runs = async (p: Proc, pipeline = 'crm') => (await p.api(`/api/v1/runs?pipeline=${pipeline}`)).runs as RunView[];

/** Changes Cases in the org the way people do while the service is down: edits, deletes and new ones. */
async function changeCasesInOrg(): Promise<void> {
  const token = ((await (await org.emu.request('/services/oauth2/token', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'client_credentials', client_id: org.emu.org.clientId, client_secret: org.emu.org.clientSecret }) })).json()) as { access_token: string }).access_token;
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await org.emu.request(`/services/data/v62.0${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    assert.ok(res.ok, `${method} ${path}: ${res.status} ${await res.clone().text()}`);
    return res.status === 204 ? undefined : res.json();
  };
  const { records } = (await call('GET', `/query?q=${encodeURIComponent('SELECT Id FROM Case ORDER BY Id LIMIT 8')}`)) as { records: Array<{ Id: string }> };
  for (const r of records.slice(0, 5)) await call('PATCH', `/sobjects/Case/${r.Id}`, { Subject: `Changed while the service was down ${r.Id}` });
  for (const r of records.slice(5, 8)) await call('DELETE', `/sobjects/Case/${r.Id}`);
  for (const n of [1, 2]) await call('POST', '/sobjects/Case', { Subject: `New while the service was down ${n}`, Status: 'New', Origin: 'Web' });
}

it('SIGKILL mid-run, restart resumes from the checkpoint; SIGTERM exits 0 after the batch; the mirror equals the org', async () => {
  // 1. Killed once the first object is done and the second has started.
  const first = await start();
  const killedRun = await until(async () => {
    const [r] = await runs(first);
    return r && r.status === 'running' && r.objects.Account?.status === 'ok' && r.objects.Contact ? r : undefined;
  }, 60_000, 'the first run to finish Account');
  const casesBefore = (await runs(first, 'cases')).filter((r) => r.status === 'succeeded');
  assert.ok(casesBefore.length >= 1, 'the short schedule ran before the kill');
  first.child.kill('SIGKILL');
  assert.equal(await first.exit, null);
  const downAt = new Date().toISOString();
  await changeCasesInOrg();

  // 2. The restart marks it interrupted and continues it; stopped with SIGTERM during the continuation.
  const second = await start();
  const resumed = await until(async () => {
    const list = await runs(second);
    const r = list.find((x) => x.id !== killedRun.id);
    return r && r.status === 'running' ? { list, r } : undefined;
  }, 30_000, 'the resumed run');
  const interrupted = resumed.list.find((x) => x.id === killedRun.id)!;
  assert.equal(interrupted.status, 'interrupted');
  assert.equal(resumed.r.trigger, 'resume');
  assert.equal(resumed.r.resumed_from, killedRun.id);
  assert.equal(resumed.r.objects.Account, undefined, 'Account was finished by the killed run and is not read again');
  const events = (await second.api(`/api/v1/runs/${killedRun.id}/events`)).events as Array<{ type: string }>;
  assert.equal(events.at(-1)!.type, 'run:interrupted');
  second.child.kill('SIGTERM');
  assert.equal(await second.exit, 0, 'SIGTERM exits 0');

  // 3. The third start finishes the run; the next one is scheduled.
  const third = await start();
  const done = await until(async () => {
    const list = await runs(third);
    return list[0]?.status === 'succeeded' ? list : undefined;
  }, 60_000, 'the run to succeed');
  const secondRun = done.find((x) => x.id === resumed.r.id)!;
  assert.equal(secondRun.status, 'interrupted');
  assert.equal(done[0].trigger, 'resume');
  assert.equal(done[0].resumed_from, secondRun.id);
  const pipeline = await third.api('/api/v1/pipelines/crm');
  assert.equal(pipeline.schedule.last_status, 'succeeded');
  assert.ok(Date.parse(pipeline.schedule.next_run_at) > Date.now() + 50 * 60_000, 'the next run is an hour out');
  // The short schedule went on after each restart, by itself, and caught what changed while it was down.
  const thirdAt = new Date().toISOString();
  await until(async () => (await runs(third, 'cases')).filter((r) => r.started_at > thirdAt && r.status === 'succeeded' && r.trigger === 'schedule').length >= 2, 60_000, 'two scheduled runs of cases after the last start');
  const afterDown = (await runs(third, 'cases')).filter((r) => r.started_at > downAt);
  assert.ok(afterDown.every((r) => r.trigger !== 'manual'));
  const caught = afterDown.reduce((a, r) => ({ written: a.written + (r.objects.Case?.written ?? 0), deleted: a.deleted + (r.objects.Case?.deleted ?? 0) }), { written: 0, deleted: 0 });
  assert.ok(caught.written >= 7 && caught.deleted >= 3, `the runs after the restart picked up the 5 edits, 2 inserts and 3 deletes: ${JSON.stringify(caught)}`);
  third.child.kill('SIGTERM');
  assert.equal(await third.exit, 0);

  const store = await openStore(home.storeUrl);
  try {
    for (const object of OBJECTS) {
      assert.equal(await store.count(object), 1200, object);
      assert.deepEqual(await mirrorDiff(org.emu, store, object), [], object);
    }
    assert.equal(await store.count('Case'), 40 - 3 + 2);
    assert.deepEqual(await mirrorDiff(org.emu, store, 'Case'), [], 'Case');
  } finally {
    await store.close();
  }
});

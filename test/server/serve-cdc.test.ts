/**
 * `mode: cdc` in `sfbridge serve` with the embedded store: after the initial load the object's change-event
 * leader (one long-lived job `cdc:<connection>:<object>`) follows its events into the pipeline's mirror, a
 * change reaches the mirror, an overflowed transaction is caught up by the cursor, the scheduled runs leave the
 * object out (no API call while idle), the API
 * shows the leader and its run, pausing ends it and resuming continues from the committed replay id.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import { createEmulator, type Emulator } from '../../src/emulator/app.ts';
import { startPubSub, type PubSubServer } from '../../src/emulator/events/pubsub/server.ts';
import { seedOrg } from '../../src/emulator/seed/index.ts';
import { SecretBox } from '../../src/engine/connections/registry.ts';
import { parsePipeline } from '../../src/engine/pipelines/index.ts';
import { cdcJobKey } from '../../src/engine/pipelines/sync-cdc.ts';
import { Service } from '../../src/engine/service.ts';
import { cdcCheckpointKey } from '../../src/engine/sync/cdc.ts';
import { createApp } from '../../src/server/app.ts';
import { Auth } from '../../src/server/auth.ts';
import { createMetrics } from '../../src/server/metrics.ts';
import type { Store } from '../../src/store/index.ts';
import { clientFor } from '../engine/helpers.ts';
import { EMU, emulatorFetch, until } from './helpers.ts';

let emu: Emulator;
let pubsub: PubSubServer;
let service: Service;
let app: ReturnType<typeof createApp>;
let token: string;
let mirror: Store;

before(async () => {
  emu = createEmulator();
  await seedOrg(emu.org, 'Account=30');
  pubsub = await startPubSub(emu, { port: 0, host: '127.0.0.1', keepaliveMs: 100 });
  const connections = { emu: { kind: 'client_credentials', instance_url: EMU, client_id: emu.org.clientId, client_secret: emu.org.clientSecret, pubsub: { endpoint: pubsub.address, plaintext: true } } };
  const raw = { name: 'crm', kind: 'sync', connection: 'emu', standard_objects_to_sync: ['Account'], objects: { Account: { mode: 'cdc' } }, schedule: '1s', lag: '1s' };
  service = await Service.open({ storeUrl: 'sqlite::memory:', box: new SecretBox(randomBytes(32)), fetch: emulatorFetch(emu), connections: connections as never, pipelines: [{ spec: parsePipeline(raw), raw: raw as never, source: 'config' }] });
  const auth = new Auth({ state: service.state });
  app = createApp({ service, auth, metrics: createMetrics(service, { defaultMetrics: false }), publicUrl: undefined });
  token = (await auth.createToken('test')).token;
  await service.start();
  mirror = await service.store(service.storeUrl);
});

after(async () => {
  await service.stop();
  await pubsub.close();
  emu.close();
});

const api = async (path: string, init: RequestInit = {}) => {
  const res = await app.request(path, { ...init, headers: { authorization: `Bearer ${token}`, ...(init.body ? { 'content-type': 'application/json' } : {}) } });
  return (await res.json()) as any;
};
const leaderState = async () => (await api('/api/v1/pipelines/crm')).cdc?.[0]?.state as string | undefined;

it('follows change events after the initial load: one leader, changes applied, no API call while idle, pause ends it, resume continues', { timeout: 60_000 }, async () => {
  const writer = clientFor(emu, { governor: false });
  await until(async () => (await leaderState()) === 'following', 20_000, 'the leader following');
  const view = await api('/api/v1/pipelines/crm');
  assert.equal(view.state, 'running');
  assert.equal(view.cdc[0].object, 'Account');
  const jobs = await service.queue.list({ key: cdcJobKey('emu', 'Account'), states: ['running'] });
  assert.equal(jobs.length, 1, 'one leader job');
  const leaderRun = await service.getRun(view.cdc[0].run_id);
  assert.equal(leaderRun?.status, 'running');

  // A change reaches the mirror through its change event, with the replay id committed beside it.
  const [acc] = await writer.query<{ Id: string }>('SELECT Id FROM Account ORDER BY Id LIMIT 1').toArray();
  await writer.update('Account', acc.Id, { Name: 'Changed By CDC' });
  await until(async () => (await mirror.getRecord('Account', acc.Id))?.Name === 'Changed By CDC', 20_000, 'the change in the mirror');
  const { id: created } = await writer.create('Account', { Name: 'Created While Following' });
  await until(async () => (await mirror.getRecord('Account', created))?.Name === 'Created While Following', 20_000, 'the create in the mirror');
  assert.ok((await mirror.getCheckpoint(cdcCheckpointKey('Account')))?.extra?.replayId, 'the replay id is checkpointed');

  // An overflowed transaction (its changes past the limit never sent as events) is caught up by the cursor.
  emu.org.faults.settings.overflow = 2;
  try {
    const created = await writer.collections.create([1, 2, 3, 4, 5].map((i) => ({ attributes: { type: 'Account' }, Name: `Overflow ${i}` })), { allOrNone: true });
    await until(async () => (await mirror.getRecord('Account', created[4].id!))?.Name === 'Overflow 5', 20_000, 'the overflowed records after the catch-up');
  } finally {
    emu.org.faults.settings.overflow = 100_000;
  }
  const log = await until(async () => {
    const events = await service.runEvents(view.cdc[0].run_id);
    return events.some((e) => (e.data as { code?: string } | null)?.code === 'CDC_OVERFLOW') && events;
  }, 10_000, 'the catch-up in the leader\'s event log');
  assert.ok(log.length > 0);

  // Idle: scheduled runs go on (every second) and leave Account to its leader: the org sees no API call.
  const calls0 = emu.org.apiUsage;
  const runs0 = (await service.listRuns({ pipeline: 'crm', status: 'succeeded', limit: 100 })).length;
  await until(async () => (await service.listRuns({ pipeline: 'crm', status: 'succeeded', limit: 100 })).length >= runs0 + 3, 20_000, 'three more scheduled runs');
  assert.equal(emu.org.apiUsage, calls0, 'an idle cdc object costs no API call');
  const last = (await service.listRuns({ pipeline: 'crm', status: 'succeeded', limit: 1 }))[0];
  assert.equal((last.objects as any).Account.mode, 'cdc');
  assert.equal(last.apiCalls, 0);

  // Pause ends the leader; a change made meanwhile arrives after resume, from the committed replay id.
  await api('/api/v1/pipelines/crm/pause', { method: 'POST' });
  await until(async () => (await leaderState()) === 'waiting', 20_000, 'the leader ended by the pause');
  const ended = await service.getRun(view.cdc[0].run_id);
  assert.equal(ended?.status, 'interrupted');
  assert.match(ended?.error ?? '', /paused/);
  await writer.update('Account', acc.Id, { Name: 'Changed While Paused' });
  await api('/api/v1/pipelines/crm/resume', { method: 'POST' });
  await until(async () => (await mirror.getRecord('Account', acc.Id))?.Name === 'Changed While Paused', 20_000, 'the paused change after resume');
  assert.equal(await leaderState(), 'following');
});

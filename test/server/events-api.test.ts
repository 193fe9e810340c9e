/**
 * An events pipeline created through the API: validated like the config file (a bad sink is a 400 naming
 * the key), running at once beside the worker slots, a stored replay id past retention reported in the run
 * (its counts and its event log) before the stream restarts at the tip, listed and shown by the API (responses checked against
 * the OpenAPI document) and the dashboard with its counts, and delivering to its JSONL sink. Removing it
 * ends its stream.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { SalesforceClient } from '../../src/client/index.ts';
import { startPubSub, type PubSubServer } from '../../src/emulator/events/pubsub/server.ts';
import { schemaFromData } from '../../src/emulator/schema/custom.ts';
import { freePort } from '../helpers/service-process.ts';
import { EMU, emulatorFetch, harness, until, type Harness } from './helpers.ts';

let h: Harness;
let pubsub: PubSubServer;
let sf: SalesforceClient;
let dir: string;

before(async () => {
  const port = await freePort();
  const objects = schemaFromData({ objects: [{ name: 'Ticket__e', fields: [{ name: 'Subject__c', type: 'string', length: 80 }] }] });
  h = await harness({ emulator: { objects }, connections: { emu: { kind: 'client_credentials', instance_url: EMU, client_id: 'sfbridge-emulator', client_secret: 'sfbridge-emulator-secret', pubsub: { endpoint: `127.0.0.1:${port}`, plaintext: true } } } });
  pubsub = await startPubSub(h.emu, { port, host: '127.0.0.1', keepaliveMs: 100 });
  sf = new SalesforceClient({ credentials: { kind: 'clientCredentials', instanceUrl: EMU, clientId: h.emu.org.clientId, clientSecret: h.emu.org.clientSecret }, fetch: emulatorFetch(h.emu), governor: false, pubsub: { endpoint: pubsub.address, tls: false } });
  dir = await mkdtemp(join(tmpdir(), 'sfb-events-api-'));
});

after(async () => {
  sf.events.close();
  await h.close();
  await pubsub.close();
});

it('creates, runs, shows and removes an events pipeline through the API', async () => {
  const bad = await h.api('/api/v1/pipelines/tickets', { method: 'PUT', json: { kind: 'events', connection: 'emu', topic: '/event/Ticket__e', sink: { kind: 'webhook' } } });
  assert.equal(bad.status, 400);
  assert.match(JSON.stringify(bad.body), /sink\.url: a webhook sink needs url/);

  // A stored position the topic no longer retains: the run says so, and follows from the tip.
  const store = await h.service.store(h.service.storeUrl);
  await store.setCheckpoint('events:tickets', null, { replayId: 'ffffffffffff0000' });
  const file = join(dir, 'tickets.jsonl');
  const created = await h.api('/api/v1/pipelines/tickets', { method: 'PUT', json: { kind: 'events', connection: 'emu', topic: '/event/Ticket__e', from: 'earliest', sink: { kind: 'jsonl', url: file, envelope: true } } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  await until(async () => (await h.api('/api/v1/pipelines/tickets')).body.state === 'running', 15_000, 'the running stream');
  const restarted = await until(async () => {
    const r = (await h.api('/api/v1/runs?pipeline=tickets&status=running')).body.runs?.[0];
    return r?.objects?.['/event/Ticket__e']?.error && r;
  }, 15_000, 'the restart in the run');
  assert.match(restarted.objects['/event/Ticket__e'].error, /^PUBSUB_REPLAY_ID_EXPIRED: the stored replay id ffffffffffff0000 is outside the topic's retention; restarted at the tip at /);
  const log = await until(async () => (await h.api(`/api/v1/runs/${restarted.id}/events`)).body.events.find((e: { data: { code?: string } }) => e.data?.code === 'PUBSUB_REPLAY_ID_EXPIRED'), 15_000, 'the warning in the run log');
  assert.equal(log.level, 'warn');
  // At the tip: wait for its first keepalive position before publishing.
  await until(async () => typeof (await store.getCheckpoint('events:tickets'))?.extra?.replayId === 'string', 15_000, 'the tip position');
  await sf.events.publish('/event/Ticket__e', [{ id: 't-1', Subject__c: 'Printer on fire' }]);
  await until(async () => (await readFile(file, 'utf8').catch(() => '')).includes('t-1'), 15_000, 'the event in the file');

  const runs = await until(async () => {
    const r = (await h.api('/api/v1/runs?pipeline=tickets&status=running')).body.runs;
    return r?.[0]?.objects?.['/event/Ticket__e']?.written === 1 && r;
  }, 15_000, 'the live counts');
  const { cookie } = await h.login();
  const page = await h.app.request('/pipelines/tickets', { headers: { cookie } });
  assert.equal(page.status, 200);
  assert.match(await page.text(), /events/);
  const runPage = await h.app.request(`/runs/${runs[0].id}`, { headers: { cookie } });
  assert.equal(runPage.status, 200);
  assert.match(await runPage.text(), /\/event\/Ticket__e/);

  assert.equal((await h.api('/api/v1/pipelines/tickets', { method: 'DELETE' })).status, 204);
  await until(async () => (await h.api(`/api/v1/runs/${runs[0].id}`)).body.status !== 'running', 15_000, 'the stream to end');
  assert.equal((await h.api(`/api/v1/runs/${runs[0].id}`)).body.status, 'interrupted');
});

/**
 * `kind: events` pipelines in `sfbridge serve` (a real process): three pipelines follow one platform event
 * topic into a JSONL file, a store table and a webhook (a local HTTP server that refuses one event). They
 * run beside each other, outside the worker slots, and show as running with live counts in the API. The
 * service is SIGKILLed while events keep being published; after the restart every event reaches every sink
 * (by id), the only repeats are events the killed process had delivered past its last checkpoint, the
 * table holds one row per event, and the refused event is one dead letter, replayed to the webhook once it
 * takes it. Pausing a pipeline ends its stream; resuming continues from its checkpoint.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { SalesforceClient } from '../../src/client/index.ts';
import { startPubSub, type PubSubServer } from '../../src/emulator/events/pubsub/server.ts';
import { schemaFromData } from '../../src/emulator/schema/custom.ts';
import { Auth } from '../../src/server/auth.ts';
import { openStore } from '../../src/store/index.ts';
import { servedOrg, type ServedOrg } from '../helpers/served.ts';
import { serviceHome, type ServiceHome } from '../helpers/service-process.ts';
import { until } from './helpers.ts';

const TOPIC = '/event/Order_Placed__e';
const POISON = 'order-13';
let org: ServedOrg;
let pubsub: PubSubServer;
let home: ServiceHome;
let hook: Server;
let token: string;
let sf: SalesforceClient;
const hooked: string[] = [];
let poisonRefused = true;
let hookDown = false;

before(async () => {
  org = await servedOrg({ objects: schemaFromData({ objects: [{ name: 'Order_Placed__e', fields: [{ name: 'Order_Number__c', type: 'string', length: 20 }] }] }) });
  pubsub = await startPubSub(org.emu, { port: 0, host: '127.0.0.1', keepaliveMs: 200 });
  hook = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const ids = (JSON.parse(body) as { messages: { id: string }[] }).messages.map((m) => m.id);
      if (hookDown) return void res.writeHead(503).end('down for maintenance');
      if (ids.includes(POISON) && poisonRefused) return void res.writeHead(400).end(`order ${POISON} is unknown here`);
      hooked.push(...ids);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  const hookUrl = `http://127.0.0.1:${(hook.address() as { port: number }).port}/orders`;
  const pipeline = (name: string, sink: string) => [`  - name: ${name}`, '    kind: events', '    connection: emu', `    topic: ${TOPIC}`, '    from: earliest', '    batch_size: 10', '    linger: 50ms', `    sink: ${sink}`];
  home = serviceHome(
    org,
    [
      ...pipeline('orders-jsonl', '{ kind: jsonl, url: ./orders.jsonl, envelope: true }'),
      ...pipeline('orders-table', '{ kind: table, table: order_events }'),
      ...pipeline('orders-hook', `{ kind: webhook, url: "${hookUrl}" }`),
    ],
    {},
    [`    pubsub: { endpoint: "${pubsub.address}", plaintext: true }`],
  );
  const store = await openStore(home.storeUrl);
  token = (await new Auth({ state: await store.serviceState() }).createToken('events-test')).token;
  await store.close();
  sf = new SalesforceClient({
    credentials: { kind: 'clientCredentials', instanceUrl: org.url, clientId: org.emu.org.clientId, clientSecret: org.emu.org.clientSecret },
    governor: false,
    pubsub: { endpoint: pubsub.address, tls: false },
  });
});

after(async () => {
  sf.events.close();
  home.close();
  hook.close();
  await pubsub.close();
  await org.close();
});

/** Complete lines of the JSONL sink (it may be appending). */
async function jsonlIds(): Promise<string[]> {
  const text = await readFile(join(home.dir, 'orders.jsonl'), 'utf8').catch(() => '');
  return text.split('\n').slice(0, -1).map((l) => (JSON.parse(l) as { id: string }).id);
}

it('follows a topic into a file, a table and a webhook across a SIGKILL, at least once, with one dead letter', async () => {
  const all = Array.from({ length: 120 }, (_, i) => `order-${i}`);
  let next = 0;
  const publishSome = async (n: number) => {
    const ids = all.slice(next, next + n);
    next += ids.length;
    const results = await sf.events.publish(TOPIC, ids.map((id) => ({ id, Order_Number__c: id.toUpperCase() })));
    assert.ok(results.every((r) => !r.error), JSON.stringify(results));
  };
  let svc = await home.start();
  const api = async (path: string) => (await fetch(`${svc.url}${path}`, { headers: { authorization: `Bearer ${token}` } })).json() as Promise<any>;
  await publishSome(30);
  await until(async () => (await jsonlIds()).length >= 30, 20_000, 'the first events in the file');

  // Three long-lived runs beside each other (the service runs two jobs at once otherwise), with counts.
  const view = await until(async () => {
    const v = await api('/api/v1/pipelines');
    return v.pipelines.filter((p: { state: string }) => p.state === 'running').length === 3 && v;
  }, 20_000, 'three running pipelines');
  assert.deepEqual(view.pipelines.map((p: { kind: string }) => p.kind), ['events', 'events', 'events']);
  const runs = await until(async () => {
    const r = await api('/api/v1/runs?pipeline=orders-jsonl&status=running');
    return r.runs?.[0]?.objects?.[TOPIC]?.written >= 30 && r;
  }, 20_000, 'live counts');
  assert.equal(runs.runs[0].objects[TOPIC].status, 'running');
  // Metrics follow the running run batch by batch.
  const metrics = await (await fetch(`${svc.url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
  const written = /sfbridge_records_written_total\{pipeline="orders-jsonl",object="\/event\/Order_Placed__e"\} (\d+)/.exec(metrics);
  assert.ok(written && Number(written[1]) >= 30, metrics.split('\n').filter((l) => l.includes('written')).join('\n'));

  // Kill while publishing goes on.
  const publishing = (async () => {
    while (next < 90) {
      await publishSome(5);
      await new Promise((r) => setTimeout(r, 15));
    }
  })();
  await until(async () => (await jsonlIds()).length >= 45, 20_000, 'more events in the file');
  svc.child.kill('SIGKILL');
  await svc.exit;
  const atKill = await jsonlIds();
  await publishing;
  await publishSome(30);

  svc = await home.start();
  await until(async () => new Set(await jsonlIds()).size === all.length, 30_000, 'every event in the file after the restart');
  const ids = await jsonlIds();
  // Every event, in publish order of first arrival, and a repeat only of what the killed process delivered
  // after its last checkpoint (at most one batch).
  assert.deepEqual([...new Set(ids)], all);
  const repeats = ids.filter((id, i) => ids.indexOf(id) !== i);
  assert.ok(repeats.length <= 10, `repeats: ${repeats.join(', ')}`);
  assert.ok(repeats.every((id) => atKill.includes(id)), 'only events delivered before the kill came again');

  await until(() => all.every((id) => id === POISON || hooked.includes(id)), 30_000, 'every event but one at the webhook');
  assert.ok(!hooked.includes(POISON));
  const letters = await until(async () => {
    const l = await api('/api/v1/dead-letters?pipeline=orders-hook');
    return l.dead_letters?.length >= 1 && l;
  }, 20_000, 'the dead letter');
  assert.equal(letters.dead_letters.length, 1);
  assert.equal(letters.dead_letters[0].key, POISON);
  assert.equal(letters.dead_letters[0].object, TOPIC);
  assert.match(letters.dead_letters[0].error.message, /HTTP 400: order order-13 is unknown here/);

  // Replayed once the webhook takes it: delivered to the same sink, the letter closed.
  poisonRefused = false;
  const replay = await (await fetch(`${svc.url}/api/v1/dead-letters/orders-hook/${letters.dead_letters[0].id}/replay`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })).json() as any;
  assert.equal(replay.dead_letter.status, 'replayed', JSON.stringify(replay));
  assert.equal(replay.result.success, true);
  assert.ok(hooked.includes(POISON));

  // A webhook outage shows in the run's event log; the event arrives once it is back.
  hookDown = true;
  await sf.events.publish(TOPIC, [{ id: 'outage-1', Order_Number__c: 'OUTAGE-1' }]);
  const hookRun = (await api('/api/v1/runs?pipeline=orders-hook&status=running')).runs[0];
  const paused = await until(async () => (await api(`/api/v1/runs/${hookRun.id}/events`)).events.find((e: { type: string }) => e.type === 'sink:paused'), 20_000, 'the sink pause in the run log');
  assert.equal(paused.level, 'warn');
  assert.match(paused.message, /unavailable \(SINK_BUSY: HTTP 503: down for maintenance\); 1 messages wait/);
  hookDown = false;
  await until(() => hooked.includes('outage-1'), 30_000, 'the event after the outage');

  // Pause ends the stream (nothing more is delivered), resume continues from the checkpoint.
  const post = async (path: string) => (await fetch(`${svc.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })).json() as Promise<any>;
  const pausedView = await post('/api/v1/pipelines/orders-jsonl/pause');
  assert.equal(pausedView.state, 'paused');
  const late = ['late-1', 'late-2', 'late-3'];
  await sf.events.publish(TOPIC, late.map((id) => ({ id, Order_Number__c: id })));
  await until(async () => late.every((id) => hooked.includes(id)), 20_000, 'the late events at the webhook');
  assert.equal((await jsonlIds()).filter((id) => id.startsWith('late-')).length, 0, 'a paused pipeline delivers nothing');
  assert.equal((await post('/api/v1/pipelines/orders-jsonl/resume')).schedule.paused, false);
  await until(async () => (await jsonlIds()).filter((id) => id.startsWith('late-')).length === 3, 20_000, 'the late events in the file after resume');

  svc.child.kill('SIGTERM');
  assert.equal(await svc.exit, 0);
  const store = await openStore(home.storeUrl);
  try {
    assert.equal(await store.count('order_events'), all.length + late.length + 1);
    const row = await store.getRecord('order_events', 'order-7');
    assert.equal(JSON.parse(String(row?.Payload)).Order_Number__c, 'ORDER-7');
  } finally {
    await store.close();
  }
});

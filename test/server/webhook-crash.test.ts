/**
 * A webhook crash after the 202: `sfbridge serve` is SIGKILLed right after it accepted events (some of them
 * not yet delivered), restarted, and the sender retries what it did not see answered. Every accepted event is
 * written into Salesforce exactly once.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, it } from 'node:test';
import { schemaFromData } from '../../src/emulator/schema/custom.ts';
import { seedOrg } from '../../src/emulator/seed/index.ts';
import { clientFor } from '../engine/helpers.ts';
import { servedOrg, type ServedOrg } from '../helpers/served.ts';
import { freePort, serviceHome, type ServiceHome } from '../helpers/service-process.ts';
import { until } from './helpers.ts';

const SECRET = 'crash-test-secret';
let org: ServedOrg;
let home: ServiceHome;
let port: number;

before(async () => {
  port = await freePort();
  org = await servedOrg({ objects: schemaFromData({ objects: [{ name: 'Contact', fields: [{ name: 'Sfbridge_Key__c', type: 'string', length: 80, externalId: true, unique: true }] }] }) });
  await seedOrg(org.emu.org, 'none');
  // Slow Salesforce writes keep accepted events waiting in the inbox when the kill comes.
  await org.emu.request('/__emulator/faults', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ latency: 60 }) });
  home = serviceHome(org, ['  - name: hook', '    kind: webhook', '    connection: emu', '    signature: { scheme: github, secret_env: HOOK_SECRET }', '    event_id: { path: id }', '    records: contact', '    target: { salesforce: { object: Contact, operation: insert, idempotencyField: Sfbridge_Key__c } }'], { HOOK_SECRET: SECRET });
});

after(async () => {
  home.close();
  await org.close();
});

const start = () => home.start({ port });

it('every event accepted with 202 is written once, across a SIGKILL right after the answers', async () => {
  const send = async (n: number) => {
    const body = JSON.stringify({ id: `evt_${n}`, contact: { LastName: `Hook-${n}` } });
    const res = await fetch(`http://127.0.0.1:${port}/inbound/webhooks/hook`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}` }, body });
    return res.status;
  };
  let svc = await start();
  const unanswered: number[] = [];
  for (let n = 0; n < 30; n++) assert.equal(await send(n), 202);
  // Killed at once: most of the 30 were accepted but not yet written into Salesforce.
  svc.child.kill('SIGKILL');
  await svc.exit;
  for (let n = 30; n < 40; n++) {
    const status = await send(n).catch(() => 0);
    if (status !== 202) unanswered.push(n);
  }
  assert.equal(unanswered.length, 10, 'nothing answers while the service is down');
  svc = await start();
  // The sender retries what it did not see answered, and (as senders do) some of what it did.
  for (const n of [...unanswered, 0, 1, 2]) assert.ok([200, 202].includes(await send(n)));
  const c = clientFor(org.emu, { governor: false });
  const rows = await until(async () => {
    const r = await c.query("SELECT LastName FROM Contact WHERE LastName LIKE 'Hook-%'").toArray();
    return r.length >= 40 && r;
  }, 60_000, 'all 40 events in Salesforce');
  await new Promise((r) => setTimeout(r, 500));
  const again = await c.query("SELECT LastName FROM Contact WHERE LastName LIKE 'Hook-%'").toArray();
  assert.equal(again.length, 40, 'no event written twice');
  assert.equal(new Set(rows.map((r) => r.LastName)).size, 40);
  svc.child.kill('SIGTERM');
  await svc.exit;
});

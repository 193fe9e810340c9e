/**
 * Outbound Messages end to end, with crashes: the emulator's rule fires on every Account created, its
 * sender POSTs the SOAP messages to `sfbridge serve`, which acks after the inbox write and writes one Task
 * per notification into the org through the publisher. The service is SIGKILLed at random points while
 * messages arrive and are delivered, and restarted. Afterwards every notification was delivered, none was
 * processed twice (one Task per Account), and the inbox holds each notification id once.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { schemaFromData } from '../../src/emulator/schema/custom.ts';
import { seedOrg } from '../../src/emulator/seed/index.ts';
import { openStore } from '../../src/store/index.ts';
import { clientFor } from '../engine/helpers.ts';
import { servedOrg, type ServedOrg } from '../helpers/served.ts';
import { freePort, serviceHome, type ServiceHome } from '../helpers/service-process.ts';
import { until } from './helpers.ts';

const ACCOUNTS = 60;
let org: ServedOrg;
let home: ServiceHome;
let port: number;

before(async () => {
  port = await freePort();
  org = await servedOrg({
    objects: schemaFromData({
      objects: [
        { name: 'Account', outboundMessages: [{ name: 'AccountToTasks', endpointUrl: `http://127.0.0.1:${port}/inbound/outbound-messages/om`, fields: ['Id', 'Name'], on: ['create'] }] },
        // The marker field that makes plain inserts crash-safe: an insert whose answer a kill cut off is looked up, not resent.
        { name: 'Task', fields: [{ name: 'Sfbridge_Key__c', type: 'string', length: 80, externalId: true, unique: true }] },
      ],
    }),
  });
  await seedOrg(org.emu.org, 'none');
  home = serviceHome(org, [
    '  - name: om',
    '    kind: outbound-messages',
    '    connection: emu',
    '    objects: [Account]',
    '    transform: { select: [Id, Name], rename: { Id: WhatId }, expressions: { Subject: "OM {{Name}}" }, drop: [Name] }',
    '    target: { salesforce: { object: Task, operation: insert, idempotencyField: Sfbridge_Key__c } }',
  ]);
});

after(async () => {
  home.close();
  await org.close();
});

const start = () => home.start({ port });

it('no notification is lost and none is processed twice across SIGKILLs of the service', async () => {
  const c = clientFor(org.emu, { governor: false });
  const ids: string[] = [];
  let svc = await start();
  for (let round = 0; round < 3; round++) {
    // Accounts are created (notifications fire) while the service runs, then it is killed at a random point.
    const writes = (async () => {
      for (let i = 0; i < ACCOUNTS / 3; i++) ids.push((await c.create('Account', { Name: `OM ${round}-${i}` })).id);
    })();
    await new Promise((r) => setTimeout(r, 150 + Math.floor(Math.random() * 600)));
    svc.child.kill('SIGKILL');
    await svc.exit;
    await writes;
    svc = await start();
    // Salesforce would retry after its backoff; the emulator's admin retry makes the pending ones due now.
    await org.emu.outbound.retryNow();
  }
  await until(async () => {
    await org.emu.outbound.retryNow();
    return org.emu.outbound.queue({ state: 'pending' }).length === 0;
  }, 60_000, 'every notification acknowledged');
  const queue = org.emu.outbound.queue({ limit: 10_000 });
  assert.equal(queue.length, ACCOUNTS);
  assert.ok(queue.every((q) => q.state === 'delivered'));
  const store = await openStore(home.storeUrl);
  try {
    const state = await store.serviceState();
    await until(async () => (await state.countInbox({ pipeline: 'om', state: 'delivered' })) === ACCOUNTS, 60_000, 'every notification delivered by the service').catch(async (err: Error) => {
      const open = (await state.listInbox({ pipeline: 'om', limit: 1000 })).filter((r) => r.state !== 'delivered');
      throw new Error(`${err.message}: ${JSON.stringify(open.map((r) => ({ state: r.state, attempts: r.attempts, next: r.nextAttemptAt, error: r.lastError })).slice(0, 5))}`);
    });
    assert.equal(await state.countInbox({ pipeline: 'om' }), ACCOUNTS, 'each notification id once in the inbox');
  } finally {
    await store.close();
  }
  const tasks = await c.query("SELECT WhatId FROM Task WHERE Subject LIKE 'OM %'").toArray();
  const per = new Map<string, number>();
  for (const t of tasks) per.set(String(t.WhatId), (per.get(String(t.WhatId)) ?? 0) + 1);
  assert.equal(per.size, ACCOUNTS, 'a Task for every Account');
  assert.deepEqual([...per.values()].filter((n) => n !== 1), [], 'no Account got two Tasks');
  assert.deepEqual(new Set(per.keys()), new Set(ids));
  svc.child.kill('SIGTERM');
  await svc.exit;
});

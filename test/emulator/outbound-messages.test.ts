/**
 * The emulator's Outbound Messages: a schema definition queues one notification per committed matching
 * change, the sender POSTs real SOAP envelopes (≤ 100 notifications each, fields read at send time), only
 * `<Ack>true</Ack>` delivers, failures back off from 15 s doubling with the same notification ids, messages
 * expire after 24 h on the emulator clock, rolled-back writes send nothing, and the admin API shows the queue.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { XMLParser } from 'fast-xml-parser';
import { createEmulator, type Emulator } from '../../src/emulator/app.ts';
import { isAck, OUTBOUND_RETRY } from '../../src/emulator/outbound/sender.ts';
import { schemaFromData } from '../../src/emulator/schema/custom.ts';
import { seedOrg } from '../../src/emulator/seed/index.ts';
import { clientFor } from '../engine/helpers.ts';

const xml = new XMLParser({ removeNSPrefix: true, parseTagValue: false, ignoreAttributes: false, attributeNamePrefix: '@', isArray: (n) => n === 'Notification' });

describe('emulator: Outbound Messages', () => {
  let server: Server;
  let received: { body: any; raw: string; headers: Record<string, unknown> }[] = [];
  let answer: 'ack' | 'nack' | 500 = 'ack';
  let emu: Emulator;
  before(async () => {
    server = createServer((req, res) => {
      let raw = '';
      req.on('data', (c) => (raw += c));
      req.on('end', () => {
        received.push({ raw, body: xml.parse(raw), headers: req.headers });
        if (answer === 500) return res.writeHead(500).end('boom');
        res.writeHead(200, { 'content-type': 'text/xml' }).end(`<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>${answer === 'ack'}</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>`);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });
  beforeEach(async () => {
    received = [];
    answer = 'ack';
    emu?.close();
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/om`;
    emu = createEmulator({
      objects: schemaFromData({
        objects: [
          {
            name: 'Account',
            outboundMessages: [
              { name: 'AccountToErp', endpointUrl: url, fields: ['Id', 'Name', 'industry', 'AnnualRevenue'], on: ['create', 'update'] },
              { name: 'BanksOnly', endpointUrl: `${url}?banks`, fields: ['Name'], on: ['create'], when: { field: 'Industry', equals: 'Banking' } },
            ],
          },
        ],
      }),
    });
    await seedOrg(emu.org, 'none');
  });
  after(() => {
    emu.close();
    server.close();
  });

  const notifications = () => received.flatMap((r) => r.body.Envelope.Body.notifications.Notification as any[]);
  const until = async (fn: () => boolean, what: string) => {
    for (let i = 0; i < 300 && !fn(); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(fn(), what);
  };

  it('sends a committed change as a SOAP notification with the fields read at send time', async () => {
    const c = clientFor(emu, { governor: false });
    const id = (await c.create('Account', { Name: 'Globex & <Sons>', Industry: 'Energy' })).id;
    await until(() => received.length === 1, 'one message');
    const msg = received[0];
    assert.equal(msg.headers['content-type'], 'text/xml; charset=utf-8');
    assert.equal(msg.headers.soapaction, '""');
    const n = msg.body.Envelope.Body.notifications;
    assert.equal(n.OrganizationId, emu.org.orgId);
    assert.match(n.ActionId, /^04k/);
    assert.equal(n.SessionId['@nil'], 'true');
    assert.match(n.Notification[0].Id, /^04l[A-Za-z0-9]{15}$/);
    const so = n.Notification[0].sObject;
    assert.equal(so['@type'], 'sf:Account');
    assert.equal(so.Id, id);
    assert.equal(so.Name, 'Globex & <Sons>');
    assert.equal(so.Industry, 'Energy');
    assert.equal(so.AnnualRevenue['@nil'], 'true');
    await until(() => emu.outbound.queue()[0]?.state === 'delivered', 'delivered after the ack');
    const admin = await (await emu.request('/__emulator/outbound-messages')).json();
    assert.equal(admin.queue[0].state, 'delivered');
    assert.equal(admin.queue[0].attempts, 1);
    assert.deepEqual(admin.definitions.map((d: { name: string }) => d.name), ['AccountToErp', 'BanksOnly']);
  });

  it('retries with the same notification ids and backoff until acked, and expires after 24 h', async () => {
    answer = 500;
    // A frozen clock makes the retry times exact; advancing it is the passing of time.
    emu.org.clock.set(Date.parse('2026-03-05T10:00:00Z'), true);
    const c = clientFor(emu, { governor: false });
    await c.create('Account', { Name: 'Initech' });
    await until(() => emu.outbound.queue()[0]?.attempts === 1, 'first attempt');
    const first = notifications()[0].Id;
    let q = emu.outbound.queue();
    assert.equal(q[0].state, 'pending');
    assert.equal(q[0].attempts, 1);
    assert.match(q[0].lastError!, /HTTP 500/);
    assert.equal(Date.parse(q[0].nextAttemptAt!) - Date.parse(q[0].createdAt), OUTBOUND_RETRY.firstDelayMs);
    await emu.outbound.sendDue();
    assert.equal(received.length, 1, 'not before its time');
    answer = 'nack';
    emu.org.clock.advance(OUTBOUND_RETRY.firstDelayMs);
    await emu.outbound.sendDue();
    assert.equal(received.length, 2);
    q = emu.outbound.queue();
    assert.equal(q[0].attempts, 2, 'Ack false is a failure');
    assert.match(q[0].lastError!, /no <Ack>true<\/Ack>/);
    assert.equal(Date.parse(q[0].nextAttemptAt!) - emu.org.clock.now(), 2 * OUTBOUND_RETRY.firstDelayMs, 'the interval doubles');
    answer = 'ack';
    emu.org.clock.advance(2 * OUTBOUND_RETRY.firstDelayMs);
    await emu.outbound.sendDue();
    assert.deepEqual(notifications().map((n) => n.Id), [first, first, first], 'the same notification id each time');
    assert.equal(emu.outbound.queue()[0].state, 'delivered');

    answer = 500;
    await c.create('Account', { Name: 'Hooli' });
    await until(() => received.length === 4 && emu.outbound.queue({ state: 'pending' })[0]?.attempts === 1, 'attempt on the second record');
    emu.org.clock.advance(OUTBOUND_RETRY.expireMs + 1000);
    await emu.outbound.sendDue();
    assert.equal(received.length, 4, 'an expired notification is not sent');
    assert.equal(emu.outbound.queue({ state: 'expired' }).length, 1);
  });

  it('batches up to 100 notifications per message, honours the condition, and sends nothing for rolled-back writes', async () => {
    const c = clientFor(emu, { governor: false });
    const records = Array.from({ length: 150 }, (_, i) => ({ attributes: { type: 'Account' }, Name: `Bulk ${i}`, Industry: i === 0 ? 'Banking' : 'Retail' }));
    const res = await c.request('composite/sobjects', { method: 'POST', json: { allOrNone: false, records } });
    assert.equal((res as unknown[]).length, 150);
    await until(() => notifications().length === 151 && emu.outbound.queue({ state: 'pending' }).length === 0, '150 + 1 conditional notifications');
    const sizes = received.filter((r) => !r.raw.includes('BanksOnly')).map((r) => r.body.Envelope.Body.notifications.Notification.length);
    assert.ok(sizes.every((s) => s <= 100), `batches of at most 100: ${sizes}`);
    assert.equal(received.filter((r) => r.raw.includes('Banking')).length, 1, 'the conditional definition sent the one bank');
    const before = received.length;
    const rolled = await c.request('composite/sobjects', { method: 'POST', json: { allOrNone: true, records: [{ attributes: { type: 'Account' }, Name: 'Rolled back' }, { attributes: { type: 'Account' } }] } });
    assert.ok((rolled as { success: boolean }[]).every((r) => !r.success));
    await new Promise((r) => setTimeout(r, 100));
    await emu.outbound.sendDue();
    assert.equal(received.length, before, 'nothing for a rolled-back write');
    assert.ok(isAck('<a:notificationsResponse xmlns:a="x"><a:Ack>true</a:Ack></a:notificationsResponse>'));
  });

  it('refuses a definition naming a field the object does not have', () => {
    assert.throws(() => schemaFromData({ objects: [{ name: 'Account', outboundMessages: [{ name: 'X', endpointUrl: 'http://x/y', fields: ['Nmae'] }] }] }), /outboundMessages\[0\] X: no field Nmae on this object/);
  });
});

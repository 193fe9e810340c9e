/**
 * Outbound Messages into the service: the SOAP intake acks only after the inbox write, refuses other orgs,
 * other objects and non-SOAP bodies with SOAP faults, dedupes by Notification/Id, serves the WSDL; the
 * pipeline then delivers each notification once to a queue or, through the publisher, into Salesforce.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DatabaseSync } from 'node:sqlite';
import { XMLParser } from 'fast-xml-parser';
import { clientFor } from '../engine/helpers.ts';
import { harness, until, type Harness } from './helpers.ts';

export function envelope(orgId: string, notifications: { id: string; object: string; fields: Record<string, string | null> }[]): string {
  const items = notifications
    .map(
      (n) =>
        `<Notification><Id>${n.id}</Id><sObject xsi:type="sf:${n.object}" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">${Object.entries(n.fields)
          .map(([k, v]) => (v === null ? `<sf:${k} xsi:nil="true"/>` : `<sf:${k}>${v.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</sf:${k}>`))
          .join('')}</sObject></Notification>`,
    )
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId>${orgId}</OrganizationId><ActionId>04k000000000001AAA</ActionId><SessionId xsi:nil="true"/><EnterpriseUrl>https://x/services/Soap/c/62.0</EnterpriseUrl><PartnerUrl>https://x/services/Soap/u/62.0</PartnerUrl>${items}</notifications></soapenv:Body></soapenv:Envelope>`;
}

const xml = new XMLParser({ removeNSPrefix: true, parseTagValue: false });

describe('sfbridge serve: Outbound Messages intake and delivery', () => {
  let h: Harness;
  let dir: string;
  let file: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sfbridge-om-'));
    file = join(dir, 'accounts.jsonl');
    h = await harness({
      pipelines: [
        { name: 'accounts', kind: 'outbound-messages', connection: 'emu', objects: ['Account'], target: { queue: { kind: 'jsonl', url: file } } },
        { name: 'to-table', kind: 'outbound-messages', connection: 'emu', retry: { max_attempts: 1 }, target: { table: { name: 'erp_accounts', key: 'delivery_id', store: `sqlite:${join(dir, 'app.db')}` } } },
        { name: 'to-tasks', kind: 'outbound-messages', connection: 'emu', target: { salesforce: { object: 'Task', operation: 'insert' } }, transform: { select: ['Id', 'Name'], rename: { Id: 'WhatId' }, expressions: { Subject: 'Follow up {{Name}}' }, drop: ['Name'] } },
      ],
    });
  });
  after(async () => {
    await h.close();
    await rm(dir, { recursive: true, force: true });
  });

  const post = (pipeline: string, body: string, type = 'text/xml; charset=utf-8') => h.app.request(`/inbound/outbound-messages/${pipeline}`, { method: 'POST', headers: { 'content-type': type, soapaction: '""' }, body });
  const lines = async () => (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean).map((l) => JSON.parse(l));

  it('acks a message, delivers each notification once, and keeps retried notifications once', async () => {
    const org = h.emu.org.orgId;
    const msg = envelope(org, [
      { id: '04l000000000001AAA', object: 'Account', fields: { Id: '001000000000001AAA', Name: 'Globex & Sons', Industry: null } },
      { id: '04l000000000002AAA', object: 'Account', fields: { Id: '001000000000002AAA', Name: 'Initech', Industry: 'Banking' } },
    ]);
    const res = await post('accounts', msg);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/xml/);
    assert.equal(xml.parse(await res.text()).Envelope.Body.notificationsResponse.Ack, 'true');
    const state = await (await h.service.store(h.service.storeUrl)).serviceState();
    assert.equal(await state.countInbox({ pipeline: 'accounts' }), 2);
    await until(async () => (await lines()).length === 2, 10_000, 'delivery to the jsonl queue');
    const out = await lines();
    assert.deepEqual(out.map((l) => l.Name), ['Globex & Sons', 'Initech']);
    assert.equal(out[0].Industry, null);
    // Salesforce retries the same message (a lost ack): acknowledged again, delivered no second time.
    const again = await post('accounts', msg);
    assert.equal(again.status, 200);
    assert.equal(await state.countInbox({ pipeline: 'accounts' }), 2);
    await until(async () => (await state.countInbox({ pipeline: 'accounts', state: 'delivered' })) === 2, 10_000, 'both delivered');
    await h.service.runNow('accounts');
    await until(async () => (await h.service.listRuns({ pipeline: 'accounts' })).every((r) => r.status !== 'running'), 10_000, 'runs settle');
    assert.equal((await lines()).length, 2);
  });

  it('refuses other orgs, other objects, non-SOAP bodies and unknown pipelines with SOAP faults', async () => {
    const fault = async (res: Response) => xml.parse(await res.text()).Envelope.Body.Fault;
    const other = await post('accounts', envelope('00D000000000999AAA', [{ id: '04l000000000009AAA', object: 'Account', fields: { Id: '001000000000009AAA' } }]));
    assert.equal(other.status, 403);
    assert.match((await fault(other)).faultstring, /OrganizationId 00D000000000999AAA is not the org of connection "emu"/);
    const contact = await post('accounts', envelope(h.emu.org.orgId, [{ id: '04l000000000010AAA', object: 'Contact', fields: { Id: '003000000000010AAA' } }]));
    assert.equal(contact.status, 500);
    assert.match((await fault(contact)).faultstring, /accepts Account, not Contact/);
    const json = await post('accounts', '{"a":1}', 'application/json');
    assert.equal(json.status, 415);
    const junk = await post('accounts', '<nope/>');
    assert.equal(junk.status, 500);
    assert.equal((await fault(junk)).faultcode, 'soapenv:Client');
    assert.equal((await post('nope', envelope(h.emu.org.orgId, []))).status, 404);
    const state = await (await h.service.store(h.service.storeUrl)).serviceState();
    assert.equal(await state.findInbox('accounts', '04l000000000009AAA'), undefined, 'nothing written for a refused message');
  });

  it('answers a SOAP fault (so Salesforce retries) when the inbox write fails', async () => {
    const state = await (await h.service.store(h.service.storeUrl)).serviceState();
    const original = state.addInboxBatch;
    state.addInboxBatch = async () => {
      throw new Error('disk full');
    };
    try {
      const res = await post('accounts', envelope(h.emu.org.orgId, [{ id: '04l000000000020AAA', object: 'Account', fields: { Id: '001000000000020AAA' } }]));
      assert.equal(res.status, 500);
      const body = xml.parse(await res.text()).Envelope.Body;
      assert.equal(body.notificationsResponse, undefined, 'no Ack');
      assert.match(body.Fault.faultstring, /disk full/);
    } finally {
      state.addInboxBatch = original;
    }
  });

  it('serves the WSDL with the endpoint address', async () => {
    const res = await h.app.request('/inbound/outbound-messages/accounts?wsdl');
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.ok(xml.parse(text).definitions, 'a WSDL definitions document');
    assert.match(text, /<soap:address location="http:\/\/localhost\/inbound\/outbound-messages\/accounts"\/>/);
    assert.match(text, /<operation name="notifications">/);
  });

  it('writes notifications into Salesforce through the publisher exactly once', async () => {
    const c = clientFor(h.emu, { governor: false });
    const acct = (await c.create('Account', { Name: 'Hooli' })).id;
    const msg = envelope(h.emu.org.orgId, [{ id: '04l000000000030AAA', object: 'Account', fields: { Id: acct, Name: 'Hooli' } }]);
    assert.equal((await post('to-tasks', msg)).status, 200);
    assert.equal((await post('to-tasks', msg)).status, 200);
    const state = await (await h.service.store(h.service.storeUrl)).serviceState();
    const row = await until(async () => {
      const r = await state.findInbox('to-tasks', '04l000000000030AAA');
      return r?.state === 'delivered' && r;
    }, 10_000, 'delivered into Salesforce');
    const tasks = await c.query(`SELECT Id, Subject, WhatId FROM Task WHERE WhatId = '${acct}'`).toArray();
    assert.equal(tasks.length, 1);
    assert.equal(tasks[0].Subject, 'Follow up Hooli');
    assert.equal(((row.result as { id: string }[])[0]).id, tasks[0].Id);
  });

  it('delivers into an application table by delivery id; a dead item is listed and retried through the API', async () => {
    const msg = envelope(h.emu.org.orgId, [{ id: '04l000000000040AAA', object: 'Account', fields: { Id: '001000000000040AAA', Name: 'Table Co', Industry: 'Energy' } }]);
    assert.equal((await post('to-table', msg)).status, 200);
    // The table does not exist yet and the pipeline allows one attempt: the item is dead, with the fix.
    const dead = await until(async () => {
      const r = await h.api('/api/v1/inbox/to-table?state=dead');
      return r.body.items.length === 1 && r;
    }, 10_000, 'a dead item');
    assert.match(dead.body.items[0].last_error, /table erp_accounts does not exist in the store; create it/);
    assert.deepEqual(dead.body.counts, { pending: 0, delivered: 0, dead: 1 });
    const db = new DatabaseSync(join(dir, 'app.db'));
    db.exec('CREATE TABLE erp_accounts (delivery_id TEXT PRIMARY KEY, Id TEXT, Name TEXT, Industry TEXT)');
    const retried = await h.api(`/api/v1/inbox/to-table/${dead.body.items[0].id}/retry`, { method: 'POST' });
    assert.equal(retried.status, 202);
    await until(async () => (await h.api('/api/v1/inbox/to-table?state=delivered')).body.items.length === 1, 10_000, 'delivered after the retry');
    assert.deepEqual(db.prepare('SELECT * FROM erp_accounts').all().map((r) => ({ ...r })), [{ delivery_id: '04l000000000040AAA:0', Id: '001000000000040AAA', Name: 'Table Co', Industry: 'Energy' }]);
    assert.equal((await h.api(`/api/v1/inbox/to-table/${dead.body.items[0].id}/retry`, { method: 'POST' })).status, 409);
    assert.equal((await h.api('/api/v1/inbox/nope')).status, 404);
    db.close();
  });
});

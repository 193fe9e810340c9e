/**
 * Outbound Messages from the emulated org, as Salesforce sends them (reference §7). A definition in the
 * schema file (on an object: name, endpoint URL, fields, create and/or update, an optional field condition)
 * queues one notification per committed matching change; a sender POSTs the SOAP `notifications` envelope
 * with up to 100 notifications of one definition, reading the record's fields at send time. Only
 * `<Ack>true</Ack>` counts as delivered. A failed message is retried with the same notification ids, the
 * interval doubling from 15 s to at most 2 h, until 24 h after the change on the emulator's clock, when the
 * notification is dropped (state `expired`, as Setup's monitoring shows). `/__emulator/outbound-messages`
 * lists the queue with its attempts.
 *
 * Changes are queued after their transaction committed: a write inside a Composite `allOrNone` request
 * that is rolled back sends nothing.
 */
import type { Org } from '../org.ts';
import { makeId } from '../ids.ts';
import { toApiRecord } from '../records.ts';
import type { ObjectDef } from '../schema/types.ts';

/** An outbound message definition (schema file: `outboundMessages:` on an object). */
export interface OutboundMessageDef {
  name: string;
  endpointUrl: string;
  /** Fields sent (Id is always sent). */
  fields: string[];
  on: ('create' | 'update')[];
  /** Only changes whose record has this value in this field. */
  when?: { field: string; equals: string | number | boolean | null };
}

/** Retry schedule: 15 s doubling to 2 h; dropped after 24 h. */
export const OUTBOUND_RETRY = Object.freeze({ firstDelayMs: 15_000, maxDelayMs: 2 * 3_600_000, expireMs: 24 * 3_600_000 });
/** Notifications per message. */
export const OUTBOUND_BATCH = 100;
/** Time allowed for the endpoint's answer. */
export const OUTBOUND_TIMEOUT_MS = 60_000;

export type OutboundState = 'pending' | 'delivered' | 'expired';

export interface OutboundQueueItem {
  notificationId: string;
  actionId: string;
  definition: string;
  object: string;
  recordId: string;
  createdAt: string;
  state: OutboundState;
  attempts: number;
  nextAttemptAt: string | null;
  lastError: string | null;
  deliveredAt: string | null;
}

const esc = (s: string) => s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);

/** The SOAP envelope of one message (`records`: the sObjects of its notifications, as sent). */
export function notificationsEnvelope(opts: { orgId: string; actionId: string; baseUrl: string; apiVersion: string; items: { id: string; object: string; record: Record<string, unknown> }[] }): string {
  const value = (v: unknown) => (v === null || v === undefined ? null : typeof v === 'object' ? JSON.stringify(v) : String(v));
  const notifications = opts.items
    .map((n) => {
      const fields = Object.entries(n.record)
        .map(([k, v]) => {
          const text = value(v);
          return text === null ? `<sf:${k} xsi:nil="true"/>` : `<sf:${k}>${esc(text)}</sf:${k}>`;
        })
        .join('');
      return `<Notification><Id>${n.id}</Id><sObject xsi:type="sf:${n.object}" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">${fields}</sObject></Notification>`;
    })
    .join('');
  const org15 = opts.orgId.slice(0, 15);
  return `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId>${opts.orgId}</OrganizationId><ActionId>${opts.actionId}</ActionId><SessionId xsi:nil="true"/><EnterpriseUrl>${esc(opts.baseUrl)}/services/Soap/c/${opts.apiVersion}/${org15}</EnterpriseUrl><PartnerUrl>${esc(opts.baseUrl)}/services/Soap/u/${opts.apiVersion}/${org15}</PartnerUrl>${notifications}</notifications></soapenv:Body></soapenv:Envelope>`;
}

/** Whether an answer acknowledges the message: `<Ack>true</Ack>` inside `notificationsResponse`. */
export function isAck(body: string): boolean {
  return /<(?:\w+:)?notificationsResponse\b[^>]*>\s*<(?:\w+:)?Ack>\s*true\s*<\/(?:\w+:)?Ack>/i.test(body);
}

export interface OutboundSenderOptions {
  /** How messages are POSTed (default global fetch). */
  fetch?: typeof fetch;
  /** Base URL in the envelope's EnterpriseUrl/PartnerUrl. */
  baseUrl?: () => string;
  /** How often due messages are looked for (real time; due-ness follows the emulator clock). */
  pollMs?: number;
}

/** Queues and sends the org's Outbound Messages. */
export class OutboundSender {
  readonly #org: Org;
  readonly #fetch: typeof fetch;
  readonly #baseUrl: () => string;
  readonly #defs = new Map<string, { def: OutboundMessageDef; object: ObjectDef; actionId: string }>();
  /** Writes seen inside a transaction, queued once it commits (SystemModstamp tells a rolled-back update). */
  #pending: { object: string; id: string; op: 'create' | 'update'; stamp: unknown }[] = [];
  #watching = false;
  #timer: NodeJS.Timeout | undefined;
  #sending: Promise<void> | undefined;
  #stopped = false;

  constructor(org: Org, opts: OutboundSenderOptions = {}) {
    this.#org = org;
    this.#fetch = opts.fetch ?? ((input, init) => fetch(input, init));
    this.#baseUrl = opts.baseUrl ?? (() => 'https://emulator.my.salesforce.com');
    org.store.db.exec(`CREATE TABLE IF NOT EXISTS _outbound_queue (
        notification_id TEXT PRIMARY KEY, action_id TEXT NOT NULL, definition TEXT NOT NULL, object TEXT NOT NULL,
        record_id TEXT NOT NULL, created_at INTEGER NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER, last_error TEXT, delivered_at INTEGER);
      CREATE INDEX IF NOT EXISTS _outbound_queue_due ON _outbound_queue (state, next_attempt_at);`);
    let n = 0;
    for (const object of org.schema.all()) {
      for (const def of object.outboundMessages ?? []) this.#defs.set(def.name, { def, object, actionId: makeId('04k', ++n, '5g0') });
    }
    if (!this.#defs.size) return;
    org.events.on('write', (e) => {
      if (e.op !== 'create' && e.op !== 'update') return;
      if (![...this.#defs.values()].some((d) => d.object.name === e.object && d.def.on.includes(e.op as 'create'))) return;
      const def = org.schema.get(e.object)!;
      this.#pending.push({ object: e.object, id: e.id, op: e.op, stamp: org.store.getRow(def, e.id)?.SystemModstamp });
      this.#afterCommit();
    });
    this.#timer = setInterval(() => void this.sendDue(), opts.pollMs ?? 1000);
    this.#timer.unref();
  }

  /** The definitions by name. */
  get definitions(): OutboundMessageDef[] {
    return [...this.#defs.values()].map((d) => d.def);
  }

  #afterCommit(): void {
    if (this.#watching) return;
    this.#watching = true;
    const check = () => {
      const db = this.#org.store.db;
      if (db.isOpen && db.isTransaction) {
        setTimeout(check, 2).unref();
        return;
      }
      this.#watching = false;
      if (!db.isOpen) return;
      const writes = this.#pending;
      this.#pending = [];
      this.#enqueue(writes);
    };
    setImmediate(check);
  }

  #enqueue(writes: { object: string; id: string; op: 'create' | 'update'; stamp: unknown }[]): void {
    const org = this.#org;
    const now = org.clock.now();
    let added = 0;
    for (const w of writes) {
      const objectDef = org.schema.get(w.object)!;
      const row = org.store.getRow(objectDef, w.id);
      // Gone or back at an older stamp: the write was rolled back.
      if (!row || row.SystemModstamp !== w.stamp) continue;
      const record = toApiRecord(org, objectDef, row);
      for (const { def, object, actionId } of this.#defs.values()) {
        if (object.name !== w.object || !def.on.includes(w.op)) continue;
        if (def.when && (record[def.when.field] ?? null) !== def.when.equals) continue;
        const seq = Number(org.store.getMeta('outbound:seq') ?? 0) + 1;
        org.store.setMeta('outbound:seq', String(seq));
        org.store.prepare('INSERT INTO _outbound_queue (notification_id, action_id, definition, object, record_id, created_at, state, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(makeId('04l', seq, '5g0'), actionId, def.name, w.object, w.id, now, 'pending', now);
        added++;
      }
    }
    if (added) void this.sendDue();
  }

  /** Sends every due message now (also called on a timer); resolves when the round is done. */
  sendDue(): Promise<void> {
    if (this.#stopped || !this.#org.store.db.isOpen) return Promise.resolve();
    if (this.#sending) return this.#sending.then(() => this.#round());
    return this.#round();
  }

  #round(): Promise<void> {
    this.#sending ??= this.#sendRound().finally(() => (this.#sending = undefined));
    return this.#sending;
  }

  async #sendRound(): Promise<void> {
    const org = this.#org;
    const now = org.clock.now();
    org.store.prepare("UPDATE _outbound_queue SET state = 'expired', next_attempt_at = NULL WHERE state = 'pending' AND created_at <= ?").run(now - OUTBOUND_RETRY.expireMs);
    const due = org.store.prepare("SELECT * FROM _outbound_queue WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY definition, created_at, notification_id LIMIT 1000").all(now) as Record<string, unknown>[];
    const byDef = new Map<string, Record<string, unknown>[]>();
    for (const r of due) byDef.set(String(r.definition), [...(byDef.get(String(r.definition)) ?? []), r]);
    await Promise.all(
      [...byDef].map(async ([name, rows]) => {
        const entry = this.#defs.get(name);
        if (!entry) return;
        for (let i = 0; i < rows.length; i += OUTBOUND_BATCH) await this.#send(entry, rows.slice(i, i + OUTBOUND_BATCH));
      }),
    );
  }

  async #send(entry: { def: OutboundMessageDef; object: ObjectDef; actionId: string }, rows: Record<string, unknown>[]): Promise<void> {
    const org = this.#org;
    const items: { id: string; object: string; record: Record<string, unknown> }[] = [];
    for (const r of rows) {
      // Salesforce sends the record as it is at send time.
      const row = org.store.getRow(entry.object, String(r.record_id));
      const api = row ? toApiRecord(org, entry.object, row) : { Id: String(r.record_id) };
      const record: Record<string, unknown> = { Id: api.Id };
      for (const f of entry.def.fields) if (f !== 'Id') record[f] = api[f] ?? null;
      items.push({ id: String(r.notification_id), object: entry.object.name, record });
    }
    const body = notificationsEnvelope({ orgId: org.orgId, actionId: entry.actionId, baseUrl: this.#baseUrl(), apiVersion: org.apiVersion, items });
    let error: string | null = null;
    try {
      const res = await this.#fetch(entry.def.endpointUrl, { method: 'POST', headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '""' }, body, signal: AbortSignal.timeout(OUTBOUND_TIMEOUT_MS) });
      const text = await res.text();
      if (!res.ok) error = `HTTP ${res.status}: ${text.slice(0, 200)}`;
      else if (!isAck(text)) error = `no <Ack>true</Ack> in the answer: ${text.slice(0, 200)}`;
    } catch (err) {
      error = `${(err as Error).name === 'TimeoutError' ? 'timed out' : 'could not connect'}: ${(err as Error).message}`;
    }
    // The org was closed while the message was out: nothing left to record.
    if (this.#stopped || !org.store.db.isOpen) return;
    const now = org.clock.now();
    const ids = rows.map((r) => String(r.notification_id));
    const marks = ids.map(() => '?').join(', ');
    if (!error) {
      org.store.prepare(`UPDATE _outbound_queue SET state = 'delivered', attempts = attempts + 1, delivered_at = ?, next_attempt_at = NULL, last_error = NULL WHERE notification_id IN (${marks})`).run(now, ...ids);
      return;
    }
    for (const r of rows) {
      const attempts = Number(r.attempts) + 1;
      const delay = Math.min(OUTBOUND_RETRY.maxDelayMs, OUTBOUND_RETRY.firstDelayMs * 2 ** (attempts - 1));
      org.store.prepare('UPDATE _outbound_queue SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE notification_id = ?').run(attempts, now + delay, error, String(r.notification_id));
    }
  }

  /** The queue, newest first (the admin API). */
  queue(opts: { state?: OutboundState; limit?: number } = {}): OutboundQueueItem[] {
    const limit = Math.max(1, Math.min(10_000, opts.limit ?? 500));
    const rows = (opts.state ? this.#org.store.prepare('SELECT * FROM _outbound_queue WHERE state = ? ORDER BY created_at DESC, notification_id DESC LIMIT ?').all(opts.state, limit) : this.#org.store.prepare('SELECT * FROM _outbound_queue ORDER BY created_at DESC, notification_id DESC LIMIT ?').all(limit)) as Record<string, unknown>[];
    const iso = (v: unknown) => (v === null || v === undefined ? null : new Date(Number(v)).toISOString());
    return rows.map((r) => ({
      notificationId: String(r.notification_id),
      actionId: String(r.action_id),
      definition: String(r.definition),
      object: String(r.object),
      recordId: String(r.record_id),
      createdAt: iso(r.created_at)!,
      state: r.state as OutboundState,
      attempts: Number(r.attempts),
      nextAttemptAt: iso(r.next_attempt_at),
      lastError: r.last_error === null ? null : String(r.last_error),
      deliveredAt: iso(r.delivered_at),
    }));
  }

  /** Makes every pending message due now (Setup's "retry"), then sends. */
  retryNow(): Promise<void> {
    this.#org.store.prepare("UPDATE _outbound_queue SET next_attempt_at = ? WHERE state = 'pending'").run(this.#org.clock.now());
    return this.sendDue();
  }

  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
  }
}

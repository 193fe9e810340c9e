/**
 * The org's event bus: one durable log (`_event_log` in the org database) of change events and platform
 * events, the set of objects with Change Data Capture on, and the committed tip that subscribers read up to.
 *
 * Events are appended by DML inside the same SQLite transaction as the rows they describe, so a rolled-back
 * savepoint (Composite allOrNone, a failed Collections record) takes its events with it and nothing is ever
 * published for work that did not commit. Subscribers only see events up to the committed tip, which moves
 * when no transaction is open on the org's connection; every request shares that one connection, so an
 * event above the tip always belongs to a transaction that is still open.
 *
 * Replay ids are the log's rowids: increasing, never reused once visible (a rolled-back id was never seen),
 * shared by all channels (so per channel they have gaps, as on Salesforce). Retention is 72 hours on the org
 * clock; ids at or below `purgedThrough` are gone and a subscription that asks for them is refused.
 */
import { EventEmitter } from 'node:events';
import type { Clock } from '../clock.ts';
import type { ObjectDef } from '../schema/types.ts';
import type { OrgStore } from '../store/org-store.ts';
import type { SqlValue } from '../store/values.ts';

/** How long the bus keeps events (change events and high-volume platform events): 72 hours. */
export const EVENT_RETENTION_MS = 72 * 60 * 60 * 1000;

export type ChangeType = 'CREATE' | 'UPDATE' | 'DELETE' | 'UNDELETE' | 'GAP_CREATE' | 'GAP_UPDATE' | 'GAP_DELETE' | 'GAP_UNDELETE' | 'GAP_OVERFLOW';

/** The ChangeEventHeader as stored; field lists name stored fields (`BillingCity`), renderers map them. */
export interface ChangeHeader {
  entityName: string;
  recordIds: string[];
  changeType: ChangeType;
  changeOrigin: string;
  transactionKey: string;
  sequenceNumber: number;
  commitTimestamp: number;
  commitNumber: number;
  commitUser: string;
  changedFields: string[];
  nulledFields: string[];
  diffFields: string[];
}

export interface ChangeEventBody {
  kind: 'change';
  header: ChangeHeader;
  /** Stored values (datetimes as epoch ms, booleans 0/1) of the fields the event carries. */
  fields: Record<string, SqlValue>;
}

export interface PlatformEventBody {
  kind: 'platform';
  entity: string;
  uuid: string;
  /** Stored values of the event's fields, when it was published with fields (REST, Composite). */
  fields?: Record<string, SqlValue>;
  /** Avro payload and schema id as a Pub/Sub client sent them (published as-is, never validated). */
  payload?: string;
  schemaId?: string;
}

export type EventBody = ChangeEventBody | PlatformEventBody;

export interface BusEvent {
  replayId: number;
  channel: string;
  createdAt: number;
  body: EventBody;
}

/** Objects whose `…ChangeEvent` channel a default org has (Setup's usual selection). */
export const DEFAULT_CDC_OBJECTS = ['Account', 'Contact', 'Lead', 'Opportunity', 'Case'];

/** True for objects Change Data Capture can be turned on for: stored standard and custom objects. */
export function cdcCapable(def: ObjectDef): boolean {
  return !def.view && !def.external && !def.associateEntityType && !def.name.endsWith('__e') && !def.subqueryOnly && def.keyPrefix !== null;
}

/** `Account` → `AccountChangeEvent`, `Invoice__c` → `Invoice__ChangeEvent`. */
export function changeEventName(object: string): string {
  return object.endsWith('__c') ? `${object.slice(0, -3)}__ChangeEvent` : `${object}ChangeEvent`;
}

/** The channel of one object's change events: `/data/AccountChangeEvent`. */
export function changeChannel(object: string): string {
  return `/data/${changeEventName(object)}`;
}

export const ALL_CHANGES_CHANNEL = '/data/ChangeEvents';

interface BusEvents {
  /** The committed tip moved (new events are readable). */
  commit: [tip: number];
  /** The `drop` fault: every open subscription stream is closed by the server. */
  drop: [];
}

export class EventBus extends EventEmitter<BusEvents> {
  readonly #store: OrgStore;
  readonly #clock: Clock;
  readonly #cdc = new Set<string>();
  #tip = 0;
  #checking = false;
  #lastPurge = 0;

  constructor(store: OrgStore, clock: Clock) {
    super();
    this.setMaxListeners(0);
    this.#store = store;
    this.#clock = clock;
    store.db.exec(`CREATE TABLE IF NOT EXISTS _event_log (
        replay_id INTEGER PRIMARY KEY AUTOINCREMENT,
        channel TEXT NOT NULL,
        kind TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        body TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS _event_log_channel ON _event_log (channel, replay_id);
      CREATE INDEX IF NOT EXISTS _event_log_time ON _event_log (created_at);`);
    this.#tip = this.#maxStored();
    store.onCommit(() => this.committed());
  }

  /** Objects with Change Data Capture on (canonical names). */
  get cdcObjects(): string[] {
    return [...this.#cdc];
  }

  setCdc(objects: Iterable<string>): void {
    this.#cdc.clear();
    for (const o of objects) this.#cdc.add(o);
  }

  cdcEnabled(object: string): boolean {
    return this.#cdc.has(object);
  }

  /** The highest committed replay id (0 for an empty log). */
  get tip(): number {
    return this.#tip;
  }

  /** Replay ids at or below this were purged (retention, reset): replaying from them is refused. */
  get purgedThrough(): number {
    return Number(this.#store.getMeta('events:purgedThrough') ?? 0);
  }

  /** Appends one event inside whatever transaction is open; visible to subscribers once it commits. */
  append(channel: string, body: EventBody): number {
    const res = this.#store.prepare('INSERT INTO _event_log (channel, kind, created_at, body) VALUES (?, ?, ?, ?)')
      .run(channel, body.kind, this.#clock.now(), JSON.stringify(body));
    if (this.#store.db.isTransaction) this.#watchCommit();
    else this.committed();
    return Number(res.lastInsertRowid);
  }

  /** Counts the transactions that ended (change capture's scopes for writers outside a request). */
  epoch = 0;

  /** Called when a transaction may have ended: moves the tip and wakes subscribers. */
  committed(): void {
    if (this.#store.db.isTransaction) return;
    this.epoch++;
    const max = this.#maxStored();
    if (max > this.#tip) {
      this.#tip = max;
      this.emit('commit', max);
    }
    if (Date.now() - this.#lastPurge > 60_000) this.purgeExpired();
  }

  /**
   * Safety net for transactions opened by code that does not report its commit: look again on the next
   * turns of the event loop until the connection is out of its transaction.
   */
  #watchCommit(): void {
    if (this.#checking) return;
    this.#checking = true;
    const check = () => {
      if (this.#store.db.isOpen && this.#store.db.isTransaction) {
        setTimeout(check, 5).unref();
        return;
      }
      this.#checking = false;
      if (this.#store.db.isOpen) this.committed();
    };
    setImmediate(check).unref();
  }

  /** The last replay id handed out by a committed transaction (the sequence is transactional too). */
  #maxStored(): number {
    const row = this.#store.prepare("SELECT seq FROM sqlite_sequence WHERE name = '_event_log'").get();
    return Number(row?.seq ?? 0);
  }

  /** Committed events after `after` on a channel (`/data/ChangeEvents` reads every change event). */
  read(channel: string, after: number, limit: number): BusEvent[] {
    const rows = channel === ALL_CHANGES_CHANNEL
      ? this.#store.prepare("SELECT replay_id, channel, created_at, body FROM _event_log WHERE kind = 'change' AND replay_id > ? AND replay_id <= ? ORDER BY replay_id LIMIT ?").all(after, this.#tip, limit)
      : this.#store.prepare('SELECT replay_id, channel, created_at, body FROM _event_log WHERE channel = ? AND replay_id > ? AND replay_id <= ? ORDER BY replay_id LIMIT ?').all(channel, after, this.#tip, limit);
    return rows.map((r) => ({ replayId: Number(r.replay_id), channel: String(r.channel), createdAt: Number(r.created_at), body: JSON.parse(String(r.body)) as EventBody }));
  }

  /**
   * Where a subscription that replays from `replayId` starts, or null when the id is outside what the bus
   * can replay (purged by retention, or never issued).
   */
  validReplayStart(replayId: number): number | null {
    this.purgeExpired();
    if (!Number.isSafeInteger(replayId) || replayId < this.purgedThrough || replayId > this.#tip) return null;
    return replayId;
  }

  /** Drops events older than the retention window (org clock). */
  purgeExpired(): void {
    this.#lastPurge = Date.now();
    if (this.#store.db.isTransaction) return;
    const cutoff = this.#clock.now() - EVENT_RETENTION_MS;
    // The time index keeps this proportional to what expires, not to the log's size.
    const row = this.#store.prepare('SELECT MAX(replay_id) AS m FROM _event_log WHERE created_at < ?').get(cutoff);
    const through = Number(row?.m ?? 0);
    if (through <= 0) return;
    this.#store.prepare('DELETE FROM _event_log WHERE replay_id <= ?').run(through);
    if (through > this.purgedThrough) this.#store.setMeta('events:purgedThrough', String(through));
  }

  /** Forgets every event (admin reset); ids keep increasing, and older ids are refused from now on. */
  clear(): void {
    this.#store.prepare('DELETE FROM _event_log').run();
    this.#store.setMeta('events:purgedThrough', String(this.#tip));
  }
}

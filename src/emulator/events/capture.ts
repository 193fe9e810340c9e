/**
 * Change capture: DML calls `captureChange` after each row write, and this module turns it into a change
 * event on the bus with a real ChangeEventHeader.
 *
 * One transaction = one outer API request (`inTransactionScope`, set by the emulator around every request;
 * Composite subrequests run inside their outer request's scope) or, for writers outside a request (the
 * Bulk engine's chunks, seeding), one SQLite transaction. Every event of a transaction shares its
 * transactionKey, commitNumber and commitTimestamp, and numbers its changes from 1 (sequenceNumber).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { Org } from '../org.ts';
import { isChangeEventField } from '../schema/objects/change-events.ts';
import type { ObjectDef } from '../schema/types.ts';
import type { StoredRow } from '../store/org-store.ts';
import { isStored, type SqlValue } from '../store/values.ts';
import { changeChannel, type ChangeHeader, type ChangeType } from './bus.ts';

interface TxScope {
  origin: string;
  /** For implicit scopes: the bus's commit epoch they belong to. */
  epoch?: number;
  key?: string;
  seq: number;
  commitNumber?: number;
  commitTimestamp?: number;
  /** Record changes captured per object, for the overflow limit. */
  changes?: Map<string, number>;
}

const scopes = new AsyncLocalStorage<TxScope>();
/** Scopes of writers outside any request, one per open SQLite transaction of an org. */
const implicit = new WeakMap<Org, TxScope>();

/**
 * Runs `fn` as one transaction for change events. `origin` is the header's changeOrigin, e.g.
 * `com/salesforce/api/rest/62.0;client=acme`.
 */
export function inTransactionScope<T>(origin: string, fn: () => T): T {
  return scopes.run({ origin, seq: 0 }, fn);
}

/** The changeOrigin of an API call: `com/salesforce/api/{api}/{version}` plus `;client=` from Sforce-Call-Options. */
export function changeOrigin(api: string, version: string, callOptions: string | null): string {
  const client = callOptions ? /(?:^|,)\s*client=([^,]+)/.exec(callOptions)?.[1]?.trim() : undefined;
  return `com/salesforce/api/${api}/${version}${client ? `;client=${client}` : ''}`;
}

function currentScope(org: Org): TxScope {
  const scope = scopes.getStore();
  if (scope) return scope;
  let s = implicit.get(org);
  // A write outside any open SQLite transaction is a transaction of its own; inside one, the scope lasts
  // until that transaction commits (the bus's epoch moves).
  if (!s || !org.store.db.isTransaction || s.epoch !== org.bus.epoch) {
    s = { origin: '', seq: 0, epoch: org.bus.epoch };
    if (org.store.db.isTransaction) implicit.set(org, s);
    else implicit.delete(org);
  }
  return s;
}

function headerFor(org: Org, def: ObjectDef, type: ChangeType, ids: string[], scope: TxScope = currentScope(org)): ChangeHeader {
  scope.key ??= randomUUID();
  scope.commitTimestamp ??= org.clock.now();
  scope.commitNumber ??= org.store.nextSequence('#events.commitNumber');
  scope.seq++;
  return {
    entityName: def.name,
    recordIds: ids,
    changeType: type,
    changeOrigin: scope.origin,
    transactionKey: scope.key,
    sequenceNumber: scope.seq,
    commitTimestamp: scope.commitTimestamp,
    commitNumber: scope.commitNumber,
    commitUser: org.currentUserId,
    changedFields: [],
    nulledFields: [],
    diffFields: [],
  };
}

/**
 * Records one change of one record. `row` is the record after the change (CREATE, UNDELETE) or the written
 * columns (UPDATE, with `before` the row as it was); DELETE needs neither.
 */
export function captureChange(org: Org, def: ObjectDef, type: 'CREATE' | 'UPDATE' | 'DELETE' | 'UNDELETE', id: string, row?: StoredRow, before?: StoredRow): void {
  if (!org.bus.cdcEnabled(def.name)) return;
  const scope = currentScope(org);
  // Overflow: past the limit, one transaction's further changes of an object become one GAP_OVERFLOW.
  const changes = (scope.changes ??= new Map());
  const n = (changes.get(def.name) ?? 0) + 1;
  changes.set(def.name, n);
  const limit = org.faults.settings.overflow;
  if (n > limit) {
    if (n === limit + 1) org.bus.append(changeChannel(def.name), { kind: 'change', header: headerFor(org, def, 'GAP_OVERFLOW', [], scope), fields: {} });
    return;
  }
  // The gap fault: the change is published as its header-only gap event, record ids kept.
  if (org.faults.roll('gap')) {
    org.bus.append(changeChannel(def.name), { kind: 'change', header: headerFor(org, def, `GAP_${type}`, [id], scope), fields: {} });
    return;
  }
  const header = headerFor(org, def, type, [id], scope);
  const fields: Record<string, SqlValue> = {};
  if ((type === 'CREATE' || type === 'UNDELETE') && row) {
    for (const f of def.fields) {
      if (!isStored(f) || !isChangeEventField(f)) continue;
      const v = row[f.name];
      if (v !== null && v !== undefined) fields[f.name] = v;
    }
  } else if (type === 'UPDATE' && row) {
    for (const f of def.fields) {
      if (!isStored(f) || !isChangeEventField(f) || !(f.name in row)) continue;
      const v = row[f.name] ?? null;
      // LastModifiedDate is always part of an update; other fields only when their value changed.
      if (f.name !== 'LastModifiedDate' && sameValue(v, before?.[f.name] ?? null)) continue;
      header.changedFields.push(f.name);
      if (v === null) header.nulledFields.push(f.name);
      else fields[f.name] = v;
    }
  }
  org.bus.append(changeChannel(def.name), { kind: 'change', header, fields });
}

/** A header-only gap or overflow event (fault injection): GAP_OVERFLOW carries no record ids. */
export function captureGap(org: Org, def: ObjectDef, type: 'GAP_CREATE' | 'GAP_UPDATE' | 'GAP_DELETE' | 'GAP_UNDELETE' | 'GAP_OVERFLOW', ids: string[]): number {
  const header = headerFor(org, def, type, type === 'GAP_OVERFLOW' ? [] : ids);
  return org.bus.append(changeChannel(def.name), { kind: 'change', header, fields: {} });
}

/** Publishes one platform event with stored field values; returns its replay id. */
export function capturePlatformEvent(org: Org, def: ObjectDef, uuid: string, fields: Record<string, SqlValue>): number {
  return org.bus.append(`/event/${def.name}`, { kind: 'platform', entity: def.name, uuid, fields });
}

function sameValue(a: SqlValue, b: SqlValue): boolean {
  if (a === b) return true;
  if (a === null || b === null) return false;
  if (typeof a === 'number' || typeof b === 'number' || typeof a === 'bigint' || typeof b === 'bigint') return Number(a) === Number(b);
  return String(a) === String(b);
}

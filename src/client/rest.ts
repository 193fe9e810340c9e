/**
 * Record CRUD, upsert by external ID, replication (getUpdated/getDeleted) and /limits (§2.5–2.7, §3).
 */
import type { Connection } from './connection.ts';
import { SalesforceError } from './errors.ts';

/** Result of create (§2.5). */
export interface SaveResult {
  id: string;
  success: boolean;
  errors: unknown[];
}

/** Result of upsert: `created` tells insert (201) from update (200/204). */
export interface UpsertResult {
  /** Absent only when an old API version answered 204 to an update. */
  id: string | undefined;
  created: boolean;
}

export interface CallOptions {
  signal?: AbortSignal;
  /** Extra headers (e.g. `Sforce-Auto-Assign`, `Sforce-Duplicate-Rule-Header`). */
  headers?: Record<string, string>;
}

const ID_RE = /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/;

function sobjectPath(name: string, ...rest: string[]): string {
  if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(name)) throw new TypeError(`not an sObject API name: ${JSON.stringify(name)}`);
  return ['sobjects', name, ...rest.map(encodeURIComponent)].join('/');
}

function checkId(id: string): string {
  if (!ID_RE.test(id)) throw new TypeError(`not a Salesforce record ID (15 or 18 letters/digits): ${JSON.stringify(id)}`);
  return id;
}

/** Creates a record; returns its ID. Not replayed after a dropped response (it may have been created). */
export async function create(client: Connection, sobject: string, fields: Record<string, unknown>, opts: CallOptions = {}): Promise<SaveResult> {
  return client.request<SaveResult>(sobjectPath(sobject), { method: 'POST', json: fields, ...opts });
}

/** Reads a record, optionally only some fields. */
export async function retrieve<T = Record<string, unknown>>(client: Connection, sobject: string, id: string, fields?: readonly string[], opts: CallOptions = {}): Promise<T> {
  return client.request<T>(sobjectPath(sobject, checkId(id)), { query: { fields: fields?.join(',') }, ...opts });
}

/** Updates fields of a record. */
export async function update(client: Connection, sobject: string, id: string, fields: Record<string, unknown>, opts: CallOptions = {}): Promise<void> {
  await client.request(sobjectPath(sobject, checkId(id)), { method: 'PATCH', json: fields, ...opts });
}

/** Deletes a record. */
export async function del(client: Connection, sobject: string, id: string, opts: CallOptions = {}): Promise<void> {
  await client.request(sobjectPath(sobject, checkId(id)), { method: 'DELETE', ...opts });
}

/**
 * Upserts by external ID: 201 → created, 200 (or 204 before v46) → updated. Several matches (300) throw a
 * {@link SalesforceError} with `errorCode` `MULTIPLE_CHOICES` and the matching record URLs in `matches`.
 */
export async function upsert(client: Connection, sobject: string, externalIdField: string, value: string, fields: Record<string, unknown>, opts: CallOptions & { updateOnly?: boolean } = {}): Promise<UpsertResult> {
  const { updateOnly, ...rest } = opts;
  const res = await client.call<{ id?: string; created?: boolean } | string[] | undefined>(sobjectPath(sobject, externalIdField, value), {
    method: 'PATCH',
    json: fields,
    query: { updateOnly: updateOnly ? 'true' : undefined },
    accept: [300],
    ...rest,
  });
  if (res.status === 300) {
    const matches = Array.isArray(res.body) ? res.body.map(String) : [];
    throw new SalesforceError(300, [{ errorCode: 'MULTIPLE_CHOICES', message: `${matches.length} ${sobject} records have ${externalIdField} = ${JSON.stringify(value)}; make ${externalIdField} unique or upsert by Id`, fields: [externalIdField] }], matches);
  }
  const body = Array.isArray(res.body) ? undefined : res.body;
  return { id: body?.id, created: res.status === 201 };
}

/** Formats a Date for getUpdated/getDeleted (`yyyy-MM-ddTHH:mm:ss+00:00`; Salesforce ignores seconds). */
export function replicationDate(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, '+00:00');
}

/** IDs of records changed in a window (§2.7). Use `latestDateCovered` as the next start. */
export async function getUpdated(client: Connection, sobject: string, start: Date, end: Date, opts: CallOptions = {}): Promise<{ ids: string[]; latestDateCovered: string }> {
  return client.request(sobjectPath(sobject, 'updated') + '/', { query: { start: replicationDate(start), end: replicationDate(end) }, ...opts });
}

/** Records deleted in a window (§2.7). If `earliestDateAvailable` is after `start`, deletes may have been missed. */
export async function getDeleted(client: Connection, sobject: string, start: Date, end: Date, opts: CallOptions = {}): Promise<{ deletedRecords: Array<{ id: string; deletedDate: string }>; earliestDateAvailable: string; latestDateCovered: string }> {
  return client.request(sobjectPath(sobject, 'deleted') + '/', { query: { start: replicationDate(start), end: replicationDate(end) }, ...opts });
}

/** One entry of /limits. */
export interface LimitValue {
  Max: number;
  Remaining: number;
  [sub: string]: number | LimitValue;
}

/** The org's limits (§3). */
export async function limits(client: Connection, opts: CallOptions = {}): Promise<Record<string, LimitValue>> {
  return client.request(`limits`, opts);
}

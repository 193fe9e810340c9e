/**
 * Record writes with the validation a real org applies, shared by REST, Composite, Collections and Bulk, so
 * every path fails the same record the same way. Errors are SfErrors carrying Salesforce's errorCode,
 * message and fields; callers turn them into their own result shapes.
 */
import type { Org } from './org.ts';
import { SfError } from './errors.ts';
import { isValidId, normaliseId } from './ids.ts';
import type { FieldDef, ObjectDef } from './schema/types.ts';
import type { StoredRow } from './store/org-store.ts';
import { isStored, toStorage, type SqlValue } from './store/values.ts';
import { afterFileInsert, deriveFileColumns } from './files.ts';
import { captureChange, capturePlatformEvent } from './events/capture.ts';
import { commitDue, commitLater, commitRecord, type LateKind } from './late-commits.ts';
import { randomUUID } from 'node:crypto';

export type ApiRecord = Record<string, unknown>;

export interface DmlOptions {
  /** Empty values in Bulk CSV mean "leave unchanged", `#N/A` means null; REST callers leave this off. */
  bulk?: boolean;
}

/** The `lockrow` fault: a write fails as if another transaction held the row lock. */
function checkRowLock(org: Org): void {
  if (org.faults.roll('lockrow')) {
    throw new SfError(400, 'UNABLE_TO_LOCK_ROW', 'unable to obtain exclusive access to this record or 1 records');
  }
}

/** Resolves an sObject by name for DML or throws the error Salesforce gives for an unknown type. */
export function requireObject(org: Org, name: string): ObjectDef {
  const def = org.schema.get(name);
  if (!def) throw new SfError(404, 'NOT_FOUND', `The requested resource does not exist`);
  return def;
}

/** Splits an API record into stored columns, rejecting unknown, read-only and invalid values. */
function toColumns(org: Org, def: ObjectDef, record: ApiRecord, mode: 'create' | 'update', skip: Set<string> = new Set()): StoredRow {
  const out: StoredRow = {};
  for (const [key, value] of Object.entries(record)) {
    if (key === 'attributes' || skip.has(key.toLowerCase())) continue;
    const f = org.schema.field(def.name, key);
    if (!f || f.hidden) {
      // A nested parent reference by external ID: {"Account": {"Ext__c": "X"}}.
      const rel = org.schema.relationship(def.name, key);
      if (rel && value && typeof value === 'object') {
        out[rel.name] = resolveRelationshipRef(org, def, rel, value as ApiRecord);
        continue;
      }
      throw new SfError(400, 'INVALID_FIELD', `No such column '${key}' on sobject of type ${def.name}`, [key]);
    }
    if (f.name === 'Id') continue;
    const writable = mode === 'create' ? f.createable !== false && !f.system && !f.calculated && !f.autoNumber : f.updateable !== false && !f.system && !f.calculated && !f.autoNumber;
    if (!writable || !isStored(f)) {
      throw new SfError(400, 'INVALID_FIELD_FOR_INSERT_UPDATE', `Unable to create/update fields: ${f.name}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`, [f.name]);
    }
    out[f.name] = validateValue(org, def, f, value);
  }
  return out;
}

function validateValue(org: Org, def: ObjectDef, f: FieldDef, value: unknown): SqlValue {
  const stored = toStorage(f, value);
  if (stored === null) return null;
  if (f.type === 'reference') {
    const id = String(stored);
    if (!isValidId(id)) throw new SfError(400, 'MALFORMED_ID', `${f.label ?? f.name}: id value of incorrect type: ${id}`, [f.name]);
    const full = normaliseId(id);
    const target = org.schema.objectForId(full);
    if (!target || !(f.referenceTo ?? []).some((t) => t.toLowerCase() === target.name.toLowerCase())) {
      throw new SfError(400, 'FIELD_INTEGRITY_EXCEPTION', `${f.label ?? f.name}: id value of incorrect type: ${id}`, [f.name]);
    }
    const row = org.store.getRow(target, full);
    if (!row || row.IsDeleted === 1) throw new SfError(400, 'ENTITY_IS_DELETED', `entity is deleted`, [f.name]);
    return full;
  }
  if (f.type === 'picklist' && f.restrictedPicklist && f.picklistValues) {
    if (!f.picklistValues.some((p) => p.value === stored)) {
      throw new SfError(400, 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', `${f.label ?? f.name}: bad value for restricted picklist field: ${String(stored)}`, [f.name]);
    }
  }
  if (f.type === 'email' && typeof stored === 'string' && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(stored)) {
    throw new SfError(400, 'INVALID_EMAIL_ADDRESS', `${f.label ?? f.name}: invalid email address: ${stored}`, [f.name]);
  }
  return stored;
}

/** `{"Account": {"External_Id__c": "A-1"}}` → the parent's Id, as Salesforce resolves it on write. */
function resolveRelationshipRef(org: Org, def: ObjectDef, rel: FieldDef, value: ApiRecord): string {
  const targetName = (value.attributes as { type?: string } | undefined)?.type ?? rel.referenceTo?.[0];
  const target = targetName ? org.schema.get(targetName) : undefined;
  const entries = Object.entries(value).filter(([k]) => k !== 'attributes');
  if (!target || entries.length !== 1) {
    throw new SfError(400, 'INVALID_FIELD', `Cannot reference ${rel.relationshipName}: specify exactly one external ID field`, [rel.name]);
  }
  const [key, v] = entries[0];
  const f = org.schema.field(target.name, key);
  if (!f || !(f.externalId || f.idLookup)) {
    throw new SfError(400, 'INVALID_FIELD', `Field ${key} is not an external ID or idLookup field on ${target.name}`, [rel.name]);
  }
  const rows = org.store.findBy(target, f, toStorage(f, v));
  if (rows.length === 0) throw new SfError(400, 'INVALID_FIELD', `Foreign key external ID: ${String(v)} not found for field ${f.name} in entity ${target.name}`, [rel.name]);
  if (rows.length > 1) throw new SfError(400, 'INVALID_FIELD', `Foreign key external ID: ${String(v)} matches multiple ${target.name} records`, [rel.name]);
  return String(rows[0].Id);
}

function checkRequired(def: ObjectDef, row: StoredRow): void {
  const missing = def.fields.filter((f) => isStored(f) && f.nillable === false && !f.defaultedOnCreate && !f.system && f.createable !== false && f.type !== 'boolean' && (row[f.name] === undefined || row[f.name] === null));
  if (missing.length) {
    throw new SfError(400, 'REQUIRED_FIELD_MISSING', `Required fields are missing: [${missing.map((f) => f.name).join(', ')}]`, missing.map((f) => f.name));
  }
}

function checkUnique(org: Org, def: ObjectDef, row: StoredRow, selfId?: string): void {
  for (const f of def.fields) {
    if (!f.unique || row[f.name] === undefined || row[f.name] === null) continue;
    const hits = org.store.findBy(def, f, row[f.name]).filter((r) => r.Id !== selfId);
    if (hits.length) {
      throw new SfError(400, 'DUPLICATE_VALUE', `duplicate value found: ${f.name} duplicates value on record with id: ${String(hits[0].Id)}`, [f.name]);
    }
  }
}

/** Fills derived system values that the platform computes (Name on person-like objects, auto numbers). */
function derive(org: Org, def: ObjectDef, row: StoredRow, existing?: StoredRow): void {
  const merged = { ...existing, ...row };
  const nameField = org.schema.field(def.name, 'Name');
  if (nameField && nameField.createable === false && org.schema.field(def.name, 'LastName')) {
    const full = [merged.FirstName, merged.LastName].filter((v) => v !== null && v !== undefined && v !== '').join(' ');
    row.Name = full || null;
  }
  if (!existing) {
    for (const f of def.fields) {
      if (f.autoNumber && isStored(f)) row[f.name] = formatAutoNumber(f, org.store.nextSequence(autoNumberKey(def, f)));
    }
  }
}

/** The persisted sequence behind an auto-number field, shared by DML and the seed writer. */
export function autoNumberKey(def: ObjectDef, f: FieldDef): string {
  return `#${def.name}.${f.name}`;
}

/** Renders an auto number with the field's display format, e.g. `{00000000}` or `INV-{0000}`. */
export function formatAutoNumber(f: FieldDef, n: number): string {
  const fmt = f.displayFormat ?? '{00000000}';
  return fmt.replace(/\{(0+)\}/, (_, zeros: string) => String(n).padStart(zeros.length, '0'));
}

/** Inserts one record and returns its new Id. */
export function insertRecord(org: Org, def: ObjectDef, record: ApiRecord, opts: DmlOptions = {}): string {
  checkRowLock(org);
  if (isPlatformEvent(def)) return publishPlatformEvent(org, def, record, opts).id;
  if (def.createable === false) throw new SfError(400, 'CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY', `entity type cannot be inserted: ${def.name}`);
  if ('Id' in record && record.Id !== null && record.Id !== undefined) {
    throw new SfError(400, 'INVALID_FIELD_FOR_INSERT_UPDATE', `Unable to create/update fields: Id. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`, ['Id']);
  }
  const cols = toColumns(org, def, opts.bulk ? stripBulkEmpty(record) : record, 'create');
  const now = org.clock.now();
  const user = org.currentUserId;
  for (const f of def.fields) {
    if (isStored(f) && cols[f.name] === undefined && f.defaultValue !== undefined && !f.system) cols[f.name] = toStorage(f, f.defaultValue);
  }
  if (org.schema.field(def.name, 'OwnerId') && (cols.OwnerId === undefined || cols.OwnerId === null)) cols.OwnerId = user;
  derive(org, def, cols);
  deriveFileColumns(org, def.name, cols);
  checkRequired(def, cols);
  checkUnique(org, def, cols);
  const id = org.store.nextId(def);
  const row: StoredRow = {
    ...cols,
    Id: id,
    IsDeleted: 0,
    CreatedDate: now,
    CreatedById: user,
    LastModifiedDate: now,
    LastModifiedById: user,
    SystemModstamp: now,
    _visible_at: org.faults.visibleAt(now),
  };
  const stored = pickStored(def, row);
  org.store.insertRow(def, stored);
  afterFileInsert(org, def.name, id);
  captureChange(org, def, 'CREATE', id, stored);
  org.events.emit('write', { object: def.name, id, op: 'create' });
  return id;
}

/** Updates one record by Id. */
export function updateRecord(org: Org, def: ObjectDef, id: string, record: ApiRecord, opts: DmlOptions = {}): void {
  checkRowLock(org);
  if (def.updateable === false) throw new SfError(400, 'CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY', `entity type cannot be updated: ${def.name}`);
  const existing = requireLiveRow(org, def, id);
  const cols = toColumns(org, def, opts.bulk ? stripBulkEmpty(record) : record, 'update', new Set(['id']));
  derive(org, def, cols, existing);
  deriveFileColumns(org, def.name, cols, existing);
  for (const f of def.fields) {
    if (f.nillable === false && !f.system && f.type !== 'boolean' && f.name in cols && cols[f.name] === null) {
      throw new SfError(400, 'REQUIRED_FIELD_MISSING', `Required fields are missing: [${f.name}]`, [f.name]);
    }
  }
  checkUnique(org, def, cols, String(existing.Id));
  const now = Math.max(org.clock.now(), Number(existing.SystemModstamp) + 1);
  const changes: StoredRow = {
    ...cols,
    LastModifiedDate: now,
    LastModifiedById: org.currentUserId,
    SystemModstamp: now,
  };
  const at = org.faults.visibleAt(now);
  if (at > org.clock.now()) commitLater(org, applyLate, def, String(existing.Id), 'update', now, at, changes);
  else applyUpdate(org, def, String(existing.Id), changes, existing);
}

function applyUpdate(org: Org, def: ObjectDef, rowId: string, changes: StoredRow, existing: StoredRow): void {
  org.store.updateRow(def, rowId, changes);
  captureChange(org, def, 'UPDATE', rowId, changes, existing);
  org.events.emit('write', { object: def.name, id: rowId, op: 'update' });
}

/** Applies a late commit (late-commits.ts) when its time comes. */
function applyLate(org: Org, def: ObjectDef, id: string, kind: LateKind, changes: StoredRow): void {
  const row = org.store.getRow(def, id);
  if (!row) return; // hard-deleted meanwhile (emptying the recycle bin does not wait for row locks)
  if (kind === 'update') applyUpdate(org, def, id, changes, row);
  else if (kind === 'delete') applyDelete(org, def, id, Number(changes.SystemModstamp));
  else applyUndelete(org, def, id, Number(changes.SystemModstamp));
}

/** Commits the late changes (commitDelay) that are due; the app calls it before serving each request. */
export function commitLateChanges(org: Org): void {
  commitDue(org, applyLate);
}

/** Upsert by external ID (or Id): 201 created / 200 updated / 300 multiple matches. */
export function upsertRecord(org: Org, def: ObjectDef, fieldName: string, value: string, record: ApiRecord, opts: DmlOptions = {}): { id: string; created: boolean } {
  const f = org.schema.field(def.name, fieldName);
  if (!f || !(f.externalId || f.name === 'Id' || f.idLookup)) {
    throw new SfError(404, 'NOT_FOUND', `Provided external ID field does not exist or is not accessible: ${fieldName}`);
  }
  if (f.name === 'Id') {
    if (value && isValidId(value) && org.store.getRow(def, normaliseId(value))) {
      updateRecord(org, def, value, record, opts);
      return { id: normaliseId(value), created: false };
    }
    const { Id: _ignored, ...rest } = record;
    return { id: insertRecord(org, def, rest, opts), created: true };
  }
  const matches = org.store.findBy(def, f, toStorage(f, value));
  if (matches.length > 1) {
    const err = new SfError(300, 'MULTIPLE_CHOICES', `Multiple records found for ${f.name}=${value}`);
    (err as SfError & { matches?: string[] }).matches = matches.map((r) => String(r.Id));
    throw err;
  }
  const body = { ...record };
  for (const k of Object.keys(body)) if (k.toLowerCase() === f.name.toLowerCase()) delete body[k];
  if (matches.length === 1) {
    updateRecord(org, def, String(matches[0].Id), body, opts);
    return { id: String(matches[0].Id), created: false };
  }
  return { id: insertRecord(org, def, { ...body, [f.name]: value }, opts), created: true };
}

/** Soft-deletes into the recycle bin (IsDeleted = true), cascading to master-detail children. */
export function deleteRecord(org: Org, def: ObjectDef, id: string): void {
  // Deleting through a view (a CaseFeed post) deletes the record it shows.
  if (def.view && def.deletable !== false) def = org.schema.objectForId(normaliseId(id)) ?? def;
  checkRowLock(org);
  if (def.deletable === false) throw new SfError(400, 'ENTITY_IS_DELETED', `entity type cannot be deleted: ${def.name}`);
  const existing = requireLiveRow(org, def, id);
  const rowId = String(existing.Id);
  const now = Math.max(org.clock.now(), Number(existing.SystemModstamp) + 1);
  const at = org.faults.visibleAt(now);
  if (at > org.clock.now()) commitLater(org, applyLate, def, rowId, 'delete', now, at, { SystemModstamp: now });
  else applyDelete(org, def, rowId, now);
}

/** The delete itself, stamped `now`, with its master-detail children in the same transaction. */
function applyDelete(org: Org, def: ObjectDef, rowId: string, now: number): void {
  org.store.transaction(() => {
    org.store.updateRow(def, rowId, { IsDeleted: 1, _deleted_at: now, SystemModstamp: now });
    org.store.prepare('INSERT INTO _deleted_log (object, id, deleted_at) VALUES (?, ?, ?) ON CONFLICT(object, id) DO UPDATE SET deleted_at = excluded.deleted_at, purged = 0').run(def.name, rowId, now);
    captureChange(org, def, 'DELETE', rowId);
    for (const child of org.schema.childRelationships(def.name)) {
      if (!child.cascadeDelete) continue;
      const childDef = org.schema.get(child.childSObject)!;
      const kids = org.store.prepare(`SELECT Id FROM "${childDef.name}" WHERE "${child.field}" = ? AND IsDeleted = 0`).all(rowId);
      for (const k of kids) {
        const kidId = String(k.Id);
        commitRecord(org, applyLate, childDef.name, kidId);
        const kid = org.store.getRow(childDef, kidId);
        if (kid && kid.IsDeleted !== 1) applyDelete(org, childDef, kidId, Math.max(now, Number(kid.SystemModstamp) + 1));
      }
    }
  });
  org.events.emit('write', { object: def.name, id: rowId, op: 'delete' });
}

/** Restores a record from the recycle bin. */
export function undeleteRecord(org: Org, def: ObjectDef, id: string): void {
  if (isValidId(id)) commitRecord(org, applyLate, def.name, normaliseId(id));
  const row = org.store.getRow(def, normaliseId(id));
  if (!row || row.IsDeleted !== 1) throw new SfError(400, 'UNDELETE_FAILED', `Entity is not in the recycle bin`);
  const now = org.clock.now();
  const at = org.faults.visibleAt(now);
  if (at > now) commitLater(org, applyLate, def, String(row.Id), 'undelete', now, at, { SystemModstamp: now });
  else applyUndelete(org, def, String(row.Id), now);
}

function applyUndelete(org: Org, def: ObjectDef, rowId: string, now: number): void {
  org.store.updateRow(def, rowId, { IsDeleted: 0, _deleted_at: null, SystemModstamp: now, LastModifiedDate: now });
  org.store.prepare('DELETE FROM _deleted_log WHERE object = ? AND id = ?').run(def.name, rowId);
  captureChange(org, def, 'UNDELETE', rowId, org.store.getRow(def, rowId));
  org.events.emit('write', { object: def.name, id: rowId, op: 'undelete' });
}

/** Removes a record for good (Bulk hardDelete, emptying the recycle bin). */
export function hardDeleteRecord(org: Org, def: ObjectDef, id: string): void {
  if (isValidId(id)) commitRecord(org, applyLate, def.name, normaliseId(id));
  const row = org.store.getRow(def, normaliseId(id));
  if (!row) throw new SfError(404, 'ENTITY_IS_DELETED', 'entity is deleted');
  org.store.transaction(() => {
    org.store.deleteRow(def, String(row.Id));
    org.store.prepare('INSERT INTO _deleted_log (object, id, deleted_at, purged) VALUES (?, ?, ?, 1) ON CONFLICT(object, id) DO UPDATE SET purged = 1').run(def.name, String(row.Id), org.clock.now());
    // A record emptied from the recycle bin was already reported deleted.
    if (row.IsDeleted !== 1) captureChange(org, def, 'DELETE', String(row.Id));
  });
  org.events.emit('write', { object: def.name, id: String(row.Id), op: 'purge' });
}

/** Platform events (`Order_Shipped__e`): published, never stored as records. */
export function isPlatformEvent(def: ObjectDef): boolean {
  return def.name.endsWith('__e');
}

/**
 * Publishes a platform event from API fields (REST, Composite, Collections): validated like an insert, put on
 * the bus after commit, and answered with a dummy record id and the event's EventUuid.
 */
export function publishPlatformEvent(org: Org, def: ObjectDef, record: ApiRecord, opts: DmlOptions = {}): { id: string; uuid: string; replayId: number } {
  const cols = toColumns(org, def, opts.bulk ? stripBulkEmpty(record) : record, 'create');
  for (const f of def.fields) {
    if (isStored(f) && cols[f.name] === undefined && f.defaultValue !== undefined && !f.system) cols[f.name] = toStorage(f, f.defaultValue);
  }
  checkRequired(def, cols);
  const uuid = randomUUID();
  const fields: StoredRow = { CreatedDate: org.clock.now(), CreatedById: org.currentUserId, EventUuid: uuid };
  for (const [k, v] of Object.entries(cols)) if (v !== null && v !== undefined) fields[k] = v;
  const replayId = capturePlatformEvent(org, def, uuid, fields);
  return { id: org.store.nextId(def), uuid, replayId };
}

/** A live (not recycled) row by 15/18-char Id, or the error Salesforce gives. */
export function requireLiveRow(org: Org, def: ObjectDef, id: string): StoredRow {
  if (!isValidId(id)) throw new SfError(400, 'MALFORMED_ID', `${def.name} ID: id value of incorrect type: ${id}`, ['Id']);
  const full = normaliseId(id);
  if (!org.schema.ownsId(def, full)) throw new SfError(400, 'MALFORMED_ID', `${def.name} ID: id value of incorrect type: ${id}`, ['Id']);
  // A change of this record still committing (commitDelay) commits first: this write waits for its row lock.
  commitRecord(org, applyLate, def.name, full);
  const row = org.store.getRow(def, full);
  if (!row) throw new SfError(404, 'NOT_FOUND', 'The requested resource does not exist');
  if (row.IsDeleted === 1) throw new SfError(404, 'ENTITY_IS_DELETED', 'entity is deleted');
  return row;
}

function pickStored(def: ObjectDef, row: StoredRow): StoredRow {
  const out: StoredRow = {};
  for (const f of def.fields) if (isStored(f) && row[f.name] !== undefined) out[f.name] = row[f.name];
  out._visible_at = row._visible_at;
  return out;
}

/** Bulk CSV semantics: empty cell = leave unchanged, `#N/A` = set null. */
function stripBulkEmpty(record: ApiRecord): ApiRecord {
  const out: ApiRecord = {};
  for (const [k, v] of Object.entries(record)) {
    if (v === '' || v === undefined) continue;
    out[k] = v === '#N/A' ? null : v;
  }
  return out;
}

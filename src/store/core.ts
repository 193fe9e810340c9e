/**
 * Backend-neutral store logic. SQLite and Postgres accept the same SQL for everything here (upsert with
 * `ON CONFLICT … DO UPDATE … WHERE`, `RETURNING`, row-value-free `IN` lists); the differences live in
 * each backend's `Dialect` (placeholders, column types, value codecs, DDL) and `Driver` (connections,
 * transactions).
 *
 * Ordering guarantees implemented here:
 * - a row only changes when the incoming guard stamp (SystemModstamp, else LastModifiedDate, else
 *   CreatedDate) is >= the stored one — enforced in SQL, so a concurrent writer cannot slip past it;
 * - a tombstone blocks every version not newer than the deletion, so replaying an old page after a delete
 *   does not resurrect the record; a strictly newer version (an undelete) clears the tombstone.
 */
import { Params, quote, type Conn, type Driver, type Row } from './driver.ts';
import {
  StoreClosedError,
  StoreValueError,
  type Checkpoint,
  type CheckpointCursor,
  type DeletedRecord,
  type DeleteMode,
  type DeleteResult,
  type EmittedHash,
  type EnsureTableResult,
  type FieldSpec,
  type FieldTypeChange,
  type JsonObject,
  type ListOptions,
  type EnsureTableOptions,
  type OpOptions,
  type RunInput,
  type RunRecord,
  type SearchDocument,
  type SearchHit,
  type SearchOptions,
  type SfRecord,
  type ChangeCursor,
  type MirrorChange,
  type PublishState,
  type Store,
  type StoreOperations,
  type StoreTransaction,
  type TableSpec,
  type TransactionOptions,
  type UpsertOptions,
  type UpsertResult,
  type WriteCapture,
} from './types.ts';
import { SqlPublishState } from './publish-state.ts';
import { CAPTURE_TABLE, CHANGES_TABLE, captureDdl, dropSqliteCapture, guardOff, guardOn, heldFields, installCapture, SqlWriteCapture } from './capture.ts';
import { columnOf, compileMutation, kindOfSqlType, runCount, runQuery, type QueryExpr, type TableMutation, type TableQuery, type TableShape } from './query.ts';
import { createHash } from 'node:crypto';
import { SqlServiceState } from './service-state.ts';
import type { ServiceState } from './service-types.ts';
import { assertIdentifier, chunk, fromCanonical, normalizeDateTime, storageKind, toCanonical, toIsoUtc, type Canonical, type StorageKind, type ValueContext } from './values.ts';

/** Bookkeeping column names; they start with `_`, which no Salesforce API name can. */
export const DELETED_COL = '_sfbridge_deleted';
export const SYNCED_COL = '_sfbridge_synced_at';
export const FIELDS_TABLE = '_sfbridge_fields';
export const TOMBSTONES_TABLE = '_sfbridge_tombstones';
export const STATE_TABLE = '_sfbridge_state';
export const RUNS_TABLE = '_sfbridge_runs';
export const EMITTED_TABLE = '_sfbridge_emitted';

/** Fields that can order versions of a record, best first. */
const GUARD_FIELDS = ['SystemModstamp', 'LastModifiedDate', 'CreatedDate'];

/** Ids per page of `listIds`. */
const LIST_PAGE = 1000;

interface ColumnMeta {
  spec: FieldSpec;
  kind: StorageKind;
  removed: boolean;
}

interface TableMeta {
  /** Canonical object name (as first created). */
  object: string;
  /** Keyed by lower-case field name: Salesforce names are case-insensitive. */
  columns: Map<string, ColumnMeta>;
  guard: string;
  isDeleted: string | undefined;
  /** Columns by the exact key spelling seen in records, filled as records arrive (saves lower-casing). */
  byKey: Map<string, ColumnMeta>;
  /** Key layout of the last record prepared through the general path; see {@link RecordShape}. */
  shape: RecordShape | undefined;
  /** Two-way sync: application writes are captured, so the store's own writes run with the guard on. */
  writable: boolean;
}

/**
 * The key layout of a record: its keys in enumeration order and, per key, the column it maps to (`null`
 * for a key that is not a column and was skipped). Records of one read (a Bulk CSV page, a REST page)
 * share their layout, so after the first one a record is converted by walking the layout in step with its
 * keys, without looking columns up by name or re-checking for repeated fields.
 */
interface RecordShape {
  keys: string[];
  columns: (ColumnMeta | null)[];
  /** Canonical names of the column keys, in order (the `Prepared.columns` every matching record shares). */
  names: string[];
  signature: string;
  guardAt: number;
  deletedAt: number;
}

interface Prepared {
  id: string;
  stampMs: number;
  stamp: string;
  /** Canonical column names, in the record's field order; `values` is parallel to it. */
  columns: string[];
  values: Canonical[];
  signature: string;
  isDeleted: boolean;
}

function guardOf(columns: Iterable<{ name: string; kind: StorageKind }>): string | undefined {
  const byName = new Map<string, string>();
  for (const c of columns) if (c.kind === 'datetime') byName.set(c.name.toLowerCase(), c.name);
  for (const g of GUARD_FIELDS) {
    const hit = byName.get(g.toLowerCase());
    if (hit) return hit;
  }
  return undefined;
}

/**
 * The layout of a record the general path has just prepared, or undefined when a shortcut would not be
 * exact: inherited keys, a field under two spellings, or no guard column among the keys.
 */
function shapeOf(meta: TableMeta, record: SfRecord, names: string[], signature: string): RecordShape | undefined {
  const keys: string[] = [];
  const columns: (ColumnMeta | null)[] = [];
  for (const key in record) {
    if (!Object.hasOwn(record, key)) return undefined;
    keys.push(key);
    columns.push(key === 'attributes' ? null : (meta.byKey.get(key) ?? null));
  }
  const mapped = columns.filter((c) => c !== null).map((c) => c.spec.name);
  // A repeated field (two spellings) makes the general path overwrite a value: not worth a shortcut.
  if (mapped.length !== names.length || mapped.some((name, i) => name !== names[i])) return undefined;
  const guardAt = names.indexOf(meta.guard);
  if (guardAt < 0) return undefined;
  return { keys, columns, names, signature, guardAt, deletedAt: meta.isDeleted === undefined ? -1 : names.indexOf(meta.isDeleted) };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkAbort(...signals: (AbortSignal | undefined)[]): void {
  for (const s of signals) s?.throwIfAborted();
}

/** Operations bound to one connection inside one transaction. */
class Ops implements StoreOperations {
  readonly #store: MirrorStore;
  readonly #conn: Conn;
  readonly #signal: AbortSignal | undefined;

  constructor(store: MirrorStore, conn: Conn, signal: AbortSignal | undefined) {
    this.#store = store;
    this.#conn = conn;
    this.#signal = signal;
  }

  get #d() {
    return this.#store.driver.dialect;
  }

  async #table(object: string): Promise<TableMeta> {
    const meta = await this.#store.loadMeta(this.#conn, object);
    if (!meta) throw new Error(`No mirror table for ${JSON.stringify(object)}: call ensureTable first`);
    return meta;
  }

  async upsert(object: string, records: readonly SfRecord[], options?: UpsertOptions): Promise<UpsertResult> {
    const meta = await this.#table(object);
    if (!meta.writable) return this.#upsert(meta, records, options);
    await guardOn(this.#conn, this.#store.driver);
    try {
      return await this.#upsert(meta, records, options);
    } finally {
      await guardOff(this.#conn, this.#store.driver);
    }
  }

  /**
   * Writable tables: a record with application changes not yet written to Salesforce keeps the application's
   * values of the fields those changes set (the drain settles them against Salesforce's version), and a row
   * the application deleted is not brought back.
   */
  async #hold(meta: TableMeta, prepared: Prepared[], result: UpsertResult): Promise<Prepared[]> {
    const held = await heldFields(this.#conn, this.#store.driver, meta.object, prepared.map((p) => p.id));
    if (held.size === 0) return prepared;
    const keep = new Set(['id', meta.guard.toLowerCase()]);
    const out: Prepared[] = [];
    for (const p of prepared) {
      const h = held.get(p.id);
      if (!h) {
        out.push(p);
        continue;
      }
      if (h.deleted && !p.isDeleted) {
        result.skippedStale++;
        continue;
      }
      const columns: string[] = [];
      const values: Canonical[] = [];
      p.columns.forEach((c, i) => {
        if (keep.has(c.toLowerCase()) || !h.fields.has(c.toLowerCase())) {
          columns.push(c);
          values.push(p.values[i]);
        }
      });
      out.push({ ...p, columns, values, signature: columns.join(',') });
    }
    return out;
  }

  async #upsert(meta: TableMeta, records: readonly SfRecord[], options?: UpsertOptions): Promise<UpsertResult> {
    const result: UpsertResult = { inserted: 0, updated: 0, skippedStale: 0, deleted: 0, ...(options?.countUnchanged && !options.assumeNew ? { unchanged: 0 } : {}) };
    // Newest version per Id wins inside the batch (Postgres refuses to touch a row twice in one statement).
    const byId = new Map<string, Prepared>();
    let width = 1;
    for (const record of records) {
      const p = this.#prepare(meta, record);
      const prev = byId.get(p.id);
      if (prev && prev.stampMs > p.stampMs) {
        result.skippedStale++;
        continue;
      }
      if (prev) result.skippedStale++;
      byId.set(p.id, p);
      if (p.columns.length > width) width = p.columns.length;
    }
    const all = meta.writable ? await this.#hold(meta, [...byId.values()], result) : [...byId.values()];
    const size = Math.max(1, Math.min(1000, Math.floor(this.#d.maxParams / (width + 2)) - 1));
    // One cheap probe per call: with no tombstone for this object (every initial load, most batches), the
    // per-Id tombstone lookup cannot find anything and is skipped.
    const anyTombstone = await this.#anyTombstone(meta.object);
    for (let i = 0; i < all.length; i += size) {
      checkAbort(this.#signal, options?.signal);
      await this.#upsertChunk(meta, all.slice(i, i + size), result, anyTombstone, options?.assumeNew === true);
    }
    return result;
  }

  #prepare(meta: TableMeta, record: SfRecord): Prepared {
    if (!isPlainObject(record)) throw new TypeError(`${meta.object}: record must be an object`);
    let id = record.Id;
    if (id === undefined) {
      const idKey = Object.keys(record).find((k) => k.toLowerCase() === 'id');
      id = idKey === undefined ? undefined : record[idKey];
    }
    if (typeof id !== 'string' || id === '') throw new StoreValueError(meta.object, 'Id', undefined, 'record has no Id');
    const fast = meta.shape && this.#prepareByShape(meta, meta.shape, record, id);
    if (fast) return fast;
    const columns: string[] = [];
    const values: Canonical[] = [];
    let signature = '';
    let stamp: Canonical | undefined;
    let isDeleted = false;
    // One context per record, pointed at each field in turn: it is only read when a value is rejected.
    const ctx: ValueContext = { object: meta.object, field: meta.columns.get('id')!.spec, recordId: id };
    for (const key in record) {
      if (key === 'attributes' || !Object.hasOwn(record, key)) continue;
      const value = record[key];
      let col = meta.byKey.get(key);
      if (col === undefined) {
        col = meta.columns.get(key.toLowerCase());
        if (col !== undefined) meta.byKey.set(key, col);
      }
      if (!col) {
        // Parent relationship objects (`Owner: {Name}`) and child subquery results are not columns.
        if (isPlainObject(value) || value === null) continue;
        throw new StoreValueError(meta.object, key, id, 'no such column; call ensureTable with the current describe first');
      }
      const name = col.spec.name;
      ctx.field = col.spec;
      const v = toCanonical(col.kind, value, ctx);
      const at = columns.indexOf(name);
      // The same field under two spellings (`name` and `Name`): the later one wins, as a Map would do.
      if (at >= 0) values[at] = v;
      else {
        columns.push(name);
        values.push(v);
        signature += signature === '' ? name : `,${name}`;
      }
      if (name === meta.guard) stamp = v;
      else if (name === meta.isDeleted) isDeleted = v === true;
    }
    if (typeof stamp !== 'string') {
      throw new StoreValueError(meta.object, meta.guard, id, `required to order versions, but missing or null`);
    }
    meta.shape = shapeOf(meta, record, columns, signature);
    // Records of one batch nearly always list their fields in the same order, so the signature (the
    // grouping key for statements) is the field order itself, not a sorted copy.
    return { id, stamp, stampMs: Date.parse(stamp), columns, values, signature, isDeleted };
  }

  /**
   * {@link #prepare} for a record laid out like `shape`; undefined when it is not (other keys, order or
   * count, or a non-column key holding a value the general path must reject), so the general path runs.
   * Values go through the same `toCanonical` as there, so both paths accept and reject the same records.
   */
  #prepareByShape(meta: TableMeta, shape: RecordShape, record: SfRecord, id: string): Prepared | undefined {
    // A record with a prototype could enumerate inherited keys in step with the layout.
    const proto = Object.getPrototypeOf(record);
    if (proto !== Object.prototype && proto !== null) return undefined;
    const { keys, columns } = shape;
    const n = keys.length;
    const values: Canonical[] = [];
    const ctx: ValueContext = { object: meta.object, field: meta.columns.get('id')!.spec, recordId: id };
    let i = 0;
    for (const key in record) {
      if (i === n || key !== keys[i]) return undefined;
      const col = columns[i++];
      const value = record[key];
      if (col === null) {
        if (key === 'attributes' || isPlainObject(value) || value === null) continue;
        return undefined;
      }
      ctx.field = col.spec;
      values.push(toCanonical(col.kind, value, ctx));
    }
    if (i !== n) return undefined;
    const stamp = values[shape.guardAt];
    if (typeof stamp !== 'string') {
      throw new StoreValueError(meta.object, meta.guard, id, `required to order versions, but missing or null`);
    }
    const isDeleted = shape.deletedAt >= 0 && values[shape.deletedAt] === true;
    return { id, stamp, stampMs: Date.parse(stamp), columns: shape.names, values, signature: shape.signature, isDeleted };
  }

  /** Stored guard stamps of the given Ids (only those with a row). */
  async #stamps(meta: TableMeta, ids: readonly string[]): Promise<Map<string, number | null>> {
    const d = this.#d;
    const p = new Params(d);
    const rows = await this.#conn.all(
      `SELECT ${quote('Id')} AS id, ${quote(meta.guard)} AS stamp FROM ${d.table(meta.object)} WHERE ${quote('Id')} IN ${p.list(ids)}`,
      p.values,
    );
    const out = new Map<string, number | null>();
    for (const r of rows) {
      const s = d.fromColumn('datetime', r.stamp);
      out.set(String(r.id), s === null ? null : Date.parse(String(s)));
    }
    return out;
  }

  async #anyTombstone(object: string): Promise<boolean> {
    const d = this.#d;
    const p = new Params(d);
    const rows = await this.#conn.all(`SELECT 1 AS one FROM ${d.table(TOMBSTONES_TABLE)} WHERE object = ${p.add(object)} LIMIT 1`, p.values);
    return rows.length > 0;
  }

  async #tombstones(object: string, ids: readonly string[]): Promise<Map<string, number>> {
    const d = this.#d;
    const p = new Params(d);
    const rows = await this.#conn.all(
      `SELECT id, deleted_at FROM ${d.table(TOMBSTONES_TABLE)} WHERE object = ${p.add(object)} AND id IN ${p.list(ids)}`,
      p.values,
    );
    return new Map(rows.map((r) => [String(r.id), Date.parse(String(d.fromColumn('datetime', r.deleted_at)))]));
  }

  async #upsertChunk(meta: TableMeta, part: Prepared[], result: UpsertResult, anyTombstone: boolean, assumeNew: boolean): Promise<void> {
    const d = this.#d;
    const ids = anyTombstone || !assumeNew ? part.map((p) => p.id) : [];
    const existing = assumeNew ? undefined : await this.#stamps(meta, ids);
    const tombs = anyTombstone ? await this.#tombstones(meta.object, ids) : undefined;
    const writes: Prepared[] = [];
    const deletes: { id: string; at: string }[] = [];
    for (const p of part) {
      const tomb = tombs?.get(p.id);
      // Not newer than the deletion: this is the deleted version or an older one.
      if (tomb !== undefined && p.stampMs <= tomb) {
        result.skippedStale++;
        continue;
      }
      if (p.isDeleted && this.#store.deleteMode === 'remove') deletes.push({ id: p.id, at: p.stamp });
      else writes.push(p);
    }
    const now = d.toParam('datetime', new Date().toISOString());
    const groups = Map.groupBy(writes, (p) => p.signature);
    const revived: string[] = [];
    const softDeleted: { id: string; at: string }[] = [];
    for (const group of groups.values()) {
      const columns = group[0].columns;
      const kinds = columns.map((c) => meta.columns.get(c.toLowerCase())!.kind);
      const params = (rec: Prepared): unknown[] => {
        const row = new Array<unknown>(columns.length + 2);
        for (let i = 0; i < columns.length; i++) row[i] = d.toParam(kinds[i], rec.values[i]);
        row[columns.length] = d.toParam('boolean', rec.isDeleted);
        row[columns.length + 1] = now;
        return row;
      };
      let written: (rec: Prepared, index: number) => boolean;
      if (this.#conn.runEach) {
        // One prepared single-row statement run per record: cheaper in SQLite than a many-row VALUES list
        // (no huge statement to parse, bind or return from), and its change count says whether the row
        // was written or held back by the guard.
        const changes = await this.#conn.runEach(this.#store.upsertSql(meta, columns, 1, false), group.map(params));
        written = (_rec, i) => changes[i] > 0;
      } else {
        const values: unknown[] = [];
        for (const rec of group) for (const v of params(rec)) values.push(v);
        const ok = new Set((await this.#conn.all(this.#store.upsertSql(meta, columns, group.length, true), values)).map((r) => String(r.id)));
        written = (rec) => ok.has(rec.id);
      }
      for (let i = 0; i < group.length; i++) {
        const rec = group[i];
        if (!written(rec, i)) {
          result.skippedStale++;
          continue;
        }
        if (existing?.has(rec.id)) {
          result.updated++;
          if (result.unchanged !== undefined && existing.get(rec.id) === rec.stampMs) result.unchanged++;
        } else result.inserted++;
        if (rec.isDeleted) softDeleted.push({ id: rec.id, at: rec.stamp });
        else if (tombs?.has(rec.id)) revived.push(rec.id);
      }
    }
    if (revived.length > 0) {
      const p = new Params(d);
      await this.#conn.run(`DELETE FROM ${d.table(TOMBSTONES_TABLE)} WHERE object = ${p.add(meta.object)} AND id IN ${p.list(revived)}`, p.values);
    }
    if (softDeleted.length > 0) await this.#writeTombstones(meta.object, softDeleted);
    if (deletes.length > 0) {
      const r = await this.#applyDeletes(meta, deletes);
      result.deleted += r.deleted + r.missing;
      result.skippedStale += r.skippedStale;
    }
  }

  async #writeTombstones(object: string, items: readonly { id: string; at: string }[]): Promise<void> {
    const d = this.#d;
    const p = new Params(d);
    const written = d.toParam('datetime', new Date().toISOString());
    const values = items.map((it) => `(${p.add(object)}, ${p.add(it.id)}, ${p.add(d.toParam('datetime', it.at))}, ${p.add(written)})`).join(', ');
    // Keep the latest deletion time when an Id was deleted, undeleted and deleted again.
    await this.#conn.run(
      `INSERT INTO ${d.table(TOMBSTONES_TABLE)} AS tb (object, id, deleted_at, written_at) VALUES ${values} ` +
        `ON CONFLICT (object, id) DO UPDATE SET deleted_at = excluded.deleted_at, written_at = excluded.written_at WHERE excluded.deleted_at > tb.deleted_at`,
      p.values,
    );
  }

  async markDeleted(object: string, ids: readonly (string | DeletedRecord)[], deletedAt?: string, options?: OpOptions): Promise<DeleteResult> {
    const meta = await this.#table(object);
    if (!meta.writable) return this.#markDeleted(meta, ids, deletedAt, options);
    await guardOn(this.#conn, this.#store.driver);
    try {
      return await this.#markDeleted(meta, ids, deletedAt, options);
    } finally {
      await guardOff(this.#conn, this.#store.driver);
    }
  }

  async #markDeleted(meta: TableMeta, ids: readonly (string | DeletedRecord)[], deletedAt?: string, options?: OpOptions): Promise<DeleteResult> {
    const fallback = deletedAt === undefined ? undefined : toIsoUtc(deletedAt, 'deletedAt');
    const items = ids.map((entry) => {
      if (typeof entry === 'string') {
        if (fallback === undefined) throw new TypeError('markDeleted: deletedAt is required for bare Ids');
        return { id: entry, at: fallback };
      }
      return { id: entry.id, at: toIsoUtc(entry.deletedDate, `deletedDate of ${entry.id}`) };
    });
    for (const it of items) if (typeof it.id !== 'string' || it.id === '') throw new TypeError('markDeleted: empty Id');
    const total: DeleteResult = { deleted: 0, missing: 0, skippedStale: 0 };
    for (const part of chunk(items, 1000)) {
      checkAbort(this.#signal, options?.signal);
      const r = await this.#applyDeletes(meta, part);
      total.deleted += r.deleted;
      total.missing += r.missing;
      total.skippedStale += r.skippedStale;
    }
    return total;
  }

  async #applyDeletes(meta: TableMeta, input: readonly { id: string; at: string }[]): Promise<DeleteResult> {
    const d = this.#d;
    const latest = new Map<string, string>();
    for (const it of input) {
      const prev = latest.get(it.id);
      if (prev === undefined || Date.parse(it.at) > Date.parse(prev)) latest.set(it.id, it.at);
    }
    const items = [...latest].map(([id, at]) => ({ id, at }));
    const result: DeleteResult = { deleted: 0, missing: 0, skippedStale: 0 };
    const existing = await this.#stamps(meta, items.map((i) => i.id));
    const applied: { id: string; at: string }[] = [];
    const rowsToDelete: string[] = [];
    for (const it of items) {
      const stamp = existing.get(it.id);
      // The row changed after this deletion: it was undeleted since, so the delete is history.
      if (stamp !== undefined && stamp !== null && stamp > Date.parse(it.at)) {
        result.skippedStale++;
        continue;
      }
      applied.push(it);
      if (existing.has(it.id)) {
        rowsToDelete.push(it.id);
        result.deleted++;
      } else result.missing++;
    }
    if (rowsToDelete.length > 0) {
      const p = new Params(d);
      if (this.#store.deleteMode === 'remove') {
        await this.#conn.run(`DELETE FROM ${d.table(meta.object)} WHERE ${quote('Id')} IN ${p.list(rowsToDelete)}`, p.values);
      } else {
        const sets = [`${quote(DELETED_COL)} = ${p.add(d.toParam('boolean', true))}`, `${quote(SYNCED_COL)} = ${p.add(d.toParam('datetime', new Date().toISOString()))}`];
        if (meta.isDeleted) sets.push(`${quote(meta.isDeleted)} = ${p.add(d.toParam('boolean', true))}`);
        await this.#conn.run(`UPDATE ${d.table(meta.object)} SET ${sets.join(', ')} WHERE ${quote('Id')} IN ${p.list(rowsToDelete)}`, p.values);
      }
    }
    if (applied.length > 0) await this.#writeTombstones(meta.object, applied);
    return result;
  }

  async setCheckpoint(key: string, cursor: CheckpointCursor | null, extra?: JsonObject | null): Promise<void> {
    if (typeof key !== 'string' || key === '') throw new TypeError('setCheckpoint: key must be a non-empty string');
    if (cursor !== null) {
      if (!isPlainObject(cursor) || typeof cursor.id !== 'string' || typeof cursor.systemModstamp !== 'string') {
        throw new TypeError('setCheckpoint: cursor must be { systemModstamp, id } or null');
      }
      if (normalizeDateTime(cursor.systemModstamp) === undefined) {
        throw new TypeError(`setCheckpoint: invalid systemModstamp ${JSON.stringify(cursor.systemModstamp)}`);
      }
    }
    if (extra !== undefined && extra !== null && !isPlainObject(extra)) throw new TypeError('setCheckpoint: extra must be a JSON object');
    const d = this.#d;
    const p = new Params(d);
    const values = [
      p.add(key),
      p.add(cursor?.systemModstamp ?? null),
      p.add(cursor?.id ?? null),
      p.add(extra == null ? null : d.toParam('json', JSON.stringify(extra))),
      p.add(d.toParam('datetime', new Date().toISOString())),
    ];
    await this.#conn.run(
      `INSERT INTO ${d.table(STATE_TABLE)} (key, system_modstamp, record_id, extra, updated_at) VALUES (${values.join(', ')}) ` +
        `ON CONFLICT (key) DO UPDATE SET system_modstamp = excluded.system_modstamp, record_id = excluded.record_id, extra = excluded.extra, updated_at = excluded.updated_at`,
      p.values,
    );
  }

  async getCheckpoint(key: string): Promise<Checkpoint | undefined> {
    const d = this.#d;
    const p = new Params(d);
    const [row] = await this.#conn.all(`SELECT system_modstamp, record_id, extra, updated_at FROM ${d.table(STATE_TABLE)} WHERE key = ${p.add(key)}`, p.values);
    if (!row) return undefined;
    const extra = d.fromColumn('json', row.extra);
    return {
      cursor: row.system_modstamp == null ? null : { systemModstamp: String(row.system_modstamp), id: String(row.record_id) },
      extra: extra === null ? null : (JSON.parse(String(extra)) as JsonObject | null),
      updatedAt: String(d.fromColumn('datetime', row.updated_at)),
    };
  }

  async getTombstone(object: string, id: string): Promise<string | undefined> {
    const meta = await this.#table(object);
    const d = this.#d;
    const p = new Params(d);
    const [row] = await this.#conn.all(`SELECT deleted_at FROM ${d.table(TOMBSTONES_TABLE)} WHERE object = ${p.add(meta.object)} AND id = ${p.add(id)}`, p.values);
    return row ? String(d.fromColumn('datetime', row.deleted_at)) : undefined;
  }

  async getRecord(object: string, id: string): Promise<SfRecord | undefined> {
    const meta = await this.#table(object);
    const d = this.#d;
    const p = new Params(d);
    const [row] = await this.#conn.all(`SELECT * FROM ${d.table(meta.object)} WHERE ${quote('Id')} = ${p.add(id)}`, p.values);
    if (!row) return undefined;
    const out: SfRecord = {};
    for (const col of meta.columns.values()) out[col.spec.name] = fromCanonical(col.kind, d.fromColumn(col.kind, row[col.spec.name]));
    return out;
  }

  async count(object: string, options?: ListOptions): Promise<number> {
    const meta = await this.#table(object);
    const d = this.#d;
    const p = new Params(d);
    const conds: string[] = [];
    if (!options?.includeDeleted) conds.push(`${quote(DELETED_COL)} = ${p.add(d.toParam('boolean', false))}`);
    if (meta.writable) conds.push(this.#notYetInSalesforce(meta, p));
    const where = conds.length > 0 ? ` WHERE ${conds.join(' AND ')}` : '';
    const [row] = await this.#conn.all(`SELECT COUNT(*) AS n FROM ${d.table(meta.object)}${where}`, p.values);
    return Number(row.n);
  }

  /**
   * Writable tables: rows the application inserted that have no Salesforce Id yet (pending, or refused) are
   * not part of the org's data, so counts and Id lists (what the delete reconciliation compares with the
   * org) leave them out.
   */
  #notYetInSalesforce(meta: TableMeta, p: Params): string {
    return `${quote('Id')} NOT IN (SELECT record_id FROM ${this.#d.table(CHANGES_TABLE)} WHERE object = ${p.add(meta.object)} AND op = 'insert' AND state IN ('pending', 'failed'))`;
  }

  /** One page of Ids after `after`, in byte order. */
  async idPage(object: string, after: string | null, includeDeleted: boolean): Promise<string[]> {
    const meta = await this.#table(object);
    const d = this.#d;
    const p = new Params(d);
    const conds: string[] = [];
    if (after !== null) conds.push(`${quote('Id')} > ${p.add(after)}`);
    if (!includeDeleted) conds.push(`${quote(DELETED_COL)} = ${p.add(d.toParam('boolean', false))}`);
    if (meta.writable) conds.push(this.#notYetInSalesforce(meta, p));
    const where = conds.length > 0 ? ` WHERE ${conds.join(' AND ')}` : '';
    const rows = await this.#conn.all(`SELECT ${quote('Id')} AS id FROM ${d.table(meta.object)}${where} ORDER BY ${quote('Id')} LIMIT ${LIST_PAGE}`, p.values);
    return rows.map((r) => String(r.id));
  }

  async getEmitted(stream: string, ids: readonly string[]): Promise<Map<string, string>> {
    const d = this.#d;
    const out = new Map<string, string>();
    for (const part of chunk([...new Set(ids)], Math.min(1000, d.maxParams - 1))) {
      checkAbort(this.#signal);
      const p = new Params(d);
      const rows = await this.#conn.all(`SELECT id, hash FROM ${d.table(EMITTED_TABLE)} WHERE stream = ${p.add(stream)} AND id IN ${p.list(part)}`, p.values);
      for (const r of rows) out.set(String(r.id), String(r.hash));
    }
    return out;
  }

  async setEmitted(stream: string, entries: readonly EmittedHash[]): Promise<void> {
    const d = this.#d;
    // Last hash per id wins, and Postgres refuses one statement touching a row twice.
    const byId = new Map(entries.map((e) => [e.id, e.hash]));
    const now = d.toParam('datetime', new Date().toISOString());
    for (const part of chunk([...byId], Math.floor(Math.min(4000, d.maxParams) / 4))) {
      checkAbort(this.#signal);
      const p = new Params(d);
      const values = part.map(([id, hash]) => p.list([stream, id, hash, now])).join(', ');
      await this.#conn.run(`INSERT INTO ${d.table(EMITTED_TABLE)} (stream, id, hash, updated_at) VALUES ${values} ON CONFLICT (stream, id) DO UPDATE SET hash = excluded.hash, updated_at = excluded.updated_at`, p.values);
    }
  }

  async deleteEmitted(stream: string, ids: readonly string[]): Promise<number> {
    const d = this.#d;
    let n = 0;
    for (const part of chunk([...new Set(ids)], Math.min(1000, d.maxParams - 1))) {
      checkAbort(this.#signal);
      const p = new Params(d);
      n += (await this.#conn.all(`DELETE FROM ${d.table(EMITTED_TABLE)} WHERE stream = ${p.add(stream)} AND id IN ${p.list(part)} RETURNING id`, p.values)).length;
    }
    return n;
  }

  upsertDocuments(docs: readonly SearchDocument[]): Promise<number> {
    return this.#d.search(this.#conn, this.#signal).upsertDocuments(docs);
  }

  deleteDocuments(ids: readonly string[]): Promise<number> {
    return this.#d.search(this.#conn, this.#signal).deleteDocuments(ids);
  }

  search(query: string, options?: SearchOptions): Promise<SearchHit[]> {
    return this.#d.search(this.#conn, this.#signal).search(query, options);
  }
}

/** Wraps `Ops` so a transaction handle refuses use after its transaction ended (it would run outside it). */
function transactionHandle(ops: Ops, isActive: () => boolean): StoreTransaction {
  const guard = <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> => {
      if (!isActive()) return Promise.reject(new StoreClosedError('Transaction handle used after the transaction ended'));
      return fn(...args);
    };
  return {
    upsert: guard((o: string, r: readonly SfRecord[], opt?: UpsertOptions) => ops.upsert(o, r, opt)),
    markDeleted: guard((o: string, ids: readonly (string | DeletedRecord)[], at?: string, opt?: OpOptions) => ops.markDeleted(o, ids, at, opt)),
    setCheckpoint: guard((k: string, c: CheckpointCursor | null, e?: JsonObject | null) => ops.setCheckpoint(k, c, e)),
    getCheckpoint: guard((k: string) => ops.getCheckpoint(k)),
    getTombstone: guard((o: string, id: string) => ops.getTombstone(o, id)),
    getRecord: guard((o: string, id: string) => ops.getRecord(o, id)),
    count: guard((o: string, opt?: ListOptions) => ops.count(o, opt)),
    getEmitted: guard((st: string, ids: readonly string[]) => ops.getEmitted(st, ids)),
    setEmitted: guard((st: string, e: readonly EmittedHash[]) => ops.setEmitted(st, e)),
    deleteEmitted: guard((st: string, ids: readonly string[]) => ops.deleteEmitted(st, ids)),
    upsertDocuments: guard((docs: readonly SearchDocument[]) => ops.upsertDocuments(docs)),
    deleteDocuments: guard((ids: readonly string[]) => ops.deleteDocuments(ids)),
    search: guard((q: string, opt?: SearchOptions) => ops.search(q, opt)),
  };
}

function metaFromRows(rows: readonly Row[], fromBool: (v: unknown) => boolean): TableMeta | undefined {
  if (rows.length === 0) return undefined;
  const columns = new Map<string, ColumnMeta>();
  for (const r of rows) {
    const spec: FieldSpec = { name: String(r.field), type: String(r.type) };
    if (r.length != null) spec.length = Number(r.length);
    if (r.precision != null) spec.precision = Number(r.precision);
    if (r.scale != null) spec.scale = Number(r.scale);
    columns.set(spec.name.toLowerCase(), { spec, kind: storageKind(spec.type), removed: fromBool(r.removed) });
  }
  const guard = guardOf([...columns.values()].map((c) => ({ name: c.spec.name, kind: c.kind })));
  if (!guard) throw new Error(`Mirror table ${String(rows[0].object)} has no SystemModstamp/LastModifiedDate/CreatedDate column`);
  const isDeleted = columns.get('isdeleted');
  return {
    object: String(rows[0].object),
    columns,
    guard,
    isDeleted: isDeleted?.kind === 'boolean' ? isDeleted.spec.name : undefined,
    byKey: new Map(),
    shape: undefined,
    writable: false,
  };
}

/** The `Store` implementation shared by both backends. */
export class MirrorStore implements Store {
  readonly driver: Driver;
  readonly kind: 'sqlite' | 'postgres';
  readonly deleteMode: DeleteMode;
  readonly #meta = new Map<string, TableMeta>();
  readonly #inflight = new Set<Promise<unknown>>();
  /** Upsert statement texts by shape; building a many-row statement is itself measurable work. */
  readonly #upsertSql = new Map<string, string>();
  #closed = false;

  private constructor(driver: Driver, deleteMode: DeleteMode) {
    this.driver = driver;
    this.kind = driver.dialect.name;
    this.deleteMode = deleteMode;
  }

  /** Creates the bookkeeping tables if needed and returns a ready store. */
  static async open(driver: Driver, deleteMode: DeleteMode = 'remove'): Promise<MirrorStore> {
    if (deleteMode !== 'remove' && deleteMode !== 'soft') throw new TypeError(`deleteMode must be 'remove' or 'soft'`);
    try {
      await driver.transaction(async (conn) => {
        for (const sql of driver.dialect.bootstrap()) await conn.run(sql);
        // Tombstones made by an older release lack the write time the change feed orders deletes by.
        const cols = await driver.dialect.columnsOf(conn, TOMBSTONES_TABLE);
        if (cols && !cols.columns.some((c) => c.name === 'written_at')) await conn.run(`ALTER TABLE ${driver.dialect.table(TOMBSTONES_TABLE)} ADD COLUMN written_at ${driver.dialect.timestampType}`);
        await conn.run(`CREATE INDEX IF NOT EXISTS ${quote('_sfbridge_tombstones_written')} ON ${driver.dialect.table(TOMBSTONES_TABLE)} (object, written_at, id)`);
        for (const sql of captureDdl(driver)) await conn.run(sql);
      });
    } catch (err) {
      await driver.destroy();
      throw err;
    }
    return new MirrorStore(driver, deleteMode);
  }

  /** Table metadata, cached per object (case-insensitive). */
  async loadMeta(conn: Conn, object: string): Promise<TableMeta | undefined> {
    const key = object.toLowerCase();
    const cached = this.#meta.get(key);
    if (cached) return cached;
    const d = this.driver.dialect;
    const p = new Params(d);
    const rows = await conn.all(`SELECT * FROM ${d.table(FIELDS_TABLE)} WHERE object_key = ${p.add(key)} ORDER BY position`, p.values);
    const meta = metaFromRows(rows, (v) => d.fromColumn('boolean', v) === true);
    if (!meta) return undefined;
    const q = new Params(d);
    meta.writable = (await conn.all(`SELECT 1 AS one FROM ${d.table(CAPTURE_TABLE)} WHERE object_key = ${q.add(key)}`, q.values)).length > 0;
    this.#meta.set(key, meta);
    return meta;
  }

  /**
   * The guarded upsert statement for `rows` rows of `columns` (plus the two bookkeeping columns), with
   * `RETURNING "Id"` when the caller learns written rows from it. Cached by shape (object, columns, rows).
   */
  upsertSql(meta: TableMeta, columns: readonly string[], rows: number, returning: boolean): string {
    const key = `${meta.object}\u0000${columns.join(',')}\u0000${rows}\u0000${returning}`;
    let sql = this.#upsertSql.get(key);
    if (sql !== undefined) {
      this.#upsertSql.delete(key);
      this.#upsertSql.set(key, sql);
      return sql;
    }
    const d = this.driver.dialect;
    const width = columns.length + 2;
    const tuples: string[] = [];
    for (let r = 0; r < rows; r++) {
      const ph: string[] = [];
      for (let c = 0; c < width; c++) ph.push(d.placeholder(r * width + c + 1));
      tuples.push(`(${ph.join(', ')})`);
    }
    const insertCols = [...columns, DELETED_COL, SYNCED_COL].map(quote).join(', ');
    const sets = [...columns.filter((c) => c !== 'Id'), DELETED_COL, SYNCED_COL].map((c) => `${quote(c)} = excluded.${quote(c)}`).join(', ');
    const g = quote(meta.guard);
    sql =
      `INSERT INTO ${d.table(meta.object)} AS t (${insertCols}) VALUES ${tuples.join(', ')} ` +
      `ON CONFLICT (${quote('Id')}) DO UPDATE SET ${sets} WHERE t.${g} IS NULL OR excluded.${g} >= t.${g}` +
      (returning ? ` RETURNING ${quote('Id')} AS id` : '');
    if (this.#upsertSql.size >= 64) this.#upsertSql.delete(this.#upsertSql.keys().next().value!);
    this.#upsertSql.set(key, sql);
    return sql;
  }

  #track<T>(promise: Promise<T>): Promise<T> {
    this.#inflight.add(promise);
    const done = () => this.#inflight.delete(promise);
    promise.then(done, done);
    return promise;
  }

  #open(): void {
    if (this.#closed) throw new StoreClosedError('Store is closed');
  }

  #write<T>(fn: (ops: Ops) => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.#closed) return Promise.reject(new StoreClosedError('Store is closed'));
    return this.#track(this.driver.transaction((conn) => fn(new Ops(this, conn, signal))));
  }

  #read<T>(fn: (ops: Ops) => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new StoreClosedError('Store is closed'));
    return this.#track(this.driver.read((conn) => fn(new Ops(this, conn, undefined))));
  }

  async ensureTable(spec: TableSpec, options?: EnsureTableOptions): Promise<EnsureTableResult> {
    const d = this.driver.dialect;
    assertIdentifier('object', spec?.object, d.maxIdentifierLength);
    if (!Array.isArray(spec.fields)) throw new TypeError('ensureTable: fields must be an array');
    const seen = new Set<string>();
    for (const f of spec.fields) {
      assertIdentifier('field', f?.name, d.maxIdentifierLength);
      if (typeof f.type !== 'string' || f.type === '') throw new TypeError(`ensureTable: field ${f.name} has no type`);
      if (seen.has(f.name.toLowerCase())) throw new TypeError(`ensureTable: field ${f.name} listed twice`);
      seen.add(f.name.toLowerCase());
    }
    if (!seen.has('id')) throw new TypeError(`ensureTable: ${spec.object} has no Id field`);
    const key = spec.object.toLowerCase();
    this.#open();
    const run = this.driver.transaction(async (conn) => {
      options?.signal?.throwIfAborted();
      this.#meta.delete(key);
      const existing = await this.loadMeta(conn, spec.object);
      // Metadata is re-read after commit; a rolled-back ALTER must not linger in the cache.
      this.#meta.delete(key);
      if (existing) await d.beforeAlter?.(conn, existing.object);
      // A writable SQLite table's triggers name its columns: they go first and come back with the new columns.
      if (existing?.writable && d.name === 'sqlite') await dropSqliteCapture(conn, existing.object);
      const result = existing ? await this.#alterTable(conn, existing, spec, options?.drop ?? []) : await this.#createTable(conn, spec, options?.deferIndexes === true);
      if (existing?.writable) {
        const meta = await this.loadMeta(conn, spec.object);
        this.#meta.delete(key);
        if (meta) await installCapture(conn, this.driver, { object: meta.object, guard: meta.guard, columns: [...meta.columns.values()].map((c) => c.spec.name) }, d.name === 'sqlite');
      }
      if (d.afterTable) {
        const meta = await this.loadMeta(conn, spec.object);
        this.#meta.delete(key);
        if (meta) await d.afterTable(conn, meta.object, [...[...meta.columns.values()].map((c) => c.spec.name), DELETED_COL, SYNCED_COL]);
      }
      return result;
    });
    try {
      return await this.#track(run);
    } finally {
      this.#meta.delete(key);
    }
  }

  async #insertFieldMeta(conn: Conn, object: string, fields: readonly FieldSpec[], firstPosition: number): Promise<void> {
    const d = this.driver.dialect;
    for (const part of chunk(fields, 500)) {
      const p = new Params(d);
      const rows = part.map((f, i) =>
        p.list([object.toLowerCase(), f.name.toLowerCase(), object, f.name, f.type, f.length ?? null, f.precision ?? null, f.scale ?? null, d.toParam('boolean', false), firstPosition + i]),
      );
      firstPosition += part.length;
      await conn.run(
        `INSERT INTO ${d.table(FIELDS_TABLE)} (object_key, field_key, object, field, type, length, precision, scale, removed, position) VALUES ${rows.join(', ')}`,
        p.values,
      );
    }
  }

  async #createTable(conn: Conn, spec: TableSpec, deferIndexes: boolean): Promise<EnsureTableResult> {
    const d = this.driver.dialect;
    const guard = guardOf(spec.fields.map((f) => ({ name: f.name, kind: storageKind(f.type) })));
    if (!guard) throw new TypeError(`ensureTable: ${spec.object} needs a SystemModstamp, LastModifiedDate or CreatedDate datetime field to order versions`);
    const cols = spec.fields.map((f) =>
      f.name.toLowerCase() === 'id' ? `${quote(f.name)} ${d.idColumn} PRIMARY KEY` : `${quote(f.name)} ${d.columnType(storageKind(f.type), f)}`,
    );
    cols.push(`${quote(DELETED_COL)} ${d.booleanType} NOT NULL DEFAULT ${d.toParam('boolean', false) === false ? 'false' : '0'}`);
    cols.push(`${quote(SYNCED_COL)} ${d.timestampType}`);
    await conn.run(`CREATE TABLE ${d.table(spec.object)} (${cols.join(', ')})`);
    if (deferIndexes) this.#indexed.delete(spec.object.toLowerCase());
    else await this.#createIndexes(conn, spec.object, guard);
    await this.#insertFieldMeta(conn, spec.object, spec.fields, 0);
    return { created: true, added: [], removed: [], dropped: [], typeChanges: [] };
  }

  /** Lower-cased objects whose index this store instance has created or seen created (skips the statement). */
  readonly #indexed = new Set<string>();

  async #createIndexes(conn: Conn, object: string, guard: string): Promise<void> {
    const d = this.driver.dialect;
    // Serves incremental reads and the engine's "latest stamp" queries.
    await conn.run(`CREATE INDEX IF NOT EXISTS ${quote(d.indexName(object))} ON ${d.table(object)} (${quote(guard)}, ${quote('Id')})`);
  }

  async ensureIndexes(object: string, options?: OpOptions): Promise<void> {
    assertIdentifier('object', object, this.driver.dialect.maxIdentifierLength);
    this.#open();
    const key = object.toLowerCase();
    if (this.#indexed.has(key)) return;
    await this.#track(
      this.driver.transaction(async (conn) => {
        options?.signal?.throwIfAborted();
        const meta = await this.loadMeta(conn, object);
        if (!meta) throw new Error(`No mirror table for ${JSON.stringify(object)}: call ensureTable first`);
        await this.#createIndexes(conn, meta.object, meta.guard);
      }),
    );
    this.#indexed.add(key);
  }

  async #alterTable(conn: Conn, meta: TableMeta, spec: TableSpec, drop: readonly string[]): Promise<EnsureTableResult> {
    const d = this.driver.dialect;
    const result: EnsureTableResult = { created: false, added: [], removed: [], dropped: [], typeChanges: [] };
    const dropping = new Set(drop.map((f) => f.toLowerCase()));
    const incoming = new Map(spec.fields.map((f) => [f.name.toLowerCase(), f]));
    const newFields: FieldSpec[] = [];
    const setRemoved = async (col: ColumnMeta, removed: boolean) => {
      const p = new Params(d);
      await conn.run(
        `UPDATE ${d.table(FIELDS_TABLE)} SET removed = ${p.add(d.toParam('boolean', removed))} WHERE object_key = ${p.add(meta.object.toLowerCase())} AND field_key = ${p.add(col.spec.name.toLowerCase())}`,
        p.values,
      );
    };
    for (const f of spec.fields) {
      const col = meta.columns.get(f.name.toLowerCase());
      if (!col) {
        await conn.run(`ALTER TABLE ${d.table(meta.object)} ADD COLUMN ${quote(f.name)} ${d.columnType(storageKind(f.type), f)}`);
        newFields.push(f);
        result.added.push(f.name);
        continue;
      }
      if (col.removed) await setRemoved(col, false);
      const kind = storageKind(f.type);
      if (f.type !== col.spec.type) {
        const sameStorage = kind === col.kind && d.columnType(kind, f) === d.columnType(col.kind, col.spec);
        result.typeChanges.push({ field: col.spec.name, from: col.spec.type, to: f.type, applied: sameStorage });
        if (sameStorage) {
          const p = new Params(d);
          await conn.run(
            `UPDATE ${d.table(FIELDS_TABLE)} SET type = ${p.add(f.type)}, length = ${p.add(f.length ?? null)}, precision = ${p.add(f.precision ?? null)}, scale = ${p.add(f.scale ?? null)} WHERE object_key = ${p.add(meta.object.toLowerCase())} AND field_key = ${p.add(col.spec.name.toLowerCase())}`,
            p.values,
          );
        }
      }
    }
    let positions = meta.columns.size;
    for (const col of meta.columns.values()) {
      const name = col.spec.name.toLowerCase();
      if (incoming.has(name)) continue;
      // The guard and key columns are never dropped: versions could no longer be ordered.
      if (dropping.has(name) && name !== 'id' && name !== meta.guard.toLowerCase() && name !== 'isdeleted') {
        await conn.run(`ALTER TABLE ${d.table(meta.object)} DROP COLUMN ${quote(col.spec.name)}`);
        const p = new Params(d);
        await conn.run(`DELETE FROM ${d.table(FIELDS_TABLE)} WHERE object_key = ${p.add(meta.object.toLowerCase())} AND field_key = ${p.add(name)}`, p.values);
        result.dropped.push(col.spec.name);
        continue;
      }
      result.removed.push(col.spec.name);
      if (!col.removed) await setRemoved(col, true);
    }
    // Positions only order the columns: new ones go after every position ever given, dropped ones included.
    if (result.dropped.length) positions += result.dropped.length;
    if (newFields.length > 0) await this.#insertFieldMeta(conn, meta.object, newFields, positions);
    return result;
  }

  async tableShape(table: string): Promise<TableShape | undefined> {
    this.#open();
    const d = this.driver.dialect;
    return this.#track(
      this.driver.read(async (conn) => {
        const meta = await this.loadMeta(conn, table);
        if (meta) {
          const columns = [...meta.columns.values()]
            .filter((c) => !c.removed)
            .map((c) => ({ name: c.spec.name, kind: c.kind, nullable: c.spec.name !== 'Id', ...(c.spec.length !== undefined && c.kind === 'text' ? { length: c.spec.length } : {}) }));
          return { table: meta.object, mirror: true, ...(meta.writable ? { writable: true } : {}), columns, key: ['Id'] };
        }
        const found = await d.columnsOf(conn, table);
        if (!found) return undefined;
        const columns = found.columns.map((c) => ({ name: c.name, kind: kindOfSqlType(c.type), nullable: c.nullable, ...(c.length !== undefined ? { length: c.length } : {}) }));
        return { table, mirror: false, columns, key: found.key };
      }),
    );
  }

  async changesSince(object: string, after: ChangeCursor | null, limit: number, options?: OpOptions): Promise<MirrorChange[]> {
    this.#open();
    options?.signal?.throwIfAborted();
    const d = this.driver.dialect;
    const key = `changes:${object.toLowerCase()}`;
    return this.#track(
      (async () => {
        if (!this.#indexed.has(key)) {
          await this.driver.transaction(async (conn) => {
            const meta = await this.loadMeta(conn, object);
            if (meta) await conn.run(`CREATE INDEX IF NOT EXISTS ${quote(`_sfb_ch_${createHash('sha256').update(meta.object).digest('hex').slice(0, 24)}`)} ON ${d.table(meta.object)} (${quote(SYNCED_COL)}, ${quote('Id')})`);
          });
          this.#indexed.add(key);
        }
        return this.driver.read(async (conn) => {
          const meta = await this.loadMeta(conn, object);
          if (!meta) return [];
          const p = new Params(d);
          const s = quote(SYNCED_COL);
          // Positions carry the canonical form (+0000); the column holds what toParam makes of an ISO instant.
          const since = after ? d.toParam('datetime', toIsoUtc(after.at, 'change position')) : undefined;
          const where = after ? ` WHERE ${s} > ${p.add(since)} OR (${s} = ${p.add(since)} AND ${quote('Id')} > ${p.add(after.id)})` : '';
          const n = Math.max(1, Math.min(10_000, Math.floor(limit)));
          const rows = await conn.all(`SELECT * FROM ${d.table(meta.object)}${where} ORDER BY ${s}, ${quote('Id')} LIMIT ${n}`, p.values);
          const out: MirrorChange[] = rows.map((row) => {
            const record: SfRecord = {};
            for (const col of meta.columns.values()) if (!col.removed) record[col.spec.name] = fromCanonical(col.kind, d.fromColumn(col.kind, row[col.spec.name]));
            const at = fromCanonical('datetime', d.fromColumn('datetime', row[SYNCED_COL])) as string;
            return { object: meta.object, id: String(row.Id), at, deleted: Boolean(fromCanonical('boolean', d.fromColumn('boolean', row[DELETED_COL]))), record };
          });
          if (this.deleteMode !== 'remove') return out;
          // Removed rows live on as tombstones: merged in by their write time.
          const q = new Params(d);
          const w = quote('written_at');
          const objectParam = q.add(meta.object);
          const tw = after ? ` AND (${w} > ${q.add(since)} OR (${w} = ${q.add(since)} AND id > ${q.add(after.id)}))` : '';
          const dead = await conn.all(`SELECT id, written_at FROM ${d.table(TOMBSTONES_TABLE)} WHERE object = ${objectParam} AND ${w} IS NOT NULL${tw} ORDER BY ${w}, id LIMIT ${n}`, q.values);
          for (const t of dead) out.push({ object: meta.object, id: String(t.id), at: fromCanonical('datetime', d.fromColumn('datetime', t.written_at)) as string, deleted: true, record: { Id: String(t.id) } });
          const byte = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
          out.sort((a, b) => byte(a.at, b.at) || byte(a.id, b.id));
          return out.slice(0, n);
        });
      })(),
    );
  }

  queryTable(shape: TableShape, query: TableQuery, options?: OpOptions): Promise<Record<string, Canonical>[]> {
    this.#open();
    options?.signal?.throwIfAborted();
    return this.#track(this.driver.read((conn) => runQuery(conn, this.driver.dialect, shape, query, DELETED_COL)));
  }

  countTable(shape: TableShape, where?: QueryExpr, options?: OpOptions): Promise<number> {
    this.#open();
    options?.signal?.throwIfAborted();
    return this.#track(this.driver.read((conn) => runCount(conn, this.driver.dialect, shape, where, DELETED_COL)));
  }

  mutateTable(shape: TableShape, mutation: TableMutation): Promise<number> {
    this.#open();
    const { sql, params } = compileMutation(this.driver.dialect, shape, mutation);
    return this.#track(this.driver.transaction(async (conn) => (await conn.all(`${sql} RETURNING 1 AS one`, params)).length));
  }

  async ensureQueryIndex(shape: TableShape, columns: readonly string[]): Promise<void> {
    this.#open();
    const d = this.driver.dialect;
    const names = columns.map((c) => columnOf(shape, c).name);
    if (names.length === 0) return;
    // The deleted flag leads on mirror tables (every query filters on it); the key ends the index, as it
    // ends every query's order (keyset paging), so filter + ORDER BY + LIMIT reads the index in order.
    const key = shape.key.filter((k) => !names.includes(k));
    const cols = [...(shape.mirror ? [quote(DELETED_COL)] : []), ...[...names, ...key].map((c) => d.queryIndexColumn(quote(c)))];
    // A name derived from the definition keeps the statement idempotent and within the identifier limit.
    const name = `_sfbridge_q_${createHash('sha256').update(`${shape.table}\u0000${cols.join(',')}`).digest('hex').slice(0, 20)}`;
    await this.#track(this.driver.transaction((conn) => conn.run(`CREATE INDEX IF NOT EXISTS ${quote(name)} ON ${d.table(shape.table)} (${cols.join(', ')})`)));
  }

  async describeTable(object: string): Promise<FieldSpec[] | undefined> {
    this.#open();
    const meta = await this.#track(this.driver.read((conn) => this.loadMeta(conn, object)));
    return meta ? [...meta.columns.values()].map((c) => ({ ...c.spec })) : undefined;
  }

  async transaction<T>(fn: (tx: StoreTransaction) => Promise<T>, options?: TransactionOptions): Promise<T> {
    const signal = options?.signal;
    signal?.throwIfAborted();
    return this.#write(async (ops) => {
      let active = true;
      try {
        const value = await fn(transactionHandle(ops, () => active));
        // An abort that arrived while the callback ran still cancels the commit.
        signal?.throwIfAborted();
        return value;
      } finally {
        active = false;
      }
    }, signal);
  }

  upsert(object: string, records: readonly SfRecord[], options?: UpsertOptions): Promise<UpsertResult> {
    return this.#write((ops) => ops.upsert(object, records, options), options?.signal);
  }

  markDeleted(object: string, ids: readonly (string | DeletedRecord)[], deletedAt?: string, options?: OpOptions): Promise<DeleteResult> {
    return this.#write((ops) => ops.markDeleted(object, ids, deletedAt, options), options?.signal);
  }

  setCheckpoint(key: string, cursor: CheckpointCursor | null, extra?: JsonObject | null): Promise<void> {
    return this.#write((ops) => ops.setCheckpoint(key, cursor, extra));
  }

  getCheckpoint(key: string): Promise<Checkpoint | undefined> {
    return this.#read((ops) => ops.getCheckpoint(key));
  }

  getTombstone(object: string, id: string): Promise<string | undefined> {
    return this.#read((ops) => ops.getTombstone(object, id));
  }

  getRecord(object: string, id: string): Promise<SfRecord | undefined> {
    return this.#read((ops) => ops.getRecord(object, id));
  }

  count(object: string, options?: ListOptions): Promise<number> {
    return this.#read((ops) => ops.count(object, options));
  }

  async *listIds(object: string, options?: ListOptions): AsyncIterable<string> {
    // Keyset paging: each page is a short read, so a long comparison never holds a connection or lock.
    let after: string | null = null;
    for (;;) {
      options?.signal?.throwIfAborted();
      const page: string[] = await this.#read((ops) => ops.idPage(object, after, options?.includeDeleted === true));
      yield* page;
      if (page.length < LIST_PAGE) return;
      after = page[page.length - 1];
    }
  }

  getEmitted(stream: string, ids: readonly string[]): Promise<Map<string, string>> {
    return this.#read((ops) => ops.getEmitted(stream, ids));
  }

  setEmitted(stream: string, entries: readonly EmittedHash[]): Promise<void> {
    return this.#write((ops) => ops.setEmitted(stream, entries));
  }

  deleteEmitted(stream: string, ids: readonly string[]): Promise<number> {
    return this.#write((ops) => ops.deleteEmitted(stream, ids));
  }

  upsertDocuments(docs: readonly SearchDocument[]): Promise<number> {
    return this.#write((ops) => ops.upsertDocuments(docs));
  }

  deleteDocuments(ids: readonly string[]): Promise<number> {
    return this.#write((ops) => ops.deleteDocuments(ids));
  }

  search(query: string, options?: SearchOptions): Promise<SearchHit[]> {
    return this.#read((ops) => ops.search(query, options));
  }

  async recordRun(run: RunInput): Promise<number> {
    const started = toIsoUtc(run.started, 'recordRun.started');
    const finished = run.finished == null ? null : toIsoUtc(run.finished, 'recordRun.finished');
    if (!Number.isSafeInteger(run.apiCalls) || run.apiCalls < 0) throw new TypeError('recordRun: apiCalls must be a non-negative integer');
    if (typeof run.status !== 'string' || run.status === '') throw new TypeError('recordRun: status is required');
    const d = this.driver.dialect;
    this.#open();
    return this.#track(
      this.driver.transaction(async (conn) => {
        const p = new Params(d);
        const values = p.list([
          d.toParam('datetime', started),
          finished === null ? null : d.toParam('datetime', finished),
          run.status,
          run.apiCalls,
          d.toParam('json', JSON.stringify(run.objects ?? {})),
          run.error ?? null,
        ]);
        const [row] = await conn.all(
          `INSERT INTO ${d.table(RUNS_TABLE)} (started, finished, status, api_calls, objects, error) VALUES ${values} RETURNING id`,
          p.values,
        );
        return Number(row.id);
      }),
    );
  }

  async listRuns(limit = 20): Promise<RunRecord[]> {
    const d = this.driver.dialect;
    const n = Math.max(1, Math.min(1000, Math.floor(limit)));
    this.#open();
    return this.#track(
      this.driver.read(async (conn) => {
        const rows = await conn.all(`SELECT * FROM ${d.table(RUNS_TABLE)} ORDER BY id DESC LIMIT ${n}`);
        return rows.map((r) => ({
          id: Number(r.id),
          started: String(d.fromColumn('datetime', r.started)),
          finished: r.finished == null ? null : String(d.fromColumn('datetime', r.finished)),
          objects: JSON.parse(String(d.fromColumn('json', r.objects))) as RunRecord['objects'],
          apiCalls: Number(r.api_calls),
          status: String(r.status),
          error: r.error == null ? null : String(r.error),
        }));
      }),
    );
  }

  #publishState: Promise<PublishState> | undefined;

  /** Publisher state (see `publish-state.ts`); its tables are created on the first call. */
  publishState(): Promise<PublishState> {
    if (this.#closed) return Promise.reject(new StoreClosedError('Store is closed'));
    this.#publishState ??= SqlPublishState.open(this.driver).catch((err: unknown) => {
      this.#publishState = undefined;
      throw err;
    });
    return this.#publishState;
  }

  #writeCapture: WriteCapture | undefined;

  /** Two-way sync storage (see `capture.ts`); its tables exist from open. */
  async writeCapture(): Promise<WriteCapture> {
    this.#open();
    this.#writeCapture ??= new SqlWriteCapture({
      driver: this.driver,
      tableInfo: async (conn, object) => {
        this.#meta.delete(object.toLowerCase());
        const meta = await this.loadMeta(conn, object);
        if (!meta) return undefined;
        return { object: meta.object, guard: meta.guard, columns: [...meta.columns.values()].map((c) => c.spec.name) };
      },
      invalidate: (object) => this.#meta.delete(object.toLowerCase()),
      readRows: async (conn, object, ids) => {
        const out = new Map<string, SfRecord>();
        const meta = await this.loadMeta(conn, object);
        if (!meta) return out;
        const d = this.driver.dialect;
        for (const part of chunk([...new Set(ids)], 500)) {
          const p = new Params(d);
          for (const row of await conn.all(`SELECT * FROM ${d.table(meta.object)} WHERE ${quote('Id')} IN ${p.list(part)}`, p.values)) {
            const rec: SfRecord = {};
            for (const col of meta.columns.values()) rec[col.spec.name] = fromCanonical(col.kind, d.fromColumn(col.kind, row[col.spec.name]));
            out.set(String(row.Id), rec);
          }
        }
        return out;
      },
      applyRemote: async (conn, object, record, id, deletedAt) => {
        const ops = new Ops(this, conn, undefined);
        if (record) await ops.upsert(object, [record]);
        else await ops.markDeleted(object, [id], deletedAt);
      },
    });
    return this.#writeCapture;
  }

  #serviceState: Promise<ServiceState> | undefined;

  /** The service's tables (see `service-state.ts`); created on the first call. */
  serviceState(): Promise<ServiceState> {
    if (this.#closed) return Promise.reject(new StoreClosedError('Store is closed'));
    this.#serviceState ??= SqlServiceState.open(this.driver).catch((err: unknown) => {
      this.#serviceState = undefined;
      throw err;
    });
    return this.#serviceState;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // Operations started before close() finish; their results are delivered normally.
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
    await this.driver.close();
  }

  async destroy(): Promise<void> {
    this.#closed = true;
    await this.driver.destroy();
  }
}

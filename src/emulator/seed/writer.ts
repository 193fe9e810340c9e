/**
 * Fast row writer for seeding: straight to the store with one prepared INSERT per object, filling what the
 * platform fills on create (system fields, owner, defaults, derived names, auto numbers). DML validation is
 * skipped because generated values are valid by construction and a million rows must load in seconds.
 */
import { autoNumberKey, formatAutoNumber } from '../dml.ts';
import { makeId } from '../ids.ts';
import type { Org } from '../org.ts';
import type { FieldDef, ObjectDef } from '../schema/types.ts';
import { q } from '../store/org-store.ts';
import { isStored, type SqlValue } from '../store/values.ts';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** The sequence number inside an emulator ID (chars 7–15), inverse of makeId. */
export function idSequence(id: string): number {
  let n = 0;
  for (const c of id.slice(6, 15)) n = n * 62 + BASE62.indexOf(c);
  return n;
}

export type Values = Record<string, SqlValue | undefined>;

/** Inserts seeded rows for one object and remembers the IDs it created (as a contiguous range). */
export class RowWriter {
  readonly def: ObjectDef;
  readonly #org: Org;
  readonly #columns: FieldDef[];
  readonly #sql: string;
  readonly #defaults = new Map<string, SqlValue>();
  readonly #autoNumbers: FieldDef[];
  readonly #personName: boolean;
  readonly #hasOwner: boolean;
  #first: string | null = null;
  #count = 0;
  readonly explicitIds: string[] = [];

  constructor(org: Org, def: ObjectDef) {
    this.#org = org;
    this.def = def;
    this.#columns = def.fields.filter(isStored);
    this.#sql = `INSERT INTO ${q(def.name)} (${this.#columns.map((f) => q(f.name)).join(', ')}) VALUES (${this.#columns.map(() => '?').join(', ')})`;
    for (const f of this.#columns) {
      if (f.system) continue;
      if (f.defaultValue !== undefined && f.defaultValue !== null) this.#defaults.set(f.name, typeof f.defaultValue === 'boolean' ? (f.defaultValue ? 1 : 0) : f.defaultValue);
      else if (f.type === 'boolean') this.#defaults.set(f.name, 0);
    }
    this.#autoNumbers = this.#columns.filter((f) => f.autoNumber);
    this.#personName = def.fields.some((f) => f.name === 'Name' && f.createable === false) && def.fields.some((f) => f.name === 'LastName');
    this.#hasOwner = def.fields.some((f) => f.name === 'OwnerId');
  }

  /** Allocates the next ID of this object without inserting (for records that point at each other). */
  allocate(): string {
    return this.#org.store.nextId(this.def);
  }

  /** Inserts a row created at `at` by `by` (default: the admin user) and returns its Id. */
  insert(values: Values, at: number, by?: string, id?: string): string {
    const rowId = id ?? this.allocate();
    if (id) this.explicitIds.push(id);
    else {
      if (this.#first === null) this.#first = rowId;
      this.#count++;
    }
    const user = by ?? this.#org.adminUserId;
    const row: Values = { ...values };
    if (this.#personName && row.Name === undefined) {
      row.Name = [row.FirstName, row.LastName].filter((v) => v !== null && v !== undefined && v !== '').join(' ') || null;
    }
    for (const f of this.#autoNumbers) if (row[f.name] === undefined) row[f.name] = this.#autoNumber(f);
    if (this.#hasOwner && (row.OwnerId === undefined || row.OwnerId === null)) row.OwnerId = user;
    const modified = typeof row.LastModifiedDate === 'number' ? row.LastModifiedDate : at;
    const system: Values = { Id: rowId, IsDeleted: 0, CreatedDate: at, CreatedById: user, LastModifiedDate: modified, LastModifiedById: user, SystemModstamp: modified };
    const args: SqlValue[] = this.#columns.map((f) => {
      const v = system[f.name] ?? row[f.name];
      return v === undefined ? (this.#defaults.get(f.name) ?? null) : v;
    });
    this.#org.store.prepare(this.#sql).run(...args);
    return rowId;
  }

  /** Ids created through `insert` without an explicit id, by position (0-based). */
  idAt(k: number): string {
    if (this.#first === null || k < 0 || k >= this.#count) throw new RangeError(`${this.def.name}: no seeded record #${k}`);
    return makeId(this.#first.slice(0, 3), idSequence(this.#first) + k, this.#first.slice(3, 6));
  }

  /** How many rows `insert` allocated ids for. */
  get count(): number {
    return this.#count;
  }

  /** Auto numbers share the persisted sequence that DML inserts use, so REST inserts continue the series. */
  #autoNumber(f: FieldDef): string {
    return formatAutoNumber(f, this.#org.store.nextSequence(autoNumberKey(this.def, f)));
  }
}

/** Runs `fn` in store transactions of `batch` iterations each, so huge seeds neither hold one giant transaction nor commit per row. */
export function batched(org: Org, count: number, fn: (i: number) => void, batch = 10_000): void {
  for (let start = 0; start < count; start += batch) {
    const end = Math.min(count, start + batch);
    org.store.transaction(() => {
      for (let i = start; i < end; i++) fn(i);
    });
  }
}

/**
 * The emulated org's data: one SQLite table per sObject (columns named after fields, canonical casing),
 * plus emulator bookkeeping tables. With a file path the org survives restarts; `:memory:` is the default.
 *
 * Bookkeeping columns on every sObject table:
 * - `_visible_at`: epoch ms from which queries see the row's current version (commitDelay fault);
 * - `_deleted_at`: epoch ms of the soft delete (recycle bin), null when live.
 */
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { makeId } from '../ids.ts';
import type { SchemaRegistry } from '../schema/registry.ts';
import type { FieldDef, ObjectDef } from '../schema/types.ts';
import { columnType, isStored, type SqlValue } from './values.ts';

export type StoredRow = Record<string, SqlValue>;

/** Quotes an identifier for SQLite. Names come from the schema, never from requests, but quote anyway. */
export const q = (name: string) => `"${name.replaceAll('"', '""')}"`;

const tzFormats = new Map<string, Intl.DateTimeFormat>();

/** Milliseconds to add to a UTC instant for the wall-clock time in `tz` (`America/Los_Angeles`). */
export function tzOffset(ms: number, tz: string): number {
  let f = tzFormats.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    tzFormats.set(tz, f);
  }
  const p = Object.fromEntries(f.formatToParts(new Date(ms)).map((x) => [x.type, Number(x.value)]));
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(ms / 1000) * 1000;
}

const EARTH_RADIUS_KM = 6371;
const KM_PER_MILE = 1.609344;

/** SOQL DISTANCE(): great-circle distance by the haversine formula; null when a coordinate is missing. */
export function distance(lat1: unknown, lon1: unknown, lat2: unknown, lon2: unknown, unit: string): number | null {
  if (lat1 === null || lon1 === null || lat2 === null || lon2 === null) return null;
  const rad = (d: unknown) => (Number(d) * Math.PI) / 180;
  const dLat = rad(lat2) - rad(lat1);
  const dLon = rad(lon2) - rad(lon1);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(lat1)) * Math.cos(rad(lat2)) * Math.sin(dLon / 2) ** 2;
  const km = 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
  return unit === 'mi' ? km / KM_PER_MILE : km;
}

export class OrgStore {
  readonly db: DatabaseSync;
  readonly schema: SchemaRegistry;
  readonly #stmtCache = new Map<string, StatementSync>();
  readonly #seq = new Map<string, number>();

  /** `now` is the org clock, which SQL reads as `sf_now()` (ActivityHistory: events that have ended). */
  constructor(path: string, schema: SchemaRegistry, now: () => number = Date.now) {
    this.db = new DatabaseSync(path);
    this.schema = schema;
    this.db.function('sf_now', { deterministic: false }, () => now());
    // convertTimezone(): the offset of an IANA time zone at an instant (DST included), for SOQL date functions.
    this.db.function('sf_distance', { deterministic: true }, (lat1, lon1, lat2, lon2, unit) => distance(lat1, lon1, lat2, lon2, String(unit)));
    this.db.function('sf_tz_offset', { deterministic: true }, (ms, tz) => (ms === null ? null : tzOffset(Number(ms), String(tz))));
    this.db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = OFF; PRAGMA cache_size = -65536;');
    this.db.exec(`CREATE TABLE IF NOT EXISTS _meta (key TEXT PRIMARY KEY, value TEXT);
      CREATE TABLE IF NOT EXISTS _sequence (prefix TEXT PRIMARY KEY, next INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS _deleted_log (object TEXT NOT NULL, id TEXT NOT NULL, deleted_at INTEGER NOT NULL, purged INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (object, id));
      CREATE INDEX IF NOT EXISTS _deleted_log_time ON _deleted_log (object, deleted_at);`);
    for (const def of schema.all()) if (!def.view) this.ensureTable(def);
    // Views read the tables, so they come second.
    for (const def of schema.all()) if (def.view) this.ensureView(def);
    for (const row of this.db.prepare('SELECT prefix, next FROM _sequence').all()) this.#seq.set(String(row.prefix), Number(row.next));
  }

  /** Creates the object's table, or adds columns for fields that are new since the file was created. */
  ensureTable(def: ObjectDef): void {
    const stored = def.fields.filter(isStored);
    const table = q(def.name);
    const existing = this.db.prepare(`SELECT name FROM pragma_table_info(?)`).all(def.name).map((r) => String(r.name).toLowerCase());
    if (existing.length === 0) {
      const cols = stored.map((f) => `${q(f.name)} ${columnType(f.type)}${f.name === 'Id' ? ' PRIMARY KEY' : ''}${isCaseInsensitiveText(f) ? ' COLLATE NOCASE' : ''}`);
      cols.push('_visible_at INTEGER NOT NULL DEFAULT 0', '_deleted_at INTEGER');
      this.db.exec(`CREATE TABLE ${table} (${cols.join(', ')})`);
    } else {
      for (const f of stored) {
        if (!existing.includes(f.name.toLowerCase())) this.db.exec(`ALTER TABLE ${table} ADD COLUMN ${q(f.name)} ${columnType(f.type)}`);
      }
    }
    // Indexes that a real org has (and that selective queries and replication rely on).
    const indexed = stored.filter((f) => f.name === 'SystemModstamp' || f.name === 'CreatedDate' || f.name === 'LastModifiedDate' || f.name === 'Name' || f.externalId || f.unique || f.idLookup || f.type === 'reference');
    for (const f of indexed) {
      if (f.name === 'Id') continue;
      this.db.exec(`CREATE INDEX IF NOT EXISTS ${q(`${def.name}_${f.name}`)} ON ${table} (${q(f.name)})`);
    }
  }

  /**
   * (Re)creates the SQL view of a view object (CaseFeed over FeedItem): a file made before the object was a
   * view holds a table of copies, which the view replaces.
   */
  ensureView(def: ObjectDef): void {
    const sources = def.view ?? [];
    const selects = sources.map((src, i) => {
      const from = this.schema.get(src.from);
      if (!from) throw new Error(`view ${def.name}: no object ${src.from}`);
      const cols = def.fields.filter(isStored).map((f) => {
        const expr = src.values?.[f.name] ?? (from.fields.some((c) => c.name === f.name && isStored(c)) ? q(f.name) : 'NULL');
        return `${expr} AS ${q(f.name)}`;
      });
      // Queries page on rowid: one unique, ordered rowid across the sources (interleaved by source index).
      cols.push('_visible_at', '_deleted_at', sources.length === 1 ? 'rowid AS rowid' : `rowid * ${sources.length} + ${i} AS rowid`);
      return `SELECT ${cols.join(', ')} FROM ${q(from.name)} WHERE ${src.where}`;
    });
    const sql = `CREATE VIEW ${q(def.name)} AS ${selects.join(' UNION ALL ')}`;
    const existing = this.db.prepare('SELECT type, sql FROM sqlite_master WHERE name = ?').get(def.name) as { type: string; sql: string } | undefined;
    if (existing?.type === 'view' && existing.sql === sql) return;
    if (existing) this.db.exec(`DROP ${existing.type === 'view' ? 'VIEW' : 'TABLE'} ${q(def.name)}`);
    this.db.exec(sql);
  }

  /** A cached prepared statement; SQL text is built from schema names only. */
  prepare(sql: string): StatementSync {
    let stmt = this.#stmtCache.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      this.#stmtCache.set(sql, stmt);
    }
    return stmt;
  }

  /** Takes the next number of a named, persisted sequence (1, 2, 3 …): ID bodies, auto-number fields. */
  nextSequence(key: string): number {
    const next = this.#seq.get(key) ?? 1;
    this.#seq.set(key, next + 1);
    this.prepare('INSERT INTO _sequence (prefix, next) VALUES (?, ?) ON CONFLICT(prefix) DO UPDATE SET next = excluded.next').run(key, next + 1);
    return next;
  }

  /** Restarts every sequence (admin reset); `next` sets chosen ones, e.g. past rows that are kept. */
  resetSequences(next: Record<string, number> = {}): void {
    this.db.exec('DELETE FROM _sequence');
    this.#seq.clear();
    for (const [key, n] of Object.entries(next)) {
      this.#seq.set(key, n);
      this.prepare('INSERT INTO _sequence (prefix, next) VALUES (?, ?)').run(key, n);
    }
  }

  /** Allocates the next ID for an object (persisted, so IDs never repeat across restarts). */
  nextId(def: ObjectDef): string {
    const prefix = def.keyPrefix ?? '000';
    return makeId(prefix, this.nextSequence(prefix));
  }

  /** Runs `fn` in one transaction (nested calls join the outer one through savepoints). */
  transaction<T>(fn: () => T): T {
    const name = `sp${this.#depth++}`;
    this.db.exec(`SAVEPOINT ${name}`);
    try {
      const out = fn();
      this.db.exec(`RELEASE ${name}`);
      return out;
    } catch (err) {
      this.db.exec(`ROLLBACK TO ${name}; RELEASE ${name}`);
      throw err;
    } finally {
      this.#depth--;
      if (this.#depth === 0) this.notifyCommit();
    }
  }
  #depth = 0;
  readonly #commitHooks: (() => void)[] = [];

  /** Registers a callback run after a transaction commits (the event bus moves its tip). */
  onCommit(fn: () => void): void {
    this.#commitHooks.push(fn);
  }

  /** Tells the commit hooks that a transaction may have ended (callers that open savepoints themselves). */
  notifyCommit(): void {
    if (this.db.isTransaction) return;
    for (const fn of this.#commitHooks) fn();
  }

  getMeta(key: string): string | undefined {
    const row = this.prepare('SELECT value FROM _meta WHERE key = ?').get(key);
    return row ? String(row.value) : undefined;
  }

  setMeta(key: string, value: string): void {
    this.prepare('INSERT INTO _meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  /** Reads one stored row by Id (including recycle-bin rows), or undefined. */
  getRow(def: ObjectDef, id: string): StoredRow | undefined {
    return this.prepare(`SELECT * FROM ${q(def.name)} WHERE Id = ?`).get(id) as StoredRow | undefined;
  }

  /** Finds live rows whose field equals a value (external-ID lookups; text compares case-insensitively). */
  findBy(def: ObjectDef, field: FieldDef, value: SqlValue): StoredRow[] {
    return this.prepare(`SELECT * FROM ${q(def.name)} WHERE ${q(field.name)} = ? AND IsDeleted = 0 LIMIT 2`).all(value) as StoredRow[];
  }

  insertRow(def: ObjectDef, row: StoredRow): void {
    const cols = Object.keys(row);
    const sql = `INSERT INTO ${q(def.name)} (${cols.map(q).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`;
    this.prepare(sql).run(...cols.map((c) => row[c]));
  }

  updateRow(def: ObjectDef, id: string, changes: StoredRow): void {
    const cols = Object.keys(changes);
    if (cols.length === 0) return;
    const sql = `UPDATE ${q(def.name)} SET ${cols.map((c) => `${q(c)} = ?`).join(', ')} WHERE Id = ?`;
    this.prepare(sql).run(...cols.map((c) => changes[c]), id);
  }

  deleteRow(def: ObjectDef, id: string): void {
    this.prepare(`DELETE FROM ${q(def.name)} WHERE Id = ?`).run(id);
  }

  count(def: ObjectDef, includeDeleted = false): number {
    // Change events have no IsDeleted column (they are never deleted).
    const live = !includeDeleted && def.fields.some((f) => f.name === 'IsDeleted');
    const row = this.prepare(`SELECT COUNT(*) AS n FROM ${q(def.name)}${live ? ' WHERE IsDeleted = 0' : ''}`).get();
    return Number(row?.n ?? 0);
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}

/** Salesforce compares text case-insensitively in filters; ID columns stay case-sensitive. */
function isCaseInsensitiveText(f: FieldDef): boolean {
  return columnType(f.type) === 'TEXT' && f.type !== 'id' && f.type !== 'reference' && f.type !== 'date' && f.type !== 'time' && !f.caseSensitive;
}

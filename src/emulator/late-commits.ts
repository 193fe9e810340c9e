/**
 * Late commits of changes to existing records (the `commitDelay` fault).
 *
 * On Salesforce a record's SystemModstamp is taken when its transaction writes it, and other readers see the
 * change only once that transaction commits, possibly later; until then they keep seeing the record's last
 * committed version. A new record is simply invisible until its insert commits (the `_visible_at` column on
 * its row). An update, delete or undelete must not make an existing record vanish meanwhile, so it is kept
 * here, stamped, until its commit time, and applied then: queries, counts and Id listings keep returning the
 * previous version in between, exactly as from a real org.
 *
 * Pending commits live in a SQLite table of the org, so a Composite or Bulk transaction that rolls back drops
 * the ones it queued, and a file-backed emulator keeps them across a restart. They are applied in commit-time
 * order at the start of every request, by a timer, and — for one record — before any other write to it (a
 * second writer waits for the first one's row lock, so the first commits before it).
 */
import type { Org } from './org.ts';
import type { ObjectDef } from './schema/types.ts';
import type { StoredRow } from './store/org-store.ts';
import type { SqlValue } from './store/values.ts';

/** What a late commit does to its record when it commits. */
export type LateKind = 'update' | 'delete' | 'undelete';

/** Applies one late commit (dml.ts): the same write an immediate commit makes, stamped as when it was made. */
export type LateApply = (org: Org, def: ObjectDef, id: string, kind: LateKind, changes: StoredRow) => void;

interface PendingRow {
  seq: number;
  object: string;
  id: string;
  kind: LateKind;
  at: number;
  changes: string;
}

const TABLE = '_late_commit';
const state = new WeakMap<Org, { ready: boolean; maybe: boolean; timer?: NodeJS.Timeout; timerAt?: number }>();

function stateOf(org: Org) {
  let s = state.get(org);
  if (!s) {
    s = { ready: false, maybe: true };
    state.set(org, s);
  }
  if (!s.ready) {
    org.store.db.exec(`CREATE TABLE IF NOT EXISTS ${TABLE} (seq INTEGER PRIMARY KEY AUTOINCREMENT, object TEXT NOT NULL, id TEXT NOT NULL, kind TEXT NOT NULL, stamp INTEGER NOT NULL, at INTEGER NOT NULL, changes TEXT NOT NULL)`);
    s.ready = true;
  }
  return s;
}

/** Column values as JSON: binary and big integers tagged so they come back as they were. */
function encode(changes: StoredRow): string {
  return JSON.stringify(changes, (_k, v: unknown) => (v instanceof Uint8Array ? { $b64: Buffer.from(v).toString('base64') } : typeof v === 'bigint' ? { $big: v.toString() } : v));
}

function decode(text: string): StoredRow {
  return JSON.parse(text, (_k, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      if (typeof o.$b64 === 'string') return new Uint8Array(Buffer.from(o.$b64, 'base64'));
      if (typeof o.$big === 'string') return BigInt(o.$big);
    }
    return v;
  }) as StoredRow;
}

/** Queues a change of an existing record that commits at `at` (org clock, ms); `stamp` is its SystemModstamp. */
export function commitLater(org: Org, apply: LateApply, def: ObjectDef, id: string, kind: LateKind, stamp: number, at: number, changes: StoredRow): void {
  const s = stateOf(org);
  org.store.prepare(`INSERT INTO ${TABLE} (object, id, kind, stamp, at, changes) VALUES (?, ?, ?, ?, ?, ?)`).run(def.name, id, kind, stamp, at, encode(changes));
  s.maybe = true;
  schedule(org, apply, at);
}

/** The smallest SystemModstamp among the object's changes not yet committed (replication's covered date). */
export function pendingStamp(org: Org, object: string): number | undefined {
  const s = stateOf(org);
  if (!s.maybe) return undefined;
  const row = org.store.prepare(`SELECT MIN(stamp) AS t FROM ${TABLE} WHERE object = ?`).get(object) as { t: SqlValue } | undefined;
  return row?.t === null || row?.t === undefined ? undefined : Number(row.t);
}

/** Commits every late change due by `now` (org clock), in commit-time order. */
export function commitDue(org: Org, apply: LateApply, now = org.clock.now()): void {
  if (!org.store.db.isOpen) return;
  const s = stateOf(org);
  if (!s.maybe) return;
  const due = org.store.prepare(`SELECT seq, object, id, kind, at, changes FROM ${TABLE} WHERE at <= ? ORDER BY at, seq`).all(now) as unknown as PendingRow[];
  for (const row of due) commitOne(org, apply, row);
  const next = org.store.prepare(`SELECT MIN(at) AS at FROM ${TABLE}`).get() as { at: SqlValue } | undefined;
  if (next?.at === null || next?.at === undefined) s.maybe = false;
  else schedule(org, apply, Number(next.at));
}

/** Commits the record's late changes now: another write to it waits for them (its row lock). */
export function commitRecord(org: Org, apply: LateApply, object: string, id: string): void {
  const s = stateOf(org);
  if (!s.maybe) return;
  const rows = org.store.prepare(`SELECT seq, object, id, kind, at, changes FROM ${TABLE} WHERE object = ? AND id = ? ORDER BY seq`).all(object, id) as unknown as PendingRow[];
  for (const row of rows) commitOne(org, apply, row);
}

function commitOne(org: Org, apply: LateApply, row: PendingRow): void {
  const def = org.schema.get(row.object);
  org.store.transaction(() => {
    org.store.prepare(`DELETE FROM ${TABLE} WHERE seq = ?`).run(row.seq);
    // The object may have been removed from the schema meanwhile: the change has nothing left to apply to.
    if (def) apply(org, def, row.id, row.kind, decode(row.changes));
  });
}

/** Wakes up when the earliest pending change is due, by the org clock (an earlier wake-up is kept). */
function schedule(org: Org, apply: LateApply, at: number): void {
  const s = stateOf(org);
  if (s.timer && s.timerAt !== undefined && s.timerAt <= at) return;
  if (s.timer) clearTimeout(s.timer);
  s.timerAt = at;
  s.timer = setTimeout(() => {
    s.timer = undefined;
    s.timerAt = undefined;
    commitDue(org, apply);
  }, Math.max(0, at - org.clock.now()) + 1);
  s.timer.unref();
}

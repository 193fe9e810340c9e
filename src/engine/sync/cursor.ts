/**
 * The incremental cursor: a position (SystemModstamp, Id) in an object's change stream, plus the lag
 * window each read starts behind it.
 *
 * ## Why no committed row can be missed (the argument)
 *
 * Definitions. A write gets its SystemModstamp `s` when it executes but becomes visible to queries only when
 * its transaction commits, at `v ≥ s`; on Salesforce (and in the emulator's `commitDelay=MS` fault)
 * `v - s < MS`. A query executed at server time `t` sees exactly the versions with `v ≤ t`. The cursor `C`
 * is the largest SystemModstamp among the rows the engine has committed to the mirror (it is written in the
 * same store transaction as those rows, so it never gets ahead of them). Each cycle `k` runs, at time `t_k`,
 * `SELECT … WHERE SystemModstamp >= floor_s(C_k - lag) ORDER BY SystemModstamp, Id` and reads it to the end
 * (or commits a prefix and dies — see below).
 *
 * Claim: with `lag ≥ MS`, every version `r` (stamp `s_r`, visible from `v_r`) is read by the first cycle `k`
 * with `t_k ≥ v_r`.
 * - Every row counted in `C_k` was returned by some earlier query, at time `t_j ≤ t_{k-1}`, and was visible
 *   then, so its stamp is `≤ t_j ≤ t_{k-1}`. Hence `C_k ≤ t_{k-1}`.
 * - `k` is the first cycle at or after `v_r`, so `t_{k-1} < v_r`.
 * - Therefore `C_k ≤ t_{k-1} < v_r < s_r + MS ≤ s_r + lag`, i.e. `s_r > C_k - lag ≥ floor_s(C_k - lag)`,
 *   and cycle `k`'s WHERE clause includes `r`. ∎
 * The argument only compares server timestamps with server timestamps: the local clock is never used, so
 * clock skew between this machine and the org cannot open a gap. (A "horizon" cursor such as
 * `now() - lag` would depend on the local clock; the max-seen-stamp cursor does not.)
 *
 * Crashes. Rows and cursor commit together per page; a crash after page `p` leaves `C` = the last stamp of
 * page `p`. Rows of the interrupted query not yet committed come after `p` in (SystemModstamp, Id) order, so
 * their stamps are `≥ C ≥ C - lag` and the next cycle reads them; rows that became visible after that query
 * started are covered by the claim (take `t_{k-1}` = the interrupted query's time). Replays of rows already
 * stored are harmless: the store's SystemModstamp guard makes an equal version an idempotent rewrite and an
 * older one a no-op, and tombstones stop a replay resurrecting a deleted row.
 *
 * Initial loads. A Bulk export (unordered) keeps `C` unset until the export is fully committed and then
 * sets it to the largest stamp it saw; the export's snapshot time plays the role of `t_{k-1}`. A REST initial
 * load is simply the incremental query from the beginning of time, ordered, with per-page checkpoints.
 *
 * Cost. The window re-reads what changed during the last `lag`, which is idempotent; an idle object still
 * costs exactly one query call per cycle.
 */
import { parseSfDate } from '../../client/datetime.ts';
import { from, not, type Condition } from '../../soql/index.ts';
import type { CheckpointCursor } from '../../store/types.ts';

/** Formats a SOQL datetime literal (second precision, UTC). Flooring only widens the window, never narrows it. */
export function soqlDateTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}


/** The lower bound of the next incremental read, or undefined for "from the beginning". */
export function windowStart(cursor: CheckpointCursor | null | undefined, lagMs: number): string | undefined {
  if (!cursor) return undefined;
  const ms = parseSfDate(cursor.systemModstamp);
  if (!Number.isFinite(ms)) return undefined;
  return soqlDateTime(ms - lagMs);
}

/** The later of two cursors in (SystemModstamp, Id) order. */
export function maxCursor(a: CheckpointCursor | null | undefined, b: CheckpointCursor | null | undefined): CheckpointCursor | null {
  if (!a) return b ?? null;
  if (!b) return a;
  const ta = parseSfDate(a.systemModstamp);
  const tb = parseSfDate(b.systemModstamp);
  if (ta !== tb) return ta > tb ? a : b;
  return a.id >= b.id ? a : b;
}

/** The cursor of a record (its SystemModstamp and Id), or undefined when it lacks them. */
export function cursorOf(record: Record<string, unknown>): CheckpointCursor | undefined {
  const stamp = record.SystemModstamp;
  const id = record.Id;
  return typeof stamp === 'string' && stamp !== '' && typeof id === 'string' ? { systemModstamp: stamp, id } : undefined;
}

/**
 * The incremental (or ordered REST initial) query of an object; `filter` (the object's `where:`) is ANDed
 * with the window, so the cursor walks the stream of matching versions only.
 */
export function changeQuery(object: string, fields: readonly string[], since: string | undefined, filter?: Condition): string {
  let q = from(object).select(fields);
  if (filter) q = q.where(filter);
  if (since) q = q.where('SystemModstamp', '>=', new Date(since));
  return q.orderBy('SystemModstamp', 'ASC').orderBy('Id', 'ASC').toString();
}

/**
 * The filter's exit stream: Ids (and stamps) of versions in the window that do not match the filter. Every
 * one of them the mirror holds left the filter and is removed. `NOT (filter)` is the exact complement in
 * SOQL (a comparison with a null field is false, its negation true), so every changed record is in exactly
 * one of the two streams.
 */
export function exitQuery(object: string, since: string | undefined, filter: Condition | undefined): string {
  let q = from(object).select('Id', 'SystemModstamp');
  if (since) q = q.where('SystemModstamp', '>=', new Date(since));
  // Without a filter (a semi-join's, which Salesforce does not allow under NOT): every changed Id, and the
  // caller keeps those that do not match.
  if (filter) q = q.where(not(filter));
  return q.orderBy('SystemModstamp', 'ASC').orderBy('Id', 'ASC').toString();
}

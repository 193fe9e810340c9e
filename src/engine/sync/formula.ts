/**
 * Formula (calculated) fields change when the fields or records they read change — often on another record
 * — without moving their own record's SystemModstamp, so the incremental read never sees the new value.
 * They are re-read on their own schedule: `Id, SystemModstamp` + the formula fields, written back as partial
 * rows (the store leaves absent fields alone).
 *
 * Only rows older than the incremental window (`SystemModstamp < windowStart`) are refreshed: by the cursor
 * argument (cursor.ts) every such row is already in the mirror, so a refresh never inserts a partial row;
 * rows inside the window are re-read in full by every incremental cycle anyway.
 */
import { from, type Condition } from '../../soql/index.ts';

/**
 * The refresh query, or undefined when there is nothing to refresh. With the object's `where:` filter only
 * matching rows are re-read: the others are not in the mirror, and a partial row must never be inserted.
 */
export function formulaQuery(object: string, formulaFields: readonly string[], before: string | undefined, filter?: Condition): string | undefined {
  if (!formulaFields.length || !before) return undefined;
  let q = from(object).select('Id', 'SystemModstamp', ...formulaFields).where('SystemModstamp', '<', new Date(before));
  if (filter) q = q.where(filter);
  return q.toString();
}

/** Whether a periodic task is due (never run, or its period elapsed). */
export function isDue(lastIso: unknown, periodMs: number, now: number): boolean {
  if (typeof lastIso !== 'string') return true;
  const last = Date.parse(lastIso);
  return !Number.isFinite(last) || now - last >= periodMs;
}

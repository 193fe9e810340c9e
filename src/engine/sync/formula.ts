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

/** The refresh query, or undefined when there is nothing to refresh. */
export function formulaQuery(object: string, formulaFields: readonly string[], before: string | undefined): string | undefined {
  if (!formulaFields.length || !before) return undefined;
  return `SELECT Id, SystemModstamp, ${formulaFields.join(', ')} FROM ${object} WHERE SystemModstamp < ${before}`;
}

/** Whether a periodic task is due (never run, or its period elapsed). */
export function isDue(lastIso: unknown, periodMs: number, now: number): boolean {
  if (typeof lastIso !== 'string') return true;
  const last = Date.parse(lastIso);
  return !Number.isFinite(last) || now - last >= periodMs;
}

/**
 * Replication: `GET /sobjects/{Obj}/updated/?start=&end=` and `/deleted/?start=&end=` (Get Updated / Get
 * Deleted). Both work in whole minutes (seconds are ignored), refuse windows that start too long ago
 * (30 days for updated, 15 for deleted), and cap the answer at 600,000 IDs.
 *
 * `latestDateCovered` is where the client's next window should start. It never passes `end` or the current
 * minute, and it stops short of any write that is not yet visible (the commitDelay fault models
 * transactions still committing): those writes are withheld now and reported by the next window instead of
 * being skipped for good.
 */
import { pendingStamp } from '../late-commits.ts';
import type { Ctx } from '../app.ts';
import { requireObject } from '../dml.ts';
import { SfError } from '../errors.ts';
import { json } from '../http/respond.ts';
import type { Router } from '../http/router.ts';
import type { Org } from '../org.ts';
import type { ObjectDef } from '../schema/types.ts';
import { q } from '../store/org-store.ts';
import { formatDateTime, parseDateTime } from '../store/values.ts';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/** Most IDs one getUpdated/getDeleted answer may hold. */
export const REPLICATION_ID_LIMIT = 600_000;
/** How far back getUpdated may start. */
export const UPDATED_WINDOW_DAYS = 30;
/** How far back getDeleted may start. */
export const DELETED_WINDOW_DAYS = 15;

/** getUpdated response body. */
export interface UpdatedResult {
  ids: string[];
  latestDateCovered: string;
}

/** getDeleted response body. */
export interface DeletedResult {
  deletedRecords: { id: string; deletedDate: string }[];
  earliestDateAvailable: string;
  latestDateCovered: string;
}

/** A replication window after validation, in epoch ms truncated to the minute. */
export interface ReplicationWindow {
  start: number;
  end: number;
}

const floorMinute = (ms: number): number => Math.floor(ms / MINUTE) * MINUTE;

/**
 * Parses one `start`/`end` value. A `+hh:mm` offset sent without URL-encoding arrives as a space, so a space
 * before the offset is read as `+`.
 */
function parseParam(raw: string | null, name: string): number {
  if (raw === null || raw.trim() === '') throw new SfError(400, 'MISSING_ARGUMENT', `The ${name} parameter is required`);
  const ms = parseDateTime(raw.trim().replace(/ (\d{2}:?\d{2})$/, '+$1'));
  if (ms === undefined) throw new SfError(400, 'INVALID_REPLICATION_DATE', `${name} is not a valid dateTime: ${raw}`);
  return ms;
}

/**
 * Validates a window against the org clock: object replicateable, start before end (after dropping seconds),
 * start within the look-back window.
 */
export function replicationWindow(org: Org, def: ObjectDef, startRaw: string | null, endRaw: string | null, windowDays: number): ReplicationWindow {
  if (def.replicateable === false) throw new SfError(400, 'CANNOT_REPLICATE', `The object ${def.name} is not replicateable`);
  const start = floorMinute(parseParam(startRaw, 'start'));
  const end = floorMinute(parseParam(endRaw, 'end'));
  if (start >= end) throw new SfError(400, 'INVALID_REPLICATION_DATE', 'startDate must chronologically precede endDate by more than one minute');
  if (start < floorMinute(org.clock.now() - windowDays * DAY)) {
    throw new SfError(400, 'INVALID_REPLICATION_DATE', `startDate cannot be more than ${windowDays} days ago`);
  }
  return { start, end };
}

/**
 * Live records whose SystemModstamp falls in [start, latestDateCovered) and whose current version is visible.
 * `limit` is the ID cap (600,000 on Salesforce; tests pass a small one).
 */
export function getUpdated(org: Org, def: ObjectDef, w: ReplicationWindow, limit = REPLICATION_ID_LIMIT): UpdatedResult {
  const now = org.clock.now();
  const table = q(def.name);
  // A write that has not yet become visible pins the covered range below its minute.
  const pending = org.store.prepare(`SELECT MIN(SystemModstamp) AS t FROM ${table} WHERE SystemModstamp >= ? AND SystemModstamp < ? AND _visible_at > ?`).get(w.start, w.end, now);
  let covered = Math.min(w.end, floorMinute(now));
  if (pending?.t !== null && pending?.t !== undefined) covered = Math.min(covered, floorMinute(Number(pending.t)));
  // So does a change of an existing record that is still committing (late-commits.ts).
  covered = pinBelowLate(org, def, w, covered);
  covered = Math.max(covered, w.start);
  const count = Number(org.store.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE IsDeleted = 0 AND SystemModstamp >= ? AND SystemModstamp < ? AND _visible_at <= ?`).get(w.start, covered, now)?.n ?? 0);
  if (count > limit) throw exceeded(limit);
  const rows = org.store.prepare(`SELECT Id FROM ${table} WHERE IsDeleted = 0 AND SystemModstamp >= ? AND SystemModstamp < ? AND _visible_at <= ? ORDER BY SystemModstamp, Id`).all(w.start, covered, now);
  return { ids: rows.map((r) => String(r.Id)), latestDateCovered: formatDateTime(covered) };
}

/**
 * Deletions logged in [start, latestDateCovered) that are still in the log (not purged, not undeleted).
 * `earliestDateAvailable` is the most recent purge of this object's deleted records, or the start of the
 * 15-day window when nothing was purged: a client whose start is earlier may have missed deletes.
 */
export function getDeleted(org: Org, def: ObjectDef, w: ReplicationWindow, limit = REPLICATION_ID_LIMIT): DeletedResult {
  const now = org.clock.now();
  const table = q(def.name);
  const base = `FROM _deleted_log d LEFT JOIN ${table} t ON t.Id = d.id WHERE d.object = ? AND d.purged = 0 AND d.deleted_at >= ? AND d.deleted_at < ?`;
  const pending = org.store.prepare(`SELECT MIN(d.deleted_at) AS t ${base} AND t._visible_at > ?`).get(def.name, w.start, w.end, now);
  let covered = Math.min(w.end, floorMinute(now));
  if (pending?.t !== null && pending?.t !== undefined) covered = Math.min(covered, floorMinute(Number(pending.t)));
  covered = pinBelowLate(org, def, w, covered);
  covered = Math.max(covered, w.start);
  const visible = `${base} AND (t._visible_at IS NULL OR t._visible_at <= ?)`;
  const count = Number(org.store.prepare(`SELECT COUNT(*) AS n ${visible}`).get(def.name, w.start, covered, now)?.n ?? 0);
  if (count > limit) throw exceeded(limit);
  const rows = org.store.prepare(`SELECT d.id AS id, d.deleted_at AS deleted_at ${visible} ORDER BY d.deleted_at, d.id`).all(def.name, w.start, covered, now);
  const purge = org.store.prepare('SELECT MAX(deleted_at) AS t FROM _deleted_log WHERE object = ? AND purged = 1').get(def.name);
  const windowStart = floorMinute(now - DELETED_WINDOW_DAYS * DAY);
  const earliest = purge?.t !== null && purge?.t !== undefined ? Math.max(windowStart, floorMinute(Number(purge.t))) : windowStart;
  return {
    deletedRecords: rows.map((r) => ({ id: String(r.id), deletedDate: formatDateTime(Number(r.deleted_at)) })),
    earliestDateAvailable: formatDateTime(earliest),
    latestDateCovered: formatDateTime(covered),
  };
}

/** `covered`, lowered to the minute of the object's earliest change still committing inside the window. */
function pinBelowLate(org: Org, def: ObjectDef, w: ReplicationWindow, covered: number): number {
  const late = pendingStamp(org, def.name);
  return late !== undefined && late >= w.start && late < w.end ? Math.min(covered, floorMinute(late)) : covered;
}

function exceeded(limit: number): SfError {
  return new SfError(400, 'EXCEEDED_ID_LIMIT', `The query returned more than ${limit.toLocaleString('en-US')} ids. Narrow the date range.`);
}

/** Registers the two replication routes; must run before the generic `/sobjects/:object/:id` routes. */
export function registerReplicationRoutes(router: Router<Ctx>): void {
  router.on('GET', '/services/data/:version/sobjects/:object/updated', (ctx, p) => {
    const def = requireObject(ctx.org, p.object);
    const w = replicationWindow(ctx.org, def, ctx.url.searchParams.get('start'), ctx.url.searchParams.get('end'), UPDATED_WINDOW_DAYS);
    return json(getUpdated(ctx.org, def, w));
  });

  router.on('GET', '/services/data/:version/sobjects/:object/deleted', (ctx, p) => {
    const def = requireObject(ctx.org, p.object);
    const w = replicationWindow(ctx.org, def, ctx.url.searchParams.get('start'), ctx.url.searchParams.get('end'), DELETED_WINDOW_DAYS);
    return json(getDeleted(ctx.org, def, w));
  });
}

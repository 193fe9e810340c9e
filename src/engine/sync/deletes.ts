/**
 * Hard deletes and purges. A record emptied from the recycle bin (or hard-deleted by Bulk) never appears in
 * queryAll again, so the incremental read cannot see it go. A periodic reconciliation finds them: one
 * Id-only read of the org compared with the mirror's Ids, then a queryAll check of the candidates so a
 * record that merely moved (created after the Id read, sitting in the recycle bin) is never removed by mistake.
 *
 * The Id read stays cheap on big objects: at or above the Bulk threshold (the mirror's row count) it is one
 * Bulk API 2.0 query job (a handful of calls for a million Ids) instead of one REST call per 2,000 Ids.
 */
import type { SalesforceClient } from '../../client/index.ts';
import { bulkOf } from './bulk.ts';
import { cond, from, type Condition } from '../../soql/index.ts';
import type { Store } from '../../store/types.ts';

/** Ids per verification query: keeps the GET URI well under the 16 KB limit (18-char Ids, quoted). */
export const VERIFY_CHUNK = 300;

export interface ReconcileResult {
  /** Ids in the mirror that the org no longer has at all (hard-deleted / purged). */
  purged: string[];
  /** Ids in the mirror that the org holds as deleted (recycle bin), with their deletion stamp. */
  recycled: Array<{ id: string; deletedDate: string }>;
  /**
   * With a `where:` filter: Ids in the mirror whose record is live but no longer matches (a formula, a
   * parent's field or a relative date moved it out without touching its SystemModstamp), with its stamp.
   */
  excluded: Array<{ id: string; deletedDate: string }>;
  /** With a filter: Ids that match in the org but are not in the mirror (moved in the same way). */
  entered: string[];
  /** Ids the org reported (Id-only read). */
  orgIds: number;
}

/** Compares the org's Ids with the mirror's and returns what the mirror must delete. */
export async function findDeletedIds(
  client: SalesforceClient,
  store: Store,
  object: string,
  opts: { hasIsDeleted?: boolean; signal?: AbortSignal; filter?: Condition; bulkThreshold?: number } = {},
): Promise<ReconcileResult & { via: 'rest' | 'bulk' }> {
  const { signal, hasIsDeleted = true, filter } = opts;
  // Ids are kept in a Set: ~60 bytes each, so even a few million fit; the mirror side streams.
  const org = new Set<string>();
  const ids = from(object).select('Id');
  const soql = (filter ? ids.where(filter) : ids).toString();
  const bulk = bulkOf(client);
  const via = bulk && opts.bulkThreshold !== undefined && (await store.count(object)) >= opts.bulkThreshold ? 'bulk' : 'rest';
  if (via === 'bulk') for await (const r of bulk!.query(soql, { signal })) org.add(r.Id);
  else for await (const r of client.query<{ Id: string }>(soql, { signal })) org.add(r.Id);
  const orgIds = org.size;
  const candidates: string[] = [];
  for await (const id of store.listIds(object, { signal })) {
    if (!org.has(id)) candidates.push(id);
    // What is left in the set afterwards matches in the org and is missing from the mirror.
    else if (filter) org.delete(id);
  }
  const purged: string[] = [];
  const recycled: Array<{ id: string; deletedDate: string }> = [];
  const excluded: Array<{ id: string; deletedDate: string }> = [];
  for (let i = 0; i < candidates.length; i += VERIFY_CHUNK) {
    const chunk = candidates.slice(i, i + VERIFY_CHUNK);
    const seen = new Map<string, { IsDeleted?: boolean; SystemModstamp?: string }>();
    const verify = from(object).select('Id', ...(hasIsDeleted ? ['IsDeleted'] : []), 'SystemModstamp').where(cond('Id', 'IN', chunk));
    for await (const r of client.queryAll<{ Id: string; IsDeleted?: boolean; SystemModstamp?: string }>(verify.toString(), { signal })) {
      seen.set(r.Id, r);
    }
    const live: string[] = [];
    for (const id of chunk) {
      const r = seen.get(id);
      if (!r) purged.push(id);
      else if (r.IsDeleted && r.SystemModstamp) recycled.push({ id, deletedDate: r.SystemModstamp });
      // Otherwise the record exists and is live: created after the Id read (keep it), or, with a filter,
      // possibly no longer matching (checked below).
      else if (filter) live.push(id);
    }
    if (filter && live.length) {
      const matching = new Set<string>();
      const q = from(object).select('Id').where(cond('Id', 'IN', live)).where(filter);
      for await (const r of client.query<{ Id: string }>(q.toString(), { signal })) matching.add(r.Id);
      for (const id of live) if (!matching.has(id) && seen.get(id)?.SystemModstamp) excluded.push({ id, deletedDate: seen.get(id)!.SystemModstamp! });
    }
  }
  return { purged, recycled, excluded, entered: filter ? [...org] : [], orgIds, via };
}

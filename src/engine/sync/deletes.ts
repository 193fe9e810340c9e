/**
 * Hard deletes and purges. A record emptied from the recycle bin (or hard-deleted by Bulk) never appears in
 * queryAll again, so the incremental read cannot see it go. A periodic reconciliation finds them: one
 * Id-only read of the org compared with the mirror's Ids, then a queryAll check of the candidates so a
 * record that merely moved (created after the Id read, sitting in the recycle bin) is never removed by mistake.
 */
import type { SalesforceClient } from '../../client/index.ts';
import type { Store } from '../../store/types.ts';

/** Ids per verification query: keeps the GET URI well under the 16 KB limit (18-char Ids, quoted). */
export const VERIFY_CHUNK = 300;

export interface ReconcileResult {
  /** Ids in the mirror that the org no longer has at all (hard-deleted / purged). */
  purged: string[];
  /** Ids in the mirror that the org holds as deleted (recycle bin), with their deletion stamp. */
  recycled: Array<{ id: string; deletedDate: string }>;
  /** Ids the org reported (Id-only read). */
  orgIds: number;
}

/** Compares the org's Ids with the mirror's and returns what the mirror must delete. */
export async function findDeletedIds(client: SalesforceClient, store: Store, object: string, opts: { hasIsDeleted?: boolean; signal?: AbortSignal } = {}): Promise<ReconcileResult> {
  const { signal, hasIsDeleted = true } = opts;
  // Ids are kept in a Set: ~60 bytes each, so even a few million fit; the mirror side streams.
  const org = new Set<string>();
  for await (const r of client.query<{ Id: string }>(`SELECT Id FROM ${object}`, { signal })) org.add(r.Id);
  const candidates: string[] = [];
  for await (const id of store.listIds(object, { signal })) if (!org.has(id)) candidates.push(id);
  const purged: string[] = [];
  const recycled: Array<{ id: string; deletedDate: string }> = [];
  for (let i = 0; i < candidates.length; i += VERIFY_CHUNK) {
    const chunk = candidates.slice(i, i + VERIFY_CHUNK);
    const seen = new Map<string, { IsDeleted?: boolean; SystemModstamp?: string }>();
    const list = chunk.map((id) => `'${id}'`).join(',');
    for await (const r of client.queryAll<{ Id: string; IsDeleted?: boolean; SystemModstamp?: string }>(`SELECT Id, ${hasIsDeleted ? 'IsDeleted, ' : ''}SystemModstamp FROM ${object} WHERE Id IN (${list})`, { signal })) {
      seen.set(r.Id, r);
    }
    for (const id of chunk) {
      const r = seen.get(id);
      if (!r) purged.push(id);
      else if (r.IsDeleted && r.SystemModstamp) recycled.push({ id, deletedDate: r.SystemModstamp });
      // Otherwise the record exists and is live (created after the Id read): keep it.
    }
  }
  return { purged, recycled, orgIds: org.size };
}

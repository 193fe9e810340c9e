/**
 * Initial load plan: one `SELECT COUNT()` decides between Bulk API 2.0 (big objects: one job, CSV pages,
 * no per-page API call) and REST query (small objects: no job overhead, ordered, checkpointed per page).
 */
import type { SalesforceClient } from '../../client/index.ts';
import { from, type Condition } from '../../soql/index.ts';
import { bulkOf } from './bulk.ts';

export interface LoadPlan {
  mode: 'rest' | 'bulk';
  /** Rows the org reports (live rows). */
  count: number;
  /** Why this mode (shown in logs). */
  reason: string;
}

/** Chooses how to load an object the mirror has never completed. */
export async function planInitialLoad(client: SalesforceClient, object: string, threshold: number, signal?: AbortSignal, filter?: Condition): Promise<LoadPlan> {
  const q = from(object).select('COUNT()');
  const count = await client.count((filter ? q.where(filter) : q).toString(), { signal });
  if (count < threshold) return { mode: 'rest', count, reason: `${count} rows < bulk threshold ${threshold}` };
  if (!bulkOf(client)) return { mode: 'rest', count, reason: `${count} rows ≥ threshold ${threshold}, but this client has no Bulk API` };
  return { mode: 'bulk', count, reason: `${count} rows ≥ bulk threshold ${threshold}` };
}

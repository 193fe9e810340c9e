/**
 * The slice of the Bulk API 2.0 client (src/client/bulk2, `client.bulk`) the sync uses, typed structurally so
 * the engine depends on the contract, not on the module's internals.
 */
import type { SalesforceClient } from '../../client/index.ts';

/** Bulk query options the sync passes. */
export interface SyncBulkQueryOptions {
  queryAll?: boolean;
  signal?: AbortSignal;
  resume?: { jobId: string; locator?: string | null; skip?: number };
  maxRecords?: number;
  pollIntervalMs?: number;
  expectedRecords?: number;
}

/** A streaming Bulk query result (CSV strings; '' = null). */
export interface SyncBulkQueryResult extends AsyncIterable<Record<string, string>> {
  readonly jobId: Promise<string>;
  /** Locator of the page holding the next record not yet consumed. */
  locator: string | null;
  /** Records of the `locator` page already consumed. */
  pageOffset?: number;
  recordsRead: number;
  /** When the job was created (org clock), once known. */
  createdDate?: string;
  /** Creates the job without reading it (the org starts on it); resolves its Id. */
  start(): Promise<string>;
}

export interface SyncBulk {
  query(soql: string, opts?: SyncBulkQueryOptions): SyncBulkQueryResult;
}

/** The client's Bulk API, or undefined when this client build has none. */
export function bulkOf(client: SalesforceClient): SyncBulk | undefined {
  const b = (client as unknown as { bulk?: SyncBulk }).bulk;
  return b && typeof b.query === 'function' ? b : undefined;
}

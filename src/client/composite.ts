/**
 * Composite resources (§4): composite with references, batch, tree, and sObject Collections chunked into
 * 200-record calls with bounded parallelism. Per-record results always come back in input order.
 */
import type { Connection } from './connection.ts';
import { SalesforceError, parseErrorBody } from './errors.ts';

/** Max subrequests of composite and batch. */
export const MAX_SUBREQUESTS = 25;
/** Max records per collections call and per tree call. */
export const COLLECTION_CHUNK = 200;
/** Default number of collections chunks in flight. */
export const DEFAULT_COLLECTION_PARALLELISM = 2;

/** One composite subrequest. */
export interface CompositeSubrequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** `/services/data/vXX.X/…`, or a path relative to the data API (the version is added). */
  url: string;
  referenceId: string;
  body?: unknown;
  httpHeaders?: Record<string, string>;
}

/** One composite subresponse. */
export interface CompositeSubresponse {
  body: unknown;
  httpHeaders: Record<string, string>;
  httpStatusCode: number;
  referenceId: string;
}

function dataUrl(client: Connection, url: string): string {
  return url.startsWith('/services/') ? url : `${client.dataPath}/${url.replace(/^\/+/, '')}`;
}

/**
 * Runs up to 25 subrequests in one call; later ones may reference earlier results with `@{ref.field}`.
 * Not replayed after a dropped response unless every subrequest is a GET.
 */
export async function composite(client: Connection, requests: readonly CompositeSubrequest[], opts: { allOrNone?: boolean; collateSubrequests?: boolean; signal?: AbortSignal } = {}): Promise<CompositeSubresponse[]> {
  if (requests.length === 0 || requests.length > MAX_SUBREQUESTS) throw new RangeError(`composite takes 1..${MAX_SUBREQUESTS} subrequests, got ${requests.length}; split the work`);
  const res = await client.request<{ compositeResponse: CompositeSubresponse[] }>('composite', {
    method: 'POST',
    json: {
      allOrNone: opts.allOrNone ?? false,
      collateSubrequests: opts.collateSubrequests ?? false,
      compositeRequest: requests.map((r) => ({ ...r, url: dataUrl(client, r.url) })),
    },
    idempotent: requests.every((r) => r.method === 'GET'),
    long: true,
    signal: opts.signal,
  });
  return res.compositeResponse;
}

/** One batch subrequest; `url` is relative to the data API (`sobjects/Account/001…`). */
export interface BatchSubrequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD';
  url: string;
  richInput?: unknown;
}

/** Runs up to 25 independent subrequests serially in one call. */
export async function batch(client: Connection, requests: readonly BatchSubrequest[], opts: { haltOnError?: boolean; signal?: AbortSignal } = {}): Promise<{ hasErrors: boolean; results: Array<{ statusCode: number; result: unknown }> }> {
  if (requests.length === 0 || requests.length > MAX_SUBREQUESTS) throw new RangeError(`batch takes 1..${MAX_SUBREQUESTS} subrequests, got ${requests.length}; split the work`);
  return client.request('composite/batch', {
    method: 'POST',
    json: {
      haltOnError: opts.haltOnError ?? false,
      batchRequests: requests.map((r) => ({ ...r, url: r.url.replace(/^\/?(services\/data\/)?(v\d+\.\d\/)?/, `v${client.apiVersion}/`) })),
    },
    idempotent: requests.every((r) => r.method === 'GET' || r.method === 'HEAD'),
    long: true,
    signal: opts.signal,
  });
}

/** Result of a tree insert: IDs by referenceId, or the failing records' errors. */
export interface TreeResult {
  hasErrors: boolean;
  results: Array<{ referenceId: string; id?: string; errors?: Array<{ statusCode: string; message: string; fields?: string[] }> }>;
}

/**
 * Inserts record trees (all-or-nothing, ≤200 records). A 400 with `hasErrors` is returned, not thrown,
 * so callers see which records failed.
 */
export async function tree(client: Connection, sobject: string, records: readonly unknown[], opts: { signal?: AbortSignal } = {}): Promise<TreeResult> {
  const res = await client.call<TreeResult | unknown[]>(`composite/tree/${encodeURIComponent(sobject)}`, { method: 'POST', json: { records }, long: true, signal: opts.signal, accept: [400] });
  if (Array.isArray(res.body) || !res.body) throw new SalesforceError(res.status, parseErrorBody(res.status, JSON.stringify(res.body ?? [])));
  return res.body;
}

/** Per-record result of a collections call. */
export interface CollectionResult {
  id?: string;
  success: boolean;
  created?: boolean;
  errors: Array<{ statusCode: string; message: string; fields?: string[] }>;
}

export interface CollectionOptions {
  /** Roll back a chunk when any record in it fails. Chunks after a failed one are not sent (see below). */
  allOrNone?: boolean;
  /** Chunks in flight (ignored with allOrNone, which runs chunks in order). */
  parallelism?: number;
  /** Extra request headers on every call, e.g. `Sforce-Auto-Assign`, `Sforce-Duplicate-Rule-Header` (§0.4). */
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** Error set on records whose chunk was never sent because an earlier allOrNone chunk failed. */
export const NOT_ATTEMPTED = 'NOT_ATTEMPTED';

type CollectionOp = 'create' | 'update' | 'upsert' | 'delete';

/**
 * Runs a collections operation over any number of records, 200 per call. Results are in input order.
 * With `allOrNone`, atomicity holds per 200-record chunk only (Salesforce has no cross-call transaction), so
 * chunks run in order and after a failed chunk the rest are reported as {@link NOT_ATTEMPTED} instead of sent.
 */
export async function collection(client: Connection, op: CollectionOp, records: readonly Record<string, unknown>[] | readonly string[], opts: CollectionOptions & { sobject?: string; externalIdField?: string } = {}): Promise<CollectionResult[]> {
  const chunks: Array<{ start: number; items: typeof records }> = [];
  for (let i = 0; i < records.length; i += COLLECTION_CHUNK) chunks.push({ start: i, items: records.slice(i, i + COLLECTION_CHUNK) as typeof records });
  const out: CollectionResult[] = new Array(records.length);
  const allOrNone = opts.allOrNone ?? false;
  const parallelism = allOrNone ? 1 : Math.max(1, opts.parallelism ?? DEFAULT_COLLECTION_PARALLELISM);
  let failed = false;
  let next = 0;
  const worker = async () => {
    while (next < chunks.length) {
      const chunk = chunks[next++];
      if (failed) {
        for (let i = 0; i < chunk.items.length; i++) out[chunk.start + i] = { success: false, errors: [{ statusCode: NOT_ATTEMPTED, message: 'not sent: an earlier allOrNone chunk failed, so this chunk was held back to keep the run consistent' }] };
        continue;
      }
      const results = await sendChunk(client, op, chunk.items, allOrNone, opts);
      results.forEach((r, i) => (out[chunk.start + i] = r));
      if (allOrNone && results.some((r) => !r.success)) failed = true;
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallelism, chunks.length) }, worker));
  return out;
}

async function sendChunk(client: Connection, op: CollectionOp, items: readonly unknown[], allOrNone: boolean, opts: CollectionOptions & { sobject?: string; externalIdField?: string }): Promise<CollectionResult[]> {
  const { signal, headers } = opts;
  switch (op) {
    case 'create':
      return client.request('composite/sobjects', { method: 'POST', json: { allOrNone, records: items }, headers, signal, long: true });
    case 'update':
      return client.request('composite/sobjects', { method: 'PATCH', json: { allOrNone, records: items }, headers, signal, long: true });
    case 'upsert':
      if (!opts.sobject || !opts.externalIdField) throw new TypeError('upsert needs sobject and externalIdField');
      return client.request(`composite/sobjects/${encodeURIComponent(opts.sobject)}/${encodeURIComponent(opts.externalIdField)}`, { method: 'PATCH', json: { allOrNone, records: items }, headers, signal, long: true });
    case 'delete':
      return client.request('composite/sobjects', { method: 'DELETE', query: { ids: (items as string[]).join(','), allOrNone: String(allOrNone) }, headers, signal, long: true });
  }
}

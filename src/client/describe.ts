/**
 * describeGlobal and describe with a persistent cache revalidated by `If-Modified-Since`: an unchanged
 * describe costs one cheap 304 instead of re-downloading hundreds of kilobytes per object.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Connection } from './connection.ts';
import { MemoryKeyValueStore, type KeyValueStore } from './kv.ts';

/** A cached describe body with the `Last-Modified` value to revalidate it. */
export interface DescribeCacheEntry {
  lastModified: string;
  body: unknown;
  /** When the org last confirmed this body (epoch ms); lets callers skip revalidation for a while. */
  checkedAt?: number;
}

/** Options of a describe call. */
export interface DescribeOptions {
  signal?: AbortSignal;
  /**
   * Use a cached body without asking the org when it was confirmed less than this many ms ago. Default 0:
   * every call revalidates (one `If-Modified-Since` request, a 304 when unchanged).
   */
  freshForMs?: number;
}

/** Pluggable describe cache. */
export interface DescribeCache extends KeyValueStore<DescribeCacheEntry> {}

/** In-memory describe cache. */
export class MemoryDescribeCache extends MemoryKeyValueStore<DescribeCacheEntry> {}

/** One JSON file per entry under a directory (names are hashes of the key). */
export class FileDescribeCache implements DescribeCache {
  readonly dir: string;
  constructor(dir: string) {
    this.dir = dir;
  }
  async get(key: string): Promise<DescribeCacheEntry | undefined> {
    try {
      return JSON.parse(await readFile(this.#file(key), 'utf8')) as DescribeCacheEntry;
    } catch (err) {
      // A missing or corrupt entry is just a miss: the describe is fetched again.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || err instanceof SyntaxError) return undefined;
      throw err;
    }
  }
  async set(key: string, entry: DescribeCacheEntry): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const file = this.#file(key);
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(entry));
    await rename(tmp, file);
  }
  #file(key: string): string {
    return join(this.dir, `${createHash('sha256').update(key).digest('hex').slice(0, 32)}.json`);
  }
}

/** describeGlobal's result (§2.2); entries keep every key Salesforce sends. */
export interface DescribeGlobalResult {
  encoding: string;
  maxBatchSize: number;
  sobjects: Array<{ name: string; label: string; keyPrefix: string | null; queryable: boolean; createable: boolean; updateable: boolean; deletable: boolean; replicateable: boolean; custom: boolean } & Record<string, unknown>>;
}

/** One field of a describe (§2.4), with the keys sfbridge relies on typed. */
export interface DescribeField extends Record<string, unknown> {
  name: string;
  label: string;
  type: string;
  soapType?: string;
  length?: number;
  nillable?: boolean;
  createable?: boolean;
  updateable?: boolean;
  filterable?: boolean;
  sortable?: boolean;
  groupable?: boolean;
  externalId?: boolean;
  idLookup?: boolean;
  calculated?: boolean;
  deprecatedAndHidden?: boolean;
  compoundFieldName?: string | null;
  referenceTo?: string[];
  relationshipName?: string | null;
}

/** An sObject describe (§2.4). */
export interface DescribeSObjectResult extends Record<string, unknown> {
  name: string;
  label: string;
  keyPrefix: string | null;
  queryable: boolean;
  fields: DescribeField[];
  childRelationships: Array<{ childSObject: string; field: string; relationshipName: string | null } & Record<string, unknown>>;
}

async function cachedGet<T>(client: Connection, cache: DescribeCache | undefined, path: string, opts: DescribeOptions = {}): Promise<T> {
  const { signal, freshForMs = 0 } = opts;
  const session = await client.session(signal);
  const key = `${session.instanceUrl}|v${client.apiVersion}|${path}`;
  const hit = await cache?.get(key);
  if (hit && freshForMs > 0 && hit.checkedAt !== undefined && Date.now() - hit.checkedAt < freshForMs) return hit.body as T;
  const headers: Record<string, string> = hit ? { 'if-modified-since': hit.lastModified } : {};
  const res = await client.call<T>(path, { headers, signal, accept: [304] });
  if (res.status === 304 && hit) {
    // Only callers that skip revalidation need the confirmation time; others save the write.
    if (freshForMs > 0) await cache?.set(key, { ...hit, checkedAt: Date.now() });
    return hit.body as T;
  }
  // Without Last-Modified, the time we fetched is a safe validator: later changes are newer than it.
  const lastModified = res.headers.get('last-modified') ?? new Date().toUTCString();
  await cache?.set(key, { lastModified, body: res.body, checkedAt: Date.now() });
  return res.body;
}

/** Lists the org's objects (cached when a cache is given). */
export function describeGlobal(client: Connection, cache?: DescribeCache, signal?: AbortSignal): Promise<DescribeGlobalResult> {
  return cachedGet<DescribeGlobalResult>(client, cache, 'sobjects', { signal });
}

/** Describes one object (cached when a cache is given). */
export function describe(client: Connection, sobject: string, cache?: DescribeCache, signalOrOptions?: AbortSignal | DescribeOptions): Promise<DescribeSObjectResult> {
  const opts = signalOrOptions instanceof AbortSignal ? { signal: signalOrOptions } : signalOrOptions;
  return cachedGet<DescribeSObjectResult>(client, cache, `sobjects/${encodeURIComponent(sobject)}/describe`, opts);
}

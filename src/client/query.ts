/**
 * SOQL query with real backpressure. Records stream out of an `AsyncIterable`; the next page is requested
 * only while the consumer works through the current one, so at most two pages (current + one prefetched)
 * exist at any time, whatever the result size. No row cap: paging follows `nextRecordsUrl` until `done`.
 */
import type { Connection } from './connection.ts';

/** Smallest and largest `batchSize` Salesforce accepts (Sforce-Query-Options). */
export const MIN_BATCH_SIZE = 200;
export const MAX_BATCH_SIZE = 2000;

/** One page of a query result (§2.8). */
export interface QueryPage<T> {
  totalSize: number;
  done: boolean;
  nextRecordsUrl?: string;
  records: T[];
}

export interface QueryOptions {
  /** Page size hint 200..2000 (Salesforce may return fewer). */
  batchSize?: number;
  /** Include deleted and archived rows (`queryAll`). */
  includeDeleted?: boolean;
  signal?: AbortSignal;
  /** Use the Tooling API. */
  tooling?: boolean;
}

/** A record as returned by query: `attributes` plus fields. */
export type SObjectRecord = { attributes?: { type: string; url?: string } } & Record<string, unknown>;

/**
 * A streaming query result. Iterate it once with `for await`; `totalSize` is known after the first page.
 */
export class QueryResult<T = SObjectRecord> implements AsyncIterable<T> {
  readonly soql: string;
  readonly #client: Connection;
  readonly #opts: QueryOptions;
  #totalSize: number | undefined;
  #started = false;
  /** Pages fetched so far. */
  pagesFetched = 0;

  constructor(client: Connection, soql: string, opts: QueryOptions = {}) {
    if (opts.batchSize !== undefined && !(Number.isInteger(opts.batchSize) && opts.batchSize >= MIN_BATCH_SIZE && opts.batchSize <= MAX_BATCH_SIZE)) {
      throw new RangeError(`batchSize must be an integer from ${MIN_BATCH_SIZE} to ${MAX_BATCH_SIZE}, got ${opts.batchSize}`);
    }
    this.#client = client;
    this.soql = soql;
    this.#opts = opts;
  }

  /** Total matching rows, once the first page has arrived. */
  get totalSize(): number | undefined {
    return this.#totalSize;
  }

  /** Pages as they are consumed (the same backpressure: one page prefetched). */
  async *pages(): AsyncGenerator<QueryPage<T>> {
    if (this.#started) throw new Error('a QueryResult can be iterated once; run the query again for a second pass');
    this.#started = true;
    const controller = new AbortController();
    const signal = this.#opts.signal ? AbortSignal.any([this.#opts.signal, controller.signal]) : controller.signal;
    const base = this.#opts.tooling ? 'tooling/' : '';
    let pending: Promise<QueryPage<T>> | undefined = this.#fetch(`${base}${this.#opts.includeDeleted ? 'queryAll' : 'query'}`, { q: this.soql }, signal);
    try {
      while (pending) {
        const page: QueryPage<T> = await pending;
        this.#totalSize = page.totalSize;
        // Prefetch exactly one page so the network overlaps with the consumer, but never more.
        pending = page.done || !page.nextRecordsUrl ? undefined : this.#fetch(page.nextRecordsUrl, undefined, signal);
        // A rejected prefetch is rethrown when awaited; this only stops it counting as unhandled meanwhile.
        pending?.catch(() => undefined);
        yield page;
      }
    } finally {
      // Consumer stopped early (break/throw): cancel the prefetch instead of letting it run.
      controller.abort();
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    for await (const page of this.pages()) {
      const records = page.records;
      for (let i = 0; i < records.length; i++) {
        const record = records[i];
        // Drop the page's reference as each record is handed out, so records the consumer is done with can
        // be collected young instead of surviving (and growing the heap) until the whole page is consumed.
        (records as (T | undefined)[])[i] = undefined;
        yield record;
      }
    }
  }

  /** Collects every record (only for results known to be small). */
  async toArray(): Promise<T[]> {
    const out: T[] = [];
    for await (const r of this) out.push(r);
    return out;
  }

  #fetch(path: string, query: Record<string, string> | undefined, signal: AbortSignal): Promise<QueryPage<T>> {
    this.pagesFetched++;
    const headers: Record<string, string> = {};
    if (this.#opts.batchSize) headers['sforce-query-options'] = `batchSize=${this.#opts.batchSize}`;
    return this.#client.request<QueryPage<T>>(path, { query, headers, signal, long: true });
  }
}

/** Starts a streaming query. */
export function query<T = SObjectRecord>(client: Connection, soql: string, opts: QueryOptions = {}): QueryResult<T> {
  return new QueryResult<T>(client, soql, opts);
}

/**
 * Counts rows matching a query. A `SELECT COUNT() …` query runs as is; any other query has its top-level
 * SELECT list replaced by `COUNT()` and its ORDER BY / LIMIT / OFFSET dropped (they do not change a count
 * of all matches and ORDER BY is not allowed with COUNT()).
 */
export async function count(client: Connection, soql: string, opts: Omit<QueryOptions, 'batchSize'> = {}): Promise<number> {
  const page = await client.request<QueryPage<unknown>>(`${opts.tooling ? 'tooling/' : ''}${opts.includeDeleted ? 'queryAll' : 'query'}`, {
    query: { q: toCountQuery(soql) },
    signal: opts.signal,
  });
  return page.totalSize;
}

/** Rewrites a SOQL query into its `SELECT COUNT()` form (see {@link count}). */
export function toCountQuery(soql: string): string {
  const tokens = topLevelKeywords(soql);
  const from = tokens.find((t) => t.word === 'FROM');
  const select = tokens.find((t) => t.word === 'SELECT');
  if (!from || !select) throw new Error(`not a SELECT … FROM … query: ${soql.slice(0, 80)}`);
  if (/^\s*COUNT\s*\(\s*\)\s*$/i.test(soql.slice(select.end, from.start))) return soql.trim();
  const tail = tokens.find((t) => t.start > from.start && (t.word === 'ORDER' || t.word === 'LIMIT' || t.word === 'OFFSET'));
  const rest = soql.slice(from.start, tail ? tail.start : soql.length).trim();
  return `SELECT COUNT() ${rest}`;
}

/** Keywords at parenthesis depth 0 outside string literals, with their offsets. */
function topLevelKeywords(soql: string): Array<{ word: string; start: number; end: number }> {
  const out: Array<{ word: string; start: number; end: number }> = [];
  let depth = 0;
  for (let i = 0; i < soql.length; i++) {
    const ch = soql[i];
    if (ch === "'") {
      for (i++; i < soql.length && soql[i] !== "'"; i++) if (soql[i] === '\\') i++;
      continue;
    }
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (depth === 0 && /[A-Za-z]/.test(ch) && (i === 0 || /[\s,)]/.test(soql[i - 1]))) {
      const m = /^[A-Za-z_]+/.exec(soql.slice(i))!;
      const word = m[0].toUpperCase();
      if (['SELECT', 'FROM', 'ORDER', 'LIMIT', 'OFFSET'].includes(word)) out.push({ word, start: i, end: i + m[0].length });
      i += m[0].length - 1;
    }
  }
  return out;
}

/**
 * SOQL query with real backpressure. Records stream out of an `AsyncIterable`; the next page is requested
 * only while the consumer works through the current one, so at most two pages (current + one prefetched)
 * exist at any time, whatever the result size. No row cap: paging follows `nextRecordsUrl` until `done`.
 * Each page's body is parsed as it streams in, record by record (json-stream.ts).
 *
 * Memory note for large exports: streaming allocates fast and V8 then grows its young generation to the
 * maximum; starting Node with `--max-semi-space-size=2` (or NODE_OPTIONS), as bin/sfbridge does for `query`,
 * keeps the peak lower at no measured cost in time (docs/BENCHMARKS.md, "Client vs jsforce"). `jsonLines()`
 * builds no record objects at all.
 */
import type { Connection } from './connection.ts';
import { ERROR_CODES, TransportError } from './errors.ts';
import { JsonLinesPageScanner, LineSlab, type JsonLinesBatch } from './json-lines.ts';
import { QueryPageScanner } from './json-stream.ts';
import { redactUrl } from './log.ts';

/** Smallest and largest `batchSize` Salesforce accepts (Sforce-Query-Options). */
export const MIN_BATCH_SIZE = 200;
export const MAX_BATCH_SIZE = 2000;
/**
 * How many times one page is read again after its connection dropped mid-body. Records already handed out
 * are skipped on the re-read, so the consumer sees each record once.
 */
export const MAX_PAGE_REREADS = 3;

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

  /**
   * Pages as they are consumed (the same backpressure: one page requested ahead). Each page's records are
   * parsed from its body as it streams in; the page is yielded once complete.
   */
  async *pages(): AsyncGenerator<QueryPage<T>> {
    let records: T[] = [];
    for await (const part of this.#parts()) {
      for (const r of part.records) records.push(r);
      if (part.page) {
        yield { ...part.page, records };
        records = [];
      }
    }
  }

  /**
   * The records as JSON text, as the page holds each one (`attributes` included), in batches as they are cut
   * from each network chunk: nothing is parsed, so a consumer that writes records out as JSON (json-stream.ts
   * `recordJsonLine`) never builds them as objects. Same paging, backpressure and re-reads as iterating.
   */
  async *texts(): AsyncGenerator<string[]> {
    for await (const part of this.#parts('text')) if (part.records.length) yield part.records as unknown as string[];
  }

  /**
   * The records as JSON lines: each is `JSON.stringify` of the record without its `attributes` members (at
   * any depth), byte for byte, without a newline; in batches as they arrive. Each is cut from the page text
   * in the pass that finds the record's end wherever that is exact, else parsed and re-serialised
   * (json-stream.ts `exactRecordAt`), so a JSON-lines export builds no record objects.
   */
  async *jsonLines(): AsyncGenerator<string[]> {
    for await (const part of this.#parts('jsonl')) if (part.records.length) yield part.records as unknown as string[];
  }

  /**
   * The records as JSON lines in UTF-8 (each `JSON.stringify` of the record without its `attributes` members,
   * then a newline), in batches as they are cut from each network chunk. The page's bytes are copied as they
   * are wherever that is exact (json-lines.ts), so nothing is decoded, built or encoded again: the cheapest way
   * to write a query out. Same paging, backpressure and re-reads as iterating. With `reuse`, every batch is
   * written into the same buffer, so a batch's bytes are valid only until the next batch is asked for: for a
   * consumer that writes each one out at once (as `sfbridge query` does), an export then allocates nothing
   * for its output.
   */
  async *jsonLineBytes(opts: { reuse?: boolean } = {}): AsyncGenerator<JsonLinesBatch> {
    this.#slab = new LineSlab(opts);
    for await (const part of this.#parts('bytes')) for (const batch of part.records as unknown as JsonLinesBatch[]) yield batch;
  }

  /** Where jsonLineBytes writes its lines. */
  #slab: LineSlab | undefined;

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    for await (const part of this.#parts()) {
      const records = part.records;
      for (let i = 0; i < records.length; i++) {
        const record = records[i];
        // Drop our reference as each record is handed out, so records the consumer is done with can be
        // collected young instead of surviving (and growing the heap) until the batch is consumed.
        (records as (T | undefined)[])[i] = undefined;
        yield record;
      }
    }
  }

  /**
   * The records of every page in arrival order, in batches as they are parsed from each network chunk; the
   * last batch of a page carries the page's other members (`page`). Each body is read as a stream and parsed
   * record by record (json-stream.ts), so no page-sized string or page-sized object graph is built. The next
   * page is requested as soon as its URL is known (Salesforce sends `nextRecordsUrl` before `records`), and
   * its body is then read only when the consumer reaches it: at most the current page plus one unread
   * response exist, and the network overlaps with the consumer.
   */
  async *#parts(output: 'value' | 'text' | 'jsonl' | 'bytes' = 'value'): AsyncGenerator<{ records: T[]; page?: Omit<QueryPage<T>, 'records'> }> {
    if (this.#started) throw new Error('a QueryResult can be iterated once; run the query again for a second pass');
    this.#started = true;
    const controller = new AbortController();
    const signal = this.#opts.signal ? AbortSignal.any([this.#opts.signal, controller.signal]) : controller.signal;
    const base = this.#opts.tooling ? 'tooling/' : '';
    const firstPath = `${base}${this.#opts.includeDeleted ? 'queryAll' : 'query'}`;
    let path = firstPath;
    let pending: Promise<Response> | undefined = this.#open(path, { q: this.soql }, signal);
    try {
      while (pending) {
        let res = await pending;
        pending = undefined;
        let next: string | undefined;
        let decided = false;
        const decide = (reader: PageReader<T>) => {
          decided = true;
          const f = reader.fields;
          if (typeof f.totalSize === 'number') this.#totalSize = f.totalSize;
          next = f.done === false && typeof f.nextRecordsUrl === 'string' ? f.nextRecordsUrl : undefined;
          if (next) {
            pending = this.#open(next, undefined, signal);
            // A rejected prefetch is rethrown when awaited; this only stops it counting as unhandled meanwhile.
            pending.catch(() => undefined);
          }
        };
        // Records of this page already handed out, so a page re-read after a dropped connection resumes
        // where the consumer is instead of failing the whole query or repeating records.
        let handed = 0;
        let rereads = 0;
        let reader: PageReader<T>;
        for (;;) {
          reader = output === 'bytes' ? (new JsonLinesPageScanner({ slab: this.#slab }) as unknown as PageReader<T>) : new TextPageReader<T>(output);
          reader.skip = handed;
          let dropped: unknown;
          const body = res.body;
          if (body) {
            const stream = body.getReader();
            try {
              for (;;) {
                let chunk: ReadableStreamReadResult<Uint8Array>;
                try {
                  chunk = await stream.read();
                } catch (err) {
                  if (signal.aborted) throw this.#opts.signal?.aborted ? this.#opts.signal.reason : err;
                  dropped = err;
                  break;
                }
                if (chunk.done) break;
                try {
                  reader.write(chunk.value);
                } catch (err) {
                  throw new TransportError(ERROR_CODES.badResponse, `query page: ${(err as Error).message}`, { attempts: 1, cause: err });
                }
                if (!decided && reader.recordsStarted) decide(reader);
                const records = reader.take();
                if (records.length) {
                  handed += countOf(output, records);
                  yield { records };
                }
              }
            } finally {
              stream.releaseLock();
            }
          }
          if (dropped === undefined) break;
          // A locator page (`nextRecordsUrl`) returns the same rows when read again. The first page is a new
          // query when re-run, which is only the same result if nothing of it has been used yet.
          const rereadable = path !== firstPath || !decided;
          if (!rereadable || rereads >= MAX_PAGE_REREADS) {
            throw new TransportError(ERROR_CODES.network, `GET ${redactUrl(path)} failed while reading the query page${rereads ? ` (after ${rereads} re-read${rereads > 1 ? 's' : ''})` : ''}: ${errorText(dropped)}; run the query again`, { attempts: rereads + 1, cause: dropped });
          }
          rereads++;
          try {
            res = await this.#open(path, path === firstPath ? { q: this.soql } : undefined, signal);
          } catch (err) {
            // The reference says a locator "should be used once": an org may refuse the re-read
            // (INVALID_QUERY_LOCATOR). Report the drop that started it, with the refusal as context.
            if (signal.aborted) throw err;
            throw new TransportError(ERROR_CODES.network, `GET ${redactUrl(path)} failed while reading the query page: ${errorText(dropped)}; reading the page again failed too (${(err as Error).message}); run the query again`, { attempts: rereads + 1, cause: dropped });
          }
        }
        try {
          reader.end();
        } catch (err) {
          throw new TransportError(ERROR_CODES.badResponse, `GET ${redactUrl(path)}: ${(err as Error).message}`, { attempts: 1, status: res.status, cause: err });
        }
        // Members after `records` (not Salesforce's order, but valid JSON) are only known now.
        if (!decided) decide(reader);
        const f = reader.fields;
        yield { records: reader.take(), page: { totalSize: f.totalSize as number, done: f.done as boolean, ...(next ? { nextRecordsUrl: next } : {}) } };
        if (next) path = next;
      }
    } finally {
      // Consumer stopped early (break/throw): cancel the prefetch instead of letting it run.
      controller.abort();
    }
  }

  /** Collects every record (only for results known to be small). */
  async toArray(): Promise<T[]> {
    const out: T[] = [];
    for await (const r of this) out.push(r);
    return out;
  }

  #open(path: string, query: Record<string, string> | undefined, signal: AbortSignal): Promise<Response> {
    this.pagesFetched++;
    const headers: Record<string, string> = {};
    if (this.#opts.batchSize) headers['sforce-query-options'] = `batchSize=${this.#opts.batchSize}`;
    return this.#client.stream(path, { query, headers, signal, long: true });
  }
}

/**
 * What #parts reads a page body with: the text scanner (records parsed, as text, or as JSON lines) or the
 * byte scanner (JSON-line batches). `skip` leaves out the records already handed out before a re-read.
 */
interface PageReader<R> {
  readonly fields: Record<string, unknown>;
  readonly recordsStarted: boolean;
  skip: number;
  write(chunk: Uint8Array): void;
  /** End of the body: throws unless the page was complete. */
  end(): void;
  take(): R[];
}

/** Records in what a reader took: one each, or the records of each JSON-line batch. */
function countOf(output: string, items: unknown[]): number {
  if (output !== 'bytes') return items.length;
  let n = 0;
  for (const b of items as JsonLinesBatch[]) n += b.records;
  return n;
}

/** The text scanner with its decoder: chunks decoded in stream mode (characters split across chunks joined). */
class TextPageReader<T> implements PageReader<T> {
  skip = 0;
  readonly #scanner: QueryPageScanner<T>;
  readonly #decoder = new TextDecoder();
  constructor(output: 'value' | 'text' | 'jsonl') {
    this.#scanner = new QueryPageScanner<T>({ output });
  }
  get fields(): Record<string, unknown> {
    return this.#scanner.fields;
  }
  get recordsStarted(): boolean {
    return this.#scanner.recordsStarted;
  }
  write(chunk: Uint8Array): void {
    this.#scanner.write(this.#decoder.decode(chunk, { stream: true }));
  }
  end(): void {
    this.#scanner.write(this.#decoder.decode());
    this.#scanner.end();
  }
  take(): T[] {
    const records = this.#scanner.take();
    if (this.skip === 0 || records.length === 0) return records;
    const n = Math.min(this.skip, records.length);
    this.skip -= n;
    return records.slice(n);
  }
}

function errorText(err: unknown): string {
  for (let e = err as { code?: unknown; cause?: unknown; message?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string') return e.code;
  }
  return (err as Error)?.message ?? String(err);
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

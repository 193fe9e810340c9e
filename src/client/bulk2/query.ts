/**
 * Bulk API 2.0 query (reference §5.5–5.6): create a job, wait for it, then stream its result pages.
 *
 * Memory: each page's body is parsed as it arrives (csv-rows.ts: the rows of each network chunk at once) and
 * records are yielded one by one, so neither a page nor the result is ever held whole; the next page is requested only after the consumer has
 * taken every record of the current one (at most one page in flight, no prefetch).
 *
 * Resume: `locator` + `pageOffset` always describe the first record not yet handed to the consumer, so an
 * export that stops (crash, break) continues exactly where it left off with `resume: { jobId, locator, skip }`.
 * Locators are stable for the job's lifetime (7 days), and a page fetched again with the same locator and
 * `maxRecords` holds the same records, which is what makes `skip` exact.
 */
import type { Connection } from '../connection.ts';
import { BULK_ERROR_CODES, BulkError, DELIMITER_CHARS, streamGet, waitForJob, type BulkEvent, type BulkJobInfo } from './common.ts';
import { csvRowBatches } from './csv-rows.ts';

export interface BulkQueryOptions {
  /** Include deleted and archived rows (`queryAll`). */
  queryAll?: boolean;
  /** Records per results page (`maxRecords`); default: Salesforce chooses. Keep it fixed across a resume. */
  maxRecords?: number;
  signal?: AbortSignal;
  /** Continue an earlier export: its job and the locator (and `skip` records into that page) saved from it. */
  resume?: { jobId: string; locator?: string | null; skip?: number };
  /** First poll interval (ms); it backs off from there. */
  pollIntervalMs?: number;
  /** Longest wait (ms) for the job to complete; default no limit. */
  wait?: number;
  /**
   * About how many records the query returns, when the caller knows (a chunk of a counted export): polls are
   * then timed from the job's progress, near its end, instead of backing off.
   */
  expectedRecords?: number;
  onEvent?: (e: BulkEvent) => void;
}

/** A streamed Bulk query. Values are the CSV strings; `''` is null (Salesforce does not tell them apart). */
export class BulkQueryResult implements AsyncIterable<Record<string, string>> {
  readonly soql: string;
  /** Resolves once the job exists (rejects if it could not be created). */
  readonly jobId: Promise<string>;
  /**
   * Locator of the page holding the next record not yet consumed (`null` = the first page, or — when
   * {@link done} — nothing left). Save it with {@link pageOffset} to resume.
   */
  locator: string | null = null;
  /** Records of the {@link locator} page already consumed (pass as `resume.skip`). */
  pageOffset = 0;
  /** Records handed to the consumer by this object. */
  recordsRead = 0;
  /** Pages fetched. */
  pagesFetched = 0;
  /** True once the last page has been consumed. */
  done = false;
  /**
   * When the job was created, by the org's clock (`createdDate` of its job info): known once {@link start}
   * (or the iteration) has created the job, or, for a resumed job, once it has completed.
   */
  createdDate: string | undefined;
  readonly #conn: Connection;
  readonly #opts: BulkQueryOptions;
  #resolveJobId!: (id: string) => void;
  #rejectJobId!: (err: unknown) => void;
  #started = false;
  #creating: Promise<string> | undefined;

  constructor(conn: Connection, soql: string, opts: BulkQueryOptions = {}) {
    if (opts.maxRecords !== undefined && !(Number.isInteger(opts.maxRecords) && opts.maxRecords > 0)) {
      throw new BulkError(BULK_ERROR_CODES.invalidInput, `maxRecords must be a positive integer, got ${opts.maxRecords}`);
    }
    this.#conn = conn;
    this.soql = soql;
    this.#opts = opts;
    this.jobId = new Promise<string>((resolve, reject) => {
      this.#resolveJobId = resolve;
      this.#rejectJobId = reject;
    });
    // Nobody may ever await jobId; its rejection is also thrown by the iteration.
    this.jobId.catch(() => undefined);
    if (opts.resume) {
      this.#resolveJobId(opts.resume.jobId);
      this.locator = normaliseLocator(opts.resume.locator);
      this.pageOffset = opts.resume.skip ?? 0;
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Record<string, string>> {
    if (this.#started) throw new Error('a BulkQueryResult can be iterated once; start a new query (or resume) for another pass');
    this.#started = true;
    const opts = this.#opts;
    const emit = opts.onEvent;
    const jobId = await this.start();
    const info = await waitForJob(this.#conn, 'query', jobId, opts);
    this.createdDate ??= typeof info.createdDate === 'string' ? info.createdDate : undefined;
    if (info.state !== 'JobComplete') {
      const code = info.state === 'Aborted' ? BULK_ERROR_CODES.jobAborted : BULK_ERROR_CODES.jobFailed;
      throw new BulkError(code, `bulk query job ${jobId} ended ${info.state}${info.errorMessage ? `: ${info.errorMessage}` : ''}`, { jobIds: [jobId], state: info.state });
    }
    const delimiter = DELIMITER_CHARS[String(info.columnDelimiter ?? 'COMMA')] ?? ',';
    let skip = this.pageOffset;
    for (;;) {
      const pageLocator = this.locator;
      const res = await streamGet(this.#conn, `jobs/query/${jobId}/results`, { query: { locator: pageLocator ?? undefined, maxRecords: opts.maxRecords }, signal: opts.signal });
      this.pagesFetched++;
      const declared = res.headers.get('sforce-numberofrecords');
      const next = normaliseLocator(res.headers.get('sforce-locator'));
      const body = (res.body ?? []) as unknown as AsyncIterable<Uint8Array>;
      let header: string[] | undefined;
      let n = 0;
      let pending: Record<string, string> | undefined;
      try {
        // One record is held back so the last record of the page can move `locator` on before it is yielded.
        for await (const rows of csvRowBatches(body, delimiter)) {
          for (const cells of rows) {
            if (header === undefined) {
              header = cells;
              continue;
            }
            if (cells.length !== header.length) {
              throw new BulkError(BULK_ERROR_CODES.pageCount, `bulk query job ${jobId}: record ${n + 1} of the results page at locator ${pageLocator ?? '(first)'} has ${cells.length} fields but the header has ${header.length}; the download was truncated or corrupted. Resume with locator ${pageLocator ?? 'null'} to fetch the page again`, { jobIds: [jobId] });
            }
            const rec: Record<string, string> = {};
            for (let i = 0; i < cells.length; i++) rec[header[i]] = cells[i];
            if (pending !== undefined && n > skip) {
              this.pageOffset = n;
              this.recordsRead++;
              yield pending;
            }
            n++;
            pending = rec;
          }
        }
        if (declared !== null && Number(declared) !== n) {
          throw new BulkError(BULK_ERROR_CODES.pageCount, `bulk query job ${jobId}: the results page at locator ${pageLocator ?? '(first)'} held ${n} records but Sforce-NumberOfRecords said ${declared}; the download was truncated or corrupted. Resume with locator ${pageLocator ?? 'null'} to fetch the page again`, { jobIds: [jobId] });
        }
        if (pending !== undefined) {
          this.#advance(next);
          const last = pending;
          pending = undefined;
          if (n > skip) {
            this.recordsRead++;
            yield last;
          }
        } else {
          this.#advance(next);
        }
      } finally {
        // An early stop (break, an error) cancels the rest of the body instead of leaving the connection busy.
        await (res.body as ReadableStream | null)?.cancel().catch(() => undefined);
      }
      emit?.({ type: 'page', jobId, locator: pageLocator, records: n, nextLocator: next });
      skip = 0;
      if (next === null) {
        this.done = true;
        return;
      }
    }
  }

  /**
   * Creates the job now, without waiting for it or reading results, and resolves its Id (a resumed query
   * resolves the resumed job's Id). The org starts working on it at once, so a caller can have the next
   * export running on Salesforce while it reads this one. Iterating later uses the same job; calling again
   * returns the same promise.
   */
  start(): Promise<string> {
    this.#creating ??= this.#create();
    return this.#creating;
  }

  async #create(): Promise<string> {
    const opts = this.#opts;
    if (opts.resume) return opts.resume.jobId;
    try {
      const created = await this.#conn.request<BulkJobInfo>('jobs/query', {
        method: 'POST',
        json: { operation: opts.queryAll ? 'queryAll' : 'query', query: this.soql, contentType: 'CSV', columnDelimiter: 'COMMA', lineEnding: 'LF' },
        signal: opts.signal,
      });
      this.createdDate = typeof created.createdDate === 'string' ? created.createdDate : undefined;
      opts.onEvent?.({ type: 'job-created', kind: 'query', jobId: created.id, object: created.object, operation: created.operation });
      this.#resolveJobId(created.id);
      return created.id;
    } catch (err) {
      this.#rejectJobId(err);
      throw err;
    }
  }

  #advance(next: string | null): void {
    this.locator = next;
    this.pageOffset = 0;
  }

  /** Collects every record (only for results known to be small). */
  async toArray(): Promise<Record<string, string>[]> {
    const out: Record<string, string>[] = [];
    for await (const r of this) out.push(r);
    return out;
  }
}

/** Salesforce ends paging with the literal string `null`. */
function normaliseLocator(loc: string | null | undefined): string | null {
  return loc === undefined || loc === null || loc === '' || loc === 'null' ? null : loc;
}

/** Starts a streaming Bulk 2.0 query over a bare connection. */
export function bulkQuery(conn: Connection, soql: string, opts: BulkQueryOptions = {}): BulkQueryResult {
  return new BulkQueryResult(conn, soql, opts);
}

/**
 * Bulk API 2.0 ingest (reference §5.1–5.3) over an AsyncIterable of records, yielding one result per input
 * record, in input order.
 *
 * Pipeline: records are flattened to CSV cells and spooled to temp files per job until the job reaches its
 * row cap or would exceed the CSV byte cap (one upload per job, as Salesforce advises): each record as a JSON
 * line (for the results' `input`) and as its CSV row, with the row's hash, as it arrives, so the upload streams
 * the header and then the CSV file as it is on disk (a column first seen after a job's first row drops that
 * job's CSV file: its CSV is generated again from the JSON lines under the final header). A sealed job is
 * created, uploaded, closed and polled; up to `concurrency` jobs run at once.
 * When the window is full, the oldest job is awaited and its results are yielded before more input is read,
 * so input reading has backpressure and memory stays bounded whatever the input size. A job's result files are
 * downloaded and joined only once the previous job's results have been yielded, so one job's results are in
 * memory at a time (two at once were the RSS peak of a 200,000-row load).
 *
 * Joining results back to inputs: result CSVs echo the uploaded columns but not the row position, and their
 * order is not guaranteed. So while a job's CSV rows are generated we keep, per job, a 53-bit hash of each row's
 * cells by position (a Float64Array), and match each result row's echoed cells to the first unclaimed position
 * with that hash (identical rows are interchangeable). Why this and not the rows themselves: the join state is
 * ~31 bytes a row in flat typed buffers (hash, sort index, status, 18-byte id) whatever the row width, so a
 * 100,000-row job costs ~3 MB instead of its CSV (up to 100 MB) and gives the GC nothing to trace; the rows stay
 * on disk in the JSON spool file, read back once, sequentially, to hand each result its `input` (so `input` has
 * Dates as ISO strings).
 */
import { closeSync, createReadStream, openSync, writeSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { Connection } from '../connection.ts';
import type { DescribeField, DescribeSObjectResult } from '../describe.ts';
import { didYouMean } from '../suggest.ts';
import { csvRowBatches } from './csv-rows.ts';
import { BULK_ERROR_CODES, BulkError, DELIMITER_CHARS, streamGet, waitForJob, type BulkEvent, type BulkJobInfo, type LearnedFirstPoll } from './common.ts';

/** Raw CSV bytes per job upload: Salesforce accepts 100 MB (150 MB base64); a margin covers our estimate. */
export const DEFAULT_MAX_BYTES_PER_JOB = 100_000_000;
/**
 * Rows per job. Salesforce has no per-job row limit (only 150,000,000 rows per 24 h), so this cap exists for
 * the client: it bounds the per-job join map and the rows a failed job leaves unprocessed.
 */
export const DEFAULT_MAX_ROWS_PER_JOB = 100_000;
/** Jobs uploaded/processing at once. Salesforce runs jobs in parallel; more mainly adds row-lock contention. */
export const DEFAULT_INGEST_CONCURRENCY = 3;
/** Characters of CSV generated per chunk of an upload body. */
const UPLOAD_CHUNK_CHARS = 64 * 1024;
/** Characters of spooled JSON lines collected per write to a job's spool file. */
const SPOOL_WRITE_CHARS = 64 * 1024;
/** Row hashes a fresh spool has room for before its hash array grows. */
const INITIAL_HASH_SLOTS = 1024;

export type BulkOperation = 'insert' | 'update' | 'upsert' | 'delete' | 'hardDelete';
export const BULK_OPERATIONS: readonly BulkOperation[] = Object.freeze(['insert', 'update', 'upsert', 'delete', 'hardDelete']);

export interface BulkIngestOptions {
  /** Required for upsert: the external-ID field (or `Id`). */
  externalIdField?: string;
  signal?: AbortSignal;
  /** Longest wait (ms) for each job to finish; default no limit. On expiry a BulkError lists the job ids. */
  wait?: number;
  maxRowsPerJob?: number;
  maxBytesPerJob?: number;
  concurrency?: number;
  /** Floor of the planned waits between status polls and first back-off interval (ms); see `waitForJob`. Tests only. */
  pollIntervalMs?: number;
  /** Rows/s such jobs ran at before (learned by `client.bulk`): plans each job's first status poll; see `waitForJob`. */
  rowsPerSec?: number;
  /** Where that first poll aims: `'after-end'` (default: fewest calls) or `'before-end'` (least latency); see `waitForJob`. */
  learnedFirstPoll?: LearnedFirstPoll;
  /** Case/Lead assignment rule to run on the rows (the job's `assignmentRuleId`, §5.1). */
  assignmentRuleId?: string;
  /** The header; default: the union of all records' keys. Either way every column is checked against describe. */
  columns?: string[];
  onEvent?: (e: BulkEvent) => void;
  /**
   * Awaited after a job's upload and before its close (`UploadComplete`), the moment after which Salesforce
   * processes its rows: a caller that must survive a crash records the job (and which of its inputs are rows
   * `start … start + rows - 1`) here, so a job it has no record of is known never to have run.
   */
  beforeClose?: (job: { jobId: string; start: number; rows: number }) => Promise<void>;
  /** Where job spool files go; default the OS temp dir. */
  tmpDir?: string;
}

/** The outcome of one input record. */
export interface BulkRecordResult {
  /** Position in the input (0-based). */
  index: number;
  /** The input record (as spooled: JSON round-tripped, so Dates are ISO strings). */
  input: Record<string, unknown>;
  success: boolean;
  id: string | null;
  created: boolean;
  /** `sf__Error` text (`CODE:message:fields --`), or why the row was not processed. */
  error: string | null;
  jobId: string;
  /** The row was never attempted (job aborted or failed). */
  unprocessed?: boolean;
}

/**
 * How describe is reached (the client passes its cached describe). `fresh`: ask the org rather than trust a
 * cached body (used once when a column is not in the cached describe, before refusing it).
 */
export type DescribeFn = (sobject: string, signal?: AbortSignal, opts?: { fresh?: boolean }) => Promise<DescribeSObjectResult>;

/** Status codes of a job's rows in the join arrays. */
const PENDING = 0;
const OK = 1;
const FAILED = 2;
const UNPROCESSED = 3;

interface Spool {
  seq: number;
  /** The records as JSON lines, read back to hand each result its `input` (and to rebuild the CSV, see `csv`). */
  json: BatchedFile;
  /**
   * The job's CSV rows (no header), written as records arrive so the upload is a file copy. Dropped (null) when
   * a column first appears after the job's first row: earlier rows would lack its cell, so the CSV is then
   * generated again from `json` at upload time with the final header.
   */
  csv: BatchedFile | null;
  /** Row hashes by position while `csv` is kept (grows as rows arrive). */
  hashes: Float64Array;
  start: number;
  rows: number;
  valueBytes: number;
  headerBytes: number;
  /** Canonical column names in header order, and each one's position. */
  columns: string[];
  columnSet: Set<string>;
  columnIndex: Map<string, number>;
}

interface JobOutcome {
  spool: Spool;
  jobId: string;
  info: BulkJobInfo;
  status: Uint8Array;
  ids: IdStore;
  errors: Map<number, string>;
  created: Uint8Array;
}

/**
 * Runs `records` through Bulk 2.0 ingest jobs and yields one {@link BulkRecordResult} per record, in input
 * order. Throws {@link BulkError} (`BULK_INVALID_INPUT`) on an unknown column before any job containing it is
 * created; jobs that end `Failed`/`Aborted` do not throw: their unattempted rows come back `unprocessed`.
 */
export async function* bulkIngest(
  conn: Connection,
  describe: DescribeFn,
  object: string,
  operation: BulkOperation,
  records: AsyncIterable<Record<string, unknown>> | Iterable<Record<string, unknown>>,
  opts: BulkIngestOptions = {},
): AsyncGenerator<BulkRecordResult> {
  if (!BULK_OPERATIONS.includes(operation)) throw new BulkError(BULK_ERROR_CODES.invalidInput, `unknown bulk operation "${operation}"; use one of ${BULK_OPERATIONS.join(', ')}`);
  if (operation === 'upsert' && !opts.externalIdField) throw new BulkError(BULK_ERROR_CODES.invalidInput, `upsert needs externalIdField (an external-ID field of ${object}, or Id)`);
  const maxRows = positive(opts.maxRowsPerJob ?? DEFAULT_MAX_ROWS_PER_JOB, 'maxRowsPerJob');
  const maxBytes = positive(opts.maxBytesPerJob ?? DEFAULT_MAX_BYTES_PER_JOB, 'maxBytesPerJob');
  const concurrency = positive(opts.concurrency ?? DEFAULT_INGEST_CONCURRENCY, 'concurrency');
  // Our own controller stops polling when the consumer leaves early (break/throw) without aborting the jobs
  // in Salesforce: they were reported via onEvent and finish on their own. Only the caller's signal aborts them.
  const stop = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, stop.signal]) : stop.signal;
  const jobIds: string[] = [];
  const columns = new ColumnChecker(describe, object, operation, signal);
  await columns.load();
  const fixed = opts.columns ? await Promise.all(opts.columns.map((c) => columns.check(c, -1, jobIds))) : null;
  if (operation === 'upsert' && opts.externalIdField) await columns.check(opts.externalIdField, -1, jobIds);
  const base = opts.tmpDir ?? tmpdir();
  await removeOrphanSpools(base);
  // The pid in the name lets a later run tell a spool whose process died (a kill) from one in use.
  const dir = await mkdtemp(join(base, `${SPOOL_PREFIX}${process.pid}-`));
  const inflight: Promise<JobOutcome>[] = [];
  const ctx: JobContext = { conn, object, operation, opts, jobIds, columns, signal, yielded: new Gate(signal) };
  let seq = 0;
  let spool: Spool | null = null;
  let index = 0;
  try {
    for await (const record of records as AsyncIterable<Record<string, unknown>>) {
      signal?.throwIfAborted();
      const cells = await columns.cellsOf(record, index, jobIds);
      if (fixed) for (const [col] of cells) if (!fixed.includes(col)) throw new BulkError(BULK_ERROR_CODES.invalidInput, `record ${index} has field ${col}, which is not in the given columns (${fixed.join(', ')})`, { jobIds });
      let rowBytes = 0;
      for (const [, v] of cells) rowBytes += cellBytes(v);
      if (spool && spool.rows > 0 && (spool.rows >= maxRows || estimate(spool, cells, rowBytes) > maxBytes)) {
        // Oldest job first: awaiting it here is what gives input reading its backpressure.
        while (inflight.length >= concurrency) yield* yieldResults(ctx, await inflight.shift()!);
        inflight.push(startJob(ctx, seal(spool)));
        inflight[inflight.length - 1].catch(() => undefined);
        spool = null;
      }
      spool ??= newSpool(dir, seq++, index, fixed);
      const width = spool.columns.length;
      for (const [col] of cells) addColumn(spool, col);
      if (spool.csv && spool.rows > 0 && spool.columns.length > width) {
        spool.csv.destroy();
        spool.csv = null;
      }
      if (spool.csv) spoolCsvRow(spool, cells);
      spool.rows++;
      spool.valueBytes += rowBytes;
      spool.json.line(JSON.stringify(record));
      index++;
    }
    if (spool && spool.rows > 0) {
      inflight.push(startJob(ctx, seal(spool)));
      inflight[inflight.length - 1].catch(() => undefined);
    } else if (spool) {
      seal(spool);
    }
    spool = null;
    while (inflight.length > 0) yield* yieldResults(ctx, await inflight.shift()!);
  } catch (err) {
    // Whatever failed, the caller must learn which jobs exist so they can be inspected, aborted or resumed.
    // (A caller's own abort stays an AbortError: it asked for it, and got the job ids from onEvent.)
    if (err instanceof BulkError || jobIds.length === 0 || opts.signal?.aborted) throw err;
    throw new BulkError(BULK_ERROR_CODES.jobFailed, `bulk ${operation} of ${object} failed (jobs created: ${jobIds.join(', ')}): ${(err as Error).message}`, { jobIds: [...jobIds], cause: err });
  } finally {
    if (spool) {
      spool.json.destroy();
      spool.csv?.destroy();
    }
    stop.abort();
    await Promise.allSettled(inflight);
    await rm(dir, { recursive: true, force: true });
  }
}

/** Spool directories are `sfbridge-bulk-<pid>-<random>` in the temp directory. */
const SPOOL_PREFIX = 'sfbridge-bulk-';

/**
 * Removes spool directories of processes that no longer run (a killed load leaves its rows' copy behind; a
 * resume never needs it, since it spools its input again). Best effort: a directory that cannot be read or
 * removed is left alone.
 */
export async function removeOrphanSpools(base: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(base);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    const m = new RegExp(`^${SPOOL_PREFIX}(\\d+)-`).exec(name);
    if (!m || Number(m[1]) === process.pid || alive(Number(m[1]))) continue;
    await rm(join(base, name), { recursive: true, force: true }).then(() => removed++, () => undefined);
  }
  return removed;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, under another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface JobContext {
  conn: Connection;
  object: string;
  operation: BulkOperation;
  opts: BulkIngestOptions;
  jobIds: string[];
  columns: ColumnChecker;
  /** The caller's signal combined with the generator's own stop signal. */
  signal: AbortSignal;
  /** Opens for job `seq` once every earlier job's results have been yielded (see {@link yieldResults}). */
  yielded: Gate;
}

/** Yields a job's results, then lets the next job's result download start. */
async function* yieldResults(ctx: JobContext, outcome: JobOutcome): AsyncGenerator<BulkRecordResult> {
  yield* results(outcome);
  ctx.yielded.open(outcome.spool.seq + 1);
}

/** A monotonic counter to wait on: `wait(n)` resolves once `open(m)` was called with m ≥ n (rejects on abort). */
class Gate {
  #level = 0;
  #waiters: { n: number; resolve: () => void; reject: (e: unknown) => void }[] = [];
  readonly #signal: AbortSignal;
  constructor(signal: AbortSignal) {
    this.#signal = signal;
    signal.addEventListener('abort', () => {
      for (const w of this.#waiters.splice(0)) w.reject(signal.reason);
    }, { once: true });
  }
  open(n: number): void {
    this.#level = Math.max(this.#level, n);
    const ready = this.#waiters.filter((w) => w.n <= this.#level);
    this.#waiters = this.#waiters.filter((w) => w.n > this.#level);
    for (const w of ready) w.resolve();
  }
  wait(n: number): Promise<void> {
    if (n <= this.#level) return Promise.resolve();
    this.#signal.throwIfAborted();
    return new Promise((resolve, reject) => this.#waiters.push({ n, resolve, reject }));
  }
}

function positive(n: number, name: string): number {
  if (!Number.isInteger(n) || n < 1) throw new BulkError(BULK_ERROR_CODES.invalidInput, `${name} must be a positive integer, got ${n}`);
  return n;
}

function newSpool(dir: string, seq: number, start: number, fixed: string[] | null): Spool {
  const spool: Spool = {
    seq,
    json: new BatchedFile(join(dir, `job-${seq}.jsonl`)),
    csv: new BatchedFile(join(dir, `job-${seq}.csv`)),
    hashes: new Float64Array(INITIAL_HASH_SLOTS),
    start,
    rows: 0,
    valueBytes: 0,
    headerBytes: 0,
    columns: [],
    columnSet: new Set(),
    columnIndex: new Map(),
  };
  for (const c of fixed ?? []) addColumn(spool, c);
  return spool;
}

function addColumn(spool: Spool, col: string): void {
  if (spool.columnSet.has(col)) return;
  spool.columnSet.add(col);
  spool.columnIndex.set(col, spool.columns.length);
  spool.columns.push(col);
  spool.headerBytes += Buffer.byteLength(col) + 1;
}

/** CSV size of the job if `cells` were added: header + values + one delimiter/newline per cell slot. */
function estimate(spool: Spool, cells: [string, string][], rowBytes: number): number {
  let header = spool.headerBytes;
  let cols = spool.columns.length;
  for (const [col] of cells) {
    if (!spool.columnSet.has(col)) {
      header += Buffer.byteLength(col) + 1;
      cols++;
    }
  }
  return header + spool.valueBytes + rowBytes + (spool.rows + 1) * cols;
}

/** Writes the row's CSV line to the spool's CSV file and records its hash at its position. */
function spoolCsvRow(spool: Spool, cells: [string, string][]): void {
  const row = rowOf(spool, cells);
  if (spool.rows === spool.hashes.length) {
    const grown = new Float64Array(spool.hashes.length * 2);
    grown.set(spool.hashes);
    spool.hashes = grown;
  }
  spool.hashes[spool.rows] = rowHash(row);
  spool.csv!.line(csvRow(row));
}

/** The record's cells in the spool's column order (`''` for a column the record lacks). */
function rowOf(spool: Spool, cells: [string, string][]): string[] {
  const row = new Array<string>(spool.columns.length).fill('');
  for (const [col, v] of cells) row[spool.columnIndex.get(col)!] = v;
  return row;
}

/**
 * A temp file written ~64 KB at a time: lines are collected and joined per write. A write per record cost a
 * Buffer and a write request per row (200,000 of each for a 200,000-row load) for the GC and the allocator.
 * The writes are synchronous: a 64 KB write to a local temp file is tens of microseconds, and a synchronous
 * write encodes the string into a native buffer freed at once, where a stream write makes an ArrayBuffer that
 * the 1 MB young generation the CLI runs with promotes (it is in flight across scavenges) and only a full GC
 * frees: tens of MB of dead buffers at the peak of a 200,000-row load.
 */
class BatchedFile {
  readonly path: string;
  #fd: number | null;
  #pending: string[] = [];
  #chars = 0;

  constructor(path: string) {
    this.path = path;
    this.#fd = openSync(path, 'w');
  }

  line(text: string): void {
    this.#pending.push(text, '\n');
    this.#chars += text.length + 1;
    if (this.#chars >= SPOOL_WRITE_CHARS) this.#flush();
  }

  #flush(): void {
    if (this.#pending.length === 0 || this.#fd === null) return;
    const chunk = this.#pending.join('');
    this.#pending = [];
    this.#chars = 0;
    writeSync(this.#fd, chunk);
  }

  close(): void {
    this.#flush();
    if (this.#fd !== null) closeSync(this.#fd);
    this.#fd = null;
  }

  /** Abandons the file (it is removed with the spool dir). */
  destroy(): void {
    this.#pending = [];
    if (this.#fd !== null) closeSync(this.#fd);
    this.#fd = null;
  }
}

function seal(spool: Spool): Spool {
  spool.json.close();
  spool.csv?.close();
  return spool;
}

function cellBytes(v: string): number {
  return Buffer.byteLength(csvCell(v));
}

function csvCell(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

function csvRow(row: readonly string[]): string {
  let line = '';
  for (let i = 0; i < row.length; i++) line += (i > 0 ? ',' : '') + csvCell(row[i]);
  return line;
}

/**
 * A 53-bit hash of a row's cells (exact in a double), computed in JS: two 32-bit multiply-xorshift lanes over
 * each cell's length and UTF-16 units (the lengths keep `["a,b"]` and `["a","b"]` apart). It replaced a SHA-1
 * per row, whose native hash object per row (twice per row: upload and results) was a third of the join's CPU
 * and a stream of malloc'd garbage. Rows are told apart by it: two different rows of one job colliding has odds
 * of about rows² / 2⁵⁴ (≈ 1 in 10⁶ for a 100,000-row job), and then only swaps those two rows' outcomes.
 */
export function rowHash(cells: readonly string[]): number {
  let h1 = 0xdeadbeef ^ cells.length;
  let h2 = 0x41c6ce57 ^ cells.length;
  for (let c = 0; c < cells.length; c++) {
    const v = cells[c];
    h1 = Math.imul(h1 ^ v.length, 2654435761);
    h2 = Math.imul(h2 ^ v.length, 1597334677);
    for (let i = 0; i < v.length; i++) {
      const ch = v.charCodeAt(i);
      h1 = Math.imul(h1 ^ ch, 2654435761);
      h2 = Math.imul(h2 ^ ch, 1597334677);
    }
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** Creates, uploads, closes and waits for one job, then reads its result files into the join arrays. */
async function startJob(ctx: JobContext, spool: Spool): Promise<JobOutcome> {
  const { conn, opts, operation, signal } = ctx;
  opts.onEvent?.({ type: 'job-creating', kind: 'ingest', object: ctx.object, operation, start: spool.start, rows: spool.rows });
  const created = await conn.request<BulkJobInfo>('jobs/ingest', {
    method: 'POST',
    json: { object: ctx.object, operation, ...(operation === 'upsert' ? { externalIdFieldName: ctx.columns.canonical(opts.externalIdField!) } : {}), ...(opts.assignmentRuleId ? { assignmentRuleId: opts.assignmentRuleId } : {}), contentType: 'CSV', columnDelimiter: 'COMMA', lineEnding: 'LF' },
    signal,
  });
  const jobId = created.id;
  ctx.jobIds.push(jobId);
  opts.onEvent?.({ type: 'job-created', kind: 'ingest', jobId, object: created.object, operation, start: spool.start, rows: spool.rows });
  let hashes = spool.csv ? spool.hashes.subarray(0, spool.rows) : new Float64Array(spool.rows);
  let bytes = 0;
  try {
    await conn.request(`jobs/ingest/${jobId}/batches`, {
      method: 'PUT',
      headers: { 'content-type': 'text/csv' },
      // A factory: a retried PUT reads the spool again (and, for a regenerated CSV, rebuilds the join map).
      body: () => {
        bytes = 0;
        const count = (n: number) => (bytes += n);
        let chunks: AsyncGenerator<Uint8Array>;
        if (spool.csv) chunks = csvFileChunks(spool, spool.csv.path, count);
        else {
          hashes = new Float64Array(spool.rows);
          chunks = csvChunks(ctx.columns, spool, hashes, count);
        }
        // Small buffers on both sides of the bridge: the body is produced at the pace the socket drains.
        const source = Readable.from(chunks, { highWaterMark: 1 });
        return Readable.toWeb(source, { strategy: { highWaterMark: 1 } }) as unknown as ReadableStream<Uint8Array>;
      },
      signal,
      long: true,
    });
    opts.onEvent?.({ type: 'job-uploaded', jobId, rows: spool.rows, bytes });
    await opts.beforeClose?.({ jobId, start: spool.start, rows: spool.rows });
    await conn.request(`jobs/ingest/${jobId}`, { method: 'PATCH', json: { state: 'UploadComplete' }, signal });
    const info = await waitForJob(conn, 'ingest', jobId, { ...opts, signal, expectedRecords: spool.rows });
    // One job's results at a time in memory: the download and join of this job's results wait until the
    // previous job's have been yielded (they were the RSS peak of a load, joined while the other was yielded).
    await ctx.yielded.wait(spool.seq);
    return await readResults(ctx, spool, jobId, info, hashes);
  } catch (err) {
    if (opts.signal?.aborted) {
      // Our caller gave up: stop the job server-side too (best effort; it may already be final).
      await conn.request(`jobs/ingest/${jobId}`, { method: 'PATCH', json: { state: 'Aborted' } }).catch(() => undefined);
    }
    throw err;
  }
}

/** The job's CSV: the header, then the spooled CSV rows as they are on disk. */
async function* csvFileChunks(spool: Spool, path: string, count: (n: number) => void): AsyncGenerator<Uint8Array> {
  const header = Buffer.from(csvRow(spool.columns) + '\n');
  count(header.length);
  yield header;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    count(chunk.length);
    yield chunk;
  }
}

/** The job's CSV, generated from its JSON spool in ~64 KB chunks; fills `hashes[position]` with each row's hash. */
async function* csvChunks(columns: ColumnChecker, spool: Spool, hashes: Float64Array, count: (n: number) => void): AsyncGenerator<Uint8Array> {
  // Lines are collected and joined once per chunk: `+=` on one string would keep thousands of rope nodes alive
  // until the chunk is sent, which V8 answers by growing the young generation (and the process's RSS).
  let lines: string[] = [csvRow(spool.columns) + '\n'];
  let chars = lines[0].length;
  let pos = 0;
  const flush = () => {
    const chunk = Buffer.from(lines.join(''));
    lines = [];
    chars = 0;
    count(chunk.length);
    return chunk;
  };
  for await (const batch of lineBatches(spool.json.path)) {
    for (const line of batch) {
      const cells = columns.cellsSync(JSON.parse(line) as Record<string, unknown>);
      const row = rowOf(spool, cells);
      hashes[pos++] = rowHash(row);
      const text = csvRow(row) + '\n';
      lines.push(text);
      chars += text.length;
      if (chars >= UPLOAD_CHUNK_CHARS) yield flush();
    }
  }
  if (lines.length > 0) yield flush();
}

/** Downloads the job's result files (streamed) and records each row's outcome by its position. */
async function readResults(ctx: JobContext, spool: Spool, jobId: string, info: BulkJobInfo, hashes: Float64Array): Promise<JobOutcome> {
  const status = new Uint8Array(spool.rows);
  const ids = new IdStore(spool.rows);
  const errors = new Map<number, string>();
  const unmatched: { kind: number; id: string | null; extra: string }[] = [];
  const delimiter = DELIMITER_CHARS[String(info.columnDelimiter ?? 'COMMA')] ?? ',';
  const created = new Uint8Array(spool.rows);
  // Positions sorted by hash: a binary search finds a result row's position. Typed arrays rather than a Map so
  // the per-job join state is a few flat buffers (12 bytes a row) that the GC never has to trace.
  const order = new Uint32Array(spool.rows);
  for (let i = 0; i < order.length; i++) order[i] = i;
  order.sort((a, b) => hashes[a] - hashes[b]);
  const find = (h: number): number | undefined => {
    let lo = 0;
    let hi = order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (hashes[order[mid]] < h) lo = mid + 1;
      else hi = mid;
    }
    // Identical rows share a hash: take the first one not yet given an outcome.
    for (let k = lo; k < order.length && hashes[order[k]] === h; k++) if (status[order[k]] === PENDING) return order[k];
    return undefined;
  };
  /** Result file column → position in our header (-1: a column we did not send). */
  let mapping: number[] = [];
  const place = (kind: number, cells: string[], lead: number) => {
    const row = new Array<string>(spool.columns.length).fill('');
    for (let i = lead; i < mapping.length; i++) if (mapping[i] >= 0) row[mapping[i]] = cells[i] ?? '';
    const id = lead > 0 ? cells[0] || null : null;
    const extra = lead > 1 ? (cells[1] ?? '') : '';
    const pos = find(rowHash(row));
    if (pos === undefined) unmatched.push({ kind, id, extra });
    else set(pos, kind, id, extra);
  };
  const set = (pos: number, kind: number, id: string | null, extra: string) => {
    status[pos] = kind;
    ids.set(pos, id);
    if (kind === FAILED) errors.set(pos, extra);
    else if (kind === OK && extra === 'true') created[pos] = 1;
  };
  const processed = Number(info.numberRecordsProcessed ?? 0);
  const failed = Number(info.numberRecordsFailed ?? 0);
  const counts = { successful: 0, failed: 0, unprocessed: 0 };
  const files: [string, number, number, keyof typeof counts][] = [];
  if (processed - failed > 0) files.push(['successfulResults', OK, 2, 'successful']);
  if (failed > 0) files.push(['failedResults', FAILED, 2, 'failed']);
  // A job that finished every row has no unprocessed file worth a call.
  if (info.state !== 'JobComplete' || processed < spool.rows) files.push(['unprocessedrecords', UNPROCESSED, 0, 'unprocessed']);
  for (const [file, kind, lead, counter] of files) {
    const res = await streamGet(ctx.conn, `jobs/ingest/${jobId}/${file}`, { signal: ctx.signal });
    let header: string[] | null = null;
    for await (const batch of csvRowBatches((res.body ?? []) as unknown as AsyncIterable<Uint8Array>, delimiter)) {
      for (const cells of batch) {
        if (header === null) {
          header = cells;
          const index = new Map(spool.columns.map((c, i) => [c.toLowerCase(), i]));
          mapping = cells.map((h, i) => (i < lead ? -1 : (index.get(ctx.columns.canonical(h).toLowerCase()) ?? -1)));
          continue;
        }
        place(kind, cells, lead);
        counts[counter]++;
      }
    }
  }
  // Rows whose echo did not hash back (a server re-serialising values): take the free positions in order.
  if (unmatched.length > 0) {
    let u = 0;
    for (let pos = 0; pos < spool.rows && u < unmatched.length; pos++) {
      if (status[pos] === PENDING) {
        const m = unmatched[u++];
        set(pos, m.kind, m.id, m.extra);
      }
    }
  }
  ctx.opts.onEvent?.({ type: 'results', jobId, ...counts });
  return { spool, jobId, info, status, ids, errors, created };
}

/** Record ids of a job's rows, 18 bytes a row in one buffer (other shapes, rare, in a Map). */
class IdStore {
  readonly #bytes: Buffer;
  readonly #other = new Map<number, string>();

  constructor(rows: number) {
    this.#bytes = Buffer.alloc(rows * 18);
  }

  set(pos: number, id: string | null): void {
    if (id && id.length === 18 && /^[A-Za-z0-9]{18}$/.test(id)) this.#bytes.write(id, pos * 18, 18, 'latin1');
    else if (id) this.#other.set(pos, id);
  }

  get(pos: number): string | null {
    if (this.#bytes[pos * 18] !== 0) return this.#bytes.toString('latin1', pos * 18, pos * 18 + 18);
    return this.#other.get(pos) ?? null;
  }
}

/**
 * The lines of a spool file (JSON lines: JSON escapes line breaks, so `\n` only ends a line), in batches of
 * one read chunk: a third of readline's time for a 100,000-line spool.
 */
async function* lineBatches(path: string): AsyncGenerator<string[]> {
  let rest = '';
  for await (const chunk of createReadStream(path, { encoding: 'utf8' }) as AsyncIterable<string>) {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop()!;
    if (lines.length > 0) yield lines;
  }
  if (rest.length > 0) yield [rest];
}

/** Reads the job's spool back and yields each row's result. */
async function* results(outcome: JobOutcome): AsyncGenerator<BulkRecordResult> {
  const { spool, jobId, info, status, ids, errors, created } = outcome;
  const why = `not processed: job ${jobId} ended ${info.state}${info.errorMessage ? ` (${info.errorMessage})` : ''}`;
  let pos = 0;
  for await (const batch of lineBatches(spool.json.path)) {
    for (const line of batch) {
      const input = JSON.parse(line) as Record<string, unknown>;
      const s = status[pos];
      const index = spool.start + pos;
      if (s === OK) yield { index, input, jobId, success: true, id: ids.get(pos), created: created[pos] === 1, error: null };
      else if (s === FAILED) yield { index, input, jobId, success: false, id: ids.get(pos), created: false, error: errors.get(pos) ?? '' };
      else yield { index, input, jobId, success: false, id: null, created: false, error: why, unprocessed: true };
      pos++;
    }
  }
}

/**
 * Maps record keys to the object's fields via describe: canonical casing, relationship columns
 * (`Account.External_Id__c`, `Contact:Who.Email`), and an early error naming unknown fields.
 */
class ColumnChecker {
  readonly #describe: DescribeFn;
  readonly #object: string;
  readonly #operation: BulkOperation;
  readonly #signal: AbortSignal | undefined;
  #fields = new Map<string, DescribeField>();
  #relationships = new Map<string, DescribeField>();
  /** Lower-case column → canonical column (validated). */
  readonly #known = new Map<string, string>();
  /** The describe was re-read from the org after a miss (done at most once per load). */
  #refreshed = false;

  constructor(describe: DescribeFn, object: string, operation: BulkOperation, signal?: AbortSignal) {
    this.#describe = describe;
    this.#object = object;
    this.#operation = operation;
    this.#signal = signal;
  }

  async load(fresh = false): Promise<void> {
    const d = await this.#describe(this.#object, this.#signal, { fresh });
    this.#fields = new Map();
    this.#relationships = new Map();
    for (const f of d.fields) {
      this.#fields.set(f.name.toLowerCase(), f);
      if (f.relationshipName) this.#relationships.set(f.relationshipName.toLowerCase(), f);
    }
  }

  canonical(col: string): string {
    return this.#known.get(col.toLowerCase()) ?? col;
  }

  /** Validates one column; returns its canonical name or throws naming it. */
  async check(col: string, index: number, jobIds: string[]): Promise<string> {
    const lower = col.toLowerCase();
    const hit = this.#known.get(lower);
    if (hit) return hit;
    let canon = await this.#resolve(col);
    if (canon === null && !this.#refreshed) {
      // A cached describe may predate a field added since: ask the org once before refusing the column.
      this.#refreshed = true;
      await this.load(true);
      canon = await this.#resolve(col);
    }
    if (canon === null) {
      // Records are counted from 1, as people count lines (record 1 is the first data row of a CSV).
      const where = index >= 0 ? ` (first seen in record ${index + 1})` : '';
      const jobs = jobIds.length ? `; jobs already created: ${jobIds.join(', ')}` : '';
      const hint = didYouMean(col, [...this.#fields.values()].map((f) => f.name));
      throw new BulkError(BULK_ERROR_CODES.invalidInput, `${this.#object} has no field ${col}${hint}${where}: check the spelling against \`describe ${this.#object}\`, or use Relationship.ExternalIdField for a parent reference${jobs}`, { jobIds: [...jobIds] });
    }
    this.#known.set(lower, canon);
    return canon;
  }

  async #resolve(col: string): Promise<string | null> {
    const f = this.#fields.get(col.toLowerCase());
    if (f && !f.deprecatedAndHidden) return f.name;
    const dot = col.indexOf('.');
    if (dot <= 0) return null;
    let rel = col.slice(0, dot);
    let type: string | undefined;
    const colon = rel.indexOf(':');
    if (colon > 0) {
      type = rel.slice(0, colon);
      rel = rel.slice(colon + 1);
    }
    const lookup = this.#relationships.get(rel.toLowerCase());
    if (!lookup) return null;
    const targets = lookup.referenceTo ?? [];
    const target = type ? targets.find((t) => t.toLowerCase() === type.toLowerCase()) : targets[0];
    if (!target) return null;
    const parent = await this.#describe(target, this.#signal, { fresh: this.#refreshed });
    const pf = parent.fields.find((p) => p.name.toLowerCase() === col.slice(dot + 1).toLowerCase());
    if (!pf || !(pf.externalId || pf.idLookup)) return null;
    return `${type ? `${target}:` : ''}${lookup.relationshipName}.${pf.name}`;
  }

  /** Flattens a record to [canonical column, CSV value] pairs, validating columns not seen before. */
  async cellsOf(record: Record<string, unknown>, index: number, jobIds: string[]): Promise<[string, string][]> {
    const raw = this.#flatten(record);
    for (const cell of raw) cell[0] = this.#known.get(cell[0].toLowerCase()) ?? (await this.check(cell[0], index, jobIds));
    return raw;
  }

  /** Same as {@link cellsOf} for records already validated (reading a spool back). */
  cellsSync(record: Record<string, unknown>): [string, string][] {
    const raw = this.#flatten(record);
    for (const cell of raw) cell[0] = this.#known.get(cell[0].toLowerCase()) ?? cell[0];
    return raw;
  }

  #flatten(record: Record<string, unknown>): [string, string][] {
    const out: [string, string][] = [];
    flatten(record, '', out);
    // delete/hardDelete take the Id column only (other columns make Salesforce fail the job).
    if (this.#operation === 'delete' || this.#operation === 'hardDelete') return out.filter(([c]) => c.toLowerCase() === 'id');
    return out;
  }
}

/**
 * A record's CSV cells as an ingest job uploads them (before column names are canonicalised): what a job's
 * result files echo back, so a caller can join result rows to records after the fact.
 */
export function ingestCells(record: Record<string, unknown>): [string, string][] {
  const out: [string, string][] = [];
  flatten(record, '', out);
  return out;
}

/** Record → CSV cells: null → `#N/A` (sets null), Date → ISO, arrays → `;`-joined, `{Account:{Ext__c:'X'}}` → `Account.Ext__c`. */
function flatten(record: Record<string, unknown>, prefix: string, out: [string, string][]): void {
  // for…in rather than Object.entries: no [key, value] array per field (a 200,000-row load allocates ~10 KB a
  // row, and with the CLI's small young generation every byte saved is scavenge time saved).
  for (const k in record) {
    if (!Object.hasOwn(record, k)) continue;
    const v = record[k];
    if (k === 'attributes' || v === undefined) continue;
    const col = prefix === '' ? k : prefix + k;
    if (v === null) out.push([col, '#N/A']);
    else if (v instanceof Date) out.push([col, v.toISOString()]);
    else if (Array.isArray(v)) out.push([col, v.join(';')]);
    else if (typeof v === 'object') flatten(v as Record<string, unknown>, `${col}.`, out);
    else out.push([col, String(v)]);
  }
}

/** Job info of an ingest job. */
export function ingestJobInfo(conn: Connection, jobId: string, signal?: AbortSignal): Promise<BulkJobInfo> {
  return conn.request<BulkJobInfo>(`jobs/ingest/${jobId}`, { signal });
}

/** Streams one raw result file of an ingest job (`successfulResults`, `failedResults`, `unprocessedrecords`). */
export function ingestResultFile(conn: Connection, jobId: string, file: 'successfulResults' | 'failedResults' | 'unprocessedrecords', signal?: AbortSignal): Promise<Response> {
  return streamGet(conn, `jobs/ingest/${jobId}/${file}`, { signal });
}

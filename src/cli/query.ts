/**
 * `sfbridge query "SOQL"`: streams query results as JSON lines, CSV or a table. Records are written as
 * pages arrive (with the client's one-page prefetch), so memory stays flat for any result size. JSON lines
 * and CSV are written from each record's text as the page holds it (`attributes` cut out), without building
 * the record as an object, wherever that gives exactly what parsing it would (json-stream.ts).
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { Writable, type Readable } from 'node:stream';
import { CONNECTION_FLAG_OPTIONS, CONNECTION_USAGE } from '../client/config.ts';
import { SalesforceClient, SalesforceError, type FetchLike } from '../client/index.ts';
import { attributesCut, parseRecord, withoutAttributes } from '../client/json-stream.ts';
import { didYouMean } from '../client/suggest.ts';
import { EXIT, UsageError, failureText, parseDuration, parseFlags, plural, thousands } from './args.ts';
import { clientFromFlags } from './connect.ts';
import { leanHeapForLargeResult } from './heap.ts';
import { createProgress } from './progress.ts';
import { reportError, writeJson } from './report.ts';

const USAGE = `Usage: sfbridge query "SOQL" | --file FILE.soql | - [options]

  SOQL               the query in quotes; --file FILE reads it from a file, - (or --file -) from stdin
  --all              include deleted and archived rows (queryAll)
  --bulk             run as a Bulk API 2.0 query job (large exports: few API calls, constant memory);
                     values come back as CSV strings with dotted parent columns; formats csv or jsonl
  --wait D           with --bulk: stop waiting for the job after D (30s, 10m); default no limit;
                     Ctrl-C aborts the job and writes no output file
  --max-records N    with --bulk: records per results page
  --format F         jsonl, csv or table; default: from --output's extension (.csv, .jsonl/.ndjson,
                     .txt = table), else table on a terminal and jsonl otherwise
  --output FILE      write to FILE (created only once the org has answered; "wrote N records to FILE"
                     goes to stderr)
  --json             one JSON document on stdout: {"ok":true,"totalSize":N,"records":[…]} (with --output:
                     the records go to the file and stdout gets {"ok":true,"file":…,"records":N})
  --batch-size N     page size hint, 200..2000

SELECT COUNT() FROM … prints the count (as sf data query does).

${CONNECTION_USAGE}
`;

/** Rows buffered to size table columns before the table starts streaming. */
const TABLE_SAMPLE_ROWS = 50;
/** Widest table column; longer values are cut with an ellipsis. */
const TABLE_MAX_WIDTH = 40;

/** Injection points for tests. */
export interface QueryCommandIO {
  stdout?: Writable & { isTTY?: boolean };
  stderr?: Writable;
  stdin?: Readable;
  env?: NodeJS.ProcessEnv;
  fetch?: FetchLike;
}

type Format = 'jsonl' | 'csv' | 'table';

/** The output format an `--output` file name implies, if any. */
export function formatOfFile(path: string): Format | undefined {
  const ext = extname(path).toLowerCase();
  return ext === '.csv' ? 'csv' : ext === '.jsonl' || ext === '.ndjson' || ext === '.json' ? 'jsonl' : ext === '.txt' ? 'table' : undefined;
}

/**
 * An output file written under a temporary name and renamed into place on success, so a failed query never
 * leaves a partial (or empty) file behind; nothing is created before the first write.
 */
class OutputFile {
  readonly path: string;
  readonly #tmp: string;
  #stream: SyncFileWriter | undefined;
  constructor(path: string) {
    this.path = path;
    this.#tmp = join(dirname(path), `.${basename(path)}.${process.pid}.partial`);
  }
  get stream(): Writable {
    this.#stream ??= new SyncFileWriter(this.#tmp);
    return this.#stream;
  }
  async commit(): Promise<void> {
    const s = this.stream;
    await new Promise<void>((resolve, reject) => s.end((err?: Error | null) => (err ? reject(err) : resolve())));
    await rename(this.#tmp, this.path);
  }
  async discard(): Promise<void> {
    if (!this.#stream) return;
    this.#stream.destroy();
    await rm(this.#tmp, { force: true });
  }
}

/**
 * A file written with synchronous writes. A write of an export's lines takes well under a millisecond, and
 * the thread-pool round trip of an asynchronous write (fs.WriteStream) cost more CPU than the write itself:
 * ~0.1 s per 100 MB written in 64 kB pieces (docs/BENCHMARKS.md, "Client vs jsforce"). The event loop only
 * waits on the disk, which is where the output is going anyway.
 */
class SyncFileWriter extends Writable {
  #fd: number | undefined;
  readonly #path: string;
  constructor(path: string) {
    super({ highWaterMark: 1 << 20 });
    this.#path = path;
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    try {
      this.#fd ??= openSync(this.#path, 'w');
      for (let at = 0; at < chunk.length; ) at += writeSync(this.#fd, chunk, at, chunk.length - at);
      done();
    } catch (err) {
      done(err as Error);
    }
  }
  override _final(done: (err?: Error | null) => void): void {
    try {
      this.#fd ??= openSync(this.#path, 'w');
      closeSync(this.#fd);
      this.#fd = undefined;
      done();
    } catch (err) {
      done(err as Error);
    }
  }
  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
    done(err);
  }
}

/** A writable that opens its target on first write. */
function lazyWriter(get: () => Writable): (chunk: string | Uint8Array) => Promise<void> {
  let w: ((chunk: string | Uint8Array) => Promise<void>) | undefined;
  return (chunk) => (w ??= writer(get()))(chunk);
}

/** Reads the SOQL from the positional, `--file FILE` or stdin (`-`). */
async function readSoql(positionals: string[], file: string | undefined, stdin: Readable): Promise<string> {
  if (file !== undefined && positionals.length) throw new UsageError(`give the query either in quotes or with --file, not both\n\n${USAGE}`);
  const source = file ?? (positionals.length === 1 && positionals[0] === '-' ? '-' : undefined);
  if (source !== undefined) {
    let text: string;
    try {
      if (source === '-') {
        let buf = '';
        for await (const chunk of stdin) buf += chunk;
        text = buf;
      } else text = await readFile(source, 'utf8');
    } catch (err) {
      throw new UsageError(`--file ${source}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
    }
    // SOQL files often end with a newline or a semicolon from an editor or another tool.
    const soql = text.trim().replace(/;\s*$/, '');
    if (!soql) throw new UsageError(`${source === '-' ? 'stdin' : source} holds no query`);
    return soql;
  }
  if (positionals.length !== 1 || !positionals[0].trim()) throw new UsageError(`expected exactly one SOQL query in quotes (or --file FILE, or - for stdin)\n\n${USAGE}`);
  return positionals[0];
}

/**
 * Salesforce's "no such object / no such column" with the closest real name: the query is refused before
 * anything is written (exit 2), with Salesforce's own code and text kept.
 */
/** The first step of a query's records: its failure (no such field, no such object) explained before any output exists. */
async function firstPage<T>(client: SalesforceClient, it: AsyncIterator<T>, result: { totalSize: number | undefined }, env: NodeJS.ProcessEnv): Promise<IteratorResult<T>> {
  let first: IteratorResult<T>;
  try {
    first = await it.next();
  } catch (err) {
    throw await explainQueryError(client, err);
  }
  // A result that spans pages is an export: stream it with the lean heap (heap.ts).
  leanHeapForLargeResult(result.totalSize, env);
  return first;
}

async function explainQueryError(client: SalesforceClient, err: unknown): Promise<unknown> {
  if (!(err instanceof SalesforceError)) return err;
  const text = failureText(err);
  try {
    if (err.errorCode === 'INVALID_TYPE') {
      const m = /sObject type '([^']+)' is not supported/.exec(text);
      if (m) {
        const names = (await client.describeGlobal()).sobjects.map((o) => o.name);
        const hint = didYouMean(m[1], names);
        return new UsageError(`${m[1]} is not an object in this org${hint}\n${text}`, { code: 'INVALID_TYPE', fix: 'list the org\'s objects with `sfbridge objects`' });
      }
    }
    if (err.errorCode === 'INVALID_FIELD') {
      const m = /No such column '([^']+)' on entity '([^']+)'/.exec(text);
      if (m) {
        const d = await client.describe(m[2]);
        const hint = didYouMean(m[1], d.fields.map((f) => f.name));
        return new UsageError(`${d.name} has no field ${m[1]}${hint}\n${text}`, { code: 'INVALID_FIELD', fix: `list its fields with \`sfbridge describe ${d.name}\`` });
      }
    }
    if (err.errorCode === 'MALFORMED_QUERY' || err.errorCode === 'INVALID_QUERY_FILTER_OPERATOR') return new UsageError(text, { code: err.errorCode });
  } catch {
    // The suggestion is a courtesy: if describing fails, report the org's own error.
  }
  return err;
}

/** Runs the command; returns the exit code (0 ok, 1 Salesforce/transport error, 2 usage error, 3 login). */
export async function queryCommand(argv: string[], io: QueryCommandIO = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const env = io.env ?? process.env;
  let file: OutputFile | undefined;
  let json = false;
  try {
    const { values, positionals } = parseFlags(argv, {
      ...CONNECTION_FLAG_OPTIONS,
      all: { type: 'boolean' },
      format: { type: 'string' },
      output: { type: 'string', short: 'o' },
      file: { type: 'string', short: 'f' },
      json: { type: 'boolean' },
      'batch-size': { type: 'string' },
      bulk: { type: 'boolean' },
      wait: { type: 'string' },
      'max-records': { type: 'string' },
      'api-version': { type: 'string' },
      config: { type: 'string', short: 'c' },
      help: { type: 'boolean', short: 'h' },
    }, USAGE);
    json = Boolean(values.json);
    if (values.help) {
      stdout.write(USAGE);
      return 0;
    }
    const soql = await readSoql(positionals, values.file as string | undefined, io.stdin ?? process.stdin);
    const output = values.output as string | undefined;
    if (output && (output === '-' || !output.trim())) throw new UsageError('--output needs a file name (leave it out to write to stdout)');
    const format = ((values.format as string | undefined) ?? (output ? formatOfFile(output) ?? 'jsonl' : !stdout.isTTY || json ? 'jsonl' : 'table')) as Format;
    if (!['jsonl', 'csv', 'table'].includes(format)) throw new UsageError(`--format must be jsonl, csv or table, got "${format}"`);
    if (json && !output && values.format !== undefined && format !== 'jsonl') throw new UsageError('--json prints the records as JSON on stdout: leave out --format, or write the file with --output');
    let batchSize: number | undefined;
    if (values['batch-size'] !== undefined) {
      batchSize = Number(values['batch-size']);
      if (!Number.isInteger(batchSize) || batchSize < 200 || batchSize > 2000) throw new UsageError(`--batch-size must be an integer from 200 to 2000, got "${values['batch-size']}"`);
    }
    const client = await clientFromFlags(values, env, { apiVersion: values['api-version'] as string | undefined, fetch: io.fetch });
    file = output ? new OutputFile(output) : undefined;
    const target = (): Writable => (file ? file.stream : stdout);
    const finish = async (n: number, extra: Record<string, unknown> = {}): Promise<number> => {
      if (file) {
        await file.commit();
        stderr.write(`wrote ${plural(n, 'record')} to ${file.path}\n`);
        if (json) writeJson(stdout, 'query', { file: file.path, format, records: n, ...extra });
      }
      return 0;
    };
    // SELECT COUNT() returns no records, only totalSize: print it as one row with a count column.
    const writeCount = async (count: number): Promise<number> => {
      const write = lazyWriter(target);
      if (json && !file) writeJson(stdout, 'query', { totalSize: count, done: true, records: [] });
      else if (format === 'jsonl') await write(`${JSON.stringify({ count })}\n`);
      else if (format === 'csv') await write(`${csvLine(['count'])}${csvLine([String(count)])}`);
      else await write(`count\n${'-'.repeat(Math.max(5, String(count).length))}\n${thousands(count)}\n`);
      return finish(1, { totalSize: count });
    };
    if (values.bulk) {
      if (format === 'table') throw new UsageError('--bulk writes csv or jsonl (use --format csv or --format jsonl)');
      if (batchSize !== undefined) throw new UsageError('--batch-size applies to REST queries; with --bulk use --max-records');
      if (json && !output) throw new UsageError('--bulk with --json needs --output FILE (the records go to the file, the summary to stdout)');
      const wait = values.wait !== undefined ? parseDuration(values.wait as string, '--wait') : undefined;
      let maxRecords: number | undefined;
      if (values['max-records'] !== undefined) {
        maxRecords = Number(values['max-records']);
        if (!Number.isInteger(maxRecords) || maxRecords < 1) throw new UsageError(`--max-records must be a positive integer, got "${values['max-records']}"`);
      }
      let jobId: string | undefined;
      // Ctrl-C: abort the query job (it would keep running and count against the org's limits), drop the
      // partial output, and say so; a second Ctrl-C quits at once.
      let stopping = false;
      const onSigint = () => {
        if (stopping) process.exit(EXIT.interrupted);
        stopping = true;
        void (async () => {
          if (jobId) await client.bulk.abort('query', jobId).catch(() => undefined);
          await file?.discard();
          stderr.write(`\nsfbridge query: interrupted${jobId ? `; bulk query job ${jobId} aborted` : ''}${file ? ', no output file written' : ''}. Run the command again to export.\n`);
          process.exit(EXIT.interrupted);
        })();
      };
      if (!io.fetch) process.on('SIGINT', onSigint);
      try {
        const n = await bulkExport(client, soql, { queryAll: Boolean(values.all), wait, maxRecords, format: format as 'csv' | 'jsonl', onJob: (id) => (jobId = id) }, lazyWriter(target), stderr).catch(async (err: unknown) => {
          throw await explainQueryError(client, err);
        });
        return await finish(n, jobId ? { jobId } : {});
      } finally {
        process.off('SIGINT', onSigint);
      }
    }
    if (values.wait !== undefined || values['max-records'] !== undefined) throw new UsageError('--wait and --max-records need --bulk');
    const result = values.all ? client.queryAll(soql, { batchSize }) : client.query(soql, { batchSize });
    const columns = selectColumns(soql);
    // Opens the output on the first write, once the first page has arrived.
    const write = lazyWriter(target);
    if (format === 'table') {
      // The first page decides: an error (no such field, no such object) is reported before any output exists.
      const it = result[Symbol.asyncIterator]();
      const first = await firstPage(client, it, result, env);
      if (first.done && isCountQuery(soql)) return writeCount(result.totalSize ?? 0);
      const rows = (async function* () {
        for (let r = first; !r.done; r = await it.next()) yield r.value;
      })();
      const n = await writeTable(rows, columns, write);
      return finish(n, { totalSize: result.totalSize ?? n });
    }
    // JSON lines go out as the page's own bytes, with `attributes` cut, wherever that is exact
    // (QueryResult.jsonLineBytes): nothing is decoded or built. Same first-page rule as above.
    if (format === 'jsonl' && !(json && !file)) {
      // Each batch is written before the next is asked for (synchronously to a file), so one buffer serves them all.
      const lines = result.jsonLineBytes({ reuse: !!file })[Symbol.asyncIterator]();
      const first = await firstPage(client, lines, result, env);
      if (first.done && isCountQuery(soql)) return writeCount(result.totalSize ?? 0);
      let n = 0;
      for (let r = first; !r.done; r = await lines.next()) {
        n += r.value.records;
        await write(r.value.bytes);
      }
      return finish(n, { totalSize: result.totalSize ?? n });
    }
    // CSV and --json take the records from the page's text and write them without building them as objects
    // where that is exact (QueryResult.jsonLines, csvCellsOfText); lines are batched into writes of
    // WRITE_BYTES. Same first-page rule as above.
    const it = (format === 'csv' && !(json && !file) ? result.texts() : result.jsonLines())[Symbol.asyncIterator]();
    const first = await firstPage(client, it, result, env);
    if (first.done && isCountQuery(soql)) return writeCount(result.totalSize ?? 0);
    let n = 0;
    let buf = '';
    if (json && !file) {
      // Streamed as it arrives: the document is written piece by piece, never held whole.
      buf = `{"ok":true,"command":"query","records":[`;
      for (let r = first; !r.done; r = await it.next()) {
        for (const line of r.value) buf += `${n++ ? ',' : ''}${line}`;
        if (buf.length >= WRITE_BYTES) {
          await write(buf);
          buf = '';
        }
      }
      await write(`${buf}],"totalSize":${result.totalSize ?? n},"done":true}\n`);
      return 0;
    }
    let header: string[] | undefined = columns;
    if (header) buf += csvLine(header);
    let paths = header && csvPaths(header);
    for (let r = first; !r.done; r = await it.next()) {
      for (const text of r.value) {
        if (!header) {
          header = flatKeys(parseRecord(text) as Record<string, unknown>);
          buf += csvLine(header);
          paths = csvPaths(header);
        }
        buf += csvLine((paths && csvCellsOfText(text, paths)) ?? csvCells(parseRecord(text) as Record<string, unknown>, header));
      }
      n += r.value.length;
      if (buf.length >= WRITE_BYTES) {
        await write(buf);
        buf = '';
      }
    }
    if (buf) await write(buf);
    return finish(n, { totalSize: result.totalSize ?? n });
  } catch (err) {
    await file?.discard();
    return reportError('query', err, { stdout, stderr, json });
  }
}

/** `SELECT COUNT() FROM …` (the form that returns only totalSize). */
export function isCountQuery(soql: string): boolean {
  return /^\s*SELECT\s+COUNT\(\s*\)\s+FROM\s/i.test(soql);
}

/**
 * `--bulk`: one Bulk 2.0 query job, records written as the CSV pages stream in. The job id goes to stderr
 * first so an interrupted export can be inspected; progress shows on a terminal.
 */
async function bulkExport(client: SalesforceClient, soql: string, opts: { queryAll: boolean; wait?: number; maxRecords?: number; format: 'csv' | 'jsonl'; onJob?: (jobId: string) => void }, write: (s: string) => Promise<void>, stderr: Writable & { isTTY?: boolean }): Promise<number> {
  const progress = createProgress(stderr);
  const task = progress.task('bulk query');
  try {
    const result = client.bulk.query(soql, {
      queryAll: opts.queryAll,
      wait: opts.wait,
      maxRecords: opts.maxRecords,
      onEvent: (e) => {
        if (e.type === 'job-created') {
          opts.onJob?.(e.jobId);
          if (!progress.enabled) stderr.write(`bulk query job ${e.jobId}\n`);
          task.update(0, `job ${e.jobId}`);
        } else if (e.type === 'job-polled') task.update(0, `job ${e.jobId} ${e.state}`);
        else if (e.type === 'job-finished') task.setTotal(e.numberRecordsProcessed);
      },
    });
    let header: string[] | undefined;
    let n = 0;
    // Lines are batched into one write per BULK_WRITE_BATCH records: fewer, larger writes and far less garbage
    // than one csv-stringify call per record, which keeps the exporting process's heap (and RSS) small.
    let buf = '';
    for await (const rec of result) {
      if (opts.format === 'jsonl') buf += `${JSON.stringify(rec)}\n`;
      else {
        if (!header) {
          header = Object.keys(rec);
          buf += csvLine(header);
        }
        for (let i = 0; i < header.length; i++) {
          const v = rec[header[i]] ?? '';
          buf += (i > 0 ? ',' : '') + (NEEDS_QUOTES.test(v) ? `"${v.replaceAll('"', '""')}"` : v);
        }
        buf += '\n';
      }
      n++;
      if (buf.length >= BULK_WRITE_BYTES) {
        await write(buf);
        buf = '';
        task.update(n);
      }
    }
    if (buf) await write(buf);
    if (opts.format === 'csv' && !header) {
      const columns = selectColumns(soql);
      if (columns) await write(csvLine(columns));
    }
    task.finish(plural(n, 'record'));
    return n;
  } finally {
    progress.close();
  }
}

/** Characters buffered per write in `--bulk` exports. */
const BULK_WRITE_BYTES = 16 * 1024;
const NEEDS_QUOTES = /[",\r\n]/;

/** One RFC 4180 line; quotes only the values that need it (as csv-stringify does by default). */
export function csvLine(values: string[]): string {
  let line = '';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i > 0) line += ',';
    line += NEEDS_QUOTES.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
  }
  return `${line}\n`;
}

/** A write function that waits for drain, so a slow pipe slows the query instead of buffering it. */
function writer(out: Writable): (chunk: string | Uint8Array) => Promise<void> {
  return (chunk) =>
    out.write(chunk)
      ? Promise.resolve()
      : new Promise<void>((resolve, reject) => {
          const onError = (e: Error) => reject(e);
          out.once('error', onError);
          out.once('drain', () => {
            out.off('error', onError);
            resolve();
          });
        });
}

async function writeTable(rows: AsyncIterable<Record<string, unknown>>, columns: string[] | undefined, write: (s: string) => Promise<void>): Promise<number> {
  const sample: Record<string, unknown>[] = [];
  const it = rows[Symbol.asyncIterator]();
  let next = await it.next();
  while (!next.done && sample.length < TABLE_SAMPLE_ROWS) {
    sample.push(next.value);
    next = await it.next();
  }
  const header = columns ?? (sample[0] ? flatKeys(sample[0]) : []);
  const widths = header.map((h) => Math.min(TABLE_MAX_WIDTH, Math.max(h.length, ...sample.map((r) => cell(lookup(r, h)).length))));
  const line = (cells: string[]) => `${cells.map((c, i) => fit(c, widths[i])).join(' | ')}\n`;
  await write(line(header));
  await write(`${widths.map((w) => '-'.repeat(w)).join('-+-')}\n`);
  for (const r of sample) await write(line(header.map((h) => cell(lookup(r, h)))));
  let total = sample.length;
  while (!next.done) {
    await write(line(header.map((h) => cell(lookup(next.value as Record<string, unknown>, h)))));
    total++;
    next = await it.next();
  }
  await write(`(${plural(total, 'row')})\n`);
  return total;
}

function fit(s: string, w: number): string {
  const flat = s.replace(/\s+/g, ' ');
  return flat.length > w ? `${flat.slice(0, w - 1)}…` : flat.padEnd(w);
}

/** Column names from the SELECT list (dotted for parents, relationship name for subqueries); undefined if unparsable. */
export function selectColumns(soql: string): string[] | undefined {
  const m = /^\s*SELECT\s+/i.exec(soql);
  if (!m) return undefined;
  const items: string[] = [];
  let depth = 0;
  let start = m[0].length;
  let i = start;
  for (; i < soql.length; i++) {
    const ch = soql[i];
    if (ch === "'") {
      for (i++; i < soql.length && soql[i] !== "'"; i++) if (soql[i] === '\\') i++;
    } else if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (depth === 0 && ch === ',') {
      items.push(soql.slice(start, i).trim());
      start = i + 1;
    } else if (depth === 0 && fromAt(soql, i)) {
      items.push(soql.slice(start, i).trim());
      break;
    }
  }
  if (i >= soql.length) return undefined;
  const out: string[] = [];
  let expr = 0;
  for (const item of items) {
    if (/^TYPEOF\b/i.test(item)) return undefined;
    const sub = /^\(\s*SELECT\b[\s\S]*?\bFROM\s+([A-Za-z0-9_]+)/i.exec(item);
    if (sub) out.push(sub[1]);
    else if (/^COUNT\(\s*\)$/i.test(item)) return undefined;
    else if (item.includes('(')) {
      const alias = /\)\s+([A-Za-z][A-Za-z0-9_]*)$/.exec(item);
      if (alias) out.push(alias[1]);
      else if (/^(toLabel|FORMAT|convertCurrency)\(/i.test(item)) out.push(item.replace(/^[^(]+\(\s*|\s*\)$/g, ''));
      else out.push(`expr${expr++}`);
    } else out.push(item);
  }
  return out;
}

function fromAt(soql: string, i: number): boolean {
  const re = /\s+FROM\s/iy;
  re.lastIndex = i;
  return re.test(soql);
}

/** Case-insensitive dotted lookup through nested parent objects. */
function lookup(rec: Record<string, unknown>, path: string): unknown {
  let cur: unknown = rec;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return null;
    const obj = cur as Record<string, unknown>;
    const key = part in obj ? part : Object.keys(obj).find((k) => k.toLowerCase() === part.toLowerCase());
    cur = key === undefined ? null : obj[key];
  }
  return cur;
}

function flatKeys(rec: Record<string, unknown>, prefix = ''): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(rec)) {
    if (k === 'attributes') continue;
    if (v && typeof v === 'object' && !Array.isArray(v) && !('records' in v)) out.push(...flatKeys(v as Record<string, unknown>, `${prefix}${k}.`));
    else out.push(`${prefix}${k}`);
  }
  return out;
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(withoutAttributes(v));
  return String(v);
}

/** A parsed record's CSV cells for the header's columns (what the CSV output has always written). */
export function csvCells(rec: Record<string, unknown>, header: string[]): string[] {
  return header.map((c) => cell(lookup(rec, c)));
}

/** Characters of CSV or JSON lines collected before each write. */
const WRITE_BYTES = 64 * 1024;

/**
 * The header's columns as paths for {@link csvCellsOfText}, or undefined when a column name is also a member
 * of every object (`constructor`, `toString`, …): `lookup`'s `in` finds those on a parsed record's prototype.
 */
export function csvPaths(header: string[]): string[][] | undefined {
  const paths = header.map((c) => c.split('.'));
  for (const p of paths) for (const part of p) if (part in EMPTY) return undefined;
  return paths;
}
const EMPTY = {};
const EMPTY_ARRAY: unknown[] = [];

/**
 * The CSV cells {@link csvCells} gives for the parsed record, read from the record's text, or undefined
 * where that could differ (the caller then parses the record). The text must pass {@link attributesCut}
 * (so it is valid JSON with one way to write each value) and its keys must hold no escapes (they are
 * compared as written). Each column is then looked up as `lookup` does: per path part, the member of that
 * name, else the first whose name matches ignoring case; a string cell is the string's characters (decoded
 * with JSON.parse if it holds escapes), a number its text (already in toString form), an object or array its
 * text without `attributes` members, null or a missing member empty.
 */
export function csvCellsOfText(text: string, paths: string[][]): string[] | undefined {
  if (text.charCodeAt(0) !== 0x7b || attributesCut(text) === undefined) return undefined;
  const top = membersOf(text, 0, 0);
  if (top < 0) return undefined;
  const out: string[] = [];
  for (const path of paths) {
    let base = 0;
    let count = top;
    let m = -1;
    for (let p = 0; ; p++) {
      m = memberNamed(text, base, count, path[p]);
      if (m < 0 || p === path.length - 1) break;
      // `lookup` through a non-object (null, a string, a number) yields null, and through an array too, for a
      // name that is neither an index nor an array member (`length`, `map`, …); for those, parse.
      const c = text.charCodeAt(M_VALUE[m]);
      if (c === 0x5b && (/^\d/.test(path[p + 1]) || path[p + 1] in EMPTY_ARRAY)) return undefined;
      if (c !== 0x7b) {
        m = -1;
        break;
      }
      base += count;
      count = membersOf(text, M_VALUE[m], base);
      if (count < 0) return undefined;
    }
    out.push(m < 0 ? '' : cellOfText(text, M_VALUE[m], M_VALUE_END[m]));
  }
  return out;
}

/** Members of the objects being looked into: key start (its quote), key end (past its quote), value span. */
const MEMBER_CAPACITY = 4096;
const M_KEY = new Int32Array(MEMBER_CAPACITY);
const M_KEY_END = new Int32Array(MEMBER_CAPACITY);
const M_VALUE = new Int32Array(MEMBER_CAPACITY);
const M_VALUE_END = new Int32Array(MEMBER_CAPACITY);

/** Records the members of the (valid, compact) object at `at` from slot `base`; their count, or -1 (a key with escapes, too many). */
function membersOf(text: string, at: number, base: number): number {
  let i = at + 1;
  if (text.charCodeAt(i) === 0x7d) return 0;
  let n = base;
  for (;;) {
    if (n === MEMBER_CAPACITY) return -1;
    let keyEnd = i + 1;
    for (let k = text.charCodeAt(keyEnd); k !== 0x22; k = text.charCodeAt(++keyEnd)) if (k === 0x5c) return -1;
    M_KEY[n] = i;
    M_KEY_END[n] = keyEnd + 1;
    const value = keyEnd + 2;
    M_VALUE[n] = value;
    i = valueEnd(text, value);
    M_VALUE_END[n] = i;
    n++;
    if (text.charCodeAt(i) === 0x7d) return n - base;
    i++;
  }
}

/** The slot of the member called `name` (else the first whose name matches ignoring case, as `lookup`), or -1. */
function memberNamed(text: string, base: number, count: number, name: string): number {
  const end = base + count;
  for (let m = base; m < end; m++) if (M_KEY_END[m] - M_KEY[m] - 2 === name.length && text.startsWith(name, M_KEY[m] + 1)) return m;
  const folded = name.toLowerCase();
  for (let m = base; m < end; m++) if (text.slice(M_KEY[m] + 1, M_KEY_END[m] - 1).toLowerCase() === folded) return m;
  return -1;
}

/** Index just past the (valid, compact) JSON value starting at i. */
function valueEnd(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c === 0x22) return stringEnd(text, i);
  if (c === 0x7b || c === 0x5b) {
    let depth = 0;
    for (;;) {
      const d = text.charCodeAt(i);
      if (d === 0x22) {
        i = stringEnd(text, i);
        continue;
      }
      if (d === 0x7b || d === 0x5b) depth++;
      else if (d === 0x7d || d === 0x5d) {
        if (--depth === 0) return i + 1;
      }
      i++;
    }
  }
  for (;;) {
    const d = text.charCodeAt(i);
    if (d === 0x2c || d === 0x7d || d === 0x5d || Number.isNaN(d)) return i;
    i++;
  }
}

/** Index just past the string literal starting at i: the first quote after it not escaped by a backslash. */
function stringEnd(text: string, i: number): number {
  let q = text.indexOf('"', i + 1);
  for (;;) {
    let b = q - 1;
    while (text.charCodeAt(b) === 0x5c) b--;
    if ((q - 1 - b) % 2 === 0) return q + 1;
    q = text.indexOf('"', q + 1);
  }
}

function cellOfText(text: string, start: number, end: number): string {
  const c = text.charCodeAt(start);
  if (c === 0x22) {
    const raw = text.slice(start + 1, end - 1);
    return raw.includes('\\') ? (JSON.parse(text.slice(start, end)) as string) : raw;
  }
  if (c === 0x6e) return '';
  if (c === 0x7b || c === 0x5b) return attributesCut(text.slice(start, end))!;
  return text.slice(start, end);
}

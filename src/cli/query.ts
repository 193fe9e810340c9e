/**
 * `sfbridge query "SOQL"`: streams query results as JSON lines, CSV or a table. Records are written as
 * pages arrive (with the client's one-page prefetch), so memory stays flat for any result size.
 */
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { stringify } from 'csv-stringify/sync';
import { CONNECTION_FLAG_OPTIONS, CONNECTION_USAGE } from '../client/config.ts';
import { SalesforceClient, type FetchLike } from '../client/index.ts';
import { BulkError } from '../client/bulk2.ts';
import { UsageError, failureText, parseDuration, parseFlags } from './args.ts';
import { clientFromFlags } from './connect.ts';
import { createProgress } from './progress.ts';

const USAGE = `Usage: sfbridge query "SOQL" [--all] [--bulk] [--format jsonl|csv|table] [--output FILE] [--batch-size N] [--api-version 62.0]

  --all              include deleted and archived rows (queryAll)
  --bulk             run as a Bulk API 2.0 query job (large exports: few API calls, constant memory);
                     values come back as CSV strings with dotted parent columns; formats csv or jsonl
  --wait D           with --bulk: stop waiting for the job after D (30s, 10m); default no limit
  --max-records N    with --bulk: records per results page
  --format F         jsonl (default when not a terminal), csv, or table (default on a terminal)
  --output FILE      write to FILE instead of stdout
  --batch-size N     page size hint, 200..2000

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
  env?: NodeJS.ProcessEnv;
  fetch?: FetchLike;
}

/** Runs the command; returns the exit code (0 ok, 1 Salesforce/transport error, 2 usage error). */
export async function queryCommand(argv: string[], io: QueryCommandIO = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const env = io.env ?? process.env;
  let out: Writable = stdout;
  try {
    const { values, positionals } = parseFlags(argv, {
      ...CONNECTION_FLAG_OPTIONS,
      all: { type: 'boolean' },
      format: { type: 'string' },
      output: { type: 'string', short: 'o' },
      'batch-size': { type: 'string' },
      bulk: { type: 'boolean' },
      wait: { type: 'string' },
      'max-records': { type: 'string' },
      'api-version': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    }, USAGE);
    if (values.help) {
      stdout.write(USAGE);
      return 0;
    }
    if (positionals.length !== 1 || !positionals[0].trim()) throw new UsageError(`expected exactly one SOQL query in quotes\n\n${USAGE}`);
    const soql = positionals[0];
    const format = (values.format as string | undefined) ?? (values.output || !stdout.isTTY ? 'jsonl' : 'table');
    if (!['jsonl', 'csv', 'table'].includes(format)) throw new UsageError(`--format must be jsonl, csv or table, got "${format}"`);
    let batchSize: number | undefined;
    if (values['batch-size'] !== undefined) {
      batchSize = Number(values['batch-size']);
      if (!Number.isInteger(batchSize) || batchSize < 200 || batchSize > 2000) throw new UsageError(`--batch-size must be an integer from 200 to 2000, got "${values['batch-size']}"`);
    }
    const client = await clientFromFlags(values, env, { apiVersion: values['api-version'] as string | undefined, fetch: io.fetch });
    if (values.bulk) {
      if (format === 'table') throw new UsageError('--bulk writes csv or jsonl (use --format csv or --format jsonl)');
      if (batchSize !== undefined) throw new UsageError('--batch-size applies to REST queries; with --bulk use --max-records');
      const wait = values.wait !== undefined ? parseDuration(values.wait as string, '--wait') : undefined;
      let maxRecords: number | undefined;
      if (values['max-records'] !== undefined) {
        maxRecords = Number(values['max-records']);
        if (!Number.isInteger(maxRecords) || maxRecords < 1) throw new UsageError(`--max-records must be a positive integer, got "${values['max-records']}"`);
      }
      if (values.output) out = createWriteStream(values.output as string);
      await bulkExport(client, soql, { queryAll: Boolean(values.all), wait, maxRecords, format: format as 'csv' | 'jsonl' }, writer(out), stderr);
      if (out !== stdout) await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
      return 0;
    }
    if (values.wait !== undefined || values['max-records'] !== undefined) throw new UsageError('--wait and --max-records need --bulk');
    const result = values.all ? client.queryAll(soql, { batchSize }) : client.query(soql, { batchSize });
    if (values.output) out = createWriteStream(values.output as string);
    const columns = selectColumns(soql);
    const write = writer(out);
    if (format === 'jsonl') {
      for await (const rec of result) await write(`${JSON.stringify(stripAttributes(rec))}\n`);
    } else if (format === 'csv') {
      let header: string[] | undefined = columns;
      if (header) await write(stringify([header]));
      for await (const rec of result) {
        if (!header) {
          header = flatKeys(rec);
          await write(stringify([header]));
        }
        await write(stringify([header.map((c) => cell(lookup(rec, c)))]));
      }
    } else {
      await writeTable(result, columns, write);
    }
    if (out !== stdout) await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    return 0;
  } catch (err) {
    if (out !== stdout) out.destroy();
    if (err instanceof UsageError) {
      stderr.write(`sfbridge query: ${err.message}\n`);
      return 2;
    }
    if (err instanceof BulkError) {
      stderr.write(`sfbridge query: ${err.code}: ${err.message}\n`);
      return 1;
    }
    stderr.write(`sfbridge query: ${failureText(err)}\n`);
    return 1;
  }
}

/**
 * `--bulk`: one Bulk 2.0 query job, records written as the CSV pages stream in. The job id goes to stderr
 * first so an interrupted export can be inspected; progress shows on a terminal.
 */
async function bulkExport(client: SalesforceClient, soql: string, opts: { queryAll: boolean; wait?: number; maxRecords?: number; format: 'csv' | 'jsonl' }, write: (s: string) => Promise<void>, stderr: Writable & { isTTY?: boolean }): Promise<void> {
  const progress = createProgress(stderr);
  const task = progress.task('bulk query');
  try {
    const result = client.bulk.query(soql, {
      queryAll: opts.queryAll,
      wait: opts.wait,
      maxRecords: opts.maxRecords,
      onEvent: (e) => {
        if (e.type === 'job-created') {
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
      if (columns) await write(stringify([columns]));
    }
    task.finish(`${n} records`);
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
function writer(out: Writable): (chunk: string) => Promise<void> {
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

async function writeTable(rows: AsyncIterable<Record<string, unknown>>, columns: string[] | undefined, write: (s: string) => Promise<void>): Promise<void> {
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
  await write(`(${total} row${total === 1 ? '' : 's'})\n`);
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
  if (typeof v === 'object') return JSON.stringify(stripAttributes(v));
  return String(v);
}

function stripAttributes(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripAttributes);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (k !== 'attributes') out[k] = stripAttributes(x);
    return out;
  }
  return v;
}

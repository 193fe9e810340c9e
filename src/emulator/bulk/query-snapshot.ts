/**
 * Bulk API 2.0 query processing: SOQL validation with the Bulk restrictions, and the background snapshot of a
 * query's result into `_bulk_qrow` (one pre-encoded CSV line per record, written in chunks while iterating the
 * prepared query lazily). The snapshot is what makes results immutable after `JobComplete`, locators valid for
 * the job's lifetime, and pages servable straight from SQLite in constant memory.
 */
import { SfError } from '../errors.ts';
import type { Org } from '../org.ts';
import { prepareQuery, type PreparedQuery } from '../soql/index.ts';
import type { FieldType } from '../schema/types.ts';
import { formatDateTimeZ, parseDateTime } from '../store/values.ts';
import { csvQuoted, DELIMITERS } from './csv.ts';
import type { BulkEngine } from './engine.ts';
import { bulkError } from './jobs.ts';
import type { JobRow } from './store.ts';

const MB = 1024 * 1024;

/** Locators are the base64 of the next record offset without padding (`10000` → `MTAwMDA`), like Salesforce's. */
export function encodeLocator(offset: number): string {
  return Buffer.from(String(offset)).toString('base64').replace(/=+$/, '');
}

/** Reads a locator back to its record offset; anything else is INVALID_QUERY_LOCATOR. */
export function decodeLocator(locator: string): number {
  const text = Buffer.from(locator, 'base64').toString('utf8');
  if (!/^\d+$/.test(text)) throw bulkError(400, 'INVALID_QUERY_LOCATOR', `Invalid locator: ${locator}`);
  return Number(text);
}

/** SOQL features Bulk API 2.0 refuses, checked on the query text before compiling it. */
const UNSUPPORTED: [RegExp, string][] = [
  [/\(\s*select\b/i, 'Aggregate Relationships not supported in Bulk API 2.0 query'],
  [/\btypeof\b/i, 'TYPEOF is not supported in Bulk API 2.0 query'],
  [/\boffset\s+\d/i, 'OFFSET is not supported in Bulk API 2.0 query'],
  [/\bgroup\s+by\b/i, 'GROUP BY is not supported in Bulk API 2.0 query'],
  [/\bfields\s*\(/i, 'FIELDS() is not supported in Bulk API 2.0 query'],
];

/** Strips string literals so keywords inside values (`Name = 'group by'`) do not trip the checks. */
function withoutLiterals(soql: string): string {
  return soql.replace(/'(?:\\.|[^'\\])*'/g, "''");
}

/** Compiles the job's SOQL and applies the Bulk-specific restrictions; throws the 400 the create call returns. */
export function compile(org: Org, soql: string, queryAll: boolean): PreparedQuery {
  const bare = withoutLiterals(soql);
  for (const [re, message] of UNSUPPORTED) {
    if (re.test(bare)) throw bulkError(400, 'API_ERROR', `FeatureNotEnabled : ${message}`);
  }
  let prepared: PreparedQuery;
  try {
    prepared = prepareQuery(org, soql, { queryAll });
  } catch (err) {
    if (err instanceof SfError) throw bulkError(400, err.errorCode, err.message);
    throw err;
  }
  if (prepared.isAggregate) throw bulkError(400, 'API_ERROR', 'FeatureNotEnabled : Aggregate queries are not supported in Bulk API 2.0 query');
  for (const column of prepared.columns) {
    const type = columnType(org, prepared.object, column);
    if (type === 'address' || type === 'location') {
      throw bulkError(400, 'API_ERROR', `FeatureNotEnabled : Cannot serialize value for '${column}' in CSV format`);
    }
  }
  return prepared;
}

/** The field type behind a dotted column (`Account.Owner.CreatedDate`), when the path resolves. */
function columnType(org: Org, object: string, column: string): FieldType | undefined {
  const parts = column.split('.');
  let current = object;
  for (const rel of parts.slice(0, -1)) {
    const lookup = org.schema.relationship(current, rel);
    const target = lookup?.referenceTo?.length === 1 ? lookup.referenceTo[0] : undefined;
    if (!target) return undefined;
    current = target;
  }
  return org.schema.field(current, parts[parts.length - 1])?.type;
}

/** Renders one API-shaped record as a CSV line: dotted columns followed through parent objects, all quoted. */
function encodeRow(record: Record<string, unknown>, columns: string[], types: (FieldType | undefined)[], delimiter: string): string {
  const out: string[] = [];
  for (let i = 0; i < columns.length; i++) {
    let value: unknown = record;
    for (const key of columns[i].split('.')) {
      if (value === null || typeof value !== 'object') {
        value = null;
        break;
      }
      const obj = value as Record<string, unknown>;
      value = key in obj ? obj[key] : obj[Object.keys(obj).find((k) => k.toLowerCase() === key.toLowerCase()) ?? key];
    }
    out.push(csvQuoted(formatValue(value, types[i])));
  }
  return out.join(delimiter);
}

function formatValue(value: unknown, type: FieldType | undefined): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (type === 'datetime' && typeof value === 'string') {
    const ms = parseDateTime(value);
    return ms === undefined ? value : formatDateTimeZ(ms);
  }
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** A query being snapshotted: its lazy row iterator and how to render each column. */
export interface QuerySnapshot {
  rows: Iterator<Record<string, unknown>>;
  columns: string[];
  types: (FieldType | undefined)[];
}

/**
 * One background step of a query job: start (or, after a restart, restart) the snapshot, then copy up to
 * `chunkSize` records into `_bulk_qrow` in one transaction together with the job's progress.
 */
export function queryStep(engine: BulkEngine, job: JobRow): void {
  const org = engine.org;
  const open = engine.querySnapshots;
  let snap = open.get(job.id);
  if (!snap) {
    // A fresh start, or an InProgress job whose iterator was lost with the previous process: start over.
    let prepared: PreparedQuery;
    // The query runs as the job's creator: `USING SCOPE mine` means their records, whoever called last.
    const previousUser = org.currentUserId;
    org.currentUserId = job.createdById;
    try {
      prepared = compile(org, job.query ?? '', job.operation === 'queryAll');
    } catch (err) {
      return engine.fail(job, `InvalidJob : ${(err as Error).message}`);
    } finally {
      org.currentUserId = previousUser;
    }
    const types = prepared.columns.map((c) => columnType(org, prepared.object, c));
    snap = { rows: prepared.rows()[Symbol.iterator](), columns: prepared.columns, types };
    open.set(job.id, snap);
    org.store.transaction(() => {
      org.store.prepare('DELETE FROM _bulk_qrow WHERE job_id = ?').run(job.id);
      engine.store.update(job.id, { state: 'InProgress', header: JSON.stringify(prepared.columns), nextRow: 0, processed: 0, resultBytes: 0, systemModstamp: org.clock.now() });
    });
    job = engine.store.get(job.id)!;
  }
  const delimiter = DELIMITERS[job.columnDelimiter];
  const started = Date.now();
  const previousUser = org.currentUserId;
  org.currentUserId = job.createdById;
  try {
    org.store.transaction(() => {
      const insert = org.store.prepare('INSERT INTO _bulk_qrow (job_id, seq, line) VALUES (?, ?, ?)');
      let seq = job.nextRow;
      let bytes = job.resultBytes;
      let done = false;
      for (let i = 0; i < engine.settings.chunkSize; i++) {
        const next = snap.rows.next();
        if (next.done) {
          done = true;
          break;
        }
        const line = encodeRow(next.value, snap.columns, snap.types, delimiter);
        insert.run(job.id, seq++, line);
        bytes += Buffer.byteLength(line) + 1;
      }
      const elapsed = Date.now() - started;
      engine.store.update(job.id, {
        nextRow: seq,
        processed: seq,
        resultBytes: bytes,
        totalProcessingTime: job.totalProcessingTime + elapsed,
        systemModstamp: org.clock.now(),
        ...(done ? { state: 'JobComplete' as const, totalRows: seq } : {}),
      });
      if (done) {
        open.delete(job.id);
        org.bumpLimit('DailyBulkV2QueryFileStorageMB', Math.ceil(bytes / MB));
      }
    });
  } finally {
    org.currentUserId = previousUser;
  }
}


/**
 * Ingest processing: turns uploaded CSV rows into DML through `dml.ts` (with Bulk CSV semantics), one chunk
 * per SQLite transaction. The DML, the per-row outcomes and the job's progress pointer commit together, so a
 * restart resumes exactly after the last committed chunk and never applies a row twice.
 */
import type { Org } from '../org.ts';
import { deleteRecord, hardDeleteRecord, insertRecord, requireLiveRow, updateRecord, upsertRecord, type ApiRecord } from '../dml.ts';
import { SfError } from '../errors.ts';
import { isValidId, normaliseId } from '../ids.ts';
import type { FieldDef, ObjectDef } from '../schema/types.ts';
import type { BulkStore, JobRow } from './store.ts';

/** Records per internal Salesforce batch, the unit counted against `DailyBulkApiBatches`. */
export const RECORDS_PER_BATCH = 10_000;

/** How one uploaded column maps onto the object. */
type ColumnPlan =
  | { kind: 'field'; field: FieldDef }
  | { kind: 'relationship'; lookup: FieldDef; target: string; field: FieldDef };

/** The validated header of a job: a plan per column plus the positions of the key columns. */
export interface IngestPlan {
  def: ObjectDef;
  columns: ColumnPlan[];
  idIndex: number;
  externalIdIndex: number;
  externalIdField: FieldDef | null;
}

/** A header problem that fails the whole job (`InvalidBatch : …`), as Salesforce does before any row runs. */
export class InvalidBatchError extends Error {
  constructor(message: string) {
    super(`InvalidBatch : ${message}`);
    this.name = 'InvalidBatchError';
  }
}

/**
 * Validates the uploaded header against the object: every column must be a field (any casing) or a
 * `Relationship.ExternalIdField` reference (`Type:Relationship.Field` for polymorphic lookups).
 */
export function planIngest(org: Org, job: JobRow, header: string[]): IngestPlan {
  const def = org.schema.get(job.object);
  if (!def) throw new InvalidBatchError(`Unable to find object: ${job.object}`);
  const columns: ColumnPlan[] = header.map((raw) => planColumn(org, def, raw.trim()));
  const idIndex = columns.findIndex((c) => c.kind === 'field' && c.field.name === 'Id');
  let externalIdField: FieldDef | null = null;
  let externalIdIndex = -1;
  if (job.operation === 'upsert' && job.externalIdFieldName) {
    externalIdField = org.schema.field(def.name, job.externalIdFieldName) ?? null;
    externalIdIndex = columns.findIndex((c) => c.kind === 'field' && c.field.name === externalIdField?.name);
  }
  if ((job.operation === 'delete' || job.operation === 'hardDelete') && idIndex < 0) {
    throw new InvalidBatchError('Field name not found : Id');
  }
  return { def, columns, idIndex, externalIdIndex, externalIdField };
}

function planColumn(org: Org, def: ObjectDef, name: string): ColumnPlan {
  const field = org.schema.field(def.name, name);
  if (field && !field.hidden) return { kind: 'field', field };
  const dot = name.indexOf('.');
  if (dot > 0) {
    // `Account.Legacy_Key__c`, or `Contact:Who.Email` where the type picks the target of a polymorphic lookup.
    let relName = name.slice(0, dot);
    let typeName: string | undefined;
    const colon = relName.indexOf(':');
    if (colon > 0) {
      typeName = relName.slice(0, colon);
      relName = relName.slice(colon + 1);
    }
    const lookup = org.schema.relationship(def.name, relName);
    const target = typeName ? (lookup?.referenceTo ?? []).find((t) => t.toLowerCase() === typeName.toLowerCase()) : lookup?.referenceTo?.[0];
    const targetField = target ? org.schema.field(target, name.slice(dot + 1)) : undefined;
    if (lookup && target && targetField && !targetField.hidden && (targetField.externalId || targetField.idLookup)) {
      return { kind: 'relationship', lookup, target: org.schema.get(target)!.name, field: targetField };
    }
  }
  throw new InvalidBatchError(`Field name not found : ${name}`);
}

/** One row's outcome, as stored in `_bulk_row` and echoed in the result files. */
export interface RowOutcome {
  ok: boolean;
  id: string | null;
  created: boolean;
  error: string | null;
}

/**
 * Formats an error the way Bulk result files do: `CODE:message:Field1,Field2 --`, or `CODE:message:--` when no
 * field is involved.
 */
export function formatRowError(code: string, message: string, fields: string[] = []): string {
  return `${code}:${message}:${fields.length ? `${fields.join(',')} ` : ''}--`;
}

/** Normalises a CSV cell to what DML expects for the field's type; CSV spells some values differently from JSON. */
function cellValue(field: FieldDef, cell: string): string {
  if (cell === '#N/A') return cell;
  if (field.type === 'boolean') {
    const lower = cell.trim().toLowerCase();
    if (lower === '1' || lower === 'true') return 'true';
    if (lower === '0' || lower === 'false') return 'false';
    return cell;
  }
  // The Bulk docs' own samples write dates as `1940-06-07Z`.
  if (field.type === 'date' && /^\d{4}-\d{2}-\d{2}Z$/.test(cell)) return cell.slice(0, 10);
  return cell;
}

/** Builds the DML record from one CSV row: empty cells are left out (unchanged), `#N/A` stays for DML to null. */
function toRecord(plan: IngestPlan, cells: string[]): ApiRecord {
  const record: ApiRecord = {};
  plan.columns.forEach((col, i) => {
    const cell = cells[i] ?? '';
    if (cell === '') return;
    if (col.kind === 'field') {
      record[col.field.name] = cellValue(col.field, cell);
    } else if (cell === '#N/A') {
      record[col.lookup.name] = '#N/A';
    } else {
      record[col.lookup.relationshipName!] = { attributes: { type: col.target }, [col.field.name]: cellValue(col.field, cell) };
    }
  });
  return record;
}

/** Runs one row's DML; never throws (every failure becomes the row's `sf__Error`). */
export function applyRow(org: Org, job: JobRow, plan: IngestPlan, cells: string[]): RowOutcome {
  const idCell = plan.idIndex >= 0 ? (cells[plan.idIndex] ?? '').trim() : '';
  const failedId = idCell && isValidId(idCell) ? normaliseId(idCell) : null;
  if (cells.length > plan.columns.length) {
    return { ok: false, id: failedId, created: false, error: formatRowError('INVALID_FIELD', `The row has ${cells.length} values but the header has ${plan.columns.length} columns`) };
  }
  try {
    // A savepoint per row: a failed row leaves nothing behind while the rest of the chunk commits.
    return org.store.transaction(() => applyRowUnsafe(org, job, plan, cells, idCell));
  } catch (err) {
    return { ok: false, id: job.operation === 'insert' ? null : failedId, created: false, error: rowError(job, err) };
  }
}

function applyRowUnsafe(org: Org, job: JobRow, plan: IngestPlan, cells: string[], idCell: string): RowOutcome {
  const def = plan.def;
  const record = toRecord(plan, cells);
  switch (job.operation) {
    case 'insert':
      return { ok: true, id: insertRecord(org, def, record, { bulk: true }), created: true, error: null };
    case 'update': {
      if (!idCell) throw new SfError(400, 'MISSING_ARGUMENT', 'Id not specified in an update call');
      delete record.Id;
      updateRecord(org, def, idCell, record, { bulk: true });
      return { ok: true, id: normaliseId(idCell), created: false, error: null };
    }
    case 'upsert': {
      const f = plan.externalIdField!;
      const value = plan.externalIdIndex >= 0 ? (cells[plan.externalIdIndex] ?? '').trim() : '';
      if (!value && f.name !== 'Id') throw new SfError(400, 'MISSING_ARGUMENT', `${f.name} not specified`);
      delete record[f.name];
      const { id, created } = upsertRecord(org, def, f.name, value, record, { bulk: true });
      return { ok: true, id, created, error: null };
    }
    case 'delete': {
      if (!idCell) throw new SfError(400, 'MISSING_ARGUMENT', 'Id not specified in a delete call');
      deleteRecord(org, def, idCell);
      return { ok: true, id: normaliseId(idCell), created: false, error: null };
    }
    case 'hardDelete': {
      if (!idCell) throw new SfError(400, 'MISSING_ARGUMENT', 'Id not specified in a delete call');
      // hardDelete also purges rows already in the recycle bin, so only the ID's shape and type are checked here.
      if (!isValidId(idCell) || org.schema.objectForId(normaliseId(idCell))?.name !== def.name) requireLiveRow(org, def, idCell);
      hardDeleteRecord(org, def, idCell);
      return { ok: true, id: normaliseId(idCell), created: false, error: null };
    }
    default:
      throw new SfError(400, 'INVALID_OPERATION', `Unsupported operation: ${job.operation}`);
  }
}

/** Maps a DML failure to the `sf__Error` text Bulk writes for the same failure. */
function rowError(job: JobRow, err: unknown): string {
  if (!(err instanceof SfError)) return formatRowError('UNKNOWN_EXCEPTION', (err as Error).message);
  if (err.errorCode === 'MULTIPLE_CHOICES') {
    const matches = (err as SfError & { matches?: string[] }).matches ?? [];
    return formatRowError('DUPLICATE_EXTERNAL_ID', `${job.externalIdFieldName}: more than one record found for external id field: [${matches.join(', ')}]`);
  }
  if (err.errorCode === 'NOT_FOUND') return formatRowError('INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id');
  if (err.errorCode === 'ENTITY_IS_DELETED') return formatRowError('ENTITY_IS_DELETED', 'entity is deleted');
  return formatRowError(err.errorCode, err.message, err.fields ?? []);
}

/** Number of internal 10,000-record batches Salesforce counts for the first `rows` rows of a job. */
export function batchesFor(rows: number): number {
  return Math.ceil(rows / RECORDS_PER_BATCH);
}

/** Reads the next chunk of unattempted rows of a job. */
export function nextRows(store: BulkStore, job: JobRow, limit: number): { seq: number; cells: string[] }[] {
  const rows = store.org.store.prepare('SELECT seq, data FROM _bulk_row WHERE job_id = ? AND seq >= ? ORDER BY seq LIMIT ?').all(job.id, job.nextRow, limit);
  return rows.map((r) => ({ seq: Number(r.seq), cells: JSON.parse(String(r.data)) as string[] }));
}

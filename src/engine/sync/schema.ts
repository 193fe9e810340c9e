/**
 * From describe to what the sync reads and stores: the selected fields (config include/exclude applied),
 * the mirror table spec, and the calculated (formula) fields refreshed on their own schedule.
 */
import type { DescribeField, DescribeSObjectResult } from '../../client/describe.ts';
import type { FieldSpec, TableSpec } from '../../store/types.ts';
import type { FieldFilter } from '../config.ts';
import type { ResolvedPath } from './paths.ts';

/**
 * Field types never selected: compound fields duplicate their components (and Bulk API cannot read them),
 * base64 bodies are blobs retrieved one record at a time.
 */
export const SKIPPED_FIELD_TYPES: ReadonlySet<string> = new Set(['address', 'location', 'base64']);

/** Fields the engine needs on every object whatever the filter says. */
export const REQUIRED_FIELDS: readonly string[] = ['Id', 'SystemModstamp'];

/** What the sync needs to know about one object. */
export interface ObjectSchema {
  object: string;
  /** Fields selected from the org (Id and SystemModstamp first). */
  fields: string[];
  /** Formula fields among them. */
  formulaFields: string[];
  /** Whether the object has IsDeleted (queryAll can then report soft deletes). */
  hasIsDeleted: boolean;
  /** Relationship paths and the columns they fill (after the fields in the table). */
  paths: Array<{ path: string; column: string }>;
  table: TableSpec;
}

/** Raised when an object cannot be mirrored at all (no Id/SystemModstamp, not queryable). */
export class UnsyncableObjectError extends Error {
  readonly code = 'UNSYNCABLE_OBJECT';
  readonly object: string;
  constructor(object: string, message: string) {
    super(`${object}: ${message}`);
    this.name = 'UnsyncableObjectError';
    this.object = object;
  }
}

/** Builds the object's schema from its describe and the configured field filter. */
export function objectSchema(describe: DescribeSObjectResult, filter?: FieldFilter, paths: readonly ResolvedPath[] = []): ObjectSchema {
  const object = describe.name;
  if (describe.queryable === false) throw new UnsyncableObjectError(object, 'is not queryable, so it cannot be mirrored; remove it from the objects to sync');
  const byName = new Map(describe.fields.map((f) => [f.name.toLowerCase(), f]));
  for (const req of REQUIRED_FIELDS) {
    if (!byName.has(req.toLowerCase())) throw new UnsyncableObjectError(object, `has no ${req} field, so changes cannot be tracked incrementally; remove it from the objects to sync`);
  }
  const usable = (f: DescribeField) => !SKIPPED_FIELD_TYPES.has(f.type) && f.deprecatedAndHidden !== true;
  let chosen: DescribeField[];
  if (filter && 'include' in filter) {
    const unknown = filter.include.filter((n) => !byName.has(n.toLowerCase()));
    if (unknown.length) throw new UnsyncableObjectError(object, `objects.${object}.fields.include names field(s) the org does not have: ${unknown.join(', ')}`);
    const want = new Set([...REQUIRED_FIELDS, ...filter.include].map((n) => n.toLowerCase()));
    if (byName.has('isdeleted')) want.add('isdeleted');
    chosen = describe.fields.filter((f) => want.has(f.name.toLowerCase()) && usable(f));
  } else {
    const drop = new Set((filter && 'exclude' in filter ? filter.exclude : []).map((n) => n.toLowerCase()));
    for (const req of [...REQUIRED_FIELDS, 'IsDeleted']) drop.delete(req.toLowerCase());
    chosen = describe.fields.filter((f) => !drop.has(f.name.toLowerCase()) && usable(f));
  }
  // Id and SystemModstamp first: readable rows and a stable column order.
  chosen.sort((a, b) => rank(a.name) - rank(b.name));
  const specOf = (f: DescribeField, name: string): FieldSpec => {
    const spec: FieldSpec = { name, type: f.type };
    if (typeof f.length === 'number' && f.length > 0) spec.length = f.length;
    if (typeof f.precision === 'number' && f.precision > 0) spec.precision = f.precision as number;
    if (typeof f.scale === 'number') spec.scale = f.scale as number;
    return spec;
  };
  const specs: FieldSpec[] = chosen.map((f) => specOf(f, f.name));
  // A path's column is typed like the parent field it reads; it must not collide with a field's name.
  const taken = new Map(describe.fields.map((f) => [f.name.toLowerCase(), f.name]));
  const columns: Array<{ path: string; column: string }> = [];
  for (const p of paths) {
    const clash = taken.get(p.column.toLowerCase());
    if (clash) throw new UnsyncableObjectError(object, `the column ${p.column} for ${p.path} would collide with ${clash === p.column ? 'the field' : 'the column'} ${clash}; keep one of them in objects.${object}.fields.include`);
    taken.set(p.column.toLowerCase(), p.path);
    specs.push(specOf(p.field, p.column));
    columns.push({ path: p.path, column: p.column });
  }
  return {
    object,
    fields: chosen.map((f) => f.name),
    formulaFields: chosen.filter((f) => f.calculated === true && f.name !== 'Id').map((f) => f.name),
    hasIsDeleted: chosen.some((f) => f.name === 'IsDeleted'),
    paths: columns,
    table: { object, fields: specs },
  };
}

function rank(name: string): number {
  return name === 'Id' ? 0 : name === 'SystemModstamp' ? 1 : 2;
}

/**
 * Keeps only the table's columns of a record: drops `attributes`, nested relationship objects (REST) and
 * dotted relationship paths (Bulk CSV) that were selected for search documents, since the store rejects
 * fields it has no column for.
 */
export function toRow(record: Record<string, unknown>, columns: ReadonlySet<string>): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (const key in record) if (columns.has(key)) row[key] = record[key];
  return row;
}

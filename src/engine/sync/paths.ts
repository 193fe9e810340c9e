/**
 * Relationship paths (`Owner.Email`, `Account.Owner.Name`) resolved against describes: each segment but
 * the last must be a relationship of the object before it, the last a field of the parent it reaches. A
 * resolved path becomes a typed mirror column (`Owner_Email`, typed from the parent's describe); a wrong
 * segment is refused with the closest valid name, so a typo never turns into an empty column.
 */
import type { DescribeField, DescribeSObjectResult } from '../../client/describe.ts';
import { closestName } from '../../client/suggest.ts';

/** Salesforce allows five levels of child-to-parent relationships in one SOQL path. */
export const MAX_PATH_DEPTH = 5;

/** A path that does not resolve; the message names the wrong segment and the fix. */
export class FieldPathError extends Error {
  readonly code = 'INVALID_FIELD_PATH';
  constructor(message: string) {
    super(message);
    this.name = 'FieldPathError';
  }
}

/** A resolved field path. */
export interface ResolvedPath {
  /** The path in the org's spelling (`Owner.Email`). */
  path: string;
  /** The mirror column (`Owner_Email`); a plain field keeps its name. */
  column: string;
  /** The field the path ends at (its type, length and scale type the column). */
  field: DescribeField;
  /** The object that field belongs to. */
  object: string;
}

/** Fetches a describe by object name (the client's cached describe). */
export type DescribeOf = (object: string) => Promise<DescribeSObjectResult>;

const suggest = (name: string, candidates: readonly string[]): string => {
  const guess = closestName(name, candidates);
  return guess ? ` (did you mean ${guess}?)` : '';
};

/** The column a path is stored in: segments joined with `_` (`Account.Owner.Email` → `Account_Owner_Email`). */
export function pathColumn(path: string): string {
  return path.split('.').join('_');
}

/**
 * Resolves `path` from `describe`. `where` prefixes error messages (the config key the path came from).
 * Polymorphic relationships (Owner → User or Group) resolve the field on the first target that has it.
 */
export async function resolvePath(describe: DescribeSObjectResult, path: string, describeOf: DescribeOf, where: string): Promise<ResolvedPath> {
  const segments = path.split('.');
  if (segments.some((s) => !/^[A-Za-z][A-Za-z0-9_]*$/.test(s))) throw new FieldPathError(`${where}: "${path}" is not a field path; write API names joined by dots, e.g. Owner.Email`);
  if (segments.length - 1 > MAX_PATH_DEPTH) throw new FieldPathError(`${where}: "${path}" goes ${segments.length - 1} relationships deep; Salesforce allows at most ${MAX_PATH_DEPTH}`);
  let current: DescribeSObjectResult[] = [describe];
  const spelled: string[] = [];
  for (let i = 0; i < segments.length - 1; i++) {
    const seg = segments[i];
    const from = current[0];
    const rel = from.fields.find((f) => f.type === 'reference' && typeof f.relationshipName === 'string' && f.relationshipName.toLowerCase() === seg.toLowerCase());
    if (!rel) {
      const byField = from.fields.find((f) => f.name.toLowerCase() === seg.toLowerCase() && f.type === 'reference' && f.relationshipName);
      const relationships = from.fields.map((f) => f.relationshipName).filter((n): n is string => typeof n === 'string' && n !== '');
      const hint = byField ? ` (the relationship of ${byField.name} is ${byField.relationshipName}: write ${[...spelled, byField.relationshipName, ...segments.slice(i + 1)].join('.')})` : suggest(seg, relationships);
      throw new FieldPathError(`${where}: ${from.name} has no relationship "${seg}" in "${path}"${hint}`);
    }
    spelled.push(rel.relationshipName!);
    const targets = (rel.referenceTo ?? []).filter((t) => typeof t === 'string');
    if (!targets.length) throw new FieldPathError(`${where}: ${from.name}.${rel.name} does not say which object it points to, so "${path}" cannot be typed`);
    // A polymorphic lookup prefers User (Owner, CreatedBy) and otherwise keeps the org's order.
    targets.sort((a, b) => (a === 'User' ? -1 : b === 'User' ? 1 : 0));
    const described: DescribeSObjectResult[] = [];
    for (const t of targets) {
      try {
        described.push(await describeOf(t));
      } catch (err) {
        if (targets.length === 1) throw err;
      }
    }
    if (!described.length) throw new FieldPathError(`${where}: cannot describe ${targets.join(' or ')} for "${path}"`);
    const next = segments[i + 1];
    // With several targets, continue on the first one that has the next segment.
    const has = (d: DescribeSObjectResult) => d.fields.some((f) => f.name.toLowerCase() === next.toLowerCase() || (f.relationshipName ?? '').toLowerCase() === next.toLowerCase());
    current = [described.find(has) ?? described[0]];
  }
  const last = segments[segments.length - 1];
  const obj = current[0];
  const field = obj.fields.find((f) => f.name.toLowerCase() === last.toLowerCase());
  if (!field) {
    const rel = obj.fields.find((f) => (f.relationshipName ?? '').toLowerCase() === last.toLowerCase());
    const hint = rel ? ` (${last} is a relationship: name one of its fields, e.g. ${[...spelled, rel.relationshipName, 'Name'].join('.')}, or its Id field ${[...spelled, rel.name].join('.')})` : suggest(last, obj.fields.map((f) => f.name));
    throw new FieldPathError(`${where}: ${obj.name} has no field "${last}" in "${path}"${hint}`);
  }
  if (field.type === 'address' || field.type === 'location' || field.type === 'base64') {
    throw new FieldPathError(`${where}: ${obj.name}.${field.name} is a ${field.type} field and cannot be mirrored through "${path}"; name its component fields instead`);
  }
  const canonical = [...spelled, field.name].join('.');
  return { path: canonical, column: pathColumn(canonical), field, object: obj.name };
}

/** A path's value in a record: nested objects (REST JSON) or a dotted key (Bulk CSV); null when a lookup is empty. */
export function pathValue(record: Record<string, unknown>, path: string): unknown {
  if (path in record) {
    const v = record[path];
    return v === '' ? null : v;
  }
  let cur: unknown = record;
  for (const part of path.split('.')) {
    if (cur === null || cur === undefined || typeof cur !== 'object') return null;
    const obj = cur as Record<string, unknown>;
    // REST keys follow the org's spelling; the path is canonical already, so a direct lookup is enough.
    cur = obj[part];
  }
  return cur === undefined ? null : cur;
}

/**
 * Checks that run before a command does any work: the login, the objects, the fields and the columns it was
 * given, against the org's describe. A typo (`Acount`, `Industy`) is refused with the closest real name, so
 * nothing is sent, no store, state, manifest or result file is created, and the exit code is 2; a login
 * failure is reported once (exit 3) instead of once per object.
 */
import { describe, type DescribeField, type DescribeGlobalResult, type DescribeSObjectResult } from '../client/describe.ts';
import { SalesforceError } from '../client/errors.ts';
import type { SalesforceClient } from '../client/index.ts';
import { closestName, didYouMean } from '../client/suggest.ts';
import { UsageError } from './args.ts';

/** Field types sync never mirrors (see engine/sync/schema.ts): compound fields and blobs. */
const UNMIRRORED_TYPES: Record<string, string> = {
  address: 'a compound address field: its components (e.g. BillingStreet, BillingCity) are mirrored instead; include those',
  location: 'a compound geolocation field: its __Latitude__s and __Longitude__s components are mirrored instead; include those',
  base64: 'a file body (base64), which is fetched one record at a time and not mirrored; remove it',
};

/** How a preflight reads describes: `freshForMs` reuses a cached describe that recent without asking the org. */
export interface DescribeOpts {
  signal?: AbortSignal;
  freshForMs?: number;
}

/** A describe through the client's cache (the one the load itself will use), fresh as `o` allows. */
function describeOf(client: SalesforceClient, object: string, o: DescribeOpts): Promise<DescribeSObjectResult> {
  return describe(client, object, client.describeCache, { signal: o.signal, ...(o.freshForMs !== undefined ? { freshForMs: o.freshForMs } : {}) });
}

/** Logs in now, so a bad secret is one error (exit 3) before anything else happens. */
export async function checkLogin(client: SalesforceClient, signal?: AbortSignal): Promise<void> {
  await client.auth.getSession(signal);
}

/** The org's object names (one describeGlobal call, cached by the client when it has a describe cache). */
export async function objectNames(client: SalesforceClient, signal?: AbortSignal): Promise<DescribeGlobalResult['sobjects']> {
  return (await client.describeGlobal(signal)).sobjects;
}

/** The refusal for an object the org does not have. */
export function unknownObject(name: string, names: readonly string[], where = ''): UsageError {
  return new UsageError(`${where}${name} is not an object in this org${didYouMean(name, names)}`, {
    code: 'UNKNOWN_OBJECT',
    fix: `list the org's objects with \`sfbridge objects\``,
  });
}

/** The refusal for a field the object does not have. */
export function unknownField(object: string, field: string, describe: DescribeSObjectResult, where = ''): UsageError {
  return new UsageError(`${where}${object} has no field ${field}${didYouMean(field, describe.fields.map((f) => f.name))}`, {
    code: 'UNKNOWN_FIELD',
    fix: `list its fields with \`sfbridge describe ${object}\``,
  });
}

/**
 * Describes `object`; an object the org does not have is a {@link UsageError} with the closest name (one
 * describeGlobal to find it).
 */
export async function describeKnown(client: SalesforceClient, object: string, o: DescribeOpts = {}): Promise<DescribeSObjectResult> {
  try {
    return await describeOf(client, object, o);
  } catch (err) {
    if (err instanceof SalesforceError && (err.status === 404 || err.errorCode === 'NOT_FOUND' || err.errorCode === 'INVALID_TYPE')) {
      throw unknownObject(object, (await objectNames(client, o.signal)).map((s) => s.name));
    }
    throw err;
  }
}

/** Several refusals at once: the first's code, every message on its own line. */
function combine(errors: UsageError[]): UsageError {
  if (errors.length === 1) return errors[0];
  return new UsageError(errors.map((e) => e.message).join('\n'), { code: errors[0].code, fix: [...new Set(errors.map((e) => e.fix).filter(Boolean))].join('; ') });
}

/** What `sync` checks: the object list and every `objects.X.fields` filter. */
export interface SyncPreflight {
  /** The objects the run will sync. */
  objects: readonly string[];
  /** Objects whose names were given by the user (not found by `custom_objects_to_sync: '*'`). */
  named: readonly string[];
  fieldFilters: Readonly<Record<string, { include: string[] } | { exclude: string[] } | undefined>>;
}

/**
 * Refuses a sync whose objects or field filters do not match the org, before any store is opened: unknown
 * or unqueryable objects, filters for objects that are not synced, unknown fields and fields that cannot be
 * mirrored (compound, base64) in `include`, unknown fields in `exclude` (a misspelt exclude would mirror the
 * very field it meant to keep out).
 */
export async function preflightSync(client: SalesforceClient, p: SyncPreflight, signal?: AbortSignal): Promise<void> {
  const errors: UsageError[] = [];
  // A version the org does not serve would answer every describe with 404: refuse it first, naming the
  // versions it serves (one GET /services/data, which counts against no limit).
  await client.checkApiVersion(signal);
  const global = await objectNames(client, signal);
  const byName = new Map(global.map((s) => [s.name.toLowerCase(), s]));
  const names = global.map((s) => s.name);
  for (const o of p.named) {
    const s = byName.get(o.toLowerCase());
    if (!s) errors.push(unknownObject(o, names));
    else if (s.queryable === false) errors.push(new UsageError(`${o} is not queryable, so it cannot be mirrored`, { code: 'UNSYNCABLE_OBJECT', fix: 'remove it from the objects to sync' }));
  }
  const synced = new Set(p.objects.map((o) => o.toLowerCase()));
  for (const [object, filter] of Object.entries(p.fieldFilters)) {
    if (!filter) continue;
    if (!synced.has(object.toLowerCase())) {
      const guess = closestName(object, p.objects);
      errors.push(new UsageError(`objects.${object}.fields: ${object} is not among the objects to sync${guess ? ` (did you mean ${guess}?)` : ''}`, {
        code: byName.has(object.toLowerCase()) ? 'OBJECT_NOT_SYNCED' : 'UNKNOWN_OBJECT',
        fix: `add it to standard_objects_to_sync / custom_objects_to_sync (or --objects), or fix the key under objects:`,
      }));
      continue;
    }
    if (!byName.has(object.toLowerCase())) continue; // already reported as unknown
    const d = await client.describe(object, signal);
    const fields = new Map(d.fields.map((f) => [f.name.toLowerCase(), f]));
    const kind = 'include' in filter ? 'include' : 'exclude';
    const list = 'include' in filter ? filter.include : filter.exclude;
    for (const name of list) {
      const where = `objects.${object}.fields.${kind}: `;
      if (kind === 'include' && name.includes('.')) {
        const err = await checkPath(client, d, name, where, signal);
        if (err) errors.push(err);
        continue;
      }
      const f = fields.get(name.toLowerCase());
      if (!f || f.deprecatedAndHidden === true) errors.push(unknownField(d.name, name, d, where));
      else if (kind === 'include' && UNMIRRORED_TYPES[f.type]) errors.push(new UsageError(`${where}${d.name}.${f.name} is ${UNMIRRORED_TYPES[f.type]}`, { code: 'UNMIRRORED_FIELD', fix: `list its fields with \`sfbridge describe ${d.name}\`` }));
    }
  }
  if (errors.length) throw combine(errors);
}

/**
 * Checks a relationship path (`Owner.Email`, `Account.Owner.Name`) segment by segment: each but the last a
 * relationship of the object reached so far, the last one of its fields. Returns the refusal, if any.
 */
async function checkPath(client: SalesforceClient, root: DescribeSObjectResult, path: string, where: string, signal?: AbortSignal): Promise<UsageError | undefined> {
  const parts = path.split('.');
  let d = root;
  for (let i = 0; i < parts.length - 1; i++) {
    const rel = d.fields.find((f) => typeof f.relationshipName === 'string' && f.relationshipName.toLowerCase() === parts[i].toLowerCase());
    if (!rel) {
      const names = d.fields.map((f) => f.relationshipName).filter((n): n is string => typeof n === 'string');
      return new UsageError(`${where}${path}: ${d.name} has no relationship ${parts[i]}${didYouMean(parts[i], names)}`, { code: 'UNKNOWN_FIELD', fix: `list its fields with \`sfbridge describe ${d.name}\` (a relationship is the name of a reference field without Id, e.g. Owner for OwnerId)` });
    }
    const target = (rel.referenceTo as string[] | undefined)?.[0];
    if (!target) return undefined;
    d = await client.describe(target, signal);
  }
  const last = parts[parts.length - 1];
  if (!d.fields.some((f) => f.name.toLowerCase() === last.toLowerCase())) return unknownField(d.name, last, d, `${where}${path}: `);
  return undefined;
}

/** Publish operations as the preflight knows them. */
export type PublishOperation = 'insert' | 'update' | 'upsert' | 'delete';

/** Checks the object exists and allows the operation; returns its describe. */
export async function preflightTarget(client: SalesforceClient, object: string, operation: PublishOperation, externalIdField: string | undefined, o: DescribeOpts = {}): Promise<DescribeSObjectResult> {
  const d = await describeKnown(client, object, o);
  const need: Record<PublishOperation, [keyof DescribeSObjectResult, string][]> = {
    insert: [['createable', 'create']],
    update: [['updateable', 'update']],
    upsert: [['createable', 'create'], ['updateable', 'update']],
    delete: [['deletable', 'delete']],
  };
  for (const [flag, verb] of need[operation]) {
    if (d[flag] === false) throw new UsageError(`${d.name} does not allow ${operation}: the org says records of it cannot be ${verb}d by this user`, { code: 'OPERATION_NOT_ALLOWED', fix: `check the user's permissions on ${d.name}, or use another --operation` });
  }
  if (operation === 'upsert' && externalIdField) {
    const f = d.fields.find((x) => x.name.toLowerCase() === externalIdField.toLowerCase());
    if (!f) throw unknownField(d.name, externalIdField, d, '--external-id: ');
    if (!(f.externalId || f.idLookup || f.name === 'Id')) throw new UsageError(`--external-id: ${d.name}.${f.name} is not an external ID field`, { code: 'NOT_AN_EXTERNAL_ID', fix: `use a field marked External ID (see \`sfbridge describe ${d.name}\`)` });
  }
  return d;
}

/**
 * Checks record keys (after the mapping) against the object's fields for `operation`: each must be a field
 * the operation can write, or a parent reference by external ID (`Account.External_Id__c` in CSV, or
 * `{"Account": {"External_Id__c": …}}` in JSON). Returns a checker that remembers the keys it has accepted,
 * so it can run on every record at the cost of a Set lookup.
 */
export function columnChecker(client: SalesforceClient, d: DescribeSObjectResult, operation: PublishOperation, o: DescribeOpts = {}): (record: Record<string, unknown>, where?: string) => Promise<void> {
  const fields = new Map(d.fields.map((f) => [f.name.toLowerCase(), f]));
  const relationships = new Map<string, DescribeField>();
  for (const f of d.fields) if (f.relationshipName) relationships.set(String(f.relationshipName).toLowerCase(), f);
  const accepted = new Set<string>(['attributes']);
  const writable = (f: DescribeField) => operation === 'insert' ? f.createable !== false : operation === 'update' ? f.updateable !== false : f.createable !== false || f.updateable !== false;
  const check = async (key: string, _value: unknown, where: string): Promise<void> => {
    const lower = key.toLowerCase();
    // delete sends the Id only (other columns are ignored).
    if (operation === 'delete' || (lower === 'id' && operation !== 'insert')) return;
    const f = fields.get(lower);
    if (f) {
      if (!writable(f) && !f.externalId) throw new UsageError(`${where}${d.name}.${f.name} cannot be written (${operation === 'update' ? 'updateable' : 'createable'}: false)`, { code: 'FIELD_NOT_WRITABLE', fix: 'drop the column, or map it away with --map (drop:)' });
      return;
    }
    const dot = key.indexOf('.');
    const rel = dot > 0 ? relationships.get(key.slice(0, dot).toLowerCase()) : undefined;
    if (rel) {
      const sub = [key.slice(dot + 1)];
      const parentName = (rel.referenceTo as string[] | undefined)?.[0];
      if (!parentName) return;
      const parent = await describeOf(client, parentName, o);
      for (const s of sub) {
        const pf = parent.fields.find((x) => x.name.toLowerCase() === s.toLowerCase());
        if (!pf) throw unknownField(parent.name, s, parent, `${where}${key}: `);
        if (!(pf.externalId || pf.idLookup)) throw new UsageError(`${where}${key}: ${parent.name}.${pf.name} is not an external ID field, so it cannot reference a parent`, { code: 'NOT_AN_EXTERNAL_ID', fix: `reference the parent by an External ID field (see \`sfbridge describe ${parent.name}\`) or give ${rel.name} as an Id` });
      }
      return;
    }
    throw unknownField(d.name, key, d, where);
  };
  return async (record, where = '') => {
    for (const key of Object.keys(record)) {
      const v = record[key];
      const nested = v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date);
      if (!nested) {
        if (accepted.has(key)) continue;
        await check(key, v, where);
        accepted.add(key);
        continue;
      }
      // A parent reference ({Account: {External_Id__c: …}}): each relationship.field pair is checked once.
      for (const sub of Object.keys(v as object)) {
        const path = `${key}.${sub}`;
        if (accepted.has(path) || sub === 'attributes') continue;
        await check(path, undefined, where);
        accepted.add(path);
      }
    }
  };
}

/**
 * sObject Collections (`/composite/sobjects`): create, update, upsert and delete up to 200 records, and
 * retrieve up to 2,000 by ID, in one API call. Results come back in input order with SaveResult-shaped
 * entries (`statusCode` errors). Writes run synchronously once the body has been read, inside a shared
 * section of the org write lock, so they never land inside another request's open transaction.
 */
import type { Ctx } from '../app.ts';
import { deleteRecord, insertRecord, isPlatformEvent, publishPlatformEvent, requireObject, updateRecord, upsertRecord, type ApiRecord } from '../dml.ts';
import { SfError } from '../errors.ts';
import { json, readJson } from '../http/respond.ts';
import type { Router } from '../http/router.ts';
import { isValidId, normaliseId } from '../ids.ts';
import { toApiRecord } from '../records.ts';
import type { FieldDef, ObjectDef } from '../schema/types.ts';
import { toStorage } from '../store/values.ts';
import { saveAll, type SaveError, type SaveResult } from './save-results.ts';
import { orgWriteLock } from './write-lock.ts';

const V = '/services/data/:version';

/** Most records one create/update/upsert/delete call accepts. */
export const MAX_COLLECTION_RECORDS = 200;
/** Most IDs one retrieve call accepts. */
export const MAX_RETRIEVE_IDS = 2000;
/** Most runs of same-typed records ("chunks") one mixed-type call may contain. */
export const MAX_CHUNKS = 10;

interface CollectionBody {
  allOrNone?: unknown;
  records?: unknown;
}

function tooMany(): SfError {
  return new SfError(400, 'EXCEEDED_ID_LIMIT', `record limit reached. cannot submit more than ${MAX_COLLECTION_RECORDS} records into this call`);
}

/** Collections appeared in v42.0; earlier versions do not have the resource. */
function requireVersion(ctx: Ctx, min: number): void {
  if (Number(ctx.version) < min) throw new SfError(404, 'NOT_FOUND', 'The requested resource does not exist');
}

async function readCollectionBody(ctx: Ctx): Promise<{ allOrNone: boolean; records: ApiRecord[] }> {
  const body = await readJson<CollectionBody>(ctx.req);
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new SfError(400, 'JSON_PARSER_ERROR', 'Cannot deserialize instance of SObjectCollectionRequest from a non-object JSON value');
  }
  if (body.allOrNone !== undefined && typeof body.allOrNone !== 'boolean') {
    throw new SfError(400, 'JSON_PARSER_ERROR', `Cannot deserialize value of type boolean from ${JSON.stringify(body.allOrNone)} at [allOrNone]`);
  }
  if (!Array.isArray(body.records)) throw new SfError(400, 'JSON_PARSER_ERROR', 'The request body must contain a records array');
  if (body.records.length > MAX_COLLECTION_RECORDS) throw tooMany();
  for (const r of body.records) {
    if (r === null || typeof r !== 'object' || Array.isArray(r)) throw new SfError(400, 'JSON_PARSER_ERROR', 'Each entry of records must be a JSON object');
  }
  return { allOrNone: body.allOrNone === true, records: body.records as ApiRecord[] };
}

function typeOf(record: ApiRecord): string | undefined {
  const t = (record.attributes as { type?: unknown } | undefined)?.type;
  return typeof t === 'string' && t !== '' ? t : undefined;
}

/** Resolves `attributes.type` or throws the per-record error a record without a usable type gets. */
function recordType(ctx: Ctx, record: ApiRecord): ObjectDef {
  const t = typeOf(record);
  if (!t) throw new SfError(400, 'INVALID_TYPE', 'Must specify the sObject type in the attributes of each record');
  const def = ctx.org.schema.get(t);
  if (!def) throw new SfError(400, 'INVALID_TYPE', `sObject type '${t}' is not supported.`);
  return def;
}

/** Mixed-type calls are processed in runs of adjacent same-typed records, at most ten of them. */
function checkChunks(records: ApiRecord[]): void {
  let chunks = 0;
  let last: string | undefined;
  for (const r of records) {
    const t = typeOf(r)?.toLowerCase();
    if (chunks === 0 || t !== last) chunks++;
    last = t;
  }
  if (chunks > MAX_CHUNKS) {
    throw new SfError(400, 'INVALID_BATCH_REQUEST', `Cannot have more than ${MAX_CHUNKS} chunks in a single operation. Please rearrange the data to reduce chunking.`);
  }
}

function withoutMeta(record: ApiRecord, ...drop: string[]): ApiRecord {
  const out: ApiRecord = {};
  const skip = new Set(['attributes', ...drop.map((d) => d.toLowerCase())]);
  for (const [k, v] of Object.entries(record)) if (!skip.has(k.toLowerCase())) out[k] = v;
  return out;
}

function idOf(record: ApiRecord): string | undefined {
  for (const [k, v] of Object.entries(record)) if (k.toLowerCase() === 'id' && typeof v === 'string' && v !== '') return v;
  return undefined;
}

function fail(statusCode: string, message: string, fields: string[] = []): SfError {
  return new SfError(400, statusCode, message, fields);
}

/** `allOrNone` query parameter of DELETE (`true`/`false`, case-insensitive). */
function allOrNoneParam(ctx: Ctx): boolean {
  return (ctx.url.searchParams.get('allOrNone') ?? 'false').toLowerCase() === 'true';
}

/** Create: each record carries its own `attributes.type`; mixed types allowed. */
function createAll(ctx: Ctx, records: ApiRecord[], allOrNone: boolean): SaveResult[] {
  return saveAll(ctx.org, records.length, allOrNone, (i) => {
    const def = recordType(ctx, records[i]);
    if (idOf(records[i]) !== undefined) throw fail('INVALID_FIELD', 'Cannot specify Id in an insert call');
    if (isPlatformEvent(def)) {
      const ev = publishPlatformEvent(ctx.org, def, withoutMeta(records[i]));
      return { id: ev.id, success: true, errors: [{ statusCode: 'OPERATION_ENQUEUED', message: ev.uuid, fields: [] }] };
    }
    const id = insertRecord(ctx.org, def, withoutMeta(records[i]));
    return { id, success: true, errors: [] };
  }, (_i, error) => ({ success: false, errors: [error] }));
}

/** Update: every record needs `Id`; the same Id twice in one call fails each occurrence. */
function updateAll(ctx: Ctx, records: ApiRecord[], allOrNone: boolean): SaveResult[] {
  const seen = new Map<string, number>();
  for (const r of records) {
    const id = idOf(r);
    if (id && isValidId(id)) seen.set(normaliseId(id), (seen.get(normaliseId(id)) ?? 0) + 1);
  }
  return saveAll(ctx.org, records.length, allOrNone, (i) => {
    const id = idOf(records[i]);
    if (id === undefined) throw fail('MISSING_ARGUMENT', 'Id not specified in an update call');
    const def = recordType(ctx, records[i]);
    if (!isValidId(id)) throw fail('MALFORMED_ID', `malformed id ${id}`, ['Id']);
    if ((seen.get(normaliseId(id)) ?? 0) > 1) throw fail('DUPLICATE_VALUE', `Duplicate id in list: ${normaliseId(id)}`);
    updateRecord(ctx.org, def, id, withoutMeta(records[i], 'Id'));
    return { id: normaliseId(id), success: true, errors: [] };
  }, (i, error) => {
    const id = idOf(records[i]);
    return id && isValidId(id) ? { id: normaliseId(id), success: false, errors: [error] } : { success: false, errors: [error] };
  });
}

function externalIdField(ctx: Ctx, def: ObjectDef, name: string): FieldDef {
  const f = ctx.org.schema.field(def.name, name);
  if (!f || f.hidden || !(f.externalId || f.idLookup || f.name === 'Id')) {
    throw new SfError(404, 'NOT_FOUND', `Provided external ID field does not exist or is not accessible: ${name}`);
  }
  return f;
}

/** Upsert by external ID: the value is inside each record; results carry `created`. */
function upsertAll(ctx: Ctx, def: ObjectDef, f: FieldDef, records: ApiRecord[], allOrNone: boolean): SaveResult[] {
  for (const r of records) {
    const t = typeOf(r);
    if (t !== undefined && t.toLowerCase() !== def.name.toLowerCase()) {
      throw new SfError(400, 'INVALID_TYPE', `All records in an upsert call must be of type ${def.name}, found ${t}`);
    }
  }
  const valueOf = (r: ApiRecord): unknown => Object.entries(r).find(([k]) => k.toLowerCase() === f.name.toLowerCase())?.[1];
  const counts = new Map<string, number>();
  for (const r of records) {
    const v = valueOf(r);
    if (v === undefined || v === null || v === '') continue;
    const key = String(toStorage(f, v)).toLowerCase();
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return saveAll(ctx.org, records.length, allOrNone, (i) => {
    const r = records[i];
    const v = valueOf(r);
    if (v === undefined || v === null || v === '') throw fail('MISSING_ARGUMENT', `${f.name} not specified`);
    if (f.name !== 'Id' && idOf(r) !== undefined) throw fail('INVALID_FIELD', `Cannot specify Id in an upsert call by ${f.name}`, ['Id']);
    if ((counts.get(String(toStorage(f, v)).toLowerCase()) ?? 0) > 1) throw fail('DUPLICATE_EXTERNAL_ID', `Duplicate external id specified: ${String(v)}`, [f.name]);
    try {
      const { id, created } = upsertRecord(ctx.org, def, f.name, String(v), withoutMeta(r, f.name));
      return { id, success: true, errors: [], created };
    } catch (err) {
      const matches = (err as { matches?: string[] }).matches;
      if (err instanceof SfError && err.status === 300 && matches) {
        throw fail('DUPLICATE_EXTERNAL_ID', `${f.name}: more than one record found for external id field: [${matches.join(', ')}]`, [f.name]);
      }
      throw err;
    }
  }, (_i, error) => ({ success: false, errors: [error], created: false }));
}

/** Delete by ID list; unknown or recycled IDs report ENTITY_IS_DELETED. */
function deleteAll(ctx: Ctx, ids: string[], allOrNone: boolean): SaveResult[] {
  return saveAll(ctx.org, ids.length, allOrNone, (i) => {
    const id = ids[i];
    const def = isValidId(id) ? ctx.org.schema.objectForId(normaliseId(id)) : undefined;
    if (!def) throw fail('MALFORMED_ID', `malformed id ${id}`);
    deleteRecord(ctx.org, def, id);
    return { id: normaliseId(id), success: true, errors: [] };
  }, (i, error: SaveError) => (isValidId(ids[i]) ? { id: normaliseId(ids[i]), success: false, errors: [error] } : { success: false, errors: [error] }));
}

/** Retrieve: records in ID order, `null` for IDs that do not exist, are recycled or are another type. */
function retrieve(ctx: Ctx, def: ObjectDef, ids: string[], fieldNames: string[]): (Record<string, unknown> | null)[] {
  if (fieldNames.length === 0) throw new SfError(400, 'MISSING_ARGUMENT', 'The fields parameter is required');
  if (ids.length > MAX_RETRIEVE_IDS) throw new SfError(400, 'EXCEEDED_ID_LIMIT', `record limit reached. cannot submit more than ${MAX_RETRIEVE_IDS} records into this call`);
  const fields = fieldNames.map((n) => {
    const f = ctx.org.schema.field(def.name, n);
    if (!f || f.hidden) throw new SfError(400, 'INVALID_FIELD', `No such column '${n}' on sobject of type ${def.name}`);
    return f;
  });
  return ids.map((id) => {
    if (!isValidId(id)) throw new SfError(400, 'MALFORMED_ID', `${def.name} ID: id value of incorrect type: ${id}`);
    const full = normaliseId(id);
    if (ctx.org.schema.objectForId(full)?.name !== def.name) return null;
    const row = ctx.org.store.getRow(def, full);
    if (!row || row.IsDeleted === 1) return null;
    return toApiRecord(ctx.org, def, row, fields);
  });
}

function splitList(s: string | null): string[] {
  return (s ?? '').split(',').map((x) => x.trim()).filter(Boolean);
}

/** Registers the `/composite/sobjects` routes. */
export function registerCollectionRoutes(router: Router<Ctx>): void {
  router.on('POST', `${V}/composite/sobjects`, async (ctx) => {
    requireVersion(ctx, 42);
    const { allOrNone, records } = await readCollectionBody(ctx);
    checkChunks(records);
    return json(await orgWriteLock(ctx.org).shared(() => createAll(ctx, records, allOrNone)));
  });

  router.on('PATCH', `${V}/composite/sobjects`, async (ctx) => {
    requireVersion(ctx, 42);
    const { allOrNone, records } = await readCollectionBody(ctx);
    checkChunks(records);
    return json(await orgWriteLock(ctx.org).shared(() => updateAll(ctx, records, allOrNone)));
  });

  router.on('DELETE', `${V}/composite/sobjects`, async (ctx) => {
    requireVersion(ctx, 42);
    const ids = splitList(ctx.url.searchParams.get('ids'));
    if (ids.length === 0) throw new SfError(400, 'MISSING_ARGUMENT', 'The ids parameter is required');
    if (ids.length > MAX_COLLECTION_RECORDS) throw tooMany();
    const allOrNone = allOrNoneParam(ctx);
    return json(await orgWriteLock(ctx.org).shared(() => deleteAll(ctx, ids, allOrNone)));
  });

  router.on('GET', `${V}/composite/sobjects/:object`, (ctx, p) => {
    requireVersion(ctx, 42);
    const def = requireObject(ctx.org, p.object);
    return json(retrieve(ctx, def, splitList(ctx.url.searchParams.get('ids')), splitList(ctx.url.searchParams.get('fields'))));
  });

  // POST variant of retrieve: the ID list travels in the body so 2,000 IDs fit.
  router.on('POST', `${V}/composite/sobjects/:object`, async (ctx, p) => {
    requireVersion(ctx, 42);
    const def = requireObject(ctx.org, p.object);
    const body = await readJson<{ ids?: unknown; fields?: unknown }>(ctx.req);
    const list = (v: unknown, name: string): string[] => {
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new SfError(400, 'JSON_PARSER_ERROR', `${name} must be an array of strings`);
      return v as string[];
    };
    return json(retrieve(ctx, def, list(body?.ids, 'ids'), list(body?.fields, 'fields')));
  });

  router.on('PATCH', `${V}/composite/sobjects/:object/:field`, async (ctx, p) => {
    requireVersion(ctx, 46);
    const def = requireObject(ctx.org, p.object);
    const f = externalIdField(ctx, def, p.field);
    const { allOrNone, records } = await readCollectionBody(ctx);
    return json(await orgWriteLock(ctx.org).shared(() => upsertAll(ctx, def, f, records, allOrNone)));
  });
}

/**
 * sObject resources: describeGlobal, basic info, describe, record CRUD / upsert by external ID, and
 * relationship traversal (`/sobjects/{Obj}/{id}/{RelName}`).
 *
 * Writes run their (synchronous) DML inside a shared section of the org write lock, after the body has been
 * read: that keeps them out of an allOrNone Composite's open savepoint (see composite/write-lock.ts), while
 * Composite subrequests, which run inside that section, pass straight through.
 */
import type { Ctx } from '../app.ts';
import { orgWriteLock } from '../composite/write-lock.ts';
import { describeGlobal, describeGlobalEntry, describeSObject } from '../describe.ts';
import { deleteRecord, insertRecord, isPlatformEvent, publishPlatformEvent, requireLiveRow, requireObject, updateRecord, upsertRecord } from '../dml.ts';
import { SfError } from '../errors.ts';
import { json, noContent } from '../http/respond.ts';
import { blobResponse, readRecordInput } from './files.ts';
import { markViewed } from './ui.ts';
import type { Router } from '../http/router.ts';
import { isValidId, normaliseId } from '../ids.ts';
import { retrieveExternal } from '../external/query.ts';
import { recordUrl, toApiRecord } from '../records.ts';
import type { FieldDef, ObjectDef } from '../schema/types.ts';
import type { StoredRow } from '../store/org-store.ts';
import { toStorage } from '../store/values.ts';

const V = '/services/data/:version';

/** Metadata changes only when the emulator starts, so its start time is the Last-Modified of describe. */
const METADATA_TIME = new Date(Math.floor(Date.now() / 1000) * 1000);

function notModified(ctx: Ctx): boolean {
  const since = ctx.req.headers.get('if-modified-since');
  if (!since) return false;
  const t = Date.parse(since);
  return Number.isFinite(t) && t >= METADATA_TIME.getTime();
}

function objectFromPath(ctx: Ctx, name: string): ObjectDef {
  return requireObject(ctx.org, name);
}


function selectFields(ctx: Ctx, def: ObjectDef): FieldDef[] | undefined {
  const list = ctx.url.searchParams.get('fields');
  if (!list) return undefined;
  return list.split(',').map((n) => n.trim()).filter(Boolean).map((n) => {
    const f = ctx.org.schema.field(def.name, n);
    if (!f || f.hidden) throw new SfError(400, 'INVALID_FIELD', `No such column '${n}' on sobject of type ${def.name}`);
    return f;
  });
}

function externalIdField(ctx: Ctx, def: ObjectDef, name: string): FieldDef {
  const f = ctx.org.schema.field(def.name, name);
  if (!f || f.hidden || !(f.externalId || f.idLookup)) {
    throw new SfError(404, 'NOT_FOUND', `Provided external ID field does not exist or is not accessible: ${name}`);
  }
  return f;
}

function findByExternalId(ctx: Ctx, def: ObjectDef, f: FieldDef, value: string): StoredRow[] {
  return ctx.org.store.findBy(def, f, toStorage(f, value));
}

function multipleChoices(ctx: Ctx, def: ObjectDef, rows: StoredRow[] | string[]): Response {
  const ids = rows.map((r) => (typeof r === 'string' ? r : String(r.Id)));
  return json(ids.map((id) => recordUrl(ctx.org, def, id, ctx.version)), 300);
}

export function registerSObjectRoutes(router: Router<Ctx>): void {
  router.on('GET', `${V}/sobjects`, (ctx) => {
    if (notModified(ctx)) return new Response(null, { status: 304 });
    return json(describeGlobal(ctx.org.schema, ctx.version), 200, { 'last-modified': METADATA_TIME.toUTCString() });
  });

  router.on('GET', `${V}/sobjects/:object`, (ctx, p) => {
    const def = objectFromPath(ctx, p.object);
    // Recent items are the records the user viewed last (LastViewedDate), as `/recent` lists them.
    const viewed = def.fields.some((f) => f.name === 'LastViewedDate');
    const recent = !viewed || def.queryable === false ? [] : ctx.org.store.prepare(`SELECT * FROM "${def.name}" WHERE IsDeleted = 0 AND LastViewedDate IS NOT NULL ORDER BY LastViewedDate DESC LIMIT 10`).all() as StoredRow[];
    const nameField = def.fields.find((f) => f.nameField);
    return json({
      objectDescribe: describeGlobalEntry(def, ctx.version),
      recentItems: def.queryable === false ? [] : recent.map((r) => {
        const rec: Record<string, unknown> = { attributes: { type: def.name, url: recordUrl(ctx.org, def, String(r.Id), ctx.version) }, Id: r.Id };
        if (nameField) rec[nameField.name] = r[nameField.name] ?? null;
        return rec;
      }),
    });
  });

  router.on('GET', `${V}/sobjects/:object/describe`, (ctx, p) => {
    const def = objectFromPath(ctx, p.object);
    if (notModified(ctx)) return new Response(null, { status: 304 });
    return json(describeSObject(ctx.org.schema, def, ctx.version, ctx.baseUrl), 200, { 'last-modified': METADATA_TIME.toUTCString() });
  });

  router.on('POST', `${V}/sobjects/:object`, async (ctx, p) => {
    const def = objectFromPath(ctx, p.object);
    const body = await readRecordInput(ctx, def);
    if (isPlatformEvent(def)) {
      // Events are not records: a dummy id, and the EventUuid in an informational OPERATION_ENQUEUED entry.
      const ev = await orgWriteLock(ctx.org).shared(() => publishPlatformEvent(ctx.org, def, body));
      return json({ id: ev.id, success: true, errors: [{ statusCode: 'OPERATION_ENQUEUED', message: ev.uuid, fields: [] }] }, 201);
    }
    const id = await orgWriteLock(ctx.org).shared(() => insertRecord(ctx.org, def, body));
    return json({ id, success: true, errors: [] }, 201, { location: recordUrl(ctx.org, def, id, ctx.version) });
  });

  // GET/HEAD/PATCH/DELETE by Id, or (when the segment is not an Id) the external-ID forms.
  router.on(['GET', 'HEAD'], `${V}/sobjects/:object/:id`, async (ctx, p) => {
    const def = objectFromPath(ctx, p.object);
    // External objects: by Id or by the external key, a live callout (reference §8.2).
    if (def.external) return json(await retrieveExternal(ctx.org, def, p.id, selectFields(ctx, def)?.map((f) => f.name), ctx.version));
    if (!isValidId(p.id) || !ctx.org.schema.ownsId(def, normaliseId(p.id))) {
      throw new SfError(404, 'NOT_FOUND', `Provided external ID field does not exist or is not accessible: ${p.id}`);
    }
    const row = requireLiveRow(ctx.org, def, p.id);
    const out = json(toApiRecord(ctx.org, def, row, selectFields(ctx, def)));
    if (ctx.req.method === 'GET') markViewed(ctx, def, String(row.Id));
    return out;
  });

  router.on('PATCH', `${V}/sobjects/:object/:id`, async (ctx, p) => {
    const def = objectFromPath(ctx, p.object);
    const body = await readRecordInput(ctx, def);
    await orgWriteLock(ctx.org).shared(() => updateRecord(ctx.org, def, p.id, body));
    return noContent();
  });

  router.on('DELETE', `${V}/sobjects/:object/:id`, async (ctx, p) => {
    const def = objectFromPath(ctx, p.object);
    await orgWriteLock(ctx.org).shared(() => deleteRecord(ctx.org, def, p.id));
    return noContent();
  });

  router.on(['GET', 'HEAD'], `${V}/sobjects/:object/:field/:value`, async (ctx, p) => {
    const def = objectFromPath(ctx, p.object);
    if (def.external && p.field.toLowerCase() === 'externalid') return json(await retrieveExternal(ctx.org, def, p.value, selectFields(ctx, def)?.map((f) => f.name), ctx.version));
    if (isValidId(p.field) && ctx.org.schema.ownsId(def, normaliseId(p.field))) {
      return blobResponse(ctx, def, p.field, p.value) ?? traverseRelationship(ctx, def, p.field, p.value);
    }
    const f = externalIdField(ctx, def, p.field);
    const rows = findByExternalId(ctx, def, f, p.value);
    if (rows.length === 0) throw new SfError(404, 'NOT_FOUND', 'The requested resource does not exist');
    if (rows.length > 1) return multipleChoices(ctx, def, rows);
    return json(toApiRecord(ctx.org, def, rows[0], selectFields(ctx, def)));
  });

  router.on(['PATCH', 'POST'], `${V}/sobjects/:object/:field/:value`, async (ctx, p) => {
    const def = objectFromPath(ctx, p.object);
    const f = externalIdField(ctx, def, p.field);
    const body = await readRecordInput(ctx, def);
    for (const k of Object.keys(body)) {
      if (k.toLowerCase() === f.name.toLowerCase() || (k === 'Id' && f.name !== 'Id')) {
        throw new SfError(400, 'INVALID_FIELD', `Unable to create/update fields: ${k}. The external ID field or Id must not be in the request body when upserting by ${f.name}.`, [k]);
      }
    }
    try {
      const { id, created } = await orgWriteLock(ctx.org).shared(() => {
        // Checked inside the lock so no allOrNone Composite can create the match between check and write.
        if (ctx.url.searchParams.get('updateOnly') === 'true' && findByExternalId(ctx, def, f, p.value).length === 0) {
          throw new SfError(404, 'NOT_FOUND', 'The requested resource does not exist');
        }
        return upsertRecord(ctx.org, def, f.name, p.value, body);
      });
      if (Number(ctx.version) < 46 && !created) return noContent();
      return json(Number(ctx.version) >= 46 ? { id, success: true, errors: [], created } : { id, success: true, errors: [] }, created ? 201 : 200);
    } catch (err) {
      const matches = (err as { matches?: string[] }).matches;
      if (err instanceof SfError && err.status === 300 && matches) return multipleChoices(ctx, def, matches);
      throw err;
    }
  });

  router.on('DELETE', `${V}/sobjects/:object/:field/:value`, async (ctx, p) => {
    const def = objectFromPath(ctx, p.object);
    const f = externalIdField(ctx, def, p.field);
    return orgWriteLock(ctx.org).shared(() => {
      const rows = findByExternalId(ctx, def, f, p.value);
      if (rows.length === 0) throw new SfError(404, 'NOT_FOUND', 'The requested resource does not exist');
      if (rows.length > 1) return multipleChoices(ctx, def, rows);
      deleteRecord(ctx.org, def, String(rows[0].Id));
      return noContent();
    });
  });
}

/**
 * `GET /sobjects/{Obj}/{id}/{RelName}`: a parent relationship (`Account` on Contact, `Owner`) answers with the
 * parent record, 404 when the lookup is empty; a child relationship (`Contacts` on Account) answers with the
 * query-result shape, an empty result when there are no children. `?fields=` applies to the returned records.
 */
function traverseRelationship(ctx: Ctx, def: ObjectDef, id: string, relName: string): Response {
  const row = requireLiveRow(ctx.org, def, id);
  const parentField = ctx.org.schema.relationship(def.name, relName);
  if (parentField) {
    const target = row[parentField.name];
    if (target === null || target === undefined) throw new SfError(404, 'NOT_FOUND', 'The requested resource does not exist');
    // Polymorphic lookups (Owner, What) resolve their type from the key prefix of the stored Id.
    const parentDef = ctx.org.schema.objectForId(String(target));
    const parent = parentDef ? ctx.org.store.getRow(parentDef, String(target)) : undefined;
    if (!parentDef || !parent || parent.IsDeleted === 1) throw new SfError(404, 'NOT_FOUND', 'The requested resource does not exist');
    return json(toApiRecord(ctx.org, parentDef, parent, selectFields(ctx, parentDef)));
  }
  const child = ctx.org.schema.childRelationship(def.name, relName);
  if (!child) throw new SfError(404, 'NOT_FOUND', 'The requested resource does not exist');
  const childDef = objectFromPath(ctx, child.childSObject);
  const fields = selectFields(ctx, childDef);
  // Same visibility as a query: recycled rows and writes still committing (commitDelay) are not listed.
  const rows = ctx.org.store
    .prepare(`SELECT * FROM "${childDef.name}" WHERE "${child.field}" = ? AND IsDeleted = 0 AND _visible_at <= ? ORDER BY CreatedDate, Id`)
    .all(String(row.Id), ctx.org.clock.now()) as StoredRow[];
  return json({ totalSize: rows.length, done: true, records: rows.map((r) => toApiRecord(ctx.org, childDef, r, fields)) });
}

/**
 * List views (`/sobjects/{X}/listviews`, `/listviews/{id}`, `/listviews/{id}/describe`, `/listviews/{id}/results`,
 * `/listviews/recent`): the standard views a new org has for each object (All, My, New This Week, New Last
 * Week, Recently Viewed), whose results run their SOQL through the emulator's query engine.
 */
import type { Ctx } from '../app.ts';
import { describeField } from '../describe.ts';
import { requireObject } from '../dml.ts';
import { SfError } from '../errors.ts';
import { json } from '../http/respond.ts';
import type { Router } from '../http/router.ts';
import type { FieldDef, ObjectDef } from '../schema/types.ts';
import { prepareQuery } from '../soql/index.ts';
import { isUiObject, keyFields, metadataId } from './ui-metadata.ts';

const V = '/services/data/:version';

interface ListView {
  id: string;
  developerName: string;
  label: string;
  scope: 'everything' | 'mine' | null;
  /** SOQL condition, or null for every record. */
  where: string | null;
  orderBy: { field: string; direction: 'ascending' | 'descending' }[];
}

function listViews(ctx: Ctx, def: ObjectDef): ListView[] {
  const plural = def.labelPlural;
  const name = def.fields.find((f) => f.nameField && !f.hidden)?.name ?? 'Id';
  const owned = def.fields.some((f) => f.name === 'OwnerId');
  const compact = plural.replace(/[^A-Za-z0-9]/g, '');
  const byName = [{ field: name, direction: 'ascending' as const }];
  const views: Omit<ListView, 'id'>[] = [
    { developerName: `All${compact}`, label: `All ${plural}`, scope: 'everything', where: null, orderBy: byName },
    ...(owned ? [{ developerName: `My${compact}`, label: `My ${plural}`, scope: 'mine' as const, where: null, orderBy: byName }] : []),
    { developerName: 'NewThisWeek', label: 'New This Week', scope: null, where: 'CreatedDate = THIS_WEEK', orderBy: byName },
    { developerName: 'NewLastWeek', label: 'New Last Week', scope: null, where: 'CreatedDate = LAST_WEEK', orderBy: byName },
  ];
  if (def.fields.some((f) => f.name === 'LastViewedDate')) {
    views.push({ developerName: `RecentlyViewed${compact}`, label: `Recently Viewed ${plural}`, scope: null, where: 'LastViewedDate != NULL', orderBy: [{ field: 'LastViewedDate', direction: 'descending' }] });
  }
  return views.map((v, i) => ({ ...v, id: metadataId(ctx.org, '00B', def, i + 1) }));
}

function uiObject(ctx: Ctx, name: string): ObjectDef {
  const def = requireObject(ctx.org, name);
  if (!isUiObject(def)) throw new SfError(404, 'NOT_FOUND', 'The requested resource does not exist');
  return def;
}

function findView(ctx: Ctx, def: ObjectDef, id: string): ListView {
  const v = listViews(ctx, def).find((x) => x.id === id || x.id.slice(0, 15) === id);
  if (!v) throw new SfError(404, 'NOT_FOUND', 'The requested resource does not exist');
  return v;
}

function entry(ctx: Ctx, def: ObjectDef, v: ListView) {
  const url = `/services/data/v${ctx.version}/sobjects/${def.name}/listviews/${v.id}`;
  return { describeUrl: `${url}/describe`, developerName: v.developerName, id: v.id, label: v.label, resultsUrl: `${url}/results`, soqlCompatible: true, url };
}

/** The SELECT item of a column: lookups show the parent's name (`Owner.Alias`, `Account.Name`). */
function columnPath(ctx: Ctx, def: ObjectDef, f: FieldDef): { path: string; label: string; type: string } {
  if (f.type === 'reference' && f.relationshipName && f.referenceTo?.length === 1) {
    const target = ctx.org.schema.get(f.referenceTo[0]);
    const shown = f.name === 'OwnerId' ? 'Alias' : target?.fields.find((x) => x.nameField)?.name;
    if (target && shown && ctx.org.schema.field(target.name, shown)) {
      const label = f.name === 'OwnerId' ? `${def.label} Owner Alias` : describeField(f, def).label.replace(/ ID$/, ' Name');
      return { path: `${f.relationshipName}.${shown}`, label, type: 'string' };
    }
  }
  return { path: f.name, label: describeField(f, def).label, type: f.type };
}

function columns(ctx: Ctx, def: ObjectDef, v: ListView) {
  const sortLabels = (type: string): [string | null, string | null] => (['int', 'double', 'currency', 'percent'].includes(type) ? ['Low to High', 'High to Low'] : ['date', 'datetime'].includes(type) ? ['Old to New', 'New to Old'] : ['Z-A', 'A-Z']);
  const shown = keyFields(ctx.org, def).map((f) => {
    const c = columnPath(ctx, def, f);
    const sort = v.orderBy.findIndex((o) => o.field === f.name);
    const [asc, desc] = sortLabels(c.type);
    return { ascendingLabel: asc, descendingLabel: desc, fieldNameOrPath: c.path, hidden: false, label: c.label, searchable: ['string', 'email', 'phone', 'textarea'].includes(c.type), selectListItem: f.type === 'picklist' ? `toLabel(${c.path})` : c.path, sortDirection: sort >= 0 ? v.orderBy[sort].direction : null, sortIndex: sort >= 0 ? sort : null, sortable: true, type: c.type };
  });
  // Salesforce adds the Id and audit columns as hidden columns.
  const hidden = ['Id', 'CreatedDate', 'LastModifiedDate', 'SystemModstamp'].filter((n) => def.fields.some((f) => f.name === n)).map((n) => {
    const f = ctx.org.schema.field(def.name, n)!;
    const [asc, desc] = sortLabels(f.type);
    return { ascendingLabel: asc, descendingLabel: desc, fieldNameOrPath: n, hidden: true, label: describeField(f, def).label, searchable: false, selectListItem: n, sortDirection: null, sortIndex: null, sortable: true, type: f.type };
  });
  return [...shown, ...hidden];
}

function whereClause(ctx: Ctx, v: ListView): string[] {
  const parts: string[] = [];
  if (v.where) parts.push(v.where);
  if (v.scope === 'mine') parts.push(`OwnerId = '${ctx.session!.userId}'`);
  return parts;
}

function soqlFor(ctx: Ctx, def: ObjectDef, v: ListView): string {
  const select = columns(ctx, def, v).map((c) => c.selectListItem).join(', ');
  const where = whereClause(ctx, v);
  const order = [...v.orderBy.map((o) => `${o.field} ${o.direction === 'ascending' ? 'ASC' : 'DESC'} NULLS ${o.direction === 'ascending' ? 'FIRST' : 'LAST'}`), 'Id ASC NULLS FIRST'].join(', ');
  return `SELECT ${select} FROM ${def.name}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${order}`;
}

/** The SOQL of a list view by its Id (any object), for `query?explain=` — undefined when no view has that Id. */
export function listViewSoql(ctx: Ctx, id: string): string | undefined {
  for (const def of ctx.org.schema.all()) {
    if (!isUiObject(def)) continue;
    const v = listViews(ctx, def).find((x) => x.id === id || x.id.slice(0, 15) === id);
    if (v) return soqlFor(ctx, def, v);
  }
  return undefined;
}

/** Column values are strings (or null), as list view results carry them; paths read nested parents. */
function cellValue(rec: Record<string, unknown>, path: string): string | null {
  let v: unknown = rec;
  for (const part of path.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[part] : null;
  return v === null || v === undefined ? null : String(v);
}

export function registerListViewRoutes(router: Router<Ctx>): void {
  router.on('GET', `${V}/sobjects/:object/listviews`, (ctx, p) => {
    const def = uiObject(ctx, p.object);
    const views = listViews(ctx, def).map((v) => entry(ctx, def, v));
    return json({ done: true, listviews: views, nextRecordsUrl: null, size: views.length, sobjectType: def.name });
  });
  // The list views the user used most recently (the emulator's user opens them through the API only).
  router.on('GET', `${V}/sobjects/:object/listviews/recent`, (ctx, p) => {
    const def = uiObject(ctx, p.object);
    const views = listViews(ctx, def).slice(0, 2).map((v) => entry(ctx, def, v));
    return json({ done: true, listviews: views, nextRecordsUrl: null, size: views.length, sobjectType: def.name });
  });
  router.on('GET', `${V}/sobjects/:object/listviews/:id`, (ctx, p) => {
    const def = uiObject(ctx, p.object);
    return json(entry(ctx, def, findView(ctx, def, p.id)));
  });
  router.on('GET', `${V}/sobjects/:object/listviews/:id/describe`, (ctx, p) => {
    const def = uiObject(ctx, p.object);
    const v = findView(ctx, def, p.id);
    const where = whereClause(ctx, v);
    return json({
      columns: columns(ctx, def, v), id: v.id,
      orderBy: [...v.orderBy.map((o) => ({ fieldNameOrPath: o.field, nullsPosition: o.direction === 'ascending' ? 'first' : 'last', sortDirection: o.direction })), { fieldNameOrPath: 'Id', nullsPosition: 'first', sortDirection: 'ascending' }],
      query: soqlFor(ctx, def, v), relatedEntityId: null, scope: v.scope, scopeEntityId: null, sobjectType: def.name,
      whereCondition: where.length ? { conditions: where.map((w) => ({ text: w })), conjunction: 'and' } : { conditions: [], conjunction: 'and' },
    });
  });
  router.on('GET', `${V}/sobjects/:object/listviews/:id/results`, (ctx, p) => {
    const def = uiObject(ctx, p.object);
    const v = findView(ctx, def, p.id);
    const limit = Number(ctx.url.searchParams.get('limit') ?? 25);
    const offset = Number(ctx.url.searchParams.get('offset') ?? 0);
    if (!Number.isInteger(limit) || limit < 1 || limit > 2000) throw new SfError(400, 'INVALID_PARAMETER_VALUE', `limit must be between 1 and 2000: ${ctx.url.searchParams.get('limit')}`);
    if (!Number.isInteger(offset) || offset < 0) throw new SfError(400, 'INVALID_PARAMETER_VALUE', `offset must be 0 or more: ${ctx.url.searchParams.get('offset')}`);
    const cols = columns(ctx, def, v);
    const prepared = prepareQuery(ctx.org, soqlFor(ctx, def, v).replace(/toLabel\(([^)]+)\)/g, '$1'));
    const size = prepared.count();
    const records: { columns: { fieldNameOrPath: string; value: string | null }[] }[] = [];
    let i = 0;
    for (const rec of prepared.rows()) {
      if (i++ < offset) continue;
      if (records.length >= limit) break;
      records.push({ columns: cols.map((c) => ({ fieldNameOrPath: c.fieldNameOrPath, value: cellValue(rec, c.fieldNameOrPath) })) });
    }
    return json({ columns: cols, developerName: v.developerName, done: offset + records.length >= size, id: v.id, label: v.label, records, size });
  });
}

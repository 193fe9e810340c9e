/**
 * Quick actions: the global create actions of a new org (`/quickActions`: NewAccount, NewCase, NewContact,
 * NewEvent, NewLead, NewOpportunity, NewTask, LogACall) and, per object, a create action for each related
 * object (`/sobjects/Account/quickActions`: `Account.NewContact` …, which fills the lookup to the context
 * record). `GET …/{name}` or `…/describe` describes one, `…/defaultValues[/{contextId}]` gives its defaults,
 * `POST …/{name}` with `{contextId, record}` runs it: the record is created through dml.ts.
 */
import type { Ctx } from '../app.ts';
import { orgWriteLock } from '../composite/write-lock.ts';
import { describeField } from '../describe.ts';
import { insertRecord, requireLiveRow, requireObject, type ApiRecord } from '../dml.ts';
import { SfError } from '../errors.ts';
import { json, readJson } from '../http/respond.ts';
import type { Router } from '../http/router.ts';
import type { ObjectDef } from '../schema/types.ts';
import { keyFields } from './ui-metadata.ts';

const V = '/services/data/:version';

interface QuickAction {
  name: string;
  label: string;
  type: 'Create' | 'LogACall';
  target: string;
  /** The lookup on the target filled with the context record (object-specific actions). */
  parentField: string | null;
  /** Values the created record always gets (LogACall: a completed call). */
  preset: ApiRecord;
}

const GLOBAL: QuickAction[] = [
  ...['Account', 'Case', 'Contact', 'Event', 'Lead', 'Opportunity', 'Task'].map((t) => ({ name: `New${t}`, label: `New ${t}`, type: 'Create' as const, target: t, parentField: null, preset: {} })),
  { name: 'LogACall', label: 'Log a Call', type: 'LogACall', target: 'Task', parentField: null, preset: { Subject: 'Call', Status: 'Completed', TaskSubtype: 'Call' } },
];

/** Related objects an object-specific action can create, with the lookup that points back. */
const CHILD_ACTIONS = ['Contact', 'Opportunity', 'Case', 'Task', 'Event', 'Lead'];

function objectActions(ctx: Ctx, def: ObjectDef): QuickAction[] {
  const own: QuickAction[] = [];
  for (const child of CHILD_ACTIONS) {
    const rel = ctx.org.schema.childRelationships(def.name).find((c) => c.childSObject === child);
    if (!rel || child === def.name) continue;
    own.push({ name: `${def.name}.New${child}`, label: `New ${child}`, type: 'Create', target: child, parentField: rel.field, preset: {} });
  }
  return [...own, ...GLOBAL];
}

function entry(ctx: Ctx, base: string, a: QuickAction) {
  const url = `${base}/quickActions/${a.name}`;
  return { actionEnumOrId: a.name, label: a.label, name: a.name, type: a.type, urls: { defaultValues: `${url}/defaultValues`, quickAction: url, describe: `${url}/describe`, defaultValuesTemplate: `${url}/defaultValues/{ID}` } };
}

function describe(ctx: Ctx, context: ObjectDef | null, a: QuickAction) {
  const target = requireObject(ctx.org, a.target);
  const fields = keyFields(ctx.org, target).filter((f) => f.name !== 'OwnerId' && f.name !== a.parentField && describeField(f, target).createable);
  const rows = [];
  for (let i = 0; i < fields.length; i += 2) {
    const items = fields.slice(i, i + 2).map((f, k) => {
      const d = describeField(f, target);
      return { editableForNew: true, editableForUpdate: d.updateable, label: d.label, layoutComponents: [{ details: d, displayLines: 1, tabOrder: i + k + 1, type: 'Field', value: f.name }], placeholder: false, required: !d.nillable && !d.defaultedOnCreate };
    });
    rows.push({ layoutItems: items, numItems: items.length });
  }
  return {
    accessLevelRequired: null, actionEnumOrId: a.name, canvasApplicationId: null, canvasApplicationName: null, colors: [], contextSobjectType: context?.name ?? null,
    defaultValues: null, flowDevName: null, flowRecordIdVar: null, height: null, iconName: null, iconUrl: null, icons: [], label: a.label,
    layout: { layoutRows: rows, useHeading: false, useCollapsibleSection: false, heading: null, columns: 2, rows: rows.length, tabOrder: 'LeftToRight', collapsed: false, layoutSectionId: null, parentLayoutId: null },
    lightningComponentBundleId: null, lightningComponentBundleName: null, lightningComponentQualifiedName: null, miniIconUrl: null, mobileExtensionDisplayMode: null, mobileExtensionId: null,
    name: a.name, showQuickActionLcHeader: false, showQuickActionVfHeader: false, targetParentField: a.parentField, targetRecordTypeId: null, targetSobjectType: a.target, type: a.type,
    visualforcePageName: null, visualforcePageUrl: null, width: null,
  };
}

function defaults(ctx: Ctx, a: QuickAction, contextId: string | null) {
  const record: ApiRecord = { attributes: { type: a.target }, ...a.preset };
  if (a.parentField && contextId) record[a.parentField] = contextId;
  return record;
}

function find(list: QuickAction[], name: string): QuickAction {
  const a = list.find((x) => x.name.toLowerCase() === name.toLowerCase() || x.name.toLowerCase() === `global.${name.toLowerCase()}` || `global.${x.name.toLowerCase()}` === name.toLowerCase());
  if (!a) throw new SfError(404, 'NOT_FOUND', 'The requested resource does not exist');
  return a;
}

async function invoke(ctx: Ctx, context: ObjectDef | null, a: QuickAction): Promise<Response> {
  const body = await readJson<{ contextId?: unknown; record?: unknown }>(ctx.req);
  if (!body || typeof body !== 'object' || !body.record || typeof body.record !== 'object' || Array.isArray(body.record)) {
    throw new SfError(400, 'JSON_PARSER_ERROR', 'The request body must be {"contextId": "…", "record": {…fields…}}');
  }
  const contextId = typeof body.contextId === 'string' && body.contextId ? body.contextId : null;
  if (a.parentField && !contextId) throw new SfError(400, 'REQUIRED_FIELD_MISSING', `${a.name} needs a contextId: the ${context?.name} record the new ${a.target} belongs to`, ['contextId']);
  if (contextId && context) requireLiveRow(ctx.org, context, contextId);
  const { attributes: _a, ...fields } = body.record as ApiRecord;
  const record = { ...defaults(ctx, a, contextId), ...fields };
  delete record.attributes;
  const target = requireObject(ctx.org, a.target);
  const id = await orgWriteLock(ctx.org).shared(() => insertRecord(ctx.org, target, record));
  return json({ contextId, created: true, errors: [], feedItemIds: null, id, ids: [id], success: true, successMessage: `${target.label} created` }, 201);
}

export function registerQuickActionRoutes(router: Router<Ctx>): void {
  const globalBase = (ctx: Ctx) => `/services/data/v${ctx.version}`;
  router.on('GET', `${V}/quickActions`, (ctx) => json(GLOBAL.map((a) => entry(ctx, globalBase(ctx), a))));
  router.on('GET', `${V}/quickActions/:name`, (ctx, p) => json(describe(ctx, null, find(GLOBAL, p.name))));
  router.on('GET', `${V}/quickActions/:name/describe`, (ctx, p) => json(describe(ctx, null, find(GLOBAL, p.name))));
  router.on('GET', `${V}/quickActions/:name/defaultValues`, (ctx, p) => json(defaults(ctx, find(GLOBAL, p.name), null)));
  router.on('POST', `${V}/quickActions/:name`, (ctx, p) => invoke(ctx, null, find(GLOBAL, p.name)));

  const objBase = (ctx: Ctx, def: ObjectDef) => `/services/data/v${ctx.version}/sobjects/${def.name}`;
  router.on('GET', `${V}/sobjects/:object/quickActions`, (ctx, p) => {
    const def = requireObject(ctx.org, p.object);
    return json(objectActions(ctx, def).map((a) => entry(ctx, objBase(ctx, def), a)));
  });
  router.on('GET', `${V}/sobjects/:object/quickActions/:name`, (ctx, p) => {
    const def = requireObject(ctx.org, p.object);
    return json(describe(ctx, def, find(objectActions(ctx, def), p.name)));
  });
  router.on('GET', `${V}/sobjects/:object/quickActions/:name/describe`, (ctx, p) => {
    const def = requireObject(ctx.org, p.object);
    return json(describe(ctx, def, find(objectActions(ctx, def), p.name)));
  });
  router.on('GET', `${V}/sobjects/:object/quickActions/:name/defaultValues`, (ctx, p) => {
    const def = requireObject(ctx.org, p.object);
    return json(defaults(ctx, find(objectActions(ctx, def), p.name), null));
  });
  router.on('GET', `${V}/sobjects/:object/quickActions/:name/defaultValues/:contextId`, (ctx, p) => {
    const def = requireObject(ctx.org, p.object);
    requireLiveRow(ctx.org, def, p.contextId);
    return json(defaults(ctx, find(objectActions(ctx, def), p.name), p.contextId));
  });
  router.on('POST', `${V}/sobjects/:object/quickActions/:name`, (ctx, p) => {
    const def = requireObject(ctx.org, p.object);
    return invoke(ctx, def, find(objectActions(ctx, def), p.name));
  });
}

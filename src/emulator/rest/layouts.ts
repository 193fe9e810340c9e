/**
 * Page layouts (`/sobjects/{X}/describe/layouts[/{recordTypeId}]`) and compact layouts
 * (`/sobjects/{X}/describe/compactLayouts[/primary]`, `/compactLayouts?q=A,B`), built from the schema: a
 * detail and an edit section of the object's fields two to a row, a system section, the related lists of
 * its child relationships, and record type mappings with each picklist's values.
 */
import type { Ctx } from '../app.ts';
import { describeField, MASTER_RECORD_TYPE_ID } from '../describe.ts';
import { requireObject } from '../dml.ts';
import { SfError } from '../errors.ts';
import { json } from '../http/respond.ts';
import type { Router } from '../http/router.ts';
import type { FieldDef, ObjectDef } from '../schema/types.ts';
import { isUiObject, keyFields, metadataId } from './ui-metadata.ts';

const V = '/services/data/:version';

function uiObject(ctx: Ctx, name: string): ObjectDef {
  const def = requireObject(ctx.org, name);
  if (!isUiObject(def)) throw new SfError(404, 'NOT_FOUND', 'The requested resource does not exist');
  return def;
}

const SYSTEM_FIELDS = new Set(['CreatedById', 'LastModifiedById']);

/** Fields a page layout shows: visible, not bookkeeping, compound parts shown through their compound field. */
function layoutFields(def: ObjectDef): FieldDef[] {
  return def.fields.filter((f) => !f.hidden && !f.compoundFieldName && f.type !== 'base64' && !['Id', 'IsDeleted', 'SystemModstamp', 'CreatedDate', 'LastModifiedDate', 'MasterRecordId'].includes(f.name) && !SYSTEM_FIELDS.has(f.name) && !/^(LastViewedDate|LastReferencedDate|Jigsaw|JigsawCompanyId|JigsawContactId)$/.test(f.name));
}

function button(name: string, label: string) {
  return { behavior: null, colors: null, content: null, contentSource: null, custom: false, encoding: null, height: null, icons: null, label, menubar: false, name, overridden: false, resizeable: false, scrollbars: false, showsLocation: false, showsStatus: false, toolbar: false, url: null, width: null, windowPosition: null };
}

function section(ctx: Ctx, def: ObjectDef, layoutId: string, n: number, heading: string, fields: FieldDef[], edit: boolean) {
  const rows = [];
  let tab = 0;
  for (let i = 0; i < fields.length; i += 2) {
    const items = fields.slice(i, i + 2).map((f) => {
      const d = describeField(f, def);
      return {
        editableForNew: edit && d.createable, editableForUpdate: edit && d.updateable, label: d.label,
        layoutComponents: [{ details: d, displayLines: f.type === 'textarea' || f.type === 'address' ? 3 : 1, tabOrder: ++tab, type: 'Field', value: f.name }],
        placeholder: false, required: edit && !d.nillable && d.createable && !d.defaultedOnCreate,
      };
    });
    rows.push({ layoutItems: items, numItems: items.length });
  }
  return { collapsed: false, columns: 2, heading, layoutRows: rows, layoutSectionId: metadataId(ctx.org, '01B', def, n), parentLayoutId: layoutId, rows: rows.length, tabOrder: 'TopToBottom', useCollapsibleSection: false, useHeading: true };
}

function relatedLists(ctx: Ctx, def: ObjectDef) {
  return ctx.org.schema.childRelationships(def.name).filter((c) => c.relationshipName).flatMap((c) => {
    const child = ctx.org.schema.get(c.childSObject)!;
    if (!isUiObject(child) && !child.subqueryOnly) return [];
    const cols = keyFields(ctx.org, child).filter((f) => f.name !== c.field).slice(0, 4).map((f) => ({ field: `${child.name}.${f.name}`, fieldApiName: f.name, format: f.type === 'date' || f.type === 'datetime' ? f.type : null, label: describeField(f, child).label, lookupId: f.type === 'reference' ? f.name : null, name: f.name, sortable: true }));
    return [{ accessLevelRequiredForCreate: null, buttons: [], columns: cols, custom: child.custom ?? false, field: c.field, label: child.labelPlural, limitRows: 5, name: c.relationshipName, sobject: child.name, sort: [] }];
  });
}

function layout(ctx: Ctx, def: ObjectDef) {
  const id = metadataId(ctx.org, '00h', def, 1);
  const fields = layoutFields(def);
  const system = def.fields.filter((f) => SYSTEM_FIELDS.has(f.name));
  const heading = `${def.label} Information`;
  return {
    buttonLayoutSection: { detailButtons: [button('Edit', 'Edit'), ...(def.deletable === false ? [] : [button('Delete', 'Delete')]), button('Clone', 'Clone')] },
    detailLayoutSections: [section(ctx, def, id, 1, heading, fields, false), section(ctx, def, id, 2, 'System Information', system, false)],
    editLayoutSections: [section(ctx, def, id, 3, heading, fields.filter((f) => describeField(f, def).createable || describeField(f, def).updateable), true)],
    feedView: null, highlightsPanelLayoutSection: null, id, multirowEditLayoutSections: [], offlineLinks: [],
    quickActionList: { quickActionListItems: [] }, relatedContent: null, relatedLists: relatedLists(ctx, def), saveOptions: [],
  };
}

function recordTypeMapping(ctx: Ctx, def: ObjectDef) {
  const picklists = def.fields.filter((f) => !f.hidden && (f.type === 'picklist' || f.type === 'multipicklist')).map((f) => ({ picklistName: f.name, picklistValues: describeField(f, def).picklistValues }));
  return {
    active: true, available: true, defaultRecordTypeMapping: true, developerName: 'Master', layoutId: metadataId(ctx.org, '00h', def, 1), master: true, name: 'Master',
    picklistsForRecordType: picklists, recordTypeId: MASTER_RECORD_TYPE_ID, urls: { layout: `/services/data/v${ctx.version}/sobjects/${def.name}/describe/layouts/${MASTER_RECORD_TYPE_ID}` },
  };
}

function compactLayout(ctx: Ctx, def: ObjectDef) {
  const fields = keyFields(ctx.org, def).slice(0, 4);
  return {
    actions: [button('Edit', 'Edit'), ...(def.deletable === false ? [] : [button('Delete', 'Delete')])],
    fieldItems: fields.map((f, i) => {
      const d = describeField(f, def);
      return { editableForNew: d.createable, editableForUpdate: d.updateable, label: d.label, layoutComponents: [{ details: d, displayLines: 1, tabOrder: i + 1, type: 'Field', value: f.name }], placeholder: false, required: false };
    }),
    id: null, imageItems: [], label: 'System Default', name: 'SYSTEM', objectType: def.name,
  };
}

function compactLayouts(ctx: Ctx, def: ObjectDef) {
  return {
    compactLayouts: [compactLayout(ctx, def)], defaultCompactLayoutId: null,
    recordTypeCompactLayoutMappings: [{ available: true, compactLayoutId: null, compactLayoutName: 'SYSTEM', recordTypeId: MASTER_RECORD_TYPE_ID, recordTypeName: 'Master', urls: { compactLayout: `/services/data/v${ctx.version}/sobjects/${def.name}/describe/compactLayouts/${MASTER_RECORD_TYPE_ID}` } }],
  };
}

export function registerLayoutRoutes(router: Router<Ctx>): void {
  router.on('GET', `${V}/sobjects/:object/describe/layouts`, (ctx, p) => {
    const def = uiObject(ctx, p.object);
    return json({ layouts: [layout(ctx, def)], recordTypeMappings: [recordTypeMapping(ctx, def)], recordTypeSelectorRequired: [false] });
  });
  router.on('GET', `${V}/sobjects/:object/describe/layouts/:recordTypeId`, (ctx, p) => {
    const def = uiObject(ctx, p.object);
    if (p.recordTypeId !== MASTER_RECORD_TYPE_ID && p.recordTypeId !== MASTER_RECORD_TYPE_ID.slice(0, 15) && !(def.recordTypes ?? []).some((r) => r.id === p.recordTypeId)) {
      throw new SfError(404, 'NOT_FOUND', 'The requested resource does not exist');
    }
    return json(layout(ctx, def));
  });
  router.on('GET', `${V}/sobjects/:object/describe/compactLayouts`, (ctx, p) => json(compactLayouts(ctx, uiObject(ctx, p.object))));
  router.on('GET', `${V}/sobjects/:object/describe/compactLayouts/primary`, (ctx, p) => json(compactLayout(ctx, uiObject(ctx, p.object))));
  router.on('GET', `${V}/sobjects/:object/describe/compactLayouts/:recordTypeId`, (ctx, p) => {
    if (p.recordTypeId !== MASTER_RECORD_TYPE_ID && p.recordTypeId !== MASTER_RECORD_TYPE_ID.slice(0, 15)) throw new SfError(404, 'NOT_FOUND', 'The requested resource does not exist');
    return json(compactLayout(ctx, uiObject(ctx, p.object)));
  });
  // `/compactLayouts?q=Account,Contact`: the primary compact layout of each named object.
  router.on('GET', `${V}/compactLayouts`, (ctx) => {
    const names = (ctx.url.searchParams.get('q') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    if (names.length === 0) throw new SfError(400, 'MISSING_ARGUMENT', 'q is required: a comma-separated list of objects, e.g. ?q=Account,Contact');
    return json(Object.fromEntries(names.map((n) => {
      const def = uiObject(ctx, n);
      return [def.name, compactLayout(ctx, def)];
    })));
  });
}

/**
 * Per-object UI metadata every org has, derived from the schema: which fields a layout, a compact layout
 * and a list view show. One place so layouts, list views and quick actions agree on an object's key fields.
 */
import { makeId } from '../ids.ts';
import type { Org } from '../org.ts';
import type { FieldDef, ObjectDef } from '../schema/types.ts';

/** The key fields of the main objects, in the order their standard page layouts and list views show them. */
const KEY_FIELDS: Record<string, string[]> = {
  Account: ['Name', 'Site', 'BillingState', 'Phone', 'Type', 'OwnerId'],
  Contact: ['Name', 'AccountId', 'Title', 'Phone', 'Email', 'OwnerId'],
  Lead: ['Name', 'Company', 'State', 'Email', 'Status', 'OwnerId'],
  Opportunity: ['Name', 'AccountId', 'Amount', 'CloseDate', 'StageName', 'OwnerId'],
  Case: ['CaseNumber', 'ContactId', 'Subject', 'Status', 'Priority', 'OwnerId'],
  Campaign: ['Name', 'ParentId', 'Type', 'Status', 'StartDate', 'OwnerId'],
  Task: ['Subject', 'WhoId', 'WhatId', 'ActivityDate', 'Status', 'OwnerId'],
  Event: ['Subject', 'WhoId', 'WhatId', 'StartDateTime', 'EndDateTime', 'OwnerId'],
  User: ['Name', 'Alias', 'Username', 'Email', 'ProfileId', 'IsActive'],
};

/** Fields a layout or list view shows for an object: its key fields, else its name field and a few others. */
export function keyFields(org: Org, def: ObjectDef): FieldDef[] {
  const names = KEY_FIELDS[def.name];
  const visible = def.fields.filter((f) => !f.hidden);
  if (names) return names.map((n) => org.schema.field(def.name, n)).filter((f): f is FieldDef => !!f && !f.hidden);
  const name = visible.find((f) => f.nameField);
  const rest = visible.filter((f) => !f.system && !f.nameField && f.type !== 'address' && f.type !== 'textarea' && f.type !== 'base64' && !f.compoundFieldName).slice(0, 4);
  return [...(name ? [name] : []), ...rest, ...visible.filter((f) => f.name === 'OwnerId')];
}

/** A stable Id for an object's n-th piece of metadata (list view `00B`, layout `00h`, compact layout `0AH`). */
export function metadataId(org: Org, prefix: string, def: ObjectDef, n: number): string {
  const index = org.schema.all().findIndex((o) => o.name === def.name);
  return makeId(prefix, (index + 1) * 100 + n);
}

/** Objects that have layouts, list views and tabs: layoutable, queryable, with records of their own here. */
export function isUiObject(def: ObjectDef): boolean {
  return !def.external && def.layoutable !== false && def.queryable !== false && !def.view && !def.associateEntityType && def.keyPrefix !== null;
}

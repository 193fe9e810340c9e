/**
 * Change Data Capture entities (`AccountChangeEvent` …) as describe shows them: listed by describeGlobal
 * with `associateEntityType: "ChangeEvent"`, not queryable, not writable; subscribers receive them on
 * `/data/<Object>ChangeEvent` channels.
 */
import type { FieldDef, ObjectDef } from '../types.ts';

/** Derived fields Salesforce leaves out of change events (no roll-up summaries are emulated). */
const DERIVED = new Set(['LastActivityDate', 'PhotoUrl', 'LastViewedDate', 'LastReferencedDate']);

/**
 * True for the fields a change event carries: Id and IsDeleted travel in the header, SystemModstamp,
 * formulas, hidden and derived fields never do.
 */
export function isChangeEventField(f: FieldDef): boolean {
  return !(f.hidden || f.formula || f.calculated || f.name === 'Id' || f.name === 'IsDeleted' || f.name === 'SystemModstamp' || DERIVED.has(f.name) || f.type === 'base64');
}

/** Builds the change-event entity for an object: its header, replay ID and the object's fields, read-only. */
export function changeEventFor(parent: ObjectDef): ObjectDef {
  const fields: FieldDef[] = [
    { name: 'Id', type: 'id', length: 18, createable: false, updateable: false, nillable: false, defaultedOnCreate: true, filterable: false, sortable: false, groupable: false },
    { name: 'ReplayId', type: 'string', length: 255, createable: false, updateable: false, filterable: false, sortable: false, groupable: false },
    { name: 'ChangeEventHeader', type: 'complexvalue', label: 'Change Event Header', createable: false, updateable: false, nillable: false, filterable: false, sortable: false, groupable: false },
  ];
  for (const f of parent.fields) {
    if (!isChangeEventField(f)) continue;
    const { childRelationshipName: _child, cascadeDelete: _cascade, system: _system, ...rest } = f;
    fields.push({ ...rest, createable: false, updateable: false, filterable: false, sortable: false, groupable: false, aggregatable: false, idLookup: false, unique: false, externalId: false });
  }
  return {
    name: parent.name.endsWith('__c') ? `${parent.name.slice(0, -3)}__ChangeEvent` : `${parent.name}ChangeEvent`, label: `${parent.label} Change Event`, labelPlural: `${parent.label} Change Events`, keyPrefix: null,
    associateEntityType: 'ChangeEvent', associateParentEntity: parent.name,
    queryable: false, createable: false, updateable: false, deletable: false, undeletable: false, retrieveable: false, replicateable: false,
    searchable: false, layoutable: false, triggerable: true, feedEnabled: false, mergeable: false,
    fields,
  };
}

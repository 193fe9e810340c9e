/**
 * Change Data Capture entities (`AccountChangeEvent` …) as describe shows them: listed by describeGlobal
 * with `associateEntityType: "ChangeEvent"`, not queryable, not writable; subscribers receive them on
 * `/data/<Object>ChangeEvent` channels.
 */
import type { FieldDef, ObjectDef } from '../types.ts';

/** Builds the change-event entity for an object: its header, replay ID and the object's fields, read-only. */
export function changeEventFor(parent: ObjectDef): ObjectDef {
  const fields: FieldDef[] = [
    { name: 'Id', type: 'id', length: 18, createable: false, updateable: false, nillable: false, defaultedOnCreate: true, filterable: false, sortable: false, groupable: false },
    { name: 'ReplayId', type: 'string', length: 255, createable: false, updateable: false, filterable: false, sortable: false, groupable: false },
    { name: 'ChangeEventHeader', type: 'complexvalue', label: 'Change Event Header', createable: false, updateable: false, nillable: false, filterable: false, sortable: false, groupable: false },
  ];
  for (const f of parent.fields) {
    // Formula and hidden fields are not part of change events; Id and IsDeleted are carried by the header.
    if (f.hidden || f.formula || f.name === 'Id' || f.name === 'IsDeleted' || f.name === 'SystemModstamp') continue;
    const { childRelationshipName: _child, cascadeDelete: _cascade, system: _system, ...rest } = f;
    fields.push({ ...rest, createable: false, updateable: false, filterable: false, sortable: false, groupable: false, aggregatable: false, idLookup: false, unique: false, externalId: false });
  }
  return {
    name: `${parent.name}ChangeEvent`, label: `${parent.label} Change Event`, labelPlural: `${parent.label} Change Events`, keyPrefix: null,
    associateEntityType: 'ChangeEvent', associateParentEntity: parent.name,
    queryable: false, createable: false, updateable: false, deletable: false, undeletable: false, retrieveable: false, replicateable: false,
    searchable: false, layoutable: false, triggerable: true, feedEnabled: false, mergeable: false,
    fields,
  };
}

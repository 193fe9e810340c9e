/**
 * Terse builders for field definitions, so standard-object files read like a field list.
 * Flags default the way Salesforce describes ordinary custom-editable fields; system fields override them.
 */
import type { FieldDef, PicklistValue } from './types.ts';

type Extra = Partial<FieldDef>;

export const text = (name: string, length = 255, extra: Extra = {}): FieldDef => ({ name, type: 'string', length, ...extra });
export const textarea = (name: string, length = 32000, extra: Extra = {}): FieldDef => ({ name, type: 'textarea', length, filterable: false, sortable: false, groupable: false, ...extra });
export const email = (name: string, extra: Extra = {}): FieldDef => ({ name, type: 'email', length: 80, ...extra });
export const phone = (name: string, extra: Extra = {}): FieldDef => ({ name, type: 'phone', length: 40, ...extra });
export const url = (name: string, extra: Extra = {}): FieldDef => ({ name, type: 'url', length: 255, ...extra });
export const bool = (name: string, extra: Extra = {}): FieldDef => ({ name, type: 'boolean', nillable: false, defaultedOnCreate: true, defaultValue: false, groupable: true, ...extra });
export const int = (name: string, extra: Extra = {}): FieldDef => ({ name, type: 'int', precision: 8, scale: 0, ...extra });
export const double = (name: string, precision = 18, scale = 2, extra: Extra = {}): FieldDef => ({ name, type: 'double', precision, scale, ...extra });
export const currency = (name: string, extra: Extra = {}): FieldDef => ({ name, type: 'currency', precision: 18, scale: 2, ...extra });
export const percent = (name: string, extra: Extra = {}): FieldDef => ({ name, type: 'percent', precision: 3, scale: 0, ...extra });
export const date = (name: string, extra: Extra = {}): FieldDef => ({ name, type: 'date', ...extra });
export const datetime = (name: string, extra: Extra = {}): FieldDef => ({ name, type: 'datetime', ...extra });

export function picklist(name: string, values: (string | PicklistValue)[], extra: Extra = {}): FieldDef {
  return { name, type: 'picklist', length: 255, picklistValues: values.map(toPicklistValue), ...extra };
}
export function multipicklist(name: string, values: (string | PicklistValue)[], extra: Extra = {}): FieldDef {
  return { name, type: 'multipicklist', length: 4099, picklistValues: values.map(toPicklistValue), groupable: false, sortable: false, ...extra };
}
function toPicklistValue(v: string | PicklistValue): PicklistValue {
  return typeof v === 'string' ? { value: v, label: v, active: true, defaultValue: false } : { label: v.value, active: true, defaultValue: false, ...v };
}

/** A lookup: `ref('AccountId', ['Account'], 'Account', 'Contacts')`. */
export function ref(name: string, referenceTo: string[], relationshipName: string, childRelationshipName?: string, extra: Extra = {}): FieldDef {
  return { name, type: 'reference', length: 18, referenceTo, relationshipName, childRelationshipName, ...extra };
}

/**
 * A lookup to an object this org does not emulate (Asset, Pricebook2, Individual …): described and stored like
 * any reference, with no relationship to traverse; values must still be Ids of the named object.
 */
export function foreignKey(name: string, target: string, extra: Extra = {}): FieldDef {
  return { name, type: 'reference', length: 18, referenceTo: [target], ...extra };
}

/** A compound address: the compound field (read-only, not filterable) followed by its writable components. */
export function address(prefix: string, extra: Extra = {}): FieldDef[] {
  const compound = `${prefix}Address`;
  const c = { compoundFieldName: compound, ...extra };
  return [
    { name: compound, type: 'address', createable: false, updateable: false, filterable: false, sortable: false, groupable: false, ...extra },
    textarea(`${prefix}Street`, 255, { filterable: true, sortable: true, groupable: true, ...c }),
    text(`${prefix}City`, 40, c),
    text(`${prefix}State`, 80, c),
    text(`${prefix}PostalCode`, 20, c),
    text(`${prefix}Country`, 80, c),
    double(`${prefix}Latitude`, 18, 15, c),
    double(`${prefix}Longitude`, 18, 15, c),
    picklist(`${prefix}GeocodeAccuracy`, ['Address', 'NearAddress', 'Block', 'Street', 'ExtendedZip', 'Zip', 'Neighborhood', 'City', 'County', 'State', 'Unknown'], c),
  ];
}

/** A compound geolocation (`Location__c` → `Location__Latitude__s`, `Location__Longitude__s`). */
export function location(name: string, extra: Extra = {}): FieldDef[] {
  const base = name.endsWith('__c') ? name.slice(0, -3) : name;
  const suffix = name.endsWith('__c') ? '__s' : '';
  const c = { compoundFieldName: name, ...extra };
  return [
    { name, type: 'location', createable: false, updateable: false, filterable: false, sortable: false, groupable: false, ...extra },
    double(`${base}__Latitude${suffix}`, 18, 15, c),
    double(`${base}__Longitude${suffix}`, 18, 15, c),
  ];
}

const SYS = { createable: false, updateable: false, nillable: false, defaultedOnCreate: true, system: true } as const;

/** Read-only for the API user: the platform computes the value (IsClosed, LastActivityDate …). */
export const READ_ONLY = { createable: false, updateable: false } as const;

/** A combobox (Task.Subject): a picklist of suggestions that accepts any text. */
export function combobox(name: string, values: string[], extra: Extra = {}): FieldDef {
  return { name, type: 'combobox', length: 255, picklistValues: values.map(toPicklistValue), ...extra };
}

/** A picklist whose values are `[value, label]` pairs (EmailMessage.Status `3` = Sent, ShareType `V` = Viewer). */
export function codedPicklist(name: string, values: [string, string][], extra: Extra = {}): FieldDef {
  return picklist(name, values.map(([value, label]) => ({ value, label })), extra);
}

/** Marks one value of a picklist as the default a new record gets (and that describe reports). */
export function withDefault(f: FieldDef, value: string): FieldDef {
  return {
    ...f,
    defaultValue: value,
    defaultedOnCreate: true,
    picklistValues: f.picklistValues?.map((p) => ({ ...p, defaultValue: p.value === value })),
  };
}

/**
 * The derived full name of person-like objects (Contact, Lead, User): read-only, `personname` in describe,
 * computed from FirstName/LastName on write.
 */
export const personName = (): FieldDef => text('Name', 121, { nameField: true, createable: false, updateable: false, extraTypeInfo: 'personname' });

/** An auto-number name field (Case.CaseNumber, `{00000000}`): assigned on insert, never writable. */
export function autoNumber(name: string, displayFormat: string, extra: Extra = {}): FieldDef {
  return text(name, 30, { autoNumber: true, displayFormat, createable: false, updateable: false, nillable: false, defaultedOnCreate: true, idLookup: true, ...extra });
}

/**
 * Fields every sObject carries. `owner` adds OwnerId (polymorphic `['Group', 'User']` where queues can own
 * records). `audit: false` leaves out the Created/LastModified quartet for objects that lack it
 * (ContentDocumentLink has only Id, IsDeleted and SystemModstamp).
 */
export function systemFields(opts: { owner?: boolean | string[]; name?: FieldDef | false; audit?: boolean } = {}): FieldDef[] {
  if (opts.audit === false) {
    return [
      { name: 'Id', type: 'id', length: 18, ...SYS, idLookup: true, groupable: true },
      { ...bool('IsDeleted'), ...SYS },
      { ...datetime('SystemModstamp'), ...SYS },
    ];
  }
  const fields: FieldDef[] = [
    { name: 'Id', type: 'id', length: 18, ...SYS, idLookup: true, groupable: true },
    { ...bool('IsDeleted'), ...SYS },
  ];
  if (opts.name !== false && opts.name) fields.push(opts.name);
  if (opts.owner) {
    const targets = Array.isArray(opts.owner) ? opts.owner : ['User'];
    fields.push(ref('OwnerId', targets, 'Owner', undefined, { nillable: false, defaultedOnCreate: true }));
  }
  fields.push(
    { ...datetime('CreatedDate'), ...SYS },
    { ...ref('CreatedById', ['User'], 'CreatedBy'), ...SYS },
    { ...datetime('LastModifiedDate'), ...SYS },
    { ...ref('LastModifiedById', ['User'], 'LastModifiedBy'), ...SYS },
    { ...datetime('SystemModstamp'), ...SYS },
  );
  return fields;
}

/** The standard `Name` field (name field, idLookup). */
export const nameField = (length = 255, extra: Extra = {}): FieldDef => text('Name', length, { nameField: true, idLookup: true, nillable: false, ...extra });

/**
 * Renders describeGlobal, sObject basic info and sObject describe from the schema, with every key real
 * clients read, in Salesforce's key order (alphabetical, as the platform serialises them).
 */
import type { SchemaRegistry } from './schema/registry.ts';
import type { FieldDef, FieldType, ObjectDef } from './schema/types.ts';

const SOAP_TYPES: Record<FieldType, string> = {
  id: 'tns:ID', reference: 'tns:ID', string: 'xsd:string', textarea: 'xsd:string', picklist: 'xsd:string',
  multipicklist: 'xsd:string', combobox: 'xsd:string', email: 'xsd:string', phone: 'xsd:string', url: 'xsd:string',
  encryptedstring: 'xsd:string', boolean: 'xsd:boolean', int: 'xsd:int', long: 'xsd:long', double: 'xsd:double',
  currency: 'xsd:double', percent: 'xsd:double', date: 'xsd:date', datetime: 'xsd:dateTime', time: 'xsd:time',
  base64: 'xsd:base64Binary', address: 'urn:address', location: 'urn:location', anyType: 'xsd:anyType',
  complexvalue: 'xsd:anyType',
};

const TEXT_TYPES = new Set<FieldType>(['string', 'textarea', 'picklist', 'multipicklist', 'combobox', 'email', 'phone', 'url', 'encryptedstring', 'id', 'reference']);
const NUMBER_TYPES = new Set<FieldType>(['double', 'currency', 'percent']);

export const MASTER_RECORD_TYPE_ID = '012000000000000AAA';

/** Object-level flags with Salesforce's defaults for an ordinary standard object. */
export function objectFlags(o: ObjectDef) {
  return {
    createable: o.createable ?? true,
    deletable: o.deletable ?? true,
    feedEnabled: o.feedEnabled ?? false,
    layoutable: o.layoutable ?? true,
    mergeable: o.mergeable ?? false,
    queryable: o.queryable ?? true,
    replicateable: o.replicateable ?? true,
    retrieveable: o.retrieveable ?? true,
    searchable: o.searchable ?? true,
    triggerable: o.triggerable ?? true,
    undeletable: o.undeletable ?? (o.deletable ?? true),
    updateable: o.updateable ?? true,
  };
}

function objectUrls(o: ObjectDef, v: string) {
  const base = `/services/data/v${v}/sobjects/${o.name}`;
  return { rowTemplate: `${base}/{ID}`, defaultValues: `${base}/defaultValues?recordTypeId&fields`, describe: `${base}/describe`, sobject: base };
}

/** List-view scopes: owned objects offer `mine` and `team` besides `everything`. */
function supportedScopes(o: ObjectDef) {
  const plural = o.labelPlural.toLowerCase();
  if (!o.fields.some((f) => f.name === 'OwnerId')) return [{ label: `All ${plural}`, name: 'everything' }];
  return [
    { label: `All ${plural}`, name: 'everything' },
    { label: `My ${plural}`, name: 'mine' },
    { label: `My team's ${plural}`, name: 'team' },
  ];
}

/** One describeGlobal entry (also `objectDescribe` of sObject basic info). */
export function describeGlobalEntry(o: ObjectDef, v: string) {
  const f = objectFlags(o);
  return {
    activateable: false, associateEntityType: o.associateEntityType ?? null, associateParentEntity: o.associateParentEntity ?? null,
    createable: f.createable, custom: o.custom ?? false, customSetting: false, deepCloneable: false,
    deletable: f.deletable, deprecatedAndHidden: false, feedEnabled: f.feedEnabled, hasSubtypes: false,
    isInterface: false, isSubtype: false, keyPrefix: o.keyPrefix, label: o.label, labelPlural: o.labelPlural,
    layoutable: f.layoutable, mergeable: f.mergeable, mruEnabled: f.layoutable && !o.associateEntityType, name: o.name,
    queryable: f.queryable, replicateable: f.replicateable, retrieveable: f.retrieveable,
    searchable: f.searchable, triggerable: f.triggerable, undeletable: f.undeletable, updateable: f.updateable,
    urls: objectUrls(o, v),
  };
}

/** The describeGlobal body: every object, sorted by name as the platform lists them. */
export function describeGlobal(schema: SchemaRegistry, v: string) {
  const sobjects = schema.all().sort((a, b) => a.name.localeCompare(b.name)).map((o) => describeGlobalEntry(o, v));
  return { encoding: 'UTF-8', maxBatchSize: 200, sobjects };
}

/**
 * Label from an API name, the way Salesforce labels standard fields: `AnnualRevenue` → `Annual Revenue`,
 * `AccountId` → `Account ID`, `Id` → `Account ID`, `External_Key__c` → `External Key`.
 */
export function labelFor(name: string, objectLabel = ''): string {
  if (name === 'Id') return objectLabel ? `${objectLabel} ID` : 'Record ID';
  const custom = /__(c|s|r)$/.test(name);
  // A namespace prefix (`SBQQ__`) is not part of the label.
  let base = name.replace(/__(c|s|r)$/, '').replace(/^[A-Za-z][A-Za-z0-9_]*?__/, '').replace(/_/g, ' ');
  const isId = !custom && /[a-z]Id$/.test(base);
  if (isId) base = base.slice(0, -2);
  base = base.replace(/([a-z])([A-Z])/g, '$1 $2').trim();
  return (isId ? `${base} ID` : base) || name;
}

/** One `fields[]` entry of describe, with every key of the Field object in the platform's (alphabetical) order. */
export function describeField(f: FieldDef, o?: ObjectDef) {
  const isText = TEXT_TYPES.has(f.type);
  const isId = f.type === 'id' || f.type === 'reference';
  const length = isText ? (isId ? 18 : (f.length ?? 255)) : 0;
  const isPicklist = f.type === 'picklist' || f.type === 'multipicklist' || f.type === 'combobox';
  const calculated = f.calculated ?? Boolean(f.formula);
  const system = f.system ?? false;
  const createable = !calculated && !f.autoNumber && !system && (f.createable ?? true);
  const updateable = !calculated && !f.autoNumber && !system && (f.updateable ?? true);
  const longText = f.type === 'textarea' && (f.length ?? 0) > 255;
  const filterable = f.filterable ?? !(longText || f.type === 'address' || f.type === 'location' || f.type === 'encryptedstring' || f.type === 'base64');
  const sortable = f.sortable ?? (filterable && f.type !== 'multipicklist');
  const groupable = f.groupable ?? (filterable && !NUMBER_TYPES.has(f.type) && f.type !== 'datetime' && f.type !== 'multipicklist');
  const aggregatable = f.aggregatable ?? (filterable && f.type !== 'boolean' && f.type !== 'multipicklist');
  const referenceTo = f.referenceTo ?? [];
  return {
    aggregatable, aiPredictionField: false, autoNumber: f.autoNumber ?? false,
    byteLength: isId ? length : length * 3, calculated, calculatedFormula: f.formula ?? null,
    cascadeDelete: f.cascadeDelete ?? false, caseSensitive: f.caseSensitive ?? false,
    compoundFieldName: f.compoundFieldName ?? null, controllerName: null,
    createable, custom: f.custom ?? f.name.endsWith('__c'),
    // Picklist defaults are reported on the value (`picklistValues[].defaultValue`), not on the field.
    defaultValue: isPicklist ? null : (f.defaultValue ?? null), defaultValueFormula: null,
    defaultedOnCreate: f.defaultedOnCreate ?? (f.type === 'boolean' || system),
    dependentPicklist: false, deprecatedAndHidden: f.deprecatedAndHidden ?? false,
    digits: f.type === 'int' ? (f.precision ?? 9) : 0,
    displayLocationInDecimal: false, encrypted: f.type === 'encryptedstring',
    externalId: f.externalId ?? false,
    extraTypeInfo: f.extraTypeInfo ?? (f.type === 'textarea' && !f.htmlFormatted ? 'plaintextarea' : f.type === 'url' && f.name === 'PhotoUrl' ? 'imageurl' : null),
    filterable, filteredLookupInfo: null, formulaTreatNullNumberAsZero: false, groupable,
    highScaleNumber: false, htmlFormatted: f.htmlFormatted ?? false,
    idLookup: f.idLookup ?? (f.externalId ?? false), inlineHelpText: f.inlineHelpText ?? null,
    label: f.label ?? labelFor(f.name, o?.label), length, mask: null, maskType: null,
    name: f.name, nameField: f.nameField ?? false, namePointing: referenceTo.length > 1,
    nillable: f.nillable ?? (f.type !== 'boolean'), permissionable: !(system || f.nillable === false || f.type === 'id'),
    picklistValues: (f.picklistValues ?? []).map((p) => ({ active: p.active ?? true, defaultValue: p.defaultValue ?? false, label: p.label ?? p.value, validFor: null, value: p.value })),
    polymorphicForeignKey: referenceTo.length > 1,
    precision: NUMBER_TYPES.has(f.type) ? (f.precision ?? 18) : 0,
    queryByDistance: false, referenceTargetField: null, referenceTo,
    relationshipName: f.relationshipName ?? null, relationshipOrder: f.relationshipOrder ?? null,
    restrictedDelete: f.restrictedDelete ?? false, restrictedPicklist: f.restrictedPicklist ?? false,
    scale: NUMBER_TYPES.has(f.type) ? (f.scale ?? 0) : 0, searchPrefilterable: false,
    soapType: SOAP_TYPES[f.type], sortable, type: f.type, unique: f.unique ?? false,
    updateable, writeRequiresMasterRead: false,
  };
}

/** The full DescribeSObjectResult of one object (`GET /sobjects/{Name}/describe`). */
export function describeSObject(schema: SchemaRegistry, o: ObjectDef, v: string, instanceUrl: string) {
  const g = describeGlobalEntry(o, v);
  const base = `/services/data/v${v}/sobjects/${o.name}`;
  const recordTypes = [
    ...(o.recordTypes ?? []).map((rt) => ({ active: true, available: true, defaultRecordTypeMapping: rt.defaultRecordTypeMapping ?? false, developerName: rt.developerName, master: false, name: rt.name, recordTypeId: rt.id, urls: { layout: `${base}/describe/layouts/${rt.id}` } })),
    { active: true, available: true, defaultRecordTypeMapping: !(o.recordTypes ?? []).some((r) => r.defaultRecordTypeMapping), developerName: 'Master', master: true, name: 'Master', recordTypeId: MASTER_RECORD_TYPE_ID, urls: { layout: `${base}/describe/layouts/${MASTER_RECORD_TYPE_ID}` } },
  ];
  return {
    actionOverrides: [],
    activateable: g.activateable,
    associateEntityType: g.associateEntityType,
    associateParentEntity: g.associateParentEntity,
    childRelationships: schema.childRelationships(o.name).map((c) => ({
      cascadeDelete: c.cascadeDelete, childSObject: c.childSObject, deprecatedAndHidden: false, field: c.field,
      junctionIdListNames: [], junctionReferenceTo: [], relationshipName: c.relationshipName, restrictedDelete: false,
    })),
    compactLayoutable: g.layoutable,
    createable: g.createable,
    custom: g.custom,
    customSetting: false,
    deepCloneable: false,
    defaultImplementation: null,
    deletable: g.deletable,
    deprecatedAndHidden: false,
    extendedBy: null,
    extendsInterfaces: null,
    feedEnabled: g.feedEnabled,
    fields: o.fields.filter((f) => !f.hidden).map((f) => describeField(f, o)),
    hasSubtypes: false,
    implementedBy: null,
    implementsInterfaces: null,
    isInterface: false,
    isSubtype: false,
    keyPrefix: o.keyPrefix,
    label: o.label,
    labelPlural: o.labelPlural,
    layoutable: g.layoutable,
    listviewable: null,
    lookupLayoutable: null,
    mergeable: g.mergeable,
    mruEnabled: g.mruEnabled,
    name: o.name,
    namedLayoutInfos: [],
    networkScopeFieldName: null,
    queryable: g.queryable,
    recordTypeInfos: recordTypes,
    replicateable: g.replicateable,
    retrieveable: g.retrieveable,
    searchLayoutable: g.searchable,
    searchable: g.searchable,
    sobjectDescribeOption: 'FULL',
    supportedScopes: supportedScopes(o),
    triggerable: g.triggerable,
    undeletable: g.undeletable,
    updateable: g.updateable,
    urls: {
      compactLayouts: `${base}/describe/compactLayouts`, rowTemplate: `${base}/{ID}`, approvalLayouts: `${base}/describe/approvalLayouts`,
      uiDetailTemplate: `${instanceUrl}/{ID}`, uiEditTemplate: `${instanceUrl}/{ID}/e`, defaultValues: `${base}/defaultValues?recordTypeId&fields`,
      listviews: `${base}/listviews`, describe: `${base}/describe`, uiNewRecord: `${instanceUrl}/${o.keyPrefix ?? ''}/e`,
      quickActions: `${base}/quickActions`, layouts: `${base}/describe/layouts`, sobject: base,
    },
  };
}

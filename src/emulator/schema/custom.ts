/**
 * Custom objects and fields from a user's schema file (YAML or JSON), e.g. examples/schema.yaml:
 *
 * ```yaml
 * objects:
 *   - name: Invoice__c
 *     label: Invoice
 *     fields:
 *       - { name: Number__c, type: string, length: 40, externalId: true, unique: true }
 *       - { name: Account__c, type: reference, referenceTo: [Account], childRelationshipName: Invoices__r }
 *   - name: Account            # fields added to a standard object
 *     fields:
 *       - { name: External_Id__c, type: string, length: 50, externalId: true, unique: true }
 * ```
 * Custom objects get Name, OwnerId and the system fields automatically. Every error names the file, the
 * place in it (`objects[0] Invoice__c › fields[1] Account__c › referenceTo`) and what to write instead.
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { formulaFields, parseFormula } from './formula.ts';
import { location, nameField, systemFields } from './dsl.ts';
import { standardObjects } from './standard.ts';
import type { FieldDef, FieldType, ObjectDef, PicklistValue } from './types.ts';
import { externalDataSourceSchema, externalObject } from '../external/schema.ts';

const FIELD_TYPES = ['string', 'textarea', 'picklist', 'multipicklist', 'combobox', 'boolean', 'int', 'double', 'currency', 'percent', 'date', 'datetime', 'time', 'reference', 'email', 'phone', 'url', 'encryptedstring', 'location', 'long'] as const;
const NUMERIC = new Set(['int', 'double', 'currency', 'percent', 'long']);
/** Types Salesforce allows as external IDs. */
const EXTERNAL_ID_TYPES = new Set(['string', 'email', 'int', 'double', 'long']);
/**
 * An API name: letters, digits and single underscores, optionally ending in `__c`/`__e`/`__x`; a managed
 * package's names carry its namespace prefix first (`SBQQ__Quote__c`, `SBQQ__NetAmount__c`), and then the
 * custom suffix is required.
 */
const BASE_NAME = '[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*';
const API_NAME = new RegExp(`^(?:${BASE_NAME}__${BASE_NAME}__[cex]|${BASE_NAME}(?:__[cex])?)$`);

const picklistValueSchema = z.union([
  z.string().min(1),
  z.object({ value: z.string().min(1), label: z.string().optional(), default: z.boolean().optional(), active: z.boolean().optional() }).strict(),
]);

const fieldSchema = z.object({
  name: z.string().regex(API_NAME, 'an API name starts with a letter, uses letters, digits and single underscores, and ends in __c (e.g. Amount__c, or SBQQ__Amount__c with a namespace prefix)'),
  type: z.enum(FIELD_TYPES),
  label: z.string().optional(),
  length: z.number().int().positive().max(131072).optional(),
  precision: z.number().int().positive().max(18).optional(),
  scale: z.number().int().min(0).max(17).optional(),
  referenceTo: z.array(z.string()).min(1).optional(),
  relationshipName: z.string().optional(),
  childRelationshipName: z.string().optional(),
  cascadeDelete: z.boolean().optional(),
  nillable: z.boolean().optional(),
  required: z.boolean().optional(),
  externalId: z.boolean().optional(),
  unique: z.boolean().optional(),
  caseSensitive: z.boolean().optional(),
  formula: z.string().optional(),
  autoNumber: z.boolean().optional(),
  displayFormat: z.string().optional(),
  defaultValue: z.union([z.string(), z.number(), z.boolean(), z.null()]).optional(),
  picklistValues: z.array(picklistValueSchema).optional(),
  restrictedPicklist: z.boolean().optional(),
  hidden: z.boolean().optional(),
  createable: z.boolean().optional(),
  updateable: z.boolean().optional(),
  filterable: z.boolean().optional(),
  inlineHelpText: z.string().optional(),
  /** External objects: the OData property behind the field (default: its name without __c). */
  externalName: z.string().min(1).optional(),
}).strict();

const outboundMessageSchema = z.object({
  name: z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,79}$/, 'a name of letters, digits and underscores, e.g. AccountToErp'),
  endpointUrl: z.string().regex(/^https?:\/\/\S+$/, 'an http(s) URL, e.g. http://127.0.0.1:8080/inbound/outbound-messages/accounts'),
  fields: z.array(z.string().min(1)).min(1),
  on: z.array(z.enum(['create', 'update'])).min(1).default(['create', 'update']),
  when: z.object({ field: z.string().min(1), equals: z.union([z.string(), z.number(), z.boolean(), z.null()]) }).strict().optional(),
}).strict();

const objectSchema = z.object({
  name: z.string().regex(API_NAME, 'an object API name starts with a letter and uses letters, digits and single underscores (custom objects end in __c: Invoice__c, or SBQQ__Quote__c with a namespace prefix)'),
  label: z.string().optional(),
  labelPlural: z.string().optional(),
  keyPrefix: z.string().regex(/^[a-zA-Z0-9]{3}$/, 'a key prefix is 3 letters or digits, e.g. a01').optional(),
  queryable: z.boolean().optional(),
  createable: z.boolean().optional(),
  updateable: z.boolean().optional(),
  deletable: z.boolean().optional(),
  replicateable: z.boolean().optional(),
  feedEnabled: z.boolean().optional(),
  /** Change Data Capture on (true) or off (false); default on for Account, Contact, Lead, Opportunity, Case. */
  cdc: z.boolean().optional(),
  nameField: z.object({ type: z.enum(['string', 'autoNumber']).default('string'), label: z.string().optional(), displayFormat: z.string().optional() }).strict().optional(),
  fields: z.array(fieldSchema).default([]),
  /** External objects (`__x`): the data source, entity set and key property (see external/schema.ts). */
  dataSource: z.string().optional(),
  table: z.string().optional(),
  externalIdColumn: z.string().optional(),
  externalIdType: z.enum(['string', 'number']).optional(),
  writable: z.boolean().optional(),
  /** Outbound Messages sent on this object's changes (see outbound/sender.ts). */
  outboundMessages: z.array(outboundMessageSchema).optional(),
}).strict();

const fileSchema = z.object({ externalDataSources: z.array(externalDataSourceSchema).default([]), objects: z.array(objectSchema) }).strict();

type FieldSpec = z.infer<typeof fieldSchema>;
type ObjectSpec = z.infer<typeof objectSchema>;

/** The parsed, validated content of a schema file. */
export type SchemaFile = z.infer<typeof fileSchema>;

/** `SBQQ__Quote` → `Quote`: labels leave out a managed package's namespace prefix. */
function withoutNamespace(base: string): string {
  const i = base.indexOf('__');
  return i > 0 ? base.slice(i + 2) : base;
}

/** Reads and validates a schema file; errors name the file, the path in it and what to change. */
export async function loadSchemaFile(path: string): Promise<ObjectDef[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read schema file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}. Check the --schema path.`);
  }
  let data: unknown;
  try {
    data = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new Error(`schema file ${path} is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`);
  }
  return schemaFromData(data, path);
}

/** `objects[0] Invoice__c › fields[2] Amount__c › type`: the place in the file, with names where known. */
function describePath(data: unknown, path: PropertyKey[]): string {
  const parts: string[] = [];
  let node: unknown = data;
  for (let i = 0; i < path.length; i++) {
    const key = path[i];
    const next = node !== null && typeof node === 'object' ? (node as Record<PropertyKey, unknown>)[key] : undefined;
    if (typeof key === 'number') {
      const name = next && typeof next === 'object' && typeof (next as { name?: unknown }).name === 'string' ? ` ${(next as { name: string }).name}` : '';
      parts[parts.length - 1] = `${parts.at(-1) ?? ''}[${key}]${name}`;
    } else {
      parts.push(String(key));
    }
    node = next;
  }
  return parts.join(' › ') || '(top level)';
}

/** Validates schema data (already parsed) and builds object definitions. */
export function schemaFromData(data: unknown, source = 'schema'): ObjectDef[] {
  const parsed = fileSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const hint = !Array.isArray((data as { objects?: unknown } | null)?.objects) ? ' (the file must start with `objects:` followed by a list of objects)' : '';
    throw new Error(`${source}: ${describePath(data, issue.path)}: ${issue.message}${hint}`);
  }
  const standardByName = new Map(standardObjects.map((o) => [o.name.toLowerCase(), o]));
  const specs = parsed.data.objects;
  const known = new Set([...standardByName.keys(), ...specs.map((o) => o.name.toLowerCase())]);
  const usedPrefixes = new Set(standardObjects.map((o) => o.keyPrefix).filter(Boolean));
  const seenObjects = new Set<string>();
  let prefixSeq = 0;
  const nextPrefix = () => {
    let p: string;
    do p = `a0${'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'[prefixSeq++ % 36]}`;
    while (usedPrefixes.has(p));
    return p;
  };
  return specs.map((o, oi) => {
    const where = `${source}: objects[${oi}] ${o.name}`;
    if (seenObjects.has(o.name.toLowerCase())) throw new Error(`${where}: ${o.name} is defined twice; put all its fields under one entry`);
    seenObjects.add(o.name.toLowerCase());
    const std = standardByName.get(o.name.toLowerCase());
    const fields = buildFields(o, oi, source, known, std);
    if (std) {
      // Extending a standard object: keep its own properties, add the fields (the registry merges them).
      return { ...std, fields, ...(o.cdc === undefined ? {} : { cdc: o.cdc }), ...(o.outboundMessages ? { outboundMessages: checkOutbound(o.outboundMessages, [...std.fields, ...fields], where) } : {}) };
    }
    if (o.name.endsWith('__e')) return platformEvent(o, fields, usedPrefixes);
    if (o.name.endsWith('__x')) {
      let keyPrefix = o.keyPrefix;
      for (let n = 0; !keyPrefix || usedPrefixes.has(keyPrefix); n++) keyPrefix = `x0${'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'[n % 36]}`;
      usedPrefixes.add(keyPrefix);
      const names = new Map(o.fields.map((f) => [f.name, f.externalName]));
      return externalObject(o, fields, names, parsed.data.externalDataSources, where, keyPrefix);
    }
    if (o.dataSource || o.table || o.externalIdColumn || o.externalIdType || o.writable !== undefined) throw new Error(`${where}: dataSource, table, externalIdColumn and writable apply to external objects only (names ending in __x)`);
    if (!o.name.endsWith('__c')) throw new Error(`${where}: custom object names end in __c (write ${o.name}__c), or use a standard object name such as Account (external objects end in __x)`);
    if (o.keyPrefix && usedPrefixes.has(o.keyPrefix)) throw new Error(`${where} › keyPrefix: ${o.keyPrefix} is already used; pick another (custom objects usually use a00–a0Z) or leave it out`);
    const keyPrefix = o.keyPrefix ?? nextPrefix();
    usedPrefixes.add(keyPrefix);
    const label = o.label ?? withoutNamespace(o.name.slice(0, -3)).replace(/_/g, ' ');
    const name: FieldDef = o.nameField?.type === 'autoNumber'
      ? { ...nameField(80), label: o.nameField.label ?? `${label} Name`, autoNumber: true, displayFormat: o.nameField.displayFormat ?? 'A-{0000}', createable: false, updateable: false, nillable: false, defaultedOnCreate: true }
      : { ...nameField(80), label: o.nameField?.label ?? `${label} Name`, nillable: true };
    return {
      name: o.name, label, labelPlural: o.labelPlural ?? `${label}s`, custom: true, keyPrefix,
      queryable: o.queryable, createable: o.createable, updateable: o.updateable, deletable: o.deletable, replicateable: o.replicateable,
      feedEnabled: o.feedEnabled, cdc: o.cdc,
      fields: [...systemFields({ owner: true, name }), ...fields],
      ...(o.outboundMessages ? { outboundMessages: checkOutbound(o.outboundMessages, [...systemFields({ owner: true, name }), ...fields], where) } : {}),
    } satisfies ObjectDef;
  });
}

/**
 * A platform event (`Order_Shipped__e`): publish-only (create), not queryable, updatable or deletable, with
 * the standard event fields. Published events go onto the org's event bus (`/event/Order_Shipped__e`),
 * never into a table.
 */
function platformEvent(o: ObjectSpec, fields: FieldDef[], usedPrefixes: Set<string | null | undefined>): ObjectDef {
  let n = 0;
  let keyPrefix = o.keyPrefix;
  while (!keyPrefix || usedPrefixes.has(keyPrefix)) keyPrefix = `e${String(n++).padStart(2, '0')}`;
  usedPrefixes.add(keyPrefix);
  const label = o.label ?? withoutNamespace(o.name.slice(0, -3)).replace(/_/g, ' ');
  const ro = { createable: false, updateable: false };
  return {
    name: o.name, label, labelPlural: o.labelPlural ?? label, custom: true, keyPrefix,
    queryable: false, createable: true, updateable: false, deletable: false, replicateable: false, retrieveable: false, searchable: false,
    fields: [
      ...systemFields({ audit: false }),
      { name: 'CreatedDate', type: 'datetime', ...ro },
      { name: 'CreatedById', type: 'reference', referenceTo: ['User'], relationshipName: 'CreatedBy', ...ro },
      { name: 'ReplayId', type: 'string', length: 255, ...ro },
      { name: 'EventUuid', type: 'string', length: 36, ...ro },
      ...fields,
    ],
  } satisfies ObjectDef;
}

function buildFields(o: ObjectSpec, oi: number, source: string, known: Set<string>, std: ObjectDef | undefined): FieldDef[] {
  const seen = new Set<string>();
  const out: FieldDef[] = [];
  const numericNames = new Set<string>([
    ...(std?.fields ?? []).filter((f) => NUMERIC.has(f.type)).map((f) => f.name.toLowerCase()),
    ...o.fields.filter((f) => NUMERIC.has(f.type) && !f.formula).map((f) => f.name.toLowerCase()),
  ]);
  o.fields.forEach((f, fi) => {
    const where = `${source}: objects[${oi}] ${o.name} › fields[${fi}] ${f.name}`;
    if (!f.name.endsWith('__c')) throw new Error(`${where}: custom field names end in __c (write ${f.name}__c)`);
    if (f.externalName && !o.name.endsWith('__x')) throw new Error(`${where} › externalName: only fields of external objects (names ending in __x) map to external columns`);
    if (seen.has(f.name.toLowerCase())) throw new Error(`${where}: ${f.name} is defined twice on ${o.name}; remove one`);
    seen.add(f.name.toLowerCase());
    if (std?.fields.some((s) => s.name.toLowerCase() === f.name.toLowerCase())) throw new Error(`${where}: ${o.name} already has a field ${f.name}; choose another name`);
    out.push(...toFieldDefs(f, where, known, numericNames, o.name));
  });
  return out;
}

function toPicklistValues(values: z.infer<typeof picklistValueSchema>[] | undefined): PicklistValue[] | undefined {
  return values?.map((v) => (typeof v === 'string'
    ? { value: v, label: v, active: true, defaultValue: false }
    : { value: v.value, label: v.label ?? v.value, active: v.active ?? true, defaultValue: v.default ?? false }));
}

function toFieldDefs(f: FieldSpec, where: string, known: Set<string>, numericNames: Set<string>, objectName: string): FieldDef[] {
  if (f.type === 'reference') {
    if (!f.referenceTo) throw new Error(`${where} › referenceTo: a reference field needs the object it points at, e.g. referenceTo: [Account]`);
    for (const target of f.referenceTo) {
      if (!known.has(target.toLowerCase())) throw new Error(`${where} › referenceTo: no object named ${target}; use a standard object (Account, Contact …) or one defined in this file`);
    }
    if (f.relationshipName && !f.relationshipName.endsWith('__r')) throw new Error(`${where} › relationshipName: custom relationship names end in __r (write ${f.relationshipName}__r)`);
    if (f.childRelationshipName && !f.childRelationshipName.endsWith('__r')) throw new Error(`${where} › childRelationshipName: child relationship names end in __r (write ${f.childRelationshipName}__r)`);
  } else if (f.referenceTo || f.relationshipName || f.childRelationshipName) {
    throw new Error(`${where}: referenceTo/relationshipName only apply to type: reference`);
  }
  if ((f.type === 'picklist' || f.type === 'multipicklist') && !f.picklistValues?.length) {
    throw new Error(`${where} › picklistValues: a ${f.type} needs its values, e.g. picklistValues: [Draft, Sent, Paid]`);
  }
  if (f.externalId && !EXTERNAL_ID_TYPES.has(f.type)) throw new Error(`${where} › externalId: only text, email and number fields can be external IDs (this one is ${f.type})`);
  if (f.formula !== undefined) {
    if (!NUMERIC.has(f.type)) throw new Error(`${where} › formula: formulas are supported on number, currency and percent fields (this one is ${f.type})`);
    let refs: string[];
    try {
      refs = formulaFields(parseFormula(f.formula));
    } catch (err) {
      throw new Error(`${where} › formula: ${(err as Error).message}`);
    }
    for (const r of refs) {
      if (!numericNames.has(r.toLowerCase())) throw new Error(`${where} › formula: ${r} is not a number field of ${objectName}; formulas read number, currency and percent fields of the same record`);
    }
  }
  if (f.type === 'location') return location(f.name, { custom: true, label: f.label });
  const { picklistValues, required, nillable, externalName: _external, ...rest } = f;
  const base: FieldDef = {
    ...rest,
    type: f.type as FieldType,
    custom: true,
    nillable: required ? false : nillable,
    relationshipName: f.type === 'reference' ? (f.relationshipName ?? f.name.replace(/__c$/, '__r')) : undefined,
    childRelationshipName: f.type === 'reference' ? (f.childRelationshipName ?? `${objectName.replace(/__c$/, '')}s__r`) : undefined,
    picklistValues: toPicklistValues(picklistValues),
    idLookup: f.externalId ? true : undefined,
    calculated: f.formula ? true : undefined,
  };
  const def = base.picklistValues?.find((p) => p.defaultValue);
  if (def && base.defaultValue === undefined) {
    base.defaultValue = def.value;
    base.defaultedOnCreate = true;
  }
  if ((f.type === 'string' || f.type === 'textarea') && base.length === undefined) base.length = f.type === 'string' ? 255 : 32768;
  if ((f.type === 'double' || f.type === 'currency' || f.type === 'percent') && base.precision === undefined) {
    base.precision = 18;
    base.scale = f.scale ?? 2;
  }
  return [base];
}

/** Outbound message fields must exist on the object (a typo would otherwise send nulls forever). */
function checkOutbound(defs: z.infer<typeof outboundMessageSchema>[], fields: readonly FieldDef[], where: string): z.infer<typeof outboundMessageSchema>[] {
  const names = new Set(fields.map((f) => f.name.toLowerCase()));
  const canonical = new Map(fields.map((f) => [f.name.toLowerCase(), f.name]));
  for (const [i, d] of defs.entries()) {
    for (const f of [...d.fields, ...(d.when ? [d.when.field] : [])]) {
      if (!names.has(f.toLowerCase())) throw new Error(`${where} › outboundMessages[${i}] ${d.name}: no field ${f} on this object`);
    }
    d.fields = d.fields.map((f) => canonical.get(f.toLowerCase())!);
    if (d.when) d.when.field = canonical.get(d.when.field.toLowerCase())!;
  }
  return defs;
}

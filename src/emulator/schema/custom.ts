/**
 * Custom objects and fields from a user's schema file (YAML or JSON):
 *
 * ```yaml
 * objects:
 *   - name: Invoice__c
 *     label: Invoice
 *     fields:
 *       - { name: Number__c, type: string, length: 40, externalId: true, unique: true }
 *       - { name: Account__c, type: reference, referenceTo: [Account], relationshipName: Account__r, childRelationshipName: Invoices__r }
 *   - name: Account            # fields added to a standard object
 *     fields:
 *       - { name: External_Id__c, type: string, length: 50, externalId: true, unique: true }
 * ```
 * Custom objects get Name, OwnerId and the system fields automatically.
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { location, nameField, systemFields } from './dsl.ts';
import { standardObjects } from './standard.ts';
import type { FieldDef, FieldType, ObjectDef } from './types.ts';

const FIELD_TYPES = ['id', 'string', 'textarea', 'picklist', 'multipicklist', 'combobox', 'boolean', 'int', 'double', 'currency', 'percent', 'date', 'datetime', 'time', 'reference', 'email', 'phone', 'url', 'encryptedstring', 'base64', 'location', 'long'] as const;

const fieldSchema = z.object({
  name: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'field names start with a letter and use letters, digits and _'),
  type: z.enum(FIELD_TYPES),
  label: z.string().optional(),
  length: z.number().int().positive().max(131072).optional(),
  precision: z.number().int().positive().max(18).optional(),
  scale: z.number().int().min(0).max(17).optional(),
  referenceTo: z.array(z.string()).optional(),
  relationshipName: z.string().optional(),
  childRelationshipName: z.string().optional(),
  cascadeDelete: z.boolean().optional(),
  nillable: z.boolean().optional(),
  externalId: z.boolean().optional(),
  unique: z.boolean().optional(),
  caseSensitive: z.boolean().optional(),
  formula: z.string().optional(),
  autoNumber: z.boolean().optional(),
  displayFormat: z.string().optional(),
  defaultValue: z.union([z.string(), z.number(), z.boolean(), z.null()]).optional(),
  picklistValues: z.array(z.string()).optional(),
  restrictedPicklist: z.boolean().optional(),
  hidden: z.boolean().optional(),
  createable: z.boolean().optional(),
  updateable: z.boolean().optional(),
  filterable: z.boolean().optional(),
  inlineHelpText: z.string().optional(),
}).strict();

const objectSchema = z.object({
  name: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/),
  label: z.string().optional(),
  labelPlural: z.string().optional(),
  keyPrefix: z.string().regex(/^[a-zA-Z0-9]{3}$/).optional(),
  queryable: z.boolean().optional(),
  createable: z.boolean().optional(),
  updateable: z.boolean().optional(),
  deletable: z.boolean().optional(),
  replicateable: z.boolean().optional(),
  nameField: z.object({ type: z.enum(['string', 'autoNumber']).default('string'), label: z.string().optional(), displayFormat: z.string().optional() }).optional(),
  fields: z.array(fieldSchema).default([]),
}).strict();

const fileSchema = z.object({ objects: z.array(objectSchema) }).strict();

export type SchemaFile = z.infer<typeof fileSchema>;

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

/** Validates schema data (already parsed) and builds object definitions. */
export function schemaFromData(data: unknown, source = 'schema'): ObjectDef[] {
  const parsed = fileSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${source}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const standardNames = new Set(standardObjects.map((o) => o.name.toLowerCase()));
  let prefixSeq = 0;
  return parsed.data.objects.map((o) => {
    const fields = o.fields.flatMap((f) => toFieldDefs(f, o.name, source));
    if (standardNames.has(o.name.toLowerCase())) return { name: o.name, label: o.label ?? o.name, labelPlural: o.labelPlural ?? o.name, keyPrefix: null, fields } as ObjectDef;
    if (!o.name.endsWith('__c')) throw new Error(`${source}: object ${o.name}: custom object names end in __c (e.g. ${o.name}__c)`);
    const label = o.label ?? o.name.slice(0, -3).replace(/_/g, ' ');
    const name: FieldDef = o.nameField?.type === 'autoNumber'
      ? { ...nameField(80), label: o.nameField.label ?? `${label} Name`, autoNumber: true, displayFormat: o.nameField.displayFormat ?? 'A-{0000}', createable: false, updateable: false, nillable: false, defaultedOnCreate: true }
      : { ...nameField(80), label: o.nameField?.label ?? `${label} Name`, nillable: true };
    return {
      name: o.name, label, labelPlural: o.labelPlural ?? `${label}s`, custom: true,
      keyPrefix: o.keyPrefix ?? `a0${'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'[prefixSeq++ % 36]}`,
      queryable: o.queryable, createable: o.createable, updateable: o.updateable, deletable: o.deletable, replicateable: o.replicateable,
      fields: [...systemFields({ owner: true, name }), ...fields],
    } satisfies ObjectDef;
  });
}

function toFieldDefs(f: z.infer<typeof fieldSchema>, objectName: string, source: string): FieldDef[] {
  if (!/__c$/.test(f.name)) throw new Error(`${source}: ${objectName}.${f.name}: custom field names end in __c (e.g. ${f.name}__c)`);
  if (f.type === 'reference' && (!f.referenceTo || f.referenceTo.length === 0)) throw new Error(`${source}: ${objectName}.${f.name}: a reference field needs referenceTo, e.g. [Account]`);
  const { picklistValues, ...rest } = f;
  const base: FieldDef = {
    ...rest, type: f.type as FieldType, custom: true,
    relationshipName: f.type === 'reference' ? (f.relationshipName ?? f.name.replace(/__c$/, '__r')) : undefined,
    picklistValues: picklistValues?.map((value) => ({ value, label: value, active: true, defaultValue: false })),
    idLookup: f.externalId ? true : undefined,
    calculated: f.formula ? true : undefined,
  };
  if (f.type === 'location') return location(f.name, { custom: true, label: f.label });
  if (f.type === 'string' && base.length === undefined) base.length = 255;
  if (f.type === 'textarea' && base.length === undefined) base.length = 255;
  return [base];
}

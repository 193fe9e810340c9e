/**
 * `GET /query?q=…&columns=true`: the column metadata of a query, without running it. The Salesforce CLI asks
 * for it after every query that returned rows (`sf data query`) to lay out its table and CSV: a relationship
 * column carries its parent's columns in `joinColumns`, a child subquery is an `aggregate` column whose
 * `joinColumns` are the child's, and an aggregate function is named `expr0`… (or its alias) with the
 * function as written in `displayName`.
 */
import { parseQuery, type FieldFunctionExpression } from '@jetstreamapp/soql-parser-js';
import type { Org } from '../org.ts';
import { compile, type Plan } from '../soql/index.ts';
import type { OutBody, OutNode } from '../soql/compiler.ts';
import type { FieldDef, FieldType, ObjectDef } from '../schema/types.ts';
import { describeField } from '../describe.ts';

/** One entry of `columnMetadata` (keys in the platform's alphabetical order). */
export interface ColumnMetadata {
  aggregate: boolean;
  apexType: string | null;
  booleanType: boolean;
  columnName: string;
  custom: boolean;
  displayName: string;
  foreignKeyName: string | null;
  insertable: boolean;
  joinColumns: ColumnMetadata[];
  numberType: boolean;
  textType: boolean;
  updatable: boolean;
}

export interface QueryColumns {
  columnMetadata: ColumnMetadata[];
  entityName: string;
  groupBy: boolean;
  idSelected: boolean;
  keyPrefix: string | null;
}

const APEX_TYPES: Record<FieldType, string> = {
  id: 'Id', reference: 'Id', string: 'String', textarea: 'String', picklist: 'String', multipicklist: 'String', combobox: 'String',
  email: 'String', phone: 'String', url: 'String', encryptedstring: 'String', boolean: 'Boolean', int: 'Integer', long: 'Long',
  double: 'Double', percent: 'Double', currency: 'Decimal', date: 'Date', datetime: 'Datetime', time: 'Time', base64: 'Blob',
  address: 'Address', location: 'Location', anyType: 'Object', complexvalue: 'Object',
};
const NUMBER_TYPES: ReadonlySet<FieldType> = new Set(['int', 'long', 'double', 'percent', 'currency']);
/** Aggregate functions whose result is a number whatever they aggregate. */
const NUMERIC_FUNCTIONS = new Set(['COUNT', 'COUNT_DISTINCT', 'SUM', 'AVG']);

/** The column metadata of a SOQL query. Throws the query's own SfError (MALFORMED_QUERY, INVALID_FIELD …). */
export function queryColumns(org: Org, soql: string, queryAll = false): QueryColumns {
  const external = externalColumns(org, soql);
  if (external) return external;
  const plan = compile(org, soql, { queryAll });
  const ast = parseQuery(soql);
  // Aggregate and date functions become `expr0`, `expr1`… unless aliased; their displayName is the call as written.
  const functions = new Map<string, FieldFunctionExpression>();
  let expr = 0;
  for (const f of ast.fields ?? []) {
    if (f.type !== 'FieldFunctionExpression' || !plan.aggregate) continue;
    functions.set((f.alias ?? `expr${expr++}`).toLowerCase(), f);
  }
  return {
    columnMetadata: bodyColumns(org, plan, plan.body, plan.def, functions),
    entityName: plan.def.name,
    groupBy: Boolean(ast.groupBy),
    idSelected: plan.body.entries.some((e) => e.k === 'val' && e.key === 'Id'),
    keyPrefix: plan.def.keyPrefix,
  };
}

/**
 * External objects (`__x`) are queried by a callout, not compiled to SQL: their columns come from the select
 * list and the object's fields. The query is checked the way the external query resource checks it.
 */
function externalColumns(org: Org, soql: string): QueryColumns | null {
  let ast;
  try {
    ast = parseQuery(soql);
  } catch {
    return null;
  }
  const def = org.schema.get(ast.sObject ?? '');
  if (!def?.external) return null;
  const columns: ColumnMetadata[] = [];
  for (const f of ast.fields ?? []) {
    if (f.type !== 'Field') return null;
    const field = org.schema.field(def.name, f.field);
    if (!field) return null;
    columns.push(fieldColumn(f.field, field, def));
  }
  return { columnMetadata: columns, entityName: def.name, groupBy: false, idSelected: columns.some((c) => c.columnName === 'Id'), keyPrefix: def.keyPrefix };
}

function bodyColumns(org: Org, plan: Plan, body: OutBody, def: ObjectDef | undefined, functions: Map<string, FieldFunctionExpression>): ColumnMetadata[] {
  return body.entries.map((node) => nodeColumn(org, plan, node, def, functions));
}

function nodeColumn(org: Org, plan: Plan, node: OutNode, def: ObjectDef | undefined, functions: Map<string, FieldFunctionExpression>): ColumnMetadata {
  const field = def ? org.schema.field(def.name, node.key) : undefined;
  switch (node.k) {
    case 'parent':
    case 'poly': {
      const fk = def ? relationshipField(def, node.key) : undefined;
      const parentDef = node.k === 'parent' ? org.schema.get(node.type) : undefined;
      const joins = node.k === 'parent' ? bodyColumns(org, plan, node.body, parentDef, new Map()) : bodyColumns(org, plan, node.common, org.schema.get('Name'), new Map());
      return column({ columnName: node.key, foreignKeyName: fk?.name ?? null, custom: node.key.endsWith('__r'), joinColumns: joins });
    }
    case 'child': {
      const child = plan.children[node.index];
      return column({ columnName: node.key, aggregate: true, custom: node.key.endsWith('__r'), joinColumns: bodyColumns(org, child.plan, child.plan.body, child.plan.def, new Map()) });
    }
    case 'polyType':
      return column({ columnName: node.key, apexType: 'String', textType: true });
    default: {
      const fn = functions.get(node.key.toLowerCase());
      if (fn && !field) return functionColumn(org, plan.def, node.key, fn);
      return fieldColumn(node.key, field, def);
    }
  }
}

function fieldColumn(name: string, field: FieldDef | undefined, def: ObjectDef | undefined): ColumnMetadata {
  if (!field) return column({ columnName: name, apexType: 'String', textType: true });
  const d = describeField(field, def);
  const apexType = APEX_TYPES[field.type] ?? null;
  return column({
    columnName: field.name,
    apexType,
    booleanType: field.type === 'boolean',
    custom: Boolean(d.custom),
    insertable: Boolean(d.createable),
    numberType: NUMBER_TYPES.has(field.type),
    textType: apexType === 'String',
    updatable: Boolean(d.updateable),
  });
}

function functionColumn(org: Org, def: ObjectDef, key: string, fn: FieldFunctionExpression): ColumnMetadata {
  const name = fn.functionName.toUpperCase();
  const arg = fn.parameters?.[0];
  const argField = typeof arg === 'string' ? org.schema.field(def.name, arg) : undefined;
  const numeric = NUMERIC_FUNCTIONS.has(name) || (argField !== undefined && NUMBER_TYPES.has(argField.type)) || !['MIN', 'MAX'].includes(name);
  return column({ columnName: key, aggregate: true, displayName: fn.rawValue ?? `${fn.functionName}()`, numberType: numeric });
}

/** The lookup field behind a relationship name (`Owner` → OwnerId). */
function relationshipField(def: ObjectDef, relationship: string): FieldDef | undefined {
  const rel = relationship.toLowerCase();
  return def.fields.find((f) => f.relationshipName?.toLowerCase() === rel);
}

function column(c: Partial<ColumnMetadata> & { columnName: string }): ColumnMetadata {
  return {
    aggregate: c.aggregate ?? false,
    apexType: c.apexType ?? null,
    booleanType: c.booleanType ?? false,
    columnName: c.columnName,
    custom: c.custom ?? false,
    displayName: c.displayName ?? c.columnName,
    foreignKeyName: c.foreignKeyName ?? null,
    insertable: c.insertable ?? false,
    joinColumns: c.joinColumns ?? [],
    numberType: c.numberType ?? false,
    textType: c.textType ?? false,
    updatable: c.updatable ?? false,
  };
}

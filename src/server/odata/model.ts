/**
 * The entity data model an OData source serves: one entity set per configured table, its entity type built
 * from the table's columns (mirror tables from the describe sfbridge recorded, application tables from the
 * database catalog), EDM types chosen so that Salesforce Connect maps them to the field types a user
 * expects (reference §8.3: Edm.String with MaxLength → Text(n), Edm.DateTimeOffset → DateTime, …).
 */
import type { QueryColumn, TableShape } from '../../store/query.ts';
import type { StorageKind } from '../../store/values.ts';
import { ODataQueryError } from './parse.ts';

/** The EDM primitive types this service uses. */
export type EdmType = 'Edm.String' | 'Edm.Boolean' | 'Edm.Int32' | 'Edm.Int64' | 'Edm.Decimal' | 'Edm.Double' | 'Edm.Date' | 'Edm.DateTimeOffset' | 'Edm.TimeOfDay' | 'Edm.Guid';

const EDM: Record<StorageKind, EdmType> = {
  text: 'Edm.String',
  boolean: 'Edm.Boolean',
  integer: 'Edm.Int32',
  bigint: 'Edm.Int64',
  decimal: 'Edm.Decimal',
  date: 'Edm.Date',
  datetime: 'Edm.DateTimeOffset',
  time: 'Edm.TimeOfDay',
  // Addresses, locations and other structured values are served as their JSON text.
  json: 'Edm.String',
};

/** One property of an entity type, bound to a column. */
export interface Property {
  name: string;
  column: string;
  edm: EdmType;
  kind: StorageKind;
  nullable: boolean;
  maxLength?: number;
}

/** A single-valued navigation from an entity to another entity set, by a foreign-key property. */
export interface Navigation {
  name: string;
  /** The property holding the target's key. */
  property: Property;
  target: EntitySet;
}

/** An entity type: properties by name (case-insensitive lookup) and its key. */
export class EntityType {
  readonly name: string;
  readonly properties: Property[];
  readonly key: Property[];
  readonly navigations: Navigation[] = [];
  readonly #byName = new Map<string, Property>();

  constructor(name: string, properties: Property[], key: Property[]) {
    this.name = name;
    this.properties = properties;
    this.key = key;
    for (const p of properties) this.#byName.set(p.name.toLowerCase(), p);
  }

  property(name: string): Property | undefined {
    return this.#byName.get(name.toLowerCase());
  }

  navigation(name: string): Navigation | undefined {
    const lower = name.toLowerCase();
    return this.navigations.find((n) => n.name.toLowerCase() === lower);
  }

  propertyNames(): string[] {
    return this.properties.map((p) => p.name);
  }
}

/** One entity set: a name, its type, the table behind it and what it allows. */
export interface EntitySet {
  name: string;
  type: EntityType;
  shape: TableShape;
  /** POST, PATCH/PUT and DELETE allowed (application tables only). */
  writable: boolean;
  /** Largest page before the service answers with `@odata.nextLink`. */
  maxPageSize: number;
}

/** What the configuration says about one entity set. */
export interface EntitySetSpec {
  /** Entity set name (default: the table name). */
  name?: string;
  table: string;
  /** Key columns when the table has no primary key. */
  key?: readonly string[];
  /** Only these columns are served (default all). */
  columns?: readonly string[];
  writable?: boolean;
  maxPageSize?: number;
}

/** Builds an entity set from a table's shape and its configuration. */
export function entitySet(shape: TableShape, spec: EntitySetSpec, defaultPageSize: number): EntitySet {
  const name = spec.name ?? shape.table;
  const pick = spec.columns ? spec.columns.map((c) => columnByName(shape, c, name)) : shape.columns;
  const properties = pick.map(toProperty);
  const keyNames = spec.key && spec.key.length > 0 ? spec.key : shape.key;
  if (keyNames.length === 0) {
    throw new ODataQueryError(`entity set ${name}: table ${shape.table} has no primary key; name its key columns with key: [column, …]`, 'Config', 500);
  }
  const key = keyNames.map((k) => {
    const p = properties.find((q) => q.column.toLowerCase() === k.toLowerCase());
    if (!p) throw new ODataQueryError(`entity set ${name}: key column ${k} is not among the columns served`, 'Config', 500);
    p.nullable = false;
    return p;
  });
  if (spec.writable && shape.mirror) {
    throw new ODataQueryError(`entity set ${name}: ${shape.table} is a Salesforce mirror table; writes to it would be overwritten by the next sync, so it cannot be writable (write to Salesforce instead, or serve an application table)`, 'Config', 500);
  }
  return { name, type: new EntityType(name, properties, key), shape, writable: spec.writable === true, maxPageSize: spec.maxPageSize ?? defaultPageSize };
}

function columnByName(shape: TableShape, name: string, set: string): QueryColumn {
  const col = shape.columns.find((c) => c.name.toLowerCase() === name.toLowerCase());
  if (!col) throw new ODataQueryError(`entity set ${set}: table ${shape.table} has no column ${name}`, 'Config', 500);
  return col;
}

function toProperty(c: QueryColumn): Property {
  return { name: c.name, column: c.name, edm: EDM[c.kind], kind: c.kind, nullable: c.nullable, ...(c.length !== undefined ? { maxLength: c.length } : {}) };
}

/** Standard lookups whose relationship name is not their target object's name. */
const USER_LOOKUPS = new Set(['Owner', 'CreatedBy', 'LastModifiedBy']);

/**
 * Links lookups between served sets: an explicit `navigation` map, plus Salesforce's naming for mirror
 * tables (`AccountId` → the set serving `Account`; `Parent__c` → the set serving `Parent__c`'s target when
 * configured). Only single-valued (many-to-one) navigations are derived.
 */
export function linkNavigations(sets: readonly EntitySet[], explicit: Record<string, Record<string, { property: string; target: string }>> = {}): void {
  const byTable = new Map<string, EntitySet>();
  const byName = new Map<string, EntitySet>();
  for (const s of sets) {
    byTable.set(s.shape.table.toLowerCase(), s);
    byName.set(s.name.toLowerCase(), s);
  }
  for (const s of sets) {
    const declared = explicit[s.name] ?? {};
    for (const [navName, nav] of Object.entries(declared)) {
      const property = s.type.property(nav.property);
      const target = byName.get(nav.target.toLowerCase());
      if (!property) throw new ODataQueryError(`entity set ${s.name}: navigation ${navName} names property ${nav.property}, which it does not serve`, 'Config', 500);
      if (!target) throw new ODataQueryError(`entity set ${s.name}: navigation ${navName} targets ${nav.target}, which is not an entity set of this source`, 'Config', 500);
      if (target.type.key.length !== 1) throw new ODataQueryError(`entity set ${s.name}: navigation ${navName} targets ${nav.target}, whose key has several parts`, 'Config', 500);
      s.type.navigations.push({ name: navName, property, target });
    }
    if (!s.shape.mirror) continue;
    for (const p of s.type.properties) {
      const m = /^(.+)Id$/.exec(p.name);
      if (!m || p.edm !== 'Edm.String' || p.name === 'Id') continue;
      const target = byTable.get((USER_LOOKUPS.has(m[1]) ? 'User' : m[1] === 'Parent' ? s.shape.table : m[1]).toLowerCase());
      if (!target || !target.shape.mirror || s.type.navigation(m[1]) || s.type.property(m[1])) continue;
      s.type.navigations.push({ name: m[1], property: p, target });
    }
  }
}

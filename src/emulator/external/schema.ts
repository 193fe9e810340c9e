/**
 * External data sources and external objects (`Name__x`) from the schema file, as Salesforce Connect
 * defines them (reference §8.2): an object whose rows live in an OData 4.0 producer, with the standard
 * fields `Id`, `ExternalId` (the producer's entity key) and `DisplayUrl`, and custom fields each mapped to
 * an external column.
 *
 * ```yaml
 * externalDataSources:
 *   - name: ERP
 *     url: http://127.0.0.1:8080/odata/v4/erp/
 *     auth: { username: salesforce, password: s3cret }     # or { bearer: TOKEN }; omit for anonymous
 *     requestRowCounts: true        # send $count=true (default true)
 *     serverDrivenPaging: false     # follow @odata.nextLink instead of $top/$skip (default false)
 * objects:
 *   - name: Order__x
 *     dataSource: ERP
 *     table: Orders                 # the entity set
 *     externalIdColumn: order_id    # the entity key
 *     externalIdType: string        # or number (default string)
 *     fields:
 *       - { name: Status__c, type: string, length: 40, externalName: status }
 * ```
 */
import { z } from 'zod';
import type { FieldDef, ObjectDef } from '../schema/types.ts';

/** One external data source (only the OData 4.0 adapter is emulated). */
export const externalDataSourceSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'a data source name uses letters, digits and underscores'),
    type: z.literal('OData4').default('OData4'),
    url: z.url({ message: 'the OData service root, e.g. http://127.0.0.1:8080/odata/v4/erp/' }),
    auth: z
      .union([z.object({ username: z.string().min(1), password: z.string().min(1) }).strict(), z.object({ bearer: z.string().min(1) }).strict()])
      .optional(),
    requestRowCounts: z.boolean().default(true),
    serverDrivenPaging: z.boolean().default(false),
    /** Callout timeout in milliseconds. */
    timeoutMs: z.number().int().min(100).max(120_000).default(30_000),
  })
  .strict();

export type ExternalDataSource = z.infer<typeof externalDataSourceSchema>;

/** What the emulator needs to turn SOQL and REST on an `__x` object into OData calls. */
export interface ExternalObjectInfo {
  source: ExternalDataSource;
  /** Entity set name. */
  table: string;
  /** The entity key property behind `ExternalId`. */
  keyColumn: string;
  /** Whether the key is a string or a number in the producer (how it is written in `$filter`). */
  keyType: 'string' | 'number';
  /** Field API name (lower case) → external column. */
  columns: Map<string, string>;
}

/** The schema-file keys an external object adds to an object entry. */
export interface ExternalObjectSpec {
  name: string;
  label?: string;
  labelPlural?: string;
  keyPrefix?: string;
  dataSource?: string;
  table?: string;
  externalIdColumn?: string;
  externalIdType?: 'string' | 'number';
  writable?: boolean;
}

/**
 * Builds an `__x` object definition. `fields` are the custom fields already validated by the schema
 * loader; `externalNames` maps each to its column (default: the field name without `__c`).
 */
export function externalObject(
  spec: ExternalObjectSpec,
  fields: FieldDef[],
  externalNames: Map<string, string | undefined>,
  sources: readonly ExternalDataSource[],
  where: string,
  keyPrefix: string,
): ObjectDef {
  if (!spec.dataSource) throw new Error(`${where}: an external object needs dataSource: the name of an entry under externalDataSources`);
  const source = sources.find((s) => s.name.toLowerCase() === spec.dataSource!.toLowerCase());
  if (!source) {
    throw new Error(`${where} › dataSource: no external data source ${spec.dataSource}; define it under externalDataSources (known: ${sources.map((s) => s.name).join(', ') || 'none'})`);
  }
  if (!spec.table) throw new Error(`${where}: an external object needs table: the OData entity set it shows (e.g. table: Orders)`);
  if (!spec.externalIdColumn) throw new Error(`${where}: an external object needs externalIdColumn: the entity set's key property`);
  const columns = new Map<string, string>();
  for (const f of fields) columns.set(f.name.toLowerCase(), externalNames.get(f.name) ?? f.name.replace(/__c$/, ''));
  const label = spec.label ?? spec.name.slice(0, -3).replace(/_/g, ' ');
  const writable = spec.writable === true;
  const ro = { createable: false, updateable: false };
  const info: ExternalObjectInfo = { source, table: spec.table, keyColumn: spec.externalIdColumn, keyType: spec.externalIdType ?? 'string', columns };
  return {
    name: spec.name,
    label,
    labelPlural: spec.labelPlural ?? label,
    custom: true,
    keyPrefix,
    queryable: true,
    createable: writable,
    updateable: writable,
    deletable: writable,
    undeletable: false,
    replicateable: false,
    searchable: false,
    triggerable: false,
    feedEnabled: false,
    mergeable: false,
    external: info,
    fields: [
      { name: 'Id', type: 'id', length: 18, nillable: false, ...ro, idLookup: true, system: true },
      { name: 'ExternalId', type: 'string', length: 255, label: 'External ID', nillable: false, externalId: true, idLookup: true, unique: true, createable: writable, updateable: false, system: true },
      { name: 'DisplayUrl', type: 'url', length: 1000, label: 'Display URL', nillable: true, ...ro, system: true },
      ...fields.map((f) => ({ ...f, createable: writable && f.createable !== false, updateable: writable && f.updateable !== false })),
    ],
  };
}

/**
 * Choosing fields from a describe so a generated query does not fail: only fields the user can see
 * (describe is already FLS-filtered), no compound field next to its components (Salesforce rejects
 * duplicates and Bulk rejects compounds), no base64 in Bulk, only filterable fields for WHERE use.
 */
import type { DescribeField, DescribeSObjectResult } from '../client/describe.ts';

/** Field types that are compounds of other fields. */
export const COMPOUND_TYPES: readonly string[] = ['address', 'location'];

export interface FieldsForOptions {
  /** Bulk API mode: leaves out compound and base64 fields (Bulk queries reject them). */
  bulk?: boolean;
  /** Only fields usable in WHERE. */
  filterable?: boolean;
  /** Extra predicate applied last. */
  include?: (f: DescribeField) => boolean;
  /** Field names to leave out (case-insensitive). */
  exclude?: readonly string[];
}

/** Field names of `describe` that are safe to select, in describe order. */
export function fieldsFor(describe: Pick<DescribeSObjectResult, 'name' | 'queryable' | 'fields'>, opts: FieldsForOptions = {}): string[] {
  if (describe.queryable === false) throw new TypeError(`${describe.name} is not queryable (describe says queryable: false)`);
  const exclude = new Set((opts.exclude ?? []).map((n) => n.toLowerCase()));
  const compoundsWithComponents = new Set(describe.fields.map((f) => f.compoundFieldName).filter((n): n is string => typeof n === 'string' && n !== ''));
  return describe.fields
    .filter((f) => {
      if (f.deprecatedAndHidden) return false;
      if (exclude.has(f.name.toLowerCase())) return false;
      const compound = COMPOUND_TYPES.includes(f.type);
      // The components are selected individually; adding the compound would return the same data twice.
      if (compound && (opts.bulk || compoundsWithComponents.has(f.name))) return false;
      if (opts.bulk && f.type === 'base64') return false;
      if (opts.filterable && !f.filterable) return false;
      return opts.include ? opts.include(f) : true;
    })
    .map((f) => f.name);
}

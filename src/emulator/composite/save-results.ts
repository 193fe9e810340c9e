/**
 * SaveResult-style bodies shared by sObject Collections and sObject Tree: per-record errors use
 * `statusCode` (not `errorCode`) and always carry `fields`.
 */
import { SfError } from '../errors.ts';
import type { Org } from '../org.ts';

/** One per-record error entry, as in `{"statusCode":"REQUIRED_FIELD_MISSING","message":…,"fields":[…]}`. */
export interface SaveError {
  statusCode: string;
  message: string;
  fields: string[];
}

/** One entry of a Collections create/update/delete/upsert result array. */
export interface SaveResult {
  id?: string;
  success: boolean;
  errors: SaveError[];
  created?: boolean;
}

/** The error every other record gets when an allOrNone Collections call fails. */
export const ROLLED_BACK: SaveError = {
  statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK',
  message: 'Record rolled back because not all records were valid and the request was using AllOrNone header',
  fields: [],
};

/**
 * Converts a DML failure to a per-record error. Unknown record IDs surface from the shared DML layer as the
 * REST 404 NOT_FOUND; inside a SaveResult Salesforce reports those as `ENTITY_IS_DELETED`.
 */
export function toSaveError(err: unknown): SaveError {
  if (!(err instanceof SfError)) throw err;
  if (err.errorCode === 'NOT_FOUND') return { statusCode: 'ENTITY_IS_DELETED', message: 'entity is deleted', fields: [] };
  return { statusCode: err.errorCode, message: err.message, fields: err.fields ?? [] };
}

const ROLLBACK = Symbol('sfbridge.collections.rollback');

/**
 * Applies `exec` to items 0..n-1 inside one transaction, each in its own savepoint so a failing record leaves
 * no partial row. With `allOrNone`, one failure rolls everything back and the other entries become
 * ALL_OR_NONE_OPERATION_ROLLED_BACK. Synchronous on purpose: nothing else can write between the records.
 */
export function saveAll(org: Org, n: number, allOrNone: boolean, exec: (i: number) => SaveResult, onError: (i: number, error: SaveError) => SaveResult): SaveResult[] {
  const results: SaveResult[] = new Array(n);
  const failed = new Set<number>();
  try {
    org.store.transaction(() => {
      for (let i = 0; i < n; i++) {
        try {
          results[i] = org.store.transaction(() => exec(i));
        } catch (err) {
          results[i] = onError(i, toSaveError(err));
          failed.add(i);
        }
      }
      if (allOrNone && failed.size > 0) throw ROLLBACK;
    });
  } catch (err) {
    if (err !== ROLLBACK) throw err;
    for (let i = 0; i < n; i++) {
      // An upsert result keeps its `created` key: nothing was created once the whole call rolled back.
      if (!failed.has(i)) results[i] = { success: false, errors: [ROLLED_BACK], ...(results[i].created !== undefined ? { created: false } : {}) };
    }
  }
  return results;
}

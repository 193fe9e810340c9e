/**
 * The one classification of publish failures, shared by every send path (sObject Collections, Bulk API 2.0,
 * sObject Tree, single-record REST), the bulk-job settlement after a crash and dead-letter replay:
 *
 * - `retryable`: Salesforce answered and did not write (a lock, 503, an unprocessed bulk row): send again later;
 * - `permanent`: Salesforce answered and refused the record (validation, a bad column, a missing field), or
 *   the client refused it before sending: resending the same record fails the same way, so it goes to the
 *   dead letters at once and is never retried;
 * - `unknown-outcome`: no answer (timeout, reset, crash): the write may have happened. Never resent before
 *   the record was looked up (by its match field, its idempotency marker or its bulk job's results).
 *
 * Errors that are about the run rather than the record (authentication, the API budget, a caller's abort) are
 * not classified: they stop the run.
 */
import { SalesforceError, SfClientError } from '../../client/index.ts';
import { TRANSIENT_ERROR_CODES, type PublishErrorInfo } from './types.ts';

export type ErrorClass = 'retryable' | 'permanent' | 'unknown-outcome';

/** Client error codes that stop the whole run instead of failing its records. */
const RUN_STOPPING_CODES: ReadonlySet<string> = new Set(['AUTH_FAILED', 'SESSION_EXPIRED', 'CONFIG_ERROR', 'ORG_LIMIT_EXCEEDED', 'ORG_CEILING_REACHED', 'RUN_BUDGET_EXCEEDED']);

/** Client error codes that mean the request was refused before anything was written. */
const REFUSED_BEFORE_SEND: ReadonlySet<string> = new Set(['BULK_INVALID_INPUT']);

/** Class of one per-record Salesforce status code (`REQUIRED_FIELD_MISSING`, `UNABLE_TO_LOCK_ROW`, …). */
export function classifyRecordCode(code: string): Exclude<ErrorClass, 'unknown-outcome'> {
  return TRANSIENT_ERROR_CODES.has(code) ? 'retryable' : 'permanent';
}

/** Class of a record's errors: retryable only when every one of them is. */
export function classifyRecordErrors(errors: readonly PublishErrorInfo[]): Exclude<ErrorClass, 'unknown-outcome'> {
  return errors.length > 0 && errors.every((e) => classifyRecordCode(e.code) === 'retryable') ? 'retryable' : 'permanent';
}

/** The class of a failed call plus its errors as per-record errors; rethrows what stops the run. */
export function classifyCallError(err: unknown): { class: ErrorClass; errors: PublishErrorInfo[] } {
  if ((err as Error)?.name === 'AbortError') throw err;
  if (err instanceof SalesforceError) {
    // Salesforce answered: nothing was written. A 5xx/429 answer is worth retrying.
    const errors = err.errors.length ? err.errors.map((e) => ({ code: e.errorCode, message: e.message, fields: e.fields ?? [] })) : [{ code: err.errorCode, message: err.message, fields: err.fields }];
    const retryable = err.status === 429 || err.status >= 500 || classifyRecordErrors(errors) === 'retryable';
    return { class: retryable ? 'retryable' : 'permanent', errors };
  }
  if (err instanceof SfClientError) {
    if (RUN_STOPPING_CODES.has(err.code)) throw err;
    const errors = [{ code: err.code, message: err.message, fields: [] }];
    if (REFUSED_BEFORE_SEND.has(err.code)) return { class: 'permanent', errors };
    return { class: 'unknown-outcome', errors };
  }
  return { class: 'unknown-outcome', errors: [{ code: 'NETWORK_ERROR', message: (err as Error)?.message ?? String(err), fields: [] }] };
}

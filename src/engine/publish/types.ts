/**
 * Shared publisher types, limits and errors. The result shape ({@link PublishRecordResult}) is the same
 * whichever path (sObject Collections, Bulk API 2.0, reconciliation) produced it.
 */
import type { PublishErrorInfo } from '../../store/index.ts';

export type { PublishErrorInfo };

/** Below this many records the planner uses sObject Collections; at or above it, Bulk API 2.0 ingest. */
export const COLLECTIONS_MAX_RECORDS = 2000;
/** Collections calls in flight at once. */
export const DEFAULT_PUBLISH_PARALLELISM = 4;
/** Rounds of automatic resending for transient failures (after the first send). */
export const MAX_TRANSIENT_RETRIES = 4;
/** Backoff before retry round n is `RETRY_BASE_DELAY_MS * 2^(n-1)`, capped at {@link RETRY_MAX_DELAY_MS}. */
export const RETRY_BASE_DELAY_MS = 500;
export const RETRY_MAX_DELAY_MS = 15_000;
/** Records per reconciliation query (keys in one `IN (…)` list; keeps the SOQL well below its length limit). */
export const RECONCILE_BATCH = 200;
/** Records enqueued / read from the outbox per database round trip. */
export const OUTBOX_PAGE = 2000;

/** Salesforce per-record status codes that mean "try again later". */
export const TRANSIENT_ERROR_CODES: ReadonlySet<string> = new Set([
  'UNABLE_TO_LOCK_ROW',
  'SERVER_UNAVAILABLE',
  'REQUEST_RUNNING_TOO_LONG',
  'QUERY_TIMEOUT',
  'TIMEOUT',
  'NETWORK_ERROR',
  'HTTP_503',
  'HTTP_502',
  'HTTP_504',
  'UNPROCESSED',
  'RETRY_BUDGET_EXHAUSTED',
  'TREE_ROLLED_BACK',
]);

/** Marker code for a record whose send outcome is unknown and cannot be reconciled (no key to look it up by). */
export const UNKNOWN_OUTCOME = 'UNKNOWN_OUTCOME';

/** The fields an insert is looked up by after an unknown outcome: the idempotency field, else the match fields. */
export function lookupFieldsOf(target: PublishTarget): string[] {
  if (target.idempotencyField) return [target.idempotencyField];
  return target.matchFields ?? [];
}

/** What to tell the user when an insert has nothing to be looked up by. */
export const MAKE_INSERT_SAFE = 'to make plain inserts crash-safe, name a text external ID field for sfbridge to mark each record with (--idempotency-field Sfbridge_Key__c, or target.idempotencyField), or a field of your data that identifies a record (--match-field / target.matchFields)';

/** Write operations (`create` is accepted as a synonym of `insert`). */
export type PublishOperation = 'insert' | 'update' | 'upsert' | 'delete';
export const PUBLISH_OPERATIONS: readonly PublishOperation[] = ['insert', 'update', 'upsert', 'delete'];

/** Which API path ran. */
export type PublishPath = 'collections' | 'bulk' | 'tree' | 'rest' | 'pubsub';

/** Where records go. */
export interface PublishTarget {
  object: string;
  operation: PublishOperation;
  /** External ID field for upsert. */
  externalIdField?: string;
  /**
   * For insert: fields that identify a record in Salesforce (an idempotency external-id field, or match
   * fields such as `Email`). Used to reconcile rows whose send outcome is unknown after a crash or timeout.
   */
  matchFields?: string[];
  /**
   * For insert: a text field (ideally a unique external ID, e.g. `Sfbridge_Key__c`) that sfbridge fills with a
   * marker unique to each record of the pipeline (`sfb1-` + 32 hex characters of a hash of the pipeline and the
   * record's key). After a crash or timeout, a record whose outcome is unknown is looked up by its marker before
   * anything is resent, so a plain insert is exactly-once without any natural key in the data.
   */
  idempotencyField?: string;
  /**
   * Upsert that only updates (`?updateOnly=true`, reference §2.6): a record whose external ID matches nothing
   * fails with `NOT_FOUND` instead of being created. Salesforce has it on the single-record REST upsert only
   * (sObject Collections and Bulk API 2.0 have no such option), so such a target is sent one record per call
   * (path `rest`) whatever the count, and refused with path collections or bulk.
   */
  updateOnly?: boolean;
  /**
   * Roll back each 200-record Collections call when any of its records fails (`allOrNone`, §3). The other
   * records of that call fail with `ALL_OR_NONE_OPERATION_ROLLED_BACK` and go to the dead letters with it.
   * Collections only: the planner uses Collections whatever the count.
   */
  allOrNone?: boolean;
  /**
   * Assignment rules on Case/Lead writes: `true`/`false` sends `Sforce-Auto-Assign: TRUE|FALSE` (Collections
   * only); an assignment rule Id sends `Sforce-Auto-Assign: {Id}` on Collections and `assignmentRuleId` on a
   * Bulk API 2.0 job (§0.4, §5.1).
   */
  assignmentRule?: boolean | string;
  /** `Sforce-Duplicate-Rule-Header` (§0.4, v52+) on Collections calls; Collections only. */
  duplicateRules?: DuplicateRuleHeader;
}

/** The parts of `Sforce-Duplicate-Rule-Header`; only the keys given are sent. */
export interface DuplicateRuleHeader {
  allowSave?: boolean;
  includeRecordDetails?: boolean;
  runAsCurrentUser?: boolean;
}

/** Why a target can only go through sObject Collections (undefined when Bulk API 2.0 can carry it). */
export function collectionsOnlyReason(target: PublishTarget): string | undefined {
  if (target.updateOnly) return undefined;
  if (target.allOrNone) return 'allOrNone (Bulk API 2.0 jobs have no all-or-none mode)';
  if (target.duplicateRules) return 'duplicateRules (Bulk API 2.0 takes no Sforce-Duplicate-Rule-Header)';
  if (typeof target.assignmentRule === 'boolean') return `assignmentRule: ${target.assignmentRule} (a Bulk API 2.0 job takes an assignment rule Id only)`;
  return undefined;
}

/** Request headers a target asks for on Collections calls. */
export function targetHeaders(target: PublishTarget): Record<string, string> | undefined {
  const h: Record<string, string> = {};
  if (target.assignmentRule !== undefined) h['Sforce-Auto-Assign'] = typeof target.assignmentRule === 'boolean' ? (target.assignmentRule ? 'TRUE' : 'FALSE') : target.assignmentRule;
  if (target.duplicateRules) {
    const parts = (['allowSave', 'includeRecordDetails', 'runAsCurrentUser'] as const).filter((k) => target.duplicateRules![k] !== undefined).map((k) => `${k}=${target.duplicateRules![k]}`);
    if (parts.length) h['Sforce-Duplicate-Rule-Header'] = parts.join('; ');
  }
  return Object.keys(h).length ? h : undefined;
}

/** Outcome for one input record. */
export interface PublishRecordResult {
  /** Input position (0-based) in this run. */
  index: number;
  /** Outbox key. */
  key: string;
  /** The record as sent to Salesforce (after transforms). */
  input: Record<string, unknown>;
  success: boolean;
  id: string | null;
  created: boolean;
  errors: PublishErrorInfo[];
  attempts: number;
  /** The row was already published by an earlier run (same key) and not sent again. */
  alreadyPublished?: boolean;
  /** Found in Salesforce by its key after an unknown outcome instead of being sent again. */
  reconciled?: boolean;
  /** Moved to the dead-letter table (its id). */
  deadLetterId?: number;
}

/** Totals of one run. */
export interface PublishSummary {
  total: number;
  succeeded: number;
  failed: number;
  created: number;
  alreadyPublished: number;
  reconciled: number;
  /** Records resent after a transient failure (counted once per resend). */
  retried: number;
  deadLettered: number;
  /** Open dead letters of earlier runs settled because their record was published now (see `superseded`). */
  superseded?: number;
  /** Paths used (first send decides; retries use collections). */
  paths: PublishPath[];
}

/** Stable error codes of {@link PublishError}. */
export const PUBLISH_ERROR_CODES = {
  config: 'PUBLISH_CONFIG',
  input: 'PUBLISH_INPUT',
  bulkUnavailable: 'BULK_UNAVAILABLE',
} as const;

/** A publisher error with a stable code (bad config, bad input). */
export class PublishError extends Error {
  readonly code: (typeof PUBLISH_ERROR_CODES)[keyof typeof PUBLISH_ERROR_CODES];
  constructor(code: PublishError['code'], message: string) {
    super(message);
    this.name = 'PublishError';
    this.code = code;
  }
}

/** True for a platform event object (`Order_Shipped__e`): insert-only, not queryable, not reconcilable. */
export const isPlatformEvent = (object: string): boolean => /__e$/i.test(object);

/** Normalises `create` to `insert` and rejects anything else unknown. */
export function normalizeOperation(op: string): PublishOperation {
  const o = op.trim().toLowerCase();
  if (o === 'create') return 'insert';
  if ((PUBLISH_OPERATIONS as readonly string[]).includes(o)) return o as PublishOperation;
  throw new PublishError('PUBLISH_CONFIG', `unknown operation "${op}": use insert (or create), update, upsert or delete`);
}

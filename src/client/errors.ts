/**
 * Every error the client throws, in one place. Each class has a stable `code` so callers can branch without
 * parsing messages, and every message says what to change to make the call succeed.
 */

/** Stable codes of {@link SfClientError} subclasses. */
export const ERROR_CODES = {
  /** Salesforce answered with an error body (`[{errorCode, message, fields}]`). */
  salesforce: 'SALESFORCE_ERROR',
  /** The network failed (reset, refused, DNS) and retries did not help. */
  network: 'NETWORK_ERROR',
  /** The per-call timeout fired. */
  timeout: 'TIMEOUT',
  /** The retry budget (token bucket) is empty: the org has been failing, so we stop adding load. */
  retryBudget: 'RETRY_BUDGET_EXHAUSTED',
  /** Salesforce asked us to wait (Retry-After) longer than the configured cap. */
  retryAfterTooLong: 'RETRY_AFTER_TOO_LONG',
  /** A response could not be parsed (HTML error page, truncated JSON). */
  badResponse: 'BAD_RESPONSE',
  /** The run used its share of the org's API calls. */
  runBudget: 'RUN_BUDGET_EXCEEDED',
  /** The org is above the configured ceiling of its daily API allocation. */
  orgCeiling: 'ORG_CEILING_REACHED',
  /** Salesforce refused with REQUEST_LIMIT_EXCEEDED (TotalRequests). */
  orgLimit: 'ORG_LIMIT_EXCEEDED',
  /** Login or token refresh failed. */
  auth: 'AUTH_FAILED',
  /** The session expired and these credentials cannot get a new one. */
  sessionExpired: 'SESSION_EXPIRED',
  /** Missing or contradictory connection settings. */
  config: 'CONFIG_ERROR',
  /** Bulk API 2.0 failures (see `BULK_ERROR_CODES` in bulk2/common.ts for what each means). */
  bulkJobFailed: 'BULK_JOB_FAILED',
  bulkJobAborted: 'BULK_JOB_ABORTED',
  bulkWaitExceeded: 'BULK_WAIT_EXCEEDED',
  bulkPageCount: 'BULK_PAGE_COUNT_MISMATCH',
  bulkInvalidInput: 'BULK_INVALID_INPUT',
} as const;

export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

/** Base class of all client errors. */
export class SfClientError extends Error {
  /** Stable machine-readable code, one of {@link ERROR_CODES}. */
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** One entry of a Salesforce REST error body. */
export interface SalesforceErrorItem {
  errorCode: string;
  message: string;
  fields?: string[];
}

/** Salesforce rejected the call. `errorCode`/`fields` come from the first error in the body; `errors` has all. */
export class SalesforceError extends SfClientError {
  readonly errorCode: string;
  readonly fields: string[];
  readonly status: number;
  readonly errors: SalesforceErrorItem[];
  /** For 300 Multiple Choices (upsert matched several records): the record URLs Salesforce listed. */
  readonly matches: string[];
  constructor(status: number, errors: SalesforceErrorItem[], matches: string[] = []) {
    const first = errors[0] ?? { errorCode: 'UNKNOWN_EXCEPTION', message: `HTTP ${status} without an error body` };
    const more = errors.length > 1 ? ` (+${errors.length - 1} more)` : '';
    super(ERROR_CODES.salesforce, `${first.errorCode}: ${first.message}${more}`);
    this.errorCode = errors.length > 1 ? 'MULTIPLE_API_ERRORS' : first.errorCode;
    this.fields = first.fields ?? [];
    this.status = status;
    this.errors = errors;
    this.matches = matches;
  }
}

/** The request could not be completed on the wire. */
export class TransportError extends SfClientError {
  /** Attempts made before giving up. */
  readonly attempts: number;
  /** HTTP status of the last attempt, when there was one. */
  readonly status: number | undefined;
  constructor(code: ErrorCode, message: string, opts: { attempts: number; status?: number; cause?: unknown }) {
    super(code, message, { cause: opts.cause });
    this.attempts = opts.attempts;
    this.status = opts.status;
  }
}

/** API usage numbers attached to a {@link LimitError}. */
export interface LimitNumbers {
  /** Org-wide calls used in the rolling 24 h window (from Sforce-Limit-Info or /limits). */
  used: number;
  /** Org-wide daily allocation. */
  max: number;
  /** Calls this run may make in total. */
  runBudget: number;
  /** Calls this run has made. */
  runUsed: number;
  /** Org usage ceiling as a call count (`ceiling × max`). */
  ceiling: number;
}

/** The API budget governor (or Salesforce itself) refused the call. */
export class LimitError extends SfClientError {
  readonly numbers: LimitNumbers;
  constructor(code: ErrorCode, message: string, numbers: LimitNumbers) {
    super(code, message);
    this.numbers = numbers;
  }
}

/** Login or refresh failed. `error`/`errorDescription` are Salesforce's OAuth fields. */
export class AuthError extends SfClientError {
  readonly error: string;
  readonly errorDescription: string;
  readonly status: number;
  constructor(code: ErrorCode, message: string, opts: { error?: string; errorDescription?: string; status?: number; cause?: unknown } = {}) {
    super(code, message, { cause: opts.cause });
    this.error = opts.error ?? '';
    this.errorDescription = opts.errorDescription ?? '';
    this.status = opts.status ?? 0;
  }
}

/**
 * True for a login that failed for a passing reason (the token endpoint down or answering 5xx, too many
 * logins at once): trying again later may succeed without anyone changing the credentials.
 */
export function isTransientAuthFailure(err: AuthError): boolean {
  return err.status >= 500 || err.status === 429 || err.error === 'rate_limit_exceeded';
}

/** Connection settings are missing or contradictory. */
export class ConfigError extends SfClientError {
  constructor(message: string) {
    super(ERROR_CODES.config, message);
  }
}

/** Parses a REST error body into items; tolerates the SaveResult form (`statusCode` instead of `errorCode`). */
export function parseErrorBody(status: number, text: string): SalesforceErrorItem[] {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    const snippet = text.slice(0, 200).replace(/\s+/g, ' ').trim();
    const hint = /<html/i.test(text) ? ' (an HTML page: check the instance URL points at a Salesforce org)' : '';
    return [{ errorCode: `HTTP_${status}`, message: `${snippet || 'empty body'}${hint}` }];
  }
  const list = Array.isArray(body) ? body : [body];
  return list.map((e) => {
    const o = (e ?? {}) as Record<string, unknown>;
    const code = o.errorCode ?? o.statusCode ?? o.error ?? `HTTP_${status}`;
    const message = o.message ?? o.error_description ?? JSON.stringify(e);
    const item: SalesforceErrorItem = { errorCode: String(code), message: String(message) };
    if (Array.isArray(o.fields)) item.fields = o.fields.map(String);
    return item;
  });
}

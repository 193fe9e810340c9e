/**
 * The connection core: auth + transport + governor behind one `request()`. Feature modules (REST,
 * describe, query, composite) are thin functions over it, exposed as methods on `SalesforceClient` (index.ts).
 */
import { Authenticator, type Credentials, type Session } from './auth.ts';
import { AuthError, ConfigError, ERROR_CODES, LimitError, SalesforceError, TransportError, parseErrorBody } from './errors.ts';
import { ApiGovernor, type GovernorOptions, type UsageReading } from './governor.ts';
import type { Logger } from './log.ts';
import type { TokenStore } from './token-store.ts';
import { RetryBudget, Transport, type BodySource, type FetchLike, type RetryEvent, type RetryPolicy } from './transport.ts';

/** API version used when none is given. */
export const DEFAULT_API_VERSION = '62.0';
/** How many times one request may refresh the session after a 401 (never loop). */
export const MAX_REFRESHES_PER_REQUEST = 1;
/** Sent as `Sforce-Call-Options` so the org can tell sfbridge's calls apart (CDC changeOrigin, event logs). */
export const DEFAULT_CALL_OPTIONS = 'client=sfbridge';

export interface ClientOptions {
  /** How to log in; or pass a ready {@link Authenticator}. */
  credentials?: Credentials;
  authenticator?: Authenticator;
  /** `62.0` style; default {@link DEFAULT_API_VERSION}. */
  apiVersion?: string;
  fetch?: FetchLike;
  /** HTTP proxy URL for this client's requests (else `HTTPS_PROXY`/`HTTP_PROXY`; `NO_PROXY` honoured). */
  proxy?: string;
  retry?: Partial<RetryPolicy>;
  /** Shared retry budget (share one per org across clients). */
  budget?: RetryBudget;
  /** Per-attempt timeout in ms. */
  timeoutMs?: number;
  /** No-byte timeout while a response body is read (see `DEFAULT_PROGRESS_TIMEOUT_MS`). */
  progressTimeoutMs?: number;
  /** Wait for response headers after which a "still waiting" notice is logged (see `DEFAULT_WAIT_NOTICE_MS`). */
  waitNoticeMs?: number;
  /** Called before each retry's wait (they are also logged at warn level). */
  onRetry?: (e: RetryEvent) => void;
  logger?: Logger;
  logHeaders?: boolean;
  /** A governor to share, options for a new one, or `false` to disable (not recommended against real orgs). */
  governor?: ApiGovernor | GovernorOptions | false;
  tokenStore?: TokenStore;
  /** Jitter randomness (tests). */
  random?: () => number;
  /** `Sforce-Call-Options` value; default {@link DEFAULT_CALL_OPTIONS}. */
  callOptions?: string;
}

/** Options of one API call. */
export interface RequestOptions {
  method?: string;
  /** JSON body (serialised once, replayed on retry). */
  json?: unknown;
  /** Raw body when not JSON. */
  body?: BodySource;
  headers?: Record<string, string>;
  /** Query-string parameters; undefined values are skipped. */
  query?: Record<string, string | number | boolean | undefined>;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Takes a long-running slot in the governor's semaphore (queries, composite). */
  long?: boolean;
  /** Overrides method-based retry safety. */
  idempotent?: boolean;
  /** Non-2xx statuses the caller handles itself (e.g. 300, 304, a tree's 400) instead of an error being thrown. */
  accept?: readonly number[];
  /** Skip the governor (used for the governor's own /limits reading, in pause mode or without the header). */
  ungoverned?: boolean;
}

/** A parsed API response. */
export interface ApiResponse<T> {
  status: number;
  headers: Headers;
  body: T;
}

/** A Salesforce org connection. Methods live in feature modules; see `index.ts` for the full client. */
export class Connection {
  readonly apiVersion: string;
  readonly transport: Transport;
  readonly auth: Authenticator;
  readonly governor: ApiGovernor | undefined;
  readonly #callOptions: string;

  constructor(opts: ClientOptions) {
    this.apiVersion = opts.apiVersion ?? DEFAULT_API_VERSION;
    if (!/^\d+\.\d$/.test(this.apiVersion)) throw new ConfigError(`apiVersion must look like 62.0, got "${this.apiVersion}"`);
    this.transport = new Transport({ fetch: opts.fetch, proxy: opts.proxy, retry: opts.retry, budget: opts.budget, timeoutMs: opts.timeoutMs, progressTimeoutMs: opts.progressTimeoutMs, waitNoticeMs: opts.waitNoticeMs, onRetry: opts.onRetry, logger: opts.logger, logHeaders: opts.logHeaders, random: opts.random });
    if (opts.authenticator) this.auth = opts.authenticator;
    else if (opts.credentials) this.auth = new Authenticator({ credentials: opts.credentials, transport: this.transport, tokenStore: opts.tokenStore });
    else throw new ConfigError('no credentials: pass credentials (see resolveCredentials) or an authenticator');
    this.governor = opts.governor === false ? undefined : opts.governor instanceof ApiGovernor ? opts.governor : new ApiGovernor(opts.governor);
    if (this.governor && !this.governor.readLimits) this.governor.readLimits = (signal) => this.#readUsage(signal);
    this.#callOptions = opts.callOptions ?? DEFAULT_CALL_OPTIONS;
  }

  /** `/services/data/vXX.X` for this client's version. */
  get dataPath(): string {
    return `/services/data/v${this.apiVersion}`;
  }

  #versionCheck: Promise<void> | undefined;

  /**
   * Refuses an API version the org does not serve, naming the versions it does (`GET /services/data`, which
   * counts against no limit); checked once per connection. A version the org does not know would otherwise
   * answer 404 on every resource, which reads like "object not found".
   */
  checkApiVersion(signal?: AbortSignal): Promise<void> {
    this.#versionCheck ??= (async () => {
      const list = await this.request<{ version: string }[]>('/services/data', { signal, ungoverned: true });
      if (!Array.isArray(list) || list.length === 0) return;
      const versions = list.map((v) => String(v.version));
      if (versions.includes(this.apiVersion)) return;
      const newest = versions[versions.length - 1];
      throw new ConfigError(`API version ${this.apiVersion} is not served by this org (it serves ${versions[0]}–${newest}): use --api-version ${newest} (api_version: "${newest}" in the connection block), or leave it out for the default`);
    })();
    this.#versionCheck.catch(() => (this.#versionCheck = undefined));
    return this.#versionCheck;
  }

  /** The current session (logs in if needed). */
  session(signal?: AbortSignal): Promise<Session> {
    return this.auth.getSession(signal);
  }

  /**
   * Calls any REST path and returns parsed JSON (undefined for empty bodies). `path` may be relative to
   * the data API (`sobjects/Account`), start with `/services/` (Apex REST: `/services/apexrest/x`), or be an
   * absolute URL on the instance.
   */
  async request<T = unknown>(path: string, opts: RequestOptions = {}): Promise<T> {
    return (await this.call<T>(path, opts)).body;
  }

  /** Like {@link request} but returns status and headers too. */
  async call<T = unknown>(path: string, opts: RequestOptions = {}): Promise<ApiResponse<T>> {
    const release = this.governor && !opts.ungoverned ? await this.governor.admit({ long: opts.long, signal: opts.signal }) : undefined;
    try {
      return await this.#callAuthed<T>(path, opts);
    } finally {
      release?.();
    }
  }

  async #callAuthed<T>(path: string, opts: RequestOptions): Promise<ApiResponse<T>> {
    const method = (opts.method ?? 'GET').toUpperCase();
    const body: BodySource | undefined = opts.json !== undefined ? JSON.stringify(opts.json) : opts.body;
    let session = await this.auth.getSession(opts.signal);
    for (let refreshes = 0; ; refreshes++) {
      // The URL is rebuilt from the current session each time: after a refresh the instance may have moved.
      const url = this.#url(session, path, opts.query);
      const headers: Record<string, string> = {
        accept: 'application/json',
        'sforce-call-options': this.#callOptions,
        ...opts.headers,
        authorization: `Bearer ${session.accessToken}`,
      };
      if (opts.json !== undefined) headers['content-type'] = 'application/json';
      const res = await this.transport.send({ method, url, headers, body, signal: opts.signal, timeoutMs: opts.timeoutMs, idempotent: opts.idempotent });
      this.governor?.observe(res.headers.get('sforce-limit-info'));
      if (res.status === 401) {
        const errors = parseErrorBody(401, res.text);
        const refreshable = errors.some((e) => e.errorCode === 'INVALID_SESSION_ID') && !/not valid for use with the REST API/i.test(res.text);
        if (!refreshable) throw new SalesforceError(401, errors);
        if (refreshes >= MAX_REFRESHES_PER_REQUEST) {
          throw new AuthError(ERROR_CODES.sessionExpired, `Salesforce rejected a freshly issued session (401 INVALID_SESSION_ID on ${method} ${pathOnly(url)}): check the user's profile has "API Enabled", and the org's session settings (Lock sessions to the IP address / login IP ranges)`, { error: 'INVALID_SESSION_ID', errorDescription: errors[0]?.message, status: 401 });
        }
        session = await this.auth.refresh(session, opts.signal);
        continue;
      }
      if (res.status >= 300 && !opts.accept?.includes(res.status)) {
        throw this.#apiError(res.status, res.text);
      }
      return { status: res.status, headers: res.headers, body: parseBody<T>(res.text, res.status) };
    }
  }

  /**
   * Like {@link call} for a GET whose successful body is returned unread, to be consumed as a stream (large
   * query pages). Error statuses are read and thrown as from {@link call}; a 401 refreshes the session once.
   * The governor slot is held until the headers arrive; the body is read at the consumer's pace, so the
   * per-attempt timeout covers the headers only.
   */
  async stream(path: string, opts: Pick<RequestOptions, 'headers' | 'query' | 'signal' | 'timeoutMs' | 'long'> = {}): Promise<Response> {
    const release = this.governor ? await this.governor.admit({ long: opts.long, signal: opts.signal }) : undefined;
    try {
      let session = await this.auth.getSession(opts.signal);
      for (let refreshes = 0; ; refreshes++) {
        const url = this.#url(session, path, opts.query);
        const headers: Record<string, string> = { accept: 'application/json', 'sforce-call-options': this.#callOptions, ...opts.headers, authorization: `Bearer ${session.accessToken}` };
        const res = await this.transport.stream({ method: 'GET', url, headers, signal: opts.signal, timeoutMs: opts.timeoutMs, headersTimeoutOnly: true });
        this.governor?.observe(res.headers.get('sforce-limit-info'));
        if (res.status < 300) return res;
        const text = await res.text();
        if (res.status === 401) {
          const errors = parseErrorBody(401, text);
          const refreshable = errors.some((e) => e.errorCode === 'INVALID_SESSION_ID') && !/not valid for use with the REST API/i.test(text);
          if (!refreshable) throw new SalesforceError(401, errors);
          if (refreshes >= MAX_REFRESHES_PER_REQUEST) {
            throw new AuthError(ERROR_CODES.sessionExpired, `Salesforce rejected a freshly issued session (401 INVALID_SESSION_ID on GET ${pathOnly(url)}): check the user's profile has "API Enabled", and the org's session settings (Lock sessions to the IP address / login IP ranges)`, { error: 'INVALID_SESSION_ID', errorDescription: errors[0]?.message, status: 401 });
          }
          session = await this.auth.refresh(session, opts.signal);
          continue;
        }
        throw this.#apiError(res.status, text);
      }
    } finally {
      release?.();
    }
  }

  #apiError(status: number, text: string): Error {
    const errors = parseErrorBody(status, text);
    // The concurrent long-running request limit shares the code; it is not the daily allocation.
    const total = errors.find((e) => e.errorCode === 'REQUEST_LIMIT_EXCEEDED' && !/ConcurrentPerOrgLongTxn/i.test(e.message));
    if (total) {
      const n = this.governor?.numbers() ?? { used: 0, max: 0, runBudget: 0, runUsed: 0, ceiling: 0 };
      return new LimitError(ERROR_CODES.orgLimit, `Salesforce refused the call: REQUEST_LIMIT_EXCEEDED (${total.message}); org usage ${n.used}/${n.max}. Wait for the rolling 24 h window, or ask Salesforce for a higher allocation`, n);
    }
    return new SalesforceError(status, errors);
  }

  #url(session: Session, path: string, query?: RequestOptions['query']): string {
    let url: URL;
    if (/^https?:\/\//i.test(path)) {
      url = new URL(path);
      // Never send the bearer token to another host.
      if (url.origin !== new URL(session.instanceUrl).origin) throw new ConfigError(`refusing to send the session to ${url.origin}: requests must target the instance ${session.instanceUrl}`);
    } else if (path.startsWith('/services/')) {
      url = new URL(session.instanceUrl + path);
    } else {
      url = new URL(`${session.instanceUrl}${this.dataPath}/${path.replace(/^\/+/, '')}`);
    }
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    return url.toString();
  }

  async #readUsage(signal?: AbortSignal): Promise<UsageReading | undefined> {
    try {
      const limits = await this.request<Record<string, { Max: number; Remaining: number }>>('limits', { signal, ungoverned: true });
      const d = limits.DailyApiRequests;
      return d ? { used: d.Max - d.Remaining, max: d.Max } : undefined;
    } catch (err) {
      // Without "View Setup and Configuration" (403) or on hosts lacking /limits (404) there is no reading
      // here; the next response's Sforce-Limit-Info header supplies it.
      if (err instanceof SalesforceError && (err.status === 403 || err.status === 404)) return undefined;
      throw err;
    }
  }
}

function parseBody<T>(text: string, status: number): T {
  if (!text) return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new TransportError(ERROR_CODES.badResponse, `expected JSON from Salesforce (HTTP ${status}), got: ${text.slice(0, 120)}`, { attempts: 1, status });
  }
}

function pathOnly(url: string): string {
  const u = new URL(url);
  return u.pathname;
}

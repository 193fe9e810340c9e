/**
 * The emulator as a fetch-style handler: `emulator.request('/services/data')` works in-process (tests),
 * `serve(emulator.fetch)` puts it on a socket. Cross-cutting behaviour lives here: authentication,
 * API-usage counting and `Sforce-Limit-Info`, fault injection, and turning SfErrors into Salesforce bodies.
 */
import { commitLateChanges } from './dml.ts';
import { OutboundSender } from './outbound/sender.ts';
import { Org, type OrgOptions } from './org.ts';
import { SfError } from './errors.ts';
import { json, sfErrorResponse } from './http/respond.ts';
import { Router, type Params } from './http/router.ts';
import { normalizeUrl } from './http/path.ts';
import { SessionStore, type Session } from './oauth/sessions.ts';
import { standardObjects } from './schema/standard.ts';
import { registerOAuthRoutes } from './oauth/routes.ts';
import { resolveOAuthSettings, type OAuthOptions, type OAuthSettings } from './oauth/config.ts';
import { cutMidResponse } from './faults.ts';
import { registerRestRoutes } from './rest/routes.ts';
import { registerAdminRoutes } from './admin.ts';
import { bulkEngine } from './bulk/engine.ts';
import { AsyncError, asyncErrorResponse, requestWire } from './bulk1/format.ts';
import { changeOrigin, inTransactionScope } from './events/capture.ts';
import { registerCometdRoutes } from './events/cometd.ts';

/** Thrown (or returned via `resetResponse`) when the `reset` fault decides to drop the connection. */
export const CONNECTION_RESET = Symbol('sfbridge.emulator.connectionReset');

/** What every handler receives. */
export interface Ctx {
  req: Request;
  url: URL;
  org: Org;
  sessions: SessionStore;
  /** The authenticated session (null on public routes). */
  session: Session | null;
  /** API version from the path (`62.0`), or the org default on unversioned routes. */
  version: string;
  /** Origin the client used, so URLs we hand out point back at us (`http://127.0.0.1:8484`). */
  baseUrl: string;
  emulator: Emulator;
}

export type RouteHandler = (ctx: Ctx, params: Params) => Response | Promise<Response>;

/** The API versions the emulator serves, oldest first (v31.0 … v66.0). */
export const SUPPORTED_VERSIONS = Array.from({ length: 66 - 31 + 1 }, (_, i) => `${31 + i}.0`);
const RELEASES = ['Spring', 'Summer', 'Winter'];

/** `62.0` → `Winter '25` (v21 was Spring '11; three releases a year). */
export function releaseLabel(version: string): string {
  const n = Math.round(Number(version)) - 21;
  const season = RELEASES[((n % 3) + 3) % 3];
  const year = 11 + Math.floor(n / 3) + (season === 'Winter' ? 1 : 0);
  return `${season} '${String(year).padStart(2, '0')}`;
}

export interface EmulatorOptions extends Omit<OrgOptions, 'objects'>, OAuthOptions {
  /** Extra objects (custom objects, or fields added to standard ones) merged over the standard set. */
  objects?: OrgOptions['objects'];
  /** Public base URL when behind a proxy; otherwise taken from each request's Host. */
  baseUrl?: string;
  /** How Outbound Messages are POSTed (default global fetch). */
  outboundFetch?: typeof fetch;
}

export class Emulator {
  readonly org: Org;
  readonly sessions: SessionStore;
  /** Callback URLs, JWT certificate and refresh-token rotation of the emulated connected app. */
  readonly oauth: OAuthSettings;
  readonly #router = new Router<Ctx>();
  readonly #baseUrl: string | undefined;
  /** Requests served, by outcome, and records written (created, updated, deleted, undeleted, purged), for `/__emulator/stats`. */
  readonly stats = { requests: 0, errors: 0, faults: 0, writes: 0 };
  /** Outbound Messages of the schema's definitions (queue, sender, `/__emulator/outbound-messages`). */
  readonly outbound: OutboundSender;

  constructor(opts: EmulatorOptions = {}) {
    this.org = new Org({ ...opts, objects: [...standardObjects, ...(opts.objects ?? [])] });
    this.org.events.on('write', () => void this.stats.writes++);
    this.sessions = new SessionStore(this.org);
    this.oauth = resolveOAuthSettings(opts);
    this.#baseUrl = opts.baseUrl;
    registerAdminRoutes(this.#router);
    registerOAuthRoutes(this.#router);
    registerRestRoutes(this.#router);
    registerCometdRoutes(this.#router);
    // Bulk jobs left InProgress by a previous run (file-backed org) continue without waiting for a request.
    bulkEngine(this.org);
    this.outbound = new OutboundSender(this.org, { fetch: opts.outboundFetch, baseUrl: () => this.#baseUrl ?? 'http://127.0.0.1:8484' });
  }

  /** Adds routes (used by feature modules registered after construction). */
  get router(): Router<Ctx> {
    return this.#router;
  }

  /** In-process request, like hono's `app.request()`: a path or URL plus RequestInit. */
  request = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const base = this.#baseUrl ?? 'http://127.0.0.1:8484';
    // A string starting with `/` is a path even when it starts with `//` (which URL would read as a host).
    const target = typeof input === 'string' && input.startsWith('/') ? `${new URL(base).origin}${input}` : new URL(String(input), base);
    const req = input instanceof Request ? input : new Request(target, init);
    return this.fetch(req);
  };

  /** The fetch handler. */
  fetch = async (req: Request): Promise<Response> => this.#handle(req, null);

  /**
   * Runs a request as part of another one (Composite subrequests, batch): the caller's session is reused,
   * no API call is counted and no fault is injected, as on Salesforce where the outer call counts once.
   */
  dispatch(req: Request, session: Session): Promise<Response> {
    return this.#handle(req, session);
  }

  async #handle(req: Request, inner: Session | null): Promise<Response> {
    this.stats.requests++;
    // The one place the path is normalised: version, authentication, API counting and routing all read `url`.
    const url = forwardedScheme(req, normalizeUrl(new URL(req.url)));
    // Outer API calls count toward the concurrent long-running request limit while they run (composite
    // subrequests run inside their outer call and do not count again).
    const tracked = inner === null && API_PATH.test(url.pathname);
    if (tracked) {
      const refusal = this.#admitConcurrent();
      if (refusal) return refusal;
    }
    const started = Date.now();
    if (tracked) this.#inFlight.add(started);
    try {
      return await this.#process(req, url, inner);
    } finally {
      if (tracked) this.#inFlight.delete(started);
    }
  }

  /** Start times (ms) of running outer API calls; a multiset, since two calls may start in the same ms. */
  readonly #inFlight = new MultiSet();

  #admitConcurrent(): Response | null {
    const { concurrentLongLimit, longRequestMs } = this.org.faults.settings;
    const longSince = Date.now() - longRequestMs;
    if (this.#inFlight.countAtMost(longSince) < concurrentLongLimit) return null;
    this.stats.faults++;
    return json([{ message: 'ConcurrentPerOrgLongTxn Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }], 403);
  }

  async #process(req: Request, url: URL, inner: Session | null): Promise<Response> {
    const baseUrl = this.#baseUrl ?? url.origin;
    const method = methodOverride(req, url);
    const ctx: Ctx = { req, url, org: this.org, sessions: this.sessions, session: null, version: this.org.apiVersion, baseUrl, emulator: this };
    try {
      // Changes still committing (commitDelay) whose time has come are visible to this request.
      commitLateChanges(this.org);
      const latency = this.org.faults.settings.latency;
      if (latency > 0 && !url.pathname.startsWith('/__emulator')) await new Promise((r) => setTimeout(r, latency));
      const versioned = /^\/services\/data\/v(\d+\.\d)(\/|$)/.exec(url.pathname);
      if (versioned) {
        ctx.version = versioned[1];
        const major = Number(versioned[1]);
        if (major < 31) throw new SfError(410, 'GONE', `The requested API version ${versioned[1]} has been retired and is no longer available.`);
        if (!SUPPORTED_VERSIONS.includes(versioned[1])) throw new SfError(404, 'NOT_FOUND', 'The requested resource does not exist');
      }
      const needsAuth = requiresSession(url.pathname);
      let cut = false;
      if (needsAuth && inner) {
        ctx.session = inner;
      } else if (needsAuth) {
        ctx.session = this.#authenticate(req, url);
        const fault = this.#injectFault(url);
        if (fault === CONNECTION_RESET) cut = true;
        else if (fault) return fault;
        this.#countCall();
      }
      // `/services/data/<anything but vNN.N>` names no version: not found (after authentication, as on Salesforce).
      if (!versioned && /^\/services\/data\/[^/]+/.test(url.pathname)) throw new SfError(404, 'NOT_FOUND', 'The requested resource does not exist');
      const found = this.#router.match(method, url.pathname);
      if (!('handler' in found)) {
        if (found.methodMismatch) throw new SfError(405, 'METHOD_NOT_ALLOWED', `HTTP Method '${method}' not allowed. Allowed are HEAD,GET,POST,PATCH,DELETE`);
        throw new SfError(404, 'NOT_FOUND', 'The requested resource does not exist');
      }
      // One outer request is one transaction for change events (Composite subrequests join it).
      const res = inner
        ? await found.handler(ctx, found.params)
        : await inTransactionScope(changeOrigin(url.pathname.startsWith('/services/async/') ? 'bulkapi' : /\/tooling(\/|$)/.test(url.pathname) ? 'toolingrest' : 'rest', /^\/services\/async\/(\d+\.\d)/.exec(url.pathname)?.[1] ?? ctx.version, req.headers.get('sforce-call-options')), () => found.handler(ctx, found.params));
      const out = needsAuth && versioned ? withLimitInfo(res, this.org) : res;
      return cut ? cutMidResponse(out, CONNECTION_RESET) : out;
    } catch (err) {
      if (err === CONNECTION_RESET) throw err;
      this.stats.errors++;
      // Bulk API 1.0 answers in its own <error> / {exceptionCode} shape.
      if (url.pathname.startsWith('/services/async/') && (err instanceof SfError || err instanceof AsyncError)) return asyncErrorResponse(err, requestWire(req));
      if (err instanceof SfError) {
        const res = sfErrorResponse(err);
        return ctx.session && url.pathname.startsWith('/services/data/v') ? withLimitInfo(res, this.org) : res;
      }
      return json([{ message: `An unexpected error occurred: ${(err as Error).message}`, errorCode: 'UNKNOWN_EXCEPTION' }], 500);
    }
  }

  #authenticate(req: Request, url: URL): Session {
    const header = req.headers.get('authorization');
    let token: string | null = null;
    if (header) {
      const m = /^(Bearer|OAuth)\s+(.+)$/i.exec(header.trim());
      if (!m) throw new SfError(401, 'INVALID_AUTH_HEADER', 'INVALID_HEADER_TYPE');
      token = m[2];
    } else {
      // Bulk API 1.0 clients send the session in X-SFDC-Session.
      token = req.headers.get('x-sfdc-session') ?? url.searchParams.get('oauth_token');
    }
    const session = token ? this.sessions.validate(token) : null;
    if (!session) throw new SfError(401, 'INVALID_SESSION_ID', 'Session expired or invalid');
    this.org.currentUserId = session.userId;
    return session;
  }

  /** A fault response, CONNECTION_RESET when the response is to be cut mid-body, or null. */
  #injectFault(url: URL): Response | typeof CONNECTION_RESET | null {
    const f = this.org.faults;
    if (this.org.apiUsage >= f.settings.dailyLimit) {
      this.stats.faults++;
      return json([{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }], 403);
    }
    if (f.roll('http503')) {
      this.stats.faults++;
      return json([{ message: 'Server unavailable, try again later', errorCode: 'SERVER_UNAVAILABLE' }], 503, { 'retry-after': '1' });
    }
    if (f.roll('reset')) {
      this.stats.faults++;
      return CONNECTION_RESET;
    }
    if (f.roll('http429')) {
      this.stats.faults++;
      return json([{ message: 'Too many requests', errorCode: 'REQUEST_LIMIT_EXCEEDED' }], 429, { 'retry-after': '1' });
    }
    void url;
    return null;
  }

  #countCall(): void {
    this.org.countApiCall();
  }

  /** Closes the org database (pending writes are flushed). */
  close(): void {
    this.outbound.stop();
    this.org.close();
  }
}

/**
 * Paths served without a session: the sign-in pages and token endpoints, discovery documents, the version
 * list, and the emulator's own admin API. Everything else under `/services/` and `/id/` needs a session, so a
 * route added later is protected unless it is listed here. `singleaccess` checks its token itself (it answers
 * OAuth's `invalid_token`, not the REST error).
 */
const PUBLIC_PATHS = new Set(['/', '/services/data', '/services/oauth2/token', '/services/oauth2/authorize', '/services/oauth2/revoke', '/services/oauth2/introspect', '/services/oauth2/singleaccess', '/secur/frontdoor.jsp', '/id/keys', '/.well-known/openid-configuration']);

/** Whether a (normalised) path needs an authenticated session. */
export function requiresSession(path: string): boolean {
  if (PUBLIC_PATHS.has(path) || path === '/__emulator' || path.startsWith('/__emulator/')) return false;
  return path.startsWith('/services/') || path.startsWith('/id/');
}

/** Paths whose calls are API requests (data, Apex REST, identity): what the concurrency limit counts. */
const API_PATH = /^\/services\/(data\/v\d+\.\d(\/|$)|apexrest\/)/;

/** A small multiset of numbers (request start times). */
class MultiSet {
  readonly #counts = new Map<number, number>();
  add(n: number): void {
    this.#counts.set(n, (this.#counts.get(n) ?? 0) + 1);
  }
  delete(n: number): void {
    const c = (this.#counts.get(n) ?? 0) - 1;
    if (c > 0) this.#counts.set(n, c);
    else this.#counts.delete(n);
  }
  /** How many values are ≤ `limit`. */
  countAtMost(limit: number): number {
    let total = 0;
    for (const [n, c] of this.#counts) if (n <= limit) total += c;
    return total;
  }
}

/**
 * Behind a TLS-terminating proxy the request arrives as http: `X-Forwarded-Proto` (its first value, `http` or
 * `https`) names the scheme the client used, so instance and identity URLs point back through the proxy.
 */
function forwardedScheme(req: Request, url: URL): URL {
  const proto = req.headers.get('x-forwarded-proto')?.split(',')[0].trim().toLowerCase();
  if ((proto === 'https' || proto === 'http') && url.protocol !== `${proto}:`) url.protocol = proto;
  return url;
}

function methodOverride(req: Request, url: URL): string {
  const o = url.searchParams.get('_HttpMethod');
  return req.method === 'POST' && o ? o.toUpperCase() : req.method;
}

function withLimitInfo(res: Response, org: Org): Response {
  // Responses from the router are fresh objects, so headers are mutable.
  try {
    res.headers.set('sforce-limit-info', `api-usage=${org.apiUsage}/${org.faults.settings.dailyLimit}`);
    return res;
  } catch {
    const headers = new Headers(res.headers);
    headers.set('sforce-limit-info', `api-usage=${org.apiUsage}/${org.faults.settings.dailyLimit}`);
    return new Response(res.body, { status: res.status, headers });
  }
}

/** Creates an emulator with the standard org. */
export function createEmulator(opts: EmulatorOptions = {}): Emulator {
  return new Emulator(opts);
}

/**
 * Request-reply: `POST /inbound/reply/{route}` is the target of a Named Credential that an Apex callout
 * calls and waits on. A route checks the caller (a Salesforce session checked against the org, a JWT
 * signed by a configured key, an HMAC signature or a static header), maps the request with a transform,
 * calls the remote system with its own credentials and a timeout well under Salesforce's 120 s callout
 * limit, maps the reply and returns it. A circuit breaker stops calling a remote that keeps failing, and an
 * optional short cache answers repeated lookups without calling it.
 *
 * ```yaml
 * reply_routes:
 *   credit-check:
 *     auth: { kind: salesforce-session, connection: prod }
 *     remote:
 *       url: https://erp.example.com/credit/{{account_number}}
 *       method: GET
 *       auth: { bearer_env: ERP_TOKEN }
 *       timeout: 10s
 *     request: { rename: { AccountNumber: account_number } }
 *     reply: { rename: { limit: Credit_Limit__c } }
 *     cache: { ttl: 60s }
 *     circuit: { failures: 5, reset: 30s }
 * ```
 *
 * Every error has one shape an Apex class can parse:
 * `{"error": {"code": "REMOTE_TIMEOUT", "message": "…", "retryable": true, "remote_status": null}}`.
 */
import { createHash, createHmac, createPublicKey, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import type { Hono } from 'hono';
import { importX509, jwtVerify, type KeyObject as JoseKey } from 'jose';
import { z } from 'zod';
import { durationSchema } from '../../engine/duration.ts';
import { compileTransform, renderTemplate, transformSchema, validateTransform } from '../../engine/publish/transform.ts';
import type { Service } from '../../engine/service.ts';

/** Remote timeout default and ceiling: an Apex callout gives up at 120 s, so sfbridge answers well before. */
export const REPLY_DEFAULT_TIMEOUT_MS = 10_000;
export const REPLY_MAX_TIMEOUT_MS = 100_000;
/** Circuit breaker defaults: open after 5 failures in a row, try again after 30 s. */
export const CIRCUIT_DEFAULTS = Object.freeze({ failures: 5, resetMs: 30_000 });
/** A Salesforce session checked against the org is trusted this long before it is checked again. */
export const SESSION_CHECK_TTL_MS = 60_000;
/** Request bodies larger than this are refused. */
export const REPLY_MAX_BYTES = 1024 * 1024;

const ENV = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name such as ERP_TOKEN');
const HEADER = z.string().regex(/^[A-Za-z0-9-]+$/, 'an HTTP header name');

const authSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('salesforce-session'), connection: z.string().min(1).describe("the caller's bearer token must be a live session of this connection's org") }),
  z.strictObject({ kind: z.literal('jwt'), key: z.string().min(1).describe('PEM file of the certificate or public key that signs the JWT'), issuer: z.string().optional(), audience: z.string().optional(), algorithms: z.array(z.string()).optional() }),
  z.strictObject({ kind: z.literal('hmac'), secret_env: ENV, header: HEADER.default('X-Signature') }),
  z.strictObject({ kind: z.literal('header'), name: HEADER, value_env: ENV }),
]);

const remoteAuthSchema = z.union([z.strictObject({ bearer_env: ENV }), z.strictObject({ basic: z.strictObject({ username: z.string(), password_env: ENV }) }), z.strictObject({ header: z.strictObject({ name: HEADER, value_env: ENV }) })]);

export const replyRouteSchema = z.strictObject({
  auth: authSchema,
  remote: z.strictObject({
    url: z.string().regex(/^https?:\/\//, 'an http(s) URL; {{field}} placeholders are filled from the mapped request'),
    method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).default('POST'),
    headers: z.record(z.string(), z.string()).optional(),
    auth: remoteAuthSchema.optional(),
    timeout: durationSchema.optional().describe(`default ${REPLY_DEFAULT_TIMEOUT_MS / 1000}s, at most ${REPLY_MAX_TIMEOUT_MS / 1000}s`),
  }),
  request: transformSchema.optional().describe('maps the caller\'s JSON into the remote request'),
  reply: transformSchema.optional().describe("maps the remote's JSON into the answer"),
  cache: z.strictObject({ ttl: durationSchema, max_entries: z.number().int().min(1).max(1_000_000).default(1000) }).optional(),
  circuit: z.strictObject({ failures: z.number().int().min(1).max(1000).optional(), reset: durationSchema.optional() }).optional(),
});
export type ReplyRouteSpec = z.output<typeof replyRouteSchema>;

export const replyRoutesSchema = z.record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'a route name of letters, digits, _ . -'), replyRouteSchema);

/** An error answered to the caller. */
export class ReplyError extends Error {
  readonly code: string;
  readonly status: number;
  readonly retryable: boolean;
  readonly remoteStatus: number | null;
  constructor(code: string, status: number, message: string, opts: { retryable?: boolean; remoteStatus?: number } = {}) {
    super(message);
    this.name = 'ReplyError';
    this.code = code;
    this.status = status;
    this.retryable = opts.retryable ?? false;
    this.remoteStatus = opts.remoteStatus ?? null;
  }
  body() {
    return { error: { code: this.code, message: this.message, retryable: this.retryable, remote_status: this.remoteStatus } };
  }
}

/** A circuit breaker: closed → open after N failures in a row → half-open after the reset → closed on success. */
export class Circuit {
  #failures = 0;
  #openedAt: number | undefined;
  #trial = false;
  readonly limit: number;
  readonly resetMs: number;
  readonly now: () => number;
  constructor(limit: number, resetMs: number, now: () => number = Date.now) {
    this.limit = limit;
    this.resetMs = resetMs;
    this.now = now;
  }
  get state(): 'closed' | 'open' | 'half-open' {
    if (this.#openedAt === undefined) return 'closed';
    return this.now() - this.#openedAt >= this.resetMs ? 'half-open' : 'open';
  }
  /** Whether a call may go out now (in half-open state, one trial at a time). */
  allow(): boolean {
    const s = this.state;
    if (s === 'closed') return true;
    if (s === 'open' || this.#trial) return false;
    this.#trial = true;
    return true;
  }
  retryAfterMs(): number {
    return this.#openedAt === undefined ? 0 : Math.max(0, this.resetMs - (this.now() - this.#openedAt));
  }
  success(): void {
    this.#failures = 0;
    this.#openedAt = undefined;
    this.#trial = false;
  }
  failure(): void {
    this.#trial = false;
    this.#failures++;
    if (this.#openedAt !== undefined || this.#failures >= this.limit) this.#openedAt = this.now();
  }
}

/** A small TTL cache (insertion order evicts the oldest first). */
class TtlCache {
  readonly #map = new Map<string, { at: number; value: unknown }>();
  readonly ttlMs: number;
  readonly max: number;
  readonly now: () => number;
  constructor(ttlMs: number, max: number, now: () => number) {
    this.ttlMs = ttlMs;
    this.max = max;
    this.now = now;
  }
  get(key: string): unknown {
    const e = this.#map.get(key);
    if (!e) return undefined;
    if (this.now() - e.at > this.ttlMs) {
      this.#map.delete(key);
      return undefined;
    }
    return e.value;
  }
  set(key: string, value: unknown): void {
    this.#map.delete(key);
    this.#map.set(key, { at: this.now(), value });
    while (this.#map.size > this.max) this.#map.delete(this.#map.keys().next().value!);
  }
}

export interface ReplyRoutesOptions {
  routes: Record<string, ReplyRouteSpec>;
  service: Service;
  /** Relative key files resolve against this directory. */
  baseDir: string;
  env?: NodeJS.ProcessEnv;
  /** How the remote is called (tests, proxies). */
  fetch?: typeof fetch;
  now?: () => number;
}

interface RouteState {
  spec: ReplyRouteSpec;
  circuit: Circuit;
  cache?: TtlCache;
  request: (r: Record<string, unknown>) => Record<string, unknown>;
  reply: (r: Record<string, unknown>) => Record<string, unknown>;
  key?: Promise<JoseKey | CryptoKey | ReturnType<typeof createPublicKey>>;
}

/** Checks a parsed `reply_routes:` block beyond its schema (transforms). */
export function checkReplyRoutes(routes: Record<string, ReplyRouteSpec>): void {
  for (const [name, r] of Object.entries(routes)) {
    validateTransform(r.request, `reply_routes.${name}.request`);
    validateTransform(r.reply, `reply_routes.${name}.reply`);
    if ((r.remote.timeout ?? 0) > REPLY_MAX_TIMEOUT_MS) throw new Error(`reply_routes.${name}.remote.timeout: at most ${REPLY_MAX_TIMEOUT_MS / 1000}s, so the answer reaches Salesforce before its 120 s callout limit`);
  }
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** Registers `POST /inbound/reply/{route}` for the configured routes. */
export function registerReplyRoutes(app: Hono, opts: ReplyRoutesOptions): void {
  const env = opts.env ?? process.env;
  const now = opts.now ?? Date.now;
  const doFetch = opts.fetch ?? fetch;
  checkReplyRoutes(opts.routes);
  const states = new Map<string, RouteState>();
  for (const [name, spec] of Object.entries(opts.routes)) {
    states.set(name, {
      spec,
      circuit: new Circuit(spec.circuit?.failures ?? CIRCUIT_DEFAULTS.failures, spec.circuit?.reset ?? CIRCUIT_DEFAULTS.resetMs, now),
      cache: spec.cache ? new TtlCache(spec.cache.ttl, spec.cache.max_entries, now) : undefined,
      request: compileTransform(spec.request),
      reply: compileTransform(spec.reply),
    });
  }
  const sessions = new Map<string, number>();

  const authenticate = async (st: RouteState, req: Request, body: Buffer): Promise<void> => {
    const a = st.spec.auth;
    const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.get('authorization') ?? '')?.[1]?.trim();
    switch (a.kind) {
      case 'salesforce-session': {
        if (!bearer) throw new ReplyError('UNAUTHORIZED', 401, 'send the Salesforce session as Authorization: Bearer (a Named Credential with the session, or {!$Api.Session_ID})');
        const key = `${a.connection}:${sha(bearer)}`;
        const until = sessions.get(key);
        if (until !== undefined && until > now()) return;
        const client = await opts.service.connections.client(a.connection).catch((err: unknown) => {
          throw new ReplyError('CONNECTION_FAILED', 503, `connection "${a.connection}" does not log in, so the caller cannot be checked: ${(err as Error).message}`, { retryable: true });
        });
        const session = await client.session();
        const res = await opts.service.fetch(`${session.instanceUrl}/services/oauth2/userinfo`, { headers: { authorization: `Bearer ${bearer}` }, signal: AbortSignal.timeout(10_000) }).catch(() => undefined);
        if (!res) throw new ReplyError('CONNECTION_FAILED', 503, 'the org could not be reached to check the session', { retryable: true });
        if (res.status !== 200) throw new ReplyError('UNAUTHORIZED', 401, 'the session is not valid in the org (expired or revoked)');
        const info = (await res.json()) as { organization_id?: string };
        const org = opts.service.connections.orgId(a.connection);
        if (!org || info.organization_id?.slice(0, 15) !== org.slice(0, 15)) throw new ReplyError('UNAUTHORIZED', 401, `the session belongs to org ${info.organization_id ?? 'unknown'}, not to connection "${a.connection}"`);
        sessions.set(key, now() + SESSION_CHECK_TTL_MS);
        if (sessions.size > 10_000) sessions.delete(sessions.keys().next().value!);
        return;
      }
      case 'jwt': {
        if (!bearer) throw new ReplyError('UNAUTHORIZED', 401, 'send the JWT as Authorization: Bearer');
        st.key ??= (async () => {
          const pem = await readFile(isAbsolute(a.key) ? a.key : resolve(opts.baseDir, a.key), 'utf8');
          return pem.includes('BEGIN CERTIFICATE') ? importX509(pem, a.algorithms?.[0] ?? 'RS256') : createPublicKey(pem);
        })();
        try {
          await jwtVerify(bearer, (await st.key) as never, { issuer: a.issuer, audience: a.audience, algorithms: a.algorithms ?? ['RS256', 'RS384', 'RS512', 'ES256', 'ES384'], currentDate: new Date(now()) });
        } catch (err) {
          throw new ReplyError('UNAUTHORIZED', 401, `the JWT is not valid: ${(err as Error).message}`);
        }
        return;
      }
      case 'hmac': {
        const secret = env[a.secret_env];
        if (!secret) throw new ReplyError('NOT_CONFIGURED', 503, `set the environment variable ${a.secret_env} (the route's shared secret)`);
        const given = (req.headers.get(a.header) ?? '').replace(/^sha256=/i, '');
        const expected = createHmac('sha256', secret).update(body).digest();
        const buf = /^[0-9a-f]{64}$/i.test(given) ? Buffer.from(given, 'hex') : Buffer.from(given, 'base64');
        if (buf.length !== expected.length || !timingSafeEqual(buf, expected)) throw new ReplyError('UNAUTHORIZED', 401, `missing or wrong ${a.header} (HMAC-SHA256 of the body)`);
        return;
      }
      case 'header': {
        const value = env[a.value_env];
        if (!value) throw new ReplyError('NOT_CONFIGURED', 503, `set the environment variable ${a.value_env} (the route's header value)`);
        const given = Buffer.from(req.headers.get(a.name) ?? '');
        const want = Buffer.from(value);
        if (given.length !== want.length || !timingSafeEqual(given, want)) throw new ReplyError('UNAUTHORIZED', 401, `missing or wrong ${a.name} header`);
        return;
      }
    }
  };

  const callRemote = async (st: RouteState, mapped: Record<string, unknown>, signal: AbortSignal): Promise<Record<string, unknown>> => {
    const r = st.spec.remote;
    const url = r.url.replace(/\{\{\s*([^}|]+?)\s*\}\}/g, (_m, path: string) => encodeURIComponent(String(renderTemplate(`{{${path}}}`, mapped) ?? '')));
    const headers = new Headers({ accept: 'application/json', ...(r.headers ?? {}) });
    const ra = r.auth;
    const need = (name: string) => {
      const v = env[name];
      if (!v) throw new ReplyError('NOT_CONFIGURED', 503, `set the environment variable ${name} (the remote's credential)`);
      return v;
    };
    if (ra && 'bearer_env' in ra) headers.set('authorization', `Bearer ${need(ra.bearer_env)}`);
    if (ra && 'basic' in ra) headers.set('authorization', `Basic ${Buffer.from(`${ra.basic.username}:${need(ra.basic.password_env)}`).toString('base64')}`);
    if (ra && 'header' in ra) headers.set(ra.header.name, need(ra.header.value_env));
    const hasBody = r.method !== 'GET' && r.method !== 'DELETE';
    if (hasBody) headers.set('content-type', 'application/json');
    const timeoutMs = Math.min(r.timeout ?? REPLY_DEFAULT_TIMEOUT_MS, REPLY_MAX_TIMEOUT_MS);
    const timeout = AbortSignal.timeout(timeoutMs);
    let res: Response;
    try {
      res = await doFetch(url, { method: r.method, headers, body: hasBody ? JSON.stringify(mapped) : undefined, signal: AbortSignal.any([timeout, signal]) });
    } catch (err) {
      if (timeout.aborted) throw new ReplyError('REMOTE_TIMEOUT', 504, `the remote did not answer within ${timeoutMs / 1000}s`, { retryable: true });
      throw new ReplyError('REMOTE_UNREACHABLE', 502, `the remote could not be reached: ${(err as Error).message}`, { retryable: true });
    }
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      if (timeout.aborted) throw new ReplyError('REMOTE_TIMEOUT', 504, `the remote did not finish its answer within ${timeoutMs / 1000}s`, { retryable: true });
      throw new ReplyError('REMOTE_UNREACHABLE', 502, `the remote's answer was cut: ${(err as Error).message}`, { retryable: true });
    }
    if (!res.ok) throw new ReplyError('REMOTE_ERROR', 502, `the remote answered ${res.status}: ${text.slice(0, 300)}`, { retryable: res.status >= 500 || res.status === 429, remoteStatus: res.status });
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : {};
    } catch {
      throw new ReplyError('INVALID_REPLY', 502, `the remote's answer is not JSON: ${text.slice(0, 120)}`, { remoteStatus: res.status });
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return { items: parsed };
    return parsed as Record<string, unknown>;
  };

  app.post('/inbound/reply/:route', async (c) => {
    const name = c.req.param('route');
    const st = states.get(name);
    const fail = (e: ReplyError) => c.json(e.body(), e.status as 400, e.code === 'CIRCUIT_OPEN' ? { 'retry-after': String(Math.ceil(st!.circuit.retryAfterMs() / 1000)) } : {});
    if (!st) return fail(new ReplyError('NOT_FOUND', 404, `no reply route "${name}" (routes: ${[...states.keys()].join(', ') || 'none'}; add it under reply_routes: in the config)`));
    const bytes = Buffer.from(await c.req.arrayBuffer());
    if (bytes.length > REPLY_MAX_BYTES) return fail(new ReplyError('TOO_LARGE', 413, `request bodies are limited to ${REPLY_MAX_BYTES} bytes`));
    try {
      await authenticate(st, c.req.raw, bytes);
      let input: unknown = {};
      if (bytes.length) {
        try {
          input = JSON.parse(bytes.toString('utf8'));
        } catch {
          throw new ReplyError('INVALID_REQUEST', 400, 'the body is not JSON');
        }
      }
      if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new ReplyError('INVALID_REQUEST', 400, 'the body must be a JSON object');
      const mapped = st.request(input as Record<string, unknown>);
      const cacheKey = st.cache ? sha(JSON.stringify(mapped)) : '';
      const hit = st.cache?.get(cacheKey);
      if (hit !== undefined) return c.json(hit as object, 200, { 'x-sfbridge-cache': 'hit' });
      if (!st.circuit.allow()) throw new ReplyError('CIRCUIT_OPEN', 503, `the remote failed ${st.circuit.limit} times in a row; calls resume in ${Math.ceil(st.circuit.retryAfterMs() / 1000)}s`, { retryable: true });
      let answer: Record<string, unknown>;
      try {
        answer = st.reply(await callRemote(st, mapped, c.req.raw.signal));
      } catch (err) {
        // A remote that answered 4xx is up (the request was wrong); only unavailability trips the circuit.
        if (err instanceof ReplyError && (err.retryable || err.code === 'INVALID_REPLY')) st.circuit.failure();
        else st.circuit.success();
        throw err;
      }
      st.circuit.success();
      st.cache?.set(cacheKey, answer);
      return c.json(answer, 200, st.cache ? { 'x-sfbridge-cache': 'miss' } : {});
    } catch (err) {
      if (err instanceof ReplyError) return fail(err);
      return fail(new ReplyError('INTERNAL', 500, (err as Error).message));
    }
  });
}

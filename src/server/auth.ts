/**
 * Who may call the service: API tokens (`Authorization: Bearer sfb_…`, shown once, stored as SHA-256) for
 * programs, and a dashboard session (cookie `sfbridge_session`: HttpOnly, SameSite=Lax, Secure behind TLS)
 * for people, opened with `SFBRIDGE_ADMIN_PASSWORD` or a one-time login link printed at start.
 *
 * Cookie-authenticated writes also need the session's CSRF token (form field `_csrf` or header
 * `X-CSRF-Token`) and, when the browser sends one, an `Origin` equal to the service's own. Every request's
 * host must be one the service answers to, so a DNS-rebinding page cannot reach a service on 127.0.0.1.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ServiceState, SessionRow } from '../store/index.ts';

/** API token prefix (lets secret scanners and people recognise one). */
export const TOKEN_PREFIX = 'sfb_';
export const SESSION_COOKIE = 'sfbridge_session';
/** Pre-login CSRF cookie for the login form (double submit). */
export const LOGIN_CSRF_COOKIE = 'sfbridge_login_csrf';
/** Sessions last this long since their last use. */
export const SESSION_TTL_MS = 12 * 3_600_000;
/** A one-time login link is valid this long. */
export const LOGIN_LINK_TTL_MS = 60 * 60_000;
/** Failed password logins allowed per minute before the form answers 429. */
export const LOGIN_ATTEMPTS_PER_MINUTE = 10;

export const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
const random = (bytes = 32): string => randomBytes(bytes).toString('base64url');

/** Compares two strings in constant time (by their hashes, so lengths do not leak either). */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

/** Who a request is. */
export type Principal = { kind: 'token'; name: string; scopes?: string[] | null } | { kind: 'session'; session: SessionRow };

export interface AuthOptions {
  state: ServiceState;
  /** `SFBRIDGE_ADMIN_PASSWORD`; without it only login links open sessions. */
  adminPassword?: string;
  now?: () => number;
}

export class Auth {
  readonly #state: ServiceState;
  readonly #password: string | undefined;
  readonly #now: () => number;
  readonly #failures: number[] = [];

  constructor(opts: AuthOptions) {
    this.#state = opts.state;
    this.#password = opts.adminPassword || undefined;
    this.#now = opts.now ?? Date.now;
  }

  get passwordLogin(): boolean {
    return this.#password !== undefined;
  }

  /** Creates an API token; the value is returned once and only its hash is kept. */
  async createToken(name: string, opts: { scopes?: string[] } = {}): Promise<{ name: string; token: string; prefix: string }> {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) throw new Error(`token name must be letters, digits, _ . - (at most 64), got "${name}"`);
    const active = (await this.#state.listTokens()).find((t) => t.name === name && !t.revokedAt);
    if (active) throw new Error(`a token named "${name}" exists already; revoke it first (sfbridge tokens revoke ${name}) or pick another name`);
    const token = `${TOKEN_PREFIX}${random(32)}`;
    const prefix = token.slice(0, TOKEN_PREFIX.length + 6);
    await this.#state.createToken({ name, hash: sha256(token), prefix, scopes: opts.scopes?.length ? opts.scopes : null });
    return { name, token, prefix };
  }

  /** The token's name when it is valid and not revoked. */
  async verifyToken(token: string): Promise<string | undefined> {
    return (await this.tokenOf(token))?.name;
  }

  /** The token's name and scopes when it is valid and not revoked. */
  async tokenOf(token: string): Promise<{ name: string; scopes: string[] | null } | undefined> {
    if (!token.startsWith(TOKEN_PREFIX)) return undefined;
    const row = await this.#state.findToken(sha256(token));
    if (!row || row.revokedAt) return undefined;
    const now = new Date(this.#now()).toISOString();
    // Last use is kept to the minute: enough to see stale tokens, without a write per request.
    if (!row.lastUsedAt || Date.parse(now) - Date.parse(row.lastUsedAt) > 60_000) await this.#state.touchToken(row.id, now);
    return { name: row.name, scopes: row.scopes ?? null };
  }

  /** Opens a session; returns the cookie value (only its hash is stored). */
  async openSession(): Promise<{ cookie: string; session: SessionRow }> {
    const cookie = random(32);
    const session: SessionRow = { idHash: sha256(cookie), csrf: random(24), createdAt: new Date(this.#now()).toISOString(), expiresAt: new Date(this.#now() + SESSION_TTL_MS).toISOString() };
    await this.#state.createSession(session);
    return { cookie, session };
  }

  /** The session of a cookie value, extended when more than half its lifetime has passed. */
  async session(cookie: string | undefined): Promise<SessionRow | undefined> {
    if (!cookie) return undefined;
    const row = await this.#state.getSession(sha256(cookie));
    const now = this.#now();
    if (!row || Date.parse(row.expiresAt) <= now) return undefined;
    if (Date.parse(row.expiresAt) - now < SESSION_TTL_MS / 2) {
      row.expiresAt = new Date(now + SESSION_TTL_MS).toISOString();
      await this.#state.extendSession(row.idHash, row.expiresAt);
    }
    return row;
  }

  async closeSession(cookie: string | undefined): Promise<void> {
    if (cookie) await this.#state.deleteSession(sha256(cookie));
  }

  /** Checks the admin password; `limited` when too many attempts failed in the last minute. */
  checkPassword(given: string): 'ok' | 'wrong' | 'disabled' | 'limited' {
    if (!this.#password) return 'disabled';
    const now = this.#now();
    while (this.#failures.length && this.#failures[0] < now - 60_000) this.#failures.shift();
    if (this.#failures.length >= LOGIN_ATTEMPTS_PER_MINUTE) return 'limited';
    if (sameSecret(given, this.#password)) return 'ok';
    this.#failures.push(now);
    return 'wrong';
  }

  /** A one-time login link token (single use, {@link LOGIN_LINK_TTL_MS}). */
  async createLoginLink(): Promise<string> {
    const token = random(32);
    await this.#state.putOneTime('login', sha256(token), {}, new Date(this.#now() + LOGIN_LINK_TTL_MS).toISOString());
    return token;
  }

  takeLoginLink(token: string) {
    return this.#state.takeOneTime('login', sha256(token), new Date(this.#now()).toISOString());
  }

  static newCsrf(): string {
    return random(24);
  }
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** Whether a bind address is loopback only. */
export function isLoopback(host: string): boolean {
  return LOOPBACK_NAMES.has(host) || host.startsWith('127.');
}

/**
 * The hosts a service answers to. Bound to loopback: only loopback names (and the public URL's host), so a
 * web page that rebinds its own DNS name to 127.0.0.1 is refused. Bound elsewhere: any, unless listed.
 */
export function hostAllowed(hostHeader: string, opts: { bindHost: string; publicUrl?: string; allowedHosts?: readonly string[] }): boolean {
  const name = hostHeader.replace(/:\d+$/, '').toLowerCase();
  const listed = new Set((opts.allowedHosts ?? []).map((h) => h.toLowerCase()));
  if (opts.publicUrl) listed.add(new URL(opts.publicUrl).hostname.toLowerCase());
  if (listed.has(name)) return true;
  if (isLoopback(opts.bindHost)) return LOOPBACK_NAMES.has(name) || name.startsWith('127.');
  return listed.size === 0 || LOOPBACK_NAMES.has(name);
}

/** Parses a Cookie header. */
export function readCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = decodeURIComponent(part.slice(i + 1).trim());
  }
  return out;
}

/** A Set-Cookie value with the service's cookie attributes. */
export function cookie(name: string, value: string, opts: { secure: boolean; maxAgeSeconds?: number }): string {
  const parts = [`${name}=${encodeURIComponent(value)}`, 'Path=/', 'HttpOnly', 'SameSite=Lax'];
  if (opts.secure) parts.push('Secure');
  if (opts.maxAgeSeconds !== undefined) parts.push(`Max-Age=${opts.maxAgeSeconds}`);
  return parts.join('; ');
}

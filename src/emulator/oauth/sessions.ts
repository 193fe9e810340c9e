/**
 * Access and refresh tokens issued by the emulator. Kept in the org database so a file-backed emulator
 * keeps its sessions across restarts. Access tokens look like real ones (`{orgId15}!{opaque}`) and expire
 * after `tokenTtl` seconds of the org clock; an expired or revoked token yields 401 INVALID_SESSION_ID.
 */
import { randomBytes } from 'node:crypto';
import type { Org } from '../org.ts';

export interface Session {
  accessToken: string;
  userId: string;
  clientId: string;
  scope: string;
  issuedAt: number;
  expiresAt: number;
  refreshToken: string | null;
}

export class SessionStore {
  readonly #org: Org;
  constructor(org: Org) {
    this.#org = org;
    org.store.db.exec(`CREATE TABLE IF NOT EXISTS _oauth_token (
      token TEXT PRIMARY KEY, kind TEXT NOT NULL, user_id TEXT NOT NULL, client_id TEXT NOT NULL, scope TEXT NOT NULL,
      issued_at INTEGER NOT NULL, expires_at INTEGER, refresh_token TEXT, revoked INTEGER NOT NULL DEFAULT 0)`);
  }

  /** Issues an access token (and optionally a refresh token, or reuses one on refresh). */
  issue(userId: string, clientId: string, scope: string, refresh: boolean | string): Session {
    const now = this.#org.clock.now();
    const accessToken = `${this.#org.orgId.slice(0, 15)}!${randomBytes(48).toString('base64url')}`;
    let refreshToken: string | null = null;
    if (typeof refresh === 'string') refreshToken = refresh;
    else if (refresh) {
      refreshToken = `5Aep861${randomBytes(40).toString('base64url')}`;
      this.#org.store.prepare('INSERT INTO _oauth_token (token, kind, user_id, client_id, scope, issued_at) VALUES (?, ?, ?, ?, ?, ?)').run(refreshToken, 'refresh', userId, clientId, scope, now);
    }
    const expiresAt = now + this.#org.faults.settings.tokenTtl * 1000;
    this.#org.store.prepare('INSERT INTO _oauth_token (token, kind, user_id, client_id, scope, issued_at, expires_at, refresh_token) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(accessToken, 'access', userId, clientId, scope, now, expiresAt, refreshToken);
    return { accessToken, userId, clientId, scope, issuedAt: now, expiresAt, refreshToken };
  }

  /** The live session for an access token, or null when unknown, expired or revoked. */
  validate(accessToken: string): Session | null {
    const row = this.#org.store.prepare("SELECT * FROM _oauth_token WHERE token = ? AND kind = 'access' AND revoked = 0").get(accessToken);
    if (!row) return null;
    const s = toSession(row);
    if (s.expiresAt <= this.#org.clock.now()) return null;
    // Salesforce sessions time out after inactivity: each use slides the expiry forward.
    const next = this.#org.clock.now() + this.#org.faults.settings.tokenTtl * 1000;
    if (next - s.expiresAt > 60_000) this.#org.store.prepare('UPDATE _oauth_token SET expires_at = ? WHERE token = ?').run(next, accessToken);
    return s;
  }

  /** The refresh-token record, or null if unknown or revoked. */
  refreshTokenInfo(token: string): { userId: string; clientId: string; scope: string } | null {
    const row = this.#org.store.prepare("SELECT * FROM _oauth_token WHERE token = ? AND kind = 'refresh' AND revoked = 0").get(token);
    return row ? { userId: String(row.user_id), clientId: String(row.client_id), scope: String(row.scope) } : null;
  }

  /** Revokes a token; revoking a refresh token also revokes access tokens issued from it. */
  revoke(token: string): boolean {
    const res = this.#org.store.prepare('UPDATE _oauth_token SET revoked = 1 WHERE token = ?').run(token);
    this.#org.store.prepare('UPDATE _oauth_token SET revoked = 1 WHERE refresh_token = ?').run(token);
    return Number(res.changes) > 0;
  }

  /** Invalidates one refresh token only (rotation): access tokens already issued from it stay valid. */
  retire(refreshToken: string): void {
    this.#org.store.prepare("UPDATE _oauth_token SET revoked = 1 WHERE token = ? AND kind = 'refresh'").run(refreshToken);
  }

  /** Forgets every token (admin reset with `sessions: true`). */
  clear(): void {
    this.#org.store.prepare('DELETE FROM _oauth_token').run();
  }

  /** Expires every access token now (admin API; used to test refresh paths). */
  expireAll(): void {
    this.#org.store.prepare("UPDATE _oauth_token SET expires_at = ? WHERE kind = 'access'").run(this.#org.clock.now());
  }

  /** Introspection view of any token. */
  lookup(token: string): (Session & { kind: string; revoked: boolean }) | null {
    const row = this.#org.store.prepare('SELECT * FROM _oauth_token WHERE token = ?').get(token);
    return row ? { ...toSession(row), kind: String(row.kind), revoked: row.revoked === 1 } : null;
  }
}

function toSession(row: Record<string, unknown>): Session {
  return {
    accessToken: String(row.token),
    userId: String(row.user_id),
    clientId: String(row.client_id),
    scope: String(row.scope),
    issuedAt: Number(row.issued_at),
    expiresAt: row.expires_at === null ? Number.MAX_SAFE_INTEGER : Number(row.expires_at),
    refreshToken: row.refresh_token === null || row.refresh_token === undefined ? null : String(row.refresh_token),
  };
}

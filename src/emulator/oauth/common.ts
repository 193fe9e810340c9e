/**
 * Pieces every OAuth grant shares: the `{error, error_description}` error, client authentication (body or
 * Basic header), the token response of §1.3, and user lookup.
 */
import { createHmac } from 'node:crypto';
import type { Ctx } from '../app.ts';
import { json } from '../http/respond.ts';
import { PUBLIC_CLIENTS } from './config.ts';
import type { Session } from './sessions.ts';

/** A token-endpoint error: HTTP 400 with Salesforce's exact `error` and `error_description`. */
export class OAuthError extends Error {
  readonly error: string;
  readonly status: number;
  constructor(error: string, description: string, status = 400) {
    super(description);
    this.error = error;
    this.status = status;
  }
}

export function oauthErrorResponse(err: OAuthError): Response {
  return json({ error: err.error, error_description: err.message }, err.status);
}

/** Client id/secret from the form body or an HTTP Basic header (both are accepted by Salesforce). */
export function clientAuth(req: Request, form: URLSearchParams): { clientId: string | null; clientSecret: string | null } {
  const header = req.headers.get('authorization');
  if (header && /^Basic\s+/i.test(header)) {
    const decoded = Buffer.from(header.replace(/^Basic\s+/i, ''), 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i > 0) return { clientId: decodeURIComponent(decoded.slice(0, i)), clientSecret: decodeURIComponent(decoded.slice(i + 1)) };
  }
  return { clientId: form.get('client_id'), clientSecret: form.get('client_secret') };
}

/** True for the configured client or a built-in public client (see {@link PUBLIC_CLIENTS}). */
export function knownClient(ctx: Ctx, clientId: string | null, allowPublic = false): boolean {
  return clientId !== null && (clientId === ctx.org.clientId || (allowPublic && PUBLIC_CLIENTS.has(clientId)));
}

/**
 * Checks the client. `requireSecret` false means a missing secret is accepted (a wrong one never is);
 * `allowPublic` admits the secret-less public clients.
 */
export function checkClient(ctx: Ctx, clientId: string | null, clientSecret: string | null, requireSecret = true, allowPublic = false): void {
  if (!knownClient(ctx, clientId, allowPublic)) throw new OAuthError('invalid_client_id', 'client identifier invalid');
  if (PUBLIC_CLIENTS.has(clientId!)) return;
  if (clientSecret === null && !requireSecret) return;
  if (clientSecret !== ctx.org.clientSecret) throw new OAuthError('invalid_client', 'invalid client credentials');
}

export function identityUrl(ctx: Ctx, userId: string): string {
  return `${ctx.baseUrl}/id/${ctx.org.orgId}/${userId}`;
}

/** True when a scope string asks for a refresh token (`refresh_token` or `offline_access`; `full` does not). */
export function wantsRefreshToken(scope: string): boolean {
  return scope.split(/\s+/).some((s) => s === 'refresh_token' || s === 'offline_access');
}

/** The token response body for a session (§1.3): `issued_at` a string of epoch ms, no `expires_in`. */
export function tokenResponse(ctx: Ctx, s: Session, includeRefresh: boolean): Record<string, string> {
  const id = identityUrl(ctx, s.userId);
  const issuedAt = String(s.issuedAt);
  const signature = createHmac('sha256', ctx.org.clientSecret).update(id + issuedAt).digest('base64');
  const body: Record<string, string> = {
    access_token: s.accessToken,
    signature,
    scope: s.scope,
    instance_url: ctx.baseUrl,
    id,
    token_type: 'Bearer',
    issued_at: issuedAt,
  };
  if (includeRefresh && s.refreshToken) body.refresh_token = s.refreshToken;
  return body;
}

export interface UserLogin {
  id: string;
  active: boolean;
  username: string;
}

/** Finds a user by username (case-insensitive, as Salesforce usernames are). */
export function findUser(ctx: Ctx, username: string): UserLogin | null {
  const row = ctx.org.store.prepare('SELECT Id, IsActive, Username FROM "User" WHERE Username = ? COLLATE NOCASE AND IsDeleted = 0').get(username);
  return row ? { id: String(row.Id), active: row.IsActive === 1, username: String(row.Username) } : null;
}

export function userRow(ctx: Ctx, id: string): Record<string, unknown> | undefined {
  return ctx.org.store.prepare('SELECT * FROM "User" WHERE Id = ?').get(id) as Record<string, unknown> | undefined;
}

/**
 * OAuth 2.0 against Salesforce: every grant sfbridge supports, token refresh, and login errors that say
 * what to fix in Setup.
 *
 * Refresh is single-flight: concurrent 401s share one token request. A token response's `instance_url` is
 * always adopted, so an org that moved instances is followed instead of refreshed in a loop. Rotated
 * refresh tokens are written to a {@link TokenStore} before the new session is used.
 */
import { createPrivateKey } from 'node:crypto';
import { AuthError, ConfigError, ERROR_CODES } from './errors.ts';
import { tokenFingerprint, type TokenStore } from './token-store.ts';
import type { Transport } from './transport.ts';

/** Production login host. */
export const DEFAULT_LOGIN_URL = 'https://login.salesforce.com';
/** Sandbox login host. */
export const SANDBOX_LOGIN_URL = 'https://test.salesforce.com';
/** Token endpoint path on any Salesforce host. */
export const TOKEN_PATH = '/services/oauth2/token';
/** JWT bearer assertions expire this many seconds after signing (Salesforce allows ~3 minutes). */
export const JWT_LIFETIME_SECONDS = 180;
/** Timeout for one token-endpoint call. */
export const LOGIN_TIMEOUT_MS = 30_000;

/** Client credentials flow: must go to the org's My Domain URL. */
export interface ClientCredentials {
  kind: 'clientCredentials';
  instanceUrl: string;
  clientId: string;
  clientSecret: string;
}
/** Username-password flow (append the security token to the password when the org requires it). */
export interface PasswordCredentials {
  kind: 'password';
  loginUrl: string;
  clientId: string;
  clientSecret: string;
  username: string;
  password: string;
}
/** JWT bearer flow: an RS256-signed assertion from the connected app's private key. */
export interface JwtCredentials {
  kind: 'jwt';
  loginUrl: string;
  clientId: string;
  username: string;
  /** PEM (PKCS#8 or PKCS#1) private key. */
  privateKey: string;
  /** JWT `aud`; derived from the login URL when absent. */
  audience?: string;
}
/** Refresh token flow (also what an SFDX auth URL becomes). */
export interface RefreshTokenCredentials {
  kind: 'refreshToken';
  loginUrl: string;
  clientId: string;
  /** Empty or absent when the app does not require the secret for refresh. */
  clientSecret?: string;
  refreshToken: string;
}
/** A ready access token; cannot be refreshed. */
export interface AccessTokenCredentials {
  kind: 'accessToken';
  instanceUrl: string;
  accessToken: string;
}

/** Any supported way to authenticate. */
export type Credentials = ClientCredentials | PasswordCredentials | JwtCredentials | RefreshTokenCredentials | AccessTokenCredentials;

/** A logged-in session. */
export interface Session {
  accessToken: string;
  /** Base URL for API calls; follows `instance_url` of the latest token response. */
  instanceUrl: string;
  /** Identity URL (`…/id/{orgId}/{userId}`), when the token response had one. */
  identityUrl?: string;
  /** Epoch millis from `issued_at`. */
  issuedAt?: number;
}

/** Salesforce's token response (§1.3). */
interface TokenResponse {
  access_token: string;
  instance_url: string;
  id?: string;
  issued_at?: string;
  refresh_token?: string;
}

/**
 * Parses an SFDX auth URL `force://clientId:clientSecret:refreshToken@host` (secret may be empty; host may
 * carry a scheme, `https://` is assumed otherwise).
 */
export function parseSfdxAuthUrl(authUrl: string): RefreshTokenCredentials {
  const m = /^force:\/\/([^:]+):([^:]*):(.+)@([^@]+)$/.exec(authUrl.trim());
  if (!m) throw new ConfigError('SFDX auth URL must look like force://<clientId>:<clientSecret>:<refreshToken>@<instance host>; get one with `sf org display --verbose --target-org <alias>`');
  const [, clientId, clientSecret, refreshToken, host] = m;
  const loginUrl = /^https?:\/\//.test(host) ? host.replace(/\/+$/, '') : `https://${host.replace(/\/+$/, '')}`;
  return { kind: 'refreshToken', clientId, clientSecret: clientSecret || undefined, refreshToken, loginUrl };
}

/** Fix hints keyed by `error` or `error: description`, checked most specific first. */
const FIXES: Array<[RegExp, string]> = [
  [/^invalid_client_id\b|^invalid_client\b/, 'check the consumer key and consumer secret of the connected app (Setup → App Manager → your app → View → Manage Consumer Details)'],
  [/^invalid_grant: no client credentials user enabled/i, 'enable the Client Credentials Flow on the connected app and assign a Run As user (Setup → App Manager → your app → Manage → Edit Policies → Client Credentials Flow → Run As)'],
  [/^invalid_grant: request not supported on this domain/i, 'use the org\'s My Domain URL (https://<domain>.my.salesforce.com) as --instance-url, not login.salesforce.com or test.salesforce.com'],
  [/^invalid_grant: expired access\/refresh token/i, 'the refresh token was revoked or expired: authorise again to get a new refresh token / SFDX auth URL (and check the connected app\'s Refresh Token Policy)'],
  [/^invalid_grant: user hasn't approved this consumer/i, 'pre-authorise the user: set Permitted Users to "Admin approved users are pre-authorized" and add the user\'s profile or permission set to the connected app (Setup → Connected Apps → Manage)'],
  [/^invalid_grant: audience validation failed/i, 'the JWT audience must be https://login.salesforce.com (production) or https://test.salesforce.com (sandbox): set --login-url accordingly'],
  [/^invalid_grant: (invalid assertion|invalid_assertion)/i, 'the JWT signature did not verify: upload the certificate matching --jwt-key to the connected app (Use digital signatures)'],
  [/^invalid_grant: inactive user/i, 'the user is inactive: reactivate it in Setup → Users'],
  [/^invalid_grant: inactive organization/i, 'the org is inactive or expired'],
  [/^invalid_grant: authentication failure/i, 'check the user is active, the password (append the security token if the org requires one) and that the user is permitted for the connected app (Setup → Connected Apps → Manage → Permitted Users / Profiles)'],
  [/^invalid_app_access/, 'an admin must approve the user for this app: add the user\'s profile or permission set to the connected app'],
  [/^unsupported_grant_type/, 'this OAuth flow is disabled for the org or app (e.g. username-password flow blocked in Setup → OAuth and OpenID Connect Settings); use another flow'],
  [/^rate_limit_exceeded/, 'too many logins in a short time: wait, and reuse sessions instead of logging in per call'],
];

/** Builds an {@link AuthError} whose message names the fix for a token-endpoint error. */
export function authErrorFor(status: number, error: string, description: string, flow: string): AuthError {
  const key = `${error}: ${description}`;
  const fix = FIXES.find(([re]) => re.test(key))?.[1] ?? 'check the connected app settings and the credentials';
  return new AuthError(ERROR_CODES.auth, `${flow} login failed: ${error} (${description}) — ${fix}`, { error, errorDescription: description, status });
}

export interface AuthenticatorOptions {
  credentials: Credentials;
  transport: Transport;
  /** Where rotated refresh tokens are saved (recommended with refresh-token credentials). */
  tokenStore?: TokenStore;
  /** Clock for JWT `exp` (tests). */
  now?: () => number;
}

/** Obtains and refreshes sessions for one set of credentials. */
export class Authenticator {
  readonly credentials: Credentials;
  readonly #transport: Transport;
  readonly #store: TokenStore | undefined;
  readonly #now: () => number;
  #session: Session | undefined;
  #inflight: Promise<Session> | undefined;
  #refreshToken: string | undefined;
  #storeChecked = false;
  /** Token requests made so far (observability and tests). */
  tokenRequests = 0;

  constructor(opts: AuthenticatorOptions) {
    this.credentials = opts.credentials;
    this.#transport = opts.transport;
    this.#store = opts.tokenStore;
    this.#now = opts.now ?? Date.now;
    if (opts.credentials.kind === 'accessToken') {
      this.#session = { accessToken: opts.credentials.accessToken, instanceUrl: trimUrl(opts.credentials.instanceUrl) };
    }
    if (opts.credentials.kind === 'refreshToken') this.#refreshToken = opts.credentials.refreshToken;
  }

  /** True when an expired session can be replaced without the user. */
  get canRefresh(): boolean {
    return this.credentials.kind !== 'accessToken';
  }

  /** The current session, logging in first when there is none. */
  async getSession(signal?: AbortSignal): Promise<Session> {
    if (this.#session) return this.#session;
    return this.#singleFlight(signal);
  }

  /**
   * Replaces `stale` with a fresh session. When another caller already refreshed (the current token differs
   * from `stale`), that session is returned without a new token request.
   */
  async refresh(stale: Session | undefined, signal?: AbortSignal): Promise<Session> {
    if (this.#session && stale && this.#session.accessToken !== stale.accessToken) return this.#session;
    if (!this.canRefresh) {
      throw new AuthError(ERROR_CODES.sessionExpired, 'the access token expired or was revoked and cannot be refreshed: supply a new --access-token, or use credentials that can log in (client credentials, JWT, refresh token / SFDX auth URL)', { error: 'INVALID_SESSION_ID' });
    }
    return this.#singleFlight(signal);
  }

  #singleFlight(signal?: AbortSignal): Promise<Session> {
    // Callers share one token request; a caller's abort only stops its own wait.
    this.#inflight ??= this.#obtain().finally(() => {
      this.#inflight = undefined;
    });
    return signal ? raceAbort(this.#inflight, signal) : this.#inflight;
  }

  async #obtain(): Promise<Session> {
    const c = this.credentials;
    let tokenUrl: string;
    let form: Record<string, string>;
    let flow: string;
    let replayable = true;
    switch (c.kind) {
      case 'accessToken':
        throw new AuthError(ERROR_CODES.sessionExpired, 'no session: the access token cannot be refreshed');
      case 'clientCredentials':
        flow = 'client credentials';
        tokenUrl = trimUrl(c.instanceUrl) + TOKEN_PATH;
        form = { grant_type: 'client_credentials', client_id: c.clientId, client_secret: c.clientSecret };
        break;
      case 'password':
        flow = 'username-password';
        tokenUrl = trimUrl(c.loginUrl) + TOKEN_PATH;
        form = { grant_type: 'password', client_id: c.clientId, client_secret: c.clientSecret, username: c.username, password: c.password };
        break;
      case 'jwt':
        flow = 'JWT bearer';
        tokenUrl = trimUrl(c.loginUrl) + TOKEN_PATH;
        form = { grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: await this.#assertion(c) };
        break;
      case 'refreshToken': {
        flow = 'refresh token';
        tokenUrl = trimUrl(c.loginUrl) + TOKEN_PATH;
        form = { grant_type: 'refresh_token', client_id: c.clientId, refresh_token: await this.#currentRefreshToken(c) };
        if (c.clientSecret) form.client_secret = c.clientSecret;
        // With rotation, a lost response after the server rotated cannot be replayed; only retry non-execution.
        replayable = false;
        break;
      }
    }
    this.tokenRequests++;
    const res = await this.#transport.send({
      method: 'POST',
      url: tokenUrl,
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams(form).toString(),
      timeoutMs: LOGIN_TIMEOUT_MS,
      idempotent: replayable,
    });
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(res.text) as Record<string, unknown>;
    } catch {
      throw new AuthError(ERROR_CODES.auth, `${flow} login failed: HTTP ${res.status} from ${new URL(tokenUrl).origin} was not JSON — check the login/instance URL points at a Salesforce org`, { status: res.status });
    }
    if (res.status !== 200 || typeof body.access_token !== 'string') {
      throw authErrorFor(res.status, String(body.error ?? `HTTP_${res.status}`), String(body.error_description ?? ''), flow);
    }
    const token = body as unknown as TokenResponse;
    if (c.kind === 'refreshToken' && token.refresh_token && token.refresh_token !== this.#refreshToken) {
      // Rotation: persist before using the session, so a crash right after cannot lose the only valid token.
      this.#refreshToken = token.refresh_token;
      await this.#store?.set(storeKey(c), {
        refreshToken: token.refresh_token,
        seed: tokenFingerprint(c.refreshToken),
        instanceUrl: token.instance_url,
        updatedAt: new Date(this.#now()).toISOString(),
      });
    }
    this.#session = {
      accessToken: token.access_token,
      instanceUrl: trimUrl(token.instance_url),
      identityUrl: token.id,
      issuedAt: token.issued_at ? Number(token.issued_at) : undefined,
    };
    return this.#session;
  }

  async #currentRefreshToken(c: RefreshTokenCredentials): Promise<string> {
    if (!this.#storeChecked && this.#store) {
      this.#storeChecked = true;
      const saved = await this.#store.get(storeKey(c));
      // Use the rotated token only if it descends from the configured one; a new configured token wins.
      if (saved && saved.seed === tokenFingerprint(c.refreshToken)) this.#refreshToken = saved.refreshToken;
    }
    return this.#refreshToken ?? c.refreshToken;
  }

  async #assertion(c: JwtCredentials): Promise<string> {
    let key;
    try {
      key = createPrivateKey(c.privateKey);
    } catch (err) {
      throw new ConfigError(`--jwt-key is not a PEM private key (${(err as Error).message}); pass the key file the connected app's certificate was made from`);
    }
    // jose is loaded for JWT logins only (it is a fifth of a query's start-up otherwise).
    const { SignJWT } = await import('jose');
    return new SignJWT({})
      .setProtectedHeader({ alg: 'RS256' })
      .setIssuer(c.clientId)
      .setSubject(c.username)
      .setAudience(c.audience ?? jwtAudience(c.loginUrl))
      .setExpirationTime(Math.floor(this.#now() / 1000) + JWT_LIFETIME_SECONDS)
      .sign(key);
  }
}

/** The JWT `aud` Salesforce expects for a login URL: test.salesforce.com for sandboxes, login.salesforce.com for production hosts. */
export function jwtAudience(loginUrl: string): string {
  const host = new URL(loginUrl).hostname;
  if (host === 'test.salesforce.com' || host.endsWith('.sandbox.my.salesforce.com')) return SANDBOX_LOGIN_URL;
  if (host === 'login.salesforce.com' || host.endsWith('.my.salesforce.com')) return DEFAULT_LOGIN_URL;
  return trimUrl(loginUrl);
}

/** TokenStore key for refresh-token credentials: login host, client and the configured token's fingerprint. */
export function storeKey(c: RefreshTokenCredentials): string {
  return `${trimUrl(c.loginUrl)}|${c.clientId}|${tokenFingerprint(c.refreshToken).slice(0, 16)}`;
}

function trimUrl(url: string): string {
  return url.replace(/\/+$/, '');
}

function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

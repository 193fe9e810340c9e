/**
 * How the emulator's one connected app is configured beyond its id and secret: callback URLs for the
 * authorization-code flow, the certificate JWT bearer assertions are checked against, and refresh-token
 * rotation. Resolved once when the emulator starts, so a bad certificate fails at startup, not at login.
 */
import { createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';

/** Options accepted by `createEmulator` (and the `sfbridge emulator` flags of the same names). */
export interface OAuthOptions {
  /**
   * Callback URLs of the connected app for `/services/oauth2/authorize`, matched exactly. When absent, any
   * `http://localhost`, `http://127.0.0.1` or `http://[::1]` URL (any port and path) is accepted, which covers
   * local tools such as the `sf` CLI (`http://localhost:1717/OauthRedirect`).
   */
  redirectUris?: string[];
  /**
   * PEM X.509 certificate (or SPKI / PKCS#1 public key) whose key verifies JWT bearer assertions. Without it
   * the JWT bearer grant answers `invalid_grant` / `invalid assertion`, as an app with no certificate does.
   */
  jwtCert?: string;
  /** Refresh-token rotation: each refresh returns a new refresh token and invalidates the one used. */
  rotateRefreshTokens?: boolean;
}

/** The resolved OAuth configuration an emulator runs with. */
export interface OAuthSettings {
  redirectUris: string[] | null;
  jwtKey: KeyObject | null;
  rotateRefreshTokens: boolean;
}

/**
 * Clients accepted besides the configured one. `PlatformCLI` is the `sf` CLI's built-in public client
 * (no secret; PKCE), so `sf org login web --instance-url http://localhost:8484` works unmodified.
 */
export const PUBLIC_CLIENTS: ReadonlyMap<string, { redirectUris: string[] }> = new Map([
  ['PlatformCLI', { redirectUris: ['http://localhost:1717/OauthRedirect'] }],
]);

/** Authorization codes are valid this long (Salesforce: about 15 minutes), and only once. */
export const AUTH_CODE_TTL_MS = 15 * 60_000;
/** Tolerated clock skew for a JWT assertion's `exp`. */
export const JWT_CLOCK_SKEW_SECONDS = 30;

/** Thrown for configuration that cannot work; the message names the fix. */
export class OAuthConfigError extends Error {
  readonly code = 'EMULATOR_OAUTH_CONFIG';
}

/** Reads the public key out of a PEM certificate or public key; throws naming what was expected. */
export function loadJwtVerificationKey(pem: string): KeyObject {
  try {
    if (pem.includes('BEGIN CERTIFICATE')) return new X509Certificate(pem).publicKey;
    if (pem.includes('PRIVATE KEY')) throw new Error('this is a private key; give the certificate (or public key) instead, keep the private key with the client');
    const key = createPublicKey(pem);
    if (key.asymmetricKeyType !== 'rsa') throw new Error(`the key is ${key.asymmetricKeyType}, but JWT bearer assertions are RS256 (RSA)`);
    return key;
  } catch (err) {
    throw new OAuthConfigError(`JWT certificate is not usable: ${(err as Error).message}. Pass a PEM X.509 certificate (-----BEGIN CERTIFICATE-----) or RSA public key, e.g. made with: openssl req -x509 -newkey rsa:2048 -nodes -keyout server.key -out server.crt -days 365 -subj /CN=sfbridge`);
  }
}

export function resolveOAuthSettings(opts: OAuthOptions): OAuthSettings {
  for (const uri of opts.redirectUris ?? []) {
    if (!URL.canParse(uri)) throw new OAuthConfigError(`redirect URI "${uri}" is not an absolute URL; use e.g. http://localhost:1717/OauthRedirect`);
  }
  return {
    redirectUris: opts.redirectUris?.length ? [...opts.redirectUris] : null,
    jwtKey: opts.jwtCert ? loadJwtVerificationKey(opts.jwtCert) : null,
    rotateRefreshTokens: opts.rotateRefreshTokens ?? false,
  };
}

/** True when `uri` is a callback URL the client may use. */
export function redirectAllowed(settings: OAuthSettings, clientId: string, uri: string): boolean {
  const pub = PUBLIC_CLIENTS.get(clientId);
  if (pub) return pub.redirectUris.includes(uri);
  if (settings.redirectUris) return settings.redirectUris.includes(uri);
  if (!URL.canParse(uri)) return false;
  const u = new URL(uri);
  return u.protocol === 'http:' && (u.hostname === 'localhost' || u.hostname === '127.0.0.1' || u.hostname === '[::1]');
}

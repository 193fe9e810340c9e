/**
 * OpenID Connect pieces: the discovery document, the JWKS at `/id/keys`, and `id_token`s for sessions whose
 * scope includes `openid`. The signing key is generated per emulator process (tokens do not outlive it, and
 * verifiers fetch the key from `/id/keys` as they would from Salesforce).
 */
import { createHash } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import type { Ctx } from '../app.ts';
import type { Org } from '../org.ts';
import { identityUrl, userRow } from './common.ts';
import type { Session } from './sessions.ts';

/** Lifetime of an id_token. */
export const ID_TOKEN_TTL_SECONDS = 300;

interface SigningKey {
  privateKey: CryptoKey;
  jwk: JWK;
}
const keys = new WeakMap<Org, Promise<SigningKey>>();

function signingKey(org: Org): Promise<SigningKey> {
  let k = keys.get(org);
  if (!k) {
    k = (async () => {
      const pair = await generateKeyPair('RS256', { extractable: true });
      const jwk = await exportJWK(pair.publicKey);
      const kid = (await calculateJwkThumbprint(jwk)).slice(0, 8);
      return { privateKey: pair.privateKey, jwk: { ...jwk, kid, alg: 'RS256', use: 'sig' } };
    })();
    keys.set(org, k);
  }
  return k;
}

export function hasOpenIdScope(scope: string): boolean {
  return scope.split(/\s+/).includes('openid');
}

/** Signs an id_token for a session (OIDC core: iss, sub, aud, exp, iat, at_hash, nonce). */
export async function idToken(ctx: Ctx, s: Session, nonce: string | null): Promise<string> {
  const { privateKey, jwk } = await signingKey(ctx.org);
  const u = userRow(ctx, s.userId) ?? {};
  const digest = createHash('sha256').update(s.accessToken).digest();
  const iat = Math.floor(s.issuedAt / 1000);
  const claims: Record<string, unknown> = {
    at_hash: digest.subarray(0, 16).toString('base64url'),
    preferred_username: u.Username, name: u.Name, email: u.Email, email_verified: true,
    given_name: u.FirstName, family_name: u.LastName, zoneinfo: u.TimeZoneSidKey,
    user_id: s.userId, organization_id: ctx.org.orgId,
  };
  if (nonce) claims.nonce = nonce;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: jwk.kid })
    .setIssuer(ctx.baseUrl)
    .setSubject(identityUrl(ctx, s.userId))
    .setAudience(s.clientId)
    .setIssuedAt(iat)
    .setExpirationTime(iat + ID_TOKEN_TTL_SECONDS)
    .sign(privateKey);
}

export async function jwks(ctx: Ctx): Promise<{ keys: JWK[] }> {
  return { keys: [(await signingKey(ctx.org)).jwk] };
}

export function discovery(ctx: Ctx): Record<string, unknown> {
  const b = ctx.baseUrl;
  return {
    issuer: b,
    authorization_endpoint: `${b}/services/oauth2/authorize`,
    token_endpoint: `${b}/services/oauth2/token`,
    revocation_endpoint: `${b}/services/oauth2/revoke`,
    userinfo_endpoint: `${b}/services/oauth2/userinfo`,
    jwks_uri: `${b}/id/keys`,
    introspection_endpoint: `${b}/services/oauth2/introspect`,
    scopes_supported: ['id', 'api', 'web', 'full', 'chatter_api', 'visualforce', 'refresh_token', 'openid', 'profile', 'email', 'address', 'phone', 'offline_access', 'custom_permissions', 'wave_api', 'eclair_api'],
    response_types_supported: ['code', 'token', 'token id_token'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
    display_values_supported: ['page', 'popup', 'touch'],
    token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic', 'private_key_jwt'],
    grant_types_supported: ['authorization_code', 'refresh_token', 'password', 'client_credentials', 'urn:ietf:params:oauth:grant-type:jwt-bearer'],
    code_challenge_methods_supported: ['S256'],
    claims_supported: ['active', 'address', 'email', 'email_verified', 'family_name', 'given_name', 'is_app_installed', 'language', 'locale', 'name', 'nickname', 'organization_id', 'phone_number', 'phone_number_verified', 'photos', 'picture', 'preferred_username', 'profile', 'sub', 'updated_at', 'urls', 'user_id', 'user_type', 'zoneinfo'],
  };
}

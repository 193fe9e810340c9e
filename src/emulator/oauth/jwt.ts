/**
 * `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` (§1.2): an RS256 assertion signed with the key of
 * the certificate given to the emulator (`--jwt-cert`). Claims: `iss` the client id, `sub` (or legacy `prn`,
 * which wins) the username, `aud` the login URL, `exp` in the future. Every active user of the org is
 * pre-authorised. No refresh token is issued, as on Salesforce.
 */
import { decodeJwt, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import type { Ctx } from '../app.ts';
import { json } from '../http/respond.ts';
import { findUser, OAuthError, tokenResponse } from './common.ts';
import { JWT_CLOCK_SKEW_SECONDS } from './config.ts';

export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** Audiences accepted besides the emulator's own URL: the real login hosts, which tools often hard-code. */
export const SALESFORCE_AUDIENCES = ['https://login.salesforce.com', 'https://test.salesforce.com'];
/** Scope of a JWT bearer session. */
export const JWT_SCOPE = 'api web id';

const invalidAssertion = () => new OAuthError('invalid_grant', 'invalid assertion');

export async function jwtBearerGrant(ctx: Ctx, form: URLSearchParams): Promise<Response> {
  const assertion = form.get('assertion');
  if (!assertion) throw invalidAssertion();
  let unverified: JWTPayload;
  try {
    if (decodeProtectedHeader(assertion).alg !== 'RS256') throw invalidAssertion();
    unverified = decodeJwt(assertion);
  } catch {
    throw invalidAssertion();
  }
  if (unverified.iss !== ctx.org.clientId) throw new OAuthError('invalid_client_id', 'client identifier invalid');
  const key = ctx.emulator.oauth.jwtKey;
  if (!key) throw invalidAssertion();
  let claims: JWTPayload;
  try {
    ({ payload: claims } = await jwtVerify(assertion, key, {
      algorithms: ['RS256'],
      requiredClaims: ['exp'],
      currentDate: new Date(ctx.org.clock.now()),
      clockTolerance: JWT_CLOCK_SKEW_SECONDS,
    }));
  } catch {
    throw invalidAssertion();
  }
  const audiences = [ctx.baseUrl, ...SALESFORCE_AUDIENCES];
  const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!aud.some((a) => typeof a === 'string' && audiences.includes(a.replace(/\/+$/, '')))) throw new OAuthError('invalid_grant', 'Audience validation failed');
  const username = typeof claims.prn === 'string' ? claims.prn : claims.sub;
  const user = username ? findUser(ctx, username) : null;
  if (!user) throw new OAuthError('invalid_grant', "user hasn't approved this consumer");
  if (!user.active) throw new OAuthError('invalid_grant', 'inactive user');
  const s = ctx.sessions.issue(user.id, ctx.org.clientId, JWT_SCOPE, false);
  return json(tokenResponse(ctx, s, false));
}

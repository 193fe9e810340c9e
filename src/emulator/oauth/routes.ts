/**
 * OAuth 2.0 endpoints (§1): token (client_credentials, password, refresh_token, authorization_code, JWT
 * bearer), authorize (web-server and user-agent flows), revoke, introspect, userinfo, the identity URL and
 * OpenID discovery / JWKS. Token responses and errors follow the reference exactly: `issued_at` a string of
 * epoch millis, no `expires_in`, errors as `{error, error_description}` with HTTP 400.
 */
import type { Ctx } from '../app.ts';
import { registerFrontdoorRoutes } from './frontdoor.ts';
import { json, readForm } from '../http/respond.ts';
import type { Router } from '../http/router.ts';
import { authorizationCodeGrant, authorizeGet, authorizePost } from './authorize.ts';
import { checkClient, clientAuth, findUser, identityUrl, OAuthError, oauthErrorResponse, tokenResponse, userRow } from './common.ts';
import { JWT_BEARER_GRANT, jwtBearerGrant } from './jwt.ts';
import { discovery, hasOpenIdScope, idToken, jwks } from './oidc.ts';

export { OAuthError, oauthErrorResponse, clientAuth, checkClient, identityUrl, tokenResponse, findUser } from './common.ts';

/** Extra grant handlers (authorization_code, JWT bearer) register here so the token endpoint stays one place. */
export type GrantHandler = (ctx: Ctx, form: URLSearchParams) => Promise<Response> | Response;
export const grantHandlers = new Map<string, GrantHandler>();

grantHandlers.set('client_credentials', (ctx, form) => {
  const { clientId, clientSecret } = clientAuth(ctx.req, form);
  checkClient(ctx, clientId, clientSecret);
  const s = ctx.sessions.issue(ctx.org.adminUserId, clientId!, form.get('scope') ?? 'api', false);
  return json(tokenResponse(ctx, s, false));
});

grantHandlers.set('password', (ctx, form) => {
  const { clientId, clientSecret } = clientAuth(ctx.req, form);
  checkClient(ctx, clientId, clientSecret);
  const username = form.get('username') ?? '';
  const password = form.get('password') ?? '';
  const user = findUser(ctx, username);
  if (!user || user.username.toLowerCase() !== ctx.org.username.toLowerCase() || password !== ctx.org.password) {
    throw new OAuthError('invalid_grant', 'authentication failure');
  }
  if (!user.active) throw new OAuthError('invalid_grant', 'inactive user');
  const s = ctx.sessions.issue(user.id, clientId!, 'api web full refresh_token id', false);
  return json(tokenResponse(ctx, s, false));
});

grantHandlers.set('refresh_token', async (ctx, form) => {
  const { clientId, clientSecret } = clientAuth(ctx.req, form);
  // The secret is optional on refresh (apps may turn "require secret for refresh token flow" off); a wrong one fails.
  checkClient(ctx, clientId, clientSecret, false, true);
  const token = form.get('refresh_token') ?? '';
  const info = ctx.sessions.refreshTokenInfo(token);
  if (!info || info.clientId !== clientId) throw new OAuthError('invalid_grant', 'expired access/refresh token');
  const rotate = ctx.emulator.oauth.rotateRefreshTokens;
  const s = ctx.sessions.issue(info.userId, info.clientId, info.scope, rotate ? true : token);
  // With rotation the response carries a new refresh token and the one just used stops working.
  if (rotate) ctx.sessions.retire(token);
  const body = tokenResponse(ctx, s, rotate);
  if (hasOpenIdScope(info.scope)) body.id_token = await idToken(ctx, s, null);
  return json(body);
});

grantHandlers.set('authorization_code', authorizationCodeGrant);
grantHandlers.set(JWT_BEARER_GRANT, jwtBearerGrant);

export function registerOAuthRoutes(router: Router<Ctx>): void {
  registerFrontdoorRoutes(router);
  router.on('GET', '/services/oauth2/authorize', authorizeGet);
  router.on('POST', '/services/oauth2/authorize', authorizePost);
  router.on('GET', '/.well-known/openid-configuration', (ctx) => json(discovery(ctx)));
  router.on('GET', '/id/keys', async (ctx) => json(await jwks(ctx)));

  router.on('POST', '/services/oauth2/token', async (ctx) => {
    try {
      const form = await readForm(ctx.req);
      const grant = form.get('grant_type');
      if (!grant) throw new OAuthError('invalid_request', 'grant type is missing');
      const handler = grantHandlers.get(grant);
      if (!handler) throw new OAuthError('unsupported_grant_type', 'grant type not supported');
      return await handler(ctx, form);
    } catch (err) {
      if (err instanceof OAuthError) return oauthErrorResponse(err);
      throw err;
    }
  });

  const revoke = async (ctx: Ctx) => {
    const token = ctx.req.method === 'GET' ? ctx.url.searchParams.get('token') : (await readForm(ctx.req)).get('token');
    if (!token) return oauthErrorResponse(new OAuthError('invalid_request', 'token is missing'));
    if (!ctx.sessions.revoke(token)) return oauthErrorResponse(new OAuthError('invalid_token', 'invalid token'));
    return new Response(null, { status: 200 });
  };
  router.on('POST', '/services/oauth2/revoke', revoke);
  router.on('GET', '/services/oauth2/revoke', revoke);

  router.on('POST', '/services/oauth2/introspect', async (ctx) => {
    const form = await readForm(ctx.req);
    const { clientId, clientSecret } = clientAuth(ctx.req, form);
    try {
      checkClient(ctx, clientId, clientSecret);
    } catch (err) {
      if (err instanceof OAuthError) return oauthErrorResponse(err);
      throw err;
    }
    const info = ctx.sessions.lookup(form.get('token') ?? '');
    const now = ctx.org.clock.now();
    if (!info || info.revoked || (info.kind === 'access' && info.expiresAt <= now)) return json({ active: false });
    return json({
      active: true, scope: info.scope, client_id: info.clientId, username: userRow(ctx, info.userId)?.Username ?? null,
      sub: identityUrl(ctx, info.userId), token_type: info.kind === 'access' ? 'access_token' : 'refresh_token',
      exp: info.kind === 'access' ? Math.floor(info.expiresAt / 1000) : undefined, iat: Math.floor(info.issuedAt / 1000), nbf: Math.floor(info.issuedAt / 1000),
    });
  });

  router.on('GET', '/services/oauth2/userinfo', (ctx) => {
    const u = userRow(ctx, ctx.session!.userId)!;
    const id = identityUrl(ctx, String(u.Id));
    return json({
      sub: id, user_id: u.Id, organization_id: ctx.org.orgId, preferred_username: u.Username, nickname: u.Alias,
      name: u.Name, email: u.Email, email_verified: true, given_name: u.FirstName, family_name: u.LastName,
      zoneinfo: u.TimeZoneSidKey, photos: photos(ctx, String(u.Id)), profile: `${ctx.baseUrl}/${u.Id}`, picture: photos(ctx, String(u.Id)).picture,
      address: {}, is_salesforce_integration_user: false, urls: identityUrls(ctx), active: u.IsActive === 1,
      user_type: 'STANDARD', language: u.LanguageLocaleKey, locale: u.LocaleSidKey, utcOffset: 0,
      updated_at: new Date(Number(u.SystemModstamp)).toISOString().replace('.000Z', 'Z'), is_app_installed: true,
    });
  });

  router.on('GET', '/id/:orgId/:userId', (ctx, p) => {
    if (p.orgId !== ctx.org.orgId || p.userId !== ctx.session!.userId) return json([{ message: 'Bad_Id', errorCode: 'NOT_FOUND' }], 404);
    const u = userRow(ctx, p.userId)!;
    const version = ctx.url.searchParams.get('version');
    return json({
      id: identityUrl(ctx, p.userId), asserted_user: true, user_id: p.userId, organization_id: ctx.org.orgId,
      username: u.Username, nick_name: u.Alias, display_name: u.Name, email: u.Email, email_verified: true,
      first_name: u.FirstName, last_name: u.LastName, timezone: u.TimeZoneSidKey, photos: photos(ctx, p.userId),
      addr_street: null, addr_city: null, addr_state: null, addr_country: null, addr_zip: null,
      mobile_phone: u.MobilePhone ?? null, mobile_phone_verified: false, is_lightning_login_user: false,
      status: { created_date: null, body: null }, urls: identityUrls(ctx, version === 'latest' ? ctx.org.apiVersion : version),
      active: u.IsActive === 1, user_type: 'STANDARD', language: u.LanguageLocaleKey, locale: u.LocaleSidKey,
      utcOffset: 0, last_modified_date: new Date(Number(u.LastModifiedDate)).toISOString().replace('Z', '+0000'), is_app_installed: true,
    });
  });
}

function photos(ctx: Ctx, userId: string) {
  return { picture: `${ctx.baseUrl}/profilephoto/005/F/${userId}`, thumbnail: `${ctx.baseUrl}/profilephoto/005/T/${userId}` };
}

function identityUrls(ctx: Ctx, version: string | null = null) {
  const v = version ?? '{version}';
  const b = ctx.baseUrl;
  return {
    enterprise: `${b}/services/Soap/c/${v}/${ctx.org.orgId.slice(0, 15)}`,
    metadata: `${b}/services/Soap/m/${v}/${ctx.org.orgId.slice(0, 15)}`,
    partner: `${b}/services/Soap/u/${v}/${ctx.org.orgId.slice(0, 15)}`,
    rest: `${b}/services/data/v${v}/`,
    sobjects: `${b}/services/data/v${v}/sobjects/`,
    search: `${b}/services/data/v${v}/search/`,
    query: `${b}/services/data/v${v}/query/`,
    recent: `${b}/services/data/v${v}/recent/`,
    tooling_soap: `${b}/services/Soap/T/${v}/${ctx.org.orgId.slice(0, 15)}`,
    tooling_rest: `${b}/services/data/v${v}/tooling/`,
    profile: `${b}/${ctx.session?.userId ?? ''}`,
    feeds: `${b}/services/data/v${v}/chatter/feeds`,
    groups: `${b}/services/data/v${v}/chatter/groups`,
    users: `${b}/services/data/v${v}/chatter/users`,
    feed_items: `${b}/services/data/v${v}/chatter/feed-items`,
    feed_elements: `${b}/services/data/v${v}/chatter/feed-elements`,
    custom_domain: b,
  };
}

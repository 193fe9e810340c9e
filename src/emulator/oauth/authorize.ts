/**
 * The web-server (authorization code) and user-agent flows: `GET /services/oauth2/authorize` shows a minimal
 * login-and-approve page, `POST` (its form) redirects to the callback with `code` and `state` (or, for
 * `response_type=token`, the token in the fragment), and the `authorization_code` grant trades the code for
 * tokens. Codes are single use, expire after {@link AUTH_CODE_TTL_MS} on the org clock, and carry the PKCE
 * challenge (S256; a challenge without `code_challenge_method` is S256, as jsforce sends it).
 *
 * Errors before the callback is trusted (unknown client, callback not registered) are shown on the page, never
 * redirected; later errors redirect with `error` and `error_description`, as Salesforce does.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Ctx } from '../app.ts';
import { json, readForm } from '../http/respond.ts';
import type { Org } from '../org.ts';
import { checkClient, clientAuth, findUser, knownClient, OAuthError, tokenResponse, wantsRefreshToken } from './common.ts';
import { AUTH_CODE_TTL_MS, PUBLIC_CLIENTS, redirectAllowed } from './config.ts';
import { hasOpenIdScope, idToken } from './oidc.ts';

/** Scope granted when the authorize request names none (the connected app's default). */
export const DEFAULT_AUTHORIZE_SCOPE = 'api refresh_token id';

interface PendingCode {
  clientId: string;
  redirectUri: string;
  userId: string;
  scope: string;
  challenge: string | null;
  nonce: string | null;
  expiresAt: number;
  used: boolean;
}

// Codes live in memory: they last minutes, and losing them on restart only means authorising again.
const codeStores = new WeakMap<Org, Map<string, PendingCode>>();
function codes(org: Org): Map<string, PendingCode> {
  let m = codeStores.get(org);
  if (!m) codeStores.set(org, (m = new Map()));
  return m;
}

/** The authorize parameters, as read from the query string (GET) or the page's hidden fields (POST). */
interface AuthorizeParams {
  responseType: string;
  clientId: string;
  redirectUri: string;
  scope: string;
  state: string | null;
  challenge: string | null;
  challengeMethod: string | null;
  nonce: string | null;
  loginHint: string | null;
  immediate: boolean;
}

const PARAM_NAMES = ['response_type', 'client_id', 'redirect_uri', 'scope', 'state', 'code_challenge', 'code_challenge_method', 'nonce', 'login_hint', 'immediate', 'prompt', 'display'];

function readParams(p: URLSearchParams): AuthorizeParams {
  return {
    responseType: p.get('response_type') ?? '',
    clientId: p.get('client_id') ?? '',
    redirectUri: p.get('redirect_uri') ?? '',
    scope: p.get('scope')?.trim() || DEFAULT_AUTHORIZE_SCOPE,
    state: p.get('state'),
    challenge: p.get('code_challenge'),
    challengeMethod: p.get('code_challenge_method'),
    nonce: p.get('nonce'),
    loginHint: p.get('login_hint'),
    immediate: p.get('immediate') === 'true',
  };
}

/** A page-level error (no redirect: the callback is not trusted yet). */
function errorPage(error: string, description: string): Response {
  return html(400, `<h1>Authorization error</h1><p>error=${esc(error)}&amp;error_description=${esc(description)}</p>`);
}

/** Redirects to the callback with parameters in the query (code flow) or the fragment (user-agent flow). */
function redirect(p: AuthorizeParams, values: Record<string, string>): Response {
  const params = new URLSearchParams(values);
  if (p.state !== null) params.set('state', p.state);
  const url = new URL(p.redirectUri);
  if (p.responseType === 'code') {
    for (const [k, v] of params) url.searchParams.append(k, v);
    return new Response(null, { status: 302, headers: { location: url.toString() } });
  }
  url.hash = params.toString();
  return new Response(null, { status: 302, headers: { location: url.toString() } });
}

function redirectError(p: AuthorizeParams, error: string, description: string): Response {
  return redirect(p, { error, error_description: description });
}

/** Validates what must hold before anything is redirected; returns an error response or null. */
function preflight(ctx: Ctx, p: AuthorizeParams): Response | null {
  if (!knownClient(ctx, p.clientId, true)) return errorPage('invalid_client_id', 'client identifier invalid');
  if (!p.redirectUri || !redirectAllowed(ctx.emulator.oauth, p.clientId, p.redirectUri)) return errorPage('redirect_uri_mismatch', 'redirect_uri must match configuration');
  if (p.responseType !== 'code' && p.responseType !== 'token') return redirectError({ ...p, responseType: 'code' }, 'unsupported_response_type', 'response type not supported');
  if (p.challenge !== null && p.challengeMethod !== null && p.challengeMethod !== 'S256') return redirectError(p, 'invalid_request', 'invalid code_challenge_method: only S256 is supported');
  if (p.challenge === null && PUBLIC_CLIENTS.has(p.clientId) && p.responseType === 'code') return redirectError(p, 'invalid_request', 'missing required code challenge');
  if (p.immediate) return redirectError(p, 'immediate_unsuccessful', 'user approval required');
  return null;
}

export async function authorizeGet(ctx: Ctx): Promise<Response> {
  const p = readParams(ctx.url.searchParams);
  return preflight(ctx, p) ?? approvePage(ctx, p, ctx.url.searchParams, null);
}

export async function authorizePost(ctx: Ctx): Promise<Response> {
  const form = await readForm(ctx.req);
  const p = readParams(form);
  const early = preflight(ctx, p);
  if (early) return early;
  if (form.get('action') !== 'approve') return redirectError(p, 'access_denied', 'end-user denied authorization');
  const user = findUser(ctx, form.get('username') ?? '');
  // Every active user signs in with the emulator's password (there is one password per emulated org).
  if (!user || !user.active || form.get('password') !== ctx.org.password) return approvePage(ctx, p, form, 'Please check your username and password. If you still can\'t log in, contact your Salesforce administrator.');
  if (p.responseType === 'token') {
    const s = ctx.sessions.issue(user.id, p.clientId, p.scope, wantsRefreshToken(p.scope));
    const body = tokenResponse(ctx, s, true);
    if (hasOpenIdScope(p.scope)) body.id_token = await idToken(ctx, s, p.nonce);
    return redirect(p, body);
  }
  const now = ctx.org.clock.now();
  const store = codes(ctx.org);
  for (const [c, pending] of store) if (pending.expiresAt + AUTH_CODE_TTL_MS < now) store.delete(c);
  const code = `aPrx${randomBytes(36).toString('base64url')}`;
  store.set(code, { clientId: p.clientId, redirectUri: p.redirectUri, userId: user.id, scope: p.scope, challenge: p.challenge, nonce: p.nonce, expiresAt: now + AUTH_CODE_TTL_MS, used: false });
  return redirect(p, { code });
}

/** `grant_type=authorization_code`. */
export async function authorizationCodeGrant(ctx: Ctx, form: URLSearchParams): Promise<Response> {
  const { clientId, clientSecret } = clientAuth(ctx.req, form);
  const verifier = form.get('code_verifier');
  // A client that proves possession with PKCE may omit the secret (app set not to require it for this flow).
  checkClient(ctx, clientId, clientSecret, verifier === null, true);
  const code = form.get('code') ?? '';
  const pending = codes(ctx.org).get(code);
  if (!pending || pending.used || pending.clientId !== clientId) throw new OAuthError('invalid_grant', 'invalid authorization code');
  if (pending.expiresAt <= ctx.org.clock.now()) throw new OAuthError('invalid_grant', 'expired authorization code');
  if ((form.get('redirect_uri') ?? '') !== pending.redirectUri) throw new OAuthError('redirect_uri_mismatch', 'redirect_uri must match configuration');
  if (pending.challenge !== null) {
    if (verifier === null) throw new OAuthError('invalid_grant', 'code verifier is missing');
    if (!sameText(s256(verifier), pending.challenge)) throw new OAuthError('invalid_request', 'invalid code verifier');
  }
  pending.used = true;
  const s = ctx.sessions.issue(pending.userId, pending.clientId, pending.scope, wantsRefreshToken(pending.scope));
  const body = tokenResponse(ctx, s, true);
  if (hasOpenIdScope(pending.scope)) body.id_token = await idToken(ctx, s, pending.nonce);
  return json(body);
}

function s256(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function approvePage(ctx: Ctx, p: AuthorizeParams, source: URLSearchParams, error: string | null): Response {
  const hidden = PARAM_NAMES.filter((n) => source.get(n) !== null)
    .map((n) => `<input type="hidden" name="${n}" value="${esc(source.get(n)!)}">`)
    .join('\n    ');
  const username = source.get('username') ?? p.loginHint ?? ctx.org.username;
  return html(200, `<h1>Allow access?</h1>
  <p><b>${esc(p.clientId)}</b> is asking to access this emulated org (scope: <code>${esc(p.scope)}</code>) and will return to <code>${esc(p.redirectUri)}</code>.</p>
  ${error ? `<p class="error" role="alert">${esc(error)}</p>` : ''}
  <form method="POST" action="/services/oauth2/authorize">
    ${hidden}
    <label>Username <input name="username" value="${esc(username)}" autocomplete="username"></label>
    <label>Password <input name="password" type="password" autocomplete="current-password"></label>
    <button type="submit" name="action" value="approve">Allow</button>
    <button type="submit" name="action" value="deny">Deny</button>
  </form>`);
}

function html(status: number, body: string): Response {
  const page = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>sfbridge emulator · Authorize</title>
<style>body{font:15px system-ui;max-width:34rem;margin:3rem auto}label{display:block;margin:.6rem 0}input{width:100%;padding:.3rem}.error{color:#b00}button{margin-right:.5rem;padding:.4rem 1rem}</style>
</head><body>${body}</body></html>`;
  return new Response(page, { status, headers: { 'content-type': 'text/html;charset=UTF-8', 'cache-control': 'no-store', 'x-frame-options': 'DENY' } });
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

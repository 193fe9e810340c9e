/**
 * The web-server (authorization code) and user-agent flows: `GET /services/oauth2/authorize` shows a login page
 * and then an approve page with Salesforce's element ids and names, `POST` (their forms) redirects to the callback with `code` and `state` (or, for
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
  return preflight(ctx, p) ?? loginPage(ctx, p, ctx.url.searchParams, null);
}

/**
 * The page's form posts, in Salesforce's two steps — the login form (`username`, `pw`, the `Login` button),
 * then the approve form (`oaapprove` or `oadeny`, carrying the one-time approval ticket the login issued) — so
 * browser automation written for Salesforce drives it unchanged. One-step scripts may instead post
 * `username`, `password` (or `pw`) and `action=approve|deny` together.
 */
export async function authorizePost(ctx: Ctx): Promise<Response> {
  const form = await readForm(ctx.req);
  const p = readParams(form);
  const early = preflight(ctx, p);
  if (early) return early;
  if (form.has('oadeny') || form.get('action') === 'deny') return redirectError(p, 'access_denied', 'end-user denied authorization');
  if (form.has('oaapprove')) {
    const ticket = takeTicket(ctx.org, form.get('ticket') ?? '', p);
    if (!ticket) return loginPage(ctx, p, form, 'Your approval expired or was already used. Please log in again.');
    // The user may have been deactivated between the two pages.
    const user = findUser(ctx, ticket.username);
    if (!user || !user.active) return loginPage(ctx, p, form, LOGIN_FAILED);
    return grant(ctx, p, user.id);
  }
  const oneStep = form.get('action') === 'approve';
  if (!oneStep && !form.has('Login') && !form.has('pw')) return redirectError(p, 'access_denied', 'end-user denied authorization');
  const user = findUser(ctx, form.get('username') ?? '');
  // Every active user signs in with the emulator's password (there is one password per emulated org).
  if (!user || !user.active || (form.get('pw') ?? form.get('password')) !== ctx.org.password) return loginPage(ctx, p, form, LOGIN_FAILED);
  if (oneStep) return grant(ctx, p, user.id);
  return approvePage(ctx, p, form, issueTicket(ctx.org, user.username, p));
}

const LOGIN_FAILED = 'Please check your username and password. If you still can\'t log in, contact your Salesforce administrator.';

/** Redirects to the callback with a code, or (user-agent flow) the token in the fragment. */
async function grant(ctx: Ctx, p: AuthorizeParams, userId: string): Promise<Response> {
  if (p.responseType === 'token') {
    const s = ctx.sessions.issue(userId, p.clientId, p.scope, wantsRefreshToken(p.scope));
    const body = tokenResponse(ctx, s, true);
    if (hasOpenIdScope(p.scope)) body.id_token = await idToken(ctx, s, p.nonce);
    return redirect(p, body);
  }
  const now = ctx.org.clock.now();
  const store = codes(ctx.org);
  for (const [c, pending] of store) if (pending.expiresAt + AUTH_CODE_TTL_MS < now) store.delete(c);
  const code = `aPrx${randomBytes(36).toString('base64url')}`;
  store.set(code, { clientId: p.clientId, redirectUri: p.redirectUri, userId, scope: p.scope, challenge: p.challenge, nonce: p.nonce, expiresAt: now + AUTH_CODE_TTL_MS, used: false });
  return redirect(p, { code });
}

/** A signed-in user on the approve page: single use, bound to the client and callback, 15 minutes. */
interface Ticket {
  username: string;
  clientId: string;
  redirectUri: string;
  expiresAt: number;
}

const ticketStores = new WeakMap<Org, Map<string, Ticket>>();
function tickets(org: Org): Map<string, Ticket> {
  let m = ticketStores.get(org);
  if (!m) ticketStores.set(org, (m = new Map()));
  return m;
}

function issueTicket(org: Org, username: string, p: AuthorizeParams): string {
  const store = tickets(org);
  const now = org.clock.now();
  for (const [t, pending] of store) if (pending.expiresAt < now) store.delete(t);
  const ticket = randomBytes(24).toString('base64url');
  store.set(ticket, { username, clientId: p.clientId, redirectUri: p.redirectUri, expiresAt: now + AUTH_CODE_TTL_MS });
  return ticket;
}

function takeTicket(org: Org, ticket: string, p: AuthorizeParams): Ticket | null {
  const store = tickets(org);
  const t = store.get(ticket);
  store.delete(ticket);
  if (!t || t.expiresAt < org.clock.now() || t.clientId !== p.clientId || t.redirectUri !== p.redirectUri) return null;
  return t;
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

function hiddenFields(source: URLSearchParams): string {
  return PARAM_NAMES.filter((n) => source.get(n) !== null)
    .map((n) => `<input type="hidden" name="${n}" value="${esc(source.get(n)!)}">`)
    .join('\n    ');
}

/** The login form, with Salesforce's element ids and names: `#username`, `#password` (named `pw`), `#Login`. */
function loginPage(ctx: Ctx, p: AuthorizeParams, source: URLSearchParams, error: string | null): Response {
  const username = source.get('username') ?? p.loginHint ?? ctx.org.username;
  return html(200, `<h1>Log in</h1>
  <p><b>${esc(p.clientId)}</b> is asking to access this emulated org (scope: <code>${esc(p.scope)}</code>) and will return to <code>${esc(p.redirectUri)}</code>.</p>
  ${error ? `<div id="error" class="loginError" role="alert">${esc(error)}</div>` : ''}
  <form name="login" id="login_form" method="POST" action="/services/oauth2/authorize">
    ${hiddenFields(source)}
    <label for="username">Username</label>
    <input type="email" id="username" name="username" value="${esc(username)}" autocomplete="username">
    <label for="password">Password</label>
    <input type="password" id="password" name="pw" autocomplete="current-password">
    <input type="submit" id="Login" name="Login" value="Log In">
  </form>`);
}

/** The approve form, with Salesforce's `#oaapprove` (Allow) and `#oadeny` (Deny) buttons. */
function approvePage(ctx: Ctx, p: AuthorizeParams, source: URLSearchParams, ticket: string): Response {
  return html(200, `<h1>Allow Access?</h1>
  <p><b>${esc(p.clientId)}</b> is asking to access this emulated org as <b>${esc(source.get('username') ?? ctx.org.username)}</b> (scope: <code>${esc(p.scope)}</code>).</p>
  <form name="frm" id="frm" method="POST" action="/services/oauth2/authorize">
    ${hiddenFields(source)}
    <input type="hidden" name="ticket" value="${esc(ticket)}">
    <input type="submit" id="oaapprove" name="oaapprove" value="Allow" class="btn">
    <input type="submit" id="oadeny" name="oadeny" value="Deny" class="btn">
  </form>`);
}

function html(status: number, body: string): Response {
  const page = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>sfbridge emulator · Authorize</title>
<style>body{font:15px system-ui;max-width:34rem;margin:3rem auto}label{display:block;margin:.6rem 0 .2rem}input{width:100%;padding:.3rem}input[type=submit]{width:auto;margin:.8rem .5rem 0 0;padding:.4rem 1rem}.loginError{color:#b00}</style>
</head><body>${body}</body></html>`;
  return new Response(page, { status, headers: { 'content-type': 'text/html;charset=UTF-8', 'cache-control': 'no-store', 'x-frame-options': 'DENY' } });
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

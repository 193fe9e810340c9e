/**
 * Bridging an API session into the browser, as `sf org open` does: `/services/oauth2/singleaccess` (GET or
 * POST, bearer token or `access_token` parameter, optional `redirect_uri`) answers `{frontdoor_uri}`, a
 * `/secur/frontdoor.jsp?otp=…` link that works once; frontdoor.jsp also takes `sid=<token>&retURL=` as
 * Salesforce's classic form. Opening the link sets the `sid` cookie and redirects to the start URL; the
 * emulator has no Lightning UI, so `/` shows who is signed in and where the API lives.
 */
import { randomBytes } from 'node:crypto';
import type { Ctx } from '../app.ts';
import type { Router } from '../http/router.ts';
import { OAuthError, oauthErrorResponse } from './common.ts';
import { json, readForm } from '../http/respond.ts';

/** One-time frontdoor passwords live this long (Salesforce's links are short-lived and single-use). */
export const FRONTDOOR_OTP_MS = 5 * 60_000;

interface Otp { token: string; expiresAt: number }
const otps = new WeakMap<object, Map<string, Otp>>();
const otpsOf = (ctx: Ctx) => {
  let m = otps.get(ctx.org);
  if (!m) otps.set(ctx.org, (m = new Map()));
  return m;
};

const html = (status: number, title: string, body: string, headers: Record<string, string> = {}) =>
  new Response(`<!DOCTYPE html><html><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1>${body}</body></html>`, { status, headers: { 'content-type': 'text/html;charset=UTF-8', ...headers } });
const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Only paths on this host: an absolute or protocol-relative start URL could send the session elsewhere. */
function safePath(v: string | null): string {
  return v && v.startsWith('/') && !v.startsWith('//') ? v : '/';
}

async function singleAccess(ctx: Ctx): Promise<Response> {
  const form = ctx.req.method === 'POST' ? await readForm(ctx.req) : new URLSearchParams();
  const header = /^(?:Bearer|OAuth)\s+(.+)$/i.exec(ctx.req.headers.get('authorization') ?? '')?.[1];
  const token = header ?? form.get('access_token') ?? ctx.url.searchParams.get('access_token');
  const session = token ? ctx.sessions.validate(token) : null;
  if (!session) return oauthErrorResponse(new OAuthError('invalid_token', 'Invalid token: send a valid access token as a Bearer header or access_token', 401));
  const otp = randomBytes(24).toString('base64url');
  otpsOf(ctx).set(otp, { token: token!, expiresAt: ctx.org.clock.now() + FRONTDOOR_OTP_MS });
  const redirect = form.get('redirect_uri') ?? ctx.url.searchParams.get('redirect_uri');
  const uri = `${ctx.baseUrl}/secur/frontdoor.jsp?otp=${otp}${redirect ? `&startURL=${encodeURIComponent(redirect)}` : ''}`;
  return json({ frontdoor_uri: uri });
}

function frontdoor(ctx: Ctx): Response {
  const p = ctx.url.searchParams;
  let token: string | null = null;
  const otp = p.get('otp');
  if (otp) {
    const entry = otpsOf(ctx).get(otp);
    otpsOf(ctx).delete(otp);
    if (entry && entry.expiresAt > ctx.org.clock.now()) token = entry.token;
  } else if (p.get('sid')) {
    token = p.get('sid');
  }
  if (!token || !ctx.sessions.validate(token)) {
    return html(401, 'Link expired', '<p>This frontdoor link has expired or was already used. Ask for a new one with <code>/services/oauth2/singleaccess</code>.</p>');
  }
  const secure = ctx.baseUrl.startsWith('https:') ? '; Secure' : '';
  return new Response(null, { status: 302, headers: { location: safePath(p.get('startURL') ?? p.get('retURL')), 'set-cookie': `sid=${token}; Path=/; HttpOnly; SameSite=Lax${secure}` } });
}

function home(ctx: Ctx): Response {
  const sid = /(?:^|;\s*)sid=([^;]+)/.exec(ctx.req.headers.get('cookie') ?? '')?.[1];
  const session = sid ? ctx.sessions.validate(sid) : null;
  if (!session) return html(200, 'sfbridge org emulator', `<p>Not signed in. The API is at <code>${esc(ctx.baseUrl)}/services/data</code>.</p>`);
  const user = ctx.org.store.prepare('SELECT Username FROM "User" WHERE Id = ?').get(session.userId);
  return html(200, 'sfbridge org emulator', `<p>Signed in as <b>${esc(String(user?.Username ?? session.userId))}</b> in org <code>${esc(ctx.org.orgId)}</code>. The emulator serves the APIs, not the Salesforce UI: <code>${esc(ctx.baseUrl)}/services/data</code>.</p>`);
}

export function registerFrontdoorRoutes(router: Router<Ctx>): void {
  router.on(['GET', 'POST'], '/services/oauth2/singleaccess', singleAccess);
  router.on('GET', '/secur/frontdoor.jsp', frontdoor);
  router.on('GET', '/', home);
}

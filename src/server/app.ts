/**
 * The service's HTTP face as one hono app: `/healthz` and `/readyz`, the dashboard (sign in, overview),
 * Grant access (`/oauth/…`), `/api/v1` with its OpenAPI document and reference page, Coco's
 * `/connector/…` and `/datasource/…`, and `/metrics`. Tests drive it in-process with `app.request()`;
 * `http.ts` puts it on a socket.
 *
 * Access rules (in the middleware below, before any route): the host must be one the service answers to;
 * `/healthz`, `/readyz`, the OAuth callback, the sign-in pages and the stylesheet are public; everything
 * else needs an API token or a dashboard session, and writes with a session also need its CSRF token and a
 * same-origin `Origin`.
 */
import { registerInbox } from './api/inbox.ts';
import { mirrors, registerChangesStream } from './api/changes.ts';
import { registerChangesPage } from './ui/changes.ts';
import { registerReplyRoutes, type ReplyRoutesOptions } from './inbound/reply.ts';
import { registerCallIn } from './api/call-in.ts';
import { registerOutboundMessageRoutes } from './inbound/outbound-messages.ts';
import { registerWebhookRoutes } from './inbound/webhooks.ts';
import { OpenAPIHono, createRoute } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { html } from 'hono/html';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import type { EventLogger } from '../engine/events.ts';
import type { Service } from '../engine/service.ts';
import { connectionName } from '../engine/connections/schema.ts';
import { errorBody, registerApi } from './api/routes.ts';
import { registerCoco } from './api/coco.ts';
import { errorSchema } from './api/schemas.ts';
import { apiReferencePage } from './ui/reference.ts';
import { Auth, cookie, hostAllowed, LOGIN_CSRF_COOKIE, readCookies, sameSecret, SESSION_COOKIE, SESSION_TTL_MS, type Principal } from './auth.ts';
import type { Metrics } from './metrics.ts';
import { finishGrant, revokeGrant, startGrant } from './oauth/grant.ts';
import { odataApp, type ODataAppOptions } from './odata/service.ts';
import { messagePage, STYLES, type Html } from './ui/layout.ts';
import { actionError, loginPage, overviewPage } from './ui/pages.ts';
import { DASHBOARD_ASSETS, registerDashboard } from './ui/routes.ts';

export interface AppOptions {
  service: Service;
  auth: Auth;
  /** Address the server listens on (decides which Host headers are accepted). */
  bindHost?: string;
  /** Public base URL (behind a proxy, or for callback URLs); default the request's own origin. */
  publicUrl?: string;
  /** More host names to answer to. */
  allowedHosts?: readonly string[];
  /** Trust X-Forwarded-Proto/-Host from a reverse proxy in front. */
  trustProxy?: boolean;
  metrics?: Metrics;
  logger?: EventLogger;
  version?: string;
  /** Request-reply routes under `/inbound/reply/{route}` (the config's `reply_routes:`). */
  replyRoutes?: ReplyRoutesOptions['routes'];
  /** Relative files of the config (JWT keys) resolve against this directory. */
  baseDir?: string;
  /** How request-reply routes call their remotes (default global fetch). */
  replyFetch?: typeof fetch;
  /** Where inbound routes read their secrets (`secret_env`); default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** OData 4.0 sources served under `/odata/v4/{source}/` (each checks its own credentials). */
  odata?: ODataAppOptions['sources'];
}

type Vars = { Variables: { principal: Principal | undefined } };

/** Paths anyone may call. */
const PUBLIC = [/^\/healthz$/, /^\/readyz$/, /^\/oauth\/callback$/, /^\/login$/, /^\/login\/link\/[^/]+$/, /^\/assets\/app\.css$/, DASHBOARD_ASSETS, /^\/inbound\//, /^\/odata\//];
/** Remote call-in: the only routes a scoped token may use. */
const CALL_IN_PATH = /^\/api\/v1\/call-in(\/|$)/;
/** Paths that answer 401 JSON rather than redirecting to the sign-in page. */
const MACHINE = /^\/(api\/|metrics$|connector\/|datasource\/)/;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function createApp(opts: AppOptions): OpenAPIHono<Vars> {
  const { service, auth } = opts;
  const app = new OpenAPIHono<Vars>({
    defaultHook: (result, c) => {
      if (result.success) return;
      const issue = result.error.issues[0];
      const path = issue.path.map(String).join('.');
      const message = issue.code === 'unrecognized_keys' ? `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}` : issue.message;
      return c.json({ error: { code: 'INVALID_REQUEST', message: `${result.target === 'json' ? 'body' : result.target}${path ? `.${path}` : ''}: ${message}`, path } }, 400);
    },
  });
  const bindHost = opts.bindHost ?? '127.0.0.1';
  const baseUrl = (req: Request): string => {
    if (opts.publicUrl) return opts.publicUrl.replace(/\/+$/, '');
    const url = new URL(req.url);
    if (opts.trustProxy) {
      const proto = req.headers.get('x-forwarded-proto')?.split(',')[0].trim();
      const host = req.headers.get('x-forwarded-host')?.split(',')[0].trim();
      if (proto || host) return `${proto ?? url.protocol.replace(':', '')}://${host ?? url.host}`;
    }
    return url.origin;
  };
  const secure = (req: Request) => baseUrl(req).startsWith('https:');

  app.use('*', async (c, next) => {
    const url = new URL(c.req.url);
    const host = (opts.trustProxy && c.req.header('x-forwarded-host')?.split(',')[0].trim()) || c.req.header('host') || url.host;
    if (!hostAllowed(host, { bindHost, publicUrl: opts.publicUrl, allowedHosts: opts.allowedHosts })) {
      return c.json({ error: { code: 'HOST_NOT_ALLOWED', message: `this service does not answer to host "${host}"; start it with --public-url https://${host} or --allowed-host ${host.replace(/:\d+$/, '')}` } }, 421);
    }
    const path = url.pathname;
    const cookies = readCookies(c.req.header('cookie'));
    const bearer = /^Bearer\s+(.+)$/i.exec(c.req.header('authorization') ?? '')?.[1]?.trim();
    let principal: Principal | undefined;
    const isPublic = PUBLIC.some((re) => re.test(path));
    if (bearer) {
      const token = await auth.tokenOf(bearer);
      // Public routes with their own credentials (OData sources, inbound webhooks) may carry a bearer token
      // that is theirs, not the service's.
      if (!token && isPublic) principal = undefined;
      else if (!token) return c.json({ error: { code: 'UNAUTHORIZED', message: 'the API token is unknown or revoked; create one with: sfbridge tokens create --name NAME' } }, 401, { 'www-authenticate': 'Bearer error="invalid_token"' });
      else principal = { kind: 'token', name: token.name, scopes: token.scopes };
    } else {
      const session = await auth.session(cookies[SESSION_COOKIE]);
      if (session) principal = { kind: 'session', session };
    }
    c.set('principal', principal);
    if (isPublic) return next();
    // A scoped token (remote call-in) reaches only the call-in routes; what it may write is checked there.
    if (principal?.kind === 'token' && principal.scopes && !CALL_IN_PATH.test(path)) {
      return c.json({ error: { code: 'FORBIDDEN', message: `token "${principal.name}" is scoped to ${principal.scopes.join(', ')} and may only use /api/v1/call-in; use an unscoped token for the rest of the API` } }, 403);
    }
    if (!principal) {
      if (MACHINE.test(path)) return c.json({ error: { code: 'UNAUTHORIZED', message: 'authentication required: send Authorization: Bearer <token> (create one with: sfbridge tokens create --name NAME)' } }, 401, { 'www-authenticate': 'Bearer' });
      return c.redirect(`/login?next=${encodeURIComponent(path + url.search)}`, 303);
    }
    if (principal.kind === 'session' && !SAFE_METHODS.has(c.req.method)) {
      const origin = c.req.header('origin');
      if ((origin && origin !== baseUrl(c.req.raw)) || c.req.header('sec-fetch-site') === 'cross-site') {
        return c.json({ error: { code: 'CROSS_ORIGIN', message: `requests from ${origin ?? 'another site'} may not change this service` } }, 403);
      }
      let token = c.req.header('x-csrf-token');
      if (!token && /^(application\/x-www-form-urlencoded|multipart\/form-data)/.test(c.req.header('content-type') ?? '')) {
        const form = await c.req.parseBody();
        token = typeof form._csrf === 'string' ? form._csrf : undefined;
      }
      if (!token || !sameSecret(token, principal.session.csrf)) return c.json({ error: { code: 'CSRF', message: 'missing or wrong CSRF token: send the form field _csrf or the header X-CSRF-Token from the page (meta name="csrf-token")' } }, 403);
    }
    return next();
  });

  // OData 4.0 producer (Salesforce Connect): its sources authenticate requests themselves -----------------

  if (opts.odata) app.route('/', odataApp({ sources: opts.odata }));

  // Health --------------------------------------------------------------------------------------------

  app.openapi(createRoute({ method: 'get', path: '/healthz', tags: ['health'], summary: 'The process is up', security: [], responses: { 200: { description: 'up', content: { 'application/json': { schema: z.object({ status: z.literal('ok') }) } } } } }), (c) => c.json({ status: 'ok' as const }, 200));
  app.openapi(
    createRoute({ method: 'get', path: '/readyz', tags: ['health'], summary: 'The service runs and its store answers', security: [], responses: { 200: { description: 'ready', content: { 'application/json': { schema: z.object({ status: z.literal('ready') }) } } }, 503: { description: 'not ready', content: { 'application/json': { schema: z.object({ status: z.literal('not_ready') }) } } } } }),
    async (c) => ((await service.ready()) ? c.json({ status: 'ready' as const }, 200) : c.json({ status: 'not_ready' as const }, 503)),
  );

  app.get('/assets/app.css', (c) => c.body(STYLES, 200, { 'content-type': 'text/css; charset=utf-8', 'cache-control': 'public, max-age=3600' }));

  // Sign in -------------------------------------------------------------------------------------------

  const safeNext = (next: unknown) => (typeof next === 'string' && next.startsWith('/') && !next.startsWith('//') ? next : '/');
  const sessionCookie = (req: Request, value: string, maxAge = SESSION_TTL_MS / 1000) => cookie(SESSION_COOKIE, value, { secure: secure(req), maxAgeSeconds: maxAge });
  const htmlPage = (c: Context, body: Html, status: number = 200, headers: Record<string, string> = {}) => c.html(body, status as ContentfulStatusCode, { 'cache-control': 'no-store', 'x-frame-options': 'DENY', 'content-security-policy': "default-src 'self'; style-src 'self'; frame-ancestors 'none'; form-action 'self' https: http:", ...headers });

  app.get('/login', (c) => {
    if (c.get('principal')) return c.redirect(safeNext(c.req.query('next')), 303);
    const csrf = Auth.newCsrf();
    return htmlPage(c, loginPage({ csrf, next: safeNext(c.req.query('next')), passwordLogin: auth.passwordLogin }), 200, { 'set-cookie': cookie(LOGIN_CSRF_COOKIE, csrf, { secure: secure(c.req.raw), maxAgeSeconds: 3600 }) });
  });

  app.post('/login', async (c) => {
    const form = await c.req.parseBody();
    const expected = readCookies(c.req.header('cookie'))[LOGIN_CSRF_COOKIE];
    const origin = c.req.header('origin');
    const next = safeNext(form.next);
    if ((origin && origin !== baseUrl(c.req.raw)) || !expected || typeof form._csrf !== 'string' || !sameSecret(form._csrf, expected)) {
      return htmlPage(c, loginPage({ csrf: expected ?? Auth.newCsrf(), next, passwordLogin: auth.passwordLogin, error: 'The sign-in form expired or came from another site; reload this page and try again.' }), 403);
    }
    const outcome = auth.checkPassword(typeof form.password === 'string' ? form.password : '');
    if (outcome !== 'ok') {
      const error = outcome === 'limited' ? 'Too many failed attempts; wait a minute.' : outcome === 'disabled' ? 'Password sign-in is off (SFBRIDGE_ADMIN_PASSWORD is not set).' : 'Wrong password.';
      return htmlPage(c, loginPage({ csrf: expected, next, passwordLogin: auth.passwordLogin, error }), outcome === 'limited' ? 429 : 401);
    }
    const { cookie: value } = await auth.openSession();
    return c.body(null, 303, { location: next, 'set-cookie': sessionCookie(c.req.raw, value) });
  });

  app.get('/login/link/:token', async (c) => {
    const taken = await auth.takeLoginLink(c.req.param('token'));
    if (!taken.ok) {
      const why = taken.reason === 'used' ? 'was used already' : taken.reason === 'expired' ? 'expired (links are valid for one hour)' : 'is not valid';
      return htmlPage(c, messagePage('This sign-in link cannot be used', html`<p>The link ${why}. Restart <code>sfbridge serve</code> for a new one, or sign in with the admin password.</p><p><a href="/login">Sign in</a></p>`), 400);
    }
    const { cookie: value } = await auth.openSession();
    return c.body(null, 303, { location: '/', 'set-cookie': sessionCookie(c.req.raw, value) });
  });

  app.post('/logout', async (c) => {
    await auth.closeSession(readCookies(c.req.header('cookie'))[SESSION_COOKIE]);
    return c.body(null, 303, { location: '/login', 'set-cookie': sessionCookie(c.req.raw, '', 0) });
  });

  // Dashboard -----------------------------------------------------------------------------------------

  const csrfOf = (p: Principal | undefined) => (p?.kind === 'session' ? p.session.csrf : '');

  app.get('/', async (c) => {
    const q = c.req.query();
    const notice = q.queued ? `A run of ${q.queued} is queued.` : q.revoked ? `Access of ${q.revoked} was revoked.` : undefined;
    return htmlPage(c, await overviewPage(service, csrfOf(c.get('principal')), notice));
  });

  registerDashboard(app as never, {
    service,
    htmlPage,
    csrfOf: (c) => csrfOf(c.get('principal')),
    notFound: (c, what) => htmlPage(c, messagePage('Not found', html`<p>There is no ${what}. <a href="/">Overview</a></p>`, csrfOf(c.get('principal'))), 404),
  });
  registerChangesPage(app as never, { objects: async () => [...(await mirrors(service)).keys()], htmlPage: (c, body) => htmlPage(c, body), csrfOf: (c) => csrfOf(c.get('principal')) });

  // Grant access --------------------------------------------------------------------------------------

  app.get('/oauth/authorize/:connection', async (c) => {
    const p = c.get('principal');
    try {
      const location = await startGrant(service, c.req.param('connection'), { baseUrl: baseUrl(c.req.raw), sessionHash: p?.kind === 'session' ? p.session.idHash : undefined });
      return c.redirect(location, 302);
    } catch (err) {
      return htmlPage(c, actionError((err as Error).message, csrfOf(p)), errorBody(err).status);
    }
  });

  app.get('/oauth/callback', async (c) => {
    const p = c.get('principal');
    const out = await finishGrant(service, new URL(c.req.url).searchParams, { baseUrl: baseUrl(c.req.raw), sessionHash: p?.kind === 'session' ? p.session.idHash : undefined, csrf: p?.kind === 'session' ? p.session.csrf : undefined });
    return htmlPage(c, out.page, out.status);
  });

  app.post('/oauth/revoke/:connection', async (c) => {
    try {
      await revokeGrant(service, c.req.param('connection'));
      return c.redirect(`/connections?revoked=${encodeURIComponent(c.req.param('connection'))}`, 303);
    } catch (err) {
      return htmlPage(c, actionError((err as Error).message, csrfOf(c.get('principal'))), errorBody(err).status);
    }
  });

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/api/v1/connections/{name}/grant',
      tags: ['connections'],
      summary: 'Revoke a web connection\'s grant at Salesforce and forget it (disconnect)',
      request: { params: z.object({ name: connectionName.meta({ param: { name: 'name', in: 'path' } }) }) },
      responses: { 204: { description: 'revoked' }, 401: { description: 'no or invalid credentials', content: { 'application/json': { schema: errorSchema } } }, 404: { description: 'not found', content: { 'application/json': { schema: errorSchema } } }, 409: { description: 'not a connected web connection', content: { 'application/json': { schema: errorSchema } } }, 502: { description: 'Salesforce could not be reached', content: { 'application/json': { schema: errorSchema } } } },
    }),
    async (c) => {
      try {
        await revokeGrant(service, c.req.valid('param').name);
        return c.body(null, 204);
      } catch (err) {
        const { status, body } = errorBody(err);
        return c.json(body, status as 404) as never;
      }
    },
  );

  // API -----------------------------------------------------------------------------------------------

  registerApi(app as never, service);
  registerCoco(app as never, service);
  registerCallIn(app as never, service);
  registerInbox(app as never, service);
  registerChangesStream(app as never, service);

  // Inbound routes (Outbound Messages, webhooks): each checks its own sender -------------------------------

  registerOutboundMessageRoutes(app as never, service, { baseUrl });
  registerWebhookRoutes(app as never, service, { env: opts.env });
  if (opts.replyRoutes) registerReplyRoutes(app as never, { routes: opts.replyRoutes, service, baseDir: opts.baseDir ?? process.cwd(), env: opts.env, fetch: opts.replyFetch });

  app.openAPIRegistry.registerComponent('securitySchemes', 'token', { type: 'http', scheme: 'bearer', description: 'API token from: sfbridge tokens create --name NAME' });
  app.openAPIRegistry.registerComponent('securitySchemes', 'session', { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE, description: 'dashboard session; writes also need the X-CSRF-Token header' });
  const document = () =>
    app.getOpenAPI31Document({
      openapi: '3.1.0',
      info: { title: 'sfbridge', version: opts.version ?? '0', description: 'The sfbridge service: connections, pipelines, runs, dead letters and API usage.' },
      security: [{ token: [] }, { session: [] }],
    });
  app.get('/api/v1/openapi.json', (c) => c.json(document()));
  app.get('/api/v1/docs', (c) => htmlPage(c, apiReferencePage(document() as never, csrfOf(c.get('principal')))));

  app.get('/metrics', async (c) => {
    if (!opts.metrics) return c.json({ error: { code: 'NOT_FOUND', message: 'metrics are off' } }, 404);
    return c.body(await opts.metrics.text(), 200, { 'content-type': opts.metrics.contentType });
  });

  app.notFound((c) => {
    const path = new URL(c.req.url).pathname;
    if (MACHINE.test(path)) return c.json({ error: { code: 'NOT_FOUND', message: `no route ${c.req.method} ${path} (see /api/v1/docs)` } }, 404);
    return htmlPage(c, messagePage('Not found', html`<p>There is no page at <code>${path}</code>. <a href="/">Overview</a></p>`, csrfOf(c.get('principal'))), 404);
  });

  app.onError((err, c) => {
    opts.logger?.error({ event: 'http:error', method: c.req.method, path: new URL(c.req.url).pathname.replace(/^\/login\/link\/.*/, '/login/link/…'), err: (err as Error).message }, 'request failed');
    const { status, body } = errorBody(err);
    return c.json(body, status);
  });

  return app;
}

/**
 * Service test plumbing: an in-process emulator, a service over an in-memory store reaching the emulator
 * in-process, the app with a token and a password, and an `api()` that checks every JSON response against
 * the service's own OpenAPI document (status documented, body valid).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { createEmulator, type Emulator, type EmulatorOptions } from '../../src/emulator/app.ts';
import { seedOrg } from '../../src/emulator/seed/index.ts';
import { SecretBox } from '../../src/engine/connections/registry.ts';
import type { ConnectionSpec } from '../../src/engine/connections/schema.ts';
import { parsePipeline, type PipelineEntry } from '../../src/engine/pipelines/index.ts';
import { Service } from '../../src/engine/service.ts';
import { createApp } from '../../src/server/app.ts';
import { Auth, SESSION_COOKIE } from '../../src/server/auth.ts';
import { createMetrics } from '../../src/server/metrics.ts';
import { odataConfigSchema, serviceODataSources } from '../../src/server/odata/config.ts';
import { replyRoutesSchema } from '../../src/server/inbound/reply.ts';

export const EMU = 'http://127.0.0.1:8484';
export const PASSWORD = 'correct horse battery staple';

export interface Harness {
  emu: Emulator;
  service: Service;
  app: ReturnType<typeof createApp>;
  auth: Auth;
  token: string;
  /** Calls the app with the token (unless `auth: false`), checking the response against the OpenAPI document. */
  api(path: string, init?: RequestInit & { json?: unknown; auth?: boolean }): Promise<{ status: number; body: any; res: Response }>;
  /** A signed-in dashboard session: the cookie header and the CSRF token. */
  login(): Promise<{ cookie: string; csrf: string }>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  seed?: string;
  emulator?: EmulatorOptions;
  connections?: Record<string, Record<string, unknown>>;
  pipelines?: Record<string, unknown>[];
  start?: boolean;
  storeUrl?: string;
  /** An `odata:` block, served under /odata/v4 with the service's store. */
  odata?: unknown;
  /** Environment of inbound routes (webhook secrets). */
  env?: NodeJS.ProcessEnv;
  /** Request-reply routes (`reply_routes:`), validated. */
  replyRoutes?: unknown;
}

export function emulatorFetch(emu: Emulator) {
  return (input: string | URL | Request, init?: RequestInit) => emu.fetch(new Request(input, init));
}

export async function harness(opts: HarnessOptions = {}): Promise<Harness> {
  const emu = createEmulator(opts.emulator);
  await seedOrg(emu.org, opts.seed ?? 'none');
  const connections = (opts.connections ?? { emu: { kind: 'client_credentials', instance_url: EMU, client_id: emu.org.clientId, client_secret: emu.org.clientSecret } }) as Record<string, ConnectionSpec>;
  const pipelines: PipelineEntry[] = (opts.pipelines ?? []).map((p) => ({ spec: parsePipeline(p), raw: p as never, source: 'config' }));
  const service = await Service.open({ storeUrl: opts.storeUrl ?? 'sqlite::memory:', box: new SecretBox(randomBytes(32)), fetch: emulatorFetch(emu), connections, pipelines });
  const auth = new Auth({ state: service.state, adminPassword: PASSWORD });
  const metrics = createMetrics(service, { defaultMetrics: false });
  const odata = opts.odata === undefined ? undefined : serviceODataSources(odataConfigSchema.parse(opts.odata), {
    store: await service.store(service.storeUrl),
    openStore: (url) => service.store(url),
    verifyServiceToken: async (req) => (await auth.verifyToken(/^Bearer\s+(.+)$/i.exec(req.headers.get('authorization') ?? '')?.[1] ?? '')) !== undefined,
  }, 0);
  const app = createApp({ service, auth, metrics, publicUrl: undefined, odata, env: opts.env, replyRoutes: opts.replyRoutes === undefined ? undefined : replyRoutesSchema.parse(opts.replyRoutes) });
  const { token } = await auth.createToken('test');
  if (opts.start !== false) await service.start();
  const doc = (await (await app.request('/api/v1/openapi.json', { headers: { authorization: `Bearer ${token}` } })).json()) as OpenApiDoc;
  const check = responseChecker(doc);
  return {
    emu,
    service,
    app,
    auth,
    token,
    async api(path, init = {}) {
      const headers = new Headers(init.headers);
      if (init.auth !== false && !headers.has('authorization') && !headers.has('cookie')) headers.set('authorization', `Bearer ${token}`);
      let body = init.body;
      if (init.json !== undefined) {
        headers.set('content-type', 'application/json');
        body = JSON.stringify(init.json);
      }
      const res = await app.request(path, { ...init, headers, body });
      const text = await res.text();
      const parsed = res.headers.get('content-type')?.includes('json') && text ? JSON.parse(text) : text;
      check(init.method ?? 'GET', path, res.status, parsed, res.headers.get('content-type'));
      return { status: res.status, body: parsed, res };
    },
    async login() {
      const link = await auth.createLoginLink();
      const res = await app.request(`/login/link/${link}`);
      assert.equal(res.status, 303);
      const cookie = /sfbridge_session=([^;]+)/.exec(res.headers.get('set-cookie') ?? '')![1];
      const page = await (await app.request('/', { headers: { cookie: `${SESSION_COOKIE}=${cookie}` } })).text();
      const csrf = /name="csrf-token" content="([^"]+)"/.exec(page)![1];
      return { cookie: `${SESSION_COOKIE}=${cookie}`, csrf };
    },
    async close() {
      metrics.close();
      await service.stop();
      emu.close();
    },
  };
}

type OpenApiDoc = { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>> };

/**
 * Validates responses of documented paths: the status must be one the operation documents, and a JSON
 * body must match its schema. Paths outside the document (pages, `/metrics`) are not checked.
 */
export function responseChecker(doc: OpenApiDoc) {
  const ajv = new Ajv2020({ strict: false, allErrors: false });
  ajv.addSchema(doc as object, 'https://sfbridge.local/openapi.json');
  const routes = Object.keys(doc.paths).map((template) => ({ template, re: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`) }));
  const cache = new Map<string, ReturnType<typeof ajv.compile>>();
  return (method: string, path: string, status: number, body: unknown, contentType: string | null) => {
    const pathname = path.split('?')[0];
    // A literal route beats a template (`/api/v1/pipelines/x/runs` is not `/{name}` of something else).
    const route = routes.filter((r) => r.re.test(pathname)).sort((a, b) => (a.template.match(/\{/g)?.length ?? 0) - (b.template.match(/\{/g)?.length ?? 0))[0];
    if (!route) return;
    const op = doc.paths[route.template][method.toLowerCase()];
    if (!op) return;
    if (status === 421 || (status === 403 && (body as { error?: { code?: string } })?.error?.code && ['CSRF', 'CROSS_ORIGIN', 'FORBIDDEN'].includes((body as { error: { code: string } }).error.code))) return;
    const documented = op.responses[String(status)];
    assert.ok(documented, `${method} ${route.template} answered ${status}, which the OpenAPI document does not list (${Object.keys(op.responses).join(', ')}): ${JSON.stringify(body).slice(0, 300)}`);
    if (!documented.content || !contentType?.includes('json')) return;
    const pointer = `https://sfbridge.local/openapi.json#/paths/${route.template.replaceAll('~', '~0').replaceAll('/', '~1')}/${method.toLowerCase()}/responses/${status}/content/application~1json/schema`;
    let validate = cache.get(pointer);
    if (!validate) cache.set(pointer, (validate = ajv.compile({ $ref: pointer })));
    assert.ok(validate(body), `${method} ${route.template} ${status} body does not match the OpenAPI schema: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body).slice(0, 500)}`);
  };
}

/** Waits until `fn` returns a truthy value (polls every 20 ms, up to `ms`). */
export async function until<T>(fn: () => Promise<T> | T, ms = 15_000, what = 'condition'): Promise<Exclude<T, undefined | null | false | '' | 0>> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v as Exclude<T, undefined | null | false | '' | 0>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

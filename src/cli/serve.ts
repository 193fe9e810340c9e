/**
 * `sfbridge serve`: the long-running service. Runs every configured pipeline on its schedule, serves the
 * dashboard and `/api/v1`, and keeps schedules, cursors and run history in its store. SIGTERM or SIGINT
 * lets the running batch commit, records the run as interrupted (it continues at the next start) and
 * exits 0; a second signal exits at once.
 *
 * `--demo` (what `npm start` runs) starts an emulated demo org in this process, a connection to it and a
 * pipeline syncing every standard object the demo has, with search documents.
 */
import { untilStopped } from './stop.ts';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import pino from 'pino';
import type { FetchLike } from '../client/index.ts';
import { DEFAULT_STORE_URL, SyncConfigError } from '../engine/config.ts';
import type { ConnectionSpec } from '../engine/connections/schema.ts';
import { logServiceEvents } from '../engine/events.ts';
import { loadServiceConfig, type PipelineEntry } from '../engine/pipelines/index.ts';
import { Service } from '../engine/service.ts';
import { createApp } from '../server/app.ts';
import { odataConfigSchema, serviceODataSources } from '../server/odata/config.ts';
import { checkReplyRoutes, replyRoutesSchema, type ReplyRoutesOptions } from '../server/inbound/reply.ts';
import { Auth, isLoopback } from '../server/auth.ts';
import { listen } from '../server/http.ts';
import { createMetrics } from '../server/metrics.ts';
import { parseFlags, parsePort, UsageError } from './args.ts';

const USAGE = `Usage: sfbridge serve [--config sfbridge.yaml] [--port 8080] [--host 127.0.0.1] [--store URL] [options]

Runs every pipeline of the config file (and those created through the API) on its schedule, with the
dashboard and the HTTP API (/api/v1, reference at /api/v1/docs) on one port.

  --config FILE        connections: and pipelines: (a sync/publish config file works too)
  --store URL          the service's store: sqlite:./data/sfbridge.db (default) | postgres://…[?schema=s]
  --port N             default 8080 (0 picks a free port)
  --host ADDR          default 127.0.0.1; 0.0.0.0 listens on every interface (use TLS or a proxy)
  --public-url URL     the address people and Salesforce reach the service at (callback URLs)
  --allowed-host NAME  another host name to answer to (repeatable)
  --trust-proxy        take X-Forwarded-Proto/-Host from the reverse proxy in front
  --tls-cert FILE --tls-key FILE   serve HTTPS
  --concurrency N      pipeline runs at once (default 2)
  --workers N          with a postgres:// store: the fleet's job engine, N workers in this process (0:
                       schedule only; \`sfbridge worker\` processes on the same store run the jobs)
  --log-level LEVEL    info (default), warn, error, debug
  --demo               an emulated demo org in this process, with a connection and a sync pipeline
                       (store default: sqlite:./data/demo.db, never the default sync store)

Sign in with SFBRIDGE_ADMIN_PASSWORD or the one-time link printed at start. API tokens: sfbridge tokens create.
Secrets are sealed with SFBRIDGE_SECRET_KEY, or a key file created in ~/.sfbridge/secret.key.
`;

export interface ServeIO {
  stdout?: Writable;
  stderr?: Writable;
  env?: NodeJS.ProcessEnv;
  /** Resolves to stop the service (tests); default SIGINT/SIGTERM. */
  signal?: AbortSignal;
  fetch?: FetchLike;
  /** Called once the service listens. */
  onListening?: (info: { url: string; loginUrl: string; service: Service }) => void;
}

export async function serveCommand(argv: string[], io: ServeIO = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const env = io.env ?? process.env;
  const { values } = parseFlags(argv, {
    config: { type: 'string', short: 'c' },
    store: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
    'public-url': { type: 'string' },
    'allowed-host': { type: 'string', multiple: true },
    'trust-proxy': { type: 'boolean' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    concurrency: { type: 'string' },
    workers: { type: 'string' },
    'log-level': { type: 'string' },
    demo: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  }, USAGE);
  if (values.help) {
    stdout.write(USAGE);
    return 0;
  }
  const port = parsePort(values.port ?? env.SFBRIDGE_PORT ?? '8080');
  const host = values.host ?? env.SFBRIDGE_HOST ?? '127.0.0.1';
  const concurrency = values.concurrency === undefined ? 2 : Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 32) throw new UsageError(`--concurrency must be a whole number 1-32, got "${values.concurrency}"`);
  const workers = values.workers === undefined ? undefined : Number(values.workers);
  if (workers !== undefined && (!Number.isInteger(workers) || workers < 0 || workers > 32)) throw new UsageError(`--workers must be a whole number 0-32, got "${values.workers}"`);
  if (workers !== undefined && values.concurrency !== undefined) throw new UsageError('--workers sets how many jobs this process runs; leave out --concurrency');
  const publicUrl = values['public-url'] ?? env.SFBRIDGE_PUBLIC_URL;
  if (publicUrl && !/^https?:\/\/[^/]+/.test(publicUrl)) throw new UsageError(`--public-url must be an absolute URL such as https://sfbridge.example.com, got "${publicUrl}"`);
  if (Boolean(values['tls-cert']) !== Boolean(values['tls-key'])) throw new UsageError('--tls-cert and --tls-key go together: give both files');
  const level = values['log-level'] ?? env.SFBRIDGE_LOG_LEVEL ?? 'info';
  if (!['debug', 'info', 'warn', 'error'].includes(level)) throw new UsageError(`--log-level must be debug, info, warn or error, got "${level}"`);
  const configFile = values.config ?? env.SFBRIDGE_CONFIG;
  if (values.demo && configFile) throw new UsageError('--demo brings its own connection and pipeline; run without --config (or without --demo)');

  let connections: Record<string, ConnectionSpec> = {};
  let pipelines: PipelineEntry[] = [];
  let fileStore: string | undefined;
  let odataBlock: unknown;
  let replyBlock: unknown;
  let baseDir = process.cwd();
  if (configFile) {
    try {
      const cfg = await loadServiceConfig(configFile, env);
      connections = cfg.connections;
      pipelines = cfg.pipelines;
      fileStore = cfg.store;
      odataBlock = cfg.odata;
      replyBlock = cfg.replyRoutes;
      baseDir = dirname(resolve(configFile));
    } catch (err) {
      if (err instanceof SyncConfigError) throw new UsageError(`config: ${err.message}`);
      throw err;
    }
  }
  let tls: { key: string; cert: string } | undefined;
  if (values['tls-cert']) {
    const read = async (f: string, flag: string) => readFile(f, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new UsageError(`${flag}: cannot read ${f} (${err.code ?? err.message})`);
    });
    tls = { cert: await read(values['tls-cert'], '--tls-cert'), key: await read(values['tls-key']!, '--tls-key') };
  }

  const log = pino({ base: undefined, level, timestamp: pino.stdTimeFunctions.isoTime }, stderr as never);
  let fetch = io.fetch;
  let demo: Awaited<ReturnType<typeof startDemo>> | undefined;
  if (values.demo) {
    demo = await startDemo(io.fetch);
    connections = demo.connections;
    pipelines = demo.pipelines;
    fetch = demo.fetch;
    stdout.write(`emulated demo org at ${demo.url} (${demo.seeded})\n`);
  }
  // The demo keeps its own database, so `npm start` never replaces a store a user synced into.
  const storeUrl = values.store ?? env.SFBRIDGE_STORE ?? fileStore ?? (values.demo ? "sqlite:./data/demo.db" : DEFAULT_STORE_URL);
  if (workers !== undefined && !/^postgres(ql)?:\/\//.test(storeUrl)) throw new UsageError('--workers needs a postgres:// store (--store postgres://user@host/db?schema=sfbridge): workers share jobs through Postgres');
  let listening: Awaited<ReturnType<typeof listen>> | undefined;
  const service = await Service.open({ storeUrl, connections, pipelines, baseDir, concurrency: workers ?? concurrency, jobs: workers === undefined ? 'embedded' : 'postgres', env, fetch, publicUrl: () => publicUrl ?? listening?.url });
  const detachLog = logServiceEvents(service.events, log);
  const metrics = createMetrics(service);
  const auth = new Auth({ state: service.state, adminPassword: env.SFBRIDGE_ADMIN_PASSWORD });
  let odata: ReturnType<typeof serviceODataSources> | undefined;
  if (odataBlock !== undefined) {
    const parsed = odataConfigSchema.safeParse(odataBlock);
    if (!parsed.success) {
      await service.stop('bad config');
      const i = parsed.error.issues[0];
      throw new UsageError(`config: odata${i.path.length ? `.${i.path.join('.')}` : ''}: ${i.message}`);
    }
    odata = serviceODataSources(parsed.data, {
      store: await service.store(storeUrl),
      openStore: (url) => service.store(url),
      verifyServiceToken: async (req) => {
        const token = /^Bearer\s+(.+)$/i.exec(req.headers.get('authorization') ?? '')?.[1]?.trim();
        return token ? (await auth.verifyToken(token)) !== undefined : false;
      },
    });
  }
  let replyRoutes: ReplyRoutesOptions['routes'] | undefined;
  if (replyBlock !== undefined) {
    const parsed = replyRoutesSchema.safeParse(replyBlock);
    if (!parsed.success) {
      const i = parsed.error.issues[0];
      throw new UsageError(`config: reply_routes${i.path.length ? `.${i.path.join('.')}` : ''}: ${i.message}`);
    }
    try {
      checkReplyRoutes(parsed.data);
    } catch (err) {
      throw new UsageError(`config: ${(err as Error).message}`);
    }
    replyRoutes = parsed.data;
  }
  const app = createApp({ odata, replyRoutes, baseDir, service, auth, bindHost: host, publicUrl, allowedHosts: values['allowed-host'], trustProxy: values['trust-proxy'] || env.SFBRIDGE_TRUST_PROXY === '1', metrics, logger: log, version: '0.1.0', env });
  try {
    listening = await listen(app.fetch, { port, host, tls });
  } catch (err) {
    await service.stop('listen failed');
    demo?.close();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new UsageError(`port ${port} on ${host} is in use: stop what listens there or pick another with --port (0 picks a free one)`);
    throw err;
  }
  if (!isLoopback(host) && !tls && !values['trust-proxy'] && env.SFBRIDGE_TRUST_PROXY !== '1') {
    stderr.write(`warning: listening on ${host} over plain HTTP: passwords, session cookies and API tokens cross the network unencrypted. Use --tls-cert/--tls-key, or put a TLS proxy in front and pass --trust-proxy.\n`);
  }
  const { recovered } = await service.start();
  const base = publicUrl ?? listening.url;
  const loginUrl = `${base}/login/link/${await auth.createLoginLink()}`;
  stdout.write(`sfbridge serve: dashboard ${base}/  API ${base}/api/v1 (reference ${base}/api/v1/docs)\n`);
  stdout.write(`  store ${storeUrl.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@')}; ${pipelines.length} pipeline${pipelines.length === 1 ? '' : 's'} from ${configFile ?? (values.demo ? 'the demo' : 'no config file')}${recovered ? `; ${recovered} interrupted run${recovered === 1 ? '' : 's'} resumed` : ''}\n`);
  if (replyRoutes) stdout.write(`  request-reply routes: ${Object.keys(replyRoutes).map((n) => `${base}/inbound/reply/${n}`).join('  ')}\n`);
  if (odataBlock !== undefined) stdout.write(`  OData 4.0 (Salesforce Connect): ${Object.keys((odataBlock as { sources?: object }).sources ?? {}).map((n) => `${base}/odata/v4/${n}/`).join('  ')}\n`);
  stdout.write(`  sign in (one-time link, valid 1 hour): ${loginUrl}\n`);
  stdout.write('  stop with Ctrl-C (the running batch is committed first)\n');
  io.onListening?.({ url: listening.url, loginUrl, service });

  const reason = await untilStopped(io.signal);
  stdout.write(`sfbridge serve: stopping (${reason}); committing the current batch\n`);
  await listening.close();
  await service.stop(reason);
  metrics.close();
  detachLog();
  demo?.close();
  stdout.write('sfbridge serve: stopped\n');
  return 0;
}

/** The demo org: an emulator in this process on a local port (so the browser can reach its approve page). */
async function startDemo(outer: FetchLike | undefined) {
  const { createEmulator } = await import('../emulator/app.ts');
  const { seedOrg } = await import('../emulator/seed/index.ts');
  const { serve } = await import('../emulator/http/node-server.ts');
  const emu = createEmulator();
  const seeded = await seedOrg(emu.org, 'demo');
  const objects = seeded.split(',').map((p) => p.split('=')[0]).filter((name) => {
    const def = emu.org.schema.get(name);
    return def && def.queryable !== false && def.fields.some((f) => f.name === 'SystemModstamp');
  });
  let server;
  try {
    server = await serve(emu.fetch, { port: 8484, host: '127.0.0.1' });
  } catch {
    server = await serve(emu.fetch, { port: 0, host: '127.0.0.1' });
  }
  const url = server.url;
  // Calls to the demo org stay in the process; anything else goes out as usual.
  const fetch: FetchLike = (input, init) => {
    const target = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (target.startsWith(url)) return emu.fetch(new Request(input, init));
    return (outer ?? globalThis.fetch)(input, init);
  };
  const connections: Record<string, ConnectionSpec> = {
    demo: { kind: 'client_credentials', instance_url: url, client_id: emu.org.clientId, client_secret: emu.org.clientSecret },
    'demo-web': { kind: 'web', login_url: url, client_id: emu.org.clientId, client_secret: emu.org.clientSecret, scope: 'api refresh_token id' },
  };
  const raw = { name: 'demo-crm', kind: 'sync', connection: 'demo', standard_objects_to_sync: objects, documents: { enabled: true }, schedule: '1m', lag: '10s' };
  const { parsePipeline } = await import('../engine/pipelines/index.ts');
  const pipelines: PipelineEntry[] = [{ spec: parsePipeline(raw), raw: raw as never, source: 'config' }];
  return {
    url,
    seeded,
    fetch,
    connections,
    pipelines,
    close: () => {
      void server.close();
      emu.close();
    },
  };
}

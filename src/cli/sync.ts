/**
 * `sfbridge sync`: mirrors Salesforce objects into SQLite or Postgres (and search documents), once or every
 * interval. Flags cover the common case; `--config sfbridge.yaml` covers everything. Progress bars on a TTY,
 * structured JSON logs (stderr) otherwise; a per-object summary table on stdout after each run.
 *
 * Before anything is opened it logs in once and checks the objects and field filters against the org
 * (preflight.ts), so a typo exits 2 with the closest name and leaves no store behind.
 *
 * Exit codes: 0 success, 1 a run failed (including a refused API budget), 2 usage/config error or an object
 * or field the org does not have, 3 login failed or the org is unreachable, 130 Ctrl-C.
 */
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { CONNECTION_FLAG_OPTIONS, CONNECTION_SETTINGS, CONNECTION_USAGE } from '../client/config.ts';
import { MemoryDescribeCache, SalesforceClient, type FetchLike } from '../client/index.ts';
import { cdcRefusal, loadSyncConfig, SyncConfigError, type SyncConfig } from '../engine/settings.ts';
import { logSyncEvents, SyncEvents, type RunSummary } from '../engine/events.ts';
import { resolveObjects } from '../engine/sync/objects.ts';
import type { Sink } from '../engine/sinks/index.ts';
import { runSync, type DocumentBuilder } from '../engine/sync/runner.ts';
import type { FollowCycleKind } from '../engine/sync/follow.ts';
import { openStore } from '../store/index.ts';
import type { Store } from '../store/types.ts';
import { CliError, EXIT, parseFlags, plural, UsageError, thousands } from './args.ts';
import { clientFor, clientLogger, configFileOf, credentialsFromFlags, PUBSUB_FLAG_OPTIONS } from './connect.ts';
import { checkLogin, preflightSync } from './preflight.ts';
import { createProgress, type ProgressTask } from './progress.ts';
import { red, useColour, writeJson } from './report.ts';
import type { pubsubTransport } from './events.ts';
import { writeNextCycle } from './next-cycle.ts';

const USAGE = `Usage: sfbridge sync [--config sfbridge.yaml] [options]

  --config FILE              YAML config (keys: standard_objects_to_sync, custom_objects_to_sync, objects,
                             interval, continuous, lag, bulk_threshold, formula_refresh, cdc_safety_net,
                             reconcile, documents, store, …; see docs/CONFIG.md)
  --to URL                   store: sqlite:./data/sfbridge.db | sqlite::memory: | postgres://…[?schema=s]
  --objects A,B              objects to sync (default Account,Opportunity,Contact,Lead,Campaign,Case)
  --all-standard             the default standard objects
  --custom-objects '*'|A__c  custom objects too ('*' = every queryable custom object)
  --once                     run one cycle and exit, whatever the config says
  --interval 30s             run continuously, pausing this long between cycles
                             (continuous also when the config file sets interval: or continuous: true,
                             or SFBRIDGE_INTERVAL is set; otherwise one cycle)
  --json                     print each run's summary as one JSON line on stdout (logs stay on stderr)
  --lag 5m                   lag window behind the cursor (covers late-committing writes)
  --bulk-threshold N         rows at which an initial load uses Bulk API 2.0 (default 2000)
  --documents                build search documents (sfbridge search)
  --reconcile                run the hard-delete Id reconciliation now
  --cdc                      after the initial run, follow Change Data Capture events (Pub/Sub API) into the
                             mirror until Ctrl-C (mode: cdc in the config does it per object, the rest
                             polled every interval): each change within moments, the replay id committed
                             with the rows; an overflow or an expired replay id re-reads by the cursor; a
                             polling pass every cdc_safety_net (default 1h) refreshes formulas and deletes.
                             --pubsub-endpoint HOST:PORT, --pubsub-plaintext, --pubsub-ca FILE as for
                             sfbridge events (SF_PUBSUB_ENDPOINT, SF_PUBSUB_PLAINTEXT, SF_PUBSUB_CA)
  --api-version 62.0

${CONNECTION_USAGE}
`;

/** Injection points for tests. */
export interface SyncCommandIO {
  stdout?: Writable & { isTTY?: boolean; columns?: number };
  stderr?: Writable & { isTTY?: boolean; columns?: number };
  env?: NodeJS.ProcessEnv;
  fetch?: FetchLike;
  signal?: AbortSignal;
}

/** Maps config `connection:` keys onto the connection flags, so `resolveCredentials` sees one set. */
export function connectionFlags(config: SyncConfig, flags: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...flags };
  const fromFile: Record<string, string | undefined> = {
    instanceUrl: config.connection.instance_url, loginUrl: config.connection.login_url, clientId: config.connection.client_id,
    clientSecret: config.connection.client_secret, username: config.connection.username, password: config.connection.password,
    jwtKey: config.connection.jwt_key, authUrl: config.connection.auth_url, accessToken: config.connection.access_token,
  };
  for (const [key, { flag }] of Object.entries(CONNECTION_SETTINGS)) {
    // File values sit below flags (and below SF_* env, which resolveCredentials reads when a flag is absent).
    const v = fromFile[key];
    if (v !== undefined && (out[flag] === undefined || out[flag] === '')) out[flag] = v;
  }
  return out;
}

/** The search document builder and the sinks documents go to (`documents.queue`, `documents.jsonl`). */
async function loadDocuments(client: SalesforceClient, config: SyncConfig['documents'], store: Store): Promise<{ builder: DocumentBuilder; sinks: Sink[]; close(): Promise<void> }> {
  const { createDocumentBuilder } = await import('../engine/documents/index.ts');
  // The sinks' clients (NATS, RabbitMQ, Redis) load only when documents go to a queue.
  const { openSink } = await import('../engine/sinks/index.ts');
  const sinks = config.sinks.map((c) => openSink(c, { store }));
  return { builder: createDocumentBuilder(client), sinks, close: async () => void (await Promise.all(sinks.map((k) => k.close()))) };
}

/**
 * Formats a run's per-object table. The status column holds the status only; an object's error follows the
 * table in full on its own line, so no field name or fix is ever cut off.
 */
export function formatSummary(run: RunSummary, opts: { colour?: boolean } = {}): string {
  const header = ['object', 'mode', 'read', 'written', 'deleted', 'mirrored', 'seconds', 'status'];
  const rows = run.objects.map((o) => [o.object, o.mode, fmt(o.read), fmt(o.written), fmt(o.deleted), fmt(o.mirrored), o.seconds.toFixed(1), o.status]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i >= 2 && i <= 6 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  // Failures stand out when colour is on (a terminal without NO_COLOR); the padding is computed uncoloured.
  const bad = (s: string, failed: boolean) => (failed ? red(s, Boolean(opts.colour)) : s);
  const out = [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map((r, i) => bad(line(r), run.objects[i].status === 'failed'))];
  for (const o of run.objects) if (o.error && o.status !== 'ok') out.push(bad(`${o.object} ${o.status}: ${o.error}`, o.status === 'failed'));
  for (const o of run.objects) if (o.pushed?.changes) out.push(bad(pushedLine(o.object, o.pushed), o.pushed.failed > 0));
  out.push(bad(`run ${run.runId ?? '-'} ${run.status} in ${run.seconds.toFixed(1)} s, ${plural(run.apiCalls, 'API call')}${run.requests !== undefined && run.requests !== run.apiCalls ? ` (${run.requests} requests on the wire, retries and token calls included)` : ''}${run.error ? ` — ${run.error}` : ''}`, run.status === 'failed'));
  return out.join('\n') + '\n';
}

/** Whether the config marks an object writable (object names are case-insensitive). */
function isWritable(objects: Record<string, { writable?: boolean }>, object: string): boolean {
  return Object.entries(objects).some(([name, o]) => name.toLowerCase() === object.toLowerCase() && o.writable === true);
}

/** What a writable object's application changes did in Salesforce, in one line. */
function pushedLine(object: string, p: NonNullable<RunSummary['objects'][number]['pushed']>): string {
  const parts = [`${fmt(p.inserted)} inserted`, `${fmt(p.updated)} updated`, `${fmt(p.deleted)} deleted`];
  if (p.failed) parts.push(`${fmt(p.failed)} refused (sfbridge conflicts; sfbridge dlq list --state <this store> --pipeline two-way:${object}:…)`);
  if (p.skipped) parts.push(`${fmt(p.skipped)} with nothing to write`);
  if (p.conflicts) parts.push(`${plural(p.conflicts, 'conflict')} (GET /api/v1/two-way)`);
  return `${object} application changes → Salesforce: ${parts.join(', ')}`;
}

/** A run as the stable `--json` shape (docs/CLI.md). */
export function runJson(run: RunSummary, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    runId: run.runId ?? null,
    status: run.status,
    started: run.started,
    finished: run.finished,
    seconds: run.seconds,
    apiCalls: run.apiCalls,
    objects: run.objects.map((o) => ({ object: o.object, mode: o.mode, status: o.status, read: o.read, written: o.written, deleted: o.deleted, mirrored: o.mirrored, seconds: o.seconds, ...(o.pushed ? { pushed: o.pushed } : {}), ...(o.error ? { error: o.error } : {}) })),
    ...(run.error ? { error: run.error } : {}),
    ...extra,
  };
}

const fmt = thousands;

/**
 * A continuous cycle with nothing to report: succeeded, nothing deleted, and no object wrote more than it
 * re-read from the lag window it always re-reads (rows already mirrored come back unchanged). Such a cycle
 * prints one line instead of the table.
 */
function quiet(run: RunSummary): boolean {
  return run.status === 'succeeded' && run.objects.every((o) => o.status === 'ok' && o.mode === 'incremental' && o.deleted === 0 && o.written === 0 && !o.pushed?.changes);
}

/** Redacts a password in a store URL for display. */
function redactStore(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

/** Runs the command; returns the exit code. */
export async function syncCommand(argv: string[], io: SyncCommandIO = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const env = io.env ?? process.env;
  const { values } = parseFlags(argv, {
    ...CONNECTION_FLAG_OPTIONS,
    config: { type: 'string', short: 'c' },
    to: { type: 'string' },
    objects: { type: 'string' },
    'all-standard': { type: 'boolean' },
    'custom-objects': { type: 'string' },
    once: { type: 'boolean' },
    interval: { type: 'string' },
    lag: { type: 'string' },
    'bulk-threshold': { type: 'string' },
    documents: { type: 'boolean' },
    reconcile: { type: 'boolean' },
    cdc: { type: 'boolean' },
    ...PUBSUB_FLAG_OPTIONS,
    'api-version': { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  }, USAGE);
  if (values.help) {
    stdout.write(USAGE);
    return 0;
  }
  if (values.cdc && values.once) throw new UsageError('--cdc keeps following changes after the initial run; leave out --once');
  if (values.once && values.interval) throw new UsageError('--once and --interval contradict each other: give one');
  if (values.objects && values['all-standard']) throw new UsageError('--objects and --all-standard contradict each other: give one');
  let config: SyncConfig;
  try {
    const custom = values['custom-objects'] as string | undefined;
    config = await loadSyncConfig({
      file: configFileOf(values, env),
      env,
      flags: {
        store: values.to as string | undefined,
        objects: values.objects ? (values.objects as string).split(',').map((s) => s.trim()).filter(Boolean) : undefined,
        allStandard: values['all-standard'] as boolean | undefined,
        customObjects: custom === undefined ? undefined : custom.trim() === '*' ? '*' : custom.split(',').map((s) => s.trim()).filter(Boolean),
        interval: values.interval as string | undefined,
        lag: values.lag as string | undefined,
        bulkThreshold: values['bulk-threshold'] as string | undefined,
        documents: values.documents as boolean | undefined,
      },
    });
  } catch (err) {
    if (err instanceof SyncConfigError) throw new UsageError(`config: ${err.message}`);
    throw err;
  }
  // Continuous when an interval was given anywhere (flag, SFBRIDGE_INTERVAL, the file's `interval:`) or the
  // file says `continuous: true`; `continuous: false` or --once runs one cycle (what a cron job wants).
  // Following change events: `--cdc` (every object) or `mode: cdc` on some objects; --once polls them all once.
  const cdcNamed = Object.entries(config.objects).filter(([, o]) => o.mode === 'cdc').map(([name]) => name.toLowerCase());
  // Decided once the objects are known: `mode: cdc` on an object that is not synced follows nothing.
  let following = !values.once && (Boolean(values.cdc) || cdcNamed.length > 0);
  // The Pub/Sub client (gRPC, Avro) loads only when following change events.
  const transport = following ? await (await import('./events.ts')).pubsubTransport(values, env) : undefined;
  const json = Boolean(values.json);
  const credentials = await credentialsFromFlags(connectionFlags(config, values), env);
  // Request logging (--log-level, SFBRIDGE_LOG_LEVEL): retries show as they happen at the default level.
  const logging = clientLogger(values, env, stderr);
  const apiVersion = (values['api-version'] as string | undefined) ?? config.connection.api_version;
  const describeCache = new MemoryDescribeCache();
  const governor = { runShare: config.budget.run_share, orgCeiling: config.budget.org_ceiling, onCeiling: config.budget.on_ceiling };
  const fieldFilters = Object.fromEntries(Object.entries(config.objects).map(([k, v]) => [k, v.fields]));
  // Preflight, before the store exists: one login (a bad secret is one error, not one per object), then the
  // objects and field filters against the org.
  let auth: SalesforceClient['auth'] | undefined;
  {
    const client = clientFor(credentials, env, { proxy: config.connection.proxy, apiVersion, fetch: io.fetch, describeCache });
    auth = client.auth;
    await checkLogin(client, io.signal);
    const objects = await resolveObjects(client, config, io.signal);
    if (values.cdc) {
      // Change events carry only the record's own fields: settings they cannot honour are refused up front.
      for (const object of objects) {
        const settings = Object.entries(config.objects).find(([name]) => name.toLowerCase() === object.toLowerCase())?.[1];
        const why = settings && cdcRefusal(settings);
        if (why) throw new UsageError(`--cdc: objects.${object}: ${why.replace('mode: cdc', 'following change events')}`);
      }
    }
    const named = config.syncCustomObjects && config.customObjects !== '*' ? [...config.standardObjects, ...config.customObjects] : config.standardObjects;
    await preflightSync(client, { objects, named, fieldFilters }, io.signal);
    following &&= Boolean(values.cdc) || objects.some((o) => cdcNamed.includes(o.toLowerCase()));
    if (following) await preflightTopics(client, transport!, values.cdc ? objects : objects.filter((o) => cdcNamed.includes(o.toLowerCase())));
  }
  const continuous = !values.once && config.continuous && !following;
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(130);
    stderr.write('\nsfbridge sync: stopping after the current batch (Ctrl-C again to quit now)\n');
    controller.abort();
  };
  if (!io.signal) process.on('SIGINT', onSigint);
  io.signal?.addEventListener('abort', () => controller.abort(), { once: true });
  const signal = controller.signal;

  // A SQLite file's folder is created now, after the preflight passed (a refused run leaves nothing behind).
  if (config.store.startsWith('sqlite:') && config.store !== 'sqlite::memory:') await mkdir(dirname(resolve(config.store.slice('sqlite:'.length))), { recursive: true });
  const store = await openStore(config.store, { deleteMode: config.deleteMode });
  const events = new SyncEvents();
  const progress = createProgress(stderr);
  let detachLog: (() => void) | undefined;
  if (!progress.enabled) {
    detachLog = logSyncEvents(events, pino({ base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, stderr));
  } else {
    const tasks = new Map<string, ProgressTask>();
    events.on('object:started', (e) => tasks.set(e.object, progress.task(`${e.object} (${e.mode})`, e.total)));
    events.on('object:batch', (e) => tasks.get(e.object)?.update(e.read));
    events.on('object:finished', (e) => tasks.get(e.object)?.finish(e.status === 'ok' ? `${fmt(e.written)} written, ${fmt(e.deleted)} deleted` : e.status));
    events.on('budget:paused', (e) => stderr.write(`API budget: paused at ${e.numbers.used}/${e.numbers.max} (ceiling ${e.numbers.ceiling}); waiting for the rolling window\n`));
    events.on('budget:refused', (e) => stderr.write(`API budget: ${e.message}\n`));
    events.on('warning', (e) => stderr.write(`warning: ${e.message}\n`));
    events.on('sink:paused', (e) => stderr.write(`${e.pipeline}: ${e.sink} unavailable (${e.reason}); ${e.pending} messages wait, retrying in ${(e.retryInMs / 1000).toFixed(1)} s\n`));
    events.on('sink:resumed', (e) => stderr.write(`${e.pipeline}: ${e.sink} back after ${(e.pausedMs / 1000).toFixed(1)} s\n`));
  }

  let exit = 0;
  let recordedNext = false;
  let docs: Awaited<ReturnType<typeof loadDocuments>> | undefined;
  try {
    for (let cycle = 0; ; cycle++) {
      // A client per cycle: each run gets its own API budget (the governor's run share), while the session
      // and describe cache carry over.
      const client = clientFor(credentials, env, { ...logging, proxy: config.connection.proxy, authenticator: auth, apiVersion, fetch: io.fetch, describeCache, governor });
      auth = client.auth;
      if (config.documents.enabled && !docs) docs = await loadDocuments(client, config.documents, store);
      let run: RunSummary;
      try {
        const objects = await resolveObjects(client, config, signal);
        run = await runSync({
          client, store, objects, events, signal,
          objectSettings: config.objects,
          lagMs: config.lagMs, bulkThreshold: config.bulkThreshold, formulaRefreshMs: config.formulaRefreshMs,
          reconcileMs: config.reconcileMs, schemaRefreshMs: config.schemaRefreshMs,
          documents: docs?.builder, documentSinks: docs?.sinks,
          force: { reconcile: Boolean(values.reconcile) && cycle === 0 },
          storeLabel: redactStore(config.store),
        });
      } catch (err) {
        if (signal.aborted) {
          exit = 130;
          break;
        }
        throw err;
      }
      progress.close();
      const next = continuous && !signal.aborted ? new Date(Date.now() + config.intervalMs) : undefined;
      if (json) writeJson(stdout, 'sync', runJson(run, next ? { nextCycle: next.toISOString() } : {}));
      else stdout.write(cycle > 0 && quiet(run) ? `run ${run.runId ?? '-'} ${run.status}: no changes (${plural(run.apiCalls, 'API call')})\n` : formatSummary(run, { colour: useColour(stdout, env) }));
      exit = run.status === 'succeeded' ? 0 : run.status === 'aborted' ? 130 : 1;
      if (following && exit === 0) {
        const all = await resolveObjects(client, config, signal);
        const cdcObjects = values.cdc ? all : all.filter((o) => cdcNamed.includes(o.toLowerCase()));
        exit = await follow({
          client, store, transport: transport!, signal, stderr,
          // A writable object that follows its change events still runs a cycle every interval: the cycle
          // is what sends the application's changes to Salesforce.
          cdcObjects, pollObjects: all.filter((o) => !cdcObjects.includes(o) || isWritable(config.objects, o)),
          intervalMs: config.intervalMs, safetyNetMs: config.cdcSafetyNetMs, documents: config.documents.enabled,
          cycle: async (objects, kind) => {
            const cycleClient = clientFor(credentials, env, { ...logging, proxy: config.connection.proxy, authenticator: auth, apiVersion, fetch: io.fetch, describeCache, governor });
            const caught = await runSync({
              client: cycleClient, store, objects, events, signal, objectSettings: config.objects,
              lagMs: config.lagMs, bulkThreshold: config.bulkThreshold, formulaRefreshMs: config.formulaRefreshMs,
              reconcileMs: config.reconcileMs, schemaRefreshMs: config.schemaRefreshMs,
              documents: docs?.builder, documentSinks: docs?.sinks, storeLabel: redactStore(config.store),
            });
            // Each is a run of its own (recorded in the store's runs), reported with why it ran.
            const why = { poll: 'poll', 'safety-net': 'safety-net pass', overflow: 'catch-up after an event overflow', 'replay-expired': 'catch-up after a replay id past retention' }[kind];
            if (json) writeJson(stdout, 'sync', runJson(caught, { cycle: kind }));
            else if (quiet(caught)) stdout.write(`${why} run ${caught.runId ?? '-'} ${caught.status}: no changes (${plural(caught.apiCalls, 'API call')})\n`);
            else stdout.write(`${why} of ${objects.join(', ')}:\n${formatSummary(caught, { colour: useColour(stdout, env) })}`);
            return caught;
          },
        });
        break;
      }
      if (!next) break;
      await writeNextCycle(store, next);
      recordedNext = true;
      (json ? stderr : stdout).write(`next cycle at ${next.toTimeString().slice(0, 8)}\n`);
      try {
        await sleep(config.intervalMs, undefined, { signal });
      } catch {
        break;
      }
    }
  } finally {
    process.off('SIGINT', onSigint);
    detachLog?.();
    progress.close();
    await docs?.close();
    if (recordedNext) await writeNextCycle(store, null).catch(() => undefined);
    await store.close();
  }
  return exit;
}

/**
 * Before anything is written: every object that is to follow its change events has a change event topic
 * the user may subscribe to (Change Data Capture selected for it in Setup), and the Pub/Sub API answers.
 */
async function preflightTopics(client: SalesforceClient, transport: Awaited<ReturnType<typeof pubsubTransport>>, objects: readonly string[]): Promise<void> {
  if (!objects.length) return;
  const { PubSubClient, PubSubError, PUBSUB_ERROR_CODES } = await import('../client/pubsub/client.ts');
  const { changeTopic } = await import('../engine/sync/cdc.ts');
  const pubsub = new PubSubClient({ auth: client.auth, ...transport });
  const missing: string[] = [];
  try {
    for (const object of objects) {
      try {
        const topic = await pubsub.topic(changeTopic(object));
        if (!topic.canSubscribe) missing.push(object);
      } catch (err) {
        if (err instanceof PubSubError && err.code === PUBSUB_ERROR_CODES.topic) missing.push(object);
        else if (err instanceof PubSubError && err.grpcCode === 14) throw new CliError('PUBSUB_UNAVAILABLE', `the Pub/Sub API at ${transport.endpoint} is unreachable (${err.message})`, { fix: 'check --pubsub-endpoint (HOST:PORT) and --pubsub-plaintext for a plaintext server', exitCode: EXIT.connection, cause: err });
        else throw err;
      }
    }
  } finally {
    pubsub.close();
  }
  if (missing.length) {
    throw new CliError('CDC_NOT_ENABLED', `no change events to follow for ${missing.join(', ')}: Change Data Capture is not on for ${missing.length > 1 ? 'them' : 'it'} (no ${missing.map(changeTopic).join(', ')} topic)`, {
      fix: `select ${missing.join(', ')} in Setup → Change Data Capture, or poll ${missing.length > 1 ? 'them' : 'it'}: mode: poll in the config, or leave ${missing.length > 1 ? 'them' : 'it'} out of --objects with --cdc`,
      exitCode: EXIT.usage,
    });
  }
}

/**
 * Following (`--cdc`, `mode: cdc`): the CDC objects follow their change events into the mirror, the others
 * are polled every interval, and a safety-net pass re-reads the CDC objects by the cursor now and then, until
 * the signal aborts (exit 0) or the stream fails in a way resubscribing cannot fix (exit 1).
 */
async function follow(o: {
  client: SalesforceClient; store: Store; transport: Awaited<ReturnType<typeof pubsubTransport>>; signal: AbortSignal; stderr: Writable;
  cdcObjects: readonly string[]; pollObjects: readonly string[]; intervalMs: number; safetyNetMs: number; documents: boolean;
  cycle: (objects: readonly string[], kind: FollowCycleKind) => Promise<RunSummary>;
}): Promise<number> {
  const { PubSubClient } = await import('../client/pubsub/client.ts');
  const { followSync } = await import('../engine/sync/follow.ts');
  const { stderr, signal } = o;
  const pubsub = new PubSubClient({ auth: o.client.auth, ...o.transport });
  const secs = (ms: number) => (ms % 3_600_000 === 0 ? `${ms / 3_600_000} h` : ms % 60_000 === 0 ? `${ms / 60_000} min` : `${ms / 1000} s`);
  if (o.cdcObjects.length) stderr.write(`following change events of ${o.cdcObjects.join(', ')} (${o.transport.endpoint}), with a safety-net pass every ${secs(o.safetyNetMs)}; Ctrl-C stops\n`);
  if (o.pollObjects.length) stderr.write(`polling ${o.pollObjects.join(', ')} every ${secs(o.intervalMs)}\n`);
  // Documents need related records (owner names, …) that change events do not carry.
  if (o.documents && o.cdcObjects.length) stderr.write(`warning: search documents of ${o.cdcObjects.join(', ')} are rebuilt by the safety-net pass (every ${secs(o.safetyNetMs)}), not as each change event arrives\n`);
  try {
    await followSync({
      client: o.client, pubsub, store: o.store, signal,
      cdcObjects: o.cdcObjects, pollObjects: o.pollObjects, intervalMs: o.intervalMs, safetyNetMs: o.safetyNetMs,
      cycle: o.cycle,
      onCatchUp: (object, reason) => stderr.write(`${object}: ${reason === 'overflow' ? 'event overflow' : 'replay id past retention; following from the tip'}; re-reading by the cursor\n`),
      onApplied: (object, evs, rows) => {
        // sfbridge's own writes (Sforce-Call-Options client=sfbridge, the event's changeOrigin) come back too.
        for (const ev of evs) stderr.write(`${object} ${ev.header?.changeType ?? 'event'} ${ev.header?.recordIds.join(',') ?? ''}${/(^|[;,])client=sfbridge\b/.test(ev.header?.changeOrigin ?? '') ? ' (written by sfbridge)' : ''}\n`);
        if (evs.length) stderr.write(`${object}: ${plural(evs.length, 'change event')} applied (${plural(rows, 'row')})\n`);
      },
    });
    return 0;
  } catch (err) {
    if (signal.aborted) return 0;
    stderr.write(`sfbridge sync: following change events failed: ${(err as Error).message}\n`);
    return 1;
  } finally {
    pubsub.close();
  }
}

/**
 * The running service behind `sfbridge serve`: connections, pipelines, the schedule, the job queue and its
 * workers, run history and API usage, over one store. The HTTP server (src/server) is a view on this; the
 * service runs the same without it.
 *
 * Life cycle: {@link Service.start} marks runs left `running` by a killed process `interrupted` and puts
 * their jobs back in the queue (they resume from their checkpoints), then schedules every pipeline.
 * {@link Service.stop} (SIGTERM/SIGINT) stops scheduling, lets each running job commit its current batch,
 * records those runs as `interrupted` with their jobs queued, and closes the stores: the next start
 * continues them.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { FetchLike } from '../client/index.ts';
import { AuthError, isTransientAuthFailure, SalesforceError } from '../client/errors.ts';
import { proxyFetch } from '../client/proxy.ts';
import { newPlaceholderId, openStore, type CaptureState, type CapturedChange, type ConflictRecord, type DeadLetter, type DeadLetterStatus, type InboxRow, type JsonObject, type QueryValue, type PipelineRunRow, type ScheduleRow, type ServiceState, type Store, type UsageRow } from '../store/index.ts';
import { Connections, SecretBox } from './connections/registry.ts';
import type { ConnectionSpec } from './connections/schema.ts';
import { forwardSyncEvents, ServiceEvents, sinkPausedMessage, SyncEvents, type RunContext, type RunObjectCounts, type RunTrigger } from './events.ts';
import { EmbeddedJobQueue } from './jobs/embedded.ts';
import { PostgresBudgets } from './jobs/budget.ts';
import { LocalLongRequests, PostgresLongRequests } from './jobs/long-requests.ts';
import { PostgresJobQueue } from './jobs/postgres.ts';
import type { Job, JobContext, JobOutcome, JobQueue } from './jobs/queue.ts';
import { nextRunAt, pipelineKind, PipelineError, Pipelines, resolveStoreUrl, type PipelineEntry, type PipelineRunResult } from './pipelines/index.ts';
import type { PipelineRunContext } from './pipelines/kinds.ts';
import type { SyncPipelineSpec } from './pipelines/sync.ts';
import { cdcJobKey, followedObjects, followSyncObject, leftToLeader } from './pipelines/sync-cdc.ts';
import { replayDeadLetters, type ReplayOutcome } from './publish/dlq.ts';
import { CallInError, callInHash, callInInbox, callInRecords, executeCallIn, type CallInBody, type StoredCallIn } from './patterns/call-in.ts';

/** Job kinds the service runs. */
/** Job kinds; `stream` is the run of a long-lived pipeline (an event subscription), outside the worker slots. */
export const JOB_KINDS = { run: 'pipeline.run', stream: 'pipeline.stream', replay: 'deadletter.replay', object: 'sync.object', cdc: 'sync.cdc', callIn: 'call-in' } as const;
/** How often a CDC leader looks whether its pipeline was paused, changed or removed (it ends then). */
export const LEADER_CHECK_MS = 5_000;
/** Connections per store handle on the fleet (the server's max_connections is shared by every worker). */
export const FLEET_STORE_CONNECTIONS = 2;
/** With the fleet's job engine the scheduler looks at the schedules at least this often (workers elsewhere move them). */
export const FLEET_SCHEDULE_POLL_MS = 5_000;
/** A connection held because its org's API budget is spent is tried again after this long (the 24 h window rolls). */
export const BUDGET_HOLD_MS = 10 * 60_000;

/**
 * A connection whose runs are held after an org-level refusal: its pipelines are not queued until what ends
 * the hold happens (the connection is fixed, or, for a spent budget, `until` passes); other connections go on.
 */
export interface ConnectionHold {
  connection: string;
  /** auth: the login or token refresh was refused; budget: the org's API ceiling or limit; pubsub: the Pub/Sub API refused the session. */
  reason: 'auth' | 'budget' | 'pubsub';
  code: string;
  message: string;
  since: string;
  /** When runs try again by themselves (budget holds); null: only a fix of the connection ends it. */
  until: string | null;
  /** What ends the hold, in words. */
  ends: string;
  pipeline: string;
  runId: number | null;
  /** The connection's revision when held: a changed connection (API, Grant access, config file) ends it. */
  revision: string | null;
}

/** Error codes of refusals that concern the whole org (every pipeline of the connection would meet them). */
const HOLD_CODES: Record<string, ConnectionHold['reason']> = { AUTH_FAILED: 'auth', SESSION_EXPIRED: 'auth', ORG_CEILING_REACHED: 'budget', ORG_LIMIT_EXCEEDED: 'budget', PUBSUB_AUTH: 'pubsub' };

const holdKey = (connection: string) => `hold:${connection}`;

/** Arrivals on inbound routes within this window are delivered by one run. */
export const INBOUND_BATCH_WINDOW_MS = 200;
/** Readings of one org are stored at most this often (the newest is always kept in memory). */
export const USAGE_SAMPLE_MS = 60_000;
/** Readings older than this are pruned. */
export const USAGE_RETENTION_MS = 30 * 86_400_000;
/** Events kept per run in its event log (a long run's batches are summarised by its counts). */
export const RUN_EVENTS_MAX = 500;

export interface ServiceOptions {
  /** The service's store (`sqlite:…`, `postgres://…`). */
  storeUrl: string;
  connections?: Record<string, ConnectionSpec>;
  pipelines?: PipelineEntry[];
  /** Relative paths in the config resolve against this directory (the config file's). */
  baseDir?: string;
  /** Jobs run at once in this process (0 with the fleet's job engine: schedule only, workers elsewhere run them). */
  concurrency?: number;
  /**
   * `embedded` (default): jobs in the store, run in this process. `postgres`: the fleet's job engine
   * (pg-boss) on the Postgres store, for any number of worker processes; sync pipelines run as one job per
   * (connection, object).
   */
  jobs?: 'embedded' | 'postgres';
  /** False for a worker process: it runs jobs and never schedules (default true). */
  schedule?: boolean;
  /** Fleet scheduler: the longest wait between two looks at the schedules (default {@link FLEET_SCHEDULE_POLL_MS}). */
  schedulePollMs?: number;
  /** Secret sealing key; default from SFBRIDGE_SECRET_KEY or the key file. */
  box?: SecretBox;
  env?: NodeJS.ProcessEnv;
  /** Requests to Salesforce (tests: an in-process emulator). */
  fetch?: FetchLike;
  events?: ServiceEvents;
  /** The service's public base URL (callback URLs), once known. */
  publicUrl?: () => string | undefined;
  now?: () => number;
}

export class Service {
  readonly events: ServiceEvents;
  readonly storeUrl: string;
  readonly baseDir: string;
  readonly connections: Connections;
  readonly pipelines: Pipelines;
  readonly queue: JobQueue;
  readonly state: ServiceState;
  /** Seals secrets and derives signing keys (OAuth state). */
  readonly box: SecretBox;
  /** How the service reaches Salesforce (OAuth code exchange and revocation use it too). */
  readonly fetch: FetchLike;
  readonly #store: Store;
  readonly #stores = new Map<string, Promise<Store>>();
  readonly #now: () => number;
  readonly #concurrency: number;
  /** Each org's long-running request slots: in this process (embedded) or through Postgres (fleet). */
  readonly longRequests: LocalLongRequests | PostgresLongRequests;
  /** The fleet's API budget per org, shared through Postgres (fleet only). */
  readonly budgets: PostgresBudgets | undefined;
  /** True with the fleet's job engine. */
  readonly fleet: boolean;
  readonly #schedules: boolean;
  readonly #schedulePollMs: number;
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;
  #retick = false;
  #started = false;
  #stopping = false;
  /** Live per-object counts of running runs (the dashboard reads them before the run row is updated). */
  readonly live = new Map<number, { pipeline: string; objects: Record<string, RunObjectCounts>; startedAt: string }>();
  readonly #usage = new Map<string, UsageRow>();
  readonly #usageSavedAt = new Map<string, number>();
  readonly #replayResults = new Map<number, ReplayOutcome[]>();
  readonly #detach: Array<() => void> = [];
  readonly #soon = new Set<string>();
  #soonTimer: NodeJS.Immediate | undefined;

  readonly #injectedFetch: boolean;

  /** The fetch for calls made for a connection that names `proxy` (an injected fetch is used as it is). */
  fetchFor(proxy: string | undefined): FetchLike {
    if (!proxy || this.#injectedFetch) return this.fetch;
    return proxyFetch(proxy) ?? this.fetch;
  }

  private constructor(opts: ServiceOptions, store: Store, state: ServiceState, box: SecretBox) {
    this.events = opts.events ?? new ServiceEvents();
    this.storeUrl = opts.storeUrl;
    this.baseDir = opts.baseDir ?? process.cwd();
    this.#store = store;
    this.state = state;
    this.box = box;
    // The service's own calls (Grant access code exchange, identity, revoke) honour HTTPS_PROXY/NO_PROXY
    // like the client does; a connection's own proxy is applied by fetchFor.
    this.fetch = opts.fetch ?? proxyFetch() ?? ((input, init) => fetch(input, init));
    this.#injectedFetch = opts.fetch !== undefined;
    this.#now = opts.now ?? Date.now;
    this.#concurrency = opts.concurrency ?? 2;
    this.fleet = opts.jobs === 'postgres';
    this.#schedules = opts.schedule !== false;
    this.#schedulePollMs = opts.schedulePollMs ?? FLEET_SCHEDULE_POLL_MS;
    this.#stores.set(opts.storeUrl, Promise.resolve(store));
    this.budgets = this.fleet ? new PostgresBudgets(opts.storeUrl) : undefined;
    const budgets = this.budgets;
    const longRequests = (this.longRequests = this.fleet ? new PostgresLongRequests(opts.storeUrl) : new LocalLongRequests());
    this.connections = new Connections({ state, box, fromConfig: opts.connections, events: this.events, fetch: opts.fetch, publicUrl: opts.publicUrl, sharedBudget: budgets && ((org) => budgets.forOrg(org)), longRequests: (org, cap) => longRequests.forOrg(org, cap), onChanged: (name) => void this.releaseHold(name, 'the connection was changed').catch(() => undefined) });
    this.pipelines = new Pipelines({ state, fromConfig: opts.pipelines, serviceStoreUrl: opts.storeUrl });
    this.queue = this.fleet ? new PostgresJobQueue({ storeUrl: opts.storeUrl, state, now: this.#now, longLived: [JOB_KINDS.stream, JOB_KINDS.cdc] }) : new EmbeddedJobQueue({ state, now: this.#now });
    this.#recordUsage();
    this.#recordRunEvents();
  }

  /** Opens the store and builds the service (nothing runs until {@link start}). */
  static async open(opts: ServiceOptions): Promise<Service> {
    const storeUrl = resolveStoreUrl(opts.storeUrl, opts.baseDir ?? process.cwd());
    if (opts.jobs === 'postgres' && !/^postgres(ql)?:\/\//.test(storeUrl)) throw new PipelineError('FLEET_NEEDS_POSTGRES', 400, 'workers share jobs through Postgres: give a postgres://… store (--store postgres://user@host/db?schema=sfbridge)');
    if (storeUrl.startsWith('sqlite:') && storeUrl !== 'sqlite::memory:') await mkdir(dirname(storeUrl.slice('sqlite:'.length)), { recursive: true });
    const store = await openStore(storeUrl, opts.jobs === 'postgres' ? { maxConnections: FLEET_STORE_CONNECTIONS } : {});
    try {
      const state = await store.serviceState();
      const box = opts.box ?? (await SecretBox.load({ env: opts.env }));
      return new Service({ ...opts, storeUrl }, store, state, box);
    } catch (err) {
      await store.close();
      throw err;
    }
  }

  /** A shared store handle for a URL (the service's own for its URL). */
  store(url: string): Promise<Store> {
    const resolved = resolveStoreUrl(url, this.baseDir);
    let s = this.#stores.get(resolved);
    if (!s) {
      s = (async () => {
        if (resolved.startsWith('sqlite:') && resolved !== 'sqlite::memory:') await mkdir(dirname(resolved.slice('sqlite:'.length)), { recursive: true });
        // A fleet is many processes times every store they touch: keep each handle's pool small.
        return openStore(resolved, this.fleet ? { maxConnections: FLEET_STORE_CONNECTIONS } : {});
      })();
      s.catch(() => this.#stores.delete(resolved));
      this.#stores.set(resolved, s);
    }
    return s;
  }

  get started(): boolean {
    return this.#started && !this.#stopping;
  }

  /** Recovers interrupted work, starts the workers and the schedule. */
  async start(): Promise<{ recovered: number }> {
    // With the fleet's engine other processes' runs are live; a run is marked interrupted by the job that resumes it.
    const stale = this.fleet ? [] : await this.state.listRuns({ status: 'running', limit: 1000 });
    for (const r of stale) {
      await this.state.updateRun(r.id, { status: 'interrupted', finishedAt: new Date(this.#now()).toISOString(), error: 'the service stopped during this run (killed or crashed); it continues from its checkpoint as a new run' });
      await this.state.addRunEvents(r.id, [{ at: new Date(this.#now()).toISOString(), level: 'warn', type: 'run:interrupted', message: 'the service stopped during this run; resumed from its checkpoint', data: null }]);
    }
    const recovered = await this.queue.recover();
    this.queue.start({
      concurrency: this.#concurrency,
      unbounded: [JOB_KINDS.stream, JOB_KINDS.cdc],
      handlers: { [JOB_KINDS.run]: (job, ctx) => this.#runJob(job, ctx), [JOB_KINDS.stream]: (job, ctx) => this.#runJob(job, ctx), [JOB_KINDS.cdc]: (job, ctx) => this.#runJob(job, ctx), [JOB_KINDS.object]: (job, ctx) => this.#runJob(job, ctx), [JOB_KINDS.replay]: (job, ctx) => this.#replayJob(job, ctx), [JOB_KINDS.callIn]: (job, ctx) => this.#callInJob(job, ctx) },
      onSettled: (job, outcome, error) => {
        if (outcome === 'failed' && job.id) this.events.emit('warning', { pipeline: String(job.payload?.pipeline ?? ''), code: 'JOB_FAILED', message: `job ${job.id} (${job.kind}) failed: ${(error as Error)?.message ?? String(error)}` });
      },
    });
    this.#started = true;
    await this.state.pruneUsage(new Date(this.#now() - USAGE_RETENTION_MS).toISOString());
    const pipelines = await this.pipelines.list();
    this.events.emit('service:started', { pipelines: pipelines.length, connections: (await this.connections.list()).length, recovered: recovered.length });
    await this.tick();
    return { recovered: recovered.length };
  }

  /** Stops scheduling, lets running jobs commit their batch (they stay queued as interrupted), closes stores. */
  async stop(reason = 'stop'): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.events.emit('service:stopping', { reason });
    clearTimeout(this.#timer);
    await this.#ticking?.catch(() => undefined);
    await this.queue.stop();
    await this.budgets?.close();
    await this.longRequests.close();
    await this.#flushUsage();
    for (const off of this.#detach) off();
    for (const s of this.#stores.values()) await (await s.catch(() => undefined))?.close();
  }

  // Schedule ------------------------------------------------------------------------------------------

  /** Queues every due pipeline and arms the timer for the next one. */
  tick(): Promise<void> {
    if (this.#ticking) {
      this.#retick = true;
      return this.#ticking;
    }
    this.#ticking = this.#tick().finally(() => {
      this.#ticking = undefined;
      if (this.#retick && !this.#stopping) {
        this.#retick = false;
        void this.tick();
      }
    });
    return this.#ticking;
  }

  async #tick(): Promise<void> {
    if (!this.#started || this.#stopping || !this.#schedules) return;
    clearTimeout(this.#timer);
    const now = this.#now();
    const pipelines = await this.pipelines.list();
    const schedules = new Map((await this.state.listSchedules()).map((s) => [s.pipeline, s]));
    const active = new Set((await this.queue.list({ states: ['queued', 'running'] })).map((j) => j.key));
    let soonest = Infinity;
    const held = new Map<string, ConnectionHold | undefined>();
    for (const { spec } of pipelines) {
      const kind = pipelineKind(spec.kind);
      if (!kind) continue;
      if (!held.has(spec.connection)) held.set(spec.connection, await this.hold(spec.connection));
      const hold = held.get(spec.connection);
      // A held connection's pipelines wait (not queued again every schedule); a budget hold ends by itself.
      if (hold) {
        if (hold.until) soonest = Math.min(soonest, Date.parse(hold.until));
        continue;
      }
      let sched = schedules.get(spec.name);
      const objects = this.#fanOut(spec);
      const keys = objects ? objects.map((o) => objectJobKey(spec.connection, o)) : [jobKey(spec.name)];
      const key = keys[0];
      if (!sched || (sched.nextRunAt === null && !keys.some((k) => active.has(k)))) {
        // First sight of a pipeline (or one whose queued run was lost): due now.
        sched = await this.state.updateSchedule(spec.name, { nextRunAt: new Date(now).toISOString() });
      }
      if (sched.paused || spec.paused) continue;
      if (spec.kind === 'sync') await this.#startLeaders(spec as SyncPipelineSpec, active);
      if (sched.nextRunAt === null) continue;
      const due = Date.parse(sched.nextRunAt);
      if (due <= now) {
        const queued = objects ? (await this.#enqueueObjects(spec as SyncPipelineSpec, objects, 'schedule', active)).length : 1;
        if (!objects && !active.has(key)) await this.#enqueue(spec.name, 'schedule', kind.priority(spec as never, sched.state));
        if (objects && !queued && !keys.some((k) => active.has(k))) {
          // Every object follows its change events (or runs already): nothing to do until the next time.
          const next = nextRunAt(spec.schedule ?? `${kind.defaultEveryMs / 1000}s`, new Date(now), kind.defaultEveryMs);
          await this.state.updateSchedule(spec.name, { nextRunAt: next.toISOString() });
          soonest = Math.min(soonest, next.getTime());
        } else {
          await this.state.updateSchedule(spec.name, { nextRunAt: null });
        }
      } else {
        soonest = Math.min(soonest, due);
      }
    }
    // Workers in other processes finish runs and move schedules: look again soon even when nothing is due.
    if (this.fleet) soonest = Math.min(soonest, now + this.#schedulePollMs);
    if (Number.isFinite(soonest)) {
      this.#timer = setTimeout(() => void this.tick(), Math.min(Math.max(10, soonest - this.#now()), 86_400_000));
      this.#timer.unref();
    }
  }

  async #enqueue(pipeline: string, trigger: RunTrigger, priority: 'interactive' | 'cdc' | 'incremental' | 'initial', runAt?: Date): Promise<Job> {
    const spec = (await this.pipelines.get(pipeline))?.spec;
    const kind = spec && pipelineKind(spec.kind)?.longLived ? JOB_KINDS.stream : JOB_KINDS.run;
    const { job } = await this.queue.add({ key: jobKey(pipeline), kind, payload: { pipeline, trigger }, priority, ...(runAt ? { runAt } : {}) });
    this.events.emit('pipeline:queued', { pipeline, jobId: job.id, trigger, priority, runAt: job.runAt });
    return job;
  }

  /**
   * Sync pipelines on the fleet's engine: one job per object (exclusive per connection and object), when
   * the objects are listed by name; undefined means one job for the whole pipeline.
   */
  #fanOut(spec: { kind: string; name: string }): string[] | undefined {
    if (!this.fleet || spec.kind !== 'sync') return undefined;
    const s = spec as SyncPipelineSpec;
    if (Array.isArray(s.custom_objects_to_sync) ? s.custom_objects_to_sync.includes('*') : s.custom_objects_to_sync !== undefined) return undefined;
    return [...s.standard_objects_to_sync, ...((s.custom_objects_to_sync as string[] | undefined) ?? [])];
  }

  /** Queues one job per object; each gets `initial` until its mirror is loaded, then `incremental`. */
  async #enqueueObjects(spec: SyncPipelineSpec, objects: string[], trigger: RunTrigger, active: Set<string>, priority?: 'interactive'): Promise<Job[]> {
    const store = await this.store(resolveStoreUrl(spec.store ?? this.storeUrl, this.baseDir));
    const out: Job[] = [];
    for (const object of objects) {
      const key = objectJobKey(spec.connection, object);
      if (active.has(key) && !priority) continue;
      const cp = await store.getCheckpoint(object);
      // A loaded object that follows its change events is its leader's alone (its key is the leader's).
      if (leftToLeader(spec, object, cp ?? undefined)) continue;
      const p = priority ?? (cp?.extra?.loaded ? 'incremental' : 'initial');
      const { job } = await this.queue.add({ key, kind: JOB_KINDS.object, payload: { pipeline: spec.name, object, trigger }, priority: p });
      this.events.emit('pipeline:queued', { pipeline: spec.name, jobId: job.id, trigger, priority: p, runAt: job.runAt });
      out.push(job);
    }
    return out;
  }

  /**
   * Queues the change-event leader of each loaded `mode: cdc` object of a sync pipeline that has none (one
   * long-lived job per (connection, object): the job engine makes it the only one, fleet-wide). A leader
   * that failed is retried by the queue with backoff.
   */
  async #startLeaders(spec: SyncPipelineSpec, active: Set<string>): Promise<void> {
    const followed = followedObjects(spec);
    if (!followed.length) return;
    const store = await this.store(resolveStoreUrl(spec.store ?? this.storeUrl, this.baseDir));
    for (const object of followed) {
      const key = cdcJobKey(spec.connection, object);
      if (active.has(key) || !(await store.getCheckpoint(object))?.extra?.loaded) continue;
      const { job } = await this.queue.add({ key, kind: JOB_KINDS.cdc, payload: { pipeline: spec.name, object, trigger: 'schedule' }, priority: 'cdc', maxAttempts: 1_000_000 });
      active.add(key);
      this.events.emit('pipeline:queued', { pipeline: spec.name, jobId: job.id, trigger: 'schedule', priority: 'cdc', runAt: job.runAt });
    }
  }

  /** Leaders running in this process: each looks again at once whether its pipeline still wants it. */
  readonly #leaders = new Map<string, () => void>();

  /** Starts a run now (interactive priority, ahead of scheduled work); on the fleet a sync's first object job. */
  async runNow(pipeline: string): Promise<Job> {
    const entry = await this.pipelines.get(pipeline);
    if (!entry) throw new PipelineError('PIPELINE_NOT_FOUND', 404, `pipeline "${pipeline}" does not exist`);
    const objects = this.#fanOut(entry.spec);
    // Every object following its change events: a run of the pipeline itself, which leaves them to their leaders.
    if (objects?.length) return (await this.#enqueueObjects(entry.spec as SyncPipelineSpec, objects, 'manual', new Set(), 'interactive'))[0] ?? this.#enqueue(pipeline, 'manual', 'interactive');
    return this.#enqueue(pipeline, 'manual', 'interactive');
  }

  /**
   * Runs a pipeline soon because work arrived for it (an inbound route wrote to its inbox). Calls within one
   * turn of the event loop coalesce, and a queued run absorbs further calls, so a burst of requests costs
   * one queue write, not one per request.
   */
  deliverSoon(pipeline: string): void {
    this.#soon.add(pipeline);
    if (this.#soonTimer) return;
    this.#soonTimer = setImmediate(() => {
      this.#soonTimer = undefined;
      const names = [...this.#soon];
      this.#soon.clear();
      if (!this.started) return;
      void (async () => {
        const queued = new Set((await this.queue.list({ states: ['queued'] })).map((j) => j.key));
        // A short window gathers a burst of arrivals into one delivery run (one publisher call, one run row).
        for (const name of names) if (!queued.has(jobKey(name))) await this.#enqueue(name, 'inbound', 'cdc', new Date(this.#now() + INBOUND_BATCH_WINDOW_MS));
      })().catch((err: unknown) => this.events.emit('warning', { pipeline: names.join(', '), code: 'ENQUEUE_FAILED', message: `could not queue delivery: ${(err as Error).message}` }));
    });
  }

  /** Pauses or resumes a pipeline's schedule (a paused pipeline still runs when started by hand). */
  async setPaused(pipeline: string, paused: boolean): Promise<ScheduleRow> {
    const entry = await this.pipelines.get(pipeline);
    if (!entry) throw new PipelineError('PIPELINE_NOT_FOUND', 404, `pipeline "${pipeline}" does not exist`);
    const row = await this.state.updateSchedule(pipeline, { paused });
    // A long-lived run never reaches its next schedule: pausing ends it (its checkpoint is kept).
    if (paused && pipelineKind(entry.spec.kind)?.longLived) await this.#endRun(pipeline);
    for (const check of this.#leaders.values()) check();
    void this.tick();
    return (await this.state.getSchedule(pipeline)) ?? row;
  }

  /** Pipelines whose long-lived run is being ended (paused, changed or removed) rather than resumed. */
  readonly #ending = new Set<string>();

  /** Ends the long-lived run of a pipeline in this process, waiting for it to commit its batch. */
  async #endRun(pipeline: string): Promise<void> {
    if (!this.queue.interrupt) return;
    this.#ending.add(pipeline);
    if (!(await this.queue.interrupt(jobKey(pipeline)))) this.#ending.delete(pipeline);
  }

  /** After a pipeline was created or changed: its next run follows the new schedule. */
  async pipelineChanged(pipeline: string): Promise<void> {
    const entry = await this.pipelines.get(pipeline);
    // A long-lived run keeps the spec it started with: end it, so the next one follows the new spec.
    const streaming = entry ? pipelineKind(entry.spec.kind)?.longLived : (await this.queue.list({ key: jobKey(pipeline), states: ['running'] })).some((j) => j.kind === JOB_KINDS.stream);
    if (streaming) await this.#endRun(pipeline);
    for (const check of this.#leaders.values()) check();
    const sched = await this.state.getSchedule(pipeline);
    if (!entry) {
      if (sched) await this.state.deleteSchedule(pipeline);
      return;
    }
    const kind = pipelineKind(entry.spec.kind)!;
    const next = sched?.lastRunAt && entry.spec.schedule ? nextRunAt(entry.spec.schedule, new Date(sched.lastRunAt), kind.defaultEveryMs) : new Date(this.#now());
    if (!sched || sched.nextRunAt !== null) await this.state.updateSchedule(pipeline, { nextRunAt: next.toISOString() });
    void this.tick();
  }

  // Held connections ----------------------------------------------------------------------------------

  /** The hold on a connection, if any; a hold whose connection changed or whose time passed ends here. */
  async hold(connection: string): Promise<ConnectionHold | undefined> {
    const value = (await this.state.getSetting(holdKey(connection))) as unknown as ConnectionHold | null | undefined;
    if (!value) return undefined;
    if (value.until && Date.parse(value.until) <= this.#now()) {
      await this.releaseHold(connection, 'the budget hold ended');
      return undefined;
    }
    const revision = await this.connections.revision(connection);
    if (revision !== (value.revision ?? undefined)) {
      await this.releaseHold(connection, 'the connection was changed');
      return undefined;
    }
    return value;
  }

  /** Every held connection, by name. */
  async holds(): Promise<Map<string, ConnectionHold>> {
    const out = new Map<string, ConnectionHold>();
    for (const c of await this.connections.list()) {
      const h = await this.hold(c.name);
      if (h) out.set(c.name, h);
    }
    return out;
  }

  async #holdConnection(connection: string, reason: ConnectionHold['reason'], code: string, message: string, pipeline: string, runId: number): Promise<void> {
    const until = reason === 'budget' ? new Date(this.#now() + BUDGET_HOLD_MS).toISOString() : null;
    const ends = reason === 'budget'
      ? `the org's rolling 24-hour window frees calls as they age: runs try again at ${until} (or raise the connection's budget.org_ceiling)`
      : `fix the connection: PUT /api/v1/connections/${connection} with working credentials or use Grant access again (a config-file connection: correct it in the file and restart); a run started by hand tries it`;
    const hold: ConnectionHold = { connection, reason, code, message, since: new Date(this.#now()).toISOString(), until, ends, pipeline, runId, revision: (await this.connections.revision(connection)) ?? null };
    await this.state.putSetting(holdKey(connection), hold as unknown as JsonObject);
    this.events.emit('warning', { pipeline, code: 'CONNECTION_HELD', message: `connection "${connection}" is held: ${message}; its pipelines wait until ${reason === 'budget' ? until : 'the connection is fixed'} (other connections go on)` });
  }

  /** Ends a connection's hold (its pipelines are scheduled again); false when it had none. */
  async releaseHold(connection: string, why: string): Promise<boolean> {
    const value = await this.state.getSetting(holdKey(connection));
    if (!value) return false;
    await this.state.putSetting(holdKey(connection), null);
    this.events.emit('warning', { pipeline: '', code: 'CONNECTION_RESUMED', message: `connection "${connection}" is no longer held (${why}); its pipelines run again` });
    void this.tick();
    return true;
  }

  // Runs ----------------------------------------------------------------------------------------------

  async #runJob(job: Job, jctx: JobContext): Promise<JobOutcome> {
    const name = String(job.payload.pipeline);
    const entry = await this.pipelines.get(name);
    if (!entry) return 'done';
    const object = typeof job.payload.object === 'string' ? job.payload.object : undefined;
    const spec = object ? onlyObject(entry.spec as SyncPipelineSpec, object) : entry.spec;
    if (!spec) return 'done';
    const kind = pipelineKind(spec.kind)!;
    const leader = job.kind === JOB_KINDS.cdc && object ? object : undefined;
    const cp = (job.checkpoint ?? {}) as { runId?: number; kind?: JsonObject };
    const trigger: RunTrigger = job.resumed && cp.runId ? 'resume' : ((job.payload.trigger as RunTrigger) ?? 'schedule');
    // Queued before its connection was held: it waits with the rest (a run started by hand still tries).
    if (trigger !== 'manual' && (await this.hold(spec.connection))) {
      const prev = trigger === 'resume' && this.fleet ? await this.state.getRun(cp.runId!) : undefined;
      if (prev?.status === 'running') await this.state.updateRun(prev.id, { status: 'interrupted', finishedAt: new Date(this.#now()).toISOString(), error: 'its worker stopped while the connection was held; the pipeline runs again once the hold ends' });
      return 'done';
    }
    /** Why a leader ends for good (its pipeline paused, changed or removed; its object no longer `mode: cdc`). */
    const leaderGone = async (): Promise<string | undefined> => {
      const now = await this.pipelines.get(name);
      if (!now) return 'the pipeline was removed';
      if (JSON.stringify(now.spec) !== JSON.stringify(entry.spec)) return 'the pipeline was changed';
      if (now.spec.paused || (await this.state.getSchedule(name))?.paused) return 'the pipeline was paused';
      if (!followedObjects(now.spec as SyncPipelineSpec).some((o) => o.toLowerCase() === leader!.toLowerCase())) return `${leader} no longer follows its change events`;
      return undefined;
    };
    if (leader && (await leaderGone())) return 'done';
    // A leader's run ends when its pipeline no longer wants it, looked at every few seconds (the pipeline may
    // be paused on another process of the fleet) and at once when this process pauses or changes it.
    const stop = new AbortController();
    const onShutdown = () => stop.abort(jctx.signal.reason);
    jctx.signal.addEventListener('abort', onShutdown, { once: true });
    let endedBecause: string | undefined;
    let leaderTimer: NodeJS.Timeout | undefined;
    const leaderKey = leader ? cdcJobKey(spec.connection, leader) : '';
    if (leader) {
      let checking = false;
      const check = () => {
        if (checking || stop.signal.aborted) return;
        checking = true;
        void leaderGone().then((why) => {
          if (why && !stop.signal.aborted) {
            endedBecause = why;
            stop.abort(new Error(why));
          }
        }, () => undefined).finally(() => (checking = false));
      };
      this.#leaders.set(leaderKey, check);
      leaderTimer = setInterval(check, LEADER_CHECK_MS);
      leaderTimer.unref();
    }
    const signal = stop.signal;
    if (trigger === 'resume' && this.fleet) {
      // The attempt this one resumes died with its worker: its run is over.
      const prev = await this.state.getRun(cp.runId!);
      if (prev?.status === 'running') await this.state.updateRun(prev.id, { status: 'interrupted', finishedAt: new Date(this.#now()).toISOString(), error: 'the worker running it stopped (killed or crashed); another worker continues from its checkpoint as a new run' });
    }
    const startedAt = new Date(this.#now()).toISOString();
    const row = await this.state.createRun({ pipeline: name, kind: spec.kind, trigger, status: 'running', startedAt, objects: {}, jobId: job.id, resumedFrom: trigger === 'resume' ? (cp.runId ?? null) : null });
    const ctx: RunContext = { pipeline: name, kind: spec.kind, runId: row.id, connection: spec.connection };
    await jctx.checkpoint({ ...cp, runId: row.id } as JsonObject);
    const live = { pipeline: name, objects: {} as Record<string, RunObjectCounts>, startedAt };
    this.live.set(row.id, live);
    const syncEvents = new SyncEvents();
    const detach = forwardSyncEvents(syncEvents, this.events, ctx);
    let flushAt = 0;
    this.events.emit('pipeline:run:started', { ...ctx, trigger, resumedFrom: row.resumedFrom ?? undefined, objects: kind.units?.(spec as never) });
    let result: PipelineRunResult;
    const t0 = this.#now();
    try {
      const runCtx: PipelineRunContext = {
        ctx,
        client: () => this.connections.client(spec.connection, { signal }),
        store: (url) => this.store(url),
        serviceStoreUrl: this.storeUrl,
        baseDir: this.baseDir,
        events: syncEvents,
        service: this.events,
        signal,
        checkpoint: cp.kind ?? null,
        saveCheckpoint: (value) => jctx.checkpoint({ runId: row.id, kind: value } as JsonObject),
        report: (object, counts) => {
          live.objects[object] = counts;
          // The run row follows live counts at most every 2 s, so a killed run still shows what it did.
          if (this.#now() - flushAt > 2000 || counts.status !== 'running') {
            flushAt = this.#now();
            void this.state.updateRun(row.id, { objects: live.objects as unknown as JsonObject }).catch(() => undefined);
          }
        },
      };
      result = leader ? await followSyncObject(spec as SyncPipelineSpec, leader, runCtx) : await kind.run(spec as never, runCtx);
    } catch (err) {
      result = { status: signal.aborted ? 'interrupted' : 'failed', objects: live.objects, apiCalls: 0, error: (err as Error).message, errorCode: err instanceof AuthError && isTransientAuthFailure(err) ? 'AUTH_UNAVAILABLE' : errorCode(err) };
    } finally {
      detach();
      clearInterval(leaderTimer);
      if (leader) this.#leaders.delete(leaderKey);
      jctx.signal.removeEventListener('abort', onShutdown);
    }
    const finishedAt = new Date(this.#now()).toISOString();
    const seconds = (this.#now() - t0) / 1000;
    const ended = result.status === 'interrupted' && (this.#ending.has(name) || endedBecause !== undefined);
    await this.state.updateRun(row.id, { status: result.status, finishedAt, objects: result.objects as unknown as JsonObject, apiCalls: result.apiCalls, error: result.error ?? (ended ? `${endedBecause ?? 'the pipeline was paused or changed'}; it continues from its checkpoint when it runs again` : result.status === 'interrupted' ? 'the service was stopping; the run continues from its checkpoint when it starts again' : null) });
    this.live.delete(row.id);
    this.events.emit('pipeline:run:finished', { ...ctx, status: result.status, seconds, apiCalls: result.apiCalls, objects: result.objects, error: result.error, errorCode: result.errorCode });
    const reason = result.status === 'failed' && result.errorCode ? HOLD_CODES[result.errorCode] : undefined;
    if (reason) await this.#holdConnection(spec.connection, reason, result.errorCode!, result.error ?? result.errorCode!, name, row.id);
    else if (result.status === 'succeeded') await this.releaseHold(spec.connection, `run ${row.id} of ${name} succeeded`);
    if (leader) {
      // A leader leaves the pipeline's schedule alone. Ended: the schedule starts a new one if the pipeline
      // wants it; interrupted (shutdown): resumed; failed: retried by the queue with backoff.
      if (result.status === 'interrupted' && !ended) return 'interrupted';
      if (result.status === 'failed') throw new PipelineError(result.errorCode ?? 'CDC_FAILED', 502, result.error ?? 'following change events failed');
      void this.tick();
      return 'done';
    }
    if (result.status === 'interrupted' && this.#ending.delete(name)) {
      // A long-lived run ended because its pipeline was paused or changed: not resumed as it is; the
      // schedule starts the pipeline again (with its new spec, once resumed) from its checkpoint.
      await this.state.updateSchedule(name, { lastRunAt: finishedAt, lastRunId: row.id, lastStatus: result.status, nextRunAt: new Date(this.#now()).toISOString() });
      void this.tick();
      return 'done';
    }
    if (result.status === 'interrupted') return 'interrupted';
    const sched = await this.state.getSchedule(name);
    const state = { ...(sched?.state ?? {}), ...(result.status === 'succeeded' ? { loaded: true, lastSuccessAt: startedAt } : {}) } as JsonObject;
    const scheduled = nextRunAt(spec.schedule ?? `${kind.defaultEveryMs / 1000}s`, new Date(finishedAt), kind.defaultEveryMs);
    const next = result.nextRunAt && result.nextRunAt < scheduled ? result.nextRunAt : scheduled;
    // A run started by hand while the next scheduled one was already set keeps that one.
    const keep = sched?.nextRunAt && Date.parse(sched.nextRunAt) < next.getTime();
    await this.state.updateSchedule(name, { lastRunAt: finishedAt, lastRunId: row.id, lastStatus: result.status, state, ...(keep ? {} : { nextRunAt: next.toISOString() }) });
    void this.tick();
    return 'done';
  }

  /** Runs, newest first, with live counts for running ones. */
  async listRuns(options: { pipeline?: string; status?: string; limit?: number; before?: number } = {}): Promise<PipelineRunRow[]> {
    const rows = await this.state.listRuns(options);
    return rows.map((r) => this.#withLive(r));
  }

  async getRun(id: number): Promise<PipelineRunRow | undefined> {
    const r = await this.state.getRun(id);
    return r && this.#withLive(r);
  }

  #withLive(r: PipelineRunRow): PipelineRunRow {
    const live = r.status === 'running' ? this.live.get(r.id) : undefined;
    return live ? { ...r, objects: live.objects as unknown as JsonObject } : r;
  }

  // Run event log -------------------------------------------------------------------------------------

  #recordRunEvents(): void {
    const pending = new Map<number, Array<{ at: string; level: 'info' | 'warn' | 'error'; type: string; message: string; data: never }>>();
    const counts = new Map<number, number>();
    let timer: NodeJS.Timeout | undefined;
    const flush = async () => {
      timer = undefined;
      for (const [runId, events] of pending) {
        pending.delete(runId);
        await this.state.addRunEvents(runId, events).catch(() => undefined);
      }
    };
    const add = (runId: number, level: 'info' | 'warn' | 'error', type: string, message: string, data: unknown, now = false) => {
      const n = (counts.get(runId) ?? 0) + 1;
      counts.set(runId, n);
      if (n > RUN_EVENTS_MAX && !now) return;
      const list = pending.get(runId) ?? [];
      list.push({ at: new Date(this.#now()).toISOString(), level, type, message, data: (data ?? null) as never });
      pending.set(runId, list);
      if (now) void flush();
      else timer ??= setTimeout(() => void flush(), 1000).unref();
    };
    const on = this.events.on.bind(this.events);
    on('pipeline:run:started', (e) => add(e.runId, 'info', 'run:started', `run started (${e.trigger}${e.resumedFrom ? `, continuing run ${e.resumedFrom}` : ''})`, { trigger: e.trigger, resumedFrom: e.resumedFrom ?? null, objects: e.objects ?? null }));
    on('pipeline:run:event', (e) => {
      if (e.type === 'object:batch' || e.type === 'run:started' || e.type === 'run:finished') return;
      const d = e.data as Record<string, unknown>;
      const level = e.type === 'warning' || e.type === 'budget:paused' || e.type === 'sink:paused' ? 'warn' : e.type === 'budget:refused' || (e.type === 'object:finished' && d.status === 'failed') ? 'error' : 'info';
      const message = typeof d.message === 'string' ? d.message : e.type === 'sink:paused' ? sinkPausedMessage(d) : e.type === 'sink:resumed' ? `${String(d.sink)} delivering again after ${(Number(d.pausedMs) / 1000).toFixed(1)} s paused` : e.type === 'object:finished' ? `${String(d.object)}: ${String(d.status)} (${String(d.read)} read, ${String(d.written)} written, ${String(d.deleted)} deleted)${d.error ? ` — ${String(d.error)}` : ''}` : `${e.type}${d.object ? ` ${String(d.object)}` : ''}`;
      add(e.runId, level, e.type, message, d);
    });
    on('warning', (e) => e.runId && add(e.runId, 'warn', 'warning', e.message, { code: e.code }));
    on('pipeline:run:finished', (e) => {
      add(e.runId, e.status === 'failed' ? 'error' : e.status === 'interrupted' ? 'warn' : 'info', 'run:finished', `run ${e.status} in ${e.seconds.toFixed(1)} s, ${e.apiCalls} API calls${e.error ? ` — ${e.error}` : ''}`, { status: e.status, apiCalls: e.apiCalls, error: e.error ?? null, code: e.errorCode ?? null }, true);
      counts.delete(e.runId);
    });
    this.#detach.push(() => {
      clearTimeout(timer);
      void flush();
    });
  }

  /** A run's event log. */
  runEvents(runId: number, afterSeq = 0) {
    return this.state.listRunEvents(runId, { afterSeq });
  }

  // API usage -----------------------------------------------------------------------------------------

  #recordUsage(): void {
    const fn = (e: { connection: string; org: string; used: number; max: number }) => {
      const reading: UsageRow = { org: e.org, connection: e.connection, at: new Date(this.#now()).toISOString(), used: e.used, max: e.max };
      this.#usage.set(e.org, reading);
      const last = this.#usageSavedAt.get(e.org) ?? 0;
      if (this.#now() - last >= USAGE_SAMPLE_MS) {
        this.#usageSavedAt.set(e.org, this.#now());
        void this.state.addUsage(reading).catch(() => undefined);
      }
    };
    this.events.on('api:usage', fn);
    this.events.on('pipeline:run:finished', () => void this.#flushUsage());
    this.#detach.push(() => this.events.off('api:usage', fn));
  }

  /** Stores the newest reading of each org if it was not stored yet. */
  async #flushUsage(): Promise<void> {
    for (const [org, reading] of this.#usage) {
      const saved = this.#usageSavedAt.get(org) ?? 0;
      if (Date.parse(reading.at) > saved) {
        this.#usageSavedAt.set(org, this.#now());
        await this.state.addUsage(reading).catch(() => undefined);
      }
    }
  }

  /** The newest reading per org (in memory first, else the store). */
  async usageNow(): Promise<UsageRow[]> {
    const stored = await this.state.latestUsage();
    const byOrg = new Map(stored.map((r) => [r.org, r]));
    for (const [org, r] of this.#usage) byOrg.set(org, r);
    return [...byOrg.values()].sort((a, b) => a.org.localeCompare(b.org));
  }

  // Remote call-in ------------------------------------------------------------------------------------

  readonly #callInSettled = new EventEmitter<{ settled: [number] }>().setMaxListeners(0);

  /**
   * Accepts a call-in request: stored in the inbox under its idempotency key (or a fresh one), then written
   * by a job. A key seen before returns its stored request (`replayed`) without a second write; the same key
   * with another body throws `IDEMPOTENCY_KEY_REUSED` (422).
   */
  async submitCallIn(opts: { object: string; body: CallInBody; principal: string; idempotencyKey?: string; connection?: string }): Promise<{ row: InboxRow; replayed: boolean }> {
    const records = callInRecords(opts.object, opts.body);
    const connection = opts.connection ?? (await this.#onlyConnection());
    if (!(await this.connections.list()).some((c) => c.name === connection)) throw new CallInError('UNKNOWN_CONNECTION', 400, `connection "${connection}" does not exist (connections: ${(await this.connections.list()).map((c) => c.name).join(', ') || 'none'})`);
    if (opts.idempotencyKey !== undefined && !/^[\x21-\x7e]{1,255}$/.test(opts.idempotencyKey)) throw new CallInError('INVALID_IDEMPOTENCY_KEY', 400, 'Idempotency-Key must be 1 to 255 visible ASCII characters (a UUID is a good choice)');
    const request: StoredCallIn = { object: opts.object, operation: opts.body.operation, externalIdField: opts.body.external_id_field ?? null, allOrNone: opts.body.all_or_none ?? false, connection, principal: opts.principal, records };
    const hash = callInHash(request);
    const dedupeKey = opts.idempotencyKey !== undefined ? `${opts.principal}:${opts.idempotencyKey}` : `auto:${randomUUID()}`;
    const { row, added } = await this.state.addInbox({ pipeline: callInInbox(opts.object), dedupeKey, bodyHash: hash, payload: request });
    if (!added) {
      if (row.bodyHash !== hash) throw new CallInError('IDEMPOTENCY_KEY_REUSED', 422, `Idempotency-Key "${opts.idempotencyKey}" was used for a different request (request ${row.id}); use a new key for a new request`);
      return { row, replayed: true };
    }
    await this.queue.add({ key: `call-in:${row.id}`, kind: JOB_KINDS.callIn, payload: { inbox: row.id }, priority: 'interactive', maxAttempts: 3 });
    return { row, replayed: false };
  }

  async #onlyConnection(): Promise<string> {
    const all = await this.connections.list();
    if (all.length === 1) return all[0].name;
    throw new CallInError('CONNECTION_REQUIRED', 400, `name the connection to write to with ?connection=NAME (connections: ${all.map((c) => c.name).join(', ') || 'none'})`);
  }

  /** Waits until a call-in request is written (or failed), up to `ms`; returns its row as it then is. */
  async waitCallIn(id: number, ms: number, signal?: AbortSignal): Promise<InboxRow | undefined> {
    const end = this.#now() + ms;
    for (;;) {
      const row = await this.state.getInbox(id);
      if (!row || row.state !== 'pending' || this.#now() >= end || signal?.aborted) return row;
      // Woken by this process's job, or every 250 ms for a job run by another worker.
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.#callInSettled.off('settled', onSettled);
          resolve();
        };
        const onSettled = (settled: number) => settled === id && done();
        const timer = setTimeout(done, Math.min(250, Math.max(1, end - this.#now())));
        this.#callInSettled.on('settled', onSettled);
      });
    }
  }

  async #callInJob(job: Job, jctx: JobContext): Promise<JobOutcome> {
    const id = Number(job.payload.inbox);
    const row = await this.state.getInbox(id);
    if (!row || row.state !== 'pending') return 'done';
    const request = row.payload as unknown as StoredCallIn;
    try {
      const client = await this.connections.client(request.connection, { signal: jctx.signal });
      const result = await executeCallIn(request, row.id, { client, state: await this.#store.publishState(), signal: jctx.signal });
      await this.state.updateInbox(id, { state: 'delivered', attempts: row.attempts + 1, result, lastError: null });
      this.events.emit('callin:finished', { id, object: request.object, operation: request.operation, records: request.records.length, ok: result.ok });
    } catch (err) {
      if (jctx.signal.aborted) return 'interrupted';
      // Salesforce could not be reached or refused the login: the caller gets the error; nothing was written
      // that the outbox does not know of, so a retry with the same key would resume it.
      await this.state.updateInbox(id, { state: 'dead', attempts: row.attempts + 1, lastError: `${errorCode(err)}: ${(err as Error).message}` });
      this.events.emit('callin:finished', { id, object: request.object, operation: request.operation, records: request.records.length, ok: false });
    } finally {
      this.#callInSettled.emit('settled', id);
    }
    return 'done';
  }

  // Dead letters --------------------------------------------------------------------------------------

  async #letterState(pipeline: string) {
    const stores = await this.pipelines.deadLetterStores(this.baseDir);
    const url = stores.get(pipeline);
    if (!url) throw new PipelineError('PIPELINE_NOT_FOUND', 404, `pipeline "${pipeline}" has no dead-letter queue (only publish pipelines have one)`);
    return (await this.store(url)).publishState();
  }

  /** Dead letters of every pipeline (or one), newest first. */
  async listDeadLetters(options: { pipeline?: string; status?: DeadLetterStatus | 'all'; limit?: number } = {}): Promise<DeadLetter[]> {
    const stores = await this.pipelines.deadLetterStores(this.baseDir);
    if (options.pipeline && !stores.has(options.pipeline)) throw new PipelineError('PIPELINE_NOT_FOUND', 404, `pipeline "${options.pipeline}" has no dead-letter queue (only publish pipelines have one)`);
    const out: DeadLetter[] = [];
    for (const [pipeline, url] of stores) {
      if (options.pipeline && options.pipeline !== pipeline) continue;
      const state = await (await this.store(url)).publishState();
      out.push(...(await state.listDeadLetters({ pipeline, status: options.status ?? 'open', limit: options.limit ?? 200 })));
    }
    return out.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id - a.id).slice(0, options.limit ?? 200);
  }

  async getDeadLetter(pipeline: string, id: number): Promise<DeadLetter | undefined> {
    const letter = await (await this.#letterState(pipeline)).getDeadLetter(id);
    return letter && letter.pipeline === pipeline ? letter : undefined;
  }

  /**
   * Two-way sync over the stores of every sync pipeline: each writable object with its captured changes
   * by state, and the recorded conflicts (newest first, both versions).
   */
  async twoWay(options: { object?: string; limit?: number } = {}): Promise<{ objects: Array<{ object: string; counts: Record<CaptureState, number> }>; conflicts: ConflictRecord[]; changes: CapturedChange[] }> {
    const urls = new Set<string>();
    for (const e of await this.pipelines.list()) {
      if (e.spec.kind === 'sync') urls.add(resolveStoreUrl((e.spec as unknown as SyncPipelineSpec).store ?? this.storeUrl, this.baseDir));
    }
    const objects: Array<{ object: string; counts: Record<CaptureState, number> }> = [];
    const conflicts: ConflictRecord[] = [];
    const changes: CapturedChange[] = [];
    const limit = options.limit ?? 200;
    for (const url of urls) {
      const cap = await (await this.store(url)).writeCapture();
      for (const object of await cap.writableObjects()) {
        if (options.object && options.object.toLowerCase() !== object.toLowerCase()) continue;
        objects.push({ object, counts: await cap.counts(object) });
      }
      conflicts.push(...(await cap.conflicts({ object: options.object, limit })));
      changes.push(...(await cap.changes({ object: options.object, limit })));
    }
    return {
      objects,
      conflicts: conflicts.sort((a, b) => b.detectedAt.localeCompare(a.detectedAt) || b.id - a.id).slice(0, limit),
      changes: changes.sort((a, b) => b.capturedAt.localeCompare(a.capturedAt) || b.seq - a.seq).slice(0, limit),
    };
  }

  /**
   * Two-way sync over HTTP: inserts, updates or deletes one row of a writable mirror table, as an application
   * writing the table would (the change is captured and sent to Salesforce by the next cycle). An insert
   * without `Id` gets a placeholder, returned, that Salesforce's Id replaces once it is written.
   */
  async twoWayWrite(object: string, change: { kind: 'insert'; values: Record<string, QueryValue> } | { kind: 'update'; id: string; values: Record<string, QueryValue> } | { kind: 'delete'; id: string }): Promise<{ id: string; changed: number }> {
    let url: string | undefined;
    let named: string | undefined;
    for (const e of await this.pipelines.list()) {
      if (e.spec.kind !== 'sync') continue;
      const spec = e.spec as unknown as SyncPipelineSpec & { objects?: Record<string, { writable?: boolean }> };
      const hit = Object.entries(spec.objects ?? {}).find(([name, o]) => name.toLowerCase() === object.toLowerCase() && o?.writable);
      if (hit) {
        url = resolveStoreUrl(spec.store ?? this.storeUrl, this.baseDir);
        named = hit[0];
        break;
      }
    }
    if (!url || !named) throw new PipelineError('NOT_WRITABLE', 404, `no sync pipeline has ${object} writable: set objects.${object}.writable: true in a sync pipeline`);
    const store = await this.store(url);
    const shape = await store.tableShape(named);
    if (!shape?.mirror) throw new PipelineError('NOT_WRITABLE', 409, `${object} has no mirror table yet: it is created by the pipeline's first run`);
    if (!shape.writable) throw new PipelineError('NOT_WRITABLE', 409, `${object}'s mirror table is not writable yet: the pipeline's next run makes it so`);
    const id = change.kind === 'insert' ? String(Object.entries(change.values).find(([k]) => k.toLowerCase() === 'id')?.[1] ?? newPlaceholderId()) : change.id;
    try {
      const changed = change.kind === 'insert'
        ? await store.mutateTable(shape, { kind: 'insert', values: { ...Object.fromEntries(Object.entries(change.values).filter(([k]) => k.toLowerCase() !== 'id')), Id: id } })
        : change.kind === 'update'
          ? await store.mutateTable(shape, { kind: 'update', key: { Id: id }, values: change.values })
          : await store.mutateTable(shape, { kind: 'delete', key: { Id: id } });
      return { id, changed };
    } catch (err) {
      if ((err as Error).name === 'QueryError') throw new PipelineError('INVALID_RECORD', 400, `${object}: ${(err as Error).message}`);
      throw err;
    }
  }

  /** Open dead letters per pipeline (metrics). */
  async deadLetterDepth(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const [pipeline, url] of await this.pipelines.deadLetterStores(this.baseDir)) {
      const state = await (await this.store(url)).publishState();
      out.set(pipeline, (await state.listDeadLetters({ pipeline, status: 'open', limit: 100_000 })).length);
    }
    return out;
  }

  async discardDeadLetter(pipeline: string, id: number): Promise<DeadLetter> {
    const state = await this.#letterState(pipeline);
    const letter = await this.getDeadLetter(pipeline, id);
    if (!letter) throw new PipelineError('DEAD_LETTER_NOT_FOUND', 404, `pipeline "${pipeline}" has no dead letter ${id}`);
    if (letter.status !== 'open') throw new PipelineError('DEAD_LETTER_CLOSED', 409, `dead letter ${id} is already ${letter.status}`);
    await state.updateDeadLetter(id, { status: 'discarded' });
    this.events.emit('deadletters:changed', { pipeline });
    return (await state.getDeadLetter(id))!;
  }

  /**
   * Replays a dead letter (with an edited payload if given) as an interactive job on the pipeline's key,
   * so it never runs alongside the pipeline's own run; waits for it and returns the letter afterwards.
   */
  async replayDeadLetter(pipeline: string, id: number, payload?: JsonObject): Promise<{ letter: DeadLetter; outcome: ReplayOutcome | undefined }> {
    const letter = await this.getDeadLetter(pipeline, id);
    if (!letter) throw new PipelineError('DEAD_LETTER_NOT_FOUND', 404, `pipeline "${pipeline}" has no dead letter ${id}`);
    if (letter.status !== 'open') throw new PipelineError('DEAD_LETTER_CLOSED', 409, `dead letter ${id} is already ${letter.status}`);
    // A long-lived pipeline's run holds its key for good: its replays get a key of their own.
    const entry = await this.pipelines.get(pipeline);
    const key = entry && pipelineKind(entry.spec.kind)?.longLived ? `replay:${pipeline}` : jobKey(pipeline);
    const { job } = await this.queue.add({ key, kind: JOB_KINDS.replay, payload: { pipeline, id, ...(payload ? { payload } : {}) }, priority: 'interactive' });
    const outcome = await this.queue.settled(job.id);
    const results = this.#replayResults.get(job.id);
    this.#replayResults.delete(job.id);
    if (outcome === 'failed') {
      const failed = await this.queue.get(job.id);
      throw new PipelineError('REPLAY_FAILED', 502, `replay of dead letter ${id} failed: ${failed?.error ?? 'unknown error'}`);
    }
    return { letter: (await this.getDeadLetter(pipeline, id))!, outcome: results?.[0] };
  }

  async #replayJob(job: Job, jctx: JobContext): Promise<JobOutcome> {
    const pipeline = String(job.payload.pipeline);
    const entry = await this.pipelines.get(pipeline);
    if (!entry) return 'done';
    const state = await this.#letterState(pipeline);
    const letter = await state.getDeadLetter(Number(job.payload.id));
    if (!letter || letter.status !== 'open') return 'done';
    const kind = pipelineKind(entry.spec.kind);
    if (kind?.replayDeadLetter) {
      // Delivered where the pipeline delivers (an event pipeline's sink), not to Salesforce.
      const r = await kind.replayDeadLetter(entry.spec as never, letter, { store: (url) => this.store(url), serviceStoreUrl: this.storeUrl, baseDir: this.baseDir, signal: jctx.signal, payload: job.payload.payload as JsonObject | undefined });
      const after = (await state.getDeadLetter(letter.id)) ?? letter;
      this.#replayResults.set(job.id, [{ letter: after, result: { index: 0, key: letter.key, input: after.payload, success: r.success, id: null, created: false, errors: r.error ? [{ ...r.error, fields: [] }] : [], attempts: after.attempts } }]);
      this.events.emit('deadletters:changed', { pipeline });
      return 'done';
    }
    const client = await this.connections.client(entry.spec.connection, { signal: jctx.signal });
    const payloads = job.payload.payload ? new Map([[letter.id, job.payload.payload as JsonObject]]) : undefined;
    const results = await replayDeadLetters({ client, state, letters: [letter], payloads, signal: jctx.signal });
    this.#replayResults.set(job.id, results);
    this.events.emit('deadletters:changed', { pipeline });
    return 'done';
  }

  // Status --------------------------------------------------------------------------------------------

  /** Every pipeline with its schedule and last run (the overview and the API). */
  async overview(): Promise<Array<{ entry: PipelineEntry; schedule: ScheduleRow | undefined; running: boolean; queued: boolean; leaders?: LeaderView[]; held?: ConnectionHold }>> {
    const pipelines = await this.pipelines.list();
    const holds = await this.holds();
    const schedules = new Map((await this.state.listSchedules()).map((s) => [s.pipeline, s]));
    const jobs = await this.queue.list({ states: ['queued', 'running', 'failed'] });
    const byKey = new Map<string, Job>();
    for (const j of jobs) if (!byKey.has(j.key) || j.state !== 'failed') byKey.set(j.key, j);
    const runningKeys = new Set(jobs.filter((j) => j.state === 'running').map((j) => j.key));
    const queuedKeys = new Set(jobs.filter((j) => j.state === 'queued').map((j) => j.key));
    return pipelines.map((entry) => {
      // On the fleet a sync pipeline's work is one job per object; a `mode: cdc` object has its leader's job.
      const keys = [jobKey(entry.spec.name), ...(this.#fanOut(entry.spec) ?? []).map((o) => objectJobKey(entry.spec.connection, o))];
      const followed = entry.spec.kind === 'sync' ? followedObjects(entry.spec as SyncPipelineSpec) : [];
      const leaders = followed.map((object): LeaderView => {
        const job = byKey.get(cdcJobKey(entry.spec.connection, object));
        const runId = typeof job?.checkpoint?.runId === 'number' ? job.checkpoint.runId : null;
        const state = !job ? 'waiting' : job.state === 'running' ? 'following' : job.state === 'failed' ? 'failed' : job.error ? 'retrying' : 'queued';
        return { object, state, jobId: job?.id ?? null, runId: state === 'following' ? runId : null, error: job?.error ?? null, retryAt: state === 'retrying' ? job!.runAt : null };
      });
      const all = [...keys, ...followed.map((o) => cdcJobKey(entry.spec.connection, o))];
      const held = holds.get(entry.spec.connection);
      return { entry, schedule: schedules.get(entry.spec.name), running: all.some((k) => runningKeys.has(k)), queued: all.some((k) => queuedKeys.has(k)), ...(followed.length ? { leaders } : {}), ...(held ? { held } : {}) };
    });
  }

  /** True when the store answers. */
  async ready(): Promise<boolean> {
    if (!this.started) return false;
    try {
      await this.state.getSchedule('#readyz');
      return true;
    } catch {
      return false;
    }
  }
}

/**
 * The change-event leader of one `mode: cdc` object of a sync pipeline: `following` (its job runs: the run
 * id is the leader's long-lived run), `queued`, `retrying` (it failed: the error, and when it tries again),
 * `failed`, or `waiting` (no job: the object's initial load is not done, or the pipeline is paused).
 */
export interface LeaderView {
  object: string;
  state: 'following' | 'queued' | 'retrying' | 'failed' | 'waiting';
  jobId: number | null;
  runId: number | null;
  error: string | null;
  retryAt: string | null;
}

/** The job key of a pipeline: its runs and replays are exclusive. */
export function jobKey(pipeline: string): string {
  return `pipeline:${pipeline}`;
}

/** The job key of one object's sync on one connection: at most one worker syncs it at a time. */
export function objectJobKey(connection: string, object: string): string {
  return `sync:${connection}:${object.toLowerCase()}`;
}

/** A sync pipeline narrowed to one of its objects (undefined when it no longer lists it). */
function onlyObject(spec: SyncPipelineSpec, object: string): SyncPipelineSpec | undefined {
  const std = spec.standard_objects_to_sync.find((o) => o.toLowerCase() === object.toLowerCase());
  const custom = Array.isArray(spec.custom_objects_to_sync) ? spec.custom_objects_to_sync.find((o) => o.toLowerCase() === object.toLowerCase()) : undefined;
  if (!std && !custom) return undefined;
  return { ...spec, standard_objects_to_sync: std ? [std] : [], custom_objects_to_sync: custom ? [custom] : [] } as SyncPipelineSpec;
}

function errorCode(err: unknown): string {
  if (err instanceof SalesforceError) return err.errorCode;
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' ? code : 'ERROR';
}

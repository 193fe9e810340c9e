/**
 * The fleet's {@link JobQueue}: jobs on pg-boss, for any number of worker processes on one Postgres store.
 *
 * What each side holds:
 * - The job row (`_sfbridge_jobs` of the service store, the embedded queue's table) is the job as callers
 *   see it: key, kind, payload, priority, checkpoint, state. Adds merge into a queued row of the same key
 *   under a Postgres advisory lock on the key, so the merge rule is the embedded queue's.
 * - pg-boss holds a token `{ id, key }` per row in one `singleton` queue with `singletonKey` = the job key:
 *   its unique index on active jobs per key is the exclusivity, its `priority` the order, its job heartbeat
 *   the liveness. A token whose row is gone, failed or already claimed by this token's predecessor is a
 *   no-op, so sending another token (a merge that raised the priority, a job handed back) is always safe.
 * - A SIGKILLed worker stops heartbeating; pg-boss's monitor fails its token and retries it, and the
 *   worker that takes the retry finds the row still `running`: it is the key's only active token, so the
 *   row is its to take over, and the handler resumes from the row's checkpoint.
 * - `_sfbridge_job_audit` records every attempt's start and end per key (worker, outcome), the evidence that
 *   no key ever ran twice at once. An attempt whose worker died is closed by the one that took it over
 *   (`lost`, with the takeover time).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import pg from 'pg';
import { PgBoss } from 'pg-boss';
import { parseStoreUrl, type JobRow, type JsonObject, type ServiceState } from '../../store/index.ts';
import { jobFromRow, JOB_PRIORITIES, priorityRank, type AddResult, type Job, type JobOutcome, type JobQueue, type JobSpec, type WorkerOptions } from './queue.ts';

/** The pg-boss queue every sfbridge job token goes through (exclusivity is per singleton key in it). */
export const BOSS_QUEUE = 'sfbridge';
/**
 * The queue of long-lived jobs (event subscriptions, CDC leaders): worked beside the slots of {@link BOSS_QUEUE}
 * so they never hold up scheduled work, up to {@link LONG_LIVED_PER_WORKER} per worker.
 */
export const BOSS_LONG_QUEUE = 'sfbridge-long';
/** Long-lived jobs one worker runs at most (each mostly waits on its stream). */
export const LONG_LIVED_PER_WORKER = 64;
/** Seconds without a heartbeat after which a running job is taken over (pg-boss's minimum is 10). */
export const HEARTBEAT_SECONDS = 10;
/** How often the monitor looks for jobs whose heartbeat stopped; with the heartbeat this bounds takeover. */
const SUPERVISE_SECONDS = 3;
/** Retry delay of a failed attempt (doubles per attempt, capped), as in the embedded queue. */
const RETRY_BASE_MS = 5_000;
const RETRY_MAX_MS = 10 * 60_000;
const FAILED_KEPT = 200;

/** One row of the audit table: an attempt of a job on a key. */
export interface JobAuditRow {
  id: number;
  jobId: number;
  key: string;
  kind: string;
  worker: string;
  startedAt: string;
  endedAt: string | null;
  /** done, interrupted, failed, retry, or lost (its worker died; `takenOverAt` says when another took it). */
  outcome: string | null;
  takenOverAt: string | null;
}

export interface PostgresJobQueueOptions {
  /** The service store's URL (`postgres://…?schema=s`): job rows live there, pg-boss in schema `<s>_jobs`. */
  storeUrl: string;
  state: ServiceState;
  now?: () => number;
  /** pg-boss polling interval when idle (seconds, ≥ 0.5). */
  pollSeconds?: number;
  /** Job kinds that run for as long as the process does: they go through their own queue, beside the worker slots. */
  longLived?: readonly string[];
}


const quote = (id: string) => `"${id.replace(/"/g, '""')}"`;

export class PostgresJobQueue implements JobQueue {
  readonly #state: ServiceState;
  readonly #now: () => number;
  readonly #pool: pg.Pool;
  readonly #boss: PgBoss;
  readonly #schema: string;
  readonly #audit: string;
  readonly #pollSeconds: number;
  readonly #longLived: ReadonlySet<string>;
  /** Identifies this process in `locked_by` and the audit table: host, pid, random. */
  readonly instance = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  readonly #running = new Map<number, { key: string; controller: AbortController; done: Promise<void> }>();
  readonly #waiters = new Map<number, Array<(v: 'done' | 'failed' | 'gone') => void>>();
  #ready: Promise<void> | undefined;
  #promoter: NodeJS.Timeout | undefined;
  #options: WorkerOptions | undefined;
  #working = false;
  #stopped = false;

  constructor(opts: PostgresJobQueueOptions) {
    const target = parseStoreUrl(opts.storeUrl);
    if (target.kind !== 'postgres') throw new TypeError('the Postgres job engine needs a postgres:// store');
    this.#state = opts.state;
    this.#now = opts.now ?? Date.now;
    this.#schema = target.schema ?? 'public';
    this.#audit = `${quote(this.#schema)}."_sfbridge_job_audit"`;
    this.#pollSeconds = Math.max(0.5, opts.pollSeconds ?? 1);
    this.#longLived = new Set(opts.longLived ?? []);
    // Small pools: a fleet of workers times every pool must fit the server's max_connections.
    this.#pool = new pg.Pool({ connectionString: target.connectionString, max: 1 });
    // A pool error (the server closed an idle connection) must not end the process; the next query reconnects.
    this.#pool.on('error', () => undefined);
    this.#boss = new PgBoss({
      connectionString: target.connectionString,
      schema: `${this.#schema}_jobs`.slice(0, 63),
      max: 2,
      superviseIntervalSeconds: SUPERVISE_SECONDS,
      monitorIntervalSeconds: SUPERVISE_SECONDS,
    });
    this.#boss.on('error', () => undefined);
  }

  /** Installs pg-boss's schema, the queue and the audit table (once, serialised across processes). */
  #open(): Promise<void> {
    this.#ready ??= (async () => {
      await this.#boss.start();
      const c = await this.#pool.connect();
      try {
        await c.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [`sfbridge:jobs:${this.#schema}`]);
        try {
          for (const queue of [BOSS_QUEUE, BOSS_LONG_QUEUE]) {
            if (await this.#boss.getQueue(queue)) continue;
            // Retries are the takeover path only (a handler's own failures are retried by the job row's rules).
            await this.#boss.createQueue(queue, { policy: 'singleton', heartbeatSeconds: HEARTBEAT_SECONDS, retryLimit: 1_000_000, retryDelay: 0, expireInSeconds: 86_400, retentionSeconds: 86_400, deleteAfterSeconds: 3600 });
          }
          await c.query(`CREATE SCHEMA IF NOT EXISTS ${quote(this.#schema)}`);
          await c.query(`CREATE TABLE IF NOT EXISTS ${this.#audit} (id bigserial PRIMARY KEY, job_id bigint NOT NULL, key text NOT NULL, kind text NOT NULL, worker text NOT NULL, started_at timestamptz NOT NULL DEFAULT clock_timestamp(), ended_at timestamptz, outcome text, taken_over_at timestamptz)`);
          await c.query(`CREATE INDEX IF NOT EXISTS "_sfbridge_job_audit_key" ON ${this.#audit} (key, started_at)`);
        } finally {
          await c.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [`sfbridge:jobs:${this.#schema}`]);
        }
      } finally {
        c.release();
      }
    })();
    this.#ready.catch(() => (this.#ready = undefined));
    return this.#ready;
  }

  /** Runs `fn` holding the key's advisory lock (across every process on this database). */
  async #locked<T>(key: string, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.#pool.connect();
    const lockKey = `sfbridge:job:${this.#schema}:${key}`;
    try {
      await c.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [lockKey]);
      try {
        return await fn(c);
      } finally {
        await c.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [lockKey]);
      }
    } finally {
      c.release();
    }
  }

  /** Sends a token for a row: pg-boss priority is higher-first, ours is rank-first. */
  async #token(row: Pick<JobRow, 'id' | 'key' | 'rank' | 'runAt' | 'kind'>): Promise<void> {
    await this.#boss.send(this.#longLived.has(row.kind) ? BOSS_LONG_QUEUE : BOSS_QUEUE, { id: row.id, key: row.key }, { singletonKey: row.key, priority: JOB_PRIORITIES.length - 1 - row.rank, startAfter: new Date(row.runAt) });
  }

  async add(spec: JobSpec): Promise<AddResult> {
    await this.#open();
    const runAt = (spec.runAt ?? new Date(this.#now())).toISOString();
    const rank = priorityRank(spec.priority);
    return this.#locked(spec.key, async () => {
      const [queued] = await this.#state.listJobs({ key: spec.key, states: ['queued'], limit: 1 });
      if (queued) {
        const changes = { payload: spec.payload, rank: Math.min(rank, queued.rank), runAt: runAt < queued.runAt ? runAt : queued.runAt, maxAttempts: Math.max(spec.maxAttempts ?? 1, queued.maxAttempts) };
        await this.#state.updateJob(queued.id, changes);
        const row = { ...queued, ...changes };
        // A higher priority or an earlier time needs a token that says so; the old one becomes a no-op.
        if (changes.rank < queued.rank || changes.runAt < queued.runAt) await this.#token(row);
        return { job: jobFromRow(row), added: false };
      }
      const row = await this.#state.insertJob({ key: spec.key, kind: spec.kind, rank, runAt, state: 'queued', payload: spec.payload, maxAttempts: spec.maxAttempts ?? 1 });
      await this.#token(row);
      return { job: jobFromRow(row), added: true };
    });
  }

  async get(id: number): Promise<Job | undefined> {
    const row = await this.#state.getJob(id);
    return row && jobFromRow(row);
  }

  async list(options: { key?: string; states?: readonly Job['state'][]; limit?: number } = {}): Promise<Job[]> {
    return (await this.#state.listJobs(options)).map(jobFromRow);
  }

  async cancel(id: number): Promise<boolean> {
    const row = await this.#state.getJob(id);
    if (!row) return false;
    const removed = await this.#locked(row.key, async () => {
      const now = await this.#state.getJob(id);
      if (!now || now.state !== 'queued') return false;
      await this.#state.deleteJob(id);
      return true;
    });
    if (removed) this.#settle(id, 'gone');
    return removed;
  }

  /**
   * Nothing to requeue by hand: a dead worker's job is taken over through pg-boss's heartbeat. Queued rows
   * get a fresh token, in case a process died between writing a row and sending its token.
   */
  async recover(): Promise<Job[]> {
    await this.#open();
    for (const row of await this.#state.listJobs({ states: ['queued'] })) await this.#token(row);
    return [];
  }

  /**
   * A token pg-boss retries is a job taken from a dead worker (its heartbeat stopped) or handed back by a
   * stopping one: it goes before every other, whatever its own priority, so a lost initial load is not left
   * waiting behind a steady stream of incremental cycles (pg-boss orders by priority, then age).
   */
  async #promoteTakeovers(): Promise<void> {
    await this.#pool.query(`UPDATE ${quote(`${this.#schema}_jobs`.slice(0, 63))}.job SET priority = $1 WHERE name = ANY($2::text[]) AND state = 'retry' AND priority < $1`, [JOB_PRIORITIES.length, [BOSS_QUEUE, BOSS_LONG_QUEUE]]);
  }

  start(options: WorkerOptions): void {
    this.#options = options;
    this.#stopped = false;
    // Every process does it (the scheduler too), every few seconds, as pg-boss's monitor retries lost jobs.
    clearInterval(this.#promoter);
    this.#promoter = setInterval(() => void this.#open().then(() => this.#promoteTakeovers()).catch(() => undefined), SUPERVISE_SECONDS * 1000);
    this.#promoter.unref();
    const concurrency = options.concurrency ?? 2;
    if (concurrency < 1) return;
    this.#working = true;
    void this.#open()
      .then(async () => {
        await this.#boss.work<{ id: number; key: string }>(BOSS_QUEUE, { localConcurrency: concurrency, pollingIntervalSeconds: this.#pollSeconds, heartbeatRefreshSeconds: 3 }, async ([token]) => this.#take(token));
        if (this.#longLived.size) await this.#boss.work<{ id: number; key: string }>(BOSS_LONG_QUEUE, { localConcurrency: LONG_LIVED_PER_WORKER, pollingIntervalSeconds: this.#pollSeconds, heartbeatRefreshSeconds: 3 }, async ([token]) => this.#take(token));
      })
      .catch((err: unknown) => options.onSettled?.({ id: 0 } as Job, 'failed', err));
  }

  poke(): void {
    // pg-boss polls (and is woken by its own notifications); nothing to wake here.
  }

  /** One token: claim its row, run the handler, settle the row. */
  async #take(token: { id: string; data: { id: number; key: string }; signal: AbortSignal }): Promise<void> {
    if (this.#stopped) throw new Error('this worker is stopping; the job goes to another');
    const { id, key } = token.data;
    const claim = await this.#locked(key, async (c) => {
      const row = await this.#state.getJob(id);
      if (!row || row.state === 'failed') return undefined;
      const at = new Date(this.#now()).toISOString();
      if (row.state === 'running') {
        // Only the key's active token runs: the row's last holder lost its token (its heartbeat stopped).
        await c.query(`UPDATE ${this.#audit} SET outcome = 'lost', taken_over_at = clock_timestamp() WHERE key = $1 AND ended_at IS NULL AND outcome IS NULL`, [key]);
      }
      const claimed: JobRow = { ...row, state: 'running', lockedBy: this.instance, lockedAt: at, attempts: row.attempts + 1 };
      await this.#state.updateJob(id, { state: 'running', lockedBy: this.instance, lockedAt: at, attempts: claimed.attempts });
      const audit = await c.query<{ id: string }>(`INSERT INTO ${this.#audit} (job_id, key, kind, worker) VALUES ($1, $2, $3, $4) RETURNING id`, [id, key, row.kind, this.instance]);
      return { row: claimed, auditId: Number(audit.rows[0].id), resumed: row.attempts > 0 || row.checkpoint !== null };
    });
    if (!claim) return;
    const { row, auditId } = claim;
    const controller = new AbortController();
    const onLost = () => controller.abort(new Error('this worker lost the job (its heartbeat was late); another worker takes it over'));
    token.signal.addEventListener('abort', onLost, { once: true });
    let finish!: () => void;
    const done = new Promise<void>((r) => (finish = r));
    this.#running.set(id, { key, controller, done });
    const job = { ...jobFromRow(row), resumed: claim.resumed };
    let outcome: JobOutcome | 'failed' = 'failed';
    let error: unknown;
    try {
      const handler = this.#options?.handlers[row.kind];
      if (!handler) throw new Error(`no handler for jobs of kind "${row.kind}"`);
      outcome = await handler(job, {
        signal: controller.signal,
        checkpoint: async (value: JsonObject) => {
          job.checkpoint = value;
          await this.#state.updateJob(id, { checkpoint: value });
        },
      });
    } catch (err) {
      error = err;
      outcome = 'failed';
    }
    let final: 'done' | 'failed' | undefined;
    try {
      await this.#locked(key, async (c) => {
        if (outcome === 'done') {
          await this.#state.deleteJob(id);
          final = 'done';
        } else if (outcome === 'interrupted') {
          // Handed back: queued again with its checkpoint, and a token so another worker picks it up.
          const back = { ...row, state: 'queued' as const, runAt: new Date(this.#now()).toISOString() };
          await this.#state.updateJob(id, { state: 'queued', lockedBy: null, lockedAt: null, runAt: back.runAt });
          await this.#token(back);
        } else if (row.attempts < row.maxAttempts) {
          const delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (row.attempts - 1));
          const back = { ...row, state: 'queued' as const, runAt: new Date(this.#now() + delay).toISOString() };
          await this.#state.updateJob(id, { state: 'queued', lockedBy: null, lockedAt: null, error: String((error as Error)?.message ?? error), runAt: back.runAt });
          await this.#token(back);
        } else {
          await this.#state.updateJob(id, { state: 'failed', lockedBy: null, lockedAt: null, error: String((error as Error)?.message ?? error) });
          final = 'failed';
        }
        const label = outcome === 'failed' && final !== 'failed' ? 'retry' : outcome;
        await c.query(`UPDATE ${this.#audit} SET ended_at = clock_timestamp(), outcome = $2 WHERE id = $1`, [auditId, label]);
      });
      if (final === 'failed') await this.#pruneFailed();
    } finally {
      token.signal.removeEventListener('abort', onLost);
      this.#running.delete(id);
      finish();
      this.#options?.onSettled?.(job, outcome, error);
      if (final) this.#settle(id, final);
    }
  }

  async #pruneFailed(): Promise<void> {
    const failed = await this.#state.listJobs({ states: ['failed'] });
    if (failed.length <= FAILED_KEPT) return;
    for (const j of failed.sort((a, b) => a.id - b.id).slice(0, failed.length - FAILED_KEPT)) await this.#state.deleteJob(j.id);
  }

  #settle(id: number, outcome: 'done' | 'failed' | 'gone'): void {
    for (const w of this.#waiters.get(id) ?? []) w(outcome);
    this.#waiters.delete(id);
  }

  /** Resolves when the job settled, here or in another process (the row is polled for the latter). */
  async settled(id: number): Promise<'done' | 'failed' | 'gone'> {
    const row = await this.#state.getJob(id);
    if (!row) return 'gone';
    if (row.state === 'failed') return 'failed';
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const settle = (v: 'done' | 'failed' | 'gone') => {
        clearTimeout(timer);
        resolve(v);
      };
      const list = this.#waiters.get(id) ?? [];
      list.push(settle);
      this.#waiters.set(id, list);
      const poll = async () => {
        const now = await this.#state.getJob(id).catch(() => row);
        if (!now) return this.#settle(id, 'done');
        if (now.state === 'failed') return this.#settle(id, 'failed');
        if (this.#waiters.has(id)) timer = setTimeout(() => void poll(), 250);
      };
      timer = setTimeout(() => void poll(), 250);
    });
  }

  /** Ids of jobs running in this process. */
  get running(): number[] {
    return [...this.#running.keys()];
  }

  /** Every attempt recorded for a key (or all keys), oldest first. */
  async audit(key?: string): Promise<JobAuditRow[]> {
    await this.#open();
    const { rows } = await this.#pool.query(`SELECT id, job_id, key, kind, worker, started_at, ended_at, outcome, taken_over_at FROM ${this.#audit} ${key ? 'WHERE key = $1' : ''} ORDER BY started_at, id`, key ? [key] : []);
    const iso = (v: Date | null) => (v ? v.toISOString() : null);
    return rows.map((r) => ({ id: Number(r.id), jobId: Number(r.job_id), key: r.key, kind: r.kind, worker: r.worker, startedAt: iso(r.started_at)!, endedAt: iso(r.ended_at), outcome: r.outcome, takenOverAt: iso(r.taken_over_at) }));
  }

  /**
   * Stops taking jobs, aborts the running ones (each commits its current batch and is handed back with a
   * token for another worker), waits for them, and closes pg-boss and the pool.
   */
  async stop(): Promise<void> {
    if (this.#stopped && !this.#working && !this.#ready) return;
    this.#stopped = true;
    clearInterval(this.#promoter);
    // Abort first: offWork waits for the handlers, and they return once they see the abort.
    for (const r of this.#running.values()) r.controller.abort(new Error('the worker is stopping'));
    if (this.#working) {
      await this.#boss.offWork(BOSS_QUEUE).catch(() => undefined);
      if (this.#longLived.size) await this.#boss.offWork(BOSS_LONG_QUEUE).catch(() => undefined);
    }
    this.#working = false;
    await Promise.allSettled([...this.#running.values()].map((r) => r.done));
    if (this.#ready) await this.#boss.stop({ graceful: true, timeout: 10_000 }).catch(() => undefined);
    this.#ready = undefined;
    await this.#pool.end().catch(() => undefined);
  }
}

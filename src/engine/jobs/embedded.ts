/**
 * The embedded {@link JobQueue}: jobs live in the service's store (SQLite or Postgres), workers run in this
 * process. Exclusivity per key holds because only this process takes jobs from the store: run one service
 * per store with this backend (a Postgres job engine is the way to many workers).
 *
 * A job's row is the truth across restarts: `running` when a worker took it, deleted when it finished,
 * back to `queued` (checkpoint kept) when it was interrupted, `failed` after its last attempt threw. A
 * process killed mid-job leaves the row `running`; {@link EmbeddedJobQueue.recover} requeues it at start.
 */
import { randomBytes } from 'node:crypto';
import type { JobRow, JsonObject, ServiceState } from '../../store/index.ts';
import { jobFromRow, priorityRank, type AddResult, type Job, type JobOutcome, type JobQueue, type JobSpec, type WorkerOptions } from './queue.ts';

/** Failed jobs kept for inspection. */
const FAILED_KEPT = 200;
/** Retry delay of a failed attempt (doubles per attempt, capped). */
const RETRY_BASE_MS = 5_000;
const RETRY_MAX_MS = 10 * 60_000;


export interface EmbeddedJobQueueOptions {
  state: ServiceState;
  now?: () => number;
}

export class EmbeddedJobQueue implements JobQueue {
  readonly #state: ServiceState;
  readonly #now: () => number;
  /** Identifies this process's claims in `locked_by`. */
  readonly instance = `${process.pid}-${randomBytes(4).toString('hex')}`;
  readonly #running = new Map<number, { key: string; kind: string; controller: AbortController; done: Promise<void> }>();
  readonly #waiters = new Map<number, Array<(v: 'done' | 'failed' | 'gone') => void>>();
  #options: WorkerOptions | undefined;
  #timer: NodeJS.Timeout | undefined;
  #pumping: Promise<void> | undefined;
  #again = false;
  #stopped = false;
  /** Adds are serialised so two adds for one key cannot both insert. */
  #addTail: Promise<unknown> = Promise.resolve();

  constructor(opts: EmbeddedJobQueueOptions) {
    this.#state = opts.state;
    this.#now = opts.now ?? Date.now;
  }

  add(spec: JobSpec): Promise<AddResult> {
    const next = this.#addTail.then(() => this.#add(spec));
    this.#addTail = next.catch(() => undefined);
    return next;
  }

  async #add(spec: JobSpec): Promise<AddResult> {
    const runAt = (spec.runAt ?? new Date(this.#now())).toISOString();
    const rank = priorityRank(spec.priority);
    const [queued] = await this.#state.listJobs({ key: spec.key, states: ['queued'], limit: 1 });
    let row: JobRow;
    let added = true;
    if (queued) {
      const changes = { payload: spec.payload, rank: Math.min(rank, queued.rank), runAt: runAt < queued.runAt ? runAt : queued.runAt, maxAttempts: Math.max(spec.maxAttempts ?? 1, queued.maxAttempts) };
      await this.#state.updateJob(queued.id, changes);
      row = { ...queued, ...changes };
      added = false;
    } else {
      row = await this.#state.insertJob({ key: spec.key, kind: spec.kind, rank, runAt, state: 'queued', payload: spec.payload, maxAttempts: spec.maxAttempts ?? 1 });
    }
    this.poke();
    return { job: jobFromRow(row), added };
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
    if (!row || row.state !== 'queued' || this.#running.has(id)) return false;
    await this.#state.deleteJob(id);
    this.#settle(id, 'gone');
    return true;
  }

  async recover(): Promise<Job[]> {
    const stale = await this.#state.listJobs({ states: ['running'] });
    const out: Job[] = [];
    for (const row of stale) {
      if (this.#running.has(row.id)) continue;
      await this.#state.updateJob(row.id, { state: 'queued', lockedBy: null, lockedAt: null });
      out.push(jobFromRow({ ...row, state: 'queued' }));
    }
    return out;
  }

  start(options: WorkerOptions): void {
    this.#options = options;
    this.#stopped = false;
    this.poke();
  }

  poke(): void {
    if (!this.#options || this.#stopped) return;
    if (this.#pumping) {
      this.#again = true;
      return;
    }
    this.#pumping = this.#pump()
      .catch((err: unknown) => this.#options?.onSettled?.({ id: 0 } as Job, 'failed', err))
      .finally(() => {
        this.#pumping = undefined;
        if (this.#again) {
          this.#again = false;
          this.poke();
        }
      });
  }

  /** Takes due jobs while workers are free; arms a timer for the next one that is not due yet. */
  async #pump(): Promise<void> {
    const concurrency = Math.max(1, this.#options!.concurrency ?? 2);
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const unbounded = new Set(this.#options!.unbounded ?? []);
    const bounded = () => [...this.#running.values()].filter((r) => !unbounded.has(r.kind)).length;
    while (!this.#stopped) {
      const free = bounded() < concurrency;
      if (!free && unbounded.size === 0) return;
      const queued = await this.#state.listJobs({ states: ['queued'] });
      const busy = new Set([...this.#running.values()].map((r) => r.key));
      const now = new Date(this.#now()).toISOString();
      const candidates = queued.filter((j) => !busy.has(j.key) && (free || unbounded.has(j.kind)));
      const due = candidates.find((j) => j.runAt <= now);
      if (!due) {
        const soonest = candidates.reduce<string | undefined>((m, j) => (m === undefined || j.runAt < m ? j.runAt : m), undefined);
        if (soonest) {
          const wait = Math.max(10, Date.parse(soonest) - this.#now());
          // Timers beyond ~24.8 days overflow; waking daily and looking again is enough.
          this.#timer = setTimeout(() => this.poke(), Math.min(wait, 86_400_000));
          this.#timer.unref();
        }
        return;
      }
      await this.#state.updateJob(due.id, { state: 'running', lockedBy: this.instance, lockedAt: now, attempts: due.attempts + 1 });
      this.#launch({ ...due, state: 'running', attempts: due.attempts + 1 });
    }
  }

  #launch(row: JobRow): void {
    const controller = new AbortController();
    const job = jobFromRow(row);
    const handler = this.#options!.handlers[row.kind];
    const done = (async () => {
      let outcome: JobOutcome | 'failed' = 'failed';
      let error: unknown;
      try {
        if (!handler) throw new Error(`no handler for jobs of kind "${row.kind}"`);
        outcome = await handler(job, {
          signal: controller.signal,
          checkpoint: async (value: JsonObject) => {
            job.checkpoint = value;
            await this.#state.updateJob(row.id, { checkpoint: value });
          },
        });
      } catch (err) {
        error = err;
        outcome = 'failed';
      }
      try {
        if (outcome === 'done') {
          await this.#state.deleteJob(row.id);
        } else if (outcome === 'interrupted') {
          await this.#state.updateJob(row.id, { state: 'queued', lockedBy: null, lockedAt: null });
        } else if (row.attempts < row.maxAttempts && !this.#stopped) {
          const delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (row.attempts - 1));
          await this.#state.updateJob(row.id, { state: 'queued', lockedBy: null, lockedAt: null, error: String((error as Error)?.message ?? error), runAt: new Date(this.#now() + delay).toISOString() });
        } else {
          await this.#state.updateJob(row.id, { state: 'failed', lockedBy: null, lockedAt: null, error: String((error as Error)?.message ?? error) });
          await this.#pruneFailed();
        }
      } finally {
        this.#running.delete(row.id);
        this.#options?.onSettled?.(job, outcome, error);
        if (outcome === 'done') this.#settle(row.id, 'done');
        else if (outcome === 'failed' && row.attempts >= row.maxAttempts) this.#settle(row.id, 'failed');
        this.poke();
      }
    })();
    this.#running.set(row.id, { key: row.key, kind: row.kind, controller, done });
  }

  async #pruneFailed(): Promise<void> {
    const failed = await this.#state.listJobs({ states: ['failed'] });
    if (failed.length <= FAILED_KEPT) return;
    const old = failed.sort((a, b) => a.id - b.id).slice(0, failed.length - FAILED_KEPT);
    for (const j of old) await this.#state.deleteJob(j.id);
  }

  #settle(id: number, outcome: 'done' | 'failed' | 'gone'): void {
    for (const w of this.#waiters.get(id) ?? []) w(outcome);
    this.#waiters.delete(id);
  }

  async settled(id: number): Promise<'done' | 'failed' | 'gone'> {
    const row = await this.#state.getJob(id);
    if (!row) return 'gone';
    if (row.state === 'failed') return 'failed';
    return new Promise((resolve) => {
      const list = this.#waiters.get(id) ?? [];
      list.push(resolve);
      this.#waiters.set(id, list);
    });
  }

  /** Ids of jobs running in this process. */
  get running(): number[] {
    return [...this.#running.keys()];
  }

  async interrupt(key: string): Promise<boolean> {
    const running = [...this.#running.values()].find((r) => r.key === key);
    if (!running) return false;
    running.controller.abort(new Error('the pipeline was paused or changed'));
    await running.done;
    return true;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    for (const r of this.#running.values()) r.controller.abort(new Error('the service is stopping'));
    await this.#pumping?.catch(() => undefined);
    await Promise.allSettled([...this.#running.values()].map((r) => r.done));
  }
}

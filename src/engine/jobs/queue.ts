/**
 * The job queue the service's scheduler and workers meet at. A job has a `key` (at most one job per key
 * runs at a time, and a second add for a key that is already queued merges into it), a priority, a time
 * to run at, a JSON payload and a checkpoint the handler saves as it goes, so an interrupted attempt is
 * resumed rather than redone.
 *
 * The embedded backend (`embedded.ts`) keeps jobs in the service's store and runs them in this process.
 * A Postgres job engine (graphile-worker or pg-boss) implements the same interface for many workers:
 * job key → its job key / singleton key, priority → its priority, runAt → its run_at / startAfter,
 * checkpoint → a row the handler updates. Callers never see which one runs.
 */
import type { JobRow, JsonObject } from '../../store/index.ts';

/** Priorities, highest first: work started by a person, then change events, then incremental cycles, then initial loads. */
export const JOB_PRIORITIES = ['interactive', 'cdc', 'incremental', 'initial'] as const;
export type JobPriority = (typeof JOB_PRIORITIES)[number];

/** Lower rank runs first. */
export function priorityRank(p: JobPriority): number {
  return JOB_PRIORITIES.indexOf(p);
}

export interface JobSpec {
  /** Exclusivity and de-duplication key, e.g. `pipeline:orders`. */
  key: string;
  /** Which handler runs it. */
  kind: string;
  payload: JsonObject;
  priority: JobPriority;
  /** Not before this instant (default now). */
  runAt?: Date;
  /** Attempts before the job is given up as failed (default 1: a pipeline's next scheduled run is its retry). */
  maxAttempts?: number;
}

export interface Job {
  id: number;
  key: string;
  kind: string;
  payload: JsonObject;
  priority: JobPriority;
  runAt: string;
  state: 'queued' | 'running' | 'failed';
  attempts: number;
  maxAttempts: number;
  checkpoint: JsonObject | null;
  /** True when an earlier attempt was interrupted (shutdown or crash) and this attempt resumes it. */
  resumed: boolean;
  error: string | null;
  createdAt: string;
}

/** What a handler gets besides the job. */
export interface JobContext {
  /** Aborted on shutdown: finish the current batch and return {@link JobOutcome} `interrupted`. */
  signal: AbortSignal;
  /** Saves the checkpoint (committed before it resolves). */
  checkpoint(value: JsonObject): Promise<void>;
}

/** How a handler's attempt ended: done, or interrupted and to be resumed from its checkpoint. */
export type JobOutcome = 'done' | 'interrupted';

export type JobHandler = (job: Job, ctx: JobContext) => Promise<JobOutcome>;

export interface AddResult {
  job: Job;
  /** False when the key already had a queued job and this add merged into it. */
  added: boolean;
}

export interface WorkerOptions {
  /** Jobs run at once (different keys). */
  concurrency?: number;
  /**
   * Job kinds that run for as long as the process does (event subscriptions): the embedded queue runs them
   * beside the `concurrency` others instead of in one of their slots.
   */
  unbounded?: readonly string[];
  handlers: Readonly<Record<string, JobHandler>>;
  /** Called when a job settles (for waiters and tests). */
  onSettled?: (job: Job, outcome: 'done' | 'interrupted' | 'failed', error?: unknown) => void;
}

export interface JobQueue {
  /**
   * Queues a job. If the key already has a queued job, the two merge: the earlier `runAt` and the higher
   * priority win and the payload of the new add replaces the old one's; a running job for the key is left
   * alone and the new job waits for it.
   */
  add(spec: JobSpec): Promise<AddResult>;
  get(id: number): Promise<Job | undefined>;
  list(options?: { key?: string; states?: readonly Job['state'][]; limit?: number }): Promise<Job[]>;
  /** Removes a queued job; false when it is running or gone. */
  cancel(id: number): Promise<boolean>;
  /**
   * Puts jobs left `running` by a process that is gone back in the queue, marked resumed, keeping their
   * checkpoint. Returns them.
   */
  recover(): Promise<Job[]>;
  /** Starts taking jobs. */
  start(options: WorkerOptions): void;
  /** Wakes the workers (a job was added elsewhere or its time came). */
  poke(): void;
  /** Resolves when the job has settled (deleted after success, failed, or cancelled). */
  settled(id: number): Promise<'done' | 'failed' | 'gone'>;
  /**
   * Aborts the job of `key` running in this process (its handler sees the signal, as on shutdown) and waits
   * until its handler returned; false when none runs here. Backends that cannot reach other workers' jobs
   * leave this out.
   */
  interrupt?(key: string): Promise<boolean>;
  /** Stops taking jobs, aborts running ones (they end `interrupted` and stay queued) and waits for them. */
  stop(): Promise<void>;
}

/** A stored job row as the queue's callers see it (both backends keep jobs in `_sfbridge_jobs`). */
export function jobFromRow(row: JobRow): Job {
  return {
    id: row.id,
    key: row.key,
    kind: row.kind,
    payload: row.payload,
    priority: JOB_PRIORITIES[row.rank] ?? 'initial',
    runAt: row.runAt,
    state: row.state,
    attempts: row.attempts,
    maxAttempts: row.maxAttempts,
    checkpoint: row.checkpoint,
    resumed: row.attempts > 1 || row.checkpoint !== null,
    error: row.error,
    createdAt: row.createdAt,
  };
}

/**
 * The Bulk API 2.0 engine of one org: owns the job tables and processes jobs in the background.
 *
 * Work happens in chunks (one SQLite transaction each) with a turn of the event loop between chunks, so the
 * HTTP API stays responsive while a million-row job runs, an abort lands between two chunks, and closing the
 * emulator never interrupts a chunk halfway. Jobs are picked round robin. A job found in `UploadComplete` or
 * `InProgress` when the engine starts (after a restart on a file database) continues from its progress pointer.
 */
import type { Org } from '../org.ts';
import { orgWriteLock } from '../composite/write-lock.ts';
import { changeOrigin, inTransactionScope } from '../events/capture.ts';
import { BulkStore, type JobRow } from './store.ts';
import { applyRow, batchesFor, InvalidBatchError, nextRows, planIngest, type IngestPlan } from './ingest.ts';
import { queryStep, type QuerySnapshot } from './query-snapshot.ts';

/** Tunables; tests shrink `chunkSize` to make aborts and restarts land mid-job. */
export interface BulkSettings {
  /** Rows per transaction for ingest and for query snapshots. */
  chunkSize: number;
  /**
   * Maximum raw CSV bytes per upload. Salesforce documents 150 MB measured after base64 encoding, which is
   * 100 MB of raw CSV.
   */
  maxUploadBytes: number;
  /** Records per query-results page when the client sends no `maxRecords`. */
  defaultMaxRecords: number;
  /** Records per `resultUrl` in `/resultPages`. */
  resultPageSize: number;
}

/** Salesforce deletes jobs and their results this long after they reach a final state. */
export const JOB_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;

/** Settings every new engine starts from. */
export const DEFAULT_BULK_SETTINGS: BulkSettings = {
  chunkSize: 2000,
  maxUploadBytes: 100 * 1024 * 1024,
  defaultMaxRecords: 100_000,
  resultPageSize: 100_000,
};

/** Bulk jobs of one org: storage, settings and the background processing loop. */
export class BulkEngine {
  readonly org: Org;
  readonly store: BulkStore;
  readonly settings: BulkSettings = { ...DEFAULT_BULK_SETTINGS };
  /** Query jobs being snapshotted in this process, by job ID (lost on restart, which restarts the snapshot). */
  readonly querySnapshots = new Map<string, QuerySnapshot>();
  #running = false;
  #lastJobId = '';
  /** Validated headers per job, so each chunk does not re-plan. Rebuilt after a restart. */
  readonly #plans = new Map<string, IngestPlan>();
  /** Waiters for `idle()`. */
  #idleWaiters: (() => void)[] = [];

  constructor(org: Org) {
    this.org = org;
    this.store = new BulkStore(org);
  }

  /** Deletes jobs (with rows and results) that reached a final state more than 7 days ago. */
  purgeExpired(): number {
    const ids = this.store.expired(this.org.clock.now() - JOB_RETENTION_MS);
    for (const id of ids) {
      this.forget(id);
      this.store.delete(id);
    }
    return ids.length;
  }

  /** Starts the background loop if it is not running (after a close, an upload-complete, or at start). */
  kick(): void {
    if (this.#running || !this.org.store.db.isOpen) return;
    this.#running = true;
    setImmediate(this.#loop);
  }

  /** Resolves when no job has work left (or the database was closed). */
  idle(): Promise<void> {
    if (!this.#running) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #stop(): void {
    this.#running = false;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }

  #loop = (): void => {
    if (!this.org.store.db.isOpen) return this.#stop();
    // A chunk writes through the org's single SQLite connection. Taking the shared write lock keeps it out of
    // a Composite allOrNone transaction held open across awaits, whose rollback would otherwise undo rows this
    // job already recorded as processed. The job is read inside the lock: it may be aborted while we wait.
    void orgWriteLock(this.org)
      .shared(() => this.#step())
      .then((more) => (more ? setImmediate(this.#loop) : this.#stop()));
  };

  /** Runs one chunk of the next runnable job; false when no job has work left. */
  #step(): boolean {
    if (!this.org.store.db.isOpen) return false;
    const job = this.store.nextRunnable(this.#lastJobId);
    if (!job) return false;
    this.#lastJobId = job.id;
    try {
      if (job.kind === 'ingest') this.#ingestStep(job);
      else queryStep(this, job);
    } catch (err) {
      if (!this.org.store.db.isOpen) return false;
      this.fail(job, `UNKNOWN_EXCEPTION : ${(err as Error).message}`);
    }
    return true;
  }

  /** Moves a job to `Failed` with Salesforce's `errorMessage`; rows not yet attempted stay unprocessed. */
  fail(job: JobRow, message: string): void {
    this.forget(job.id);
    this.store.update(job.id, { state: 'Failed', errorMessage: message, systemModstamp: this.org.clock.now() });
  }

  /** Forgets cached state of a job (on delete/abort). */
  forget(jobId: string): void {
    this.#plans.delete(jobId);
    this.querySnapshots.delete(jobId);
  }

  #ingestStep(job: JobRow): void {
    if (job.state === 'UploadComplete') {
      if (job.pendingError) return this.fail(job, job.pendingError);
      // Nothing was uploaded: there is no header to check and no row to run.
      if (job.header === null) return void this.store.update(job.id, { state: 'JobComplete', systemModstamp: this.org.clock.now() });
      this.store.update(job.id, { state: 'InProgress', systemModstamp: this.org.clock.now() });
      job.state = 'InProgress';
    }
    let plan = this.#plans.get(job.id);
    if (!plan) {
      try {
        plan = planIngest(this.org, job, JSON.parse(job.header ?? '[]') as string[]);
      } catch (err) {
        if (err instanceof InvalidBatchError) return this.fail(job, err.message);
        throw err;
      }
      this.#plans.set(job.id, plan);
    }
    const rows = nextRows(this.store, job, this.settings.chunkSize);
    const started = Date.now();
    const previousUser = this.org.currentUserId;
    // Rows run as the user who created the job (CreatedById/OwnerId), as on Salesforce.
    this.org.currentUserId = job.createdById;
    try {
      // Each chunk is one transaction for change events, made by the Bulk API.
      inTransactionScope(changeOrigin('bulkapi', job.apiVersion, null), () => this.org.store.transaction(() => {
        const record = this.org.store.prepare('UPDATE _bulk_row SET status = ?, record_id = ?, created = ?, error = ? WHERE job_id = ? AND seq = ?');
        let failed = 0;
        for (const row of rows) {
          const out = applyRow(this.org, job, plan, row.cells);
          if (!out.ok) failed++;
          record.run(out.ok ? 1 : 0, out.id, out.created ? 1 : 0, out.error, job.id, row.seq);
        }
        const nextRow = rows.length ? rows[rows.length - 1].seq + 1 : job.totalRows;
        const batches = batchesFor(nextRow) - batchesFor(job.nextRow);
        if (batches > 0) this.org.bumpLimit('DailyBulkApiBatches', batches);
        const elapsed = Date.now() - started;
        const done = nextRow >= job.totalRows;
        this.store.update(job.id, {
          nextRow,
          processed: job.processed + rows.length,
          failed: job.failed + failed,
          totalProcessingTime: job.totalProcessingTime + elapsed,
          apiActiveProcessingTime: job.apiActiveProcessingTime + elapsed,
          systemModstamp: this.org.clock.now(),
          ...(done ? { state: 'JobComplete' as const } : {}),
        });
        if (done) this.#plans.delete(job.id);
      }));
    } finally {
      this.org.currentUserId = previousUser;
    }
  }
}

const engines = new WeakMap<Org, BulkEngine>();

/**
 * The Bulk engine of an org, created (and resumed) on first use. Callers that want jobs left over from a
 * previous run to continue before any Bulk request arrives call this at start-up.
 */
export function bulkEngine(org: Org): BulkEngine {
  let engine = engines.get(org);
  if (!engine) {
    engine = new BulkEngine(org);
    engines.set(org, engine);
    engine.purgeExpired();
    engine.kick();
  }
  return engine;
}

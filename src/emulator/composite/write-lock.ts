/**
 * Org-level write coordination for multi-step atomic operations.
 *
 * Why this exists: every request shares one SQLite connection, and a SAVEPOINT belongs to the connection,
 * not to the request that opened it. A Composite `allOrNone` request must keep its savepoint open while it
 * awaits each subrequest (handlers are async: they read bodies, and fault latency sleeps). Any other
 * request that writes during one of those awaits would write *inside* the composite's savepoint, and the
 * composite's rollback would silently undo a write that already answered 201.
 *
 * The fix is a reader/writer-style lock with two modes:
 * - `exclusive(fn)`: held across awaits by whoever keeps a transaction open over async code (Composite
 *   allOrNone). It waits for in-flight shared sections to finish and blocks new ones until it is done.
 * - `shared(fn)`: taken around ordinary writes (single REST DML, Collections, Tree). Those are synchronous
 *   once their body has been read, so shared holders never overlap a transaction they could corrupt, and
 *   any number of them may run between exclusive sections.
 *
 * Subrequests dispatched by an exclusive holder run in its async context (AsyncLocalStorage), so their own
 * `shared`/`exclusive` calls join the holder instead of deadlocking on it. Waiters are served in arrival
 * order, so a steady stream of single writes cannot starve a composite and vice versa. State changes happen
 * synchronously when the lock is granted, so nothing can slip in between the grant and the holder resuming.
 *
 * Writers outside HTTP handlers (Bulk ingest processing, seeding) should take `shared` too when they may run
 * while a composite is open.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Org } from '../org.ts';

interface Waiter {
  exclusive: boolean;
  wake: () => void;
}

/** Reader/writer lock guarding the org's single SQLite connection against interleaved transactions. */
export class WriteLock {
  readonly #owner = new AsyncLocalStorage<WriteLock>();
  #exclusive = false;
  #shared = 0;
  readonly #queue: Waiter[] = [];

  /** True when the caller runs inside an exclusive section (its writes join the open transaction). */
  get held(): boolean {
    return this.#owner.getStore() === this;
  }

  /** Runs `fn` with no other writer active; re-entrant for code running inside the holder's context. */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.held) return fn();
    await this.#acquire(true);
    try {
      return await this.#owner.run(this, fn);
    } finally {
      this.#exclusive = false;
      this.#drain();
    }
  }

  /** Runs `fn` (usually synchronous DML) when no exclusive section is open. */
  async shared<T>(fn: () => T | Promise<T>): Promise<T> {
    if (this.held) return fn();
    await this.#acquire(false);
    try {
      return await fn();
    } finally {
      this.#shared--;
      this.#drain();
    }
  }

  #canGrant(exclusive: boolean): boolean {
    return exclusive ? !this.#exclusive && this.#shared === 0 : !this.#exclusive;
  }

  #grant(exclusive: boolean): void {
    if (exclusive) this.#exclusive = true;
    else this.#shared++;
  }

  #acquire(exclusive: boolean): Promise<void> {
    if (this.#queue.length === 0 && this.#canGrant(exclusive)) {
      this.#grant(exclusive);
      return Promise.resolve();
    }
    return new Promise((wake) => this.#queue.push({ exclusive, wake }));
  }

  #drain(): void {
    while (this.#queue.length > 0 && this.#canGrant(this.#queue[0].exclusive)) {
      const next = this.#queue.shift()!;
      this.#grant(next.exclusive);
      next.wake();
    }
  }
}

const locks = new WeakMap<Org, WriteLock>();

/** The write lock of an org (one per Org instance, created on first use). */
export function orgWriteLock(org: Org): WriteLock {
  let lock = locks.get(org);
  if (!lock) {
    lock = new WriteLock();
    locks.set(org, lock);
  }
  return lock;
}

let savepointSeq = 0;

/**
 * Runs async `fn` as one all-or-nothing unit: exclusive lock, a savepoint around everything `fn` writes,
 * rolled back when `fn` throws or when `commit(result)` says so. Nested calls (a Collections subrequest
 * inside an allOrNone Composite) open an inner savepoint inside the outer one.
 */
export async function atomically<T>(org: Org, fn: () => Promise<T>, commit: (result: T) => boolean = () => true): Promise<T> {
  return orgWriteLock(org).exclusive(async () => {
    const name = `sfb_atomic_${++savepointSeq}`;
    const db = org.store.db;
    db.exec(`SAVEPOINT ${name}`);
    let result: T;
    try {
      result = await fn();
    } catch (err) {
      db.exec(`ROLLBACK TO ${name}; RELEASE ${name}`);
      org.store.notifyCommit();
      throw err;
    }
    if (commit(result)) db.exec(`RELEASE ${name}`);
    else db.exec(`ROLLBACK TO ${name}; RELEASE ${name}`);
    org.store.notifyCommit();
    return result;
  });
}

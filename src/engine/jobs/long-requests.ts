/**
 * A cap on each org's long-running requests, shared by every run of a process (embedded) or of the fleet
 * (Postgres). Salesforce refuses a request (403 REQUEST_LIMIT_EXCEEDED, ConcurrentPerOrgLongTxn) while 25 of
 * the org's requests have each run 20 s or more. Whether a request will run that long is not known when it
 * starts, so every call that may (query pages, Composite and Collections, Bulk uploads and result
 * downloads: the client's `long` calls) holds one of the org's slots from before it is sent until it is
 * answered, and a call that finds every slot taken waits. At most the cap is then in flight, so at most
 * the cap can be long at the org, whichever of them turn out slow.
 *
 * The fleet's slots are rows of `_sfbridge_long_requests` in the service store (org, holder, heartbeat):
 * a slot is taken by an insert made under the org's advisory lock only when fewer than the cap live rows
 * exist; the holder's process refreshes its rows' heartbeat every few seconds, so the rows of a SIGKILLed
 * worker stop counting after {@link LONG_REQUEST_STALE_MS} and are deleted later.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import pg from 'pg';
import { Semaphore, type SharedLongSlots } from '../../client/governor.ts';
import { parseStoreUrl } from '../../store/index.ts';

/** Long-running requests per org the fleet keeps in flight at most, unless the connection says otherwise (Salesforce allows 25). */
export const DEFAULT_LONG_REQUESTS = 20;
/** A slot row whose heartbeat is older than this no longer counts (its process died). */
export const LONG_REQUEST_STALE_MS = 30_000;
/** How often a process refreshes the heartbeat of the slots it holds. */
const HEARTBEAT_MS = 5_000;
/** Rows this much older than the staleness limit are deleted. */
const PURGE_AFTER_MS = 10 * 60_000;

/** Long-request slots per org. */
export interface LongRequestSlots {
  /** The slots of one org (by org id), `cap` at most in flight. */
  forOrg(org: string, cap: number): SharedLongSlots;
  close(): Promise<void>;
}

/** One process's slots per org (the embedded store: the service is the only caller). */
export class LocalLongRequests implements LongRequestSlots {
  readonly #orgs = new Map<string, Semaphore>();

  forOrg(org: string, cap: number): SharedLongSlots {
    let s = this.#orgs.get(org);
    // A changed cap takes effect for new requests; those in flight release into the semaphore they took.
    if (!s || s.size !== cap) this.#orgs.set(org, (s = new Semaphore(cap)));
    const sem = s;
    return { acquire: (signal) => sem.acquire(signal) };
  }

  /** Slots in use per org (tests, metrics). */
  inUse(org: string): number {
    return this.#orgs.get(org)?.inUse ?? 0;
  }

  async close(): Promise<void> {}
}

const quote = (id: string) => `"${id.replace(/"/g, '""')}"`;

/** The fleet's slots per org, in the Postgres service store. */
export class PostgresLongRequests implements LongRequestSlots {
  readonly #pool: pg.Pool;
  readonly #table: string;
  readonly #schema: string;
  readonly #holder = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  readonly #held = new Set<number>();
  /** Waiters of this process, woken when one of its slots is given back (others' releases are polled). */
  readonly #wakers = new Set<() => void>();
  #ready: Promise<void> | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(storeUrl: string) {
    const target = parseStoreUrl(storeUrl);
    if (target.kind !== 'postgres') throw new TypeError('shared long-request slots need a postgres:// store');
    this.#schema = target.schema ?? 'public';
    this.#pool = new pg.Pool({ connectionString: target.connectionString, max: 2 });
    this.#pool.on('error', () => undefined);
    this.#table = `${quote(this.#schema)}."_sfbridge_long_requests"`;
  }

  #open(): Promise<void> {
    this.#ready ??= (async () => {
      const c = await this.#pool.connect();
      try {
        // Serialised: CREATE … IF NOT EXISTS can still collide when two processes run it at once.
        await c.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [`sfbridge:long-requests:${this.#schema}`]);
        try {
          await c.query(`CREATE SCHEMA IF NOT EXISTS ${quote(this.#schema)}`);
          await c.query(`CREATE TABLE IF NOT EXISTS ${this.#table} (id bigserial PRIMARY KEY, org text NOT NULL, holder text NOT NULL, started_at timestamptz NOT NULL DEFAULT clock_timestamp(), heartbeat_at timestamptz NOT NULL DEFAULT clock_timestamp())`);
          await c.query(`CREATE INDEX IF NOT EXISTS "_sfbridge_long_requests_org" ON ${this.#table} (org, heartbeat_at)`);
        } finally {
          await c.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [`sfbridge:long-requests:${this.#schema}`]);
        }
      } finally {
        c.release();
      }
    })();
    this.#ready.catch(() => (this.#ready = undefined));
    return this.#ready;
  }

  /** Takes a slot if fewer than `cap` live ones exist; its row id, or undefined when all are taken. */
  async #take(org: string, cap: number): Promise<number | undefined> {
    const c = await this.#pool.connect();
    try {
      await c.query('BEGIN');
      await c.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`sfbridge:long:${this.#schema}:${org}`]);
      const { rows } = await c.query<{ id: string }>(
        `INSERT INTO ${this.#table} (org, holder) SELECT $1, $2 WHERE (SELECT count(*) FROM ${this.#table} WHERE org = $1 AND heartbeat_at > clock_timestamp() - make_interval(secs => $3)) < $4 RETURNING id`,
        [org, this.#holder, LONG_REQUEST_STALE_MS / 1000, cap],
      );
      await c.query('COMMIT');
      return rows[0] ? Number(rows[0].id) : undefined;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  }

  #beat(): void {
    if (this.#heartbeat || this.#closed) return;
    this.#heartbeat = setInterval(() => {
      if (!this.#held.size) {
        clearInterval(this.#heartbeat);
        this.#heartbeat = undefined;
        return;
      }
      void this.#pool.query(`UPDATE ${this.#table} SET heartbeat_at = clock_timestamp() WHERE id = ANY($1::bigint[])`, [[...this.#held]]).catch(() => undefined);
      void this.#pool.query(`DELETE FROM ${this.#table} WHERE heartbeat_at < clock_timestamp() - make_interval(secs => $1)`, [(LONG_REQUEST_STALE_MS + PURGE_AFTER_MS) / 1000]).catch(() => undefined);
    }, HEARTBEAT_MS);
    this.#heartbeat.unref();
  }

  forOrg(org: string, cap: number): SharedLongSlots {
    return {
      acquire: async (signal?: AbortSignal) => {
        await this.#open();
        let wait = 20;
        for (;;) {
          signal?.throwIfAborted();
          const id = await this.#take(org, cap);
          if (id !== undefined) {
            this.#held.add(id);
            this.#beat();
            let released = false;
            return () => {
              if (released) return;
              released = true;
              void this.#pool
                .query(`DELETE FROM ${this.#table} WHERE id = $1`, [id])
                .catch(() => undefined)
                .finally(() => {
                  this.#held.delete(id);
                  for (const wake of [...this.#wakers]) wake();
                });
            };
          }
          // Full: look again soon (another process's release), or at once when one of ours is given back.
          await new Promise<void>((resolve, reject) => {
            const cleanup = () => {
              clearTimeout(timer);
              this.#wakers.delete(wake);
              signal?.removeEventListener('abort', onAbort);
            };
            const wake = () => {
              cleanup();
              resolve();
            };
            const onAbort = () => {
              cleanup();
              reject(signal!.reason);
            };
            const timer = setTimeout(wake, wait);
            this.#wakers.add(wake);
            signal?.addEventListener('abort', onAbort, { once: true });
          });
          wait = Math.min(250, Math.round(wait * 1.5));
        }
      },
    };
  }

  /** Live slots per org across the fleet (tests, the dashboard). */
  async inUse(org: string): Promise<number> {
    await this.#open();
    const { rows } = await this.#pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${this.#table} WHERE org = $1 AND heartbeat_at > clock_timestamp() - make_interval(secs => $2)`, [org, LONG_REQUEST_STALE_MS / 1000]);
    return Number(rows[0].n);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#heartbeat);
    await this.#pool.end().catch(() => undefined);
  }
}

/**
 * API budget governor. Salesforce counts every REST call against a rolling 24 h allocation shared by the
 * whole org; one runaway sync can starve every other integration. The governor reads `Sforce-Limit-Info`
 * from each response and, before each call:
 * - refuses when this run has used its share (default 25 % of what remained when the run started);
 * - refuses or pauses when the org is at its ceiling (default 80 % of the allocation);
 * - caps concurrent long-running requests (query pages, composite) with a semaphore.
 * A refusal is always a {@link LimitError} with the numbers, never a silent success.
 *
 * The first reading comes from the first response's header, not from a `GET /limits` of its own (which would
 * cost every run one call). Until that reading exists exactly one call is admitted (the probe) and every other
 * caller waits for the reading, so parallel calls cannot overshoot a budget nobody has read yet: a run that
 * starts with the org already at its ceiling is refused after at most one call. `/limits` is read only when the
 * probe's response carried no header, and while paused at the ceiling (to see usage drop).
 */
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { ERROR_CODES, LimitError, type LimitNumbers } from './errors.ts';

/** Default share of the remaining daily allocation one run may use. */
export const DEFAULT_RUN_SHARE = 0.25;
/** Default ceiling: never push the org past this fraction of its daily allocation. */
export const DEFAULT_ORG_CEILING = 0.8;
/** Default cap on concurrent long-running requests (Developer Edition orgs allow 5 org-wide). */
export const DEFAULT_MAX_CONCURRENT_LONG = 4;
/** In pause mode: how often the governor re-reads /limits, and for how long it waits in total. */
export const DEFAULT_PAUSE_POLL_MS = 60_000;
export const DEFAULT_MAX_PAUSE_MS = 30 * 60_000;

/** An API usage reading. */
export interface UsageReading {
  used: number;
  max: number;
}

export interface GovernorOptions {
  /** Fraction (0..1] of the calls remaining at the start that this run may make. */
  runShare?: number;
  /** Fraction (0..1] of the daily allocation the org may reach. */
  orgCeiling?: number;
  /** Concurrent long-running requests allowed. */
  maxConcurrentLong?: number;
  /** At the org ceiling: `throw` at once (default) or `pause` and poll until usage drops. */
  onCeiling?: 'throw' | 'pause';
  pausePollMs?: number;
  maxPauseMs?: number;
}

/**
 * The org's budget as a fleet of processes sees it (one per org, e.g. kept in Postgres): every admitted
 * call is counted there before it is made, and every reading raises the count to at least what Salesforce
 * reported, so processes that share it stop at one ceiling together.
 */
export interface SharedBudget {
  /**
   * Counts one call if the fleet's count stays within `ceiling` (a fraction of the allocation). `known`
   * is false while no process has a reading yet (the caller then decides alone).
   */
  take(ceiling: number, signal?: AbortSignal): Promise<{ known: boolean; ok: boolean; used: number; max: number }>;
  /** A reading from a response's Sforce-Limit-Info (or `/limits`). */
  observe(reading: UsageReading): Promise<void>;
}

/**
 * The org's long-running request slots as every client of a process or a fleet shares them: at most the
 * cap in flight at once (Salesforce refuses a request while 25 of the org's have run 20 s or more).
 */
export interface SharedLongSlots {
  /** Waits for a slot; call the returned function when the request is answered. */
  acquire(signal?: AbortSignal): Promise<() => void>;
}

/** Events: a new reading, a refusal (also thrown), a pause and its end. */
export interface GovernorEvents {
  reading: [UsageReading];
  refused: [LimitError];
  paused: [LimitNumbers];
  resumed: [LimitNumbers];
}

/** Parses `api-usage=used/max` from a Sforce-Limit-Info header value. */
export function parseLimitInfo(value: string | null | undefined): UsageReading | undefined {
  const m = value ? /api-usage=(\d+)\/(\d+)/i.exec(value) : null;
  return m ? { used: Number(m[1]), max: Number(m[2]) } : undefined;
}

/** Counting semaphore with abortable waits. */
export class Semaphore {
  readonly size: number;
  #inUse = 0;
  readonly #waiters: Array<() => void> = [];
  constructor(size: number) {
    this.size = size;
  }
  get inUse(): number {
    return this.#inUse;
  }
  async acquire(signal?: AbortSignal): Promise<() => void> {
    signal?.throwIfAborted();
    if (this.#inUse < this.size) {
      this.#inUse++;
      return this.#releaser();
    }
    await new Promise<void>((resolve, reject) => {
      const wake = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        const i = this.#waiters.indexOf(wake);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(signal!.reason);
      };
      this.#waiters.push(wake);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    return this.#releaser();
  }
  #releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.#waiters.shift();
      // Hand the slot straight to the next waiter so the count never dips and lets a newcomer jump the queue.
      if (next) next();
      else this.#inUse--;
    };
  }
}

/** Governs one run's API usage against one org. Share an instance between clients of the same run. */
export class ApiGovernor extends EventEmitter<GovernorEvents> {
  readonly runShare: number;
  readonly orgCeiling: number;
  readonly long: Semaphore;
  readonly #onCeiling: 'throw' | 'pause';
  readonly #pollMs: number;
  readonly #maxPauseMs: number;
  #reading: UsageReading | undefined;
  #start: UsageReading | undefined;
  #runUsed = 0;
  #inflight = 0;
  /** Calls this run had made when the first reading arrived (they are inside that reading's `used`). */
  #startRunUsed = 0;
  /** The first-reading phase: a probe call is out (or `/limits` is being read); other callers wait on it. */
  #probe: { done: Promise<void>; settle: () => void } | undefined;
  /** True once the probe (and the `/limits` fallback) ran without yielding a reading: admit unchecked. */
  #unreadable = false;
  /** The fleet's shared view of the org's budget, when this process is one of many (set before the first call). */
  shared: SharedBudget | undefined;
  /** The org's long-running request slots shared with other runs (and processes), when set: long calls take one too. */
  sharedLong: SharedLongSlots | undefined;
  /** Reads `/limits`; wired by the client, used in pause mode and when responses carry no Sforce-Limit-Info. */
  readLimits: ((signal?: AbortSignal) => Promise<UsageReading | undefined>) | undefined;

  constructor(opts: GovernorOptions = {}) {
    super();
    this.runShare = checkFraction(opts.runShare ?? DEFAULT_RUN_SHARE, 'runShare');
    this.orgCeiling = checkFraction(opts.orgCeiling ?? DEFAULT_ORG_CEILING, 'orgCeiling');
    this.long = new Semaphore(opts.maxConcurrentLong ?? DEFAULT_MAX_CONCURRENT_LONG);
    this.#onCeiling = opts.onCeiling ?? 'throw';
    this.#pollMs = opts.pausePollMs ?? DEFAULT_PAUSE_POLL_MS;
    this.#maxPauseMs = opts.maxPauseMs ?? DEFAULT_MAX_PAUSE_MS;
  }

  /** Latest reading, if any. */
  get reading(): UsageReading | undefined {
    return this.#reading;
  }

  /** Calls this run may make (undefined until the first reading). */
  get runBudget(): number | undefined {
    return this.#start ? Math.floor(this.runShare * this.#startRemaining()) : undefined;
  }

  /** Calls the org had left when the run started: the first reading already counts this run's probe. */
  #startRemaining(): number {
    return this.#start ? Math.max(0, this.#start.max - this.#start.used + this.#startRunUsed) : 0;
  }

  /** Calls this run has made. */
  get runUsed(): number {
    return this.#runUsed;
  }

  /** Records a reading from a response's Sforce-Limit-Info header (or /limits). */
  observe(reading: UsageReading | string | null | undefined): void {
    const r = typeof reading === 'string' || reading == null ? parseLimitInfo(reading) : reading;
    if (!r) return;
    this.#reading = r;
    void this.shared?.observe(r).catch(() => undefined);
    if (!this.#start) {
      this.#start = r;
      this.#startRunUsed = this.#runUsed;
    }
    this.emit('reading', r);
    // Callers held back by the probe may go as soon as its headers are read (not when its body is done).
    this.#probe?.settle();
  }

  /**
   * Admits one API call: throws {@link LimitError} when the run budget or org ceiling forbids it (or pauses,
   * in pause mode), and for long-running calls waits for a semaphore slot. Call the returned function when
   * the call finished.
   */
  async admit(opts: { long?: boolean; signal?: AbortSignal } = {}): Promise<() => void> {
    let probing = false;
    if (!this.#reading && this.shared) {
      // Another process already read the org: its count stands in for the probe's reading.
      const fleet = await this.shared.take(this.orgCeiling, opts.signal).catch(() => undefined);
      if (fleet?.known) return this.#admitShared(fleet, opts);
    }
    while (!this.#reading && !this.#unreadable) {
      if (!this.#probe) {
        // This call is the probe: it goes unchecked (there is nothing to check against yet) and its
        // response's Sforce-Limit-Info becomes the first reading.
        let settle!: () => void;
        const done = new Promise<void>((resolve) => (settle = resolve));
        this.#probe = { done, settle };
        probing = true;
        break;
      }
      await abortable(this.#probe.done, opts.signal);
    }
    await this.#check(opts.signal);
    if (this.shared && !probing) {
      const fleet = await this.shared.take(this.orgCeiling, opts.signal).catch(() => undefined);
      if (fleet?.known && !fleet.ok) throw this.#refuse(this.#ceilingError({ ...this.numbers(), used: fleet.used, max: fleet.max, ceiling: Math.floor(this.orgCeiling * fleet.max) }, 'the fleet has'));
    }
    let releaseSlot: (() => void) | undefined;
    try {
      releaseSlot = opts.long ? await this.#longSlot(opts.signal) : undefined;
    } catch (err) {
      if (probing) this.#endProbe();
      throw err;
    }
    this.#runUsed++;
    this.#inflight++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#inflight--;
      releaseSlot?.();
      if (probing) void this.#afterProbe();
    };
  }

  /** Admission decided by the fleet's count before this process has a reading of its own. */
  async #admitShared(fleet: { ok: boolean; used: number; max: number }, opts: { long?: boolean; signal?: AbortSignal }): Promise<() => void> {
    if (!fleet.ok) throw this.#refuse(this.#ceilingError({ ...this.numbers(), used: fleet.used, max: fleet.max, ceiling: Math.floor(this.orgCeiling * fleet.max) }, 'the fleet has'));
    const releaseSlot = opts.long ? await this.#longSlot(opts.signal) : undefined;
    this.#runUsed++;
    this.#inflight++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#inflight--;
      releaseSlot?.();
    };
  }

  /** A long-running slot: this run's own, then the org's shared one. */
  async #longSlot(signal?: AbortSignal): Promise<() => void> {
    const local = await this.long.acquire(signal);
    if (!this.sharedLong) return local;
    try {
      const shared = await this.sharedLong.acquire(signal);
      return () => {
        shared();
        local();
      };
    } catch (err) {
      local();
      throw err;
    }
  }

  #ceilingError(n: LimitNumbers, who = 'org API usage is'): LimitError {
    return new LimitError(ERROR_CODES.orgCeiling, `${who === 'org API usage is' ? who : `${who} counted the org's API usage`} at its ceiling: ${n.used}/${n.max} calls used in the last 24 h, ceiling ${pct(this.orgCeiling)} = ${n.ceiling}. Wait for the rolling window to free calls, or raise the ceiling (other integrations share this allocation)`, n);
  }

  /**
   * The probe finished. Without a reading from it, read `/limits` once: a reading ends the wait; an answer
   * without one (no header, no `/limits` access) means usage cannot be read here, so calls go unchecked; a
   * failed read (network) leaves the next call to probe again.
   */
  async #afterProbe(): Promise<void> {
    if (!this.#reading) {
      if (!this.readLimits) this.#unreadable = true;
      else {
        try {
          const r = await this.readLimits();
          if (r) this.observe(r);
          else this.#unreadable = true;
        } catch {
          // Transient: the next admitted call becomes the probe.
        }
      }
    }
    this.#endProbe();
  }

  #endProbe(): void {
    const p = this.#probe;
    this.#probe = undefined;
    p?.settle();
  }

  /** The numbers a refusal would carry right now. */
  numbers(): LimitNumbers {
    const r = this.#reading ?? { used: 0, max: 0 };
    return { used: r.used, max: r.max, runBudget: this.runBudget ?? 0, runUsed: this.#runUsed, ceiling: Math.floor(this.orgCeiling * r.max) };
  }

  async #check(signal?: AbortSignal): Promise<void> {
    if (!this.#reading) return;
    const budget = this.runBudget ?? Infinity;
    if (this.#runUsed + 1 > budget) {
      const n = this.numbers();
      throw this.#refuse(new LimitError(ERROR_CODES.runBudget, `API budget for this run is spent: ${n.runUsed} of ${n.runBudget} calls used (${pct(this.runShare)} of the ${this.#startRemaining()} calls the org had left when the run started; org at ${n.used}/${n.max}). Raise the run share, or continue in a later run`, n));
    }
    const pausedAt = Date.now();
    let paused = false;
    for (;;) {
      const n = this.numbers();
      // Calls in flight have not shown up in a reading yet; count them so parallel calls cannot overshoot.
      if (n.used + this.#inflight + 1 <= n.ceiling) break;
      const err = this.#ceilingError(n);
      if (this.#onCeiling === 'throw' || !this.readLimits || Date.now() - pausedAt >= this.#maxPauseMs) throw this.#refuse(err);
      if (!paused) this.emit('paused', n);
      paused = true;
      await sleep(this.#pollMs, undefined, { signal });
      this.observe(await this.readLimits(signal));
    }
    if (paused) this.emit('resumed', this.numbers());
  }

  #refuse(err: LimitError): LimitError {
    this.emit('refused', err);
    return err;
  }
}

/** Waits for `p`, or rejects with the signal's reason when it aborts first. */
function abortable(p: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return p;
  signal.throwIfAborted();
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}

function checkFraction(v: number, name: string): number {
  if (!(v > 0 && v <= 1)) throw new RangeError(`${name} must be a fraction in (0, 1], got ${v}`);
  return v;
}

function pct(f: number): string {
  return `${Math.round(f * 100)}%`;
}

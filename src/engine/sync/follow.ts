/**
 * A sync that follows change events: after the initial cycle, the objects in CDC mode follow their change
 * events ({@link followChanges}) while the others are polled every interval, and the CDC objects get a slow
 * polling pass of their own (the safety net: a cursor read of what changed since the last pass, the
 * COUNT() check with its hard-delete reconciliation, the formula-field refresh and the schema check, on their
 * usual schedules). Every read by the cursor (polls, safety-net passes, the catch-ups after an overflow or an
 * expired replay id) runs one at a time, as runs of their own.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { SalesforceClient } from '../../client/index.ts';
import type { PubSubClient, PubSubEvent } from '../../client/pubsub/client.ts';
import type { Store } from '../../store/types.ts';
import type { RunSummary } from '../events.ts';
import { followChanges } from './cdc.ts';

/** Why a cycle runs while following. */
export type FollowCycleKind = 'poll' | 'safety-net' | 'overflow' | 'replay-expired';

export interface FollowSyncOptions {
  /** The client change events are applied with (gap re-reads, describe). */
  client: SalesforceClient;
  pubsub: PubSubClient;
  store: Store;
  /** Objects that follow their change events. */
  cdcObjects: readonly string[];
  /** Objects polled every `intervalMs`. */
  pollObjects: readonly string[];
  intervalMs: number;
  /** Period of the safety-net pass over the CDC objects. */
  safetyNetMs: number;
  /** Runs one sync cycle over `objects` (a fresh client and budget each time, as the caller sees fit). */
  cycle: (objects: readonly string[], kind: FollowCycleKind) => Promise<RunSummary>;
  onApplied?: (object: string, events: readonly PubSubEvent[], rows: number) => void;
  /** Called before a catch-up read (an overflow, an expired replay id). */
  onCatchUp?: (object: string, reason: 'overflow' | 'replay-expired') => void;
  signal: AbortSignal;
  now?: () => number;
}

/** Thrown when a catch-up read could not complete (the follower stops: its position would be wrong). */
export class CatchUpError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CatchUpError';
  }
}

/**
 * Follows and polls until the signal aborts (resolves) or the change stream fails in a way resubscribing
 * cannot fix (rejects). A failed poll or safety-net cycle is reported by `cycle` and retried at its next time.
 */
export async function followSync(opts: FollowSyncOptions): Promise<void> {
  const now = opts.now ?? Date.now;
  let lock: Promise<unknown> = Promise.resolve();
  /** One cursor read at a time: catch-ups, polls and safety-net passes never overlap on an object. */
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = lock.then(fn, fn);
    lock = next.catch(() => {});
    return next;
  };
  const inner = new AbortController();
  const onAbort = () => inner.abort();
  opts.signal.addEventListener('abort', onAbort, { once: true });
  const following = opts.cdcObjects.length === 0 ? Promise.resolve() : followChanges({
    client: opts.client, pubsub: opts.pubsub, store: opts.store, objects: opts.cdcObjects, signal: inner.signal,
    onApplied: opts.onApplied,
    catchUp: async (object, reason) => {
      opts.onCatchUp?.(object, reason);
      const run = await serial(() => opts.cycle([object], reason));
      if (run.status !== 'succeeded' && !inner.signal.aborted) throw new CatchUpError(`the catch-up read of ${object} (${reason}) ${run.status}${run.error ? `: ${run.error}` : ''}`);
    },
  });
  // The follower failing stops the polling loop too.
  const failed = following.then(() => undefined, (err: unknown) => {
    inner.abort();
    return err;
  });
  const polling = (async () => {
    let nextPoll = opts.pollObjects.length ? now() + opts.intervalMs : Infinity;
    let nextNet = opts.cdcObjects.length ? now() + opts.safetyNetMs : Infinity;
    while (!inner.signal.aborted && (nextPoll < Infinity || nextNet < Infinity)) {
      const wait = Math.max(0, Math.min(nextPoll, nextNet) - now());
      try {
        await sleep(wait, undefined, { signal: inner.signal });
      } catch {
        return;
      }
      const t = now();
      // A poll and a safety-net pass that fall due together still run (and report) as two runs.
      if (t >= nextPoll) {
        nextPoll = t + opts.intervalMs;
        await serial(() => opts.cycle(opts.pollObjects, 'poll'));
      }
      if (t >= nextNet && !inner.signal.aborted) {
        nextNet = t + opts.safetyNetMs;
        await serial(() => opts.cycle(opts.cdcObjects, 'safety-net'));
      }
    }
  })();
  try {
    await polling;
    const err = await failed;
    if (err !== undefined && !opts.signal.aborted) throw err;
  } finally {
    opts.signal.removeEventListener('abort', onAbort);
    inner.abort();
    await following.catch(() => {});
  }
}

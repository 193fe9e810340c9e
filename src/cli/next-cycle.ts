/**
 * When a continuous `sfbridge sync` starts its next cycle, kept in the store it syncs (a checkpoint row), so
 * `sfbridge runs` can say when the next run comes, and by which process, while that process runs.
 */
import { hostname } from 'node:os';
import type { Store } from '../store/types.ts';

/** Checkpoint key of the next-cycle record (not an object name: those never contain a colon). */
const KEY = 'sfbridge:next-cycle';

/** The next cycle of a running continuous sync. */
export interface NextCycle {
  /** ISO 8601 UTC. */
  at: string;
  pid: number;
  host: string;
}

/** Records the next cycle of this process (or, with `null`, that it stopped). */
export async function writeNextCycle(store: Store, at: Date | null): Promise<void> {
  await store.setCheckpoint(KEY, null, at ? { at: at.toISOString(), pid: process.pid, host: hostname() } : { stopped: new Date().toISOString() });
}

/**
 * The recorded next cycle, unless its process stopped: it said so, or it runs on this host and is gone (a
 * process killed with SIGKILL leaves its record behind). A record from another host is taken as it is.
 */
export async function readNextCycle(store: Store): Promise<NextCycle | undefined> {
  const extra = (await store.getCheckpoint(KEY))?.extra as Partial<NextCycle> | null | undefined;
  if (!extra?.at || typeof extra.pid !== 'number' || typeof extra.host !== 'string') return undefined;
  if (extra.host === hostname()) {
    try {
      process.kill(extra.pid, 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') return undefined;
    }
  }
  return { at: extra.at, pid: extra.pid, host: extra.host };
}

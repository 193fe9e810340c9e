/**
 * The CLI's cache directory: what a repeat `sfbridge bulk …` can reuse from the last run against the same org —
 * describes (revalidated or reused, see `FileDescribeCache`) and learned Bulk ingest rates (so each job's
 * first status poll lands just after the job ends instead of being planned from a guess). Nothing secret is
 * kept here: entries are keyed by instance URL, object and operation, never by a token or user.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { BulkIngestRate, BulkRateStore } from '../client/index.ts';

/** Overrides the cache directory; `off` disables the cache (every run then starts from nothing). */
export const CACHE_DIR_ENV = 'SFBRIDGE_CACHE_DIR';
/** Learned rates kept in the rate file (the most recently measured win): one per org, object and operation. */
export const MAX_RATE_ENTRIES = 500;

/**
 * The cache directory: `$SFBRIDGE_CACHE_DIR`; else `$SFBRIDGE_HOME/cache` when SFBRIDGE_HOME is set (so a
 * relocated sfbridge home, as tests and containers use, keeps everything in one place); else
 * `$XDG_CACHE_HOME/sfbridge` or `~/.cache/sfbridge`. `undefined` when `SFBRIDGE_CACHE_DIR=off`.
 */
export function cacheDir(env: NodeJS.ProcessEnv): string | undefined {
  const set = env[CACHE_DIR_ENV];
  if (set === 'off') return undefined;
  if (set) return set;
  if (env.SFBRIDGE_HOME) return join(env.SFBRIDGE_HOME, 'cache');
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'sfbridge');
}

/**
 * A {@link BulkRateStore} in one small JSON file (`bulk-rates.json`: key → rate). Reads and writes are
 * synchronous and whole-file (a few KB), written atomically (temp file + rename); a missing or corrupt file
 * is an empty store, and a failed write is ignored by the caller (it only costs a later run a poll).
 */
export class FileBulkRateStore implements BulkRateStore {
  readonly path: string;
  constructor(dir: string) {
    this.path = join(dir, 'bulk-rates.json');
  }

  async get(key: string): Promise<BulkIngestRate | undefined> {
    // Shape checks are the reader's (Bulk2 ignores a rate it cannot plan with).
    return this.#read()[key];
  }

  async set(key: string, rate: BulkIngestRate): Promise<void> {
    const all = this.#read();
    all[key] = rate;
    const kept = Object.entries(all).sort((a, b) => (b[1].measuredAt ?? 0) - (a[1].measuredAt ?? 0)).slice(0, MAX_RATE_ENTRIES);
    mkdirSync(join(this.path, '..'), { recursive: true });
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(Object.fromEntries(kept)));
    renameSync(tmp, this.path);
  }

  #read(): Record<string, BulkIngestRate> {
    try {
      const parsed = JSON.parse(readFileSync(this.path, 'utf8')) as unknown;
      return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, BulkIngestRate>) : {};
    } catch {
      return {};
    }
  }
}

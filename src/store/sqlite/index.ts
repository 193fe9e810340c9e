/**
 * SQLite backend entry: `openSqliteStore(':memory:' | path)`. Only `src/store/index.ts` imports this.
 */
import { MirrorStore } from '../core.ts';
import type { OpenStoreOptions, Store } from '../types.ts';
import { SqliteDriver } from './driver.ts';

/** Opens (creating if needed) an SQLite store at `path` (`:memory:` for a private in-memory database). */
export async function openSqliteStore(path: string, options: OpenStoreOptions = {}): Promise<Store> {
  return MirrorStore.open(new SqliteDriver(path), options.deleteMode);
}

/**
 * Postgres backend entry: `openPostgresStore(connectionString, { schema })`. Only `src/store/index.ts`
 * imports this.
 */
import { MirrorStore } from '../core.ts';
import type { OpenStoreOptions, Store } from '../types.ts';
import { PostgresDriver } from './driver.ts';

/** Opens a Postgres store, creating its schema and bookkeeping tables if needed. */
export async function openPostgresStore(connectionString: string, options: OpenStoreOptions = {}): Promise<Store> {
  const driver = new PostgresDriver(connectionString, options.schema ?? 'public', options.maxConnections ?? 4, options.lowercaseViews === true);
  return MirrorStore.open(driver, options.deleteMode);
}

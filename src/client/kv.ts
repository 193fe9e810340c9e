/**
 * The small async key → value store the client persists what it learns in: describes (`DescribeCache`) and
 * Bulk ingest rates (`BulkRateStore`) share this shape, so a backend (memory, a file, the publisher's state
 * store) is written once and serves both.
 */

/** An async key → value store. Values must survive a JSON round trip when the backend persists them. */
export interface KeyValueStore<T> {
  get(key: string): Promise<T | undefined>;
  set(key: string, value: T): Promise<void>;
}

/** A {@link KeyValueStore} in memory, for one process's lifetime. */
export class MemoryKeyValueStore<T> implements KeyValueStore<T> {
  readonly entries = new Map<string, T>();
  async get(key: string): Promise<T | undefined> {
    return this.entries.get(key);
  }
  async set(key: string, value: T): Promise<void> {
    this.entries.set(key, value);
  }
}

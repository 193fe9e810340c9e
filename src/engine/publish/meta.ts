/**
 * What the publisher remembers about the org between runs, kept in its state store so that a run does not
 * pay for what the last one already learned: object describes (the Bulk column check) and the measured Bulk
 * ingest rate (the first status poll's timing). Both live in the state's cursor table under keys that start
 * with `#`, which pipeline names cannot (the same place the publisher tracks bulk jobs in flight).
 */
import { Bulk2, type BulkIngestRate, type BulkRateStore, type DescribeCache, type DescribeCacheEntry, type KeyValueStore, type SalesforceClient } from '../../client/index.ts';
import type { JsonValue, PublishState } from '../../store/index.ts';

/**
 * How long the publisher trusts a describe the org confirmed, across runs, before asking again. A new field
 * is never refused because of it: a column missing from the cached describe makes the check ask the org once.
 */
export const PUBLISH_DESCRIBE_FRESH_MS = 24 * 60 * 60_000;

const DESCRIBE_PREFIX = '#describe ';
const RATE_PREFIX = '#bulk-rate ';

/**
 * Entries under one key prefix of the publisher's state store (its cursor table, beside the bulk jobs in
 * flight), so what a run learns needs no table of its own.
 */
class StateEntries<T> implements KeyValueStore<T> {
  readonly #state: PublishState;
  readonly #prefix: string;
  constructor(state: PublishState, prefix: string) {
    this.#state = state;
    this.#prefix = prefix;
  }
  async get(key: string): Promise<T | undefined> {
    const v = await this.#state.getCursor(this.#prefix + key);
    return (v?.cursor ?? undefined) as T | undefined;
  }
  async set(key: string, value: T): Promise<void> {
    await this.#state.setCursor(this.#prefix + key, { cursor: value as unknown as JsonValue, key: null });
  }
}

/** A {@link DescribeCache} over the publisher's state store. */
export class StateDescribeCache extends StateEntries<DescribeCacheEntry> implements DescribeCache {
  constructor(state: PublishState) {
    super(state, DESCRIBE_PREFIX);
  }
}

/** A {@link BulkRateStore} over the publisher's state store. */
export class StateBulkRateStore extends StateEntries<BulkIngestRate> implements BulkRateStore {
  constructor(state: PublishState) {
    super(state, RATE_PREFIX);
  }
}

/**
 * The client's Bulk API 2.0 surface with the publisher's memory: describes and learned rates in `state`.
 * Undefined when the client has no `bulk` (then the publisher falls back to what the caller gave).
 */
export function publisherBulk(client: SalesforceClient, state: PublishState, describeFreshForMs = PUBLISH_DESCRIBE_FRESH_MS): Bulk2 | undefined {
  if (!((client as { bulk?: unknown }).bulk instanceof Bulk2)) return undefined;
  return new Bulk2(client, new StateDescribeCache(state), { describeFreshForMs, rates: new StateBulkRateStore(state) });
}

/**
 * What the publisher remembers about the org between runs, kept in its state store so that a run does not
 * pay for what the last one already learned: object describes (the Bulk column check) and the measured Bulk
 * ingest rate (the first status poll's timing). Both live in the state's cursor table under keys that start
 * with `#`, which pipeline names cannot (the same place the publisher tracks bulk jobs in flight).
 */
import { Bulk2, type BulkIngestRate, type BulkRateStore, type DescribeCache, type DescribeCacheEntry, type SalesforceClient } from '../../client/index.ts';
import type { JsonValue, PublishState } from '../../store/index.ts';

/**
 * How long the publisher trusts a describe the org confirmed, across runs, before asking again. A new field
 * is never refused because of it: a column missing from the cached describe makes the check ask the org once.
 */
export const PUBLISH_DESCRIBE_FRESH_MS = 24 * 60 * 60_000;

const DESCRIBE_PREFIX = '#describe ';
const RATE_PREFIX = '#bulk-rate ';

/** A {@link DescribeCache} over the publisher's state store. */
export class StateDescribeCache implements DescribeCache {
  readonly #state: PublishState;
  constructor(state: PublishState) {
    this.#state = state;
  }
  async get(key: string): Promise<DescribeCacheEntry | undefined> {
    const v = await this.#state.getCursor(DESCRIBE_PREFIX + key);
    return (v?.cursor ?? undefined) as DescribeCacheEntry | undefined;
  }
  async set(key: string, entry: DescribeCacheEntry): Promise<void> {
    await this.#state.setCursor(DESCRIBE_PREFIX + key, { cursor: entry as unknown as JsonValue, key: null });
  }
}

/** A {@link BulkRateStore} over the publisher's state store. */
export class StateBulkRateStore implements BulkRateStore {
  readonly #state: PublishState;
  constructor(state: PublishState) {
    this.#state = state;
  }
  async get(key: string): Promise<BulkIngestRate | undefined> {
    const v = await this.#state.getCursor(RATE_PREFIX + key);
    const r = v?.cursor as BulkIngestRate | null | undefined;
    return r && typeof r.rowsPerSec === 'number' && r.rowsPerSec > 0 ? r : undefined;
  }
  async set(key: string, rate: BulkIngestRate): Promise<void> {
    await this.#state.setCursor(RATE_PREFIX + key, { cursor: rate as unknown as JsonValue, key: null });
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

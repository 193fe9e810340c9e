/**
 * The Salesforce API client. `new SalesforceClient({ credentials })` gives every feature as a method; the
 * feature modules can also be used as functions over a bare {@link Connection}.
 *
 * @example
 * const sf = new SalesforceClient({ credentials: await resolveCredentials(flags) });
 * for await (const acct of sf.query('SELECT Id, Name FROM Account')) console.log(acct.Name);
 */
import { Connection, type ClientOptions } from './connection.ts';
import { batch, collection, composite, tree, type BatchSubrequest, type CollectionOptions, type CollectionResult, type CompositeSubrequest, type CompositeSubresponse, type TreeResult } from './composite.ts';
import { describe, describeGlobal, MemoryDescribeCache, type DescribeCache, type DescribeGlobalResult, type DescribeSObjectResult } from './describe.ts';
import { count, QueryResult, type QueryOptions, type SObjectRecord } from './query.ts';
import * as rest from './rest.ts';
import { Bulk2 } from './bulk2.ts';
import { Events, type EventsOptions } from './pubsub/events.ts';

export interface SalesforceClientOptions extends ClientOptions {
  /** Describe cache; default in-memory. Use {@link FileDescribeCache} to keep describes across runs. */
  describeCache?: DescribeCache;
  /** The Pub/Sub API for {@link SalesforceClient.events} (default `api.pubsub.salesforce.com:7443` over TLS). */
  pubsub?: EventsOptions;
}

/** A Salesforce org client: auth, retries, governor, REST, describe, query and composite. */
export class SalesforceClient extends Connection {
  readonly describeCache: DescribeCache;
  #bulk: Bulk2 | undefined;
  #events: Events | undefined;
  readonly #pubsub: EventsOptions;

  constructor(opts: SalesforceClientOptions) {
    super(opts);
    this.describeCache = opts.describeCache ?? new MemoryDescribeCache();
    this.#pubsub = opts.pubsub ?? {};
  }

  /**
   * Change events and platform events over the Pub/Sub API, on this client's session:
   * `subscribe(topic, { replay, checkpoint })` and `publish(topic, events, { via: 'unary' | 'stream' })`.
   */
  get events(): Events {
    this.#events ??= new Events(this.auth, this.#pubsub);
    return this.#events;
  }

  /** Streams records of a SOQL query (see {@link QueryResult}). */
  query<T = SObjectRecord>(soql: string | { toString(): string }, opts: Omit<QueryOptions, 'includeDeleted'> = {}): QueryResult<T> {
    return new QueryResult<T>(this, String(soql), opts);
  }

  /** Like {@link query} but includes deleted and archived rows. */
  queryAll<T = SObjectRecord>(soql: string | { toString(): string }, opts: Omit<QueryOptions, 'includeDeleted'> = {}): QueryResult<T> {
    return new QueryResult<T>(this, String(soql), { ...opts, includeDeleted: true });
  }

  /** Number of rows a query matches. */
  count(soql: string | { toString(): string }, opts: Omit<QueryOptions, 'batchSize'> = {}): Promise<number> {
    return count(this, String(soql), opts);
  }

  describeGlobal(signal?: AbortSignal): Promise<DescribeGlobalResult> {
    return describeGlobal(this, this.describeCache, signal);
  }

  describe(sobject: string, signal?: AbortSignal): Promise<DescribeSObjectResult> {
    return describe(this, sobject, this.describeCache, signal);
  }

  create(sobject: string, fields: Record<string, unknown>, opts?: rest.CallOptions): Promise<rest.SaveResult> {
    return rest.create(this, sobject, fields, opts);
  }

  retrieve<T = Record<string, unknown>>(sobject: string, id: string, fields?: readonly string[], opts?: rest.CallOptions): Promise<T> {
    return rest.retrieve<T>(this, sobject, id, fields, opts);
  }

  update(sobject: string, id: string, fields: Record<string, unknown>, opts?: rest.CallOptions): Promise<void> {
    return rest.update(this, sobject, id, fields, opts);
  }

  delete(sobject: string, id: string, opts?: rest.CallOptions): Promise<void> {
    return rest.del(this, sobject, id, opts);
  }

  upsert(sobject: string, externalIdField: string, value: string, fields: Record<string, unknown>, opts?: rest.CallOptions & { updateOnly?: boolean }): Promise<rest.UpsertResult> {
    return rest.upsert(this, sobject, externalIdField, value, fields, opts);
  }

  getUpdated(sobject: string, start: Date, end: Date, opts?: rest.CallOptions): ReturnType<typeof rest.getUpdated> {
    return rest.getUpdated(this, sobject, start, end, opts);
  }

  getDeleted(sobject: string, start: Date, end: Date, opts?: rest.CallOptions): ReturnType<typeof rest.getDeleted> {
    return rest.getDeleted(this, sobject, start, end, opts);
  }

  limits(opts?: rest.CallOptions): Promise<Record<string, rest.LimitValue>> {
    return rest.limits(this, opts);
  }

  composite(requests: readonly CompositeSubrequest[], opts?: { allOrNone?: boolean; collateSubrequests?: boolean; signal?: AbortSignal }): Promise<CompositeSubresponse[]> {
    return composite(this, requests, opts);
  }

  batch(requests: readonly BatchSubrequest[], opts?: { haltOnError?: boolean; signal?: AbortSignal }): ReturnType<typeof batch> {
    return batch(this, requests, opts);
  }

  tree(sobject: string, records: readonly unknown[], opts?: { signal?: AbortSignal }): Promise<TreeResult> {
    return tree(this, sobject, records, opts);
  }

  /** Bulk API 2.0: streaming `query` with resume, `ingest` with per-record results (see {@link Bulk2}). */
  get bulk(): Bulk2 {
    this.#bulk ??= new Bulk2(this, this.describeCache);
    return this.#bulk;
  }

  /** Collections create/update/upsert/delete over any number of records, 200 per call, results in input order. */
  get collections() {
    return {
      create: (records: readonly Record<string, unknown>[], opts?: CollectionOptions): Promise<CollectionResult[]> => collection(this, 'create', records, opts),
      update: (records: readonly Record<string, unknown>[], opts?: CollectionOptions): Promise<CollectionResult[]> => collection(this, 'update', records, opts),
      upsert: (sobject: string, externalIdField: string, records: readonly Record<string, unknown>[], opts?: CollectionOptions): Promise<CollectionResult[]> => collection(this, 'upsert', records, { ...opts, sobject, externalIdField }),
      delete: (ids: readonly string[], opts?: CollectionOptions): Promise<CollectionResult[]> => collection(this, 'delete', ids, opts),
    };
  }
}

export { Connection, DEFAULT_API_VERSION, MAX_REFRESHES_PER_REQUEST, type ClientOptions, type RequestOptions, type ApiResponse } from './connection.ts';
export * from './errors.ts';
export * from './auth.ts';
export * from './config.ts';
export * from './governor.ts';
export * from './token-store.ts';
export { Transport, RetryBudget, DEFAULT_RETRY, DEFAULT_RETRY_BUDGET, DEFAULT_TIMEOUT_MS, DEFAULT_PROGRESS_TIMEOUT_MS, type RetryEvent, NON_EXECUTION_STATUSES, BEFORE_SEND_ERROR_CODES, parseRetryAfter, type FetchLike, type RetryPolicy, type BodySource, type TransportRequest, type TransportResponse } from './transport.ts';
export { MemoryKeyValueStore, type KeyValueStore } from './kv.ts';
export { parseSfDate } from './datetime.ts';
export { FileDescribeCache, MemoryDescribeCache, type DescribeCache, type DescribeOptions, type DescribeCacheEntry, type DescribeField, type DescribeGlobalResult, type DescribeSObjectResult } from './describe.ts';
export { QueryResult, toCountQuery, MIN_BATCH_SIZE, MAX_BATCH_SIZE, MAX_PAGE_REREADS, type QueryOptions, type QueryPage, type SObjectRecord } from './query.ts';
export { COLLECTION_CHUNK, MAX_SUBREQUESTS, NOT_ATTEMPTED, type BatchSubrequest, type CollectionResult, type CompositeSubrequest, type CompositeSubresponse, type TreeResult } from './composite.ts';
export type { SaveResult, UpsertResult, LimitValue } from './rest.ts';
export { redactUrl, redactHeaders, redactObject, type Logger } from './log.ts';
export * from './bulk2.ts';
export { Events, type EventsOptions, type EventsPublishOptions, type EventsSubscribeOptions } from './pubsub/events.ts';
export * from './pubsub/checkpoints.ts';
export * from './pubsub/endpoint.ts';
export { envProxy, parseProxyUrl, proxyDispatcher, proxyFetch, redactProxy, ProxyConfigError } from './proxy.ts';

/**
 * Sinks: where pipelines deliver messages (search documents, comments, events). {@link openSink} turns a
 * validated `queue:` block into a real client; {@link deliverWithRetry} is how a pipeline delivers through
 * it (pause with backoff on an outage, throw on a permanent error); see types.ts for the contract.
 */
import type { Store } from '../../store/types.ts';
import type { SinkConfig } from './config.ts';
import { JsonlSink } from './jsonl.ts';
import { NatsSink } from './nats.ts';
import { RabbitMqSink } from './rabbitmq.ts';
import { RedisSink } from './redis.ts';
import { StoreSink } from './store.ts';
import type { Sink } from './types.ts';
import { WebhookSink } from './webhook.ts';

export * from './types.ts';
export { DEFAULT_SINK_RETRY, deliverWithRetry, sendInOrder, type DeliverWithRetryOptions, type DeliveryOutcome, type SinkRetryOptions } from './deliver.ts';
export { DEFAULT_SINK_URLS, parseSinkConfig, queueSchema, redactCredentials, SinkConfigError, toSinkConfig, type SinkConfig } from './config.ts';
export { defaultStreamName, KEY_HEADER, NatsSink } from './nats.ts';
export { RabbitMqSink } from './rabbitmq.ts';
export { RedisSink, redisIdSetKey } from './redis.ts';
export { WebhookSink, webhookSignature } from './webhook.ts';
export { JsonlSink, jsonlPath } from './jsonl.ts';
export { searchDocumentOf, StoreSink } from './store.ts';

/** Options of {@link openSink}. */
export interface OpenSinkOptions {
  /** The pipeline's own store, used by a `store` sink without a url. */
  store?: Store;
  /** fetch for the webhook sink (tests, proxies). */
  fetch?: typeof fetch;
}

/** A sink for a validated configuration. Connects lazily: the first delivery opens the connection. */
export function openSink(config: SinkConfig, opts: OpenSinkOptions = {}): Sink {
  switch (config.kind) {
    case 'nats':
      return new NatsSink(config);
    case 'rabbitmq':
      return new RabbitMqSink(config);
    case 'redis':
      return new RedisSink(config);
    case 'webhook':
      return new WebhookSink(config, { fetch: opts.fetch });
    case 'jsonl':
      return new JsonlSink(config);
    case 'store':
      return config.url ? new StoreSink(config) : new StoreSink(config, opts.store);
  }
}


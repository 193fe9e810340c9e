/**
 * `client.events`: the Pub/Sub API on a {@link SalesforceClient}'s session. Subscribing yields decoded events
 * (see {@link PubSubClient.subscribe}); publishing sends platform events unary or over PublishStream with a
 * result per event. With a checkpoint store, a subscription resumes after the last event its consumer
 * finished, run after run.
 *
 * The gRPC stack is loaded on first use, so commands that never touch events do not pay for it.
 */
import type { Authenticator } from '../auth.ts';
import type { ReplayCheckpointStore } from './checkpoints.ts';
import { isSalesforceHost } from './endpoint.ts';
import type { PlatformEventInput, PubSubClient, PubSubClientOptions, PubSubEvent, PublishResult, SubscribeOptions } from './client.ts';

/** Where the Pub/Sub API is; the session comes from the client. */
export type EventsOptions = Omit<PubSubClientOptions, 'auth'>;

export interface EventsSubscribeOptions extends SubscribeOptions {
  /**
   * Keep the position durably: the stored replay id (when there is one) is where the subscription starts,
   * instead of `replay`, and each event is saved once the consumer asks for the next one, as are keepalive
   * positions. Delivery is at least once: an event the consumer was given but did not finish (a crash, a
   * `break`) comes again on the next run.
   */
  checkpoint?: { store: ReplayCheckpointStore; key: string };
}

export interface EventsPublishOptions {
  signal?: AbortSignal;
  /** `unary` (default): one Publish call; `stream`: one PublishStream call, `batchSize` events per request. */
  via?: 'unary' | 'stream';
  batchSize?: number;
}

export class Events {
  readonly #auth: Authenticator;
  readonly #opts: EventsOptions;
  #client: Promise<PubSubClient> | undefined;

  constructor(auth: Authenticator, opts: EventsOptions = {}) {
    this.#auth = auth;
    this.#opts = opts;
  }

  /**
   * Whether this client has a Pub/Sub API to talk to: an endpoint was given (a connection's `pubsub:`
   * setting, `--pubsub-endpoint`), or the org is on Salesforce's own hosts, which reach Salesforce's
   * endpoint (see `endpoint.ts`). Decides whether platform events are published over Pub/Sub.
   */
  async available(signal?: AbortSignal): Promise<boolean> {
    if (this.#opts.endpoint) return true;
    return isSalesforceHost((await this.#auth.getSession(signal)).instanceUrl);
  }

  /** The endpoint this client talks to (`host:port`), when one was given. */
  get endpoint(): string | undefined {
    return this.#opts.endpoint;
  }

  /** The underlying Pub/Sub client (created on first use). */
  client(): Promise<PubSubClient> {
    this.#client ??= import('./client.ts').then(({ PubSubClient }) => new PubSubClient({ ...this.#opts, auth: this.#auth }));
    return this.#client;
  }

  /**
   * Subscribes to a topic: `for await (const ev of client.events.subscribe('/data/AccountChangeEvent'))`.
   * Break or abort `signal` to stop.
   */
  async *subscribe(topic: string, opts: EventsSubscribeOptions = {}): AsyncGenerator<PubSubEvent> {
    const client = await this.client();
    const { checkpoint, ...rest } = opts;
    let replay = rest.replay;
    if (checkpoint) replay = (await checkpoint.store.load(checkpoint.key, rest.signal).then((id) => (id ? { after: id } : null))) ?? replay;
    // Keepalive positions are saved in order, between events; a failed save surfaces at the next event.
    let saving: Promise<void> = Promise.resolve();
    const onPosition = (id: Uint8Array) => {
      rest.onPosition?.(id);
      if (!checkpoint) return;
      saving = saving.then(() => checkpoint.store.save(checkpoint.key, id, rest.signal));
      // Handled here so a failure waits for the next await instead of crashing the process.
      saving.catch(() => {});
    };
    for await (const ev of client.subscribe(topic, { ...rest, replay, onPosition })) {
      await saving;
      yield ev;
      if (checkpoint) await checkpoint.store.save(checkpoint.key, ev.replayId, rest.signal);
    }
    await saving;
  }

  /** Publishes platform events; one result per event, in order, with its correlation key. */
  async publish(topic: string, events: readonly PlatformEventInput[], opts: EventsPublishOptions = {}): Promise<PublishResult[]> {
    const client = await this.client();
    return opts.via === 'stream'
      ? client.publishStream(topic, events, { signal: opts.signal, batchSize: opts.batchSize })
      : client.publish(topic, events, opts.signal);
  }

  /** Topic metadata: current schema id, whether it can be published to. */
  async topic(topic: string, signal?: AbortSignal): ReturnType<PubSubClient['topic']> {
    return (await this.client()).topic(topic, signal);
  }

  /** Closes the gRPC channel (open subscriptions end). */
  close(): void {
    void this.#client?.then((c) => c.close());
    this.#client = undefined;
  }
}

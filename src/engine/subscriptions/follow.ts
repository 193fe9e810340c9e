/**
 * An event pipeline's loop: subscribe to one Pub/Sub topic and hand its events to a sink, at least once.
 *
 * - Events are delivered in batches (up to `batchSize`, or what arrived within `lingerMs` of the first).
 * - The replay id (checkpoint `events:<pipeline>` in the pipeline's state store) moves only after the sink
 *   accepted the whole batch, so a crash or a stop at any moment resumes after the last accepted batch: an
 *   event is never skipped, and the events of the batch in flight may come again, with the same message id.
 * - A transient sink error (broker down, HTTP 5xx/429, a timeout) pauses and retries the batch with backoff,
 *   the checkpoint staying where it is (`retry.max_pause` 0, the default here, pauses for as long as it takes).
 * - A batch the sink refuses for good is delivered again one event at a time: each event the sink refuses on
 *   its own becomes a dead letter (the publisher's dead-letter table: pipeline, event id, topic, the message,
 *   the sink's error), and the stream goes on.
 * - A stored replay id past the topic's retention fails the subscription with `PUBSUB_REPLAY_ID_EXPIRED`:
 *   that is reported (`onRestart`), the checkpoint records it, and the stream restarts at the tip.
 * - While idle, keepalive positions (`latest_replay_id`) become the checkpoint once nothing is in flight,
 *   so a quiet topic's position never ages out of retention.
 */
import { PubSubError, PUBSUB_ERROR_CODES, type PubSubEvent, type ReplayFrom, type SubscribeOptions } from '../../client/pubsub/client.ts';
import { readReplayCheckpoint, replayCheckpointKey, replayIdHex, writeReplayCheckpoint } from '../../client/pubsub/checkpoints.ts';
import type { JsonObject, JsonValue, PublishState, Store } from '../../store/index.ts';
import { deliverWithRetry, SinkError, type Sink, type SinkMessage, type SinkObserver, type SinkRetryOptions } from '../sinks/index.ts';

/** Events handed to the sink at once, at most. */
export const DEFAULT_EVENT_BATCH = 100;
/** How long the first event of a batch waits for more before the batch goes out. */
export const DEFAULT_EVENT_LINGER_MS = 200;

/** What the follower needs of a Pub/Sub client (`client.events` or a `PubSubClient`). */
export interface EventSource {
  subscribe(topic: string, opts: SubscribeOptions): AsyncIterable<PubSubEvent>;
}

export interface FollowTopicOptions {
  /** The pipeline's name: checkpoint key and dead-letter namespace. */
  pipeline: string;
  topic: string;
  source: EventSource;
  sink: Sink;
  /** Where the checkpoint lives. */
  store: Store;
  /** Where dead letters go (the store's publish state). */
  deadLetters: PublishState;
  /** Where a pipeline with no checkpoint starts (default `latest`). */
  from?: 'latest' | 'earliest';
  batchSize?: number;
  lingerMs?: number;
  retry?: SinkRetryOptions;
  observer?: SinkObserver;
  signal?: AbortSignal;
  /** After each batch: events received, delivered and dead-lettered so far. */
  onProgress?: (counts: FollowCounts) => void;
  /** A dead letter was written. */
  onDeadLetter?: (event: PubSubEvent, error: SinkError) => void;
  /** The stored position expired: the stream restarts at the tip. */
  onRestart?: (info: { code: string; message: string; expiredReplayId: string | null; restartedAt: string }) => void;
}

export interface FollowCounts {
  received: number;
  delivered: number;
  deadLettered: number;
}

/** The checkpoint key of an event pipeline (`events:<pipeline>` in the store's checkpoints). */
export function eventPipelineCheckpoint(pipeline: string): string {
  return replayCheckpointKey(pipeline);
}

/** JSON of a decoded value (bigints as text, bytes as base64). */
function toJson(v: unknown): JsonValue {
  return JSON.parse(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x instanceof Uint8Array ? Buffer.from(x).toString('base64') : x)) ?? 'null') as JsonValue;
}

/**
 * The message a sink gets for an event: id = the event's id (its correlation key; the replay id when it has
 * none), key = the record of a change event (so one record's changes keep their order), else the topic;
 * body = `{topic, replayId, id, schemaId, header?, payload}` as `sfbridge events tail --format jsonl` prints it.
 */
export function eventMessage(ev: PubSubEvent): SinkMessage {
  const replayId = replayIdHex(ev.replayId);
  const body: JsonObject = { topic: ev.topic, replayId, id: ev.id, schemaId: ev.schemaId, ...(ev.header ? { header: toJson(ev.header) } : {}), payload: toJson(ev.payload) };
  return {
    id: ev.id || `${ev.topic}:${replayId}`,
    key: ev.header?.recordIds[0] ?? ev.topic,
    body,
    headers: { 'sfbridge-topic': ev.topic, 'sfbridge-replay-id': replayId, ...(ev.header ? { 'sfbridge-change-type': ev.header.changeType } : {}) },
  };
}

type Next = IteratorResult<PubSubEvent> | 'linger';

/** Follows the topic until the signal aborts; rejects on what retrying cannot fix (topic, auth). */
export async function followTopic(opts: FollowTopicOptions): Promise<void> {
  const { store, sink, signal, pipeline, topic } = opts;
  const batchSize = Math.min(100, Math.max(1, opts.batchSize ?? DEFAULT_EVENT_BATCH));
  const lingerMs = opts.lingerMs ?? DEFAULT_EVENT_LINGER_MS;
  const retry: SinkRetryOptions = { maxPauseMs: 0, ...Object.fromEntries(Object.entries(opts.retry ?? {}).filter(([, v]) => v !== undefined)) };
  const counts: FollowCounts = { received: 0, delivered: 0, deadLettered: 0 };
  const checkpoints = { getCheckpoint: (k: string) => store.getCheckpoint(k), setCheckpoint: (k: string, c: null, e: { [k: string]: string | null }) => store.setCheckpoint(k, c, e) };
  let restartAtTip = false;

  while (!signal?.aborted) {
    const saved = restartAtTip ? null : await readReplayCheckpoint(checkpoints, pipeline);
    const replay: ReplayFrom = saved ? { after: saved } : restartAtTip ? 'latest' : (opts.from ?? 'latest');
    restartAtTip = false;
    // Events handed over by the subscription and not yet accepted by the sink; a keepalive position is
    // saved only when there are none.
    let inFlight = 0;
    let idle: Uint8Array | null = null;
    let saving: Promise<void> = Promise.resolve();
    const saveIdle = () => {
      if (!idle || inFlight > 0) return;
      const id = idle;
      idle = null;
      saving = saving.then(() => writeReplayCheckpoint(checkpoints, pipeline, id)).catch(() => undefined);
    };
    // Ends this subscription when the loop leaves it for any reason (an abort, or a store error while a
    // read-ahead is waiting on an idle stream).
    const stream = new AbortController();
    const it = opts.source.subscribe(topic, {
      replay,
      signal: signal ? AbortSignal.any([signal, stream.signal]) : stream.signal,
      batch: batchSize,
      onPosition: (id) => {
        idle = id;
        saveIdle();
      },
    })[Symbol.asyncIterator]();
    let pending: Promise<IteratorResult<PubSubEvent>> | null = null;
    const next = (): Promise<IteratorResult<PubSubEvent>> => {
      if (!pending) {
        pending = it.next();
        // Read ahead while a batch is out: a failure is handled when the loop awaits it.
        pending.catch(() => undefined);
      }
      return pending;
    };
    try {
      for (;;) {
        const first = await next();
        pending = null;
        if (first.done) return;
        const batch: PubSubEvent[] = [first.value];
        inFlight = 1;
        const deadline = Date.now() + lingerMs;
        while (batch.length < batchSize) {
          const wait = deadline - Date.now();
          if (wait <= 0) break;
          let timer: NodeJS.Timeout | undefined;
          const got: Next = await Promise.race([next(), new Promise<'linger'>((r) => (timer = setTimeout(() => r('linger'), wait)))]);
          clearTimeout(timer);
          if (got === 'linger') break;
          pending = null;
          if (got.done) break;
          batch.push(got.value);
          inFlight++;
        }
        counts.received += batch.length;
        await deliverBatch(opts, batch, retry, counts);
        await saving;
        await writeReplayCheckpoint(checkpoints, pipeline, batch[batch.length - 1].replayId);
        inFlight = 0;
        // A keepalive that came while the batch was out is behind the batch's last event or equal to it.
        idle = null;
        opts.onProgress?.({ ...counts });
      }
    } catch (err) {
      if (signal?.aborted) return;
      if (err instanceof PubSubError && err.code === PUBSUB_ERROR_CODES.replayExpired) {
        const restartedAt = new Date().toISOString();
        const expiredReplayId = saved ? replayIdHex(saved) : null;
        await store.setCheckpoint(eventPipelineCheckpoint(pipeline), null, { replayId: null, restartedAt, restartReason: err.code, expiredReplayId });
        opts.onRestart?.({ code: err.code, message: err.message, expiredReplayId, restartedAt });
        restartAtTip = true;
        continue;
      }
      throw err;
    } finally {
      stream.abort();
      await it.return?.(undefined).catch(() => undefined);
    }
  }
}

/** Delivers one batch: whole, with retries; refused for good → one event at a time, refused ones dead-lettered. */
async function deliverBatch(opts: FollowTopicOptions, batch: readonly PubSubEvent[], retry: SinkRetryOptions, counts: FollowCounts): Promise<void> {
  const { sink, signal, observer } = opts;
  const messages = batch.map(eventMessage);
  try {
    await deliverWithRetry(sink, messages, { signal, retry, observer });
    counts.delivered += messages.length;
    return;
  } catch (err) {
    if (signal?.aborted || !(err instanceof SinkError) || err.retryable) throw err;
  }
  // Refused: find the events the sink refuses on their own.
  for (const [i, m] of messages.entries()) {
    try {
      await deliverWithRetry(sink, [m], { signal, retry, observer });
      counts.delivered++;
    } catch (err) {
      if (signal?.aborted || !(err instanceof SinkError) || err.retryable) throw err;
      await opts.deadLetters.addDeadLetters([{ pipeline: opts.pipeline, key: m.id, object: opts.topic, operation: 'deliver', externalIdField: null, payload: m.body as JsonObject, error: { code: err.code, message: err.message, fields: [] }, attempts: 1 }], { signal });
      counts.deadLettered++;
      opts.onDeadLetter?.(batch[i], err);
    }
  }
}

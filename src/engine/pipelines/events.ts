/**
 * `kind: events` pipelines: a Pub/Sub topic (`/event/Order_Placed__e`, `/data/AccountChangeEvent`,
 * `/data/ChangeEvents`) delivered to a sink, at least once (see ../subscriptions/follow.ts). A run is
 * long-lived: it follows the topic until the service stops, and the next start resumes after the last event
 * the sink accepted.
 *
 * ```yaml
 * pipelines:
 *   - name: orders-to-warehouse
 *     kind: events
 *     connection: prod
 *     topic: /event/Order_Placed__e
 *     sink: { kind: webhook, url: https://warehouse.example.com/hooks/orders, secret: ${HOOK_SECRET} }
 *   - name: account-changes
 *     kind: events
 *     connection: prod
 *     topic: /data/AccountChangeEvent
 *     from: earliest
 *     sink: { kind: table, table: account_changes }
 * ```
 */
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { durationSchema } from '../duration.ts';
import { sinkEvents, type RunObjectCounts } from '../events.ts';
import { deliverWithRetry, openSink, parseSinkConfig, SinkConfigError, type Sink, type SinkError, type SinkRetryOptions } from '../sinks/index.ts';
import type { DeadLetter, JsonObject, Store } from '../../store/index.ts';
import { eventPipelineCheckpoint, followTopic, DEFAULT_EVENT_BATCH, DEFAULT_EVENT_LINGER_MS } from '../subscriptions/follow.ts';
import { EventTableSink } from '../subscriptions/table-sink.ts';
import { basePipelineFields, PipelineError, registerPipelineKind, type PipelineRunContext, type PipelineRunResult } from './kinds.ts';
import { resolveStoreUrl } from './sync.ts';

/** After a run that failed (a topic that does not exist yet, the Pub/Sub API down), the next one starts this much later. */
export const DEFAULT_EVENTS_EVERY_MS = 30_000;

const STORE_URL = z.string().regex(/^(sqlite:|postgres(ql)?:\/\/)/, 'a store URL: sqlite:./data/events.db or postgres://user@host/db?schema=app');

/** `sink: { kind: table, table, store? }`: rows in a store table. */
export const eventTableSinkSchema = z.strictObject({
  kind: z.literal('table'),
  table: z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,62}$/, 'a table name of letters, digits and _ (starting with a letter), e.g. order_events'),
  store: STORE_URL.optional().describe("where the table lives (default: the pipeline's state store)"),
});

export const eventsPipelineSchema = z
  .strictObject({
    kind: z.literal('events'),
    ...basePipelineFields,
    topic: z.string().regex(/^\/(data|event)\/[A-Za-z][A-Za-z0-9_]*$/, 'a Pub/Sub topic such as /event/Order_Placed__e, /data/AccountChangeEvent or /data/ChangeEvents').describe('the channel to follow'),
    from: z.enum(['latest', 'earliest']).optional().describe('where a pipeline with no checkpoint starts: latest (default; new events only) or earliest (everything retained)'),
    sink: z
      .looseObject({ kind: z.string() })
      .describe('where events go: a queue block (kind: jsonl | webhook | nats | rabbitmq | redis, as for sync sinks) or { kind: table, table, store? }'),
    batch_size: z.number().int().min(1).max(100).optional().describe(`events per delivery, at most (default ${DEFAULT_EVENT_BATCH})`),
    linger: durationSchema.optional().describe(`how long a batch waits for more events after its first (default ${DEFAULT_EVENT_LINGER_MS}ms)`),
    state: STORE_URL.optional().describe("the replay checkpoint and dead letters (default: the service's store)"),
  })
  .meta({ id: 'EventsPipeline' });

export type EventsPipelineSpec = z.output<typeof eventsPipelineSchema>;

/** The sink block checked: a table sink, or a queue block of a kind that takes events. */
function checkSink(sink: Record<string, unknown>): { path: string; message: string } | undefined {
  if (sink.kind === 'table') {
    const r = eventTableSinkSchema.safeParse(sink);
    if (r.success) return undefined;
    const i = r.error.issues[0];
    return { path: ['sink', ...i.path.map(String)].join('.'), message: i.code === 'unrecognized_keys' ? `unknown key "${i.keys[0]}" for a table sink (keys: kind, table, store)` : i.message };
  }
  if (sink.kind === 'store') return { path: 'sink.kind', message: 'a store sink takes search documents; for events use kind: table with table: NAME (one row per event)' };
  try {
    parseSinkConfig(sink, 'sink');
    return undefined;
  } catch (err) {
    const e = err as SinkConfigError;
    return { path: e.path || 'sink', message: e.message.replace(/^[^:]+: /, '') };
  }
}

/** The state store of an events pipeline (checkpoint, dead letters). */
export function eventsStateUrl(spec: { state?: string }, serviceStoreUrl: string, baseDir: string): string {
  return resolveStoreUrl(spec.state ?? serviceStoreUrl, baseDir);
}

/** The pipeline's sink (a jsonl path resolved against the config's directory) and its retry settings. */
async function sinkOf(spec: EventsPipelineSpec, store: Store, run: { store(url: string): Promise<Store>; baseDir: string }): Promise<{ sink: Sink; retry: SinkRetryOptions }> {
  const raw = spec.sink as Record<string, unknown>;
  if (raw.kind === 'table') {
    const t = eventTableSinkSchema.parse(raw);
    return { sink: new EventTableSink(t.table, { store: t.store ? await run.store(resolveStoreUrl(t.store, run.baseDir)) : store }), retry: {} };
  }
  const config = parseSinkConfig(raw, 'sink');
  const local = config.kind === 'jsonl' && !config.url!.startsWith('file:') && !isAbsolute(config.url!);
  return { sink: openSink(local ? { ...config, url: resolve(run.baseDir, config.url!) } : config), retry: config.retry };
}

/** Delivers a dead letter's message to the pipeline's sink again; the letter is marked replayed when it is taken. */
async function replayEventLetter(spec: EventsPipelineSpec, letter: DeadLetter, run: { store(url: string): Promise<Store>; serviceStoreUrl: string; baseDir: string; signal: AbortSignal; payload?: JsonObject }): Promise<{ success: boolean; error?: { code: string; message: string } }> {
  const store = await run.store(eventsStateUrl(spec, run.serviceStoreUrl, run.baseDir));
  const state = await store.publishState();
  const { sink, retry } = await sinkOf(spec, store, run);
  const body = run.payload ?? letter.payload;
  try {
    // A replay is interactive: a sink that stays out fails it within a minute instead of pausing for good.
    await deliverWithRetry(sink, [{ id: letter.key, key: letter.object, body, headers: { 'sfbridge-topic': letter.object } }], { signal: run.signal, retry: { ...retry, maxPauseMs: Math.min(retry.maxPauseMs || 60_000, 60_000) } });
    await state.updateDeadLetter(letter.id, { status: 'replayed', attempts: letter.attempts + 1, ...(run.payload ? { payload: run.payload } : {}) });
    return { success: true };
  } catch (err) {
    if (run.signal.aborted) throw err;
    const error = { code: (err as SinkError).code ?? 'SINK_REJECTED', message: (err as Error).message };
    await state.updateDeadLetter(letter.id, { attempts: letter.attempts + 1, error: { ...error, fields: [] }, ...(run.payload ? { payload: run.payload } : {}) });
    return { success: false, error };
  } finally {
    await sink.close();
  }
}

async function runEventsPipeline(spec: EventsPipelineSpec, run: PipelineRunContext): Promise<PipelineRunResult> {
  const topic = spec.topic;
  const counts: RunObjectCounts = { read: 0, written: 0, deleted: 0, failed: 0, status: 'running' };
  const objects = { [topic]: counts };
  run.report(topic, counts);
  const client = await run.client();
  if (!(await client.events.available(run.signal))) {
    throw new PipelineError('PUBSUB_NOT_CONFIGURED', 400, `${spec.name}: connection "${spec.connection}" has no Pub/Sub API to follow ${topic}: give it pubsub: { endpoint: HOST:PORT } (plaintext: true for the emulator)`);
  }
  const store = await run.store(eventsStateUrl(spec, run.serviceStoreUrl, run.baseDir));
  const { sink, retry } = await sinkOf(spec, store, run);
  try {
    await followTopic({
      pipeline: spec.name,
      topic,
      source: client.events,
      sink,
      store,
      deadLetters: await store.publishState(),
      from: spec.from,
      batchSize: spec.batch_size,
      lingerMs: spec.linger,
      retry,
      observer: sinkEvents(run.events, spec.name, topic),
      signal: run.signal,
      onProgress: (c) => {
        Object.assign(counts, { read: c.received, written: c.delivered, failed: c.deadLettered });
        run.report(topic, counts);
        // The run's totals so far, as a sync reports each page: metrics and logs follow a run that never ends.
        run.events.emit('object:batch', { object: topic, mode: 'incremental', read: c.received, written: c.delivered, deleted: 0 });
      },
      onDeadLetter: (ev, err) => {
        run.service.emit('deadletters:changed', { pipeline: spec.name });
        run.events.emit('warning', { object: topic, code: 'EVENT_DEAD_LETTERED', message: `event ${ev.id} refused by ${sink.label} (${err.code}): ${err.message}; kept as a dead letter` });
      },
      onRestart: (info) => {
        counts.error = `${info.code}: the stored replay id ${info.expiredReplayId ?? ''} is outside the topic's retention; restarted at the tip at ${info.restartedAt} (events retained before that were not delivered)`;
        run.report(topic, counts);
        run.events.emit('warning', { object: topic, code: info.code, message: `${spec.name}: ${counts.error}` });
      },
    });
  } catch (err) {
    counts.status = run.signal.aborted ? 'aborted' : 'failed';
    counts.error = (err as Error).message;
    run.report(topic, counts);
    if (run.signal.aborted) return { status: 'interrupted', objects, apiCalls: 0 };
    throw err;
  } finally {
    await sink.close();
    client.events.close();
  }
  counts.status = run.signal.aborted ? 'aborted' : 'ok';
  run.report(topic, counts);
  return { status: run.signal.aborted ? 'interrupted' : 'succeeded', objects, apiCalls: 0 };
}

registerPipelineKind<EventsPipelineSpec>({
  kind: 'events',
  schema: eventsPipelineSchema as never,
  defaultEveryMs: DEFAULT_EVENTS_EVERY_MS,
  longLived: true,
  priority: () => 'cdc',
  check: (spec) => checkSink(spec.sink as Record<string, unknown>),
  units: (spec) => [spec.topic],
  conflicts(spec, others) {
    // The checkpoint is keyed by pipeline name, so two pipelines never share one; a table is another matter.
    const tableOf = (p: EventsPipelineSpec): string | undefined => {
      const s = p.sink as { kind?: string; table?: unknown; store?: unknown };
      return s.kind === 'table' && typeof s.table === 'string' ? `${String(s.store ?? p.state ?? '')}\u0000${s.table.toLowerCase()}` : undefined;
    };
    const mine = tableOf(spec);
    if (!mine) return [];
    return others
      .filter((o) => o.name !== spec.name && tableOf(o) === mine)
      .map((o) => `pipeline "${o.name}" already writes events into table ${String(spec.sink.table)}; give this pipeline its own table`);
  },
  deadLetterStore: (spec, serviceStoreUrl, baseDir) => eventsStateUrl(spec, serviceStoreUrl, baseDir),
  replayDeadLetter: replayEventLetter,
  run: runEventsPipeline,
});

export { eventPipelineCheckpoint };

/**
 * The sync engine's event stream: one typed map that the CLI turns into progress bars on a TTY and that
 * {@link logSyncEvents} turns into structured (pino) log lines elsewhere. The engine itself never writes to
 * a terminal, so the same run reads well in a shell, in CI and in a log collector.
 */
import { EventEmitter } from 'node:events';
import type { LimitNumbers } from '../client/errors.ts';
import type { RunObjectStats } from '../store/types.ts';
import type { SinkObserver, SinkPausedEvent, SinkResumedEvent } from './sinks/types.ts';

/** How an object's rows are being read. */
export type LoadMode = 'rest' | 'bulk' | 'incremental';

/** Per-object outcome of a run. */
export interface ObjectSummary extends RunObjectStats {
  object: string;
  mode: LoadMode | 'skipped';
  /** Rows in the mirror after the run (live only). */
  mirrored: number;
  /** Seconds spent on the object. */
  seconds: number;
  status: 'ok' | 'failed' | 'skipped' | 'aborted';
  error?: string;
  /** Two-way sync (writable tables): what the application's changes did in Salesforce this run. */
  pushed?: PushSummary;
}

import type { PushSummary } from './sync/two-way.ts';

/** What a whole run did. */
export interface RunSummary {
  runId: number | undefined;
  status: 'succeeded' | 'failed' | 'aborted';
  started: string;
  finished: string;
  seconds: number;
  /** Calls admitted by the API governor: what counts against the org's daily allowance. */
  apiCalls: number;
  /** Requests on the wire: every attempt, retries and token calls included. */
  requests?: number;
  objects: ObjectSummary[];
  error?: string;
  /** The client error code of an org-level refusal that stopped the run (AUTH_FAILED, ORG_CEILING_REACHED, …). */
  errorCode?: string;
  /** Settings that weaken a guarantee (e.g. a lag below the safe minimum), as warned at the start. */
  warnings?: string[];
}

/** Every event the engine emits, with its payload. */
export interface SyncEventMap {
  'run:started': [{ objects: string[]; store: string }];
  'object:started': [{ object: string; mode: LoadMode; total?: number; since?: string }];
  /** A page (REST) or batch (Bulk) was committed together with its checkpoint. */
  'object:batch': [{ object: string; mode: LoadMode; read: number; written: number; deleted: number; total?: number; cursor?: string }];
  'object:deletes': [{ object: string; source: 'queryAll' | 'getDeleted' | 'reconcile' | 'filter' | 'count'; count: number }];
  'object:formulas': [{ object: string; fields: string[]; records: number }];
  'object:schema': [{ object: string; created: boolean; added: string[]; removed: string[] }];
  'object:finished': [ObjectSummary];
  /** The governor paused at the org ceiling; resumes by itself or fails the run. */
  'budget:paused': [{ numbers: LimitNumbers }];
  'budget:resumed': [{ numbers: LimitNumbers }];
  /** The governor (or Salesforce) refused a call: the run stops as failed. */
  'budget:refused': [{ code: string; message: string; numbers: LimitNumbers }];
  warning: [{ object?: string; code: string; message: string }];
  /** A sink is out: delivery pauses (the cursor waits) and retries after `retryInMs`; `reason` says why. */
  'sink:paused': [SinkPausedEvent & { object?: string; pipeline: string }];
  /** The sink took the batch after a pause. */
  'sink:resumed': [SinkResumedEvent & { object?: string; pipeline: string }];
  /** A comments page was delivered and committed (counters are the object's totals so far). */
  'comments:batch': [{ object: string; read: number; emitted: number; unchanged: number; deleted: number }];
  'comments:finished': [{ object: string; read: number; emitted: number; unchanged: number; deleted: number; status: string; error?: string }];
  'run:finished': [RunSummary];
}

/** The engine's event emitter. */
export class SyncEvents extends EventEmitter<SyncEventMap> {}

/** A {@link SinkObserver} that reports a pipeline's sink pauses and resumes as `sink:*` events. */
export function sinkEvents(events: SyncEvents, pipeline: string, object?: string): SinkObserver {
  return {
    paused: (e) => events.emit('sink:paused', { ...e, pipeline, object }),
    resumed: (e) => events.emit('sink:resumed', { ...e, pipeline, object }),
  };
}

/** The pino subset used for logs. */
export interface EventLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Forwards every event to a structured logger (one line per event; batches at info level). */
export function logSyncEvents(events: SyncEvents, log: EventLogger): () => void {
  const on = <K extends keyof SyncEventMap>(name: K, fn: (...args: SyncEventMap[K]) => void) => {
    events.on(name, fn as never);
    return () => events.off(name, fn as never);
  };
  const offs = [
    on('run:started', (e) => log.info({ event: 'run:started', ...e }, `sync started: ${e.objects.join(', ')}`)),
    on('object:started', (e) => log.info({ event: 'object:started', ...e }, `${e.object}: ${e.mode} load started`)),
    on('object:batch', (e) => log.info({ event: 'object:batch', ...e }, `${e.object}: ${e.read} read`)),
    on('object:deletes', (e) => log.info({ event: 'object:deletes', ...e }, `${e.object}: ${e.count} deletes (${e.source})`)),
    on('object:formulas', (e) => log.info({ event: 'object:formulas', ...e }, `${e.object}: ${e.records} formula rows refreshed`)),
    on('object:schema', (e) => log.info({ event: 'object:schema', ...e }, `${e.object}: schema ${e.created ? 'created' : 'checked'}`)),
    on('object:finished', (e) => log.info({ event: 'object:finished', ...e }, `${e.object}: ${e.status}`)),
    on('budget:paused', (e) => log.warn({ event: 'budget:paused', ...e.numbers }, `API budget: paused at ${e.numbers.used}/${e.numbers.max}`)),
    on('budget:resumed', (e) => log.info({ event: 'budget:resumed', ...e.numbers }, 'API budget: resumed')),
    on('budget:refused', (e) => log.error({ event: 'budget:refused', code: e.code, ...e.numbers }, e.message)),
    on('warning', (e) => log.warn({ event: 'warning', ...e }, e.message)),
    on('sink:paused', (e) => log.warn({ event: 'sink:paused', ...e }, `${e.pipeline}: ${e.sink} unavailable (${e.code}: ${e.reason}); ${e.pending} messages wait, retry ${e.attempt + 1} in ${(e.retryInMs / 1000).toFixed(1)} s`)),
    on('sink:resumed', (e) => log.info({ event: 'sink:resumed', ...e }, `${e.pipeline}: ${e.sink} delivering again after ${(e.pausedMs / 1000).toFixed(1)} s paused`)),
    on('comments:batch', (e) => log.info({ event: 'comments:batch', ...e }, `comments ${e.object}: ${e.read} read, ${e.emitted} emitted`)),
    on('comments:finished', (e) => (e.status === 'ok' ? log.info : log.warn).call(log, { event: 'comments:finished', ...e }, `comments ${e.object}: ${e.status}, ${e.emitted} emitted, ${e.unchanged} unchanged, ${e.deleted} deleted`)),
    on('run:finished', (e) => (e.status === 'succeeded' ? log.info : log.error).call(log, { event: 'run:finished', ...e }, `sync ${e.status} in ${e.seconds.toFixed(1)} s, ${e.apiCalls} API calls`)),
  ];
  return () => offs.forEach((off) => off());
}

/* ------------------------------------------------------------------------------------------------------
 * The service (`sfbridge serve`): the same map, one level up. Every pipeline run's engine events are
 * forwarded with the run's context (pipeline, run id), so the run's event log in the store, the pino log
 * lines, the Prometheus metrics and the dashboard's live view all read one stream.
 * ---------------------------------------------------------------------------------------------------- */

/** Which run an event belongs to. */
export interface RunContext {
  pipeline: string;
  kind: string;
  runId: number;
  connection?: string;
}

/** A sync engine event with its name, as carried inside a service event. */
export type EngineEvent = { [K in keyof SyncEventMap]: { type: K; data: SyncEventMap[K][0] } }[keyof SyncEventMap];

/** Per-object outcome of a pipeline run, as the store and the API keep it. */
export interface RunObjectCounts {
  read: number;
  written: number;
  deleted: number;
  status: 'running' | 'ok' | 'failed' | 'skipped' | 'aborted';
  mode?: string;
  error?: string;
  /** Publish runs: records that failed and went to the dead-letter queue. */
  failed?: number;
}

/** Why a run started. */
export type RunTrigger = 'schedule' | 'manual' | 'resume' | 'replay' | 'inbound';

/** Final states of a pipeline run. `interrupted` runs are continued by a new run from their checkpoint. */
export type PipelineRunStatus = 'succeeded' | 'failed' | 'interrupted';

export interface ServiceEventMap {
  'service:started': [{ pipelines: number; connections: number; recovered: number }];
  'service:stopping': [{ reason: string }];
  /** A run was queued (by the schedule, by hand, or to resume an interrupted one). */
  'pipeline:queued': [{ pipeline: string; jobId: number; trigger: RunTrigger; priority: string; runAt: string }];
  'pipeline:run:started': [RunContext & { trigger: RunTrigger; resumedFrom?: number; objects?: string[] }];
  /** An engine event of a running pipeline. */
  'pipeline:run:event': [RunContext & EngineEvent];
  /** Publish progress: records handled so far. */
  'pipeline:run:progress': [RunContext & { object: string; done: number; total: number; status?: string }];
  'pipeline:run:finished': [RunContext & { status: PipelineRunStatus; seconds: number; apiCalls: number; objects: Record<string, RunObjectCounts>; error?: string; errorCode?: string }];
  /** A `Sforce-Limit-Info` reading for a connection's org. */
  'api:usage': [{ connection: string; org: string; used: number; max: number }];
  /** A pipeline's dead letters changed (new failures, replay, discard). */
  'deadletters:changed': [{ pipeline: string }];
  'callin:finished': [{ id: number; object: string; operation: string; records: number; ok: boolean }];
  warning: [{ pipeline?: string; runId?: number; code: string; message: string }];
}

/** The service's event emitter. */
export class ServiceEvents extends EventEmitter<ServiceEventMap> {}

/** A sink pause as one line: what is out, why, and when it is tried again. */
export function sinkPausedMessage(d: Record<string, unknown>): string {
  return `${String(d.sink)} unavailable (${String(d.code)}: ${String(d.reason)}); ${String(d.pending)} messages wait, retry ${Number(d.attempt) + 1} in ${(Number(d.retryInMs) / 1000).toFixed(1)} s`;
}

/** Re-emits every event of one run's engine stream on the service stream with the run's context. */
export function forwardSyncEvents(from: SyncEvents, to: ServiceEvents, ctx: RunContext): () => void {
  const names = ['run:started', 'object:started', 'object:batch', 'object:deletes', 'object:formulas', 'object:schema', 'object:finished', 'budget:paused', 'budget:resumed', 'budget:refused', 'sink:paused', 'sink:resumed', 'warning', 'run:finished'] as const satisfies readonly (keyof SyncEventMap)[];
  const offs = names.map((type) => {
    const fn = (data: unknown) => to.emit('pipeline:run:event', { ...ctx, type, data } as RunContext & EngineEvent);
    from.on(type, fn as never);
    return () => from.off(type, fn as never);
  });
  return () => offs.forEach((off) => off());
}

/**
 * Service events as structured log lines carrying `pipeline` and `runId`. Engine batches are left out (the
 * run's counts are in its finished line); everything that changes what an operator should know is in.
 */
export function logServiceEvents(events: ServiceEvents, log: EventLogger): () => void {
  const on = <K extends keyof ServiceEventMap>(name: K, fn: (...args: ServiceEventMap[K]) => void) => {
    events.on(name, fn as never);
    return () => events.off(name, fn as never);
  };
  const ids = (c: RunContext) => ({ pipeline: c.pipeline, runId: c.runId, kind: c.kind });
  const offs = [
    on('service:started', (e) => log.info({ event: 'service:started', ...e }, `service started: ${e.pipelines} pipelines, ${e.connections} connections${e.recovered ? `, ${e.recovered} interrupted runs resumed` : ''}`)),
    on('service:stopping', (e) => log.info({ event: 'service:stopping', ...e }, `service stopping (${e.reason}): finishing the current batch`)),
    on('pipeline:queued', (e) => log.info({ event: 'pipeline:queued', ...e }, `${e.pipeline}: run queued (${e.trigger})`)),
    on('pipeline:run:started', (e) => log.info({ event: 'pipeline:run:started', ...ids(e), trigger: e.trigger, resumedFrom: e.resumedFrom }, `${e.pipeline}: run ${e.runId} started (${e.trigger})`)),
    on('pipeline:run:event', (e) => {
      if (e.type === 'object:batch' || e.type === 'run:started' || e.type === 'run:finished') return;
      const data = e.data as Record<string, unknown>;
      if (e.type === 'warning') log.warn({ event: e.type, ...ids(e), ...data }, String(data.message));
      else if (e.type === 'budget:refused') log.error({ event: e.type, ...ids(e), code: data.code }, String(data.message));
      else if (e.type === 'budget:paused') log.warn({ event: e.type, ...ids(e), ...(data.numbers as object) }, `${e.pipeline}: API budget paused`);
      else if (e.type === 'sink:paused') log.warn({ event: e.type, ...ids(e), ...data }, `${e.pipeline}: ${sinkPausedMessage(data)}`);
      else log.info({ event: e.type, ...ids(e), ...data }, `${e.pipeline}: ${e.type}${data.object ? ` ${String(data.object)}` : ''}`);
    }),
    on('pipeline:run:finished', (e) => (e.status === 'failed' ? log.error : log.info).call(log, { event: 'pipeline:run:finished', ...ids(e), status: e.status, seconds: e.seconds, apiCalls: e.apiCalls, objects: e.objects, error: e.error, code: e.errorCode }, `${e.pipeline}: run ${e.runId} ${e.status} in ${e.seconds.toFixed(1)} s${e.error ? ` — ${e.error}` : ''}`)),
    on('warning', (e) => log.warn({ event: 'warning', ...e }, e.message)),
  ];
  return () => offs.forEach((off) => off());
}

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
}

/** What a whole run did. */
export interface RunSummary {
  runId: number | undefined;
  status: 'succeeded' | 'failed' | 'aborted';
  started: string;
  finished: string;
  seconds: number;
  apiCalls: number;
  objects: ObjectSummary[];
  error?: string;
}

/** Every event the engine emits, with its payload. */
export interface SyncEventMap {
  'run:started': [{ objects: string[]; store: string }];
  'object:started': [{ object: string; mode: LoadMode; total?: number; since?: string }];
  /** A page (REST) or batch (Bulk) was committed together with its checkpoint. */
  'object:batch': [{ object: string; mode: LoadMode; read: number; written: number; deleted: number; total?: number; cursor?: string }];
  'object:deletes': [{ object: string; source: 'queryAll' | 'getDeleted' | 'reconcile'; count: number }];
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

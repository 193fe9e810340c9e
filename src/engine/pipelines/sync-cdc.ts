/**
 * The CDC leader of a sync pipeline's object: an object with `mode: cdc` follows its change events into the
 * pipeline's mirror once its initial load is done, as one long-lived job per (connection, object) keyed
 * {@link cdcJobKey}. The job engine's exclusivity per key makes exactly one leader, fleet-wide, and its
 * takeover (a dead worker's heartbeat) gives failover: the next leader resumes after the replay id committed
 * with the rows (checkpoint `cdc:<Object>`).
 *
 * The leader owns the object after its initial load: it applies the events ({@link followSync} →
 * `followChanges`), runs the safety-net pass every `cdc_safety_net` and the catch-up read after an overflow
 * or an expired replay id (each an incremental cycle of the pipeline over this one object), so the
 * pipeline's scheduled runs leave the object out and an idle object costs no REST call between passes.
 */
import type { RunObjectCounts, RunSummary } from '../events.ts';
import { followSync, type FollowCycleKind } from '../sync/follow.ts';
import { PipelineError, pipelineKind, type PipelineRunContext, type PipelineRunResult } from './kinds.ts';
import { resolveStoreUrl, syncConfigOf, type SyncPipelineSpec } from './sync.ts';

/** The job key of the change-event leader of one object on one connection. */
export function cdcJobKey(connection: string, object: string): string {
  return `cdc:${connection}:${object.toLowerCase()}`;
}

/** The objects a sync pipeline lists by name (a `*` of custom objects is left out). */
function listed(spec: SyncPipelineSpec): string[] {
  return [...spec.standard_objects_to_sync, ...(Array.isArray(spec.custom_objects_to_sync) ? spec.custom_objects_to_sync.filter((o) => o !== '*') : [])];
}

/** The settings of an object in `objects:` (names match case-insensitively). */
function settingsOf(spec: SyncPipelineSpec, object: string): { mode?: string; writable?: boolean } | undefined {
  return Object.entries(spec.objects ?? {}).find(([name]) => name.toLowerCase() === object.toLowerCase())?.[1] as { mode?: string; writable?: boolean } | undefined;
}

/** Objects of a sync pipeline that follow their change events (`objects: { X: { mode: cdc } }`); none in full mode. */
export function followedObjects(spec: SyncPipelineSpec): string[] {
  if (spec.mode === 'full') return [];
  return listed(spec).filter((o) => settingsOf(spec, o)?.mode === 'cdc');
}

/**
 * Whether a scheduled run leaves `object` to its leader: it follows change events and its initial load is
 * done. A writable object stays in the scheduled runs too (a cycle is what sends the application's changes
 * to Salesforce).
 */
export function leftToLeader(spec: SyncPipelineSpec, object: string, checkpoint: { extra?: Record<string, unknown> | null } | undefined): boolean {
  const s = settingsOf(spec, object);
  return spec.mode !== 'full' && s?.mode === 'cdc' && !s.writable && Boolean(checkpoint?.extra?.loaded);
}

const summaryOf = (r: PipelineRunResult): RunSummary => ({
  runId: undefined,
  status: r.status === 'succeeded' ? 'succeeded' : r.status === 'interrupted' ? 'aborted' : 'failed',
  started: '',
  finished: '',
  seconds: 0,
  apiCalls: r.apiCalls,
  objects: [],
  ...(r.error ? { error: r.error } : {}),
});

/**
 * Follows one object's change events until `run.signal` aborts (`interrupted`) or the stream fails in a way
 * resubscribing cannot fix (throws, and the job is retried). An object not loaded yet ends at once
 * (`succeeded`): the scheduled run loads it and the leader is started after.
 */
export async function followSyncObject(spec: SyncPipelineSpec, object: string, run: PipelineRunContext): Promise<PipelineRunResult> {
  const storeUrl = resolveStoreUrl(spec.store ?? run.serviceStoreUrl, run.baseDir);
  const config = syncConfigOf(spec, storeUrl);
  const store = await run.store(storeUrl);
  const counts: RunObjectCounts = { read: 0, written: 0, deleted: 0, mode: 'cdc', status: 'running' };
  const objects: Record<string, RunObjectCounts> = { [object]: counts };
  if (!(await store.getCheckpoint(object))?.extra?.loaded) {
    counts.status = 'skipped';
    counts.error = 'the initial load is not done yet; the scheduled run loads it and the change events are followed after';
    run.report(object, counts);
    return { status: 'succeeded', objects, apiCalls: 0 };
  }
  run.report(object, counts);
  const client = await run.client();
  if (!(await client.events.available(run.signal))) {
    throw new PipelineError('PUBSUB_NOT_CONFIGURED', 400, `${spec.name}: ${object} has mode: cdc, but connection "${spec.connection}" has no Pub/Sub API to follow its change events: give the connection pubsub: { endpoint: HOST:PORT } (plaintext: true for the emulator), or use mode: poll`);
  }
  const sync = pipelineKind('sync')!;
  let apiCalls = 0;
  const cycle = async (objs: readonly string[], why: FollowCycleKind): Promise<RunSummary> => {
    run.events.emit('warning', { object, code: why === 'safety-net' ? 'CDC_SAFETY_NET' : why === 'overflow' ? 'CDC_OVERFLOW' : why === 'replay-expired' ? 'CDC_REPLAY_EXPIRED' : 'CDC_POLL', message: `${spec.name}: ${object}: ${why === 'safety-net' ? 'safety-net pass' : why === 'overflow' ? 'change events overflowed; catch-up read' : why === 'replay-expired' ? 'the replay id is past retention; following from the tip, catch-up read' : 'poll'} by the cursor` });
    const result = await sync.run(spec as never, { ...run, checkpoint: null, saveCheckpoint: async () => undefined, report: () => undefined, leader: true });
    apiCalls += result.apiCalls;
    for (const o of objs) {
      const c = result.objects[o];
      if (c) {
        counts.written += c.written;
        counts.deleted += c.deleted;
      }
    }
    run.report(object, counts);
    return summaryOf(result);
  };
  const pubsub = await client.events.client();
  try {
    await followSync({
      client, pubsub, store, signal: run.signal,
      cdcObjects: [object], pollObjects: [],
      intervalMs: config.intervalMs, safetyNetMs: config.cdcSafetyNetMs,
      cycle,
      onApplied: (_o, events, rows) => {
        counts.read += events.length;
        counts.written += rows;
        run.report(object, counts);
      },
    });
  } catch (err) {
    counts.status = run.signal.aborted ? 'aborted' : 'failed';
    counts.error = (err as Error).message;
    run.report(object, counts);
    if (run.signal.aborted) return { status: 'interrupted', objects, apiCalls };
    throw err;
  } finally {
    client.events.close();
  }
  counts.status = 'aborted';
  run.report(object, counts);
  return { status: 'interrupted', objects, apiCalls };
}

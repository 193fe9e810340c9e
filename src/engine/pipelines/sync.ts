/**
 * `kind: sync` pipelines: the `sfbridge sync` configuration (same keys, same meaning: objects, per-object
 * field filters, lag, Bulk threshold, deletes, documents, budget, store) plus a name, a connection, a
 * schedule, a `mode` and `sinks`. A run is one sync cycle over its objects; the job checkpoint records
 * the objects a run finished, so a run interrupted by a shutdown or a crash resumes with the objects it had
 * not finished, each from its own committed checkpoint in the mirror store.
 *
 * ```yaml
 * pipelines:
 *   - name: crm
 *     kind: sync
 *     connection: prod
 *     schedule: 5m                 # or { cron: "*\/15 * * * *" }
 *     standard_objects_to_sync: [Account, Contact, Case]
 *     objects: { Contact: { fields: { exclude: [Description] } } }
 *     documents: { enabled: true }
 *     store: sqlite:./data/crm.db  # the mirror (default: the service's store)
 *     mode: incremental            # or full: every run re-reads every row
 *     sinks: [{ type: jsonl, path: ./data/crm-docs.jsonl }]
 * ```
 */
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { createDocumentBuilder } from '../documents/index.ts';
import { DEFAULT_INTERVAL_MS, syncConfigSchema, validateConfig, type SyncConfig } from '../config.ts';
import type { RunObjectCounts } from '../events.ts';
import { resolveObjects } from '../sync/objects.ts';
import { runSync } from '../sync/runner.ts';
import { JsonlSink, openSink, parseSinkConfig, SINK_KINDS, type Sink } from '../sinks/index.ts';
import type { JobPriority } from '../jobs/queue.ts';
import { followedObjects, leftToLeader } from './sync-cdc.ts';
import { basePipelineFields, PipelineError, registerPipelineKind, type PipelineRunContext, type PipelineRunResult } from './kinds.ts';

const STORE_URL = z.string().regex(/^(sqlite:|postgres(ql)?:\/\/)/, 'a store URL: sqlite:./data/mirror.db or postgres://user@host/db?schema=crm');

/** Document sinks a sync pipeline can feed (more kinds register with {@link registerSinkType}). */
const sinkTypes = new Map<string, { schema: z.ZodObject; create(config: Record<string, unknown>, baseDir: string): Sink }>();

/** Adds a sink type for sync pipelines' `sinks:`. */
export function registerSinkType(type: string, def: { schema: z.ZodObject; create(config: Record<string, unknown>, baseDir: string): Sink }): void {
  sinkTypes.set(type, def);
}

registerSinkType('jsonl', {
  schema: z.strictObject({ type: z.literal('jsonl'), path: z.string().min(1).describe('JSONL file the documents and deletions are appended to') }),
  create: (c, baseDir) => new JsonlSink({ url: resolve(baseDir, String(c.path)), envelope: false, fsync: true }),
});

/** The `queue:` block's keys without `kind` (the pipeline's `type` says it); `name` may come from the pipeline's `queue`. */
const queueSinkConfig = (c: Record<string, unknown>, kind: string) => {
  const { type: _t, ...rest } = c;
  return { ...rest, kind };
};
for (const kind of SINK_KINDS.filter((k) => k !== 'jsonl')) {
  registerSinkType(kind, {
    schema: z.looseObject({ type: z.literal(kind) }).superRefine((v, ctx) => {
      try {
        // A missing name is checked when the pipeline runs, where its `queue` can supply it.
        parseSinkConfig({ name: 'queue', ...queueSinkConfig(v, kind) }, '');
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    }),
    create: (c) => openSink(parseSinkConfig(queueSinkConfig(c, kind), 'sinks')),
  });
}

const sinkSchema = z
  .looseObject({ type: z.string().describe('sink type, e.g. jsonl') })
  .superRefine((v, ctx) => {
    const def = sinkTypes.get(v.type);
    if (!def) {
      ctx.addIssue({ code: 'custom', path: ['type'], message: `unknown sink type "${v.type}" (types: ${[...sinkTypes.keys()].join(', ')})` });
      return;
    }
    const r = def.schema.safeParse(v);
    if (!r.success) for (const i of r.error.issues) ctx.addIssue({ code: 'custom', path: i.path, message: i.message });
  })
  .meta({ id: 'Sink' });

/** The sync pipeline schema: `sfbridge sync`'s keys (minus its connection block and the file's lists) plus the pipeline's own. */
export const syncPipelineSchema = syncConfigSchema
  .omit({ connection: true, to: true, publish: true, connections: true, pipelines: true, store: true })
  .extend({
    kind: z.literal('sync'),
    ...basePipelineFields,
    store: STORE_URL.optional().describe('the mirror (default: the service\'s store)'),
    mode: z.enum(['incremental', 'full']).default('incremental').describe('incremental: initial load, then changes; full: every run re-reads every row and applies deletes'),
    sinks: z.array(sinkSchema).default([]),
    queue: z.string().regex(/^[A-Za-z0-9_.:-]+$/).optional().describe('queue name for queue sinks that do not name their own (Coco\'s queue.name)'),
  })
  .meta({ id: 'SyncPipeline' });

export type SyncPipelineSpec = z.output<typeof syncPipelineSchema>;

/** Resolves a relative SQLite path against the config file's directory. */
export function resolveStoreUrl(url: string, baseDir: string): string {
  if (!url.startsWith('sqlite:') || url === 'sqlite::memory:') return url;
  const path = url.slice('sqlite:'.length);
  return isAbsolute(path) ? url : `sqlite:${resolve(baseDir, path)}`;
}

/** The engine configuration of a sync pipeline (the same validation `sfbridge sync --config` applies). */
export function syncConfigOf(spec: SyncPipelineSpec, storeUrl: string): SyncConfig {
  const { kind: _k, name: _n, connection: _c, schedule: _s, paused: _p, description: _d, mode: _m, sinks: _si, queue: _q, store: _st, ...rest } = spec;
  // The spec's durations are parsed already (milliseconds); a bare number would be read again as seconds.
  const durations = Object.fromEntries((['interval', 'lag', 'formula_refresh', 'cdc_safety_net', 'reconcile', 'schema_refresh'] as const).filter((k) => typeof rest[k] === 'number').map((k) => [k, `${rest[k]}ms`]));
  return validateConfig({ ...rest, ...durations, store: storeUrl });
}

const counts = (o: { read: number; written: number; deleted: number }): Pick<RunObjectCounts, 'read' | 'written' | 'deleted'> => ({ read: o.read, written: o.written, deleted: o.deleted });

async function runSyncPipeline(spec: SyncPipelineSpec, run: PipelineRunContext): Promise<PipelineRunResult> {
  const storeUrl = resolveStoreUrl(spec.store ?? run.serviceStoreUrl, run.baseDir);
  const config = syncConfigOf(spec, storeUrl);
  const store = await run.store(storeUrl);
  const checkpoint = (run.checkpoint ?? {}) as { completed?: string[]; objects?: Record<string, RunObjectCounts>; reset?: boolean };
  const completed = new Set(checkpoint.completed ?? []);
  const objects: Record<string, RunObjectCounts> = { ...(checkpoint.objects ?? {}) };
  // Objects that follow their change events are their leader's once loaded (see sync-cdc.ts): a scheduled
  // run leaves them out, so an idle one costs no call; the leader's own cycles (safety net, catch-ups) read them.
  const followed = new Set<string>();
  if (!run.leader) {
    for (const o of followedObjects(spec)) if (leftToLeader(spec, o, await store.getCheckpoint(o))) followed.add(o);
    for (const o of followed) objects[o] = { read: 0, written: 0, deleted: 0, mode: 'cdc', status: 'skipped' };
    const named = [...spec.standard_objects_to_sync, ...(Array.isArray(spec.custom_objects_to_sync) ? spec.custom_objects_to_sync : [])];
    if (followed.size && !named.includes('*') && named.every((o) => followed.has(o) || completed.has(o))) return { status: 'succeeded', objects, apiCalls: 0 };
  }
  const client = await run.client();
  const all = await resolveObjects(client, config, run.signal);
  const remaining = all.filter((o) => !completed.has(o) && !followed.has(o));
  for (const o of remaining) {
    objects[o] = { read: 0, written: 0, deleted: 0, status: 'running' };
    run.report(o, objects[o]);
  }
  // Full mode: forget the cursors once per run (not again when a resumed attempt continues it), so every
  // object is read whole; rows are rewritten idempotently and the forced reconciliation applies deletes.
  if (spec.mode === 'full' && !checkpoint.reset) {
    for (const o of all) {
      const cp = await store.getCheckpoint(o);
      if (cp) await store.setCheckpoint(o, null, { ...(cp.extra ?? {}), loaded: false, bulk: null } as never);
    }
    await run.saveCheckpoint({ ...checkpoint, reset: true } as never);
  }
  let documents: ReturnType<typeof createDocumentBuilder> | undefined;
  if (config.documents.enabled) documents = createDocumentBuilder(client);
  const sinks: Sink[] = config.documents.enabled ? config.documents.sinks.map((c) => (c.kind === 'jsonl' ? new JsonlSink({ ...c, url: resolve(run.baseDir, c.url!) }) : openSink(c, { store }))) : [];
  try {
    for (const s of spec.sinks) {
      const withName = s.type !== 'jsonl' && s.type !== 'webhook' && s.type !== 'store' && s.name === undefined && spec.queue ? { ...s, name: spec.queue } : s;
      sinks.push(sinkTypes.get(String(s.type))!.create(withName as Record<string, unknown>, run.baseDir));
    }
  } catch (err) {
    await Promise.all(sinks.map((k) => k.close()));
    throw new PipelineError('INVALID_PIPELINE', 400, `${spec.name}: ${(err as Error).message}`);
  }
  if (sinks.length && !documents) throw new PipelineError('INVALID_PIPELINE', 400, `${spec.name}: sinks receive search documents; set documents: { enabled: true }`);

  const onBatch = (e: { object: string; read: number; written: number; deleted: number; mode: string }) => {
    objects[e.object] = { ...objects[e.object], ...counts(e), mode: e.mode, status: 'running' };
    run.report(e.object, objects[e.object]);
  };
  const onFinished = (e: { object: string; read: number; written: number; deleted: number; mode: string; status: RunObjectCounts['status']; error?: string }) => {
    objects[e.object] = { ...counts(e), mode: e.mode, status: e.status, ...(e.error ? { error: e.error } : {}) };
    run.report(e.object, objects[e.object]);
    if (e.status === 'ok' || e.status === 'skipped') {
      completed.add(e.object);
      // Best effort here; the object's own checkpoint is already committed with its rows.
      void run.saveCheckpoint({ completed: [...completed], objects, reset: checkpoint.reset ?? spec.mode === 'full' } as never).catch(() => undefined);
    }
  };
  run.events.on('object:batch', onBatch);
  run.events.on('object:finished', onFinished);
  try {
    const summary = await runSync({
      client,
      store,
      objects: remaining,
      events: run.events,
      signal: run.signal,
      objectSettings: config.objects,
      lagMs: config.lagMs,
      bulkThreshold: config.bulkThreshold,
      formulaRefreshMs: config.formulaRefreshMs,
      reconcileMs: config.reconcileMs,
      schemaRefreshMs: config.schemaRefreshMs,
      documents,
      documentSinks: sinks,
      force: spec.mode === 'full' ? { reconcile: true } : undefined,
      storeLabel: storeUrl.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@'),
    });
    const status = summary.status === 'succeeded' ? 'succeeded' : summary.status === 'aborted' && run.signal.aborted ? 'interrupted' : 'failed';
    const failed = summary.objects.find((o) => o.status === 'failed');
    return { status, objects, apiCalls: summary.apiCalls, error: summary.error, errorCode: summary.errorCode ?? (failed ? 'OBJECT_FAILED' : undefined) };
  } finally {
    run.events.off('object:batch', onBatch);
    run.events.off('object:finished', onFinished);
    for (const s of sinks) await s.close();
  }
}

registerPipelineKind<SyncPipelineSpec>({
  kind: 'sync',
  schema: syncPipelineSchema as never,
  defaultEveryMs: DEFAULT_INTERVAL_MS,
  priority: (_spec, state): JobPriority => (state.loaded ? 'incremental' : 'initial'),
  units: (spec) => [...spec.standard_objects_to_sync, ...(Array.isArray(spec.custom_objects_to_sync) ? spec.custom_objects_to_sync.filter((o) => o !== '*') : [])],
  conflicts(spec, others) {
    // One mirror table per (store, object): two pipelines writing it would fight over its rows and checkpoint.
    const mine = new Set(spec.standard_objects_to_sync.concat(Array.isArray(spec.custom_objects_to_sync) ? spec.custom_objects_to_sync : []).map((o) => o.toLowerCase()));
    const out: string[] = [];
    for (const o of others) {
      if (o.name === spec.name || (o.store ?? '') !== (spec.store ?? '')) continue;
      const theirs = o.standard_objects_to_sync.concat(Array.isArray(o.custom_objects_to_sync) ? o.custom_objects_to_sync : []);
      const shared = theirs.filter((x) => x !== '*' && mine.has(x.toLowerCase()));
      if (shared.length) out.push(`pipeline "${o.name}" already mirrors ${shared.join(', ')} into ${spec.store ?? 'the service store'}; give this pipeline another store: (store: sqlite:./data/${spec.name}.db) or other objects`);
    }
    return out;
  },
  run: runSyncPipeline,
});

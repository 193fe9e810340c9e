/**
 * `kind: comments` pipelines: the `comments:` block of sfbridge.yaml (objects, queue, jsonl) plus a name, a
 * connection, a schedule and the store that keeps the cursors and text hashes. A run is one comments cycle:
 * new comments and text changes go to the sinks, deletes as tombstones, and a sink outage pauses the object
 * without moving its cursor (the run shows the pause and fails with the sink's error if it outlasts
 * `retry.max_pause`).
 *
 * ```yaml
 * pipelines:
 *   - name: support-comments
 *     kind: comments
 *     connection: prod
 *     schedule: 1m
 *     objects: [EmailMessage, CaseComment]
 *     queue: { kind: nats, name: comments }
 * ```
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import { runComments } from '../comments/runner.ts';
import { commentsSchema, toCommentsConfig } from '../comments/config.ts';
import { DEFAULT_LAG_MS, DEFAULT_RECONCILE_MS, duration } from '../config.ts';
import type { RunObjectCounts } from '../events.ts';
import { openSink, type Sink } from '../sinks/index.ts';
import { basePipelineFields, PipelineError, registerPipelineKind, type PipelineRunContext, type PipelineRunResult } from './kinds.ts';
import { resolveStoreUrl } from './sync.ts';

/** Default pause between comments runs. */
export const DEFAULT_COMMENTS_EVERY_MS = 60_000;

export const commentsPipelineSchema = commentsSchema
  .omit({ enabled: true })
  .extend({
    kind: z.literal('comments'),
    ...basePipelineFields,
    store: z.string().regex(/^(sqlite:|postgres(ql)?:\/\/)/, 'a store URL: sqlite:./data/comments.db or postgres://user@host/db').optional().describe("cursors and text hashes (default: the service's store)"),
    lag: duration.optional().describe('re-read window behind the cursor (default 5m)'),
    reconcile: duration.optional().describe('how often hard deletes are looked up (default 6h)'),
    page_size: z.number().int().min(200).max(2000).optional().describe('records per page (one delivery and one transaction each)'),
  })
  .meta({ id: 'CommentsPipeline' });

export type CommentsPipelineSpec = z.output<typeof commentsPipelineSchema>;

async function runCommentsPipeline(spec: CommentsPipelineSpec, run: PipelineRunContext): Promise<PipelineRunResult> {
  const config = toCommentsConfig({ ...spec, enabled: true });
  const store = await run.store(resolveStoreUrl(spec.store ?? run.serviceStoreUrl, run.baseDir));
  const client = await run.client();
  let sinks: Sink[];
  try {
    sinks = config.sinks.map((c) => (c.kind === 'jsonl' ? openSink({ ...c, url: resolve(run.baseDir, c.url!) }) : openSink(c, { store })));
  } catch (err) {
    throw new PipelineError('INVALID_PIPELINE', 400, `${spec.name}: ${(err as Error).message}`);
  }
  const objects: Record<string, RunObjectCounts> = {};
  for (const s of config.sources) run.report(s.object, (objects[s.object] = { read: 0, written: 0, deleted: 0, status: 'running' }));
  const onBatch = (e: { object: string; read: number; emitted: number; deleted: number }) => {
    objects[e.object] = { ...objects[e.object], read: e.read, written: e.emitted, deleted: e.deleted, status: 'running' };
    run.report(e.object, objects[e.object]);
  };
  run.events.on('comments:batch', onBatch);
  try {
    const summary = await runComments({
      client,
      store,
      sources: config.sources,
      sinks,
      events: run.events,
      signal: run.signal,
      lagMs: spec.lag ?? DEFAULT_LAG_MS,
      reconcileMs: spec.reconcile ?? DEFAULT_RECONCILE_MS,
      pageSize: spec.page_size,
    });
    for (const o of summary.objects) {
      objects[o.object] = { read: o.read, written: o.emitted, deleted: o.deleted, status: o.status, ...(o.error ? { error: o.error } : {}) };
      run.report(o.object, objects[o.object]);
    }
    const failed = summary.objects.filter((o) => o.status === 'failed');
    if (summary.status === 'aborted') return { status: run.signal.aborted ? 'interrupted' : 'failed', objects, apiCalls: summary.apiCalls };
    return failed.length
      ? { status: 'failed', objects, apiCalls: summary.apiCalls, error: failed.map((o) => `${o.object}: ${o.error}`).join('; '), errorCode: 'OBJECT_FAILED' }
      : { status: 'succeeded', objects, apiCalls: summary.apiCalls };
  } finally {
    run.events.off('comments:batch', onBatch);
    for (const s of sinks) await s.close();
  }
}

registerPipelineKind<CommentsPipelineSpec>({
  kind: 'comments',
  schema: commentsPipelineSchema as never,
  defaultEveryMs: DEFAULT_COMMENTS_EVERY_MS,
  priority: () => 'incremental',
  check: (spec) => (spec.queue || spec.jsonl ? undefined : { path: 'queue', message: 'a comments pipeline needs a destination: queue: {kind: nats|rabbitmq|redis|webhook|jsonl|store, …} or jsonl: FILE' }),
  units: (spec) => toCommentsConfig({ ...spec, enabled: true }).sources.map((s) => s.object),
  conflicts(spec, others) {
    // Cursors and hashes are keyed by object in the store: two pipelines sharing a store would share them.
    const mine = new Set(toCommentsConfig({ ...spec, enabled: true }).sources.map((s) => s.object));
    return others
      .filter((o) => o.name !== spec.name && (o.store ?? '') === (spec.store ?? '') && toCommentsConfig({ ...o, enabled: true }).sources.some((s) => mine.has(s.object)))
      .map((o) => `pipeline "${o.name}" already keeps comment cursors for the same objects in ${spec.store ?? 'the service store'}; give this pipeline another store: (store: sqlite:./data/${spec.name}.db)`);
  },
  run: runCommentsPipeline,
});

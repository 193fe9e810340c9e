/**
 * `kind: publish` pipelines: a `publish:` entry of sfbridge.yaml (source, transform, target, state, …) plus
 * a connection and a schedule. A run publishes everything its source has now, through the publisher's
 * exactly-once outbox; permanent failures become dead letters in the pipeline's state store.
 */
import { z } from 'zod';
import { DEFAULT_PUBLISH_STATE, publishPipelineSchema } from '../publish/config.ts';
import { runPipeline } from '../publish/pipeline.ts';
import type { RunObjectCounts } from '../events.ts';
import { basePipelineFields, registerPipelineKind, type PipelineRunContext, type PipelineRunResult } from './kinds.ts';
import { resolveStoreUrl } from './sync.ts';

/** Default pause between publish runs. */
export const DEFAULT_PUBLISH_EVERY_MS = 60_000;

export const publishPipelineKindSchema = publishPipelineSchema
  .extend({
    kind: z.literal('publish'),
    ...basePipelineFields,
  })
  .meta({ id: 'PublishPipeline' });

export type PublishPipelineSpec = z.output<typeof publishPipelineKindSchema>;

/** The state store (outbox, dead letters) of a publish pipeline. */
export function publishStateUrl(spec: { state?: string }, baseDir: string): string {
  return resolveStoreUrl(spec.state ?? DEFAULT_PUBLISH_STATE, baseDir);
}

async function runPublishPipeline(spec: PublishPipelineSpec, run: PipelineRunContext): Promise<PipelineRunResult> {
  const client = await run.client();
  const object = spec.target.object;
  const counts: RunObjectCounts = { read: 0, written: 0, deleted: 0, failed: 0, status: 'running' };
  run.report(object, counts);
  const apiStart = client.governor?.runUsed ?? 0;
  const { kind: _k, connection: _c, schedule: _s, paused: _p, description: _d, ...config } = spec;
  try {
    const summary = await runPipeline(config, {
      client,
      baseDir: run.baseDir,
      stateUrl: publishStateUrl(spec, run.baseDir),
      stores: run.store,
      signal: run.signal,
      onProgress: (done, total, status) => {
        run.service.emit('pipeline:run:progress', { ...run.ctx, object, done, total, status });
      },
      onWarning: (message) => run.service.emit('warning', { pipeline: spec.name, runId: run.ctx.runId, code: 'PUBLISH_WARNING', message }),
    });
    Object.assign(counts, { read: summary.total, written: summary.succeeded, failed: summary.failed, status: summary.failed ? 'failed' : 'ok' });
    run.report(object, counts);
    if (summary.deadLettered) run.service.emit('deadletters:changed', { pipeline: spec.name });
    const apiCalls = (client.governor?.runUsed ?? 0) - apiStart;
    if (run.signal.aborted) return { status: 'interrupted', objects: { [object]: counts }, apiCalls };
    return summary.failed
      ? { status: 'failed', objects: { [object]: counts }, apiCalls, error: `${summary.failed} of ${summary.total} records failed (${summary.deadLettered} in the dead-letter queue)`, errorCode: 'RECORDS_FAILED' }
      : { status: 'succeeded', objects: { [object]: counts }, apiCalls };
  } catch (err) {
    counts.status = run.signal.aborted ? 'aborted' : 'failed';
    counts.error = (err as Error).message;
    run.report(object, counts);
    if (run.signal.aborted) return { status: 'interrupted', objects: { [object]: counts }, apiCalls: (client.governor?.runUsed ?? 0) - apiStart };
    throw err;
  }
}

registerPipelineKind<PublishPipelineSpec>({
  kind: 'publish',
  schema: publishPipelineKindSchema as never,
  defaultEveryMs: DEFAULT_PUBLISH_EVERY_MS,
  priority: () => 'incremental',
  units: (spec) => [spec.target.object],
  deadLetterStore: (spec, _service, baseDir) => publishStateUrl(spec, baseDir),
  run: runPublishPipeline,
});

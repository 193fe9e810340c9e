/**
 * The pipeline model. Importing this module registers the built-in kinds (sync, publish, comments, events); other kinds
 * register themselves with {@link registerPipelineKind} when their module is imported.
 */
import './sync.ts';
import './publish.ts';
import './comments.ts';
import './events.ts';
import '../patterns/index.ts';

export * from './kinds.ts';
export { loadServiceConfig, Pipelines, type PipelineEntry, type PipelineSpec, type ServiceConfig } from './registry.ts';
export { registerSinkType, resolveStoreUrl, syncPipelineSchema, type SyncPipelineSpec } from './sync.ts';
export { commentsPipelineSchema, type CommentsPipelineSpec } from './comments.ts';
export { eventsPipelineSchema, eventPipelineCheckpoint, type EventsPipelineSpec } from './events.ts';
export { publishPipelineKindSchema, publishStateUrl, type PublishPipelineSpec } from './publish.ts';

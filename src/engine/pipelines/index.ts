/**
 * The pipeline model. Importing this module registers the built-in kinds (sync, publish, comments); other kinds
 * register themselves with {@link registerPipelineKind} when their module is imported.
 */
import './sync.ts';
import './publish.ts';
import './comments.ts';
import '../patterns/index.ts';

export * from './kinds.ts';
export { loadServiceConfig, Pipelines, type PipelineEntry, type PipelineSpec, type ServiceConfig } from './registry.ts';
export { registerSinkType, resolveStoreUrl, syncPipelineSchema, type SyncPipelineSpec } from './sync.ts';
export { commentsPipelineSchema, type CommentsPipelineSpec } from './comments.ts';
export { publishPipelineKindSchema, publishStateUrl, type PublishPipelineSpec } from './publish.ts';

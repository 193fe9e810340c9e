/** The publisher: exactly-once writes into Salesforce with per-record results, retries and dead letters. */
export * from './types.ts';
export { publish, defaultKey, eventIdOf, validateTarget, type PublishInput, type PublishOptions } from './publisher.ts';
export { sendBulk, sendCollections, sendPubSub, parseBulkError, bulkApiOf, type BulkIngestApi, type BulkIngestRecordResult, type BulkTuning, type SendOutcome } from './send.ts';
export { compileTransform, renderTemplate, transformSchema, validateTransform, type TransformSpec } from './transform.ts';
export { parsePublishPipelines, publishPipelineSchema, targetOf, DEFAULT_PUBLISH_STATE, type PublishPipelineConfig } from './config.ts';
export { runPipeline, SOURCE_PAGE_SIZE, type PipelineRunOptions, type PipelineRunSummary } from './pipeline.ts';
export { readRecords, formatOf, nestDotted, type FileFormat } from './files.ts';
export { replayDeadLetters, type ReplayOptions, type ReplayOutcome } from './dlq.ts';
export { PUBLISH_DESCRIBE_FRESH_MS, StateBulkRateStore, StateDescribeCache, publisherBulk } from './meta.ts';

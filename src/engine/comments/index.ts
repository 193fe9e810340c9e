/**
 * Communications into comments: cleaned (clean.ts), enriched from the parent Case (enrich.ts), in the
 * documented shape (shape.ts, docs/comments.md), emitted only when their text changed (runner.ts).
 */
export * from './clean.ts';
export * from './shape.ts';
export * from './sources.ts';
export { CASE_ENRICHMENT_SOQL, enrichFromCases, PRIORITY_RANK } from './enrich.ts';
export { commentsSchema, toCommentsConfig, type CommentsConfig } from './config.ts';
export { COMMENTS_STREAM, commentsCheckpointKey, commentVersion, runComments, type CommentsObjectSummary, type CommentsRunOptions, type CommentsRunSummary } from './runner.ts';

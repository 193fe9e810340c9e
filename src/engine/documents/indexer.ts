/**
 * The two steps a pipeline takes per batch of records, under the emit-only-on-change rule (../emit.ts):
 * documents of live records that are new or changed go to the sinks and then the search index; deleted
 * records leave the index and get a tombstone in the sinks. Unchanged documents are left alone. With a
 * transaction handle as `index` the index writes and hashes commit together.
 */
import type { StoreOperations } from '../../store/types.ts';
import { commitPlan, deliverPlan, planEmission, type EmitPlan } from '../emit.ts';
import type { Sink, SinkObserver, SinkRetryOptions } from '../sinks/index.ts';
import type { SearchDocument } from '../../store/types.ts';
import type { DocumentBuilder } from './index.ts';
import { fieldValue, isTrue } from './records.ts';
import { documentStream, documentTombstone, documentVersion } from './version.ts';

/** Where documents are written: a store, or a transaction handle so documents commit with their rows. */
export type DocumentIndex = Pick<StoreOperations, 'upsertDocuments' | 'deleteDocuments' | 'getEmitted' | 'setEmitted' | 'deleteEmitted'>;

/** Options of {@link indexRecords} and {@link removeDocuments}. */
export interface IndexOptions {
  /** Destinations besides the index (a queue, a webhook, a JSONL file). */
  sinks?: readonly Sink[];
  retry?: SinkRetryOptions;
  observer?: SinkObserver;
  signal?: AbortSignal;
}

/** Outcome of {@link indexRecords}. */
export interface IndexResult {
  /** Documents written (new or changed). */
  indexed: number;
  /** Documents whose content was already indexed and emitted. */
  unchanged: number;
  /** Ids removed because the batch flagged them `IsDeleted` (queryAll). */
  removed: number;
}

async function apply(index: DocumentIndex, plan: EmitPlan<SearchDocument>, deleted: readonly string[], opts: IndexOptions): Promise<number> {
  await deliverPlan(opts.sinks ?? [], plan, opts);
  opts.signal?.throwIfAborted();
  if (plan.changed.length) await index.upsertDocuments(plan.changed.map((c) => c.item));
  const removed = deleted.length ? await index.deleteDocuments(deleted) : 0;
  await commitPlan(index, plan);
  return removed;
}

/**
 * Builds documents for a batch and writes the new and changed ones; records flagged `IsDeleted` (queryAll,
 * Bulk queryAll) are removed instead.
 */
export async function indexRecords(builder: DocumentBuilder, index: DocumentIndex, object: string, records: readonly Record<string, unknown>[], opts: IndexOptions = {}): Promise<IndexResult> {
  const deleted = records.filter((r) => typeof r.Id === 'string' && isTrue(fieldValue(r, 'IsDeleted'))).map((r) => r.Id as string);
  const docs = await builder.build(object, records, opts.signal);
  opts.signal?.throwIfAborted();
  const stream = documentStream(opts.sinks);
  const plan = await planEmission(index, stream, docs.map((d) => documentVersion(d, stream)), deleted, documentTombstone(object, stream));
  await apply(index, plan, deleted, opts);
  return { indexed: plan.changed.length, unchanged: plan.unchanged, removed: deleted.length };
}

/** Removes the documents of deleted records (Get Deleted, tombstones) from the index, with a tombstone to each sink. */
export async function removeDocuments(index: DocumentIndex, object: string, ids: readonly string[], opts: IndexOptions = {}): Promise<number> {
  if (ids.length === 0) return 0;
  opts.signal?.throwIfAborted();
  const stream = documentStream(opts.sinks);
  const plan = await planEmission<SearchDocument>(index, stream, [], ids, documentTombstone(object, stream));
  return apply(index, plan, ids, opts);
}

/**
 * The two steps the engine takes per batch: documents for live records go into the search index (and the
 * JSONL file), deleted records leave both.
 */
import type { SearchIndex } from '../../store/types.ts';
import type { DocumentBuilder } from './index.ts';
import type { JsonlDocumentSink } from './jsonl.ts';
import { fieldValue, isTrue } from './records.ts';

/** Where documents are written: a store, or a transaction handle so documents commit with their rows. */
export type DocumentIndex = Pick<SearchIndex, 'upsertDocuments' | 'deleteDocuments'>;

/** Outcome of {@link indexRecords}. */
export interface IndexResult {
  /** Documents written. */
  indexed: number;
  /** Ids removed because the batch flagged them `IsDeleted` (queryAll). */
  removed: number;
}

/**
 * Builds documents for a batch and writes them; records flagged `IsDeleted` (queryAll, Bulk queryAll) are
 * removed from the index instead.
 */
export async function indexRecords(
  builder: DocumentBuilder,
  index: DocumentIndex,
  object: string,
  records: readonly Record<string, unknown>[],
  opts: { sink?: JsonlDocumentSink; signal?: AbortSignal } = {},
): Promise<IndexResult> {
  const deleted = records.filter((r) => typeof r.Id === 'string' && isTrue(fieldValue(r, 'IsDeleted'))).map((r) => r.Id as string);
  const docs = await builder.build(object, records, opts.signal);
  opts.signal?.throwIfAborted();
  if (docs.length) await index.upsertDocuments(docs);
  if (deleted.length) await index.deleteDocuments(deleted);
  if (docs.length) await opts.sink?.write(docs, opts.signal);
  if (deleted.length) await opts.sink?.delete(deleted, opts.signal);
  return { indexed: docs.length, removed: deleted.length };
}

/** Removes the documents of deleted records (Get Deleted, tombstones) from the index and the JSONL file. */
export async function removeDocuments(index: DocumentIndex, ids: readonly string[], opts: { sink?: JsonlDocumentSink; signal?: AbortSignal } = {}): Promise<number> {
  if (ids.length === 0) return 0;
  opts.signal?.throwIfAborted();
  const n = await index.deleteDocuments(ids);
  await opts.sink?.delete(ids, opts.signal);
  return n;
}

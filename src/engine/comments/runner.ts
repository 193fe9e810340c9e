/**
 * One comments cycle: per source object, read what changed since the cursor (behind the lag window, soft
 * deletes included), turn the records into cleaned comments, and emit only what is new or whose text
 * changed — a status or owner change emits nothing, an edit one update, a delete one tombstone. Changed
 * comments are enriched from their Case, delivered to the sinks, and only then does one store transaction
 * record their text hashes and move the cursor; a sink outage pauses the object (`sink:paused`), never
 * skips a comment. Hard deletes come from Get Deleted on the reconcile schedule.
 */
import { SalesforceError, type LimitError } from '../../client/errors.ts';
import type { SalesforceClient } from '../../client/index.ts';
import type { CheckpointCursor, JsonObject, JsonValue, Store } from '../../store/types.ts';
import { DEFAULT_LAG_MS, DEFAULT_RECONCILE_MS } from '../config.ts';
import { fieldValue, ID_PATTERN, isTrue, type AnyRecord } from '../documents/records.ts';
import { commitPlan, deliverPlan, emitStream, planEmission, tombstoneMessage, type Emittable } from '../emit.ts';
import { sinkEvents, SyncEvents } from '../events.ts';
import { versionMessageId, type Sink, type SinkMessage, type SinkRetryOptions } from '../sinks/index.ts';
import { changeQuery, cursorOf, maxCursor, windowStart } from '../sync/cursor.ts';
import { isDue } from '../sync/formula.ts';
import { enrichFromCases } from './enrich.ts';
import { commentTextHash, type Comment } from './shape.ts';
import { availableFields, type CommentSource } from './sources.ts';

/** The emit stream of comments (the key of their text hashes in the store). */
export const COMMENTS_STREAM = 'comments';
/** Checkpoint key of a source object's cursor. */
export const commentsCheckpointKey = (object: string): string => `comments/${object}`;

/** Options of {@link runComments}. */
export interface CommentsRunOptions {
  client: SalesforceClient;
  store: Store;
  sources: readonly CommentSource[];
  /** Where comments go. At least one. */
  sinks: readonly Sink[];
  events?: SyncEvents;
  signal?: AbortSignal;
  lagMs?: number;
  reconcileMs?: number;
  /** REST page size hint; one page is one delivery and one transaction. */
  pageSize?: number;
  sinkRetry?: SinkRetryOptions;
  /** Base of record URLs; default the session's instance URL. */
  instanceUrl?: string;
  now?: () => number;
}

/** What a cycle did for one object. */
export interface CommentsObjectSummary {
  object: string;
  /** Records read (changed since the cursor, re-reads of the lag window included). */
  read: number;
  /** Comments emitted (new or text changed). */
  emitted: number;
  /** Comments read whose text was already emitted. */
  unchanged: number;
  /** Tombstones emitted. */
  deleted: number;
  status: 'ok' | 'failed' | 'skipped' | 'aborted';
  error?: string;
}

/** What a cycle did. */
export interface CommentsRunSummary {
  status: 'succeeded' | 'failed' | 'aborted';
  objects: CommentsObjectSummary[];
  seconds: number;
  apiCalls: number;
}

/** The sink message of a comment version: id `comments:<Id>:<text hash>`, key the record Id. */
export function commentVersion(comment: Comment, stream = COMMENTS_STREAM): Emittable<Comment> {
  const hash = commentTextHash(comment);
  return { id: comment.id, hash, item: comment, message: commentMessage(comment, stream, hash) };
}

function commentMessage(comment: Comment, stream: string, hash: string): SinkMessage {
  return { id: versionMessageId(stream, comment.id, hash), key: comment.id, body: comment as unknown as JsonValue, headers: { 'sfbridge-type': 'comment', 'sfbridge-object': comment.metadata.object, 'sfbridge-op': 'upsert' } };
}

/** Runs one cycle over every source. Never throws for Salesforce or sink errors: they are in the summary. */
export async function runComments(opts: CommentsRunOptions): Promise<CommentsRunSummary> {
  if (opts.sinks.length === 0) throw new TypeError('runComments: no sink configured (comments need a queue:, jsonl: or store sink)');
  const now = opts.now ?? Date.now;
  const started = now();
  const apiStart = opts.client.governor?.runUsed ?? 0;
  const events = opts.events ?? new SyncEvents();
  const objects: CommentsObjectSummary[] = [];
  let status: CommentsRunSummary['status'] = 'succeeded';
  for (const source of opts.sources) {
    if (opts.signal?.aborted) {
      status = 'aborted';
      break;
    }
    const summary: CommentsObjectSummary = { object: source.object, read: 0, emitted: 0, unchanged: 0, deleted: 0, status: 'ok' };
    try {
      await runSource(opts, source, summary, events, now);
    } catch (err) {
      if (opts.signal?.aborted) {
        summary.status = 'aborted';
        status = 'aborted';
      } else if (err instanceof SalesforceError && (err.status === 404 || err.errorCode === 'INVALID_TYPE' || err.errorCode === 'NOT_FOUND')) {
        summary.status = 'skipped';
        summary.error = `${source.object} is not available in this org (${err.errorCode})`;
        events.emit('warning', { object: source.object, code: 'OBJECT_NOT_FOUND', message: `comments: ${summary.error}; skipped` });
      } else {
        summary.status = 'failed';
        summary.error = (err as Error).message;
        status = 'failed';
        events.emit('warning', { object: source.object, code: (err as LimitError).code ?? 'OBJECT_FAILED', message: `comments: ${source.object}: ${summary.error}` });
      }
    }
    objects.push(summary);
    events.emit('comments:finished', summary);
    if (summary.status === 'aborted') break;
  }
  return { status, objects, seconds: (now() - started) / 1000, apiCalls: (opts.client.governor?.runUsed ?? 0) - apiStart };
}

interface SourceState extends JsonObject {
  deletesCheckedAt: string;
}

async function runSource(opts: CommentsRunOptions, source: CommentSource, summary: CommentsObjectSummary, events: SyncEvents, now: () => number): Promise<void> {
  const { client, store, signal } = opts;
  const key = commentsCheckpointKey(source.object);
  const stream = emitStream(COMMENTS_STREAM, opts.sinks);
  const cp = await store.getCheckpoint(key);
  let cursor: CheckpointCursor | null = cp?.cursor ?? null;
  let state = (cp?.extra ?? {}) as Partial<SourceState>;
  const describe = await client.describe(source.object, signal);
  const { fields, missing } = availableFields(source, describe);
  if (missing.length) events.emit('warning', { object: source.object, code: 'FIELDS_MISSING', message: `comments: ${source.object} has no ${missing.join(', ')} in this org; read without them` });
  const hasIsDeleted = describe.fields.some((f) => f.name === 'IsDeleted');
  const select = [...new Set(['Id', 'SystemModstamp', ...(hasIsDeleted ? ['IsDeleted'] : []), ...fields])];
  const instanceUrl = opts.instanceUrl ?? (await client.session(signal)).instanceUrl;
  const observer = sinkEvents(events, 'comments', source.object);
  const tombstone = (id: string, lastHash: string) => tombstoneMessage(stream, id, lastHash, { id, deleted: true, metadata: { object: source.object } }, { 'sfbridge-type': 'comment', 'sfbridge-object': source.object });

  /** Delivers what changed in a set of records and commits hashes and cursor together. */
  const emit = async (comments: Comment[], deletedIds: string[], next: CheckpointCursor | null, extra: JsonObject): Promise<void> => {
    const plan = await planEmission(store, stream, comments.map((c) => commentVersion(c, stream)), deletedIds, tombstone);
    // Enrichment costs a query: only for what is emitted (the text hash does not depend on it).
    if (plan.changed.length) {
      await enrichFromCases(client, plan.changed.map((c) => c.item), signal);
      for (const c of plan.changed) c.message = commentMessage(c.item, stream, c.hash);
    }
    await deliverPlan(opts.sinks, plan, { signal, retry: opts.sinkRetry, observer });
    await store.transaction(async (tx) => {
      await commitPlan(tx, plan);
      await tx.setCheckpoint(key, next, extra);
    });
    summary.emitted += plan.changed.length;
    summary.unchanged += plan.unchanged;
    summary.deleted += plan.tombstones.length;
  };

  const soql = changeQuery(source.object, select, windowStart(cursor, opts.lagMs ?? DEFAULT_LAG_MS));
  const result = hasIsDeleted ? client.queryAll(soql, { signal, batchSize: opts.pageSize }) : client.query(soql, { signal, batchSize: opts.pageSize });
  for await (const page of result.pages()) {
    let next = cursor;
    const comments: Comment[] = [];
    const deletedIds: string[] = [];
    for (const r of page.records as AnyRecord[]) {
      next = maxCursor(next, cursorOf(r as Record<string, unknown>));
      const id = r.Id;
      if (typeof id !== 'string' || !ID_PATTERN.test(id)) continue;
      // A record that stopped being a comment (a Task no longer a call) is withdrawn like a delete.
      if (isTrue(fieldValue(r, 'IsDeleted')) || (source.accept && !source.accept(r))) deletedIds.push(id);
      else comments.push(source.toComment(r, { instanceUrl }));
    }
    summary.read += page.records.length;
    if (page.records.length || next !== cursor) await emit(comments, deletedIds, next, state as JsonObject);
    cursor = next;
    events.emit('comments:batch', { object: source.object, read: summary.read, emitted: summary.emitted, unchanged: summary.unchanged, deleted: summary.deleted });
    if (signal?.aborted) throw signal.reason;
  }

  // Hard deletes (and deletes purged before a read saw them): Get Deleted on the reconcile schedule.
  if (isDue(state.deletesCheckedAt, opts.reconcileMs ?? DEFAULT_RECONCILE_MS, now())) {
    const at = now();
    const from = typeof state.deletesCheckedAt === 'string' ? Date.parse(state.deletesCheckedAt) - 60_000 : at - 14 * 86_400_000;
    let ids: string[] = [];
    try {
      const res = await client.getDeleted(source.object, new Date(Math.max(from, at - 14 * 86_400_000)), new Date(Math.max(at, from + 120_000)), { signal });
      ids = res.deletedRecords.map((d) => d.id);
    } catch (err) {
      // Objects that are not replicable (FeedComment) have no delete log; soft deletes still arrive by queryAll.
      if (!(err instanceof SalesforceError)) throw err;
    }
    state = { ...state, deletesCheckedAt: new Date(at).toISOString() };
    await emit([], ids, cursor, state as JsonObject);
  }
}

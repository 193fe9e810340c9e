/**
 * The publisher: pushes records into Salesforce with an exactly-once effect and one result per record.
 *
 * Every record goes through the outbox in a {@link PublishState} (SQLite or Postgres; `sqlite::memory:` when
 * the caller keeps no state):
 *
 *     pending ──markSent (committed before the request leaves)──▶ sent ──answer──▶ succeeded | failed
 *        ▲                                                          │
 *        └──── transient error (UNABLE_TO_LOCK_ROW, 503, …) ◀───────┤
 *                                                                    └─ no answer (timeout, crash): stays `sent`
 *
 * Before anything is sent, rows left in `sent` (by a crash, or a timeout in this run) are reconciled:
 * upsert/update/delete are idempotent and simply go back to `pending`; a plain insert is looked up in
 * Salesforce by its key (`matchFields`, e.g. an idempotency external-id field) and either adopts the found
 * Id or goes back to `pending`. An insert with no key to look up by is never resent blindly: it fails with
 * {@link UNKNOWN_OUTCOME} and lands in the dead-letter table for an operator. Platform events cannot be
 * queried, so they are resent (at-least-once, which is what Salesforce itself offers subscribers).
 */
import { createHash } from 'node:crypto';
import { csvRowBatches, ingestCells } from '../../client/index.ts';
import { setTimeout as delay } from 'node:timers/promises';
import type { SalesforceClient } from '../../client/index.ts';
import { cond, from, or, and, type Condition } from '../../soql/index.ts';
import type { JsonObject, OutboxRecord, OutboxUpdate, PublishState } from '../../store/index.ts';
import { publisherBulk, type PUBLISH_DESCRIBE_FRESH_MS } from './meta.ts';
import { bulkApiOf, bulkRowOf, hasChildren, idOf, isTransientCode, parseBulkError, sendBulk, sendCollections, sendPubSub, sendRest, sendTree, type BulkIngestApi, type BulkTuning, type SendOutcome } from './send.ts';
import {
  COLLECTIONS_MAX_RECORDS,
  DEFAULT_PUBLISH_PARALLELISM,
  isPlatformEvent,
  normalizeOperation,
  MAX_TRANSIENT_RETRIES,
  OUTBOX_PAGE,
  lookupFieldsOf,
  MAKE_INSERT_SAFE,
  PublishError,
  RECONCILE_BATCH,
  RETRY_BASE_DELAY_MS,
  RETRY_MAX_DELAY_MS,
  UNKNOWN_OUTCOME,
  collectionsOnlyReason,
  type PublishOperation,
  type PublishErrorInfo,
  type PublishPath,
  type PublishRecordResult,
  type PublishSummary,
  type PublishTarget,
} from './types.ts';

/** How long the Pub/Sub API may take to answer before platform events go through Collections instead. */
const PUBSUB_PROBE_MS = 10_000;

/** One input record; `key` identifies it across runs (default: position + content hash). */
export interface PublishInput {
  key?: string;
  record: Record<string, unknown>;
}

export interface PublishOptions {
  client: SalesforceClient;
  target: PublishTarget;
  /** Outbox and dead letters. */
  state: PublishState;
  /** Outbox namespace: rows of one pipeline never collide with another's. */
  pipeline: string;
  records: AsyncIterable<PublishInput> | Iterable<PublishInput>;
  /**
   * `auto` (default) picks by count: < {@link COLLECTIONS_MAX_RECORDS} collections, else bulk; platform
   * events (`X__e`) go over the Pub/Sub API when the client reaches one (`client.events.available()`: a
   * connection's `pubsub:` endpoint, or an org on Salesforce's hosts), else through Collections. `pubsub`
   * insists on the Pub/Sub API; `collections` keeps platform events on REST.
   */
  path?: 'auto' | PublishPath;
  /**
   * Bulk API 2.0 ingest (default: the client's, with describes and learned job rates kept in `state` so the
   * next run needs neither a describe call nor a second status poll).
   */
  bulk?: BulkIngestApi;
  /** How long a describe kept in `state` is used without asking the org (default {@link PUBLISH_DESCRIBE_FRESH_MS}). */
  describeFreshForMs?: number;
  /** Bulk job tuning (poll interval, concurrency, rows per job). */
  bulkOptions?: BulkTuning;
  /** Collections calls in flight. */
  parallelism?: number;
  /** Resend rounds for transient failures. */
  maxRetries?: number;
  retryBaseDelayMs?: number;
  /** Write permanent failures to the dead-letter table (default true). */
  deadLetters?: boolean;
  onProgress?: (done: number, total: number, status?: string) => void;
  /** Called once per input record, in input order, after the run. */
  onResult?: (result: PublishRecordResult) => Promise<void> | void;
  onWarning?: (message: string) => void;
  signal?: AbortSignal;
  /** Test hook: called after rows are marked sent and before they are sent. */
  beforeSend?: (keys: readonly string[]) => Promise<void> | void;
}

/** The idempotency marker of one record: stable across runs for the same pipeline and key. */
export function idempotencyMarker(pipeline: string, key: string): string {
  return `sfb1-${createHash('sha256').update(pipeline).update('\u0000').update(key).digest('hex').slice(0, 32)}`;
}

/**
 * The event id (Pub/Sub correlation key) of a platform event: a UUID derived from the pipeline and the
 * record's key, so an event resent after a crash carries the id it had, and subscribers can tell.
 */
export function eventIdOf(pipeline: string, key: string): string {
  const h = createHash('sha256').update('event').update('\u0000').update(pipeline).update('\u0000').update(key).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16], 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Default outbox key: position plus a hash of the payload, so a rerun of the same input finds its rows. */
/**
 * Which Salesforce record a published row stands for, to tell that a dead letter was superseded: the
 * external ID value (upsert), the Id (update, delete), the lookup fields (insert with match fields or an
 * idempotency marker), else the source row of a cursor source (`key@cursor`). Undefined when nothing
 * identifies it (a plain insert keyed by its line).
 */
export function recordIdentity(object: string, operation: string, fields: readonly string[], key: string, payload: Record<string, unknown>): string | undefined {
  const get = (f: string): unknown => payload[f] ?? payload[Object.keys(payload).find((k) => k.toLowerCase() === f.toLowerCase()) ?? f];
  const o = object.toLowerCase();
  if ((operation === 'update' || operation === 'delete') && typeof get('Id') === 'string') return `${o}|Id|${String(get('Id')).slice(0, 15)}`;
  if (fields.length && fields.every((f) => get(f) != null && get(f) !== '')) return `${o}|${fields.map((f) => `${f.toLowerCase()}=${String(get(f))}`).join('|')}`;
  const at = key.lastIndexOf('@');
  return at > 0 ? `${o}|source|${key.slice(0, at)}` : undefined;
}

export function defaultKey(index: number, record: Record<string, unknown>): string {
  return `${index}:${createHash('sha1').update(JSON.stringify(record)).digest('hex').slice(0, 16)}`;
}

interface Row {
  index: number;
  rec: OutboxRecord;
  /** Result flags for reporting. */
  alreadyPublished: boolean;
  reconciled: boolean;
  deadLetterId?: number;
  lastError: PublishErrorInfo | null;
}

/** Validates a target (and, when given, the path asked for) before any record is read. */
export function validateTarget(target: PublishTarget, path?: PublishOptions['path']): void {
  if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(target.object)) throw new PublishError('PUBLISH_CONFIG', `object "${target.object}" is not an sObject API name (e.g. Contact, Invoice__c, Order_Event__e)`);
  if (target.idempotencyField !== undefined) {
    if (target.operation !== 'insert') throw new PublishError('PUBLISH_CONFIG', `idempotencyField applies to insert only (${target.operation} is idempotent already): remove it`);
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(target.idempotencyField)) throw new PublishError('PUBLISH_CONFIG', `idempotencyField "${target.idempotencyField}" is not a field API name (e.g. Sfbridge_Key__c)`);
    if (isPlatformEvent(target.object)) throw new PublishError('PUBLISH_CONFIG', `${target.object} is a platform event, which cannot be queried: an idempotency field cannot be looked up; remove it`);
  }
  if (target.operation === 'upsert' && !target.externalIdField) throw new PublishError('PUBLISH_CONFIG', `upsert into ${target.object} needs an external ID field: pass --external-id Field__c (or target.externalIdField)`);
  if (isPlatformEvent(target.object) && target.operation !== 'insert') throw new PublishError('PUBLISH_CONFIG', `${target.object} is a platform event: only insert (publish) is possible, got ${target.operation}`);
  if (target.updateOnly) {
    if (target.operation !== 'upsert') throw new PublishError('PUBLISH_CONFIG', `updateOnly applies to upsert only, got operation ${target.operation}: remove updateOnly`);
    if (path === 'bulk' || path === 'collections') throw new PublishError('PUBLISH_CONFIG', `updateOnly (upsert ?updateOnly=true) exists only on the single-record REST upsert; ${path === 'bulk' ? 'Bulk API 2.0' : 'sObject Collections'} has no such option. Use path auto (updateOnly then sends one record per call), or operation: update with each record's Id, or remove updateOnly`);
    if (target.allOrNone) throw new PublishError('PUBLISH_CONFIG', 'updateOnly sends one record per call, where allOrNone has no meaning: remove one of them');
  }
  if (target.assignmentRule !== undefined && target.operation === 'delete') throw new PublishError('PUBLISH_CONFIG', 'assignmentRule applies to insert, update and upsert, not delete: remove it');
  if (typeof target.assignmentRule === 'string' && !/^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$/.test(target.assignmentRule)) throw new PublishError('PUBLISH_CONFIG', `assignmentRule must be true, false or an assignment rule Id (01Q…, 15 or 18 characters), got "${target.assignmentRule}"`);
  if (target.duplicateRules && target.operation === 'delete') throw new PublishError('PUBLISH_CONFIG', 'duplicateRules applies to insert, update and upsert, not delete: remove it');
  if (path === 'pubsub' && !isPlatformEvent(target.object)) throw new PublishError('PUBLISH_CONFIG', `path pubsub publishes platform events (Name__e) only; ${target.object} is not one: use path auto, collections or bulk`);
  const only = collectionsOnlyReason(target);
  if (only && path === 'bulk') throw new PublishError('PUBLISH_CONFIG', `path bulk cannot carry ${only}: use path auto or collections, or remove the option`);
}

/** Runs one publish; see the module comment. Returns totals; per-record results go to `onResult`. */
export async function publish(opts: PublishOptions): Promise<PublishSummary> {
  const { client, target, state, pipeline, signal } = opts;
  validateTarget(target, opts.path);
  const maxRetries = opts.maxRetries ?? MAX_TRANSIENT_RETRIES;
  const baseDelay = opts.retryBaseDelayMs ?? RETRY_BASE_DELAY_MS;
  const useDlq = opts.deadLetters ?? true;
  let bulkApi: BulkIngestApi | undefined | null = null;
  const bulkOf = (): BulkIngestApi | undefined => {
    if (bulkApi === null) bulkApi = opts.bulk ?? publisherBulk(client, state, opts.describeFreshForMs) ?? bulkApiOf(client);
    return bulkApi;
  };
  const summary: PublishSummary = { total: 0, succeeded: 0, failed: 0, created: 0, alreadyPublished: 0, reconciled: 0, retried: 0, deadLettered: 0, paths: [] };

  // 1. Enqueue (idempotent per key) and remember this run's keys in input order. Rows new to the outbox are
  // known without reading them back; only keys that existed (earlier runs) are loaded with their state.
  const keys: string[] = [];
  const fresh = new Map<string, OutboxRecord>();
  const seen = new Set<string>();
  let batch: { key: string; payload: JsonObject }[] = [];
  const flushBatch = async (): Promise<void> => {
    const added = await state.enqueue(pipeline, batch, { signal });
    const payloads = new Map(batch.map((b) => [b.key, b.payload]));
    const ts = new Date().toISOString();
    for (const a of added) fresh.set(a.key, { pipeline, key: a.key, position: a.position, state: 'pending', payload: payloads.get(a.key)!, sfId: null, created: null, attempts: 0, error: null, updatedAt: ts });
    batch = [];
  };
  for await (const input of opts.records) {
    const index = keys.length;
    const key = input.key ?? defaultKey(index, input.record);
    if (seen.has(key)) throw new PublishError('PUBLISH_INPUT', `record ${index + 1} has the key "${key}" of an earlier record: keys must be unique within one run`);
    seen.add(key);
    keys.push(key);
    const payload = (target.idempotencyField && input.record[target.idempotencyField] == null ? { ...input.record, [target.idempotencyField]: idempotencyMarker(pipeline, key) } : input.record) as JsonObject;
    batch.push({ key, payload });
    if (batch.length >= OUTBOX_PAGE) await flushBatch();
  }
  if (batch.length) await flushBatch();
  seen.clear();
  summary.total = keys.length;

  // 2. The run's rows, with their state from earlier runs where they existed.
  const rows: Row[] = new Array(keys.length);
  const byKey = new Map<string, Row>();
  const existing = keys.filter((k) => !fresh.has(k));
  const stored = new Map<string, OutboxRecord>();
  for (let i = 0; i < existing.length; i += RECONCILE_BATCH * 2) {
    for (const r of await state.outbox(pipeline, { keys: existing.slice(i, i + RECONCILE_BATCH * 2), signal })) stored.set(r.key, r);
  }
  keys.forEach((k, index) => {
    const rec = fresh.get(k) ?? stored.get(k);
    if (!rec) throw new Error(`outbox row ${k} vanished while publishing (is another publisher clearing pipeline ${pipeline}?)`);
    const row: Row = { index, rec, alreadyPublished: rec.state === 'succeeded' || rec.state === 'failed', reconciled: false, lastError: rec.error };
    rows[index] = row;
    byKey.set(k, row);
  });
  fresh.clear();
  stored.clear();
  let done = rows.filter((r) => r.alreadyPublished).length;
  opts.onProgress?.(done, rows.length);

  /** Mirrors written outbox updates into the run's rows (rows of other runs, settled from bulk jobs, are skipped). */
  const track = (updates: readonly OutboxUpdate[]): void => {
    for (const u of updates) {
      const row = byKey.get(u.key);
      if (!row) continue;
      const wasFinal = row.rec.state === 'succeeded' || row.rec.state === 'failed';
      row.rec = { ...row.rec, state: u.state, sfId: u.sfId !== undefined ? u.sfId : row.rec.sfId, created: u.created !== undefined ? u.created : row.rec.created, error: u.error !== undefined ? u.error : row.rec.error, attempts: row.rec.attempts + (u.attempted ? 1 : 0) };
      if (u.error) row.lastError = u.error;
      if (!wasFinal && (u.state === 'succeeded' || u.state === 'failed')) done++;
    }
    opts.onProgress?.(done, rows.length);
  };
  const persist = async (updates: OutboxUpdate[]): Promise<void> => {
    if (updates.length === 0) return;
    await state.updateOutbox(pipeline, updates, { signal });
    track(updates);
  };

  // The dead letter and the failed state are written in one transaction: no row is ever failed without its
  // letter, and a crash before it leaves the row to be settled again.
  const failRecords = async (failed: { rec: OutboxRecord; error: PublishErrorInfo; attempted?: boolean }[]): Promise<void> => {
    if (failed.length === 0) return;
    const updates: OutboxUpdate[] = failed.map((f) => ({ key: f.rec.key, state: 'failed', error: f.error, attempted: f.attempted }));
    if (!useDlq) return persist(updates);
    const ids = await state.failRecords(
      pipeline,
      failed.map((f) => ({
        pipeline,
        key: f.rec.key,
        object: target.object,
        operation: target.operation,
        externalIdField: target.operation === 'insert' ? (lookupFieldsOf(target).join(',') || null) : target.externalIdField ?? null,
        payload: f.rec.payload,
        error: f.error,
        attempts: f.rec.attempts + (f.attempted ? 1 : 0),
      })),
      updates,
      { signal },
    );
    track(updates);
    failed.forEach((f, i) => {
      const row = byKey.get(f.rec.key);
      if (row) row.deadLetterId = ids[i];
    });
    summary.deadLettered += failed.length;
  };
  const fail = (failed: Row[], error: (r: Row) => PublishErrorInfo): Promise<void> => failRecords(failed.map((r) => ({ rec: r.rec, error: error(r) })));

  const apply = (part: Row[], outcomes: SendOutcome[]): Promise<void> => applyRecs(part.map((r) => r.rec), outcomes);
  const applyRecs = async (part: OutboxRecord[], outcomes: SendOutcome[]): Promise<void> => {
    const updates: OutboxUpdate[] = [];
    const permanent: { rec: OutboxRecord; error: PublishErrorInfo; attempted: boolean }[] = [];
    part.forEach((rec, i) => {
      const o = outcomes[i];
      const key = rec.key;
      if (o.kind === 'ok') updates.push({ key, state: 'succeeded', sfId: o.id ?? idOf(rec.payload) ?? null, created: o.created, error: null, attempted: true });
      else if (o.kind === 'unknown') updates.push({ key, state: 'sent', error: o.error, attempted: true });
      else if (target.operation === 'delete' && rec.attempts > 0 && o.errors.some((e) => e.code === 'ENTITY_IS_DELETED')) {
        // An earlier attempt whose answer was lost did delete it.
        updates.push({ key, state: 'succeeded', sfId: idOf(rec.payload) ?? null, created: false, error: null, attempted: true });
      } else if (o.transient) updates.push({ key, state: 'pending', error: o.errors[0], attempted: true });
      else permanent.push({ rec, error: { ...o.errors[0], message: o.errors.map((e) => e.message).join('; ') }, attempted: true });
    });
    await persist(updates);
    await failRecords(permanent);
  };

  const bulkJobsKey = `${pipeline}#bulk-jobs`;

  /** Whether platform events go over the Pub/Sub API this run (decided once, before the first send). */
  let viaPubSub: boolean | undefined;
  const decidePubSub = async (): Promise<boolean> => {
    if (!isPlatformEvent(target.object) || opts.path === 'collections' || opts.path === 'bulk') return false;
    const available = await client.events.available(signal);
    if (opts.path === 'pubsub') {
      if (!available) throw new PublishError('PUBLISH_CONFIG', `path pubsub needs the Pub/Sub API, and this connection names none: set its pubsub: { endpoint: HOST:PORT } (or --pubsub-endpoint), or use path auto or collections`);
      return true;
    }
    if (!available) return false;
    try {
      // One unary call: an endpoint that does not answer sends the events through Collections instead.
      await (await client.events.client()).topic(`/event/${target.object}`, signal, { deadlineMs: PUBSUB_PROBE_MS });
    } catch (err) {
      signal?.throwIfAborted();
      const code = (err as { grpcCode?: number }).grpcCode;
      if (code === 14 || code === 4) {
        opts.onWarning?.(`the Pub/Sub API${client.events.endpoint ? ` at ${client.events.endpoint}` : ''} does not answer (${(err as Error).message}); publishing ${target.object} through sObject Collections`);
        return false;
      }
    }
    return true;
  };

  // 3. Rounds: reconcile unknown outcomes, send pending rows, retry transient failures.
  for (let round = 0; round <= maxRetries + 1; round++) {
    signal?.throwIfAborted();
    const last = round === maxRetries + 1;
    // First round: always (a bulk round an earlier run left may hold rows of another input of this pipeline).
    if (round === 0 || rows.some((r) => r.rec.state === 'sent')) await settleBulkJobs();
    await reconcile(rows.filter((r) => r.rec.state === 'sent'));
    const pending = rows.filter((r) => r.rec.state === 'pending');
    if (pending.length === 0) break;
    if (last) {
      await fail(pending, (r) => r.lastError ?? { code: 'RETRIES_EXHAUSTED', message: 'transient failures persisted', fields: [] });
      break;
    }
    if (pending.some((r) => r.rec.attempts > 0)) {
      summary.retried += pending.filter((r) => r.rec.attempts > 0).length;
      const wait = Math.min(RETRY_MAX_DELAY_MS, baseDelay * 2 ** Math.max(0, round - 1));
      opts.onProgress?.(done, rows.length, `retrying ${pending.length} in ${wait} ms`);
      await delay(wait, undefined, { signal });
    }
    viaPubSub ??= await decidePubSub();
    const path = choosePath(pending);
    if (!summary.paths.includes(path)) summary.paths.push(path);
    if (path === 'bulk') await sendViaBulk(pending);
    else if (path === 'tree') await sendViaTree(pending);
    else if (path === 'rest') await sendViaRest(pending);
    else if (path === 'pubsub') await sendViaPubSub(pending);
    else await sendViaCollections(pending);
  }

  // 4. Open dead letters of earlier runs for a record that has now been published are settled: they hold
  // an older version, and replaying one would write stale data over the newer one.
  if (useDlq && rows.some((r) => r.rec.state === 'succeeded' && !r.alreadyPublished)) {
    const published = new Set<string>();
    for (const r of rows) {
      if (r.rec.state !== 'succeeded' || r.alreadyPublished) continue;
      const id = recordIdentity(target.object, target.operation, target.operation === 'insert' ? lookupFieldsOf(target) : target.externalIdField ? [target.externalIdField] : [], r.rec.key, r.rec.payload);
      if (id) published.add(id);
    }
    const own = new Set(rows.map((r) => r.deadLetterId).filter((id) => id !== undefined));
    for (const l of published.size ? await state.listDeadLetters({ pipeline, status: 'open', limit: 100_000 }) : []) {
      if (own.has(l.id) || l.object.toLowerCase() !== target.object.toLowerCase()) continue;
      const id = recordIdentity(l.object, normalizeOperation(l.operation), l.externalIdField ? l.externalIdField.split(',').filter(Boolean) : [], l.key, l.payload);
      if (id && published.has(id)) {
        await state.updateDeadLetter(l.id, { status: 'superseded' });
        summary.superseded = (summary.superseded ?? 0) + 1;
      }
    }
  }

  // 5. Results in input order.
  for (const row of rows) {
    const r = row.rec;
    const success = r.state === 'succeeded';
    if (success) {
      summary.succeeded++;
      if (r.created) summary.created++;
    } else summary.failed++;
    if (row.alreadyPublished) summary.alreadyPublished++;
    if (row.reconciled) summary.reconciled++;
    await opts.onResult?.({
      index: row.index,
      key: r.key,
      input: r.payload,
      success,
      id: r.sfId,
      created: Boolean(r.created),
      errors: success ? [] : [r.error ?? row.lastError ?? { code: r.state === 'sent' ? UNKNOWN_OUTCOME : 'NOT_SENT', message: `left in state ${r.state}`, fields: [] }],
      attempts: r.attempts,
      ...(row.alreadyPublished ? { alreadyPublished: true } : {}),
      ...(row.reconciled ? { reconciled: true } : {}),
      ...(row.deadLetterId !== undefined ? { deadLetterId: row.deadLetterId } : {}),
    });
  }
  return summary;

  function choosePath(pending: Row[]): PublishPath {
    const n = pending.length;
    if (pending.some((r) => hasChildren(r.rec.payload))) {
      // Parent/child sets go through sObject Tree, which only inserts.
      if (target.operation !== 'insert') throw new PublishError('PUBLISH_INPUT', `records with child records (e.g. Contacts: [...]) can only be inserted (sObject Tree); use operation insert or publish parents and children separately with upsert`);
      if (target.allOrNone !== undefined || target.assignmentRule !== undefined || target.duplicateRules) throw new PublishError('PUBLISH_CONFIG', 'records with child records go through sObject Tree, which takes none of allOrNone, assignmentRule or duplicateRules (a tree call is all-or-nothing already): remove them, or publish parents and children separately');
      return 'tree';
    }
    // Only the single-record REST upsert has updateOnly: one call per record, whatever the count.
    if (target.updateOnly) return 'rest';
    if (viaPubSub) return 'pubsub';
    const bulk = bulkOf();
    if (opts.path === 'bulk') {
      if (!bulk) throw new PublishError('BULK_UNAVAILABLE', 'the bulk path was requested but this client has no Bulk API 2.0 support (client.bulk)');
      return isPlatformEvent(target.object) ? 'collections' : 'bulk';
    }
    if (opts.path === 'collections' || n < COLLECTIONS_MAX_RECORDS || isPlatformEvent(target.object) || collectionsOnlyReason(target)) return 'collections';
    if (!bulk) {
      opts.onWarning?.(`${n} records would go through Bulk API 2.0, but the client has no bulk support; using sObject Collections`);
      return 'collections';
    }
    return 'bulk';
  }

  /** Moves rows to `sent` (committed) just before they leave, so a crash leaves only the rows in flight unknown. */
  async function markRows(part: Row[]): Promise<void> {
    const partKeys = part.map((r) => r.rec.key);
    await state.markSent(pipeline, partKeys, { signal });
    for (const r of part) r.rec = { ...r.rec, state: 'sent' };
    await opts.beforeSend?.(partKeys);
  }

  /** Sends rows an outbox page at a time. */
  async function sendInPages(pending: Row[], send: (part: Row[]) => Promise<void>): Promise<void> {
    for (let i = 0; i < pending.length; i += OUTBOX_PAGE) {
      signal?.throwIfAborted();
      await send(pending.slice(i, i + OUTBOX_PAGE));
    }
  }

  function sendViaCollections(pending: Row[]): Promise<void> {
    return sendInPages(pending, (part) =>
      sendCollections(client, target, part.map((r) => r.rec.payload), {
        parallelism: opts.parallelism ?? DEFAULT_PUBLISH_PARALLELISM,
        signal,
        beforeChunk: (start, count) => markRows(part.slice(start, start + count)),
        onChunk: (start, outcomes) => apply(part.slice(start, start + outcomes.length), outcomes),
      }).then(() => undefined),
    );
  }

  function sendViaPubSub(pending: Row[]): Promise<void> {
    return sendInPages(pending, async (part) => {
      const outcomes = await sendPubSub(client, target, part.map((r) => r.rec.payload), {
        ids: part.map((r) => eventIdOf(pipeline, r.rec.key)),
        signal,
        beforeSend: () => markRows(part),
      });
      await apply(part, outcomes);
    });
  }

  function sendViaRest(pending: Row[]): Promise<void> {
    return sendInPages(pending, (part) =>
      sendRest(client, target, part.map((r) => r.rec.payload), {
        parallelism: opts.parallelism ?? DEFAULT_PUBLISH_PARALLELISM,
        signal,
        beforeChunk: (start, count) => markRows(part.slice(start, start + count)),
        onChunk: (start, outcomes) => apply(part.slice(start, start + outcomes.length), outcomes),
      }).then(() => undefined),
    );
  }

  function sendViaTree(pending: Row[]): Promise<void> {
    return sendInPages(pending, async (part) => {
      await markRows(part);
      await sendTree(client, target, part.map((r) => r.rec.payload), {
        signal,
        onChunk: (indexes, outcomes) => apply(indexes.map((j) => part[j]), outcomes),
      });
    });
  }

  /**
   * One Bulk API 2.0 round. Before anything is marked sent, the round's keys are recorded under
   * `bulkJobsKey`; each job is added to that record (with the range of the round it holds) before it is
   * closed. After a crash this tells, for every row: in a closed job (its outcome is in the job's result
   * files) or not (never processed, safe to send again). See {@link settleBulkJobs}.
   */
  async function sendViaBulk(pending: Row[]): Promise<void> {
    const bulk = bulkOf()!;
    const roundKeys = pending.map((r) => r.rec.key);
    const jobs: TrackedJob[] = [];
    const record = (): Promise<void> => state.setCursor(bulkJobsKey, { cursor: { v: 2, keys: roundKeys, jobs: jobs.map((j) => ({ ...j })) } as unknown as JsonObject, key: null });
    await record();
    for (let i = 0; i < pending.length; i += OUTBOX_PAGE) await state.markSent(pipeline, roundKeys.slice(i, i + OUTBOX_PAGE), { signal });
    for (const r of pending) r.rec = { ...r.rec, state: 'sent' };
    await opts.beforeSend?.(roundKeys);
    let buf: { row: Row; o: SendOutcome }[] = [];
    const reported = new Set<number>();
    let tracking = Promise.resolve();
    const flush = async (): Promise<void> => {
      const b = buf;
      buf = [];
      await apply(b.map((x) => x.row), b.map((x) => x.o));
    };
    const outcomes = await sendBulk(bulk, target, pending.map((r) => r.rec.payload), {
      signal,
      tuning: opts.bulkOptions,
      beforeClose: (job) => {
        jobs.push({ id: job.jobId, start: job.start, rows: job.rows });
        tracking = tracking.then(record);
        return tracking;
      },
      onResult: async (index, o) => {
        reported.add(index);
        buf.push({ row: pending[index], o });
        if (buf.length >= OUTBOX_PAGE) await flush();
      },
    });
    await flush();
    await tracking;
    const missing = pending.map((row, i) => ({ row, o: outcomes[i], i })).filter((x) => !reported.has(x.i));
    if (missing.length) await apply(missing.map((x) => x.row), missing.map((x) => x.o));
    // Rows of closed jobs without a result stay `sent`: the next round settles them from the job's results.
    if (!pending.some((r) => r.rec.state === 'sent')) await state.setCursor(bulkJobsKey, null);
  }

  /**
   * Settles the bulk round an earlier run (or round) of this pipeline left behind, without resending anything
   * that may have been written: a job never closed is aborted and its rows go back to `pending`; a closed job
   * is waited for, then its result files are joined back to its rows (by the cells they echo) and each row
   * gets its outcome; rows of the round in no closed job were never processed and go back to `pending`.
   */
  async function settleBulkJobs(): Promise<void> {
    const tracked = await state.getCursor(bulkJobsKey);
    if (!tracked) return;
    const c = tracked.cursor as unknown as { v?: number; keys?: string[]; jobs?: TrackedJob[] } | string[] | null;
    const bulk = bulkOf();
    if (Array.isArray(c)) {
      // An older record: job ids only. Let them finish; their rows are then looked up by key.
      for (const id of c) {
        try {
          const info = await bulk?.jobInfo?.('ingest', id, signal);
          if (info?.state === 'Open') await bulk?.abort?.('ingest', id, signal);
          else if (info && (info.state === 'UploadComplete' || info.state === 'InProgress')) await bulk?.waitForJob?.('ingest', id, { signal });
        } catch (err) {
          if ((err as Error)?.name === 'AbortError') throw err;
          opts.onWarning?.(`bulk job ${id}: ${(err as Error).message}`);
        }
      }
      await state.setCursor(bulkJobsKey, null);
      return;
    }
    const keys = c?.keys ?? [];
    const jobs = c?.jobs ?? [];
    const recs = new Map<string, OutboxRecord>();
    for (let i = 0; i < keys.length; i += RECONCILE_BATCH * 2) {
      for (const r of await state.outbox(pipeline, { keys: keys.slice(i, i + RECONCILE_BATCH * 2), signal })) recs.set(r.key, r);
    }
    const isSent = (k: string): boolean => (byKey.get(k)?.rec.state ?? recs.get(k)?.state) === 'sent';
    const recOf = (k: string): OutboxRecord | undefined => byKey.get(k)?.rec ?? recs.get(k);
    const inJob = new Uint8Array(keys.length);
    let unsettled = false;
    for (const job of jobs) {
      inJob.fill(1, job.start, job.start + job.rows);
      const jobKeys = keys.slice(job.start, job.start + job.rows);
      if (!jobKeys.some(isSent)) continue;
      if (!bulk?.jobInfo || !bulk.waitForJob || !bulk.abort || !bulk.resultFile) {
        opts.onWarning?.(`cannot read bulk job ${job.id} left by an earlier run (no bulk client); its rows are looked up by key instead`);
        continue;
      }
      try {
        let info = await bulk.jobInfo('ingest', job.id, signal);
        if (info.state === 'Open') {
          // Never closed: nothing in it ran. Abort it so it never will.
          await bulk.abort('ingest', job.id, signal);
          await persist(jobKeys.filter(isSent).map((key) => ({ key, state: 'pending' as const })));
          continue;
        }
        if (info.state === 'UploadComplete' || info.state === 'InProgress') info = await bulk.waitForJob('ingest', job.id, { signal });
        const outcomes = await jobOutcomes(bulk, job.id, jobKeys.map((k) => recOf(k)?.payload ?? {}));
        const part: OutboxRecord[] = [];
        const found: SendOutcome[] = [];
        jobKeys.forEach((k, i) => {
          const rec = recOf(k);
          if (!rec || rec.state !== 'sent') return;
          const o = outcomes[i];
          if (!o) {
            unsettled = true;
            return;
          }
          part.push(rec);
          found.push(o);
        });
        await applyRecs(part, found);
      } catch (err) {
        if ((err as Error)?.name === 'AbortError') throw err;
        unsettled = true;
        opts.onWarning?.(`bulk job ${job.id}: ${(err as Error).message}; its rows are looked up by key instead`);
      }
    }
    // Rows of the round no closed job holds were never processed.
    await persist(keys.filter((k, i) => !inJob[i] && isSent(k)).map((key) => ({ key, state: 'pending' as const })));
    if (!unsettled) await state.setCursor(bulkJobsKey, null);
  }

  /** The outcome per row (by position in `payloads`) that a finished job's result files report. */
  async function jobOutcomes(bulk: BulkIngestApi, jobId: string, payloads: JsonObject[]): Promise<(SendOutcome | undefined)[]> {
    const out: (SendOutcome | undefined)[] = new Array(payloads.length);
    let queues: Map<string, number[]> | null = null;
    const unmatched: SendOutcome[] = [];
    const files = [['successfulResults', 2], ['failedResults', 2], ['unprocessedrecords', 0]] as const;
    for (const [file, lead] of files) {
      const res = await bulk.resultFile!(jobId, file, signal);
      let cols: string[] | null = null;
      for await (const batch of csvRowBatches((res.body ?? []) as unknown as AsyncIterable<Uint8Array>)) {
        for (const cells of batch) {
          if (cols === null) {
            cols = cells.slice(lead).map((h) => h.toLowerCase());
            if (queues === null) {
              queues = new Map();
              for (let i = 0; i < payloads.length; i++) {
                const byCol = new Map(ingestCells(bulkRowOf(target, payloads[i])).map(([k, v]) => [k.toLowerCase(), v]));
                const sig = JSON.stringify(cols.map((h) => byCol.get(h) ?? ''));
                queues.set(sig, [...(queues.get(sig) ?? []), i]);
              }
            }
            continue;
          }
          let o: SendOutcome;
          if (file === 'successfulResults') o = { kind: 'ok', id: cells[0] || null, created: cells[1] === 'true' };
          else if (file === 'failedResults') {
            const e = parseBulkError(cells[1] ?? '');
            o = { kind: 'error', errors: [e], transient: isTransientCode(e.code) };
          } else o = { kind: 'error', errors: [{ code: 'UNPROCESSED', message: `row not processed by bulk job ${jobId}`, fields: [] }], transient: true };
          const q = queues!.get(JSON.stringify(cells.slice(lead)));
          const i = q?.shift();
          if (i === undefined) unmatched.push(o);
          else out[i] = o;
        }
      }
    }
    // Rows whose echo did not match (a server re-serialising values): the free positions in order, as the
    // ingest's own join does. Their outcomes are right in kind; only which of them got which Id may differ.
    for (let i = 0; i < out.length && unmatched.length; i++) if (!out[i]) out[i] = unmatched.shift();
    return out;
  }

  async function reconcile(sent: Row[]): Promise<void> {
    if (sent.length === 0) return;
    if (target.operation !== 'insert' || isPlatformEvent(target.object)) {
      // Idempotent operations can simply be sent again; events are at-least-once by nature.
      await persist(sent.map((r) => ({ key: r.rec.key, state: 'pending' })));
      return;
    }
    const fields = lookupFieldsOf(target);
    const noKey = fields.length === 0 ? sent : sent.filter((r) => fields.some((f) => r.rec.payload[f] == null || r.rec.payload[f] === ''));
    if (noKey.length) {
      await fail(noKey, (r) => ({
        code: UNKNOWN_OUTCOME,
        message: `the insert was sent but its answer was lost${r.lastError ? ` (${r.lastError.code}: ${r.lastError.message})` : ''}, and there is no key to look the record up by, so it was not resent; check Salesforce, then discard this letter or replay it with --force. ${MAKE_INSERT_SAFE}`,
        fields,
      }));
    }
    const lookup = sent.filter((r) => !noKey.includes(r));
    for (let i = 0; i < lookup.length; i += RECONCILE_BATCH) {
      const part = lookup.slice(i, i + RECONCILE_BATCH);
      const found = await findExisting(fields, part.map((r) => r.rec.payload));
      const updates: OutboxUpdate[] = [];
      for (const r of part) {
        const id = found.get(matchKey(fields, r.rec.payload));
        if (id) {
          r.reconciled = true;
          updates.push({ key: r.rec.key, state: 'succeeded', sfId: id, created: true, error: null });
        } else updates.push({ key: r.rec.key, state: 'pending' });
      }
      await persist(updates);
    }
  }

  async function findExisting(fields: string[], payloads: JsonObject[]): Promise<Map<string, string>> {
    let where: Condition;
    if (fields.length === 1) where = cond(fields[0], 'IN', [...new Set(payloads.map((p) => String(p[fields[0]])))]);
    else where = or(...payloads.map((p) => and(...fields.map((f) => cond(f, '=', p[f] as string | number | boolean)))));
    const q = from(target.object).select('Id', ...fields).where(where);
    const out = new Map<string, string>();
    for await (const rec of client.query(q.toString(), { signal })) out.set(matchKey(fields, rec as Record<string, unknown>), String(rec.Id));
    return out;
  }
}

/** A bulk job of a round: its id and the range of the round's keys it holds. */
interface TrackedJob {
  id: string;
  start: number;
  rows: number;
}

function matchKey(fields: readonly string[], rec: Record<string, unknown>): string {
  return JSON.stringify(fields.map((f) => (rec[f] == null ? null : String(rec[f]).toLowerCase())));
}

/**
 * One sync run over a set of objects: for each object, refresh the schema when due (describe →
 * `ensureTable`), load it (initial load by Bulk or REST from a COUNT() plan, then incremental reads behind a
 * lag window — see cursor.ts for why no row can be missed), apply hard deletes found by Id reconciliation,
 * refresh formula fields, and record the run. Every page or batch commits its rows, search documents,
 * tombstones and checkpoint in one store transaction, so a kill at any moment resumes without loss.
 */
import type { DescribeSObjectResult } from '../../client/describe.ts';
import { AuthError, ConfigError, isTransientAuthFailure, LimitError, SalesforceError, TransportError, type LimitNumbers } from '../../client/errors.ts';
import type { SalesforceClient } from '../../client/index.ts';
import type { CheckpointCursor, JsonObject, SearchDocument, Store, StoreTransaction, UpsertResult } from '../../store/types.ts';
import { DEFAULT_BULK_THRESHOLD, DEFAULT_FORMULA_REFRESH_MS, DEFAULT_LAG_MS, DEFAULT_RECONCILE_MS, DEFAULT_REPAIR_MS, DEFAULT_SCHEMA_REFRESH_MS, MIN_SAFE_LAG_MS, REPAIR_WINDOW_MS, type FieldFilter, type ObjectSettings } from '../settings.ts';
import { cond, from, parseCondition, type Condition } from '../../soql/index.ts';
import { commitPlan, deliverPlan, planEmission, type EmitPlan } from '../emit.ts';
import { documentStream, documentTombstone, documentVersion } from '../documents/version.ts';
import { sinkEvents, SyncEvents, type LoadMode, type ObjectSummary, type RunSummary } from '../events.ts';
import type { Sink, SinkRetryOptions } from '../sinks/index.ts';
import { bulkOf } from './bulk.ts';
import { bulkExport, planChunks, type ExportPosition } from './export.ts';
import { changeQuery, cursorOf, exitQuery, maxCursor, windowStart } from './cursor.ts';
import { findDeletedIds, VERIFY_CHUNK } from './deletes.ts';
import { formulaQuery, isDue } from './formula.ts';
import { planInitialLoad } from './plan.ts';
import { FieldPathError, pathValue, resolvePath, type ResolvedPath } from './paths.ts';
import { objectSchema, toRow, UnsyncableObjectError } from './schema.ts';

/** How often one incremental read restarts from its checkpoint after a dropped connection before failing. */
export const MAX_READ_RESTARTS = 2;

export { BULK_CHUNK_RECORDS, BULK_PAGE_RECORDS } from './export.ts';

/**
 * Records per transaction for Bulk loads and formula refreshes (REST commits per page). The reader runs one
 * batch ahead of the writer, so about two batches are alive at once; 1,000 instead of 2,000 lowered peak RSS
 * by 10–20 MB (100,000 Contacts, sync alone) at the same CPU time per record.
 */
export const DEFAULT_BATCH_SIZE = 1000;

/**
 * Builds search documents (implemented in src/engine/documents; the runner only needs this shape).
 * `queryFields` adds relationship paths (`Owner.Name`) to the SELECT; `build` receives records carrying them
 * nested (REST) or as dotted keys (Bulk CSV).
 */
export interface DocumentBuilder {
  queryFields(object: string, describe: DescribeSObjectResult): string[];
  build(object: string, records: readonly Record<string, unknown>[], signal?: AbortSignal): Promise<SearchDocument[]>;
}

/** Forces periodic tasks to run now regardless of their schedule (tests, `--reconcile`). */
export interface ForceOptions {
  schema?: boolean;
  reconcile?: boolean;
  formulas?: boolean;
}

export interface SyncRunOptions {
  client: SalesforceClient;
  store: Store;
  /** Object API names, in the order they are synced. */
  objects: readonly string[];
  fieldFilters?: Readonly<Record<string, FieldFilter | undefined>>;
  /**
   * Per-object settings (the config's `objects:`): field selection (used when `fieldFilters` has no entry),
   * `where` filter and page size.
   */
  objectSettings?: Readonly<Record<string, ObjectSettings | undefined>>;
  lagMs?: number;
  bulkThreshold?: number;
  /**
   * Records per Bulk export chunk (default {@link BULK_CHUNK_RECORDS}): an initial load of at least twice as
   * many records is exported as Id-range chunks, the next chunks' jobs running on the org while one is written.
   */
  bulkChunkRecords?: number;
  formulaRefreshMs?: number;
  reconcileMs?: number;
  /** Period of the repair scan, which re-reads the last {@link REPAIR_WINDOW_MS} behind the cursor (default {@link DEFAULT_REPAIR_MS}). */
  repairMs?: number;
  /**
   * Compare the org's `COUNT()` with the mirror's live rows after each incremental read (one call per object)
   * and run the Id reconciliation at once when the org has fewer: hard deletes leave the mirror in the cycle
   * after they happen instead of at the next scheduled reconciliation. Default true.
   */
  countCheck?: boolean;
  schemaRefreshMs?: number;
  /** Bulk/formula batch size (records per transaction). */
  batchSize?: number;
  /** REST query page size hint (200..2000; Salesforce's default when unset). One page = one transaction. */
  pageSize?: number;
  documents?: DocumentBuilder;
  /**
   * Where documents go besides the store's search index (a queue, a webhook, a JSONL file; only with
   * `documents`). Each batch's new and changed documents and its tombstones are delivered before the batch
   * commits, so the cursor never passes an undelivered document; an outage pauses the object (`sink:paused`).
   */
  documentSinks?: readonly Sink[];
  /** Backoff and pause limit for `documentSinks`. */
  sinkRetry?: SinkRetryOptions;
  events?: SyncEvents;
  /** Ctrl-C: the batch being written is committed, then the run stops with status `aborted`. */
  signal?: AbortSignal;
  force?: ForceOptions;
  /** Store URL for the run event (redacted by the caller). */
  storeLabel?: string;
  now?: () => number;
}

interface ObjectState extends JsonObject {
  fields: string[];
  formulaFields: string[];
  docFields: string[];
  hasIsDeleted: boolean;
  describedAt: string;
  selectionKey: string;
  loaded: boolean;
  // Also kept, through the index signature: `paths` (relationship paths mirrored as columns, `Owner.Email`
  // → `Owner_Email`) and `exitCursor` (the position in a `where:` filter's exit stream).
}

/** A `where:` filter the object's describe refuses (unknown or unfilterable field). */
export class SyncFilterError extends Error {
  readonly code = 'INVALID_FILTER';
  constructor(message: string) {
    super(message);
    this.name = 'SyncFilterError';
  }
}

function settingsFor<T>(map: Readonly<Record<string, T | undefined>> | undefined, object: string): T | undefined {
  if (!map) return undefined;
  if (map[object] !== undefined) return map[object];
  const key = Object.keys(map).find((k) => k.toLowerCase() === object.toLowerCase());
  return key === undefined ? undefined : map[key];
}

/** Checks every field a filter compares against describe (relationship paths through the parents'). */
async function checkFilterFields(client: SalesforceClient, describe: DescribeSObjectResult, fields: readonly string[], where: string, signal?: AbortSignal): Promise<void> {
  for (const f of fields) {
    let resolved: ResolvedPath;
    try {
      resolved = await resolvePath(describe, f, (o) => client.describe(o, signal), where);
    } catch (err) {
      if (err instanceof FieldPathError) throw new SyncFilterError(err.message);
      throw err;
    }
    if (resolved.field.filterable === false) throw new SyncFilterError(`${where}: ${resolved.object}.${resolved.field.name} cannot be filtered on (describe says filterable: false; long text and encrypted fields are not filterable); filter on another field`);
  }
}

type Counters = { read: number; written: number; deleted: number };

/** Thrown inside an object's sync when the run must stop (abort between batches). */
class StopRun extends Error {}

/** Runs one sync cycle; never throws for Salesforce/budget errors — they are in the summary's status. */
export async function runSync(opts: SyncRunOptions): Promise<RunSummary> {
  const now = opts.now ?? Date.now;
  const events = opts.events ?? new SyncEvents();
  const started = now();
  const apiStart = opts.client.governor?.runUsed ?? 0;
  const wireStart = opts.client.transport.requests;
  const summaries: ObjectSummary[] = [];
  let status: RunSummary['status'] = 'succeeded';
  let runError: string | undefined;
  /** The stable code of an org-level refusal that stopped the run (a login refused, the org's budget spent). */
  let runErrorCode: string | undefined;
  const gov = opts.client.governor;
  const onPaused = (numbers: LimitNumbers) => events.emit('budget:paused', { numbers });
  const onResumed = (numbers: LimitNumbers) => events.emit('budget:resumed', { numbers });
  gov?.on('paused', onPaused);
  gov?.on('resumed', onResumed);
  events.emit('run:started', { objects: [...opts.objects], store: opts.storeLabel ?? opts.store.kind });
  const warnings: string[] = [];
  const lagMs = opts.lagMs ?? DEFAULT_LAG_MS;
  if (lagMs < MIN_SAFE_LAG_MS) {
    const message = `lag ${lagMs / 1000} s is shorter than the safe minimum of ${MIN_SAFE_LAG_MS / 1000} s: a write that commits later than the lag is already behind the cursor when it becomes visible, and stays missing or stale until the repair scan re-reads the last ${REPAIR_WINDOW_MS / 60_000} minutes (every ${(opts.repairMs ?? DEFAULT_REPAIR_MS) / 60_000} minutes). Use --lag 5m (lag: 5m) unless no transaction in this org runs long`;
    warnings.push(message);
    events.emit('warning', { code: 'LAG_TOO_SHORT', message });
  }
  try {
    // An API version the org does not serve makes every object "not found": refuse it at the start instead.
    await opts.client.checkApiVersion(opts.signal);
  } catch (err) {
    // Anything but a refused version (the org unreachable, say) is left to the objects' own calls to report.
    if (err instanceof ConfigError) {
      status = 'failed';
      runError = err.message;
      events.emit('warning', { code: 'API_VERSION', message: err.message });
    }
  }
  // A table that was writable and no longer is: its triggers go, so nothing is captured that nobody sends.
  if (status !== 'failed') await retireWritable(opts, events);
  try {
    for (const object of status === 'failed' ? [] : opts.objects) {
      if (opts.signal?.aborted) {
        status = 'aborted';
        break;
      }
      const t0 = now();
      let stopAll = false;
      const counters: Counters = { read: 0, written: 0, deleted: 0 };
      const summary: ObjectSummary = { object, mode: 'incremental', read: 0, written: 0, deleted: 0, mirrored: 0, seconds: 0, status: 'ok' };
      try {
        summary.mode = await syncObject(opts, object, counters, events, now);
        // Two-way: the application's changes go out after the pull, which has brought Salesforce's versions
        // in (holding the fields of pending changes), so the drain compares against the newest it knows.
        const writable = settingsFor(opts.objectSettings, object);
        if (writable?.writable) {
          // Loaded on first use, as the transforms below: most mirrors are read-only and untransformed.
          const { pushChanges } = await import('./two-way.ts');
          summary.pushed = await pushChanges({ client: opts.client, store: opts.store, object, settings: { conflict: writable.conflict, idempotencyField: writable.idempotencyField }, signal: opts.signal, onWarning: (message) => events.emit('warning', { object, code: 'TWO_WAY', message }) });
        }
      } catch (err) {
        if (err instanceof StopRun || (opts.signal?.aborted && isAbort(err))) {
          summary.status = 'aborted';
          status = 'aborted';
        } else if (err instanceof AuthError) {
          // A refused login fails every object the same way: report it once and stop the run.
          stopAll = true;
          summary.status = 'failed';
          summary.error = err.message;
          status = 'failed';
          runError = err.message;
          // A login refused for good concerns the whole org; the token endpoint being down does not.
          runErrorCode = isTransientAuthFailure(err) ? undefined : err.code;
        } else if (err instanceof LimitError) {
          stopAll = true;
          summary.status = 'failed';
          summary.error = err.message;
          status = 'failed';
          runError = err.message;
          runErrorCode = err.code;
          events.emit('budget:refused', { code: err.code, message: err.message, numbers: err.numbers });
        } else if (err instanceof UnsyncableObjectError || (err instanceof SalesforceError && err.status === 404)) {
          summary.status = 'skipped';
          summary.mode = 'skipped';
          summary.error = err.message;
          events.emit('warning', { object, code: err instanceof UnsyncableObjectError ? err.code : 'OBJECT_NOT_FOUND', message: err instanceof UnsyncableObjectError ? err.message : `${object}: not found in the org (${err.message}); skipped` });
        } else {
          summary.status = 'failed';
          summary.error = (err as Error).message;
          status = 'failed';
          runError ??= `${object}: ${(err as Error).message}`;
          events.emit('warning', { object, code: 'OBJECT_FAILED', message: `${object}: ${(err as Error).message}` });
        }
      }
      Object.assign(summary, counters);
      summary.seconds = (now() - t0) / 1000;
      if (summary.status !== 'skipped') summary.mirrored = await opts.store.count(object).catch(() => 0);
      summaries.push(summary);
      events.emit('object:finished', summary);
      // A refused budget stops the whole run: every further call would be refused too.
      if (summary.status === 'aborted' || stopAll) break;
    }
  } finally {
    gov?.off('paused', onPaused);
    gov?.off('resumed', onResumed);
  }
  // A run that skipped every object it was given moved nothing: a failure, not a success with zero rows.
  if (status === 'succeeded' && summaries.length > 0 && summaries.every((s) => s.status === 'skipped')) {
    status = 'failed';
    runError = `every object was skipped (${summaries.map((s) => s.object).join(', ')}): ${summaries[0].error ?? 'not syncable'}; check the object names and the connection's API version`;
  }
  const finished = now();
  const apiCalls = (opts.client.governor?.runUsed ?? 0) - apiStart;
  const requests = opts.client.transport.requests - wireStart;
  const result: RunSummary = {
    runId: undefined,
    status,
    started: new Date(started).toISOString(),
    finished: new Date(finished).toISOString(),
    seconds: (finished - started) / 1000,
    apiCalls,
    requests,
    objects: summaries,
    error: runError,
    ...(runErrorCode ? { errorCode: runErrorCode } : {}),
    ...(warnings.length ? { warnings } : {}),
  };
  result.runId = await opts.store.recordRun({
    started: result.started,
    finished: result.finished,
    objects: Object.fromEntries(summaries.map((s) => [s.object, { read: s.read, written: s.written, deleted: s.deleted, status: s.status, ...(s.error ? { error: s.error } : {}) }])),
    apiCalls,
    status,
    error: runError ?? null,
  });
  events.emit('run:finished', result);
  return result;
}

async function retireWritable(opts: SyncRunOptions, events: SyncEvents): Promise<void> {
  const cap = await opts.store.writeCapture();
  const marked = await cap.writableObjects();
  for (const object of marked) {
    const named = opts.objects.find((o) => o.toLowerCase() === object.toLowerCase());
    if (!named || settingsFor(opts.objectSettings, named)?.writable) continue;
    const left = (await cap.counts(object)).pending;
    await cap.disable(object);
    events.emit('warning', { object, code: 'TWO_WAY_OFF', message: `${object}: writable is off; application writes to its mirror table are no longer captured${left ? ` (${plural(left, 'captured change')} not sent; set writable: true again to send ${left === 1 ? 'it' : 'them'})` : ''}` });
  }
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

function isAbort(err: unknown): boolean {
  return (err as Error)?.name === 'AbortError' || (err as { code?: string })?.code === 'ABORT_ERR';
}

async function syncObject(opts: SyncRunOptions, object: string, counters: Counters, events: SyncEvents, now: () => number): Promise<LoadMode> {
  const { client, store } = opts;
  const signal = opts.signal;
  const cp = await store.getCheckpoint(object);
  let cursor: CheckpointCursor | null = cp?.cursor ?? null;
  const prev = (cp?.extra ?? null) as Partial<ObjectState> | null;
  // Object names are case-insensitive in Salesforce, so `objects: { account: … }` applies to Account.
  const settings = settingsFor(opts.objectSettings, object) ?? {};
  const filter = opts.fieldFilters?.[object] ?? settings.fields;
  let where: Condition | undefined;
  let semiJoin = false;
  if (settings.where !== undefined) {
    try {
      const parsed = parseCondition(settings.where);
      where = parsed.condition;
      semiJoin = parsed.semiJoin;
    } catch (err) {
      throw new SyncFilterError(`objects.${object}.where: ${(err as Error).message}`);
    }
  }
  const pageSize = settings.pageSize ?? opts.pageSize;
  // Documents emit only on change, per destination: a new destination has no hashes yet, and the reload a
  // changed selection key causes gives it every document.
  const docStream = documentStream(opts.documentSinks);
  // Keys are added only when set, so mirrors made before they existed keep their key (and are not reloaded).
  const selectionKey = JSON.stringify({
    filter: filter ?? null,
    documents: Boolean(opts.documents),
    ...(opts.documentSinks?.length ? { docStream } : {}),
    ...(where ? { where: where.text } : {}),
    ...(settings.transform ? { transform: settings.transform } : {}),
  });
  // The transform language (and its schemas) loads only for an object that has a transform.
  const transforms = settings.transform ? await import('./transform.ts') : undefined;
  const transform = transforms && settings.transform ? transforms.compileInboundTransform(settings.transform) : undefined;
  const emitDocs = async (docs: readonly SearchDocument[], deletedIds: readonly string[]): Promise<EmitPlan<SearchDocument>> => {
    const plan = await planEmission(store, docStream, docs.map((d) => documentVersion(d, docStream)), deletedIds, documentTombstone(object, docStream));
    await deliverPlan(opts.documentSinks ?? [], plan, { signal, retry: opts.sinkRetry, observer: sinkEvents(events, 'documents', object) });
    return plan;
  };

  // Schema: describe only when due, so an idle cycle costs one query per object, not a describe as well.
  let state: ObjectState;
  let stale = !prev?.fields || prev.selectionKey !== selectionKey || opts.force?.schema || isDue(prev.describedAt, opts.schemaRefreshMs ?? DEFAULT_SCHEMA_REFRESH_MS, now());
  // An excluded field whose column is still in the mirror (excluded while an older sfbridge kept the data):
  // one local metadata read finds it, and the schema pass below drops it.
  if (!stale && filter && 'exclude' in filter && filter.exclude.length && !settings.transform) {
    const excluded = new Set(filter.exclude.map((f) => f.toLowerCase()));
    stale = ((await store.describeTable(object)) ?? []).some((f) => excluded.has(f.name.toLowerCase()));
  }
  if (stale) {
    const describe = await client.describe(object, signal);
    // Relationship paths in the include list are resolved through the parents' describes.
    const dotted = filter && 'include' in filter ? filter.include.filter((f) => f.includes('.')) : [];
    const plain: FieldFilter | undefined = filter && 'include' in filter ? { include: filter.include.filter((f) => !f.includes('.')) } : filter;
    const paths: ResolvedPath[] = [];
    for (const p of dotted) {
      try {
        paths.push(await resolvePath(describe, p, (o) => client.describe(o, signal), `objects.${object}.fields.include`));
      } catch (err) {
        if (err instanceof FieldPathError) throw new SyncFilterError(err.message);
        throw err;
      }
    }
    if (where) {
      const parsed = parseCondition(settings.where!);
      const at = `objects.${object}.where`;
      await checkFilterFields(client, describe, parsed.fields, at, signal);
      for (const sub of parsed.subqueries) {
        let d: DescribeSObjectResult;
        try {
          d = await client.describe(sub.object, signal);
        } catch (err) {
          if (err instanceof SalesforceError && err.status === 404) throw new SyncFilterError(`${at}: the subquery's object ${sub.object} does not exist in the org`);
          throw err;
        }
        await checkFilterFields(client, d, sub.fields, `${at} (subquery on ${sub.object})`, signal);
        const selected = d.fields.find((f) => f.name.toLowerCase() === sub.fields[0].toLowerCase());
        if (selected && selected.type !== 'id' && selected.type !== 'reference') throw new SyncFilterError(`${at}: a semi-join selects an Id or lookup field; ${sub.object}.${selected.name} is a ${selected.type} field`);
      }
    }
    const schema = objectSchema(describe, plain, paths);
    if (settings.transform && transforms) {
      try {
        schema.table = { ...schema.table, fields: transforms.transformedColumns(schema.table.fields, settings.transform, `objects.${object}.transform`) };
      } catch (err) {
        if (err instanceof transforms.InboundTransformError) throw new SyncFilterError(err.message);
        throw err;
      }
    }
    // A table created for an initial load gets its (stamp, Id) index when the load ends: built once over the
    // loaded rows instead of being updated row by row in stamp order, which is random in a real org.
    // Fields the org still has but the field selection leaves out (fields.exclude, or not in fields.include):
    // their columns leave the mirror with their data, which is what taking PII out of a mirror means.
    const selected = new Set(schema.table.fields.map((f) => f.name.toLowerCase()));
    const excluded = settings.transform || !plain ? [] : describe.fields.filter((f) => f.deprecatedAndHidden !== true && !selected.has(f.name.toLowerCase())).map((f) => f.name);
    const ensured = await store.ensureTable(schema.table, { signal, deferIndexes: !prev?.loaded, drop: excluded });
    events.emit('object:schema', { object, created: ensured.created, added: ensured.added, removed: ensured.removed });
    if (ensured.dropped.length) {
      events.emit('warning', { object, code: 'FIELDS_EXCLUDED', message: `${object}: ${ensured.dropped.join(', ')} ${ensured.dropped.length === 1 ? 'is' : 'are'} excluded by objects.${object}.fields: ${ensured.dropped.length === 1 ? 'its column was dropped from the mirror with its data' : 'their columns were dropped from the mirror with their data'}` });
    }
    if (ensured.removed.length) {
      events.emit('warning', { object, code: 'FIELDS_REMOVED', message: `${object}: ${settings.transform ? 'column(s) no longer produced (by the org or the transform)' : 'field(s) no longer in the org'}: ${ensured.removed.join(', ')}; their columns and data are kept` });
    }
    for (const t of ensured.typeChanges.filter((c) => !c.applied)) {
      events.emit('warning', { object, code: 'FIELD_TYPE_CHANGED', message: `${object}.${t.field}: type changed ${t.from} → ${t.to}; the column keeps ${t.from} (rebuild the table to change it)` });
    }
    const lower = new Set(schema.fields.map((f) => f.toLowerCase()));
    for (const p of paths) lower.add(p.path.toLowerCase());
    const docFields = opts.documents ? opts.documents.queryFields(object, describe).filter((f) => !lower.has(f.toLowerCase())) : [];
    // A different field selection or documents switched on: rows already stored lack the new values, so
    // the object is loaded again (idempotently). New org fields only need their own column backfilled.
    const reselected = Boolean(prev?.fields) && prev!.selectionKey !== selectionKey;
    if (reselected) {
      cursor = null;
      events.emit('warning', { object, code: 'RELOAD', message: `${object}: field selection or documents changed since the last run; reloading the object` });
    }
    const known = new Set((prev?.fields ?? []).map((f) => f.toLowerCase()));
    const added = prev?.loaded && !reselected ? schema.fields.filter((f) => !known.has(f.toLowerCase())) : [];
    const pending = Array.isArray(prev?.backfill) ? (prev!.backfill as string[]) : [];
    state = {
      ...(prev ?? {}),
      fields: schema.fields,
      formulaFields: schema.formulaFields,
      docFields,
      hasIsDeleted: schema.hasIsDeleted,
      describedAt: new Date(now()).toISOString(),
      selectionKey,
      paths: schema.paths.map((p) => ({ path: p.path, column: p.column })),
      loaded: reselected ? false : (prev?.loaded ?? false),
      backfill: [...new Set([...pending, ...added])],
    } as ObjectState;
    if (reselected) delete (state as JsonObject).bulk;
    // Persist the schema decision even before any row arrives (no rows change, so no checkpoint movement).
    await store.setCheckpoint(object, cursor, state);
  } else {
    state = prev as ObjectState;
  }
  const paths = (state.paths as Array<{ path: string; column: string }> | undefined) ?? [];
  const columns = new Set([...state.fields, ...paths.map((p) => p.column)]);
  const select = [...state.fields, ...paths.map((p) => p.path), ...state.docFields];
  /**
   * A record as the table stores it: relationship paths flattened into their columns, nothing else extra,
   * then the object's inbound transform.
   */
  const shape = (r: Record<string, unknown>): Record<string, unknown> => {
    const row = toRow(r, columns);
    for (const p of paths) row[p.column] = pathValue(r, p.path);
    return transform ? transform(row) : row;
  };
  const reshape = state.docFields.length > 0 || paths.length > 0 || transform !== undefined;
  const lagMs = opts.lagMs ?? DEFAULT_LAG_MS;

  /** Set while the lag window after a Bulk snapshot is read again (see `commit`). */
  let catchingUp = false;
  /** Commits one batch: rows, deletes, documents and the checkpoint, atomically. */
  const commit = async (records: readonly Record<string, unknown>[], mode: LoadMode, nextCursor: CheckpointCursor | null, extra: ObjectState): Promise<void> => {
    const live: Record<string, unknown>[] = [];
    const deletedIds: string[] = [];
    for (const r of records) {
      if (state.hasIsDeleted && (r.IsDeleted === true || r.IsDeleted === 'true')) deletedIds.push(String(r.Id));
      else live.push(r);
    }
    // Documents are built before the transaction: building may call the API (feeds, files), and a
    // transaction must not stay open across network calls.
    const built = opts.documents && live.length ? await opts.documents.build(object, live) : [];
    // Documents are built from the Salesforce record (profiles name its fields); with a transform, the
    // record they carry to the sinks is the transformed one, with the related records still attached.
    const docs = transform ? withTransformedRaw(built, live, shape) : built;
    // Only new and changed documents are written and emitted; a lag-window re-read of an unchanged record
    // is neither. Delivered before the transaction: the checkpoint moves only past delivered documents.
    const plan = opts.documents ? await emitDocs(docs, deletedIds) : undefined;
    // Without document fields the records hold exactly the table's columns (plus REST `attributes`, which
    // the store ignores), so the per-record copy is skipped.
    const rows = reshape ? records.map(shape) : records;
    const res = await store.transaction(async (tx: StoreTransaction) => {
      // An initial load writes rows that are (nearly all) new: skip the insert-or-update lookup. The write
      // itself stays guarded, so a resumed load rewrites what it already stored idempotently.
      const up: UpsertResult = rows.length ? await tx.upsert(object, rows, { assumeNew: mode !== 'incremental', countUnchanged: mode === 'incremental' }) : { inserted: 0, updated: 0, skippedStale: 0, deleted: 0 };
      if (plan) {
        if (deletedIds.length) await tx.deleteDocuments(deletedIds);
        if (plan.changed.length) await tx.upsertDocuments(plan.changed.map((c) => c.item));
        await commitPlan(tx, plan);
      }
      await tx.setCheckpoint(object, nextCursor, extra);
      return up;
    });
    // `written` counts rows the mirror did not hold in that version: the lag window read again holds the
    // newest records already stored, so an idle cycle reads them and writes nothing ("no changes"). The
    // catch-up after a Bulk snapshot does not count them as read either, so read and written add up to the
    // object's rows (not 200,008 of 200,000).
    const again = res.unchanged ?? 0;
    counters.read += records.length - (catchingUp ? again : 0);
    counters.written += res.inserted + res.updated - again;
    counters.deleted += res.deleted;
    if (deletedIds.length) events.emit('object:deletes', { object, source: 'queryAll', count: deletedIds.length });
    events.emit('object:batch', { object, mode, read: counters.read, written: counters.written, deleted: counters.deleted, cursor: nextCursor?.systemModstamp });
  };

  /**
   * The filter's exit stream (see cursor.ts `exitQuery`): versions in the window that do not match. Each
   * one the mirror holds is removed like a delete, at the stamp of the version that left; a later version
   * that matches again is newer than that tombstone and comes back. Its own cursor, like the change cursor,
   * is the largest stamp it has read, committed with the removals.
   */
  const filterExits = async (filter: Condition, changeCursorBefore: CheckpointCursor | null): Promise<void> => {
    // The change cursor as it was before this cycle's change read is a valid exit position too (the largest
    // stamp of rows read by earlier cycles, so ≤ the previous cycle's time, as cursor.ts's argument needs),
    // which keeps the exit window as short as the change window. Not the cursor after this cycle's read: a
    // version that left the filter while this cycle ran could be behind it.
    let exit = maxCursor((state.exitCursor as CheckpointCursor | null | undefined) ?? null, changeCursorBefore);
    const soql = exitQuery(object, windowStart(exit, lagMs), semiJoin ? undefined : filter);
    for await (const page of client.query<{ Id: string; SystemModstamp: string }>(soql, { signal, batchSize: pageSize }).pages()) {
      let next = exit;
      for (const r of page.records) next = maxCursor(next, cursorOf(r as unknown as Record<string, unknown>));
      let candidates = page.records.map((r) => ({ id: r.Id, deletedDate: r.SystemModstamp }));
      if (semiJoin && candidates.length) {
        // Every changed Id came back: the ones that still match stay.
        const matching = new Set<string>();
        for (let i = 0; i < candidates.length; i += VERIFY_CHUNK) {
          const q = from(object).select('Id').where(cond('Id', 'IN', candidates.slice(i, i + VERIFY_CHUNK).map((c) => c.id))).where(filter);
          for await (const r of client.query<{ Id: string }>(q.toString(), { signal })) matching.add(r.Id);
        }
        candidates = candidates.filter((c) => !matching.has(c.id));
      }
      const held: Array<{ id: string; deletedDate: string }> = [];
      for (const c of candidates) if (await store.getRecord(object, c.id)) held.push(c);
      const plan = opts.documents && held.length ? await emitDocs([], held.map((d) => d.id)) : undefined;
      state = { ...state, exitCursor: next ? { systemModstamp: next.systemModstamp, id: next.id } : null };
      const res = await store.transaction(async (tx) => {
        const r = held.length ? await tx.markDeleted(object, held) : { deleted: 0, missing: 0, skippedStale: 0 };
        if (plan) {
          await tx.deleteDocuments(held.map((d) => d.id));
          await commitPlan(tx, plan);
        }
        await tx.setCheckpoint(object, cursor, state);
        return r;
      });
      exit = next;
      counters.deleted += res.deleted;
      if (res.deleted) events.emit('object:deletes', { object, source: 'filter', count: res.deleted });
      if (signal?.aborted) throw new StopRun('aborted');
    }
  };

  let mode: LoadMode = 'incremental';
  if (!state.loaded) {
    const bulkInProgress = state.bulk && typeof state.bulk === 'object' ? (state.bulk as unknown as BulkProgress) : undefined;
    // A REST load that was interrupted continues from its cursor; a Bulk load from its job and locator.
    const plan = bulkInProgress
      ? { mode: 'bulk' as const, count: undefined as number | undefined, reason: 'resuming' }
      : cursor
        ? { mode: 'rest' as const, count: undefined as number | undefined, reason: 'resuming' }
        : await planInitialLoad(client, object, opts.bulkThreshold ?? DEFAULT_BULK_THRESHOLD, signal, where);
    mode = plan.mode;
    events.emit('object:started', { object, mode, total: plan.count });
    // Reconciliation and formula refresh restart their clocks from the initial load: it read everything.
    const loadStarted = new Date(now()).toISOString();
    let exportStarted: string | undefined;
    if (plan.mode === 'bulk') {
      const loaded = await bulkLoad(opts, object, select, state, bulkInProgress, plan.count, commit, signal, where, settings.pageSize);
      cursor = loaded.max;
      exportStarted = loaded.startedAt;
    } else {
      cursor = await restLoad(client, object, select, cursor, windowStart(cursor, lagMs), state, commit, 'rest', false, signal, pageSize, where);
    }
    // Before the load is marked done: a crash in between resumes the (idempotent) load and builds it then.
    await store.ensureIndexes(object, { signal });
    state = { ...state, loaded: true, reconciledAt: loadStarted, formulaRefreshedAt: loadStarted, repairedAt: loadStarted };
    delete (state as JsonObject).bulk;
    if (where) {
      // The exit stream starts where the load ended. A record that stopped matching while the load ran
      // (after it was read) may have a stamp before that window, so a reconciliation follows the load at once.
      state.exitCursor = cursor ? { systemModstamp: cursor.systemModstamp, id: cursor.id } : null;
      delete (state as JsonObject).reconciledAt;
    }
    await store.setCheckpoint(object, cursor, state);
    // A Bulk export reads the org over time — possibly in an earlier, killed run that this one resumed. Catch
    // up on everything changed since it began, in this run, so a successful run leaves the mirror current as
    // of its start. Not since the largest stamp it read: its chunks run one after another (and Salesforce's own
    // chunks inside a job), so a record read early and changed later can carry a stamp below one read at the end.
    if (plan.mode === 'bulk' && !signal?.aborted) {
      catchingUp = true;
      cursor = await restLoad(client, object, select, cursor, earliest(windowStart(cursor, lagMs), exportStarted ? windowStart({ systemModstamp: exportStarted, id: '' }, lagMs) : undefined), state, commit, 'incremental', true, signal, pageSize, where);
    }
  } else {
    const since = windowStart(cursor, lagMs);
    // Normally a no-op (the index exists since the initial load ended); covers a mirror whose load finished
    // without it, e.g. a table created by other means with deferred indexes.
    await store.ensureIndexes(object, { signal });
    events.emit('object:started', { object, mode: 'incremental', since });
    // A connection cut mid-page that the query could not read again (the first page, once records of it were
    // handed out) restarts the read from the last committed checkpoint: every page committed its cursor, so
    // nothing is lost and the re-read rows are guarded no-ops.
    const before = cursor;
    for (let restarts = 0; ; restarts++) {
      try {
        cursor = await restLoad(client, object, select, cursor, restarts === 0 ? since : windowStart(cursor, lagMs), state, commit, 'incremental', true, signal, pageSize, where);
        break;
      } catch (caught) {
        const err = caught as TransportError;
        if (restarts >= MAX_READ_RESTARTS || signal?.aborted || !(caught instanceof TransportError) || (err.code !== 'NETWORK_ERROR' && err.code !== 'TIMEOUT')) throw caught;
        cursor = (await store.getCheckpoint(object))?.cursor ?? cursor;
        events.emit('warning', { object, code: 'READ_RESTARTED', message: `${object}: ${err.message}; reading again from the last committed checkpoint` });
      }
    }
    if (where && !signal?.aborted) await filterExits(where, before);
    // Repair scan: rows whose commit came later than the lag are behind the cursor when they become
    // visible. Re-reading a fixed window behind the cursor now and then picks them up (the store's
    // SystemModstamp guard makes rows already current a no-op), so a too-short lag cannot lose a row for good.
    // Its clock starts with the load (which read everything), or with the first cycle of an older mirror.
    if (state.repairedAt === undefined) {
      state = { ...state, repairedAt: new Date(now()).toISOString() };
      await store.setCheckpoint(object, cursor, state);
    } else if (isDue(state.repairedAt, opts.repairMs ?? DEFAULT_REPAIR_MS, now())) {
      const at = new Date(now()).toISOString();
      cursor = await restLoad(client, object, select, cursor, windowStart(cursor, Math.max(REPAIR_WINDOW_MS, lagMs)), state, commit, 'incremental', true, signal, pageSize, where);
      state = { ...state, repairedAt: at };
      await store.setCheckpoint(object, cursor, state);
    }
  }
  if (signal?.aborted) throw new StopRun('aborted');

  // Hard deletes within a cycle: the org holding fewer live rows than the mirror means a delete the reads
  // cannot see (hard delete, recycle bin emptied). One COUNT() call; the Id reconciliation runs at once.
  let reconcileNow = opts.force?.reconcile || isDue(state.reconciledAt, opts.reconcileMs ?? DEFAULT_RECONCILE_MS, now());
  if (!reconcileNow && mode === 'incremental' && opts.countCheck !== false) {
    const countQuery = from(object).select('COUNT()');
    const orgCount = await client.count((where ? countQuery.where(where) : countQuery).toString(), { signal });
    const mirrorCount = await store.count(object);
    if (orgCount < mirrorCount) {
      events.emit('object:deletes', { object, source: 'count', count: mirrorCount - orgCount });
      reconcileNow = true;
    }
  }

  // Hard deletes and purges: Id reconciliation (periodic, or now when the counts disagree).
  if (reconcileNow) {
    const at = new Date(now()).toISOString();
    // Get Deleted first (one call): exact deletion times for everything still in the delete log since the
    // last reconciliation, including deletes purged before an incremental read could see them.
    const logged = await deletedSince(client, object, state.reconciledAt, lagMs, now(), signal, events);
    const found = await findDeletedIds(client, store, object, { hasIsDeleted: state.hasIsDeleted, signal, filter: where, bulkThreshold: opts.bulkThreshold ?? DEFAULT_BULK_THRESHOLD });
    const byId = new Map<string, { id: string; deletedDate: string }>();
    for (const d of [...found.excluded, ...found.recycled, ...found.purged.map((id) => ({ id, deletedDate: at }))]) byId.set(d.id, d);
    // A logged deletion time is more precise than "now" for a purge found by the Id comparison.
    for (const d of logged) byId.set(d.id, d);
    const deletes = [...byId.values()];
    state = { ...state, reconciledAt: at };
    const plan = opts.documents && deletes.length ? await emitDocs([], deletes.map((d) => d.id)) : undefined;
    const res = await store.transaction(async (tx) => {
      const r = deletes.length ? await tx.markDeleted(object, deletes) : { deleted: 0, missing: 0, skippedStale: 0 };
      if (plan) {
        await tx.deleteDocuments(deletes.map((d) => d.id));
        await commitPlan(tx, plan);
      }
      await tx.setCheckpoint(object, cursor, state);
      return r;
    });
    counters.deleted += res.deleted;
    if (deletes.length) events.emit('object:deletes', { object, source: 'reconcile', count: res.deleted });
    // Records that came to match without their own change (a formula, a parent's field, a relative date):
    // read in full by Id and written like any other page, the cursor unchanged.
    for (let i = 0; where && i < found.entered.length; i += ENTERED_CHUNK) {
      const ids = found.entered.slice(i, i + ENTERED_CHUNK);
      const q = from(object).select(select).where(cond('Id', 'IN', ids)).where(where);
      const records: Record<string, unknown>[] = [];
      for await (const r of client.query(q.toString(), { signal })) records.push(r);
      if (records.length) await commit(records, 'incremental', cursor, state);
      if (signal?.aborted) throw new StopRun('aborted');
    }
  }
  if (signal?.aborted) throw new StopRun('aborted');

  /**
   * Re-reads `fields` (plus Id, SystemModstamp) of every row older than the incremental window and writes
   * them as partial rows; `done` is merged into the checkpoint with the last batch.
   */
  const refresh = async (fields: readonly string[], done: Partial<ObjectState>): Promise<number> => {
    // A transform computes columns from several fields, so a partial row cannot be transformed: whole rows.
    const soql = formulaQuery(object, transform ? select.filter((f) => f !== 'Id' && f !== 'SystemModstamp') : fields, windowStart(cursor, lagMs), where);
    let n = 0;
    let batch: Record<string, unknown>[] = [];
    const flush = async (final: boolean) => {
      const rows = batch.map(shape);
      batch = [];
      if (final) state = { ...state, ...done } as ObjectState;
      await store.transaction(async (tx) => {
        if (rows.length) await tx.upsert(object, rows);
        if (final) await tx.setCheckpoint(object, cursor, state);
      });
      n += rows.length;
    };
    if (soql) {
      for await (const r of client.query(soql, { signal, batchSize: pageSize })) {
        batch.push(r);
        if (batch.length >= (opts.batchSize ?? DEFAULT_BATCH_SIZE)) await flush(false);
      }
    }
    await flush(true);
    return n;
  };

  // Fields added to the org since the load: existing rows get their values (adding a field, even with a
  // default, does not move SystemModstamp, so the incremental read would never fill them).
  const backfill = Array.isArray(state.backfill) ? (state.backfill as string[]).filter((f) => columns.has(f)) : [];
  if (backfill.length) {
    const n = await refresh(backfill, { backfill: [] });
    events.emit('object:formulas', { object, fields: backfill, records: n });
  }
  if (signal?.aborted) throw new StopRun('aborted');

  // Formula fields and relationship paths: refreshed on their own schedule (they change without moving
  // the record's SystemModstamp: a formula when what it reads changes, a path when the parent changes).
  const refreshed = [...state.formulaFields, ...paths.map((p) => p.path)];
  if (refreshed.length && (opts.force?.formulas || isDue(state.formulaRefreshedAt, opts.formulaRefreshMs ?? DEFAULT_FORMULA_REFRESH_MS, now()))) {
    const n = await refresh(refreshed, { formulaRefreshedAt: new Date(now()).toISOString() });
    events.emit('object:formulas', { object, fields: refreshed, records: n });
  }
  return mode;
}

/** Replaces each document's `raw` record fields with the transformed row, keeping attached related lists. */
function withTransformedRaw(docs: SearchDocument[], records: readonly Record<string, unknown>[], shape: (r: Record<string, unknown>) => Record<string, unknown>): SearchDocument[] {
  const byId = new Map(records.map((r) => [String(r.Id), r]));
  return docs.map((d) => {
    const rec = byId.get(d.id);
    if (!rec || !d.raw || typeof d.raw !== 'object' || Array.isArray(d.raw)) return d;
    const related = Object.entries(d.raw).filter(([k, v]) => !(k in rec) && v !== null && typeof v === 'object' && !Array.isArray(v) && 'records' in v);
    return { ...d, raw: { ...(shape(rec) as Record<string, JsonObject[keyof JsonObject]>), ...Object.fromEntries(related) } };
  });
}

/** Ids per read of records that came to match a filter (the select list and Ids share the URI's 16 KB). */
export const ENTERED_CHUNK = 200;

/** Days back Get Deleted may start (Salesforce keeps the delete log for 15 days; one day of margin). */
export const GET_DELETED_WINDOW_DAYS = 14;

/**
 * Deletions logged since the last reconciliation (Get Deleted). Objects that are not replicable, or a
 * window the org refuses, give an empty list: the Id comparison still finds every delete.
 */
async function deletedSince(client: SalesforceClient, object: string, lastIso: unknown, lagMs: number, nowMs: number, signal: AbortSignal | undefined, events: SyncEvents): Promise<Array<{ id: string; deletedDate: string }>> {
  const floor = nowMs - GET_DELETED_WINDOW_DAYS * 86_400_000;
  const last = typeof lastIso === 'string' ? Date.parse(lastIso) : NaN;
  const start = Math.max(floor, Number.isFinite(last) ? last - lagMs - 60_000 : floor);
  // Whole minutes, end after start (the API ignores seconds and refuses an empty window).
  const end = Math.max(nowMs, start + 120_000);
  try {
    const res = await client.getDeleted(object, new Date(start), new Date(end), { signal });
    if (res.deletedRecords.length) events.emit('object:deletes', { object, source: 'getDeleted', count: res.deletedRecords.length });
    return res.deletedRecords;
  } catch (err) {
    if (err instanceof SalesforceError) return [];
    throw err;
  }
}

/** Ordered REST read from `since` (or the beginning), one transaction per page. Returns the final cursor. */
async function restLoad(
  client: SalesforceClient,
  object: string,
  select: readonly string[],
  cursor: CheckpointCursor | null,
  since: string | undefined,
  state: ObjectState,
  commit: (records: readonly Record<string, unknown>[], mode: LoadMode, next: CheckpointCursor | null, extra: ObjectState) => Promise<void>,
  mode: LoadMode,
  includeDeleted: boolean,
  signal: AbortSignal | undefined,
  batchSize: number | undefined,
  filter: Condition | undefined,
): Promise<CheckpointCursor | null> {
  const soql = changeQuery(object, select, since, filter);
  // queryAll in incremental mode: soft-deleted rows come back with IsDeleted = true and become tombstones.
  const result = includeDeleted && state.hasIsDeleted ? client.queryAll(soql, { signal, batchSize }) : client.query(soql, { signal, batchSize });
  for await (const page of result.pages()) {
    let next = cursor;
    for (const r of page.records as Record<string, unknown>[]) next = maxCursor(next, cursorOf(r));
    if (page.records.length || next !== cursor) await commit(page.records as Record<string, unknown>[], mode, next, state);
    cursor = next;
    // Ctrl-C: this page is committed; stop before asking for the next one.
    if (signal?.aborted) throw new StopRun('aborted');
  }
  return cursor;
}

/**
 * Bulk API 2.0 export of everything (export.ts: Id-range chunks, the next chunks' jobs running on the org while
 * one is written). The cursor stays unset until the export is complete (its rows are not ordered);
 * progress is the export position of the first uncommitted record, committed with each batch, so a killed run
 * resumes the same jobs exactly where the last commit ended. Pages have a fixed size across a resume, which
 * keeps `skip` exact. Returns the largest (SystemModstamp, Id) read and when the export began.
 */
async function bulkLoad(
  opts: SyncRunOptions,
  object: string,
  select: readonly string[],
  state: ObjectState,
  resume: BulkProgress | undefined,
  count: number | undefined,
  commit: (records: readonly Record<string, unknown>[], mode: LoadMode, next: CheckpointCursor | null, extra: ObjectState) => Promise<void>,
  signal: AbortSignal | undefined,
  filter: Condition | undefined,
  pageSize: number | undefined,
): Promise<{ max: CheckpointCursor | null; startedAt: string | undefined }> {
  const bulk = bulkOf(opts.client)!;
  const batchSize = pageSize ?? opts.batchSize ?? DEFAULT_BATCH_SIZE;
  let max: CheckpointCursor | null = resume?.max ?? null;
  let startedAt = resume?.startedAt;
  const bounds = resume || count === undefined ? [] : await planChunks(opts.client, object, count, { filter, signal, chunkRecords: opts.bulkChunkRecords });
  const batches = bulkExport(bulk, {
    object,
    select,
    filter,
    bounds,
    resume,
    batchSize,
    chunkRecords: count === undefined ? undefined : Math.ceil(count / (bounds.length + 1)),
    signal,
    restartChunk: (err, jobId) => {
      if (err instanceof StopRun || err instanceof LimitError || signal?.aborted) return false;
      // The job expired (7 days) or was deleted: export that chunk again (rows already stored are rewritten
      // idempotently).
      opts.events?.emit('warning', { object, code: 'BULK_RESUME_FAILED', message: `${object}: could not resume Bulk job ${jobId} (${(err as Error).message}); exporting that part again with a new job` });
      return true;
    },
  });
  // The reader runs one batch ahead of the writer (so the next records arrive while these are written); each
  // batch carries the position right after its last record, captured when it was read, so the position
  // committed describes what was committed, not what was read.
  for await (const b of readAhead(batches)) {
    for (const r of b.records) max = maxCursor(max, cursorOf(r));
    startedAt ??= b.position.startedAt;
    const progress: BulkProgress = { ...b.position, max };
    await commit(b.records, 'bulk', null, { ...state, bulk: progress as unknown as JsonObject });
    if (signal?.aborted) throw new StopRun('aborted');
  }
  return { max, startedAt };
}

/** Where an interrupted Bulk export continues: the export position and the largest cursor committed. */
interface BulkProgress extends ExportPosition {
  max: CheckpointCursor | null;
}

/** The earlier of two SOQL datetimes (either may be missing). */
function earliest(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined || b === undefined) return a ?? b;
  return Date.parse(a) <= Date.parse(b) ? a : b;
}

/** Iterates `source` one item ahead: the next item is being produced while the consumer handles this one. */
export async function* readAhead<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]();
  let pending = it.next();
  let finished = false;
  try {
    for (;;) {
      const r = await pending;
      if (r.done) {
        finished = true;
        return;
      }
      pending = it.next();
      // Rethrown when awaited; this only stops it counting as unhandled while the consumer works.
      pending.catch(() => undefined);
      yield r.value;
    }
  } finally {
    if (!finished) {
      // The consumer stopped early: let the in-flight read settle, then close the source.
      await pending.catch(() => undefined);
      await it.return?.();
    }
  }
}

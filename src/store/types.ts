/**
 * The storage interface the sync engine uses: mirror tables (one per sObject), tombstones, checkpoints,
 * run history and search documents, all in one database so a single transaction can move them together.
 *
 * Backends (`src/store/sqlite/`, `src/store/postgres/`) implement exactly these types; the engine obtains
 * one through `openStore(url)` in `src/store/index.ts` and never imports a backend folder.
 *
 * One writer per store is assumed (one engine process): table metadata is cached per process, and the
 * tombstone check before an upsert is not locked against a second concurrent writer.
 */

import type { QueryExpr, TableMutation, TableQuery, TableShape } from './query.ts';
import type { Canonical } from './values.ts';

export type { QueryColumn, QueryExpr, QueryOrder, QueryValue, TableMutation, TableQuery, TableShape } from './query.ts';
import type { ServiceState } from './service-types.ts';

/** A JSON value as stored in checkpoint extras, run stats and raw documents. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** A JSON object (checkpoint extras). */
export type JsonObject = { [key: string]: JsonValue };

/**
 * Describe field types (`fields[].type` of sObject Describe). Unknown future types are accepted as plain
 * strings and stored as JSON, which holds any value losslessly.
 */
export type FieldType =
  | 'id'
  | 'string'
  | 'textarea'
  | 'picklist'
  | 'multipicklist'
  | 'combobox'
  | 'boolean'
  | 'int'
  | 'long'
  | 'double'
  | 'currency'
  | 'percent'
  | 'date'
  | 'datetime'
  | 'time'
  | 'reference'
  | 'email'
  | 'phone'
  | 'url'
  | 'encryptedstring'
  | 'base64'
  | 'address'
  | 'location'
  | 'anyType'
  | 'complexvalue'
  | (string & {});

/** One describe field, reduced to what storage needs. */
export interface FieldSpec {
  /** API name (`Name`, `External_Key__c`); `[A-Za-z][A-Za-z0-9_]*`. */
  name: string;
  type: FieldType;
  length?: number;
  precision?: number;
  scale?: number;
}

/** The shape of one mirror table, built from describe. Must contain an `Id` field. */
export interface TableSpec {
  /** sObject API name; also the table name. */
  object: string;
  fields: readonly FieldSpec[];
}

/** A describe type change that `ensureTable` saw for an existing column. */
export interface FieldTypeChange {
  field: string;
  /** Type the column was created for (what values are converted to on write). */
  from: string;
  /** Type describe reports now. */
  to: string;
  /**
   * True when both types share the same storage (e.g. `string` → `picklist`), so only the recorded type
   * changed. False when storage differs: the column keeps its old type and values keep being converted to
   * it; an operator decides whether to rebuild the table.
   */
  applied: boolean;
}

/** What `ensureTable` did. */
export interface EnsureTableResult {
  /** True when the table did not exist before. */
  created: boolean;
  /** Fields that got a new column (`ALTER TABLE … ADD COLUMN`). Empty when `created`. */
  added: string[];
  /** Fields that have a column but are no longer in describe. Their columns and data are kept. */
  removed: string[];
  /** Columns dropped with their data because {@link EnsureTableOptions.drop} named them. */
  dropped: string[];
  typeChanges: FieldTypeChange[];
}

/**
 * A record as Salesforce REST JSON returns it: datetimes like `2024-03-05T17:38:40.000+0000`, compound
 * fields as objects, `attributes` (dropped) and nested relationship objects (dropped). Bulk CSV strings are
 * accepted too (`"true"`, `"12.5"`, `""` meaning null).
 */
export type SfRecord = Record<string, unknown>;

/** Outcome of an upsert batch. Every input record lands in exactly one counter. */
export interface UpsertResult {
  inserted: number;
  /** Rows rewritten, including idempotent rewrites with an equal `SystemModstamp`. */
  updated: number;
  /**
   * Records not written because the stored row (or a tombstone) is newer, or because a newer record for the
   * same Id was in the same batch.
   */
  skippedStale: number;
  /**
   * Records carrying `IsDeleted: true` (queryAll) applied as deletes in mode `remove`. In mode `soft` such
   * records are written flagged deleted and counted as inserted/updated.
   */
  deleted: number;
  /**
   * With `countUnchanged`: of `updated`, the rows whose stored version had the same guard stamp (a re-read
   * of the version already stored, such as the lag window read again after a Bulk snapshot).
   */
  unchanged?: number;
}

/** A deleted record as the Get Deleted resource reports it. */
export interface DeletedRecord {
  id: string;
  deletedDate: string;
}

/** Outcome of `markDeleted`. */
export interface DeleteResult {
  /** Rows removed (mode `remove`) or flagged (mode `soft`). */
  deleted: number;
  /** Ids with no row; a tombstone is still recorded so a late replay cannot resurrect them. */
  missing: number;
  /** Ids whose stored row is newer than the deletion (undeleted and changed since): left alone. */
  skippedStale: number;
}

/**
 * How deletes are applied.
 * - `remove` (default): the row is deleted; a tombstone `(object, id, deleted_at)` is kept.
 * - `soft`: the row stays with `_sfbridge_deleted = true` (and `IsDeleted = true` when the column exists);
 *   a tombstone is kept as well.
 * In both modes the tombstone blocks replays of versions older than the deletion.
 */
export type DeleteMode = 'remove' | 'soft';

/** The position the engine has reached in an object's change stream (ordered by SystemModstamp, Id). */
export interface CheckpointCursor {
  systemModstamp: string;
  id: string;
}

/** A stored checkpoint. */
export interface Checkpoint {
  /** Null means "start from the beginning" (e.g. set by a full resync that has not committed rows yet). */
  cursor: CheckpointCursor | null;
  /** Engine-defined extras: formula refresh time, bulk job id + locator for resume, … */
  extra: JsonObject | null;
  /** When the checkpoint was written (ISO 8601 UTC). */
  updatedAt: string;
}

/** Per-object counters of one run. */
export interface RunObjectStats {
  read: number;
  written: number;
  deleted: number;
  /** How the object's part of the run ended (`ok`, `failed`, `skipped`, `aborted`); absent in older runs. */
  status?: string;
  /** Why it failed or was skipped. */
  error?: string;
}

/** One sync run, as recorded by the engine. */
export interface RunInput {
  /** ISO 8601 datetime (any offset) or Date. */
  started: string | Date;
  finished: string | Date | null;
  objects: Record<string, RunObjectStats>;
  apiCalls: number;
  status: 'succeeded' | 'failed' | 'aborted' | 'running' | (string & {});
  error?: string | null;
}

/** A recorded run; datetimes normalised to ISO 8601 UTC with millis. */
export interface RunRecord {
  id: number;
  started: string;
  finished: string | null;
  objects: Record<string, RunObjectStats>;
  apiCalls: number;
  status: string;
  error: string | null;
}

/** A search document derived from a record (or any other source). */
export interface SearchDocument {
  id: string;
  /** e.g. the sObject name; used by the `type` filter. */
  type: string;
  title: string;
  url: string | null;
  created: string | null;
  updated: string | null;
  owner: string | null;
  tags: string[];
  /** Slash paths such as `Standard Objects/Account`. */
  categories: string[];
  content: string;
  raw: JsonValue;
}

/** Options for {@link SearchIndex.search}. */
export interface SearchOptions {
  /** Only documents of this type. */
  type?: string;
  /** Maximum hits, default 20, capped at 1000. */
  limit?: number;
  signal?: AbortSignal;
}

/** One ranked hit. */
export interface SearchHit {
  id: string;
  type: string;
  title: string;
  url: string | null;
  categories: string[];
  /** Higher is better. Comparable within one result list, not across backends. */
  score: number;
  /** A fragment of the matched text with matches wrapped in `<mark>…</mark>`; text is not HTML-escaped. */
  snippet: string;
}

/**
 * Full-text search over documents. Query text is user input: it is split into words and every word is
 * quoted, so search syntax characters (`"`, `*`, `AND(`, `-`) never raise errors; all words must match.
 */
export interface SearchIndex {
  /** Inserts or replaces documents by id. Returns how many were written. */
  upsertDocuments(docs: readonly SearchDocument[]): Promise<number>;
  /** Removes documents by id. Returns how many existed. */
  deleteDocuments(ids: readonly string[]): Promise<number>;
  search(query: string, options?: SearchOptions): Promise<SearchHit[]>;
}

/** Options accepted by operations that may do a lot of I/O. */
export interface OpOptions {
  /** Checked between statements; an abort rolls back the surrounding transaction. */
  signal?: AbortSignal;
}

/** Options for `ensureTable`. */
export interface EnsureTableOptions extends OpOptions {
  /**
   * When the table is created, leave out its secondary index (guard stamp, Id) until {@link Store.ensureIndexes}.
   * For an initial load: with stamps in no particular order every batch dirties pages all over that index
   * (500,000 rows with random stamps: 69.6 s with it, 39.5 s without). No effect on an existing table.
   */
  deferIndexes?: boolean;
  /**
   * Fields whose columns are dropped, data and all, when the table has them and the spec leaves them out:
   * fields the org still has but the configuration now excludes (PII taken out of a mirror must leave it).
   * Fields missing from the spec and not named here keep their columns and data (see `removed`).
   */
  drop?: readonly string[];
}

/** Options for `upsert`. */
export interface UpsertOptions extends OpOptions {
  /**
   * The rows are expected to be new (an initial load): skip the per-row lookup that tells an insert from
   * an update. Every written row is then counted as `inserted`. Writing stays exactly as safe: rows that
   * do exist (a resumed load) are still replaced only by a version at least as new, and tombstones still
   * block stale versions, so a replay remains idempotent; only the inserted/updated split is lost.
   */
  assumeNew?: boolean;
  /** Also count {@link UpsertResult.unchanged} (ignored with `assumeNew`, which does not look rows up). */
  countUnchanged?: boolean;
}

/** Options for `listIds` and `count`. */
export interface ListOptions extends OpOptions {
  /** Include soft-deleted rows (mode `soft`). Default false: only live rows, as Salesforce counts them. */
  includeDeleted?: boolean;
}

/** The operations available both on the store and inside a transaction. */
export interface StoreOperations extends SearchIndex {
  /**
   * Inserts or updates records by Id, only when the incoming `SystemModstamp` is newer than or equal to the
   * stored one (or a tombstone's deletion time for previously deleted Ids); an older record never overwrites
   * a newer one. A field absent from a record is left as stored; a field present with `null` is cleared.
   * Fields unknown to the table raise an error (call `ensureTable` first) so nothing is dropped silently.
   */
  upsert(object: string, records: readonly SfRecord[], options?: UpsertOptions): Promise<UpsertResult>;
  /**
   * Applies deletions. Bare Ids take `deletedAt`; `DeletedRecord`s carry their own date. A row whose
   * `SystemModstamp` is newer than the deletion is left alone (it was undeleted and changed since).
   */
  markDeleted(
    object: string,
    ids: readonly (string | DeletedRecord)[],
    deletedAt?: string,
    options?: OpOptions,
  ): Promise<DeleteResult>;
  /** Writes the checkpoint of `key` (usually the object name). */
  setCheckpoint(key: string, cursor: CheckpointCursor | null, extra?: JsonObject | null): Promise<void>;
  /** The checkpoint of `key`, or undefined when none was ever written. */
  getCheckpoint(key: string): Promise<Checkpoint | undefined>;
  /** The tombstone deletion time (ISO UTC) of an Id, or undefined. */
  getTombstone(object: string, id: string): Promise<string | undefined>;
  /** One stored record in REST JSON form (datetimes `…+0000`, compound fields as objects), or undefined. */
  getRecord(object: string, id: string): Promise<SfRecord | undefined>;
  /** Number of rows (live only unless `includeDeleted`). */
  count(object: string, options?: ListOptions): Promise<number>;
  /**
   * Content hashes a stream last emitted (documents to a sink, comments), by id; ids never emitted are
   * absent. Pipelines compare them to emit only what changed, and write them in the transaction that moves
   * their cursor.
   */
  getEmitted(stream: string, ids: readonly string[]): Promise<Map<string, string>>;
  /** Records the hashes just emitted (replacing earlier ones). */
  setEmitted(stream: string, entries: readonly EmittedHash[]): Promise<void>;
  /** Forgets ids (after their tombstone was emitted). Returns how many were known. */
  deleteEmitted(stream: string, ids: readonly string[]): Promise<number>;
}

/** One emitted version: the id and the hash of the content that was emitted. */
export interface EmittedHash {
  id: string;
  hash: string;
}

/** Handle passed to the `transaction` callback; unusable once the callback settles. */
export interface StoreTransaction extends StoreOperations {}

/** Options for {@link Store.transaction}. */
export interface TransactionOptions {
  signal?: AbortSignal;
}

/** A mirror + state store. Obtain one with `openStore(url)`. */
export interface Store extends StoreOperations {
  readonly kind: 'sqlite' | 'postgres';
  readonly deleteMode: DeleteMode;
  /** Creates the object's table or adds columns for new fields. Never drops or retypes a column. */
  ensureTable(spec: TableSpec, options?: EnsureTableOptions): Promise<EnsureTableResult>;
  /**
   * Creates the object's secondary index (guard stamp, Id) if it is missing; idempotent and cheap once the
   * index exists. Call it when an initial load that used `deferIndexes` finishes, and before incremental
   * reads (a load that crashed before the index was built resumes without it).
   */
  ensureIndexes(object: string, options?: OpOptions): Promise<void>;
  /** The field specs recorded for an object (including fields describe no longer reports), or undefined. */
  describeTable(object: string): Promise<FieldSpec[] | undefined>;
  /**
   * Runs `fn` in one database transaction: all of its writes (rows, tombstones, documents, checkpoint)
   * commit together or not at all. A throw, an abort or a killed process leaves nothing behind.
   * Inside `fn` use only `tx`: a call on the store itself would run outside the transaction (and on SQLite,
   * whose single connection is held by the transaction, would wait for it forever).
   */
  transaction<T>(fn: (tx: StoreTransaction) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /** Live Ids of an object in ascending byte (ASCII) order, the order JavaScript `<` gives; paged reads. */
  listIds(object: string, options?: ListOptions): AsyncIterable<string>;
  /** Records one run; returns its id. */
  recordRun(run: RunInput): Promise<number>;
  /** The most recent runs, newest first. */
  listRuns(limit?: number): Promise<RunRecord[]>;
  /** Publisher state (outbox, dead letters, cursors, application tables); creates its tables on first use. */
  publishState(): Promise<PublishState>;
  /**
   * The columns and key of a mirror table (by object name, case-insensitive) or, failing that, of an
   * application table in the same database or schema; undefined when neither exists.
   */
  tableShape(table: string): Promise<TableShape | undefined>;
  /**
   * Rows of a mirror table written (or marked deleted) by sfbridge after `after`, in write order: the change
   * feed behind `/api/v1/changes/stream`. A row changed twice shows once, as it now is.
   */
  changesSince(object: string, after: ChangeCursor | null, limit: number, options?: OpOptions): Promise<MirrorChange[]>;
  /** Rows a query selects (see `query.ts`: an AST, every value bound); mirror rows flagged deleted never appear. */
  queryTable(shape: TableShape, query: TableQuery, options?: OpOptions): Promise<Record<string, Canonical>[]>;
  /** How many rows `where` selects. */
  countTable(shape: TableShape, where?: QueryExpr, options?: OpOptions): Promise<number>;
  /** Inserts, updates or deletes one application-table row (mirror tables are refused); returns rows changed. */
  mutateTable(shape: TableShape, mutation: TableMutation): Promise<number>;
  /** Creates an index over `columns` of a table if it is missing (columns that queries filter or sort on). */
  ensureQueryIndex(shape: TableShape, columns: readonly string[]): Promise<void>;
  /** The service's tables (connections, pipelines, schedules, jobs, runs, usage, tokens, sessions); created on first use. */
  serviceState(): Promise<ServiceState>;
  /** Two-way sync: writable mirror tables, the log of application changes to them, and conflicts. */
  writeCapture(): Promise<WriteCapture>;
  /** Waits for in-flight operations, then closes. Further calls fail. */
  close(): Promise<void>;
  /** Closes at once; an open transaction is rolled back by the database. */
  destroy(): Promise<void>;
}

/* ------------------------------------------------------------------------------------------------------
 * Publisher state (outbox, dead letters, cursors) and application source tables. Implemented in
 * `publish-state.ts`; its tables are created on the first `store.publishState()` call.
 * ---------------------------------------------------------------------------------------------------- */

/**
 * Per-record outbox state. `sent` means "handed to Salesforce, outcome not recorded yet": after a crash
 * such rows are reconciled (looked up in Salesforce by a key) before anything is re-sent.
 */
export type OutboxState = 'pending' | 'sent' | 'succeeded' | 'failed';

/** One per-record error as Salesforce reports it. */
export interface PublishErrorInfo {
  code: string;
  message: string;
  fields: string[];
}

/** One outbox row. */
export interface OutboxRecord {
  pipeline: string;
  /** Stable record key within the pipeline (source row key, file line, …). */
  key: string;
  /** Enqueue order within the pipeline. */
  position: number;
  state: OutboxState;
  payload: JsonObject;
  sfId: string | null;
  created: boolean | null;
  attempts: number;
  error: PublishErrorInfo | null;
  updatedAt: string;
}

/** An outcome to record for one outbox row. */
export interface OutboxUpdate {
  key: string;
  state: OutboxState;
  sfId?: string | null;
  created?: boolean | null;
  error?: PublishErrorInfo | null;
  /** Adds one to `attempts` (set when the row was actually sent). */
  attempted?: boolean;
  /** Replaces the stored payload (dead-letter replay with an edited payload). */
  payload?: JsonObject;
}

/**
 * Dead-letter status: `open` waits for an operator; `replayed` was resent successfully; `discarded` by hand;
 * `superseded` when a newer version of the same key was published successfully since (replaying the letter
 * would send stale data over it).
 */
export type DeadLetterStatus = 'open' | 'replayed' | 'discarded' | 'superseded';

/** A record that failed permanently, with what is needed to resend it. */
export interface DeadLetter {
  id: number;
  pipeline: string;
  key: string;
  object: string;
  operation: string;
  externalIdField: string | null;
  payload: JsonObject;
  error: PublishErrorInfo;
  attempts: number;
  status: DeadLetterStatus;
  createdAt: string;
  updatedAt: string;
  /** Salesforce Id once a replay succeeded. */
  sfId: string | null;
}

/** A new dead letter. */
export type DeadLetterInput = Omit<DeadLetter, 'id' | 'status' | 'createdAt' | 'updatedAt' | 'sfId'>;

/** Options for reading an application table. Identifiers must be `[A-Za-z_][A-Za-z0-9_]*`. */
export interface SourceReadOptions extends OpOptions {
  /** Primary key column: rows are ordered by it (after the cursor column) and written back by it. */
  keyColumn: string;
  /** Updated-at style column: only rows after `after` are read, in (cursor, key) order. */
  cursorColumn?: string;
  /** Position already published: `{cursor, key}` of the last row handled. */
  after?: { cursor: JsonValue; key: JsonValue } | null;
  /** Only rows where this column IS NULL (an outbox table's processed marker). */
  unprocessedColumn?: string;
  /** Page size (default 1000). */
  limit?: number;
}

/** A write-back to one application row. */
export interface SourceWriteBack {
  key: JsonValue;
  /** Column → value (e.g. `{sf_id: '003…', processed_at: '2026-…'}`). */
  values: Record<string, JsonValue>;
}

/**
 * Storage for the publisher: the outbox with per-record state, dead letters, source cursors, plus access
 * to application tables in the same database (changes by cursor, outbox tables, Id write-back).
 */
export interface PublishState {
  /**
   * Adds rows in `pending` state; keys already present in the pipeline are left untouched. Returns the rows
   * added (key and position), so a caller knows which keys need no read-back.
   */
  enqueue(pipeline: string, rows: readonly { key: string; payload: JsonObject }[], options?: OpOptions): Promise<{ key: string; position: number }[]>;
  /** Rows of a pipeline in the given states, in enqueue order (paged with `afterPosition`). */
  outbox(pipeline: string, options?: { states?: readonly OutboxState[]; keys?: readonly string[]; afterPosition?: number; limit?: number } & OpOptions): Promise<OutboxRecord[]>;
  /** Records outcomes (one transaction). */
  updateOutbox(pipeline: string, updates: readonly OutboxUpdate[], options?: OpOptions): Promise<void>;
  /** Moves `pending` rows to `sent`: called (and committed) before the request leaves. */
  markSent(pipeline: string, keys: readonly string[], options?: OpOptions): Promise<void>;
  /** Row counts by state. */
  outboxCounts(pipeline: string): Promise<Record<OutboxState, number>>;
  /** Removes a pipeline's outbox rows (optionally only those in the given states). */
  clearOutbox(pipeline: string, states?: readonly OutboxState[]): Promise<number>;
  /** Adds dead letters; returns their ids. An open letter for the same pipeline+key is replaced. */
  addDeadLetters(letters: readonly DeadLetterInput[], options?: OpOptions): Promise<number[]>;
  /**
   * Adds dead letters and records the outbox outcomes in one transaction, so no row is ever `failed`
   * without its letter (nor lettered while still waiting to be sent). Returns the letters' ids.
   */
  failRecords(pipeline: string, letters: readonly DeadLetterInput[], updates: readonly OutboxUpdate[], options?: OpOptions): Promise<number[]>;
  listDeadLetters(options?: { pipeline?: string; status?: DeadLetterStatus | 'all'; limit?: number }): Promise<DeadLetter[]>;
  getDeadLetter(id: number): Promise<DeadLetter | undefined>;
  /** Changes a letter's status and, optionally, its payload, error or Salesforce Id. */
  updateDeadLetter(id: number, changes: { status?: DeadLetterStatus; payload?: JsonObject; error?: PublishErrorInfo; sfId?: string | null; attempts?: number }): Promise<void>;
  /** The source position a pipeline has published up to. */
  getCursor(pipeline: string): Promise<{ cursor: JsonValue; key: JsonValue } | undefined>;
  setCursor(pipeline: string, position: { cursor: JsonValue; key: JsonValue } | null): Promise<void>;
  /** Reads one page of an application table in (cursor, key) or key order. */
  readSource(table: string, options: SourceReadOptions): Promise<Record<string, unknown>[]>;
  /** Updates application rows by key (one transaction); returns rows changed. */
  writeBack(table: string, keyColumn: string, updates: readonly SourceWriteBack[], options?: OpOptions): Promise<number>;
}

/** Options for `openStore`. */
export interface OpenStoreOptions {
  /** Default `remove`. */
  deleteMode?: DeleteMode;
  /** Postgres schema for all tables (default `public`, or the URL's `?schema=` parameter). */
  schema?: string;
  /** Postgres pool size (default 4). */
  maxConnections?: number;
  /**
   * Postgres: give every mirror table a view with lower-case names as well (`account` with `billingcity`
   * over `"Account"."BillingCity"`), for BI tools that expect unquoted identifiers (URL `?views=lowercase`).
   */
  lowercaseViews?: boolean;
}

/** Raised for values that cannot be stored as their field's type, and for unknown fields. */
export class StoreValueError extends Error {
  readonly object: string;
  readonly field: string;
  readonly recordId: string | undefined;
  constructor(object: string, field: string, recordId: string | undefined, message: string) {
    super(`${object}.${field}${recordId ? ` (${recordId})` : ''}: ${message}`);
    this.name = 'StoreValueError';
    this.object = object;
    this.field = field;
    this.recordId = recordId;
  }
}

/** Raised when the store is used after `close()`/`destroy()`, or a transaction handle after it ended. */
export class StoreClosedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreClosedError';
  }
}

/** Where a change feed stands in one mirror table: the last row's write time and Id. */
export interface ChangeCursor {
  at: string;
  id: string;
}

/** One row of a change feed (`Store.changesSince`). */
export interface MirrorChange {
  object: string;
  id: string;
  /** When sfbridge wrote the row (ISO). */
  at: string;
  deleted: boolean;
  record: SfRecord;
}

/* ------------------------------------------------------------------------------------------------------
 * Two-way sync: writable mirror tables (implemented in `capture.ts`).
 * ---------------------------------------------------------------------------------------------------- */

/** How a record changed on both sides is settled. */
export type ConflictPolicy = 'salesforce_wins' | 'last_modified_wins';

/** What an application did to a row of a writable mirror table. */
export type CaptureOp = 'insert' | 'update' | 'delete';

/**
 * - `pending`: captured, not written to Salesforce yet;
 * - `succeeded`: written (`sfId` is the record's Id);
 * - `failed`: refused by Salesforce (the publisher's dead letter has the details);
 * - `superseded`: a conflict was settled for Salesforce's version;
 * - `skipped`: nothing to write (only read-only fields changed, or a row inserted and deleted before it was sent).
 */
export type CaptureState = 'pending' | 'succeeded' | 'failed' | 'superseded' | 'skipped';

/** One captured application change. */
export interface CapturedChange {
  /** Capture order. */
  seq: number;
  object: string;
  /** The row's Id when it changed (a placeholder for a row inserted by the application). */
  recordId: string;
  op: CaptureOp;
  /** Columns the change set (insert: non-null columns; update: changed columns; delete: none). */
  fields: string[];
  /** The row's guard stamp (SystemModstamp) before the change: the Salesforce version it was based on. */
  baseStamp: string | null;
  capturedAt: string;
  state: CaptureState;
  sfId: string | null;
  /** The values written to Salesforce (for recognising the change when it comes back). */
  sent: JsonObject | null;
  error: string | null;
}

/** An outcome for captured changes. */
export interface CaptureSettlement {
  seqs: readonly number[];
  state: CaptureState;
  sfId?: string | null;
  sent?: JsonObject | null;
  error?: string | null;
}

/** A record changed both in Salesforce and by the application before either saw the other's change. */
export interface ConflictInput {
  object: string;
  recordId: string;
  policy: ConflictPolicy;
  winner: 'salesforce' | 'application';
  /** Fields the application changed. */
  fields: string[];
  /** The mirror row with the application's change. */
  local: JsonObject | null;
  /** Salesforce's version (null when Salesforce deleted the record). */
  remote: JsonObject | null;
  localModified: string | null;
  remoteModified: string | null;
}

export interface ConflictRecord extends ConflictInput {
  id: number;
  detectedAt: string;
}

/** Storage side of two-way sync. */
export interface WriteCapture {
  /**
   * Makes a mirror table writable: (re)creates its capture triggers for its current columns. Idempotent and
   * cheap when nothing changed; call it after `ensureTable`. `changed` says whether triggers were (re)made.
   */
  enable(object: string): Promise<{ changed: boolean }>;
  /** Removes the triggers; captured changes stay. */
  disable(object: string): Promise<void>;
  writableObjects(): Promise<string[]>;
  /** Pending changes of an object in capture order. */
  pending(object: string, options?: { limit?: number }): Promise<CapturedChange[]>;
  /** The latest changes (newest first), for the API and dashboard. */
  changes(options?: { object?: string; states?: readonly CaptureState[]; limit?: number }): Promise<CapturedChange[]>;
  settle(updates: readonly CaptureSettlement[]): Promise<void>;
  /** Rows of the mirror table by Id, as `getRecord` returns them (absent Ids are left out). */
  rows(object: string, ids: readonly string[]): Promise<Map<string, SfRecord>>;
  /** The newest values written to Salesforce per record Id. */
  lastSent(object: string, ids: readonly string[]): Promise<Map<string, { sent: JsonObject; at: string }>>;
  /** Ids among `ids` whose insert Salesforce refused (rows still holding their placeholder Id). */
  refusedInserts(object: string, ids: readonly string[]): Promise<Set<string>>;
  /** Replaces an inserted row's placeholder Id by its Salesforce Id (row and later changes), unseen by the triggers. */
  adoptId(object: string, placeholder: string, sfId: string): Promise<void>;
  /** {@link adoptId} for many rows in one transaction. */
  adoptIds(object: string, pairs: readonly { placeholder: string; sfId: string }[]): Promise<void>;
  /**
   * Settles a conflict for Salesforce, in one transaction: the changes are superseded, the conflict is recorded
   * and Salesforce's version (or its deletion, `record: null`) is written into the mirror. Returns the conflict id.
   */
  resolveForSalesforce(object: string, input: { supersede: readonly number[]; id: string; record: SfRecord | null; deletedAt?: string; conflict: ConflictInput }): Promise<number>;
  /** Records a conflict settled for the application. */
  recordConflict(conflict: ConflictInput): Promise<number>;
  /** Recorded conflicts, newest first. */
  conflicts(options?: { object?: string; limit?: number }): Promise<ConflictRecord[]>;
  counts(object?: string): Promise<Record<CaptureState, number>>;
}

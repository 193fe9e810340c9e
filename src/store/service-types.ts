/**
 * What `sfbridge serve` keeps in its store besides mirrors and publisher state: named connections (secrets
 * sealed by the caller), pipelines created through the API, schedules, the embedded job queue, pipeline runs
 * with their event log, API-usage readings, API tokens, dashboard sessions and one-time secrets (OAuth
 * `state`, login links). Implemented once for both backends in `service-state.ts`.
 */
import type { JsonObject, JsonValue } from './types.ts';

/** A stored connection. `secrets` is an opaque sealed string (the engine encrypts before it gets here). */
export interface ConnectionRow {
  name: string;
  kind: string;
  settings: JsonObject;
  secrets: string | null;
  status: string;
  info: JsonObject | null;
  createdAt: string;
  updatedAt: string;
}

/** A pipeline created through the API (pipelines from the config file are never stored). */
export interface PipelineRow {
  name: string;
  kind: string;
  spec: JsonObject;
  createdAt: string;
  updatedAt: string;
}

/** When a pipeline runs next and how its last run went (kept for file pipelines too). */
export interface ScheduleRow {
  pipeline: string;
  nextRunAt: string | null;
  lastRunAt: string | null;
  lastRunId: number | null;
  lastStatus: string | null;
  paused: boolean;
  state: JsonObject;
  updatedAt: string;
}

export type JobState = 'queued' | 'running' | 'failed';

/** One job of the embedded queue. `rank`: lower runs first. */
export interface JobRow {
  id: number;
  key: string;
  kind: string;
  rank: number;
  runAt: string;
  state: JobState;
  payload: JsonObject;
  checkpoint: JsonObject | null;
  attempts: number;
  maxAttempts: number;
  lockedBy: string | null;
  lockedAt: string | null;
  error: string | null;
  createdAt: string;
  updatedAt: string;
}

/** A pipeline run; `objects` holds per-object counts and outcomes. */
export interface PipelineRunRow {
  id: number;
  pipeline: string;
  kind: string;
  trigger: string;
  status: string;
  startedAt: string;
  finishedAt: string | null;
  objects: JsonObject;
  apiCalls: number;
  error: string | null;
  jobId: number | null;
  resumedFrom: number | null;
}

/** One entry of a run's event log. */
export interface RunEventRow {
  runId: number;
  seq: number;
  at: string;
  level: 'info' | 'warn' | 'error';
  type: string;
  message: string;
  data: JsonValue;
}

/** One `Sforce-Limit-Info` reading. */
export interface UsageRow {
  org: string;
  connection: string;
  at: string;
  used: number;
  max: number;
}

/** An API token (only its hash is kept). */
export interface TokenRow {
  id: number;
  name: string;
  hash: string;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
  /** Null: the whole API. Otherwise what the token may do, e.g. `call-in:Contact:create,upsert`. */
  scopes: string[] | null;
}

/** A dashboard session; `idHash` is the SHA-256 of the cookie value. */
export interface SessionRow {
  idHash: string;
  csrf: string;
  createdAt: string;
  expiresAt: string;
}

/** Where an inbound item is: waiting (or waiting to retry), delivered, or given up (a dead letter). */
export type InboxState = 'pending' | 'delivered' | 'dead';

/**
 * One inbound item (an Outbound Message notification, a webhook event, a call-in request), written before
 * the sender is answered. `dedupeKey` is unique per pipeline: a retry or redelivery of the same item finds
 * the row instead of adding one.
 */
export interface InboxRow {
  id: number;
  pipeline: string;
  dedupeKey: string;
  /** SHA-256 of the request body (call-in: the same key with another body is refused). */
  bodyHash: string | null;
  payload: JsonObject;
  state: InboxState;
  attempts: number;
  nextAttemptAt: string;
  receivedAt: string;
  updatedAt: string;
  lastError: string | null;
  /** What delivery returned (call-in: the per-record results the caller gets). */
  result: JsonValue | null;
}

/** Outcome of taking a one-time secret. */
export type OneTimeTake = { ok: true; data: JsonObject } | { ok: false; reason: 'unknown' | 'used' | 'expired' };

export interface ServiceState {
  listConnections(): Promise<ConnectionRow[]>;
  getConnection(name: string): Promise<ConnectionRow | undefined>;
  /** Inserts or replaces the connection (keeps `createdAt`). */
  putConnection(row: Omit<ConnectionRow, 'createdAt' | 'updatedAt'>): Promise<ConnectionRow>;
  deleteConnection(name: string): Promise<boolean>;

  listPipelines(): Promise<PipelineRow[]>;
  getPipeline(name: string): Promise<PipelineRow | undefined>;
  putPipeline(row: Omit<PipelineRow, 'createdAt' | 'updatedAt'>): Promise<PipelineRow>;
  deletePipeline(name: string): Promise<boolean>;

  listSchedules(): Promise<ScheduleRow[]>;
  getSchedule(pipeline: string): Promise<ScheduleRow | undefined>;
  /** Creates the row if missing and applies the given changes. */
  updateSchedule(pipeline: string, changes: Partial<Omit<ScheduleRow, 'pipeline' | 'updatedAt'>>): Promise<ScheduleRow>;
  deleteSchedule(pipeline: string): Promise<void>;

  insertJob(job: Omit<JobRow, 'id' | 'createdAt' | 'updatedAt' | 'lockedBy' | 'lockedAt' | 'error' | 'attempts' | 'checkpoint'> & { checkpoint?: JsonObject | null }): Promise<JobRow>;
  updateJob(id: number, changes: Partial<Omit<JobRow, 'id' | 'createdAt' | 'updatedAt'>>): Promise<void>;
  deleteJob(id: number): Promise<void>;
  getJob(id: number): Promise<JobRow | undefined>;
  listJobs(options?: { states?: readonly JobState[]; key?: string; limit?: number }): Promise<JobRow[]>;

  createRun(run: Omit<PipelineRunRow, 'id' | 'finishedAt' | 'apiCalls' | 'error'> & { apiCalls?: number }): Promise<PipelineRunRow>;
  updateRun(id: number, changes: Partial<Pick<PipelineRunRow, 'status' | 'finishedAt' | 'objects' | 'apiCalls' | 'error' | 'jobId'>>): Promise<void>;
  getRun(id: number): Promise<PipelineRunRow | undefined>;
  /** Newest first; `before` pages by id. */
  listRuns(options?: { pipeline?: string; status?: string; limit?: number; before?: number }): Promise<PipelineRunRow[]>;
  countRuns(options?: { pipeline?: string; status?: string }): Promise<number>;
  addRunEvents(runId: number, events: readonly Omit<RunEventRow, 'runId' | 'seq'>[]): Promise<void>;
  listRunEvents(runId: number, options?: { afterSeq?: number; limit?: number }): Promise<RunEventRow[]>;

  addUsage(reading: UsageRow): Promise<void>;
  /** Readings oldest first, optionally for one org and since an instant. */
  listUsage(options?: { org?: string; since?: string; limit?: number }): Promise<UsageRow[]>;
  /** The newest reading per org. */
  latestUsage(): Promise<UsageRow[]>;
  /** Removes readings older than `before`; returns how many. */
  pruneUsage(before: string): Promise<number>;

  createToken(token: { name: string; hash: string; prefix: string; scopes?: string[] | null }): Promise<TokenRow>;
  listTokens(): Promise<TokenRow[]>;
  findToken(hash: string): Promise<TokenRow | undefined>;
  touchToken(id: number, at: string): Promise<void>;
  revokeToken(name: string, at: string): Promise<boolean>;

  createSession(session: SessionRow): Promise<void>;
  getSession(idHash: string): Promise<SessionRow | undefined>;
  extendSession(idHash: string, expiresAt: string): Promise<void>;
  deleteSession(idHash: string): Promise<void>;

  /** Small service settings (JSON values by key). */
  getSetting(key: string): Promise<JsonValue | undefined>;
  putSetting(key: string, value: JsonValue): Promise<void>;

  /**
   * Writes an inbound item unless the pipeline already has one with its `dedupeKey`; returns the stored row
   * and whether this call added it. Committed before it resolves.
   */
  addInbox(item: { pipeline: string; dedupeKey: string; bodyHash?: string | null; payload: JsonObject; receivedAt?: string }): Promise<{ row: InboxRow; added: boolean }>;
  /** Several items in one transaction (one SOAP message carries up to 100 notifications). */
  addInboxBatch(items: readonly { pipeline: string; dedupeKey: string; bodyHash?: string | null; payload: JsonObject }[]): Promise<{ row: InboxRow; added: boolean }[]>;
  getInbox(id: number): Promise<InboxRow | undefined>;
  findInbox(pipeline: string, dedupeKey: string): Promise<InboxRow | undefined>;
  /** Pending items due at `now`, oldest first. */
  dueInbox(pipeline: string, now: string, limit: number): Promise<InboxRow[]>;
  /** The earliest `nextAttemptAt` of the pipeline's pending items. */
  nextInboxAttempt(pipeline: string): Promise<string | undefined>;
  updateInbox(id: number, changes: Partial<Pick<InboxRow, 'state' | 'attempts' | 'nextAttemptAt' | 'lastError' | 'result' | 'payload'>>): Promise<void>;
  /** Newest first. */
  listInbox(options?: { pipeline?: string; state?: InboxState; limit?: number; before?: number }): Promise<InboxRow[]>;
  countInbox(options?: { pipeline?: string; state?: InboxState }): Promise<number>;

  /** Stores a one-time secret under `purpose` and the hash of its value. */
  putOneTime(purpose: string, idHash: string, data: JsonObject, expiresAt: string): Promise<void>;
  /** Takes it: succeeds once, before it expires; every later take says `used`. */
  takeOneTime(purpose: string, idHash: string, now: string): Promise<OneTimeTake>;
}

/**
 * The send paths. Each returns one {@link SendOutcome} per input record, in input order:
 * - sObject Collections: 200 records per call, chunks in flight bounded by `parallelism`; a chunk whose call
 *   failed without a Salesforce answer (timeout, reset) reports every record as `unknown`, because the
 *   write may or may not have happened;
 * - Bulk API 2.0 ingest through `client.bulk.ingest` (see the bulk contract), which yields one result per row;
 * - sObject Tree for parent/child sets (insert only);
 * - the single-record REST upsert, for `updateOnly` (which no batch resource has).
 */
import { COLLECTION_CHUNK, SalesforceError, type CollectionResult, type SalesforceClient } from '../../client/index.ts';
import { upsert as restUpsert } from '../../client/rest.ts';
import { classifyCallError, classifyRecordCode, classifyRecordErrors } from './classify.ts';
import { PublishError, targetHeaders, type PublishErrorInfo, type PublishOperation, type PublishTarget } from './types.ts';

/** What happened to one record on one send. */
export type SendOutcome =
  | { kind: 'ok'; id: string | null; created: boolean }
  | { kind: 'error'; errors: PublishErrorInfo[]; transient: boolean }
  /** The call failed without an answer: the write may have happened. */
  | { kind: 'unknown'; error: PublishErrorInfo };

/** The Bulk API 2.0 ingest surface the publisher needs (a subset of the bulk client contract). */
export interface BulkIngestApi {
  ingest(
    object: string,
    operation: 'insert' | 'update' | 'upsert' | 'delete' | 'hardDelete',
    records: AsyncIterable<Record<string, unknown>> | Iterable<Record<string, unknown>>,
    opts?: { externalIdField?: string; assignmentRuleId?: string; signal?: AbortSignal; onEvent?: (e: { type: string; jobId?: string; kind?: string }) => void; beforeClose?: (job: { jobId: string; start: number; rows: number }) => Promise<void> } & BulkTuning,
  ): AsyncIterable<BulkIngestRecordResult>;
  /** A raw result CSV of an ingest job (to settle jobs a crashed run left behind without resending). */
  resultFile?(jobId: string, file: 'successfulResults' | 'failedResults' | 'unprocessedrecords', signal?: AbortSignal): Promise<Response>;
  /** Job state (to settle jobs a crashed run left behind). */
  jobInfo?(kind: 'ingest', jobId: string, signal?: AbortSignal): Promise<{ state: string }>;
  waitForJob?(kind: 'ingest', jobId: string, opts?: { signal?: AbortSignal }): Promise<{ state: string }>;
  abort?(kind: 'ingest', jobId: string, signal?: AbortSignal): Promise<unknown>;
}

/** Bulk job tuning passed through to `bulk.ingest`. */
export interface BulkTuning {
  concurrency?: number;
  pollIntervalMs?: number;
  maxRowsPerJob?: number;
}

/** One bulk row result (as the bulk client contract defines it). */
export interface BulkIngestRecordResult {
  index: number;
  success: boolean;
  id: string | null;
  created: boolean;
  error: string | null;
  unprocessed?: boolean;
}

/** The bulk API of a client, when the client has one (the Bulk API 2.0 client lands separately). */
export function bulkApiOf(client: SalesforceClient): BulkIngestApi | undefined {
  const bulk = (client as unknown as { bulk?: BulkIngestApi }).bulk;
  return bulk && typeof bulk.ingest === 'function' ? bulk : undefined;
}

export const isTransientCode = (code: string): boolean => classifyRecordCode(code) === 'retryable';

function fromCollection(r: CollectionResult | undefined, op: PublishOperation): SendOutcome {
  if (!r) return { kind: 'unknown', error: { code: 'NO_RESULT', message: 'Salesforce returned no result for this record', fields: [] } };
  // Create results carry no `created` flag: a successful insert always created; update/delete never do.
  if (r.success) return { kind: 'ok', id: r.id ?? null, created: op === 'insert' ? true : op === 'upsert' ? (r.created ?? false) : false };
  const errors = (r.errors ?? []).map((e) => ({ code: String(e.statusCode), message: String(e.message ?? ''), fields: e.fields ?? [] }));
  if (errors.length === 0) errors.push({ code: 'UNKNOWN_ERROR', message: 'record failed without an error', fields: [] });
  return { kind: 'error', errors, transient: classifyRecordErrors(errors) === 'retryable' };
}

/** Maps a failed call to the outcome of each of its records (see classify.ts); rethrows what stops the run. */
export function outcomeOfCallError(err: unknown): SendOutcome {
  const c = classifyCallError(err);
  if (c.class === 'unknown-outcome') return { kind: 'unknown', error: c.errors[0] };
  return { kind: 'error', errors: c.errors, transient: c.class === 'retryable' };
}

/** Sends records through sObject Collections; outcomes in input order. */
export async function sendCollections(
  client: SalesforceClient,
  target: PublishTarget,
  records: readonly Record<string, unknown>[],
  opts: { parallelism: number; signal?: AbortSignal; beforeChunk?: (start: number, count: number) => Promise<void>; onChunk?: (start: number, outcomes: SendOutcome[]) => Promise<void> | void },
): Promise<SendOutcome[]> {
  const out: SendOutcome[] = new Array(records.length);
  const chunks: number[] = [];
  for (let i = 0; i < records.length; i += COLLECTION_CHUNK) chunks.push(i);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < chunks.length) {
      opts.signal?.throwIfAborted();
      const start = chunks[next++];
      const items = records.slice(start, start + COLLECTION_CHUNK);
      await opts.beforeChunk?.(start, items.length);
      let outcomes: SendOutcome[];
      try {
        const results = await sendChunk(client, target, items, opts.signal);
        outcomes = items.map((_, i) => fromCollection(results[i], target.operation));
      } catch (err) {
        const o = outcomeOfCallError(err);
        outcomes = items.map(() => o);
      }
      outcomes.forEach((o, i) => (out[start + i] = o));
      await opts.onChunk?.(start, outcomes);
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, opts.parallelism), chunks.length) }, worker));
  return out;
}

function sendChunk(client: SalesforceClient, target: PublishTarget, items: readonly Record<string, unknown>[], signal?: AbortSignal): Promise<CollectionResult[]> {
  const typed = items.map((r) => ({ attributes: { type: target.object }, ...withoutId(r, target.operation) }));
  const o = { parallelism: 1, signal, allOrNone: target.allOrNone, headers: targetHeaders(target) };
  switch (target.operation) {
    case 'insert':
      return client.collections.create(typed, o);
    case 'update':
      return client.collections.update(typed, o);
    case 'upsert':
      if (!target.externalIdField) throw new PublishError('PUBLISH_CONFIG', 'upsert needs an external ID field (--external-id or target.externalIdField)');
      return client.collections.upsert(target.object, target.externalIdField, typed, o);
    case 'delete':
      return client.collections.delete(items.map((r) => idOf(r) ?? ''), o);
  }
}

/**
 * Upserts one record per call through the REST upsert (`PATCH /sobjects/{Object}/{ExtIdField}/{value}`), the
 * only resource with `?updateOnly=true` (§2.6); calls in flight bounded by `parallelism`. The external ID value
 * goes in the path and leaves the body (Salesforce refuses it there). Outcomes in input order; `onChunk` is
 * called per {@link COLLECTION_CHUNK} records so the outbox is written in batches.
 */
export async function sendRest(
  client: SalesforceClient,
  target: PublishTarget,
  records: readonly Record<string, unknown>[],
  opts: { parallelism: number; signal?: AbortSignal; beforeChunk?: (start: number, count: number) => Promise<void>; onChunk?: (start: number, outcomes: SendOutcome[]) => Promise<void> | void },
): Promise<SendOutcome[]> {
  const field = target.externalIdField;
  if (!field) throw new PublishError('PUBLISH_CONFIG', 'upsert needs an external ID field (--external-id or target.externalIdField)');
  const headers = targetHeaders(target);
  const out: SendOutcome[] = new Array(records.length);
  const one = async (r: Record<string, unknown>): Promise<SendOutcome> => {
    const key = Object.keys(r).find((k) => k.toLowerCase() === field.toLowerCase());
    const value = key === undefined ? undefined : r[key];
    if (value === undefined || value === null || value === '') return { kind: 'error', errors: [{ code: 'MISSING_EXTERNAL_ID', message: `the record has no ${field} value to upsert by`, fields: [field] }], transient: false };
    const body: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(r)) if (k !== key && k.toLowerCase() !== 'id' && k !== 'attributes') body[k] = v;
    try {
      const res = await restUpsert(client, target.object, field, String(value), body, { updateOnly: target.updateOnly, headers, signal: opts.signal });
      return { kind: 'ok', id: res.id ?? null, created: res.created };
    } catch (err) {
      const o = outcomeOfCallError(err);
      // updateOnly and no match: say so, rather than Salesforce's generic "resource does not exist".
      if (target.updateOnly && err instanceof SalesforceError && err.status === 404 && o.kind === 'error') {
        return { kind: 'error', errors: [{ code: 'NOT_FOUND', message: `no ${target.object} has ${field} = ${JSON.stringify(String(value))}; updateOnly does not create it`, fields: [field] }], transient: false };
      }
      return o;
    }
  };
  for (let start = 0; start < records.length; start += COLLECTION_CHUNK) {
    opts.signal?.throwIfAborted();
    const part = records.slice(start, start + COLLECTION_CHUNK);
    await opts.beforeChunk?.(start, part.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < part.length) {
        const i = next++;
        out[start + i] = await one(part[i]);
      }
    };
    await Promise.all(Array.from({ length: Math.min(Math.max(1, opts.parallelism), part.length) }, worker));
    await opts.onChunk?.(start, out.slice(start, start + part.length));
  }
  return out;
}

/** A record as a Bulk API 2.0 job uploads it (delete: the Id only; insert: without an Id). */
export function bulkRowOf(target: PublishTarget, r: Record<string, unknown>): Record<string, unknown> {
  return target.operation === 'delete' ? { Id: idOf(r) ?? '' } : withoutId(r, target.operation);
}

/** An insert must not carry an Id (Salesforce rejects it); other operations keep it. */
function withoutId(r: Record<string, unknown>, op: PublishOperation): Record<string, unknown> {
  if (op !== 'insert') return r;
  const { Id: _a, id: _b, ...rest } = r as Record<string, unknown> & { Id?: unknown; id?: unknown };
  return rest;
}

/** The `Id` of a record, any case. */
export function idOf(r: Record<string, unknown>): string | undefined {
  const v = r.Id ?? r.id ?? r.ID;
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** Parses a Bulk API 2.0 `sf__Error` (`CODE:message:field1,field2 --`). */
export function parseBulkError(text: string | null): PublishErrorInfo {
  const s = (text ?? '').replace(/\s*--\s*$/, '');
  const m = /^([A-Z_]+):(.*)$/s.exec(s);
  if (!m) return { code: 'UNKNOWN_ERROR', message: s, fields: [] };
  const rest = m[2];
  const lastColon = rest.lastIndexOf(':');
  if (lastColon >= 0 && /^[A-Za-z0-9_.,\s]*$/.test(rest.slice(lastColon + 1))) {
    return { code: m[1], message: rest.slice(0, lastColon), fields: rest.slice(lastColon + 1).split(',').map((f) => f.trim()).filter(Boolean) };
  }
  return { code: m[1], message: rest, fields: [] };
}

/**
 * Sends records through Bulk API 2.0 ingest; calls `onResult` per row (any order) and returns outcomes in input
 * order. `beforeClose` is awaited before each job is closed (see the bulk contract): rows of a job that was
 * never closed were never processed, so when the load fails they come back retryable, and only rows of closed
 * jobs without a result carry an unknown outcome.
 */
export async function sendBulk(
  bulk: BulkIngestApi,
  target: PublishTarget,
  records: readonly Record<string, unknown>[],
  opts: { signal?: AbortSignal; tuning?: BulkTuning; onJobCreated?: (jobId: string) => void; beforeClose?: (job: { jobId: string; start: number; rows: number }) => Promise<void>; onResult?: (index: number, outcome: SendOutcome) => Promise<void> | void },
): Promise<SendOutcome[]> {
  const out: SendOutcome[] = new Array(records.length);
  const closed = new Uint8Array(records.length);
  const rows = records.map((r) => bulkRowOf(target, r));
  try {
    for await (const r of bulk.ingest(target.object, target.operation, rows, {
      ...opts.tuning,
      externalIdField: target.externalIdField,
      ...(typeof target.assignmentRule === 'string' ? { assignmentRuleId: target.assignmentRule } : {}),
      signal: opts.signal,
      onEvent: (e) => {
        if (e.type === 'job-created' && e.jobId) opts.onJobCreated?.(e.jobId);
      },
      beforeClose: async (job) => {
        await opts.beforeClose?.(job);
        closed.fill(1, job.start, job.start + job.rows);
      },
    })) {
      let o: SendOutcome;
      if (r.success) o = { kind: 'ok', id: r.id, created: r.created };
      else if (r.unprocessed) o = { kind: 'error', errors: [{ code: 'UNPROCESSED', message: r.error ?? 'row not processed by the bulk job', fields: [] }], transient: true };
      else {
        const e = parseBulkError(r.error);
        o = { kind: 'error', errors: [e], transient: isTransientCode(e.code) };
      }
      out[r.index] = o;
      await opts.onResult?.(r.index, o);
    }
  } catch (err) {
    const c = classifyCallError(err);
    const error = c.errors[0];
    const o: SendOutcome = { kind: 'error', errors: c.errors, transient: c.class !== 'permanent' };
    for (let i = 0; i < out.length; i++) {
      if (out[i]) continue;
      // A row no closed job holds was never processed: the refusal (a bad column: permanent) or the failure
      // (retryable) is its outcome. A row of a closed job may have been written: unknown until its job's
      // results are read.
      if (closed[i]) out[i] = { kind: 'unknown', error };
      else out[i] = o;
    }
    return out;
  }
  for (let i = 0; i < out.length; i++) if (!out[i]) out[i] = { kind: 'unknown', error: { code: 'NO_RESULT', message: 'the bulk job reported no result for this row', fields: [] } };
  return out;
}

/** Child records of a parent: `{Contacts: [{…}]}` or `{Contacts: {records: [{…}]}}`. */
function childLists(r: Record<string, unknown>): Array<[string, Record<string, unknown>[]]> {
  const out: Array<[string, Record<string, unknown>[]]> = [];
  for (const [k, v] of Object.entries(r)) {
    if (Array.isArray(v) && v.length > 0 && v.every((x) => x && typeof x === 'object' && !Array.isArray(x))) out.push([k, v as Record<string, unknown>[]]);
    else if (v && typeof v === 'object' && Array.isArray((v as { records?: unknown }).records)) out.push([k, (v as { records: Record<string, unknown>[] }).records]);
  }
  return out;
}

/** True when a record carries child records (a parent/child set for sObject Tree). */
export const hasChildren = (r: Record<string, unknown>): boolean => childLists(r).length > 0;

/** Records in one tree (parent plus all descendants). */
function treeSize(r: Record<string, unknown>): number {
  return 1 + childLists(r).reduce((n, [, list]) => n + list.reduce((m, c) => m + treeSize(c), 0), 0);
}

/**
 * Inserts parent/child sets through sObject Tree (`composite/tree`): up to 200 records per call, all or
 * nothing per call. A record whose own tree has an error fails permanently; the other records of that call
 * were rolled back with it and are reported as transient (`TREE_ROLLED_BACK`) so the next round resends them.
 * The Id reported for a record is its top-level parent's.
 */
export async function sendTree(
  client: SalesforceClient,
  target: { object: string },
  records: readonly Record<string, unknown>[],
  opts: { signal?: AbortSignal; onChunk?: (indexes: number[], outcomes: SendOutcome[]) => Promise<void> | void },
): Promise<SendOutcome[]> {
  const out: SendOutcome[] = new Array(records.length);
  const childType = new Map<string, string>();
  const typeOf = async (parent: string, rel: string): Promise<string> => {
    const key = `${parent}.${rel}`.toLowerCase();
    if (!childType.has(key)) {
      const d = await client.describe(parent, opts.signal);
      for (const c of d.childRelationships) if (c.relationshipName) childType.set(`${parent}.${c.relationshipName}`.toLowerCase(), c.childSObject);
      if (!childType.has(key)) throw new PublishError('PUBLISH_INPUT', `${parent} has no child relationship named ${rel} (use the relationship name, e.g. Contacts on Account)`);
    }
    return childType.get(key)!;
  };
  // referenceId → top-level record index
  const build = async (object: string, r: Record<string, unknown>, index: number, refs: Map<string, number>, seq: { n: number }, top?: Map<string, number>): Promise<Record<string, unknown>> => {
    const referenceId = `ref${index}_${seq.n++}`;
    refs.set(referenceId, index);
    top?.set(referenceId, index);
    const node: Record<string, unknown> = { attributes: { type: object, referenceId } };
    const kids = new Map(childLists(r));
    for (const [k, v] of Object.entries(r)) if (!kids.has(k) && k !== 'attributes' && k !== 'Id' && k !== 'id') node[k] = v;
    for (const [rel, list] of kids) {
      const type = await typeOf(object, rel);
      node[rel] = { records: await Promise.all(list.map((c) => build(type, c, index, refs, seq))) };
    }
    return node;
  };
  let start = 0;
  while (start < records.length) {
    opts.signal?.throwIfAborted();
    const indexes: number[] = [];
    let size = 0;
    for (let i = start; i < records.length; i++) {
      const s = treeSize(records[i]);
      if (indexes.length > 0 && size + s > COLLECTION_CHUNK) break;
      indexes.push(i);
      size += s;
    }
    start = indexes[indexes.length - 1] + 1;
    const refs = new Map<string, number>();
    const seq = { n: 0 };
    const top = new Map<string, number>();
    const body: Record<string, unknown>[] = [];
    for (const i of indexes) body.push(await build(target.object, records[i], i, refs, seq, top));
    let outcomes: SendOutcome[];
    try {
      const res = await client.tree(target.object, body, { signal: opts.signal });
      if (!res.hasErrors) {
        const ids = new Map<number, string>();
        for (const r of res.results) {
          const i = top.get(r.referenceId);
          if (i !== undefined && r.id) ids.set(i, r.id);
        }
        outcomes = indexes.map((i) => ({ kind: 'ok', id: ids.get(i) ?? null, created: true }));
      } else {
        const errs = new Map<number, PublishErrorInfo[]>();
        for (const r of res.results) {
          const i = refs.get(r.referenceId);
          if (i === undefined || !r.errors?.length) continue;
          errs.set(i, [...(errs.get(i) ?? []), ...r.errors.map((e) => ({ code: e.statusCode, message: e.message, fields: e.fields ?? [] }))]);
        }
        outcomes = indexes.map((i): SendOutcome => {
          const e = errs.get(i);
          if (e) return { kind: 'error', errors: e, transient: classifyRecordErrors(e) === 'retryable' };
          return { kind: 'error', errors: [{ code: 'TREE_ROLLED_BACK', message: 'rolled back because another record in the same tree call failed; resent', fields: [] }], transient: true };
        });
      }
    } catch (err) {
      const o = outcomeOfCallError(err);
      outcomes = indexes.map(() => o);
    }
    outcomes.forEach((o, j) => (out[indexes[j]] = o));
    await opts.onChunk?.(indexes, outcomes);
  }
  return out;
}

/** Platform events per Publish call (Salesforce's recommendation); more go over one PublishStream. */
export const PUBSUB_BATCH = 200;

/** Pub/Sub results that leave the event's fate open: it may or may not have been published. */
const PUBSUB_UNKNOWN = new Set(['UNACKNOWLEDGED']);

/** gRPC statuses of a failed publish call that say nothing about what the server kept. */
const GRPC_UNAVAILABLE = 14;
const GRPC_DEADLINE = 4;
const GRPC_RESOURCE_EXHAUSTED = 8;
const GRPC_INTERNAL = 13;

type AvroFieldType = string | { type: string; logicalType?: string } | (string | { type: string; logicalType?: string })[];

/** The Avro base type of a field (`['null','long']` → long). */
function baseType(t: AvroFieldType): string {
  const one = Array.isArray(t) ? t.find((x) => x !== 'null') ?? 'null' : t;
  if (typeof one === 'string') return one;
  return one.logicalType === 'date' ? 'date' : one.type;
}

/**
 * A value as the topic's Avro type takes it: CSV and JSON give datetimes as ISO text, numbers and booleans
 * as text. What cannot be converted is left as it is, and the encoding refuses the event (`INVALID_EVENT`).
 */
function avroValue(type: string, v: unknown): unknown {
  if (v === null || v === undefined || v === '') return v === '' && type !== 'string' ? null : v;
  if (typeof v !== 'string') return v;
  switch (type) {
    case 'long': {
      if (/^-?\d+$/.test(v)) return Number(v);
      const ms = Date.parse(v.replace(/([+-]\d\d)(\d\d)$/, '$1:$2'));
      return Number.isNaN(ms) ? v : ms;
    }
    case 'double':
    case 'float':
      return v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v;
    case 'int':
    case 'date': {
      // A date field is an int of days since the epoch.
      if (type === 'int' && !/^\d{4}-\d\d-\d\d/.test(v)) return v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v;
      const ms = Date.parse(`${v.slice(0, 10)}T00:00:00Z`);
      return /^\d{4}-\d\d-\d\d/.test(v) && !Number.isNaN(ms) ? Math.round(ms / 86_400_000) : v;
    }
    case 'boolean':
      return /^(true|1)$/i.test(v) ? true : /^(false|0)$/i.test(v) ? false : v;
    default:
      return v;
  }
}

/** The outcome of every event of a publish call that failed as a whole; rethrows what stops the run. */
function outcomeOfPubSubError(err: unknown): SendOutcome {
  if ((err as Error)?.name === 'AbortError') throw err;
  const e = err as { code?: string; grpcCode?: number; message?: string };
  const error = { code: e.code ?? 'PUBSUB_FAILED', message: e.message ?? String(err), fields: [] };
  if (e.code === 'PUBSUB_AUTH') throw err;
  if (e.code === 'PUBSUB_TOPIC' || e.code === 'PUBSUB_INVALID_EVENT') return { kind: 'error', errors: [error], transient: false };
  if (e.grpcCode === GRPC_UNAVAILABLE || e.grpcCode === GRPC_DEADLINE || e.grpcCode === GRPC_INTERNAL || e.grpcCode === GRPC_RESOURCE_EXHAUSTED || e.grpcCode === undefined) return { kind: 'unknown', error };
  return { kind: 'error', errors: [error], transient: false };
}

/**
 * Publishes platform events over the Pub/Sub API (`client.events`): a page of at most {@link PUBSUB_BATCH}
 * events is one Publish call, a larger page one PublishStream call of {@link PUBSUB_BATCH}-event requests.
 * `ids[i]` is event i's id (its correlation key, which subscribers see as the event id); a successful event's
 * outcome carries it as its id. Field names are matched to the topic's schema case-insensitively and values
 * converted to its types; a field the event does not have refuses that event (`INVALID_FIELD`), as does a
 * value its type cannot hold (`INVALID_EVENT`), and Salesforce's per-event errors come back as they are.
 */
export async function sendPubSub(
  client: SalesforceClient,
  target: PublishTarget,
  records: readonly Record<string, unknown>[],
  opts: { ids: readonly string[]; signal?: AbortSignal; beforeSend?: () => Promise<void> },
): Promise<SendOutcome[]> {
  const topic = `/event/${target.object}`;
  const out: SendOutcome[] = new Array(records.length);
  let fields: { name: string; type: string }[];
  try {
    const pubsub = await client.events.client();
    const info = await pubsub.topic(topic, opts.signal);
    const schema = (await pubsub.schema(info.schemaId, opts.signal)) as unknown as { fields: { name: string; type: { schema(opts?: { exportAttrs?: boolean }): AvroFieldType } }[] };
    fields = schema.fields.map((f) => ({ name: f.name, type: baseType(f.type.schema({ exportAttrs: true })) }));
  } catch (err) {
    await opts.beforeSend?.();
    return records.map(() => outcomeOfPubSubError(err));
  }
  const byLower = new Map(fields.map((f) => [f.name.toLowerCase(), f] as const));
  const own = fields.filter((f) => !['CreatedDate', 'CreatedById', 'EventUuid'].includes(f.name)).map((f) => f.name);
  const send: { i: number; event: Record<string, unknown> & { id: string } }[] = [];
  records.forEach((r, i) => {
    const event: Record<string, unknown> & { id: string } = { id: opts.ids[i] };
    const unknown: string[] = [];
    for (const [k, v] of Object.entries(r)) {
      if (k === 'attributes' || k.toLowerCase() === 'id') continue;
      const f = byLower.get(k.toLowerCase());
      if (!f) unknown.push(k);
      else event[f.name] = avroValue(f.type, v);
    }
    if (unknown.length) out[i] = { kind: 'error', errors: [{ code: 'INVALID_FIELD', message: `${target.object} has no field ${unknown.join(', ')}; its fields are ${own.join(', ')}`, fields: unknown }], transient: false };
    else send.push({ i, event });
  });
  await opts.beforeSend?.();
  if (send.length === 0) return out;
  let results: Awaited<ReturnType<typeof client.events.publish>>;
  try {
    results = await client.events.publish(topic, send.map((s) => s.event), { signal: opts.signal, via: send.length > PUBSUB_BATCH ? 'stream' : 'unary', batchSize: PUBSUB_BATCH });
  } catch (err) {
    const o = outcomeOfPubSubError(err);
    for (const s of send) out[s.i] = o;
    return out;
  }
  send.forEach((s, j) => {
    const r = results[j];
    if (!r?.error) out[s.i] = { kind: 'ok', id: r?.correlationKey ?? s.event.id, created: true };
    else if (PUBSUB_UNKNOWN.has(r.error.code)) out[s.i] = { kind: 'unknown', error: { code: r.error.code, message: r.error.message, fields: [] } };
    else out[s.i] = { kind: 'error', errors: [{ code: r.error.code, message: r.error.message, fields: [] }], transient: isTransientCode(r.error.code) };
  });
  return out;
}

/**
 * What every inbound pattern shares. An intake route (Outbound Messages, webhooks) writes each item to the
 * service's inbox, deduplicated by the sender's id, and answers only after that write committed; the
 * pipeline's run then delivers the inbox in arrival order to its target:
 *
 * - `target: { salesforce: {object, operation, externalIdField} }` — through the publisher, whose outbox
 *   makes each record's write happen once even across crashes (the outbox key is the inbox row plus the
 *   record's position), and whose dead letters hold records Salesforce refused;
 * - `target: { queue: {kind: nats|rabbitmq|redis|webhook|jsonl, …} }` — a sink, with a message id per
 *   record so a redelivery after a crash deduplicates at the broker;
 * - `target: { table: {name, key, store?} }` — rows of an application table (columns matched to the record's
 *   fields by name; the table's unique `key` column gets the delivery id, so a redelivery updates the row).
 *
 * A delivery that fails for a reason that may pass (a broker down, Salesforce unavailable) is retried with
 * exponential backoff; an item older than `retry.max_age` or past `retry.max_attempts` becomes a dead letter
 * (inbox state `dead`, listed with its error by `GET /api/v1/inbox/{pipeline}` and sent again by
 * `POST /api/v1/inbox/{pipeline}/{id}/retry`).
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import type { InboxRow, JsonObject, JsonValue, ServiceState, Store } from '../../store/index.ts';
import { duration } from '../config.ts';
import type { RunObjectCounts } from '../events.ts';
import { publish } from '../publish/publisher.ts';
import { publishTargetOf, targetSchema } from '../publish/config.ts';
import { compileTransform, transformSchema, validateTransform } from '../publish/transform.ts';
import type { PublishTarget } from '../publish/types.ts';
import { openSink, parseSinkConfig, queueSchema, SinkError, type Sink, type SinkMessage } from '../sinks/index.ts';
import type { PipelineRunContext, PipelineRunResult } from '../pipelines/kinds.ts';
import { resolveStoreUrl } from '../pipelines/sync.ts';

/** Retry defaults: 5 s doubling to 10 min between attempts, given up after 24 h (as Salesforce does). */
export const INBOUND_RETRY_DEFAULTS = Object.freeze({ baseDelayMs: 5_000, maxDelayMs: 10 * 60_000, maxAgeMs: 24 * 3_600_000, maxAttempts: 50 });
/** Inbox rows delivered per batch (one publisher call or one sink delivery). */
export const INBOX_BATCH = 200;
/** Pipelines with inbound routes run on arrival; this is only the sweep for items whose retry came due. */
export const INBOUND_SWEEP_MS = 15 * 60_000;

const STORE_URL = z.string().regex(/^(sqlite:|postgres(ql)?:\/\/)/, 'a store URL: sqlite:./data/inbound.db or postgres://user@host/db');

export const inboundTargetSchema = z
  .union(
    [
      z.strictObject({ salesforce: targetSchema }),
      z.strictObject({ queue: queueSchema }),
      z.strictObject({
        table: z.strictObject({
          name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a table name such as erp_accounts'),
          key: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).describe('the table\'s unique column that receives the delivery id ({dedupe key}:{position}), so a redelivery updates instead of inserting twice'),
          store: STORE_URL.optional().describe("the database holding the table (default: the service's store)"),
        }),
      }),
    ],
    { error: 'target needs salesforce: {object, operation, externalIdField} (written through the publisher), queue: {kind, url, name} (nats, rabbitmq, redis, webhook, jsonl) or table: {name, key} (an application table)' },
  )
  .meta({ id: 'InboundTarget' });

/** Keys every inbound pipeline kind has besides the base fields. */
export const inboundFields = {
  target: inboundTargetSchema,
  transform: transformSchema.optional().describe('maps each received record before delivery (the publisher\'s transform language)'),
  retry: z
    .strictObject({
      base_delay: duration.optional(),
      max_delay: duration.optional(),
      max_age: duration.optional().describe('an item older than this becomes a dead letter (default 24h)'),
      max_attempts: z.number().int().min(1).max(1000).optional(),
    })
    .optional(),
  state: STORE_URL.optional().describe("the publisher's outbox and dead letters (default: the service's store)"),
};

export interface InboundSpec {
  name: string;
  target: z.output<typeof inboundTargetSchema>;
  transform?: z.output<typeof transformSchema>;
  retry?: { base_delay?: number; max_delay?: number; max_age?: number; max_attempts?: number };
  state?: string;
}

/** Checks an inbound spec beyond its schema (transform and target), as `PipelineKind.check`. */
export function checkInbound(spec: InboundSpec): { path: string; message: string } | undefined {
  try {
    validateTransform(spec.transform, 'transform');
    if ('queue' in spec.target) {
      const sink = parseSinkConfig(spec.target.queue, 'target.queue');
      if (sink.kind === 'store') return { path: 'target.queue.kind', message: 'a store sink takes search documents, not received records; use jsonl, nats, rabbitmq, redis or webhook, or target: { salesforce: … }' };
    }
  } catch (err) {
    return { path: 'target', message: (err as Error).message };
  }
  return undefined;
}

/** The state store (outbox, dead letters) of an inbound pipeline. */
export function inboundStateUrl(spec: InboundSpec, serviceStoreUrl: string, baseDir: string): string {
  return resolveStoreUrl(spec.state ?? serviceStoreUrl, baseDir);
}

/** When attempt `attempts` (1-based, just failed) is retried. */
export function retryDelayMs(spec: InboundSpec, attempts: number): number {
  const base = spec.retry?.base_delay ?? INBOUND_RETRY_DEFAULTS.baseDelayMs;
  const max = spec.retry?.max_delay ?? INBOUND_RETRY_DEFAULTS.maxDelayMs;
  return Math.min(max, base * 2 ** Math.max(0, attempts - 1));
}


/** One record of an inbox item, as the pattern read it (`object` labels counts: the sObject of an Outbound Message). */
export interface InboundRecord {
  object: string;
  record: Record<string, unknown>;
}

/** Turns a stored item into its records; throws for an item that can never be delivered (it becomes a dead letter). */
export type RecordsOf = (row: InboxRow) => InboundRecord[];

/**
 * Delivers the pipeline's due inbox items in arrival order until none is due, the run is stopped, or a
 * delivery fails (later items wait, so one record's versions are never applied out of order). Returns the
 * run's counts and, when items wait for a retry, when the pipeline should run next.
 */
export async function drainInbox(spec: InboundSpec, run: PipelineRunContext, recordsOf: RecordsOf, now: () => number = Date.now): Promise<PipelineRunResult> {
  const state: ServiceState = await (await run.store(run.serviceStoreUrl)).serviceState();
  const objects: Record<string, RunObjectCounts> = {};
  const count = (object: string) => (objects[object] ??= { read: 0, written: 0, deleted: 0, failed: 0, status: 'running' });
  const transform = compileTransform(spec.transform);
  let apiCalls = 0;
  let sink: Sink | undefined;
  let publishStore: Store | undefined;
  let deadLettered = false;
  let stoppedBy: string | undefined;
  try {
    for (;;) {
      if (run.signal.aborted) break;
      const rows = await state.dueInbox(spec.name, new Date(now()).toISOString(), INBOX_BATCH);
      if (!rows.length) break;
      // Items whose content cannot become records are dead at once; the rest are delivered together.
      const batch: { row: InboxRow; records: InboundRecord[] }[] = [];
      for (const row of rows) {
        try {
          batch.push({ row, records: recordsOf(row).map((r) => ({ object: r.object, record: transform(r.record) })) });
        } catch (err) {
          await state.updateInbox(row.id, { state: 'dead', attempts: row.attempts + 1, lastError: `UNREADABLE: ${(err as Error).message}` });
          deadLettered = true;
        }
      }
      for (const { records } of batch) for (const r of records) count(r.object).read++;
      let outcome: Map<number, { ok: boolean; error?: string; result?: JsonValue }>;
      try {
        if ('salesforce' in spec.target) {
          const client = await run.client();
          const before = client.governor?.runUsed ?? 0;
          publishStore ??= await run.store(inboundStateUrl(spec, run.serviceStoreUrl, run.baseDir));
          outcome = await deliverToSalesforce(spec, publishTargetOf(spec.target.salesforce), batch, { client, publishState: await publishStore.publishState(), signal: run.signal });
          apiCalls += (client.governor?.runUsed ?? 0) - before;
        } else if ('table' in spec.target) {
          const t = spec.target.table;
          const store = await run.store(resolveStoreUrl(t.store ?? run.serviceStoreUrl, run.baseDir));
          await deliverToTable(store, t.name, t.key, batch);
          outcome = new Map(batch.map(({ row, records }) => [row.id, { ok: true, result: { rows: records.length } }]));
        } else {
          if (!sink) {
            const config = parseSinkConfig(spec.target.queue, 'target.queue');
            sink = openSink(config.kind === 'jsonl' ? { ...config, url: resolve(run.baseDir, config.url!) } : config, { store: await run.store(run.serviceStoreUrl) });
          }
          const messages: SinkMessage[] = batch.flatMap(({ row, records }) => records.map((r, i) => ({ id: `${spec.name}:${row.dedupeKey}:${i}`, key: String(r.record.Id ?? row.dedupeKey), body: r.record as JsonValue, headers: { 'sfbridge-type': 'inbound', 'sfbridge-pipeline': spec.name, 'sfbridge-object': r.object } })));
          await sink.deliver(messages, { signal: run.signal });
          outcome = new Map(batch.map(({ row, records }) => [row.id, { ok: true, result: { delivered: records.length } }]));
        }
      } catch (err) {
        const message = (err as Error).message;
        if (err instanceof SinkError && err.code === 'SINK_REJECTED') {
          // The sink refuses these messages for what they are: retrying cannot help.
          for (const { row, records } of batch) {
            for (const r of records) count(r.object).failed!++;
            await state.updateInbox(row.id, { state: 'dead', attempts: row.attempts + 1, lastError: message });
          }
          deadLettered = true;
          continue;
        }
        // The whole batch waits for its retry; nothing after it is delivered first.
        for (const { row, records } of batch) {
          for (const r of records) count(r.object).failed!++;
          await failAttempt(state, spec, row, message, now());
        }
        stoppedBy = message;
        break;
      }
      for (const { row, records } of batch) {
        const o = outcome.get(row.id)!;
        if (o.ok) {
          for (const r of records) count(r.object).written++;
          await state.updateInbox(row.id, { state: 'delivered', attempts: row.attempts + 1, result: o.result ?? null, lastError: null });
        } else {
          for (const r of records) count(r.object).failed!++;
          // Refused by Salesforce: the publisher has the record in its dead letters; the item is settled.
          await state.updateInbox(row.id, { state: 'dead', attempts: row.attempts + 1, result: o.result ?? null, lastError: o.error ?? 'refused' });
          deadLettered = true;
        }
      }
      for (const o of Object.keys(objects)) run.report(o, objects[o]);
    }
  } finally {
    await sink?.close();
  }
  if (deadLettered) run.service.emit('deadletters:changed', { pipeline: spec.name });
  const next = await state.nextInboxAttempt(spec.name);
  for (const [o, c] of Object.entries(objects)) {
    c.status = c.failed ? 'failed' : 'ok';
    run.report(o, c);
  }
  const base = { objects, apiCalls, ...(next ? { nextRunAt: new Date(Math.max(Date.parse(next), now())) } : {}) };
  if (run.signal.aborted) return { status: 'interrupted', ...base };
  if (stoppedBy) return { status: 'failed', ...base, error: `delivery failed, retried at ${next ?? 'the next run'}: ${stoppedBy}`, errorCode: 'DELIVERY_FAILED' };
  const failed = Object.values(objects).reduce((n, c) => n + (c.failed ?? 0), 0);
  if (failed) return { status: 'failed', ...base, error: `${failed} record${failed === 1 ? '' : 's'} refused (in the dead-letter queue)`, errorCode: 'RECORDS_FAILED' };
  return { status: 'succeeded', ...base };
}

async function failAttempt(state: ServiceState, spec: InboundSpec, row: InboxRow, message: string, at: number): Promise<void> {
  const attempts = row.attempts + 1;
  const maxAge = spec.retry?.max_age ?? INBOUND_RETRY_DEFAULTS.maxAgeMs;
  const maxAttempts = spec.retry?.max_attempts ?? INBOUND_RETRY_DEFAULTS.maxAttempts;
  const nextAt = at + retryDelayMs(spec, attempts);
  if (attempts >= maxAttempts || nextAt - Date.parse(row.receivedAt) > maxAge) {
    await state.updateInbox(row.id, { state: 'dead', attempts, lastError: `GAVE_UP after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${message}` });
    return;
  }
  await state.updateInbox(row.id, { attempts, nextAttemptAt: new Date(nextAt).toISOString(), lastError: message });
}

async function deliverToSalesforce(
  spec: InboundSpec,
  target: PublishTarget,
  batch: { row: InboxRow; records: InboundRecord[] }[],
  opts: { client: Awaited<ReturnType<PipelineRunContext['client']>>; publishState: Awaited<ReturnType<Store['publishState']>>; signal: AbortSignal },
): Promise<Map<number, { ok: boolean; error?: string; result?: JsonValue }>> {
  const keyOwner = new Map<string, number>();
  const inputs = batch.flatMap(({ row, records }) =>
    records.map((r, i) => {
      const key = `inbox:${row.id}:${i}`;
      keyOwner.set(key, row.id);
      return { key, record: r.record };
    }),
  );
  const results = new Map<number, JsonObject[]>();
  await publish({
    client: opts.client,
    target,
    state: opts.publishState,
    pipeline: spec.name,
    records: inputs,
    signal: opts.signal,
    onResult: (r) => {
      const owner = keyOwner.get(r.key)!;
      const list = results.get(owner) ?? [];
      list.push({ id: r.id, success: r.success, created: r.created, errors: r.errors as unknown as JsonValue[] });
      results.set(owner, list);
    },
  });
  const out = new Map<number, { ok: boolean; error?: string; result?: JsonValue }>();
  for (const { row } of batch) {
    const list = results.get(row.id) ?? [];
    const failed = list.filter((r) => !r.success);
    const first = failed[0]?.errors as unknown as { code?: string; message?: string }[] | undefined;
    out.set(row.id, failed.length ? { ok: false, error: `${first?.[0]?.code ?? 'FAILED'}: ${first?.[0]?.message ?? 'refused'}`, result: list } : { ok: true, result: list });
  }
  return out;
}

/** Upserts records into an application table by its delivery-id column (columns it lacks are left out). */
async function deliverToTable(store: Store, table: string, keyColumn: string, batch: { row: InboxRow; records: InboundRecord[] }[]): Promise<void> {
  const shape = await store.tableShape(table);
  // A table not created yet may be created by its application: retried with backoff, not given up.
  if (!shape) throw new Error(`table ${table} does not exist in the store; create it (with a unique ${keyColumn} column)`);
  if (shape.mirror) throw new SinkError('SINK_REJECTED', `table ${table}`, `${table} is a Salesforce mirror table; deliver into an application table or into Salesforce`);
  const byName = new Map(shape.columns.map((c) => [c.name.toLowerCase(), c.name]));
  const key = byName.get(keyColumn.toLowerCase());
  if (!key) throw new SinkError('SINK_REJECTED', `table ${table}`, `table ${table} has no column ${keyColumn} (columns: ${shape.columns.map((c) => c.name).join(', ')})`);
  for (const { row, records } of batch) {
    for (const [i, r] of records.entries()) {
      const values: Record<string, string | number | boolean | null> = {};
      for (const [field, v] of Object.entries(r.record)) {
        const col = byName.get(field.toLowerCase());
        if (col && col !== key) values[col] = v === undefined ? null : typeof v === 'object' && v !== null ? JSON.stringify(v) : (v as string | number | boolean | null);
      }
      const id = `${row.dedupeKey}:${i}`;
      // Update first: a redelivery after a crash finds its row; otherwise insert it.
      const updated = Object.keys(values).length ? await store.mutateTable(shape, { kind: 'update', key: { [key]: id }, values }) : (await store.countTable(shape, { kind: 'compare', op: 'eq', column: key, value: id }));
      if (!updated) await store.mutateTable(shape, { kind: 'insert', values: { ...values, [key]: id } });
    }
  }
}

/**
 * Two-way sync (the Heroku Connect pattern): what an application wrote into a writable mirror table goes to
 * Salesforce through the publisher, and nothing sfbridge wrote comes back as a change.
 *
 *     app INSERT/UPDATE/DELETE ─trigger─▶ _sfbridge_app_changes (pending)
 *            │                                    │ drain, after the object's sync
 *            │                                    ▼
 *            │               Salesforce's current versions (one query per 200 records)
 *            │                 ├─ unchanged since the app's base version, or our own write back → send
 *            │                 └─ changed by someone else → conflict (policy) ──▶ _sfbridge_conflicts
 *            │                                    ▼
 *            │               publisher (outbox key per change: exactly once) ──▶ Salesforce
 *            │                                    ▼
 *            └──────────── succeeded: sent values kept; an insert's placeholder Id becomes the Salesforce Id
 *
 * Echoes: every write the store makes (sync pages, change events, the Id write-back, a conflict settled for
 * Salesforce) runs with the capture guard on, so the version sfbridge wrote, read back by the next sync or
 * change event, is applied without being captured: it is never sent again. The drain also recognises it
 * when the application changed the record again before it came back: Salesforce's version is newer than the
 * application's base, but its `LastModifiedById` is the integration user and its values are the ones sent
 * (CDC marks the same writes with `changeOrigin` `…;client=sfbridge`, from the `Sforce-Call-Options` header
 * every request carries), so it is not a conflict.
 */
import type { DescribeField } from '../../client/describe.ts';
import type { SalesforceClient } from '../../client/index.ts';
import { cond, from } from '../../soql/index.ts';
import type { CaptureSettlement, CapturedChange, ConflictPolicy, JsonObject, SfRecord, Store, WriteCapture } from '../../store/types.ts';
import { publish, type PublishInput } from '../publish/publisher.ts';
import type { PublishOperation, PublishRecordResult } from '../publish/types.ts';

/** Per-object two-way settings (`objects.<Object>.writable` and friends). */
export interface TwoWaySettings {
  /** Default `salesforce_wins`. */
  conflict?: ConflictPolicy;
  /** A text external ID field sfbridge marks each inserted record with, so a crash mid-insert never duplicates it. */
  idempotencyField?: string;
}

/** What one drain did. */
export interface PushSummary {
  /** Application changes read from the log. */
  changes: number;
  inserted: number;
  updated: number;
  deleted: number;
  /** Refused by Salesforce (in the dead letters). */
  failed: number;
  /** Nothing to write (read-only fields only, or inserted and deleted before it was sent). */
  skipped: number;
  conflicts: number;
  /** Salesforce versions recognised as sfbridge's own earlier write. */
  echoes: number;
}

export interface PushOptions {
  client: SalesforceClient;
  store: Store;
  object: string;
  settings?: TwoWaySettings;
  signal?: AbortSignal;
  onWarning?: (message: string) => void;
}

/** Records per Salesforce version query (Ids in one `IN (…)`, well within the URI limit). */
const REMOTE_CHUNK = 200;
/** Changes read from the log per page. */
const PAGE = 2000;

interface Plan {
  op: PublishOperation;
  id: string;
  entries: CapturedChange[];
  fields: string[];
  key: string;
  payload?: Record<string, unknown>;
}

/** Pipeline (publisher outbox namespace) of an object's two-way writes. */
export function twoWayPipeline(object: string, op: PublishOperation): string {
  return `two-way:${object}:${op}`;
}

/** Drains an object's pending application changes to Salesforce. */
export async function pushChanges(opts: PushOptions): Promise<PushSummary> {
  const { client, store, object, signal } = opts;
  const policy = opts.settings?.conflict ?? 'salesforce_wins';
  const cap = await store.writeCapture();
  await cap.enable(object);
  const summary: PushSummary = { changes: 0, inserted: 0, updated: 0, deleted: 0, failed: 0, skipped: 0, conflicts: 0, echoes: 0 };
  let describe: Map<string, DescribeField> | undefined;
  let userId: string | undefined;
  const seen = new Set<number>();
  for (;;) {
    signal?.throwIfAborted();
    const entries = (await cap.pending(object, { limit: PAGE })).filter((e) => !seen.has(e.seq));
    if (entries.length === 0) break;
    for (const e of entries) seen.add(e.seq);
    summary.changes += entries.length;
    describe ??= new Map((await client.describe(object, signal)).fields.map((f) => [f.name.toLowerCase(), f]));
    userId ??= (await client.session(signal)).identityUrl?.split('/').at(-1);
    const plans = await planChanges(cap, entries, summary);
    const remote = await remoteVersions(client, store, object, describe, plans.filter((p) => p.op !== 'insert' && isSalesforceId(p.id)).map((p) => p.id), signal);
    const sent = await cap.lastSent(object, plans.map((p) => p.id));
    const go: Plan[] = [];
    for (const plan of plans) {
      if (plan.op === 'insert') {
        go.push(plan);
        continue;
      }
      // A change of a row whose insert has not gone out yet (it is further down the log): it waits for it.
      if (!isSalesforceId(plan.id)) continue;
      const r = remote.get(plan.id);
      if (!r) {
        // Gone from Salesforce: a delete is done already; an update lost to the deletion.
        if (plan.op === 'delete') await cap.settle([{ seqs: plan.entries.map((e) => e.seq), state: 'succeeded', sfId: plan.id }]);
        else {
          const local = await store.getRecord(object, plan.id);
          await cap.resolveForSalesforce(object, { supersede: plan.entries.map((e) => e.seq), id: plan.id, record: null, conflict: conflictOf(object, plan, policy, 'salesforce', local, null) });
          summary.conflicts++;
        }
        continue;
      }
      const base = minStamp(plan.entries);
      const remoteStamp = Date.parse(String(r.SystemModstamp ?? r.LastModifiedDate ?? ''));
      if (base === undefined || !(remoteStamp > base)) {
        go.push(plan);
        continue;
      }
      const last = sent.get(plan.id);
      if (last && userId !== undefined && r.LastModifiedById === userId && Object.entries(last.sent).every(([k, v]) => k === 'Id' || sameValue(r[k], v))) {
        summary.echoes++;
        go.push(plan);
        continue;
      }
      // Changed on both sides since the application's base version.
      const local = await store.getRecord(object, plan.id);
      const remoteModified = String(r.LastModifiedDate ?? r.SystemModstamp);
      const localModified = plan.entries.map((e) => e.capturedAt).sort().at(-1)!;
      const salesforceWins = policy === 'salesforce_wins' || Date.parse(remoteModified) >= Date.parse(localModified);
      summary.conflicts++;
      if (salesforceWins) {
        await cap.resolveForSalesforce(object, { supersede: plan.entries.map((e) => e.seq), id: plan.id, record: mirrorShape(r), conflict: conflictOf(object, plan, policy, 'salesforce', local, r) });
      } else {
        await cap.recordConflict(conflictOf(object, plan, policy, 'application', local, r));
        go.push(plan);
      }
    }
    await send(opts, cap, describe, go, summary);
  }
  return summary;
}

/** One plan per record: its pending changes folded into one insert, update or delete. */
async function planChanges(cap: WriteCapture, entries: readonly CapturedChange[], summary: PushSummary): Promise<Plan[]> {
  const byRecord = Map.groupBy(entries, (e) => e.recordId);
  // A row whose insert Salesforce refused, changed again (corrected): its insert is sent again.
  const refused = await cap.refusedInserts(entries[0]?.object ?? '', [...byRecord.keys()].filter((id) => byRecord.get(id)![0].op !== 'insert'));
  const plans: Plan[] = [];
  for (const [id, list] of byRecord) {
    const first = list[0];
    const last = list.at(-1)!;
    const fields = [...new Set(list.flatMap((e) => e.fields))];
    if (first.op === 'insert' || refused.has(id)) {
      if (last.op === 'delete') {
        await cap.settle([{ seqs: list.map((e) => e.seq), state: 'skipped' }]);
        summary.skipped += 1;
        continue;
      }
      plans.push({ op: 'insert', id, entries: list, fields, key: `ins:${first.seq}` });
    } else if (list.some((e) => e.op === 'delete')) {
      plans.push({ op: 'delete', id, entries: list, fields: [], key: `del:${last.seq}` });
    } else plans.push({ op: 'update', id, entries: list, fields, key: `upd:${last.seq}` });
  }
  return plans;
}

/** A 15- or 18-character Salesforce Id (a placeholder of a row not in Salesforce yet is not one). */
const isSalesforceId = (id: string): boolean => /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/.test(id);

function minStamp(entries: readonly CapturedChange[]): number | undefined {
  const stamps = entries.map((e) => (e.baseStamp ? Date.parse(e.baseStamp) : NaN)).filter(Number.isFinite);
  return stamps.length ? Math.min(...stamps) : undefined;
}

/** Salesforce's current version of records: the mirror's columns plus who and when last changed them. */
async function remoteVersions(client: SalesforceClient, store: Store, object: string, describe: Map<string, DescribeField>, ids: readonly string[], signal?: AbortSignal): Promise<Map<string, SfRecord>> {
  const out = new Map<string, SfRecord>();
  if (ids.length === 0) return out;
  const columns = ((await store.describeTable(object)) ?? []).map((f) => f.name).filter((n) => {
    const f = describe.get(n.toLowerCase());
    return f && f.type !== 'address' && f.type !== 'location' && f.type !== 'base64';
  });
  const select = [...new Set(['Id', ...columns, ...['SystemModstamp', 'LastModifiedDate', 'LastModifiedById'].filter((f) => describe.has(f.toLowerCase()))])];
  for (let i = 0; i < ids.length; i += REMOTE_CHUNK) {
    const soql = from(object).select(select).where(cond('Id', 'IN', ids.slice(i, i + REMOTE_CHUNK))).toString();
    for await (const r of client.query(soql, { signal })) out.set(String((r as SfRecord).Id), r as SfRecord);
  }
  return out;
}

/** A queried record as the mirror stores it (no `attributes`, only its columns). */
function mirrorShape(r: SfRecord): SfRecord {
  const { attributes: _a, ...rest } = r as SfRecord & { attributes?: unknown };
  return Object.fromEntries(Object.entries(rest).filter(([, v]) => v === null || typeof v !== 'object')) as SfRecord;
}

function conflictOf(object: string, plan: Plan, policy: ConflictPolicy, winner: 'salesforce' | 'application', local: SfRecord | undefined, remote: SfRecord | null) {
  return {
    object,
    recordId: plan.id,
    policy,
    winner,
    fields: plan.op === 'delete' ? [] : plan.fields,
    local: local ? (local as JsonObject) : null,
    remote: remote ? (mirrorShape(remote) as JsonObject) : null,
    localModified: plan.entries.map((e) => e.capturedAt).sort().at(-1) ?? null,
    remoteModified: remote ? String(remote.LastModifiedDate ?? remote.SystemModstamp ?? '') || null : null,
  };
}

/** Salesforce values and mirror values compared as the same value (numbers, datetimes in either form, blanks). */
export function sameValue(a: unknown, b: unknown): boolean {
  const blank = (v: unknown) => v === null || v === undefined || v === '';
  if (blank(a) || blank(b)) return blank(a) && blank(b);
  if (typeof a === 'number' || typeof b === 'number') return Number(a) === Number(b);
  if (typeof a === 'boolean' || typeof b === 'boolean') return String(a) === String(b);
  const sa = String(a);
  const sb = String(b);
  if (sa === sb) return true;
  const dt = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;
  if (dt.test(sa) && dt.test(sb)) return Date.parse(sa.replace(/([+-]\d{2})(\d{2})$/, '$1:$2')) === Date.parse(sb.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  return false;
}

/** Builds payloads from the rows as they are now and sends each operation's records through the publisher. */
async function send(opts: PushOptions, cap: WriteCapture, describe: Map<string, DescribeField>, plans: readonly Plan[], summary: PushSummary): Promise<void> {
  const { client, store, object, signal } = opts;
  const writable = (name: string, op: PublishOperation): boolean => {
    const f = describe.get(name.toLowerCase());
    if (!f || f.name === 'Id' || f.calculated) return false;
    return op === 'insert' ? f.createable === true : f.updateable === true;
  };
  const byOp = new Map<PublishOperation, Plan[]>();
  const rows = await cap.rows(object, plans.filter((p) => p.op !== 'delete').map((p) => p.id));
  for (const plan of plans) {
    if (plan.op === 'delete') plan.payload = { Id: plan.id };
    else {
      const row = rows.get(plan.id);
      const payload: Record<string, unknown> = plan.op === 'update' ? { Id: plan.id } : {};
      if (row) {
        for (const f of plan.op === 'insert' ? Object.keys(row) : plan.fields) {
          const name = describe.get(f.toLowerCase())?.name;
          if (!name || !writable(name, plan.op)) continue;
          const v = row[name] ?? row[f];
          if (plan.op === 'insert' && (v === null || v === undefined)) continue;
          payload[name] = v ?? null;
        }
      }
      const hasValues = Object.keys(payload).some((k) => k !== 'Id');
      if (!row || !hasValues) {
        await cap.settle([{ seqs: plan.entries.map((e) => e.seq), state: 'skipped' }]);
        summary.skipped++;
        continue;
      }
      plan.payload = payload;
    }
    byOp.set(plan.op, [...(byOp.get(plan.op) ?? []), plan]);
  }
  for (const op of ['insert', 'update', 'delete'] as const) {
    const list = byOp.get(op);
    if (!list?.length) continue;
    const byKey = new Map(list.map((p) => [p.key, p]));
    const results: PublishRecordResult[] = [];
    await publish({
      client,
      state: await store.publishState(),
      pipeline: twoWayPipeline(object, op),
      target: { object, operation: op, ...(op === 'insert' && opts.settings?.idempotencyField ? { idempotencyField: opts.settings.idempotencyField } : {}) },
      records: list.map((p): PublishInput => ({ key: p.key, record: p.payload! })),
      signal,
      onWarning: opts.onWarning,
      onResult: (r) => void results.push(r),
    });
    // Outcomes are recorded together after the call (a crash before that resends nothing: the publisher's
    // outbox knows these keys succeeded).
    const settled: CaptureSettlement[] = [];
    const adopted: { placeholder: string; sfId: string }[] = [];
    for (const r of results) {
      const plan = byKey.get(r.key)!;
      const seqs = plan.entries.map((e) => e.seq);
      const { Id: _id, ...values } = plan.payload!;
      const gone = op === 'delete' && r.errors.some((e) => e.code === 'ENTITY_IS_DELETED' || e.code === 'INVALID_CROSS_REFERENCE_KEY');
      if (r.success || gone) {
        const sfId = r.id ?? plan.id;
        settled.push({ seqs, state: 'succeeded', sfId, sent: op === 'delete' ? null : (values as JsonObject) });
        if (op === 'insert') adopted.push({ placeholder: plan.id, sfId });
        if (op === 'insert') summary.inserted++;
        else if (op === 'update') summary.updated++;
        else summary.deleted++;
      } else if (r.deadLetterId !== undefined) {
        const e = r.errors[0];
        settled.push({ seqs, state: 'failed', error: e ? `${e.code}: ${e.message}` : 'failed' });
        summary.failed++;
      }
      // Otherwise (a transient failure past its retries): still pending, sent again next cycle under the same key.
    }
    await cap.settle(settled);
    await cap.adoptIds(object, adopted);
  }
}

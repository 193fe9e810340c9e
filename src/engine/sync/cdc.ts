/**
 * Following Change Data Capture into the mirror: after the initial load, each object's change events
 * (`/data/<Object>ChangeEvent`) are applied in commit order, the events of one Salesforce transaction (one
 * `transactionKey`) together in one store transaction, and the replay id commits in that same store
 * transaction, so a crash resumes exactly where the mirror stands.
 *
 * CDC sends only what changed: an update writes just its changed and nulled fields (the store leaves the
 * other columns as they are), stamped with the change's LastModifiedDate as `SystemModstamp`, so the store's
 * guard drops an event older than the row (a replay over rows the initial load already has is harmless).
 * Creates and undeletes carry the whole record. Deletes (hard deletes included: emptying the recycle bin or a
 * Bulk hardDelete sends a DELETE too) are tombstones at the commit time. Gap events re-read their records by
 * REST; an overflow or a replay id past retention runs the caller's catch-up read by the cursor, and after an
 * expired replay id the stream restarts at the tip. While idle, the stream's keepalive position is
 * checkpointed, so a quiet object never falls out of the 72-hour retention, and no REST call is made.
 */
import type { SalesforceClient } from '../../client/index.ts';
import { PubSubError, PUBSUB_ERROR_CODES, type PubSubClient, type PubSubEvent, type ReplayFrom } from '../../client/pubsub/client.ts';
import type { DescribeField } from '../../client/describe.ts';
import type { SfRecord, Store } from '../../store/types.ts';

/** The checkpoint key of an object's change stream (its `extra.replayId` is the hex of the replay id). */
export function cdcCheckpointKey(object: string): string {
  return `cdc:${object}`;
}

export interface FollowChangesOptions {
  client: SalesforceClient;
  pubsub: PubSubClient;
  store: Store;
  /** Objects already loaded into the store (their tables exist). */
  objects: readonly string[];
  /** Re-reads an object by the normal cursor (after an overflow or an expired replay id). */
  catchUp: (object: string, reason: 'overflow' | 'replay-expired') => Promise<void>;
  /**
   * Called after each store transaction with the events it applied, in commit order (for logs and tests).
   * A Salesforce transaction's events are never split across two calls, while several may share one.
   */
  onApplied?: (object: string, events: readonly PubSubEvent[], rows: number) => void;
  /**
   * How long to wait for the next event before applying what has arrived (default 20 ms). The events of a
   * transaction arrive back to back; an event with another transactionKey, or a keepalive, ends a
   * transaction at once.
   */
  settleMs?: number;
  /**
   * How often the mirror table's columns are compared with those the events are mapped to (default 10 s): a
   * column added since (a new field, after a polling pass saw it) is then written from the events too.
   */
  schemaCheckMs?: number;
  signal?: AbortSignal;
}

type Mapper = (ev: PubSubEvent) => SfRecord;

/** From an event payload to a REST-shaped record of the stored columns (compound parts flattened). */
async function mapperFor(client: SalesforceClient, store: Store, object: string): Promise<{ map: Mapper; columns: string[] }> {
  const describe = await client.describe(object);
  const stored = new Set((await store.describeTable(object))?.map((f) => f.name) ?? []);
  const byName = new Map(describe.fields.map((f) => [f.name, f] as const));
  const components = new Map<string, DescribeField[]>();
  for (const f of describe.fields) if (f.compoundFieldName) components.set(f.compoundFieldName, [...(components.get(f.compoundFieldName) ?? []), f]);
  /** The stored field a compound's Avro component names (`BillingAddress.City` → `BillingCity`). */
  const component = (compound: string, part: string): string | undefined => {
    const comps = components.get(compound) ?? [];
    const prefix = compound.endsWith('Address') ? compound.slice(0, -'Address'.length) : '';
    return (comps.find((c) => c.name === `${prefix}${part}`) ?? comps.find((c) => c.name === part) ?? comps.find((c) => c.name.includes(part)))?.name;
  };
  const convert = (name: string, v: unknown): unknown => {
    if (v === null || v === undefined) return null;
    const type = byName.get(name)?.type;
    if (type === 'datetime' && typeof v === 'number') return new Date(v).toISOString().replace('Z', '+0000');
    if (type === 'date' && typeof v === 'number') return new Date(v * 86_400_000).toISOString().slice(0, 10);
    return v;
  };
  const put = (rec: SfRecord, name: string, v: unknown) => {
    if (stored.has(name)) rec[name] = convert(name, v) as never;
  };
  const map: Mapper = (ev) => {
    const h = ev.header!;
    const rec: SfRecord = {} as SfRecord;
    const whole = h.changeType === 'CREATE' || h.changeType === 'UNDELETE';
    const fields = whole ? Object.keys(ev.payload).filter((f) => f !== 'ChangeEventHeader') : [...new Set([...h.changedFields, ...h.nulledFields])];
    for (const f of fields) {
      const [top, part] = f.split('.');
      const value = ev.payload[top];
      if (part) {
        const target = component(top, part);
        if (target) put(rec, target, value && typeof value === 'object' ? (value as Record<string, unknown>)[part] : null);
      } else if (components.has(top) && !stored.has(top)) {
        // A whole compound changed (or was nulled): every stored component.
        for (const c of components.get(top)!) {
          const part2 = Object.keys((value as Record<string, unknown> | null) ?? {}).find((p) => component(top, p) === c.name);
          put(rec, c.name, value && part2 ? (value as Record<string, unknown>)[part2] : null);
        }
      } else put(rec, top, value);
    }
    // The change's own LastModifiedDate (else its commit time) orders it against what the store holds
    // (the store's SystemModstamp guard); events carry no SystemModstamp.
    const modified = typeof ev.payload.LastModifiedDate === 'number' ? ev.payload.LastModifiedDate : h.commitTimestamp;
    if (stored.has('SystemModstamp')) rec.SystemModstamp = new Date(modified).toISOString().replace('Z', '+0000') as never;
    // Change events never carry IsDeleted: a created, undeleted or changed record is live.
    if (stored.has('IsDeleted')) rec.IsDeleted = false as never;
    return rec;
  };
  return { map, columns: [...stored] };
}

/** The hex form of a replay id (as stored in the checkpoint). */
function hex(id: Uint8Array): string {
  return Buffer.from(id).toString('hex');
}

/** The change event topic of an object: `/data/AccountChangeEvent`, `/data/Invoice__ChangeEvent`. */
export function changeTopic(object: string): string {
  return `/data/${object.endsWith('__c') ? `${object.slice(0, -3)}__ChangeEvent` : `${object}ChangeEvent`}`;
}

/** Events in arrival order, then the keepalive positions (`latest_replay_id`) the stream reported. */
type Item = { kind: 'event'; ev: PubSubEvent } | { kind: 'position'; replayId: Uint8Array };

/** What to apply next: whole transactions in commit order, and where the stream stands after them. */
interface Batch {
  events: PubSubEvent[];
  /** A keepalive position at or after the last event: nothing is pending before it. */
  position?: Uint8Array;
}

/** Event batches that never split a transaction: at most this many events join transactions in one batch. */
const MAX_BATCH_EVENTS = 500;
const DEFAULT_SETTLE_MS = 20;
const DEFAULT_SCHEMA_CHECK_MS = 10_000;
/**
 * On a first follow (replaying from the start of retention), events that committed this long before the
 * loaded rows' cursor are taken as read by the load: wider than any lag window, so a late-committing write
 * the load could have missed is still applied.
 */
const LOADED_MARGIN_MS = 60 * 60_000;
/** Record ids per SOQL read of gap events. */
const GAP_READ_CHUNK = 200;

/**
 * Subscribes and groups the events into batches of whole transactions. A transaction ends when an event of
 * another transaction arrives, a keepalive says nothing more is pending, or no event follows within
 * `settleMs`. Events of a transaction still arriving when the stream stops are dropped unapplied (their
 * replay id was never committed, so they are read again).
 */
async function* batches(opts: FollowChangesOptions, topic: string, replay: ReplayFrom): AsyncGenerator<Batch> {
  const settleMs = opts.settleMs ?? DEFAULT_SETTLE_MS;
  let wake: (() => void) | null = null;
  const positions: Uint8Array[] = [];
  // Its own signal, so a consumer that stops early (a failed write) ends the subscription too.
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  if (opts.signal?.aborted) stop.abort();
  const events = opts.pubsub.subscribe(topic, {
    replay, signal: stop.signal,
    onPosition: (replayId) => {
      positions.push(replayId);
      wake?.();
    },
  });
  const it = events[Symbol.asyncIterator]();
  let next: Promise<IteratorResult<PubSubEvent>> | null = null;
  let buffer: PubSubEvent[] = [];
  /** Where the last (maybe still arriving) transaction of the buffer starts: before it, all are complete. */
  let boundary = 0;
  let firstAt = 0;
  let lastAt = 0;
  const txOf = (ev: PubSubEvent) => ev.header?.transactionKey ?? ev.id;
  const take = (n: number): PubSubEvent[] => {
    const out = buffer.slice(0, n);
    buffer = buffer.slice(n);
    boundary = 0;
    firstAt = lastAt;
    return out;
  };
  try {
    for (;;) {
      next ??= it.next();
      let timer: NodeJS.Timeout | undefined;
      const woken = new Promise<'position'>((r) => (wake = () => r('position')));
      const waits: Promise<IteratorResult<PubSubEvent> | 'position' | 'settled'>[] = [next, woken];
      if (buffer.length) {
        // The last transaction is taken as ended when nothing follows it for settleMs; complete ones wait at
        // most settleMs from their first event (so a steady stream is applied every settleMs, in batches).
        const now = performance.now();
        const due = boundary > 0 ? firstAt + settleMs : lastAt + settleMs;
        waits.push(new Promise<'settled'>((r) => (timer = setTimeout(r, Math.max(0, due - now), 'settled'))));
      }
      const got = positions.length ? 'position' : await Promise.race(waits);
      clearTimeout(timer);
      wake = null;
      if (got === 'position') {
        // Every event before the keepalive has been received: the buffered transactions are complete.
        const position = positions.splice(0).at(-1)!;
        yield { events: take(buffer.length), position };
        continue;
      }
      if (got === 'settled') {
        // Quiet since the last event: all of it is complete; else only the transactions before the last.
        const n = performance.now() - lastAt >= settleMs ? buffer.length : boundary;
        if (n) yield { events: take(n) };
        continue;
      }
      next = null;
      if (got.done) return;
      const ev = got.value;
      const last = buffer.at(-1);
      if (last && txOf(last) !== txOf(ev)) {
        boundary = buffer.length;
        if (boundary >= MAX_BATCH_EVENTS) yield { events: take(boundary) };
      }
      lastAt = performance.now();
      if (!buffer.length) firstAt = lastAt;
      buffer.push(ev);
    }
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    stop.abort();
    await it.return?.(undefined);
  }
}

/**
 * Follows every object's change events until the signal aborts. Resolves when stopped; rejects on what
 * retrying cannot fix (an unknown topic, authentication refused).
 */
export async function followChanges(opts: FollowChangesOptions): Promise<void> {
  // One object failing stops the others too: the caller sees one failure, and nothing keeps running.
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  if (opts.signal?.aborted) stop.abort();
  const inner = { ...opts, signal: stop.signal };
  try {
    await Promise.all(opts.objects.map((object) => followObject(inner, object).catch((err: unknown) => {
      if (!stop.signal.aborted) stop.abort();
      throw err;
    })));
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    stop.abort();
  }
}

async function followObject(opts: FollowChangesOptions, object: string): Promise<void> {
  const { store, client, signal } = opts;
  const topic = changeTopic(object);
  let mapper = await mapperFor(client, store, object);
  const columnsKey = (cols: readonly string[]) => [...cols].sort().join(',');
  let mapped = columnsKey(mapper.columns);
  let checkedAt = Date.now();
  /** A column added to the table since (a polling pass saw a new field): map the events to it too. */
  const refresh = async () => {
    if (Date.now() - checkedAt < (opts.schemaCheckMs ?? DEFAULT_SCHEMA_CHECK_MS)) return;
    checkedAt = Date.now();
    const now = columnsKey((await store.describeTable(object))?.map((f) => f.name) ?? []);
    if (now === mapped) return;
    mapper = await mapperFor(client, store, object);
    mapped = columnsKey(mapper.columns);
  };
  let restart: 'stored' | 'latest' = 'stored';
  let loadedBefore = 0;
  while (!signal?.aborted) {
    let replay: ReplayFrom = 'latest';
    if (restart === 'stored') {
      const cp = await store.getCheckpoint(cdcCheckpointKey(object));
      const saved = cp?.extra && typeof cp.extra.replayId === 'string' ? cp.extra.replayId : undefined;
      // No stored position: replay what the org retains, so nothing committed after the initial load's read
      // can be missed. Events that committed well before the loaded rows' cursor are in those rows already
      // and are passed over (no write, no gap read); the rest are ordered against the rows by the store's
      // SystemModstamp guard.
      replay = saved ? { after: new Uint8Array(Buffer.from(saved, 'hex')) } : 'earliest';
      loadedBefore = 0;
      if (!saved) {
        const cursor = (await store.getCheckpoint(object))?.cursor?.systemModstamp;
        const t = cursor ? Date.parse(cursor) : NaN;
        if (Number.isFinite(t)) loadedBefore = t - LOADED_MARGIN_MS;
      }
    }
    try {
      let catchUp = restart === 'latest';
      restart = 'stored';
      for await (const batch of batches(opts, topic, replay)) {
        if (catchUp) {
          // The stream (from the tip) has answered, so the server has placed it: whatever commits from now on
          // is in it, and the cursor's read covers everything before. Its rows are never older than what the
          // store holds (the guard drops events the read already has).
          catchUp = false;
          await opts.catchUp(object, 'replay-expired');
        }
        await refresh();
        await applyBatch(opts, object, batch, mapper, loadedBefore);
      }
      return;
    } catch (err) {
      if (signal?.aborted) return;
      if (err instanceof PubSubError && err.code === PUBSUB_ERROR_CODES.replayExpired && replay !== 'latest') {
        // The stored position fell out of retention: follow from the tip, and re-read by the cursor as soon as
        // the new stream is open (reading before could miss a write committed in between).
        restart = 'latest';
        continue;
      }
      throw err;
    }
  }
}

/** Compares two replay ids (8-byte big-endian, or any equal-length byte strings). */
function after(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(Buffer.from(a), Buffer.from(b)) > 0;
}

/**
 * Applies a batch in commit order. Each run of events up to an overflow commits in one store transaction with
 * its replay id; an overflow runs the catch-up read, then its own replay id is committed.
 */
async function applyBatch(opts: FollowChangesOptions, object: string, batch: Batch, mapper: Awaited<ReturnType<typeof mapperFor>>, loadedBefore = 0): Promise<void> {
  const key = cdcCheckpointKey(object);
  let run: PubSubEvent[] = [];
  for (const ev of batch.events) {
    // Replayed from the start of retention: what committed well before the loaded rows is in them already.
    if (ev.header && ev.header.commitTimestamp < loadedBefore) continue;
    if (ev.header?.changeType === 'GAP_OVERFLOW') {
      if (run.length) await applyRun(opts, object, run, mapper);
      run = [];
      // Some of the transaction's changes were never sent: read what changed by the cursor.
      await opts.catchUp(object, 'overflow');
      await opts.store.setCheckpoint(key, null, { replayId: hex(ev.replayId) });
      opts.onApplied?.(object, [ev], 0);
      continue;
    }
    run.push(ev);
  }
  const last = batch.events.at(-1)?.replayId;
  const position = batch.position && (!last || after(batch.position, last)) ? batch.position : last;
  if (run.length) await applyRun(opts, object, run, mapper, position);
  else if (position) await opts.store.setCheckpoint(key, null, { replayId: hex(position) });
}

/** Applies events (whole transactions) and the replay id of the last (or `position`) in one store transaction. */
async function applyRun(opts: FollowChangesOptions, object: string, events: PubSubEvent[], { map, columns }: Awaited<ReturnType<typeof mapperFor>>, position?: Uint8Array): Promise<void> {
  const key = cdcCheckpointKey(object);
  // Gap events carry no field values: read their records by REST (SOQL by Id, which, unlike a record GET,
  // marks nothing as viewed) before the transaction opens. A record the query does not return is gone.
  const reread = new Map<PubSubEvent, { found: SfRecord[]; gone: string[] }>();
  const fields = columns.filter((c) => !c.includes('.'));
  for (const ev of events) {
    const h = ev.header;
    if (!h || !h.changeType.startsWith('GAP_')) continue;
    const found: SfRecord[] = [];
    for (let i = 0; i < h.recordIds.length; i += GAP_READ_CHUNK) {
      const ids = h.recordIds.slice(i, i + GAP_READ_CHUNK).filter((id) => /^[A-Za-z0-9]{15,18}$/.test(id));
      if (!ids.length) continue;
      const soql = `SELECT ${fields.join(', ')} FROM ${object} WHERE Id IN (${ids.map((id) => `'${id}'`).join(', ')})`;
      for await (const r of opts.client.query<SfRecord>(soql, { signal: opts.signal })) found.push(stripAttributes(r));
    }
    const seen = new Set(found.map((r) => String(r.Id)));
    reread.set(ev, { found, gone: h.recordIds.filter((id) => !seen.has(id) && !seen.has(id.slice(0, 15))) });
  }
  let rows = 0;
  await opts.store.transaction(async (tx) => {
    for (const ev of events) {
      const h = ev.header;
      if (!h) continue;
      const when = new Date(h.commitTimestamp).toISOString();
      const re = reread.get(ev);
      if (re) {
        if (re.found.length) await tx.upsert(object, re.found);
        if (re.gone.length) await tx.markDeleted(object, re.gone, when);
        rows += re.found.length + re.gone.length;
      } else if (h.changeType === 'DELETE') {
        await tx.markDeleted(object, h.recordIds, when);
        rows += h.recordIds.length;
      } else {
        // CREATE / UPDATE / UNDELETE: one event may name several records that took the same change.
        const base = map(ev);
        await tx.upsert(object, h.recordIds.map((Id) => ({ ...base, Id }) as SfRecord));
        rows += h.recordIds.length;
      }
    }
    await tx.setCheckpoint(key, null, { replayId: hex(position ?? events.at(-1)!.replayId) });
  }, { signal: opts.signal });
  opts.onApplied?.(object, events, rows);
}

function stripAttributes(r: SfRecord): SfRecord {
  const { attributes: _a, ...rest } = r as SfRecord & { attributes?: unknown };
  return rest as SfRecord;
}

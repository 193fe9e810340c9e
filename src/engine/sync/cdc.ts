/**
 * Following Change Data Capture into the mirror: after the initial load, each object's change events
 * (`/data/<Object>ChangeEvent`) are applied as they arrive, and the replay id commits in the same store
 * transaction as the rows, so a crash resumes exactly where the mirror stands.
 *
 * CDC sends only what changed: an update writes just its changed and nulled fields (the store leaves the
 * other columns as they are), stamped with the commit time as `SystemModstamp`, so the store's guard drops an
 * event older than the row (a replay over rows the initial load already has is harmless). Deletes are
 * tombstones at the commit time; undeletes and gap events re-read their records by REST; an overflow or a
 * replay id past retention runs the caller's catch-up read and restarts the stream at the tip.
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
  /** Called after each applied event (for logs and tests). */
  onApplied?: (object: string, ev: PubSubEvent, rows: number) => void;
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
    const fields = h.changeType === 'CREATE' ? Object.keys(ev.payload).filter((f) => f !== 'ChangeEventHeader') : [...new Set([...h.changedFields, ...h.nulledFields])];
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
    // Change events never carry IsDeleted: a created (or changed) record is live.
    if (stored.has('IsDeleted')) rec.IsDeleted = false as never;
    return rec;
  };
  return { map, columns: [...stored] };
}

/** The hex form of a replay id (as stored in the checkpoint). */
function hex(id: Uint8Array): string {
  return Buffer.from(id).toString('hex');
}

/**
 * Follows every object's change events until the signal aborts. Resolves when stopped; rejects on what
 * retrying cannot fix (an unknown topic, authentication refused).
 */
export async function followChanges(opts: FollowChangesOptions): Promise<void> {
  await Promise.all(opts.objects.map((object) => followObject(opts, object)));
}

async function followObject(opts: FollowChangesOptions, object: string): Promise<void> {
  const { store, client, pubsub, signal } = opts;
  const topic = `/data/${object.endsWith('__c') ? `${object.slice(0, -3)}__ChangeEvent` : `${object}ChangeEvent`}`;
  const { map, columns } = await mapperFor(client, store, object);
  const key = cdcCheckpointKey(object);
  while (!signal?.aborted) {
    const cp = await store.getCheckpoint(key);
    const saved = cp?.extra && typeof cp.extra.replayId === 'string' ? cp.extra.replayId : undefined;
    // No stored position: replay what the org retains. Events older than the loaded rows are dropped by the
    // store's SystemModstamp guard, and nothing committed after the initial load's read can be missed.
    const replay: ReplayFrom = saved ? { after: new Uint8Array(Buffer.from(saved, 'hex')) } : 'earliest';
    try {
      for await (const ev of pubsub.subscribe(topic, { replay, signal })) {
        const rows = await apply(opts, object, ev, map, columns);
        opts.onApplied?.(object, ev, rows);
      }
      return;
    } catch (err) {
      if (signal?.aborted) return;
      if (err instanceof PubSubError && err.code === PUBSUB_ERROR_CODES.replayExpired) {
        // The stored position fell out of retention: re-read by the cursor, then follow from the tip.
        await opts.catchUp(object, 'replay-expired');
        await store.setCheckpoint(key, null, { replayId: null, restartedAt: new Date().toISOString() } as never);
        await followFromLatest(opts, object, topic, map, columns, key);
        continue;
      }
      throw err;
    }
  }
}

/** After a catch-up read: follow from the tip, recording the first event's position. */
async function followFromLatest(opts: FollowChangesOptions, object: string, topic: string, map: Mapper, columns: string[], _key: string): Promise<void> {
  for await (const ev of opts.pubsub.subscribe(topic, { replay: 'latest', signal: opts.signal })) {
    const rows = await apply(opts, object, ev, map, columns);
    opts.onApplied?.(object, ev, rows);
  }
}

/** Applies one event and its replay id in one store transaction; returns the rows written. */
async function apply(opts: FollowChangesOptions, object: string, ev: PubSubEvent, map: Mapper, columns: string[]): Promise<number> {
  const h = ev.header;
  const key = cdcCheckpointKey(object);
  const position = { replayId: hex(ev.replayId) };
  if (!h) return 0;
  const type = h.changeType;
  if (type === 'GAP_OVERFLOW') {
    await opts.catchUp(object, 'overflow');
    await opts.store.setCheckpoint(key, null, position);
    return 0;
  }
  if (type === 'UNDELETE' || type.startsWith('GAP_')) {
    // The event does not carry the record (or not all of it): read the current rows by REST.
    const fields = columns.filter((c) => !c.includes('.'));
    const found: SfRecord[] = [];
    const gone: string[] = [];
    for (const id of h.recordIds) {
      try {
        found.push(await opts.client.retrieve<SfRecord>(object, id, fields, { signal: opts.signal }));
      } catch (err) {
        if ((err as { status?: number }).status === 404 || (err as { errorCode?: string }).errorCode === 'NOT_FOUND' || (err as { errorCode?: string }).errorCode === 'ENTITY_IS_DELETED') gone.push(id);
        else throw err;
      }
    }
    const when = new Date(h.commitTimestamp).toISOString();
    await opts.store.transaction(async (tx) => {
      if (found.length) await tx.upsert(object, found.map((r) => stripAttributes(r)));
      if (gone.length) await tx.markDeleted(object, gone, when);
      await tx.setCheckpoint(key, null, position);
    }, { signal: opts.signal });
    return found.length + gone.length;
  }
  if (type === 'DELETE') {
    const when = new Date(h.commitTimestamp).toISOString();
    await opts.store.transaction(async (tx) => {
      await tx.markDeleted(object, h.recordIds, when);
      await tx.setCheckpoint(key, null, position);
    }, { signal: opts.signal });
    return h.recordIds.length;
  }
  // CREATE / UPDATE: one event may name several records that took the same change.
  const base = map(ev);
  const records = h.recordIds.map((Id) => ({ ...base, Id }) as SfRecord);
  await opts.store.transaction(async (tx) => {
    await tx.upsert(object, records);
    await tx.setCheckpoint(key, null, position);
  }, { signal: opts.signal });
  return records.length;
}

function stripAttributes(r: SfRecord): SfRecord {
  const { attributes: _a, ...rest } = r as SfRecord & { attributes?: unknown };
  return rest as SfRecord;
}

/**
 * Channels (topics) of the event bus, shared by the Pub/Sub server and CometD: which channel names exist,
 * what they carry, and each stored event rendered as a Pub/Sub ConsumerEvent or a CometD message.
 */
import { createHash } from 'node:crypto';
import type { Org } from '../org.ts';
import type { ObjectDef } from '../schema/types.ts';
import { fromStorage } from '../store/values.ts';
import { changeRecord, encodeReplayId, platformRecord, SchemaCache, type EventSchema } from './avro.ts';
import { ALL_CHANGES_CHANNEL, changeEventName, type BusEvent, type ChangeEventBody, type PlatformEventBody } from './bus.ts';

export interface Topic {
  channel: string;
  kind: 'change' | 'all-changes' | 'platform';
  /** The object (change events) or the event definition (platform events); absent for /data/ChangeEvents. */
  def?: ObjectDef;
}

/** Resolves a channel name (exact casing, as Salesforce requires), or null when the org has no such topic. */
export function resolveTopic(org: Org, channel: string): Topic | null {
  if (channel === ALL_CHANGES_CHANNEL) return { channel, kind: 'all-changes' };
  const data = /^\/data\/(.+)$/.exec(channel);
  if (data) {
    for (const name of org.bus.cdcObjects) {
      if (changeEventName(name) === data[1]) return { channel, kind: 'change', def: org.schema.get(name)! };
    }
    return null;
  }
  const ev = /^\/event\/([A-Za-z][A-Za-z0-9_]*__e)$/.exec(channel);
  if (ev) {
    const def = org.schema.get(ev[1]);
    return def && def.name === ev[1] ? { channel, kind: 'platform', def } : null;
  }
  return null;
}

const caches = new WeakMap<Org, SchemaCache>();

/** The org's generated event schemas (by id and latest per object). */
export function schemas(org: Org): SchemaCache {
  let c = caches.get(org);
  if (!c) {
    c = new SchemaCache();
    caches.set(org, c);
  }
  return c;
}

/** The current schema of a topic (empty for /data/ChangeEvents, whose events each name their own). */
export function topicSchema(org: Org, topic: Topic): EventSchema | null {
  if (topic.kind === 'change') return schemas(org).changeSchema(topic.def!);
  if (topic.kind === 'platform') return schemas(org).platformSchema(topic.def!);
  return null;
}

/** A stable UUID-shaped event id for events that did not bring their own (change events). */
function eventUuid(org: Org, replayId: number): string {
  const h = createHash('sha256').update(`${org.orgId}:${replayId}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export interface WireEvent {
  event: { id: string; schemaId: string; payload: Buffer; headers: [] };
  replayId: Buffer;
}

/** A stored event as a Pub/Sub ConsumerEvent (Avro payload of the latest schema). */
export function toConsumerEvent(org: Org, ev: BusEvent): WireEvent {
  const body = ev.body;
  if (body.kind === 'change') {
    const def = org.schema.get(body.header.entityName)!;
    const schema = schemas(org).changeSchema(def);
    return { event: { id: eventUuid(org, ev.replayId), schemaId: schema.id, payload: schema.type.toBuffer(changeRecord(schema, body)), headers: [] }, replayId: encodeReplayId(ev.replayId) };
  }
  if (body.payload !== undefined) {
    return { event: { id: body.uuid, schemaId: body.schemaId ?? '', payload: Buffer.from(body.payload, 'base64'), headers: [] }, replayId: encodeReplayId(ev.replayId) };
  }
  const schema = schemas(org).platformSchema(org.schema.get(body.entity)!);
  return { event: { id: body.uuid, schemaId: schema.id, payload: schema.type.toBuffer(platformRecord(schema, body)), headers: [] }, replayId: encodeReplayId(ev.replayId) };
}

/** CometD dates: `2024-03-05T17:38:40.000Z`. */
function cometValue(def: ObjectDef, name: string, v: unknown): unknown {
  const f = def.fields.find((x) => x.name === name);
  if (!f) return v;
  if (f.type === 'datetime' && typeof v === 'number') return new Date(v).toISOString();
  return fromStorage(f, v as never);
}

/** Compound components leave CometD nested under their compound field, as `BillingAddress.City` in lists. */
function cometFieldName(def: ObjectDef, name: string): string {
  const f = def.fields.find((x) => x.name === name);
  if (!f?.compoundFieldName) return name;
  const compound = def.fields.find((x) => x.name === f.compoundFieldName);
  if (compound?.type === 'address') return `${compound.name}.${name.slice(compound.name.length - 'Address'.length)}`;
  if (compound?.type === 'location') return `${compound.name}.${/Latitude/.test(name) ? 'Latitude' : 'Longitude'}`;
  return name;
}

/** A stored event as a CometD message `data` (JSON payload with only the carried fields). */
export function toCometData(org: Org, ev: BusEvent): Record<string, unknown> {
  const body = ev.body;
  if (body.kind === 'change') return cometChange(org, ev, body);
  return cometPlatform(org, ev, body);
}

function cometChange(org: Org, ev: BusEvent, body: ChangeEventBody): Record<string, unknown> {
  const def = org.schema.get(body.header.entityName)!;
  const schema = schemas(org).changeSchema(def);
  const h = body.header;
  const payload: Record<string, unknown> = {
    ChangeEventHeader: {
      entityName: h.entityName, recordIds: h.recordIds, changeType: h.changeType,
      changedFields: h.changedFields.map((n) => cometFieldName(def, n)),
      changeOrigin: h.changeOrigin, transactionKey: h.transactionKey, sequenceNumber: h.sequenceNumber,
      commitTimestamp: h.commitTimestamp, commitNumber: h.commitNumber, commitUser: h.commitUser,
    },
  };
  const nulled = new Set(h.nulledFields);
  for (const name of [...Object.keys(body.fields), ...nulled]) {
    const value = nulled.has(name) ? null : cometValue(def, name, body.fields[name]);
    const path = cometFieldName(def, name).split('.');
    if (path.length === 1) payload[name] = value;
    else ((payload[path[0]] ??= {}) as Record<string, unknown>)[path[1]] = value;
  }
  return { schema: schema.id, payload, event: { replayId: ev.replayId } };
}

function cometPlatform(org: Org, ev: BusEvent, body: PlatformEventBody): Record<string, unknown> {
  const def = org.schema.get(body.entity)!;
  const schema = schemas(org).platformSchema(def);
  let fields: Record<string, unknown> = {};
  if (body.fields) {
    for (const [k, v] of Object.entries(body.fields)) if (k !== 'EventUuid') fields[k] = cometValue(def, k, v);
  } else if (body.payload !== undefined) {
    // Published over Pub/Sub: decode with the schema it was published with (if it is one of ours).
    const used = schemas(org).byId(body.schemaId ?? '') ?? schema;
    try {
      const rec = used.type.fromBuffer(Buffer.from(body.payload, 'base64')) as Record<string, unknown>;
      for (const [k, v] of Object.entries(rec)) {
        if (k === 'EventUuid') continue;
        fields[k] = k === 'CreatedDate' && typeof v === 'number' ? new Date(v).toISOString() : v;
      }
    } catch {
      fields = {};
    }
  }
  return { schema: schema.id, payload: fields, event: { replayId: ev.replayId, EventUuid: body.uuid } };
}

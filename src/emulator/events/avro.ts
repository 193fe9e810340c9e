/**
 * Avro for the Pub/Sub API: event schemas generated from the object's current describe, schema ids, and the
 * binary payloads of stored events, with the CDC field-list bitmaps (`changedFields`, `nulledFields`,
 * `diffFields`) encoded over the schema's top-level field positions.
 *
 * Schema shape (reference §6.6): a change event is `ChangeEventHeader` then every field of the object as a
 * nullable union, compound fields (addresses, geolocations) as nested records with capitalised component
 * names; datetimes are epoch-millisecond longs, dates Avro `date` ints (days since the epoch). A platform
 * event is `CreatedDate` (long), `CreatedById` (string), `EventUuid` and its custom fields; no header.
 */
import { createHash } from 'node:crypto';
import avro from 'avsc';
import { isChangeEventField } from '../schema/objects/change-events.ts';
import type { FieldDef, ObjectDef } from '../schema/types.ts';
import { isStored, type SqlValue } from '../store/values.ts';
import { changeEventName, type ChangeEventBody, type PlatformEventBody } from './bus.ts';

const HEADER_SCHEMA = {
  type: 'record', name: 'ChangeEventHeader', fields: [
    { name: 'entityName', type: 'string' },
    { name: 'recordIds', type: { type: 'array', items: 'string' } },
    { name: 'changeType', type: { type: 'enum', name: 'ChangeType', symbols: ['CREATE', 'UPDATE', 'DELETE', 'UNDELETE', 'GAP_CREATE', 'GAP_UPDATE', 'GAP_DELETE', 'GAP_UNDELETE', 'GAP_OVERFLOW', 'SNAPSHOT'] } },
    { name: 'changeOrigin', type: 'string' },
    { name: 'transactionKey', type: 'string' },
    { name: 'sequenceNumber', type: 'int' },
    { name: 'commitTimestamp', type: 'long' },
    { name: 'commitNumber', type: 'long' },
    { name: 'commitUser', type: 'string' },
    { name: 'nulledFields', type: { type: 'array', items: 'string' } },
    { name: 'diffFields', type: { type: 'array', items: 'string' } },
    { name: 'changedFields', type: { type: 'array', items: 'string' } },
  ],
};

/** One top-level field of an event schema: a scalar over one stored field, or a compound over several. */
interface Slot {
  name: string;
  /** Stored field names: one for a scalar; the components (in nested order) for a compound. */
  stored: FieldDef[];
  /** Avro names of the components (compound only). */
  parts?: string[];
  compound: boolean;
}

/** A generated schema with what encoding needs. */
export interface EventSchema {
  id: string;
  json: string;
  type: avro.Type;
  /** Top-level slots after the header (change events) or all of them (platform events). */
  slots: Slot[];
  /** Stored field name → [top-level position, nested position or -1]. */
  positions: Map<string, [number, number]>;
  /** Top-level position of `slots[0]`. */
  offset: number;
}

function avroType(f: FieldDef): unknown {
  switch (f.type) {
    case 'boolean': return 'boolean';
    case 'int': return 'int';
    case 'long': return 'long';
    case 'double': case 'currency': case 'percent': return 'double';
    case 'datetime': return 'long';
    case 'date': return { type: 'int', logicalType: 'date' };
    default: return 'string';
  }
}

function componentName(compound: FieldDef, comp: FieldDef): string {
  if (compound.type === 'address') return comp.name.slice(compound.name.length - 'Address'.length);
  if (compound.type === 'location') return /Latitude/.test(comp.name) ? 'Latitude' : 'Longitude';
  return comp.name;
}

/** The top-level slots of an object's change event, in describe order. */
function changeSlots(def: ObjectDef): Slot[] {
  const compounds = new Set(def.fields.map((f) => f.compoundFieldName).filter(Boolean));
  const slots: Slot[] = [];
  for (const f of def.fields) {
    if (!isChangeEventField(f)) continue;
    if (f.compoundFieldName && compounds.has(f.compoundFieldName) && def.fields.some((c) => c.name === f.compoundFieldName)) continue;
    if (compounds.has(f.name)) {
      const comps = def.fields.filter((c) => c.compoundFieldName === f.name && isStored(c) && isChangeEventField(c));
      slots.push({ name: f.name, stored: comps, parts: comps.map((c) => componentName(f, c)), compound: true });
    } else if (isStored(f)) {
      slots.push({ name: f.name, stored: [f], compound: false });
    }
  }
  return slots;
}

function slotSchema(slot: Slot, recordName: string): unknown {
  if (!slot.compound) return { name: slot.name, type: ['null', avroType(slot.stored[0])], default: null };
  return {
    name: slot.name,
    type: ['null', { type: 'record', name: recordName, fields: slot.stored.map((c, i) => ({ name: slot.parts![i], type: ['null', avroType(c)], default: null })) }],
    default: null,
  };
}

function build(schema: Record<string, unknown>, slots: Slot[], offset: number): EventSchema {
  const json = JSON.stringify(schema);
  const id = createHash('sha256').update(json).digest('base64url').slice(0, 22);
  const positions = new Map<string, [number, number]>();
  slots.forEach((s, i) => s.stored.forEach((f, j) => positions.set(f.name, [i + offset, s.compound ? j : -1])));
  return { id, json, type: avro.Type.forSchema(schema as avro.Schema), slots, positions, offset };
}

/** Generated schemas by id, and the latest per object; regenerated when the object's fields change. */
export class SchemaCache {
  readonly #byId = new Map<string, EventSchema>();
  readonly #latest = new Map<string, { fields: FieldDef[]; schema: EventSchema }>();

  /** The change-event schema of an object (`AccountChangeEvent`). */
  changeSchema(def: ObjectDef): EventSchema {
    return this.#cached(`change:${def.name}`, def, () => {
      const slots = changeSlots(def);
      const compoundNames = new Map<string, number>();
      const fields = slots.map((s) => {
        if (!s.compound) return slotSchema(s, '');
        // Record names must be unique in a schema: Address, Address2 … (Salesforce names them Address too).
        const base = s.stored[0] && def.fields.find((f) => f.name === s.name)?.type === 'address' ? 'Address' : s.name.replace(/__c$/, '').replace(/[^A-Za-z0-9_]/g, '_');
        const n = (compoundNames.get(base) ?? 0) + 1;
        compoundNames.set(base, n);
        return slotSchema(s, n === 1 ? base : `${base}${n}`);
      });
      return build({ type: 'record', name: changeEventName(def.name), namespace: 'com.sforce.eventbus', fields: [{ name: 'ChangeEventHeader', type: HEADER_SCHEMA }, ...fields] }, slots, 1);
    });
  }

  /** The schema of a platform event (`Order_Placed__e`). */
  platformSchema(def: ObjectDef): EventSchema {
    return this.#cached(`platform:${def.name}`, def, () => {
      const custom = def.fields.filter((f) => f.custom && isStored(f));
      const slots: Slot[] = custom.map((f) => ({ name: f.name, stored: [f], compound: false }));
      const fields = [
        { name: 'CreatedDate', type: 'long', doc: 'CreatedDate:DateTime' },
        { name: 'CreatedById', type: 'string', doc: 'CreatedBy:EntityId' },
        { name: 'EventUuid', type: ['null', 'string'], default: null },
        ...slots.map((s) => slotSchema(s, '')),
      ];
      return build({ type: 'record', name: def.name, namespace: 'com.sforce.eventbus', fields }, slots, 3);
    });
  }

  byId(id: string): EventSchema | undefined {
    return this.#byId.get(id);
  }

  #cached(key: string, def: ObjectDef, make: () => EventSchema): EventSchema {
    const hit = this.#latest.get(key);
    if (hit && hit.fields === def.fields) return hit.schema;
    const schema = make();
    this.#byId.set(schema.id, schema);
    this.#latest.set(key, { fields: def.fields, schema });
    return schema;
  }
}

function avroValue(f: FieldDef, v: SqlValue | undefined): unknown {
  if (v === null || v === undefined) return null;
  switch (f.type) {
    case 'boolean': return v === 1 || v === '1' || v === true as unknown;
    case 'int': return Number(v);
    case 'long': case 'datetime': return Number(v);
    case 'double': case 'currency': case 'percent': return Number(v);
    case 'date': return Math.round(Date.parse(`${String(v)}T00:00:00Z`) / 86_400_000);
    default: return String(v);
  }
}

/**
 * Encodes a field-name list as Pub/Sub bitmaps: `0x…` over top-level positions (bit 0 = header), then
 * `{pos}-0x…` per compound for its components. A compound whose components are all listed in `nulledFields`
 * is named by its top-level bit alone.
 */
export function fieldBitmaps(schema: EventSchema, names: string[], parentWhenAll = false): string[] {
  let top = 0n;
  const nested = new Map<number, bigint>();
  for (const n of names) {
    const pos = schema.positions.get(n);
    if (!pos) continue;
    const [i, j] = pos;
    if (j < 0) top |= 1n << BigInt(i);
    else nested.set(i, (nested.get(i) ?? 0n) | (1n << BigInt(j)));
  }
  const out: string[] = [];
  const subs: string[] = [];
  for (const [i, bits] of [...nested].sort((a, b) => a[0] - b[0])) {
    const slot = schema.slots[i - schema.offset];
    const all = slot && bits === (1n << BigInt(slot.stored.length)) - 1n;
    if (parentWhenAll && all) top |= 1n << BigInt(i);
    else subs.push(`${i}-0x${bits.toString(16).toUpperCase()}`);
  }
  if (top !== 0n) out.push(`0x${top.toString(16).toUpperCase()}`);
  return [...out, ...subs];
}

/** The Avro record of a stored change event (every field present; unchanged ones null). */
export function changeRecord(schema: EventSchema, body: ChangeEventBody): Record<string, unknown> {
  const h = body.header;
  const rec: Record<string, unknown> = {
    ChangeEventHeader: {
      entityName: h.entityName, recordIds: h.recordIds, changeType: h.changeType, changeOrigin: h.changeOrigin,
      transactionKey: h.transactionKey, sequenceNumber: h.sequenceNumber, commitTimestamp: h.commitTimestamp,
      commitNumber: h.commitNumber, commitUser: h.commitUser,
      nulledFields: fieldBitmaps(schema, h.nulledFields, true),
      diffFields: fieldBitmaps(schema, h.diffFields),
      changedFields: fieldBitmaps(schema, h.changedFields),
    },
  };
  for (const s of schema.slots) {
    if (!s.compound) {
      rec[s.name] = avroValue(s.stored[0], body.fields[s.stored[0].name]);
      continue;
    }
    const parts: Record<string, unknown> = {};
    let any = false;
    s.stored.forEach((c, i) => {
      const v = avroValue(c, body.fields[c.name]);
      if (v !== null) any = true;
      parts[s.parts![i]] = v;
    });
    rec[s.name] = any ? parts : null;
  }
  return rec;
}

/** The Avro record of a platform event published with fields. */
export function platformRecord(schema: EventSchema, body: PlatformEventBody): Record<string, unknown> {
  const f = body.fields ?? {};
  const rec: Record<string, unknown> = { CreatedDate: Number(f.CreatedDate ?? 0), CreatedById: String(f.CreatedById ?? ''), EventUuid: body.uuid };
  for (const s of schema.slots) rec[s.name] = avroValue(s.stored[0], f[s.stored[0].name]);
  return rec;
}

/** 8-byte big-endian replay id, as the Pub/Sub API sends it. */
export function encodeReplayId(id: number): Buffer {
  const buf = Buffer.alloc(8);
  buf.writeBigUInt64BE(BigInt(id));
  return buf;
}

/** The replay id in 8 bytes, or null when the bytes are not one. */
export function decodeReplayId(buf: Uint8Array | undefined | null): number | null {
  if (!buf || buf.length !== 8) return null;
  const n = Buffer.from(buf).readBigUInt64BE();
  return n > BigInt(Number.MAX_SAFE_INTEGER) ? null : Number(n);
}

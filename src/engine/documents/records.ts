/**
 * Reading records in the two shapes the engine hands over: REST query JSON (relationship objects nested,
 * `attributes` on every level) and Bulk API 2.0 CSV rows (dotted keys such as `Owner.Name`, every value a
 * string, `''` meaning null). Everything here is pure.
 */
import { parseSfDate } from '../../client/datetime.ts';
import type { JsonValue } from '../../store/types.ts';

/** A record in either shape. */
export type AnyRecord = Readonly<Record<string, unknown>>;

/** Salesforce Ids, 15 or 18 characters; anything else never reaches a SOQL literal. */
export const ID_PATTERN = /^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$/;

/** Lower-cased key → actual key, built once per record object on its first miss. */
const lowerKeys = new WeakMap<object, Map<string, string>>();

function own(rec: AnyRecord, key: string): unknown {
  if (Object.hasOwn(rec, key)) return rec[key];
  // Field names are case-insensitive in SOQL; a caller may have selected `owner.name`.
  let keys = lowerKeys.get(rec);
  if (!keys) {
    keys = new Map();
    for (const k of Object.keys(rec)) keys.set(k.toLowerCase(), k);
    lowerKeys.set(rec, keys);
  }
  const k = keys.get(key.toLowerCase());
  return k === undefined ? undefined : rec[k];
}

/**
 * The value at a field path (`Description`, `Owner.Name`): a dotted CSV key first, then nested objects.
 * `''` and `undefined` become null so both record shapes read the same.
 */
export function fieldValue(rec: AnyRecord, path: string): unknown {
  let v = own(rec, path);
  if (v === undefined && path.includes('.')) {
    let cur: unknown = rec;
    for (const part of path.split('.')) {
      if (cur === null || typeof cur !== 'object') {
        cur = undefined;
        break;
      }
      cur = own(cur as AnyRecord, part);
    }
    v = cur;
  }
  return v === undefined || v === '' ? null : v;
}

/** True for `true` and the CSV string `"true"`. */
export function isTrue(v: unknown): boolean {
  return v === true || (typeof v === 'string' && v.toLowerCase() === 'true');
}

/** A value as display text: '' for null, addresses joined, booleans as `true`/`false`. */
export function toText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v.trim();
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'object' && !Array.isArray(v)) {
    const a = v as Record<string, unknown>;
    if ('street' in a || 'city' in a || 'postalCode' in a || 'country' in a) {
      return formatAddress({ street: a.street, city: a.city, state: a.state, postalCode: a.postalCode, country: a.country });
    }
  }
  return '';
}

/** `street, city, state postalCode, country` without empty parts. */
export function formatAddress(parts: { street?: unknown; city?: unknown; state?: unknown; postalCode?: unknown; country?: unknown }): string {
  const s = (x: unknown) => toText(x);
  const region = [s(parts.state), s(parts.postalCode)].filter(Boolean).join(' ');
  return [s(parts.street), s(parts.city), region, s(parts.country)].filter(Boolean).join(', ');
}

/**
 * A compound address (`BillingAddress`) as text, from the compound object (REST) or its component fields
 * (`BillingStreet`, `BillingCity`, … — what Bulk CSV and component-wise SELECTs return).
 */
export function addressText(rec: AnyRecord, compoundField: string): string {
  const compound = fieldValue(rec, compoundField);
  if (compound && typeof compound === 'object') return toText(compound);
  const prefix = compoundField.replace(/Address$/, '');
  return formatAddress({
    street: fieldValue(rec, `${prefix}Street`),
    city: fieldValue(rec, `${prefix}City`),
    state: fieldValue(rec, `${prefix}State`),
    postalCode: fieldValue(rec, `${prefix}PostalCode`),
    country: fieldValue(rec, `${prefix}Country`),
  });
}

/**
 * A Salesforce datetime or date as ISO 8601 UTC (`2024-03-05T17:38:40.000Z`), or null when absent or
 * unreadable. Accepts REST's `+0000` offsets and Bulk's `Z`.
 */
export function toIsoUtc(v: unknown): string | null {
  if (typeof v !== 'string' || v === '') return null;
  const s = v.trim();
  const ms = /^\d{4}-\d{2}-\d{2}$/.test(s) ? Date.parse(`${s}T00:00:00Z`) : parseSfDate(s);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', '#39': "'" };

/** Rich text (Chatter bodies, rich text areas) as plain text: block tags become line breaks, entities decoded. */
export function htmlToText(html: string): string {
  return html
    .replace(/<\s*(br|\/p|\/div|\/li|\/h[1-6])\s*\/?>/gi, '\n')
    .replace(/<[^>]*>/g, '')
    .replace(/&(#\d+|#x[0-9a-f]+|[a-z]+|#39);/gi, (m, e: string) => {
      if (e[0] === '#') {
        const code = e[1] === 'x' || e[1] === 'X' ? Number.parseInt(e.slice(2), 16) : Number.parseInt(e.slice(1), 10);
        return Number.isFinite(code) && code > 0 && code < 0x110000 ? String.fromCodePoint(code) : m;
      }
      return ENTITIES[e.toLowerCase()] ?? m;
    })
    .replace(/[ \t]+\n/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** Cuts text to `max` characters with an ellipsis. */
export function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** A record as JSON without `attributes` on any level; `undefined` values dropped. */
export function stripAttributes(v: unknown): JsonValue {
  if (v === null || v === undefined) return null;
  if (Array.isArray(v)) return v.map(stripAttributes);
  if (typeof v === 'object') {
    const out: Record<string, JsonValue> = {};
    for (const [k, x] of Object.entries(v)) if (k !== 'attributes' && x !== undefined) out[k] = stripAttributes(x);
    return out;
  }
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  return String(v);
}

/**
 * Backend-neutral value handling: identifier validation, describe type → storage kind, and conversion of
 * Salesforce JSON values to a canonical form (and back). Backends only map canonical values to their
 * driver's parameter types and their column output back to canonical.
 *
 * Canonical forms (chosen so that text comparison orders them correctly where a backend stores text):
 * - datetime: `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC, always millis), so ISO text sorts chronologically;
 * - date: `YYYY-MM-DD`; time: `HH:MM:SS.mmm`;
 * - decimal: a decimal string (kept as text so Postgres `numeric` stores exactly what arrived);
 * - json: JSON text.
 */
import { StoreValueError } from './types.ts';
import type { FieldSpec } from './types.ts';

/** Salesforce API names are letters, digits and underscores, starting with a letter. */
const IDENT_RE = /^[A-Za-z][A-Za-z0-9_]*$/;

/** Throws unless `name` is a plausible Salesforce API name that fits the backend's identifier limit. */
export function assertIdentifier(kind: 'object' | 'field', name: string, maxLength: number): void {
  if (typeof name !== 'string' || !IDENT_RE.test(name)) {
    throw new TypeError(`Invalid ${kind} name ${JSON.stringify(name)}: expected [A-Za-z][A-Za-z0-9_]*`);
  }
  // Postgres silently truncates long identifiers, which could merge two fields into one column.
  if (name.length > maxLength) throw new TypeError(`Invalid ${kind} name ${name}: longer than ${maxLength} characters`);
}

/** How a field is stored, independent of backend. */
export type StorageKind = 'text' | 'boolean' | 'integer' | 'bigint' | 'decimal' | 'date' | 'datetime' | 'time' | 'json';

/** Storage kind for a describe type. Unknown types become JSON, which round-trips any value. */
export function storageKind(type: string): StorageKind {
  switch (type) {
    case 'id':
    case 'string':
    case 'textarea':
    case 'picklist':
    case 'multipicklist':
    case 'combobox':
    case 'reference':
    case 'email':
    case 'phone':
    case 'url':
    case 'encryptedstring':
    case 'base64':
      return 'text';
    case 'boolean':
      return 'boolean';
    case 'int':
      return 'integer';
    case 'long':
      return 'bigint';
    case 'double':
    case 'currency':
    case 'percent':
      return 'decimal';
    case 'date':
      return 'date';
    case 'datetime':
      return 'datetime';
    case 'time':
      return 'time';
    default:
      return 'json';
  }
}

/** Canonical value of a column (see module doc). */
export type Canonical = string | number | boolean | null;

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME_RE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/;
const TIME_RE = /^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?Z?$/;
const DECIMAL_RE = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const INTEGER_RE = /^[+-]?\d+$/;

/** Parses a Salesforce datetime (`…+0000`, `…Z`, `…+hh:mm`, with or without millis) to epoch ms. */
export function parseDateTime(s: string): number | undefined {
  const m = DATETIME_RE.exec(s);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, sec = '0', frac = '0', zone = 'Z'] = m;
  const ms = Date.UTC(+y, +mo - 1, +d, +h, +mi, +sec, Number(frac.padEnd(3, '0').slice(0, 3)));
  const check = new Date(ms);
  // Date.UTC rolls 2024-02-30 over to March; reject instead of storing a different day.
  if (check.getUTCDate() !== +d || check.getUTCMonth() !== +mo - 1 || +h > 23 || +mi > 59 || +sec > 59) return undefined;
  let offset = 0;
  if (zone !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '').padEnd(4, '0');
    offset = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4))) * 60_000;
  }
  return ms - offset;
}

const CANONICAL_DATETIME_RE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|\+0000)$/;

function twoDigits(s: string, i: number): number {
  return (s.charCodeAt(i) - 48) * 10 + (s.charCodeAt(i + 1) - 48);
}

/**
 * The common case without Date arithmetic: a value already canonical (Bulk CSV) or canonical with REST's
 * `+0000`. Field ranges are checked by hand (Date.parse would roll 02-30 over to March). Anything else,
 * including years before 1000, goes through the general parser.
 */
function canonicalDateTime(s: string): string | undefined {
  if ((s.length !== 24 && s.length !== 28) || !CANONICAL_DATETIME_RE.test(s)) return undefined;
  const year = twoDigits(s, 0) * 100 + twoDigits(s, 2);
  const month = twoDigits(s, 5);
  const day = twoDigits(s, 8);
  if (year < 1000 || month < 1 || month > 12 || day < 1 || twoDigits(s, 11) > 23 || twoDigits(s, 14) > 59 || twoDigits(s, 17) > 59) return undefined;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = month === 2 ? (leap ? 29 : 28) : month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
  if (day > days) return undefined;
  return s.length === 24 ? s : `${s.slice(0, 23)}Z`;
}

/** Normalises a datetime string to canonical ISO UTC with millis, or undefined when malformed. */
export function normalizeDateTime(s: string): string | undefined {
  const fast = canonicalDateTime(s);
  if (fast !== undefined) return fast;
  const ms = parseDateTime(s);
  if (ms === undefined) return undefined;
  const iso = new Date(ms).toISOString();
  // toISOString switches to ±YYYYYY outside 0000–9999, which would break text ordering.
  return iso.length === 24 ? iso : undefined;
}

/** Converts a datetime to `Date`-compatible ISO UTC with millis; accepts Date objects. */
export function toIsoUtc(value: string | Date, what: string): string {
  const out = value instanceof Date ? (Number.isNaN(value.getTime()) ? undefined : value.toISOString()) : normalizeDateTime(value);
  if (out === undefined) throw new TypeError(`${what}: invalid datetime ${JSON.stringify(value)}`);
  return out;
}

function isValidDate(s: string): boolean {
  const m = DATE_RE.exec(s);
  if (!m) return false;
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  return d.getUTCFullYear() === +m[1] && d.getUTCMonth() === +m[2] - 1 && d.getUTCDate() === +m[3];
}

/** Where a value came from, for error messages. */
export interface ValueContext {
  object: string;
  field: FieldSpec;
  recordId: string | undefined;
}

function fail(ctx: ValueContext, value: unknown, expected: string): never {
  const shown = typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value) ?? String(value);
  throw new StoreValueError(ctx.object, ctx.field.name, ctx.recordId, `cannot store ${shown} as ${ctx.field.type} (${expected})`);
}

/**
 * Converts an incoming value to canonical form. `""` becomes null for every type, as Salesforce does not
 * store empty strings. Malformed values throw rather than being stored as something else.
 */
export function toCanonical(kind: StorageKind, value: unknown, ctx: ValueContext): Canonical {
  if (value === null || value === undefined || value === '') return null;
  switch (kind) {
    case 'text':
      if (typeof value === 'string') return value;
      if (typeof value === 'number' || typeof value === 'boolean') return String(value);
      return fail(ctx, value, 'text');
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
      if (value === 0 || value === 1) return value === 1;
      return fail(ctx, value, 'true or false');
    case 'integer':
    case 'bigint': {
      const n = typeof value === 'number' ? value : typeof value === 'string' && INTEGER_RE.test(value) ? Number(value) : NaN;
      // Beyond 2^53 the number is no longer the one Salesforce sent; refuse rather than store a neighbour.
      if (!Number.isSafeInteger(n)) return fail(ctx, value, 'a safe integer');
      if (kind === 'integer' && (n > 2147483647 || n < -2147483648)) return fail(ctx, value, 'a 32-bit integer');
      return n;
    }
    case 'decimal':
      if (typeof value === 'number' && Number.isFinite(value)) return String(value);
      if (typeof value === 'string' && DECIMAL_RE.test(value)) return value;
      return fail(ctx, value, 'a finite number');
    case 'date':
      if (typeof value === 'string' && isValidDate(value)) return value;
      return fail(ctx, value, 'YYYY-MM-DD');
    case 'datetime': {
      // Pub/Sub (Avro) carries datetimes as epoch milliseconds.
      const out = typeof value === 'number' ? toIsoUtcSafe(value) : typeof value === 'string' ? normalizeDateTime(value) : undefined;
      return out ?? fail(ctx, value, 'an ISO 8601 datetime');
    }
    case 'time': {
      if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < 86_400_000) {
        return new Date(value).toISOString().slice(11, 23);
      }
      const m = typeof value === 'string' ? TIME_RE.exec(value) : null;
      if (!m || +m[1] > 23 || +m[2] > 59 || +(m[3] ?? 0) > 59) return fail(ctx, value, 'HH:MM:SS.mmmZ');
      return `${m[1]}:${m[2]}:${m[3] ?? '00'}.${(m[4] ?? '0').padEnd(3, '0').slice(0, 3)}`;
    }
    case 'json':
      if (typeof value === 'number' && !Number.isFinite(value)) return fail(ctx, value, 'JSON');
      return JSON.stringify(value);
  }
}

function toIsoUtcSafe(ms: number): string | undefined {
  if (!Number.isFinite(ms)) return undefined;
  const iso = new Date(ms).toISOString();
  return iso.length === 24 ? iso : undefined;
}

/** Converts a canonical value back to the REST JSON form Salesforce would send. */
export function fromCanonical(kind: StorageKind, value: Canonical): unknown {
  if (value === null) return null;
  switch (kind) {
    case 'decimal':
      return Number(value);
    case 'datetime':
      // REST writes the offset as +0000.
      return String(value).replace('Z', '+0000');
    case 'time':
      return `${String(value)}Z`;
    case 'json':
      return JSON.parse(String(value));
    default:
      return value;
  }
}

/** Splits a list into chunks of at most `size` items. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Turns free text into search phrases: each whitespace-separated word becomes the list of its letter/digit
 * tokens (the way both FTS5 `unicode61` and Postgres `simple` split text). Everything else, including
 * every search operator character, is dropped, so user input can never be parsed as query syntax.
 */
export function searchPhrases(query: string): string[][] {
  const phrases: string[][] = [];
  for (const word of query.split(/\s+/)) {
    const tokens = word.match(/[\p{L}\p{N}]+/gu);
    if (tokens && tokens.length > 0) phrases.push(tokens.map((t) => t.toLowerCase()));
  }
  return phrases;
}

/**
 * Conversions between API values (JSON as Salesforce sends and accepts it) and SQLite storage.
 * Datetimes are stored as epoch milliseconds so range filters and ORDER BY are index-friendly and exact;
 * they leave as `2024-03-05T17:38:40.000+0000` (REST) or `…Z` (Bulk CSV).
 */
import { SfError } from '../errors.ts';
import type { FieldDef, FieldType } from '../schema/types.ts';

export type SqlValue = string | number | bigint | null | Uint8Array;

/** SQLite column affinity per field type; compound and formula fields have no column. */
export function columnType(type: FieldType): 'TEXT' | 'INTEGER' | 'REAL' | 'BLOB' | null {
  switch (type) {
    case 'address':
    case 'location':
      return null;
    case 'boolean':
    case 'int':
    case 'datetime':
    case 'long':
      return 'INTEGER';
    case 'double':
    case 'currency':
    case 'percent':
      return 'REAL';
    case 'base64':
      return 'TEXT';
    default:
      return 'TEXT';
  }
}

/** True when the field has its own column (not compound, not computed on read). */
export function isStored(f: FieldDef): boolean {
  return columnType(f.type) !== null && !f.formula;
}

/** Formats an epoch-ms instant the way REST JSON does. */
export function formatDateTime(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '+0000');
}

/** Formats an epoch-ms instant the way Bulk API 2.0 CSV does. */
export function formatDateTimeZ(ms: number): string {
  return new Date(ms).toISOString();
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?$/;
const TIME_RE = /^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?Z?$/;

/** Parses an API dateTime string (with `Z`, `+hh:mm` or `+hhmm`) to epoch ms, or undefined if malformed. */
export function parseDateTime(s: string): number | undefined {
  const m = DATETIME_RE.exec(s);
  if (!m) {
    // A bare date is accepted for dateTime fields and means midnight GMT.
    const d = DATE_RE.exec(s);
    return d ? Date.UTC(+d[1], +d[2] - 1, +d[3]) : undefined;
  }
  const [, y, mo, d, h, mi, sec = '0', frac = '0', zone = 'Z'] = m;
  let ms = Date.UTC(+y, +mo - 1, +d, +h, +mi, +sec, Math.floor(+frac.padEnd(3, '0').slice(0, 3)));
  if (zone !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    ms -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4))) * 60_000;
  }
  return Number.isFinite(ms) ? ms : undefined;
}

export function isValidDate(s: string): boolean {
  const m = DATE_RE.exec(s);
  if (!m) return false;
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  return d.getUTCFullYear() === +m[1] && d.getUTCMonth() === +m[2] - 1 && d.getUTCDate() === +m[3];
}

function badValue(f: FieldDef, value: unknown, expected: string): SfError {
  const shown = typeof value === 'string' ? value : JSON.stringify(value);
  return new SfError(400, 'JSON_PARSER_ERROR', `Cannot deserialize instance of ${expected} from VALUE_STRING value ${shown} or request may be missing a required field`, [f.name]);
}

/**
 * Converts one API input value for a field to its stored form, validating type and length the way DML does.
 * Throws an SfError with the errorCode Salesforce uses (INVALID_TYPE_ON_FIELD_IN_RECORD, STRING_TOO_LONG …).
 */
export function toStorage(f: FieldDef, value: unknown): SqlValue {
  if (value === null || value === undefined) return null;
  switch (f.type) {
    case 'boolean':
      if (typeof value === 'boolean') return value ? 1 : 0;
      if (value === 'true' || value === 'false') return value === 'true' ? 1 : 0;
      throw badValue(f, value, 'boolean');
    case 'int':
    case 'long': {
      const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
      if (!Number.isFinite(n)) throw badValue(f, value, 'int');
      return Math.trunc(n);
    }
    case 'double':
    case 'currency':
    case 'percent': {
      const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
      if (!Number.isFinite(n)) throw badValue(f, value, 'double');
      const intDigits = (f.precision ?? 18) - (f.scale ?? 0);
      if (Math.abs(Math.trunc(n)).toString().length > intDigits) {
        throw new SfError(400, 'NUMBER_OUTSIDE_VALID_RANGE', `${f.label ?? f.name}: value outside of valid range on numeric field: ${n}`, [f.name]);
      }
      return n;
    }
    case 'datetime': {
      if (typeof value === 'number') return value;
      const ms = typeof value === 'string' ? parseDateTime(value) : undefined;
      if (ms === undefined) throw new SfError(400, 'INVALID_TYPE_ON_FIELD_IN_RECORD', `${f.label ?? f.name}: value not of required type: ${String(value)}`, [f.name]);
      return ms;
    }
    case 'date': {
      if (typeof value === 'string') {
        const d = value.length > 10 && parseDateTime(value) !== undefined ? value.slice(0, 10) : value;
        if (isValidDate(d)) return d;
      }
      throw new SfError(400, 'INVALID_TYPE_ON_FIELD_IN_RECORD', `${f.label ?? f.name}: value not of required type: ${String(value)}`, [f.name]);
    }
    case 'time': {
      if (typeof value === 'string' && TIME_RE.test(value)) {
        const m = TIME_RE.exec(value)!;
        return `${m[1]}:${m[2]}:${m[3] ?? '00'}.${(m[4] ?? '000').padEnd(3, '0')}Z`;
      }
      throw new SfError(400, 'INVALID_TYPE_ON_FIELD_IN_RECORD', `${f.label ?? f.name}: value not of required type: ${String(value)}`, [f.name]);
    }
    case 'multipicklist': {
      const s = Array.isArray(value) ? value.join(';') : String(value);
      return s === '' ? null : s;
    }
    default: {
      if (typeof value === 'object') throw badValue(f, value, 'String');
      const s = String(value);
      // Salesforce stores no empty strings: "" reads back as null.
      if (s === '') return null;
      if (f.length && f.type !== 'reference' && f.type !== 'id' && [...s].length > f.length) {
        throw new SfError(400, 'STRING_TOO_LONG', `${f.label ?? f.name}: data value too large: ${s.length > 80 ? s.slice(0, 80) + '…' : s} (max length=${f.length})`, [f.name]);
      }
      return s;
    }
  }
}

/** Converts a stored value to its REST JSON form. */
export function fromStorage(f: FieldDef | { type: FieldType }, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (f.type) {
    case 'boolean':
      return value === 1 || value === 1n || value === true;
    case 'int':
    case 'long':
      return Number(value);
    case 'double':
    case 'currency':
    case 'percent':
      return Number(value);
    case 'datetime':
      return formatDateTime(Number(value));
    default:
      return value;
  }
}

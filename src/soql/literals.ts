/**
 * SOQL literals. Every value that reaches a query goes through {@link literal}, which escapes strings and
 * formats the other types, so user data cannot change a query's structure.
 */

/** A pre-rendered, trusted SOQL fragment (date literals, date-only values). Only this module creates them. */
export class SoqlLiteral {
  readonly text: string;
  private constructor(text: string) {
    this.text = text;
  }
  /** @internal */
  static of(text: string): SoqlLiteral {
    return new SoqlLiteral(text);
  }
  toString(): string {
    return this.text;
  }
}

/** A value `where` accepts. Arrays become IN lists. */
export type SoqlValue = string | number | bigint | boolean | null | Date | SoqlLiteral;

const ESCAPES: Record<string, string> = { '\\': '\\\\', "'": "\\'", '"': '\\"', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f' };

/** Escapes a string for use inside single quotes (SOQL escape sequences: \\ \' \" \n \r \t \b \f). */
export function escapeString(s: string): string {
  let out = '';
  for (const ch of s) {
    const esc = ESCAPES[ch];
    if (esc) out += esc;
    // SOQL has no escape for other control characters; refuse them rather than guess how they parse.
    else if (ch < ' ' || ch === '\u007f') throw new TypeError(`SOQL strings cannot contain control character U+${ch.codePointAt(0)!.toString(16).padStart(4, '0')}`);
    else out += ch;
  }
  return out;
}

/** Escapes a string for LIKE, so `%` and `_` in the value match literally. Add your own wildcards around it. */
export function escapeLike(s: string): string {
  return escapeString(s).replace(/[%_]/g, (m) => `\\${m}`);
}

/** Wraps a LIKE pattern that was built with {@link escapeLike} and wildcards, so it is not escaped twice. */
export function likePattern(pattern: string): SoqlLiteral {
  if (/(^|[^\\])(\\\\)*'/.test(pattern)) throw new TypeError('likePattern: escape the value with escapeLike() first');
  return SoqlLiteral.of(`'${pattern}'`);
}

/** A date-only literal (`2024-03-05`) from `yyyy-MM-dd` or a Date (its UTC date). */
export function soqlDate(value: string | Date): SoqlLiteral {
  const text = value instanceof Date ? isoDate(value).slice(0, 10) : value;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text) || Number.isNaN(Date.parse(`${text}T00:00:00Z`))) throw new TypeError(`not a date (yyyy-MM-dd): ${JSON.stringify(value)}`);
  return SoqlLiteral.of(text);
}

const DATE_LITERALS = new Set([
  'YESTERDAY', 'TODAY', 'TOMORROW', 'LAST_WEEK', 'THIS_WEEK', 'NEXT_WEEK', 'LAST_MONTH', 'THIS_MONTH', 'NEXT_MONTH',
  'LAST_90_DAYS', 'NEXT_90_DAYS', 'THIS_QUARTER', 'LAST_QUARTER', 'NEXT_QUARTER', 'THIS_YEAR', 'LAST_YEAR', 'NEXT_YEAR',
  'THIS_FISCAL_QUARTER', 'LAST_FISCAL_QUARTER', 'NEXT_FISCAL_QUARTER', 'THIS_FISCAL_YEAR', 'LAST_FISCAL_YEAR', 'NEXT_FISCAL_YEAR',
]);
const DATE_LITERALS_N = new Set([
  'LAST_N_DAYS', 'NEXT_N_DAYS', 'N_DAYS_AGO', 'LAST_N_WEEKS', 'NEXT_N_WEEKS', 'N_WEEKS_AGO', 'LAST_N_MONTHS', 'NEXT_N_MONTHS',
  'N_MONTHS_AGO', 'LAST_N_QUARTERS', 'NEXT_N_QUARTERS', 'N_QUARTERS_AGO', 'LAST_N_YEARS', 'NEXT_N_YEARS', 'N_YEARS_AGO',
  'LAST_N_FISCAL_QUARTERS', 'NEXT_N_FISCAL_QUARTERS', 'N_FISCAL_QUARTERS_AGO', 'LAST_N_FISCAL_YEARS', 'NEXT_N_FISCAL_YEARS', 'N_FISCAL_YEARS_AGO',
]);

/** A relative date literal: `dateLiteral('TODAY')`, `dateLiteral('LAST_N_DAYS', 30)`. */
export function dateLiteral(name: string, n?: number): SoqlLiteral {
  const upper = name.toUpperCase();
  if (DATE_LITERALS.has(upper) && n === undefined) return SoqlLiteral.of(upper);
  if (DATE_LITERALS_N.has(upper) && Number.isSafeInteger(n) && n! >= 0) return SoqlLiteral.of(`${upper}:${n}`);
  throw new TypeError(`unknown date literal ${name}${n === undefined ? '' : `:${n}`} (e.g. TODAY, LAST_N_DAYS with a non-negative integer)`);
}

function isoDate(d: Date): string {
  if (Number.isNaN(d.getTime())) throw new TypeError('invalid Date');
  return d.toISOString();
}

/** Formats a number without exponents (SOQL does not accept `1e21`). */
function formatNumber(n: number): string {
  if (!Number.isFinite(n)) throw new TypeError(`SOQL numbers must be finite, got ${n}`);
  if (Number.isInteger(n)) return Math.abs(n) >= 1e21 ? BigInt(n).toString() : String(n);
  const s = String(n);
  if (!/e/i.test(s)) return s;
  return n.toFixed(20).replace(/0+$/, '').replace(/\.$/, '');
}

/** Renders one value as a SOQL literal. */
export function literal(value: SoqlValue): string {
  if (value === null) return 'null';
  if (value instanceof SoqlLiteral) return value.text;
  if (value instanceof Date) return isoDate(value).replace(/\.\d{3}Z$/, 'Z');
  switch (typeof value) {
    case 'string':
      return `'${escapeString(value)}'`;
    case 'number':
      return formatNumber(value);
    case 'bigint':
      return value.toString();
    case 'boolean':
      return value ? 'true' : 'false';
    default:
      throw new TypeError(`cannot use ${typeof value} as a SOQL value`);
  }
}

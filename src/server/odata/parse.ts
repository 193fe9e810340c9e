/**
 * OData 4.0 query options → the store's query AST: `$filter`, `$orderby`, `$select`, `$search`, key
 * predicates and literals. Everything a client sends is parsed into a tree whose identifiers are checked
 * against the entity type and whose values become bound parameters; no text reaches SQL.
 *
 * Hand-written rather than built on an OData parser package: the grammar Salesforce Connect and common
 * clients use is small (comparisons, and/or/not, contains/startswith/endswith, literals of each EDM type),
 * and the parser must report a position and a fix for every refusal, resolve names case-insensitively
 * against the entity type, and type literals by the property they meet, which a generic token tree from a
 * library leaves to us anyway. Tests cross-check it against the independent `@odata/parser`.
 */
import { closestName } from '../../engine/config.ts';
import type { QueryExpr, QueryOrder, QueryValue } from '../../store/query.ts';
import type { EntityType, Property } from './model.ts';

/** A refused request option: the OData error `code`, HTTP status 400, and a message naming the fix. */
export class ODataQueryError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(message: string, code = 'BadRequest', status = 400) {
    super(message);
    this.name = 'ODataQueryError';
    this.code = code;
    this.status = status;
  }
}

type Token =
  | { t: 'ident'; v: string; at: number }
  | { t: 'string'; v: string; at: number }
  | { t: 'number'; v: string; at: number }
  | { t: 'temporal'; v: string; kind: 'date' | 'datetime' | 'time'; at: number }
  | { t: 'guid'; v: string; at: number }
  | { t: 'punct'; v: '(' | ')' | ','; at: number }
  | { t: 'end'; at: number };

const DATETIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,12})?)?(Z|[+-]\d{2}:\d{2})/;
const DATE_RE = /^\d{4}-\d{2}-\d{2}(?![\dT:])/;
const TIME_RE = /^\d{2}:\d{2}(:\d{2}(\.\d{1,12})?)?(?![\d-])/;
const GUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![\w-])/;
const NUMBER_RE = /^-?(\d+(\.\d+)?([eE][+-]?\d+)?|INF|NaN)[mMdDfFlL]?(?![\w.])/;
const IDENT_RE = /^[A-Za-z_][A-Za-z0-9_]*(\/[A-Za-z_][A-Za-z0-9_]*)*/;

/** Splits an option value into tokens; `what` names the option in errors. */
function tokenize(text: string, what: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    const rest = text.slice(i);
    if (c === "'") {
      let v = '';
      let j = i + 1;
      for (;;) {
        if (j >= text.length) throw new ODataQueryError(`${what}: the string starting at position ${i + 1} is not closed; end it with ' (write '' for a quote inside it)`);
        if (text[j] === "'") {
          if (text[j + 1] === "'") {
            v += "'";
            j += 2;
            continue;
          }
          break;
        }
        v += text[j++];
      }
      out.push({ t: 'string', v, at: i });
      i = j + 1;
      continue;
    }
    if (c === '(' || c === ')' || c === ',') {
      out.push({ t: 'punct', v: c, at: i });
      i++;
      continue;
    }
    let m = GUID_RE.exec(rest);
    if (m) {
      out.push({ t: 'guid', v: m[0], at: i });
      i += m[0].length;
      continue;
    }
    m = DATETIME_RE.exec(rest);
    if (m) {
      out.push({ t: 'temporal', v: m[0], kind: 'datetime', at: i });
      i += m[0].length;
      continue;
    }
    m = DATE_RE.exec(rest);
    if (m) {
      out.push({ t: 'temporal', v: m[0], kind: 'date', at: i });
      i += m[0].length;
      continue;
    }
    m = TIME_RE.exec(rest);
    if (m) {
      out.push({ t: 'temporal', v: m[0], kind: 'time', at: i });
      i += m[0].length;
      continue;
    }
    m = NUMBER_RE.exec(rest);
    if (m) {
      out.push({ t: 'number', v: m[0], at: i });
      i += m[0].length;
      continue;
    }
    m = IDENT_RE.exec(rest);
    if (m) {
      // OData 2.0 typed literals (datetime'…', guid'…') are read as their 4.0 forms.
      const typed = /^(datetime|datetimeoffset|guid|time|date)'([^']*)'/i.exec(rest);
      if (typed) {
        const kind = typed[1].toLowerCase();
        out.push(kind === 'guid' ? { t: 'guid', v: typed[2], at: i } : { t: 'temporal', v: typed[2], kind: kind === 'date' ? 'date' : kind === 'time' ? 'time' : 'datetime', at: i });
        i += typed[0].length;
        continue;
      }
      out.push({ t: 'ident', v: m[0], at: i });
      i += m[0].length;
      continue;
    }
    throw new ODataQueryError(`${what}: unexpected ${JSON.stringify(c)} at position ${i + 1}`);
  }
  out.push({ t: 'end', at: text.length });
  return out;
}

const COMPARE = new Set(['eq', 'ne', 'lt', 'le', 'gt', 'ge']);
const TEXT_FUNCS = new Set(['contains', 'startswith', 'endswith', 'substringof']);
const UNSUPPORTED_OPS = new Set(['has', 'in', 'add', 'sub', 'mul', 'div', 'divby', 'mod']);

/** An operand before it meets the other side of a comparison. */
type Operand = { kind: 'property'; property: Property; at: number } | { kind: 'literal'; token: Token; at: number } | { kind: 'predicate'; expr: QueryExpr; at: number };

class FilterParser {
  #i = 0;
  readonly #tokens: Token[];
  readonly #type: EntityType;
  constructor(text: string, type: EntityType) {
    this.#tokens = tokenize(text, '$filter');
    this.#type = type;
  }

  parse(): QueryExpr {
    const e = this.#or();
    const t = this.#peek();
    if (t.t !== 'end') throw this.#error(t, `expected and, or or the end of the filter`);
    return e;
  }

  #peek(): Token {
    return this.#tokens[this.#i];
  }
  #next(): Token {
    return this.#tokens[this.#i++];
  }
  #isWord(word: string): boolean {
    const t = this.#peek();
    return t.t === 'ident' && t.v.toLowerCase() === word;
  }
  #error(t: Token, message: string): ODataQueryError {
    return new ODataQueryError(`$filter: ${message} at position ${t.at + 1}`);
  }
  #expectPunct(v: '(' | ')' | ','): void {
    const t = this.#next();
    if (t.t !== 'punct' || t.v !== v) throw this.#error(t, `expected "${v}"`);
  }

  #or(): QueryExpr {
    const args = [this.#and()];
    while (this.#isWord('or')) {
      this.#next();
      args.push(this.#and());
    }
    return args.length === 1 ? args[0] : { kind: 'or', args };
  }

  #and(): QueryExpr {
    const args = [this.#unary()];
    while (this.#isWord('and')) {
      this.#next();
      args.push(this.#unary());
    }
    return args.length === 1 ? args[0] : { kind: 'and', args };
  }

  #unary(): QueryExpr {
    if (this.#isWord('not')) {
      this.#next();
      return { kind: 'not', arg: this.#unary() };
    }
    return this.#comparison();
  }

  #comparison(): QueryExpr {
    const left = this.#operand();
    const t = this.#peek();
    if (t.t === 'ident' && COMPARE.has(t.v.toLowerCase())) {
      this.#next();
      const right = this.#operand();
      return this.#compare(t.v.toLowerCase() as 'eq', left, right, t);
    }
    if (t.t === 'ident' && UNSUPPORTED_OPS.has(t.v.toLowerCase())) {
      throw new ODataQueryError(`$filter: the ${t.v} operator is not supported by this service (position ${t.at + 1}); use eq, ne, gt, ge, lt, le, and, or, not, contains, startswith or endswith`, 'NotImplemented', 501);
    }
    if (left.kind === 'predicate') return left.expr;
    if (left.kind === 'property' && left.property.edm === 'Edm.Boolean') return { kind: 'compare', op: 'eq', column: left.property.column, value: true };
    if (left.kind === 'literal' && left.token.t === 'ident' && /^(true|false)$/i.test(left.token.v)) return { kind: 'literal', value: left.token.v.toLowerCase() === 'true' };
    throw this.#error(t, 'expected a comparison operator (eq, ne, gt, ge, lt, le)');
  }

  #operand(): Operand {
    const t = this.#peek();
    if (t.t === 'punct' && t.v === '(') {
      this.#next();
      const expr = this.#or();
      this.#expectPunct(')');
      return { kind: 'predicate', expr, at: t.at };
    }
    if (t.t === 'ident') {
      const lower = t.v.toLowerCase();
      const after = this.#tokens[this.#i + 1];
      if (after.t === 'punct' && after.v === '(') {
        if (TEXT_FUNCS.has(lower)) return { kind: 'predicate', expr: this.#textFunction(lower), at: t.at };
        throw new ODataQueryError(`$filter: the function ${t.v}() is not supported by this service (position ${t.at + 1}); supported are contains, startswith and endswith`, 'NotImplemented', 501);
      }
      if (lower === 'null' || lower === 'true' || lower === 'false') {
        this.#next();
        return { kind: 'literal', token: t, at: t.at };
      }
      this.#next();
      return { kind: 'property', property: this.#property(t), at: t.at };
    }
    if (t.t === 'end' || t.t === 'punct') throw this.#error(t, 'expected a property, a literal or a function');
    this.#next();
    return { kind: 'literal', token: t, at: t.at };
  }

  #property(t: Token & { t: 'ident' }): Property {
    if (t.v.includes('/')) throw new ODataQueryError(`$filter: property paths (${t.v}) are not supported; filter on a property of ${this.#type.name}`, 'NotImplemented', 501);
    const p = this.#type.property(t.v);
    if (!p) throw new ODataQueryError(`$filter: ${this.#type.name} has no property ${t.v} (position ${t.at + 1})${suggest(t.v, this.#type.propertyNames())}`);
    return p;
  }

  /** contains(P,'x') / startswith / endswith, and OData 2.0's substringof('x',P). */
  #textFunction(name: string): QueryExpr {
    const fn = this.#next();
    this.#expectPunct('(');
    const a = this.#operand();
    this.#expectPunct(',');
    const b = this.#operand();
    this.#expectPunct(')');
    const [prop, lit] = name === 'substringof' ? [b, a] : [a, b];
    if (prop.kind !== 'property' || lit.kind !== 'literal' || lit.token.t !== 'string') {
      throw this.#error(fn, `${name}() takes ${name === 'substringof' ? "a string and a property: substringof('text',Name)" : `a property and a string: ${name}(Name,'text')`}`);
    }
    if (prop.property.edm !== 'Edm.String') throw this.#error(fn, `${name}() needs a string property; ${prop.property.name} is ${prop.property.edm}`);
    return { kind: 'text', op: name === 'substringof' ? 'contains' : (name as 'contains'), column: prop.property.column, value: lit.token.v };
  }

  #compare(op: 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge', left: Operand, right: Operand, at: Token): QueryExpr {
    // `contains(Name,'x') eq true` (the OData 2.0 habit) is the predicate itself.
    for (const [pred, other] of [
      [left, right],
      [right, left],
    ] as const) {
      if (pred.kind === 'predicate' && other.kind === 'literal' && other.token.t === 'ident' && /^(true|false)$/i.test(other.token.v) && (op === 'eq' || op === 'ne')) {
        const wantTrue = (other.token.v.toLowerCase() === 'true') === (op === 'eq');
        return wantTrue ? pred.expr : { kind: 'not', arg: pred.expr };
      }
    }
    if (left.kind === 'property' && right.kind === 'literal') return { kind: 'compare', op, column: left.property.column, value: literalFor(left.property, right.token) };
    if (left.kind === 'literal' && right.kind === 'property') return { kind: 'compare', op: FLIP[op], column: right.property.column, value: literalFor(right.property, left.token) };
    if (left.kind === 'property' && right.kind === 'property') throw this.#error(at, 'comparing two properties is not supported; compare a property with a literal');
    throw this.#error(at, 'a comparison needs a property on one side and a literal on the other');
  }
}

const FLIP = { eq: 'eq', ne: 'ne', lt: 'gt', le: 'ge', gt: 'lt', ge: 'le' } as const;

/** A literal token as the value the property's column holds; a literal of the wrong type is refused. */
export function literalFor(p: Property, t: Token): QueryValue {
  const bad = (expected: string) => new ODataQueryError(`$filter: ${p.name} is ${p.edm}; ${describeToken(t)} is not ${expected} (position ${t.at + 1})`);
  if (t.t === 'ident' && t.v.toLowerCase() === 'null') return null;
  switch (p.edm) {
    case 'Edm.String':
    case 'Edm.Guid':
      if (t.t === 'string' || t.t === 'guid') return t.v;
      throw bad(`a string: quote it, '${t.t === 'end' ? '' : String((t as { v: string }).v)}'`);
    case 'Edm.Boolean':
      if (t.t === 'ident' && /^(true|false)$/i.test(t.v)) return t.v.toLowerCase() === 'true';
      throw bad('true or false');
    case 'Edm.Int32':
    case 'Edm.Int64':
      if (t.t === 'number' && /^-?\d+[lL]?$/.test(t.v)) return Number.isSafeInteger(Number(t.v.replace(/[lL]$/, ''))) ? Number(t.v.replace(/[lL]$/, '')) : t.v.replace(/[lL]$/, '');
      throw bad('an integer');
    case 'Edm.Decimal':
    case 'Edm.Double':
      if (t.t === 'number' && !/INF|NaN/.test(t.v)) return t.v.replace(/[mMdDfF]$/, '');
      throw bad('a number');
    case 'Edm.DateTimeOffset':
      // A date alone means midnight UTC (Salesforce maps Edm.Date to a DateTime at midnight).
      if (t.t === 'temporal' && t.kind === 'datetime') return t.v;
      if (t.t === 'temporal' && t.kind === 'date') return `${t.v}T00:00:00Z`;
      throw bad('a date-time such as 2024-03-05T17:38:40Z');
    case 'Edm.Date':
      if (t.t === 'temporal' && t.kind === 'date') return t.v;
      throw bad('a date such as 2024-03-05');
    case 'Edm.TimeOfDay':
      if (t.t === 'temporal' && t.kind === 'time') return t.v;
      throw bad('a time of day such as 13:45:00');
    default:
      throw bad('comparable');
  }
}

function describeToken(t: Token): string {
  switch (t.t) {
    case 'string':
      return `'${t.v}'`;
    case 'end':
      return 'the end';
    default:
      return t.v;
  }
}

/** `$filter` text → a store expression over `type`'s columns. */
export function parseFilter(text: string, type: EntityType): QueryExpr {
  if (text.trim() === '') throw new ODataQueryError('$filter is empty: give an expression such as Name eq \'Acme\', or leave $filter out');
  return new FilterParser(text, type).parse();
}

/** `$orderby` text → order terms (`Name desc, Id`). */
export function parseOrderBy(text: string, type: EntityType): QueryOrder[] {
  const out: QueryOrder[] = [];
  for (const raw of text.split(',')) {
    const part = raw.trim();
    const m = /^([A-Za-z_][A-Za-z0-9_/]*)(?:\s+(asc|desc))?$/i.exec(part);
    if (!m) throw new ODataQueryError(`$orderby: "${part}" is not a property optionally followed by asc or desc`);
    const p = type.property(m[1]);
    if (!p) throw new ODataQueryError(`$orderby: ${type.name} has no property ${m[1]}${suggest(m[1], type.propertyNames())}`);
    out.push({ column: p.column, descending: m[2]?.toLowerCase() === 'desc' });
  }
  return out;
}

/** `$select` text → properties (`*` is all). */
export function parseSelect(text: string, type: EntityType): Property[] {
  const out: Property[] = [];
  for (const raw of text.split(',')) {
    const name = raw.trim();
    if (name === '*') return type.properties;
    const p = type.property(name);
    if (!p) throw new ODataQueryError(`$select: ${type.name} has no property ${name}${suggest(name, type.propertyNames())}`);
    if (!out.includes(p)) out.push(p);
  }
  return out;
}

/**
 * `$search` text → a free-text expression over the string properties: terms and "quoted phrases", with AND
 * (implicit between terms), OR and NOT, OR binding looser than AND, as OData's search grammar has it.
 */
export function parseSearch(text: string, columns: readonly string[]): QueryExpr {
  const tokens: { v: string; quoted: boolean }[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|\(|\)|[^\s()"]+/g;
  for (const m of text.matchAll(re)) tokens.push(m[1] !== undefined ? { v: m[1].replace(/\\(.)/g, '$1'), quoted: true } : { v: m[0], quoted: false });
  let i = 0;
  const word = (w: string) => tokens[i] && !tokens[i].quoted && tokens[i].v === w;
  const or = (): QueryExpr => {
    const args = [and()];
    while (word('OR')) {
      i++;
      args.push(and());
    }
    return args.length === 1 ? args[0] : { kind: 'or', args };
  };
  const and = (): QueryExpr => {
    const args = [unary()];
    while (i < tokens.length && !word('OR') && !word(')')) {
      if (word('AND')) i++;
      args.push(unary());
    }
    return args.length === 1 ? args[0] : { kind: 'and', args };
  };
  const unary = (): QueryExpr => {
    if (word('NOT')) {
      i++;
      return { kind: 'not', arg: unary() };
    }
    if (word('(')) {
      i++;
      const e = or();
      if (!word(')')) throw new ODataQueryError('$search: a "(" is not closed');
      i++;
      return e;
    }
    const t = tokens[i++];
    if (!t) throw new ODataQueryError('$search: expected a search term');
    return { kind: 'search', columns: [...columns], text: t.v };
  };
  if (tokens.length === 0) throw new ODataQueryError('$search is empty: give a term, or leave $search out');
  const e = or();
  if (i < tokens.length) throw new ODataQueryError(`$search: unexpected ${tokens[i].v}`);
  return e;
}

/**
 * A key predicate (`('001…')`, `(42)`, `(Id='001…')`, `(OrderId=1,Line=2)`) → a value per key property.
 */
export function parseKey(text: string, type: EntityType): Map<Property, QueryValue> {
  const keys = type.key;
  const out = new Map<Property, QueryValue>();
  if (!/^\s*[A-Za-z_][A-Za-z0-9_]*\s*=/.test(text)) {
    // The positional form names the single key.
    const tokens = tokenize(text, 'key');
    if (keys.length !== 1) throw new ODataQueryError(`${type.name} has a composite key (${keys.map((k) => k.name).join(', ')}): name each part, e.g. (${keys.map((k) => `${k.name}=…`).join(',')})`);
    if (tokens.length !== 2) throw new ODataQueryError(`the key of ${type.name} is one value, e.g. ${type.name}('…')`);
    out.set(keys[0], keyLiteral(keys[0], tokens[0]));
    return out;
  }
  // Named form: Name=value, … (the tokenizer has no "=", so split on the raw text).
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) throw new ODataQueryError(`key part "${part}" is not Name=value`);
    const name = part.slice(0, eq).trim();
    const p = keys.find((k) => k.name.toLowerCase() === name.toLowerCase());
    if (!p) throw new ODataQueryError(`${name} is not a key property of ${type.name} (its key: ${keys.map((k) => k.name).join(', ')})`);
    const [tok] = tokenize(part.slice(eq + 1).trim(), 'key');
    out.set(p, keyLiteral(p, tok));
  }
  if (out.size !== keys.length) throw new ODataQueryError(`the key of ${type.name} has ${keys.length} parts: ${keys.map((k) => k.name).join(', ')}`);
  return out;
}

function keyLiteral(p: Property, t: Token): QueryValue {
  const v = literalFor(p, t);
  if (v === null) throw new ODataQueryError(`a key value cannot be null`);
  return v;
}

/** " (did you mean X?)" for a near-miss name, else "". */
export function suggest(name: string, options: readonly string[]): string {
  const best = closestName(name, options);
  return best === undefined ? '' : ` (did you mean ${best}?)`;
}

/**
 * Immutable, fluent SOQL builder. Identifiers are validated, operators come from a fixed list and values
 * are rendered by {@link literal}, so no input can alter the query's structure.
 *
 * @example
 * from('Contact').select('Id', 'LastName', 'Account.Name')
 *   .select(subquery('Cases').select('Id').where('IsClosed', '=', false))
 *   .where('Email', 'LIKE', likePattern(`%${escapeLike(domain)}`))
 *   .where('AccountId', 'IN', ids).orderBy('LastName').limit(100).toString()
 */
import { literal, type SoqlValue } from './literals.ts';

/** Comparison operators allowed in `where`. */
export const OPERATORS = ['=', '!=', '<', '<=', '>', '>=', 'LIKE', 'IN', 'NOT IN', 'INCLUDES', 'EXCLUDES'] as const;
export type Operator = (typeof OPERATORS)[number];

/** Functions allowed around a field in SELECT. */
export const SELECT_FUNCTIONS = ['toLabel', 'FORMAT', 'convertCurrency', 'COUNT', 'COUNT_DISTINCT', 'SUM', 'AVG', 'MIN', 'MAX', 'CALENDAR_YEAR', 'CALENDAR_MONTH', 'DAY_ONLY', 'GROUPING'] as const;

const IDENT = /^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$/;
const FUNC = new RegExp(`^(${SELECT_FUNCTIONS.join('|')})\\((${IDENT.source.slice(1, -1)})?\\)$`, 'i');

/** Validates a field path (`Name`, `Account.Owner.Name`, `Custom__c`) and returns it. */
export function field(name: string): string {
  if (typeof name !== 'string' || !IDENT.test(name)) throw new TypeError(`not a SOQL field name: ${JSON.stringify(name)}`);
  return name;
}

function selectItem(name: string): string {
  if (IDENT.test(name) || FUNC.test(name) || /^COUNT\(\)$/i.test(name)) return name;
  throw new TypeError(`not a SOQL field or allowed function: ${JSON.stringify(name)} (functions: ${SELECT_FUNCTIONS.join(', ')})`);
}

/** A boolean condition; build with {@link cond}, {@link and}, {@link or}, {@link not}. */
export class Condition {
  readonly text: string;
  readonly #compound: boolean;
  /** `AND` when the condition is a conjunction (joined into an outer AND without parentheses). */
  readonly #joiner: 'AND' | 'OR' | undefined;
  private constructor(text: string, compound: boolean, joiner?: 'AND' | 'OR') {
    this.text = text;
    this.#compound = compound;
    this.#joiner = joiner;
  }
  /** @internal */
  static make(text: string, compound = false, joiner?: 'AND' | 'OR'): Condition {
    return new Condition(text, compound, joiner);
  }
  /** @internal The text as a part of an outer `AND` (a conjunction needs no parentheses there). */
  get inAnd(): string {
    return this.#joiner === 'AND' ? this.text : this.grouped;
  }
  /** The text wrapped in parentheses when it combines several conditions. */
  get grouped(): string {
    return this.#compound ? `(${this.text})` : this.text;
  }
  toString(): string {
    return this.text;
  }
}

/** A comparison. IN / NOT IN / INCLUDES / EXCLUDES take an array or (IN/NOT IN) a semi-join query. */
export function cond(fieldName: string, op: Operator, value: SoqlValue | readonly SoqlValue[] | SoqlQuery): Condition {
  const f = field(fieldName);
  const operator = String(op).toUpperCase() as Operator;
  if (!OPERATORS.includes(operator)) throw new TypeError(`unknown SOQL operator ${JSON.stringify(op)}; use one of ${OPERATORS.join(', ')}`);
  const listOp = operator === 'IN' || operator === 'NOT IN' || operator === 'INCLUDES' || operator === 'EXCLUDES';
  if (value instanceof SoqlQuery) {
    if (operator !== 'IN' && operator !== 'NOT IN') throw new TypeError(`a subquery needs IN or NOT IN, not ${operator}`);
    return Condition.make(`${f} ${operator} (${value.toString()})`);
  }
  if (Array.isArray(value)) {
    if (!listOp) throw new TypeError(`${operator} takes a single value; use IN for a list`);
    if (value.length === 0) throw new TypeError(`${f} ${operator} (): SOQL does not allow an empty list; skip the condition or the query`);
    return Condition.make(`${f} ${operator} (${value.map((v) => literal(v)).join(', ')})`);
  }
  if (listOp) throw new TypeError(`${operator} takes a list (array) or a subquery`);
  if (value === null && operator !== '=' && operator !== '!=') throw new TypeError(`null can only be compared with = or !=`);
  return Condition.make(`${f} ${operator} ${literal(value as SoqlValue)}`);
}

/** All of the conditions. */
export function and(...conds: Condition[]): Condition {
  if (conds.length === 0) throw new TypeError('and() needs at least one condition');
  // A conjunction inside a conjunction is spliced in: `a AND b AND c`, not `(a AND b) AND c` (the same
  // meaning, and Salesforce allows semi-joins only in a flat top-level AND).
  return conds.length === 1 ? conds[0] : Condition.make(conds.map((c) => c.inAnd).join(' AND '), true, 'AND');
}

/** Any of the conditions. */
export function or(...conds: Condition[]): Condition {
  if (conds.length === 0) throw new TypeError('or() needs at least one condition');
  return conds.length === 1 ? conds[0] : Condition.make(conds.map((c) => c.grouped).join(' OR '), true, 'OR');
}

/** Negation. */
export function not(c: Condition): Condition {
  return Condition.make(`NOT (${c.text})`);
}

type Order = { field: string; dir: 'ASC' | 'DESC'; nulls?: 'FIRST' | 'LAST' };

interface State {
  from: string;
  select: readonly (string | SoqlQuery)[];
  where: readonly Condition[];
  orderBy: readonly Order[];
  limit?: number;
  offset?: number;
}

/** An immutable SOQL query; every method returns a new query. */
export class SoqlQuery {
  readonly #s: State;
  private constructor(s: State) {
    this.#s = s;
  }
  /** @internal */
  static create(sobject: string): SoqlQuery {
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(sobject)) throw new TypeError(`not an sObject or relationship name: ${JSON.stringify(sobject)}`);
    return new SoqlQuery({ from: sobject, select: [], where: [], orderBy: [] });
  }

  /** The object (or child relationship, in a subquery) queried. */
  get sobject(): string {
    return this.#s.from;
  }

  /** Adds fields (or subqueries); duplicates are dropped case-insensitively, first spelling and position kept. */
  select(...items: ReadonlyArray<string | SoqlQuery | readonly string[]>): SoqlQuery {
    const next = [...this.#s.select];
    const seen = new Set(next.map(keyOf));
    for (const item of items.flat()) {
      const v = typeof item === 'string' ? selectItem(item.trim()) : item;
      const k = keyOf(v);
      if (!seen.has(k)) {
        seen.add(k);
        next.push(v);
      }
    }
    return new SoqlQuery({ ...this.#s, select: next });
  }

  /** Adds a condition, ANDed with earlier ones: `where('Name', '=', v)` or `where(or(cond(…), cond(…)))`. */
  where(fieldOrCond: string | Condition, op?: Operator, value?: SoqlValue | readonly SoqlValue[] | SoqlQuery): SoqlQuery {
    let c: Condition;
    if (fieldOrCond instanceof Condition) c = fieldOrCond;
    else {
      if (op === undefined || value === undefined) throw new TypeError('where(field, op, value) needs an operator and a value (use null for null)');
      c = cond(fieldOrCond, op, value);
    }
    return new SoqlQuery({ ...this.#s, where: [...this.#s.where, c] });
  }

  /** Adds a sort key. */
  orderBy(fieldName: string, dir: 'ASC' | 'DESC' | 'asc' | 'desc' = 'ASC', nulls?: 'FIRST' | 'LAST'): SoqlQuery {
    const d = dir.toUpperCase();
    if (d !== 'ASC' && d !== 'DESC') throw new TypeError(`order direction must be ASC or DESC, got ${JSON.stringify(dir)}`);
    if (nulls !== undefined && nulls !== 'FIRST' && nulls !== 'LAST') throw new TypeError(`NULLS must be FIRST or LAST, got ${JSON.stringify(nulls)}`);
    return new SoqlQuery({ ...this.#s, orderBy: [...this.#s.orderBy, { field: field(fieldName), dir: d, nulls }] });
  }

  /** Row limit (non-negative integer). */
  limit(n: number): SoqlQuery {
    return new SoqlQuery({ ...this.#s, limit: count(n, 'limit') });
  }

  /** Rows to skip (Salesforce caps OFFSET at 2000). */
  offset(n: number): SoqlQuery {
    return new SoqlQuery({ ...this.#s, offset: count(n, 'offset') });
  }

  /** The same filter as `SELECT COUNT()` (no ORDER BY, LIMIT or OFFSET). */
  countQuery(): SoqlQuery {
    return new SoqlQuery({ from: this.#s.from, select: ['COUNT()'], where: this.#s.where, orderBy: [] });
  }

  /** Renders the query. */
  toString(): string {
    const s = this.#s;
    if (s.select.length === 0) throw new TypeError(`SELECT list of ${s.from} is empty: call select(...)`);
    const parts = [`SELECT ${s.select.map((x) => (typeof x === 'string' ? x : `(${x.toString()})`)).join(', ')}`, `FROM ${s.from}`];
    if (s.where.length) parts.push(`WHERE ${and(...s.where).text}`);
    if (s.orderBy.length) parts.push(`ORDER BY ${s.orderBy.map((o) => `${o.field} ${o.dir}${o.nulls ? ` NULLS ${o.nulls}` : ''}`).join(', ')}`);
    if (s.limit !== undefined) parts.push(`LIMIT ${s.limit}`);
    if (s.offset !== undefined) parts.push(`OFFSET ${s.offset}`);
    return parts.join(' ');
  }
}

function keyOf(v: string | SoqlQuery): string {
  return typeof v === 'string' ? v.toLowerCase() : `(${v.toString().toLowerCase()})`;
}

function count(n: number, what: string): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new TypeError(`${what} must be a non-negative integer, got ${n}`);
  return n;
}

/** Starts a query on an object. */
export function from(sobject: string): SoqlQuery {
  return SoqlQuery.create(sobject);
}

/** Starts a child-relationship subquery (`Contacts`, `Line_Items__r`) to pass to `select`. */
export function subquery(relationshipName: string): SoqlQuery {
  return SoqlQuery.create(relationshipName);
}

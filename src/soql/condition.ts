/**
 * User-written SOQL conditions (`Industry = 'Banking' AND NumberOfEmployees > 10`) turned into builder
 * {@link Condition}s. The text is parsed by soql-parser-js, every part is checked against what a WHERE
 * condition may hold, and the condition is then rebuilt from the parse tree through {@link cond}/{@link and}/
 * {@link or}/{@link not} with every value passing through {@link literal}: the user's text never reaches a
 * query, so nothing in it (a stray quote, a `LIMIT`, a second statement) can change the query's structure.
 * Semi-joins (`Id IN (SELECT AccountId FROM Opportunity WHERE …)`, one level) are rebuilt the same way.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Condition as AstCondition, ValueQueryCondition, WhereClause } from '@jetstreamapp/soql-parser-js';
import { and, cond, Condition, from, not, or, OPERATORS, type Operator } from './builder.ts';
import { dateLiteral, escapeLike, likePattern, soqlDate, type SoqlValue } from './literals.ts';

/** A condition that cannot be used: not SOQL, not a condition, or using something the filter refuses. */
export class SoqlConditionError extends Error {
  readonly code = 'INVALID_CONDITION';
  constructor(message: string) {
    super(message);
    this.name = 'SoqlConditionError';
  }
}

/** A parsed condition: the rebuilt condition and the field paths it compares (for checks against describe). */
export interface ParsedCondition {
  condition: Condition;
  /** Field paths as written (`Industry`, `Owner.Email`), in order of appearance, without duplicates. */
  fields: string[];
  /** Semi-join subqueries (`Id IN (SELECT AccountId FROM Opportunity WHERE …)`): their object and fields. */
  subqueries: Array<{ object: string; fields: string[] }>;
  /**
   * Whether the condition holds a semi-join. Salesforce refuses `NOT (…)` around one, so the complement of
   * such a condition cannot be queried directly.
   */
  semiJoin: boolean;
}

interface Collected {
  fields: string[];
  subqueries: ParsedCondition['subqueries'];
  /** Semi-joins may not nest (Salesforce allows one level). */
  nested: boolean;
  /** Whether the leaf being built sits in the top-level AND chain (outside every OR and NOT). */
  top: boolean;
  /** Whether the condition holds a semi-join. */
  semiJoin: boolean;
}

const EXAMPLE = "e.g. Industry = 'Banking' AND (NumberOfEmployees > 10 OR Rating = 'Hot')";
const CLAUSES = ['limit', 'offset', 'orderBy', 'groupBy', 'having', 'withDataCategory', 'withSecurityEnforced', 'withAccessLevel', 'for', 'update'];

type Tok = '(' | ')' | 'NOT' | 'AND' | 'OR' | { cond: AstCondition | ValueQueryCondition };

/** The parser nests WHERE as a linked list with parenthesis counts; this makes it a flat token list. */
function flatten(w: WhereClause | undefined): Tok[] {
  const out: Tok[] = [];
  let node: WhereClause | undefined = w;
  while (node) {
    const left = node.left as (AstCondition & { openParen?: number; closeParen?: number }) | null;
    const op = 'operator' in node ? node.operator : undefined;
    const isCond = left !== null && ('field' in left || 'fn' in left);
    for (let i = 0; i < (left?.openParen ?? 0); i++) out.push('(');
    if (isCond) out.push({ cond: left as AstCondition });
    for (let i = 0; i < (isCond ? (left?.closeParen ?? 0) : 0); i++) out.push(')');
    if (op) out.push(op);
    node = op ? (node as { right: WhereClause }).right : undefined;
  }
  return out;
}

/** Decodes a quoted SOQL string; in LIKE patterns `\%` and `\_` stay literal characters, `%` and `_` wildcards. */
function decodeString(raw: string, like: boolean): SoqlValue {
  if (raw.length < 2 || raw[0] !== "'" || raw[raw.length - 1] !== "'") throw new SoqlConditionError(`expected a quoted string, got ${raw}`);
  const body = raw.slice(1, -1);
  const map: Record<string, string> = { '\\': '\\', "'": "'", '"': '"', n: '\n', r: '\r', t: '\t', b: '\b', f: '\f' };
  let text = '';
  let pattern = '';
  for (let i = 0; i < body.length; i++) {
    const ch = body[i];
    if (ch === '\\') {
      const next = body[++i];
      if (next === '%' || next === '_') {
        if (!like) throw new SoqlConditionError(`\\${next} escapes a LIKE wildcard and is only valid in LIKE patterns (in ${raw})`);
        pattern += `\\${next}`;
        continue;
      }
      const v = next === undefined ? undefined : map[next];
      if (v === undefined) throw new SoqlConditionError(`unknown escape \\${next ?? ''} in ${raw} (SOQL escapes: \\' \\" \\\\ \\n \\r \\t \\b \\f, and \\% \\_ in LIKE)`);
      text += v;
      pattern += escapeLike(v);
    } else {
      text += ch;
      pattern += like && (ch === '%' || ch === '_') ? ch : escapeLike(ch);
    }
  }
  return like ? likePattern(pattern) : text;
}

function decodeValue(raw: string, type: string, n: number | undefined, like: boolean, fieldName: string): SoqlValue {
  switch (type) {
    case 'STRING':
      return decodeString(raw, like);
    case 'NULL':
      return null;
    case 'BOOLEAN':
      return raw.toUpperCase() === 'TRUE';
    case 'INTEGER':
      if (!/^[+-]?\d+$/.test(raw)) break;
      return BigInt(raw);
    case 'DECIMAL': {
      if (!/^[+-]?\d*\.?\d+$/.test(raw)) break;
      const v = Number(raw);
      if (Number.isFinite(v)) return v;
      break;
    }
    case 'DATE':
      return soqlDate(raw);
    case 'DATETIME': {
      const ms = Date.parse(raw.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
      if (Number.isFinite(ms)) return new Date(ms);
      break;
    }
    case 'DATE_LITERAL':
      return dateLiteral(raw);
    case 'DATE_N_LITERAL': {
      const [name, count] = raw.split(':');
      return dateLiteral(name, n ?? Number(count));
    }
    case 'INTEGER_WITH_CURRENCY_PREFIX':
    case 'DECIMAL_WITH_CURRENCY_PREFIX':
      throw new SoqlConditionError(`${fieldName}: currency-prefixed values such as ${raw} are not supported here; compare the plain number (${raw.replace(/^[A-Za-z]{3}/, '')})`);
  }
  throw new SoqlConditionError(`${fieldName}: cannot read the value ${raw}`);
}

function leaf(c: AstCondition | ValueQueryCondition, into: Collected): Condition {
  const fields = into.fields;
  if ('fn' in c) {
    throw new SoqlConditionError(`functions such as ${(c as { fn: { rawValue?: string; functionName?: string } }).fn.rawValue ?? (c as { fn: { functionName?: string } }).fn.functionName} are not supported in a filter; compare the field itself (CreatedDate >= 2024-01-01T00:00:00Z, or a date literal such as THIS_YEAR)`);
  }
  const fieldName = (c as { field: string }).field;
  if ('valueQuery' in c && c.valueQuery) return semiJoin(c as ValueQueryCondition, into);
  const rawOp = (c as { operator: string }).operator;
  const operator = String(rawOp).toUpperCase() as Operator;
  if (!OPERATORS.includes(operator)) throw new SoqlConditionError(`unsupported operator ${rawOp} (use one of ${OPERATORS.join(', ')})`);
  const vc = c as { value: string | string[]; literalType?: string | string[]; dateLiteralVariable?: number | number[] };
  const values = Array.isArray(vc.value) ? vc.value : [vc.value];
  const types = Array.isArray(vc.literalType) ? vc.literalType : values.map(() => String(vc.literalType ?? 'STRING'));
  const ns = Array.isArray(vc.dateLiteralVariable) ? vc.dateLiteralVariable : values.map(() => vc.dateLiteralVariable as number | undefined);
  const like = operator === 'LIKE';
  let decoded: SoqlValue[];
  try {
    decoded = values.map((v, i) => decodeValue(String(v), types[i] ?? types[0], ns[i], like, fieldName));
  } catch (err) {
    if (err instanceof SoqlConditionError) throw err;
    throw new SoqlConditionError(`${fieldName}: ${(err as Error).message}`);
  }
  if (!fields.some((f) => f.toLowerCase() === fieldName.toLowerCase())) fields.push(fieldName);
  try {
    const list = operator === 'IN' || operator === 'NOT IN' || operator === 'INCLUDES' || operator === 'EXCLUDES';
    return cond(fieldName, operator, list ? decoded : decoded[0]);
  } catch (err) {
    throw new SoqlConditionError(`${fieldName} ${operator}: ${(err as Error).message}`);
  }
}

/**
 * `field IN (SELECT f FROM Obj [WHERE …])` (or NOT IN), rebuilt through the builder: one plain field, no
 * other clause, its condition parsed like the outer one.
 */
function semiJoin(c: ValueQueryCondition, into: Collected): Condition {
  const op = String(c.operator).toUpperCase();
  const q = c.valueQuery as unknown as Record<string, unknown> & { fields?: Array<{ type: string; field?: string }>; sObject?: string; where?: WhereClause };
  const shown = `${c.field} ${op} (SELECT …)`;
  if (into.nested) throw new SoqlConditionError(`${shown}: semi-joins cannot be nested; use one level of subquery`);
  if (!into.top) throw new SoqlConditionError(`${shown}: Salesforce allows a semi-join only in the top-level AND of a condition, not under OR or NOT; for "not in" write ${c.field} NOT IN (SELECT …)`);
  into.semiJoin = true;
  if (op !== 'IN' && op !== 'NOT IN') throw new SoqlConditionError(`${shown}: a subquery needs IN or NOT IN`);
  const extra = CLAUSES.filter((k) => q[k] !== undefined);
  if (extra.length) throw new SoqlConditionError(`${shown}: a semi-join subquery takes only SELECT, FROM and WHERE, found ${extra.map((k) => k.replace(/([A-Z])/g, ' $1').toUpperCase()).join(', ')}; remove it`);
  const sel = q.fields ?? [];
  if (sel.length !== 1 || sel[0].type !== 'Field' || !sel[0].field || sel[0].field.includes('.')) throw new SoqlConditionError(`${shown}: a semi-join selects exactly one Id or lookup field of its object (SELECT AccountId FROM Opportunity)`);
  if (!q.sObject || typeof q.sObject !== 'string' || !/^[A-Za-z][A-Za-z0-9_]*$/.test(q.sObject)) throw new SoqlConditionError(`${shown}: the subquery names no object`);
  const inner: Collected = { fields: [sel[0].field], subqueries: [], nested: true, top: true, semiJoin: false };
  let sub = from(q.sObject).select(sel[0].field);
  if (q.where) sub = sub.where(build(flatten(q.where), inner));
  into.subqueries.push({ object: q.sObject, fields: inner.fields });
  if (!into.fields.some((f) => f.toLowerCase() === c.field.toLowerCase())) into.fields.push(c.field);
  try {
    return cond(c.field, op as Operator, sub);
  } catch (err) {
    throw new SoqlConditionError(`${shown}: ${(err as Error).message}`);
  }
}

/** Boolean structure over the leaves. SOQL needs parentheses to mix AND and OR at one level. */
function build(toks: Tok[], fields: Collected): Condition {
  let i = 0;
  const unary = (top: boolean): Condition => {
    const t = toks[i++];
    if (t === 'NOT') return not(unary(false));
    if (t === '(') {
      const e = expr(top);
      if (toks[i++] !== ')') throw new SoqlConditionError(`missing closing parenthesis; ${EXAMPLE}`);
      return e;
    }
    if (t && typeof t === 'object') {
      fields.top = top;
      return leaf(t.cond, fields);
    }
    throw new SoqlConditionError(`unexpected ${String(t ?? 'end of condition')}; ${EXAMPLE}`);
  };
  const expr = (top: boolean): Condition => {
    // The operator of this level decides whether its terms are still in the top-level AND chain.
    let j = i;
    let depth = 0;
    let level: string | undefined;
    for (; j < toks.length; j++) {
      const t = toks[j];
      if (t === '(') depth++;
      else if (t === ')') {
        if (depth === 0) break;
        depth--;
      } else if (depth === 0 && (t === 'AND' || t === 'OR')) {
        level = t;
        break;
      }
    }
    const inTop = top && level !== 'OR';
    const parts = [unary(inTop)];
    let op: string | null = null;
    while (toks[i] === 'AND' || toks[i] === 'OR') {
      const next = toks[i++] as string;
      if (op && op !== next) throw new SoqlConditionError(`AND and OR are mixed without parentheses; group them, e.g. A AND (B OR C)`);
      op = next;
      parts.push(unary(inTop));
    }
    return parts.length === 1 ? parts[0] : op === 'OR' ? or(...parts) : and(...parts);
  };
  const out = expr(true);
  if (i < toks.length) throw new SoqlConditionError(`unexpected ${String(toks[i])}; ${EXAMPLE}`);
  return out;
}

/**
 * Parses a SOQL condition (what follows WHERE) into a builder condition; throws {@link SoqlConditionError}
 * naming the problem and the fix for anything that is not a plain condition.
 */
type SoqlParser = typeof import('@jetstreamapp/soql-parser-js');
let soqlParser: SoqlParser | undefined;
/**
 * soql-parser-js, loaded on the first condition parsed: building its grammar costs ~30 MB and ~0.1 s, which
 * every command importing the config modules would otherwise pay. Loaded synchronously (require of the same
 * ES module `import` would resolve, so it is one module instance with the emulator's).
 */
function parseQuery(...args: Parameters<SoqlParser['parseQuery']>): ReturnType<SoqlParser['parseQuery']> {
  soqlParser ??= createRequire(import.meta.url)(fileURLToPath(import.meta.resolve('@jetstreamapp/soql-parser-js'))) as SoqlParser;
  return soqlParser.parseQuery(...args);
}

export function parseCondition(text: string): ParsedCondition {
  if (typeof text !== 'string' || text.trim() === '') throw new SoqlConditionError(`the condition is empty; ${EXAMPLE}`);
  const trimmed = text.trim();
  if (/^where\b/i.test(trimmed)) throw new SoqlConditionError(`write the condition without the WHERE keyword (${trimmed.replace(/^where\s*/i, '')})`);
  if (/^select\b/i.test(trimmed)) throw new SoqlConditionError(`write only the condition, not a query; ${EXAMPLE}`);
  let ast: ReturnType<typeof parseQuery>;
  try {
    // The text is given to the parser only; the query itself is rebuilt from the parse tree below.
    ast = parseQuery(`WHERE ${trimmed}`, { allowPartialQuery: true });
  } catch (err) {
    const msg = (err as Error).message;
    const found = /but found: '([^']*)'/.exec(msg)?.[1];
    const hint = found === ':' ? ' (bind variables such as :name are not supported; write the value)' : '';
    throw new SoqlConditionError(`not a SOQL condition${found !== undefined ? ` (unexpected '${found}')` : ''}${hint}; ${EXAMPLE}`);
  }
  const extra = CLAUSES.filter((k) => (ast as unknown as Record<string, unknown>)[k] !== undefined);
  if (extra.length || (ast as { fields?: unknown }).fields || (ast as { sObject?: unknown }).sObject) {
    throw new SoqlConditionError(`only a condition is allowed, found ${extra.length ? extra.map((k) => k.replace(/([A-Z])/g, ' $1').toUpperCase()).join(', ') : 'a query'}; remove it (${EXAMPLE})`);
  }
  if (!ast.where) throw new SoqlConditionError(`not a SOQL condition; ${EXAMPLE}`);
  const into: Collected = { fields: [], subqueries: [], nested: false, top: true, semiJoin: false };
  const condition = build(flatten(ast.where), into);
  return { condition, fields: into.fields, subqueries: into.subqueries, semiJoin: into.semiJoin };
}

/**
 * SOQL → SQLite compiler. Walks the soql-parser-js AST and produces a `Plan`: SQL text whose identifiers
 * come only from the schema (quoted with `q()`) and whose values are always bound parameters, plus the
 * output tree that shapes each SQL row into a Salesforce record. Execution lives in exec.ts.
 */
import { SfError } from '../errors.ts';
import {
  parseQuery,
  type Condition,
  type FieldType as AstField,
  type FunctionExp,
  type GroupByClause,
  type HavingClause,
  type OrderByClause,
  type Query,
  type Subquery,
  type ValueQueryCondition,
  type WhereClause,
} from '@jetstreamapp/soql-parser-js';
import type { Org } from '../org.ts';
import { isValidId, normaliseId } from '../ids.ts';
import type { FieldDef, FieldType, ObjectDef } from '../schema/types.ts';
import { q } from '../store/org-store.ts';
import { isStored, parseDateTime, type SqlValue } from '../store/values.ts';
import { formulaSql } from '../schema/formula.ts';
import { dateLiteralRange, dateNLiteralRange, isoDate, type DateRange } from './dates.ts';
import {
  keywordPos,
  locate,
  malformed,
  noSuchColumn,
  soqlError,
  unknownChildRelationship,
  unknownRelationship,
  unsupportedType,
} from './errors.ts';

/** A piece of SQL with its parameters, in placeholder order. */
export interface Frag {
  sql: string;
  params: SqlValue[];
}

/** How one select-list entry becomes a record key. */
export type OutNode =
  | { k: 'val'; key: string; col: string; type: FieldType }
  /** FORMAT(): the value as the running user's locale shows it (`$5,000.00`, `3/15/2024, 12:00 PM`). */
  | { k: 'fmt'; key: string; col: string; type: FieldType; scale: number; locale: string; timeZone: string; currency: string }
  | { k: 'addr'; key: string; parts: [string, string][] }
  | { k: 'loc'; key: string; lat: string | null; lon: string | null }
  | { k: 'const'; key: string; value: null }
  | { k: 'parent'; key: string; type: string; idCol: string; body: OutBody }
  | { k: 'poly'; key: string; fkCol: string; common: OutBody; byType: Map<string, OutBody>; otherwise: OutBody | null }
  | { k: 'polyType'; key: string; fkCol: string }
  | { k: 'child'; key: string; index: number }
  /** A blob field (VersionData, Body): Salesforce answers with the blob's URL, never the bytes. */
  | { k: 'blob'; key: string; type: string; idCol: string; has: string };

/** Ordered entries of one record level, indexed by key so repeated paths merge into one nested object. */
export interface OutBody {
  entries: OutNode[];
  byKey: Map<string, OutNode>;
}

/** A child subquery, fetched once per page for all parents with `fk IN (json_each(?))`. */
export interface ChildPlan {
  key: string;
  plan: Plan;
  /** Column of the child row holding the parent's Id. */
  fkCol: string;
  /** Per-parent LIMIT, applied while grouping. */
  limit: number | undefined;
  /** SQL with the parent-id list as its first parameter. */
  sql: string;
}

export interface Plan {
  def: ObjectDef;
  /** SQL alias of the queried object's table. */
  alias: string;
  /** Select list (without SELECT), ending with the row key `_rk` for non-aggregate plans. */
  select: string;
  /** FROM … LEFT JOIN … (no parameters). */
  from: string;
  /** Complete WHERE predicate (visibility, deletion and the query's own filter). */
  where: Frag;
  groupBy: string;
  having: Frag | null;
  /** ORDER BY terms (without the keyword); empty when the query has none. */
  orderBy: string;
  limit: number | undefined;
  offset: number;
  aggregate: boolean;
  /** `SELECT COUNT() FROM …`: only totalSize is returned. */
  countOnly: boolean;
  /** Column holding the record Id (null for aggregates). */
  idCol: string | null;
  body: OutBody;
  children: ChildPlan[];
  /** Flat select-list column names for CSV (`Account.Name`). */
  columns: string[];
}

const AGGREGATES = new Set(['COUNT', 'COUNT_DISTINCT', 'SUM', 'AVG', 'MIN', 'MAX']);
const DATE_FUNCTIONS = new Set(['CALENDAR_MONTH', 'CALENDAR_QUARTER', 'CALENDAR_YEAR', 'DAY_IN_MONTH', 'DAY_IN_WEEK', 'DAY_IN_YEAR', 'DAY_ONLY', 'FISCAL_MONTH', 'FISCAL_QUARTER', 'FISCAL_YEAR', 'HOUR_IN_DAY', 'WEEK_IN_MONTH', 'WEEK_IN_YEAR']);
const PASSTHROUGH_FUNCTIONS = new Set(['TOLABEL', 'FORMAT', 'CONVERTCURRENCY']);
const NUMERIC: ReadonlySet<FieldType> = new Set(['int', 'double', 'currency', 'percent', 'long']);
const TEXTUAL: ReadonlySet<FieldType> = new Set(['id', 'string', 'textarea', 'picklist', 'multipicklist', 'combobox', 'reference', 'email', 'phone', 'url', 'encryptedstring', 'base64', 'anyType', 'time']);
/** Fields of the "Name" entity: all a polymorphic relationship (What, Who, Owner) exposes without TYPEOF. */
const NAME_ENTITY_FIELDS = new Set(['alias', 'email', 'firstname', 'isactive', 'lastname', 'lastreferenceddate', 'lastvieweddate', 'name', 'nameoralias', 'phone', 'profileid', 'recordtypeid', 'smallphotourl', 'title', 'username', 'userroleid']);
const MAX_PARENT_DEPTH = 5;

// Describe defaults, kept in step with describe.ts so SOQL refuses exactly what describe says.
function filterable(f: FieldDef): boolean {
  const longText = f.type === 'textarea' && (f.length ?? 0) > 255;
  return f.filterable ?? !(longText || f.type === 'address' || f.type === 'location' || f.type === 'encryptedstring' || f.type === 'base64');
}
function sortable(f: FieldDef): boolean {
  return f.sortable ?? (filterable(f) && f.type !== 'multipicklist');
}
function groupable(f: FieldDef): boolean {
  return f.groupable ?? (filterable(f) && !new Set<FieldType>(['double', 'currency', 'percent']).has(f.type) && f.type !== 'datetime' && f.type !== 'multipicklist');
}

interface JoinNode {
  key: string;
  /** Canonical relationship name (`Account`, `Owner`). */
  rel: string;
  field: FieldDef;
  /** SQL of the foreign key column on the child side. */
  fkSql: string;
  /** Single-target join. */
  def: ObjectDef | null;
  alias: string | null;
  /** Polymorphic targets that exist in this org, each joined under its own alias. */
  targets: { def: ObjectDef; alias: string }[];
  depth: number;
}

type Resolved =
  | { kind: 'field'; sql: string; field: FieldDef; owner: ObjectDef; alias: string; chain: JoinNode[]; name: string; path: string }
  | { kind: 'polyType'; sql: string; chain: JoinNode[]; path: string }
  | { kind: 'polyId'; sql: string; chain: JoinNode[]; path: string };

interface Shared {
  org: Org;
  soql: string;
  now: number;
  aliasSeq: number;
}

/** One FROM scope (the main query, a child subquery or a semi-join subquery). */
class Scope {
  readonly sh: Shared;
  readonly def: ObjectDef;
  readonly alias: string;
  readonly userAlias: string | undefined;
  readonly joins: string[] = [];
  readonly nodes = new Map<string, JoinNode>();
  readonly cols = new Map<string, string>();
  readonly colSql: string[] = [];
  /** GROUP BY ROLLUP/CUBE: the grouped expressions, in order (GROUPING(field) refers to them by index). */
  rollup: { kind: 'ROLLUP' | 'CUBE'; exprs: string[] } | null = null;

  constructor(sh: Shared, def: ObjectDef, userAlias?: string) {
    this.sh = sh;
    this.def = def;
    this.alias = `t${sh.aliasSeq++}`;
    this.userAlias = userAlias;
  }

  /** Output column name for an SQL expression; the same expression is selected once. */
  col(sql: string): string {
    let c = this.cols.get(sql);
    if (!c) {
      c = `c${this.cols.size}`;
      this.cols.set(sql, c);
      this.colSql.push(`${sql} AS ${c}`);
    }
    return c;
  }

  from(): string {
    return `FROM ${q(this.def.name)} AS ${this.alias}${this.joins.length ? ' ' + this.joins.join(' ') : ''}`;
  }
}

/** The running user's locale and time zone (FORMAT, convertTimezone); the emulated org has one currency. */
function userPrefs(sh: Shared): { locale: string; timeZone: string; currency: string } {
  const row = sh.org.store.prepare(`SELECT "LocaleSidKey", "TimeZoneSidKey" FROM ${q('User')} WHERE "Id" = ?`).get(sh.org.currentUserId) as { LocaleSidKey?: string; TimeZoneSidKey?: string } | undefined;
  const known = (make: () => unknown) => {
    try {
      make();
      return true;
    } catch {
      return false;
    }
  };
  const tz = row?.TimeZoneSidKey ?? 'GMT';
  const locale = (row?.LocaleSidKey ?? 'en_US').replace(/_/g, '-');
  // A zone or locale the runtime does not know falls back to the org defaults rather than failing the query.
  return {
    locale: known(() => new Intl.NumberFormat(locale)) ? locale : 'en-US',
    timeZone: /^[A-Za-z0-9_+\-/]+$/.test(tz) && known(() => new Intl.DateTimeFormat('en-US', { timeZone: tz })) ? tz : 'GMT',
    currency: 'USD',
  };
}

function err(sh: Shared, code: string, token: string | undefined, text: string, from = 0): never {
  throw soqlError(code, sh.soql, token === undefined ? undefined : (locate(sh.soql, token, from) ?? locate(sh.soql, token)), text);
}

function visibleField(org: Org, objectName: string, name: string): FieldDef | undefined {
  const f = org.schema.field(objectName, name);
  return f && !f.hidden && !f.deprecatedAndHidden ? f : undefined;
}

function join(scope: Scope, parent: JoinNode | null, field: FieldDef): JoinNode {
  const key = `${parent?.key ?? ''}.${field.relationshipName!.toLowerCase()}`;
  const existing = scope.nodes.get(key);
  if (existing) return existing;
  const org = scope.sh.org;
  const parentAlias = parent ? parent.alias! : scope.alias;
  const fkSql = `${parentAlias}.${q(field.name)}`;
  const targets = (field.referenceTo ?? []).map((t) => org.schema.get(t)).filter((d): d is ObjectDef => d !== undefined);
  const node: JoinNode = { key, rel: field.relationshipName!, field, fkSql, def: null, alias: null, targets: [], depth: (parent?.depth ?? 0) + 1 };
  const add = (def: ObjectDef) => {
    const alias = `t${scope.sh.aliasSeq++}`;
    // Deleted parents are not reachable through a lookup (the platform clears the reference on delete).
    scope.joins.push(`LEFT JOIN ${q(def.name)} AS ${alias} ON ${alias}."Id" = ${fkSql} AND ${alias}."IsDeleted" = 0`);
    return alias;
  };
  if ((field.referenceTo ?? []).length > 1) {
    node.targets = targets.map((def) => ({ def, alias: add(def) }));
  } else if (targets.length === 1) {
    node.def = targets[0];
    node.alias = add(targets[0]);
  }
  scope.nodes.set(key, node);
  return node;
}

/** Resolves a dotted field path (`Account.Owner.Email`, `a.Name`, `What.Type`) in a scope. */
function resolve(scope: Scope, rawPath: string, clausePos = 0, from?: JoinNode): Resolved {
  const sh = scope.sh;
  const org = sh.org;
  let segs = rawPath.split('.');
  if (from) {
    // A TYPEOF branch: the path starts at one concrete target of the polymorphic relationship.
  } else if (segs.length > 1 && scope.userAlias && segs[0].toLowerCase() === scope.userAlias.toLowerCase()) segs = segs.slice(1);
  // `SELECT Contact.FirstName FROM Contact`: the queried object's own name may qualify a path, unless it
  // also names a relationship of that object (which then wins, as it did before qualifiers existed).
  else if (segs.length > 1 && segs[0].toLowerCase() === scope.def.name.toLowerCase() && !org.schema.relationship(scope.def.name, segs[0])) segs = segs.slice(1);
  const chain: JoinNode[] = [];
  let def = from?.def ?? scope.def;
  let alias = from?.alias ?? scope.alias;
  let node: JoinNode | null = from ?? null;
  const canon: string[] = [];
  for (let i = 0; i < segs.length - 1; i++) {
    const seg = segs[i];
    if (node && node.def === null) err(sh, 'INVALID_FIELD', rawPath, unknownRelationship(seg), clausePos);
    const f = org.schema.relationship(def.name, seg);
    if (!f || f.hidden || f.type !== 'reference') err(sh, 'INVALID_FIELD', rawPath, unknownRelationship(seg), clausePos);
    node = join(scope, node, f);
    if (node.depth > MAX_PARENT_DEPTH) {
      err(sh, 'MALFORMED_QUERY', rawPath, `SOQL statements cannot query relationships that are more than ${MAX_PARENT_DEPTH} levels away from the root entity object.`, clausePos);
    }
    chain.push(node);
    canon.push(node.rel);
    if (node.def) {
      def = node.def;
      alias = node.alias!;
    }
  }
  const last = segs[segs.length - 1];
  if (node && node.def === null) {
    // Polymorphic relationship: only fields of the "Name" entity, read from whichever target matched.
    const lower = last.toLowerCase();
    if (lower === 'type') return { kind: 'polyType', sql: polyTypeSql(node), chain, path: [...canon, 'Type'].join('.') };
    if (lower === 'id') return { kind: 'polyId', sql: node.fkSql, chain, path: [...canon, 'Id'].join('.') };
    if (!NAME_ENTITY_FIELDS.has(lower)) err(sh, 'INVALID_FIELD', rawPath, noSuchColumn(last, 'Name'), clausePos);
    const having = node.targets.map((t) => ({ t, f: visibleField(org, t.def.name, last) })).filter((x) => x.f && isStored(x.f));
    if (having.length === 0) err(sh, 'INVALID_FIELD', rawPath, noSuchColumn(last, 'Name'), clausePos);
    const f = having[0].f!;
    const parts = having.map((x) => `${x.t.alias}.${q(x.f!.name)}`);
    let sql = parts.length === 1 ? parts[0] : `COALESCE(${parts.join(', ')})`;
    if (parts.length > 1 && TEXTUAL.has(f.type) && f.type !== 'id' && f.type !== 'reference') sql = `(${sql} COLLATE NOCASE)`;
    return { kind: 'field', sql, field: f, owner: having[0].t.def, alias: having[0].t.alias, chain, name: f.name, path: [...canon, f.name].join('.') };
  }
  const f = visibleField(org, def.name, last);
  if (!f) err(sh, 'INVALID_FIELD', rawPath, noSuchColumn(last, def.name), clausePos);
  // A formula field is its expression over the same row's columns, so every clause can use it.
  const sql = f.formula
    ? formulaSql(f.formula, (name) => {
        const c = org.schema.field(def.name, name);
        return c && isStored(c) ? `${alias}.${q(c.name)}` : null;
      })
    : `${alias}.${q(f.name)}`;
  return { kind: 'field', sql, field: f, owner: def, alias, chain, name: f.name, path: [...canon, f.name].join('.') };
}

function polyTypeSql(node: JoinNode): string {
  // Key prefixes and object names come from the schema (alphanumeric), never from the request.
  const whens = node.targets.filter((t) => t.def.keyPrefix && /^\w+$/.test(t.def.keyPrefix)).map((t) => `WHEN '${t.def.keyPrefix}' THEN '${t.def.name}'`);
  return whens.length ? `(CASE substr(${node.fkSql}, 1, 3) ${whens.join(' ')} END)` : 'NULL';
}

function newBody(): OutBody {
  return { entries: [], byKey: new Map() };
}

function put(body: OutBody, node: OutNode): OutNode {
  const existing = body.byKey.get(node.key);
  if (existing) return existing;
  body.entries.push(node);
  body.byKey.set(node.key, node);
  return node;
}

/** The body a resolved field's value goes in: nested parent objects are created on first mention. */
function bodyFor(scope: Scope, root: OutBody, chain: JoinNode[]): OutBody {
  let body = root;
  for (const node of chain) {
    if (node.def) {
      const n = put(body, { k: 'parent', key: node.rel, type: node.def.name, idCol: scope.col(`${node.alias}."Id"`), body: newBody() }) as Extract<OutNode, { k: 'parent' }>;
      body = n.body;
    } else {
      const n = put(body, { k: 'poly', key: node.rel, fkCol: scope.col(node.fkSql), common: newBody(), byType: new Map(), otherwise: null }) as Extract<OutNode, { k: 'poly' }>;
      body = n.common;
    }
  }
  return body;
}

/** Adds the output node for a plain field (stored, compound or formula) read from `alias`. */
function fieldNode(scope: Scope, f: FieldDef, owner: ObjectDef, alias: string, sql: string, key = f.name): OutNode {
  if (f.type === 'address') {
    const prefix = f.name.replace(/Address$/, '');
    const comp = (suffix: string, k: string): [string, string] | null => {
      const c = visibleField(scope.sh.org, owner.name, `${prefix}${suffix}`);
      return c && isStored(c) ? [k, scope.col(`${alias}.${q(c.name)}`)] : null;
    };
    const parts = [comp('City', 'city'), comp('Country', 'country'), comp('GeocodeAccuracy', 'geocodeAccuracy'), comp('Latitude', 'latitude'), comp('Longitude', 'longitude'), comp('PostalCode', 'postalCode'), comp('State', 'state'), comp('Street', 'street')];
    return { k: 'addr', key, parts: parts.filter((p): p is [string, string] => p !== null) };
  }
  if (f.type === 'location') {
    const comps = owner.fields.filter((c) => c.compoundFieldName === f.name);
    const lat = comps.find((c) => /Latitude/.test(c.name));
    const lon = comps.find((c) => /Longitude/.test(c.name));
    return { k: 'loc', key, lat: lat ? scope.col(`${alias}.${q(lat.name)}`) : null, lon: lon ? scope.col(`${alias}.${q(lon.name)}`) : null };
  }
  if (!isStored(f) && !f.formula) return { k: 'const', key, value: null };
  if (f.type === 'base64') return { k: 'blob', key, type: owner.name, idCol: scope.col(`${alias}.Id`), has: scope.col(`${sql} IS NOT NULL`) };
  return { k: 'val', key, col: scope.col(sql), type: f.type };
}

function addResolved(scope: Scope, root: OutBody, r: Resolved): void {
  const body = bodyFor(scope, root, r.chain);
  if (r.kind === 'polyType') {
    put(body, { k: 'polyType', key: 'Type', fkCol: scope.col(r.chain[r.chain.length - 1].fkSql) });
  } else if (r.kind === 'polyId') {
    put(body, { k: 'val', key: 'Id', col: scope.col(r.sql), type: 'id' });
  } else {
    put(body, fieldNode(scope, r.field, r.owner, r.alias, r.sql));
  }
}

// ---------------------------------------------------------------------------------------------------
// Literals

/** A SOQL string literal's value (backslash escapes resolved; in LIKE, `\\%`, `\\_` and `\\\\` kept escaped). */
export function unquote(raw: string, forLike: boolean): string {
  const body = raw.length >= 2 && raw[0] === "'" && raw[raw.length - 1] === "'" ? raw.slice(1, -1) : raw;
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c !== '\\') {
      out += c;
      continue;
    }
    const n = body[++i];
    switch (n) {
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'u': out += String.fromCharCode(parseInt(body.slice(i + 1, i + 5), 16)); i += 4; break;
      // In LIKE the escape survives so SQLite's ESCAPE '\' treats %, _ and \ literally.
      case '%': case '_': out += forLike ? `\\${n}` : n; break;
      case '\\': out += forLike ? '\\\\' : '\\'; break;
      default: out += n ?? ''; break;
    }
  }
  return out;
}

function soapTypeName(t: FieldType): string {
  if (t === 'int' || t === 'long') return 'integer';
  if (NUMERIC.has(t)) return 'double';
  if (t === 'datetime') return 'dateTime';
  if (t === 'date' || t === 'boolean' || t === 'time') return t;
  return 'string';
}

type Lit = { v: SqlValue } | { range: DateRange; date: boolean };

interface Target {
  type: FieldType;
  name: string;
}

/** Converts one literal for comparison with a value of type `t.type`, refusing mismatched types. */
function literal(sh: Shared, t: Target, litType: string, raw: string, dateN: number | undefined, rawPath: string, forLike = false): Lit {
  const wrong = (): never => {
    const quoted = TEXTUAL.has(t.type);
    return err(sh, 'INVALID_FIELD', rawPath, `value of filter criterion for field '${t.name}' must be of type ${soapTypeName(t.type)} and should${quoted ? '' : ' not'} be enclosed in quotes`, keywordPos(sh.soql, 'WHERE') ?? 0);
  };
  if (litType === 'NULL') return { v: null };
  switch (litType) {
    case 'STRING': {
      if (!TEXTUAL.has(t.type)) return wrong();
      const s = unquote(raw, forLike);
      if ((t.type === 'id' || t.type === 'reference') && !forLike) {
        if (!isValidId(s)) err(sh, 'INVALID_QUERY_FILTER_OPERATOR', rawPath, `invalid ID field: ${s}`, keywordPos(sh.soql, 'WHERE') ?? 0);
        return { v: normaliseId(s) };
      }
      return { v: s };
    }
    case 'BOOLEAN':
      if (t.type !== 'boolean') return wrong();
      return { v: raw.toUpperCase() === 'TRUE' ? 1 : 0 };
    case 'INTEGER':
    case 'DECIMAL':
    case 'INTEGER_WITH_CURRENCY_PREFIX':
    case 'DECIMAL_WITH_CURRENCY_PREFIX': {
      if (!NUMERIC.has(t.type)) return wrong();
      return { v: Number(raw.replace(/^[A-Za-z]{3}/, '')) };
    }
    case 'DATE':
      if (t.type !== 'date') return wrong();
      return { v: raw };
    case 'DATETIME': {
      if (t.type !== 'datetime') return wrong();
      const ms = parseDateTime(raw);
      if (ms === undefined) return wrong();
      return { v: ms };
    }
    case 'DATE_LITERAL':
    case 'DATE_N_LITERAL': {
      if (t.type !== 'date' && t.type !== 'datetime') return wrong();
      const name = raw.split(':')[0];
      const range = litType === 'DATE_LITERAL' ? dateLiteralRange(name, sh.now) : dateNLiteralRange(name, dateN ?? Number(raw.split(':')[1]), sh.now);
      if (!range) err(sh, 'MALFORMED_QUERY', raw, `unexpected token: '${raw}'`);
      return { range, date: t.type === 'date' };
    }
    default:
      return err(sh, 'MALFORMED_QUERY', raw, `unexpected token: '${raw}'`);
  }
}

// ---------------------------------------------------------------------------------------------------
// WHERE / HAVING

/** A WHERE/HAVING clause as a flat token list (the parser's AST nests it as a linked list with paren counts). */
export type Tok = '(' | ')' | 'NOT' | 'AND' | 'OR' | { cond: Condition | ValueQueryCondition };

export function flatten(w: WhereClause | HavingClause | undefined): Tok[] {
  const out: Tok[] = [];
  let node: WhereClause | HavingClause | undefined = w;
  while (node) {
    const left = node.left as (Condition & { openParen?: number; closeParen?: number }) | null;
    const op = 'operator' in node ? node.operator : undefined;
    const isCond = left !== null && ('field' in left || 'fn' in left);
    for (let i = 0; i < (left?.openParen ?? 0); i++) out.push('(');
    if (isCond) out.push({ cond: left as Condition });
    for (let i = 0; i < (isCond ? (left?.closeParen ?? 0) : 0); i++) out.push(')');
    if (op) out.push(op);
    node = op ? (node as { right: WhereClause }).right : undefined;
  }
  return out;
}

type Leaf = (cond: Condition | ValueQueryCondition) => Frag;

/** Boolean structure over compiled leaves. SOQL needs parentheses to mix AND and OR at one level. */
function compileBool(sh: Shared, toks: Tok[], leaf: Leaf): Frag {
  let i = 0;
  const unary = (): Frag => {
    const t = toks[i++];
    if (t === 'NOT') {
      const inner = unary();
      // Two-valued logic: NOT over a NULL comparison is true, as on the platform.
      return { sql: `NOT COALESCE(${inner.sql}, 0)`, params: inner.params };
    }
    if (t === '(') {
      const e = expr();
      if (toks[i++] !== ')') err(sh, 'MALFORMED_QUERY', undefined, 'unexpected token: missing closing parenthesis');
      return e;
    }
    if (t && typeof t === 'object') return leaf(t.cond);
    return err(sh, 'MALFORMED_QUERY', undefined, `unexpected token: '${String(t ?? '<EOF>')}'`);
  };
  const expr = (): Frag => {
    const parts = [unary()];
    let op: string | null = null;
    while (toks[i] === 'AND' || toks[i] === 'OR') {
      const next = toks[i++] as string;
      if (op && op !== next) err(sh, 'MALFORMED_QUERY', next, `unexpected token: '${next}'`, keywordPos(sh.soql, 'WHERE') ?? 0);
      op = next;
      parts.push(unary());
    }
    if (parts.length === 1) return parts[0];
    return { sql: `(${parts.map((p) => p.sql).join(` ${op} `)})`, params: parts.flatMap((p) => p.params) };
  };
  const out = expr();
  if (i < toks.length) err(sh, 'MALFORMED_QUERY', undefined, `unexpected token: '${String(toks[i])}'`);
  return out;
}

/** One comparison `lhs op value(s)` with SOQL's semantics (null-inclusive !=, case-insensitive text). */
function comparison(sh: Shared, lhs: string, t: Target, cond: { operator: string; value: string | string[]; literalType?: unknown; dateLiteralVariable?: number | number[] }, rawPath: string): Frag {
  const op = cond.operator.toUpperCase();
  const values = Array.isArray(cond.value) ? cond.value : [cond.value];
  const types = Array.isArray(cond.literalType) ? (cond.literalType as string[]) : values.map(() => String(cond.literalType ?? 'STRING'));
  const ns = Array.isArray(cond.dateLiteralVariable) ? cond.dateLiteralVariable : values.map(() => cond.dateLiteralVariable as number | undefined);
  const lits = values.map((v, i) => literal(sh, t, types[i] ?? types[0], v, ns[i], rawPath, op === 'LIKE'));
  const badOp = (): never => err(sh, 'INVALID_QUERY_FILTER_OPERATOR', rawPath, `invalid operator on ${soapTypeName(t.type) === 'string' ? t.type : soapTypeName(t.type)} field: ${op}`, keywordPos(sh.soql, 'WHERE') ?? 0);
  if (t.type === 'multipicklist' && !['=', '!=', 'INCLUDES', 'EXCLUDES', 'IN', 'NOT IN'].includes(op)) badOp();
  if ((op === 'INCLUDES' || op === 'EXCLUDES') && t.type !== 'multipicklist') badOp();
  if (op === 'LIKE' && !TEXTUAL.has(t.type)) badOp();

  if ((op === 'IN' || op === 'NOT IN') && lits.some((l) => 'range' in l)) {
    // `CreatedDate IN (TODAY, LAST_N_DAYS:7, 2024-01-01)`: a record matches when it falls in any range
    // or equals any plain value.
    const parts: string[] = [];
    const params: SqlValue[] = [];
    for (const l of lits) {
      if ('range' in l) {
        parts.push(`(${lhs} >= ? AND ${lhs} < ?)`);
        params.push(l.date ? isoDate(l.range.start) : l.range.start, l.date ? isoDate(l.range.end) : l.range.end);
      } else if (l.v === null) {
        parts.push(`${lhs} IS NULL`);
      } else {
        parts.push(`${lhs} = ?`);
        params.push(l.v);
      }
    }
    const any = `(${parts.join(' OR ')})`;
    return op === 'IN' ? { sql: any, params } : { sql: `NOT COALESCE(${any}, 0)`, params };
  }
  const first = lits[0];
  if ('range' in first) {
    if (lits.length > 1) badOp();
    const s: SqlValue = first.date ? isoDate(first.range.start) : first.range.start;
    const e: SqlValue = first.date ? isoDate(first.range.end) : first.range.end;
    switch (op) {
      case '=': return { sql: `(${lhs} >= ? AND ${lhs} < ?)`, params: [s, e] };
      case '!=': return { sql: `NOT COALESCE(${lhs} >= ? AND ${lhs} < ?, 0)`, params: [s, e] };
      case '<': return { sql: `${lhs} < ?`, params: [s] };
      case '<=': return { sql: `${lhs} < ?`, params: [e] };
      case '>': return { sql: `${lhs} >= ?`, params: [e] };
      case '>=': return { sql: `${lhs} >= ?`, params: [s] };
      default: return badOp();
    }
  }
  const vals = lits.map((l) => (l as { v: SqlValue }).v);
  const v = vals[0];
  switch (op) {
    case '=':
      return v === null ? { sql: `${lhs} IS NULL`, params: [] } : { sql: `${lhs} = ?`, params: [v] };
    case '!=':
    case '<>':
      // SOQL's != matches rows where the field is null; IS NOT is SQLite's null-safe inequality.
      return v === null ? { sql: `${lhs} IS NOT NULL`, params: [] } : { sql: `${lhs} IS NOT ?`, params: [v] };
    case '<': case '<=': case '>': case '>=':
      if (v === null) return { sql: '0', params: [] };
      if (t.type === 'boolean') badOp();
      return { sql: `${lhs} ${op} ?`, params: [v] };
    case 'LIKE':
      if (v === null) return { sql: '0', params: [] };
      return { sql: `${lhs} LIKE ? ESCAPE '\\'`, params: [v] };
    case 'IN':
    case 'NOT IN': {
      const nonNull = vals.filter((x) => x !== null);
      const hasNull = nonNull.length !== vals.length;
      const parts: string[] = [];
      if (nonNull.length) parts.push(`${lhs} IN (${nonNull.map(() => '?').join(', ')})`);
      if (hasNull) parts.push(`${lhs} IS NULL`);
      const pos = parts.length ? `(${parts.join(' OR ')})` : '0';
      return op === 'IN' ? { sql: pos, params: nonNull } : { sql: `NOT COALESCE(${pos}, 0)`, params: nonNull };
    }
    case 'INCLUDES':
    case 'EXCLUDES': {
      // 'a;b' means both a and b; the list means any of its entries. Values are compared case-insensitively.
      const groups = vals.filter((x): x is string => typeof x === 'string').map((s) => s.split(';').map((p) => p.trim()).filter(Boolean));
      const params: SqlValue[] = [];
      const ors = groups.map((g) => `(${g.map((p) => { params.push(`;${p.toLowerCase()};`); return `instr(';' || lower(${lhs}) || ';', ?) > 0`; }).join(' AND ')})`);
      const pos = ors.length ? `(${ors.join(' OR ')})` : '0';
      return op === 'INCLUDES' ? { sql: `COALESCE(${pos}, 0)`, params } : { sql: `NOT COALESCE(${pos}, 0)`, params };
    }
    default:
      return badOp();
  }
}

/** Date functions (CALENDAR_YEAR(CreatedDate) …) over a datetime (epoch ms) or date (ISO text) column. */
function dateFunction(sh: Shared, name: string, arg: Resolved, raw: string): { sql: string; type: FieldType } {
  if (arg.kind !== 'field' || (arg.field.type !== 'datetime' && arg.field.type !== 'date')) {
    err(sh, 'MALFORMED_QUERY', raw, `${name} requires a date or dateTime field`);
  }
  const src = arg.field.type === 'datetime' ? `${arg.sql} / 1000, 'unixepoch'` : arg.sql;
  const part = (fmt: string) => `CAST(strftime('${fmt}', ${src}) AS INTEGER)`;
  switch (name) {
    case 'CALENDAR_YEAR': case 'FISCAL_YEAR': return { sql: part('%Y'), type: 'int' };
    case 'CALENDAR_MONTH': case 'FISCAL_MONTH': return { sql: part('%m'), type: 'int' };
    case 'CALENDAR_QUARTER': case 'FISCAL_QUARTER': return { sql: `((${part('%m')} + 2) / 3)`, type: 'int' };
    case 'DAY_IN_MONTH': return { sql: part('%d'), type: 'int' };
    case 'DAY_IN_WEEK': return { sql: `(${part('%w')} + 1)`, type: 'int' };
    case 'DAY_IN_YEAR': return { sql: part('%j'), type: 'int' };
    case 'HOUR_IN_DAY': return { sql: part('%H'), type: 'int' };
    case 'WEEK_IN_MONTH': return { sql: `((${part('%d')} - 1) / 7 + 1)`, type: 'int' };
    case 'WEEK_IN_YEAR': return { sql: `((${part('%j')} - 1) / 7 + 1)`, type: 'int' };
    case 'DAY_ONLY': return { sql: `strftime('%Y-%m-%d', ${src})`, type: 'date' };
    default: return err(sh, 'MALFORMED_QUERY', raw, `unexpected token: '${name}'`);
  }
}

/**
 * `DISTANCE(field, GEOLOCATION(lat, lon), 'mi'|'km')` over a geolocation field or a compound address
 * (its Latitude/Longitude components), as SQL calling the store's haversine `sf_distance()`.
 */
function distanceSql(scope: Scope, fn: FunctionExp, clausePos: number): { sql: string; type: FieldType } {
  const sh = scope.sh;
  const raw = fn.rawValue ?? 'DISTANCE';
  const [loc, point, unitRaw] = fn.parameters ?? [];
  if (typeof loc !== 'string') return err(sh, 'MALFORMED_QUERY', raw, 'DISTANCE() requires a geolocation or address field as its first argument', clausePos);
  const r = resolve(scope, loc, clausePos);
  if (r.kind !== 'field' || (r.field.type !== 'location' && r.field.type !== 'address')) {
    return err(sh, 'INVALID_FIELD', loc, `DISTANCE() requires a geolocation or address field: ${r.kind === 'field' ? r.field.name : loc}`, clausePos);
  }
  let lat: FieldDef | undefined;
  let lon: FieldDef | undefined;
  if (r.field.type === 'address') {
    const prefix = r.field.name.replace(/Address$/, '');
    lat = sh.org.schema.field(r.owner.name, `${prefix}Latitude`);
    lon = sh.org.schema.field(r.owner.name, `${prefix}Longitude`);
  } else {
    const comps = r.owner.fields.filter((c) => c.compoundFieldName === r.field.name);
    lat = comps.find((c) => /Latitude/.test(c.name));
    lon = comps.find((c) => /Longitude/.test(c.name));
  }
  if (!lat || !lon) return err(sh, 'INVALID_FIELD', loc, `DISTANCE() requires a geolocation or address field: ${r.field.name}`, clausePos);
  if (!point || typeof point === 'string' || (point.functionName ?? '').toUpperCase() !== 'GEOLOCATION') {
    return err(sh, 'MALFORMED_QUERY', raw, 'DISTANCE() requires GEOLOCATION(latitude, longitude) as its second argument', clausePos);
  }
  // Coordinates are inlined as numbers, which they are checked to be.
  const coords = (point.parameters ?? []).map((x) => (typeof x === 'string' ? Number(x) : NaN));
  if (coords.length !== 2 || !coords.every(Number.isFinite) || Math.abs(coords[0]) > 90 || Math.abs(coords[1]) > 180) {
    return err(sh, 'MALFORMED_QUERY', point.rawValue ?? 'GEOLOCATION', 'GEOLOCATION() takes a latitude between -90 and 90 and a longitude between -180 and 180', clausePos);
  }
  const unit = typeof unitRaw === 'string' ? unitRaw.replace(/^'|'$/g, '').toLowerCase() : '';
  if (unit !== 'mi' && unit !== 'km') return err(sh, 'MALFORMED_QUERY', typeof unitRaw === 'string' ? unitRaw : raw, `DISTANCE() unit must be 'mi' or 'km'`, clausePos);
  return { sql: `sf_distance(${r.alias}.${q(lat.name)}, ${r.alias}.${q(lon.name)}, ${coords[0]}, ${coords[1]}, '${unit}')`, type: 'double' };
}

/**
 * `convertCurrency(field)` in a select list. The emulated org has one currency, so the value is the
 * record's own; what Salesforce refuses (a non-currency field, an aggregate's result) is refused.
 */
function convertCurrencySql(scope: Scope, fn: FunctionExp): Resolved & { kind: 'field' } {
  const sh = scope.sh;
  const raw = fn.rawValue ?? 'convertCurrency';
  const p = fnParam(fn);
  if (p === undefined) return err(sh, 'MALFORMED_QUERY', raw, `unexpected token: ')'`);
  if (typeof p !== 'string') {
    if (AGGREGATES.has((p.functionName ?? '').toUpperCase())) return err(sh, 'MALFORMED_QUERY', raw, 'convertCurrency() cannot convert the result of an aggregate function');
    return err(sh, 'MALFORMED_QUERY', raw, `unexpected token: '${p.functionName ?? ''}'`);
  }
  const r = resolve(scope, p);
  if (r.kind !== 'field' || r.field.type !== 'currency') return err(sh, 'INVALID_FIELD', raw, `convertCurrency() can only be applied to currency fields: ${r.kind === 'field' ? r.field.name : p}`);
  return r;
}

function fnParam(fn: FunctionExp): string | FunctionExp | undefined {
  return fn.parameters?.[0];
}

/** Compiles a function expression: aggregates (in aggregate context), date functions, pass-through ones. */
function functionSql(scope: Scope, fn: FunctionExp, allowAggregate: boolean, clausePos = 0): { sql: string; type: FieldType; field?: FieldDef; aggregate: boolean } {
  const sh = scope.sh;
  const name = (fn.functionName ?? '').toUpperCase();
  const raw = fn.rawValue ?? name;
  const p = fnParam(fn);
  const inner = (): { sql: string; type: FieldType; field?: FieldDef; resolved?: Resolved } => {
    if (p === undefined) return err(sh, 'MALFORMED_QUERY', raw, `unexpected token: ')'`, clausePos);
    if (typeof p !== 'string') return functionSql(scope, p, false, clausePos);
    const r = resolve(scope, p, clausePos);
    if (r.kind !== 'field') return { sql: r.sql, type: r.kind === 'polyType' ? 'string' : 'id', resolved: r };
    return { sql: r.sql, type: r.field.type, field: r.field, resolved: r };
  };
  if (name === 'GROUPING') {
    if (!scope.rollup) err(sh, 'MALFORMED_QUERY', raw, 'GROUPING() can only be used with GROUP BY ROLLUP or GROUP BY CUBE', clausePos);
    if (typeof p !== 'string') return err(sh, 'MALFORMED_QUERY', raw, `unexpected token: '${name}'`, clausePos);
    const r = resolve(scope, p, clausePos);
    const i = scope.rollup.exprs.indexOf(r.sql);
    if (i < 0) err(sh, 'MALFORMED_QUERY', raw, `GROUPING field must be grouped: ${r.kind === 'field' ? r.field.name : p}`, clausePos);
    // A marker each grouping set of the plan replaces with 0 or 1 (see rollupPlan).
    return { sql: groupingMarker(i), type: 'int', aggregate: true };
  }
  if (AGGREGATES.has(name)) {
    if (!allowAggregate) err(sh, 'MALFORMED_QUERY', raw, `Aggregate function ${name} is not allowed here`, clausePos);
    if (name === 'COUNT' && p === undefined) return { sql: 'COUNT(*)', type: 'int', aggregate: true };
    if ((fn.parameters?.length ?? 0) > 1) {
      // Aggregates take one field: the parser accepts a list, Salesforce stops at the comma.
      const start = locate(sh.soql, fn.functionName ?? name, clausePos) ?? locate(sh.soql, fn.functionName ?? name);
      const comma = start === undefined ? -1 : sh.soql.indexOf(',', start);
      throw soqlError('MALFORMED_QUERY', sh.soql, comma >= 0 ? comma : start, `unexpected token: ','`);
    }
    const a = inner();
    if ((name === 'SUM' || name === 'AVG') && !NUMERIC.has(a.type)) {
      err(sh, 'INVALID_FIELD', raw, `field ${a.field?.name ?? String(p)} does not support aggregate operator ${name}`, clausePos);
    }
    if (a.field && (a.field.type === 'multipicklist' || !filterable(a.field) || (a.field.aggregatable === false))) {
      err(sh, 'INVALID_FIELD', raw, `field ${a.field.name} does not support aggregate operator ${name}`, clausePos);
    }
    switch (name) {
      case 'COUNT': return { sql: `COUNT(${a.sql})`, type: 'int', aggregate: true };
      case 'COUNT_DISTINCT': return { sql: `COUNT(DISTINCT ${a.sql})`, type: 'int', aggregate: true };
      case 'AVG': return { sql: `AVG(${a.sql})`, type: 'double', aggregate: true };
      default: return { sql: `${name}(${a.sql})`, type: a.type, field: a.field, aggregate: true };
    }
  }
  if (DATE_FUNCTIONS.has(name)) {
    if (p !== undefined && typeof p !== 'string' && (p.functionName ?? '').toUpperCase() === 'CONVERTTIMEZONE') {
      const inner = fnParam(p);
      if (typeof inner !== 'string') return err(sh, 'MALFORMED_QUERY', raw, `unexpected token: '${name}'`, clausePos);
      const r = resolve(scope, inner, clausePos);
      if (r.kind !== 'field' || r.field.type !== 'datetime') err(sh, 'MALFORMED_QUERY', raw, 'convertTimezone() requires a dateTime field', clausePos);
      // The time zone comes from the User row's restricted picklist and is checked to be a plain name.
      const tz = userPrefs(sh).timeZone;
      const shifted = { ...r, sql: `(${r.sql} + sf_tz_offset(${r.sql}, '${tz}'))` };
      return { ...dateFunction(sh, name, shifted, raw), aggregate: false };
    }
    if (typeof p !== 'string') return err(sh, 'MALFORMED_QUERY', raw, `unexpected token: '${name}'`, clausePos);
    const r = resolve(scope, p, clausePos);
    return { ...dateFunction(sh, name, r, raw), aggregate: false };
  }
  if (name === 'DISTANCE') return { ...distanceSql(scope, fn, clausePos), aggregate: false };
  if (name === 'GEOLOCATION') return err(sh, 'MALFORMED_QUERY', raw, 'GEOLOCATION() can only be used as the second argument of DISTANCE()', clausePos);
  if (name === 'CONVERTTIMEZONE') return err(sh, 'MALFORMED_QUERY', raw, 'convertTimezone() can only be used in a date function', clausePos);
  if (name === 'FORMAT') return err(sh, 'MALFORMED_QUERY', raw, 'FORMAT() can only be used in the SELECT clause', clausePos);
  // "You can't use the convertCurrency() function in a WHERE clause", nor with ORDER BY: SELECT only.
  if (name === 'CONVERTCURRENCY') return err(sh, 'MALFORMED_QUERY', raw, 'convertCurrency() can only be used in the SELECT clause', clausePos);
  if (PASSTHROUGH_FUNCTIONS.has(name)) {
    const a = inner();
    return { sql: a.sql, type: a.type, field: a.field, aggregate: false };
  }
  return err(sh, 'MALFORMED_QUERY', raw, `unexpected token: '${fn.functionName}'`, clausePos);
}

function whereLeaf(scope: Scope, clausePos: number, aggregate: boolean): Leaf {
  const sh = scope.sh;
  return (cond) => {
    if ('valueQuery' in cond && cond.valueQuery) return semiJoin(scope, cond as ValueQueryCondition, clausePos);
    if ('fn' in cond && cond.fn) {
      const op = String((cond as { operator?: string }).operator ?? '');
      if ((cond.fn.functionName ?? '').toUpperCase() === 'DISTANCE' && op !== '<' && op !== '>') {
        err(sh, 'MALFORMED_QUERY', cond.fn.rawValue ?? 'DISTANCE', `DISTANCE() can only be compared with < or >`, clausePos);
      }
      const f = functionSql(scope, cond.fn, aggregate, clausePos);
      return comparison(sh, f.sql, { type: f.type, name: f.field?.name ?? cond.fn.rawValue ?? '' }, cond as never, cond.fn.rawValue ?? '');
    }
    const c = cond as Condition & { field: string };
    const r = resolve(scope, c.field, clausePos);
    if (r.kind === 'polyType') return comparison(sh, r.sql, { type: 'string', name: 'Type' }, c as never, c.field);
    if (r.kind === 'polyId') return comparison(sh, r.sql, { type: 'reference', name: 'Id' }, c as never, c.field);
    if (!aggregate && !filterable(r.field)) err(sh, 'INVALID_FIELD', c.field, `field '${r.field.name}' can not be filtered in a query call`, clausePos);
    if (!isStored(r.field) && !r.field.formula) return { sql: '0', params: [] };
    return comparison(sh, r.sql, { type: r.field.type, name: r.field.name }, c as never, c.field);
  };
}

/**
 * Salesforce's placement rules for semi-joins and anti-joins, checked before compiling: at most two per
 * WHERE, each a term of the top-level AND (never under OR, NOT or parentheses), never inside another.
 */
function checkSemiJoins(sh: Shared, toks: Tok[], clausePos: number, insideSemiJoin: boolean): void {
  let depth = 0;
  const topOps = new Set<string>();
  const found: { cond: ValueQueryCondition; nested: boolean }[] = [];
  toks.forEach((t, i) => {
    if (t === '(') depth++;
    else if (t === ')') depth--;
    else if (t === 'AND' || t === 'OR') {
      if (depth === 0) topOps.add(t);
    } else if (typeof t === 'object' && 'valueQuery' in t.cond && t.cond.valueQuery) {
      found.push({ cond: t.cond as ValueQueryCondition, nested: depth > 0 || toks[i - 1] === 'NOT' });
    }
  });
  if (found.length === 0) return;
  // The k-th semi-join of this clause is the k-th `field [NOT] IN (SELECT` after the clause keyword.
  const starts = [...sh.soql.slice(clausePos).matchAll(/([\w.]+)\s+(?:NOT\s+)?IN\s*\(\s*SELECT\b/gi)].map((m) => clausePos + m.index);
  const refuse = (k: number, text: string): never => {
    throw soqlError('MALFORMED_QUERY', sh.soql, starts[k] ?? locate(sh.soql, found[k].cond.field, clausePos), text);
  };
  if (insideSemiJoin) refuse(0, 'Nesting of semi join sub-selects is not supported');
  const nested = found.findIndex((x) => x.nested);
  if (nested >= 0) refuse(nested, 'Semi join sub-selects are only allowed at the top level WHERE expressions and not in nested WHERE expressions.');
  if (topOps.has('OR')) refuse(0, "Semi join sub-selects are not allowed with the 'OR' operator");
  if (found.length > 2) refuse(2, 'Maximum 2 semi join sub-selects are allowed');
}

/** `Id IN (SELECT AccountId FROM Contact …)` and its NOT IN form. */
function semiJoin(scope: Scope, cond: ValueQueryCondition, clausePos: number): Frag {
  const sh = scope.sh;
  const lhs = resolve(scope, cond.field, clausePos);
  if (lhs.kind === 'field' && lhs.field.type !== 'id' && lhs.field.type !== 'reference') {
    err(sh, 'MALFORMED_QUERY', cond.field, `Invalid semi join: left operand of IN or NOT IN with a subquery must be an Id or reference field`, clausePos);
  }
  const sub = cond.valueQuery;
  const def = sh.org.schema.get(sub.sObject ?? '');
  if (!def || def.queryable === false) err(sh, 'INVALID_TYPE', sub.sObject, unsupportedType(sub.sObject ?? ''), clausePos);
  const inner = new Scope(sh, def, sub.sObjectAlias);
  const fields = sub.fields ?? [];
  if (fields.length !== 1 || (fields[0].type !== 'Field' && fields[0].type !== 'FieldRelationship')) {
    err(sh, 'MALFORMED_QUERY', sub.sObject, 'Semi join sub-selects must select exactly one Id or reference field', clausePos);
  }
  const f0 = fields[0] as { field: string; relationships?: string[] };
  const r = resolve(inner, [...(f0.relationships ?? []), f0.field].join('.'), clausePos);
  if (r.kind === 'field' && r.field.type !== 'id' && r.field.type !== 'reference') {
    err(sh, 'MALFORMED_QUERY', r.field.name, `Invalid semi join: sub-select field ${r.field.name} must be an Id or reference field`, clausePos);
  }
  let where: Frag | null = null;
  if (sub.where) {
    const toks = flatten(sub.where);
    // The sub-select's own WHERE, so a nested semi-join is pointed at where it is written.
    const own = new RegExp(`\\bFROM\\s+${(sub.sObject ?? '').replace(/\W/g, '')}\\b[^()]*?\\bWHERE\\b`, 'i').exec(sh.soql.slice(clausePos));
    checkSemiJoins(sh, toks, own ? clausePos + own.index : clausePos, true);
    where = compileBool(sh, toks, whereLeaf(inner, clausePos, false));
  }
  const pred = [`${inner.alias}."IsDeleted" = 0`, `${inner.alias}._visible_at <= ?`, `${r.sql} IS NOT NULL`];
  const params: SqlValue[] = [sh.now];
  const scoped = sub.usingScope === undefined ? null : scopeFilter(inner, sub.usingScope);
  if (scoped) {
    pred.push(scoped.sql);
    params.push(...scoped.params);
  }
  if (where) {
    pred.push(where.sql);
    params.push(...where.params);
  }
  const subSql = `SELECT ${r.sql} ${inner.from()} WHERE ${pred.join(' AND ')}`;
  const sql = `${lhs.sql} IN (${subSql})`;
  return cond.operator.toUpperCase() === 'NOT IN' ? { sql: `NOT COALESCE(${sql}, 0)`, params } : { sql, params };
}

// ---------------------------------------------------------------------------------------------------
// SELECT

function asArray<T>(v: T | T[] | undefined): T[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

function fieldsFunction(scope: Scope, query: Query | Subquery, which: string, raw: string): FieldDef[] {
  const w = which.toUpperCase();
  if ((w === 'ALL' || w === 'CUSTOM') && (query.limit === undefined || query.limit > 200)) {
    err(scope.sh, 'MALFORMED_QUERY', 'FIELDS', 'The SOQL FIELDS function must have a LIMIT of at most 200');
  }
  if (w !== 'ALL' && w !== 'CUSTOM' && w !== 'STANDARD') err(scope.sh, 'MALFORMED_QUERY', raw, `unexpected token: '${which}'`);
  return scope.def.fields.filter((f) => !f.hidden && !f.deprecatedAndHidden && (w === 'ALL' || (w === 'CUSTOM') === Boolean(f.custom || f.name.endsWith('__c'))));
}

interface BuildOpts {
  queryAll: boolean;
  /** Child subqueries compile with their relationship filter supplied at run time. */
  childOf?: { fkField: FieldDef };
}

function buildPlan(sh: Shared, query: Query | Subquery, def: ObjectDef, opts: BuildOpts): Plan {
  const scope = new Scope(sh, def, query.sObjectAlias);
  const body = newBody();
  const columns: string[] = [];
  const children: ChildPlan[] = [];
  const fields = query.fields ?? [];
  const groupBy = asArray<GroupByClause>(query.groupBy);
  const isAggFn = (f: AstField): boolean => {
    if (f.type !== 'FieldFunctionExpression') return false;
    const inner = f.parameters?.[0];
    // FORMAT(SUM(Amount)) makes the query an aggregate as SUM(Amount) does.
    if (f.functionName.toUpperCase() === 'FORMAT' && inner && typeof inner !== 'string') return AGGREGATES.has((inner.functionName ?? '').toUpperCase());
    return AGGREGATES.has(f.functionName.toUpperCase());
  };
  const aggregate = groupBy.length > 0 || fields.some(isAggFn);
  const countOnly = fields.length === 1 && fields[0].type === 'FieldFunctionExpression' && fields[0].functionName.toUpperCase() === 'COUNT' && fields[0].parameters.length === 0;
  const wherePos = keywordPos(sh.soql, 'WHERE') ?? 0;
  const groupPos = keywordPos(sh.soql, 'GROUP') ?? 0;
  const orderPos = keywordPos(sh.soql, 'ORDER') ?? 0;

  if (countOnly && groupBy.length === 0) {
    const where = whereFrag(scope, query, opts, wherePos);
    return {
      def, alias: scope.alias, select: 'COUNT(*) AS c0', from: scope.from(), where, groupBy: '', having: null, orderBy: '', limit: query.limit, offset: query.offset ?? 0,
      aggregate: true, countOnly: true, idCol: null, body, children, columns: [],
    };
  }
  if (countOnly) err(sh, 'MALFORMED_QUERY', 'COUNT', 'COUNT() and GROUP BY may not be used together', 0);

  // GROUP BY first: select-list fields of an aggregate query must be grouped.
  const groupSql: string[] = [];
  for (const g of groupBy) {
    if ('fn' in g) {
      const name = (g.fn.functionName ?? '').toUpperCase();
      if (name === 'ROLLUP' || name === 'CUBE') {
        // "All grouped fields must be within the parentheses", and at most three of them.
        if (groupBy.length > 1) {
          const rest = groupBy.find((x) => x !== g)!;
          err(sh, 'MALFORMED_QUERY', 'field' in rest ? rest.field : (rest.fn.functionName ?? ','), `GROUP BY ${name} cannot be combined with other GROUP BY fields`, groupPos);
        }
        const params = (g.fn.parameters ?? []) as string[];
        if (params.length > 3) err(sh, 'MALFORMED_QUERY', params[3], `GROUP BY ${name} can include at most 3 fields`, groupPos);
        for (const fname of params) {
          const r = resolve(scope, fname, groupPos);
          if (r.kind === 'field' && !groupable(r.field)) err(sh, 'INVALID_FIELD', fname, `field '${r.field.name}' can not be grouped in a query call`, groupPos);
          groupSql.push(r.sql);
        }
        scope.rollup = { kind: name, exprs: [...groupSql] };
        continue;
      }
      groupSql.push(functionSql(scope, g.fn, false, groupPos).sql);
      continue;
    }
    const r = resolve(scope, g.field, groupPos);
    if (r.kind === 'field' && !groupable(r.field)) err(sh, 'INVALID_FIELD', g.field, `field '${r.field.name}' can not be grouped in a query call`, groupPos);
    groupSql.push(r.sql);
  }

  let exprN = 0;
  const idCol = aggregate ? null : scope.col(`${scope.alias}."Id"`);
  for (const item of fields) {
    switch (item.type) {
      case 'Field':
      case 'FieldRelationship': {
        const path = item.type === 'Field' ? item.field : [...item.relationships, item.field].join('.');
        const r = resolve(scope, path);
        if (aggregate) {
          if (!groupSql.includes(r.sql)) err(sh, 'MALFORMED_QUERY', path, `Field must be grouped or aggregated: ${r.kind === 'field' ? r.field.name : path}`);
          const key = (item as { alias?: string }).alias ?? (r.kind === 'field' ? r.field.name : r.path.split('.').pop()!);
          put(body, { k: 'val', key, col: scope.col(r.sql), type: r.kind === 'field' ? r.field.type : 'string' });
          columns.push(key);
        } else {
          addResolved(scope, body, r);
          columns.push(r.path);
        }
        break;
      }
      case 'FieldFunctionExpression': {
        const name = item.functionName.toUpperCase();
        if (name === 'FIELDS') {
          for (const f of fieldsFunction(scope, query, String(item.parameters[0] ?? ''), item.rawValue ?? 'FIELDS')) {
            put(body, fieldNode(scope, f, def, scope.alias, `${scope.alias}.${q(f.name)}`));
            columns.push(f.name);
          }
          break;
        }
        // FORMAT(x) shapes x's value for display; what it wraps compiles as usual.
        const formatted = name === 'FORMAT';
        const target: string | FunctionExp | undefined = formatted ? (item.parameters[0] as string | FunctionExp | undefined) : (item as FunctionExp);
        if (target === undefined) err(sh, 'MALFORMED_QUERY', item.rawValue ?? name, `unexpected token: ')'`);
        const node = (key: string, col: string, type: FieldType, f?: FieldDef): OutNode => {
          if (!formatted) return { k: 'val', key, col, type };
          return { k: 'fmt', key, col, type, scale: f?.scale ?? (type === 'currency' ? 2 : 0), ...userPrefs(sh) };
        };
        if (!aggregate && (typeof target === 'string' || PASSTHROUGH_FUNCTIONS.has((target.functionName ?? '').toUpperCase()))) {
          // toLabel/FORMAT/convertCurrency over a field: the record key stays the field's name.
          let innermost: string | FunctionExp | undefined = target;
          while (innermost !== undefined && typeof innermost !== 'string') {
            const n = (innermost.functionName ?? '').toUpperCase();
            if (!PASSTHROUGH_FUNCTIONS.has(n) || n === 'FORMAT') err(sh, 'MALFORMED_QUERY', item.rawValue ?? name, `Only aggregate expressions use field aliasing`);
            if (n === 'CONVERTCURRENCY') convertCurrencySql(scope, innermost);
            innermost = fnParam(innermost);
          }
          if (innermost === undefined) err(sh, 'MALFORMED_QUERY', item.rawValue ?? name, `unexpected token: ')'`);
          const r = resolve(scope, innermost);
          const into = bodyFor(scope, body, r.chain);
          const key = item.alias ?? (r.kind === 'field' ? r.field.name : r.path.split('.').pop()!);
          put(into, node(key, scope.col(r.sql), r.kind === 'field' ? r.field.type : 'string', r.kind === 'field' ? r.field : undefined));
          columns.push(item.alias ?? r.path);
          break;
        }
        if (typeof target === 'string' || (target.functionName ?? '').toUpperCase() === 'CONVERTCURRENCY') {
          // FORMAT(field) or convertCurrency(field) in an aggregate query: the field must be grouped.
          const r = typeof target === 'string' ? resolve(scope, target) : convertCurrencySql(scope, target);
          const spelled = typeof target === 'string' ? target : (target.rawValue ?? name);
          if (!groupSql.includes(r.sql)) err(sh, 'MALFORMED_QUERY', spelled, `Field must be grouped or aggregated: ${r.kind === 'field' ? r.field.name : spelled}`);
          const key = item.alias ?? (r.kind === 'field' ? r.field.name : r.path.split('.').pop()!);
          put(body, node(key, scope.col(r.sql), r.kind === 'field' ? r.field.type : 'string', r.kind === 'field' ? r.field : undefined));
          columns.push(key);
          break;
        }
        const fn = functionSql(scope, target, aggregate);
        if (aggregate && !fn.aggregate && !groupSql.includes(fn.sql)) {
          err(sh, 'MALFORMED_QUERY', item.rawValue ?? name, `Field must be grouped or aggregated: ${item.rawValue ?? name}`);
        }
        // DISTANCE() is the one computed expression a non-aggregate select list may hold.
        if (!aggregate && name !== 'DISTANCE') err(sh, 'MALFORMED_QUERY', item.rawValue ?? name, `Only aggregate expressions use field aliasing`);
        const key = item.alias ?? `expr${exprN++}`;
        put(body, node(key, scope.col(fn.sql), fn.type, fn.field));
        columns.push(key);
        break;
      }
      case 'FieldSubquery': {
        if (aggregate) err(sh, 'MALFORMED_QUERY', item.subquery.relationshipName, 'Nested queries are not supported in aggregate queries');
        if (opts.childOf) err(sh, 'MALFORMED_QUERY', item.subquery.relationshipName, 'Nesting of semi join sub-selects is not supported');
        const rel = sh.org.schema.childRelationship(def.name, item.subquery.relationshipName);
        const childDef = rel ? sh.org.schema.get(rel.childSObject) : undefined;
        if (!rel || !childDef) err(sh, 'INVALID_TYPE', item.subquery.relationshipName, unknownChildRelationship(item.subquery.relationshipName));
        const fkField = sh.org.schema.field(childDef.name, rel.field)!;
        const plan = buildPlan(sh, item.subquery, childDef, { queryAll: opts.queryAll, childOf: { fkField } });
        const key = rel.relationshipName!;
        const fkCol = (plan as Plan & { fkCol: string }).fkCol;
        const order = plan.orderBy ? `${plan.orderBy}, ` : '';
        const sql = `SELECT ${plan.select} ${plan.from} WHERE ${plan.where.sql} ORDER BY ${order}_rk`;
        put(body, { k: 'child', key, index: children.length });
        children.push({ key, plan, fkCol, limit: item.subquery.limit, sql });
        columns.push(key);
        break;
      }
      case 'FieldTypeof': {
        if (aggregate) err(sh, 'MALFORMED_QUERY', 'TYPEOF', 'TYPEOF is not supported in aggregate queries');
        const refField = sh.org.schema.relationship(def.name, item.field);
        if (!refField || refField.hidden) err(sh, 'INVALID_FIELD', item.field, unknownRelationship(item.field));
        const typeofPos = locate(sh.soql, 'TYPEOF') ?? 0;
        // "typeOfField can't reference a relationship field that is also referenced in fieldList".
        const clash = fields.find((x) => x.type === 'FieldRelationship' && x.relationships[0].toLowerCase() === item.field.toLowerCase());
        if (clash) err(sh, 'MALFORMED_QUERY', item.field, `TYPEOF ${refField.relationshipName} cannot be used with ${refField.relationshipName} fields elsewhere in the select list`, typeofPos);
        const node = join(scope, null, refField);
        if (node.def) err(sh, 'MALFORMED_QUERY', item.field, `TYPEOF can only be used on a polymorphic relationship field: ${item.field}`);
        bodyFor(scope, body, [node]);
        const poly = body.byKey.get(node.rel) as Extract<OutNode, { k: 'poly' }>;
        for (const c of item.conditions) {
          if (c.type === 'WHEN') {
            const t = node.targets.find((x) => x.def.name.toLowerCase() === (c.objectType ?? '').toLowerCase());
            if (!t) err(sh, 'INVALID_TYPE', c.objectType, unsupportedType(c.objectType ?? ''));
            const b = poly.byType.get(t.def.name) ?? newBody();
            poly.byType.set(t.def.name, b);
            // Paths in a branch start at that target, so `WHEN Contact THEN Account.Name` joins from Contact.
            const base: JoinNode = { key: `${node.key}#${t.def.name}`, rel: node.rel, field: node.field, fkSql: node.fkSql, def: t.def, alias: t.alias, targets: [], depth: node.depth };
            for (const fname of c.fieldList) {
              const r = resolve(scope, fname, typeofPos, base);
              addResolved(scope, b, r);
              columns.push(`${node.rel}.${r.path}`);
            }
          } else {
            const b = poly.otherwise ?? newBody();
            poly.otherwise = b;
            for (const fname of c.fieldList) {
              let r: Resolved;
              try {
                r = resolve(scope, `${node.rel}.${fname}`, typeofPos);
              } catch (e) {
                // The path resolved is `What.Name`; the query spells just `Name`, after ELSE.
                if (e instanceof SfError && !e.message.startsWith('\n')) throw soqlError(e.errorCode, sh.soql, locate(sh.soql, fname, keywordPos(sh.soql, 'ELSE') ?? typeofPos), e.message);
                throw e;
              }
              if (r.kind === 'polyType') put(b, { k: 'polyType', key: 'Type', fkCol: scope.col(node.fkSql) });
              else if (r.kind === 'polyId') put(b, { k: 'val', key: 'Id', col: scope.col(r.sql), type: 'id' });
              else put(b, { k: 'val', key: r.field.name, col: scope.col(r.sql), type: r.field.type });
              if (!columns.includes(r.path)) columns.push(r.path);
            }
          }
        }
        break;
      }
    }
  }

  const where = whereFrag(scope, query, opts, wherePos);
  let having: Frag | null = null;
  if (query.having) {
    if (!aggregate) err(sh, 'MALFORMED_QUERY', 'HAVING', 'HAVING can only be used with an aggregate query');
    having = compileBool(sh, flatten(query.having), whereLeaf(scope, keywordPos(sh.soql, 'HAVING') ?? 0, true));
  }

  const orderTerms: string[] = [];
  for (const o of asArray<OrderByClause>(query.orderBy)) {
    let sql: string;
    if ('fn' in o) {
      sql = functionSql(scope, o.fn, aggregate, orderPos).sql;
    } else {
      const r = resolve(scope, o.field, orderPos);
      if (r.kind === 'field' && !sortable(r.field)) err(sh, 'INVALID_FIELD', o.field, `field '${r.field.name}' can not be sorted in a query call`, orderPos);
      if (aggregate && !groupSql.includes(r.sql)) err(sh, 'MALFORMED_QUERY', o.field, `Ordered field must be grouped or aggregated: ${r.kind === 'field' ? r.field.name : o.field}`, orderPos);
      sql = r.sql;
    }
    const dir = o.order === 'DESC' ? 'DESC' : 'ASC';
    // Salesforce puts nulls first ascending and last descending unless told otherwise.
    const nulls = o.nulls ?? (dir === 'ASC' ? 'FIRST' : 'LAST');
    orderTerms.push(`${sql} ${dir} NULLS ${nulls}`);
  }

  if (query.offset !== undefined && query.offset > 2000) {
    err(sh, 'NUMBER_OUTSIDE_VALID_RANGE', 'OFFSET', `Maximum SOQL offset allowed is 2000`);
  }

  if (scope.rollup) {
    return rollupPlan(scope, { def, where, having, orderTerms, limit: query.limit, offset: query.offset ?? 0, body, children, columns });
  }

  const plan: Plan & { fkCol?: string } = {
    def, alias: scope.alias, select: '', from: scope.from(), where, groupBy: groupSql.join(', '), having, orderBy: orderTerms.join(', '),
    limit: query.limit, offset: query.offset ?? 0, aggregate, countOnly: false, idCol, body, children, columns,
  };
  if (opts.childOf) plan.fkCol = scope.col(`${scope.alias}.${q(opts.childOf.fkField.name)}`);
  if (!aggregate) scope.colSql.push(`${scope.alias}.rowid AS _rk`);
  plan.select = scope.colSql.join(', ');
  return plan;
}

/**
 * `USING SCOPE`: the scopes the emulated org can honour from its own data. `mine` is ownership by the
 * running user; `team` adds the users who report to them (User.ManagerId, any depth) since the org has
 * no account or opportunity teams; `delegated` is the tasks and events the running user created and someone else owns
 * (Salesforce's "delegated tasks"). Territory, queue and scoping-rule scopes need features the emulated
 * org does not have, so they are refused rather than answered with every row.
 */
function scopeFilter(scope: Scope, raw: string): Frag | null {
  const sh = scope.sh;
  const name = raw.toLowerCase();
  const a = scope.alias;
  const owned = Boolean(sh.org.schema.field(scope.def.name, 'OwnerId'));
  const pos = keywordPos(sh.soql, 'SCOPE') ?? 0;
  const refuse = (why: string): never => err(sh, 'MALFORMED_QUERY', raw, `USING SCOPE ${raw} is not supported for ${scope.def.name}: ${why}`, pos);
  const me = sh.org.currentUserId;
  switch (name) {
    case 'everything':
      return null;
    case 'mine':
      if (!owned) refuse(`${scope.def.name} has no owner (its describe lists supportedScopes: everything)`);
      return { sql: `${a}."OwnerId" = ?`, params: [me] };
    case 'team': {
      if (!owned) refuse(`${scope.def.name} has no owner (its describe lists supportedScopes: everything)`);
      if (!sh.org.schema.field('User', 'ManagerId')) return { sql: `${a}."OwnerId" = ?`, params: [me] };
      const team = `WITH RECURSIVE team(id) AS (SELECT ? UNION SELECT u."Id" FROM ${q('User')} AS u JOIN team ON u."ManagerId" = team.id) SELECT id FROM team`;
      return { sql: `${a}."OwnerId" IN (${team})`, params: [me] };
    }
    case 'delegated':
      // Delegation is an activity notion ("My delegated tasks"): other objects are refused, not guessed at.
      if (scope.def.name !== 'Task' && scope.def.name !== 'Event') refuse('only activities (Task, Event) are delegated');
      return { sql: `(${a}."CreatedById" = ? AND ${a}."OwnerId" IS NOT ?)`, params: [me, me] };
    case 'mine_and_my_groups':
      return refuse('this scope applies only to ProcessInstanceWorkitem');
    case 'my_territory':
    case 'my_team_territory':
      return refuse('territory management is not enabled in this org');
    case 'scopingrule':
      return refuse('no scoping rule is active for this object');
    default:
      return err(sh, 'MALFORMED_QUERY', raw, `unexpected token: '${raw}'`, pos);
  }
}

const groupingMarker = (i: number) => `(__GROUPING_${i}__)`;

/** Replaces `expr` in `sql` wherever it is not inside an aggregate call (COUNT(…), SUM(…) …). */
function outsideAggregates(sql: string, expr: string, repl: string): string {
  const inAggregate: boolean[] = [];
  let out = '';
  for (let i = 0; i < sql.length; ) {
    if (sql.startsWith(expr, i) && !inAggregate.includes(true)) {
      out += repl;
      i += expr.length;
      continue;
    }
    const c = sql[i];
    if (c === '(') inAggregate.push(AGGREGATES.has(/(\w+)\s*$/.exec(sql.slice(0, i))?.[1]?.toUpperCase() ?? ''));
    else if (c === ')') inAggregate.pop();
    out += c;
    i++;
  }
  return out;
}

/**
 * GROUP BY ROLLUP/CUBE as the UNION ALL of its grouping sets (SQLite has neither): in each set the
 * grouped expressions left out read NULL and GROUPING(field) reads 1 for them, 0 otherwise. ORDER BY
 * applies to the union; without one, detail rows come before their subtotal and the grand total is last.
 */
function rollupPlan(
  scope: Scope,
  p: { def: ObjectDef; where: Frag; having: Frag | null; orderTerms: string[]; limit: number | undefined; offset: number; body: OutBody; children: ChildPlan[]; columns: string[] },
): Plan {
  const { kind, exprs } = scope.rollup!;
  const n = exprs.length;
  const sets: number[][] = [];
  if (kind === 'ROLLUP') for (let k = n; k >= 0; k--) sets.push([...Array(k).keys()]);
  else for (let mask = (1 << n) - 1; mask >= 0; mask--) sets.push([...Array(n).keys()].filter((i) => mask & (1 << (n - 1 - i))));
  // Order terms are computed inside each set and sorted on outside, by column.
  // The hierarchy order also breaks ties of an explicit ORDER BY, so pages never reorder.
  const hierarchy = exprs.flatMap((e, i) => [`${groupingMarker(i)} ASC NULLS FIRST`, `${e} ASC NULLS FIRST`]);
  const outerOrder = [...p.orderTerms, ...hierarchy].map((t) => {
    const m = /^(.*) (ASC|DESC) NULLS (FIRST|LAST)$/s.exec(t)!;
    return `u.${scope.col(m[1])} ${m[2]} NULLS ${m[3]}`;
  });
  const cols = [...scope.cols.entries()];
  // Longest first, so an expression never rewrites part of a longer one that contains it.
  const order = [...exprs.keys()].sort((a, b) => exprs[b].length - exprs[a].length);
  const markers = (sql: string, set: number[]) => {
    let out = sql;
    for (let i = 0; i < n; i++) out = out.split(groupingMarker(i)).join(set.includes(i) ? '0' : '1');
    return out;
  };
  // A select-list column is a whole expression: a rolled-up grouped field reads NULL, an aggregate over
  // it still aggregates the rows. HAVING mixes both, so only occurrences outside aggregate calls change.
  const column = (sql: string, set: number[]) => {
    const i = exprs.indexOf(sql);
    return i >= 0 && !set.includes(i) ? 'NULL' : markers(sql, set);
  };
  const render = (sql: string, set: number[]) => {
    let out = markers(sql, set);
    for (const i of order) if (!set.includes(i)) out = outsideAggregates(out, exprs[i], 'NULL');
    return out;
  };
  const params: SqlValue[] = [];
  const parts = sets.map((set) => {
    params.push(...p.where.params, ...(p.having?.params ?? []));
    const select = cols.map(([sql, c]) => `${column(sql, set)} AS ${c}`).join(', ');
    const groupBy = set.length ? ` GROUP BY ${set.map((i) => exprs[i]).join(', ')}` : '';
    const having = p.having ? ` HAVING ${render(p.having.sql, set)}` : '';
    return `SELECT ${select} ${scope.from()} WHERE ${p.where.sql}${groupBy}${having}`;
  });
  return {
    def: p.def, alias: 'u', select: cols.map(([, c]) => `u.${c} AS ${c}`).join(', '), from: `FROM (${parts.join(' UNION ALL ')}) AS u`,
    where: { sql: '1', params }, groupBy: '', having: null, orderBy: outerOrder.join(', '), limit: p.limit, offset: p.offset,
    aggregate: true, countOnly: false, idCol: null, body: p.body, children: p.children, columns: p.columns,
  };
}

function whereFrag(scope: Scope, query: Query | Subquery, opts: BuildOpts, wherePos: number): Frag {
  const a = scope.alias;
  const parts: string[] = [];
  const params: SqlValue[] = [];
  if (opts.childOf) parts.push(`${a}.${q(opts.childOf.fkField.name)} IN (SELECT value FROM json_each(?))`);
  // commitDelay: rows written "in a transaction not yet committed" stay invisible until their time comes.
  parts.push(`${a}._visible_at <= ?`);
  if (!opts.queryAll) parts.push(`${a}."IsDeleted" = 0`);
  params.push(scope.sh.now);
  const using = (query as Query).usingScope;
  if (using !== undefined) {
    const f = scopeFilter(scope, using);
    if (f) {
      parts.push(f.sql);
      params.push(...f.params);
    }
  }
  if (query.where) {
    const toks = flatten(query.where);
    checkSemiJoins(scope.sh, toks, wherePos, false);
    const w = compileBool(scope.sh, toks, whereLeaf(scope, wherePos, false));
    parts.push(w.sql);
    params.push(...w.params);
  }
  return { sql: parts.join(' AND '), params };
}

function tryParse(soql: string): Query | undefined {
  try {
    return parseQuery(soql);
  } catch {
    return undefined;
  }
}

/**
 * Parses and compiles a SOQL statement against the org's schema. Throws SfError (MALFORMED_QUERY,
 * INVALID_FIELD, INVALID_TYPE …) with Salesforce's message shapes.
 */
export function compile(org: Org, soql: string, opts: { queryAll?: boolean } = {}): Plan {
  let ast: Query;
  try {
    ast = parseQuery(soql);
  } catch (e) {
    // The parser knows a fixed list of scope names; Salesforce parses any word there and decides later
    // (mine_and_my_groups, scopingRule …), so a query failing only on its scope name is reparsed.
    const m = /\bUSING\s+SCOPE\s+(\w+)/i.exec(soql);
    const retry = m ? tryParse(soql.slice(0, m.index) + 'USING SCOPE everything' + soql.slice(m.index + m[0].length)) : undefined;
    if (!retry || !m) throw malformed(soql, e);
    ast = { ...retry, usingScope: m[1] };
  }
  const sh: Shared = { org, soql, now: org.clock.now(), aliasSeq: 0 };
  const def = org.schema.get(ast.sObject ?? '');
  if (!def || def.queryable === false) {
    throw soqlError('INVALID_TYPE', soql, locate(soql, ast.sObject ?? '', keywordPos(soql, 'FROM') ?? 0), unsupportedType(ast.sObject ?? ''));
  }
  if (def.subqueryOnly) {
    throw new SfError(400, 'INVALID_TYPE_FOR_OPERATION', `entity type ${def.name} does not support query`);
  }
  // External objects live in their data source: only the REST query resource calls out for them.
  if (def.external) throw soqlError('INVALID_TYPE', soql, locate(soql, ast.sObject ?? '', keywordPos(soql, 'FROM') ?? 0), `External object ${def.name} can only be queried through the REST query resource (its rows live in the data source ${def.external.source.name})`);
  return buildPlan(sh, ast, def, { queryAll: opts.queryAll ?? false });
}

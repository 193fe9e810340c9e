/**
 * Runs SOSL over the emulator's text fields: each object in RETURNING (every searchable object when there is
 * none) is scanned for records whose words match the term, narrowed first with a LIKE on one word the term
 * requires, ranked by how many term words a record matches, then read through the SOQL engine with the
 * RETURNING clause's fields, WHERE, ORDER BY, LIMIT and OFFSET.
 */
import { SfError } from '../errors.ts';
import type { Org } from '../org.ts';
import type { FieldDef, ObjectDef } from '../schema/types.ts';
import { prepareQuery } from '../soql/index.ts';
import { q } from '../store/org-store.ts';
import { words, type FieldScope, type Returning, type SoslQuery, type Term } from './parser.ts';

/** The most records one search returns (Salesforce's SOSL limit). */
export const MAX_SEARCH_RESULTS = 2000;

const TEXT: ReadonlySet<string> = new Set(['string', 'textarea', 'email', 'phone', 'url', 'combobox']);

/** The fields a scope searches on an object. */
function searchFields(def: ObjectDef, scope: FieldScope): FieldDef[] {
  const visible = def.fields.filter((f) => !f.hidden && !f.formula && f.type !== 'address');
  const names = visible.filter((f) => f.nameField || (f.name === 'FirstName' || f.name === 'LastName' || f.name === 'Company'));
  switch (scope) {
    case 'NAME': return names;
    case 'EMAIL': return visible.filter((f) => f.type === 'email');
    case 'PHONE': return visible.filter((f) => f.type === 'phone');
    case 'SIDEBAR': return [...names, ...visible.filter((f) => f.type === 'email' || f.type === 'phone')];
    default: return visible.filter((f) => TEXT.has(f.type));
  }
}

/** One word the term cannot match without (for the SQL prefilter), or null. */
function requiredWord(t: Term): string | null {
  switch (t.kind) {
    case 'word': return /[*?]/.test(t.text) ? null : t.text;
    case 'phrase': return t.words.find((w) => !/[*?]/.test(w)) ?? null;
    case 'and': return requiredWord(t.left) ?? requiredWord(t.right);
    case 'andNot': return requiredWord(t.left);
    default: return null;
  }
}

function wordMatcher(w: string): (token: string) => boolean {
  if (!/[*?]/.test(w)) return (token) => token === w;
  const re = new RegExp(`^${w.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return (token) => re.test(token);
}

/** How many term words a record matches (0 = no match); `fields` are the record's token lists per field. */
function score(t: Term, fields: string[][]): number {
  switch (t.kind) {
    case 'word': {
      const m = wordMatcher(t.text);
      return fields.reduce((n, f) => n + f.filter(m).length, 0);
    }
    case 'phrase': {
      const ms = t.words.map(wordMatcher);
      let n = 0;
      for (const f of fields) for (let i = 0; i + ms.length <= f.length; i++) if (ms.every((m, k) => m(f[i + k]))) n++;
      return n;
    }
    case 'and': {
      const a = score(t.left, fields);
      const b = a ? score(t.right, fields) : 0;
      return a && b ? a + b : 0;
    }
    case 'or': return score(t.left, fields) + score(t.right, fields);
    case 'andNot': return score(t.right, fields) ? 0 : score(t.left, fields);
  }
}

/** Phone values also match by their digits alone (`(415) 555-0100` ~ `4155550100`). */
function tokens(f: FieldDef, value: unknown): string[] {
  const text = String(value);
  const out = words(text);
  if (f.type === 'phone') {
    const digits = text.replace(/\D/g, '');
    if (digits) out.push(digits);
  }
  return out;
}

function requireSearchable(org: Org, name: string): ObjectDef {
  const def = org.schema.get(name);
  if (!def || def.queryable === false || def.subqueryOnly) throw new SfError(400, 'INVALID_TYPE', `sObject type '${name}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.`);
  if (def.searchable === false || def.external) throw new SfError(400, 'INVALID_TYPE', `entity type ${def.name} does not support search`);
  return def;
}

/** Ids of the matching records of one object, best first. */
function matches(org: Org, def: ObjectDef, query: SoslQuery): string[] {
  const fields = searchFields(def, query.scope);
  if (fields.length === 0) return [];
  const cols = fields.map((f) => q(f.name)).join(', ');
  const required = requiredWord(query.term);
  // Digits also match phone numbers by their digits alone, which LIKE cannot see through the punctuation.
  const must = required && /^\d+$/.test(required) && fields.some((f) => f.type === 'phone') ? null : required;
  const params: (string | number)[] = [org.clock.now()];
  let filter = '';
  if (must) {
    filter = ` AND (${fields.map((f) => `${q(f.name)} LIKE ? ESCAPE '\\'`).join(' OR ')})`;
    const like = `%${must.replace(/[%_\\]/g, '\\$&')}%`;
    for (let i = 0; i < fields.length; i++) params.push(like);
  }
  const live = def.fields.some((f) => f.name === 'IsDeleted') ? 'IsDeleted = 0 AND ' : '';
  const rows = org.store.prepare(`SELECT Id, ${cols} FROM ${q(def.name)} WHERE ${live}_visible_at <= ?${filter}`).all(...params);
  const scored: [string, number][] = [];
  for (const r of rows) {
    const lists = fields.map((f) => (r[f.name] === null || r[f.name] === undefined ? [] : tokens(f, r[f.name])));
    const s = score(query.term, lists);
    if (s > 0) scored.push([String(r.Id), s]);
  }
  return scored.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([id]) => id);
}

/** Reads the matched records of one RETURNING entry through SOQL (fields, WHERE, ORDER BY), best first. */
function fetch(org: Org, def: ObjectDef, r: Returning, ids: string[]): Record<string, unknown>[] {
  if (ids.length === 0) return [];
  const fields = r.fields.length ? r.fields.join(', ') : 'Id';
  const inList = ids.map((id) => `'${id}'`).join(', ');
  const soql = `SELECT ${fields} FROM ${def.name} WHERE Id IN (${inList})${r.where ? ` AND (${r.where})` : ''}${r.orderBy ? ` ORDER BY ${r.orderBy}` : ''}`;
  let records = [...prepareQuery(org, soql).rows()];
  if (!r.orderBy) {
    const rank = new Map(ids.map((id, i) => [id, i]));
    const idOf = (rec: Record<string, unknown>) => String((rec.attributes as { url: string }).url.split('/').pop());
    records.sort((a, b) => rank.get(idOf(a))! - rank.get(idOf(b))!);
  }
  if (r.offset) records = records.slice(r.offset);
  return records;
}

/** Runs a parsed search: `{ searchRecords: [...] }` across the objects, in RETURNING order. */
export function runSearch(org: Org, query: SoslQuery): { searchRecords: Record<string, unknown>[] } {
  const targets: Returning[] = query.returning.length
    ? query.returning
    : org.schema.all().filter((d) => !d.external && d.searchable !== false && d.queryable !== false && !d.subqueryOnly && !d.view && !d.associateEntityType && d.keyPrefix).map((d) => ({ object: d.name, fields: [], where: null, orderBy: null, limit: null, offset: null }));
  const overall = Math.min(query.limit ?? MAX_SEARCH_RESULTS, MAX_SEARCH_RESULTS);
  const out: Record<string, unknown>[] = [];
  for (const r of targets) {
    const def = requireSearchable(org, r.object);
    if (out.length >= overall) break;
    const found = fetch(org, def, r, matches(org, def, query));
    const room = Math.min(overall - out.length, r.limit ?? Infinity);
    out.push(...found.slice(0, room));
  }
  return { searchRecords: out };
}

/**
 * A SOSL parser, hand-written: soql-parser-js parses SOQL only, not SOSL. Covers what REST clients send:
 *
 *   FIND {term} [IN ALL|NAME|EMAIL|PHONE|SIDEBAR FIELDS]
 *     [RETURNING Object [(Field, … [WHERE …] [ORDER BY …] [LIMIT n] [OFFSET n])] [, …]]
 *     [WITH …] [LIMIT n] [UPDATE TRACKING|VIEWSTAT]
 *
 * The search term: words and "quoted phrases", `*` and `?` wildcards, AND, OR, AND NOT and parentheses.
 * Errors are MALFORMED_SEARCH with Salesforce's messages.
 */
import { SfError } from '../errors.ts';

export type FieldScope = 'ALL' | 'NAME' | 'EMAIL' | 'PHONE' | 'SIDEBAR';

/** A parsed search term: a boolean tree over words and phrases. */
export type Term =
  | { kind: 'word'; text: string }
  | { kind: 'phrase'; words: string[] }
  | { kind: 'and' | 'or'; left: Term; right: Term }
  | { kind: 'andNot'; left: Term; right: Term };

export interface Returning {
  object: string;
  /** Select list as written (`Id, Name, Owner.Name`); empty means Id only. */
  fields: string[];
  /** SOQL text of the clauses after the fields: `WHERE …`, `ORDER BY …`, `LIMIT n`, `OFFSET n`. */
  where: string | null;
  orderBy: string | null;
  limit: number | null;
  offset: number | null;
}

export interface SoslQuery {
  term: Term;
  scope: FieldScope;
  returning: Returning[];
  limit: number | null;
}

const malformed = (message: string) => new SfError(400, 'MALFORMED_SEARCH', message);

/** Parses a search term (the text between the braces, or a parameterized search `q`). */
export function parseTerm(text: string): Term {
  const tokens: ({ t: 'word'; v: string } | { t: 'phrase'; v: string[] } | { t: 'op'; v: 'AND' | 'OR' | 'NOT' } | { t: '(' | ')' })[] = [];
  const re = /\s*(?:"([^"]*)"|(\()|(\))|([^\s()"]+))/gy;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null && m[0] !== '') {
    if (m[1] !== undefined) tokens.push({ t: 'phrase', v: words(m[1]) });
    else if (m[2]) tokens.push({ t: '(' });
    else if (m[3]) tokens.push({ t: ')' });
    else {
      const w = m[4];
      const op = w.toUpperCase();
      if (op === 'AND' || op === 'OR' || op === 'NOT') tokens.push({ t: 'op', v: op });
      else {
        // `jane.doe@example.com` is one term whose words must appear in order, like a phrase.
        const ws = words(w);
        if (ws.length === 1) tokens.push({ t: 'word', v: ws[0] });
        else if (ws.length > 1) tokens.push({ t: 'phrase', v: ws });
      }
    }
  }
  let pos = 0;
  const peek = () => tokens[pos];
  const primary = (): Term => {
    const tok = tokens[pos++];
    if (!tok) throw malformed('search term must be longer than one character');
    if (tok.t === '(') {
      const inner = orExpr();
      if (tokens[pos++]?.t !== ')') throw malformed('unbalanced parentheses in the search term');
      return inner;
    }
    if (tok.t === 'word') return { kind: 'word', text: tok.v };
    if (tok.t === 'phrase') return tok.v.length === 1 ? { kind: 'word', text: tok.v[0] } : { kind: 'phrase', words: tok.v };
    throw malformed(`unexpected ${tok.t === 'op' ? tok.v : ')'} in the search term`);
  };
  const andExpr = (): Term => {
    let left = primary();
    for (;;) {
      const tok = peek();
      if (!tok || tok.t === ')' || (tok.t === 'op' && tok.v === 'OR')) return left;
      if (tok.t === 'op' && tok.v === 'AND') {
        pos++;
        if (peek()?.t === 'op' && (peek() as { v: string }).v === 'NOT') {
          pos++;
          left = { kind: 'andNot', left, right: primary() };
        } else left = { kind: 'and', left, right: primary() };
      } else {
        // Adjacent words are ANDed, as Salesforce does.
        left = { kind: 'and', left, right: primary() };
      }
    }
  };
  const orExpr = (): Term => {
    let left = andExpr();
    while (peek()?.t === 'op' && (peek() as { v: string }).v === 'OR') {
      pos++;
      left = { kind: 'or', left, right: andExpr() };
    }
    return left;
  };
  const term = orExpr();
  if (pos < tokens.length) throw malformed('unbalanced parentheses in the search term');
  const letters = text.replace(/[\s*?"()]/g, '');
  if (letters.length < 2) throw malformed('search term must be longer than one character');
  return term;
}

/** The words of a text as search sees them: letters, digits and wildcards, lower-cased. */
export function words(text: string): string[] {
  return text.toLowerCase().split(/[^\p{L}\p{N}*?]+/u).filter(Boolean);
}

/** Parses a full SOSL statement. */
export function parseSosl(sosl: string): SoslQuery {
  const s = sosl.trim();
  const find = /^FIND\s*/i.exec(s);
  if (!find) throw malformed("unexpected token: the search must start with FIND, e.g. FIND {Acme}");
  let rest = s.slice(find[0].length);
  if (!rest.startsWith('{')) throw malformed('No search term found. The search term must be enclosed in braces.');
  // The term ends at the first unescaped closing brace.
  let end = 1;
  let raw = '';
  while (end < rest.length && rest[end] !== '}') {
    if (rest[end] === '\\' && end + 1 < rest.length) {
      raw += rest[end + 1];
      end += 2;
    } else raw += rest[end++];
  }
  if (end >= rest.length) throw malformed('No search term found. The search term must be enclosed in braces.');
  const term = parseTerm(raw);
  rest = rest.slice(end + 1).trim();
  let scope: FieldScope = 'ALL';
  const inMatch = /^IN\s+(ALL|NAME|EMAIL|PHONE|SIDEBAR)\s+FIELDS\b\s*/i.exec(rest);
  if (inMatch) {
    scope = inMatch[1].toUpperCase() as FieldScope;
    rest = rest.slice(inMatch[0].length);
  } else if (/^IN\b/i.test(rest)) {
    throw malformed('unexpected token after IN: use ALL FIELDS, NAME FIELDS, EMAIL FIELDS, PHONE FIELDS or SIDEBAR FIELDS');
  }
  const returning: Returning[] = [];
  const ret = /^RETURNING\s+/i.exec(rest);
  if (ret) {
    rest = rest.slice(ret[0].length);
    for (;;) {
      const obj = /^([A-Za-z][\w]*)\s*/.exec(rest);
      if (!obj) throw malformed('unexpected token after RETURNING: name an object, e.g. RETURNING Account(Id, Name)');
      rest = rest.slice(obj[0].length);
      let body = '';
      if (rest.startsWith('(')) {
        let depth = 0;
        let i = 0;
        let quoted = false;
        for (; i < rest.length; i++) {
          const c = rest[i];
          if (c === "'" && rest[i - 1] !== '\\') quoted = !quoted;
          if (quoted) continue;
          if (c === '(') depth++;
          if (c === ')' && --depth === 0) break;
        }
        if (depth !== 0) throw malformed(`unbalanced parentheses after RETURNING ${obj[1]}`);
        body = rest.slice(1, i);
        rest = rest.slice(i + 1).trim();
      }
      returning.push(parseReturning(obj[1], body));
      if (rest.startsWith(',')) {
        rest = rest.slice(1).trim();
        continue;
      }
      break;
    }
  }
  let limit: number | null = null;
  for (;;) {
    const w = /^WITH\s+(?:DATA\s+CATEGORY\s+[^]*?|SNIPPET(?:\s*\([^)]*\))?|NETWORK\s*(?:=|IN)\s*[^]*?|PricebookId\s*=\s*'[^']*'|METADATA\s*=\s*'[^']*'|SPELL_CORRECTION\s*=\s*\w+|HIGHLIGHT|DIVISION\s*=\s*'[^']*'|USER_MODE|SYSTEM_MODE)\s*(?=WITH\b|LIMIT\b|UPDATE\b|$)/i.exec(rest);
    if (w) {
      rest = rest.slice(w[0].length);
      continue;
    }
    const l = /^LIMIT\s+(\d+)\s*/i.exec(rest);
    if (l) {
      limit = Number(l[1]);
      rest = rest.slice(l[0].length);
      continue;
    }
    const u = /^UPDATE\s+(TRACKING|VIEWSTAT)\s*/i.exec(rest);
    if (u) {
      rest = rest.slice(u[0].length);
      continue;
    }
    break;
  }
  if (rest.trim() !== '') throw malformed(`unexpected token: '${rest.trim().split(/\s+/)[0]}'`);
  return { term, scope, returning, limit };
}

/** `Id, Name WHERE Industry = 'x' ORDER BY Name LIMIT 5` → its parts. */
function parseReturning(object: string, body: string): Returning {
  const clause = (kw: string) => new RegExp(`\\b${kw}\\b`, 'i');
  const bare = body.replace(/'(?:\\.|[^'\\])*'/g, (m) => ' '.repeat(m.length));
  const at = (kw: string) => {
    const m = clause(kw).exec(bare);
    return m ? m.index : -1;
  };
  const marks = [['WHERE', at('WHERE')], ['ORDER BY', at('ORDER\\s+BY')], ['LIMIT', at('LIMIT')], ['OFFSET', at('OFFSET')]] as [string, number][];
  const present = marks.filter(([, i]) => i >= 0).sort((a, b) => a[1] - b[1]);
  const fieldsEnd = present.length ? present[0][1] : body.length;
  const part = (name: string): string | null => {
    const idx = present.findIndex(([n]) => n === name);
    if (idx < 0) return null;
    const start = present[idx][1];
    const stop = present[idx + 1]?.[1] ?? body.length;
    return body.slice(start, stop).trim().replace(/^(WHERE|ORDER\s+BY|LIMIT|OFFSET)\s+/i, '');
  };
  const fields = body.slice(0, fieldsEnd).split(',').map((f) => f.trim()).filter(Boolean);
  const num = (v: string | null) => {
    if (v === null) return null;
    if (!/^\d+$/.test(v)) throw malformed(`unexpected token in RETURNING ${object}: '${v}'`);
    return Number(v);
  };
  return { object, fields, where: part('WHERE'), orderBy: part('ORDER BY'), limit: num(part('LIMIT')), offset: num(part('OFFSET')) };
}

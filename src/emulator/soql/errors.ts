/**
 * SOQL errors in Salesforce's shape: the offending query line, a caret under the failing token, the
 * `ERROR at Row:r:Column:c` line, then the explanation. Clients (and people) grep these messages, so the
 * wording follows what a real org returns.
 */
import { SfError } from '../errors.ts';

/** Builds a 400 SfError whose message points at character `pos` of `soql` (0-based), when known. */
export function soqlError(errorCode: string, soql: string, pos: number | undefined, text: string): SfError {
  if (pos === undefined || pos < 0) return new SfError(400, errorCode, text);
  const before = soql.slice(0, pos);
  const row = before.split('\n').length;
  const lineStart = before.lastIndexOf('\n') + 1;
  const lineEnd = soql.indexOf('\n', pos);
  const line = soql.slice(lineStart, lineEnd === -1 ? undefined : lineEnd);
  const col = pos - lineStart + 1;
  return new SfError(400, errorCode, `\n${line}\n${' '.repeat(col - 1)}^\nERROR at Row:${row}:Column:${col}\n${text}`);
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Where a token (a field path, an object name) occurs in the query, case-insensitively and on word
 * boundaries, searching from `from`. The parser's AST carries no positions, so errors find their token
 * in the text; the first occurrence is the one Salesforce reports in all but contrived queries.
 */
export function locate(soql: string, token: string, from = 0): number | undefined {
  const re = new RegExp(`(?<![\\w.])${escapeRe(token)}(?![\\w])`, 'i');
  const m = re.exec(soql.slice(from));
  return m ? from + m.index : undefined;
}

/** Position of a top-level keyword such as FROM or WHERE (first occurrence outside string literals). */
export function keywordPos(soql: string, keyword: string): number | undefined {
  const re = new RegExp(`'(?:\\\\.|[^'\\\\])*'|\\b${keyword}\\b`, 'gi');
  for (let m = re.exec(soql); m; m = re.exec(soql)) if (m[0][0] !== "'") return m.index;
  return undefined;
}

export const noSuchColumn = (field: string, entity: string) =>
  `No such column '${field}' on entity '${entity}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`;

export const unknownRelationship = (rel: string) =>
  `Didn't understand relationship '${rel}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.`;

export const unknownChildRelationship = (rel: string) =>
  `Didn't understand relationship '${rel}' in FROM part of query call. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.`;

export const unsupportedType = (name: string) =>
  `sObject type '${name}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.`;

/**
 * Turns a soql-parser-js exception into MALFORMED_QUERY. The parser keeps chevrotain's message but drops
 * the token position, so the offending token is recovered from the message and found in the text.
 */
export function malformed(soql: string, err: unknown): SfError {
  const msg = err instanceof Error ? err.message : String(err);
  const lex = /\((\d+):(\d+)\)\s*$/.exec(msg);
  if (lex) {
    const lines = soql.split('\n');
    const row = Number(lex[1]);
    const pos = lines.slice(0, row - 1).reduce((n, l) => n + l.length + 1, 0) + Number(lex[2]) - 1;
    return soqlError('MALFORMED_QUERY', soql, pos, `unexpected token: '${soql.slice(pos, pos + 1)}'`);
  }
  const found = /but found:? --> '(.*?)' <--|but found: '(.*?)'/s.exec(msg);
  const token = found ? (found[1] ?? found[2] ?? '') : '';
  if (token === '') return soqlError('MALFORMED_QUERY', soql, soql.trimEnd().length, `unexpected token: '<EOF>'`);
  const pos = /^\w+$/.test(token) ? locate(soql, token) : soql.indexOf(token);
  return soqlError('MALFORMED_QUERY', soql, pos, `unexpected token: '${token}'`);
}

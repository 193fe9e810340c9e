/**
 * `WHERE X IN ('id', …)` queries split so every request URL stays under Salesforce's URI limit (§2.9: 414
 * above 16,384 bytes, 431 when URI + headers exceed it). Query runs as `GET …/query?q=<form-encoded SOQL>`,
 * so the budget is measured on the encoded text, where each quoted 18-character Id costs 27 bytes.
 */
import { ID_PATTERN } from './records.ts';

/** Salesforce's limit on the request URI (and on URI + headers), in bytes. */
export const MAX_URI_BYTES = 16_384;
/**
 * Bytes kept free for everything besides the `q` value: scheme, host and `/services/data/vXX.X/query?q=`
 * (a My Domain host is under 100 bytes) and the request headers that count toward the 431 limit
 * (bearer token ~120 bytes, accept, call options, user agent).
 */
export const URI_RESERVE_BYTES = 2_048;
/** Budget for the encoded `q` parameter of one chunked query. */
export const MAX_QUERY_PARAM_BYTES = MAX_URI_BYTES - URI_RESERVE_BYTES;

/** Length of text once form-encoded as a query parameter value (the client sets `q` via URLSearchParams). */
export function encodedLength(text: string): number {
  return new URLSearchParams({ q: text }).toString().length - 2;
}

/**
 * SOQL queries covering all `ids` (deduplicated, invalid Ids dropped), each built by `soql(list)` with
 * `list` = `'id1','id2',…`, and each no longer than `maxBytes` once encoded. Throws when even one Id does
 * not fit (the template itself is too long).
 */
export function chunkedInQueries(soql: (list: string) => string, ids: Iterable<string>, maxBytes = MAX_QUERY_PARAM_BYTES): string[] {
  const base = encodedLength(soql(''));
  const comma = encodedLength(',');
  const out: string[] = [];
  let current: string[] = [];
  let size = base;
  const seen = new Set<string>();
  for (const id of ids) {
    if (seen.has(id) || !ID_PATTERN.test(id)) continue;
    seen.add(id);
    const literal = `'${id}'`;
    const cost = encodedLength(literal) + (current.length ? comma : 0);
    if (current.length && size + cost > maxBytes) {
      out.push(soql(current.join(',')));
      current = [];
      size = base;
    }
    const first = encodedLength(literal);
    if (!current.length && base + first > maxBytes) throw new RangeError(`query template is too long for the ${maxBytes}-byte URI budget: ${soql('').slice(0, 120)}`);
    current.push(literal);
    size += current.length === 1 ? first : cost;
  }
  if (current.length) out.push(soql(current.join(',')));
  return out;
}

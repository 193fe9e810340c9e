/**
 * Bulk API 1.0 wire formats: XML in the `http://www.force.com/2009/06/asyncapi/dataload` namespace (fields in
 * the order the Bulk API guide shows), or JSON (keys in alphabetical order, as Salesforce serialises them),
 * and the `<error>` / `{exceptionCode, exceptionMessage}` error bodies clients parse.
 */
import { SfError } from '../errors.ts';

export const NS = 'http://www.force.com/2009/06/asyncapi/dataload';
export type Wire = 'XML' | 'JSON';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** An error of the Bulk 1.0 API: an exception code (`InvalidJob`, `InvalidBatch` …) and its message. */
export class AsyncError extends Error {
  readonly status: number;
  readonly exceptionCode: string;
  constructor(status: number, exceptionCode: string, message: string) {
    super(message);
    this.name = 'AsyncError';
    this.status = status;
    this.exceptionCode = exceptionCode;
  }
}

function xmlBody(value: unknown, indent: string): string {
  if (Array.isArray(value)) return value.map((v) => xmlBody(v, indent)).join('');
  if (value === null || value === undefined) return '';
  if (typeof value !== 'object') return esc(String(value));
  let out = '';
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (v === undefined) continue;
    const items = Array.isArray(v) ? v : [v];
    for (const item of items) {
      if (item === null) out += `\n${indent} <${k} xsi:nil="true"/>`;
      else if (typeof item === 'object') out += `\n${indent} <${k}>${xmlBody(item, `${indent} `)}\n${indent} </${k}>`;
      else out += `\n${indent} <${k}>${esc(String(item))}</${k}>`;
    }
  }
  return out;
}

/** `<root xmlns=…>` with the object's fields as child elements, in insertion order. */
export function toXml(root: string, body: Record<string, unknown>): string {
  const nil = JSON.stringify(body).includes('null') ? ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"' : '';
  return `<?xml version="1.0" encoding="UTF-8"?><${root}\n   xmlns="${NS}"${nil}>${xmlBody(body, '')}\n</${root}>`;
}

/** Object keys sorted the way Salesforce writes Bulk 1.0 JSON. */
function sorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sorted);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sorted((value as Record<string, unknown>)[k])]));
}

/** A response in the job's wire format; `apiVersion` is a number with one decimal in JSON (`62.0`). */
export function respond(wire: Wire, root: string, body: Record<string, unknown> | unknown[], status = 200): Response {
  if (wire === 'JSON') {
    const text = JSON.stringify(sorted(body)).replace(/"apiVersion":"(\d+\.\d)"/g, '"apiVersion":$1');
    return new Response(text, { status, headers: { 'content-type': 'application/json' } });
  }
  return new Response(toXml(root, body as Record<string, unknown>), { status, headers: { 'content-type': 'application/xml' } });
}

/** The wire format a request speaks, from its Content-Type (for create) or Accept header. */
export function requestWire(req: Request): Wire {
  const type = `${req.headers.get('content-type') ?? ''} ${req.headers.get('accept') ?? ''}`.toLowerCase();
  return type.includes('json') ? 'JSON' : 'XML';
}

/** The error body of the Bulk 1.0 API; REST SfErrors (authentication) map onto its exception codes. */
export function asyncErrorResponse(err: AsyncError | SfError, wire: Wire): Response {
  const e = err instanceof AsyncError ? err
    : err.errorCode === 'INVALID_SESSION_ID' || err.errorCode === 'INVALID_AUTH_HEADER' ? new AsyncError(400, 'InvalidSessionId', 'Invalid session id')
    : new AsyncError(err.status, err.errorCode, err.message);
  return respond(wire, 'error', { exceptionCode: e.exceptionCode, exceptionMessage: e.message }, e.status);
}

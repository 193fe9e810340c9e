/**
 * Running one Composite/Batch subrequest through the emulator's own router with the caller's session
 * (`emulator.dispatch`): no extra API call is counted, exactly as Salesforce counts the outer call once.
 */
import type { Ctx } from '../app.ts';

/** What a subrequest produced, with its body already parsed. */
export interface SubResponse {
  status: number;
  /** Response headers worth echoing (Location, ETag, Last-Modified …), in Salesforce's casing. */
  headers: Record<string, string>;
  /** Parsed JSON body, the raw text when it is not JSON, or null when empty. */
  body: unknown;
}

/** Headers that describe the transport of the subresponse rather than the resource; never echoed. */
const TRANSPORT_HEADERS = new Set(['content-type', 'content-length', 'sforce-limit-info', 'transfer-encoding', 'connection', 'date']);

const CANONICAL: Record<string, string> = { etag: 'ETag', location: 'Location', 'last-modified': 'Last-Modified' };

function canonicalHeader(name: string): string {
  return CANONICAL[name] ?? name.split('-').map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('-');
}

/**
 * Dispatches `method path` (an absolute `/services/data/...` path with query) with an optional JSON body and
 * extra headers, as the caller's session.
 */
export async function runSubrequest(ctx: Ctx, method: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<SubResponse> {
  const h = new Headers(headers);
  const hasBody = body !== undefined && body !== null && method !== 'GET' && method !== 'HEAD' && method !== 'DELETE';
  if (hasBody) h.set('content-type', 'application/json');
  const req = new Request(new URL(path, ctx.url.origin), { method, headers: h, body: hasBody ? JSON.stringify(body) : undefined });
  const res = await ctx.emulator.dispatch(req, ctx.session!);
  const text = method === 'HEAD' ? '' : await res.text();
  let parsed: unknown = null;
  if (text !== '') {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  const out: Record<string, string> = {};
  res.headers.forEach((value, name) => {
    if (!TRANSPORT_HEADERS.has(name)) out[canonicalHeader(name)] = value;
  });
  return { status: res.status, headers: out, body: parsed };
}

/** Response helpers that produce Salesforce's exact content types and error bodies. */
import { SfError } from '../errors.ts';

export const JSON_TYPE = 'application/json;charset=UTF-8';

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': JSON_TYPE, ...headers } });
}

export function noContent(headers: Record<string, string> = {}): Response {
  return new Response(null, { status: 204, headers });
}

export function sfErrorResponse(err: SfError): Response {
  return json([err.toBody()], err.status);
}

/**
 * Media types a JSON resource reads. XML is also Salesforce's, so it is read here too (and refused as a
 * parse error) rather than answered 415; a request without a Content-Type is read as JSON.
 */
function readsAsJson(contentType: string | null): boolean {
  if (contentType === null || contentType.trim() === '') return true;
  const type = contentType.split(';')[0].trim().toLowerCase();
  return type === 'application/json' || type.endsWith('+json') || type === 'text/json' || type === 'application/xml' || type === 'text/xml' || type === '*/*';
}

/**
 * Reads a JSON request body; malformed JSON is Salesforce's JSON_PARSER_ERROR, and a body in a media type the
 * resource does not read (text/plain, a form, multipart) is 415 UNSUPPORTED_MEDIA_TYPE. `anyMediaType` is for
 * the emulator's own admin API, which `curl -d` (a form type) should be able to drive.
 */
export async function readJson<T = unknown>(req: Request, opts: { anyMediaType?: boolean } = {}): Promise<T> {
  const contentType = req.headers.get('content-type');
  if (!opts.anyMediaType && !readsAsJson(contentType)) {
    throw new SfError(415, 'UNSUPPORTED_MEDIA_TYPE', `MediaType of '${contentType!.split(';')[0].trim()}' is not supported by this resource`);
  }
  const text = await req.text();
  if (text.trim() === '') throw new SfError(400, 'JSON_PARSER_ERROR', 'The HTTP entity body is required, but this request has no entity body.');
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new SfError(400, 'JSON_PARSER_ERROR', `Unexpected character in JSON body: ${(err as Error).message}`);
  }
}

/** Reads an x-www-form-urlencoded body (OAuth endpoints). */
export async function readForm(req: Request): Promise<URLSearchParams> {
  return new URLSearchParams(await req.text());
}

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

/** Reads a JSON request body; malformed JSON is Salesforce's JSON_PARSER_ERROR. */
export async function readJson<T = unknown>(req: Request): Promise<T> {
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

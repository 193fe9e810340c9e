/**
 * Blob fields over REST: `GET /sobjects/{ContentVersion|Attachment|Document}/{id}/{VersionData|Body}` serves
 * the bytes with the file's content type, and multipart inserts/updates (`entity_content` JSON part + binary
 * part named after the blob field) carry files without base64 in JSON.
 */
import type { Ctx } from '../app.ts';
import { requireLiveRow, type ApiRecord } from '../dml.ts';
import { SfError } from '../errors.ts';
import { blobContentType } from '../files.ts';
import { readJson } from '../http/respond.ts';
import { multipartBoundary, parseMultipart } from '../http/multipart.ts';
import type { ObjectDef } from '../schema/types.ts';

/** The bytes of a blob field, or null when `fieldName` is not one of the object's blob fields. */
export function blobResponse(ctx: Ctx, def: ObjectDef, id: string, fieldName: string): Response | null {
  const f = ctx.org.schema.field(def.name, fieldName);
  if (!f || f.type !== 'base64' || f.hidden) return null;
  const row = requireLiveRow(ctx.org, def, id);
  const value = row[f.name];
  if (value === null || value === undefined) throw new SfError(404, 'NOT_FOUND', 'The requested resource does not exist');
  const bytes = Buffer.from(String(value), 'base64');
  const type = blobContentType(row.ContentType, row.PathOnClient ?? row.Name);
  return new Response(bytes, { status: 200, headers: { 'content-type': type, 'content-length': String(bytes.length) } });
}

/**
 * The record of a create or update request: a JSON object, or a multipart body whose JSON part (any
 * `entity_…` name, or a part of type application/json) holds the fields and whose binary part, named after
 * the blob field (`VersionData`, `Body`), holds the file.
 */
export async function readRecordInput(ctx: Ctx, def: ObjectDef): Promise<ApiRecord> {
  const boundary = multipartBoundary(ctx.req.headers.get('content-type'));
  if (!boundary) {
    const body = await readJson(ctx.req);
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new SfError(400, 'JSON_PARSER_ERROR', 'Cannot deserialize instance of sObject from a non-object JSON value');
    }
    return body as ApiRecord;
  }
  const parts = parseMultipart(Buffer.from(await ctx.req.arrayBuffer()), boundary);
  const entity = parts.find((p) => p.name.startsWith('entity_') || /json/i.test(p.contentType ?? ''));
  if (!entity) throw new SfError(400, 'MULTIPART_PARSE_ERROR', 'The multipart request has no entity part: send the record fields as JSON in a part named like "entity_content".');
  let record: unknown;
  try {
    record = JSON.parse(entity.body.toString('utf8'));
  } catch (err) {
    throw new SfError(400, 'JSON_PARSER_ERROR', `Unexpected character in JSON body: ${(err as Error).message}`);
  }
  if (record === null || typeof record !== 'object' || Array.isArray(record)) {
    throw new SfError(400, 'JSON_PARSER_ERROR', 'Cannot deserialize instance of sObject from a non-object JSON value');
  }
  const out = { ...(record as ApiRecord) };
  for (const p of parts) {
    if (p === entity) continue;
    const f = ctx.org.schema.field(def.name, p.name);
    if (!f || f.type !== 'base64' || f.hidden) {
      throw new SfError(400, 'INVALID_FIELD', `The binary part "${p.name}" does not name a blob field of ${def.name}: use ${def.fields.filter((x) => x.type === 'base64').map((x) => x.name).join(' or ') || 'none (this object has no blob field)'}`, [p.name]);
    }
    out[f.name] = p.body.toString('base64');
  }
  return out;
}

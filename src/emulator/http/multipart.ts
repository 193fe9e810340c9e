/**
 * A multipart/form-data reader for blob inserts (`POST /sobjects/ContentVersion` with an `entity_content`
 * JSON part and a binary `VersionData` part). Hand-written rather than `Request.formData()`: Salesforce's
 * own examples send `boundary="…"` quoted and `Content-Disposition: form-data; name="entity_document";` with a
 * trailing semicolon, and the binary part must come back as exact bytes whatever its declared type.
 */
import { SfError } from '../errors.ts';

export interface Part {
  name: string;
  filename: string | null;
  contentType: string | null;
  body: Buffer;
}

/** The boundary of a multipart/form-data Content-Type, or null when the request is not one. */
export function multipartBoundary(contentType: string | null): string | null {
  // Only form-data is a blob upload; other multipart types (multipart/related) are not read, as on Salesforce.
  if (!contentType || !/^multipart\/form-data\b/i.test(contentType.trim())) return null;
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  if (!m) throw new SfError(400, 'MULTIPART_PARSE_ERROR', 'The multipart request has no boundary parameter in its Content-Type header.');
  return m[1] ?? m[2];
}

/** Splits a multipart body into its parts; a body that does not follow the boundary is a 400 naming the problem. */
export function parseMultipart(body: Buffer, boundary: string): Part[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Part[] = [];
  let pos = body.indexOf(delimiter);
  if (pos < 0) throw new SfError(400, 'MULTIPART_PARSE_ERROR', `The request body does not contain the multipart boundary "${boundary}".`);
  for (;;) {
    pos += delimiter.length;
    if (body.subarray(pos, pos + 2).toString() === '--') break;
    const headerEnd = body.indexOf('\r\n\r\n', pos);
    if (headerEnd < 0) throw new SfError(400, 'MULTIPART_PARSE_ERROR', 'A multipart part has no blank line after its headers.');
    const headers = body.subarray(pos, headerEnd).toString('utf8').split('\r\n').filter(Boolean);
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), headerEnd + 4);
    if (next < 0) throw new SfError(400, 'MULTIPART_PARSE_ERROR', `A multipart part is not closed by the boundary "--${boundary}".`);
    const header = (n: string) => headers.find((h) => h.toLowerCase().startsWith(`${n}:`))?.slice(n.length + 1).trim() ?? null;
    const disposition = header('content-disposition') ?? '';
    const name = /name="([^"]*)"/i.exec(disposition)?.[1] ?? /name=([^;\s]+)/i.exec(disposition)?.[1];
    if (!name) throw new SfError(400, 'MULTIPART_PARSE_ERROR', 'A multipart part has no Content-Disposition name.');
    parts.push({ name, filename: /filename="([^"]*)"/i.exec(disposition)?.[1] ?? null, contentType: header('content-type'), body: body.subarray(headerEnd + 4, next) });
    pos = next + 2;
  }
  return parts;
}

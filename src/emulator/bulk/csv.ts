/**
 * CSV for Bulk API 2.0: the job's delimiter and line-ending settings, streaming parse of uploads, and the two
 * quoting styles Salesforce writes (ingest results echo columns quoted only when needed; query results quote
 * every value).
 */
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { parse } from 'csv-parse';

/** `columnDelimiter` values and the character each stands for. */
export const DELIMITERS: Record<string, string> = {
  BACKQUOTE: '`',
  CARET: '^',
  COMMA: ',',
  PIPE: '|',
  SEMICOLON: ';',
  TAB: '\t',
};

/** `lineEnding` values and the bytes each stands for. */
export const LINE_ENDINGS: Record<string, string> = { LF: '\n', CRLF: '\r\n' };

/** Quotes a value only when it has to be (delimiter, quote or line break inside), as Salesforce echoes input. */
export function csvCell(value: string | null | undefined, delimiter: string): string {
  const s = value ?? '';
  if (s.includes('"') || s.includes(delimiter) || s.includes('\n') || s.includes('\r')) return `"${s.replaceAll('"', '""')}"`;
  return s;
}

/** Always-quoted value (`sf__` columns and every query-result value); null becomes `""`. */
export function csvQuoted(value: string | null | undefined): string {
  return `"${(value ?? '').replaceAll('"', '""')}"`;
}

/** Raised while reading an upload when it exceeds the configured size. */
export class UploadTooLargeError extends Error {
  constructor(limit: number) {
    super(`upload exceeds ${limit} bytes`);
    this.name = 'UploadTooLargeError';
  }
}

/** An upload being parsed: its records and what was learnt about the raw bytes. */
export interface UploadParse {
  /** Records (header first) as arrays of cells, parsed incrementally. */
  records: AsyncIterable<string[]>;
  /** Bytes read so far (final once `records` is exhausted). */
  bytes(): number;
  /** The line ending the data actually uses (`LF`/`CRLF`), known after the first line break. */
  detectedLineEnding(): 'LF' | 'CRLF' | null;
}

/**
 * Parses an uploaded CSV stream without buffering it: bytes are counted (and capped at `maxBytes`) on the way
 * through, and the first line break tells which line ending the file uses, so a job declared `LF` that receives
 * a CRLF file can fail the way Salesforce fails it.
 */
export function parseUpload(body: ReadableStream<Uint8Array> | null, delimiter: string, maxBytes: number): UploadParse {
  let bytes = 0;
  let lineEnding: 'LF' | 'CRLF' | null = null;
  let lastByte = -1;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      bytes += chunk.length;
      if (bytes > maxBytes) {
        cb(new UploadTooLargeError(maxBytes));
        return;
      }
      if (lineEnding === null) {
        const nl = chunk.indexOf(10);
        if (nl >= 0) lineEnding = (nl > 0 ? chunk[nl - 1] : lastByte) === 13 ? 'CRLF' : 'LF';
        else if (chunk.length > 0) lastByte = chunk[chunk.length - 1];
      }
      cb(null, chunk);
    },
  });
  const source = body ? Readable.fromWeb(body as import('node:stream/web').ReadableStream<Uint8Array>) : Readable.from([]);
  const parser = parse({ delimiter, bom: true, relax_column_count: true, skip_empty_lines: true, record_delimiter: ['\r\n', '\n'] });
  source.on('error', (err) => meter.destroy(err));
  meter.on('error', (err) => parser.destroy(err));
  source.pipe(meter).pipe(parser);
  return { records: parser as AsyncIterable<string[]>, bytes: () => bytes, detectedLineEnding: () => lineEnding };
}

/**
 * File sources: CSV (header row; dotted headers such as `Account.External_Id__c` become parent references;
 * empty cells are left out of the record, as Data Loader does) and JSON lines. Both stream, so file size
 * does not change memory use.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { PublishError } from './types.ts';

export type FileFormat = 'csv' | 'jsonl';

/** Format from a file name (`.csv`, `.jsonl`/`.ndjson`/`.json`), or undefined. */
export function formatOf(path: string): FileFormat | undefined {
  if (/\.csv$/i.test(path)) return 'csv';
  if (/\.(jsonl|ndjson|json)$/i.test(path)) return 'jsonl';
  return undefined;
}

/** Nests dotted keys: `{'Account.External_Id__c': 'A'}` → `{Account: {External_Id__c: 'A'}}`. */
export function nestDotted(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) {
    const parts = k.split('.');
    let cur = out;
    for (let i = 0; i < parts.length - 1; i++) {
      const next = cur[parts[i]];
      cur = (next && typeof next === 'object' ? next : (cur[parts[i]] = {})) as Record<string, unknown>;
    }
    cur[parts[parts.length - 1]] = v;
  }
  return out;
}

/** Reads records from a file path or a stream (stdin). */
export async function* readRecords(source: string | Readable, format: FileFormat, signal?: AbortSignal): AsyncGenerator<Record<string, unknown>> {
  const stream = typeof source === 'string' ? createReadStream(source, { signal }) : source;
  const name = typeof source === 'string' ? source : 'stdin';
  if (format === 'csv') {
    const parser = stream.pipe(parse({ columns: true, bom: true, skip_empty_lines: true, relax_column_count: false }));
    try {
      for await (const row of parser as AsyncIterable<Record<string, string>>) {
        const clean: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(row)) if (v !== '') clean[k.trim()] = v;
        yield nestDotted(clean);
      }
    } catch (err) {
      // csv-parse's own errors (an unterminated quote, a row wider than the header) name the line: say which
      // file and how to fix it, and fail before anything is sent rather than publish what parsed.
      if ((err as { code?: string }).code?.startsWith('CSV_')) {
        throw new PublishError('PUBLISH_INPUT', `${name}: ${(err as Error).message}; nothing was sent. Close the quote (a quote inside a quoted field is written ""), or quote fields that contain commas or line breaks`);
      }
      throw err;
    }
    return;
  }
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    n++;
    if (!line.trim()) continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new PublishError('PUBLISH_INPUT', `${name} line ${n}: not valid JSON (${(err as Error).message}); each line must be one JSON object`);
    }
    if (!value || typeof value !== 'object' || Array.isArray(value)) throw new PublishError('PUBLISH_INPUT', `${name} line ${n}: expected a JSON object per line`);
    yield value as Record<string, unknown>;
  }
}

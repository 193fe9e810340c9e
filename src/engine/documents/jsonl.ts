/**
 * Search documents as JSON lines for another indexer (Elasticsearch, Typesense, a vector pipeline): one
 * document per line, and `{"id":"…","deleted":true}` for each removal, in the order they happened, so a
 * consumer replaying the file ends with the same set the store has.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { SearchDocument } from '../../store/types.ts';

/** Options of {@link JsonlDocumentSink}. */
export interface JsonlSinkOptions {
  /** Append to an existing file (default) or truncate it. */
  append?: boolean;
}

/** Appends documents and deletions to a JSONL file. Writes wait for the disk (backpressure); `close()` flushes. */
export class JsonlDocumentSink {
  readonly path: string;
  readonly #append: boolean;
  #stream: WriteStream | undefined;
  #opening: Promise<WriteStream> | undefined;
  #error: Error | undefined;
  #closed = false;
  /** Lines written so far. */
  lines = 0;

  constructor(path: string, opts: JsonlSinkOptions = {}) {
    this.path = path;
    this.#append = opts.append ?? true;
  }

  /** Writes one line per document. */
  write(docs: readonly SearchDocument[], signal?: AbortSignal): Promise<void> {
    return this.#writeLines(docs.map((d) => JSON.stringify(d)), signal);
  }

  /** Writes one `{"id":…,"deleted":true}` line per id. */
  delete(ids: readonly string[], signal?: AbortSignal): Promise<void> {
    return this.#writeLines(ids.map((id) => JSON.stringify({ id, deleted: true })), signal);
  }

  /** Flushes and closes the file. Further writes fail. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const stream = this.#stream ?? (this.#opening ? await this.#opening.catch(() => undefined) : undefined);
    if (!stream) return;
    await new Promise<void>((resolve, reject) => stream.end((err?: Error | null) => (err ? reject(err) : resolve())));
    if (this.#error) throw this.#error;
  }

  async #writeLines(lines: string[], signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.#closed) throw new Error(`JSONL sink ${this.path} is closed`);
    if (this.#error) throw this.#error;
    if (lines.length === 0) return;
    const stream = await this.#open();
    const ok = stream.write(`${lines.join('\n')}\n`);
    this.lines += lines.length;
    if (!ok) await drained(stream, signal);
    if (this.#error) throw this.#error;
  }

  #open(): Promise<WriteStream> {
    this.#opening ??= (async () => {
      await mkdir(dirname(this.path), { recursive: true });
      const stream = createWriteStream(this.path, { flags: this.#append ? 'a' : 'w', encoding: 'utf8' });
      stream.on('error', (err) => (this.#error ??= err));
      this.#stream = stream;
      return stream;
    })();
    return this.#opening;
  }
}

/** Waits for 'drain', rejecting on stream error or abort (the data stays queued; close() still flushes it). */
function drained(stream: WriteStream, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const done = (err?: unknown) => {
      stream.off('drain', onDrain);
      stream.off('error', onError);
      signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => done();
    const onError = (err: Error) => done(err);
    const onAbort = () => done(signal!.reason);
    stream.once('drain', onDrain);
    stream.once('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

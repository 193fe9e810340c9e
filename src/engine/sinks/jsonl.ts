/**
 * JSONL file sink: one line per message, appended in order; `deliver` resolves after the lines are written
 * and (with `fsync`, the default) flushed to disk, so a delivered line survives a crash. By default a line is
 * the message body (a search document, a comment, `{"id":…,"deleted":true}`), the format other indexers
 * read; `envelope: true` writes `{"id","key","headers","body"}` so a consumer can deduplicate by id.
 */
import { open, mkdir, type FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SinkConfig } from './config.ts';
import { SinkError, type DeliverOptions, type Sink, type SinkMessage } from './types.ts';

/** A `url:` of a jsonl sink as a path: `file:` URLs and plain paths. */
export function jsonlPath(url: string): string {
  return url.startsWith('file:') ? fileURLToPath(url) : resolve(url);
}

export class JsonlSink implements Sink {
  readonly kind = 'jsonl' as const;
  readonly label: string;
  readonly path: string;
  readonly #envelope: boolean;
  readonly #fsync: boolean;
  #file: Promise<FileHandle> | undefined;
  #tail: Promise<void> = Promise.resolve();
  #closed = false;
  /** Lines written so far. */
  lines = 0;

  constructor(config: Pick<SinkConfig, 'url' | 'envelope' | 'fsync'>) {
    this.path = jsonlPath(config.url!);
    this.label = this.path;
    this.#envelope = config.envelope;
    this.#fsync = config.fsync;
  }

  deliver(messages: readonly SinkMessage[], options: DeliverOptions = {}): Promise<void> {
    if (this.#closed) return Promise.reject(new SinkError('SINK_CLOSED', this.label, 'sink is closed'));
    options.signal?.throwIfAborted();
    if (messages.length === 0) return Promise.resolve();
    const text = messages.map((m) => JSON.stringify(this.#envelope ? { id: m.id, key: m.key, headers: m.headers ?? {}, body: m.body } : m.body)).join('\n') + '\n';
    // Deliveries append one after another, so lines keep the order deliver() was called in.
    const run = this.#tail.then(async () => {
      const fh = await this.#open();
      try {
        await fh.appendFile(text, 'utf8');
        if (this.#fsync) await fh.datasync();
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // A full disk can clear; a permission or path problem cannot.
        throw new SinkError(code === 'ENOSPC' || code === 'EIO' ? 'SINK_UNAVAILABLE' : 'SINK_REJECTED', this.label, `cannot write: ${(err as Error).message}`, { cause: err });
      }
      this.lines += messages.length;
    });
    this.#tail = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#tail;
    const fh = await this.#file?.catch(() => undefined);
    await fh?.close();
  }

  #open(): Promise<FileHandle> {
    this.#file ??= (async () => {
      await mkdir(dirname(this.path), { recursive: true });
      return open(this.path, 'a');
    })().catch((err: unknown) => {
      this.#file = undefined;
      throw new SinkError('SINK_MISCONFIGURED', this.label, `cannot open for appending: ${(err as Error).message}`, { cause: err });
    });
    return this.#file;
  }
}

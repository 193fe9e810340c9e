/**
 * Runs configured publish pipelines (see `config.ts`): read the source, transform, publish through the
 * outbox, write Salesforce Ids back to table sources, then advance the source cursor.
 *
 * Crash safety: the cursor moves only after write-back, and outbox keys are derived from the source row
 * (`key@cursor` for cursor sources, `key` for outbox tables), so a rerun after a crash re-reads the same rows,
 * finds them in the outbox (already published, or `sent` and reconciled) and only writes back what is missing.
 */
import { isAbsolute, resolve } from 'node:path';
import type { SalesforceClient } from '../../client/index.ts';
import { openStore, type JsonValue, type PublishState, type SourceWriteBack, type Store } from '../../store/index.ts';
import { DEFAULT_PUBLISH_STATE, targetOf, type OutboxSourceConfig, type PublishPipelineConfig, type TableSourceConfig } from './config.ts';
import { formatOf, readRecords } from './files.ts';
import { publish, type PublishInput, type PublishOptions } from './publisher.ts';
import { compileTransform } from './transform.ts';
import { PublishError, type PublishRecordResult, type PublishSummary } from './types.ts';

/** Default rows per source page. */
export const SOURCE_PAGE_SIZE = 10_000;

export interface PipelineRunOptions {
  client: SalesforceClient;
  /** Relative file paths and SQLite URLs in the config resolve against this directory. */
  baseDir?: string;
  /** Overrides the pipeline's `state:`. */
  stateUrl?: string;
  signal?: AbortSignal;
  onResult?: (result: PublishRecordResult) => Promise<void> | void;
  onProgress?: PublishOptions['onProgress'];
  onWarning?: (message: string) => void;
  /** Shared store handles (the service's); when given, stores are taken from it and left open. */
  stores?: (url: string) => Promise<Store>;
  /** Extra publish options (tests: bulk stub, retry delay). */
  publishOptions?: Partial<Pick<PublishOptions, 'bulk' | 'retryBaseDelayMs' | 'maxRetries' | 'beforeSend' | 'parallelism'>>;
}

export interface PipelineRunSummary extends PublishSummary {
  pipeline: string;
  /** Source rows updated by write-back. */
  writtenBack: number;
}

function resolveUrl(url: string, baseDir: string): string {
  if (!url.startsWith('sqlite:') || url === 'sqlite::memory:') return url;
  const path = url.slice('sqlite:'.length);
  return isAbsolute(path) ? url : `sqlite:${resolve(baseDir, path)}`;
}

/** Runs one pipeline once (all changes available now). */
export async function runPipeline(p: PublishPipelineConfig, opts: PipelineRunOptions): Promise<PipelineRunSummary> {
  const baseDir = opts.baseDir ?? process.cwd();
  const stateUrl = resolveUrl(opts.stateUrl ?? p.state ?? DEFAULT_PUBLISH_STATE, baseDir);
  const stores = new Map<string, Store>();
  const open = async (url: string): Promise<Store> => {
    if (opts.stores) return opts.stores(url);
    let s = stores.get(url);
    if (!s) {
      if (url.startsWith('sqlite:') && url !== 'sqlite::memory:') {
        const { mkdir } = await import('node:fs/promises');
        const { dirname } = await import('node:path');
        await mkdir(dirname(url.slice('sqlite:'.length)), { recursive: true });
      }
      s = await openStore(url);
      stores.set(url, s);
    }
    return s;
  };
  try {
    const state = await (await open(stateUrl)).publishState();
    const transform = compileTransform(p.transform);
    const target = targetOf(p);
    const common = {
      client: opts.client,
      target,
      state,
      pipeline: p.name,
      path: p.path,
      maxRetries: p.maxRetries,
      parallelism: p.parallelism,
      describeFreshForMs: p.describeMaxAge,
      signal: opts.signal,
      onProgress: opts.onProgress,
      onWarning: opts.onWarning,
      ...opts.publishOptions,
    } satisfies Partial<PublishOptions>;
    const src = p.source;
    if ('file' in src) {
      const path = resolve(baseDir, src.file);
      const format = src.format ?? formatOf(path);
      if (!format) throw new PublishError('PUBLISH_CONFIG', `${p.name}: cannot tell the format of ${src.file}; add format: csv or format: jsonl`);
      const keyField = src.key;
      const records = (async function* (): AsyncGenerator<PublishInput> {
        for await (const row of readRecords(path, format, opts.signal)) {
          const key = keyField ? row[keyField] : undefined;
          yield { key: key == null ? undefined : String(key), record: transform(row) };
        }
      })();
      const summary = await publish({ ...common, records, onResult: opts.onResult });
      return { ...summary, pipeline: p.name, writtenBack: 0 };
    }
    const source = await (await open(resolveUrl(src.store ?? stateUrl, baseDir))).publishState();
    return 'table' in src ? await runTable(p, src, source, state, common, opts) : await runOutboxTable(p, src, source, common, opts);
  } finally {
    for (const s of stores.values()) await s.close();
  }
}

type Common = Omit<PublishOptions, 'records'>;

function writeBackValues(wb: TableSourceConfig['writeBack'], r: PublishRecordResult, now: string): Record<string, JsonValue> {
  const v: Record<string, JsonValue> = {};
  if (!wb) return v;
  if (wb.id && r.success && r.id) v[wb.id] = r.id;
  if (wb.error) v[wb.error] = r.success ? null : r.errors.map((e) => `${e.code}: ${e.message}`).join('; ');
  if (wb.publishedAt && r.success) v[wb.publishedAt] = now;
  return v;
}

/** The transform of a table pipeline; bookkeeping columns (write-back, processed marker) are never sent. */
function tableTransform(p: PublishPipelineConfig, src: TableSourceConfig | OutboxSourceConfig): (row: Record<string, unknown>) => Record<string, unknown> {
  const t = compileTransform(p.transform);
  const skip = new Set([...Object.values(src.writeBack ?? {}), ...('processed' in src ? [src.processed] : [])]);
  if (p.transform?.select || skip.size === 0) return t;
  return (row) => {
    const copy = { ...row };
    for (const c of skip) delete copy[c];
    return t(copy);
  };
}

/** Adds one page's totals to a run's. */
function addSummary(into: PipelineRunSummary, s: PublishSummary): void {
  for (const k of ['total', 'succeeded', 'failed', 'created', 'alreadyPublished', 'reconciled', 'retried', 'deadLettered'] as const) into[k] += s[k];
  for (const path of s.paths) if (!into.paths.includes(path)) into.paths.push(path);
}

/**
 * Publishes a table source page by page: each page is published, written back and (for cursor sources)
 * checkpointed before the next is read, so memory stays bounded and a crash loses at most one page's
 * bookkeeping (which the outbox then recovers).
 */
async function publishPages(
  p: PublishPipelineConfig,
  common: Common,
  opts: PipelineRunOptions,
  readPage: (after: { cursor: JsonValue; key: JsonValue } | null) => Promise<Record<string, unknown>[]>,
  pageSize: number,
  start: { cursor: JsonValue; key: JsonValue } | null,
  keyOf: (row: Record<string, unknown>) => string,
  positionOf: (row: Record<string, unknown>) => { cursor: JsonValue; key: JsonValue },
  writeBack: (rows: Record<string, unknown>[], results: PublishRecordResult[]) => Promise<number>,
  afterPage?: (last: Record<string, unknown>) => Promise<void>,
): Promise<PipelineRunSummary> {
  const total: PipelineRunSummary = { pipeline: p.name, writtenBack: 0, total: 0, succeeded: 0, failed: 0, created: 0, alreadyPublished: 0, reconciled: 0, retried: 0, deadLettered: 0, paths: [] };
  const transform = tableTransform(p, p.source as TableSourceConfig | OutboxSourceConfig);
  let after = start;
  for (;;) {
    const rows = await readPage(after);
    if (rows.length === 0) break;
    const results: PublishRecordResult[] = [];
    const offset = total.total;
    const s = await publish({
      ...common,
      records: rows.map((row) => ({ key: keyOf(row), record: transform(row) })),
      onResult: async (r) => {
        results.push(r);
        await opts.onResult?.({ ...r, index: r.index + offset });
      },
    });
    addSummary(total, s);
    const written = await writeBack(rows, results);
    total.writtenBack += written;
    // An outbox table page is re-read from its first unprocessed row: stop if nothing got marked.
    if (!afterPage && written === 0) break;
    const last = rows[rows.length - 1];
    await afterPage?.(last);
    if (rows.length < pageSize) break;
    after = positionOf(last);
  }
  return total;
}

async function runTable(p: PublishPipelineConfig, src: TableSourceConfig, source: PublishState, state: PublishState, common: Common, opts: PipelineRunOptions): Promise<PipelineRunSummary> {
  const pageSize = src.pageSize ?? SOURCE_PAGE_SIZE;
  const now = new Date().toISOString();
  const positionOf = (row: Record<string, unknown>) => ({ cursor: row[src.cursor] as JsonValue, key: row[src.key] as JsonValue });
  return publishPages(
    p,
    common,
    opts,
    (after) => source.readSource(src.table, { keyColumn: src.key, cursorColumn: src.cursor, after, limit: pageSize, signal: opts.signal }),
    pageSize,
    (await state.getCursor(p.name)) ?? null,
    (row) => `${String(row[src.key])}@${String(row[src.cursor])}`,
    positionOf,
    (rows, results) => {
      const updates: SourceWriteBack[] = [];
      for (const r of results) {
        const values = writeBackValues(src.writeBack, r, now);
        if (Object.keys(values).length) updates.push({ key: rows[r.index][src.key] as JsonValue, values });
      }
      return source.writeBack(src.table, src.key, updates, { signal: opts.signal });
    },
    // The cursor moves only after write-back: a crash before it re-reads the page, which the outbox recognises.
    (last) => state.setCursor(p.name, positionOf(last)),
  );
}

async function runOutboxTable(p: PublishPipelineConfig, src: OutboxSourceConfig, source: PublishState, common: Common, opts: PipelineRunOptions): Promise<PipelineRunSummary> {
  const pageSize = src.pageSize ?? SOURCE_PAGE_SIZE;
  const now = new Date().toISOString();
  return publishPages(
    p,
    common,
    opts,
    // Handled rows get their processed marker, so every page starts from the first unprocessed row.
    () => source.readSource(src.outbox, { keyColumn: src.key, unprocessedColumn: src.processed, limit: pageSize, signal: opts.signal }),
    pageSize,
    null,
    (row) => String(row[src.key]),
    (row) => ({ cursor: null, key: row[src.key] as JsonValue }),
    // Failed rows are marked processed too: they live on in the dead-letter table, not in the app's queue.
    (rows, results) =>
      source.writeBack(src.outbox, src.key, results.map((r) => ({ key: rows[r.index][src.key] as JsonValue, values: { ...writeBackValues(src.writeBack, r, now), [src.processed]: now } })), { signal: opts.signal }),
  );
}

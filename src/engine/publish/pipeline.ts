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
export const SOURCE_PAGE_SIZE = 5000;

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

async function runTable(p: PublishPipelineConfig, src: TableSourceConfig, source: PublishState, state: PublishState, common: Common, opts: PipelineRunOptions): Promise<PipelineRunSummary> {
  const pageSize = src.pageSize ?? SOURCE_PAGE_SIZE;
  const transform = tableTransform(p, src);
  let after = (await state.getCursor(p.name)) ?? null;
  const rows: Record<string, unknown>[] = [];
  for (;;) {
    const page = await source.readSource(src.table, { keyColumn: src.key, cursorColumn: src.cursor, after, limit: pageSize, signal: opts.signal });
    rows.push(...page);
    if (page.length < pageSize) break;
    const lastRow = page[page.length - 1];
    after = { cursor: lastRow[src.cursor] as JsonValue, key: lastRow[src.key] as JsonValue };
  }
  const keyOf = (row: Record<string, unknown>) => `${String(row[src.key])}@${String(row[src.cursor])}`;
  const updates: SourceWriteBack[] = [];
  const now = new Date().toISOString();
  const summary = await publish({
    ...common,
    records: rows.map((row) => ({ key: keyOf(row), record: transform(row) })),
    onResult: async (r) => {
      const values = writeBackValues(src.writeBack, r, now);
      if (Object.keys(values).length) updates.push({ key: rows[r.index][src.key] as JsonValue, values });
      await opts.onResult?.(r);
    },
  });
  const writtenBack = await source.writeBack(src.table, src.key, updates, { signal: opts.signal });
  if (rows.length) {
    const lastRow = rows[rows.length - 1];
    await state.setCursor(p.name, { cursor: lastRow[src.cursor] as JsonValue, key: lastRow[src.key] as JsonValue });
  }
  return { ...summary, pipeline: p.name, writtenBack };
}

async function runOutboxTable(p: PublishPipelineConfig, src: OutboxSourceConfig, source: PublishState, common: Common, opts: PipelineRunOptions): Promise<PipelineRunSummary> {
  const pageSize = src.pageSize ?? SOURCE_PAGE_SIZE;
  const transform = tableTransform(p, src);
  const rows: Record<string, unknown>[] = [];
  let after: { cursor: JsonValue; key: JsonValue } | null = null;
  for (;;) {
    const page = await source.readSource(src.outbox, { keyColumn: src.key, unprocessedColumn: src.processed, after, limit: pageSize, signal: opts.signal });
    rows.push(...page);
    if (page.length < pageSize) break;
    after = { cursor: null, key: page[page.length - 1][src.key] as JsonValue };
  }
  const updates: SourceWriteBack[] = [];
  const now = new Date().toISOString();
  const summary = await publish({
    ...common,
    records: rows.map((row) => ({ key: String(row[src.key]), record: transform(row) })),
    onResult: async (r) => {
      // Failed rows are marked processed too: they live on in the dead-letter table, not in the app's queue.
      updates.push({ key: rows[r.index][src.key] as JsonValue, values: { ...writeBackValues(src.writeBack, r, now), [src.processed]: now } });
      await opts.onResult?.(r);
    },
  });
  const writtenBack = await source.writeBack(src.outbox, src.key, updates, { signal: opts.signal });
  return { ...summary, pipeline: p.name, writtenBack };
}

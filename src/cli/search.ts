/**
 * `sfbridge search "acme"`: ranked full-text search over the documents `sfbridge sync` built, offline (it
 * reads the local store only, never the org).
 */
import { existsSync } from 'node:fs';
import type { Writable } from 'node:stream';
import type { SearchHit, Store } from '../store/types.ts';
import { CliError, parseFlags, plural, UsageError } from './args.ts';
import { reportError, wantsJson, writeJson } from './report.ts';
import { openExistingStore } from './store-flags.ts';

/** Store searched when `--db` is not given (where `sfbridge sync` writes by default). */
export const DEFAULT_SEARCH_DB = './data/sfbridge.db';
/** The demo's database (`sfbridge demo`, `serve --demo`), searched when the sync store does not exist. */
export const DEMO_SEARCH_DB = './data/demo.db';
/** Hits shown when `--limit` is not given. */
export const DEFAULT_SEARCH_LIMIT = 20;
/** Largest `--limit` (the store's cap). */
export const MAX_SEARCH_LIMIT = 1000;

const USAGE = `Usage: sfbridge search "TEXT" [--db sqlite:./data/sfbridge.db | PATH | postgres://…] [--type Case] [--limit N] [--format table|jsonl]

Searches the documents built by \`sfbridge sync\` (title, content, tags and category path); every word
must match, best matches first.

  --db URL|PATH      store to search (default $SFBRIDGE_STORE, the store \`sfbridge sync\` uses, else
                     ${DEFAULT_SEARCH_DB}, else the demo's ${DEMO_SEARCH_DB}); a bare path means a SQLite file
  --type OBJECT      only documents of this object, e.g. Case or Invoice__c
  --limit N          at most N hits, 1..${MAX_SEARCH_LIMIT} (default ${DEFAULT_SEARCH_LIMIT})
  --format F         table (default): title, type, category, snippet, URL per hit; jsonl: one hit per line
  --json             {"ok":true,"command":"search","query":…,"hits":[…]}

A store synced without documents has none to search: the command says so (exit 1) and how to build them.
`;

/** Injection points for tests. */
export interface SearchCommandIO {
  stdout?: Writable & { isTTY?: boolean };
  stderr?: Writable;
  env?: NodeJS.ProcessEnv;
}

/** A `--db` value as a store URL: bare paths are SQLite files. */
export function searchStoreUrl(db: string): string {
  if (/^(sqlite:|postgres(ql)?:\/\/)/.test(db)) return db;
  // `mysql://…` is a URL we do not support, not a file name.
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(db)) throw new UsageError(`--db: unsupported store URL "${db.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@')}": expected sqlite:PATH, a file path, or postgres://user@host:5432/db`);
  return `sqlite:${db}`;
}

/** Runs the command; returns the exit code (0 ok, even with no hits; 1 store error; 2 usage error). */
export async function searchCommand(argv: string[], io: SearchCommandIO = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const env = io.env ?? process.env;
  try {
    const { values, positionals } = parseFlags(argv, {
      db: { type: 'string' },
      type: { type: 'string' },
      limit: { type: 'string' },
      format: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    }, USAGE);
    if (values.help) {
      stdout.write(USAGE);
      return 0;
    }
    if (positionals.length === 0 || !positionals.join(' ').trim()) throw new UsageError(`expected the text to search for, e.g. sfbridge search "acme"\n\n${USAGE}`);
    const text = positionals.join(' ');
    const format = (values.format as string | undefined) ?? 'table';
    if (format !== 'table' && format !== 'jsonl') throw new UsageError(`--format must be table or jsonl, got "${format}"`);
    let limit = DEFAULT_SEARCH_LIMIT;
    if (values.limit !== undefined) {
      limit = Number(values.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_SEARCH_LIMIT) throw new UsageError(`--limit must be an integer from 1 to ${MAX_SEARCH_LIMIT}, got "${values.limit}"`);
    }
    const type = values.type as string | undefined;
    if (type !== undefined && !/^[A-Za-z][A-Za-z0-9_]*$/.test(type)) throw new UsageError(`--type must be an object API name such as Case or Invoice__c, got "${type}"`);

    // SFBRIDGE_STORE is what `sfbridge sync` writes to when it has no --to, so both find the same store.
    // Without a sync store yet, the demo's own database (`npm start`, `npm run demo`) is searched.
    const db = (values.db as string | undefined) ?? (env.SFBRIDGE_STORE || undefined) ?? (!existsSync(DEFAULT_SEARCH_DB) && existsSync(DEMO_SEARCH_DB) ? DEMO_SEARCH_DB : DEFAULT_SEARCH_DB);
    const store = await openExistingStore(searchStoreUrl(db), '--db', 'run `sfbridge sync --documents` first to mirror the org and build the search index, or point --db at an existing store');
    let hits: SearchHit[];
    try {
      hits = await store.search(text, { type, limit });
      // No hits may mean the store has no documents at all: say so, and how to build them.
      if (!hits.length) {
        const why = await whyNoDocuments(store);
        if (why) throw new CliError('NO_SEARCH_DOCUMENTS', why, { fix: 'run `sfbridge sync --documents` (or set documents: {enabled: true} in the config file) to build them' });
      }
    } finally {
      await store.close();
    }
    if (values.json) writeJson(stdout, 'search', { query: text, hits });
    else if (format === 'jsonl') {
      for (const h of hits) stdout.write(`${JSON.stringify(h)}\n`);
    } else {
      stdout.write(formatHits(hits, text, { tty: !!stdout.isTTY, type }));
    }
    return 0;
  } catch (err) {
    return reportError('search', err, { stdout, stderr, json: wantsJson(argv) });
  }
}

/**
 * Why a store has no search documents, or undefined when it may have some: every object synced into it was
 * synced without documents (each object's checkpoint records whether its sync built documents).
 */
async function whyNoDocuments(store: Store): Promise<string | undefined> {
  const runs = await store.listRuns(50);
  // Documents can come from elsewhere than a sync (the comments pipeline, the API): without runs, no verdict.
  if (!runs.length) return undefined;
  const objects = new Set(runs.flatMap((r) => Object.keys(r.objects)));
  for (const o of objects) {
    const cp = await store.getCheckpoint(o);
    const key = (cp?.extra as { selectionKey?: unknown } | null | undefined)?.selectionKey;
    if (typeof key !== 'string') return undefined;
    try {
      if ((JSON.parse(key) as { documents?: boolean }).documents !== false) return undefined;
    } catch {
      return undefined;
    }
  }
  return `this store has no search documents: ${[...objects].join(', ')} were synced without them`;
}

/** Hits as numbered blocks: title, type and category path; the snippet; the URL. */
export function formatHits(hits: readonly SearchHit[], text: string, opts: { tty?: boolean; type?: string } = {}): string {
  if (hits.length === 0) return `No matches for ${JSON.stringify(text)}${opts.type ? ` in ${opts.type}` : ''}.\n`;
  const bold = (s: string) => (opts.tty ? `\x1b[1m${s}\x1b[22m` : s);
  const lines: string[] = [];
  const width = String(hits.length).length;
  hits.forEach((h, i) => {
    const pad = ' '.repeat(width + 2);
    lines.push(`${String(i + 1).padStart(width)}. ${bold(oneLine(h.title))}  [${h.type}]  ${h.categories.join(', ')}`);
    const snippet = oneLine(h.snippet).replace(/<mark>(.*?)<\/mark>/g, (_, m: string) => (opts.tty ? bold(m) : `[${m}]`));
    if (snippet) lines.push(`${pad}${snippet}`);
    if (h.url) lines.push(`${pad}${h.url}`);
  });
  lines.push(`(${plural(hits.length, 'hit')})`);
  return `${lines.join('\n')}\n`;
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

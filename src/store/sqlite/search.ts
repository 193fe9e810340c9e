/**
 * SQLite search documents: a plain table plus an external-content FTS5 index kept in step by triggers,
 * so document writes are ordinary row writes and join any open transaction (rows, documents and checkpoint
 * commit together). Hits are ordered as on Postgres: title matches first, shorter titles first, then bm25 with
 * column weights title 10, content 1, tags 4, categories 2.
 */
import { Params, quote, type Conn, type Dialect } from '../driver.ts';
import { DOCUMENT_COLUMNS, DOCUMENTS_TABLE, documentValues, hitLimit, prepareDocuments } from '../documents.ts';
import type { SearchDocument, SearchHit, SearchIndex, SearchOptions } from '../types.ts';
import { chunk, searchPhrases } from '../values.ts';

const FTS = `${DOCUMENTS_TABLE}_fts`;
const FTS_COLUMNS = ['title', 'content', 'tags_text', 'categories_text'];
const WEIGHTS = '10.0, 1.0, 4.0, 2.0';

/** Idempotent DDL for the document table, its FTS5 index and the triggers that sync them. */
export function searchDdl(): string[] {
  const t = quote(DOCUMENTS_TABLE);
  const f = quote(FTS);
  const cols = FTS_COLUMNS.join(', ');
  const newCols = FTS_COLUMNS.map((c) => `new.${c}`).join(', ');
  const oldCols = FTS_COLUMNS.map((c) => `old.${c}`).join(', ');
  return [
    `CREATE TABLE IF NOT EXISTS ${t} (doc_rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, type TEXT NOT NULL, title TEXT NOT NULL, url TEXT, created TEXT, updated TEXT, owner TEXT, tags TEXT NOT NULL, categories TEXT NOT NULL, tags_text TEXT NOT NULL, categories_text TEXT NOT NULL, content TEXT NOT NULL, raw TEXT)`,
    `CREATE INDEX IF NOT EXISTS ${quote(`${DOCUMENTS_TABLE}_type`)} ON ${t} (type)`,
    `CREATE VIRTUAL TABLE IF NOT EXISTS ${f} USING fts5(${cols}, content=${quote(DOCUMENTS_TABLE)}, content_rowid='doc_rowid', tokenize='unicode61 remove_diacritics 2')`,
    `CREATE TRIGGER IF NOT EXISTS ${quote(`${DOCUMENTS_TABLE}_ai`)} AFTER INSERT ON ${t} BEGIN INSERT INTO ${f} (rowid, ${cols}) VALUES (new.doc_rowid, ${newCols}); END`,
    // External-content FTS5 needs the old values to remove a row's terms.
    `CREATE TRIGGER IF NOT EXISTS ${quote(`${DOCUMENTS_TABLE}_ad`)} AFTER DELETE ON ${t} BEGIN INSERT INTO ${f} (${f}, rowid, ${cols}) VALUES ('delete', old.doc_rowid, ${oldCols}); END`,
    `CREATE TRIGGER IF NOT EXISTS ${quote(`${DOCUMENTS_TABLE}_au`)} AFTER UPDATE ON ${t} BEGIN INSERT INTO ${f} (${f}, rowid, ${cols}) VALUES ('delete', old.doc_rowid, ${oldCols}); INSERT INTO ${f} (rowid, ${cols}) VALUES (new.doc_rowid, ${newCols}); END`,
  ];
}

/**
 * Builds an FTS5 MATCH expression in which every user word is a quoted phrase, so operators (`AND`, `OR`,
 * `NOT`, `NEAR`), `*`, `-`, `^`, `:` and parentheses in the input are plain text.
 */
export function ftsQuery(query: string): string | undefined {
  const phrases = searchPhrases(query);
  if (phrases.length === 0) return undefined;
  return phrases.map((tokens) => `"${tokens.join(' ').replaceAll('"', '""')}"`).join(' AND ');
}

/** `SearchIndex` over SQLite FTS5, bound to one connection. */
export class SqliteSearchIndex implements SearchIndex {
  readonly #conn: Conn;
  readonly #dialect: Dialect;
  readonly #signal: AbortSignal | undefined;

  constructor(conn: Conn, dialect: Dialect, signal?: AbortSignal) {
    this.#conn = conn;
    this.#dialect = dialect;
    this.#signal = signal;
  }

  async upsertDocuments(docs: readonly SearchDocument[]): Promise<number> {
    const rows = prepareDocuments(docs);
    const sets = DOCUMENT_COLUMNS.filter((c) => c !== 'id').map((c) => `${c} = excluded.${c}`).join(', ');
    for (const part of chunk(rows, Math.floor(this.#dialect.maxParams / DOCUMENT_COLUMNS.length / 2))) {
      this.#signal?.throwIfAborted();
      const p = new Params(this.#dialect);
      const values = part.map((r) => p.list(documentValues(r))).join(', ');
      await this.#conn.run(`INSERT INTO ${quote(DOCUMENTS_TABLE)} (${DOCUMENT_COLUMNS.join(', ')}) VALUES ${values} ON CONFLICT (id) DO UPDATE SET ${sets}`, p.values);
    }
    return rows.length;
  }

  async deleteDocuments(ids: readonly string[]): Promise<number> {
    let removed = 0;
    for (const part of chunk([...new Set(ids)], 1000)) {
      this.#signal?.throwIfAborted();
      const p = new Params(this.#dialect);
      const rows = await this.#conn.all(`DELETE FROM ${quote(DOCUMENTS_TABLE)} WHERE id IN ${p.list(part)} RETURNING id`, p.values);
      removed += rows.length;
    }
    return removed;
  }

  async search(query: string, options?: SearchOptions): Promise<SearchHit[]> {
    options?.signal?.throwIfAborted();
    const match = ftsQuery(String(query ?? ''));
    const limit = hitLimit(options?.limit);
    if (match === undefined) return [];
    const p = new Params(this.#dialect);
    const f = quote(FTS);
    // The order both backends share (postgres/search.ts computes the same): documents whose title holds every
    // word first, shorter titles (closer matches) before longer ones, then the backend's relevance score.
    // Placeholders are positional: this one appears first in the statement.
    const titleMatch = p.add(`title : (${match})`);
    const conds = [`${f} MATCH ${p.add(match)}`];
    if (options?.type !== undefined) conds.push(`d.type = ${p.add(options.type)}`);
    const rows = await this.#conn.all(
      `SELECT d.id, d.type, d.title, d.url, d.categories, -bm25(${f}, ${WEIGHTS}) AS score, ` +
        `snippet(${f}, -1, '<mark>', '</mark>', '…', 16) AS snippet, ` +
        `CASE WHEN ${f}.rowid IN (SELECT rowid FROM ${f} WHERE ${f} MATCH ${titleMatch}) THEN 0 ELSE 1 END AS tier ` +
        `FROM ${f} JOIN ${quote(DOCUMENTS_TABLE)} d ON d.doc_rowid = ${f}.rowid ` +
        `WHERE ${conds.join(' AND ')} ORDER BY tier, length(d.title), bm25(${f}, ${WEIGHTS}), d.id LIMIT ${p.add(limit)}`,
      p.values,
    );
    return rows.map((r) => ({
      id: String(r.id),
      type: String(r.type),
      title: String(r.title),
      url: r.url == null ? null : String(r.url),
      categories: JSON.parse(String(r.categories)) as string[],
      score: Number(r.score),
      snippet: String(r.snippet ?? ''),
    }));
  }
}

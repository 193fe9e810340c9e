/**
 * Postgres search documents: a table with a stored, generated `tsvector` (GIN-indexed) built with the
 * `simple` configuration (no stemming or stop words, like SQLite's unicode61), weighted title A, tags B,
 * categories C, content D. Hits are ordered as on SQLite: title holds every word first, shorter titles first,
 * then `ts_rank` with the default weights (A 1.0 … D 0.1), so a title hit
 * outranks a body hit. Document writes are ordinary row writes and join any open transaction.
 */
import { Params, quote, type Conn } from '../driver.ts';
import { DOCUMENT_COLUMNS, DOCUMENTS_TABLE, documentValues, hitLimit, prepareDocuments } from '../documents.ts';
import type { SearchDocument, SearchHit, SearchIndex, SearchOptions } from '../types.ts';
import { chunk, searchPhrases } from '../values.ts';
import type { PostgresDialect } from './dialect.ts';

/** Idempotent DDL for the document table and its indexes. */
export function searchDdl(dialect: PostgresDialect): string[] {
  const t = dialect.table(DOCUMENTS_TABLE);
  // The default parser keeps e-mails, URLs, paths and hyphenated words as single tokens, which a query
  // split into letter/digit words would never match; splitting on every other character first makes
  // indexing agree with query parsing (and with FTS5's unicode61).
  const words = (col: string) => `to_tsvector('simple', regexp_replace(${col}, '[^[:alnum:]]+', ' ', 'g'))`;
  const vector =
    `setweight(${words('title')}, 'A') || setweight(${words('tags_text')}, 'B') || ` +
    `setweight(${words('categories_text')}, 'C') || setweight(${words('content')}, 'D')`;
  return [
    `CREATE TABLE IF NOT EXISTS ${t} (id text COLLATE "C" PRIMARY KEY, type text NOT NULL, title text NOT NULL, url text, created text, updated text, owner text, tags jsonb NOT NULL, categories jsonb NOT NULL, tags_text text NOT NULL, categories_text text NOT NULL, content text NOT NULL, raw jsonb, search tsvector GENERATED ALWAYS AS (${vector}) STORED)`,
    `CREATE INDEX IF NOT EXISTS ${quote(`${DOCUMENTS_TABLE}_search`)} ON ${t} USING gin (search)`,
    `CREATE INDEX IF NOT EXISTS ${quote(`${DOCUMENTS_TABLE}_type`)} ON ${t} (type)`,
  ];
}

/**
 * Builds `to_tsquery` text in which each user word is a phrase of quoted lexemes (`'a' <-> 'b'`) and words
 * are ANDed. Tokens hold only letters and digits, so no input can inject tsquery operators.
 */
export function tsQuery(query: string): string | undefined {
  const phrases = searchPhrases(query);
  if (phrases.length === 0) return undefined;
  return phrases.map((tokens) => `(${tokens.map((t) => `'${t.replaceAll("'", "''")}'`).join(' <-> ')})`).join(' & ');
}

/** `SearchIndex` over a Postgres tsvector column, bound to one connection. */
export class PostgresSearchIndex implements SearchIndex {
  readonly #conn: Conn;
  readonly #dialect: PostgresDialect;
  readonly #signal: AbortSignal | undefined;

  constructor(conn: Conn, dialect: PostgresDialect, signal?: AbortSignal) {
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
      await this.#conn.run(
        `INSERT INTO ${this.#dialect.table(DOCUMENTS_TABLE)} (${DOCUMENT_COLUMNS.join(', ')}) VALUES ${values} ON CONFLICT (id) DO UPDATE SET ${sets}`,
        p.values,
      );
    }
    return rows.length;
  }

  async deleteDocuments(ids: readonly string[]): Promise<number> {
    let removed = 0;
    for (const part of chunk([...new Set(ids)], 1000)) {
      this.#signal?.throwIfAborted();
      const p = new Params(this.#dialect);
      const rows = await this.#conn.all(`DELETE FROM ${this.#dialect.table(DOCUMENTS_TABLE)} WHERE id IN ${p.list(part)} RETURNING id`, p.values);
      removed += rows.length;
    }
    return removed;
  }

  async search(query: string, options?: SearchOptions): Promise<SearchHit[]> {
    options?.signal?.throwIfAborted();
    const tsq = tsQuery(String(query ?? ''));
    const limit = hitLimit(options?.limit);
    if (tsq === undefined) return [];
    const p = new Params(this.#dialect);
    const q = p.add(tsq);
    const conds = ['d.search @@ q.q'];
    if (options?.type !== undefined) conds.push(`d.type = ${p.add(options.type)}`);
    // Headlines are costly, so they are computed for the page of hits only.
    const rows = await this.#conn.all(
      `SELECT h.id, h.type, h.title, h.url, h.categories, h.score, ` +
        `ts_headline('simple', h.content, h.q, 'StartSel=<mark>, StopSel=</mark>, MaxWords=24, MinWords=8, MaxFragments=1') AS snippet ` +
        `FROM (SELECT d.id, d.type, d.title, d.url, d.categories, d.content, q.q, ts_rank(d.search, q.q) AS score, ` +
        // The order both backends share: title holds every word first, shorter titles first, then ts_rank.
        `CASE WHEN ts_filter(d.search, '{a}') @@ q.q THEN 0 ELSE 1 END AS tier, length(d.title) AS title_length ` +
        `FROM ${this.#dialect.table(DOCUMENTS_TABLE)} d, to_tsquery('simple', ${q}) AS q(q) WHERE ${conds.join(' AND ')} ` +
        `ORDER BY tier, title_length, score DESC, d.id LIMIT ${p.add(limit)}) h ORDER BY h.tier, h.title_length, h.score DESC, h.id`,
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

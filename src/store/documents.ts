/**
 * Backend-neutral handling of search documents: validation and the flattened text columns both full-text
 * engines index.
 */
import type { SearchDocument } from './types.ts';
import { toIsoUtc } from './values.ts';

/** A validated document with the text the index sees. */
export interface DocumentRow {
  id: string;
  type: string;
  title: string;
  url: string | null;
  created: string | null;
  updated: string | null;
  owner: string | null;
  tags: string;
  categories: string;
  tagsText: string;
  categoriesText: string;
  content: string;
  raw: string;
}

function str(doc: SearchDocument, key: keyof SearchDocument, nullable: boolean): string | null {
  const v = doc[key];
  if (v === null || v === undefined) {
    if (nullable) return null;
    throw new TypeError(`Search document ${String(doc.id)}: ${key} is required`);
  }
  if (typeof v !== 'string') throw new TypeError(`Search document ${String(doc.id)}: ${key} must be a string`);
  return v;
}

function strings(doc: SearchDocument, key: 'tags' | 'categories'): string[] {
  const v = doc[key] ?? [];
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw new TypeError(`Search document ${String(doc.id)}: ${key} must be an array of strings`);
  return v;
}

/**
 * Validates documents and keeps the last one per id, so a batch never writes one id twice (Postgres
 * refuses that inside one statement).
 */
export function prepareDocuments(docs: readonly SearchDocument[]): DocumentRow[] {
  const byId = new Map<string, DocumentRow>();
  for (const doc of docs) {
    if (typeof doc?.id !== 'string' || doc.id === '') throw new TypeError('Search document without id');
    const tags = strings(doc, 'tags');
    const categories = strings(doc, 'categories');
    const created = str(doc, 'created', true);
    const updated = str(doc, 'updated', true);
    byId.set(doc.id, {
      id: doc.id,
      type: str(doc, 'type', false)!,
      title: str(doc, 'title', false)!,
      url: str(doc, 'url', true),
      created: created === null ? null : toIsoUtc(created, `document ${doc.id} created`),
      updated: updated === null ? null : toIsoUtc(updated, `document ${doc.id} updated`),
      owner: str(doc, 'owner', true),
      tags: JSON.stringify(tags),
      categories: JSON.stringify(categories),
      tagsText: tags.join(' '),
      // Slashes separate words for both tokenisers, so `Standard Objects/Account` matches `account`.
      categoriesText: categories.join(' '),
      content: str(doc, 'content', false)!,
      raw: JSON.stringify(doc.raw ?? null),
    });
  }
  return [...byId.values()];
}

/** The columns written for each document, in order. */
export const DOCUMENT_COLUMNS = ['id', 'type', 'title', 'url', 'created', 'updated', 'owner', 'tags', 'categories', 'tags_text', 'categories_text', 'content', 'raw'] as const;

/** The values of a document row in `DOCUMENT_COLUMNS` order. */
export function documentValues(d: DocumentRow): (string | null)[] {
  return [d.id, d.type, d.title, d.url, d.created, d.updated, d.owner, d.tags, d.categories, d.tagsText, d.categoriesText, d.content, d.raw];
}

/** Default and maximum number of hits. */
export function hitLimit(limit: number | undefined): number {
  if (limit === undefined) return 20;
  if (!Number.isFinite(limit) || limit < 1) throw new TypeError('search: limit must be a positive number');
  return Math.min(1000, Math.floor(limit));
}

/** Table holding documents in both backends. */
export const DOCUMENTS_TABLE = '_sfbridge_documents';

/**
 * Search documents from synced records (a Coco-style connector): one document per record with a title, a
 * Lightning URL, owner, tags, the category path users browse (`Standard Objects/Account`,
 * `Custom Objects/Invoice__c`), searchable content chosen per object, related text (a Case's comments,
 * Chatter posts and emails; the files shared with any record) and the raw record.
 *
 * The sync engine asks {@link DocumentBuilder.queryFields} which parent names to add to each object's
 * SELECT, then hands every fetched batch to {@link DocumentBuilder.build} and writes the result with
 * `upsertDocuments` (in the same transaction as the rows) when it is new or changed (version.ts), and
 * delivers it to the configured sinks (a queue, a webhook, a JSONL file) before that transaction.
 * {@link indexRecords} and {@link removeDocuments} do those steps, deletions included.
 */
import { SalesforceError, type DescribeSObjectResult, type Logger, type SalesforceClient } from '../../client/index.ts';
import type { JsonValue, SearchDocument } from '../../store/types.ts';
import { profileFor, SYSTEM_RELATIONS, type Profile } from './profiles.ts';
import { CASE_COMMENTS, CASE_EMAILS, CASE_FEED, FEED_COMMENTS, fetchRelated, FILE_LINKS, type RelatedKind, type RelatedRecord } from './related.ts';
import { clip, fieldValue, htmlToText, ID_PATTERN, isTrue, stripAttributes, toIsoUtc, toText, type AnyRecord } from './records.ts';

export { chunkedInQueries, encodedLength, MAX_QUERY_PARAM_BYTES, MAX_URI_BYTES, URI_RESERVE_BYTES } from './chunk.ts';
export { indexRecords, removeDocuments, type DocumentIndex, type IndexOptions, type IndexResult } from './indexer.ts';
export { documentHash, documentStream, documentTombstone, documentVersion, DOCUMENTS_STREAM, VOLATILE_FIELDS } from './version.ts';
export { genericProfile, profileFor, STANDARD_PROFILES, type Profile } from './profiles.ts';
export { CASE_COMMENTS, CASE_EMAILS, CASE_FEED, FEED_COMMENTS, FILE_LINKS, type RelatedKind } from './related.ts';

/** Longest content of one document, in characters; the rest is cut (search engines index a prefix anyway). */
export const MAX_CONTENT_CHARS = 100_000;
/** Longest text taken from one related record (a comment, a post, an email body), in content and in `raw`. */
export const MAX_RELATED_TEXT_CHARS = 4_000;
/**
 * Salesforce error codes meaning "this org has no such object/field or this user may not read it"
 * (Chatter or Email-to-Case off, no Files access). The related kind is skipped from then on, with a
 * warning, instead of failing every batch. MALFORMED_QUERY is included because org-specific
 * implementation restrictions on feed and file objects come back that way; the related queries are
 * fixed text tested against the emulator, so it does not hide a bad user query.
 */
export const UNAVAILABLE_ERROR_CODES: readonly string[] = ['INVALID_TYPE', 'INVALID_FIELD', 'INSUFFICIENT_ACCESS', 'INSUFFICIENT_ACCESS_OR_READONLY', 'API_DISABLED_FOR_ORG', 'INVALID_QUERY_FILTER_OPERATOR', 'MALFORMED_QUERY'];

/** Fields tried for a title when the describe's name field is empty or missing (Task and Event use Subject). */
const TITLE_FALLBACKS = ['Name', 'Subject', 'Title', 'DeveloperName'];

/** Turns synced records into search documents. */
export interface DocumentBuilder {
  /** Extra SOQL fields (relationship paths such as Owner.Name, CreatedBy.Name) to add to the object's SELECT. Only paths valid for that describe. */
  queryFields(object: string, describe: DescribeSObjectResult): string[];
  /**
   * Documents for a batch of records as returned by REST query (relationship objects nested) or Bulk CSV
   * (dotted keys, '' = null). Records flagged `IsDeleted` and records without a valid Id get no document
   * (remove those with `deleteDocuments`). Calls the API for related records, one query per URI-sized
   * chunk of Ids per kind, with the signal.
   */
  build(object: string, records: readonly Record<string, unknown>[], signal?: AbortSignal): Promise<SearchDocument[]>;
}

/** Options of {@link createDocumentBuilder}. */
export interface DocumentBuilderOptions {
  /** Base of document URLs (`https://acme.my.salesforce.com`); default the session's instance URL. */
  instanceUrl?: string;
  logger?: Logger;
  /** Attach file metadata from ContentDocumentLink to objects that have files. Default true. */
  files?: boolean;
  /** Add Case comments, Chatter posts with their comments, and emails to Case documents. Default true. */
  caseActivity?: boolean;
}

/** The category path of an object: `Standard Objects/Account` or `Custom Objects/Invoice__c`. */
export function categoryOf(object: string, describe?: Readonly<Record<string, unknown>>): string {
  const custom = typeof describe?.custom === 'boolean' ? describe.custom : /__(c|mdt|x|e|b)$/.test(object);
  return `${custom ? 'Custom Objects' : 'Standard Objects'}/${object}`;
}

/** The Lightning record page of a record. */
export function recordUrl(instanceUrl: string, object: string, id: string): string {
  return `${instanceUrl.replace(/\/+$/, '')}/lightning/r/${object}/${id}/view`;
}

/** Creates a builder bound to a client. Describes given to `queryFields` are reused by `build`. */
export function createDocumentBuilder(client: SalesforceClient, opts: DocumentBuilderOptions = {}): DocumentBuilder {
  return new RecordDocumentBuilder(client, opts);
}

interface Related {
  kind: RelatedKind;
  /** Key in `raw` (the describe's child relationship name when it has one). */
  relationship: string;
  rows: Map<string, RelatedRecord[]>;
}

class RecordDocumentBuilder implements DocumentBuilder {
  readonly #client: SalesforceClient;
  readonly #opts: DocumentBuilderOptions;
  readonly #describes = new Map<string, Promise<DescribeSObjectResult>>();
  readonly #profiles = new Map<string, Profile>();
  /** Related kinds the org refused (see UNAVAILABLE_ERROR_CODES), by sObject name. */
  readonly #unavailable = new Set<string>();

  constructor(client: SalesforceClient, opts: DocumentBuilderOptions) {
    this.#client = client;
    this.#opts = opts;
  }

  queryFields(object: string, describe: DescribeSObjectResult): string[] {
    this.#describes.set(object, Promise.resolve(describe));
    this.#profiles.delete(object);
    const relationships = new Set(describe.fields.filter((f) => f.type === 'reference' && f.relationshipName && !f.deprecatedAndHidden).map((f) => f.relationshipName as string));
    const wanted = [...SYSTEM_RELATIONS, ...(this.#profile(object, describe).relations ?? [])];
    return [...new Set(wanted)].filter((rel) => relationships.has(rel)).map((rel) => `${rel}.Name`);
  }

  async build(object: string, records: readonly Record<string, unknown>[], signal?: AbortSignal): Promise<SearchDocument[]> {
    signal?.throwIfAborted();
    const live = records.filter((r) => typeof r.Id === 'string' && ID_PATTERN.test(r.Id) && !isTrue(fieldValue(r, 'IsDeleted')));
    if (live.length === 0) return [];
    const describe = await this.#describe(object, signal);
    const profile = this.#profile(object, describe);
    const instanceUrl = this.#opts.instanceUrl ?? (await this.#client.session(signal)).instanceUrl;
    const related = await this.#related(object, describe, live.map((r) => r.Id as string), signal);
    const nameField = describe.fields.find((f) => f.nameField === true)?.name ?? 'Name';
    const category = categoryOf(object, describe);
    return live.map((rec) => this.#document(object, rec, { profile, instanceUrl, related, nameField, category }));
  }

  #describe(object: string, signal?: AbortSignal): Promise<DescribeSObjectResult> {
    let d = this.#describes.get(object);
    if (!d) {
      d = this.#client.describe(object, signal);
      // A failed describe is not cached, so the next batch tries again.
      d.catch(() => this.#describes.delete(object));
      this.#describes.set(object, d);
    }
    return d;
  }

  #profile(object: string, describe: DescribeSObjectResult): Profile {
    let p = this.#profiles.get(object);
    if (!p) {
      p = profileFor(object, describe);
      this.#profiles.set(object, p);
    }
    return p;
  }

  /** The related kinds that apply to an object, with the raw key each is attached under. */
  #kinds(object: string, describe: DescribeSObjectResult): Array<{ kind: RelatedKind; relationship: string }> {
    const child = (sobject: string, field: string) => describe.childRelationships?.find((c) => c.childSObject === sobject && c.field === field);
    const out: Array<{ kind: RelatedKind; relationship: string }> = [];
    const add = (kind: RelatedKind, present: boolean) => {
      if (!present || this.#unavailable.has(kind.object)) return;
      out.push({ kind, relationship: child(kind.object, kind.parentField)?.relationshipName ?? kind.relationship });
    };
    if (object === 'Case' && this.#opts.caseActivity !== false) {
      add(CASE_COMMENTS, !!child('CaseComment', 'ParentId'));
      const feed = !!child('CaseFeed', 'ParentId');
      add(CASE_FEED, feed);
      add(FEED_COMMENTS, feed && !this.#unavailable.has('CaseFeed'));
      add(CASE_EMAILS, !!child('EmailMessage', 'ParentId'));
    }
    if (this.#opts.files !== false) add(FILE_LINKS, !!child('ContentDocumentLink', 'LinkedEntityId'));
    return out;
  }

  /**
   * Fetches the related kinds concurrently (the client's governor caps in-flight calls); chunks of one kind
   * run in sequence. A fatal failure of one kind aborts the others.
   */
  async #related(object: string, describe: DescribeSObjectResult, ids: string[], signal?: AbortSignal): Promise<Related[]> {
    const kinds = this.#kinds(object, describe);
    if (kinds.length === 0) return [];
    const stop = new AbortController();
    const sig = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal;
    const results = await Promise.all(
      kinds.map(async ({ kind, relationship }): Promise<Related | undefined> => {
        try {
          return { kind, relationship, rows: await fetchRelated(this.#client, kind, ids, sig) };
        } catch (err) {
          if (signal?.aborted) throw signal.reason;
          if (err instanceof SalesforceError && UNAVAILABLE_ERROR_CODES.includes(err.errorCode)) {
            this.#unavailable.add(kind.object);
            this.#opts.logger?.warn({ object, related: kind.object, errorCode: err.errorCode }, `search documents: ${kind.object} is not available in this org (${err.errorCode}); ${object} documents are built without it`);
            return undefined;
          }
          stop.abort(err);
          throw err;
        }
      }),
    );
    return results.filter((r): r is Related => r !== undefined);
  }

  #document(object: string, rec: AnyRecord, ctx: { profile: Profile; instanceUrl: string; related: Related[]; nameField: string; category: string }): SearchDocument {
    const id = rec.Id as string;
    const text = (path: string) => toText(fieldValue(rec, path));
    const title = ctx.profile.title?.(rec) ?? ([ctx.nameField, ...TITLE_FALLBACKS].map(text).find(Boolean) || `${object} ${id}`);
    const owner = text('Owner.Name') || text('OwnerId') || null;
    // The record's own values once each (a Case's company is often its account name too); related text as is.
    const lines = [...new Set([...ctx.profile.content(rec), text('Owner.Name')].map((l) => l.trim()))];
    const raw = stripAttributes(rec) as Record<string, JsonValue>;
    const comments = ctx.related.find((r) => r.kind === FEED_COMMENTS)?.rows.get(id) ?? [];
    for (const r of ctx.related) {
      if (r.kind === FEED_COMMENTS) continue;
      const rows = r.rows.get(id);
      if (!rows?.length) continue;
      lines.push(...rows.flatMap((row) => relatedLines(r.kind, row, comments)));
      if (!(r.relationship in raw)) {
        const records = rows.map((row) => {
          const out = clipStrings(stripAttributes(row) as Record<string, JsonValue>);
          if (r.kind === CASE_FEED) {
            const mine = comments.filter((c) => c.FeedItemId === row.Id).map((c) => clipStrings(stripAttributes(c) as Record<string, JsonValue>));
            out.FeedComments = mine.length ? { totalSize: mine.length, done: true, records: mine } : null;
          }
          return out;
        });
        raw[r.relationship] = { totalSize: records.length, done: true, records };
      }
    }
    const content = clip(lines.map((l) => l.trim()).filter(Boolean).join('\n'), MAX_CONTENT_CHARS);
    return {
      id,
      type: object,
      title: clip(title, 1000),
      url: recordUrl(ctx.instanceUrl, object, id),
      created: toIsoUtc(fieldValue(rec, 'CreatedDate')),
      updated: toIsoUtc(fieldValue(rec, 'LastModifiedDate')) ?? toIsoUtc(fieldValue(rec, 'SystemModstamp')),
      owner,
      tags: [...new Set(ctx.profile.tags(rec).map((t) => t.trim()).filter(Boolean))],
      categories: [ctx.category],
      content,
      raw,
    };
  }
}

/**
 * Long text of a related record (a 128 KB email body) cut to MAX_RELATED_TEXT_CHARS, so one busy Case
 * cannot make a multi-megabyte document; the full text stays in Salesforce (and in its own mirror table).
 */
function clipStrings(rec: Record<string, JsonValue>): Record<string, JsonValue> {
  for (const [k, v] of Object.entries(rec)) if (typeof v === 'string' && v.length > MAX_RELATED_TEXT_CHARS) rec[k] = clip(v, MAX_RELATED_TEXT_CHARS);
  return rec;
}

/** Content lines contributed by one related record. */
function relatedLines(kind: RelatedKind, row: RelatedRecord, feedComments: readonly RelatedRecord[]): string[] {
  const t = (path: string) => toText(fieldValue(row, path));
  const by = (s: string) => {
    const name = t('CreatedBy.Name');
    return s ? clip(name ? `${name}: ${s}` : s, MAX_RELATED_TEXT_CHARS) : '';
  };
  switch (kind) {
    case CASE_COMMENTS:
      return [by(t('CommentBody'))];
    case CASE_FEED:
      return [
        by([t('Title'), htmlToText(t('Body')), t('LinkUrl')].filter(Boolean).join(' ')),
        ...feedComments.filter((c) => c.FeedItemId === row.Id).map((c) => {
          const name = toText(fieldValue(c, 'CreatedBy.Name'));
          const body = htmlToText(toText(fieldValue(c, 'CommentBody')));
          return body ? clip(name ? `${name}: ${body}` : body, MAX_RELATED_TEXT_CHARS) : '';
        }),
      ];
    case CASE_EMAILS: {
      const from = [t('FromName'), t('FromAddress') && `<${t('FromAddress')}>`].filter(Boolean).join(' ');
      return [t('Subject'), from, clip(t('TextBody'), MAX_RELATED_TEXT_CHARS)];
    }
    case FILE_LINKS: {
      const title = t('ContentDocument.Title');
      const ext = t('ContentDocument.FileExtension');
      return [title && ext && !title.toLowerCase().endsWith(`.${ext.toLowerCase()}`) ? `${title}.${ext}` : title];
    }
    default:
      return [];
  }
}

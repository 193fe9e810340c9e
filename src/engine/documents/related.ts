/**
 * Records related to a batch that add to its documents: a Case's comments, Chatter posts (CaseFeed with
 * their FeedComments) and emails, and the files (ContentDocumentLink → ContentDocument) of any record.
 * Each kind is one query per URI-sized chunk of parent Ids, never one per record.
 */
import type { SalesforceClient } from '../../client/index.ts';
import { chunkedInQueries } from './chunk.ts';
import { fieldValue, type AnyRecord } from './records.ts';

/** A related record, `attributes` kept (stripped when the document is made). */
export type RelatedRecord = Record<string, unknown>;

/** One kind of related record. */
export interface RelatedKind {
  /** sObject queried. */
  object: string;
  /** Field holding the parent's Id (grouping key). */
  parentField: string;
  /** Child relationship name the records are attached under in `raw`, as a subquery would return them. */
  relationship: string;
  /** SOQL with the Id list spliced in. */
  soql(list: string): string;
}

/** Case comments, oldest first. */
export const CASE_COMMENTS: RelatedKind = {
  object: 'CaseComment',
  parentField: 'ParentId',
  relationship: 'CaseComments',
  soql: (list) => `SELECT Id, ParentId, CommentBody, IsPublished, CreatedDate, CreatedBy.Name FROM CaseComment WHERE ParentId IN (${list}) ORDER BY CreatedDate, Id`,
};

/** Chatter posts on Cases. CaseFeed (not FeedItem) because it is the per-object view Salesforce allows filtering by parent without admin rights. */
export const CASE_FEED: RelatedKind = {
  object: 'CaseFeed',
  parentField: 'ParentId',
  relationship: 'Feeds',
  soql: (list) => `SELECT Id, ParentId, Type, Title, Body, LinkUrl, CreatedDate, CreatedBy.Name FROM CaseFeed WHERE ParentId IN (${list}) ORDER BY CreatedDate, Id`,
};

/** Comments on those posts; `ParentId` is the record the post is on, so they are fetched per Case too. */
export const FEED_COMMENTS: RelatedKind = {
  object: 'FeedComment',
  parentField: 'ParentId',
  relationship: 'FeedComments',
  soql: (list) => `SELECT Id, FeedItemId, ParentId, CommentBody, CreatedDate, CreatedBy.Name FROM FeedComment WHERE ParentId IN (${list}) ORDER BY CreatedDate, Id`,
};

/** Email-to-Case messages. */
export const CASE_EMAILS: RelatedKind = {
  object: 'EmailMessage',
  parentField: 'ParentId',
  relationship: 'EmailMessages',
  soql: (list) => `SELECT Id, ParentId, Subject, FromName, FromAddress, ToAddress, Incoming, MessageDate, TextBody FROM EmailMessage WHERE ParentId IN (${list}) ORDER BY MessageDate, Id`,
};

/**
 * Files shared with the records. Salesforce requires ContentDocumentLink queries to filter on
 * LinkedEntityId or ContentDocumentId, which this does.
 */
export const FILE_LINKS: RelatedKind = {
  object: 'ContentDocumentLink',
  parentField: 'LinkedEntityId',
  relationship: 'ContentDocumentLinks',
  soql: (list) =>
    `SELECT Id, LinkedEntityId, ContentDocumentId, ShareType, ContentDocument.Title, ContentDocument.FileExtension, ContentDocument.FileType, ContentDocument.ContentSize, ContentDocument.CreatedDate, ContentDocument.LastModifiedDate FROM ContentDocumentLink WHERE LinkedEntityId IN (${list})`,
};

/** Runs a kind's chunked queries for `ids` and groups the rows by parent Id. */
export async function fetchRelated(client: SalesforceClient, kind: RelatedKind, ids: readonly string[], signal?: AbortSignal): Promise<Map<string, RelatedRecord[]>> {
  const byParent = new Map<string, RelatedRecord[]>();
  for (const soql of chunkedInQueries(kind.soql, ids)) {
    signal?.throwIfAborted();
    for await (const rec of client.query<RelatedRecord>(soql, { signal })) {
      const parent = fieldValue(rec as AnyRecord, kind.parentField);
      if (typeof parent !== 'string') continue;
      const list = byParent.get(parent);
      if (list) list.push(rec);
      else byParent.set(parent, [rec]);
    }
  }
  return byParent;
}

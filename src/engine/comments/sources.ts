/**
 * Where comments come from: the built-in sources (EmailMessage, CaseComment, FeedItem, FeedComment, Task
 * call notes) and sources configured for any object with the fields chosen. A source says which fields to
 * read and turns one record into a cleaned {@link Comment}; the runner adds what comes from the parent Case
 * (enrich.ts) and decides what to emit.
 */
import type { DescribeSObjectResult } from '../../client/describe.ts';
import { fieldValue, isTrue, toIsoUtc, toText, type AnyRecord } from '../documents/records.ts';
import { caseReference, cleanEmail, htmlToPlainText, normalizeText, stripCaseReferences } from './clean.ts';
import type { Comment, CommentMessage, UserProperties } from './shape.ts';

/** What a source needs besides the record. */
export interface SourceContext {
  /** Base of record URLs. */
  instanceUrl: string;
}

/** One object comments are read from. */
export interface CommentSource {
  object: string;
  /** Fields (and relationship paths) to select besides Id, SystemModstamp and IsDeleted. */
  fields: readonly string[];
  /** False for records of the object that are not comments (a Task that is not a call). */
  accept?(rec: AnyRecord): boolean;
  /** The record as a cleaned comment (no parent enrichment yet). */
  toComment(rec: AnyRecord, ctx: SourceContext): Comment;
  /** The raw text the comment was cleaned from, for previews. */
  rawText(rec: AnyRecord): string;
}

const t = (rec: AnyRecord, path: string): string => toText(fieldValue(rec, path));
const opt = (rec: AnyRecord, path: string): string | null => t(rec, path) || null;
/** Salesforce address lists: `a@x; b@y` (Email-to-Case) or comma separated. */
const addresses = (v: string): string[] => v.split(/[;,]/).map((s) => s.trim()).filter(Boolean);
const person = (name: string | null, address: string | null): string | null => (name && address ? `${name} <${address}>` : (address ?? name));

function url(ctx: SourceContext, object: string, id: string): string {
  return `${ctx.instanceUrl.replace(/\/+$/, '')}/lightning/r/${object}/${id}/view`;
}

/** Key prefixes of the parents the runner enriches from (Case) and of other common parents. */
const PREFIX_OBJECTS: Readonly<Record<string, string>> = { '500': 'Case', '001': 'Account', '003': 'Contact', '00Q': 'Lead', '006': 'Opportunity', '005': 'User', '0D5': 'FeedItem', '701': 'Campaign' };
/** The object of an Id by its key prefix, for the well-known ones. */
export const objectOfId = (id: string | null): string | null => (id ? (PREFIX_OBJECTS[id.slice(0, 3)] ?? null) : null);

function base(object: string, rec: AnyRecord, ctx: SourceContext, parts: { thread: string | null; parent: string | null; timestamp: string | null; messages: CommentMessage[]; properties?: UserProperties; rawIds?: string[]; incoming?: boolean }): Comment {
  const id = rec.Id as string;
  const raw_ids: Record<string, string> = {};
  for (const f of parts.rawIds ?? []) {
    const v = t(rec, f);
    if (v) raw_ids[f] = v;
  }
  const participants = [...new Set(parts.messages.flatMap((m) => [m.from, ...m.to, ...m.cc]).filter((p): p is string => !!p))];
  const reference = parts.messages.map((m) => caseReference(m.subject)).find(Boolean) ?? null;
  return {
    id,
    thread_id: parts.thread ?? id,
    timestamp: parts.timestamp ?? toIsoUtc(fieldValue(rec, 'CreatedDate')) ?? toIsoUtc(fieldValue(rec, 'SystemModstamp')) ?? new Date(0).toISOString(),
    messages: parts.messages.map((m) => ({ ...m, subject: m.subject ? normalizeText(stripCaseReferences(m.subject)) || null : null })),
    user_properties: { 'string:Object': object, ...(parts.properties ?? {}) },
    metadata: {
      object,
      parent_id: parts.parent,
      parent_object: objectOfId(parts.parent),
      url: url(ctx, object, id),
      ...(parts.incoming === undefined ? {} : { incoming: parts.incoming }),
      participants,
      ...(reference ? { case_reference: reference } : {}),
      raw_ids,
      modified: toIsoUtc(fieldValue(rec, 'SystemModstamp')),
    },
  };
}

/** A comment of one message written at CreatedDate (case comments, Chatter posts and comments). */
function authored(object: string, rec: AnyRecord, ctx: SourceContext, p: { thread: string | null; from: string | null; subject?: string | null; body: string; rawIds: string[]; properties?: UserProperties }): Comment {
  const created = toIsoUtc(fieldValue(rec, 'CreatedDate'));
  return base(object, rec, ctx, {
    thread: p.thread,
    parent: opt(rec, 'ParentId'),
    timestamp: created,
    messages: [{ from: p.from, to: [], cc: [], sent_at: created, subject: p.subject ?? null, body: p.body }],
    rawIds: p.rawIds,
    properties: p.properties,
  });
}

/** Email-to-Case and activity emails: cleaned body and signature, forwarded messages as further messages. */
export const EMAIL_MESSAGE: CommentSource = {
  object: 'EmailMessage',
  fields: ['Subject', 'TextBody', 'HtmlBody', 'FromName', 'FromAddress', 'ToAddress', 'CcAddress', 'MessageDate', 'Incoming', 'ParentId', 'RelatedToId', 'ThreadIdentifier', 'MessageIdentifier', 'ReplyToEmailMessageId', 'ActivityId', 'CreatedDate'],
  rawText: (rec) => t(rec, 'HtmlBody') ? htmlToPlainText(t(rec, 'HtmlBody')) : t(rec, 'TextBody'),
  toComment(rec, ctx) {
    const subject = opt(rec, 'Subject');
    const cleaned = cleanEmail({ text: opt(rec, 'TextBody'), html: opt(rec, 'HtmlBody'), subject });
    const sentAt = toIsoUtc(fieldValue(rec, 'MessageDate')) ?? toIsoUtc(fieldValue(rec, 'CreatedDate'));
    const first: CommentMessage = {
      from: person(opt(rec, 'FromName'), opt(rec, 'FromAddress')),
      to: addresses(t(rec, 'ToAddress')),
      cc: addresses(t(rec, 'CcAddress')),
      sent_at: sentAt,
      subject,
      body: cleaned.body,
      ...(cleaned.signature ? { signature: cleaned.signature } : {}),
    };
    const forwarded: CommentMessage[] = cleaned.forwarded.map((f) => ({ from: f.from, to: f.to, cc: f.cc, sent_at: toIsoUtc(f.sent_at) ?? f.sent_at, subject: f.subject, body: f.body }));
    const parent = opt(rec, 'ParentId') ?? opt(rec, 'RelatedToId');
    const incoming = fieldValue(rec, 'Incoming');
    return base('EmailMessage', rec, ctx, {
      thread: opt(rec, 'ParentId') ?? opt(rec, 'ThreadIdentifier'),
      parent,
      timestamp: sentAt,
      messages: [first, ...forwarded],
      rawIds: ['ParentId', 'RelatedToId', 'ReplyToEmailMessageId', 'ThreadIdentifier', 'MessageIdentifier', 'ActivityId'],
      incoming: incoming === null ? undefined : isTrue(incoming),
      properties: { 'string:Direction': incoming === null ? 'unknown' : isTrue(incoming) ? 'inbound' : 'outbound' },
    });
  },
};

/** Plain-text case comments, by their author. */
export const CASE_COMMENT: CommentSource = {
  object: 'CaseComment',
  fields: ['ParentId', 'CommentBody', 'IsPublished', 'CreatedDate', 'CreatedBy.Name', 'CreatedBy.Email'],
  rawText: (rec) => t(rec, 'CommentBody'),
  toComment: (rec, ctx) =>
    authored('CaseComment', rec, ctx, {
      thread: opt(rec, 'ParentId'),
      from: person(opt(rec, 'CreatedBy.Name'), opt(rec, 'CreatedBy.Email')),
      body: normalizeText(t(rec, 'CommentBody')),
      rawIds: ['ParentId'],
      properties: { 'string:Visibility': isTrue(fieldValue(rec, 'IsPublished')) ? 'public' : 'internal' },
    }),
};

/** Chatter posts (rich text) on any record; system posts without text (tracked changes) carry their title. */
export const FEED_ITEM: CommentSource = {
  object: 'FeedItem',
  fields: ['ParentId', 'Type', 'Title', 'Body', 'LinkUrl', 'CreatedDate', 'CreatedBy.Name', 'Parent.Name'],
  rawText: (rec) => htmlToPlainText(t(rec, 'Body')),
  toComment: (rec, ctx) =>
    authored('FeedItem', rec, ctx, {
      thread: rec.Id as string,
      from: opt(rec, 'CreatedBy.Name'),
      subject: opt(rec, 'Title'),
      body: normalizeText([htmlToPlainText(t(rec, 'Body')), t(rec, 'LinkUrl')].filter(Boolean).join('\n\n')),
      rawIds: ['ParentId'],
      properties: { 'string:Post Type': t(rec, 'Type') || 'TextPost', ...(t(rec, 'Parent.Name') ? { 'string:Posted On': t(rec, 'Parent.Name') } : {}) },
    }),
};

/** Comments on Chatter posts; the post is the thread. */
export const FEED_COMMENT: CommentSource = {
  object: 'FeedComment',
  fields: ['FeedItemId', 'ParentId', 'CommentBody', 'CreatedDate', 'CreatedBy.Name'],
  rawText: (rec) => htmlToPlainText(t(rec, 'CommentBody')),
  toComment: (rec, ctx) =>
    authored('FeedComment', rec, ctx, {
      thread: opt(rec, 'FeedItemId'),
      from: opt(rec, 'CreatedBy.Name'),
      body: normalizeText(htmlToPlainText(t(rec, 'CommentBody'))),
      rawIds: ['FeedItemId', 'ParentId'],
    }),
};

/** Call notes: Tasks logged as calls (TaskSubtype `Call`, or a call type), the notes in Description. */
export const TASK_CALL: CommentSource = {
  object: 'Task',
  fields: ['Subject', 'Description', 'TaskSubtype', 'Type', 'CallType', 'CallDurationInSeconds', 'CallDisposition', 'Status', 'WhatId', 'WhoId', 'ActivityDate', 'CompletedDateTime', 'CreatedDate', 'Owner.Name', 'Who.Name', 'What.Name', 'Account.Name'],
  accept: (rec) => t(rec, 'TaskSubtype') === 'Call' || t(rec, 'Type') === 'Call' || t(rec, 'CallType') !== '',
  rawText: (rec) => t(rec, 'Description'),
  toComment(rec, ctx) {
    const when = toIsoUtc(fieldValue(rec, 'CompletedDateTime')) ?? toIsoUtc(fieldValue(rec, 'ActivityDate')) ?? toIsoUtc(fieldValue(rec, 'CreatedDate'));
    const duration = Number(fieldValue(rec, 'CallDurationInSeconds'));
    const props: UserProperties = {};
    if (t(rec, 'CallType')) props['string:Call Type'] = t(rec, 'CallType');
    if (t(rec, 'CallDisposition')) props['string:Call Result'] = t(rec, 'CallDisposition');
    if (Number.isFinite(duration) && fieldValue(rec, 'CallDurationInSeconds') !== null) props['number:Call Duration'] = duration;
    if (t(rec, 'Who.Name')) props['string:Contact'] = t(rec, 'Who.Name');
    if (t(rec, 'Account.Name')) props['string:Account'] = t(rec, 'Account.Name');
    if (t(rec, 'Owner.Name')) props['string:Owner'] = t(rec, 'Owner.Name');
    return base('Task', rec, ctx, {
      thread: opt(rec, 'WhatId') ?? opt(rec, 'WhoId'),
      parent: opt(rec, 'WhatId') ?? opt(rec, 'WhoId'),
      timestamp: when,
      messages: [{ from: opt(rec, 'Owner.Name'), to: t(rec, 'Who.Name') ? [t(rec, 'Who.Name')] : [], cc: [], sent_at: when, subject: opt(rec, 'Subject'), body: normalizeText(t(rec, 'Description')) }],
      rawIds: ['WhatId', 'WhoId'],
      properties: props,
    });
  },
};

/** The built-in sources by object name; the default set is all of them. */
export const BUILT_IN_SOURCES: Readonly<Record<string, CommentSource>> = { EmailMessage: EMAIL_MESSAGE, CaseComment: CASE_COMMENT, FeedItem: FEED_ITEM, FeedComment: FEED_COMMENT, Task: TASK_CALL };
export const DEFAULT_COMMENT_OBJECTS: readonly string[] = Object.keys(BUILT_IN_SOURCES);

/** A source configured for any object: which fields hold the text and the rest. */
export interface CustomSourceConfig {
  object: string;
  /** Fields whose text makes the body, joined by blank lines. */
  body: string[];
  /** The body fields hold HTML (rich text) or whole emails: clean them as emails. */
  email?: boolean;
  subject?: string;
  from?: string;
  to?: string;
  sentAt?: string;
  /** Field holding the thread id (default the parent field, else the record Id). */
  thread?: string;
  /** Field holding the parent record Id (a Case Id gets Case enrichment). */
  parent?: string;
  /** `Label: Field` or `number:Label: Field`. */
  properties?: Record<string, string>;
}

/** A source for a configured object. */
export function customSource(c: CustomSourceConfig): CommentSource {
  const fields = [...new Set([...c.body, c.subject, c.from, c.to, c.sentAt, c.thread, c.parent, ...Object.values(c.properties ?? {}), 'CreatedDate'].filter((f): f is string => !!f))];
  const text = (rec: AnyRecord) => c.body.map((f) => t(rec, f)).filter(Boolean).join('\n\n');
  return {
    object: c.object,
    fields,
    rawText: text,
    toComment(rec, ctx) {
      const sentAt = (c.sentAt && toIsoUtc(fieldValue(rec, c.sentAt))) || toIsoUtc(fieldValue(rec, 'CreatedDate'));
      const subject = c.subject ? opt(rec, c.subject) : null;
      const raw = text(rec);
      const looksHtml = /<\/?[a-z][^>]*>/i.test(raw);
      const cleaned = c.email ? cleanEmail(looksHtml ? { html: raw, subject } : { text: raw, subject }) : { body: normalizeText(looksHtml ? htmlToPlainText(raw) : raw) };
      const props: UserProperties = {};
      for (const [label, field] of Object.entries(c.properties ?? {})) {
        const v = fieldValue(rec, field);
        if (v === null) continue;
        if (label.startsWith('number:')) {
          const n = Number(v);
          if (Number.isFinite(n)) props[label as `number:${string}`] = n;
        } else props[(label.startsWith('string:') ? label : `string:${label}`) as `string:${string}`] = toText(v);
      }
      const parent = c.parent ? opt(rec, c.parent) : null;
      return base(c.object, rec, ctx, {
        thread: (c.thread ? opt(rec, c.thread) : null) ?? parent,
        parent,
        timestamp: sentAt,
        messages: [{ from: c.from ? opt(rec, c.from) : null, to: c.to ? addresses(t(rec, c.to)) : [], cc: [], sent_at: sentAt, subject, body: cleaned.body, ...('signature' in cleaned && cleaned.signature ? { signature: cleaned.signature } : {}) }],
        rawIds: c.parent ? [c.parent] : [],
        properties: props,
      });
    },
  };
}

/**
 * The fields of a source the org has: a plain field must be in the describe; a relationship path needs its
 * relationship. Missing ones are left out (an org without Chatter tracking fields, an older API version),
 * and returned so the caller can warn.
 */
export function availableFields(source: CommentSource, describe: DescribeSObjectResult): { fields: string[]; missing: string[] } {
  const names = new Set(describe.fields.map((f) => f.name.toLowerCase()));
  const relationships = new Set(describe.fields.map((f) => f.relationshipName?.toLowerCase()).filter(Boolean));
  const fields: string[] = [];
  const missing: string[] = [];
  for (const f of source.fields) {
    const head = f.split('.')[0].toLowerCase();
    (f.includes('.') ? relationships.has(head) : names.has(head)) ? fields.push(f) : missing.push(f);
  }
  return { fields, missing };
}

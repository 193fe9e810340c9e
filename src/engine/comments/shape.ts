/**
 * The comment object: one communication (an email, a case comment, a Chatter post or comment, a call
 * note, a record of any object configured) as a conversation-analytics tool reads it. Documented in
 * docs/comments.md; the JSON field names are part of the contract.
 */
import type { JsonValue } from '../../store/types.ts';
import { contentHash } from '../emit.ts';

/** One message of a comment: the message itself, then any it forwarded. */
export interface CommentMessage {
  from: string | null;
  to: string[];
  cc: string[];
  /** ISO 8601 UTC, when known. */
  sent_at: string | null;
  subject: string | null;
  /** Cleaned text: no quoted history, no signature. */
  body: string;
  signature?: string;
}

/**
 * Typed properties: keys are `string:<Label>` or `number:<Label>`, values strings or numbers accordingly
 * (`string:Case Status`, `number:Priority`).
 */
export type UserProperties = Record<`string:${string}` | `number:${string}`, string | number>;

/** A comment. */
export interface Comment {
  /** The source record's Id. */
  id: string;
  /** The conversation it belongs to (a Case Id for Email-to-Case and case comments, the post for a Chatter comment). */
  thread_id: string;
  /** When it was written or sent (ISO 8601 UTC). */
  timestamp: string;
  messages: CommentMessage[];
  user_properties: UserProperties;
  metadata: CommentMetadata;
}

/** Where a comment comes from. */
export interface CommentMetadata {
  /** The source sObject. */
  object: string;
  /** The record it is attached to (a Case, an Account, a post) and that record's type. */
  parent_id: string | null;
  parent_object: string | null;
  /** The Lightning URL of the source record. */
  url: string | null;
  /** True for an email received, false for one sent; absent for other sources. */
  incoming?: boolean;
  /** Everyone on the conversation: senders and recipients, deduplicated. */
  participants: string[];
  /** Email-to-Case thread reference (`ref:_00D…._500…:ref` or `thread::…::`) when the message carries one. */
  case_reference?: string;
  /** Raw Salesforce ids the comment relates to (ParentId, ReplyToEmailMessageId, FeedItemId, WhatId, …). */
  raw_ids: Record<string, string>;
  /** SystemModstamp of the version emitted. */
  modified: string | null;
}

/**
 * The hash that decides whether a comment is emitted again: its text only (subjects, bodies, signatures of
 * every message). A change to a status, an owner or any other field leaves it equal, so nothing is emitted;
 * an edit of the text changes it, so one update is emitted.
 */
export function commentTextHash(c: Comment): string {
  return contentHash(c.messages.map((m) => ({ subject: m.subject, body: m.body, signature: m.signature ?? null })) as JsonValue);
}

/**
 * The `comments:` block: which objects (the built-in sources by name, or any object with the fields
 * chosen) and where comments go (`queue:`, `jsonl:`), validated with zod like the rest of the config.
 */
import { z } from 'zod';
import { queueSchema, toSinkConfig, type SinkConfig } from '../sinks/config.ts';
import { BUILT_IN_SOURCES, customSource, DEFAULT_COMMENT_OBJECTS, type CommentSource } from './sources.ts';

const apiName = z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'must be an API name such as EmailMessage or Support_Note__c');
const fieldPath = z.string().regex(/^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$/, 'must be a field or relationship path such as Body__c or CreatedBy.Name');

const customObject = z.strictObject({
  object: apiName,
  body: z.union([fieldPath, z.array(fieldPath).min(1)]),
  email: z.boolean().optional(),
  subject: fieldPath.optional(),
  from: fieldPath.optional(),
  to: fieldPath.optional(),
  sent_at: fieldPath.optional(),
  thread: fieldPath.optional(),
  parent: fieldPath.optional(),
  properties: z.record(z.string().regex(/^((string|number):)?[^:]+$/, 'property labels are `Label` or `number:Label`'), fieldPath).optional(),
});

const builtIn = z.string().refine((s) => s in BUILT_IN_SOURCES, { message: `must be one of ${DEFAULT_COMMENT_OBJECTS.join(', ')}, or {object, body, …} for any other object` });

/** The raw `comments:` block. */
export const commentsSchema = z.strictObject({
  enabled: z.boolean().default(true),
  objects: z.array(z.union([builtIn, customObject])).min(1).default([...DEFAULT_COMMENT_OBJECTS]),
  queue: queueSchema.optional(),
  /** Short for `queue: {kind: jsonl, url: FILE}`. */
  jsonl: z.string().optional(),
});

/** The validated comments settings. */
export interface CommentsConfig {
  enabled: boolean;
  sources: CommentSource[];
  sinks: SinkConfig[];
}

/** Turns the parsed block into sources and sinks; a block with no destination is an error naming the fix. */
export function toCommentsConfig(c: z.output<typeof commentsSchema>): CommentsConfig {
  const sources = c.objects.map((o) =>
    typeof o === 'string'
      ? BUILT_IN_SOURCES[o]
      : customSource({ object: o.object, body: typeof o.body === 'string' ? [o.body] : o.body, email: o.email, subject: o.subject, from: o.from, to: o.to, sentAt: o.sent_at, thread: o.thread, parent: o.parent, properties: o.properties }),
  );
  const sinks = [...(c.queue ? [toSinkConfig(c.queue)] : []), ...(c.jsonl ? [toSinkConfig({ kind: 'jsonl', url: c.jsonl })] : [])];
  return { enabled: c.enabled, sources, sinks };
}

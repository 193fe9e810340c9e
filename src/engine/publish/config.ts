/**
 * Publisher pipelines: entries of the top-level `publish:` list of sfbridge.yaml.
 *
 * ```yaml
 * publish:
 *   - name: orders
 *     source:                     # one of table | outbox | file
 *       table: orders             # application table, changes found by an updated-at cursor
 *       store: sqlite:./app.db    # where it lives (default: the pipeline's state store)
 *       key: id
 *       cursor: updated_at
 *       writeBack: { id: sf_id }  # Salesforce Id written back to the row
 *     transform:
 *       rename: { order_no: External_Id__c, total: Amount__c }
 *       constants: { Status__c: Draft }
 *       expressions: { Name: "Order {{order_no}}" }
 *       lookups: { Account__r: { External_Id__c: "{{customer_code}}" } }
 *       drop: [customer_code]
 *     target: { object: Order__c, operation: upsert, externalIdField: External_Id__c }
 *     # target options: updateOnly (one REST call per record), allOrNone (Collections), assignmentRule
 *     # (true | false | 01Q… rule Id), duplicateRules: { allowSave, includeRecordDetails, runAsCurrentUser }
 *     state: sqlite:./data/publish.db
 *     describeMaxAge: 24h         # describes kept in the state store are trusted this long
 * ```
 */
import { z } from 'zod';
import { transformSchema, validateTransform } from './transform.ts';
import { parseDurationMs } from '../config.ts';
import { validateTarget } from './publisher.ts';
import { normalizeOperation, PublishError, type PublishTarget } from './types.ts';

const IDENT = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a plain SQL identifier such as orders or updated_at');
const STORE_URL = z.string().regex(/^(sqlite:|postgres(ql)?:\/\/)/, 'a store URL: sqlite:./app.db or postgres://user@host/db?schema=app');

const writeBackSchema = z
  .object({
    id: IDENT.optional().describe('column that receives the Salesforce Id'),
    error: IDENT.optional().describe('column that receives "CODE: message" of a failure (null on success)'),
    publishedAt: IDENT.optional().describe('column that receives the time of publishing'),
  })
  .strict();

const tableSourceSchema = z
  .object({
    table: IDENT,
    store: STORE_URL.optional(),
    key: IDENT,
    cursor: IDENT,
    writeBack: writeBackSchema.optional(),
    pageSize: z.number().int().positive().max(100_000).optional(),
  })
  .strict();

const outboxSourceSchema = z
  .object({
    outbox: IDENT.describe('table the application inserts rows into'),
    store: STORE_URL.optional(),
    key: IDENT,
    processed: IDENT.describe('column set when a row was handled (rows where it IS NULL are read)'),
    writeBack: writeBackSchema.optional(),
    pageSize: z.number().int().positive().max(100_000).optional(),
  })
  .strict();

const fileSourceSchema = z
  .object({
    file: z.string().min(1),
    format: z.enum(['csv', 'jsonl']).optional(),
    key: z.string().optional().describe('field whose value is the record key (default: line position + content hash)'),
  })
  .strict();

const OPERATIONS = ['insert', 'create', 'update', 'upsert', 'delete'] as const;

export const targetSchema = z
  .object({
    object: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'an sObject API name such as Contact, Invoice__c or Order_Event__e'),
    operation: z.enum(OPERATIONS).default('upsert'),
    externalIdField: z.string().optional(),
    matchFields: z.array(z.string()).optional(),
    idempotencyField: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'a text field API name such as Sfbridge_Key__c').optional().describe('insert: a text (external ID) field sfbridge fills with a per-record marker, so an unknown outcome is looked up instead of resent'),
    updateOnly: z.boolean().optional().describe('upsert only updates: one REST call per record (?updateOnly=true)'),
    allOrNone: z.boolean().optional().describe('roll back each Collections call when a record in it fails'),
    assignmentRule: z.union([z.boolean(), z.string().regex(/^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$/, 'true, false or an assignment rule Id (01Q…)')]).optional(),
    duplicateRules: z.object({ allowSave: z.boolean().optional(), includeRecordDetails: z.boolean().optional(), runAsCurrentUser: z.boolean().optional() }).strict().optional(),
  })
  .strict()
  .superRefine((t, ctx) => {
    if (t.operation === 'upsert' && !t.externalIdField) ctx.addIssue({ code: 'custom', path: ['externalIdField'], message: 'upsert needs an external ID field, e.g. externalIdField: External_Id__c' });
    if (t.object.endsWith('__e') && !['insert', 'create'].includes(t.operation)) ctx.addIssue({ code: 'custom', path: ['operation'], message: 'platform events (__e) can only be published: use operation: insert' });
  });

/** Schema of one `publish:` entry. */
export const publishPipelineSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_.:-]+$/, 'a name of letters, digits, _ . : -'),
    source: z.union([tableSourceSchema, outboxSourceSchema, fileSourceSchema], { error: 'a source needs one of table (with cursor), outbox (with processed) or file' }),
    transform: transformSchema.optional(),
    target: targetSchema,
    state: STORE_URL.optional().describe('outbox + dead letters (default sqlite:./data/publish.db)'),
    path: z.enum(['auto', 'collections', 'bulk', 'pubsub']).optional().describe('auto (default): by count, and platform events over the Pub/Sub API when the connection reaches it; collections, bulk, or pubsub (platform events only)'),
    maxRetries: z.number().int().min(0).max(20).optional(),
    parallelism: z.number().int().min(1).max(10).optional(),
    describeMaxAge: z
      .union([z.string(), z.number()])
      .transform((v, ctx) => {
        const ms = parseDurationMs(v);
        if (ms === undefined) {
          ctx.addIssue({ code: 'custom', message: `must be a duration like 30m, 24h or 1d, got ${JSON.stringify(v)}` });
          return z.NEVER;
        }
        return ms;
      })
      .optional()
      .describe('how long a describe kept in the state store is used without asking the org (default 24h)'),
  })
  .strict();

export type PublishPipelineConfig = z.infer<typeof publishPipelineSchema>;
export type TableSourceConfig = z.infer<typeof tableSourceSchema>;
export type OutboxSourceConfig = z.infer<typeof outboxSourceSchema>;
export type FileSourceConfig = z.infer<typeof fileSourceSchema>;

/** Default state store of pipelines and the CLI. */
export const DEFAULT_PUBLISH_STATE = 'sqlite:./data/publish.db';

/** Formats a zod issue path under `base`: `publish[0].target.object`. */
function where(base: string, path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : `${acc}.${String(p)}`), base);
}

/**
 * Validates the `publish:` list; throws a {@link PublishError} naming every bad place (`publish[1].target.
 * externalIdField: upsert needs …`) and what to write instead.
 */
export function parsePublishPipelines(value: unknown, path = 'publish'): PublishPipelineConfig[] {
  if (value === undefined || value === null) return [];
  const parsed = z.array(publishPipelineSchema).safeParse(value);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${where(path, i.path)}: ${i.message}`);
    throw new PublishError('PUBLISH_CONFIG', `invalid publish pipelines:\n  ${lines.join('\n  ')}`);
  }
  const names = new Set<string>();
  parsed.data.forEach((p, i) => {
    if (names.has(p.name)) throw new PublishError('PUBLISH_CONFIG', `${path}[${i}].name: "${p.name}" is used twice; give each pipeline its own name`);
    names.add(p.name);
    validateTransform(p.transform, `${path}[${i}].transform`);
    try {
      validateTarget(targetOf(p), p.path);
    } catch (err) {
      throw new PublishError('PUBLISH_CONFIG', `${path}[${i}].target: ${(err as Error).message}`);
    }
  });
  return parsed.data;
}

/** The target of a pipeline in publisher terms. */
export function targetOf(p: PublishPipelineConfig): PublishTarget {
  return publishTargetOf(p.target);
}

/** A `target:` block (of a publish pipeline, or of an inbound pipeline's `salesforce:`) in publisher terms. */
export function publishTargetOf(t: z.output<typeof targetSchema>): PublishTarget {
  return {
    object: t.object,
    operation: normalizeOperation(t.operation),
    externalIdField: t.externalIdField,
    matchFields: t.matchFields,
    ...(t.idempotencyField !== undefined ? { idempotencyField: t.idempotencyField } : {}),
    ...(t.updateOnly !== undefined ? { updateOnly: t.updateOnly } : {}),
    ...(t.allOrNone !== undefined ? { allOrNone: t.allOrNone } : {}),
    ...(t.assignmentRule !== undefined ? { assignmentRule: t.assignmentRule } : {}),
    ...(t.duplicateRules !== undefined ? { duplicateRules: t.duplicateRules } : {}),
  };
}

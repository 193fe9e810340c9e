/**
 * Sync configuration in layers: built-in defaults → YAML file → environment → command-line flags, validated
 * once with zod before anything runs. Secrets come from `${ENV}` references in the file; an unknown key is
 * rejected with its path and the closest valid name, because a misspelt `standard_object_to_sync` that is
 * silently ignored would sync the wrong objects for months.
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { closestName } from '../client/suggest.ts';
import { durationSchema } from './duration.ts';

export { closestName, editDistance } from '../client/suggest.ts';
import { parsePublishPipelines, type PublishPipelineConfig } from './publish/config.ts';
import { commentsSchema, toCommentsConfig, type CommentsConfig } from './comments/config.ts';
import { queueSchema, toSinkConfig, type SinkConfig } from './sinks/config.ts';
import { parseCondition } from '../soql/condition.ts';
import { parseProxyUrl } from '../client/proxy.ts';
import { transformSchema, validateTransform, type TransformSpec } from './publish/transform.ts';
import { cdcRefusal, DEFAULT_BULK_THRESHOLD, DEFAULT_CDC_SAFETY_NET_MS, DEFAULT_FORMULA_REFRESH_MS, DEFAULT_INTERVAL_MS, DEFAULT_LAG_MS, DEFAULT_RECONCILE_MS, DEFAULT_SCHEMA_REFRESH_MS, DEFAULT_STANDARD_OBJECTS, DEFAULT_STORE_URL, ENGINE_FIELDS, MAX_PAGE_SIZE, MIN_INTERVAL_MS, MIN_PAGE_SIZE, SyncConfigError, type SyncConfig } from './settings.ts';

export * from './settings.ts';

/**
 * The `transform:` block of an object: the publisher's keys without `lookups` (an outbound-only notion:
 * parent references by external ID in a Salesforce payload).
 */
export const inboundTransformSchema = transformSchema
  .omit({ lookups: true })
  .superRefine((v, ctx) => {
    try {
      validateTransform(v as TransformSpec, 'transform');
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message.replace(/^transform: /, '') });
    }
    for (const [key, names] of [['rename', Object.keys(v.rename ?? {})], ['drop', v.drop ?? []], ['constants', Object.keys(v.constants ?? {})], ['expressions', Object.keys(v.expressions ?? {})]] as const) {
      for (const n of names) {
        if (ENGINE_FIELDS.some((f) => f.toLowerCase() === n.toLowerCase())) ctx.addIssue({ code: 'custom', path: [key], message: `${n} is kept as it is (the sync tracks records by Id, SystemModstamp and IsDeleted); transform other fields` });
      }
    }
    for (const [from, to] of Object.entries(v.rename ?? {})) {
      if (ENGINE_FIELDS.some((f) => f.toLowerCase() === to.toLowerCase())) ctx.addIssue({ code: 'custom', path: ['rename', from], message: `cannot rename ${from} to ${to}: the sync keeps that field itself` });
    }
  })
  .describe('applied to each record before the mirror and the sinks: select, rename, drop, constants, expressions ({{Field | filter}})');

/** A validated inbound transform. */
export type InboundTransformSpec = z.output<typeof inboundTransformSchema>;


/** A duration (`30s`, `5m`, `2h` or seconds) as milliseconds. */
export const duration = durationSchema;

const apiName = z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'must be an API name such as Account or Invoice__c');

/** `Industry` or a relationship path of up to five levels (`Owner.Email`, `Account.Owner.Name`). */
const fieldPath = z.string().regex(/^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*){0,5}$/, 'must be an API name such as Industry or a relationship path such as Owner.Email');

const fieldFilter = z.union([
  z.strictObject({ include: z.array(fieldPath).min(1).describe('fields to mirror; relationship paths (Owner.Email) become columns such as Owner_Email') }),
  z.strictObject({ exclude: z.array(apiName).min(1).describe('fields not to mirror') }),
]);

/** A SOQL condition, checked here for syntax (fields are checked against describe when the object syncs). */
const whereCondition = z.string().superRefine((v, ctx) => {
  try {
    parseCondition(v);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});

const objectSettings = z.strictObject({
  mode: z.enum(['poll', 'cdc']).optional().describe('poll (default): read changes by the cursor every interval; cdc: after the initial load, follow the object\'s Change Data Capture events (Pub/Sub API), with a polling pass every cdc_safety_net'),
  fields: fieldFilter.optional(),
  where: whereCondition.optional().describe("SOQL condition the mirrored records match, e.g. Industry = 'Banking'; a record that stops matching leaves the mirror"),
  transform: inboundTransformSchema.optional(),
  page_size: z.number().int().min(MIN_PAGE_SIZE).max(MAX_PAGE_SIZE).optional().describe(`records per REST query page (${MIN_PAGE_SIZE}–${MAX_PAGE_SIZE}, Sforce-Query-Options batchSize) and per Bulk load transaction`),
  writable: z.boolean().optional().describe("two-way sync: the application's inserts, updates and deletes in the mirror table are written to Salesforce"),
  conflict: z.enum(['salesforce_wins', 'last_modified_wins']).optional().describe('a record changed on both sides: Salesforce\'s version wins (default), or the later change wins'),
  idempotency_field: apiName.optional().describe('a text external ID field sfbridge marks each inserted record with, so an insert cut off by a crash is looked up instead of sent twice'),
}).superRefine((o, ctx) => {
  if (!o.writable && (o.conflict !== undefined || o.idempotency_field !== undefined)) ctx.addIssue({ code: 'custom', path: [o.conflict !== undefined ? 'conflict' : 'idempotency_field'], message: 'applies to a writable table only: add writable: true, or remove it' });
  if (o.writable && o.transform) ctx.addIssue({ code: 'custom', path: ['writable'], message: 'a transformed table cannot be written back (its columns are not the fields of the object): remove transform, or writable' });
  const why = o.mode === 'cdc' ? cdcRefusal(o) : undefined;
  if (why) ctx.addIssue({ code: 'custom', path: ['mode'], message: why });
});

const connection = z.strictObject({
  instance_url: z.string().optional(),
  login_url: z.string().optional(),
  client_id: z.string().optional(),
  client_secret: z.string().optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  jwt_key: z.string().optional(),
  auth_url: z.string().optional(),
  access_token: z.string().optional(),
  api_version: z.string().regex(/^\d+\.\d$/, 'must look like 62.0').optional(),
  /** HTTP proxy (default: HTTPS_PROXY/HTTP_PROXY; NO_PROXY is honoured). */
  proxy: z.string().superRefine((v, ctx) => {
    try {
      parseProxyUrl(v, 'proxy');
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message.replace(/^proxy: /, '') });
    }
  }).optional(),
});

const budget = z.strictObject({
  /** Fraction of the calls remaining at the start that one run may use. */
  run_share: z.number().gt(0).max(1).optional(),
  /** Fraction of the daily allocation the org may reach. */
  org_ceiling: z.number().gt(0).max(1).optional(),
  on_ceiling: z.enum(['throw', 'pause']).optional(),
});

/** The file/flag schema (snake_case keys, as users know them from other connectors). */
export const syncConfigSchema = z.strictObject({
  connection: connection.default({}),
  store: z.string().optional(),
  /** Alias of `store`, matching the `--to` flag. */
  to: z.string().optional(),
  standard_objects_to_sync: z.array(apiName).default([...DEFAULT_STANDARD_OBJECTS]),
  sync_custom_objects: z.boolean().default(false),
  /** `['*']` (or `'*'`) = every queryable custom object. */
  custom_objects_to_sync: z.union([z.literal('*'), z.array(apiName.or(z.literal('*')))]).default([]),
  objects: z.record(apiName, objectSettings).default({}),
  interval: duration.default(DEFAULT_INTERVAL_MS).superRefine((ms, ctx) => {
    if (ms < MIN_INTERVAL_MS) ctx.addIssue({ code: 'custom', message: `${ms / 1000} s is below the ${MIN_INTERVAL_MS / 1000} s floor: a shorter pause between cycles is a busy loop that spends the org's daily API allowance (use 30s, 5m, … or --once for a single cycle)` });
  }),
  /** `sfbridge sync` runs cycle after cycle (default: true when `interval` is set, else one cycle). */
  continuous: z.boolean().optional(),
  lag: duration.default(DEFAULT_LAG_MS),
  bulk_threshold: z.number().int().min(0).default(DEFAULT_BULK_THRESHOLD),
  formula_refresh: duration.default(DEFAULT_FORMULA_REFRESH_MS),
  /** While following change events: the period of the polling pass over the CDC objects. */
  cdc_safety_net: duration.default(DEFAULT_CDC_SAFETY_NET_MS).superRefine((ms, ctx) => {
    if (ms < MIN_INTERVAL_MS) ctx.addIssue({ code: 'custom', message: `${ms / 1000} s is below the ${MIN_INTERVAL_MS / 1000} s floor (use 1h, 30m, …)` });
  }),
  reconcile: duration.default(DEFAULT_RECONCILE_MS),
  schema_refresh: duration.default(DEFAULT_SCHEMA_REFRESH_MS),
  delete_mode: z.enum(['remove', 'soft']).default('remove'),
  /** `jsonl: FILE` is short for `queue: {kind: jsonl, url: FILE}`; both may be given. */
  documents: z.strictObject({ enabled: z.boolean().default(false), jsonl: z.string().optional(), queue: queueSchema.optional() }).default({ enabled: false }),
  budget: budget.default({}),
  /** Communications into comments (src/engine/comments); run by `sfbridge comments run`. */
  comments: commentsSchema.optional(),
  // Publish pipelines have their own schema (src/engine/publish/config.ts); validateConfig applies it, so one
  // config file is checked whole before anything runs.
  publish: z.array(z.unknown()).optional(),
  // Named connections and service pipelines (`sfbridge serve`, `--connection NAME`): validated by
  // src/engine/pipelines when the service or a command reads them.
  connections: z.record(z.string(), z.unknown()).optional(),
  pipelines: z.array(z.unknown()).optional(),
  // The service's OData producer (`sfbridge serve`): validated by src/server/odata/config.ts.
  odata: z.unknown().optional(),
  // Request-reply routes of the service (`sfbridge serve`): validated by src/server/inbound/reply.ts.
  reply_routes: z.unknown().optional(),
});

export type Parsed = z.output<typeof syncConfigSchema>;

/** Replaces `${NAME}` in every string of a parsed YAML tree; a missing variable is an error naming it. */
export function interpolateEnv(value: unknown, env: NodeJS.ProcessEnv, path: string[] = []): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
      const v = env[name];
      if (v === undefined) throw new SyncConfigError(path.join('.'), `environment variable ${name} is not set (referenced as \${${name}}); export it or write the value into the file`);
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolateEnv(v, env, [...path, String(i)]));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateEnv(v, env, [...path, k])]));
  }
  return value;
}

/** Walks the zod schema to the object schema at `path`, returning its keys (for typo suggestions). */
function keysAt(path: readonly PropertyKey[]): string[] {
  let s: unknown = syncConfigSchema;
  const unwrap = (x: unknown): unknown => {
    for (;;) {
      const def = (x as { _zod?: { def?: { type?: string; innerType?: unknown; in?: unknown; options?: unknown[] } } })._zod?.def;
      if (!def) return x;
      if (def.type === 'optional' || def.type === 'default' || def.type === 'nullable' || def.type === 'prefault') x = def.innerType;
      else if (def.type === 'pipe') x = def.in;
      else return x;
    }
  };
  for (const seg of path) {
    s = unwrap(s);
    const def = (s as { _zod: { def: { type: string; shape?: Record<string, unknown>; valueType?: unknown; element?: unknown; options?: unknown[] } } })._zod.def;
    if (def.type === 'object') s = def.shape?.[String(seg)];
    else if (def.type === 'record') s = def.valueType;
    else if (def.type === 'array') s = def.element;
    else return [];
    if (!s) return [];
  }
  s = unwrap(s);
  const def = (s as { _zod: { def: { type: string; shape?: Record<string, unknown>; options?: unknown[] } } })._zod.def;
  if (def.type === 'object') return Object.keys(def.shape ?? {});
  if (def.type === 'union') return [...new Set((def.options ?? []).flatMap((o) => Object.keys((o as { _zod: { def: { shape?: object } } })._zod.def.shape ?? {})))];
  return [];
}

function formatIssues(error: z.ZodError): SyncConfigError {
  const issue = error.issues[0];
  const path = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys;
    const valid = keysAt(issue.path);
    const parts = keys.map((k) => {
      const guess = closestName(k, valid);
      return `unknown key "${k}"${guess ? ` — did you mean "${guess}"?` : ''}`;
    });
    const at = path ? `${path}.${keys[0]}` : keys[0];
    return new SyncConfigError(at, `${parts.join('; ')} (valid keys here: ${valid.join(', ')})`);
  }
  if (issue.code === 'invalid_union') {
    // A union of strict objects (field filters): report the unknown key inside rather than "invalid input".
    const nested = (issue as { errors?: z.core.$ZodIssue[][] }).errors?.flat().find((i) => i.code === 'unrecognized_keys');
    if (nested && nested.code === 'unrecognized_keys') {
      const valid = keysAt(issue.path);
      const k = nested.keys[0];
      const guess = closestName(k, valid);
      return new SyncConfigError(path ? `${path}.${k}` : k, `unknown key "${k}"${guess ? ` — did you mean "${guess}"?` : ''} (valid keys here: ${valid.join(', ')}; use either include or exclude)`);
    }
  }
  return new SyncConfigError(path, issue.message);
}

/** Validates a raw (snake_case) config object; throws {@link SyncConfigError}. */
export function validateConfig(raw: unknown): SyncConfig {
  const result = syncConfigSchema.safeParse(raw ?? {});
  if (!result.success) throw formatIssues(result.error);
  const p = result.data;
  let publish: PublishPipelineConfig[];
  try {
    publish = parsePublishPipelines(p.publish, 'publish');
  } catch (err) {
    throw new SyncConfigError('', (err as Error).message);
  }
  const custom = p.custom_objects_to_sync === '*' || p.custom_objects_to_sync.includes('*') ? '*' : p.custom_objects_to_sync;
  return {
    connection: p.connection,
    store: p.to ?? p.store ?? DEFAULT_STORE_URL,
    standardObjects: p.standard_objects_to_sync,
    // Naming custom objects implies syncing them.
    syncCustomObjects: p.sync_custom_objects || custom === '*' || custom.length > 0,
    customObjects: custom,
    objects: Object.fromEntries(Object.entries(p.objects).map(([name, o]) => [name, {
      ...(o.mode ? { mode: o.mode } : {}),
      ...(o.fields ? { fields: o.fields } : {}),
      ...(o.where !== undefined ? { where: o.where } : {}),
      ...(o.page_size !== undefined ? { pageSize: o.page_size } : {}),
      ...(o.transform ? { transform: o.transform } : {}),
      ...(o.writable ? { writable: true } : {}),
      ...(o.conflict ? { conflict: o.conflict } : {}),
      ...(o.idempotency_field ? { idempotencyField: o.idempotency_field } : {}),
    }])),
    intervalMs: p.interval,
    continuous: p.continuous ?? (raw as { interval?: unknown } | null)?.interval !== undefined,
    lagMs: p.lag,
    bulkThreshold: p.bulk_threshold,
    formulaRefreshMs: p.formula_refresh,
    cdcSafetyNetMs: p.cdc_safety_net,
    reconcileMs: p.reconcile,
    schemaRefreshMs: p.schema_refresh,
    deleteMode: p.delete_mode,
    documents: {
      enabled: p.documents.enabled,
      jsonl: p.documents.jsonl,
      sinks: [
        ...(p.documents.queue ? [toSinkConfig(p.documents.queue)] : []),
        ...(p.documents.jsonl ? [toSinkConfig({ kind: 'jsonl', url: p.documents.jsonl })] : []),
      ],
    },
    budget: p.budget,
    ...(p.comments ? { comments: toCommentsConfig(p.comments) } : {}),
    publish,
  };
}

/** Reads and parses a YAML (or JSON) config file, interpolating `${ENV}`; not yet validated. */
export async function readConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new SyncConfigError('', `cannot read config file ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    // The parser's message carries the line, column and a code frame pointing at the mistake: keep it whole.
    throw new SyncConfigError('', `${path} is not valid YAML: ${(err as Error).message.trimEnd()}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new SyncConfigError('', `${path} must contain a mapping of settings (key: value), got ${Array.isArray(doc) ? 'a list' : typeof doc}`);
  return interpolateEnv(doc, env) as Record<string, unknown>;
}


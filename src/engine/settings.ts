/**
 * The sync's settings without their schemas: defaults, the validated configuration's shape, and loading it
 * from its layers. The zod schemas and the YAML parser (config.ts) load only when a config file is read or a
 * value from the environment or a flag is one only they can judge (and word the error for); the engine's
 * hot path (runner, paths) imports this module, not them.
 */
import type { PublishPipelineConfig } from './publish/config.ts';
import type { CommentsConfig } from './comments/config.ts';
import type { SinkConfig } from './sinks/config.ts';
import type { InboundTransformSpec, Parsed } from './config.ts';

/** Parses `30s`, `5m`, `500ms`, `2h`, `1d` or a bare number of seconds into milliseconds; undefined if malformed. */
export function parseDurationMs(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value * 1000 : undefined;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(value.trim());
  if (!m) return undefined;
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] ?? 's']!;
}

/** Fields the sync itself reads from every stored row; a transform keeps them as they are. */
export const ENGINE_FIELDS: readonly string[] = ['Id', 'SystemModstamp', 'IsDeleted'];

/** Smallest and largest REST query page Salesforce accepts (`Sforce-Query-Options: batchSize`). */
export const MIN_PAGE_SIZE = 200;
export const MAX_PAGE_SIZE = 2000;

/** Objects synced when the config names none (the set other Salesforce connectors default to). */
export const DEFAULT_STANDARD_OBJECTS: readonly string[] = Object.freeze(['Account', 'Opportunity', 'Contact', 'Lead', 'Campaign', 'Case']);
/** At or above this many rows an object's initial load uses Bulk API 2.0; below it, REST query. */
export const DEFAULT_BULK_THRESHOLD = 2000;
/** Default lag window: how far behind the cursor each incremental read starts (late commits). */
export const DEFAULT_LAG_MS = 5 * 60_000;
/** Default pause between cycles in continuous mode. */
export const DEFAULT_INTERVAL_MS = 5 * 60_000;
/**
 * Shortest pause between cycles. Below it a continuous sync is a busy loop (an interval of 0 made 843 calls
 * in 8 s, a 100,000-call daily allowance gone in about 16 minutes) while a cycle that starts sooner finds
 * nothing new anyway.
 */
export const MIN_INTERVAL_MS = 1000;
/**
 * Shortest lag window considered safe: Salesforce stamps SystemModstamp when a transaction starts, so a write
 * that commits later than the lag is behind the cursor when it becomes visible. Shorter lags are allowed (a
 * sandbox with no long transactions) but warned about; the repair scan ({@link REPAIR_WINDOW_MS}) re-reads
 * what such a lag could have skipped.
 */
export const MIN_SAFE_LAG_MS = 60_000;
/** How far behind the cursor the periodic repair scan re-reads (late commits longer than the lag). */
export const REPAIR_WINDOW_MS = 60 * 60_000;
/** Default period of the repair scan. */
export const DEFAULT_REPAIR_MS = 15 * 60_000;
/**
 * Default period of the safety-net pass while following change events: a cursor read of what changed since
 * the last pass, the COUNT() check (hard-delete reconciliation) and, on their own schedules, the formula
 * refresh and the Id reconciliation. Change events carry no formula values and can, rarely, be missed.
 */
export const DEFAULT_CDC_SAFETY_NET_MS = 60 * 60_000;
/** Default period of the formula-field refresh. */
export const DEFAULT_FORMULA_REFRESH_MS = 60 * 60_000;
/** Default period of the hard-delete Id reconciliation. */
export const DEFAULT_RECONCILE_MS = 6 * 60 * 60_000;
/** Default period after which describe is re-read to notice schema changes. */
export const DEFAULT_SCHEMA_REFRESH_MS = 15 * 60_000;
/** Default store when neither the file nor a flag names one. */
export const DEFAULT_STORE_URL = 'sqlite:./data/sfbridge.db';

/** A bad configuration; `path` is the dotted key path it concerns (empty for the whole file). */
export class SyncConfigError extends Error {
  readonly code = 'SYNC_CONFIG_ERROR';
  readonly path: string;
  constructor(path: string, message: string) {
    super(path ? `${path}: ${message}` : message);
    this.name = 'SyncConfigError';
    this.path = path;
  }
}

/**
 * Why an object's settings cannot follow change events, or undefined when they can: a change event carries
 * the record's own changed fields, so a `where:` filter (a record can stop matching), a transform or a
 * relationship path column (`Owner.Email`) could not be kept exact from it.
 */
export function cdcRefusal(o: { where?: string; transform?: unknown; fields?: { include: string[] } | { exclude: string[] } }): string | undefined {
  const paths = o.fields && 'include' in o.fields ? o.fields.include.filter((f) => f.includes('.')) : [];
  const what = [o.where !== undefined ? 'where' : '', o.transform !== undefined ? 'transform' : '', paths.length ? `relationship fields (${paths.join(', ')})` : ''].filter(Boolean);
  if (!what.length) return undefined;
  return `mode: cdc cannot be combined with ${what.join(', ')}: change events carry only the record's own changed fields, so the mirror could not be kept exact; remove ${what.length > 1 ? 'them' : 'it'} or use mode: poll for this object`;
}

/** Per-object field selection. */
export type FieldFilter = { include: string[] } | { exclude: string[] };

/** Per-object settings of the sync (the `objects:` entries). */
export interface ObjectSettings {
  /** `cdc`: follow Change Data Capture events after the initial load (`sfbridge sync`); default poll. */
  mode?: 'poll' | 'cdc';
  fields?: FieldFilter;
  /** SOQL condition the mirrored records match. */
  where?: string;
  /** REST query page size and Bulk load transaction size. */
  pageSize?: number;
  /** Applied to each record before the mirror and the sinks. */
  transform?: InboundTransformSpec;
  /** Two-way sync: application writes to the mirror table go to Salesforce. */
  writable?: boolean;
  /** Two-way sync: how a record changed on both sides is settled (default `salesforce_wins`). */
  conflict?: 'salesforce_wins' | 'last_modified_wins';
  /** Two-way sync: external ID field that makes inserts crash-safe. */
  idempotencyField?: string;
}

/** The validated configuration the engine runs with (camelCase, durations in ms). */
export interface SyncConfig {
  connection: Parsed['connection'];
  /** Store URL (`sqlite:…`, `postgres://…`). */
  store: string;
  standardObjects: string[];
  syncCustomObjects: boolean;
  /** Custom object names, or `'*'` for every queryable custom object. */
  customObjects: string[] | '*';
  objects: Record<string, ObjectSettings>;
  intervalMs: number;
  /**
   * Whether `sfbridge sync` keeps running: `continuous:` when set, else true when an interval was given (file
   * `interval:`, `SFBRIDGE_INTERVAL` or `--interval`). `--once` always runs one cycle.
   */
  continuous: boolean;
  lagMs: number;
  bulkThreshold: number;
  formulaRefreshMs: number;
  /** While following change events: the period of the polling pass over the CDC objects. */
  cdcSafetyNetMs: number;
  reconcileMs: number;
  schemaRefreshMs: number;
  deleteMode: 'remove' | 'soft';
  /** Search documents: built when `enabled`, delivered to each sink besides the store's index. */
  documents: { enabled: boolean; jsonl?: string; sinks: SinkConfig[] };
  budget: Parsed['budget'];
  /** The comments pipeline, when the file has a `comments:` block. */
  comments?: CommentsConfig;
  /** Publisher pipelines (validated). */
  publish: PublishPipelineConfig[];
}

/** Values from flags (already split), the top layer. Undefined = not given. */
export interface SyncFlagValues {
  store?: string;
  objects?: string[];
  allStandard?: boolean;
  customObjects?: string[] | '*';
  interval?: string;
  lag?: string;
  bulkThreshold?: string;
  documents?: boolean;
}

/** Environment variables read as the third layer. */
export const SYNC_ENV = Object.freeze({
  store: 'SFBRIDGE_STORE',
  objects: 'SFBRIDGE_OBJECTS',
  customObjects: 'SFBRIDGE_CUSTOM_OBJECTS',
  interval: 'SFBRIDGE_INTERVAL',
  lag: 'SFBRIDGE_LAG',
  bulkThreshold: 'SFBRIDGE_BULK_THRESHOLD',
});

const splitList = (s: string): string[] => s.split(',').map((x) => x.trim()).filter(Boolean);

/**
 * Builds the configuration from its layers (defaults ← file ← env ← flags) and validates it once.
 * Flags and env override only the keys they name.
 */
export async function loadSyncConfig(opts: { file?: string; env?: NodeJS.ProcessEnv; flags?: SyncFlagValues } = {}): Promise<SyncConfig> {
  const env = opts.env ?? process.env;
  // The schemas (zod) and the YAML parser load only when a file is read or a value needs their judgement:
  // a sync run from flags and the environment alone starts without them (≈ 7 MB of heap less).
  const schemas = opts.file ? await import('./config.ts') : undefined;
  const raw: Record<string, unknown> = schemas ? await schemas.readConfigFile(opts.file!, env) : {};
  const over = (key: string, value: unknown) => {
    if (value !== undefined) raw[key] = value;
  };
  // Environment layer.
  over('store', env[SYNC_ENV.store] || undefined);
  if (env[SYNC_ENV.store]) delete raw.to;
  if (env[SYNC_ENV.objects]) over('standard_objects_to_sync', splitList(env[SYNC_ENV.objects]!));
  if (env[SYNC_ENV.customObjects]) over('custom_objects_to_sync', env[SYNC_ENV.customObjects] === '*' ? '*' : splitList(env[SYNC_ENV.customObjects]!));
  over('interval', env[SYNC_ENV.interval] || undefined);
  over('lag', env[SYNC_ENV.lag] || undefined);
  if (env[SYNC_ENV.bulkThreshold]) over('bulk_threshold', Number(env[SYNC_ENV.bulkThreshold]));
  // Flag layer.
  const f = opts.flags ?? {};
  if (f.store !== undefined) {
    raw.store = f.store;
    delete raw.to;
  }
  if (f.allStandard) raw.standard_objects_to_sync = [...DEFAULT_STANDARD_OBJECTS];
  if (f.objects) raw.standard_objects_to_sync = f.objects;
  if (f.customObjects !== undefined) raw.custom_objects_to_sync = f.customObjects;
  over('interval', f.interval);
  over('lag', f.lag);
  if (f.bulkThreshold !== undefined) {
    const n = Number(f.bulkThreshold);
    if (!Number.isInteger(n) || n < 0) throw new SyncConfigError('bulk_threshold', `--bulk-threshold must be a whole number ≥ 0, got "${f.bulkThreshold}"`);
    raw.bulk_threshold = n;
  }
  if (f.documents !== undefined) raw.documents = { ...((raw.documents as object) ?? {}), enabled: f.documents };
  return (!schemas && plainConfig(raw)) || (schemas ?? (await import('./config.ts'))).validateConfig(raw);
}

/** An object API name, as the schema's `apiName` accepts it. */
const API_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

/**
 * What {@link validateConfig} makes of `raw` when it holds only keys the environment and flags set and every
 * value is one the schema accepts; undefined otherwise (the schema then decides, and words the error).
 */
export function plainConfig(raw: Readonly<Record<string, unknown>>): SyncConfig | undefined {
  for (const key of Object.keys(raw)) if (!PLAIN_KEYS.has(key)) return undefined;
  const store = raw.store ?? DEFAULT_STORE_URL;
  if (typeof store !== 'string') return undefined;
  const names = (v: unknown, star: boolean): v is string[] => Array.isArray(v) && v.every((n) => typeof n === 'string' && (API_NAME.test(n) || (star && n === '*')));
  const standard = raw.standard_objects_to_sync ?? [...DEFAULT_STANDARD_OBJECTS];
  if (!names(standard, false)) return undefined;
  const customRaw = raw.custom_objects_to_sync ?? [];
  if (customRaw !== '*' && !names(customRaw, true)) return undefined;
  const ms = (v: unknown, fallback: number): number | undefined => (v === undefined ? fallback : typeof v === 'string' || typeof v === 'number' ? parseDurationMs(v) : undefined);
  const intervalMs = ms(raw.interval, DEFAULT_INTERVAL_MS);
  const lagMs = ms(raw.lag, DEFAULT_LAG_MS);
  if (intervalMs === undefined || intervalMs < MIN_INTERVAL_MS || lagMs === undefined) return undefined;
  const bulkThreshold = raw.bulk_threshold ?? DEFAULT_BULK_THRESHOLD;
  if (!Number.isInteger(bulkThreshold) || (bulkThreshold as number) < 0) return undefined;
  const documents = raw.documents ?? { enabled: false };
  if (typeof documents !== 'object' || documents === null || Object.keys(documents).some((k) => k !== 'enabled') || typeof (documents as { enabled?: unknown }).enabled !== 'boolean') return undefined;
  const custom = customRaw === '*' || customRaw.includes('*') ? '*' : customRaw;
  return {
    connection: {},
    store,
    standardObjects: standard,
    syncCustomObjects: custom === '*' || custom.length > 0,
    customObjects: custom,
    objects: {},
    intervalMs,
    continuous: raw.interval !== undefined,
    lagMs,
    bulkThreshold: bulkThreshold as number,
    formulaRefreshMs: DEFAULT_FORMULA_REFRESH_MS,
    cdcSafetyNetMs: DEFAULT_CDC_SAFETY_NET_MS,
    reconcileMs: DEFAULT_RECONCILE_MS,
    schemaRefreshMs: DEFAULT_SCHEMA_REFRESH_MS,
    deleteMode: 'remove',
    documents: { enabled: (documents as { enabled: boolean }).enabled, jsonl: undefined, sinks: [] },
    budget: {},
    publish: [],
  };
}

/** The keys the environment and flag layers set. */
const PLAIN_KEYS: ReadonlySet<string> = new Set(['store', 'standard_objects_to_sync', 'custom_objects_to_sync', 'interval', 'lag', 'bulk_threshold', 'documents']);

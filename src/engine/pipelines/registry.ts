/**
 * The pipelines of a service: from the config file (config as code: listed read-only) and from the store
 * (created through the API). Both pass the same kind schema; names are unique across both, and kinds check
 * conflicts between pipelines (two syncs writing one mirror table) before anything is stored.
 */
import type { JsonObject, ServiceState } from '../../store/index.ts';
import { closestName, readConfigFile, SyncConfigError, validateConfig } from '../config.ts';
import { connectionName, connectionSchema, specFromLegacyBlock, type ConnectionSpec } from '../connections/schema.ts';
import { parsePipeline, pipelineKind, PipelineError, type ScheduleSpec } from './kinds.ts';
import { publishStateUrl } from './publish.ts';

/** A validated pipeline spec (its kind's output shape). */
export type PipelineSpec = { name: string; kind: string; connection: string; schedule?: ScheduleSpec; paused?: boolean } & Record<string, unknown>;

export interface PipelineEntry {
  spec: PipelineSpec;
  /** What was written (config file or API body), returned by the API as is. */
  raw: JsonObject;
  source: 'config' | 'api';
  createdAt?: string;
  updatedAt?: string;
}

/** The service part of a config file. */
export interface ServiceConfig {
  /** The file's `store:` (the service's store unless `--store` says otherwise). */
  store?: string;
  connections: Record<string, ConnectionSpec>;
  pipelines: PipelineEntry[];
  /** The `odata:` block as written (the server validates it). */
  odata?: unknown;
  /** The `reply_routes:` block as written (the server validates it). */
  replyRoutes?: unknown;
}

const TOP_LEVEL_SYNC_KEYS = ['standard_objects_to_sync', 'sync_custom_objects', 'custom_objects_to_sync', 'objects', 'interval', 'lag', 'bulk_threshold', 'formula_refresh', 'reconcile', 'schema_refresh', 'delete_mode', 'documents', 'budget'];

/**
 * Reads a config file for the service: `connections:` and `pipelines:`, and, for a file written for
 * `sfbridge sync`/`publish`, its `connection:` block as connection `default`, its top-level sync keys as
 * pipeline `sync` and its `publish:` entries as publish pipelines on that connection.
 */
export async function loadServiceConfig(file: string, env: NodeJS.ProcessEnv = process.env): Promise<ServiceConfig> {
  const raw = await readConfigFile(file, env);
  // The whole file passes the sync schema first: a typo at the top level is reported with its fix.
  validateConfig(raw);
  const connections: Record<string, ConnectionSpec> = {};
  for (const [name, value] of Object.entries((raw.connections as Record<string, unknown>) ?? {})) {
    const n = connectionName.safeParse(name);
    if (!n.success) throw new SyncConfigError(`connections.${name}`, n.error.issues[0].message);
    const parsed = connectionSchema.safeParse(value);
    if (!parsed.success) {
      const i = parsed.error.issues[0];
      const keyHint = i.code === 'unrecognized_keys' ? unknownKeyHint(i.keys, value) : '';
      throw new SyncConfigError(`connections.${name}${i.path.length ? `.${i.path.join('.')}` : ''}`, `${i.message}${keyHint}`);
    }
    connections[name] = parsed.data;
  }
  const entries: PipelineEntry[] = [];
  const rawPipelines = (raw.pipelines as unknown[]) ?? [];
  if (raw.connection !== undefined) {
    if (connections.default) throw new SyncConfigError('connection', 'the file has both a connection: block and connections.default; keep one');
    try {
      connections.default = connectionSchema.parse(specFromLegacyBlock(raw.connection as Record<string, string>));
    } catch (err) {
      throw new SyncConfigError('connection', (err as Error).message);
    }
    const sync: Record<string, unknown> = { name: 'sync', kind: 'sync', connection: 'default' };
    for (const k of TOP_LEVEL_SYNC_KEYS) if (raw[k] !== undefined) sync[k] = raw[k];
    if (raw.store ?? raw.to) sync.store = raw.to ?? raw.store;
    if (sync.interval !== undefined) {
      sync.schedule = sync.interval;
      delete sync.interval;
    }
    rawPipelines.unshift(sync);
    for (const p of (raw.publish as Record<string, unknown>[]) ?? []) rawPipelines.push({ ...p, kind: 'publish', connection: 'default' });
  } else if (TOP_LEVEL_SYNC_KEYS.some((k) => raw[k] !== undefined)) {
    throw new SyncConfigError(TOP_LEVEL_SYNC_KEYS.find((k) => raw[k] !== undefined)!, 'top-level sync settings need a connection: block; for the service, put them in a pipeline (pipelines: [{ name, kind: sync, connection, … }])');
  }
  rawPipelines.forEach((p, i) => {
    let spec: PipelineSpec;
    try {
      spec = parsePipeline(p, `pipelines[${i}]`);
    } catch (err) {
      if (err instanceof PipelineError) throw new SyncConfigError('', err.message);
      throw err;
    }
    entries.push({ spec, raw: p as JsonObject, source: 'config' });
  });
  const problems = checkAll(entries.map((e) => e.spec), Object.keys(connections));
  if (problems.length) throw new SyncConfigError('pipelines', problems.join('; '));
  return { store: (raw.store as string | undefined) ?? (raw.to as string | undefined), connections, pipelines: entries, ...(raw.odata !== undefined ? { odata: raw.odata } : {}), ...(raw.reply_routes !== undefined ? { replyRoutes: raw.reply_routes } : {}) };
}

function unknownKeyHint(keys: string[], value: unknown): string {
  const kind = (value as { kind?: string })?.kind;
  const option = connectionSchema.options.find((o) => o.shape.kind.value === kind);
  if (!option) return '';
  const valid = Object.keys(option.shape);
  const guess = closestName(keys[0], valid);
  return `${guess ? ` — did you mean "${guess}"?` : ''} (valid keys for ${kind}: ${valid.join(', ')})`;
}

/** Duplicate names, unknown connections (when known) and kind-level conflicts. */
function checkAll(specs: PipelineSpec[], connectionNames?: string[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const s of specs) {
    if (seen.has(s.name)) out.push(`pipeline name "${s.name}" is used twice; give each pipeline its own name`);
    seen.add(s.name);
    if (connectionNames && !connectionNames.includes(s.connection)) out.push(`pipeline "${s.name}": connection "${s.connection}" is not defined (connections: ${connectionNames.join(', ') || 'none'})`);
    // Each conflicting pair is reported once, by the later pipeline.
    const earlier = specs.slice(0, specs.indexOf(s)).filter((o) => o.kind === s.kind);
    out.push(...(pipelineKind(s.kind)!.conflicts?.(s as never, earlier as never) ?? []));
  }
  return out;
}

export interface PipelinesOptions {
  state: ServiceState;
  fromConfig?: PipelineEntry[];
  /** The service store URL: the default state of API-created publish pipelines. */
  serviceStoreUrl: string;
}

export class Pipelines {
  readonly #state: ServiceState;
  readonly #config: PipelineEntry[];
  readonly #serviceStoreUrl: string;

  constructor(opts: PipelinesOptions) {
    this.#state = opts.state;
    this.#config = opts.fromConfig ?? [];
    this.#serviceStoreUrl = opts.serviceStoreUrl;
  }

  async list(): Promise<PipelineEntry[]> {
    const rows = await this.#state.listPipelines();
    const out = [...this.#config];
    for (const row of rows) {
      if (this.#config.some((c) => c.spec.name === row.name)) continue;
      try {
        out.push({ spec: parsePipeline(row.spec, row.name), raw: row.spec, source: 'api', createdAt: row.createdAt, updatedAt: row.updatedAt });
      } catch {
        // A stored pipeline of a kind this build lacks is left alone (and not run) rather than failing the list.
      }
    }
    return out;
  }

  async get(name: string): Promise<PipelineEntry | undefined> {
    const fromFile = this.#config.find((c) => c.spec.name === name);
    if (fromFile) return fromFile;
    const row = await this.#state.getPipeline(name);
    if (!row) return undefined;
    return { spec: parsePipeline(row.spec, name), raw: row.spec, source: 'api', createdAt: row.createdAt, updatedAt: row.updatedAt };
  }

  /** Validates and stores a pipeline (create or replace); returns it and whether it is new. */
  async put(name: string, body: unknown, connectionExists: (name: string) => Promise<boolean>): Promise<{ entry: PipelineEntry; created: boolean }> {
    if (this.#config.some((c) => c.spec.name === name)) throw new PipelineError('READ_ONLY', 409, `pipeline "${name}" is defined in the config file and is read-only here; change it in the file`);
    const raw = { ...(body as Record<string, unknown>) };
    if (raw.name === undefined) raw.name = name;
    if (raw.name !== name) throw new PipelineError('INVALID_PIPELINE', 400, `pipeline.name: the body names "${String(raw.name)}" but the URL names "${name}"; make them the same`, 'name');
    // The outbox of an API pipeline lives in the service's store unless it names another.
    if (raw.kind === 'publish' && raw.state === undefined) raw.state = this.#serviceStoreUrl;
    const spec = parsePipeline(raw);
    if (!(await connectionExists(spec.connection))) throw new PipelineError('UNKNOWN_CONNECTION', 400, `pipeline.connection: connection "${spec.connection}" does not exist; create it first (PUT /api/v1/connections/${spec.connection})`, 'connection');
    const others = (await this.list()).filter((e) => e.spec.name !== name).map((e) => e.spec);
    const conflicts = pipelineKind(spec.kind)!.conflicts?.(spec as never, others.filter((o) => o.kind === spec.kind) as never) ?? [];
    if (conflicts.length) throw new PipelineError('PIPELINE_CONFLICT', 409, conflicts[0]);
    const existing = await this.#state.getPipeline(name);
    const row = await this.#state.putPipeline({ name, kind: spec.kind, spec: raw as JsonObject });
    return { entry: { spec, raw: raw as JsonObject, source: 'api', createdAt: row.createdAt, updatedAt: row.updatedAt }, created: !existing };
  }

  async remove(name: string): Promise<boolean> {
    if (this.#config.some((c) => c.spec.name === name)) throw new PipelineError('READ_ONLY', 409, `pipeline "${name}" is defined in the config file; remove it there`);
    return this.#state.deletePipeline(name);
  }

  /** State stores holding dead letters, by pipeline. */
  async deadLetterStores(baseDir: string): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const e of await this.list()) {
      const kind = pipelineKind(e.spec.kind);
      const url = kind?.deadLetterStore?.(e.spec as never, this.#serviceStoreUrl, baseDir) ?? (e.spec.kind === 'publish' ? publishStateUrl(e.spec as { state?: string }, baseDir) : undefined);
      if (url) out.set(e.spec.name, url);
    }
    return out;
  }
}

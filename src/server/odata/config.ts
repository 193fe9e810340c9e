/**
 * The `odata:` block of the service configuration, validated once (zod), and the sources it builds: each
 * source a store (the service's own by default) and the tables it serves as entity sets.
 *
 * ```yaml
 * odata:
 *   page_size: 1000                 # rows per page before @odata.nextLink
 *   sources:
 *     erp:
 *       auth: { basic: { username: salesforce, password: ${ODATA_PASSWORD} } }
 *       entity_sets:
 *         - table: Account                      # a mirror table
 *           index: [Industry]                   # columns filters and sorts use
 *         - { table: orders, name: Orders, key: [order_id], writable: true }   # the application's own table
 *       navigation:
 *         Orders: { Account: { property: account_id, target: Account } }
 * ```
 */
import { z } from 'zod';
import type { Store } from '../../store/types.ts';
import { entitySet, linkNavigations, type EntitySet } from './model.ts';
import { suggest } from './parse.ts';
import type { ODataAuth, ODataSource } from './service.ts';

const NAME = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'letters, digits and underscores, starting with a letter');

const authSchema = z.union([
  z.object({ basic: z.object({ username: z.string().min(1), password: z.string().min(1) }).strict() }).strict(),
  z.object({ bearer: z.object({ tokens: z.array(z.string().min(16, 'a bearer token of at least 16 characters')).min(1) }).strict() }).strict(),
  z.literal('service').describe("the service's own API tokens (sfbridge tokens create)"),
  z.literal('none').describe('no authentication: only for a producer reachable from nowhere but localhost'),
]);

const entitySetSchema = z
  .object({
    table: z.string().min(1),
    name: NAME.optional(),
    key: z.array(z.string().min(1)).min(1).optional(),
    columns: z.array(z.string().min(1)).min(1).optional(),
    writable: z.boolean().optional(),
    index: z.array(z.string().min(1)).optional(),
    page_size: z.number().int().min(1).max(10_000).optional(),
  })
  .strict();

const sourceSchema = z
  .object({
    /** A store URL; default the service's store. */
    store: z.string().regex(/^(sqlite:|postgres(ql)?:\/\/)/, 'a store URL: sqlite:./app.db or postgres://user@host/db?schema=app').optional(),
    namespace: NAME.optional(),
    auth: authSchema,
    entity_sets: z.array(entitySetSchema).min(1),
    navigation: z.record(z.string(), z.record(z.string(), z.object({ property: z.string(), target: z.string() }).strict())).optional(),
  })
  .strict();

/** The validated `odata:` block. */
export const odataConfigSchema = z
  .object({
    page_size: z.number().int().min(1).max(10_000).default(1000),
    sources: z.record(NAME, sourceSchema),
  })
  .strict();

export type ODataConfig = z.infer<typeof odataConfigSchema>;

/** Raised when the configured tables don't exist or don't fit; the message names the fix. */
export class ODataConfigError extends Error {
  readonly code = 'ODATA_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'ODataConfigError';
  }
}

/** What building sources needs from the service. */
export interface BuildSourcesOptions {
  /** The service's store (used when a source names none). */
  store: Store;
  /** Opens a store by URL (sources with their own `store:`). */
  openStore(url: string): Promise<Store>;
  /** Verifies a service API token (`auth: service`). */
  verifyServiceToken?(request: Request): Promise<boolean>;
}

/**
 * Builds the sources: looks each table up (mirror tables by object name, then application tables), checks
 * keys and columns, creates the configured indexes and links navigations. Stores it opened are returned so
 * the caller closes them.
 */
export async function buildODataSources(config: ODataConfig, options: BuildSourcesOptions): Promise<{ sources: ODataSource[]; opened: Store[] }> {
  const sources: ODataSource[] = [];
  const opened: Store[] = [];
  for (const [name, spec] of Object.entries(config.sources)) {
    let store = options.store;
    if (spec.store) {
      store = await options.openStore(spec.store);
      opened.push(store);
    }
    const sets: EntitySet[] = [];
    for (const es of spec.entity_sets) {
      const shape = await store.tableShape(es.table);
      if (!shape) throw new ODataConfigError(`odata.sources.${name}: no table ${es.table} in the store: sync the object first (sfbridge sync --objects ${es.table}) or create the application table`);
      let set: EntitySet;
      try {
        set = entitySet(shape, { table: es.table, name: es.name, key: es.key, columns: es.columns, writable: es.writable, maxPageSize: es.page_size }, config.page_size);
      } catch (err) {
        throw new ODataConfigError(`odata.sources.${name}: ${(err as Error).message}`);
      }
      if (sets.some((s) => s.name === set.name)) throw new ODataConfigError(`odata.sources.${name}: two entity sets are named ${set.name}; give one a different name`);
      if (es.index && es.index.length > 0) {
        for (const col of es.index) {
          if (!set.type.property(col)) throw new ODataConfigError(`odata.sources.${name}: index column ${col} is not served by ${set.name}${suggest(col, set.type.propertyNames())}`);
        }
        await store.ensureQueryIndex(shape, es.index);
      }
      sets.push(set);
    }
    try {
      linkNavigations(sets, spec.navigation);
    } catch (err) {
      throw new ODataConfigError(`odata.sources.${name}: ${(err as Error).message}`);
    }
    sources.push({ name, namespace: spec.namespace ?? `sfbridge.${name}`, store, sets, auth: toAuth(spec.auth, options, name) });
  }
  return { sources, opened };
}

function toAuth(auth: z.infer<typeof authSchema>, options: BuildSourcesOptions, source: string): ODataAuth {
  if (auth === 'none') return { kind: 'none' };
  if (auth === 'service') {
    const verify = options.verifyServiceToken;
    if (!verify) throw new ODataConfigError(`odata.sources.${source}: auth: service needs the service's API tokens; run it under sfbridge serve, or use basic or bearer`);
    return { kind: 'custom', verify };
  }
  if ('basic' in auth) return { kind: 'basic', ...auth.basic };
  return { kind: 'bearer', tokens: auth.bearer.tokens };
}

/**
 * Sources for a long-running service: built on first use and rebuilt after `refreshMs`, so tables a sync
 * creates later, and columns a describe adds, appear without a restart. A source whose table does not
 * exist yet answers 503 naming the fix (the `ODataConfigError` of {@link buildODataSources}).
 */
export function serviceODataSources(config: ODataConfig, options: BuildSourcesOptions, refreshMs = 30_000): () => Promise<ODataSource[]> {
  let built: { at: number; sources: ODataSource[] } | undefined;
  let pending: Promise<ODataSource[]> | undefined;
  return async () => {
    if (built && Date.now() - built.at < refreshMs) return built.sources;
    pending ??= buildODataSources(config, options)
      .then(({ sources }) => {
        built = { at: Date.now(), sources };
        return sources;
      })
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };
}

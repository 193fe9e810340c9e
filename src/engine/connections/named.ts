/**
 * `--connection NAME` for commands run outside the service: the connection is looked up in the config
 * file's `connections:` (the file given, `SFBRIDGE_CONFIG`, or `./sfbridge.yaml`), then in the service's
 * store (`--store`, `SFBRIDGE_STORE`, or the default store when its file exists), the way `sf` finds a
 * `--target-org` alias.
 */
import { existsSync } from 'node:fs';
import type { Credentials } from '../../client/auth.ts';
import { didYouMean } from '../../client/suggest.ts';
import { openStore, parseStoreUrl } from '../../store/index.ts';
import { DEFAULT_STORE_URL, readConfigFile, SyncConfigError } from '../config.ts';
import { ConnectionError, Connections, SecretBox } from './registry.ts';
import { connectionSchema, type ConnectionSpec } from './schema.ts';

export interface NamedLookup {
  env?: NodeJS.ProcessEnv;
  configFile?: string;
  storeUrl?: string;
}

/** The `connections:` of a config file, validated. */
export async function configConnections(file: string, env: NodeJS.ProcessEnv = process.env): Promise<Record<string, ConnectionSpec>> {
  const raw = await readConfigFile(file, env);
  const out: Record<string, ConnectionSpec> = {};
  for (const [name, value] of Object.entries((raw.connections as Record<string, unknown>) ?? {})) {
    const parsed = connectionSchema.safeParse(value);
    if (!parsed.success) {
      const i = parsed.error.issues[0];
      throw new SyncConfigError(`connections.${name}${i.path.length ? `.${i.path.join('.')}` : ''}`, i.message);
    }
    out[name] = parsed.data;
  }
  return out;
}

/** Where a command looks for named connections. */
export function lookupPlaces(opts: NamedLookup): { configFile?: string; storeUrl?: string } {
  const env = opts.env ?? process.env;
  const configFile = opts.configFile ?? env.SFBRIDGE_CONFIG ?? (existsSync('sfbridge.yaml') ? 'sfbridge.yaml' : undefined);
  let storeUrl = opts.storeUrl ?? env.SFBRIDGE_STORE;
  if (!storeUrl) {
    const t = parseStoreUrl(DEFAULT_STORE_URL);
    if (t.kind === 'sqlite' && existsSync(t.path)) storeUrl = DEFAULT_STORE_URL;
  }
  return { configFile, storeUrl };
}

/** Credentials of a named connection; throws a {@link ConnectionError} listing where it looked. */
export function namedCredentials(name: string, opts: NamedLookup = {}): Promise<Credentials> {
  return withNamed(name, opts, (connections) => connections.credentials(name));
}

/** The `pubsub:` setting of a named connection (undefined when it has none), looked up as its credentials are. */
export function namedPubSub(name: string, opts: NamedLookup = {}): Promise<ConnectionSpec['pubsub']> {
  return withNamed(name, opts, async (connections) => (await connections.spec(name)).spec.pubsub);
}

async function withNamed<T>(name: string, opts: NamedLookup, use: (connections: Connections) => Promise<T>): Promise<T> {
  const env = opts.env ?? process.env;
  const { configFile, storeUrl } = lookupPlaces(opts);
  const fromConfig = configFile ? await configConnections(configFile, env) : {};
  if (!storeUrl) {
    if (!fromConfig[name]) throw new ConnectionError('CONNECTION_NOT_FOUND', 404, `connection "${name}"${didYouMean(name, Object.keys(fromConfig))} not found: ${configFile ? `${configFile} has ${Object.keys(fromConfig).join(', ') || 'no connections'}` : 'no config file (--config or ./sfbridge.yaml)'} and no service store (--store or SFBRIDGE_STORE); add it with: sfbridge connections add ${name} …`);
    const store = await openStore('sqlite::memory:');
    try {
      return await use(new Connections({ state: await store.serviceState(), box: new SecretBox(new Uint8Array(32)), fromConfig }));
    } finally {
      await store.close();
    }
  }
  const store = await openStore(storeUrl);
  try {
    const connections = new Connections({ state: await store.serviceState(), box: await SecretBox.load({ env }), fromConfig });
    if (!(await connections.get(name))) {
      const names = (await connections.list()).map((c) => c.name);
      throw new ConnectionError('CONNECTION_NOT_FOUND', 404, `connection "${name}"${didYouMean(name, names)} not found in ${[configFile, storeUrl.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@')].filter(Boolean).join(' or ')} (connections: ${names.join(', ') || 'none'}); add it with: sfbridge connections add ${name} …`);
    }
    return await use(connections);
  } finally {
    await store.close();
  }
}

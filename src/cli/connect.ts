/**
 * From connection flags (and `SF_*` environment) to a client, the same way for every command: a setting that
 * cannot work (no credentials, a malformed `--api-version`) is a usage error (exit 2) naming the fix, and a
 * refresh-token login saves rotated refresh tokens (FileTokenStore) so the next run can still log in.
 */
import { existsSync } from 'node:fs';
import { resolveCredentials } from '../client/config.ts';
import { SfClientError } from '../client/errors.ts';
import { SalesforceClient, type Credentials, type SalesforceClientOptions } from '../client/index.ts';
import { FileTokenStore } from '../client/token-store.ts';
import { UsageError } from './args.ts';
import { createRequire } from 'node:module';
import type pinoType from 'pino';
import type { Logger } from '../client/log.ts';
import { DEFAULT_PUBSUB_ENDPOINT, pubsubTransportOf, type PubSubSettings, type PubSubTransport } from '../client/pubsub/endpoint.ts';

const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/**
 * The client's request logger for `--log-level` (or `SFBRIDGE_LOG_LEVEL`): JSON lines on stderr through the
 * client's redaction. `warn` (the default) shows retries as they happen; `info` every request with its status,
 * time and API usage; `debug` adds the (redacted) request headers.
 */
export function clientLogger(flags: Record<string, unknown>, env: NodeJS.ProcessEnv, stream: NodeJS.WritableStream = process.stderr): { logger: Logger; logHeaders: boolean } {
  const level = (typeof flags['log-level'] === 'string' ? flags['log-level'] : undefined) ?? env.SFBRIDGE_LOG_LEVEL ?? 'warn';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new UsageError(`--log-level must be ${LOG_LEVELS.join(', ')}, got "${level}" (also SFBRIDGE_LOG_LEVEL)`);
  return { logger: lazyLogger(level as (typeof LOG_LEVELS)[number], stream), logHeaders: level === 'debug' };
}

const RANK = { debug: 20, info: 30, warn: 40, error: 50 } as const;

/**
 * A pino logger created on the first line at an enabled level: most commands log nothing at the default
 * level, and pino with the modules it brings is a third of what a query loads (~30 ms of its start-up).
 */
function lazyLogger(level: keyof typeof RANK, stream: NodeJS.WritableStream): Logger {
  let logger: pinoType.Logger | undefined;
  const min = RANK[level];
  const get = () => {
    if (!logger) {
      const pino = createRequire(import.meta.url)('pino') as typeof pinoType;
      logger = pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, stream as pinoType.DestinationStream);
    }
    return logger;
  };
  return {
    debug: (obj, msg) => {
      if (min <= RANK.debug) get().debug(obj, msg);
    },
    info: (obj, msg) => {
      if (min <= RANK.info) get().info(obj, msg);
    },
    warn: (obj, msg) => {
      if (min <= RANK.warn) get().warn(obj, msg);
    },
  };
}

/** The client's configuration errors become usage errors; anything else is returned as is. */
function toUsage(err: unknown): unknown {
  return err instanceof SfClientError && err.code === 'CONFIG_ERROR' ? new UsageError(err.message) : err;
}

/**
 * The config file a command reads: `--config FILE`, else `$SFBRIDGE_CONFIG`, else `./sfbridge.yaml` when it
 * exists (the way `sf` finds its project config), else none.
 */
export function configFileOf(flags: Record<string, unknown>, env: NodeJS.ProcessEnv): string | undefined {
  if (typeof flags.config === 'string' && flags.config !== '') return flags.config;
  if (env.SFBRIDGE_CONFIG) return env.SFBRIDGE_CONFIG;
  return existsSync('sfbridge.yaml') ? 'sfbridge.yaml' : undefined;
}

/** The config file's `connection:` keys as connection flags; flags given on the command line win key by key. */
export function withFileConnection(flags: Record<string, unknown>, block: Record<string, unknown> | undefined): Record<string, unknown> {
  if (!block || typeof block !== 'object') return flags;
  const out: Record<string, unknown> = { ...flags };
  const keys: Record<string, string> = { instance_url: 'instance-url', login_url: 'login-url', client_id: 'client-id', client_secret: 'client-secret', username: 'username', password: 'password', jwt_key: 'jwt-key', auth_url: 'auth-url', access_token: 'access-token' };
  for (const [key, flag] of Object.entries(keys)) {
    const v = block[key];
    if (typeof v === 'string' && (out[flag] === undefined || out[flag] === '')) out[flag] = v;
  }
  if (typeof block.api_version === 'string' && out['api-version'] === undefined) out['api-version'] = block.api_version;
  return out;
}

/**
 * Resolves credentials from flags, the config file's `connection:` block and env (in that order, key by
 * key), or from `--connection NAME`; a missing or contradictory setting is a {@link UsageError}.
 */
export async function credentialsFromFlags(flags: Record<string, unknown>, env: NodeJS.ProcessEnv): Promise<Credentials> {
  if (!(typeof flags.connection === 'string' && flags.connection !== '')) {
    const file = configFileOf(flags, env);
    if (file) {
      let raw: Record<string, unknown>;
      try {
        // Loaded only when there is a file: the engine's config module (zod, yaml, the SOQL parser) is most
        // of a query's start-up otherwise.
        const { readConfigFile } = await import('../engine/config.ts');
        raw = await readConfigFile(file, env);
      } catch (err) {
        throw new UsageError(`config: ${(err as Error).message}`, { code: 'CONFIG_ERROR' });
      }
      flags = withFileConnection(flags, raw.connection as Record<string, unknown> | undefined);
    }
  }
  try {
    if (typeof flags.connection === 'string' && flags.connection !== '') {
      const { namedCredentials } = await import('../engine/connections/named.ts');
      return await namedCredentials(flags.connection, { env, configFile: typeof flags.config === 'string' ? flags.config : undefined, storeUrl: typeof flags.store === 'string' ? flags.store : undefined }).catch((err: unknown) => {
        throw (err as { code?: string }).code === 'CONNECTION_NOT_FOUND' || (err as { code?: string }).code === 'CONNECTION_INCOMPLETE' || (err as { code?: string }).code === 'NOT_CONNECTED' ? new UsageError(`--connection: ${(err as Error).message}`) : err;
      });
    }
    return await resolveCredentials(flags, env);
  } catch (err) {
    throw toUsage(err);
  }
}

/**
 * Creates a client for `credentials` with a token store for refresh-token logins. Options (apiVersion, fetch,
 * governor, …) pass through; a malformed option is a {@link UsageError}.
 */
export function clientFor(credentials: Credentials, env: NodeJS.ProcessEnv, opts: Omit<SalesforceClientOptions, 'credentials'> = {}): SalesforceClient {
  const tokenStore = credentials.kind === 'refreshToken' ? new FileTokenStore({ env }) : undefined;
  const logging = opts.logger ? {} : clientLogger({}, env);
  try {
    return new SalesforceClient({ tokenStore, ...logging, ...opts, credentials });
  } catch (err) {
    throw toUsage(err);
  }
}

/** Credentials from flags and env, then a client (see {@link clientFor}). */
export async function clientFromFlags(flags: Record<string, unknown>, env: NodeJS.ProcessEnv, opts: Omit<SalesforceClientOptions, 'credentials'> = {}): Promise<SalesforceClient> {
  return clientFor(await credentialsFromFlags(flags, env), env, { ...(opts.logger ? {} : clientLogger(flags, env)), ...opts });
}

/** The flags `--pubsub-endpoint`, `--pubsub-plaintext` and `--pubsub-ca` (for every command that uses Pub/Sub). */
export const PUBSUB_FLAG_OPTIONS = {
  'pubsub-endpoint': { type: 'string' },
  'pubsub-plaintext': { type: 'boolean' },
  'pubsub-ca': { type: 'string' },
} as const;

/** The Pub/Sub settings the flags and `SF_PUBSUB_*` give (flags win key by key). */
export function pubsubSettingsOf(values: Record<string, unknown>, env: NodeJS.ProcessEnv): PubSubSettings {
  const plaintext = Boolean(values['pubsub-plaintext']) || env.SF_PUBSUB_PLAINTEXT === '1' || env.SF_PUBSUB_PLAINTEXT === 'true';
  return {
    endpoint: (values['pubsub-endpoint'] as string | undefined) || env.SF_PUBSUB_ENDPOINT || undefined,
    ...(plaintext ? { plaintext } : {}),
    ...((values['pubsub-ca'] as string | undefined) || env.SF_PUBSUB_CA ? { ca: (values['pubsub-ca'] as string | undefined) || env.SF_PUBSUB_CA } : {}),
  };
}

/** The transport the flags and `SF_PUBSUB_*` name explicitly, or undefined; a bad value is a usage error. */
export async function explicitPubsubTransport(values: Record<string, unknown>, env: NodeJS.ProcessEnv): Promise<PubSubTransport | undefined> {
  const settings = pubsubSettingsOf(values, env);
  if (!settings.endpoint) settings.endpoint = settings.plaintext || settings.ca ? DEFAULT_PUBSUB_ENDPOINT : undefined;
  try {
    return await pubsubTransportOf(settings, 'pubsub');
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/^pubsub\.endpoint/, '--pubsub-endpoint').replace(/^pubsub\.ca/, '--pubsub-ca').replace(/leave it out with plaintext/, 'leave it out with --pubsub-plaintext'));
  }
}

/**
 * The Pub/Sub API a command's client talks to: the `--pubsub-*` flags and `SF_PUBSUB_*`, else the `pubsub:`
 * setting of `--connection NAME`; undefined when neither names one (the client then decides by the org's
 * host, see client/pubsub/endpoint.ts).
 */
export async function pubsubFromFlags(flags: Record<string, unknown>, env: NodeJS.ProcessEnv): Promise<PubSubTransport | undefined> {
  const explicit = await explicitPubsubTransport(flags, env);
  if (explicit || !(typeof flags.connection === 'string' && flags.connection !== '')) return explicit;
  const { namedPubSub } = await import('../engine/connections/named.ts');
  const settings = await namedPubSub(flags.connection, { env, configFile: typeof flags.config === 'string' ? flags.config : undefined, storeUrl: typeof flags.store === 'string' ? flags.store : undefined }).catch(() => undefined);
  try {
    return await pubsubTransportOf(settings, `connection ${flags.connection}: pubsub`);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

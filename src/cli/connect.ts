/**
 * From connection flags (and `SF_*` environment) to a client, the same way for every command: a setting that
 * cannot work (no credentials, a malformed `--api-version`) is a usage error (exit 2) naming the fix, and a
 * refresh-token login saves rotated refresh tokens (FileTokenStore) so the next run can still log in.
 */
import { resolveCredentials } from '../client/config.ts';
import { SfClientError } from '../client/errors.ts';
import { SalesforceClient, type Credentials, type SalesforceClientOptions } from '../client/index.ts';
import { FileTokenStore } from '../client/token-store.ts';
import { UsageError } from './args.ts';

/** The client's configuration errors become usage errors; anything else is returned as is. */
function toUsage(err: unknown): unknown {
  return err instanceof SfClientError && err.code === 'CONFIG_ERROR' ? new UsageError(err.message) : err;
}

/** Resolves credentials from flags and env; a missing or contradictory setting is a {@link UsageError}. */
export async function credentialsFromFlags(flags: Record<string, unknown>, env: NodeJS.ProcessEnv): Promise<Credentials> {
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
  try {
    return new SalesforceClient({ tokenStore, ...opts, credentials });
  } catch (err) {
    throw toUsage(err);
  }
}

/** Credentials from flags and env, then a client (see {@link clientFor}). */
export async function clientFromFlags(flags: Record<string, unknown>, env: NodeJS.ProcessEnv, opts: Omit<SalesforceClientOptions, 'credentials'> = {}): Promise<SalesforceClient> {
  return clientFor(await credentialsFromFlags(flags, env), env, opts);
}

/**
 * Connection settings from CLI flags and environment, in one function every command reuses. A flag wins over
 * its environment variable; the flow is chosen from what is present (see {@link resolveCredentials}).
 */
import { readFile } from 'node:fs/promises';
import { DEFAULT_LOGIN_URL, parseSfdxAuthUrl, type Credentials } from './auth.ts';
import { ConfigError } from './errors.ts';

/** Connection settings by name. */
export interface ConnectionSettings {
  instanceUrl?: string;
  loginUrl?: string;
  clientId?: string;
  clientSecret?: string;
  username?: string;
  password?: string;
  /** PEM text or a path to a PEM file. */
  jwtKey?: string;
  authUrl?: string;
  accessToken?: string;
}

type Key = keyof ConnectionSettings;

/** Flag name and env variable of each setting. */
export const CONNECTION_SETTINGS: Readonly<Record<Key, { flag: string; env: string }>> = Object.freeze({
  instanceUrl: { flag: 'instance-url', env: 'SF_INSTANCE_URL' },
  loginUrl: { flag: 'login-url', env: 'SF_LOGIN_URL' },
  clientId: { flag: 'client-id', env: 'SF_CLIENT_ID' },
  clientSecret: { flag: 'client-secret', env: 'SF_CLIENT_SECRET' },
  username: { flag: 'username', env: 'SF_USERNAME' },
  password: { flag: 'password', env: 'SF_PASSWORD' },
  jwtKey: { flag: 'jwt-key', env: 'SF_JWT_KEY' },
  authUrl: { flag: 'auth-url', env: 'SF_AUTH_URL' },
  accessToken: { flag: 'access-token', env: 'SF_ACCESS_TOKEN' },
});

/** `parseArgs` option definitions for the connection flags (spread into a command's options). */
export const CONNECTION_FLAG_OPTIONS = Object.freeze(
  Object.fromEntries([...Object.values(CONNECTION_SETTINGS).map(({ flag }) => flag), 'connection', 'log-level'].map((flag) => [flag, { type: 'string' as const }])),
) as Readonly<Record<string, { type: 'string' }>>;

/** Usage text for the connection flags. */
export const CONNECTION_USAGE = `Connection (flags override environment variables):
  --connection NAME       a named connection (config file connections:, or sfbridge connections add)
  --auth-url URL          SFDX auth URL force://id:secret:refresh@host      SF_AUTH_URL
  --access-token TOKEN    an existing session (with --instance-url)          SF_ACCESS_TOKEN
  --jwt-key FILE|PEM      JWT bearer: key, --client-id, --username          SF_JWT_KEY
  --username, --password  username-password flow (+ client id/secret)       SF_USERNAME, SF_PASSWORD
  --client-id, --client-secret  connected app consumer key/secret          SF_CLIENT_ID, SF_CLIENT_SECRET
  --instance-url URL      My Domain URL (client credentials, access token)  SF_INSTANCE_URL
  --login-url URL         login host (default ${DEFAULT_LOGIN_URL})   SF_LOGIN_URL
  --log-level L           warn (default: retries as they happen), info (every request), debug (+ headers,
                          redacted)                                          SFBRIDGE_LOG_LEVEL`;

/** Reads settings from flag values (keyed by flag name, as parseArgs returns them) and env; flags win. */
export function readSettings(flags: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): { merged: ConnectionSettings; fromFlags: ConnectionSettings } {
  const merged: ConnectionSettings = {};
  const fromFlags: ConnectionSettings = {};
  for (const [key, { flag, env: name }] of Object.entries(CONNECTION_SETTINGS) as Array<[Key, { flag: string; env: string }]>) {
    const f = flags[flag];
    const value = typeof f === 'string' && f !== '' ? f : env[name] || undefined;
    if (typeof f === 'string' && f !== '') fromFlags[key] = f;
    if (value !== undefined) merged[key] = value;
  }
  return { merged, fromFlags };
}

type Flow = 'authUrl' | 'accessToken' | 'jwt' | 'password' | 'clientCredentials';

function flowOf(s: ConnectionSettings): Flow | undefined {
  if (s.authUrl) return 'authUrl';
  if (s.accessToken) return 'accessToken';
  if (s.jwtKey) return 'jwt';
  if (s.password) return 'password';
  if (s.clientSecret) return 'clientCredentials';
  return undefined;
}

/**
 * Resolves credentials. The flow follows the first of: auth URL, access token, JWT key, password, client
 * secret — taken from the flags when they name a flow (so `--access-token` beats an `SF_AUTH_URL` in the
 * environment), otherwise from flags and env together. Missing pieces raise a {@link ConfigError} naming them.
 */
export async function resolveCredentials(flags: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): Promise<Credentials> {
  const { merged: s, fromFlags } = readSettings(flags, env);
  const flow = flowOf(fromFlags) ?? flowOf(s);
  const need = (keys: Key[], what: string) => {
    const missing = keys.filter((k) => !s[k]);
    if (missing.length) throw new ConfigError(`${what} needs ${missing.map((k) => `--${CONNECTION_SETTINGS[k].flag} (or ${CONNECTION_SETTINGS[k].env})`).join(' and ')}`);
  };
  switch (flow) {
    case 'authUrl':
      return parseSfdxAuthUrl(s.authUrl!);
    case 'accessToken':
      need(['instanceUrl'], 'an access token');
      return { kind: 'accessToken', accessToken: s.accessToken!, instanceUrl: checkUrl(s.instanceUrl!, 'instance-url') };
    case 'jwt':
      need(['clientId', 'username'], 'the JWT bearer flow');
      return { kind: 'jwt', clientId: s.clientId!, username: s.username!, privateKey: await loadPem(s.jwtKey!), loginUrl: checkUrl(s.loginUrl ?? s.instanceUrl ?? DEFAULT_LOGIN_URL, 'login-url') };
    case 'password':
      need(['username', 'clientId', 'clientSecret'], 'the username-password flow');
      return { kind: 'password', username: s.username!, password: s.password!, clientId: s.clientId!, clientSecret: s.clientSecret!, loginUrl: checkUrl(s.loginUrl ?? s.instanceUrl ?? DEFAULT_LOGIN_URL, 'login-url') };
    case 'clientCredentials': {
      need(['clientId'], 'the client credentials flow');
      const url = s.instanceUrl ?? s.loginUrl;
      if (!url) throw new ConfigError('the client credentials flow needs --instance-url (or SF_INSTANCE_URL): the org\'s My Domain URL, e.g. https://acme.my.salesforce.com');
      return { kind: 'clientCredentials', clientId: s.clientId!, clientSecret: s.clientSecret!, instanceUrl: checkUrl(url, 'instance-url') };
    }
    default:
      throw new ConfigError(`no Salesforce credentials found. Provide one of:\n${CONNECTION_USAGE}`);
  }
}

function checkUrl(value: string, flag: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new ConfigError(`--${flag} must be a URL like https://acme.my.salesforce.com, got "${value}"`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new ConfigError(`--${flag} must be an https URL, got "${value}"`);
  return u.origin;
}

async function loadPem(value: string): Promise<string> {
  if (value.includes('-----BEGIN')) return value.replace(/\\n/g, '\n');
  try {
    return await readFile(value, 'utf8');
  } catch (err) {
    throw new ConfigError(`--jwt-key: cannot read key file ${value} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); pass the PEM file or its contents`);
  }
}

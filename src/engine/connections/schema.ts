/**
 * The connection model: one zod schema per kind of login, shared by the config file (`connections:`), the
 * HTTP API and `sfbridge connections add`. Keys are snake_case, as in the rest of sfbridge.yaml.
 *
 * ```yaml
 * connections:
 *   prod:    { kind: client_credentials, instance_url: https://acme.my.salesforce.com, client_id: …, client_secret: ${SF_SECRET} }
 *   uat:     { kind: jwt, login_url: https://test.salesforce.com, client_id: …, username: int@acme.uat, private_key: ./server.key }
 *   dev:     { kind: sfdx, auth_url: ${SF_AUTH_URL} }
 *   partner: { kind: web, login_url: https://login.salesforce.com, client_id: …, client_secret: … }   # then "Grant access"
 * ```
 */
import { parseProxyUrl } from '../../client/proxy.ts';
import { z } from 'zod';

const httpsUrl = z
  .string()
  .refine((v) => {
    try {
      const u = new URL(v);
      return u.protocol === 'https:' || u.protocol === 'http:';
    } catch {
      return false;
    }
  }, 'must be a URL such as https://acme.my.salesforce.com')
  .transform((v) => new URL(v).origin);

const budget = z
  .strictObject({
    run_share: z.number().gt(0).max(1).optional().describe('fraction of the calls remaining at a run\'s start that one run may use (default 0.25)'),
    org_ceiling: z.number().gt(0).max(1).optional().describe('fraction of the daily allocation the org may reach (default 0.8)'),
    on_ceiling: z.enum(['throw', 'pause']).optional(),
    long_requests: z.number().int().min(1).max(1000).optional().describe('requests that may run long (query pages, Composite, Bulk) in flight at once for this org, across every run and worker (default 20; Salesforce refuses more than 25 running 20 s or longer, Developer Edition 5)'),
  })
  .describe('API budget for every run on this connection');

/** An HTTP proxy URL; checked here so a typo fails when the connection is saved, not at the first call. */
export const proxyUrl = z.string().superRefine((v, ctx) => {
  try {
    parseProxyUrl(v, 'proxy');
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message.replace(/^proxy: /, '') });
    return;
  }
  // Connection settings are returned by the API and kept unsealed; the password has its own sealed field.
  if (new URL(v).password) ctx.addIssue({ code: 'custom', message: 'put the proxy password in proxy_password (write-only, sealed at rest), not in the URL: proxy: http://user@host:port' });
});

/** Where the connection's Pub/Sub API is (see client/pubsub/endpoint.ts for the default). */
const pubsub = z
  .strictObject({
    endpoint: z.string().regex(/^[^\s/:]+:\d{1,5}$/, 'HOST:PORT, like api.pubsub.salesforce.com:7443 or 127.0.0.1:7443').describe('HOST:PORT of the Pub/Sub API'),
    plaintext: z.boolean().optional().describe('no TLS (the emulator\'s default Pub/Sub port)'),
    ca: z.string().min(1).optional().describe('PEM certificate to trust (its text or a file path), e.g. the emulator\'s --tls-cert'),
  })
  .refine((p) => !(p.plaintext && p.ca), { message: 'ca trusts a TLS certificate; leave it out with plaintext: true', path: ['ca'] })
  .describe('the Pub/Sub API (gRPC) for events; default: Salesforce\'s api.pubsub.salesforce.com:7443 for orgs on Salesforce hosts, none otherwise');

const common = {
  api_version: z.string().regex(/^\d+\.\d$/, 'must look like 62.0').optional(),
  proxy: proxyUrl.optional().describe('HTTP proxy for this connection, e.g. http://proxy.corp:3128 or http://user@proxy.corp:3128 (default: HTTPS_PROXY/HTTP_PROXY; NO_PROXY is honoured)'),
  proxy_password: z.string().min(1).optional().describe('password for the proxy user named in proxy; write-only'),
  budget: budget.optional(),
  pubsub: pubsub.optional(),
  description: z.string().max(500).optional(),
};

export const clientCredentialsConnection = z
  .strictObject({
    kind: z.literal('client_credentials'),
    instance_url: httpsUrl.optional().describe('My Domain URL, e.g. https://acme.my.salesforce.com'),
    domain: z.string().regex(/^[A-Za-z0-9.-]+$/, 'a My Domain name such as acme (for acme.my.salesforce.com)').optional().describe('My Domain name, instead of instance_url'),
    client_id: z.string().min(1),
    client_secret: z.string().min(1).optional().describe('write-only'),
    ...common,
  })
  .meta({ id: 'ClientCredentialsConnection' });

export const jwtConnection = z
  .strictObject({
    kind: z.literal('jwt'),
    login_url: httpsUrl.default('https://login.salesforce.com'),
    client_id: z.string().min(1),
    username: z.string().min(1),
    private_key: z.string().min(1).optional().describe('PEM text or a path to the PEM file; write-only'),
    ...common,
  })
  .meta({ id: 'JwtConnection' });

export const sfdxConnection = z
  .strictObject({
    kind: z.literal('sfdx'),
    auth_url: z.string().regex(/^force:\/\//, 'an SFDX auth URL force://<clientId>:<secret>:<refreshToken>@<host> (sf org display --verbose)').optional().describe('write-only'),
    ...common,
  })
  .meta({ id: 'SfdxConnection' });

export const webConnection = z
  .strictObject({
    kind: z.literal('web'),
    login_url: httpsUrl.default('https://login.salesforce.com'),
    client_id: z.string().min(1),
    client_secret: z.string().min(1).optional().describe('write-only; may be omitted when the connected app does not require it with PKCE'),
    scope: z.string().default('api refresh_token id').describe('OAuth scopes asked for on Grant access'),
    ...common,
  })
  .meta({ id: 'WebConnection' });

export const passwordConnection = z
  .strictObject({
    kind: z.literal('password'),
    login_url: httpsUrl.default('https://login.salesforce.com'),
    client_id: z.string().min(1),
    client_secret: z.string().min(1).optional().describe('write-only'),
    username: z.string().min(1),
    password: z.string().min(1).optional().describe('password with the security token appended if the org needs one; write-only'),
    ...common,
  })
  .meta({ id: 'PasswordConnection' });

/** Any connection, by `kind`. */
export const connectionSchema = z.discriminatedUnion('kind', [clientCredentialsConnection, jwtConnection, sfdxConnection, webConnection, passwordConnection]).meta({ id: 'Connection' });

export type ConnectionSpec = z.output<typeof connectionSchema>;
export type ConnectionKind = ConnectionSpec['kind'];
export const CONNECTION_KINDS: readonly ConnectionKind[] = ['client_credentials', 'jwt', 'sfdx', 'web', 'password'];

/** Fields that are secrets: never returned, never logged, sealed at rest. */
export const SECRET_FIELDS = ['client_secret', 'private_key', 'auth_url', 'password', 'proxy_password'] as const;
export type SecretField = (typeof SECRET_FIELDS)[number];

/** Secrets each kind needs before it can log in (web also needs a granted refresh token). */
export const REQUIRED_SECRETS: Record<ConnectionKind, readonly SecretField[]> = {
  client_credentials: ['client_secret'],
  jwt: ['private_key'],
  sfdx: ['auth_url'],
  web: [],
  password: ['client_secret', 'password'],
};

/** The proxy URL a connection's calls use: its `proxy` with the sealed `proxy_password` put back in. */
export function connectionProxy(spec: { proxy?: string }, secrets: { proxy_password?: string }): string | undefined {
  if (!spec.proxy) return undefined;
  if (!secrets.proxy_password) return spec.proxy;
  const u = new URL(spec.proxy);
  u.password = secrets.proxy_password;
  return u.toString().replace(/\/$/, '');
}

/** Connection names: used in URLs, flags and metrics labels. */
export const connectionName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'a name of letters, digits, _ . - (at most 63 characters)');

/** What the API returns for a connection: settings without secrets, which secrets are set, and its status. */
/** Why a connection's pipelines are held, and what ends it. */
export const heldView = z
  .object({
    reason: z.enum(['auth', 'budget', 'pubsub']).describe('auth: login or token refresh refused; budget: the org\'s API ceiling or limit; pubsub: the Pub/Sub API refused the session'),
    code: z.string(),
    message: z.string(),
    since: z.string(),
    until: z.string().nullable().describe('when runs try again by themselves (budget); null: only fixing the connection ends it'),
    ends: z.string().describe('what ends the hold'),
    pipeline: z.string().describe('the pipeline whose run met the refusal'),
    run_id: z.number().int().nullable(),
  })
  .meta({ id: 'Held' });

export const connectionView = z
  .object({
    name: z.string(),
    kind: z.enum(['client_credentials', 'jwt', 'sfdx', 'web', 'password']),
    source: z.enum(['config', 'api']).describe('config: defined in the config file, read-only here'),
    read_only: z.boolean(),
    settings: z.record(z.string(), z.unknown()).describe('the connection without its secrets'),
    secrets_set: z.array(z.string()).describe('names of the write-only fields that hold a value'),
    status: z.enum(['ready', 'incomplete', 'not_connected', 'connected', 'error']),
    status_message: z.string().optional(),
    user: z.object({ username: z.string().optional(), display_name: z.string().optional(), user_id: z.string().optional() }).optional(),
    org_id: z.string().optional(),
    instance_url: z.string().optional(),
    connected_at: z.string().optional(),
    callback_url: z.string().optional().describe('web connections: the callback URL to register in the connected app'),
    created_at: z.string().optional(),
    updated_at: z.string().optional(),
    held: heldView.optional().describe("present while the connection's pipelines are held after an org-level refusal"),
  })
  .meta({ id: 'ConnectionView' });
export type ConnectionView = z.infer<typeof connectionView>;

/**
 * The kind a legacy `connection:` block (flag-style keys, as `sfbridge sync` reads it) describes, as a
 * connection spec; throws naming what is missing.
 */
export function specFromLegacyBlock(block: Record<string, string | undefined>): Record<string, unknown> {
  const v = (k: string) => (block[k] ? block[k] : undefined);
  const base = { api_version: v('api_version'), ...(v('proxy') ? { proxy: v('proxy') } : {}) };
  if (v('auth_url')) return { kind: 'sfdx', auth_url: v('auth_url'), ...base };
  if (v('jwt_key')) return { kind: 'jwt', login_url: v('login_url') ?? v('instance_url'), client_id: v('client_id'), username: v('username'), private_key: v('jwt_key'), ...base };
  if (v('password')) return { kind: 'password', login_url: v('login_url') ?? v('instance_url'), client_id: v('client_id'), client_secret: v('client_secret'), username: v('username'), password: v('password'), ...base };
  if (v('client_secret')) return { kind: 'client_credentials', instance_url: v('instance_url') ?? v('login_url'), client_id: v('client_id'), client_secret: v('client_secret'), ...base };
  if (v('access_token')) throw new Error('connection: an access token cannot log in again when it expires, so a long-running service cannot use it; give client_id + client_secret, a JWT key, or an SFDX auth URL');
  throw new Error('connection: no credentials (give auth_url, jwt_key, password or client_secret with client_id)');
}

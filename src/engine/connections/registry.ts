/**
 * Named connections from two places: the config file (read-only, config as code) and the service's store
 * (created through the API or `sfbridge connections add`). Secrets are sealed (AES-256-GCM) before they
 * reach the store and are only ever unsealed to build a client; every view of a connection leaves them out.
 *
 * A `web` connection's refresh token comes from "Grant access" and is kept in the store even when the
 * connection itself is defined in the config file: the file names the connected app, the grant is state.
 */
import { createHash, createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseSfdxAuthUrl, type Credentials, type Session } from '../../client/auth.ts';
import { defaultStateDir, type StoredToken, type TokenStore } from '../../client/token-store.ts';
import { loadOrCreateKey, seal, unseal, type SealedBox } from '../../client/secret-key.ts';
import { Authenticator, MemoryDescribeCache, SalesforceClient, Transport, type DescribeCache, type FetchLike, type GovernorOptions, type SharedBudget, pubsubTransportOf, type PubSubSettings, type PubSubTransport, type SharedLongSlots } from '../../client/index.ts';
import { DEFAULT_LONG_REQUESTS } from '../jobs/long-requests.ts';
import type { ConnectionRow, JsonObject, ServiceState } from '../../store/index.ts';
import type { ServiceEvents } from '../events.ts';
import { connectionProxy, connectionSchema, REQUIRED_SECRETS, SECRET_FIELDS, type ConnectionSpec, type ConnectionView, type SecretField } from './schema.ts';

/** Env variable holding the 32-byte key that seals connection secrets (base64 or hex). */
export const SECRET_KEY_ENV = 'SFBRIDGE_SECRET_KEY';

/** Default key file when {@link SECRET_KEY_ENV} is unset: `<state dir>/secret.key` (0600). */
export function defaultSecretKeyPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(defaultStateDir(env), 'secret.key');
}

/** A bad or unknown connection; `status` is the HTTP status the API answers with. */
export class ConnectionError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(code: string, status: number, message: string) {
    super(message);
    this.name = 'ConnectionError';
    this.code = code;
    this.status = status;
  }
}

/** Seals and unseals JSON with the service key. */
export class SecretBox {
  readonly #key: Uint8Array;
  constructor(key: Uint8Array) {
    this.#key = key;
  }
  /** The key from `SFBRIDGE_SECRET_KEY`, or the key file (created 0600 on first use). */
  static async load(opts: { env?: NodeJS.ProcessEnv; keyPath?: string } = {}): Promise<SecretBox> {
    const env = opts.env ?? process.env;
    return new SecretBox(await loadOrCreateKey({ envVar: SECRET_KEY_ENV, path: opts.keyPath ?? defaultSecretKeyPath(env), env }));
  }
  seal(value: JsonObject): string {
    return JSON.stringify(seal(this.#key, JSON.stringify(value)));
  }
  unseal(text: string): JsonObject {
    try {
      return JSON.parse(unseal(this.#key, JSON.parse(text) as SealedBox).toString('utf8')) as JsonObject;
    } catch (err) {
      throw new ConnectionError('SECRET_KEY_MISMATCH', 500, `cannot decrypt stored connection secrets: the key changed (${SECRET_KEY_ENV} or ${defaultSecretKeyPath()}); restore the key they were sealed with, or add the connection's secrets again (${(err as Error).message})`);
    }
  }
  /** An HMAC-style key derived for another purpose (signing OAuth state, cookies). */
  derive(purpose: string): Uint8Array {
    // A keyed SHA-256 over a label gives independent keys per purpose without exposing the sealing key.
    return new Uint8Array(createHmac('sha256', this.#key).update(`sfbridge:${purpose}`).digest());
  }
}

/** The grant a `web` connection got from Salesforce. */
export interface Grant {
  refreshToken: string;
  instanceUrl: string;
  user: { username?: string; display_name?: string; user_id?: string };
  orgId?: string;
  connectedAt: string;
}

interface Resolved {
  name: string;
  source: 'config' | 'api';
  spec: ConnectionSpec;
  /** Secret values (from the file, or unsealed from the store). */
  secrets: Partial<Record<SecretField | 'refresh_token', string>>;
  row: ConnectionRow | undefined;
}

export interface ConnectionsOptions {
  state: ServiceState;
  box: SecretBox;
  /** Connections from the config file, already validated, secrets in place. */
  fromConfig?: Record<string, ConnectionSpec>;
  events?: ServiceEvents;
  fetch?: FetchLike;
  /** Base URL of the service, for the callback URL shown on web connections. */
  publicUrl?: () => string | undefined;
  /** The fleet's shared API budget of an org (by org id), when many processes call it. */
  sharedBudget?: (org: string) => SharedBudget;
  /** The long-running request slots of an org (by org id), shared by every run of this process or fleet. */
  longRequests?: (org: string, cap: number) => SharedLongSlots;
  /** Called after a connection was created, replaced, removed or granted access (anything that may fix it). */
  onChanged?: (name: string) => void;
}

/** Options for a run's client. */
export interface ClientRequest {
  governor?: GovernorOptions;
  signal?: AbortSignal;
}

const orgOf = (session: Session | undefined): string | undefined => session?.identityUrl?.split('/').at(-2);

/** The connections of one service (or one CLI invocation). */
export class Connections {
  readonly #state: ServiceState;
  readonly #box: SecretBox;
  readonly #config: Record<string, ConnectionSpec>;
  readonly #events: ServiceEvents | undefined;
  readonly #fetch: FetchLike | undefined;
  readonly #publicUrl: () => string | undefined;
  /** One authenticator and describe cache per connection, so runs share the session and describes. */
  readonly #auth = new Map<string, { fingerprint: string; auth: Authenticator; describes: DescribeCache; checked: boolean }>();

  constructor(opts: ConnectionsOptions) {
    this.#state = opts.state;
    this.#box = opts.box;
    // Parsed again so defaults apply whoever built the specs (parsing a parsed spec changes nothing).
    this.#config = Object.fromEntries(Object.entries(opts.fromConfig ?? {}).map(([k, v]) => [k, connectionSchema.parse(v)]));
    this.#events = opts.events;
    this.#fetch = opts.fetch;
    this.#publicUrl = opts.publicUrl ?? (() => undefined);
    this.#sharedBudget = opts.sharedBudget;
    this.#onChanged = opts.onChanged ?? (() => undefined);
    this.#longRequests = opts.longRequests;
  }

  readonly #longRequests: ((org: string, cap: number) => SharedLongSlots) | undefined;

  readonly #onChanged: (name: string) => void;

  /**
   * A digest of what a connection logs in with (its settings and secrets): it changes when the connection
   * is fixed, whether through the API, Grant access, or an edited config file and a restart.
   */
  async revision(name: string): Promise<string | undefined> {
    const r = await this.#resolve(name);
    if (!r) return undefined;
    const secrets = Object.fromEntries(Object.entries(r.secrets).sort(([a], [b]) => a.localeCompare(b)));
    return createHash('sha256').update(JSON.stringify([r.spec, secrets])).digest('base64url').slice(0, 22);
  }

  readonly #sharedBudget: ((org: string) => SharedBudget) | undefined;

  /** Names defined in the config file. */
  get configNames(): string[] {
    return Object.keys(this.#config);
  }

  async #resolve(name: string): Promise<Resolved | undefined> {
    const row = await this.#state.getConnection(name);
    const fileSpec = this.#config[name];
    if (fileSpec) {
      const secrets: Resolved['secrets'] = {};
      for (const f of SECRET_FIELDS) {
        const v = (fileSpec as Record<string, unknown>)[f];
        if (typeof v === 'string') secrets[f] = v;
      }
      const stored = row?.secrets ? this.#box.unseal(row.secrets) : {};
      if (typeof stored.refresh_token === 'string') secrets.refresh_token = stored.refresh_token;
      return { name, source: 'config', spec: fileSpec, secrets, row };
    }
    if (!row) return undefined;
    const spec = connectionSchema.parse(row.settings);
    const secrets = (row.secrets ? this.#box.unseal(row.secrets) : {}) as Resolved['secrets'];
    return { name, source: 'api', spec, secrets, row };
  }

  async #mustResolve(name: string): Promise<Resolved> {
    const r = await this.#resolve(name);
    if (!r) {
      const names = (await this.list()).map((c) => c.name);
      throw new ConnectionError('CONNECTION_NOT_FOUND', 404, `connection "${name}" does not exist${names.length ? ` (connections: ${names.join(', ')})` : ''}; add it in the config file under connections:, or with sfbridge connections add ${name} …`);
    }
    return r;
  }

  #view(r: Resolved): ConnectionView {
    const settings: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(r.spec)) if (!(SECRET_FIELDS as readonly string[]).includes(k) && v !== undefined) settings[k] = v;
    const secretsSet = SECRET_FIELDS.filter((f) => r.secrets[f]);
    const info = (r.row?.info ?? {}) as Record<string, unknown>;
    const missing = REQUIRED_SECRETS[r.spec.kind].filter((f) => !r.secrets[f]);
    let status: ConnectionView['status'];
    let message: string | undefined;
    if (missing.length) {
      status = 'incomplete';
      message = `missing ${missing.join(', ')}`;
    } else if (r.spec.kind === 'web' && !r.secrets.refresh_token) {
      status = 'not_connected';
      message = 'not connected yet: use Grant access';
    } else if (r.row?.status === 'error') {
      status = 'error';
      message = typeof info.error === 'string' ? info.error : undefined;
    } else if (r.row?.status === 'connected' || r.secrets.refresh_token) {
      status = 'connected';
    } else {
      status = 'ready';
    }
    const base = this.#publicUrl();
    return {
      name: r.name,
      kind: r.spec.kind,
      source: r.source,
      read_only: r.source === 'config',
      settings,
      secrets_set: [...secretsSet, ...(r.secrets.refresh_token ? ['refresh_token'] : [])],
      status,
      ...(message ? { status_message: message } : {}),
      ...(info.user ? { user: info.user as ConnectionView['user'] } : {}),
      ...(typeof info.org_id === 'string' ? { org_id: info.org_id } : {}),
      ...(typeof info.instance_url === 'string' ? { instance_url: info.instance_url } : {}),
      ...(typeof info.connected_at === 'string' ? { connected_at: info.connected_at } : {}),
      ...(r.spec.kind === 'web' && base ? { callback_url: `${base}/oauth/callback` } : {}),
      ...(r.source === 'api' && r.row ? { created_at: r.row.createdAt, updated_at: r.row.updatedAt } : {}),
    };
  }

  /** Every connection: config file ones first, then stored ones. */
  async list(): Promise<ConnectionView[]> {
    const rows = await this.#state.listConnections();
    const out: ConnectionView[] = [];
    for (const name of Object.keys(this.#config)) out.push(this.#view((await this.#resolve(name))!));
    for (const row of rows) if (!this.#config[row.name]) out.push(this.#view((await this.#resolve(row.name))!));
    return out;
  }

  async get(name: string): Promise<ConnectionView | undefined> {
    const r = await this.#resolve(name);
    return r && this.#view(r);
  }

  /** The connection's kind and settings (with secrets) for code that needs them, e.g. Grant access. */
  async spec(name: string): Promise<{ spec: ConnectionSpec; secrets: Resolved['secrets']; source: 'config' | 'api' }> {
    const r = await this.#mustResolve(name);
    return { spec: r.spec, secrets: r.secrets, source: r.source };
  }

  /**
   * Creates or replaces a stored connection. Secret fields left out keep their stored value (they are
   * write-only: a client that read the connection cannot send them back), an empty string clears one.
   */
  async put(name: string, input: unknown): Promise<{ view: ConnectionView; created: boolean }> {
    if (this.#config[name]) throw new ConnectionError('READ_ONLY', 409, `connection "${name}" is defined in the config file and is read-only here; change it in the file (or pick another name)`);
    const parsed = connectionSchema.safeParse(input);
    if (!parsed.success) {
      const i = parsed.error.issues[0];
      throw new ConnectionError('INVALID_CONNECTION', 400, `${i.path.join('.') || 'connection'}: ${i.message}`);
    }
    const spec = parsed.data;
    if (spec.kind === 'client_credentials' && !spec.instance_url && !spec.domain) throw new ConnectionError('INVALID_CONNECTION', 400, 'instance_url: the client credentials flow needs the org\'s My Domain URL (instance_url: https://acme.my.salesforce.com) or its name (domain: acme)');
    const existing = await this.#state.getConnection(name);
    const old = (existing?.secrets ? this.#box.unseal(existing.secrets) : {}) as Record<string, string>;
    const secrets: Record<string, string> = {};
    for (const f of SECRET_FIELDS) {
      const v = (spec as Record<string, unknown>)[f];
      if (typeof v === 'string' && v !== '') secrets[f] = v;
      else if (v === undefined && old[f] && existing?.kind === spec.kind) secrets[f] = old[f];
      delete (spec as Record<string, unknown>)[f];
    }
    // A grant belongs to one connected app: keep it only while kind, login host and client id stay the same.
    const prevSpec = existing ? (existing.settings as Record<string, unknown>) : undefined;
    if (old.refresh_token && spec.kind === 'web' && prevSpec?.client_id === spec.client_id && prevSpec?.login_url === spec.login_url) secrets.refresh_token = old.refresh_token;
    const keepInfo = Boolean(secrets.refresh_token) || (existing && JSON.stringify(prevSpec) === JSON.stringify(spec));
    await this.#state.putConnection({
      name,
      kind: spec.kind,
      settings: spec as unknown as JsonObject,
      secrets: Object.keys(secrets).length ? this.#box.seal(secrets) : null,
      status: keepInfo ? (existing?.status ?? 'ready') : 'ready',
      info: keepInfo ? (existing?.info ?? null) : null,
    });
    this.#auth.delete(name);
    this.#onChanged(name);
    return { view: (await this.get(name))!, created: !existing };
  }

  /** Removes a stored connection; config file connections cannot be removed here. */
  async remove(name: string): Promise<boolean> {
    if (this.#config[name]) throw new ConnectionError('READ_ONLY', 409, `connection "${name}" is defined in the config file; remove it there`);
    this.#auth.delete(name);
    const removed = await this.#state.deleteConnection(name);
    this.#onChanged(name);
    return removed;
  }

  /** Stores the refresh token and identity a Grant access returned. */
  async setGrant(name: string, grant: Grant): Promise<ConnectionView> {
    const r = await this.#mustResolve(name);
    if (r.spec.kind !== 'web') throw new ConnectionError('NOT_WEB', 409, `connection "${name}" is a ${r.spec.kind} connection; Grant access needs kind: web`);
    const secrets: Record<string, string> = {};
    if (r.source === 'api') for (const f of SECRET_FIELDS) if (r.secrets[f]) secrets[f] = r.secrets[f]!;
    secrets.refresh_token = grant.refreshToken;
    await this.#state.putConnection({
      name,
      kind: 'web',
      settings: r.source === 'api' ? (r.spec as unknown as JsonObject) : { kind: 'web', grant_only: true },
      secrets: this.#box.seal(secrets),
      status: 'connected',
      info: { user: grant.user, org_id: grant.orgId ?? null, instance_url: grant.instanceUrl, connected_at: grant.connectedAt } as JsonObject,
    });
    this.#auth.delete(name);
    this.#onChanged(name);
    return (await this.get(name))!;
  }

  /** Forgets a web connection's grant (after revoking it at Salesforce); returns the token that was held. */
  async clearGrant(name: string): Promise<string | undefined> {
    const r = await this.#mustResolve(name);
    const token = r.secrets.refresh_token;
    if (r.source === 'config') {
      await this.#state.deleteConnection(name);
    } else {
      const secrets: Record<string, string> = {};
      for (const f of SECRET_FIELDS) if (r.secrets[f]) secrets[f] = r.secrets[f]!;
      await this.#state.putConnection({ name, kind: r.spec.kind, settings: r.spec as unknown as JsonObject, secrets: Object.keys(secrets).length ? this.#box.seal(secrets) : null, status: 'ready', info: null });
    }
    this.#auth.delete(name);
    return token;
  }

  /** Credentials to log in with; throws naming what is missing. */
  async credentials(name: string): Promise<Credentials> {
    const r = await this.#mustResolve(name);
    const s = r.spec;
    const missing = REQUIRED_SECRETS[s.kind].filter((f) => !r.secrets[f]);
    if (missing.length) throw new ConnectionError('CONNECTION_INCOMPLETE', 409, `connection "${name}" has no ${missing.join(' or ')}: set ${missing.length > 1 ? 'them' : 'it'} (write-only) with PUT /api/v1/connections/${name} or sfbridge connections add ${name} …`);
    switch (s.kind) {
      case 'client_credentials':
        return { kind: 'clientCredentials', instanceUrl: s.instance_url ?? `https://${s.domain!.includes('.') ? s.domain : `${s.domain}.my.salesforce.com`}`, clientId: s.client_id, clientSecret: r.secrets.client_secret! };
      case 'jwt':
        return { kind: 'jwt', loginUrl: s.login_url, clientId: s.client_id, username: s.username, privateKey: await pem(r.secrets.private_key!) };
      case 'sfdx':
        return parseSfdxAuthUrl(r.secrets.auth_url!);
      case 'password':
        return { kind: 'password', loginUrl: s.login_url, clientId: s.client_id, clientSecret: r.secrets.client_secret!, username: s.username, password: r.secrets.password! };
      case 'web':
        if (!r.secrets.refresh_token) throw new ConnectionError('NOT_CONNECTED', 409, `connection "${name}" is not connected yet: open the dashboard and click Grant access (or visit /oauth/authorize/${name})`);
        return { kind: 'refreshToken', loginUrl: s.login_url, clientId: s.client_id, clientSecret: r.secrets.client_secret, refreshToken: r.secrets.refresh_token };
    }
  }

  /**
   * A client for one run: its own API governor (the run share is per run), the connection's shared session
   * and describe cache. Readings of `Sforce-Limit-Info` are reported as `api:usage` events.
   */
  async client(name: string, req: ClientRequest = {}): Promise<SalesforceClient> {
    const r = await this.#mustResolve(name);
    const credentials = await this.credentials(name);
    const fingerprint = JSON.stringify([r.spec, Object.keys(r.secrets).sort(), r.row?.updatedAt]);
    let entry = this.#auth.get(name);
    if (!entry || entry.fingerprint !== fingerprint) {
      const transport = new Transport({ fetch: this.#fetch, proxy: connectionProxy(r.spec, r.secrets) });
      const tokenStore = credentials.kind === 'refreshToken' ? this.#rotationStore(name) : undefined;
      entry = { fingerprint, auth: new Authenticator({ credentials, transport, tokenStore }), describes: new MemoryDescribeCache(), checked: false };
      this.#auth.set(name, entry);
    }
    const b = r.spec.budget;
    const client = new SalesforceClient({
      authenticator: entry.auth,
      fetch: this.#fetch,
      proxy: connectionProxy(r.spec, r.secrets),
      apiVersion: r.spec.api_version,
      describeCache: entry.describes,
      ...(r.spec.pubsub ? { pubsub: await connectionPubSub(name, r.spec.pubsub) } : {}),
      governor: { runShare: b?.run_share, orgCeiling: b?.org_ceiling, onCeiling: b?.on_ceiling, ...req.governor },
    });
    client.governor?.on('reading', (reading) => {
      const org = this.#orgCache.get(name) ?? name;
      this.#events?.emit('api:usage', { connection: name, org, used: reading.used, max: reading.max });
    });
    const session = await client.session(req.signal).catch(async (err: unknown) => {
      await this.#markStatus(name, r, 'error', { error: (err as Error).message });
      throw err;
    });
    const orgId = orgOf(session);
    if (orgId) this.#orgCache.set(name, orgId);
    // Before the run's first call: every process counts this org's calls in one place.
    if (this.#sharedBudget && client.governor) client.governor.shared = this.#sharedBudget(orgId ?? `connection:${name}`);
    // Long-running requests are capped per org, whichever run or worker makes them.
    if (this.#longRequests && client.governor) client.governor.sharedLong = this.#longRequests(orgId ?? `connection:${name}`, b?.long_requests ?? DEFAULT_LONG_REQUESTS);
    if (!entry.checked) {
      entry.checked = true;
      await this.#markStatus(name, r, 'connected', { org_id: orgId ?? null, instance_url: session.instanceUrl });
    }
    return client;
  }

  readonly #orgCache = new Map<string, string>();

  /** The org id a connection logged in to, once known. */
  orgId(name: string): string | undefined {
    return this.#orgCache.get(name);
  }

  async #markStatus(name: string, r: Resolved, status: string, info: Record<string, unknown>): Promise<void> {
    const row = await this.#state.getConnection(name);
    const merged = { ...((row?.info as object) ?? {}), ...info } as JsonObject;
    if (status === 'connected') delete merged.error;
    if (r.source === 'config' && !row) {
      await this.#state.putConnection({ name, kind: r.spec.kind, settings: { kind: r.spec.kind, grant_only: true }, secrets: null, status, info: merged });
      return;
    }
    if (!row) return;
    await this.#state.putConnection({ ...row, status, info: merged });
  }

  /** Keeps rotated refresh tokens of web connections in the store, sealed, so a rotation never locks out. */
  #rotationStore(name: string): TokenStore {
    return {
      get: async () => undefined,
      set: async (_key: string, value: StoredToken) => {
        const row = await this.#state.getConnection(name);
        if (!row) return;
        const secrets = { ...(row.secrets ? this.#box.unseal(row.secrets) : {}), refresh_token: value.refreshToken };
        await this.#state.putConnection({ ...row, secrets: this.#box.seal(secrets) });
      },
    };
  }
}

/** The Pub/Sub transport of a connection's `pubsub:` setting (a certificate file read now). */
async function connectionPubSub(name: string, settings: PubSubSettings): Promise<PubSubTransport> {
  try {
    return (await pubsubTransportOf(settings, 'pubsub'))!;
  } catch (err) {
    throw new ConnectionError('CONNECTION_INCOMPLETE', 409, `connection "${name}": ${(err as Error).message}`);
  }
}

async function pem(value: string): Promise<string> {
  if (value.includes('-----BEGIN')) return value.replace(/\\n/g, '\n');
  try {
    return await readFile(value, 'utf8');
  } catch (err) {
    throw new ConnectionError('CONNECTION_INCOMPLETE', 409, `private_key: cannot read key file ${value} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); give the PEM file's path or its contents`);
  }
}

/**
 * `sfbridge connections add|list|remove`: named connections kept in the service's store (secrets sealed
 * with SFBRIDGE_SECRET_KEY or the key file), usable as `--connection NAME` by every command and by
 * `sfbridge serve`. Connections from the config file are listed too (read-only).
 */
import type { Writable } from 'node:stream';
import { CONNECTION_FLAG_OPTIONS, readSettings } from '../client/config.ts';
import { ConnectionError, Connections, SecretBox } from '../engine/connections/registry.ts';
import { configConnections } from '../engine/connections/named.ts';
import { CONNECTION_KINDS } from '../engine/connections/schema.ts';
import { parseFlags, UsageError } from './args.ts';
import { openServiceStore, redactUrl } from './store-flags.ts';

const USAGE = `Usage: sfbridge connections <add|list|remove> [options]

  sfbridge connections add NAME [--kind KIND] [connection flags] [--store URL]
      KIND: ${CONNECTION_KINDS.join(', ')} (default: from the flags given, as other commands decide)
      client_credentials: --instance-url --client-id --client-secret
      jwt:                --login-url --client-id --username --jwt-key FILE
      sfdx:               --auth-url force://…
      password:           --login-url --client-id --client-secret --username --password
      web:                --login-url --client-id [--client-secret] [--scope "api refresh_token id"]
                          then open the dashboard and click Grant access
      any kind:           [--proxy http://[user@]proxy.corp:3128] (its password from SFBRIDGE_PROXY_PASSWORD)
                          [--pubsub-endpoint HOST:PORT] (the Pub/Sub API for events)
      Secrets may come from SF_CLIENT_SECRET, SF_PASSWORD, SF_JWT_KEY, SF_AUTH_URL instead of flags.
  sfbridge connections list [--json] [--config FILE] [--store URL]
  sfbridge connections remove NAME [--store URL]
`;

export async function connectionsCommand(argv: string[], io: { stdout?: Writable; env?: NodeJS.ProcessEnv } = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const env = io.env ?? process.env;
  const { values, positionals } = parseFlags(argv, { ...CONNECTION_FLAG_OPTIONS, kind: { type: 'string' }, scope: { type: 'string' }, proxy: { type: 'string' }, 'pubsub-endpoint': { type: 'string' }, store: { type: 'string' }, config: { type: 'string', short: 'c' }, json: { type: 'boolean' }, 'api-version': { type: 'string' }, help: { type: 'boolean', short: 'h' } }, USAGE);
  const [action, name, ...extra] = positionals;
  if (values.help || !action) {
    stdout.write(USAGE);
    return values.help ? 0 : 2;
  }
  if (extra.length) throw new UsageError(`unexpected argument "${extra[0]}"\n\n${USAGE}`);
  const { store, url } = await openServiceStore(values.store, env);
  try {
    const fromConfig = values.config ? await configConnections(values.config, env) : {};
    const connections = new Connections({ state: await store.serviceState(), box: await SecretBox.load({ env }), fromConfig });
    switch (action) {
      case 'list': {
        const list = await connections.list();
        if (values.json) {
          stdout.write(`${JSON.stringify(list)}\n`);
          return 0;
        }
        if (!list.length) {
          stdout.write(`no connections in ${redactUrl(url)}; add one with: sfbridge connections add NAME …\n`);
          return 0;
        }
        const rows = list.map((c) => [c.name, c.kind, c.source, c.status, c.user?.username ?? c.org_id ?? '']);
        const header = ['name', 'kind', 'source', 'status', 'user / org'];
        const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
        for (const r of [header, ...rows]) stdout.write(`${r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()}\n`);
        return 0;
      }
      case 'add': {
        if (!name) throw new UsageError(`connections add needs a NAME\n\n${USAGE}`);
        const spec = specFromFlags(values, env);
        const { view, created } = await connections.put(name, spec);
        stdout.write(`connection ${name} (${view.kind}) ${created ? 'added' : 'replaced'} in ${redactUrl(url)}; status: ${view.status}${view.status_message ? ` (${view.status_message})` : ''}\n`);
        if (view.kind === 'web') stdout.write(`next: start sfbridge serve and click Grant access for ${name} (register the callback URL <service URL>/oauth/callback in the connected app)\n`);
        return 0;
      }
      case 'remove': {
        if (!name) throw new UsageError(`connections remove needs a NAME\n\n${USAGE}`);
        if (!(await connections.remove(name))) throw new UsageError(`connection "${name}" does not exist in ${redactUrl(url)}`);
        stdout.write(`connection ${name} removed\n`);
        return 0;
      }
      default:
        throw new UsageError(`unknown action "${action}": use add, list or remove\n\n${USAGE}`);
    }
  } catch (err) {
    if (err instanceof ConnectionError && err.status < 500) throw new UsageError(err.message);
    throw err;
  } finally {
    await store.close();
  }
}

/** The flags (and SF_* env) as a connection spec of the kind asked for, or the kind they describe. */
function specFromFlags(values: Record<string, unknown>, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const { merged: s } = readSettings(values, env);
  const kind = (values.kind as string | undefined) ?? (s.authUrl ? 'sfdx' : s.jwtKey ? 'jwt' : s.password ? 'password' : s.clientSecret && s.instanceUrl ? 'client_credentials' : undefined);
  if (!kind) throw new UsageError(`give --kind (${CONNECTION_KINDS.join(', ')}) or the flags of one flow\n\n${USAGE}`);
  // Settings of every kind: API version, the proxy (its password sealed with the other secrets, never in
  // the URL or on the command line) and the Pub/Sub endpoint; the schema checks each and names the fix.
  const api = {
    ...(values['api-version'] ? { api_version: values['api-version'] } : {}),
    ...(values.proxy ? { proxy: values.proxy } : {}),
    ...(env.SFBRIDGE_PROXY_PASSWORD && values.proxy ? { proxy_password: env.SFBRIDGE_PROXY_PASSWORD } : {}),
    ...(values['pubsub-endpoint'] ? { pubsub: { endpoint: values['pubsub-endpoint'] } } : {}),
  };
  switch (kind) {
    case 'client_credentials':
      return { kind, instance_url: s.instanceUrl ?? s.loginUrl, client_id: s.clientId, client_secret: s.clientSecret, ...api };
    case 'jwt':
      return { kind, login_url: s.loginUrl, client_id: s.clientId, username: s.username, private_key: s.jwtKey, ...api };
    case 'sfdx':
      return { kind, auth_url: s.authUrl, ...api };
    case 'password':
      return { kind, login_url: s.loginUrl, client_id: s.clientId, client_secret: s.clientSecret, username: s.username, password: s.password, ...api };
    case 'web':
      return { kind, login_url: s.loginUrl ?? s.instanceUrl, client_id: s.clientId, client_secret: s.clientSecret, ...(values.scope ? { scope: values.scope } : {}), ...api };
    default:
      throw new UsageError(`--kind must be one of ${CONNECTION_KINDS.join(', ')}, got "${kind}"`);
  }
}

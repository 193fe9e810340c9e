/**
 * Where a connection's Pub/Sub API is, decided one way for every caller (the CLI's `--pubsub-*` flags and
 * `SF_PUBSUB_*`, a connection's `pubsub:` setting, the client's `pubsub` option):
 *
 * - an endpoint that was given (`host:port`, with `plaintext` for a server without TLS and `ca` to trust a
 *   private certificate) is used as it is;
 * - with none given, an org on Salesforce's own hosts (`*.salesforce.com`, `*.force.com`, `*.salesforce.mil`)
 *   uses Salesforce's endpoint {@link DEFAULT_PUBSUB_ENDPOINT} over TLS;
 * - anything else (a local emulator, a proxy in front of an org) has no Pub/Sub API unless one is named.
 */
import { readFile } from 'node:fs/promises';

/** Salesforce's Pub/Sub endpoint. */
export const DEFAULT_PUBSUB_ENDPOINT = 'api.pubsub.salesforce.com:7443';

/** The `pubsub:` setting of a connection (the same keys as the `--pubsub-*` flags). */
export interface PubSubSettings {
  /** `host:port` of the Pub/Sub API. */
  endpoint?: string;
  /** No TLS (the emulator's default Pub/Sub port). */
  plaintext?: boolean;
  /** A PEM certificate to trust (its text, or the path of its file). */
  ca?: string;
}

/** How a client talks to the Pub/Sub API. */
export interface PubSubTransport {
  endpoint: string;
  tls: boolean | { ca?: string | Buffer; rejectUnauthorized?: boolean };
}

/** `host:port`; anything else is refused with `what` naming the setting. */
export function checkEndpoint(endpoint: string, what = 'pubsub.endpoint'): string {
  if (!/^[^\s/:]+:\d{1,5}$/.test(endpoint)) throw new Error(`${what} must be HOST:PORT (like ${DEFAULT_PUBSUB_ENDPOINT}), got "${endpoint}"`);
  return endpoint;
}

/**
 * The transport for explicit settings, or undefined when no endpoint was given. `ca` is PEM text or a file
 * path; an unreadable file, a malformed endpoint or `ca` with `plaintext` is an error naming the setting.
 */
export async function pubsubTransportOf(settings: PubSubSettings | undefined, what = 'pubsub'): Promise<PubSubTransport | undefined> {
  if (!settings?.endpoint) {
    if (settings?.plaintext || settings?.ca) throw new Error(`${what}: plaintext and ca apply to an endpoint; give ${what}.endpoint (HOST:PORT) too`);
    return undefined;
  }
  const endpoint = checkEndpoint(settings.endpoint, `${what}.endpoint`);
  if (settings.plaintext && settings.ca) throw new Error(`${what}.ca trusts a TLS certificate; leave it out with plaintext`);
  if (settings.plaintext) return { endpoint, tls: false };
  if (!settings.ca) return { endpoint, tls: true };
  if (settings.ca.includes('-----BEGIN')) return { endpoint, tls: { ca: settings.ca } };
  try {
    return { endpoint, tls: { ca: await readFile(settings.ca, 'utf8') } };
  } catch (err) {
    throw new Error(`${what}.ca ${settings.ca}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}; give the PEM file's path or its contents`);
  }
}

/** True for an instance URL on Salesforce's own hosts, which reach {@link DEFAULT_PUBSUB_ENDPOINT}. */
export function isSalesforceHost(instanceUrl: string | undefined): boolean {
  if (!instanceUrl) return false;
  try {
    return /(^|\.)(salesforce\.com|force\.com|salesforce\.mil)$/i.test(new URL(instanceUrl).hostname);
  } catch {
    return false;
  }
}

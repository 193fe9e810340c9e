/**
 * HTTP proxies for corporate networks. A connection may name one (`proxy: http://proxy.corp:3128`);
 * otherwise `HTTPS_PROXY` / `HTTP_PROXY` (and their lowercase forms) apply, and `NO_PROXY` lists hosts
 * reached directly (`localhost,.corp.example,10.0.0.0` style: host suffixes, optional ports, `*`).
 *
 * Requests go through Node's fetch with an undici dispatcher: every request, HTTP or HTTPS, is tunnelled
 * with `CONNECT host:port`, so TLS still runs end to end between sfbridge and Salesforce and the proxy sees
 * only the host name. Credentials in the proxy URL (`http://user:pass@proxy:3128`) are sent as
 * `Proxy-Authorization: Basic …` and never logged.
 */
import { createRequire } from 'node:module';
import type { Dispatcher, EnvHttpProxyAgent as EnvHttpProxyAgentType } from 'undici';
import type { FetchLike } from './transport.ts';

/** A proxy setting that cannot be used. */
export class ProxyConfigError extends Error {
  readonly code = 'INVALID_PROXY';
  constructor(message: string) {
    super(message);
    this.name = 'ProxyConfigError';
  }
}

/** Checks a proxy URL (`http://host:port` or `https://host:port`, optionally with credentials); returns it. */
export function parseProxyUrl(value: string, where = 'proxy'): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new ProxyConfigError(`${where}: ${JSON.stringify(redactProxy(value))} is not a URL; write it as http://proxy.example.com:3128`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ProxyConfigError(`${where}: proxies are reached over http:// or https://, not ${u.protocol}; write http://${u.host || 'proxy.example.com:3128'}`);
  if (!u.hostname) throw new ProxyConfigError(`${where}: the proxy URL has no host; write http://proxy.example.com:3128`);
  if ((u.pathname !== '/' && u.pathname !== '') || u.search || u.hash) throw new ProxyConfigError(`${where}: a proxy URL is only scheme, host and port (got a path or query); write ${u.protocol}//${u.host}`);
  return value;
}

/** The proxy URL without its password, for messages and logs. */
export function redactProxy(value: string): string {
  return value.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
}

/** The proxy settings from the environment (lowercase wins, as curl and undici read them). */
export function envProxy(env: NodeJS.ProcessEnv = process.env): { http?: string; https?: string; noProxy?: string } {
  const pick = (name: string) => env[name.toLowerCase()] || env[name.toUpperCase()] || undefined;
  return { http: pick('http_proxy'), https: pick('https_proxy'), noProxy: pick('no_proxy') };
}

const agents = new Map<string, Dispatcher>();

/**
 * The dispatcher for `proxy` (a connection's own) or for the environment's proxies; undefined when
 * neither names one (Node's default agent then connects directly). Agents are shared per setting, so
 * every client of a connection reuses the proxy's keep-alive sockets.
 */
export function proxyDispatcher(proxy?: string, env: NodeJS.ProcessEnv = process.env): Dispatcher | undefined {
  const e = envProxy(env);
  const http = proxy ?? e.http ?? '';
  const https = proxy ?? e.https ?? e.http ?? '';
  if (!http && !https) return undefined;
  if (proxy) parseProxyUrl(proxy);
  else {
    if (e.http) parseProxyUrl(e.http, 'HTTP_PROXY');
    if (e.https) parseProxyUrl(e.https, 'HTTPS_PROXY');
  }
  const noProxy = e.noProxy ?? '';
  const key = JSON.stringify([http, https, noProxy]);
  let agent = agents.get(key);
  if (!agent) {
    // Explicit values (empty = none) so the agent never reads process.env behind the caller's back.
    // undici's own copy is loaded only when a proxy is in use: it is the largest module of a query's start-up.
    const { EnvHttpProxyAgent } = createRequire(import.meta.url)('undici') as { EnvHttpProxyAgent: typeof EnvHttpProxyAgentType };
    agent = new EnvHttpProxyAgent({ httpProxy: http, httpsProxy: https, noProxy });
    agents.set(key, agent);
  }
  return agent;
}

/**
 * Node's fetch through the proxy for `proxy` or the environment; undefined when there is no proxy to use.
 * @example new Transport({ fetch: proxyFetch('http://proxy.corp:3128') })
 */
export function proxyFetch(proxy?: string, env: NodeJS.ProcessEnv = process.env): FetchLike | undefined {
  const dispatcher = proxyDispatcher(proxy, env);
  if (!dispatcher) return undefined;
  // `dispatcher` is undici's extension of RequestInit, understood by Node's built-in fetch.
  return (input, init) => fetch(input, { ...init, dispatcher } as RequestInit);
}

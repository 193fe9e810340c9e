/**
 * Serves a fetch-style handler over node:http, or node:https when given TLS material. Request bodies stream in
 * and response bodies stream out, so large query pages and bulk uploads never sit whole in memory. `onSocket`
 * lets the fault injector drop a connection mid-response. Each Request's URL carries the scheme actually
 * served, so the URLs the emulator hands out (instance and identity URLs) point back over the same scheme.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';

export type FetchHandler = (req: Request, info: { socket: import('node:net').Socket }) => Promise<Response>;

export interface ServeOptions {
  port: number;
  host: string;
  signal?: AbortSignal;
  /** PEM certificate and key: serve HTTPS instead of HTTP. */
  tls?: { cert: string; key: string };
}

export interface RunningServer {
  url: string;
  port: number;
  host: string;
  close(): Promise<void>;
  server: http.Server | https.Server;
}

export async function serve(handler: FetchHandler, opts: ServeOptions): Promise<RunningServer> {
  const scheme = opts.tls ? 'https' : 'http';
  const listener = (req: http.IncomingMessage, res: http.ServerResponse) => void handleNodeRequest(handler, req, res, scheme);
  const server = opts.tls ? https.createServer({ keepAliveTimeout: 65_000, cert: opts.tls.cert, key: opts.tls.key }, listener) : http.createServer({ keepAliveTimeout: 65_000 }, listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const hostForUrl = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
      // Give in-flight responses a moment, then cut what is left so shutdown never hangs.
      setTimeout(() => server.closeAllConnections(), 2000).unref();
    });
  opts.signal?.addEventListener('abort', () => void close(), { once: true });
  return { url: `${scheme}://${hostForUrl}:${addr.port}`, port: addr.port, host: addr.address, close, server };
}

async function handleNodeRequest(handler: FetchHandler, req: http.IncomingMessage, res: http.ServerResponse, scheme: 'http' | 'https') {
  const host = req.headers.host ?? 'localhost';
  const url = `${scheme}://${host}${req.url ?? '/'}`;
  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
  const abort = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) abort.abort();
  });
  let response: Response;
  try {
    const request = new Request(url, {
      method: req.method,
      headers,
      body: hasBody ? (Readable.toWeb(req) as ReadableStream<Uint8Array>) : undefined,
      duplex: hasBody ? 'half' : undefined,
      signal: abort.signal,
    } as RequestInit);
    response = await handler(request, { socket: req.socket });
  } catch (err) {
    if (typeof err === 'symbol') {
      // The `reset` fault: drop the TCP connection without a response, as a failing load balancer does.
      req.socket.destroy();
      return;
    }
    response = new Response(JSON.stringify([{ message: String(err), errorCode: 'UNKNOWN_EXCEPTION' }]), {
      status: 500,
      headers: { 'content-type': 'application/json;charset=UTF-8' },
    });
  }
  if (res.destroyed) return;
  const outHeaders: Record<string, string | string[]> = {};
  response.headers.forEach((value, key) => {
    if (key === 'set-cookie') return;
    outHeaders[key] = value;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length) outHeaders['set-cookie'] = cookies;
  res.writeHead(response.status, outHeaders);
  if (!response.body || req.method === 'HEAD') {
    res.end();
    return;
  }
  const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>);
  body.on('error', () => res.destroy());
  body.pipe(res);
}

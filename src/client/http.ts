/**
 * A fetch over Node's own HTTP client (node:http / node:https), for the large bodies sfbridge streams: query
 * pages and Bulk API result files. Node's global fetch (undici) spends more CPU per byte than the work
 * done on the bytes: reading 100 query pages (56 MB) took ~285 ms of CPU through fetch and ~175 ms over
 * node:http, and a 200,000-row JSON-lines export went from ~0.76 to ~0.62 s of CPU (docs/BENCHMARKS.md,
 * "Client vs jsforce"). It returns a standard `Response` whose body is a web ReadableStream fed by
 * {@link webBody} (not `Readable.toWeb`, whose adapter doubled the export's GC time), so the transport's
 * retries, timeouts and progress watch work on it unchanged. Small requests keep using fetch.
 *
 * What it does as fetch does: keep-alive connections per origin, `accept-encoding: gzip, deflate, br` with
 * the body decoded, redirects followed for GET and HEAD (at most {@link MAX_REDIRECTS}), the request aborted
 * (and the body errored) with the signal's reason. Proxies are not handled here: with one configured the
 * transport uses fetch through the proxy's dispatcher (proxy.ts).
 */
import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import type { FetchLike } from './transport.ts';

/** Most redirects followed for one request, as fetch's limit (20) is far more than any Salesforce endpoint uses. */
export const MAX_REDIRECTS = 5;

const agents = { 'http:': new http.Agent({ keepAlive: true }), 'https:': new https.Agent({ keepAlive: true }) };

/** Statuses that carry no body. */
const NO_BODY = new Set([101, 204, 205, 304]);

/** A fetch over node:http(s); see the module comment. Request bodies: strings, bytes or web streams. */
export const nodeFetch: FetchLike = async (input, init = {}) => {
  if (input instanceof Request) throw new TypeError('nodeFetch takes a URL and RequestInit, not a Request');
  let url = new URL(input);
  let method = (init.method ?? 'GET').toUpperCase();
  const headers = new Headers(init.headers);
  if (!headers.has('accept-encoding')) headers.set('accept-encoding', 'gzip, deflate, br');
  const signal = init.signal ?? undefined;
  for (let redirects = 0; ; redirects++) {
    signal?.throwIfAborted();
    const res = await send(url, method, headers, init.body ?? undefined, signal);
    const location = res.headers.location;
    if (location && res.statusCode && [301, 302, 303, 307, 308].includes(res.statusCode) && (method === 'GET' || method === 'HEAD') && init.redirect !== 'manual') {
      res.resume();
      if (redirects >= MAX_REDIRECTS) throw new TypeError(`fetch failed: more than ${MAX_REDIRECTS} redirects from ${url.origin}${url.pathname}`);
      const next = new URL(location, url);
      // Credentials stay with their origin, as fetch drops Authorization on a cross-origin redirect.
      if (next.origin !== url.origin) headers.delete('authorization');
      url = next;
      method = method === 'HEAD' ? 'HEAD' : 'GET';
      continue;
    }
    return toResponse(res, method, signal);
  }
};

function send(url: URL, method: string, headers: Headers, body: BodyInit | undefined, signal: AbortSignal | undefined): Promise<http.IncomingMessage> {
  const agent = agents[url.protocol as keyof typeof agents];
  if (!agent) return Promise.reject(new TypeError(`fetch failed: unsupported protocol ${url.protocol}`));
  const lib = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const flat: Record<string, string> = {};
    headers.forEach((v, k) => {
      flat[k] = v;
    });
    const req = lib.request(url, { method, headers: flat, agent });
    const onAbort = () => req.destroy(signal!.reason as Error);
    signal?.addEventListener('abort', onAbort, { once: true });
    req.once('response', (res) => {
      signal?.removeEventListener('abort', onAbort);
      resolve(res);
    });
    req.once('error', (err) => {
      signal?.removeEventListener('abort', onAbort);
      reject(signal?.aborted ? signal.reason : err);
    });
    if (body === undefined || body === null) req.end();
    else if (typeof body === 'string' || body instanceof Uint8Array) req.end(body);
    else if (body instanceof ReadableStream) Readable.fromWeb(body as import('node:stream/web').ReadableStream).on('error', (err) => req.destroy(err)).pipe(req);
    else req.destroy(new TypeError('nodeFetch sends strings, bytes or streams'));
  });
}

function toResponse(res: http.IncomingMessage, method: string, signal: AbortSignal | undefined): Response {
  const status = res.statusCode ?? 0;
  const headers = new Headers();
  for (let i = 0; i < res.rawHeaders.length; i += 2) headers.append(res.rawHeaders[i], res.rawHeaders[i + 1]);
  const init = { status, statusText: res.statusMessage ?? '', headers };
  if (method === 'HEAD' || NO_BODY.has(status)) {
    res.resume();
    return new Response(null, init);
  }
  let body: Readable = res;
  const encoding = (res.headers['content-encoding'] ?? '').trim().toLowerCase();
  const decoder = encoding === 'gzip' || encoding === 'x-gzip' ? zlib.createGunzip() : encoding === 'deflate' ? zlib.createInflate() : encoding === 'br' ? zlib.createBrotliDecompress() : undefined;
  if (decoder) {
    res.on('error', (err) => decoder.destroy(err));
    body = res.pipe(decoder);
  }
  // An abort while the body is read errors it with the signal's reason, as fetch's body does.
  if (signal) {
    const onAbort = () => {
      res.destroy(signal.reason as Error);
      if (body !== res) body.destroy(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    body.once('close', () => signal.removeEventListener('abort', onAbort));
  }
  return new Response(webBody(body), init);
}

/**
 * The node stream as a web ReadableStream: chunks handed over as they arrive, the socket paused while a
 * chunk waits unread (so a prefetched page holds one chunk plus the kernel's buffers), resumed on the next read.
 */
function webBody(body: Readable): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      body.on('data', (chunk: Buffer) => {
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        if ((controller.desiredSize ?? 0) <= 0) body.pause();
      });
      body.once('end', () => controller.close());
      body.once('error', (err) => controller.error(err));
      body.pause();
    },
    pull() {
      body.resume();
    },
    cancel(reason) {
      body.destroy(reason instanceof Error ? reason : undefined);
    },
  }, { highWaterMark: 1 });
}

/**
 * A fetch over Node's own HTTP client (node:http / node:https): what the transport sends every request with
 * (unless a proxy or an explicit fetch is configured). Node's global fetch (undici) spends more CPU per byte
 * than the work done on the bytes: reading 100 query pages (56 MB) took ~285 ms of CPU through fetch and
 * ~175 ms over node:http, and a 200,000-row JSON-lines export went from ~0.76 to ~0.62 s of CPU
 * (docs/BENCHMARKS.md, "Client vs jsforce"). And a command that never builds a fetch `Response` never loads
 * undici at all: the answer is a {@link NodeResponse} (status, headers, a web ReadableStream body fed by
 * {@link webBody}, text/json), which is what the transport and its callers read; `Readable.toWeb` was not used
 * for the body, as its adapter doubled an export's GC time.
 *
 * What it does as fetch does: keep-alive connections per origin, `accept-encoding: gzip, deflate, br` with
 * the body decoded, redirects followed for GET and HEAD (at most {@link MAX_REDIRECTS}; credentials kept to
 * their origin), the request aborted (and the body errored) with the signal's reason, a `user-agent`.
 * Request bodies are strings, bytes or web streams (sent chunked). Proxies are not handled here: with one
 * configured the transport uses fetch through the proxy's dispatcher (proxy.ts).
 */
import type https from 'node:https';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import type zlib from 'node:zlib';
import type { FetchLike } from './transport.ts';

// node:https (with tls) and node:zlib load on first use, an org over https or a compressed body: a command
// that needs neither (the emulator over http) starts without compiling them.
const load = createRequire(import.meta.url);
// node:http is required, not imported: an ESM import reads every export of the module, and node:http's lazy
// WebSocket exports would load undici.
const http = load('node:http') as typeof import('node:http');
type IncomingMessage = import('node:http').IncomingMessage;
type IncomingHttpHeaders = import('node:http').IncomingHttpHeaders;
type Agent = import('node:http').Agent;
let httpsModule: typeof https | undefined;
const httpsLib = () => (httpsModule ??= load('node:https') as typeof https);
const zlibLib = () => load('node:zlib') as typeof zlib;

/** Most redirects followed for one request, as fetch's limit (20) is far more than any Salesforce endpoint uses. */
export const MAX_REDIRECTS = 5;

let httpAgent: Agent | undefined;
let httpsAgent: https.Agent | undefined;
/** Keep-alive agents, one per protocol (undefined: a protocol this fetch does not speak). */
function agentFor(protocol: string): Agent | undefined {
  if (protocol === 'http:') return (httpAgent ??= new http.Agent({ keepAlive: true }));
  if (protocol === 'https:') return (httpsAgent ??= new (httpsLib().Agent)({ keepAlive: true }));
  return undefined;
}

/** Statuses that carry no body. */
const NO_BODY = new Set([101, 204, 205, 304]);

/** A fetch over node:http(s); see the module comment. Request bodies: strings, bytes or web streams. */
export const nodeFetch: FetchLike = async (input, init = {}) => {
  if (typeof input !== 'string' && !(input instanceof URL)) throw new TypeError('nodeFetch takes a URL and RequestInit, not a Request');
  let url = new URL(input);
  let method = (init.method ?? 'GET').toUpperCase();
  const headers = requestHeaders(init.headers);
  headers['accept-encoding'] ??= 'gzip, deflate, br';
  // fetch sends one too (`node`); some gateways refuse requests without it.
  headers['user-agent'] ??= 'sfbridge';
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
      if (next.origin !== url.origin) delete headers.authorization;
      url = next;
      method = method === 'HEAD' ? 'HEAD' : 'GET';
      continue;
    }
    return toResponse(res, method, signal);
  }
};

/**
 * Request headers as one object with lower-case names (from a record, pairs or a Headers), without
 * constructing a Headers: that would load undici (see {@link NodeResponse}).
 */
function requestHeaders(init: HeadersInit | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!init) return out;
  const pairs: Iterable<[string, string]> | undefined = Array.isArray(init) ? (init as [string, string][]) : typeof (init as Headers).forEach === 'function' && typeof (init as Headers).get === 'function' ? (init as Headers).entries() : undefined;
  if (pairs) for (const [k, v] of pairs) out[k.toLowerCase()] = out[k.toLowerCase()] === undefined ? v : `${out[k.toLowerCase()]}, ${v}`;
  else for (const [k, v] of Object.entries(init as Record<string, string>)) out[k.toLowerCase()] = v;
  return out;
}

function send(url: URL, method: string, headers: Record<string, string>, body: BodyInit | undefined, signal: AbortSignal | undefined): Promise<IncomingMessage> {
  const agent = agentFor(url.protocol);
  if (!agent) return Promise.reject(new TypeError(`fetch failed: unsupported protocol ${url.protocol}`));
  const lib = url.protocol === 'https:' ? httpsLib() : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(url, { method, headers, agent });
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

function toResponse(res: IncomingMessage, method: string, signal: AbortSignal | undefined): Response {
  const status = res.statusCode ?? 0;
  if (method === 'HEAD' || NO_BODY.has(status)) {
    res.resume();
    return new NodeResponse(res, null) as unknown as Response;
  }
  let body: Readable = res;
  const encoding = (res.headers['content-encoding'] ?? '').trim().toLowerCase();
  const decoder = encoding === 'gzip' || encoding === 'x-gzip' ? zlibLib().createGunzip() : encoding === 'deflate' ? zlibLib().createInflate() : encoding === 'br' ? zlibLib().createBrotliDecompress() : undefined;
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
  return new NodeResponse(res, webBody(body)) as unknown as Response;
}

/**
 * The part of a fetch `Response` that sfbridge reads (status, headers, a web-stream body, text/json), over a
 * node:http response. Not a real Response: constructing one loads undici, ~25 ms of CPU at the start of a
 * command that would otherwise never need it.
 */
export class NodeResponse {
  readonly status: number;
  readonly statusText: string;
  readonly headers: NodeHeaders;
  readonly body: ReadableStream<Uint8Array> | null;
  readonly url = '';
  constructor(res: { statusCode?: number; statusMessage?: string; headers: IncomingHttpHeaders } | NodeResponse, body: ReadableStream<Uint8Array> | null) {
    if (res instanceof NodeResponse) {
      this.status = res.status;
      this.statusText = res.statusText;
      this.headers = res.headers;
    } else {
      this.status = res.statusCode ?? 0;
      this.statusText = res.statusMessage ?? '';
      this.headers = new NodeHeaders(res.headers);
    }
    this.body = body;
  }
  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }
  /** The body as bytes (read whole). */
  async bytes(): Promise<Uint8Array> {
    if (!this.body) return new Uint8Array(0);
    const chunks: Uint8Array[] = [];
    for await (const chunk of this.body as unknown as AsyncIterable<Uint8Array>) chunks.push(chunk);
    return Buffer.concat(chunks);
  }
  async arrayBuffer(): Promise<ArrayBuffer> {
    const b = await this.bytes();
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
  }
  /** UTF-8 with a leading BOM dropped and invalid bytes replaced, as Response.text() decodes. */
  async text(): Promise<string> {
    return new TextDecoder().decode(await this.bytes());
  }
  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }
}

/** Response headers as fetch's Headers reads them (names case-insensitive, repeated values joined). */
export class NodeHeaders {
  readonly #h: IncomingHttpHeaders;
  constructor(h: IncomingHttpHeaders) {
    this.#h = h;
  }
  get(name: string): string | null {
    const v = this.#h[name.toLowerCase()];
    return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
  }
  has(name: string): boolean {
    return this.#h[name.toLowerCase()] !== undefined;
  }
  forEach(fn: (value: string, name: string) => void): void {
    for (const [name, value] of this) fn(value, name);
  }
  *[Symbol.iterator](): IterableIterator<[string, string]> {
    for (const name of Object.keys(this.#h).sort()) yield [name, this.get(name)!];
  }
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

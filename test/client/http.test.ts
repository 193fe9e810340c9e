/**
 * nodeFetch (src/client/http.ts), the fetch over node:http that streamed bodies use, against a real HTTP
 * server on 127.0.0.1: bodies decoded (gzip, deflate, br), redirects followed for GET with credentials kept
 * to their origin, no body for HEAD and 204, keep-alive sockets reused, an abort erroring the body with the
 * signal's reason, a connection cut mid-body erroring it with ECONNRESET, and an unread body holding the
 * server back instead of buffering.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import zlib from 'node:zlib';
import { nodeFetch } from '../../src/client/http.ts';

const BIG = 32 * 1024 * 1024;

let server: http.Server;
let base: string;
let other: http.Server;
let otherBase: string;
const sockets = new Set<unknown>();
let seenAuth: Array<string | undefined> = [];
let bigDrained = false;

before(async () => {
  other = http.createServer((req, res) => {
    seenAuth.push(req.headers.authorization);
    res.end('elsewhere');
  });
  other.listen(0, '127.0.0.1');
  await once(other, 'listening');
  otherBase = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
  server = http.createServer((req, res) => {
    sockets.add(req.socket);
    const url = new URL(req.url!, 'http://x');
    const text = `hello ${url.searchParams.get('n') ?? ''} ${'é'.repeat(1000)}`;
    switch (url.pathname) {
      case '/gzip':
        res.setHeader('content-encoding', 'gzip');
        return res.end(zlib.gzipSync(text));
      case '/deflate':
        res.setHeader('content-encoding', 'deflate');
        return res.end(zlib.deflateSync(text));
      case '/br':
        res.setHeader('content-encoding', 'br');
        return res.end(zlib.brotliCompressSync(text));
      case '/plain':
        return res.end(`${req.method} ${req.headers['accept-encoding']} ${text}`);
      case '/redirect':
        seenAuth.push(req.headers.authorization);
        res.writeHead(302, { location: '/plain?n=moved' });
        return res.end();
      case '/away':
        res.writeHead(307, { location: `${otherBase}/x` });
        return res.end();
      case '/loop':
        res.writeHead(302, { location: '/loop' });
        return res.end();
      case '/empty':
        res.writeHead(204);
        return res.end();
      case '/cut':
        res.writeHead(200, { 'content-length': '100000' });
        res.write('x'.repeat(1000));
        return setTimeout(() => req.socket.destroy(), 20);
      case '/slow':
        res.writeHead(200);
        res.write('first');
        return; // never ends
      case '/big': {
        res.writeHead(200, { 'content-length': String(BIG) });
        const chunk = Buffer.alloc(1024 * 1024, 97);
        let sent = 0;
        const pump = () => {
          while (sent < BIG) {
            sent += chunk.length;
            if (!res.write(chunk)) return res.once('drain', pump);
          }
          bigDrained = true;
          res.end();
        };
        return pump();
      }
      default:
        res.writeHead(404);
        res.end('no');
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => {
  server.closeAllConnections();
  server.close();
  other.closeAllConnections();
  other.close();
});

describe('nodeFetch', () => {
  it('decodes gzip, deflate and br bodies, and asks for them', async () => {
    for (const enc of ['gzip', 'deflate', 'br']) {
      const res = await nodeFetch(`${base}/${enc}?n=${enc}`);
      assert.equal(res.status, 200);
      assert.equal(await res.text(), `hello ${enc} ${'é'.repeat(1000)}`);
    }
    assert.match(await (await nodeFetch(`${base}/plain`)).text(), /^GET gzip, deflate, br hello/);
  });

  it('follows a GET redirect with its credentials, drops them across origins, and stops a loop', async () => {
    seenAuth = [];
    const res = await nodeFetch(`${base}/redirect`, { headers: { authorization: 'Bearer secret' } });
    assert.match(await res.text(), /^GET .* hello moved/);
    const away = await nodeFetch(`${base}/away`, { headers: { authorization: 'Bearer secret' } });
    assert.equal(await away.text(), 'elsewhere');
    assert.deepEqual(seenAuth, ['Bearer secret', undefined], 'the other origin never sees the token');
    await assert.rejects(nodeFetch(`${base}/loop`), /more than 5 redirects/);
  });

  it('gives no body for HEAD and 204, and reuses keep-alive sockets', async () => {
    sockets.clear();
    const head = await nodeFetch(`${base}/plain`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.body, null);
    const empty = await nodeFetch(`${base}/empty`);
    assert.equal(empty.status, 204);
    assert.equal(await empty.text(), '');
    sockets.clear();
    for (let i = 0; i < 5; i++) {
      await (await nodeFetch(`${base}/plain`)).text();
      // The socket goes back to the pool just after the body's end.
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(sockets.size, 1, 'every request on one socket');
  });

  it('an abort before the answer rejects with the reason; during the body errors the body with it', async () => {
    const early = new AbortController();
    const pending = nodeFetch(`${base}/slow`, { signal: AbortSignal.any([early.signal]) });
    const res = await pending;
    const reader = res.body!.getReader();
    assert.equal(new TextDecoder().decode((await reader.read()).value), 'first');
    const reason = new DOMException('stop', 'TimeoutError');
    early.abort(reason);
    await assert.rejects(reader.read(), (err: unknown) => err === reason);
    const before = new AbortController();
    before.abort(new Error('already'));
    await assert.rejects(nodeFetch(`${base}/plain`, { signal: before.signal }), /already/);
  });

  it('a connection cut mid-body errors the body (ECONNRESET), after the bytes that arrived', async () => {
    const res = await nodeFetch(`${base}/cut`);
    const reader = res.body!.getReader();
    let got = 0;
    const err = await (async () => {
      for (;;) {
        try {
          const { done, value } = await reader.read();
          if (done) return undefined;
          got += value.length;
        } catch (e) {
          return e as Error & { code?: string };
        }
      }
    })();
    assert.equal(got, 1000);
    assert.equal(err?.code, 'ECONNRESET');
  });

  it('an unread body holds the server back instead of buffering it', async () => {
    bigDrained = false;
    const res = await nodeFetch(`${base}/big`);
    const reader = res.body!.getReader();
    await reader.read();
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(bigDrained, false, 'the server is still waiting to write most of the 32 MB');
    let n = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      n += value.length;
    }
    assert.ok(n > BIG - 2 * 1024 * 1024 && bigDrained);
  });
});

/**
 * Stalled and cut response bodies over real sockets (node:http on port 0): a body that stops arriving fails
 * its attempt after the progress timeout instead of hanging, and is retried where that is safe; retries are
 * logged as they happen; every attempt is counted.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { clientLogger } from '../../src/cli/connect.ts';
import { UsageError } from '../../src/cli/args.ts';
import { SalesforceClient, Transport, type RetryEvent } from '../../src/client/index.ts';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void;

/** A server whose n-th request (1-based, per path) is answered by `handler`. */
async function server(handler: Handler): Promise<{ url: string; hits: Map<string, number>; close: () => Promise<void> }> {
  const hits = new Map<string, number>();
  const sockets = new Set<import('node:net').Socket>();
  const srv = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const n = (hits.get(path) ?? 0) + 1;
    hits.set(path, n);
    req.resume();
    req.on('end', () => handler(req, res, n));
  });
  srv.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`,
    hits,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => srv.close(() => r()));
    },
  };
}

/** Headers and the first part of a body, then nothing (the socket stays open). */
function stall(res: http.ServerResponse, part: string): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.write(part);
}

const closers: (() => Promise<void>)[] = [];
after(() => Promise.all(closers.map((c) => c())));

describe('transport: progress timeout on stalled bodies', () => {
  it('a GET whose body stalls is retried after the no-byte timeout, the retry logged and every attempt counted', async () => {
    const srv = await server((_req, res, n) => {
      if (n === 1) stall(res, '{"value": [1, 2');
      else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"value": [1, 2, 3]}');
      }
    });
    closers.push(srv.close);
    const lines: { obj: Record<string, unknown>; msg?: string }[] = [];
    const logger = { debug() {}, info() {}, warn: (obj: object, msg?: string) => lines.push({ obj: obj as Record<string, unknown>, msg }) };
    const retries: RetryEvent[] = [];
    const t = new Transport({ progressTimeoutMs: 300, retry: { baseDelayMs: 1, maxDelayMs: 2 }, logger, onRetry: (e) => retries.push(e) });
    const res = await t.send({ method: 'GET', url: `${srv.url}/data?access_token=secret` });
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.text), { value: [1, 2, 3] });
    assert.equal(res.attempts, 2);
    assert.equal(t.requests, 2);
    assert.equal(srv.hits.get('/data'), 2);
    assert.equal(retries.length, 1);
    assert.match(retries[0].reason, /no data for 300 ms while reading the response/);
    assert.match(lines[0].msg ?? '', /^retrying GET \/data\?access_token=(\[REDACTED\]|%5BREDACTED%5D) in 0\.0 s \(attempt 2 of 5\): no data for 300 ms/);
    assert.doesNotMatch(JSON.stringify(lines), /secret/);
  });

  it('a request whose server never answers says it is still waiting after the notice time, once per attempt, then times out', async () => {
    const srv = await server(() => {
      // Accepts the request and never writes a byte (the socket stays open).
    });
    closers.push(srv.close);
    const lines: string[] = [];
    const logger = { debug() {}, info() {}, warn: (_obj: object, msg?: string) => lines.push(msg ?? '') };
    const t = new Transport({ waitNoticeMs: 100, timeoutMs: 400, retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 }, logger });
    await assert.rejects(t.send({ method: 'GET', url: `${srv.url}/slow?access_token=secret` }), /timed out after 400 ms \(attempt 2\)/);
    const waits = lines.filter((l) => l.startsWith('still waiting'));
    assert.equal(waits.length, 2, lines.join('\n'));
    assert.match(waits[0], /^still waiting for GET \/slow\?access_token=(\[REDACTED\]|%5BREDACTED%5D): no response after 100 ms \(attempt 1 of 2; this attempt gives up after 400 ms\)/);
    assert.match(waits[1], /attempt 2 of 2/);
    assert.doesNotMatch(lines.join('\n'), /secret/);
    // A prompt answer says nothing.
    const quick = await server((_req, res) => res.end('{}'));
    closers.push(quick.close);
    lines.length = 0;
    await t.send({ method: 'GET', url: `${quick.url}/fast` });
    await new Promise((r) => setTimeout(r, 150));
    assert.deepEqual(lines, []);
  });

  it('a POST whose body stalls is not resent (it may have run) and fails naming the stall', async () => {
    const srv = await server((_req, res) => stall(res, '[{"id":"001'));
    closers.push(srv.close);
    const t = new Transport({ progressTimeoutMs: 200, retry: { baseDelayMs: 1, maxDelayMs: 2 } });
    await assert.rejects(t.send({ method: 'POST', url: `${srv.url}/composite/sobjects`, body: '{}' }), (err: Error & { code?: string }) => err.code === 'TIMEOUT' && /no data for 200 ms.*stopped sending/.test(err.message));
    assert.equal(srv.hits.get('/composite/sobjects'), 1);
  });

  it('a query page whose streamed body stalls is read again and the query completes', async () => {
    const page = JSON.stringify({ totalSize: 2, done: true, records: [{ attributes: { type: 'Account' }, Id: '001000000000001AAA' }, { attributes: { type: 'Account' }, Id: '001000000000002AAA' }] });
    const srv = await server((req, res, n) => {
      if (!req.url?.includes('/query')) {
        res.writeHead(404).end();
        return;
      }
      if (n === 1) stall(res, '{"totalSize":2,');
      else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(page);
      }
    });
    closers.push(srv.close);
    const client = new SalesforceClient({ credentials: { kind: 'accessToken', instanceUrl: srv.url, accessToken: 't' }, governor: false, progressTimeoutMs: 300 });
    const ids: string[] = [];
    for await (const r of client.query('SELECT Id FROM Account')) ids.push(String(r.Id));
    assert.deepEqual(ids, ['001000000000001AAA', '001000000000002AAA']);
    assert.equal(client.transport.requests, 2);
  });

  it('--log-level is checked (debug, info, warn, error) and debug logs redacted headers', () => {
    assert.throws(() => clientLogger({ 'log-level': 'loud' }, {}), (err: unknown) => err instanceof UsageError && /--log-level must be debug, info, warn, error, got "loud"/.test(err.message));
    assert.throws(() => clientLogger({}, { SFBRIDGE_LOG_LEVEL: 'verbose' }), UsageError);
    assert.equal(clientLogger({ 'log-level': 'debug' }, {}).logHeaders, true);
    assert.equal(clientLogger({}, {}).logHeaders, false);
  });
});

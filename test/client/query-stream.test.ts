/**
 * Query pages read as streams: records parsed from bodies cut into small chunks (multi-byte characters split),
 * pages() keeps its shape, a slow consumer is not cut off by the request timeout (it covers the headers
 * only), and truncated or broken bodies fail with a clear TransportError.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { SalesforceClient, TransportError } from '../../src/client/index.ts';

const BASE = 'http://127.0.0.1:8484';

/** A body streamed `size` bytes at a time; `fail` errors the stream after that many bytes. */
function chunked(text: string, size: number, fail: number | undefined, signal: AbortSignal): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  let at = 0;
  return new ReadableStream<Uint8Array>({
    // Like a real fetch body: aborting the request's signal errors the body.
    start(controller) {
      signal.addEventListener('abort', () => controller.error(signal.reason));
    },
    pull(controller) {
      if (signal.aborted) return;
      if (fail !== undefined && at >= fail) return controller.error(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, at + size));
      at += size;
    },
  });
}

/** A fake org whose pages are `bodies[i]` (page i+1 at /query/L-i). */
function org(bodies: string[], opts: { chunk?: number; fail?: { page: number; at: number }; timeoutMs?: number } = {}) {
  const requested: string[] = [];
  const fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const req = new Request(input, init);
    const url = new URL(req.url);
    if (url.pathname === '/services/oauth2/token') return Response.json({ access_token: 'AT', instance_url: BASE, issued_at: '1', token_type: 'Bearer' });
    requested.push(url.pathname);
    const i = url.pathname.includes('/query/') ? Number(url.pathname.split('-').pop()) : 0;
    const fail = opts.fail?.page === i ? opts.fail.at : undefined;
    return new Response(chunked(bodies[i], opts.chunk ?? 7, fail, req.signal), { headers: { 'content-type': 'application/json' } });
  };
  const client = new SalesforceClient({ credentials: { kind: 'clientCredentials', instanceUrl: BASE, clientId: 'c', clientSecret: 's' }, fetch, governor: false, timeoutMs: opts.timeoutMs, retry: { maxAttempts: 1 } });
  return { client, requested };
}

const next = (i: number) => `/services/data/v62.0/query/01gL-${i}`;
function pages(names: string[][]): string[] {
  const total = names.flat().length;
  return names.map((page, i) => {
    const done = i === names.length - 1;
    const records = page.map((Name) => ({ attributes: { type: 'Account', url: `/x/${Name}` }, Name, Nested: { Deep: [{ v: '}]"{' }] } }));
    return JSON.stringify({ totalSize: total, done, ...(done ? {} : { nextRecordsUrl: next(i + 1) }), records });
  });
}

describe('streamed query pages', () => {
  it('parses records from small chunks, multi-byte characters split across them', async () => {
    const names = [['Zoë', 'Ærø 😀', 'a"b\\c'], ['€ {x}', 'naïve'], ['last']];
    const { client, requested } = org(pages(names), { chunk: 3 });
    const result = client.query<{ Name: string; Nested: unknown }>('SELECT Name FROM Account');
    const got: string[] = [];
    for await (const r of result) {
      got.push(r.Name);
      assert.deepEqual(r.Nested, { Deep: [{ v: '}]"{' }] });
    }
    assert.deepEqual(got, names.flat());
    assert.equal(result.totalSize, 6);
    assert.deepEqual(requested, ['/services/data/v62.0/query', next(1), next(2)]);
  });

  it('pages() yields whole pages with their members', async () => {
    const { client } = org(pages([['a', 'b'], ['c']]));
    const seen = [];
    for await (const p of client.query<{ Name: string }>('SELECT Name FROM Account').pages()) seen.push({ ...p, records: p.records.map((r) => r.Name) });
    assert.deepEqual(seen, [
      { totalSize: 3, done: false, nextRecordsUrl: next(1), records: ['a', 'b'] },
      { totalSize: 3, done: true, records: ['c'] },
    ]);
  });

  it('a consumer slower than the request timeout still reads every page (the timeout covers the headers)', async () => {
    const { client } = org(pages([['a'], ['b'], ['c']]), { timeoutMs: 40 });
    const got: string[] = [];
    for await (const r of client.query<{ Name: string }>('SELECT Name FROM Account')) {
      got.push(r.Name);
      await sleep(80); // meanwhile the next page's response waits unread
    }
    assert.deepEqual(got, ['a', 'b', 'c']);
  });

  it('a truncated page fails with BAD_RESPONSE after the records that did arrive', async () => {
    const body = pages([['a', 'b']])[0];
    const { client } = org([body.slice(0, body.lastIndexOf('{'))]);
    const got: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const r of client.query<{ Name: string }>('SELECT Name FROM Account')) got.push(r.Name);
      })(),
      (err: unknown) => err instanceof TransportError && err.code === 'BAD_RESPONSE' && /truncated/.test(err.message),
    );
    assert.deepEqual(got, ['a']);
  });

  it('malformed JSON fails with BAD_RESPONSE', async () => {
    const { client } = org(['{"totalSize":1,"done":true,"records":[{"Name":"a",}]}']);
    await assert.rejects(client.query('SELECT Name FROM Account').toArray(), (err: unknown) => err instanceof TransportError && err.code === 'BAD_RESPONSE');
  });

  it('a connection dropped mid-page fails with NETWORK_ERROR naming the cause', async () => {
    const { client } = org(pages([['a', 'b'], ['c']]), { fail: { page: 1, at: 20 } });
    await assert.rejects(client.query('SELECT Name FROM Account').toArray(), (err: unknown) => err instanceof TransportError && err.code === 'NETWORK_ERROR' && /ECONNRESET/.test(err.message));
  });
});

/**
 * Query pages read as streams: records parsed from bodies cut into small chunks (multi-byte characters split),
 * pages() keeps its shape, a slow consumer is not cut off by the request timeout (it covers the headers
 * only), and truncated or broken bodies fail with a clear TransportError.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { MAX_PAGE_REREADS, SalesforceClient, TransportError } from '../../src/client/index.ts';

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
function org(bodies: string[], opts: { chunk?: number; fail?: { page: number; at: number; times?: number }; timeoutMs?: number; refuseReread?: boolean } = {}) {
  let failures = 0;
  const requested: string[] = [];
  const fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const req = new Request(input, init);
    const url = new URL(req.url);
    if (url.pathname === '/services/oauth2/token') return Response.json({ access_token: 'AT', instance_url: BASE, issued_at: '1', token_type: 'Bearer' });
    if (opts.refuseReread && requested.includes(url.pathname) && url.pathname.includes('/query/')) {
      return Response.json([{ message: 'invalid query locator', errorCode: 'INVALID_QUERY_LOCATOR' }], { status: 400 });
    }
    requested.push(url.pathname);
    const i = url.pathname.includes('/query/') ? Number(url.pathname.split('-').pop()) : 0;
    const failNow = opts.fail?.page === i && (opts.fail.times === undefined || failures < opts.fail.times);
    if (failNow) failures++;
    const fail = failNow ? opts.fail!.at : undefined;
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

  it('a locator page dropped mid-body is read again and resumes after the records already handed out', async () => {
    const names = [['a', 'b'], ['c', 'd', 'e', 'f'], ['g']];
    const body = pages(names)[1];
    // Cut page 2 after its second record: the consumer has c and d when the connection drops.
    const cut = body.indexOf('"Name":"e"');
    const { client, requested } = org(pages(names), { chunk: 5, fail: { page: 1, at: cut, times: 2 } });
    assert.deepEqual(await client.query<{ Name: string }>('SELECT Name FROM Account').toArray().then((rs) => rs.map((r) => r.Name)), names.flat());
    assert.deepEqual(requested.filter((p) => p === next(1)).length, 3, 'page 2 read three times (two drops)');
  });

  it('a page that keeps dropping fails with NETWORK_ERROR naming the cause and the re-reads', async () => {
    const { client, requested } = org(pages([['a', 'b'], ['c']]), { fail: { page: 1, at: 20 } });
    await assert.rejects(client.query('SELECT Name FROM Account').toArray(), (err: unknown) => err instanceof TransportError && err.code === 'NETWORK_ERROR' && /ECONNRESET/.test(err.message) && /after 3 re-reads/.test(err.message));
    assert.equal(requested.filter((p) => p === next(1)).length, 1 + MAX_PAGE_REREADS);
  });

  it('an org that refuses the re-read: the drop is reported with the refusal', async () => {
    const { client } = org(pages([['a', 'b'], ['c', 'd']]), { fail: { page: 1, at: 20, times: 1 }, refuseReread: true });
    await assert.rejects(client.query('SELECT Name FROM Account').toArray(), (err: unknown) => err instanceof TransportError && err.code === 'NETWORK_ERROR' && /ECONNRESET/.test(err.message) && /invalid query locator/.test(err.message));
  });

  it('JSON-line bytes: the same lines from 3-byte chunks (characters split), a dropped page resumed, a truncated one refused', async () => {
    const names = [['Zoë', 'Ærø 😀', 'a"b\\c'], ['€ {x}', 'naïve', 'e', 'f'], ['last']];
    const expected = pages(names).flatMap((body) => (JSON.parse(body) as { records: Record<string, unknown>[] }).records.map(({ attributes: _, ...rest }) => `${JSON.stringify(rest)}\n`)).join('');
    const collect = async (client: SalesforceClient, reuse = false) => {
      const parts: Buffer[] = [];
      let records = 0;
      // Copied at once: with reuse the next batch overwrites this one's bytes.
      for await (const batch of client.query('SELECT Name FROM Account').jsonLineBytes({ reuse })) {
        parts.push(Buffer.from(batch.bytes));
        records += batch.records;
      }
      return { text: Buffer.concat(parts).toString('utf8'), records };
    };
    assert.deepEqual(await collect(org(pages(names), { chunk: 3 }).client), { text: expected, records: 8 });
    assert.deepEqual(await collect(org(pages(names), { chunk: 40 }).client, true), { text: expected, records: 8 }, 'one buffer for every batch');
    const body = pages(names)[1];
    const dropped = org(pages(names), { chunk: 5, fail: { page: 1, at: Buffer.byteLength(body.slice(0, body.indexOf('"Name":"e"'))), times: 2 } });
    assert.deepEqual(await collect(dropped.client), { text: expected, records: 8 }, 'each record exactly once after two drops');
    assert.equal(dropped.requested.filter((p) => p === next(1)).length, 3);
    const whole = pages([['a', 'b']])[0];
    await assert.rejects(collect(org([whole.slice(0, whole.lastIndexOf('{'))]).client), (err: unknown) => err instanceof TransportError && err.code === 'BAD_RESPONSE' && /truncated/.test(err.message));
    await assert.rejects(collect(org(['{"totalSize":1,"done":true,"records":[{"Name":"a",}]}']).client), (err: unknown) => err instanceof TransportError && err.code === 'BAD_RESPONSE');
  });

  it('the first page is re-run only when none of it was used; otherwise the drop is reported', async () => {
    const early = org(pages([['a', 'b'], ['c']]), { fail: { page: 0, at: 10, times: 1 } });
    assert.deepEqual((await early.client.query<{ Name: string }>('SELECT Name FROM Account').toArray()).map((r) => r.Name), ['a', 'b', 'c']);
    const body = pages([['a', 'b'], ['c']])[0];
    const late = org(pages([['a', 'b'], ['c']]), { fail: { page: 0, at: body.indexOf('"Name":"b"'), times: 1 } });
    await assert.rejects(late.client.query('SELECT Name FROM Account').toArray(), (err: unknown) => err instanceof TransportError && err.code === 'NETWORK_ERROR');
  });
});

describe('streamed query pages against the emulator', () => {
  it('a dropped locator page is read again from the emulator: every record exactly once', async () => {
    const { createEmulator } = await import('../../src/emulator/app.ts');
    const { seedOrg } = await import('../../src/emulator/seed/index.ts');
    const emu = createEmulator();
    await seedOrg(emu.org, 'Account=450');
    let cut = true;
    const fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      const req = new Request(input, init);
      const res = await emu.fetch(req);
      // Drop the first read of the second page after 100 bytes.
      if (cut && /\/query\/.+-200$/.test(new URL(req.url).pathname)) {
        cut = false;
        const text = await res.text();
        return new Response(chunked(text, 50, 100, req.signal), { status: res.status, headers: res.headers });
      }
      return res;
    };
    const client = new SalesforceClient({ credentials: { kind: 'clientCredentials', instanceUrl: 'http://emulator.local', clientId: emu.org.clientId, clientSecret: emu.org.clientSecret }, fetch, governor: false, retry: { maxAttempts: 1 } });
    const ids = (await client.query<{ Id: string }>('SELECT Id FROM Account', { batchSize: 200 }).toArray()).map((r) => r.Id);
    assert.equal(cut, false, 'the second page was cut');
    assert.equal(ids.length, 450);
    assert.equal(new Set(ids).size, 450);
    emu.close();
  });
});

/**
 * Query paging: backpressure proven structurally (pages requested vs records consumed), no row cap,
 * batchSize header, queryAll, count, early break cancels the prefetch; collections chunking in order.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { SalesforceClient, toCountQuery, NOT_ATTEMPTED } from '../../src/client/index.ts';
import { createEmulator } from '../../src/emulator/app.ts';

const BASE = 'http://127.0.0.1:8484';

/** A fake org serving `total` synthetic records in pages of `size`, counting page requests. */
function pagedOrg(total: number, size: number) {
  const stats = { pages: 0, aborted: 0, headers: [] as string[] };
  const fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const req = new Request(input, init);
    const url = new URL(req.url);
    if (url.pathname === '/services/oauth2/token') return Response.json({ access_token: 'AT', instance_url: BASE, issued_at: '1', token_type: 'Bearer' });
    stats.pages++;
    stats.headers.push(req.headers.get('sforce-query-options') ?? '');
    req.signal.addEventListener('abort', () => stats.aborted++);
    const offset = url.pathname.includes('/query/') ? Number(url.pathname.split('-').pop()) : 0;
    const n = Math.min(size, total - offset);
    const records = Array.from({ length: n }, (_, i) => ({ attributes: { type: 'Account' }, Id: `001${String(offset + i).padStart(15, '0')}`, N: offset + i }));
    const done = offset + n >= total;
    return Response.json({ totalSize: total, done, ...(done ? {} : { nextRecordsUrl: `/services/data/v62.0/query/0r8LOC-${offset + n}` }), records }, { headers: { 'sforce-limit-info': 'api-usage=1/1000000' } });
  };
  const client = new SalesforceClient({ credentials: { kind: 'clientCredentials', instanceUrl: BASE, clientId: 'c', clientSecret: 's' }, fetch, governor: false });
  return { client, stats };
}

describe('query paging', () => {
  it('never holds more than two pages: page requests track consumption', async () => {
    const size = 200;
    const { client, stats } = pagedOrg(25_000, size);
    const result = client.query<{ N: number }>('SELECT Id FROM Account', { batchSize: size });
    let consumed = 0;
    let maxAhead = 0;
    for await (const rec of result) {
      assert.equal(rec.N, consumed, 'records arrive in order');
      consumed++;
      // Pages needed so far for `consumed` records, plus at most one prefetched page.
      const needed = Math.ceil(consumed / size);
      maxAhead = Math.max(maxAhead, stats.pages - needed);
      assert.ok(stats.pages <= needed + 1, `after ${consumed} records ${stats.pages} pages were requested`);
      if (consumed % 997 === 0) await new Promise((r) => setImmediate(r)); // a slow consumer lets the prefetch land
    }
    assert.equal(consumed, 25_000, 'no 10,000-row cap');
    assert.equal(stats.pages, 25_000 / size);
    assert.equal(maxAhead, 1);
    assert.equal(result.totalSize, 25_000);
    assert.ok(stats.headers.every((h) => h === 'batchSize=200'));
  });

  it('lets go of each record once handed out, so consumed records can be collected before the page ends', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const { client } = pagedOrg(1000, 500);
    let first: WeakRef<object> | undefined;
    let seen = 0;
    for await (const rec of client.query<{ N: number }>('SELECT Id FROM Account', { batchSize: 500 })) {
      if (rec.N === 0) first = new WeakRef(rec);
      if (++seen === 100) {
        // WeakRefs stay alive until the current job ends; let it end, then collect.
        await new Promise((resolve) => setImmediate(resolve));
        gc();
        assert.equal(first!.deref(), undefined, 'record 0 is still referenced by the query while its page is being consumed');
      }
    }
    assert.equal(seen, 1000);
  });

  it('a consumer that stops early cancels the prefetched page', async () => {
    const { client, stats } = pagedOrg(10_000, 500);
    let n = 0;
    for await (const _ of client.query('SELECT Id FROM Account')) if (++n === 10) break;
    assert.ok(stats.pages <= 2);
  });

  it('validates batchSize', () => {
    const { client } = pagedOrg(1, 1);
    assert.throws(() => client.query('SELECT Id FROM Account', { batchSize: 50 }), /200 to 2000/);
  });

  it('query, queryAll, count and paging against the emulator', async () => {
    const emu = createEmulator();
    const sf = new SalesforceClient({ credentials: { kind: 'clientCredentials', instanceUrl: BASE, clientId: emu.org.clientId, clientSecret: emu.org.clientSecret }, fetch: (i, init) => emu.fetch(new Request(i, init)) });
    const created = await sf.collections.create(Array.from({ length: 450 }, (_, i) => ({ attributes: { type: 'Account' }, Name: `Acct ${String(i).padStart(3, '0')}` })), { parallelism: 2 });
    assert.equal(created.length, 450);
    assert.ok(created.every((r) => r.success && /^001/.test(r.id!)));
    const result = sf.query<{ Name: string }>('SELECT Id, Name FROM Account ORDER BY Name', { batchSize: 200 });
    const names: string[] = [];
    for await (const r of result) names.push(r.Name);
    assert.equal(names.length, 450);
    assert.equal(names[449], 'Acct 449');
    assert.equal(result.pagesFetched, 3);
    assert.equal(await sf.count('SELECT Id, Name FROM Account WHERE Name LIKE \'Acct 1%\' ORDER BY Name LIMIT 5'), 100);
    await sf.delete('Account', created[0].id!);
    assert.equal(await sf.count('SELECT COUNT() FROM Account'), 449);
    assert.equal((await sf.queryAll('SELECT Id FROM Account').toArray()).length, 450);
  });

  it('collections keep input order across chunks; allOrNone holds back later chunks after a failure', async () => {
    const emu = createEmulator();
    const sf = new SalesforceClient({ credentials: { kind: 'clientCredentials', instanceUrl: BASE, clientId: emu.org.clientId, clientSecret: emu.org.clientSecret }, fetch: (i, init) => emu.fetch(new Request(i, init)) });
    const records = Array.from({ length: 450 }, (_, i) => ({ attributes: { type: 'Contact' }, LastName: i === 250 ? undefined : `C${i}` }));
    const res = await sf.collections.create(records, { allOrNone: true });
    assert.equal(res.length, 450);
    assert.ok(res.slice(0, 200).every((r) => r.success), 'first chunk committed');
    assert.equal(res[250].success, false);
    assert.ok(res.slice(400).every((r) => r.errors[0]?.statusCode === NOT_ATTEMPTED), 'third chunk never sent');
    assert.equal(await sf.count('SELECT COUNT() FROM Contact'), 200);
  });

  it('rewrites queries for count()', () => {
    assert.equal(toCountQuery("SELECT Id, (SELECT Id FROM Contacts ORDER BY Name) FROM Account WHERE Name = 'a ORDER BY' ORDER BY Name LIMIT 5"), "SELECT COUNT() FROM Account WHERE Name = 'a ORDER BY'");
    assert.equal(toCountQuery('SELECT COUNT() FROM Lead'), 'SELECT COUNT() FROM Lead');
  });
});

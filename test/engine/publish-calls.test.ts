/**
 * The Bulk path's API calls across runs: the publisher keeps describes and the learned ingest rate in its
 * state store, so a second run against the same org makes no describe call, and the governor takes its first
 * reading from a response instead of calling /limits. A column missing from a cached describe makes the check
 * ask the org once before refusing it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BulkError, MemoryDescribeCache, SalesforceClient, type DescribeSObjectResult } from '../../src/client/index.ts';
import { publish, StateBulkRateStore, StateDescribeCache } from '../../src/engine/publish/index.ts';
import { openStore } from '../../src/store/index.ts';
import { BASE, publishEmulator } from './publish-helpers.ts';
import type { Emulator } from '../../src/emulator/app.ts';

function countingClient(emu: Emulator, calls: string[]): SalesforceClient {
  return new SalesforceClient({
    credentials: { kind: 'clientCredentials', instanceUrl: BASE, clientId: emu.org.clientId, clientSecret: emu.org.clientSecret },
    fetch: (input, init) => {
      const req = new Request(input, init);
      const path = new URL(req.url).pathname.replace(/^\/services\/data\/v[\d.]+/, '').replace(/750\w+/, 'ID');
      if (!path.includes('/oauth2/')) calls.push(`${req.method} ${path}`);
      return emu.fetch(req);
    },
  });
}

const rows = (n: number, tag: string) => Array.from({ length: n }, (_, i) => ({ key: `K-${i}-${tag}`, record: { External_Id__c: `E-${i}`, LastName: `Last ${i} ${tag}` } }));
const count = (calls: string[], c: string) => calls.filter((x) => x === c).length;

describe('publisher: API calls across runs (Bulk path)', () => {
  it('the next run reuses the describe and the learned rate from the state store; no /limits call in either', async () => {
    const emu = publishEmulator();
    const store = await openStore('sqlite::memory:');
    const state = await store.publishState();
    const target = { object: 'Contact', operation: 'upsert' as const, externalIdField: 'External_Id__c' };

    const first: string[] = [];
    const s1 = await publish({ client: countingClient(emu, first), state, pipeline: 'p', target, records: rows(3000, 'a') });
    assert.deepEqual(s1.paths, ['bulk']);
    assert.equal(s1.succeeded, 3000);
    assert.equal(count(first, 'GET /sobjects/Contact/describe'), 1);
    assert.equal(count(first, 'GET /limits'), 0);
    const rate = await new StateBulkRateStore(state).get(`${BASE}|contact|upsert`);
    assert.ok(rate && rate.rows === 3000 && rate.rowsPerSec > 0, JSON.stringify(rate));

    // A new client (as a new process would have) with the same state: 3,000 changed rows.
    const next: string[] = [];
    const s2 = await publish({ client: countingClient(emu, next), state, pipeline: 'p', target, records: rows(3000, 'b') });
    assert.equal(s2.succeeded, 3000);
    assert.equal(count(next, 'GET /sobjects/Contact/describe'), 0, next.join(', '));
    assert.equal(count(next, 'GET /limits'), 0);
    const polls = count(next, 'GET /jobs/ingest/ID');
    assert.ok(polls >= 1);
    assert.equal(next.length, 4 + polls, `create, upload, close, results and the polls only: ${next.join(', ')}`);
    // The second job's rate joins the first: the next plan uses the slower of the two.
    const after = await new StateBulkRateStore(state).get(`${BASE}|contact|upsert`);
    assert.equal(after?.recent?.length, 2);
    assert.equal(after?.rowsPerSec, Math.min(...after!.recent!));
    await store.close();
    emu.close();
  });

  it('a describe older than the freshness window is revalidated (one call)', async () => {
    const emu = publishEmulator();
    const store = await openStore('sqlite::memory:');
    const state = await store.publishState();
    const target = { object: 'Contact', operation: 'upsert' as const, externalIdField: 'External_Id__c' };
    await publish({ client: countingClient(emu, []), state, pipeline: 'p', target, records: rows(2000, 'a') });
    const calls: string[] = [];
    await publish({ client: countingClient(emu, calls), state, pipeline: 'p', target, records: rows(2000, 'b'), describeFreshForMs: 1 });
    assert.equal(count(calls, 'GET /sobjects/Contact/describe'), 1);
    const cached = await new StateDescribeCache(state).get(`${BASE}|v62.0|sobjects/Contact/describe`);
    assert.ok(cached && typeof cached.checkedAt === 'number');
    await store.close();
    emu.close();
  });
});

describe('bulk column check: refresh once on a miss', () => {
  async function setup() {
    const emu = publishEmulator();
    const calls: string[] = [];
    const cache = new MemoryDescribeCache();
    const client = new SalesforceClient({
      credentials: { kind: 'clientCredentials', instanceUrl: BASE, clientId: emu.org.clientId, clientSecret: emu.org.clientSecret },
      describeCache: cache,
      fetch: (input, init) => {
        const req = new Request(input, init);
        const path = new URL(req.url).pathname.replace(/^\/services\/data\/v[\d.]+/, '');
        if (!path.includes('/oauth2/')) calls.push(`${req.method} ${path}`);
        return emu.fetch(req);
      },
    });
    // A describe cached (and confirmed just now) before Title existed: as if the field was added since.
    const body = (await client.describe('Contact')) as DescribeSObjectResult;
    const key = `${BASE}|v62.0|sobjects/Contact/describe`;
    await cache.set(key, { lastModified: 'Sat, 01 Jan 2000 00:00:00 GMT', checkedAt: Date.now(), body: { ...body, fields: body.fields.filter((f) => f.name !== 'Title') } });
    calls.length = 0;
    return { emu, client, calls };
  }

  it('a field missing from the cached describe is looked up again, not refused', async () => {
    const { emu, client, calls } = await setup();
    const out = [];
    for await (const r of client.bulk.ingest('Contact', 'insert', [{ LastName: 'A', Title: 'Buyer' }])) out.push(r);
    assert.equal(out.length, 1);
    assert.ok(out[0].success, String(out[0].error));
    assert.equal(count(calls, 'GET /sobjects/Contact/describe'), 1, calls.join(', '));
    emu.close();
  });

  it('a field the org does not have is refused after that one refresh', async () => {
    const { emu, client, calls } = await setup();
    await assert.rejects(async () => {
      for await (const _ of client.bulk.ingest('Contact', 'insert', [{ LastName: 'A', Nope__c: 'x' }, { LastName: 'B', Nope2__c: 'y' }])) void _;
    }, (err: unknown) => err instanceof BulkError && err.code === 'BULK_INVALID_INPUT' && /Contact has no field Nope__c/.test(err.message));
    assert.equal(count(calls, 'GET /sobjects/Contact/describe'), 1, calls.join(', '));
    assert.equal(calls.filter((c) => c.includes('/jobs/')).length, 0, 'no job was created');
    emu.close();
  });
});

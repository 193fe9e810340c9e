/**
 * Target options: allOrNone on Collections, Sforce-Auto-Assign / Sforce-Duplicate-Rule-Header on Collections
 * calls, an assignment rule Id on Bulk jobs (`assignmentRuleId`), updateOnly through the single-record REST
 * upsert, and config errors for combinations no path supports.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SalesforceClient } from '../../src/client/index.ts';
import { parsePublishPipelines, publish, PublishError, type PublishRecordResult, type PublishTarget } from '../../src/engine/publish/index.ts';
import { openStore } from '../../src/store/index.ts';
import type { Emulator } from '../../src/emulator/app.ts';
import { BASE, publishEmulator } from './publish-helpers.ts';

interface Seen {
  method: string;
  path: string;
  headers: Headers;
  body: string;
}

function recordingClient(emu: Emulator, seen: Seen[]): SalesforceClient {
  return new SalesforceClient({
    credentials: { kind: 'clientCredentials', instanceUrl: BASE, clientId: emu.org.clientId, clientSecret: emu.org.clientSecret },
    fetch: async (input, init) => {
      const req = new Request(input, init);
      const path = new URL(req.url).pathname.replace(/^\/services\/data\/v[\d.]+/, '');
      if (!path.includes('/oauth2/')) seen.push({ method: req.method, path, headers: req.headers, body: req.method === 'POST' || req.method === 'PATCH' ? await req.clone().text() : '' });
      return emu.fetch(req);
    },
    governor: false,
  });
}

async function run(target: PublishTarget, records: Record<string, unknown>[], extra: { path?: 'auto' | 'bulk' | 'collections' } = {}) {
  const emu = publishEmulator();
  const seen: Seen[] = [];
  const store = await openStore('sqlite::memory:');
  const results: PublishRecordResult[] = [];
  const summary = await publish({ client: recordingClient(emu, seen), state: await store.publishState(), pipeline: 't', target, records: records.map((record) => ({ record })), onResult: (r) => void results.push(r), retryBaseDelayMs: 1, ...extra });
  await store.close();
  return { emu, seen, summary, results };
}

describe('publish target options', () => {
  it('sends Sforce-Auto-Assign and Sforce-Duplicate-Rule-Header on every Collections call', async () => {
    const { emu, seen, summary } = await run({ object: 'Contact', operation: 'upsert', externalIdField: 'External_Id__c', assignmentRule: false, duplicateRules: { allowSave: true, runAsCurrentUser: false } }, [{ External_Id__c: 'H-1', LastName: 'A' }, { External_Id__c: 'H-2', LastName: 'B' }]);
    assert.equal(summary.succeeded, 2);
    const calls = seen.filter((s) => s.path.startsWith('/composite/sobjects'));
    assert.equal(calls.length, 1);
    assert.equal(calls[0].headers.get('sforce-auto-assign'), 'FALSE');
    assert.equal(calls[0].headers.get('sforce-duplicate-rule-header'), 'allowSave=true; runAsCurrentUser=false');
    emu.close();
  });

  it('allOrNone: one bad record rolls back its whole call; nothing is created; auto stays on Collections above 2,000', async () => {
    const good = Array.from({ length: 2100 }, (_, i) => ({ External_Id__c: `G-${i}`, LastName: `L${i}` }));
    good[5] = { External_Id__c: 'G-5' } as never; // LastName is required
    const { emu, summary, results } = await run({ object: 'Contact', operation: 'upsert', externalIdField: 'External_Id__c', allOrNone: true }, good);
    assert.deepEqual(summary.paths, ['collections']);
    const first = results.slice(0, 200);
    assert.equal(first[5].errors[0].code, 'REQUIRED_FIELD_MISSING');
    assert.ok(first.every((r, i) => !r.success && (i === 5 || r.errors[0].code === 'ALL_OR_NONE_OPERATION_ROLLED_BACK')));
    assert.equal(summary.succeeded, 1900, 'the other calls committed');
    assert.equal(await recordingClient(emu, []).count("SELECT COUNT() FROM Contact WHERE External_Id__c LIKE 'G-%'"), 1900, 'none of the rolled-back call was kept');
    emu.close();
  });

  it('an assignment rule Id goes into the Bulk job as assignmentRuleId', async () => {
    const { emu, seen, summary } = await run({ object: 'Lead', operation: 'insert', assignmentRule: '01Q000000000001AAA' }, [{ LastName: 'A', Company: 'X' }, { LastName: 'B', Company: 'Y' }], { path: 'bulk' });
    assert.equal(summary.succeeded, 2);
    const create = seen.find((s) => s.method === 'POST' && s.path === '/jobs/ingest')!;
    assert.equal(JSON.parse(create.body).assignmentRuleId, '01Q000000000001AAA');
    emu.close();
  });

  it('updateOnly: one REST upsert per record with ?updateOnly=true; a record with no match fails NOT_FOUND and is not created', async () => {
    const emu = publishEmulator();
    const seen: Seen[] = [];
    const client = recordingClient(emu, seen);
    await client.upsert('Contact', 'External_Id__c', 'U-1', { LastName: 'Before' });
    seen.length = 0;
    const store = await openStore('sqlite::memory:');
    const results: PublishRecordResult[] = [];
    const summary = await publish({
      client,
      state: await store.publishState(),
      pipeline: 'u',
      target: { object: 'Contact', operation: 'upsert', externalIdField: 'External_Id__c', updateOnly: true, assignmentRule: false },
      records: [{ record: { External_Id__c: 'U-1', LastName: 'After' } }, { record: { External_Id__c: 'U-2', LastName: 'New' } }],
      onResult: (r) => void results.push(r),
    });
    assert.deepEqual(summary.paths, ['rest']);
    assert.deepEqual(results.map((r) => [r.success, r.created, r.errors[0]?.code ?? null]), [[true, false, null], [false, false, 'NOT_FOUND']]);
    assert.match(results[1].errors[0].message, /no Contact has External_Id__c = "U-2"; updateOnly does not create it/);
    assert.equal(seen.length, 2);
    for (const s of seen) {
      assert.equal(s.method, 'PATCH');
      assert.match(s.path, /^\/sobjects\/Contact\/External_Id__c\/U-[12]$/);
      assert.equal(s.headers.get('sforce-auto-assign'), 'FALSE');
      assert.equal(JSON.parse(s.body).External_Id__c, undefined, 'the external ID goes in the path only');
    }
    assert.equal(await client.count("SELECT COUNT() FROM Contact WHERE External_Id__c = 'U-2'"), 0);
    assert.equal(await client.count("SELECT COUNT() FROM Contact WHERE LastName = 'After'"), 1);
    await store.close();
    emu.close();
  });

  it('refuses what no path can do, naming the fix', async () => {
    const target: PublishTarget = { object: 'Contact', operation: 'upsert', externalIdField: 'External_Id__c', updateOnly: true };
    await assert.rejects(run(target, [{ External_Id__c: 'X', LastName: 'A' }], { path: 'bulk' }), (err: unknown) => err instanceof PublishError && err.code === 'PUBLISH_CONFIG' && /single-record REST upsert/.test(err.message) && /Use path auto/.test(err.message));
    await assert.rejects(run({ ...target, operation: 'insert' }, [{ LastName: 'A' }]), (err: unknown) => err instanceof PublishError && /updateOnly applies to upsert only/.test(err.message));
    await assert.rejects(run({ object: 'Contact', operation: 'insert', allOrNone: true }, [{ LastName: 'A' }], { path: 'bulk' }), (err: unknown) => err instanceof PublishError && /path bulk cannot carry allOrNone/.test(err.message));
    await assert.rejects(run({ object: 'Lead', operation: 'insert', assignmentRule: true }, [{ LastName: 'A', Company: 'X' }], { path: 'bulk' }), (err: unknown) => err instanceof PublishError && /assignment rule Id only/.test(err.message));
    assert.throws(() => parsePublishPipelines([{ name: 'p', source: { file: 'a.csv' }, target: { object: 'Contact', operation: 'upsert', externalIdField: 'E__c', updateOnly: true }, path: 'collections' }]), /publish\[0\]\.target: updateOnly/);
    assert.equal(parsePublishPipelines([{ name: 'p', source: { file: 'a.csv' }, target: { object: 'Contact', operation: 'upsert', externalIdField: 'E__c', updateOnly: true } }]).length, 1);
    assert.throws(() => parsePublishPipelines([{ name: 'p', source: { file: 'a.csv' }, target: { object: 'Contact', operation: 'insert', allOrNon: true } }]), /allOrNon/);
    assert.throws(() => parsePublishPipelines([{ name: 'p', source: { file: 'a.csv' }, target: { object: 'Lead', operation: 'insert', assignmentRule: 'nope' } }]), /assignment rule Id/);
    assert.throws(() => parsePublishPipelines([{ name: 'p', source: { file: 'a.csv' }, target: { object: 'Lead', operation: 'insert' }, describeMaxAge: 'soon' }]), /describeMaxAge: must be a duration/);
    assert.equal(parsePublishPipelines([{ name: 'p', source: { file: 'a.csv' }, target: { object: 'Lead', operation: 'insert' }, describeMaxAge: '12h' }])[0].describeMaxAge, 12 * 3_600_000);
    const ok = parsePublishPipelines([{ name: 'p', source: { file: 'a.csv' }, target: { object: 'Lead', operation: 'insert', allOrNone: true, assignmentRule: '01Q000000000001', duplicateRules: { allowSave: true } } }]);
    assert.equal(ok.length, 1);
  });
});

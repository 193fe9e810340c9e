/**
 * The publisher against an in-process emulator: every operation through sObject Collections, the Bulk path
 * through a stub with the bulk contract's shape, mixed success and failure, transient errors retried for the
 * failed rows only, lost answers reconciled by key, dead letters and replay.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SalesforceClient } from '../../src/client/index.ts';
import { DEFAULT_FAULTS } from '../../src/emulator/faults.ts';
import {
  COLLECTIONS_MAX_RECORDS,
  parseBulkError,
  publish,
  replayDeadLetters,
  UNKNOWN_OUTCOME,
  type BulkIngestApi,
  type PublishOptions,
  type PublishRecordResult,
} from '../../src/engine/publish/index.ts';
import { openStore, type PublishState } from '../../src/store/index.ts';
import { BASE, clientFor, publishEmulator } from './publish-helpers.ts';

async function setup(faults: Partial<typeof DEFAULT_FAULTS> = {}) {
  const emu = publishEmulator({ faults: { ...DEFAULT_FAULTS, ...faults } });
  const counter = { calls: 0, paths: [] as string[] };
  const client = clientFor(emu, counter);
  const store = await openStore('sqlite::memory:');
  const state = await store.publishState();
  return { emu, counter, client, store, state };
}

async function run(client: SalesforceClient, state: PublishState, opts: Partial<PublishOptions> & Pick<PublishOptions, 'target' | 'records'>) {
  const results: PublishRecordResult[] = [];
  const summary = await publish({ client, state, pipeline: 'test', retryBaseDelayMs: 1, ...opts, onResult: (r) => void results.push(r) });
  return { summary, results };
}

async function soql(client: SalesforceClient, q: string): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for await (const r of client.query(q)) out.push(r);
  return out;
}

const contacts = (n: number, prefix = 'E') => Array.from({ length: n }, (_, i) => ({ record: { LastName: `Last ${i}`, External_Id__c: `${prefix}${i}`, Idem_Key__c: `K-${prefix}${i}` } }));

describe('publisher over sObject Collections', () => {
  it('upserts by external ID in 200-record calls, reports created/updated, and skips what a rerun already published', async () => {
    const { client, state, counter, emu } = await setup();
    const first = await run(client, state, { target: { object: 'Contact', operation: 'upsert', externalIdField: 'External_Id__c' }, records: contacts(450) });
    assert.equal(first.summary.succeeded, 450);
    assert.equal(first.summary.created, 450);
    assert.deepEqual(first.summary.paths, ['collections']);
    assert.equal(counter.paths.filter((p) => p.includes('/composite/sobjects/Contact/External_Id__c')).length, 3);
    assert.ok(first.results.every((r, i) => r.index === i && r.success && /^003/.test(r.id!)));

    // The same input again: every row is already in the outbox as succeeded; nothing is sent.
    const calls = counter.calls;
    const again = await run(client, state, { target: { object: 'Contact', operation: 'upsert', externalIdField: 'External_Id__c' }, records: contacts(450) });
    assert.equal(again.summary.alreadyPublished, 450);
    assert.equal(counter.calls, calls);
    assert.deepEqual(again.results.map((r) => r.id), first.results.map((r) => r.id));

    // Changed values are new rows: updated in place, not created.
    const changed = contacts(3).map((c) => ({ record: { ...c.record, LastName: 'Changed' } }));
    const upd = await run(client, state, { target: { object: 'Contact', operation: 'upsert', externalIdField: 'External_Id__c' }, records: changed });
    assert.equal(upd.summary.created, 0);
    assert.deepEqual(upd.results.map((r) => r.id), first.results.slice(0, 3).map((r) => r.id));
    assert.equal((await soql(client, "SELECT Id FROM Contact WHERE LastName = 'Changed'")).length, 3);
    assert.equal((await soql(client, 'SELECT Id FROM Contact WHERE External_Id__c != null')).length, 450);
    emu.close();
  });

  it('inserts, updates and deletes, with parent lookups by external ID', async () => {
    const { client, state, emu } = await setup();
    const acct = await client.create('Account', { Name: 'Acme', External_Id__c: 'ACME-1' });
    const ins = await run(client, state, {
      target: { object: 'Contact', operation: 'insert' },
      records: [{ record: { LastName: 'A', Account: { External_Id__c: 'ACME-1' } } }, { record: { LastName: 'B' } }],
    });
    assert.equal(ins.summary.succeeded, 2);
    assert.ok(ins.results.every((r) => r.created));
    const [a] = await soql(client, `SELECT Id, AccountId FROM Contact WHERE Id = '${ins.results[0].id}'`);
    assert.equal(a.AccountId, acct.id);

    const upd = await run(client, state, { target: { object: 'Contact', operation: 'update' }, records: ins.results.map((r) => ({ record: { Id: r.id, Title: 'Boss' } })) });
    assert.equal(upd.summary.succeeded, 2);
    assert.equal(upd.results[0].created, false);
    assert.equal((await soql(client, "SELECT Id FROM Contact WHERE Title = 'Boss'")).length, 2);

    const del = await run(client, state, { target: { object: 'Contact', operation: 'delete' }, records: [{ record: { Id: ins.results[0].id } }, { record: { Id: '003000000000000AAA' } }] });
    assert.equal(del.summary.succeeded, 1);
    assert.equal(del.summary.failed, 1);
    assert.equal(del.results[0].id, ins.results[0].id);
    assert.ok(del.results[1].errors[0].code.length > 0);
    assert.equal((await soql(client, `SELECT Id FROM Contact WHERE Id = '${ins.results[0].id}'`)).length, 0);
    emu.close();
  });

  it('reports mixed success and failure per record (code, message, fields) and dead-letters the failures', async () => {
    const { client, state, emu } = await setup();
    const records = contacts(5);
    (records[1].record as Record<string, unknown>).Email = 'not-an-email';
    delete (records[3].record as Record<string, unknown>).LastName;
    const { summary, results } = await run(client, state, { target: { object: 'Contact', operation: 'upsert', externalIdField: 'External_Id__c' }, records });
    assert.equal(summary.succeeded, 3);
    assert.equal(summary.failed, 2);
    assert.equal(summary.deadLettered, 2);
    assert.equal(results[1].errors[0].code, 'INVALID_EMAIL_ADDRESS');
    assert.deepEqual(results[1].errors[0].fields, ['Email']);
    assert.equal(results[3].errors[0].code, 'REQUIRED_FIELD_MISSING');
    assert.ok(results[3].errors[0].fields.includes('LastName'));
    const letters = await state.listDeadLetters();
    assert.deepEqual(letters.map((l) => [l.key, l.error.code]), [[results[1].key, 'INVALID_EMAIL_ADDRESS'], [results[3].key, 'REQUIRED_FIELD_MISSING']]);
    assert.equal(letters[0].payload.Email, 'not-an-email');
    assert.equal(letters[0].externalIdField, 'External_Id__c');
    emu.close();
  });

  it('retries UNABLE_TO_LOCK_ROW for the failed rows only, until all land exactly once', async () => {
    const { client, state, emu, counter } = await setup({ lockrow: 0.3 });
    let sentRecords = 0;
    const counting: SalesforceClient = client;
    const origRequest = counting.request.bind(counting);
    counting.request = (async (path: string, o: { json?: { records?: unknown[] } } = {}) => {
      if (path.startsWith('composite/sobjects')) sentRecords += o.json?.records?.length ?? 0;
      return origRequest(path, o as never);
    }) as typeof counting.request;
    const { summary, results } = await run(counting, state, { target: { object: 'Contact', operation: 'insert', matchFields: ['Idem_Key__c'] }, records: contacts(600), maxRetries: 12 });
    assert.equal(summary.succeeded, 600, JSON.stringify(results.find((r) => !r.success)));
    assert.ok(summary.retried > 0, 'some rows hit the lock fault');
    assert.equal(sentRecords, 600 + summary.retried, 'only failed rows are resent');
    emu.org.faults.settings.lockrow = 0;
    assert.equal((await soql(client, 'SELECT Id FROM Contact WHERE Idem_Key__c != null')).length, 600);
    assert.ok(counter.calls > 3);
    emu.close();
  });

  it('resends calls refused with 503 (never executed) and ends with one record per input', async () => {
    const { client, state, emu } = await setup({ http503: 0.4 });
    const up = await run(client, state, { target: { object: 'Contact', operation: 'upsert', externalIdField: 'External_Id__c' }, records: contacts(800), maxRetries: 15 });
    const ins = await run(client, state, { pipeline: 'ins', target: { object: 'Contact', operation: 'insert', matchFields: ['Idem_Key__c'] }, records: contacts(800, 'I'), maxRetries: 15 });
    emu.org.faults.settings.http503 = 0;
    assert.equal(up.summary.succeeded, 800, JSON.stringify(up.results.find((r) => !r.success)?.errors));
    assert.equal(ins.summary.succeeded, 800, JSON.stringify(ins.results.find((r) => !r.success)?.errors));
    assert.ok(up.summary.retried + ins.summary.retried > 0);
    assert.equal((await soql(client, "SELECT Id FROM Contact WHERE External_Id__c LIKE 'E%'")).length, 800);
    assert.equal((await soql(client, "SELECT Id FROM Contact WHERE Idem_Key__c LIKE 'K-I%'")).length, 800);
    emu.close();
  });

  it('moves rows still failing after the retry budget to the dead-letter table', async () => {
    const { client, state, emu } = await setup({ lockrow: 1 });
    const { summary, results } = await run(client, state, { target: { object: 'Contact', operation: 'upsert', externalIdField: 'External_Id__c' }, records: contacts(3), maxRetries: 2 });
    assert.equal(summary.failed, 3);
    assert.equal(summary.deadLettered, 3);
    assert.equal(results[0].errors[0].code, 'UNABLE_TO_LOCK_ROW');
    assert.equal(results[0].attempts, 3);
    emu.close();
  });

  it('reconciles an insert whose answer was lost by its key instead of creating a duplicate', async () => {
    const emu = publishEmulator();
    let drop = 1;
    const { SalesforceClient } = await import('../../src/client/index.ts');
    const client = new SalesforceClient({
      credentials: { kind: 'clientCredentials', instanceUrl: BASE, clientId: emu.org.clientId, clientSecret: emu.org.clientSecret },
      governor: false,
      retry: { maxAttempts: 1 },
      fetch: async (input, init) => {
        const req = new Request(input, init);
        const res = await emu.fetch(req);
        // The write happens, then the connection drops before the answer arrives.
        if (req.method === 'POST' && req.url.endsWith('/composite/sobjects') && drop-- > 0) throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNRESET' } });
        return res;
      },
    });
    const store = await openStore('sqlite::memory:');
    const state = await store.publishState();
    const { summary, results } = await run(client, state, { target: { object: 'Contact', operation: 'insert', matchFields: ['Idem_Key__c'] }, records: contacts(300), parallelism: 1 });
    assert.equal(summary.succeeded, 300);
    assert.equal(summary.reconciled, 200, 'the first chunk was found, not resent');
    assert.ok(results.slice(0, 200).every((r) => r.reconciled && r.id));
    assert.equal((await soql(client, 'SELECT Id FROM Contact WHERE Idem_Key__c != null')).length, 300);

    // Without a key to look up by, the row is not resent blindly: it becomes an UNKNOWN_OUTCOME dead letter.
    drop = 1;
    const blind = await run(client, state, { pipeline: 'blind', target: { object: 'Contact', operation: 'insert' }, records: [{ record: { LastName: 'Blind' } }] });
    assert.equal(blind.summary.failed, 1);
    assert.equal(blind.results[0].errors[0].code, UNKNOWN_OUTCOME);
    assert.equal((await soql(client, "SELECT Id FROM Contact WHERE LastName = 'Blind'")).length, 1);
    assert.equal((await state.listDeadLetters({ pipeline: 'blind' }))[0].error.code, UNKNOWN_OUTCOME);
    emu.close();
  });

  it('replays dead letters, with an operator-edited payload, and marks them replayed', async () => {
    const { client, state, emu } = await setup();
    const records = contacts(2);
    (records[0].record as Record<string, unknown>).Email = 'broken';
    await run(client, state, { target: { object: 'Contact', operation: 'upsert', externalIdField: 'External_Id__c' }, records });
    const [letter] = await state.listDeadLetters();
    // Replaying unchanged fails again and keeps the letter open.
    const again = await replayDeadLetters({ client, state, letters: [letter], publishOptions: { retryBaseDelayMs: 1 } });
    assert.equal(again[0].result.success, false);
    assert.equal((await state.getDeadLetter(letter.id))!.status, 'open');
    const fixed = await replayDeadLetters({ client, state, letters: [letter], payloads: new Map([[letter.id, { ...letter.payload, Email: 'ok@example.com' }]]), publishOptions: { retryBaseDelayMs: 1 } });
    assert.equal(fixed[0].result.success, true);
    const after = (await state.getDeadLetter(letter.id))!;
    assert.equal(after.status, 'replayed');
    assert.equal(after.sfId, fixed[0].result.id);
    assert.equal(after.payload.Email, 'ok@example.com');
    const [c] = await soql(client, "SELECT Email FROM Contact WHERE External_Id__c = 'E0'");
    assert.equal(c.Email, 'ok@example.com');
    assert.equal((await state.outbox('test', { keys: [letter.key] }))[0].state, 'succeeded');
    emu.close();
  });
});

describe('superseded dead letters', () => {
  it('an open dead letter is resolved as superseded once a newer version of its record is published', async () => {
    const { client, state, emu } = await setup();
    const target = { object: 'Contact', operation: 'upsert' as const, externalIdField: 'External_Id__c' };
    // Versions of source rows are keyed row@version, as cursor sources key them.
    const v1 = contacts(3, 'S');
    (v1[1].record as Record<string, unknown>).Email = 'broken';
    (v1[2].record as Record<string, unknown>).Email = 'broken too';
    await run(client, state, { target, records: v1.map((r, i) => ({ key: `row-${i}@1`, ...r })) });
    const letters = await state.listDeadLetters();
    assert.deepEqual(letters.map((l) => l.key), ['row-1@1', 'row-2@1']);
    // Another record succeeding leaves the letters open.
    await run(client, state, { target, records: [{ key: 'row-0@2', record: { ...v1[0].record, LastName: 'Other' } }] });
    assert.equal((await state.listDeadLetters()).length, 2);
    // A newer version of row 1, fixed at the source, is published: its letter holds stale data.
    const { summary } = await run(client, state, { target, records: [{ key: 'row-1@2', record: { ...v1[1].record, Email: 'fixed@example.com', LastName: 'Newer' } }] });
    assert.equal(summary.succeeded, 1);
    assert.equal(summary.superseded, 1);
    assert.equal((await state.getDeadLetter(letters[0].id))!.status, 'superseded');
    assert.deepEqual((await state.listDeadLetters()).map((l) => l.key), ['row-2@1'], 'the other letter stays open');
    const [c] = await soql(client, "SELECT LastName, Email FROM Contact WHERE External_Id__c = 'S1'");
    assert.deepEqual([c.LastName, c.Email], ['Newer', 'fixed@example.com']);
    // The same external ID under any key (a fixed file row gets a new line key) settles it too.
    await run(client, state, { target, records: [{ record: { ...v1[2].record, Email: 'ok@example.com' } }] });
    assert.deepEqual(await state.listDeadLetters(), []);
    emu.close();
  });
});

describe('parent/child sets through sObject Tree', () => {
  it('inserts accounts with their contacts; a bad child fails its own tree only, the rolled-back rest is resent', async () => {
    const { client, state, emu, counter } = await setup();
    const records = Array.from({ length: 60 }, (_, i) => ({
      record: { Name: `Tree ${i}`, External_Id__c: `T-${i}`, Contacts: [{ LastName: `C${i}a`, ...(i === 7 ? { Email: 'bad' } : {}) }, { LastName: `C${i}b` }] },
    }));
    const { summary, results } = await run(client, state, { target: { object: 'Account', operation: 'insert', matchFields: ['External_Id__c'] }, records });
    assert.deepEqual(summary.paths, ['tree']);
    assert.equal(summary.failed, 1);
    assert.equal(results[7].errors[0].code, 'INVALID_EMAIL_ADDRESS');
    assert.equal(summary.succeeded, 59);
    assert.ok(results[0].id?.startsWith('001'));
    const [acct] = await soql(client, `SELECT Id, (SELECT LastName FROM Contacts ORDER BY LastName) FROM Account WHERE Id = '${results[0].id}'`);
    assert.deepEqual((acct.Contacts as { records: { LastName: string }[] }).records.map((c) => c.LastName), ['C0a', 'C0b']);
    assert.equal((await soql(client, "SELECT Id FROM Account WHERE External_Id__c LIKE 'T-%'")).length, 59);
    assert.equal((await soql(client, "SELECT Id FROM Contact WHERE Account.External_Id__c LIKE 'T-%'")).length, 118);
    // 180 records fit one call (≤200); it fails as a whole, and the next round resends the 59 good trees.
    assert.ok(counter.paths.filter((p) => p.includes('/composite/tree/Account')).length >= 2);
    await assert.rejects(run(client, state, { pipeline: 'u', target: { object: 'Account', operation: 'upsert', externalIdField: 'External_Id__c' }, records: [records[0]] }), /can only be inserted/);
    emu.close();
  });
});

describe('platform events', () => {
  it('publishes X__e events through collections; refuses other operations; events are not queryable', async () => {
    const { schemaFromData } = await import('../../src/emulator/schema/custom.ts');
    const emu = publishEmulator({ objects: schemaFromData({ objects: [{ name: 'Order_Shipped__e', fields: [{ name: 'Order_Number__c', type: 'string', length: 20 }] }] }) });
    const counter = { calls: 0, paths: [] as string[] };
    const client = clientFor(emu, counter);
    const state = await (await openStore('sqlite::memory:')).publishState();
    const { summary, results } = await run(client, state, { target: { object: 'Order_Shipped__e', operation: 'insert' }, path: 'collections', records: Array.from({ length: 250 }, (_, i) => ({ record: { Order_Number__c: `O-${i}` } })) });
    assert.equal(summary.succeeded, 250);
    assert.deepEqual(counter.paths.filter((p) => p.endsWith('/composite/sobjects')).length, 2);
    assert.ok(results.every((r) => r.id?.startsWith('e0')));
    await assert.rejects(run(client, state, { target: { object: 'Order_Shipped__e', operation: 'upsert', externalIdField: 'X' }, records: [] }), /platform event: only insert/);
    await assert.rejects(client.query('SELECT Id FROM Order_Shipped__e').toArray(), /INVALID_TYPE|not supported/);
    emu.close();
  });
});

describe('publisher planner and Bulk API 2.0 path', () => {
  it(`sends ${COLLECTIONS_MAX_RECORDS} or more records through bulk ingest, with the same result shape`, async () => {
    const { client, state, emu, counter } = await setup();
    const calls: { object: string; operation: string; externalIdField?: string; n: number }[] = [];
    const bulk: BulkIngestApi = {
      async *ingest(object, operation, records, opts) {
        const rows = [...(records as Iterable<Record<string, unknown>>)];
        calls.push({ object, operation, externalIdField: opts?.externalIdField, n: rows.length });
        for (const [index, r] of rows.entries()) {
          if (index === 7) yield { index, success: false, id: null, created: false, error: 'REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --' };
          else if (index === 9) yield { index, success: false, id: null, created: false, error: 'UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record:--' };
          else yield { index, success: true, id: `003${String(index).padStart(15, '0')}`, created: r.External_Id__c !== 'E0', error: null };
        }
      },
    };
    const n = COLLECTIONS_MAX_RECORDS + 100;
    const { summary, results } = await run(client, state, { target: { object: 'Contact', operation: 'upsert', externalIdField: 'External_Id__c' }, records: contacts(n), bulk });
    assert.deepEqual(calls, [{ object: 'Contact', operation: 'upsert', externalIdField: 'External_Id__c', n }]);
    // The one transient failure is retried through collections (one call), not another bulk job.
    assert.deepEqual(summary.paths, ['bulk', 'collections']);
    assert.equal(counter.calls, 1);
    assert.equal(summary.failed, 1);
    assert.equal(summary.succeeded, n - 1);
    assert.deepEqual(results[7].errors, [{ code: 'REQUIRED_FIELD_MISSING', message: 'Required fields are missing: [LastName]', fields: ['LastName'] }]);
    assert.equal(results[0].created, false);
    assert.equal(results[1].created, true);
    assert.ok(results[9].success);
    emu.close();
  });

  it('treats rows a failed bulk job never reported as unknown and reconciles them', async () => {
    const { client, state, emu } = await setup();
    // The job inserts everything, then the connection dies before results are read.
    const bulk: BulkIngestApi = {
      async *ingest(object, _op, records, opts) {
        const rows = [...(records as Iterable<Record<string, unknown>>)];
        // The job is recorded before it is closed (the bulk contract), then runs.
        await opts?.beforeClose?.({ jobId: '750000000000001AAA', start: 0, rows: rows.length });
        await client.collections.create(rows.map((r) => ({ attributes: { type: object }, ...r })), { parallelism: 4 });
        yield { index: 0, success: true, id: null, created: true, error: null };
        throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
      },
    };
    const n = COLLECTIONS_MAX_RECORDS;
    const { summary } = await run(client, state, { target: { object: 'Contact', operation: 'insert', matchFields: ['Idem_Key__c'] }, records: contacts(n), bulk });
    assert.equal(summary.succeeded, n);
    assert.equal(summary.reconciled, n - 1);
    assert.equal((await soql(client, 'SELECT Id FROM Contact WHERE Idem_Key__c != null')).length, n);
    emu.close();
  });

  it('parses sf__Error texts', () => {
    assert.deepEqual(parseBulkError('INVALID_EMAIL_ADDRESS:Email: invalid email address: bad:Email --'), { code: 'INVALID_EMAIL_ADDRESS', message: 'Email: invalid email address: bad', fields: ['Email'] });
    assert.deepEqual(parseBulkError('UNABLE_TO_LOCK_ROW:unable to obtain exclusive access:--'), { code: 'UNABLE_TO_LOCK_ROW', message: 'unable to obtain exclusive access', fields: [] });
    assert.equal(parseBulkError('garbage').code, 'UNKNOWN_ERROR');
  });

  it('runs the real Bulk API 2.0 ingest (client.bulk) against the emulator for a large upsert and insert', async () => {
    const { client, state, emu, counter } = await setup();
    const n = COLLECTIONS_MAX_RECORDS + 100;
    const records = contacts(n);
    (records[5].record as Record<string, unknown>).Email = 'nope';
    const up = await run(client, state, { target: { object: 'Contact', operation: 'upsert', externalIdField: 'External_Id__c' }, records, bulkOptions: { pollIntervalMs: 20 } });
    assert.deepEqual(up.summary.paths, ['bulk']);
    assert.equal(up.summary.succeeded, n - 1);
    assert.equal(up.summary.created, n - 1);
    assert.equal(up.results[5].errors[0].code, 'INVALID_EMAIL_ADDRESS');
    assert.deepEqual(up.results[5].errors[0].fields, ['Email']);
    assert.ok(up.results[0].id?.startsWith('003'));
    assert.ok(counter.paths.some((p) => p.includes('/jobs/ingest')));
    assert.equal(counter.paths.filter((p) => p.includes('/composite/sobjects')).length, 0);
    // Same shape as collections: index/key/input/success/id/created/errors/attempts.
    assert.deepEqual(Object.keys(up.results[1]).sort(), ['attempts', 'created', 'errors', 'id', 'index', 'input', 'key', 'success']);
    const ins = await run(client, state, { pipeline: 'ins', target: { object: 'Contact', operation: 'insert', matchFields: ['Idem_Key__c'] }, records: contacts(n, 'I'), bulkOptions: { pollIntervalMs: 20 } });
    assert.equal(ins.summary.succeeded, n);
    assert.equal((await soql(client, "SELECT Id FROM Contact WHERE Idem_Key__c LIKE 'K-I%'")).length, n);
    emu.close();
  });
});

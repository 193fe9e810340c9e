/**
 * jsforce, unmodified, against the emulator over a real socket, for the resources beyond records and
 * queries: Bulk API 1.0 (`conn.bulk`), SOSL (`conn.search`) and the file blob endpoints.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import jsforce from 'jsforce';
import { servedOrg, type ServedOrg } from '../helpers/served.ts';

describe('jsforce surface: Bulk 1.0, SOSL, files', () => {
  let org: ServedOrg;
  let conn: jsforce.Connection;

  before(async () => {
    org = await servedOrg();
    conn = new jsforce.Connection({ oauth2: { clientId: 'sfbridge-emulator', clientSecret: 'sfbridge-emulator-secret', loginUrl: org.url }, version: '62.0' });
    await conn.login('admin@emulator.sfbridge.dev', 'emulator');
    conn.bulk.pollInterval = 50;
    conn.bulk.pollTimeout = 20_000;
  });
  after(() => org.close());

  test('conn.bulk.load inserts records and reports per-record results', async () => {
    // jsforce writes the CSV header from the first record, so every record carries the same keys.
    const rows = [{ Name: 'Bulk One', Industry: 'Banking', NumberOfEmployees: null }, { Name: 'Bulk Two', Industry: null, NumberOfEmployees: 12 }, { Name: null, Industry: 'Energy', NumberOfEmployees: null }];
    const results = (await conn.bulk.load('Account', 'insert', rows)) as { id: string | null; success: boolean; created: boolean; errors: string[] }[];
    assert.equal(results.length, 3);
    assert.deepEqual(results.map((r) => [r.success, r.created]), [[true, true], [true, true], [false, false]]);
    assert.match(String(results[0].id), /^001\w{15}$/);
    assert.deepEqual(results[2].errors, ['REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --']);
    const back = await conn.query<{ Name: string; NumberOfEmployees: number | null }>(`SELECT Name, NumberOfEmployees FROM Account WHERE Id = '${results[1].id}'`);
    assert.deepEqual(back.records.map((r) => [r.Name, r.NumberOfEmployees]), [['Bulk Two', 12]]);
  });

  test('conn.bulk.load update and delete by Id', async () => {
    const [a] = (await conn.bulk.load('Account', 'insert', [{ Name: 'To change' }])) as { id: string }[];
    const upd = (await conn.bulk.load('Account', 'update', [{ Id: a.id, Name: 'Changed' }])) as { success: boolean }[];
    assert.deepEqual(upd.map((r) => r.success), [true]);
    assert.equal(((await conn.sobject('Account').retrieve(a.id)) as { Name: string }).Name, 'Changed');
    const del = (await conn.bulk.load('Account', 'delete', [{ Id: a.id }])) as { success: boolean }[];
    assert.deepEqual(del.map((r) => r.success), [true]);
    await assert.rejects(conn.sobject('Account').retrieve(a.id), /entity is deleted|ENTITY_IS_DELETED/);
  });

  test('conn.bulk.query streams the records of a query batch', async () => {
    await conn.bulk.load('Contact', 'insert', [{ LastName: 'Query-1', Email: 'q1@example.com' }, { LastName: 'Query-2' }]);
    const stream = await conn.bulk.query("SELECT LastName, Email FROM Contact WHERE LastName LIKE 'Query-%' ORDER BY LastName");
    const records: Record<string, unknown>[] = [];
    await new Promise<void>((resolve, reject) => {
      stream.on('record', (r: Record<string, unknown>) => records.push(r));
      stream.on('end', () => resolve());
      stream.on('error', reject);
    });
    // A null is an empty CSV cell, which jsforce reads as ''.
    assert.deepEqual(records, [{ LastName: 'Query-1', Email: 'q1@example.com' }, { LastName: 'Query-2', Email: '' }]);
  });

  test('conn.search runs SOSL and returns searchRecords', async () => {
    const acct = await conn.sobject('Account').create({ Name: 'Searchable Widgets Ltd', Industry: 'Retail' });
    const res = await conn.search("FIND {Widgets} IN NAME FIELDS RETURNING Account(Id, Name, Industry WHERE Industry = 'Retail')");
    assert.deepEqual(res.searchRecords, [{ attributes: { type: 'Account', url: `/services/data/v62.0/sobjects/Account/${acct.id}` }, Id: acct.id, Name: 'Searchable Widgets Ltd', Industry: 'Retail' }]);
    await assert.rejects(conn.search('FIND Widgets'), (err: Error & { errorCode?: string }) => {
      assert.equal(err.errorCode ?? err.name, 'MALFORMED_SEARCH');
      return true;
    });
  });

  test('files: a ContentVersion uploaded with jsforce reads back through its blob URL', async () => {
    const data = Buffer.from('hello from jsforce');
    const cv = await conn.sobject('ContentVersion').create({ Title: 'greeting', PathOnClient: 'greeting.txt', VersionData: data.toString('base64') });
    const rec = (await conn.sobject('ContentVersion').retrieve(cv.id!)) as { VersionData: string; ContentDocumentId: string };
    assert.equal(rec.VersionData, `/services/data/v62.0/sobjects/ContentVersion/${cv.id}/VersionData`);
    const body = await conn.request<string>({ method: 'GET', url: rec.VersionData });
    assert.equal(body, 'hello from jsforce');
    assert.match(rec.ContentDocumentId, /^069/);
  });
});

/**
 * Publish pipelines from config: validation errors name the place and the fix; table sources (updated-at
 * cursor) and application outbox tables on SQLite and Postgres get Ids written back and are not republished;
 * file sources with transforms (rename, constants, expressions, parent lookups).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { compileTransform, parsePublishPipelines, renderTemplate, runPipeline } from '../../src/engine/publish/index.ts';
import { backends, PG_URL, type Place } from '../store/backends.ts';
import { createOrders } from '../store/publish-fixtures.ts';
import { clientFor, publishEmulator } from './publish-helpers.ts';

describe('publish pipeline config', () => {
  it('accepts the documented shapes', () => {
    const ps = parsePublishPipelines([
      { name: 'orders', source: { table: 'orders', key: 'id', cursor: 'updated_at', writeBack: { id: 'sf_id' } }, target: { object: 'Contact', operation: 'upsert', externalIdField: 'External_Id__c' } },
      { name: 'queue', source: { outbox: 'sf_outbox', key: 'id', processed: 'processed_at', store: 'postgres://u@h/db?schema=app' }, target: { object: 'Contact', operation: 'create', matchFields: ['Idem_Key__c'] } },
      { name: 'file', source: { file: 'x.csv' }, transform: { rename: { a: 'LastName' }, lookups: { Account: { External_Id__c: '{{acct}}' } } }, target: { object: 'Order_Shipped__e', operation: 'insert' } },
    ]);
    assert.deepEqual(ps.map((p) => p.name), ['orders', 'queue', 'file']);
    assert.deepEqual(parsePublishPipelines(undefined), []);
  });

  it('rejects bad entries naming the path and the fix', () => {
    const bad: Array<[unknown, RegExp]> = [
      [[{ name: 'x', source: { table: 't', key: 'id', cursor: 'u' }, target: { object: 'Contact', operation: 'upsert' } }], /publish\[0\]\.target\.externalIdField: upsert needs an external ID field/],
      [[{ name: 'x', source: { table: 't', key: 'id' }, target: { object: 'Contact', operation: 'insert' } }], /publish\[0\]\.source: a source needs one of table \(with cursor\), outbox \(with processed\) or file/],
      [[{ name: 'x', source: { file: 'a.csv' }, target: { object: 'E__e', operation: 'update' } }], /publish\[0\]\.target\.operation: platform events/],
      [[{ name: 'x', source: { file: 'a.csv' }, target: { object: 'Contact', operation: 'merge' } }], /publish\[0\]\.target\.operation/],
      [[{ name: 'x', source: { file: 'a.csv' }, target: { object: 'Contact', operation: 'insert' }, transform: { expressions: { Name: '{{a | shout}}' } } }], /publish\[0\]\.transform: unknown filter "shout"/],
      [[{ name: 'x', source: { file: 'a' }, target: { object: 'Contact', operation: 'insert' } }, { name: 'x', source: { file: 'b' }, target: { object: 'Contact', operation: 'insert' } }], /publish\[1\]\.name: "x" is used twice/],
      [[{ name: 'x', source: { table: 'orders; drop', key: 'id', cursor: 'u' }, target: { object: 'Contact', operation: 'insert' } }], /publish\[0\]\.source/],
    ];
    for (const [value, re] of bad) assert.throws(() => parsePublishPipelines(value, 'publish'), re);
  });

  it('transforms rows: select, rename, drop, constants, typed expressions, lookups', () => {
    const t = compileTransform({ rename: { last: 'LastName', code: 'External_Id__c' }, drop: ['acct', 'first'], constants: { LeadSource: 'Web' }, expressions: { Title: '{{first | upper}} {{last}}', Amount__c: '{{n | number}}', Desc__c: '{{missing | default:"none"}}' }, lookups: { Account: { External_Id__c: '{{acct}}' } } });
    assert.deepEqual(t({ first: 'ada', last: 'Lovelace', code: 'C1', acct: 'ACME', n: '12.5' }), { LastName: 'Lovelace', External_Id__c: 'C1', n: '12.5', LeadSource: 'Web', Title: 'ADA Lovelace', Amount__c: 12.5, Desc__c: 'none', Account: { External_Id__c: 'ACME' } });
    assert.deepEqual(compileTransform({ select: ['a'] })({ a: 1, b: 2 }), { a: 1 });
    assert.equal(renderTemplate('{{x}}', { x: null }), null);
    assert.equal(renderTemplate('{{x.y}}-{{z}}', { x: { y: 3 }, z: 'q' }), '3-q');
  });
});

for (const backend of backends) {
  describe(`publish pipelines over application tables (${backend.name})`, () => {
    const places: Place[] = [];
    after(async () => {
      for (const p of places) await p.cleanup();
    });

    async function touch(place: Place, sql: string): Promise<void> {
      if (place.url.startsWith('sqlite:')) {
        const db = new DatabaseSync(place.url.slice('sqlite:'.length));
        db.exec(sql);
        db.close();
        return;
      }
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      await client.query(`SET search_path TO "${new URL(place.url).searchParams.get('schema')}"`);
      await client.query(sql.replaceAll("'2026-02-01T00:00:00.000Z'", "'2026-02-01T00:00:00Z'::timestamptz"));
      await client.end();
    }

    it('publishes changes found by an updated-at cursor, writes Ids back, and republishes only changed rows', async () => {
      const place = await backend.place(true);
      places.push(place);
      const store = await place.open();
      await store.close();
      await createOrders(place, [[1, 'one', '2026-01-01T00:00:00.000Z'], [2, 'two', '2026-01-02T00:00:00.000Z'], [3, 'bad@', '2026-01-03T00:00:00.000Z']]);
      const [p] = parsePublishPipelines([{
        name: 'orders',
        source: { table: 'orders', key: 'id', cursor: 'updated_at', writeBack: { id: 'sf_id', error: 'sf_error' }, pageSize: 2 },
        transform: { select: ['id', 'name'], rename: { id: 'External_Id__c', name: 'LastName' }, expressions: { Email: '{{name}}@example.com' } },
        target: { object: 'Contact', operation: 'upsert', externalIdField: 'External_Id__c' },
      }]);
      const emu = publishEmulator();
      const client = clientFor(emu);
      const s1 = await runPipeline(p, { client, stateUrl: place.url, publishOptions: { retryBaseDelayMs: 1 } });
      assert.equal(s1.succeeded, 2);
      assert.equal(s1.failed, 1);
      assert.equal(s1.writtenBack, 3);
      const check = await place.open();
      const rows = await (await check.publishState()).readSource('orders', { keyColumn: 'id' });
      const contacts = await client.query("SELECT Id, External_Id__c FROM Contact WHERE External_Id__c != null ORDER BY External_Id__c").toArray();
      assert.deepEqual(rows.map((r) => r.sf_id), [contacts[0].Id, contacts[1].Id, null]);
      assert.match(String(rows[2].sf_error), /^INVALID_EMAIL_ADDRESS: /);
      assert.equal((await (await check.publishState()).listDeadLetters({ pipeline: 'orders' })).length, 1);
      await check.close();

      // Nothing new: nothing sent. A changed row: published again (updated, same Id).
      const s2 = await runPipeline(p, { client, stateUrl: place.url });
      assert.equal(s2.total, 0);
      await touch(place, "UPDATE orders SET name = 'uno', updated_at = '2026-02-01T00:00:00.000Z' WHERE id = 1");
      const s3 = await runPipeline(p, { client, stateUrl: place.url });
      assert.deepEqual([s3.total, s3.succeeded, s3.created], [1, 1, 0]);
      const [c1] = await client.query("SELECT LastName FROM Contact WHERE External_Id__c = '1'").toArray();
      assert.equal(c1.LastName, 'uno');
      emu.close();
    });

    it('drains an application outbox table with a plain insert, marking rows processed', async () => {
      const place = await backend.place(true);
      places.push(place);
      const store = await place.open();
      await store.close();
      await createOrders(place, [[10, 'ten', null], [11, 'eleven', null]]);
      const [p] = parsePublishPipelines([{
        name: 'queue',
        source: { outbox: 'orders', key: 'id', processed: 'processed_at', writeBack: { id: 'sf_id' }, pageSize: 1 },
        transform: { select: ['name', 'id'], rename: { name: 'LastName' }, expressions: { Idem_Key__c: 'order-{{id}}' }, drop: ['id'] },
        target: { object: 'Contact', operation: 'insert', matchFields: ['Idem_Key__c'] },
      }]);
      const emu = publishEmulator();
      const client = clientFor(emu);
      const s1 = await runPipeline(p, { client, stateUrl: place.url });
      assert.deepEqual([s1.succeeded, s1.created, s1.writtenBack], [2, 2, 2]);
      const s2 = await runPipeline(p, { client, stateUrl: place.url });
      assert.equal(s2.total, 0);
      const contacts = await client.query("SELECT Id, LastName, Idem_Key__c FROM Contact WHERE Idem_Key__c LIKE 'order-%' ORDER BY Idem_Key__c").toArray();
      assert.deepEqual(contacts.map((c) => [c.LastName, c.Idem_Key__c]), [['ten', 'order-10'], ['eleven', 'order-11']]);
      emu.close();
    });
  });
}

describe('publish pipeline from a file', () => {
  it('reads CSV with dotted parent columns and applies lookups', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sfb-pub-'));
    writeFileSync(join(dir, 'people.csv'), 'code,last,acct,Email\nP1,Alpha,ACME-1,\nP2,Beta,,b@example.com\n');
    const [p] = parsePublishPipelines([{
      name: 'people',
      source: { file: 'people.csv', key: 'code' },
      transform: { rename: { code: 'External_Id__c', last: 'LastName' }, drop: ['acct'], lookups: { Account: { External_Id__c: '{{acct}}' } } },
      target: { object: 'Contact', operation: 'upsert', externalIdField: 'External_Id__c' },
    }]);
    const emu = publishEmulator();
    const client = clientFor(emu);
    const acct = await client.create('Account', { Name: 'Acme', External_Id__c: 'ACME-1' });
    const s = await runPipeline(p, { client, baseDir: dir, stateUrl: `sqlite:${join(dir, 'state.db')}` });
    assert.equal(s.succeeded, 2);
    const rows = await client.query("SELECT External_Id__c, AccountId, Email FROM Contact WHERE External_Id__c IN ('P1','P2') ORDER BY External_Id__c").toArray();
    assert.deepEqual(rows.map((r) => [r.External_Id__c, r.AccountId, r.Email]), [['P1', acct.id, null], ['P2', null, 'b@example.com']]);
    emu.close();
  });
});

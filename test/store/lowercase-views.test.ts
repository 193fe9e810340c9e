/**
 * Postgres `?views=lowercase`: each mirror table gets a view with lower-case names that BI tools can query
 * unquoted; it follows the table's columns (added, dropped), never replaces a relation of the application's,
 * and goes when the option is switched off. A bad option value is refused naming the one it takes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { openStore } from '../../src/store/index.ts';
import type { FieldSpec } from '../../src/store/types.ts';
import { backends } from './backends.ts';

const postgres = backends.find((b) => b.name === 'postgres')!;

const FIELDS: FieldSpec[] = [
  { name: 'Id', type: 'id', length: 18 },
  { name: 'SystemModstamp', type: 'datetime' },
  { name: 'Name', type: 'string', length: 255 },
  { name: 'BillingCity', type: 'string', length: 40 },
];

describe('Postgres lower-case views', () => {
  it('queries unquoted, follows column changes, leaves application relations alone, goes when switched off', async () => {
    const place = await postgres.place();
    const schema = new URL(place.url).searchParams.get('schema')!;
    const sql = new pg.Client({ connectionString: place.url.replace(/\?.*$/, '') });
    await sql.connect();
    try {
      await sql.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
      // An application table that happens to have a mirror's lower-case name.
      await sql.query(`CREATE TABLE "${schema}".contact (id int)`);
      const store = await openStore(`${place.url}&views=lowercase`);
      await store.ensureTable({ object: 'Account', fields: FIELDS });
      await store.ensureTable({ object: 'Contact', fields: FIELDS });
      await store.upsert('Account', [{ Id: '001000000000001AAA', SystemModstamp: '2024-03-05T17:38:40.000+0000', Name: 'Acme', BillingCity: 'Paris' }]);
      await sql.query(`SET search_path TO "${schema}"`);
      const { rows } = await sql.query('SELECT id, name, billingcity, systemmodstamp, _sfbridge_deleted FROM account');
      assert.deepEqual(rows.map((r) => [r.id, r.name, r.billingcity, r._sfbridge_deleted]), [['001000000000001AAA', 'Acme', 'Paris', false]]);
      assert.ok(rows[0].systemmodstamp instanceof Date);
      assert.deepEqual((await sql.query('SELECT * FROM contact')).fields.map((f) => f.name), ['id'], "the application's table is untouched");
      // A new field, and a field dropped with its data: the view follows.
      await store.ensureTable({ object: 'Account', fields: [...FIELDS.filter((f) => f.name !== 'BillingCity'), { name: 'Industry', type: 'picklist', length: 40 }] }, { drop: ['BillingCity'] });
      const cols = (await sql.query('SELECT * FROM account')).fields.map((f) => f.name);
      assert.ok(cols.includes('industry'));
      assert.equal(cols.includes('billingcity'), false);
      await store.close();
      // Opened without the option: the view goes at the next schema pass, the table stays.
      const plain = await openStore(place.url);
      await plain.ensureTable({ object: 'Account', fields: [...FIELDS.filter((f) => f.name !== 'BillingCity'), { name: 'Industry', type: 'picklist', length: 40 }] });
      assert.equal((await sql.query(`SELECT to_regclass('"${schema}".account') AS r`)).rows[0].r, null);
      assert.equal((await plain.getRecord('Account', '001000000000001AAA'))!.Name, 'Acme');
      await plain.close();
    } finally {
      await sql.end();
      await place.cleanup();
    }
  });

  it('refuses an unknown views= value, naming the one it takes', async () => {
    await assert.rejects(openStore('postgres://postgres@127.0.0.1:5432/test?views=upper'), /views="upper": the one value is views=lowercase/);
  });
});

/** Sync configuration: layers, defaults, validation errors with paths and suggestions, ${ENV} secrets. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { closestName, DEFAULT_STANDARD_OBJECTS, loadSyncConfig, SyncConfigError, validateConfig } from '../../src/engine/config.ts';

const dir = mkdtempSync(join(tmpdir(), 'sfbridge-config-'));
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

describe('sync config', () => {
  it('defaults match what other connectors use', () => {
    const c = validateConfig({});
    assert.deepEqual(c.standardObjects, [...DEFAULT_STANDARD_OBJECTS]);
    assert.deepEqual(c.standardObjects, ['Account', 'Opportunity', 'Contact', 'Lead', 'Campaign', 'Case']);
    assert.equal(c.bulkThreshold, 2000);
    assert.equal(c.lagMs, 300_000);
    assert.equal(c.syncCustomObjects, false);
    assert.equal(c.store, 'sqlite:./data/sfbridge.db');
    assert.equal(c.documents.enabled, false);
  });

  it('two-way keys: writable, conflict and idempotency_field, checked together', () => {
    const c = validateConfig({ objects: { Account: { writable: true, conflict: 'last_modified_wins', idempotency_field: 'Sfbridge_Key__c' }, Contact: { writable: true } } });
    assert.deepEqual(c.objects.Account, { writable: true, conflict: 'last_modified_wins', idempotencyField: 'Sfbridge_Key__c' });
    assert.deepEqual(c.objects.Contact, { writable: true });
    assert.throws(() => validateConfig({ objects: { Account: { conflict: 'salesforce_wins' } } }), /objects\.Account\.conflict: applies to a writable table only: add writable: true/);
    assert.throws(() => validateConfig({ objects: { Account: { writable: true, conflict: 'app_wins' } } }), /objects\.Account\.conflict: .*salesforce_wins.*last_modified_wins/);
    assert.throws(() => validateConfig({ objects: { Account: { writable: true, transform: { rename: { Name: 'Title' } } } } }), /objects\.Account\.writable: a transformed table cannot be written back/);
  });

  it('rejects an unknown key with its path and the closest valid name', () => {
    assert.throws(() => validateConfig({ standard_object_to_sync: ['Account'] }), (err: unknown) => {
      assert.ok(err instanceof SyncConfigError);
      assert.equal(err.path, 'standard_object_to_sync');
      assert.match(err.message, /did you mean "standard_objects_to_sync"\?/);
      return true;
    });
    assert.throws(() => validateConfig({ objects: { Account: { fields: { exclud: ['Description'] } } } }), /objects\.Account\.fields\.exclud: unknown key "exclud" — did you mean "exclude"\?/);
    assert.throws(() => validateConfig({ documents: { enabeld: true } }), /documents\.enabeld: .*did you mean "enabled"/);
    assert.throws(() => validateConfig({ connection: { client_secrt: 'x' } }), /connection\.client_secrt: .*did you mean "client_secret"/);
    assert.throws(() => validateConfig({ zzzzzzzz: 1 }), (err: unknown) => err instanceof SyncConfigError && !/did you mean/.test(err.message) && /valid keys here: connection/.test(err.message));
  });

  it('rejects bad values with the path and the expected form', () => {
    assert.throws(() => validateConfig({ lag: 'soon' }), /^SyncConfigError: lag: must be a duration like 30s/);
    assert.throws(() => validateConfig({ bulk_threshold: -1 }), /bulk_threshold:/);
    assert.throws(() => validateConfig({ standard_objects_to_sync: ['Account; DROP'] }), /standard_objects_to_sync\.0: must be an API name/);
  });

  it('interpolates ${ENV} secrets and names a missing variable', async () => {
    const p = file('a.yaml', 'connection:\n  client_id: ${SF_TEST_ID}\n  client_secret: "${SF_TEST_SECRET}"\nlag: 2m\n');
    const c = await loadSyncConfig({ file: p, env: { SF_TEST_ID: 'id-1', SF_TEST_SECRET: 's3cret' } });
    assert.equal(c.connection.client_id, 'id-1');
    assert.equal(c.connection.client_secret, 's3cret');
    assert.equal(c.lagMs, 120_000);
    await assert.rejects(loadSyncConfig({ file: p, env: { SF_TEST_ID: 'id-1' } }), (err: unknown) => {
      assert.ok(err instanceof SyncConfigError);
      assert.equal(err.path, 'connection.client_secret');
      assert.match(err.message, /environment variable SF_TEST_SECRET is not set/);
      return true;
    });
  });

  it('layers: defaults ← file ← env ← flags', async () => {
    const p = file('b.yaml', 'store: sqlite:./from-file.db\ninterval: 10m\nlag: 1m\ncustom_objects_to_sync: "*"\nobjects:\n  Account:\n    fields:\n      exclude: [Description]\n');
    const fromFile = await loadSyncConfig({ file: p, env: {} });
    assert.equal(fromFile.store, 'sqlite:./from-file.db');
    assert.equal(fromFile.intervalMs, 600_000);
    assert.equal(fromFile.customObjects, '*');
    assert.deepEqual(fromFile.objects.Account.fields, { exclude: ['Description'] });
    const withEnv = await loadSyncConfig({ file: p, env: { SFBRIDGE_LAG: '30s', SFBRIDGE_STORE: 'sqlite::memory:' } });
    assert.equal(withEnv.lagMs, 30_000);
    assert.equal(withEnv.store, 'sqlite::memory:');
    const withFlags = await loadSyncConfig({ file: p, env: { SFBRIDGE_LAG: '30s' }, flags: { lag: '5s', objects: ['Lead'], store: 'postgres://u@h/db', bulkThreshold: '50' } });
    assert.equal(withFlags.lagMs, 5000);
    assert.deepEqual(withFlags.standardObjects, ['Lead']);
    assert.equal(withFlags.store, 'postgres://u@h/db');
    assert.equal(withFlags.bulkThreshold, 50);
    assert.equal(withFlags.intervalMs, 600_000, 'untouched keys keep the file value');
  });

  it('suggests only plausible names', () => {
    assert.equal(closestName('intervl', ['interval', 'lag']), 'interval');
    assert.equal(closestName('qqqqqqqq', ['interval', 'lag']), undefined);
  });

  it('validates publish pipelines with the rest of the file, naming the bad place', () => {
    const ok = validateConfig({
      publish: [{ name: 'orders', source: { file: 'orders.jsonl' }, target: { object: 'Contact', operation: 'upsert', externalIdField: 'External_Id__c' } }],
    });
    assert.equal(ok.publish.length, 1);
    assert.equal(ok.publish[0].name, 'orders');
    assert.deepEqual(validateConfig({}).publish, []);
    assert.throws(
      () => validateConfig({ publish: [{ name: 'orders', source: { file: 'orders.jsonl' }, target: { object: 'Contact', operation: 'upsert' } }] }),
      (err: unknown) => err instanceof SyncConfigError && /publish\[0\]\.target/.test(err.message) && /external ID field/i.test(err.message),
    );
  });
});

/**
 * Excluding fields from a mirror that already holds them (PII taken out): the columns leave the mirror with
 * their data, on SQLite and Postgres alike, with a warning that says so; the guard and key columns stay,
 * other columns keep their values, and including the field again brings it back with the org's values.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { SyncEvents } from '../../src/engine/events.ts';
import type { Store } from '../../src/store/types.ts';
import { backends, emulator, fresh, mirrorDiff, sync } from './helpers.ts';

for (const backend of backends) {
  describe(`excluded fields on ${backend.name}`, () => {
    let store: Store;
    let done: () => Promise<void>;
    beforeEach(async () => {
      ({ store, done } = await fresh(backend));
    });
    afterEach(async () => done());

    it('drops the columns of fields newly excluded, with their data, and says so; re-including reads them back', async () => {
      const emu = await emulator('Account=20');
      await sync(emu, store, ['Account']);
      const columns = async () => ((await store.describeTable('Account')) ?? []).map((f) => f.name);
      assert.ok((await columns()).includes('Phone'));
      const events = new SyncEvents();
      const warnings: { code: string; message: string }[] = [];
      events.on('warning', (e) => warnings.push({ code: e.code, message: e.message }));
      const run = await sync(emu, store, ['Account'], { events, objectSettings: { Account: { fields: { exclude: ['Phone', 'Website', 'SystemModstamp'] } } } });
      assert.equal(run.status, 'succeeded');
      const after = await columns();
      assert.equal(after.includes('Phone'), false);
      assert.equal(after.includes('Website'), false);
      assert.ok(after.includes('SystemModstamp') && after.includes('Id') && after.includes('Name'), 'guard, key and other columns stay');
      const excluded = warnings.find((w) => w.code === 'FIELDS_EXCLUDED');
      assert.equal(excluded?.message, 'Account: Phone, Website are excluded by objects.Account.fields: their columns were dropped from the mirror with their data');
      assert.equal(warnings.some((w) => w.code === 'FIELDS_REMOVED'), false, 'not reported as fields the org lost');
      let id = '';
      for await (const i of store.listIds('Account')) id ||= i;
      const row = (await store.getRecord('Account', id))!;
      assert.equal('Phone' in row, false);
      assert.ok(row.Name, 'other values kept');

      // A later cycle with the same exclusion does nothing more.
      const quiet: string[] = [];
      const again = new SyncEvents();
      again.on('warning', (e) => quiet.push(e.code));
      await sync(emu, store, ['Account'], { events: again, objectSettings: { Account: { fields: { exclude: ['Phone', 'Website', 'SystemModstamp'] } } }, schemaRefreshMs: 0 });
      quiet.splice(0, quiet.length, ...quiet.filter((c) => c.startsWith('FIELDS_') || c === 'RELOAD'));
      assert.deepEqual(quiet, []);

      // Included again: the column comes back with the org's values.
      await sync(emu, store, ['Account']);
      assert.ok((await columns()).includes('Phone'));
      assert.deepEqual(await mirrorDiff(emu, store, 'Account'), []);
      emu.close();
    });
  });
}

/**
 * The sync engine against the in-process emulator, on both stores (SQLite in memory and a private Postgres
 * schema): initial loads, updates, soft and hard deletes, late commits, schema change, formula refresh, the
 * API budget, search documents and per-run stats.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { hardDeleteRecord } from '../../src/emulator/dml.ts';
import { SyncEvents } from '../../src/engine/events.ts';
import { bulkOf } from '../../src/engine/sync/bulk.ts';
import type { DocumentBuilder } from '../../src/engine/sync/runner.ts';
import type { Store } from '../../src/store/types.ts';
import { backends, clientFor, emulator, fresh, mirrorDiff, sync } from './helpers.ts';

const HAS_BULK = await (async () => {
  const emu = await emulator();
  const has = Boolean(bulkOf(clientFor(emu)));
  emu.close();
  return has;
})();

async function createAccounts(emu: Awaited<ReturnType<typeof emulator>>, n: number, prefix = 'Acct'): Promise<string[]> {
  const c = clientFor(emu, { governor: false });
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push((await c.create('Account', { Name: `${prefix} ${i}`, Industry: 'Banking', NumberOfEmployees: i })).id);
  return ids;
}

for (const backend of backends) {
  describe(`sync engine on ${backend.name}`, () => {
    // A fresh store per test: checkpoints are per object name, and every test has its own org.
    let store: Store;
    let done: () => Promise<void>;
    beforeEach(async () => {
      ({ store, done } = await fresh(backend));
    });
    afterEach(async () => done());

    it('initial REST load mirrors every row and field, then updates, soft deletes and records runs', async () => {
      const emu = await emulator('Account=30,Contact=60');
      const events = new SyncEvents();
      const seen: string[] = [];
      events.on('object:started', (e) => seen.push(`${e.object}:${e.mode}`));
      const run = await sync(emu, store, ['Account', 'Contact'], { events, bulkThreshold: 1000 });
      assert.equal(run.status, 'succeeded');
      assert.deepEqual(seen, ['Account:rest', 'Contact:rest']);
      assert.deepEqual(await mirrorDiff(emu, store, 'Account'), []);
      assert.deepEqual(await mirrorDiff(emu, store, 'Contact'), []);
      assert.equal(run.objects.find((o) => o.object === 'Contact')!.written, 60);
      assert.ok(run.apiCalls > 0);

      const w = clientFor(emu, { governor: false });
      const [a] = (await w.query<{ Id: string }>('SELECT Id FROM Account ORDER BY Name LIMIT 2').toArray()).map((r) => r.Id);
      const victim = (await w.query<{ Id: string }>('SELECT Id FROM Contact LIMIT 1').toArray())[0].Id;
      await sleep(5); // a new SystemModstamp
      await w.update('Account', a, { Name: 'Renamed Inc', Industry: 'Retail' });
      await w.delete('Contact', victim);
      const run2 = await sync(emu, store, ['Account', 'Contact']);
      assert.equal(run2.status, 'succeeded');
      assert.equal((await store.getRecord('Account', a))!.Name, 'Renamed Inc');
      assert.equal(await store.getRecord('Contact', victim), undefined);
      assert.ok(await store.getTombstone('Contact', victim), 'a soft delete leaves a tombstone');
      assert.equal(run2.objects.find((o) => o.object === 'Contact')!.deleted, 1);
      assert.deepEqual(await mirrorDiff(emu, store, 'Account'), []);
      assert.deepEqual(await mirrorDiff(emu, store, 'Contact'), []);

      const runs = await store.listRuns(2);
      assert.equal(runs[0].status, 'succeeded');
      assert.equal(runs[0].objects.Contact.deleted, 1);
      assert.equal(runs[1].objects.Contact.written, 60);
      emu.close();
    });

    it('an idle incremental cycle makes one API call per object, plus the COUNT() that catches hard deletes', async () => {
      const emu = await emulator('Account=10,Lead=10');
      await sync(emu, store, ['Account', 'Lead'], { schemaRefreshMs: 3_600_000 });
      const before = emu.org.apiUsage;
      const run = await sync(emu, store, ['Account', 'Lead'], { schemaRefreshMs: 3_600_000, reconcileMs: 3_600_000, countCheck: false });
      assert.equal(run.status, 'succeeded');
      assert.equal(run.apiCalls, 2);
      // The governor's first reading comes from the first response's header: no /limits call of its own.
      assert.equal(emu.org.apiUsage - before, 2, `org counted ${emu.org.apiUsage - before} calls`);
      const counted = await sync(emu, store, ['Account', 'Lead'], { schemaRefreshMs: 3_600_000, reconcileMs: 3_600_000 });
      assert.equal(counted.apiCalls, 4);
      emu.close();
    });

    it('initial Bulk load when COUNT() reaches the threshold', { skip: !HAS_BULK && 'client.bulk is not in this build' }, async () => {
      const emu = await emulator('Account=120');
      const seen: string[] = [];
      const events = new SyncEvents();
      events.on('object:started', (e) => seen.push(e.mode));
      const run = await sync(emu, store, ['Account'], { events, bulkThreshold: 100, batchSize: 50 });
      assert.equal(run.status, 'succeeded', run.error);
      assert.deepEqual(seen, ['bulk']);
      assert.deepEqual(await mirrorDiff(emu, store, 'Account'), []);
      // After the export, incremental reads continue from the largest stamp it saw.
      const [id] = await createAccounts(emu, 1, 'After bulk');
      await sync(emu, store, ['Account'], { bulkThreshold: 100 });
      assert.equal((await store.getRecord('Account', id))!.Name, 'After bulk 0');
      emu.close();
    });

    it('the catch-up after a Bulk snapshot does not count the lag window twice: read and written add up to the rows', { skip: !HAS_BULK && 'client.bulk is not in this build' }, async () => {
      const emu = await emulator();
      // Records created just now all sit inside the 5-minute lag window the catch-up reads again.
      const ids = await createAccounts(emu, 150, 'Fresh');
      const events = new SyncEvents();
      const batches: number[] = [];
      events.on('object:batch', (e) => batches.push(e.read));
      const run = await sync(emu, store, ['Account'], { events, bulkThreshold: 100, batchSize: 50, lagMs: 5 * 60_000 });
      assert.equal(run.status, 'succeeded', run.error);
      assert.equal(run.objects[0].mode, 'bulk');
      assert.equal(run.objects[0].read, 150);
      assert.equal(run.objects[0].written, 150);
      assert.ok(batches.every((n) => n <= 150), `progress never passes the total: ${batches.join(', ')}`);
      // A record changed after the snapshot still counts once.
      const again = await sync(emu, store, ['Account'], { bulkThreshold: 100, lagMs: 5 * 60_000 });
      assert.equal(again.objects[0].mode, 'incremental');
      assert.equal(await store.count('Account'), ids.length);
      emu.close();
    });

    it('an interrupted Bulk export resumes its job where the last commit ended', { skip: !HAS_BULK && 'client.bulk is not in this build' }, async () => {
      const emu = await emulator('Contact=230');
      const controller = new AbortController();
      const events = new SyncEvents();
      events.on('object:batch', () => controller.abort());
      const first = await sync(emu, store, ['Contact'], { events, signal: controller.signal, bulkThreshold: 100, batchSize: 100 });
      assert.equal(first.status, 'aborted');
      assert.equal(await store.count('Contact'), 100);
      const cp = await store.getCheckpoint('Contact');
      assert.equal(cp?.cursor, null, 'no cursor until the export completes');
      const progress = cp?.extra?.bulk as { jobId: string; skip: number };
      assert.equal(progress.skip, 100);
      // Contacts created after the job's snapshot: the resumed export cannot contain them, so the run that
      // finishes it must catch up before it reports success (the mirror diff below checks them).
      const later = clientFor(emu, { governor: false });
      for (let i = 0; i < 3; i++) await later.create('Contact', { LastName: `After snapshot ${i}` });
      const ev2 = new SyncEvents();
      const modes: string[] = [];
      let read = 0;
      ev2.on('object:started', (e) => modes.push(e.mode));
      // Bulk batches only: after the export, the same run catches up incrementally (records in the lag window).
      ev2.on('object:batch', (e) => {
        if (e.mode === 'bulk') read = e.read;
      });
      ev2.on('warning', (e) => e.code !== 'LAG_TOO_SHORT' && modes.push(e.code));
      const second = await sync(emu, store, ['Contact'], { events: ev2, bulkThreshold: 100, batchSize: 100 });
      assert.equal(second.status, 'succeeded', second.error);
      assert.deepEqual(modes, ['bulk'], 'resumed the same job, no new export');
      assert.equal(read, 130, 'only the records after the last commit were read');
      assert.ok((await store.getCheckpoint('Contact'))?.cursor);
      assert.deepEqual(await mirrorDiff(emu, store, 'Contact'), []);
      emu.close();
    });

    it('hard deletes and purges are found by Id reconciliation', async () => {
      const emu = await emulator();
      const ids = await createAccounts(emu, 5, 'Hard');
      await sync(emu, store, ['Account']);
      const def = emu.org.schema.get('Account')!;
      hardDeleteRecord(emu.org, def, ids[0]);
      // Deleted, then purged from the recycle bin before the engine saw the soft delete.
      await clientFor(emu, { governor: false }).delete('Account', ids[1]);
      hardDeleteRecord(emu.org, def, ids[1]);
      const quiet = await sync(emu, store, ['Account'], { reconcileMs: 3_600_000, countCheck: false });
      assert.equal(quiet.status, 'succeeded');
      assert.ok(await store.getRecord('Account', ids[0]), 'the incremental read cannot see a purge');
      const run = await sync(emu, store, ['Account'], { force: { reconcile: true } });
      assert.equal(run.objects[0].deleted, 2);
      assert.equal(await store.getRecord('Account', ids[0]), undefined);
      assert.equal(await store.getRecord('Account', ids[1]), undefined);
      assert.ok(await store.getTombstone('Account', ids[0]));
      assert.ok(await store.getRecord('Account', ids[2]));
      assert.deepEqual(await mirrorDiff(emu, store, 'Account'), []);
      emu.close();
    });

    it('a late commit (commitDelay) is picked up with lag ≥ delay, and would be lost without it', async () => {
      const outcome = async (lagMs: number) => {
        let rnd = 0;
        const emu = await emulator('none', { random: () => rnd });
        const T = Math.ceil(Date.now() / 1000) * 1000 + 10_000;
        emu.org.clock.set(T, true);
        await createAccounts(emu, 1, 'Base');
        // Each org numbers its Ids from the same sequence: give each its own store.
        const own = await fresh(backend);
        const s = own.store;
        await sync(emu, s, ['Account'], { lagMs });
        emu.org.faults.settings.commitDelay = 3000;
        emu.org.clock.set(T + 100, true);
        rnd = 0.9; // stamped T+100, visible from T+2800
        const [late] = await createAccounts(emu, 1, 'Late');
        emu.org.clock.set(T + 1500, true);
        rnd = 0; // stamped T+1500, visible at once
        const [early] = await createAccounts(emu, 1, 'Early');
        emu.org.clock.set(T + 2000, true);
        await sync(emu, s, ['Account'], { lagMs });
        assert.ok(await s.getRecord('Account', early));
        assert.equal(await s.getRecord('Account', late), undefined, 'not yet committed at the first read');
        emu.org.clock.set(T + 4000, true);
        await sync(emu, s, ['Account'], { lagMs });
        const got = Boolean(await s.getRecord('Account', late));
        emu.close();
        await own.done();
        return got;
      };
      assert.equal(await outcome(3000), true, 'lag 3 s ≥ commitDelay 3 s: the late row arrives');
      assert.equal(await outcome(0), false, 'control: without a lag window the same row is lost');
    });

    it('concurrent writes under commitDelay: every row arrives', async () => {
      const emu = await emulator('Contact=20', { faults: { ...(await import('../../src/emulator/faults.ts')).DEFAULT_FAULTS, commitDelay: 300 } });
      const w = clientFor(emu, { governor: false });
      let writing = true;
      let written = 0;
      const writer = (async () => {
        const ids = (await w.query<{ Id: string }>('SELECT Id FROM Contact').toArray()).map((r) => r.Id);
        for (let i = 0; writing; i++) {
          if (i % 3 === 0) ids.push((await w.create('Contact', { LastName: `Late ${i}` })).id);
          else await w.update('Contact', ids[i % ids.length], { Title: `Title ${i}` });
          written++;
          await sleep(3);
        }
      })();
      // The count check stays on: while an update commits, the org keeps showing the record's last committed
      // version, so a COUNT() (and the Id reconciliation it may start) taken then sees every record. The lag is
      // ten times the commit delay, so a loaded machine's pauses do not push a commit past it.
      for (let i = 0; i < 8; i++) {
        const r = await sync(emu, store, ['Contact'], { lagMs: 3000 });
        assert.equal(r.status, 'succeeded', r.error);
        await sleep(60);
      }
      writing = false;
      await writer;
      await sleep(350); // every pending commit becomes visible
      await sync(emu, store, ['Contact'], { lagMs: 3000 });
      assert.ok(written > 30, `writer made ${written} writes`);
      assert.deepEqual(await mirrorDiff(emu, store, 'Contact', 20), []);
      emu.close();
    });

    it('a field added to the org becomes a column; a removed one is reported', async () => {
      const emu = await emulator();
      const [id, old] = await createAccounts(emu, 2, 'Schema');
      emu.org.clock.advance(3000); // the rows above fall behind the incremental window
      await createAccounts(emu, 1, 'Newer');
      await sync(emu, store, ['Account']);
      const def = emu.org.schema.get('Account')!;
      emu.org.schema.add({ ...def, fields: [...def.fields, { name: 'Tier__c', type: 'string', length: 20, label: 'Tier' }] });
      emu.org.store.ensureTable(emu.org.schema.get('Account')!);
      // A value that arrives without moving SystemModstamp (a default applied when the field was created).
      emu.org.store.db.prepare("UPDATE Account SET Tier__c = 'Silver' WHERE Id = ?").run(old);
      await clientFor(emu, { governor: false }).update('Account', id, { Tier__c: 'Gold' });
      const events = new SyncEvents();
      const schema: string[][] = [];
      events.on('object:schema', (e) => schema.push(e.added));
      await sync(emu, store, ['Account'], { events });
      assert.deepEqual(schema, [['Tier__c']]);
      assert.equal((await store.getRecord('Account', id))!.Tier__c, 'Gold');
      assert.equal((await store.getRecord('Account', old))!.Tier__c, 'Silver', 'existing rows are backfilled');
      assert.deepEqual(await mirrorDiff(emu, store, 'Account'), []);
      // Excluding a field the org still has: its column leaves the mirror (tested in sync-exclude.test.ts).
      const warnings: string[] = [];
      const ev2 = new SyncEvents();
      ev2.on('warning', (e) => warnings.push(e.code));
      await sync(emu, store, ['Account'], { events: ev2, fieldFilters: { Account: { exclude: ['Tier__c'] } } });
      assert.ok(warnings.includes('FIELDS_EXCLUDED'), warnings.join());
      assert.equal((await store.getRecord('Account', id))!.Tier__c, undefined);
      emu.close();
    });

    it('formula fields are refreshed on their own schedule', async () => {
      const emu = await emulator();
      const w = clientFor(emu, { governor: false });
      const { id } = await w.create('Opportunity', { Name: 'Big deal', StageName: 'Prospecting', CloseDate: '2030-01-01', Amount: 1000, Probability: 50 });
      emu.org.clock.advance(5000);
      await w.create('Opportunity', { Name: 'Later deal', StageName: 'Prospecting', CloseDate: '2030-01-01', Amount: 10, Probability: 10 });
      await sync(emu, store, ['Opportunity']);
      assert.equal((await store.getRecord('Opportunity', id))!.ExpectedRevenue, 500);
      // The formula's inputs change without moving SystemModstamp (as a cross-object formula would).
      emu.org.store.db.prepare('UPDATE Opportunity SET Amount = 3000 WHERE Id = ?').run(id);
      await sync(emu, store, ['Opportunity'], { formulaRefreshMs: 3_600_000 });
      assert.equal((await store.getRecord('Opportunity', id))!.ExpectedRevenue, 500, 'incremental reads cannot see it');
      const events = new SyncEvents();
      let refreshed = 0;
      events.on('object:formulas', (e) => (refreshed += e.records));
      await sync(emu, store, ['Opportunity'], { events, force: { formulas: true } });
      assert.ok(refreshed >= 1);
      const rec = (await store.getRecord('Opportunity', id))!;
      assert.equal(rec.ExpectedRevenue, 1500);
      assert.equal(rec.Amount, 1000, 'only formula fields are rewritten by the refresh');
      emu.close();
    });

    it('a spent run budget fails the run visibly (governor), never a silent success', async () => {
      const emu = await emulator('Account=10,Contact=10,Lead=10,Case=10');
      const events = new SyncEvents();
      const refused: string[] = [];
      events.on('budget:refused', (e) => refused.push(e.code));
      const run = await sync(emu, store, ['Account', 'Contact', 'Lead', 'Case'], { events, client: clientFor(emu, { governor: { runShare: 0.00004 } }) });
      assert.equal(run.status, 'failed');
      assert.deepEqual(refused, ['RUN_BUDGET_EXCEEDED']);
      assert.match(run.error!, /API budget for this run is spent: \d+ of \d+ calls/);
      assert.ok(run.objects.length < 4, 'the run stops at the refusal');
      assert.equal((await store.listRuns(1))[0].status, 'failed');
      emu.close();
    });

    it('the org daily limit (dailyLimit fault) fails the run; pause mode reports the pause first', async () => {
      const emu = await emulator('Account=10,Contact=10');
      emu.org.faults.settings.dailyLimit = emu.org.apiUsage + 3;
      const run = await sync(emu, store, ['Account', 'Contact'], { client: clientFor(emu, { governor: false }) });
      assert.equal(run.status, 'failed');
      assert.match(run.error!, /REQUEST_LIMIT_EXCEEDED/);

      const emu2 = await emulator('Account=10');
      emu2.org.faults.settings.dailyLimit = 100;
      emu2.org.apiUsage = 79;
      const events = new SyncEvents();
      const seen: string[] = [];
      events.on('budget:paused', (e) => seen.push(`paused ${e.numbers.used}/${e.numbers.max}`));
      events.on('budget:refused', (e) => seen.push(`refused ${e.code}`));
      const run2 = await sync(emu2, store, ['Account'], { events, client: clientFor(emu2, { governor: { onCeiling: 'pause', pausePollMs: 5, maxPauseMs: 30 } }) });
      assert.equal(run2.status, 'failed');
      assert.match(seen[0], /^paused \d+\/100$/);
      assert.equal(seen.at(-1), 'refused ORG_CEILING_REACHED');
      emu.close();
      emu2.close();
    });

    it('search documents are written with their rows and removed with deletes', async () => {
      const emu = await emulator();
      const ids = await createAccounts(emu, 3, 'Zyxwv');
      const builder: DocumentBuilder = {
        queryFields: () => ['Owner.Name'],
        async build(object, records) {
          return records.map((r) => ({
            id: String(r.Id), type: object, title: String(r.Name), url: null, created: null, updated: null,
            owner: ((r.Owner as { Name?: string } | null)?.Name ?? (r['Owner.Name'] as string | undefined)) ?? null,
            tags: [], categories: [`Standard Objects/${object}`], content: String(r.Name), raw: null,
          }));
        },
      };
      await sync(emu, store, ['Account'], { documents: builder });
      const hits = await store.search('Zyxwv', { type: 'Account' });
      assert.equal(hits.length, 3);
      assert.ok(await store.getRecord('Account', ids[0]));
      await clientFor(emu, { governor: false }).delete('Account', ids[0]);
      await sync(emu, store, ['Account'], { documents: builder });
      assert.deepEqual((await store.search('Zyxwv', { type: 'Account' })).map((h) => h.id).sort(), ids.slice(1).sort());
      emu.close();
    });

    it('Ctrl-C (abort) commits the current page and stops with status aborted', async () => {
      const emu = await emulator('Contact=450');
      const controller = new AbortController();
      const events = new SyncEvents();
      events.on('object:batch', () => controller.abort());
      const run = await sync(emu, store, ['Contact'], { events, signal: controller.signal, pageSize: 200 });
      assert.equal(run.status, 'aborted');
      const partial = await store.count('Contact');
      assert.ok(partial > 0, 'the first page is committed');
      const cp = await store.getCheckpoint('Contact');
      assert.ok(cp?.cursor, 'with its checkpoint');
      const rest = await sync(emu, store, ['Contact']);
      assert.equal(rest.status, 'succeeded');
      assert.deepEqual(await mirrorDiff(emu, store, 'Contact'), []);
      emu.close();
    });
  });
}

/**
 * Two-way sync against the emulator, on SQLite and the local Postgres: an application's writes to a
 * writable mirror table reach Salesforce (insert with the new Id written back, update, delete) exactly once;
 * Salesforce's changes reach the mirror; a record edited on both sides gets the conflict policy and a
 * conflict row with both versions; sfbridge's own writes come back without being sent again, and 100 idle
 * cycles move neither the emulator's write counter nor any mirror row.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ALL_CHANGES_CHANNEL } from '../../src/emulator/events/bus.ts';
import type { Emulator } from '../../src/emulator/app.ts';
import type { ObjectSettings } from '../../src/engine/config.ts';
import { SyncEvents } from '../../src/engine/events.ts';
import type { Store } from '../../src/store/types.ts';
import { appSql, type Place } from '../store/backends.ts';
import { backends, clientFor, emulator, sync } from './helpers.ts';
import { publishEmulator } from './publish-helpers.ts';
import { seedOrg } from '../../src/emulator/seed/index.ts';

const MIN = 60_000;

interface Rig {
  emu: Emulator;
  store: Store;
  app: Awaited<ReturnType<typeof appSql>>;
  writes: () => number;
  /** One sync cycle of Account with the given settings. */
  cycle(settings?: ObjectSettings): ReturnType<typeof sync>;
  /** A write in Salesforce by someone else, one second after the previous one on the org clock. */
  sfUpdate(id: string, fields: Record<string, unknown>): Promise<void>;
  sfRecord(id: string): Promise<Record<string, unknown> | undefined>;
  close(): Promise<void>;
}

async function rig(place: Place, backend: string, settings: ObjectSettings = { writable: true }): Promise<Rig> {
  const emu = await emulator('none');
  // A frozen org clock, moved on by hand: every Salesforce write gets a distinct, known stamp.
  emu.org.clock.set(Date.now() - 30 * MIN, true);
  const client = clientFor(emu, { governor: false });
  for (let i = 1; i <= 3; i++) await client.create('Account', { Name: `Acme ${i}`, Industry: 'Banking' });
  let writes = 0;
  emu.org.events.on('write', () => writes++);
  const store = await place.open();
  const cycle = (s: ObjectSettings = settings) => {
    emu.org.clock.advance(1000);
    return sync(emu, store, ['Account'], { objectSettings: { Account: s }, countCheck: false });
  };
  const first = await cycle();
  assert.equal(first.status, 'succeeded', first.error);
  const app = await appSql(place, backend);
  return {
    emu, store, app, writes: () => writes, cycle,
    async sfUpdate(id, fields) {
      emu.org.clock.advance(1000);
      await client.update('Account', id, fields);
    },
    async sfRecord(id) {
      const [r] = await collectQuery(client, `SELECT Id, Name, Industry, Phone FROM Account WHERE Id = '${id}'`);
      return r;
    },
    async close() {
      await app.close();
      await store.close();
      emu.close();
    },
  };
}

async function collectQuery(client: ReturnType<typeof clientFor>, soql: string): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for await (const r of client.query(soql)) out.push(r as Record<string, unknown>);
  return out;
}

async function ids(store: Store): Promise<string[]> {
  const out: string[] = [];
  for await (const id of store.listIds('Account')) out.push(id);
  return out;
}

async function rows(store: Store): Promise<Map<string, unknown>> {
  const out = new Map<string, unknown>();
  for (const id of await ids(store)) out.set(id, await store.getRecord('Account', id));
  return out;
}

for (const backend of backends) {
  describe(`two-way sync (${backend.name})`, () => {
    test('application inserts, updates and deletes reach Salesforce once; the insert gets its Salesforce Id; changes made in Salesforce reach the mirror', async () => {
      const place = await backend.place(true);
      const r = await rig(place, backend.name);
      try {
        const [a, b, c] = await ids(r.store);
        await r.app.run(`UPDATE "Account" SET "Industry" = ?, "Phone" = ? WHERE "Id" = ?`, ['Energy', '555-0100', a]);
        await r.app.run(`DELETE FROM "Account" WHERE "Id" = ?`, [b]);
        if (backend.name === 'postgres') await r.app.run(`INSERT INTO "Account" ("Name", "Industry") VALUES (?, ?)`, ['Made by the app', 'Media']);
        else await r.app.run(`INSERT INTO "Account" ("Id", "Name", "Industry") VALUES (?, ?, ?)`, ['new-app-0001', 'Made by the app', 'Media']);
        const before = r.writes();
        const run = await r.cycle();
        assert.equal(run.status, 'succeeded', run.error);
        assert.deepEqual({ ...run.objects[0].pushed }, { changes: 3, inserted: 1, updated: 1, deleted: 1, failed: 0, skipped: 0, conflicts: 0, echoes: 0 });
        assert.equal(r.writes() - before, 3, 'one Salesforce write per application change');
        assert.deepEqual(await r.sfRecord(a).then((x) => [x?.Industry, x?.Phone]), ['Energy', '555-0100']);
        assert.equal(await r.sfRecord(b), undefined);
        const created = (await collectQuery(clientFor(r.emu), "SELECT Id, Industry FROM Account WHERE Name = 'Made by the app'"));
        assert.equal(created.length, 1);
        const newId = String(created[0].Id);
        assert.ok((await ids(r.store)).includes(newId), 'the mirror row carries the Salesforce Id');
        assert.equal((await ids(r.store)).filter((id) => id.startsWith('new-')).length, 0);
        // sfbridge's writes carry Sforce-Call-Options client=sfbridge, which change events show as their origin.
        const origins = r.emu.org.bus.read(ALL_CHANGES_CHANNEL, 0, 1000).filter((e) => e.body.kind === 'change' && e.body.header.recordIds.includes(a)).map((e) => (e.body.kind === 'change' ? e.body.header.changeOrigin : ''));
        assert.match(origins.at(-1)!, /client=sfbridge/);

        // The next cycle reads the written versions back: applied, nothing sent again.
        const echoed = r.writes();
        const back = await r.cycle();
        assert.equal(back.objects[0].pushed?.changes, 0);
        assert.equal(r.writes(), echoed);
        assert.equal((await r.store.getRecord('Account', newId))?.Industry, 'Media');

        // A change made in Salesforce reaches the mirror and is not sent back.
        await r.sfUpdate(c, { Name: 'Renamed in Salesforce' });
        const pulled = await r.cycle();
        assert.equal((await r.store.getRecord('Account', c))?.Name, 'Renamed in Salesforce');
        assert.equal(pulled.objects[0].pushed?.changes, 0);
        const cap = await r.store.writeCapture();
        assert.deepEqual(await cap.conflicts(), []);
        assert.equal((await cap.counts('Account')).pending, 0);
      } finally {
        await r.close();
        await place.cleanup();
      }
    });

    test('salesforce_wins: a record edited on both sides takes Salesforce\'s version, with a conflict row holding both', async () => {
      const place = await backend.place(true);
      const r = await rig(place, backend.name);
      try {
        const [a] = await ids(r.store);
        await r.sfUpdate(a, { Industry: 'Retail' });
        await r.app.run(`UPDATE "Account" SET "Industry" = ? WHERE "Id" = ?`, ['Energy', a]);
        const before = r.writes();
        const run = await r.cycle();
        assert.equal(run.objects[0].pushed?.conflicts, 1);
        assert.equal(r.writes(), before, 'nothing written to Salesforce');
        assert.equal((await r.sfRecord(a))?.Industry, 'Retail');
        assert.equal((await r.store.getRecord('Account', a))?.Industry, 'Retail');
        const [conflict] = await (await r.store.writeCapture()).conflicts();
        assert.deepEqual([conflict.recordId, conflict.policy, conflict.winner, conflict.fields], [a, 'salesforce_wins', 'salesforce', ['Industry']]);
        assert.equal(conflict.local?.Industry, 'Energy');
        assert.equal(conflict.remote?.Industry, 'Retail');
        assert.equal((await (await r.store.writeCapture()).counts('Account')).superseded, 1);
      } finally {
        await r.close();
        await place.cleanup();
      }
    });

    test('last_modified_wins: the later change wins on either side, and each conflict is recorded', async () => {
      const place = await backend.place(true);
      const settings: ObjectSettings = { writable: true, conflict: 'last_modified_wins' };
      const r = await rig(place, backend.name, settings);
      try {
        const [a, b] = await ids(r.store);
        // a: Salesforce changed (org clock half an hour behind), then the application: the application's is later.
        await r.sfUpdate(a, { Industry: 'Retail' });
        await r.app.run(`UPDATE "Account" SET "Industry" = ? WHERE "Id" = ?`, ['Energy', a]);
        // b: the application changed, then Salesforce, an hour later on its clock.
        await r.app.run(`UPDATE "Account" SET "Industry" = ? WHERE "Id" = ?`, ['Media', b]);
        r.emu.org.clock.advance(60 * MIN);
        await r.sfUpdate(b, { Industry: 'Chemicals' });
        const run = await r.cycle(settings);
        assert.equal(run.objects[0].pushed?.conflicts, 2);
        assert.equal(run.objects[0].pushed?.updated, 1);
        assert.equal((await r.sfRecord(a))?.Industry, 'Energy');
        assert.equal((await r.sfRecord(b))?.Industry, 'Chemicals');
        assert.equal((await r.store.getRecord('Account', b))?.Industry, 'Chemicals');
        await r.cycle(settings);
        assert.equal((await r.store.getRecord('Account', a))?.Industry, 'Energy');
        const conflicts = await (await r.store.writeCapture()).conflicts();
        assert.deepEqual(conflicts.map((c) => [c.recordId, c.winner]).sort(), [[a, 'application'], [b, 'salesforce']].sort());
      } finally {
        await r.close();
        await place.cleanup();
      }
    });

    test('writable switched off: the triggers go with a warning naming the changes left unsent, and nothing more is captured', async () => {
      const place = await backend.place(true);
      const r = await rig(place, backend.name);
      try {
        const [a] = await ids(r.store);
        await r.app.run(`UPDATE "Account" SET "Phone" = ? WHERE "Id" = ?`, ['555-0003', a]);
        const events = new SyncEvents();
        const warnings: string[] = [];
        events.on('warning', (w) => void (w.code === 'TWO_WAY_OFF' && warnings.push(w.message)));
        r.emu.org.clock.advance(1000);
        const run = await sync(r.emu, r.store, ['Account'], { countCheck: false, events });
        assert.equal(run.status, 'succeeded', run.error);
        assert.equal(run.objects[0].pushed, undefined);
        const cap = await r.store.writeCapture();
        assert.deepEqual(await cap.writableObjects(), []);
        await r.app.run(`UPDATE "Account" SET "Phone" = ? WHERE "Id" = ?`, ['555-0004', a]);
        assert.equal((await cap.counts('Account')).pending, 1);
        assert.equal((await r.sfRecord(a))?.Phone, null);
        assert.deepEqual(warnings, ['Account: writable is off; application writes to its mirror table are no longer captured (1 captured change not sent; set writable: true again to send it)']);
      } finally {
        await r.close();
        await place.cleanup();
      }
    });

    test('no ping-pong: an application change edited again before its echo is read is no conflict, and 100 idle cycles write nothing anywhere', async () => {
      const place = await backend.place(true);
      const r = await rig(place, backend.name);
      try {
        const [a, b] = await ids(r.store);
        await r.app.run(`UPDATE "Account" SET "Phone" = ? WHERE "Id" = ?`, ['555-0001', a]);
        await r.cycle();
        // Changed again before the next cycle reads sfbridge's write back: the echo is recognised.
        await r.app.run(`UPDATE "Account" SET "Phone" = ? WHERE "Id" = ?`, ['555-0002', a]);
        await r.sfUpdate(b, { Name: 'Changed in Salesforce' });
        const run = await r.cycle();
        assert.equal(run.objects[0].pushed?.conflicts, 0);
        assert.equal(run.objects[0].pushed?.echoes, 1);
        assert.equal((await r.sfRecord(a))?.Phone, '555-0002');
        await r.cycle();
        const writes = r.writes();
        const mirror = await rows(r.store);
        const cap = await r.store.writeCapture();
        const logged = await cap.changes({ limit: 1000 });
        for (let i = 0; i < 100; i++) {
          const idle = await r.cycle();
          assert.equal(idle.status, 'succeeded', idle.error);
          assert.equal(idle.objects[0].pushed?.changes, 0, `cycle ${i + 1}`);
        }
        assert.equal(r.writes(), writes, 'the emulator saw no write');
        assert.deepEqual(await rows(r.store), mirror, 'no mirror row changed');
        assert.deepEqual(await cap.changes({ limit: 1000 }), logged, 'nothing was captured');
        assert.deepEqual(await cap.conflicts(), []);
      } finally {
        await r.close();
        await place.cleanup();
      }
    });
  });
}

for (const backend of backends) {
  describe(`two-way inserts whose answer is lost (${backend.name})`, () => {
    for (const idempotent of [true, false]) {
      test(idempotent ? 'with idempotency_field: looked up and adopted, one record in Salesforce' : 'without idempotency_field: dead-lettered as UNKNOWN_OUTCOME, never sent twice', async () => {
        const place = await backend.place(true);
        const emu = publishEmulator();
        await seedOrg(emu.org, 'none');
        const settings: ObjectSettings = { writable: true, ...(idempotent ? { idempotencyField: 'Idem_Key__c' } : {}) };
        const store = await place.open();
        const app = await appSql(place, backend.name);
        try {
          await clientFor(emu).create('Contact', { LastName: 'Seeded' });
          assert.equal((await sync(emu, store, ['Contact'], { objectSettings: { Contact: settings }, countCheck: false })).status, 'succeeded');
          if (backend.name === 'postgres') await app.run(`INSERT INTO "Contact" ("LastName") VALUES (?)`, ['Lost Answer']);
          else await app.run(`INSERT INTO "Contact" ("Id", "LastName") VALUES (?, ?)`, ['new-lost-0001', 'Lost Answer']);
          // The org creates the record, and the answer never arrives (the connection drops after the write).
          let dropped = 0;
          const client = clientFor(emu, {
            fetch: async (input, init) => {
              const req = new Request(input, init);
              const res = await emu.fetch(req);
              if (req.method === 'POST' && new URL(req.url).pathname.endsWith('/composite/sobjects') && dropped++ === 0) throw new TypeError('fetch failed: socket hang up');
              return res;
            },
          });
          const run = await sync(emu, store, ['Contact'], { client, objectSettings: { Contact: settings }, countCheck: false });
          assert.equal(dropped >= 1, true);
          const created = await collectQuery(clientFor(emu), "SELECT Id FROM Contact WHERE LastName = 'Lost Answer'");
          assert.equal(created.length, 1, 'exactly one record in Salesforce');
          const cap = await store.writeCapture();
          const ids: string[] = [];
          for await (const id of store.listIds('Contact')) ids.push(id);
          if (idempotent) {
            assert.equal(run.objects[0].pushed?.inserted, 1, JSON.stringify(run.objects[0]));
            assert.ok(ids.includes(String(created[0].Id)), 'the mirror row got the Salesforce Id');
            assert.equal((await cap.counts('Contact')).succeeded, 1);
          } else {
            assert.equal(run.objects[0].pushed?.failed, 1, JSON.stringify(run.objects[0]));
            const [letter] = await (await store.publishState()).listDeadLetters({ pipeline: 'two-way:Contact:insert' });
            assert.equal(letter.error.code, 'UNKNOWN_OUTCOME');
            assert.equal((await cap.counts('Contact')).failed, 1);
            // Later cycles do not send it again.
            await sync(emu, store, ['Contact'], { objectSettings: { Contact: settings }, countCheck: false });
            assert.equal((await collectQuery(clientFor(emu), "SELECT Id FROM Contact WHERE LastName = 'Lost Answer'")).length, 1);
          }
        } finally {
          await app.close();
          await store.close();
          emu.close();
          await place.cleanup();
        }
      });
    }
  });
}

for (const backend of backends) {
  describe(`two-way inserts Salesforce refuses (${backend.name})`, () => {
    test('the row keeps its placeholder, stays out of the delete reconciliation, and is inserted once corrected', async () => {
      const place = await backend.place(true);
      const emu = await emulator('none');
      const store = await place.open();
      const app = await appSql(place, backend.name);
      const settings: ObjectSettings = { writable: true };
      // The COUNT() check runs: a mirror with more live rows than the org would send the Ids to the reconciliation.
      const cycle = () => sync(emu, store, ['Contact'], { objectSettings: { Contact: settings }, reconcileMs: 0 });
      try {
        await clientFor(emu).create('Contact', { LastName: 'Seeded' });
        assert.equal((await cycle()).status, 'succeeded');
        // LastName is required: Salesforce refuses the insert.
        if (backend.name === 'postgres') await app.run(`INSERT INTO "Contact" ("FirstName") VALUES (?)`, ['Nameless']);
        else await app.run(`INSERT INTO "Contact" ("Id", "FirstName") VALUES (?, ?)`, ['new-refused-01', 'Nameless']);
        const refused = await cycle();
        assert.equal(refused.status, 'succeeded', refused.error);
        assert.equal(refused.objects[0].pushed?.failed, 1);
        const [letter] = await (await store.publishState()).listDeadLetters({ pipeline: 'two-way:Contact:insert' });
        assert.equal(letter.error.code, 'REQUIRED_FIELD_MISSING');
        const again = await cycle();
        assert.equal(again.status, 'succeeded', again.error);
        assert.equal(again.objects[0].mirrored, 1, 'the refused row is not counted as mirrored');
        assert.equal(again.objects[0].pushed?.changes, 0, 'not sent again by itself');
        // Corrected by the application: sent as an insert again, and the row gets its Salesforce Id.
        await app.run(`UPDATE "Contact" SET "LastName" = ? WHERE "FirstName" = ?`, ['Named', 'Nameless']);
        const fixed = await cycle();
        assert.equal(fixed.objects[0].pushed?.inserted, 1, JSON.stringify(fixed.objects[0]));
        const [created] = await collectQuery(clientFor(emu), "SELECT Id FROM Contact WHERE LastName = 'Named'");
        assert.ok(created);
        assert.equal((await store.getRecord('Contact', String(created.Id)))?.FirstName, 'Nameless');
        const counts = await (await store.writeCapture()).counts('Contact');
        assert.deepEqual([counts.pending, counts.failed, counts.superseded, counts.succeeded], [0, 0, 1, 1]);
        const after = await cycle();
        assert.equal(after.objects[0].mirrored, 2);
        assert.equal(after.objects[0].pushed?.changes, 0);
      } finally {
        await app.close();
        await store.close();
        emu.close();
        await place.cleanup();
      }
    });
  });
}

for (const backend of backends) {
  describe(`two-way typed values (${backend.name})`, () => {
    test('numbers, dates and booleans go out as Salesforce types, and their echo is recognised by value', async () => {
      const place = await backend.place(true);
      const emu = await emulator('none');
      emu.org.clock.set(Date.now() - 30 * MIN, true);
      const store = await place.open();
      const app = await appSql(place, backend.name);
      const settings = { Account: { writable: true }, Contact: { writable: true } } satisfies Record<string, ObjectSettings>;
      const cycle = () => {
        emu.org.clock.advance(1000);
        return sync(emu, store, ['Account', 'Contact'], { objectSettings: settings, countCheck: false });
      };
      try {
        const client = clientFor(emu);
        const { id: account } = await client.create('Account', { Name: 'Typed' });
        const { id: contact } = await client.create('Contact', { LastName: 'Typed', AccountId: account });
        await cycle();
        await app.run(`UPDATE "Account" SET "AnnualRevenue" = ?, "NumberOfEmployees" = ? WHERE "Id" = ?`, [1234.5, 42, account]);
        await app.run(`UPDATE "Contact" SET "Birthdate" = ?, "DoNotCall" = ? WHERE "Id" = ?`, ['1990-05-17', backend.name === 'sqlite' ? 1 : true, contact]);
        const first = await cycle();
        assert.deepEqual(first.objects.map((o) => o.pushed?.updated), [1, 1], JSON.stringify(first.objects));
        const [a] = await collectQuery(client, `SELECT AnnualRevenue, NumberOfEmployees FROM Account WHERE Id = '${account}'`);
        const [c] = await collectQuery(client, `SELECT Birthdate, DoNotCall FROM Contact WHERE Id = '${contact}'`);
        assert.deepEqual([a.AnnualRevenue, a.NumberOfEmployees, c.Birthdate, c.DoNotCall], [1234.5, 42, '1990-05-17', true]);
        // Changed again before the echo is read: recognised by the values sent, so no conflict.
        await app.run(`UPDATE "Account" SET "Phone" = ? WHERE "Id" = ?`, ['555-0101', account]);
        await app.run(`UPDATE "Contact" SET "Phone" = ? WHERE "Id" = ?`, ['555-0102', contact]);
        const second = await cycle();
        assert.deepEqual(second.objects.map((o) => [o.pushed?.echoes, o.pushed?.conflicts, o.pushed?.updated]), [[1, 0, 1], [1, 0, 1]], JSON.stringify(second.objects));
        assert.deepEqual(await (await store.writeCapture()).conflicts(), []);
        assert.equal((await store.getRecord('Contact', contact))?.Birthdate, '1990-05-17');
      } finally {
        await app.close();
        await store.close();
        emu.close();
        await place.cleanup();
      }
    });
  });
}


/**
 * The sync as a subscriber: per-object `where:` filters (built through the SOQL builder, combined with the
 * incremental cursor, records leaving and entering the filter), relationship paths as typed columns, and
 * page sizes — against the in-process emulator, on both stores, asserting the mirror's rows and columns.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { SyncConfigError, validateConfig } from '../../src/engine/config.ts';
import { createDocumentBuilder } from '../../src/engine/documents/index.ts';
import type { Sink, SinkMessage } from '../../src/engine/sinks/index.ts';
import { SyncEvents } from '../../src/engine/events.ts';
import { bulkOf } from '../../src/engine/sync/bulk.ts';
import type { Store } from '../../src/store/types.ts';
import { BASE, backends, clientFor, emulator, fresh, sync } from './helpers.ts';

type Emu = Awaited<ReturnType<typeof emulator>>;

const HAS_BULK = await (async () => {
  const emu = await emulator();
  const has = Boolean(bulkOf(clientFor(emu)));
  emu.close();
  return has;
})();

/** Creates accounts with the given industries; returns their Ids in order. */
async function accounts(emu: Emu, industries: readonly string[], prefix = 'Acct'): Promise<string[]> {
  const c = clientFor(emu, { governor: false });
  const res = await c.collections.create(industries.map((industry, i) => ({ attributes: { type: 'Account' }, Name: `${prefix} ${i}`, Industry: industry })));
  return res.map((r) => {
    assert.ok(r.success, JSON.stringify(r));
    return r.id!;
  });
}

async function mirrorIds(store: Store, object: string): Promise<string[]> {
  const out: string[] = [];
  for await (const id of store.listIds(object)) out.push(id);
  return out.sort();
}

async function orgIds(emu: Emu, soql: string): Promise<string[]> {
  const c = clientFor(emu, { governor: false });
  return (await c.query<{ Id: string }>(soql).toArray()).map((r) => r.Id).sort();
}

for (const backend of backends) {
  describe(`sync subscriber features on ${backend.name}`, () => {
    let store: Store;
    let done: () => Promise<void>;
    beforeEach(async () => {
      ({ store, done } = await fresh(backend));
    });
    afterEach(async () => done());

    for (const load of HAS_BULK ? ['rest', 'bulk'] : ['rest']) {
      it(`where: mirrors only matching records (${load} initial load), and records leave and enter with their changes`, async () => {
        const emu = await emulator();
        const ids = await accounts(emu, ['Banking', 'Retail', 'Banking', 'Energy', 'Banking', 'Retail']);
        const settings = { Account: { where: "Industry = 'Banking' OR (Industry = 'Energy' AND Name LIKE 'Acct%')" } };
        const events = new SyncEvents();
        const modes: string[] = [];
        events.on('object:started', (e) => modes.push(e.mode));
        const run = await sync(emu, store, ['Account'], { events, objectSettings: settings, bulkThreshold: load === 'bulk' ? 1 : 10_000 });
        assert.equal(run.status, 'succeeded', run.error);
        assert.deepEqual(modes, [load]);
        assert.deepEqual(await mirrorIds(store, 'Account'), [ids[0], ids[2], ids[3], ids[4]].sort());

        const w = clientFor(emu, { governor: false });
        await sleep(5);
        await w.update('Account', ids[0], { Industry: 'Retail' }); // leaves
        await w.update('Account', ids[1], { Industry: 'Banking' }); // enters
        await w.update('Account', ids[2], { Name: 'Renamed' }); // stays, changed
        await w.update('Account', ids[3], { Name: 'Other' }); // leaves (the LIKE no longer matches)
        // A second later, a new matching record: the change cursor moves past the leaving versions' second,
        // which the exit read must still cover (its window starts from the cursor before this cycle).
        await sleep(1100);
        const [created] = await accounts(emu, ['Banking'], 'New');
        const deletes: string[] = [];
        const ev2 = new SyncEvents();
        ev2.on('object:deletes', (e) => deletes.push(`${e.source}:${e.count}`));
        const run2 = await sync(emu, store, ['Account'], { events: ev2, objectSettings: settings, reconcileMs: 3_600_000 });
        assert.equal(run2.status, 'succeeded', run2.error);
        assert.deepEqual(await mirrorIds(store, 'Account'), [ids[1], ids[2], ids[4], created].sort());
        assert.deepEqual(await mirrorIds(store, 'Account'), await orgIds(emu, `SELECT Id FROM Account WHERE ${settings.Account.where}`));
        assert.deepEqual(deletes, ['filter:2']);
        assert.equal((await store.getRecord('Account', ids[2]))!.Name, 'Renamed');
        assert.equal(run2.objects[0].deleted, 2);

        // Back in: a newer version is not blocked by the exit's tombstone.
        await sleep(5);
        await w.update('Account', ids[0], { Industry: 'Banking' });
        const run3 = await sync(emu, store, ['Account'], { objectSettings: settings, reconcileMs: 3_600_000 });
        assert.equal(run3.status, 'succeeded', run3.error);
        assert.equal((await store.getRecord('Account', ids[0]))!.Industry, 'Banking');
        emu.close();
      });
    }

    it('where: on a parent field; membership moved by the parent is applied at reconciliation', async () => {
      const emu = await emulator();
      const [bank, shop, steady] = await accounts(emu, ['Banking', 'Retail', 'Banking']);
      const c = clientFor(emu, { governor: false });
      const contacts = await c.collections.create([bank, bank, shop].map((AccountId, i) => ({ attributes: { type: 'Contact' }, LastName: `C${i}`, AccountId })));
      const [c0, c1, c2] = contacts.map((r) => r.id!);
      const settings = { Contact: { where: "Account.Industry = 'Banking'" } };
      const run = await sync(emu, store, ['Contact'], { objectSettings: settings });
      assert.equal(run.status, 'succeeded', run.error);
      assert.deepEqual(await mirrorIds(store, 'Contact'), [c0, c1].sort());
      // A later matching contact moves the cursor a second on, so the first three are behind every window.
      await sleep(1100);
      const [{ id: c3 }] = await c.collections.create([{ attributes: { type: 'Contact' }, LastName: 'C3', AccountId: steady }]);
      await sync(emu, store, ['Contact'], { objectSettings: settings });
      assert.deepEqual(await mirrorIds(store, 'Contact'), [c0, c1, c3!].sort());
      // The parents swap industries: no Contact's own SystemModstamp moves.
      await sleep(5);
      await c.update('Account', bank, { Industry: 'Retail' });
      await c.update('Account', shop, { Industry: 'Banking' });
      // (Without the per-cycle COUNT() check, which would notice the mirror holding more than the org matches.)
      const idle = await sync(emu, store, ['Contact'], { objectSettings: settings, reconcileMs: 3_600_000, countCheck: false });
      assert.equal(idle.status, 'succeeded');
      assert.deepEqual(await mirrorIds(store, 'Contact'), [c0, c1, c3!].sort(), 'without a reconciliation nothing moved');
      const run2 = await sync(emu, store, ['Contact'], { objectSettings: settings, force: { reconcile: true } });
      assert.equal(run2.status, 'succeeded', run2.error);
      assert.deepEqual(await mirrorIds(store, 'Contact'), [c2, c3!].sort());
      assert.equal((await store.getRecord('Contact', c2))!.LastName, 'C2');
      emu.close();
    });

    it('where: a semi-join subquery; membership moved by the child records is applied at reconciliation', async () => {
      const emu = await emulator();
      const [a0, a1, a2] = await accounts(emu, ['Banking', 'Banking', 'Banking']);
      const c = clientFor(emu, { governor: false });
      const opps = await c.collections.create([a0, a1, a2].map((AccountId, i) => ({ attributes: { type: 'Opportunity' }, Name: `Deal ${i}`, AccountId, StageName: i === 1 ? 'Prospecting' : 'Closed Won', CloseDate: '2026-01-15' })));
      const settings = { Account: { where: "Id IN (SELECT AccountId FROM Opportunity WHERE StageName = 'Closed Won')" } };
      const run = await sync(emu, store, ['Account'], { objectSettings: settings });
      assert.equal(run.status, 'succeeded', run.error);
      assert.deepEqual(await mirrorIds(store, 'Account'), [a0, a2].sort());
      await c.update('Opportunity', opps[1].id!, { StageName: 'Closed Won' });
      await c.update('Opportunity', opps[2].id!, { StageName: 'Closed Lost' });
      const run2 = await sync(emu, store, ['Account'], { objectSettings: settings, force: { reconcile: true } });
      assert.equal(run2.status, 'succeeded', run2.error);
      assert.deepEqual(await mirrorIds(store, 'Account'), [a0, a1].sort());
      const bad = await sync(emu, store, ['Account'], { objectSettings: { Account: { where: "Id IN (SELECT AccountId FROM Opportunity WHERE StagName = 'x')" } } });
      assert.equal(bad.status, 'failed');
      assert.match(bad.objects[0].error!, /objects\.Account\.where \(subquery on Opportunity\): Opportunity has no field "StagName" in "StagName" \(did you mean StageName\?\)/);
      const bad2 = await sync(emu, store, ['Account'], { objectSettings: { Account: { where: 'Id IN (SELECT Name FROM Opportunity)' } } });
      assert.match(bad2.objects[0].error!, /a semi-join selects an Id or lookup field; Opportunity.Name is a string field/);
      emu.close();
    });

    it('where: a field the object does not have fails the object with the closest name', async () => {
      const emu = await emulator();
      await accounts(emu, ['Banking']);
      const run = await sync(emu, store, ['Account'], { objectSettings: { Account: { where: "Industy = 'Banking'" } } });
      assert.equal(run.status, 'failed');
      assert.match(run.objects[0].error!, /objects\.Account\.where: Account has no field "Industy" in "Industy" \(did you mean Industry\?\)/);
      const run2 = await sync(emu, store, ['Account'], { objectSettings: { Account: { where: "Description = 'x'" } } });
      assert.equal(run2.status, 'failed');
      assert.match(run2.objects[0].error!, /cannot be filtered on/);
      emu.close();
    });

    it('relationship paths become typed columns from the parents\' describes (REST and Bulk alike)', async () => {
      const emu = await emulator('Account=5,Contact=12');
      const include = ['LastName', 'Owner.Email', 'Account.Name', 'account.owner.email'];
      const settings = { Contact: { fields: { include } } };
      for (const [i, threshold] of [[0, 10_000], ...(HAS_BULK ? [[1, 1]] : [])] as const) {
        const obj = 'Contact';
        if (i === 1) {
          // A fresh mirror for the Bulk pass.
          await done();
          ({ store, done } = await fresh(backend));
        }
        const run = await sync(emu, store, [obj], { objectSettings: settings, bulkThreshold: threshold });
        assert.equal(run.status, 'succeeded', run.error);
        const specs = (await store.describeTable(obj))!;
        assert.deepEqual(specs.map((s) => s.name), ['Id', 'SystemModstamp', 'IsDeleted', 'LastName', 'Owner_Email', 'Account_Name', 'Account_Owner_Email']);
        assert.deepEqual(specs.filter((s) => s.name.includes('_')).map((s) => s.type), ['email', 'string', 'email']);
        const c = clientFor(emu, { governor: false });
        const org = await c.query<Record<string, any>>('SELECT Id, LastName, Owner.Email, Account.Name, Account.Owner.Email FROM Contact').toArray();
        assert.equal(org.length, 12);
        for (const r of org) {
          const m = (await store.getRecord(obj, r.Id))!;
          assert.deepEqual(
            { LastName: m.LastName, Owner_Email: m.Owner_Email, Account_Name: m.Account_Name, Account_Owner_Email: m.Account_Owner_Email },
            { LastName: r.LastName, Owner_Email: r.Owner?.Email ?? null, Account_Name: r.Account?.Name ?? null, Account_Owner_Email: r.Account?.Owner?.Email ?? null },
          );
        }
      }
      emu.close();
    });

    it('a parent change reaches path columns at the formula refresh', async () => {
      const emu = await emulator();
      const [acct] = await accounts(emu, ['Banking']);
      const c = clientFor(emu, { governor: false });
      const [{ id }] = await c.collections.create([{ attributes: { type: 'Contact' }, LastName: 'Lee', AccountId: acct }]);
      const settings = { Contact: { fields: { include: ['LastName', 'Account.Name'] } } };
      await sync(emu, store, ['Contact'], { objectSettings: settings });
      assert.equal((await store.getRecord('Contact', id!))!.Account_Name, 'Acct 0');
      await sleep(5);
      await c.update('Account', acct, { Name: 'Moved Ltd' });
      // The refresh reads rows behind the incremental window; a 1 ms lag puts the contact there.
      await sleep(1100);
      const run = await sync(emu, store, ['Contact'], { objectSettings: settings, lagMs: 1, force: { formulas: true } });
      assert.equal(run.status, 'succeeded', run.error);
      assert.equal((await store.getRecord('Contact', id!))!.Account_Name, 'Moved Ltd');
      emu.close();
    });

    it('invalid relationship paths are refused with did-you-mean errors', async () => {
      const emu = await emulator('Account=1,Contact=1');
      const cases: Array<[string, RegExp]> = [
        ['Ownr.Email', /Contact has no relationship "Ownr" in "Ownr.Email" \(did you mean Owner\?\)/],
        ['Owner.Emial', /User has no field "Emial" in "Owner.Emial" \(did you mean Email\?\)/],
        ['AccountId.Name', /the relationship of AccountId is Account: write Account.Name/],
        ['Account.Owner', /Owner is a relationship: name one of its fields, e.g. Account.Owner.Name/],
      ];
      for (const [path, re] of cases) {
        const run = await sync(emu, store, ['Contact'], { objectSettings: { Contact: { fields: { include: ['LastName', path] } } } });
        assert.equal(run.status, 'failed', path);
        assert.match(run.objects[0].error!, re);
      }
      emu.close();
    });

    it('an inbound transform shapes the mirror (typed columns) and the records the sinks receive', async () => {
      const emu = await emulator();
      const c = clientFor(emu, { governor: false });
      const [a0, a1] = (await c.collections.create([
        { attributes: { type: 'Account' }, Name: 'Globex', Industry: 'Banking', NumberOfEmployees: 120, Description: 'secret notes' },
        { attributes: { type: 'Account' }, Name: 'Initech', Industry: null, NumberOfEmployees: null, Description: 'more notes' },
      ])).map((r) => r.id!);
      const settings = {
        Account: {
          fields: { include: ['Name', 'Industry', 'NumberOfEmployees', 'Description', 'Owner.Email'] },
          transform: {
            rename: { Name: 'AccountName', Owner_Email: 'OwnerMail' },
            drop: ['Description'],
            constants: { Source: 'crm', Tier: 2 },
            expressions: { Label: '{{Name | upper}} ({{Industry | default:"none"}})', Staff: '{{NumberOfEmployees | number}}', Sector: '{{Industry}}' },
          },
        },
      };
      const delivered: SinkMessage[] = [];
      const sink: Sink = { kind: 'jsonl', label: 'recorder', deliver: async (m) => void delivered.push(...m), close: async () => undefined };
      const run = await sync(emu, store, ['Account'], { objectSettings: settings, documents: createDocumentBuilder(clientFor(emu), { instanceUrl: BASE }), documentSinks: [sink] });
      assert.equal(run.status, 'succeeded', run.error);
      const specs = (await store.describeTable('Account'))!;
      assert.deepEqual(specs.map((s) => [s.name, s.type]), [
        ['Id', 'id'], ['SystemModstamp', 'datetime'], ['IsDeleted', 'boolean'], ['AccountName', 'string'], ['Industry', 'picklist'], ['NumberOfEmployees', 'int'],
        ['OwnerMail', 'email'], ['Source', 'string'], ['Tier', 'double'], ['Label', 'textarea'], ['Staff', 'double'], ['Sector', 'picklist'],
      ]);
      const pick = (r: Record<string, unknown>) => Object.fromEntries(['AccountName', 'Industry', 'NumberOfEmployees', 'OwnerMail', 'Source', 'Tier', 'Label', 'Staff', 'Sector', 'Description'].map((k) => [k, r[k]]));
      assert.deepEqual(pick((await store.getRecord('Account', a0))!), { AccountName: 'Globex', Industry: 'Banking', NumberOfEmployees: 120, OwnerMail: 'admin@emulator.sfbridge.dev', Source: 'crm', Tier: 2, Label: 'GLOBEX (Banking)', Staff: 120, Sector: 'Banking', Description: undefined });
      assert.deepEqual(pick((await store.getRecord('Account', a1))!), { AccountName: 'Initech', Industry: null, NumberOfEmployees: null, OwnerMail: 'admin@emulator.sfbridge.dev', Source: 'crm', Tier: 2, Label: 'INITECH (none)', Staff: null, Sector: null, Description: undefined });
      // The sinks get the transformed record; the document's text still comes from the Salesforce record.
      const doc = delivered.find((m) => m.key === a0)!.body as { raw: Record<string, unknown>; title: string };
      assert.equal(doc.title, 'Globex');
      assert.equal(doc.raw.AccountName, 'Globex');
      assert.equal(doc.raw.Label, 'GLOBEX (Banking)');
      assert.equal('Description' in doc.raw, false);
      assert.equal('Name' in doc.raw, false);
      emu.close();
    });

    it('a transform naming a column the row does not have fails the object with the closest name', async () => {
      const emu = await emulator('Account=1');
      const run = await sync(emu, store, ['Account'], { objectSettings: { Account: { transform: { rename: { Nmae: 'AccountName' } } } } });
      assert.equal(run.status, 'failed');
      assert.match(run.objects[0].error!, /objects\.Account\.transform\.rename: Nmae is not a column of the mirrored row \(did you mean Name\?\)/);
      emu.close();
    });

    it('page_size sets the REST page (one transaction per page)', async () => {
      const emu = await emulator('Account=450');
      const events = new SyncEvents();
      let batches = 0;
      events.on('object:batch', () => batches++);
      // Object names are case-insensitive, as in Salesforce.
      const run = await sync(emu, store, ['Account'], { events, objectSettings: { account: { pageSize: 200 } }, bulkThreshold: 10_000 });
      assert.equal(run.status, 'succeeded', run.error);
      assert.equal(batches, 3);
      assert.equal(await store.count('Account'), 450);
      emu.close();
    });
  });
}

describe('sync config: objects.<name>.where, fields and page_size', () => {
  it('accepts conditions, paths and page sizes', () => {
    const c = validateConfig({ objects: { Account: { where: "Industry = 'Banking'", page_size: 500, fields: { include: ['Name', 'Owner.Email'] } } } });
    assert.deepEqual(c.objects.Account, { where: "Industry = 'Banking'", pageSize: 500, fields: { include: ['Name', 'Owner.Email'] } });
  });
  const bad: Array<[unknown, RegExp]> = [
    [{ where: "Name = 'x' LIMIT 5" }, /objects\.Account\.where: only a condition is allowed, found LIMIT; remove it/],
    [{ where: "Name = 'x'; DELETE FROM Account" }, /objects\.Account\.where: not a SOQL condition/],
    [{ where: 'Id IN (SELECT AccountId FROM Contact LIMIT 5)' }, /a semi-join subquery takes only SELECT, FROM and WHERE, found LIMIT/],
    [{ where: 'Id IN (SELECT AccountId FROM Contact WHERE AccountId IN (SELECT Id FROM Account))' }, /semi-joins cannot be nested/],
    [{ where: 'WHERE Name = null' }, /without the WHERE keyword/],
    [{ where: 'A = 1 AND B = 2 OR C = 3' }, /mixed without parentheses/],
    [{ page_size: 100 }, /objects\.Account\.page_size/],
    [{ fields: { include: ['Owner..Email'] } }, /relationship path such as Owner.Email/],
    [{ transform: { rename: { Id: 'RecordId' } } }, /objects\.Account\.transform\.rename: Id is kept as it is/],
    [{ transform: { lookups: { Account: { External_Id__c: '{{x}}' } } } }, /unknown key "lookups"/],
    [{ transform: { expressions: { X: '{{Name | shout}}' } } }, /unknown filter "shout"/],
  ];
  for (const [settings, re] of bad) {
    it(`refuses ${JSON.stringify(settings)}`, () => {
      assert.throws(() => validateConfig({ objects: { Account: settings } }), (err: unknown) => err instanceof SyncConfigError && re.test(err.message));
    });
  }
});

describe('serve pipelines take the same per-object keys', () => {
  it('validates where:, relationship paths and page_size in a sync pipeline', async () => {
    const { parsePipeline } = await import('../../src/engine/pipelines/index.ts');
    const objects = { Contact: { where: "Account.Industry = 'Banking'", fields: { include: ['LastName', 'Owner.Email'] }, page_size: 500, transform: { rename: { Owner_Email: 'OwnerMail' }, constants: { Source: 'crm' } } } };
    const ok = parsePipeline({ name: 'crm', kind: 'sync', connection: 'prod', objects });
    assert.deepEqual((ok as unknown as { objects: unknown }).objects, objects);
    assert.throws(() => parsePipeline({ name: 'crm', kind: 'sync', connection: 'prod', objects: { Contact: { where: 'LastName = :x' } } }), /pipeline\.objects\.Contact\.where: not a SOQL condition \(unexpected ':'\) \(bind variables/);
  });
});

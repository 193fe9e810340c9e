import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { createEmulator } from '../../src/emulator/app.ts';
import type { Org } from '../../src/emulator/org.ts';
import { schemaFromData } from '../../src/emulator/schema/custom.ts';
import { parseCounts, seedOrg } from '../../src/emulator/seed/index.ts';
import { DEMO_SCHEMA } from '../../src/emulator/seed/demo.ts';

const TREE = fileURLToPath(new URL('../fixtures/sf-tree/', import.meta.url));

const rows = (org: Org, sql: string, ...args: (string | number)[]) => org.store.db.prepare(sql).all(...args) as Record<string, unknown>[];
const count = (org: Org, table: string) => Number(rows(org, `SELECT COUNT(*) AS n FROM "${table}"`)[0].n);

/** Every non-null reference value in the org points at an existing row of one of its target objects. */
function danglingReferences(org: Org): string[] {
  const bad: string[] = [];
  for (const def of org.schema.all()) {
    if (def.queryable === false) continue;
    for (const f of def.fields) {
      if (f.type !== 'reference' || f.formula) continue;
      const targets = (f.referenceTo ?? []).map((t) => org.schema.get(t)).filter((t) => t !== undefined);
      const exists = targets.map((t) => `EXISTS (SELECT 1 FROM "${t.name}" p WHERE p.Id = c."${f.name}")`).join(' OR ') || '0';
      const n = Number(rows(org, `SELECT COUNT(*) AS n FROM "${def.name}" c WHERE c."${f.name}" IS NOT NULL AND NOT (${exists})`)[0].n);
      if (n) bad.push(`${def.name}.${f.name}: ${n}`);
    }
  }
  return bad;
}

test('demo seed with its schema (sfbridge emulator --seed demo): every Account and Contact has a unique External_Id__c, the rest of the org unchanged', async () => {
  const plain = createEmulator();
  const withIds = createEmulator({ objects: DEMO_SCHEMA });
  assert.equal(await seedOrg(withIds.org, 'demo'), await seedOrg(plain.org, 'demo'));
  for (const [object, prefix] of [['Account', 'ACC-'], ['Contact', 'CON-']] as const) {
    assert.equal(withIds.org.schema.field(object, 'External_Id__c')?.externalId, true);
    const ids = rows(withIds.org, `SELECT External_Id__c AS x FROM "${object}" ORDER BY Id`).map((r) => String(r.x));
    assert.equal(ids.length, count(plain.org, object));
    assert.equal(new Set(ids).size, ids.length, `${object}: unique`);
    assert.ok(ids.every((x) => x.startsWith(prefix)), object);
    assert.equal(ids[0], `${prefix}000001`);
  }
  assert.equal(plain.org.schema.field('Account', 'External_Id__c'), undefined);
  // The external IDs draw no random numbers: names and owners are those of the org without them.
  assert.deepEqual(rows(withIds.org, 'SELECT Name, OwnerId FROM Contact ORDER BY Id'), rows(plain.org, 'SELECT Name, OwnerId FROM Contact ORDER BY Id'));
});

test('demo seed: a consistent realistic org, the same twice', async () => {
  const a = createEmulator();
  const b = createEmulator();
  const summaryA = await seedOrg(a.org, 'demo');
  const summaryB = await seedOrg(b.org, 'demo');
  assert.equal(summaryA, summaryB);
  for (const obj of ['Account', 'Contact', 'Opportunity', 'Lead', 'Campaign', 'CampaignMember', 'Case', 'CaseComment', 'FeedItem', 'CaseFeed', 'FeedComment', 'EmailMessage', 'Task', 'Event', 'ContentVersion', 'ContentDocument', 'ContentDocumentLink', 'Group', 'Organization']) {
    assert.ok(count(a.org, obj) > 0, obj);
  }
  assert.equal(count(a.org, 'Account'), 500);
  const names = (org: Org) => rows(org, 'SELECT Name FROM Account ORDER BY Id').map((r) => r.Name);
  assert.deepEqual(names(a.org), names(b.org));
  assert.deepEqual(rows(a.org, 'SELECT Name FROM Contact ORDER BY Id LIMIT 50'), rows(b.org, 'SELECT Name FROM Contact ORDER BY Id LIMIT 50'));
  assert.deepEqual(danglingReferences(a.org), []);

  // Stage/status-derived fields agree with the stage/status; queues own some leads and cases.
  assert.equal(rows(a.org, `SELECT COUNT(*) AS n FROM Opportunity WHERE IsClosed != (StageName IN ('Closed Won','Closed Lost'))`)[0].n, 0);
  assert.equal(rows(a.org, `SELECT COUNT(*) AS n FROM "Case" WHERE IsClosed != (Status = 'Closed') OR (IsClosed = 1 AND ClosedDate IS NULL)`)[0].n, 0);
  assert.ok(Number(rows(a.org, `SELECT COUNT(*) AS n FROM "Case" WHERE OwnerId LIKE '00G%'`)[0].n) > 0);
  assert.ok(Number(rows(a.org, `SELECT COUNT(*) AS n FROM Lead WHERE OwnerId LIKE '00G%'`)[0].n) > 0);
  const caseNumbers = rows(a.org, 'SELECT CaseNumber FROM "Case" ORDER BY Id').map((r) => r.CaseNumber);
  assert.equal(new Set(caseNumbers).size, caseNumbers.length);
  assert.match(String(caseNumbers[0]), /^\d{8}$/);
  // CaseFeed mirrors the FeedItems posted on cases, with the same Ids.
  assert.equal(rows(a.org, `SELECT COUNT(*) AS n FROM FeedItem WHERE ParentId LIKE '500%'`)[0].n, count(a.org, 'CaseFeed'));
  // Dates lie in the past months relative to the org clock.
  const now = a.org.clock.now();
  const [{ lo, hi }] = rows(a.org, 'SELECT MIN(CreatedDate) AS lo, MAX(CreatedDate) AS hi FROM Account') as { lo: number; hi: number }[];
  assert.ok(lo > now - 250 * 86_400_000 && hi <= now);

  // Seeded records read back through REST like any other.
  const res = await a.request('/services/oauth2/token', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'client_credentials', client_id: a.org.clientId, client_secret: a.org.clientSecret }) });
  const { access_token } = (await res.json()) as { access_token: string };
  const oppId = String(rows(a.org, 'SELECT Id FROM Opportunity LIMIT 1')[0].Id);
  const opp = (await (await a.request(`/services/data/v62.0/sobjects/Opportunity/${oppId}`, { headers: { authorization: `Bearer ${access_token}` } })).json()) as Record<string, unknown>;
  assert.equal(typeof opp.IsClosed, 'boolean');
  assert.match(String(opp.CloseDate), /^\d{4}-\d\d-\d\d$/);
  a.close();
  b.close();
});

test('COUNTS: any object, parents generated first, references point at generated parents', async () => {
  const emu = createEmulator();
  const summary = await seedOrg(emu.org, 'Contact=300,Account=100,Task=50,Case=20,CaseComment=30');
  assert.equal(summary, 'Account=100,Contact=300,Case=20,Task=50,CaseComment=30');
  assert.equal(count(emu.org, 'Contact'), 300);
  assert.equal(rows(emu.org, 'SELECT COUNT(*) AS n FROM Contact WHERE AccountId IS NULL')[0].n, 0);
  assert.deepEqual(danglingReferences(emu.org), []);
  assert.equal(await seedOrg(emu.org, 'Account=5'), `kept existing data (Contact=300,Account=100,Task=50,Case=20,CaseComment=30: ${summary})`);
  emu.close();
});

test('COUNTS fills external-ID fields with unique values (text, numeric, short text)', async () => {
  const objects = schemaFromData({ objects: [
    { name: 'Account', fields: [{ name: 'External_Id__c', type: 'string', length: 40, externalId: true, unique: true }, { name: 'Erp_No__c', type: 'double', externalId: true }, { name: 'Short_Key__c', type: 'string', length: 4, externalId: true }] },
  ] });
  const emu = createEmulator({ objects });
  await seedOrg(emu.org, 'Account=300');
  for (const f of ['External_Id__c', 'Erp_No__c', 'Short_Key__c']) {
    const [r] = rows(emu.org, `SELECT COUNT(*) AS n, COUNT(DISTINCT "${f}") AS d, COUNT("${f}") AS filled FROM Account`);
    assert.deepEqual({ n: r.n, d: r.d, filled: r.filled }, { n: 300, d: 300, filled: 300 }, f);
  }
  const [first] = rows(emu.org, 'SELECT External_Id__c AS e, Short_Key__c AS s FROM Account ORDER BY rowid LIMIT 1');
  assert.equal(first.e, 'ACC-0000001');
  assert.ok(String(first.s).length <= 4);
  emu.close();
});

test('COUNTS errors say what to write instead', async () => {
  const emu = createEmulator();
  const org = emu.org;
  assert.throws(() => parseCounts('Acount=10', org), /unknown object "Acount"; did you mean Account\?/);
  assert.throws(() => parseCounts('Account=ten', org), /the count must be a whole number, e\.g\. Account=1000/);
  assert.throws(() => parseCounts('Account', org), /has no count; write Object=N pairs, e\.g\. Account=1000,Contact=3000/);
  assert.throws(() => parseCounts('Account=1,,Contact=2', org), /empty entry/);
  assert.throws(() => parseCounts('Account=1,account=2', org), /Account is listed twice/);
  assert.throws(() => parseCounts('AccountChangeEvent=5', org), /change event.*seed Account instead/);
  assert.deepEqual(parseCounts('account=1_000, contact=3', org), { Account: 1000, Contact: 3 });
  await assert.rejects(seedOrg(org, 'CaseComment=5'), /CaseComment\.ParentId is required and needs Case records; add Case=N/);
  emu.close();
});

test('tree import: apex-recipes plan (50/150/50 with @refs) and easy-spaces leads', async () => {
  const emu = createEmulator();
  const summary = await seedOrg(emu.org, `tree:${join(TREE, 'apex-recipes/data-plan.json')}`);
  assert.equal(summary, 'Account=50,Contact=150,Opportunity=50');
  assert.equal(rows(emu.org, 'SELECT COUNT(*) AS n FROM Contact c JOIN Account a ON a.Id = c.AccountId')[0].n, 150);
  assert.equal(rows(emu.org, 'SELECT COUNT(*) AS n FROM Opportunity o JOIN Account a ON a.Id = o.AccountId')[0].n, 50);
  // Lower-case field names land in their fields; unrestricted picklists keep values outside the list.
  const [zoo] = rows(emu.org, `SELECT BillingCity, Industry, AnnualRevenue FROM Account WHERE Name = 'Zoonoodle 37'`);
  assert.deepEqual({ ...zoo }, { BillingCity: 'Newark', Industry: 'n/a', AnnualRevenue: 5117586 });
  emu.close();

  const leads = createEmulator();
  assert.equal(await seedOrg(leads.org, `tree:${join(TREE, 'easy-spaces-leads/Plan1.json')}`), 'Lead=11');
  assert.equal(rows(leads.org, `SELECT COUNT(*) AS n FROM Lead WHERE Status = 'Open - Not Contacted' AND Name IS NOT NULL`)[0].n, 11);
  leads.close();
});

test('tree import errors name the file and the reference, and leave the org untouched', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sf-tree-'));
  await writeFile(join(dir, 'plan.json'), JSON.stringify([
    { sobject: 'Account', saveRefs: true, resolveRefs: false, files: ['Accounts.json'] },
    { sobject: 'Contact', saveRefs: true, resolveRefs: true, files: ['Contacts.json'] },
  ]));
  await writeFile(join(dir, 'Accounts.json'), JSON.stringify({ records: [{ attributes: { type: 'Account', referenceId: 'AccountRef1' }, Name: 'Acme' }] }));
  await writeFile(join(dir, 'Contacts.json'), JSON.stringify({ records: [{ attributes: { type: 'Contact', referenceId: 'ContactRef1' }, LastName: 'Doe', AccountId: '@AccountRef9' }] }));
  const emu = createEmulator();
  await assert.rejects(seedOrg(emu.org, `tree:${join(dir, 'plan.json')}`), /Contacts\.json record 1 \(ContactRef1\) field AccountId refers to @AccountRef9, but no earlier step saved a record with referenceId AccountRef9/);
  assert.equal(count(emu.org, 'Account'), 0);
  await assert.rejects(seedOrg(emu.org, `tree:${join(dir, 'missing.json')}`), /cannot read plan .*missing\.json: ENOENT; check the path/);
  await writeFile(join(dir, 'Contacts.json'), JSON.stringify({ records: [{ attributes: { type: 'Contact', referenceId: 'ContactRef1' }, FirstName: 'Jo' }] }));
  await assert.rejects(seedOrg(emu.org, `tree:${join(dir, 'plan.json')}`), /Contacts\.json record 1 \(ContactRef1\): REQUIRED_FIELD_MISSING/);
  emu.close();
});

test('seed summary: each count is what the org holds for that object (demo Users include the admin and integration users)', async () => {
  for (const spec of ['demo', 'Account=30,User=3']) {
    const { org } = createEmulator();
    const summary = await seedOrg(org, spec);
    const pairs = summary.split(',').map((p) => p.split('='));
    assert.ok(pairs.some(([k]) => k === 'User'), summary);
    for (const [obj, n] of pairs) {
      const live = Number(rows(org, `SELECT COUNT(*) AS n FROM "${obj}" WHERE IsDeleted = 0`)[0].n);
      assert.equal(Number(n), live, `${spec}: ${obj} in "${summary}"`);
    }
  }
});

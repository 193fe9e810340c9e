/**
 * The CLI refuses bad input before any work, through the real launcher against the emulator: unknown
 * objects, fields and columns exit 2 with the closest name, a refused login exits 3 with one message, and
 * nothing is sent or written (no store, state, result or output file); `--json` puts the error object on
 * stdout and nothing else there.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cliOrg, filesIn, sfbridge, workdir, type CliOrg } from './helpers.ts';
import { EXTRA_OBJECTS } from '../emulator/bulk-helpers.ts';

let org: CliOrg;

before(async () => {
  org = await cliOrg({ objects: EXTRA_OBJECTS, seed: 'Account=12,Contact=5' });
});

after(async () => {
  await org.close();
});


async function contactCount(): Promise<number> {
  const r = await sfbridge(['query', 'SELECT COUNT() FROM Contact'], { cwd: await workdir(), env: org.env });
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { count: number }).count;
}

describe('sync refuses before any work', () => {
  it('an unknown object: exit 2, did-you-mean, no store file', async () => {
    const cwd = await workdir();
    const r = await sfbridge(['sync', '--objects', 'Acount,Contact', '--to', 'sqlite:./mirror.db'], { cwd, env: org.env });
    assert.equal(r.code, 2);
    assert.equal(r.stderr.split('\n')[0], "sfbridge sync: Acount is not an object in this org (did you mean Account?) — list the org's objects with `sfbridge objects`");
    assert.equal(r.stdout, '');
    assert.deepEqual(await filesIn(cwd), []);
  });

  it('a misspelt include or exclude field and a compound field: every one named, exit 2, no store', async () => {
    const cwd = await workdir();
    await writeFile(join(cwd, 'sfbridge.yaml'), 'store: sqlite:./mirror.db\nstandard_objects_to_sync: [Account, Contact]\nobjects:\n  Account:\n    fields:\n      include: [Name, Industy, BillingAddress]\n  Contact:\n    fields:\n      exclude: [Emial]\n');
    const r = await sfbridge(['sync'], { cwd, env: org.env });
    assert.equal(r.code, 2, r.stderr);
    const lines = r.stderr.split('\n');
    assert.equal(lines[0], 'sfbridge sync: objects.Account.fields.include: Account has no field Industy (did you mean Industry?)');
    assert.match(r.stderr, /Account\.BillingAddress is a compound address field/);
    assert.match(r.stderr, /objects\.Contact\.fields\.exclude: Contact has no field Emial \(did you mean Email\?\)/);
    assert.deepEqual(await filesIn(cwd), ['sfbridge.yaml']);
  });

  it('an API version the org does not serve: exit 2 naming the versions it serves, no store', async () => {
    const cwd = await workdir();
    for (const version of ['20.0', '99.0']) {
      const r = await sfbridge(['sync', '--objects', 'Account', '--to', 'sqlite:./mirror.db', '--api-version', version], { cwd, env: org.env });
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stderr.split('\n')[0], `sfbridge sync: API version ${version} is not served by this org (it serves 31.0–66.0): use --api-version 66.0 (api_version: "66.0" in the connection block), or leave it out for the default`);
      assert.deepEqual(await filesIn(cwd), []);
    }
  });

  it('a YAML syntax error keeps its line, column and code frame', async () => {
    const cwd = await workdir();
    await writeFile(join(cwd, 'sfbridge.yaml'), 'store: sqlite:./mirror.db\nstandard_objects_to_sync: [Account\nlag: 5m\n');
    const r = await sfbridge(['sync'], { cwd, env: org.env });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^sfbridge sync: config: sfbridge\.yaml is not valid YAML: .* at line \d+, column \d+/);
    assert.match(r.stderr, /\n\s*\^/, 'the code frame points at the mistake');
    assert.deepEqual(await filesIn(cwd), ['sfbridge.yaml']);
  });

  it('field settings for an object that is not synced are refused with the synced name', async () => {
    const cwd = await workdir();
    await writeFile(join(cwd, 'c.yaml'), 'store: sqlite:./mirror.db\nstandard_objects_to_sync: [Account]\nobjects:\n  Acount:\n    fields:\n      include: [Name]\n');
    const r = await sfbridge(['sync', '--config', 'c.yaml'], { cwd, env: org.env });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^sfbridge sync: objects\.Acount\.fields: Acount is not among the objects to sync \(did you mean Account\?\)/);
    assert.ok(!existsSync(join(cwd, 'mirror.db')));
  });

  it('a refused login: exit 3, reported once, no store', async () => {
    const cwd = await workdir();
    const r = await sfbridge(['sync', '--objects', 'Account,Contact,Lead', '--to', 'sqlite:./mirror.db'], { cwd, env: { ...org.env, SF_CLIENT_SECRET: 'wrong' } });
    assert.equal(r.code, 3);
    assert.equal(r.stderr.match(/login failed/g)?.length, 1, r.stderr);
    assert.match(r.stderr, /^sfbridge sync: client credentials login failed: invalid_client/);
    assert.deepEqual(await filesIn(cwd), []);
  });

  it('--json: the error object on stdout, nothing on stderr', async () => {
    const cwd = await workdir();
    const r = await sfbridge(['sync', '--objects', 'Acount', '--to', 'sqlite:./mirror.db', '--json'], { cwd, env: org.env });
    assert.equal(r.code, 2);
    assert.equal(r.stderr, '');
    const doc = JSON.parse(r.stdout);
    assert.deepEqual(doc, { ok: false, command: 'sync', exitCode: 2, error: { code: 'UNKNOWN_OBJECT', message: 'Acount is not an object in this org (did you mean Account?)', fix: "list the org's objects with `sfbridge objects`" } });
  });
});

describe('publish checks object, operation and columns against describe', () => {
  it('an unknown object: exit 2, nothing sent, no state or result file', async () => {
    const cwd = await workdir();
    await writeFile(join(cwd, 'in.csv'), 'LastName\nOne\nTwo\n');
    const before = await contactCount();
    const r = await sfbridge(['publish', '--object', 'Contct', '--operation', 'insert', '--from', 'in.csv'], { cwd, env: org.env });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^sfbridge publish: Contct is not an object in this org \(did you mean Contact\?\)/);
    assert.deepEqual(await filesIn(cwd), ['in.csv']);
    assert.equal(await contactCount(), before);
  });

  it('an unknown column (CSV) and an unknown key (JSONL line): exit 2, nothing sent or written', async () => {
    const cwd = await workdir();
    await writeFile(join(cwd, 'in.csv'), 'LastName,Emial\nOne,a@x.test\nTwo,b@x.test\n');
    await writeFile(join(cwd, 'in.jsonl'), '{"LastName":"A"}\n{"LastName":"B","Titel":"x"}\n');
    const before = await contactCount();
    const csv = await sfbridge(['publish', '--object', 'Contact', '--operation', 'insert', '--from', 'in.csv'], { cwd, env: org.env });
    assert.equal(csv.code, 2);
    assert.equal(csv.stderr.split('\n')[0], 'sfbridge publish: in.csv: Contact has no field Emial (did you mean Email?) — list its fields with `sfbridge describe Contact`');
    const jsonl = await sfbridge(['publish', '--object', 'Contact', '--operation', 'insert', '--from', 'in.jsonl'], { cwd, env: org.env });
    assert.equal(jsonl.code, 2);
    assert.match(jsonl.stderr, /^sfbridge publish: in\.jsonl line 2: Contact has no field Titel \(did you mean Title\?\)/);
    assert.deepEqual(await filesIn(cwd), ['in.csv', 'in.jsonl']);
    assert.equal(await contactCount(), before);
  });

  it('a field the operation cannot write, and an external ID that is not one', async () => {
    const cwd = await workdir();
    await writeFile(join(cwd, 'in.csv'), 'LastName,CreatedDate\nOne,2020-01-01T00:00:00Z\n');
    const r = await sfbridge(['publish', '--object', 'Contact', '--operation', 'insert', '--from', 'in.csv'], { cwd, env: org.env });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^sfbridge publish: in\.csv: Contact\.CreatedDate cannot be written \(createable: false\)/);
    const x = await sfbridge(['publish', '--object', 'Contact', '--operation', 'upsert', '--external-id', 'LastName', '--from', 'in.csv'], { cwd, env: org.env });
    assert.equal(x.code, 2);
    assert.match(x.stderr, /--external-id: Contact\.LastName is not an external ID field/);
    assert.deepEqual(await filesIn(cwd), ['in.csv']);
  });

  it('a parent reference must use an external ID; a real one passes the check and publishes', async () => {
    const cwd = await workdir();
    await writeFile(join(cwd, 'bad.csv'), 'LastName,Account.Industry\nOrphan,Banking\n');
    const bad = await sfbridge(['publish', '--object', 'Contact', '--operation', 'insert', '--from', 'bad.csv'], { cwd, env: org.env });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^sfbridge publish: bad\.csv: Account\.Industry: Account\.Industry is not an external ID field/);
    await writeFile(join(cwd, 'in.csv'), 'Legacy_Key__c,LastName,Account.External_Id__c\nK-1,Parented,\n');
    const r = await sfbridge(['publish', '--object', 'contact', '--external-id', 'Legacy_Key__c', '--from', 'in.csv', '--state', 'sqlite:./state.db'], { cwd, env: org.env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Contact upsert: 1 record via collections: 1 succeeded \(1 created\), 0 failed/);
  });
});

describe('query refuses unknown names before writing', () => {
  it('--output is not created when the org refuses the query', async () => {
    const cwd = await workdir();
    const r = await sfbridge(['query', 'SELECT Id, Industy FROM Account', '--output', 'out.csv'], { cwd, env: org.env });
    assert.equal(r.code, 2);
    assert.equal(r.stderr.split('\n')[0], 'sfbridge query: Account has no field Industy (did you mean Industry?)');
    assert.deepEqual(await filesIn(cwd), []);
  });
});

describe('commands and flags', () => {
  it('did-you-mean for a command and a flag, exit 2', async () => {
    const cwd = await workdir();
    const c = await sfbridge(['snyc'], { cwd, env: org.env });
    assert.equal(c.code, 2);
    assert.equal(c.stderr.split('\n')[0], 'sfbridge: unknown command "snyc" (did you mean sync?)');
    const f = await sfbridge(['sync', '--objets', 'Account'], { cwd, env: org.env });
    assert.equal(f.code, 2);
    assert.equal(f.stderr.split('\n')[0], 'sfbridge sync: unknown flag --objets (did you mean --objects?)');
    assert.deepEqual(await filesIn(cwd), []);
  });

  it('dlq on a state store that does not exist says so and creates nothing', async () => {
    const cwd = await workdir();
    const r = await sfbridge(['dlq', 'list', '--state', 'sqlite:./typo/none.db'], { cwd, env: org.env });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^sfbridge dlq: there is no publish state at \.\/typo\/none\.db/);
    assert.deepEqual(await filesIn(cwd), []);
  });
});


/**
 * `sfbridge query` against the emulator: jsonl, csv with dotted parent headers, table, --output, errors
 * (Salesforce errorCode → exit 1) and usage errors (exit 2).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { before, describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import { queryCommand, selectColumns } from '../../src/cli/query.ts';
import { createEmulator, type Emulator } from '../../src/emulator/app.ts';
import { SalesforceClient } from '../../src/client/index.ts';

const BASE = 'http://127.0.0.1:8484';
let emu: Emulator;
let env: NodeJS.ProcessEnv;

function capture(tty = false) {
  const s = new PassThrough() as PassThrough & { isTTY?: boolean };
  s.isTTY = tty;
  let text = '';
  s.on('data', (c: Buffer) => (text += c.toString()));
  return { stream: s, text: () => text };
}

async function run(argv: string[], tty = false) {
  const out = capture(tty);
  const err = capture();
  const code = await queryCommand(argv, { stdout: out.stream, stderr: err.stream, env, fetch: (i, init) => emu.fetch(new Request(i, init)) });
  return { code, stdout: out.text(), stderr: err.text() };
}

before(async () => {
  emu = createEmulator();
  env = { SF_INSTANCE_URL: BASE, SF_CLIENT_ID: emu.org.clientId, SF_CLIENT_SECRET: emu.org.clientSecret, SFBRIDGE_HOME: await mkdtemp(join(tmpdir(), 'sfb-cli-')) };
  const sf = new SalesforceClient({ credentials: { kind: 'clientCredentials', instanceUrl: BASE, clientId: emu.org.clientId, clientSecret: emu.org.clientSecret }, fetch: (i, init) => emu.fetch(new Request(i, init)) });
  const { id } = await sf.create('Account', { Name: 'Globex, "Ltd"', Industry: 'Banking' });
  await sf.create('Contact', { LastName: 'Okafor', AccountId: id });
  await sf.create('Contact', { LastName: 'Orphan' });
});

describe('sfbridge query', () => {
  it('streams jsonl by default when stdout is not a TTY', async () => {
    const r = await run(['SELECT Id, LastName, Account.Name FROM Contact ORDER BY LastName']);
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(rows.length, 2);
    assert.equal(rows[0].Account.Name, 'Globex, "Ltd"');
    assert.equal(rows[0].attributes, undefined);
    assert.equal(rows[1].Account, null);
  });

  it('csv flattens parents into dotted headers from the SELECT list, even when the first parent is null', async () => {
    const r = await run(['SELECT Id, LastName, Account.Name FROM Contact ORDER BY LastName DESC', '--format', 'csv']);
    assert.equal(r.code, 0, r.stderr);
    const rows = parse(r.stdout) as string[][];
    assert.deepEqual(rows[0], ['Id', 'LastName', 'Account.Name']);
    assert.deepEqual(rows.slice(1).map((x) => x.slice(1)), [['Orphan', ''], ['Okafor', 'Globex, "Ltd"']]);
  });

  it('table on a TTY, and --output writes a file', async () => {
    const t = await run(['SELECT Name, Industry FROM Account'], true);
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stdout, /^Name +\| Industry/);
    assert.match(t.stdout, /\(1 row\)/);
    const file = join(env.SFBRIDGE_HOME!, 'out.jsonl');
    const o = await run(['SELECT Name FROM Account', '--output', file, '--all', '--batch-size', '200']);
    assert.equal(o.code, 0, o.stderr);
    assert.equal(o.stdout, '');
    assert.deepEqual(JSON.parse((await readFile(file, 'utf8')).trim()), { Name: 'Globex, "Ltd"' });
  });

  it('an unknown field or object is refused with the closest name and Salesforce\'s error, exit 2', async () => {
    const r = await run(['SELECT Nmae FROM Account']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^sfbridge query: Account has no field Nmae \(did you mean Name\?\)\nINVALID_FIELD: /);
    const t = await run(['SELECT Id FROM Acount']);
    assert.equal(t.code, 2);
    assert.match(t.stderr, /^sfbridge query: Acount is not an object in this org \(did you mean Account\?\)\nINVALID_TYPE: /);
  });

  it('Salesforce errors print errorCode and message, exit 1', async () => {
    const r = await run(['SELECT Id FROM Account WHERE CreatedDate > 2020']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^sfbridge query: [A-Z_]+: /);
  });

  it('usage errors exit 2', async () => {
    assert.equal((await run([])).code, 2);
    assert.equal((await run(['SELECT Id FROM Account', '--format', 'xml'])).code, 2);
    assert.equal((await run(['SELECT Id FROM Account', '--batch-size', '5'])).code, 2);
    assert.equal((await run(['SELECT Id FROM Account', '--bogus'])).code, 2);
    const noCreds = await queryCommand(['SELECT Id FROM Account'], { stdout: capture().stream, stderr: capture().stream, env: {} });
    assert.equal(noCreds, 2);
  });

  it('flags win over env', async () => {
    const r = await run(['SELECT Id FROM Account', '--client-secret', 'wrong']);
    assert.equal(r.code, 3, 'a refused login exits 3');
    assert.match(r.stderr, /invalid_client.*consumer key and consumer secret/);
  });

  it('derives columns from the SELECT list', () => {
    assert.deepEqual(selectColumns("SELECT Id, Account.Name, (SELECT Id FROM Contacts), COUNT(Id) cnt, MAX(Amount) FROM Opportunity WHERE Name = 'x, FROM y'"), ['Id', 'Account.Name', 'Contacts', 'cnt', 'expr0']);
    assert.equal(selectColumns('SELECT COUNT() FROM Account'), undefined);
  });
});

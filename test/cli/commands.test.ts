/**
 * The commands as users run them, through the real launcher against the emulator: --version and help,
 * catalog discovery (objects, describe), query's COUNT(), output files and formats, SOQL from a file or
 * stdin, --json documents, sync of every custom object with `--custom-objects '*'`, and the config file's
 * continuous/interval semantics.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { nameField, systemFields, text } from '../../src/emulator/schema/dsl.ts';
import { login } from '../helpers/emulator.ts';
import { cliOrg, filesIn, sfbridge, startSfbridge, workdir, type CliOrg } from './helpers.ts';

let org: CliOrg;

before(async () => {
  org = await cliOrg({
    seed: 'Account=12,Contact=5',
    objects: [{ name: 'Invoice__c', label: 'Invoice', labelPlural: 'Invoices', keyPrefix: 'a0I', custom: true, fields: [...systemFields(), nameField(80), text('Status__c', 20, { custom: true })] }],
  });
  const token = await login(org.emu);
  for (let i = 0; i < 3; i++) {
    const res = await org.emu.request('/services/data/v62.0/sobjects/Invoice__c', { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ Name: `INV-${i}`, Status__c: 'Open' }) });
    assert.equal(res.status, 201, await res.text());
  }
});

after(async () => {
  await org.close();
});

describe('conventions', () => {
  it('--version and help <command>', async () => {
    const cwd = await workdir();
    const v = await sfbridge(['--version'], { cwd, env: org.env });
    assert.equal(v.code, 0);
    assert.match(v.stdout, /^sfbridge \d+\.\d+\.\d+ \(node v\d+/);
    const h = await sfbridge(['help', 'sync'], { cwd, env: org.env });
    assert.equal(h.code, 0);
    assert.match(h.stdout, /^Usage: sfbridge sync/);
    const top = await sfbridge(['--help'], { cwd, env: org.env });
    assert.match(top.stdout, /Exit codes: 0 success; 1 the work ran and something failed; 2 /);
    // Every SFBRIDGE_* variable the code (or the launcher) reads is listed, so a new one cannot go undocumented.
    const read = new Set<string>();
    for (const dir of ['src', 'bin']) {
      for (const file of await readdir(new URL(`../../${dir}/`, import.meta.url), { recursive: true })) {
        if (!/\.(ts|js)$/.test(file)) continue;
        for (const m of (await readFile(new URL(`../../${dir}/${file}`, import.meta.url), 'utf8')).matchAll(/SFBRIDGE_[A-Z][A-Z_]*[A-Z]/g)) read.add(m[0]);
      }
    }
    assert.ok(read.size > 10, [...read].join(' '));
    const listed = new Set(top.stdout.match(/SFBRIDGE_[A-Z][A-Z_]*[A-Z]/g));
    assert.deepEqual([...read].filter((v) => !listed.has(v)).sort(), []);
    assert.ok(top.stdout.includes('NO_COLOR'));
    // docs/CLI.md's command table has a row for every command --help lists.
    const commands = [...top.stdout.split('\n\n')[1].matchAll(/^  ([a-z]+) /gm)].map((m) => m[1]);
    assert.ok(commands.length > 15, commands.join(' '));
    const rows = (await readFile(new URL('../../docs/CLI.md', import.meta.url), 'utf8')).split('\n').filter((l) => l.startsWith('| `')).map((l) => l.split(' | ')[0]);
    assert.deepEqual(commands.filter((c) => !rows.some((r) => r.includes(`\`${c}\``) || r.includes(`\`${c} `))), []);
  });
});

describe('completion and runs', () => {
  it('completion scripts are valid shell and list the commands', async () => {
    const cwd = await workdir();
    const b = await sfbridge(['completion', 'bash'], { cwd, env: org.env });
    assert.equal(b.code, 0);
    assert.match(b.stdout, /complete -o default -F _sfbridge sfbridge/);
    assert.match(b.stdout, /\bsync objects describe query\b/);
    await writeFile(join(cwd, 'c.bash'), b.stdout);
    const { execFileSync } = await import('node:child_process');
    execFileSync('bash', ['-n', join(cwd, 'c.bash')]);
    const z = await sfbridge(['completion', 'zsh'], { cwd, env: org.env });
    assert.match(z.stdout, /^#compdef sfbridge/);
    assert.equal((await sfbridge(['completion', 'fish'], { cwd, env: org.env })).code, 2);
  });

  it('runs lists the store\'s run history; a missing store is refused, not created', async () => {
    const cwd = await workdir();
    const missing = await sfbridge(['runs', '--store', 'sqlite:./m.db'], { cwd, env: org.env });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^sfbridge runs: no database at \.\/m\.db/);
    assert.deepEqual(await filesIn(cwd), []);
    assert.equal((await sfbridge(['sync', '--objects', 'Account', '--to', 'sqlite:./m.db'], { cwd, env: org.env })).code, 0);
    const r = await sfbridge(['runs', '--store', 'sqlite:./m.db'], { cwd, env: org.env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^run 1 .* succeeded /);
    assert.match(r.stdout, /^  Account\s+12 read\s+12 written\s+0 deleted$/m);
    const j = JSON.parse((await sfbridge(['runs', '--store', 'sqlite:./m.db', '--json'], { cwd, env: org.env })).stdout);
    assert.deepEqual(j.runs[0].objects.Account, { read: 12, written: 12, deleted: 0, status: 'ok' });
    assert.equal(j.nextRun, null);
  });

  it('search on a store synced without documents says so and how to build them', async () => {
    const cwd = await workdir();
    assert.equal((await sfbridge(['sync', '--objects', 'Account', '--to', 'sqlite:./m.db'], { cwd, env: org.env })).code, 0);
    const r = await sfbridge(['search', 'acme', '--db', './m.db'], { cwd, env: org.env });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^sfbridge search: this store has no search documents: Account were synced without them — run `sfbridge sync --documents`/);
  });
});

describe('bulk --json', () => {
  it('stdout carries only the result document; job lines go to stderr', async () => {
    const cwd = await workdir();
    await writeFile(join(cwd, 'in.csv'), 'LastName,Company\nOne,Bulk Co\nTwo,Bulk Co\n');
    const r = await sfbridge(['bulk', 'insert', '--object', 'Lead', '--file', 'in.csv', '--json'], { cwd, env: org.env });
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.ok, true);
    assert.equal(doc.records, 2);
    assert.equal(doc.notLoaded, 0);
    assert.equal(doc.jobs.length, 1);
    assert.match(doc.jobs[0].jobId, /^750/);
    assert.deepEqual(doc.jobs[0].files, [`${doc.jobs[0].jobId}-success-records.csv`]);
    assert.match(r.stderr, /run manifest bulk-run-/);
    assert.match(r.stderr, /job 750\w+ created/);
  });
});

describe('catalog', () => {
  it('objects lists custom objects; describe lists fields; --json shapes', async () => {
    const cwd = await workdir();
    const o = await sfbridge(['objects', '--custom', '--json'], { cwd, env: org.env });
    assert.equal(o.code, 0, o.stderr);
    const doc = JSON.parse(o.stdout);
    assert.equal(doc.ok, true);
    assert.deepEqual(doc.objects.map((x: { name: string }) => x.name), ['Invoice__c']);
    const d = await sfbridge(['describe', 'Account', 'indus'], { cwd, env: org.env });
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /^field\s+type\s+label\s+flags/);
    assert.match(d.stdout, /^Industry\s+picklist/m);
    const j = JSON.parse((await sfbridge(['describe', 'Invoice__c', '--json'], { cwd, env: org.env })).stdout);
    assert.equal(j.object.name, 'Invoice__c');
    assert.ok(j.object.fields.some((f: { name: string; type: string }) => f.name === 'Status__c' && f.type === 'string'));
    const bad = await sfbridge(['describe', 'Invoce__c'], { cwd, env: org.env });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^sfbridge describe: Invoce__c is not an object in this org \(did you mean Invoice__c\?\)/);
  });
});

describe('query', () => {
  it('SELECT COUNT() prints the count in every format', async () => {
    const cwd = await workdir();
    assert.deepEqual(JSON.parse((await sfbridge(['query', 'SELECT COUNT() FROM Account'], { cwd, env: org.env })).stdout), { count: 12 });
    assert.equal((await sfbridge(['query', 'SELECT COUNT() FROM Account', '--format', 'csv'], { cwd, env: org.env })).stdout, 'count\n12\n');
    assert.match((await sfbridge(['query', 'SELECT COUNT() FROM Account', '--format', 'table'], { cwd, env: org.env })).stdout, /^count\n-+\n12\n$/);
    assert.deepEqual(JSON.parse((await sfbridge(['query', 'SELECT COUNT() FROM Account', '--json'], { cwd, env: org.env })).stdout), { ok: true, command: 'query', totalSize: 12, done: true, records: [] });
  });

  it('--output infers the format from the extension and reports on stderr', async () => {
    const cwd = await workdir();
    const r = await sfbridge(['query', 'SELECT Id, Name FROM Account ORDER BY Name', '--output', 'accounts.csv'], { cwd, env: org.env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, 'wrote 12 records to accounts.csv\n');
    const lines = (await readFile(join(cwd, 'accounts.csv'), 'utf8')).trim().split('\n');
    assert.equal(lines[0], 'Id,Name');
    assert.equal(lines.length, 13);
    const one = await sfbridge(['query', 'SELECT Id FROM Account LIMIT 1', '-o', 'one.jsonl', '--json'], { cwd, env: org.env });
    assert.deepEqual(JSON.parse(one.stdout), { ok: true, command: 'query', file: 'one.jsonl', format: 'jsonl', records: 1, totalSize: 1 });
    assert.equal(one.stderr, 'wrote 1 record to one.jsonl\n');
    assert.deepEqual(await filesIn(cwd), ['accounts.csv', 'one.jsonl']);
  });

  it('SOQL from --file or stdin; --json streams one document', async () => {
    const cwd = await workdir();
    await writeFile(join(cwd, 'q.soql'), 'SELECT Name\nFROM Invoice__c\nORDER BY Name;\n');
    const f = await sfbridge(['query', '--file', 'q.soql', '--json'], { cwd, env: org.env });
    assert.equal(f.code, 0, f.stderr);
    assert.deepEqual(JSON.parse(f.stdout), { ok: true, command: 'query', records: [{ Name: 'INV-0' }, { Name: 'INV-1' }, { Name: 'INV-2' }], totalSize: 3, done: true });
    const s = await sfbridge(['query', '-', '--format', 'csv'], { cwd, env: org.env, input: 'SELECT COUNT() FROM Contact' });
    assert.equal(s.stdout, 'count\n5\n');
    const missing = await sfbridge(['query', '--file', 'nope.soql'], { cwd, env: org.env });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^sfbridge query: --file nope\.soql: no such file/);
  });
});

describe('sync', () => {
  it("--custom-objects '*' syncs every custom object; --json prints the run", async () => {
    const cwd = await workdir();
    const r = await sfbridge(['sync', '--objects', 'Account', '--custom-objects', '*', '--to', 'sqlite:./m.db', '--json'], { cwd, env: org.env });
    assert.equal(r.code, 0, r.stderr);
    const run = JSON.parse(r.stdout);
    assert.equal(run.ok, true);
    assert.equal(run.status, 'succeeded');
    assert.deepEqual(run.objects.map((o: { object: string; written: number }) => [o.object, o.written]), [['Account', 12], ['Invoice__c', 3]]);
    assert.equal(typeof run.runId, 'number');
  });

  it('the file\'s interval: makes sync continuous (next cycle line, Ctrl-C stops it); continuous: false and --once run one cycle', async () => {
    const cwd = await workdir();
    await writeFile(join(cwd, 'sfbridge.yaml'), 'store: sqlite:./m.db\nstandard_objects_to_sync: [Account]\ninterval: 1s\n');
    const once = await sfbridge(['sync', '--once'], { cwd, env: org.env });
    assert.equal(once.code, 0, once.stderr);
    assert.doesNotMatch(once.stdout, /next cycle/);
    await writeFile(join(cwd, 'off.yaml'), 'store: sqlite:./m.db\nstandard_objects_to_sync: [Account]\ninterval: 1s\ncontinuous: false\n');
    const off = await sfbridge(['sync', '--config', 'off.yaml'], { cwd, env: org.env });
    assert.equal(off.code, 0, off.stderr);
    assert.equal(off.stdout.match(/^run \d+/gm)?.length, 1);

    const child = startSfbridge(['sync'], { cwd, env: org.env });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.resume();
    // Two cycles: the second prints one line when nothing changed.
    await new Promise<void>((resolve) => {
      const check = () => (out.match(/next cycle at \d\d:\d\d:\d\d/g)?.length ?? 0) >= 2 && resolve();
      child.stdout.on('data', check);
    });
    // While it runs, `runs` says when its next cycle starts and which process runs it.
    const during = await sfbridge(['runs', '--store', 'sqlite:./m.db', '--last', '1'], { cwd, env: org.env });
    assert.match(during.stdout, new RegExp(`^next run at \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ \\(continuous sfbridge sync, pid ${child.pid} on `));
    assert.equal(JSON.parse((await sfbridge(['runs', '--store', 'sqlite:./m.db', '--json'], { cwd, env: org.env })).stdout).nextRun.pid, child.pid);
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    assert.equal(code, 0, out);
    assert.match(out, /^Account\s+incremental/m);
    const stopped = await sfbridge(['runs', '--store', 'sqlite:./m.db', '--json'], { cwd, env: org.env });
    assert.equal(JSON.parse(stopped.stdout).nextRun, null, 'a stopped sync has no next run');
    assert.equal(JSON.parse(stopped.stdout).runs[0].objects.Account.status, 'ok');
  });
});

describe('examples/sfbridge.yaml', () => {
  it('is a valid config: sync --once with it mirrors what it names', async () => {
    const { readFile: read } = await import('node:fs/promises');
    const cwd = await workdir();
    // The example as shipped, with a store in the work folder and only objects this org has data for.
    const text = (await read(join(import.meta.dirname, '../../examples/sfbridge.yaml'), 'utf8'))
      .replace('standard_objects_to_sync: [Account, Contact, Opportunity, Case]', 'standard_objects_to_sync: [Account, Contact]');
    await writeFile(join(cwd, 'sfbridge.yaml'), text);
    const r = await sfbridge(['sync', '--json'], { cwd, env: org.env });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const run = JSON.parse(r.stdout);
    assert.deepEqual(run.objects.map((o: { object: string; written: number }) => [o.object, o.written]), [['Account', 12], ['Contact', 5]]);
    assert.equal(run.nextCycle, undefined, 'continuous: false runs one cycle');
  });
});

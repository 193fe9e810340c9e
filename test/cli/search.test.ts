/**
 * `sfbridge search` over a SQLite store filled with documents built from the demo-seeded emulator: table
 * and jsonl output, --type, --limit, the missing-database error (through the real bin too) and usage errors.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import { before, describe, it } from 'node:test';
import type { SearchDocument } from '../../src/store/types.ts';
import { formatHits, searchCommand, searchStoreUrl } from '../../src/cli/search.ts';
import { SalesforceClient } from '../../src/client/index.ts';
import { createEmulator } from '../../src/emulator/app.ts';
import { seedOrg } from '../../src/emulator/seed/index.ts';
import { createDocumentBuilder, indexRecords } from '../../src/engine/documents/index.ts';
import { openStore } from '../../src/store/index.ts';
import { backends } from '../store/backends.ts';

const BASE = 'https://acme.my.salesforce.com';
type Rec = Record<string, unknown>;
let dir: string;
let db: string;
/** An account in the store with at least one case. */
let account: { Id: string; Name: string };
let caseCount = 0;
/** A few of the built documents, for the Postgres run. */
let sample: SearchDocument[] = [];

function capture(tty = false) {
  const s = new PassThrough() as PassThrough & { isTTY?: boolean };
  s.isTTY = tty;
  let text = '';
  s.on('data', (c: Buffer) => (text += c.toString()));
  return { stream: s, text: () => text };
}

async function run(argv: string[], tty = false, env: NodeJS.ProcessEnv = {}) {
  const out = capture(tty);
  const err = capture();
  const code = await searchCommand(argv, { stdout: out.stream, stderr: err.stream, env });
  return { code, stdout: out.text(), stderr: err.text() };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sfb-search-'));
  db = join(dir, 'sfbridge.db');
  const emu = createEmulator();
  await seedOrg(emu.org, 'demo');
  const sf = new SalesforceClient({ credentials: { kind: 'clientCredentials', instanceUrl: BASE, clientId: emu.org.clientId, clientSecret: emu.org.clientSecret }, fetch: async (i, init) => emu.fetch(new Request(i, init)) });
  const builder = createDocumentBuilder(sf);
  const store = await openStore(`sqlite:${db}`);
  try {
    for (const object of ['Account', 'Case', 'Contact']) {
      const d = await sf.describe(object);
      const fields = d.fields.filter((f) => !['address', 'location', 'base64'].includes(f.type)).map((f) => f.name);
      const records = await sf.query<Rec>(`SELECT ${[...fields, ...builder.queryFields(object, d)].join(', ')} FROM ${object}`).toArray();
      await indexRecords(builder, store, object, records);
      if (object === 'Case') sample = await builder.build(object, records.slice(0, 5));
    }
    [account] = (await sf.query<{ Id: string; Name: string }>('SELECT Id, Name FROM Account WHERE Id IN (SELECT AccountId FROM Case) ORDER BY Id LIMIT 1').toArray());
    caseCount = await sf.count(`SELECT Id FROM Case WHERE AccountId = '${account.Id}'`);
  } finally {
    await store.close();
    emu.close();
  }
});

describe('sfbridge search', () => {
  it('prints ranked hits with title, type, category path, snippet and URL', async () => {
    const r = await run([account.Name, '--db', db]);
    assert.equal(r.code, 0, r.stderr);
    const first = r.stdout.split('\n').slice(0, 3).map((l) => l.trim());
    assert.equal(first[0], `1. ${account.Name}  [Account]  Standard Objects/Account`);
    assert.match(first[1], /\[[^\]]+\]/, 'matches marked in the snippet');
    assert.equal(first[2], `${BASE}/lightning/r/Account/${account.Id}/view`);
    assert.match(r.stdout, /\[Case\]  Standard Objects\/Case/);
    assert.match(r.stdout, /\(\d+ hits?\)\n$/);
  });

  it('--type filters, --limit caps, --format jsonl prints one hit per line', async () => {
    const r = await run([account.Name, '--db', `sqlite:${db}`, '--type', 'Case', '--format', 'jsonl', '--limit', '1000']);
    assert.equal(r.code, 0, r.stderr);
    const hits = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(hits.length >= caseCount && caseCount > 0);
    assert.ok(hits.every((h) => h.type === 'Case' && h.categories[0] === 'Standard Objects/Case' && typeof h.score === 'number'));
    for (let i = 1; i < hits.length; i++) assert.ok(hits[i - 1].score >= hits[i].score, 'ranked');
    const two = await run([account.Name, '--db', db, '--limit', '2', '--format', 'jsonl']);
    assert.equal(two.stdout.trim().split('\n').length, 2);
  });

  it('without --db, SFBRIDGE_STORE (the store sync uses) is searched', async () => {
    const r = await run([account.Name, '--format', 'jsonl', '--limit', '1'], false, { SFBRIDGE_STORE: `sqlite:${db}` });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).id, account.Id);
  });

  it('no hits is not an error', async () => {
    const r = await run(['zzzxqvnotaword', '--db', db, '--type', 'Case']);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, 'No matches for "zzzxqvnotaword" in Case.\n');
  });

  it('a missing database names `sfbridge sync` as the fix, exits 1 and creates nothing', async () => {
    const missing = join(dir, 'nope', 'sfbridge.db');
    const r = await run(['acme', '--db', missing]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no database at .*nope\/sfbridge\.db/);
    assert.match(r.stderr, /sfbridge sync/);
    assert.equal(existsSync(missing), false);
  });

  it('through the bin: default db ./data/sfbridge.db missing → exit 1 with the fix', async () => {
    const bin = join(import.meta.dirname, '../../bin/sfbridge.js');
    const err = await promisify(execFile)(process.execPath, [bin, 'search', 'acme'], { cwd: dir, env: { ...process.env, SFBRIDGE_STORE: '' } }).then(
      () => assert.fail('expected a failure'),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(err.code, 1);
    assert.match(err.stderr, /no database at \.\/data\/sfbridge\.db — run `sfbridge sync --documents` first/);
  });

  it('usage errors exit 2', async () => {
    assert.equal((await run([])).code, 2);
    assert.equal((await run(['acme', '--limit', '0', '--db', db])).code, 2);
    assert.equal((await run(['acme', '--format', 'csv', '--db', db])).code, 2);
    assert.equal((await run(['acme', '--type', "Case' OR", '--db', db])).code, 2);
    const bad = await run(['acme', '--db', 'mysql://x/y']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unsupported store URL "mysql:\/\/x\/y"/);
  });

  it('searches a Postgres store given as --db postgres://…?schema=', async () => {
    const place = await backends.find((b) => b.name === 'postgres')!.place();
    try {
      const store = await place.open();
      await store.upsertDocuments(sample);
      await store.close();
      const r = await run([String(sample[0].raw && (sample[0].raw as Rec).CaseNumber), '--db', place.url, '--format', 'jsonl']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout.split('\n')[0]).id, sample[0].id);
    } finally {
      await place.cleanup();
    }
  });

  it('formatHits: brackets off a terminal, bold on one; one line per field', () => {
    const hit = { id: '500000000000001AAA', type: 'Case', title: '00001: Broken\nturbine', url: 'https://x/lightning/r/Case/500000000000001AAA/view', categories: ['Standard Objects/Case'], score: 1, snippet: 'the <mark>turbine</mark>\nis broken' };
    assert.equal(formatHits([hit], 'turbine'), `1. 00001: Broken turbine  [Case]  Standard Objects/Case\n   the [turbine] is broken\n   https://x/lightning/r/Case/500000000000001AAA/view\n(1 hit)\n`);
    assert.match(formatHits([hit], 'turbine', { tty: true }), /the \x1b\[1mturbine\x1b\[22m is broken/);
  });

  it('--db accepts store URLs and bare paths', () => {
    assert.equal(searchStoreUrl('./x.db'), 'sqlite:./x.db');
    assert.equal(searchStoreUrl('sqlite:./x.db'), 'sqlite:./x.db');
    assert.equal(searchStoreUrl('postgres://u@h/db'), 'postgres://u@h/db');
  });
});

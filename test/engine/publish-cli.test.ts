/**
 * `sfbridge publish` and `sfbridge dlq` in-process against the emulator: CSV/JSONL input, result files,
 * exit codes, usage errors, dead-letter listing and replay with an edited payload, `--config` pipelines.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { before, describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import { dlqCommand } from '../../src/cli/dlq.ts';
import { publishCommand } from '../../src/cli/publish.ts';
import type { Emulator } from '../../src/emulator/app.ts';
import { BASE, clientFor, publishEmulator } from './publish-helpers.ts';

let emu: Emulator;
let env: NodeJS.ProcessEnv;
let dir: string;

function capture() {
  const s = new PassThrough() as PassThrough & { isTTY?: boolean };
  let text = '';
  s.on('data', (c: Buffer) => (text += c.toString()));
  return { stream: s, text: () => text };
}

const io = () => ({ fetch: (i: RequestInfo | URL, init?: RequestInit) => emu.fetch(new Request(i, init)), env, publishOptions: { retryBaseDelayMs: 1 } });

async function cli(argv: string[], stdin?: string) {
  const out = capture();
  const err = capture();
  const code = await publishCommand(argv, { ...io(), stdout: out.stream, stderr: err.stream, stdin: stdin === undefined ? undefined : Readable.from([stdin]) });
  return { code, stdout: out.text(), stderr: err.text() };
}

async function dlq(argv: string[]) {
  const out = capture();
  const err = capture();
  const code = await dlqCommand(argv, { ...io(), stdout: out.stream, stderr: err.stream });
  return { code, stdout: out.text(), stderr: err.text() };
}

before(() => {
  emu = publishEmulator();
  dir = mkdtempSync(join(tmpdir(), 'sfb-pubcli-'));
  env = { SF_INSTANCE_URL: BASE, SF_CLIENT_ID: emu.org.clientId, SF_CLIENT_SECRET: emu.org.clientSecret, SFBRIDGE_HOME: dir, SFBRIDGE_PUBLISH_STATE: `sqlite:${join(dir, 'default-state.db')}` };
});

describe('sfbridge publish', () => {
  it('upserts a CSV file, writes a result file and exits 1 when a record failed', async () => {
    const input = join(dir, 'contacts.csv');
    writeFileSync(input, 'External_Id__c,LastName,Email\nC1,One,one@example.com\nC2,Two,not-an-email\nC3,Three,\n');
    const state = `sqlite:${join(dir, 'state.db')}`;
    const r = await cli(['--object', 'Contact', '--operation', 'upsert', '--external-id', 'External_Id__c', '--from', input, '--state', state, '--results', join(dir, 'out.csv')]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /Contact upsert: 3 records via collections: 2 succeeded \(2 created\), 1 failed, 1 dead-lettered/);
    assert.match(r.stdout, /sfbridge dlq list --state/);
    const rows = parse(readFileSync(join(dir, 'out.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    assert.deepEqual(rows.map((x) => [x.row, x.success, x.error_code, x.error_fields]), [['1', 'true', '', ''], ['2', 'false', 'INVALID_EMAIL_ADDRESS', 'Email'], ['3', 'true', '', '']]);
    assert.match(rows[0].id, /^003/);

    // dlq list / show / replay with a fixed payload
    const list = await dlq(['list', '--state', state]);
    assert.equal(list.code, 0);
    assert.match(list.stdout, /INVALID_EMAIL_ADDRESS/);
    const id = /^\s*(\d+)/.exec(list.stdout)![1];
    const show = await dlq(['show', id, '--state', state]);
    const letter = JSON.parse(show.stdout);
    assert.equal(letter.payload.Email, 'not-an-email');
    const again = await dlq(['replay', id, '--state', state]);
    assert.equal(again.code, 1);
    assert.match(again.stdout, /failed again: INVALID_EMAIL_ADDRESS/);
    writeFileSync(join(dir, 'fix.json'), JSON.stringify({ ...letter.payload, Email: 'two@example.com' }));
    const fixed = await dlq(['replay', id, '--payload', join(dir, 'fix.json'), '--state', state]);
    assert.equal(fixed.code, 0, fixed.stderr + fixed.stdout);
    assert.match(fixed.stdout, /replayed → 003/);
    assert.match((await dlq(['list', '--state', state])).stdout, /\(0 dead letters, open\)/);
    assert.match((await dlq(['list', '--status', 'all', '--state', state])).stdout, /replayed/);
    const [c2] = await clientFor(emu).query("SELECT Email FROM Contact WHERE External_Id__c = 'C2'").toArray();
    assert.equal(c2.Email, 'two@example.com');

    // Rerunning the same file is a no-op for rows already published.
    const rerun = await cli(['--object', 'Contact', '--operation', 'upsert', '--external-id', 'External_Id__c', '--from', input, '--state', state, '--results', join(dir, 'out2.jsonl')]);
    assert.match(rerun.stdout, /Contact upsert: 3 records: 0 sent, 3 already published/);
  });

  it('inserts JSON lines from stdin, exit 0', async () => {
    const results = join(dir, 'stdin.jsonl');
    const r = await cli(['--object', 'Contact', '--operation', 'create', '--match-field', 'Idem_Key__c', '--from', '-', '--results', results, '--state', 'sqlite::memory:'], '{"LastName":"S1","Idem_Key__c":"s1"}\n{"LastName":"S2","Idem_Key__c":"s2"}\n');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /keeps the outbox in memory: a rerun after a crash sends every record again/);
    const lines = readFileSync(results, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => [l.row, l.success, l.created]), [[1, true, true], [2, true, true]]);
  });

  it('reports usage errors with exit 2', async () => {
    assert.match((await cli(['--operation', 'insert', '--from', 'x.csv'])).stderr, /--object is required/);
    assert.equal((await cli(['--object', 'Contact', '--operation', 'upsert', '--from', 'x.csv'])).code, 2);
    assert.match((await cli(['--object', 'Contact', '--operation', 'upsert', '--from', 'x.csv'])).stderr, /needs an external ID field: pass --external-id/);
    assert.match((await cli(['--object', 'Contact', '--operation', 'merge', '--from', 'x.csv'])).stderr, /unknown operation "merge"/);
    assert.match((await cli(['--object', 'Contact', '--operation', 'insert', '--from', 'x.txt'])).stderr, /cannot tell the input format/);
    assert.match((await cli(['--object', 'Contact', '--operation', 'insert', '--from', 'x.csv', '--path', 'fast'])).stderr, /--path must be auto, collections, bulk or pubsub/);
    assert.equal((await dlq(['replay', '--state', `sqlite:${join(dir, 'state.db')}`])).code, 2);
    const updateOnly = await cli(['--object', 'Contact', '--external-id', 'External_Id__c', '--from', 'x.csv', '--update-only', '--path', 'bulk']);
    assert.equal(updateOnly.code, 2);
    assert.match(updateOnly.stderr, /updateOnly .*single-record REST upsert.*Use path auto/s);
    assert.match((await cli(['--object', 'Contact', '--operation', 'insert', '--from', 'x.csv', '--duplicate-rules', 'allowSave=yes'])).stderr, /--duplicate-rules: "allowSave=yes" is not NAME=true\|false/);
    assert.match((await cli(['--object', 'Contact', '--operation', 'insert', '--from', 'x.csv', '--all-or-none', '--path', 'bulk'])).stderr, /path bulk cannot carry allOrNone/);
    assert.match((await cli(['--object', 'Contact', '--operation', 'insert', '--from', 'x.csv', '--describe-max-age', 'soon'])).stderr, /--describe-max-age must be a duration/);
  });

  it('sends the target option flags on the Collections calls', async () => {
    const input = join(dir, 'opts.csv');
    writeFileSync(input, 'External_Id__c,LastName\nO1,One\nO2,Two\n');
    const seen: Headers[] = [];
    const out = capture();
    const err = capture();
    const code = await publishCommand(['--object', 'Contact', '--external-id', 'External_Id__c', '--from', input, '--state', `sqlite:${join(dir, 'options.db')}`, '--all-or-none', '--assignment-rule', 'FALSE', '--duplicate-rules', 'allowSave=true;includeRecordDetails=false'], {
      ...io(),
      fetch: (i: RequestInfo | URL, init?: RequestInit) => {
        const req = new Request(i, init);
        if (req.url.includes('/composite/sobjects')) seen.push(req.headers);
        return emu.fetch(req);
      },
      stdout: out.stream,
      stderr: err.stream,
    });
    assert.equal(code, 0, err.text());
    assert.equal(seen.length, 1);
    assert.equal(seen[0].get('sforce-auto-assign'), 'FALSE');
    assert.equal(seen[0].get('sforce-duplicate-rule-header'), 'allowSave=true; includeRecordDetails=false');
  });

  it('runs --config pipelines', async () => {
    writeFileSync(join(dir, 'leads.jsonl'), '{"k":"L1","name":"Lead One"}\n');
    writeFileSync(join(dir, 'sfbridge.yaml'), [
      'publish:',
      '  - name: leads',
      '    source: { file: leads.jsonl, key: k }',
      '    transform: { rename: { k: External_Id__c, name: LastName } }',
      '    target: { object: Contact, operation: upsert, externalIdField: External_Id__c }',
      '    state: sqlite:./cfg-state.db',
    ].join('\n'));
    const r = await cli(['--config', join(dir, 'sfbridge.yaml')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /leads → Contact upsert: 1 record via collections: 1 succeeded/);
    writeFileSync(join(dir, 'bad.yaml'), 'publish:\n  - name: x\n    source: { file: a.csv }\n    target: { object: Contact, operation: upsert }\n');
    const bad = await cli(['--config', join(dir, 'bad.yaml')]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /publish\[0\]\.target\.externalIdField/);
    assert.match((await cli(['--config', join(dir, 'sfbridge.yaml'), '--pipeline', 'nope'])).stderr, /no publish pipeline named "nope"/);
  });
});

describe('sfbridge dlq with event pipeline letters', () => {
  it('lists them; replay of one names where to replay it; --all skips them with a warning', async () => {
    const { openStore } = await import('../../src/store/index.ts');
    const url = `sqlite:${join(dir, 'events-letters.db')}`;
    const store = await openStore(url);
    const state = await store.publishState();
    const [id] = await state.addDeadLetters([{ pipeline: 'orders-hook', key: 'order-13', object: '/event/Order_Placed__e', operation: 'deliver', externalIdField: null, payload: { topic: '/event/Order_Placed__e', id: 'order-13', payload: {} }, error: { code: 'SINK_REJECTED', message: 'HTTP 400', fields: [] }, attempts: 1 }]);
    await store.close();
    const list = await dlq(['list', '--state', url]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /order-13/);
    const one = await dlq(['replay', String(id), '--state', url]);
    assert.equal(one.code, 2);
    assert.match(one.stderr, /event pipeline "orders-hook" is an event its sink refused, not a record for Salesforce: replay it where the service runs .*\/api\/v1\/dead-letters\/orders-hook\//);
    const all = await dlq(['replay', '--all', '--state', url]);
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stderr, /skipping 1 dead letter of event pipelines \(orders-hook\)/);
    assert.match(all.stdout, /no open dead letters/);
  });
});

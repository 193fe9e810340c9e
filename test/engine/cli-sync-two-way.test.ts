/**
 * `sfbridge sync` with a writable object: the summary reports what the application's changes did, and --json
 * carries it; `sfbridge conflicts` lists the writable tables and the conflicts with both versions.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { conflictsCommand } from '../../src/cli/conflicts.ts';
import { syncCommand } from '../../src/cli/sync.ts';
import { startPubSub } from '../../src/emulator/events/pubsub/server.ts';
import { openStore } from '../../src/store/index.ts';
import { BASE, clientFor, emulator, textSink as sink } from './helpers.ts';

async function collect(client: ReturnType<typeof clientFor>, soql: string): Promise<string[]> {
  const out: string[] = [];
  for await (const r of client.query(soql)) out.push(String((r as { Id: string }).Id));
  return out;
}


describe('sfbridge sync with a writable object', () => {
  it('sends the application\'s changes and reports them in the table and in --json', async () => {
    const emu = await emulator('Account=4');
    const dir = mkdtempSync(join(tmpdir(), 'sfbridge-cli-two-way-'));
    const db = join(dir, 'm.db');
    const cfg = join(dir, 'sfbridge.yaml');
    writeFileSync(cfg, `connection:\n  instance_url: ${BASE}\n  client_id: ${emu.org.clientId}\n  client_secret: ${emu.org.clientSecret}\nstore: sqlite:${db}\nstandard_objects_to_sync: [Account]\nlag: 0s\nobjects:\n  Account:\n    writable: true\n`);
    const run = async (...extra: string[]) => {
      const stdout = sink();
      const stderr = sink();
      const code = await syncCommand(['--config', cfg, '--once', ...extra], { stdout, stderr, env: {}, fetch: (i, init) => emu.fetch(new Request(i, init)) });
      assert.equal(code, 0, stderr.text);
      return stdout.text;
    };
    try {
      await run();
      const app = new DatabaseSync(db);
      const [a, b] = (app.prepare('SELECT "Id" FROM "Account" ORDER BY "Id"').all() as { Id: string }[]).map((r) => r.Id);
      app.prepare('UPDATE "Account" SET "Phone" = ? WHERE "Id" = ?').run('555-0142', a);
      app.prepare('DELETE FROM "Account" WHERE "Id" = ?').run(b);
      const text = await run();
      assert.match(text, /^Account application changes → Salesforce: 0 inserted, 1 updated, 1 deleted$/m);
      const client = clientFor(emu, { governor: false });
      assert.equal((await client.retrieve<{ Phone: string }>('Account', a, ['Phone'])).Phone, '555-0142');
      app.prepare('UPDATE "Account" SET "Phone" = ? WHERE "Id" = ?').run('555-0143', a);
      app.close();
      const json = JSON.parse((await run('--json')).trim().split('\n')[0]) as { objects: { object: string; pushed?: Record<string, number> }[] };
      assert.deepEqual(json.objects[0].pushed, { changes: 1, inserted: 0, updated: 1, deleted: 0, failed: 0, skipped: 0, conflicts: 0, echoes: 1 });

      // Edited on both sides: Salesforce's version wins, and `sfbridge conflicts` shows both.
      const c = (await collect(client, 'SELECT Id FROM Account ORDER BY Id')).at(-1)!;
      await client.update('Account', c, { Industry: 'Retail' });
      const again = new DatabaseSync(db);
      again.prepare('UPDATE "Account" SET "Industry" = ? WHERE "Id" = ?').run('Energy', c);
      again.close();
      assert.match(await run(), /^Account application changes → Salesforce: 0 inserted, 0 updated, 0 deleted, 1 conflict \(GET \/api\/v1\/two-way\)$/m);
      const out = sink();
      assert.equal(await conflictsCommand(['--store', `sqlite:${db}`], { stdout: out, stderr: sink(), env: {} }), 0);
      assert.match(out.text, /^Account +pending 0  succeeded 3  failed 0  superseded 1  skipped 0$/m);
      assert.match(out.text, new RegExp(`^#1  .* Account ${c}  salesforce_wins: Salesforce's version kept$`, 'm'));
      assert.match(out.text, /^ {4}Industry: application "Energy", Salesforce "Retail"$/m);
      const j = sink();
      assert.equal(await conflictsCommand(['--store', `sqlite:${db}`, '--json'], { stdout: j, stderr: sink(), env: {} }), 0);
      const doc = JSON.parse(j.text) as { ok: boolean; conflicts: { recordId: string; winner: string }[] };
      assert.deepEqual([doc.ok, doc.conflicts.map((x) => [x.recordId, x.winner])], [true, [[c, 'salesforce']]]);
      // An insert Salesforce refuses (Name is required): reported by the sync and listed with its error.
      const more = new DatabaseSync(db);
      more.prepare('INSERT INTO "Account" ("Id", "Industry") VALUES (?, ?)').run('new-no-name-01', 'Energy');
      more.close();
      assert.match(await run(), /^Account application changes → Salesforce: 0 inserted, 0 updated, 0 deleted, 1 refused \(sfbridge conflicts; sfbridge dlq list --state <this store> --pipeline two-way:Account:…\)$/m);
      const listed = sink();
      assert.equal(await conflictsCommand(['--store', `sqlite:${db}`], { stdout: listed, stderr: sink(), env: {} }), 0);
      assert.match(listed.text, /^refused by Salesforce, newest first \(correct the row and it is sent again;/m);
      assert.match(listed.text, /^#\d+  .*  insert Account new-no-name-01  REQUIRED_FIELD_MISSING: /m);
      const err = sink();
      assert.equal(await conflictsCommand(['--store', `sqlite:${join(dir, 'nope.db')}`], { stdout: sink(), stderr: err, env: {} }), 1);
      assert.match(err.text, /no database at .*nope\.db/);
    } finally {
      emu.close();
    }
  });

  it('with mode: cdc, follows change events in and sends the application\'s changes every interval; its own writes come back as events and are not sent again', async () => {
    const emu = await emulator('Account=2');
    const server = await startPubSub(emu, { port: 0, keepaliveMs: 100 });
    const dir = mkdtempSync(join(tmpdir(), 'sfbridge-cli-two-way-cdc-'));
    const db = join(dir, 'm.db');
    const cfg = join(dir, 'sfbridge.yaml');
    writeFileSync(cfg, `connection:\n  instance_url: ${BASE}\n  client_id: ${emu.org.clientId}\n  client_secret: ${emu.org.clientSecret}\nstore: sqlite:${db}\nstandard_objects_to_sync: [Account]\nlag: 1s\ninterval: 1s\nobjects:\n  Account:\n    mode: cdc\n    writable: true\n`);
    const stdout = sink();
    const stderr = sink();
    const ctl = new AbortController();
    let writes = 0;
    emu.org.events.on('write', () => writes++);
    const running = syncCommand(['--config', cfg], { stdout, stderr, signal: ctl.signal, env: { SF_PUBSUB_ENDPOINT: server.address, SF_PUBSUB_PLAINTEXT: '1' }, fetch: (i, init) => emu.fetch(new Request(i, init)) });
    const until = async (cond: () => boolean | Promise<boolean>, what: () => string) => {
      for (let i = 0; !(await cond()); i++) {
        if (i > 750) throw new Error(`timed out waiting for ${what()}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    const client = clientFor(emu, { governor: false });
    const stopped = async () => {
      ctl.abort();
      await running.catch(() => 1);
      await server.close();
      emu.close();
    };
    try {
      await until(() => /following change events of Account/.test(stderr.text), () => `the follower: ${stderr.text}`);
      assert.match(stderr.text, /polling Account every 1 s/);
      const [a, b] = await collect(client, 'SELECT Id FROM Account ORDER BY Id');
      const app = new DatabaseSync(db);
      try {
        app.prepare('UPDATE "Account" SET "Phone" = ? WHERE "Id" = ?').run('555-0177', a);
      } finally {
        app.close();
      }
      await until(async () => (await client.retrieve<{ Phone: string | null }>('Account', a, ['Phone'])).Phone === '555-0177', () => `the application's change in Salesforce: ${stdout.text}`);
      // sfbridge's own write comes back as a change event (origin client=sfbridge): applied, not sent again.
      await until(() => stderr.text.includes(`Account UPDATE ${a} (written by sfbridge)`), () => `the echo event: ${stderr.text}`);
      // Another system's write: its own client name, so no sfbridge mark on the event.
      await clientFor(emu, { governor: false, callOptions: 'client=crm-ui' }).update('Account', b, { Name: 'Renamed in Salesforce' });
      await until(() => stderr.text.includes(`Account UPDATE ${b}\n`), () => `the Salesforce change event: ${stderr.text}`);
      const settled = writes;
      const polls = (stdout.text.match(/^poll (of Account:|run \d+)/gm) ?? []).length;
      await until(() => (stdout.text.match(/^poll (of Account:|run \d+)/gm) ?? []).length >= polls + 2, () => `two more idle polls: ${stdout.text}`);
      assert.equal(writes, settled, 'idle cycles wrote nothing to Salesforce');
    } catch (err) {
      await stopped();
      throw err;
    }
    ctl.abort();
    assert.equal(await running, 0, stderr.text);
    const [a, b] = await collect(client, 'SELECT Id FROM Account ORDER BY Id');
    const store = await openStore(`sqlite:${db}`);
    try {
      assert.equal((await store.getRecord('Account', a))?.Phone, '555-0177');
      assert.equal((await store.getRecord('Account', b))?.Name, 'Renamed in Salesforce');
      const cap = await store.writeCapture();
      assert.deepEqual([(await cap.counts('Account')).pending, (await cap.counts('Account')).succeeded, (await cap.conflicts()).length], [0, 1, 0]);
    } finally {
      await store.close();
      await server.close();
      emu.close();
    }
  });
});

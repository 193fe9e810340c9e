/** `sfbridge sync` with a writable object: the summary reports what the application's changes did, and --json carries it. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { syncCommand } from '../../src/cli/sync.ts';
import { BASE, clientFor, emulator } from './helpers.ts';

function sink(): Writable & { text: string } {
  const w = new Writable({
    write(chunk, _enc, cb) {
      w.text += chunk.toString();
      cb();
    },
  }) as Writable & { text: string };
  w.text = '';
  return w;
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
    } finally {
      emu.close();
    }
  });
});

/** `sfbridge sync --config` with the per-object subscriber keys: where:, relationship paths, transform, page_size. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { UsageError } from '../../src/cli/args.ts';
import { syncCommand } from '../../src/cli/sync.ts';
import { openStore } from '../../src/store/index.ts';
import { BASE, clientFor, emulator, textSink as sink } from './helpers.ts';


describe('sfbridge sync --config with per-object subscriber keys', () => {
  it('mirrors the filtered records with relationship and transformed columns', async () => {
    const emu = await emulator();
    const c = clientFor(emu, { governor: false });
    const accounts = await c.collections.create(['Banking', 'Retail', 'Banking'].map((Industry, i) => ({ attributes: { type: 'Account' }, Name: `Firm ${i}`, Industry, NumberOfEmployees: 10 * (i + 1) })));
    const dir = mkdtempSync(join(tmpdir(), 'sfbridge-cli-subscriber-'));
    const db = join(dir, 'm.db');
    const cfg = join(dir, 'sfbridge.yaml');
    writeFileSync(cfg, [
      'connection:',
      `  instance_url: ${BASE}`,
      '  client_id: ${EMU_ID}',
      '  client_secret: ${EMU_SECRET}',
      `store: sqlite:${db}`,
      'standard_objects_to_sync: [Account]',
      'lag: 0s',
      'objects:',
      '  Account:',
      `    where: "Industry = 'Banking' AND NumberOfEmployees >= 10"`,
      '    fields: { include: [Name, NumberOfEmployees, Owner.Email] }',
      '    page_size: 200',
      '    transform:',
      '      rename: { Owner_Email: OwnerMail }',
      '      constants: { Source: crm }',
      '',
    ].join('\n'));
    const stdout = sink();
    const stderr = sink();
    const env = { EMU_ID: emu.org.clientId, EMU_SECRET: emu.org.clientSecret };
    const code = await syncCommand(['--config', cfg, '--once'], { stdout, stderr, env, fetch: (i, init) => emu.fetch(new Request(i, init)) });
    assert.equal(code, 0, stderr.text);
    assert.match(stdout.text, /^Account\s+rest\s+2\s+2\s+0\s+2/m);
    const store = await openStore(`sqlite:${db}`);
    try {
      assert.deepEqual((await store.describeTable('Account'))!.map((s) => s.name), ['Id', 'SystemModstamp', 'IsDeleted', 'Name', 'NumberOfEmployees', 'OwnerMail', 'Source']);
      const rows = await Promise.all([accounts[0].id!, accounts[2].id!].map((id) => store.getRecord('Account', id)));
      assert.deepEqual(rows.map((r) => [r!.Name, r!.NumberOfEmployees, r!.OwnerMail, r!.Source]), [['Firm 0', 10, 'admin@emulator.sfbridge.dev', 'crm'], ['Firm 2', 30, 'admin@emulator.sfbridge.dev', 'crm']]);
      assert.equal(await store.getRecord('Account', accounts[1].id!), undefined);
    } finally {
      await store.close();
    }

    // A filter that is not a condition is a usage error before anything runs.
    writeFileSync(cfg, `store: 'sqlite::memory:'\nobjects:\n  Account:\n    where: "Name = 'x' LIMIT 1"\n`);
    await assert.rejects(syncCommand(['--config', cfg, '--once'], { stdout: sink(), stderr: sink(), env: {} }), (err: unknown) => err instanceof UsageError && /objects\.Account\.where: only a condition is allowed, found LIMIT/.test(err.message));
    emu.close();
  });
});

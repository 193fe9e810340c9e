/** `sfbridge sync` in-process: flags, config file, summary table, exit codes. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { UsageError } from '../../src/cli/args.ts';
import { syncCommand } from '../../src/cli/sync.ts';
import { openStore } from '../../src/store/index.ts';
import { BASE, clientFor, emulator, textSink as sink } from './helpers.ts';


describe('sfbridge sync command', () => {
  it('syncs with flags, prints the per-object table, and exits 0', async () => {
    const emu = await emulator('Account=25,Lead=12');
    const dir = mkdtempSync(join(tmpdir(), 'sfbridge-cli-sync-'));
    const db = join(dir, 'm.db');
    const stdout = sink();
    const stderr = sink();
    const code = await syncCommand(['--instance-url', BASE, '--client-id', emu.org.clientId, '--client-secret', emu.org.clientSecret, '--objects', 'Account,Lead', '--to', `sqlite:${db}`, '--once'], {
      stdout, stderr, env: {}, fetch: (i, init) => emu.fetch(new Request(i, init)),
    });
    assert.equal(code, 0, stderr.text);
    assert.match(stdout.text, /^object\s+mode\s+read\s+written\s+deleted\s+mirrored/m);
    assert.match(stdout.text, /^Account\s+rest\s+25\s+25\s+0\s+25/m);
    assert.match(stdout.text, /^Lead\s+rest\s+12\s+12/m);
    assert.match(stdout.text, /run 1 succeeded/);
    // Off a TTY the events are JSON log lines on stderr, without secrets.
    const lines = stderr.text.trim().split('\n').map((l) => JSON.parse(l) as { event: string });
    assert.ok(lines.some((l) => l.event === 'run:finished'));
    assert.ok(!stderr.text.includes(emu.org.clientSecret));
    const store = await openStore(`sqlite:${db}`);
    assert.equal(await store.count('Account'), 25);
    await store.close();
    emu.close();
  });

  it('takes everything from a config file with ${ENV} secrets; a bad key is a usage error', async () => {
    const emu = await emulator('Campaign=5');
    const dir = mkdtempSync(join(tmpdir(), 'sfbridge-cli-sync-'));
    const cfg = join(dir, 'sfbridge.yaml');
    writeFileSync(cfg, `connection:\n  instance_url: ${BASE}\n  client_id: \${EMU_ID}\n  client_secret: \${EMU_SECRET}\nstore: 'sqlite::memory:'\nstandard_objects_to_sync: [Campaign]\nlag: 1s\n`);
    const stdout = sink();
    const code = await syncCommand(['--config', cfg, '--once'], { stdout, stderr: sink(), env: { EMU_ID: emu.org.clientId, EMU_SECRET: emu.org.clientSecret }, fetch: (i, init) => emu.fetch(new Request(i, init)) });
    assert.equal(code, 0);
    assert.match(stdout.text, /^Campaign\s+rest\s+5\s+5/m);

    writeFileSync(cfg, 'standard_objects_to_synk: [Account]\n');
    await assert.rejects(syncCommand(['--config', cfg], { stdout: sink(), stderr: sink(), env: {} }), (err: unknown) => err instanceof UsageError && /did you mean "standard_objects_to_sync"/.test(err.message));
    writeFileSync(cfg, 'connection:\n  client_secret: ${NOPE_NOT_SET}\n');
    await assert.rejects(syncCommand(['--config', cfg], { stdout: sink(), stderr: sink(), env: {} }), (err: unknown) => err instanceof UsageError && /NOPE_NOT_SET is not set/.test(err.message));
    emu.close();
  });

  it('--interval keeps syncing changes until stopped; a stop between cycles exits with the last run status', async () => {
    const emu = await emulator('Account=4');
    const stdout = sink();
    const controller = new AbortController();
    const w = clientFor(emu, { governor: false });
    let runs = 0;
    const origWrite = stdout.write.bind(stdout);
    let createdId = '';
    stdout.write = ((chunk: unknown, ...rest: unknown[]) => {
      const text = String(chunk);
      const ok = (origWrite as (c: unknown, ...r: unknown[]) => boolean)(chunk, ...rest);
      if (/^run \d+ /m.test(text)) {
        runs++;
        if (runs === 1) void w.create('Account', { Name: 'Between cycles' }).then((r) => (createdId = r.id));
        if (runs === 3) controller.abort();
      }
      return ok;
    }) as typeof stdout.write;
    const code = await syncCommand(['--instance-url', BASE, '--client-id', emu.org.clientId, '--client-secret', emu.org.clientSecret, '--objects', 'Account', '--to', 'sqlite::memory:', '--interval', '1s', '--lag', '1s'], {
      stdout, stderr: sink(), env: {}, fetch: (i, init) => emu.fetch(new Request(i, init)), signal: controller.signal,
    });
    assert.equal(code, 0, 'stopped between cycles: the last run succeeded');
    assert.equal(runs, 3);
    assert.match(stdout.text, /^Account\s+rest\s+4\s+4/m);
    assert.match(stdout.text, /^Account\s+incremental\s+[1-9]\d*\s+[1-9]/m, 'a later cycle picked up the new record');
    assert.ok(createdId);
    emu.close();
  });

  it('exits 1 when the org refuses for API limits', async () => {
    const emu = await emulator('Account=5');
    emu.org.faults.settings.dailyLimit = emu.org.apiUsage + 2;
    const stdout = sink();
    const code = await syncCommand(['--instance-url', BASE, '--client-id', emu.org.clientId, '--client-secret', emu.org.clientSecret, '--objects', 'Account', '--to', 'sqlite::memory:', '--once'], {
      stdout, stderr: sink(), env: {}, fetch: (i, init) => emu.fetch(new Request(i, init)),
    });
    assert.equal(code, 1);
    assert.match(stdout.text, /run \d+ failed/);
    emu.close();
  });
});

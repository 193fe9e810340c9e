/**
 * `mode: cdc` per object and the safety net: `sfbridge sync --config` follows change events for the objects in
 * CDC mode, polls the others every interval, and runs a polling pass over the CDC objects every
 * `cdc_safety_net`; settings change events cannot honour are refused before anything runs.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { CliError, UsageError } from '../../src/cli/args.ts';
import { syncCommand } from '../../src/cli/sync.ts';
import { DEFAULT_CDC_SAFETY_NET_MS, SyncConfigError, validateConfig } from '../../src/engine/config.ts';
import { startPubSub, type PubSubServer } from '../../src/emulator/events/pubsub/server.ts';
import type { Emulator } from '../../src/emulator/app.ts';
import { openStore } from '../../src/store/index.ts';
import { BASE, clientFor, emulator, textSink as sink } from './helpers.ts';


async function until(cond: () => boolean, what: () => string): Promise<void> {
  for (let i = 0; !cond(); i++) {
    if (i > 1500) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('mode: cdc in the config', () => {
  it('is validated: a where filter, a transform or relationship fields cannot follow events; the safety net has a floor', () => {
    assert.equal(validateConfig({ objects: { Account: { mode: 'cdc' } } }).objects.Account.mode, 'cdc');
    assert.equal(validateConfig({}).cdcSafetyNetMs, DEFAULT_CDC_SAFETY_NET_MS);
    assert.equal(validateConfig({ cdc_safety_net: '10m' }).cdcSafetyNetMs, 600_000);
    assert.throws(() => validateConfig({ objects: { Account: { mode: 'cdc', where: "Industry = 'Banking'" } } }), (err: unknown) =>
      err instanceof SyncConfigError && err.path === 'objects.Account.mode' && /cannot be combined with where/.test(err.message) && /use mode: poll/.test(err.message));
    assert.throws(() => validateConfig({ objects: { Contact: { mode: 'cdc', fields: { include: ['LastName', 'Account.Name'] } } } }), (err: unknown) =>
      err instanceof SyncConfigError && /relationship fields \(Account\.Name\)/.test(err.message));
    assert.throws(() => validateConfig({ objects: { Account: { mode: 'events' } } }), (err: unknown) => err instanceof SyncConfigError && err.path === 'objects.Account.mode');
    assert.throws(() => validateConfig({ cdc_safety_net: '0s' }), (err: unknown) => err instanceof SyncConfigError && err.path === 'cdc_safety_net' && /floor/.test(err.message));
  });
});

describe('sfbridge sync with mode: cdc objects', () => {
  let emu: Emulator;
  let server: PubSubServer;
  let dir: string;

  before(async () => {
    emu = await emulator('Account=3,Contact=2');
    server = await startPubSub(emu, { port: 0, keepaliveMs: 100 });
    dir = mkdtempSync(join(tmpdir(), 'sfbridge-cli-cdc-'));
  });
  after(async () => {
    await server.close();
    emu.close();
  });

  const env = () => ({ EMU_ID: emu.org.clientId, EMU_SECRET: emu.org.clientSecret, SF_PUBSUB_ENDPOINT: server.address, SF_PUBSUB_PLAINTEXT: '1' });
  const io = (stdout: Writable, stderr: Writable, signal?: AbortSignal) => ({ stdout, stderr, env: env(), signal, fetch: (i: RequestInfo | URL, init?: RequestInit) => emu.fetch(new Request(i, init)) });
  const config = (name: string, body: string) => {
    const file = join(dir, name);
    writeFileSync(file, `connection:\n  instance_url: ${BASE}\n  client_id: \${EMU_ID}\n  client_secret: \${EMU_SECRET}\nstore: sqlite:${join(dir, `${name}.db`)}\nlag: 1s\n${body}`);
    return file;
  };

  it('follows the CDC objects, polls the others every interval, and runs the safety net over the CDC objects', async () => {
    const file = config('mixed.yaml', 'standard_objects_to_sync: [Account, Contact]\ninterval: 1s\ncdc_safety_net: 2s\nobjects:\n  Account:\n    mode: cdc\n');
    const stdout = sink();
    const stderr = sink();
    const ctl = new AbortController();
    const running = syncCommand(['--config', file], io(stdout, stderr, ctl.signal));
    try {
      await until(() => /following change events of Account/.test(stderr.text), () => `the follower: ${stderr.text}`);
      assert.match(stderr.text, /polling Contact every 1 s/);
      assert.doesNotMatch(stderr.text, /following change events of [^\n]*Contact/);
      const w = clientFor(emu, { governor: false });
      const { id: account } = await w.create('Account', { Name: 'Live Account' });
      const { id: contact } = await w.create('Contact', { LastName: 'Polled' });
      await until(() => stderr.text.includes(`Account CREATE ${account}`), () => `the Account event: ${stderr.text}`);
      assert.ok(!stderr.text.includes(`Contact CREATE ${contact}`), 'Contact is not followed');
      await until(() => /^poll of Contact:/m.test(stdout.text), () => `a poll that found the Contact: ${stdout.text}`);
      await until(() => /^safety-net pass( of Account:| run \d+ succeeded)/m.test(stdout.text), () => `the safety-net pass: ${stdout.text}`);
    } finally {
      ctl.abort();
    }
    assert.equal(await running, 0, stderr.text);
    const store = await openStore(`sqlite:${join(dir, 'mixed.yaml.db')}`);
    try {
      assert.equal(await store.count('Account'), 4);
      assert.equal(await store.count('Contact'), 3);
      assert.ok(await store.getCheckpoint('cdc:Account'), 'Account followed its events');
      assert.equal(await store.getCheckpoint('cdc:Contact'), undefined, 'Contact was only polled');
    } finally {
      await store.close();
    }
  });

  it('mode: cdc on an object this run does not sync follows nothing: one cycle, as without it', async () => {
    const file = config('other.yaml', 'standard_objects_to_sync: [Account, Contact]\nobjects:\n  Account:\n    mode: cdc\n');
    const stdout = sink();
    const stderr = sink();
    const code = await syncCommand(['--config', file, '--objects', 'Contact'], io(stdout, stderr));
    assert.equal(code, 0, stderr.text);
    assert.match(stdout.text, /^Contact\s+rest/m);
    assert.doesNotMatch(stderr.text, /following change events/);
  });

  it('an object without Change Data Capture is refused before anything is written, with the fix', async () => {
    const file = config('nocdc.yaml', 'standard_objects_to_sync: [Account, Campaign]\n');
    await assert.rejects(syncCommand(['--config', file, '--cdc'], io(sink(), sink())), (err: unknown) =>
      err instanceof CliError && err.code === 'CDC_NOT_ENABLED' && err.exitCode === 2 && /for Campaign: Change Data Capture is not on/.test(err.message) && /Setup → Change Data Capture/.test(err.fix ?? '') && !/Account/.test(err.message));
    assert.equal(existsSync(join(dir, 'nocdc.yaml.db')), false, 'no store was created');
  });

  it('--cdc refuses an object whose where filter change events cannot honour, before anything is written', async () => {
    const file = config('where.yaml', "standard_objects_to_sync: [Account]\nobjects:\n  Account:\n    where: \"Industry = 'Banking'\"\n");
    await assert.rejects(syncCommand(['--config', file, '--cdc'], io(sink(), sink())), (err: unknown) =>
      err instanceof UsageError && /--cdc: objects\.Account: following change events cannot be combined with where/.test(err.message));
    const bad = config('bad.yaml', "standard_objects_to_sync: [Account]\nobjects:\n  Account:\n    mode: cdc\n    transform: { drop: [Description] }\n");
    await assert.rejects(syncCommand(['--config', bad], io(sink(), sink())), (err: unknown) => err instanceof UsageError && /objects\.Account\.mode: mode: cdc cannot be combined with transform/.test(err.message));
  });
});

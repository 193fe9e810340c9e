/** `sfbridge connections` and `sfbridge tokens`, and `--connection NAME` on another command (query). */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { before, describe, it } from 'node:test';
import { connectionsCommand } from '../../src/cli/connections.ts';
import { queryCommand } from '../../src/cli/query.ts';
import { tokensCommand } from '../../src/cli/tokens.ts';
import { createEmulator, type Emulator } from '../../src/emulator/app.ts';
import { seedOrg } from '../../src/emulator/seed/index.ts';
import { openStore } from '../../src/store/index.ts';

const BASE = 'http://127.0.0.1:8484';
let emu: Emulator;
let dir: string;
let env: NodeJS.ProcessEnv;

function out() {
  const s = new PassThrough();
  let text = '';
  s.on('data', (c: Buffer) => (text += c.toString()));
  return { stream: s, text: () => text };
}

before(async () => {
  emu = createEmulator();
  await seedOrg(emu.org, 'Account=3');
  dir = await mkdtemp(join(tmpdir(), 'sfb-conn-'));
  env = { SFBRIDGE_HOME: join(dir, 'home'), SFBRIDGE_STORE: `sqlite:${join(dir, 'service.db')}`, SFBRIDGE_SECRET_KEY: randomBytes(32).toString('base64') };
});

describe('sfbridge connections', () => {
  it('adds a sealed connection, lists it, and query --connection uses it', async () => {
    const o = out();
    const code = await connectionsCommand(['add', 'emu', '--instance-url', BASE, '--client-id', emu.org.clientId], { stdout: o.stream, env: { ...env, SF_CLIENT_SECRET: emu.org.clientSecret } });
    assert.equal(code, 0);
    assert.match(o.text(), /connection emu \(client_credentials\) added/);
    const store = await openStore(env.SFBRIDGE_STORE!);
    const row = await (await store.serviceState()).getConnection('emu');
    await store.close();
    assert.ok(row!.secrets && !row!.secrets.includes(emu.org.clientSecret), 'the secret is sealed');
    const raw = await readFile(join(dir, 'service.db'));
    assert.ok(!raw.includes(Buffer.from(emu.org.clientSecret)), 'no plain secret in the database file');

    const list = out();
    await connectionsCommand(['list', '--json'], { stdout: list.stream, env });
    const [c] = JSON.parse(list.text());
    assert.deepEqual([c.name, c.kind, c.secrets_set], ['emu', 'client_credentials', ['client_secret']]);
    assert.ok(!list.text().includes(emu.org.clientSecret));

    const q = out();
    const err = out();
    const qc = await queryCommand(['--connection', 'emu', '--format', 'jsonl', 'SELECT Id FROM Account'], { stdout: q.stream, stderr: err.stream, env, fetch: (i, init) => emu.fetch(new Request(i, init)) });
    assert.equal(qc, 0, err.text());
    assert.equal(q.text().trim().split('\n').length, 3);
  });

  it('takes a proxy (its password sealed from SFBRIDGE_PROXY_PASSWORD) and a Pub/Sub endpoint; a bad proxy URL is refused', async () => {
    const o = out();
    const code = await connectionsCommand(['add', 'behind', '--instance-url', BASE, '--client-id', 'x', '--proxy', 'http://alice@proxy.corp:3128', '--pubsub-endpoint', '127.0.0.1:7443'], { stdout: o.stream, env: { ...env, SF_CLIENT_SECRET: 'y', SFBRIDGE_PROXY_PASSWORD: 'proxy-pass-123' } });
    assert.equal(code, 0);
    const list = out();
    await connectionsCommand(['list', '--json'], { stdout: list.stream, env });
    const c = JSON.parse(list.text()).find((x: { name: string }) => x.name === 'behind');
    assert.equal(c.settings.proxy, 'http://alice@proxy.corp:3128');
    assert.deepEqual(c.settings.pubsub, { endpoint: '127.0.0.1:7443' });
    assert.ok(c.secrets_set.includes('proxy_password'));
    assert.ok(!list.text().includes('proxy-pass-123'));
    assert.ok(!(await readFile(join(dir, 'service.db'))).includes(Buffer.from('proxy-pass-123')), 'the proxy password is sealed');
    await assert.rejects(connectionsCommand(['add', 'bad', '--instance-url', BASE, '--client-id', 'x', '--proxy', 'http://bob:secret@proxy.corp:3128'], { stdout: out().stream, env: { ...env, SF_CLIENT_SECRET: 'y' } }), /proxy_password/);
    await assert.rejects(connectionsCommand(['add', 'bad', '--instance-url', BASE, '--client-id', 'x', '--pubsub-endpoint', 'nope'], { stdout: out().stream, env: { ...env, SF_CLIENT_SECRET: 'y' } }), /HOST:PORT/);
    await connectionsCommand(['remove', 'behind'], { stdout: out().stream, env });
  });

  it('finds a connection in ./sfbridge.yaml-style files and names where it looked when missing', async () => {
    const file = join(dir, 'sfbridge.yaml');
    await writeFile(file, `connections:\n  filed:\n    kind: client_credentials\n    instance_url: ${BASE}\n    client_id: ${emu.org.clientId}\n    client_secret: \${EMU_SECRET}\n`);
    const q = out();
    const code = await queryCommand(['--connection', 'filed', '--format', 'jsonl', 'SELECT Id FROM Account'], { stdout: q.stream, stderr: out().stream, env: { ...env, SFBRIDGE_CONFIG: file, EMU_SECRET: emu.org.clientSecret }, fetch: (i, init) => emu.fetch(new Request(i, init)) });
    assert.equal(code, 0);
    const err = out();
    const failed = await queryCommand(['--connection', 'nope', 'SELECT Id FROM Account'], { stdout: out().stream, stderr: err.stream, env }).catch((e: Error & { exitCode?: number }) => {
      err.stream.write(e.message);
      return e.exitCode;
    });
    assert.equal(failed, 2);
    assert.match(err.text(), /--connection: connection "nope" not found in .*service\.db \(connections: emu\); add it with: sfbridge connections add nope/);
  });

  it('remove deletes it; a web connection says what comes next', async () => {
    const o = out();
    await connectionsCommand(['add', 'partner', '--kind', 'web', '--login-url', BASE, '--client-id', 'x'], { stdout: o.stream, env });
    assert.match(o.text(), /status: not_connected.*\nnext: start sfbridge serve and click Grant access for partner/);
    assert.equal(await connectionsCommand(['remove', 'partner'], { stdout: out().stream, env }), 0);
    await assert.rejects(connectionsCommand(['remove', 'partner'], { stdout: out().stream, env }), /does not exist/);
    await assert.rejects(connectionsCommand(['add', 'bad', '--kind', 'teleport'], { stdout: out().stream, env }), /--kind must be one of/);
  });
});

describe('sfbridge tokens', () => {
  it('creates a token shown once, lists it without the value, revokes it', async () => {
    const o = out();
    assert.equal(await tokensCommand(['create', '--name', 'ci', '--json'], { stdout: o.stream, env }), 0);
    const { token } = JSON.parse(o.text());
    assert.match(token, /^sfb_[A-Za-z0-9_-]{43}$/);
    const list = out();
    await tokensCommand(['list'], { stdout: list.stream, env });
    assert.match(list.text(), /^ci\s+sfb_\S{6}…/);
    assert.ok(!list.text().includes(token));
    await assert.rejects(tokensCommand(['create', '--name', 'ci'], { stdout: out().stream, env }), /exists already/);
    assert.equal(await tokensCommand(['revoke', '--name', 'ci'], { stdout: out().stream, env }), 0);
    await assert.rejects(tokensCommand(['revoke', '--name', 'ci'], { stdout: out().stream, env }), /no active token/);
  });

  it('creates a call-in token scoped to objects and operations, and refuses a malformed scope', async () => {
    assert.equal(await tokensCommand(['create', '--name', 'erp', '--call-in', 'Contact:create,upsert', '--call-in', 'Account:*'], { stdout: out().stream, env }), 0);
    const list = out();
    await tokensCommand(['list', '--json'], { stdout: list.stream, env });
    const erp = JSON.parse(list.text()).find((t: { name: string }) => t.name === 'erp');
    assert.deepEqual(erp.scopes, ['call-in:Contact:create,upsert', 'call-in:Account:*']);
    await assert.rejects(tokensCommand(['create', '--name', 'bad', '--call-in', 'Contact:destroy'], { stdout: out().stream, env }), /unknown operation "destroy"/);
    await assert.rejects(tokensCommand(['create', '--name', 'bad', '--call-in', 'Contact'], { stdout: out().stream, env }), /write Object:operations/);
  });
});

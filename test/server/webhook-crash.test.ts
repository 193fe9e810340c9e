/**
 * A webhook crash after the 202: `sfbridge serve` is SIGKILLed right after it accepted events (some of them
 * not yet delivered), restarted, and the sender retries what it did not see answered. Every accepted event is
 * written into Salesforce exactly once.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { seedOrg } from '../../src/emulator/seed/index.ts';
import { clientFor } from '../engine/helpers.ts';
import { servedOrg, type ServedOrg } from '../helpers/served.ts';
import { until } from './helpers.ts';

const SECRET = 'crash-test-secret';
let org: ServedOrg;
let dir: string;
let port: number;
let config: string;
let storeUrl: string;
const children = new Set<ChildProcess>();
const env = { ...process.env, SFBRIDGE_SECRET_KEY: randomBytes(32).toString('base64'), SFBRIDGE_HOME: '', HOOK_SECRET: SECRET };

before(async () => {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  org = await servedOrg();
  await seedOrg(org.emu.org, 'none');
  // Slow Salesforce writes keep accepted events waiting in the inbox when the kill comes.
  await org.emu.request('/__emulator/faults', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ latency: 60 }) });
  dir = mkdtempSync(join(tmpdir(), 'sfb-hook-'));
  env.SFBRIDGE_HOME = join(dir, 'home');
  storeUrl = `sqlite:${join(dir, 'service.db')}`;
  config = join(dir, 'sfbridge.yaml');
  writeFileSync(config, ['connections:', '  emu:', '    kind: client_credentials', `    instance_url: ${org.url}`, `    client_id: ${org.emu.org.clientId}`, '    client_secret: ${EMU_SECRET}', 'pipelines:', '  - name: hook', '    kind: webhook', '    connection: emu', '    signature: { scheme: github, secret_env: HOOK_SECRET }', '    event_id: { path: id }', '    records: contact', '    target: { salesforce: { object: Contact, operation: insert } }', ''].join('\n'));
});

after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await org.close();
  rmSync(dir, { recursive: true, force: true });
});

async function start(): Promise<{ child: ChildProcess; exit: Promise<unknown> }> {
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', 'src/cli/main.ts', 'serve', '--config', config, '--store', storeUrl, '--port', String(port)], { env: { ...env, EMU_SECRET: org.emu.org.clientSecret }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', () => undefined);
  const exit = new Promise((resolve) => child.on('exit', resolve));
  await until(() => /dashboard http/.test(out), 20_000, 'the service to listen');
  return { child, exit };
}

it('every event accepted with 202 is written once, across a SIGKILL right after the answers', async () => {
  const send = async (n: number) => {
    const body = JSON.stringify({ id: `evt_${n}`, contact: { LastName: `Hook-${n}` } });
    const res = await fetch(`http://127.0.0.1:${port}/inbound/webhooks/hook`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}` }, body });
    return res.status;
  };
  let svc = await start();
  const unanswered: number[] = [];
  for (let n = 0; n < 30; n++) assert.equal(await send(n), 202);
  // Killed at once: most of the 30 were accepted but not yet written into Salesforce.
  svc.child.kill('SIGKILL');
  await svc.exit;
  for (let n = 30; n < 40; n++) {
    const status = await send(n).catch(() => 0);
    if (status !== 202) unanswered.push(n);
  }
  assert.equal(unanswered.length, 10, 'nothing answers while the service is down');
  svc = await start();
  // The sender retries what it did not see answered, and (as senders do) some of what it did.
  for (const n of [...unanswered, 0, 1, 2]) assert.ok([200, 202].includes(await send(n)));
  const c = clientFor(org.emu, { governor: false });
  const rows = await until(async () => {
    const r = await c.query("SELECT LastName FROM Contact WHERE LastName LIKE 'Hook-%'").toArray();
    return r.length >= 40 && r;
  }, 60_000, 'all 40 events in Salesforce');
  await new Promise((r) => setTimeout(r, 500));
  const again = await c.query("SELECT LastName FROM Contact WHERE LastName LIKE 'Hook-%'").toArray();
  assert.equal(again.length, 40, 'no event written twice');
  assert.equal(new Set(rows.map((r) => r.LastName)).size, 40);
  svc.child.kill('SIGTERM');
  await svc.exit;
});

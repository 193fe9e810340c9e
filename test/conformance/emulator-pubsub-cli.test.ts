/**
 * `sfbridge emulator` serves the Pub/Sub API on its own port (printed in the ready line) with the CDC
 * selection from --cdc, and over TLS when HTTPS is on; bad flags exit non-zero naming the fix.
 * (TLS on the gRPC socket itself is exercised with pozil's client in pubsub-client.test.ts.)
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const CERT_PATH = fileURLToPath(new URL('./fixtures/jwt-test.crt', import.meta.url));
const KEY_PATH = fileURLToPath(new URL('./fixtures/jwt-test.key', import.meta.url));
const PROTO = fileURLToPath(new URL('../../src/emulator/events/pubsub/pubsub_api.proto', import.meta.url));
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
});

function run(args: string[]): { child: ChildProcess; ready: Promise<{ url: string; pubsub: string; out: string }>; exit: Promise<{ code: number | null; err: string }> } {
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', MAIN, 'emulator', '--port', '0', '--seed', 'none', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  const exit = new Promise<{ code: number | null; err: string }>((resolve) => child.on('exit', (code) => resolve({ code, err })));
  const ready = new Promise<{ url: string; pubsub: string; out: string }>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /listening on (https?:\/\/\S+) \(pubsub on (\S+)\)/.exec(out);
      // The banner arrives in several writes: wait for its Pub/Sub line, the last one asserted on.
      if (m && out.includes('admin API') && /pubsub API \(gRPC\):[^\n]*\n/.test(out)) resolve({ url: m[1], pubsub: m[2], out });
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    void exit.then(({ code }) => reject(new Error(`emulator exited with ${code}: ${err}${out}`)));
  });
  ready.catch(() => {});
  return { child, ready, exit };
}

describe('sfbridge emulator --pubsub-port', () => {
  it('serves the Pub/Sub API with the --cdc selection', async () => {
    const { child, ready, exit } = run(['--pubsub-port', '0', '--cdc', 'Account,Task']);
    const { url, pubsub, out } = await ready;
    assert.match(out, /pubsub API \(gRPC\): +\S+ plaintext; change events for Account, Task/);
    const tok = await fetch(`${url}/services/oauth2/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'sfbridge-emulator', client_secret: 'sfbridge-emulator-secret' }) });
    const { access_token, instance_url } = (await tok.json()) as { access_token: string; instance_url: string };
    const info = (await (await fetch(`${url}/services/oauth2/userinfo`, { headers: { authorization: `Bearer ${access_token}` } })).json()) as { organization_id: string };

    const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(PROTO, {})) as unknown as { eventbus: { v1: { PubSub: new (a: string, c: grpc.ChannelCredentials) => grpc.Client & Record<string, (...args: unknown[]) => void> } } };
    const client = new pkg.eventbus.v1.PubSub(pubsub, grpc.credentials.createInsecure());
    const md = new grpc.Metadata();
    md.set('accesstoken', access_token);
    md.set('instanceurl', instance_url);
    md.set('tenantid', info.organization_id);
    const topic = (name: string) => new Promise<{ topicName: string; schemaId: string }>((resolve, reject) => client.GetTopic({ topicName: name }, md, (e: Error | null, r: { topicName: string; schemaId: string }) => (e ? reject(e) : resolve(r))));
    assert.equal((await topic('/data/TaskChangeEvent')).topicName, '/data/TaskChangeEvent');
    await assert.rejects(topic('/data/ContactChangeEvent'), (e: grpc.ServiceError) => e.code === grpc.status.NOT_FOUND);
    client.close();
    child.kill('SIGTERM');
    const ended = await exit;
    assert.equal(ended.code, 0, ended.err);
  });

  it('with --tls-cert/--tls-key the Pub/Sub API speaks TLS too', async () => {
    const { child, ready, exit } = run(['--tls-cert', CERT_PATH, '--tls-key', KEY_PATH]);
    const { url, out } = await ready;
    assert.match(url, /^https:/);
    assert.match(out, /pubsub API \(gRPC\): +\S+ TLS;/);
    child.kill('SIGTERM');
    const ended = await exit;
    assert.equal(ended.code, 0, ended.err);
  });

  it('bad flags exit non-zero and name the fix', async () => {
    const cdc = await run(['--cdc', 'Nope__c']).exit;
    assert.notEqual(cdc.code, 0);
    assert.match(cdc.err, /--cdc: no object named Nope__c/);
    const port = await run(['--pubsub-port', 'x']).exit;
    assert.notEqual(port.code, 0);
    assert.match(port.err, /--pubsub-port must be a port number/);
  });
});

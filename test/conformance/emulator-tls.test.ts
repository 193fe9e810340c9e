/**
 * HTTPS: `sfbridge emulator --tls` (a generated self-signed certificate) driven by jsforce in a child process
 * that trusts the certificate through NODE_EXTRA_CA_CERTS; `--tls-cert/--tls-key` files; URLs in responses
 * built from the scheme served, and from `X-Forwarded-Proto` behind a proxy.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { createEmulator } from '../../src/emulator/app.ts';
import { serve } from '../../src/emulator/http/node-server.ts';
import { generateSelfSigned } from '../../src/emulator/http/tls.ts';
import { emulatorCommand } from '../../src/cli/emulator.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'sfbridge-tls-'));
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

function startTls(): Promise<{ url: string; cert: string; fingerprint: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', MAIN, 'emulator', '--port', '0', '--seed', 'none', '--tls'], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  return new Promise((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const url = /listening on (https:\/\/\S+)/.exec(out)?.[1];
      const cert = /tls certificate: +(\S+)/.exec(out)?.[1];
      const fingerprint = /tls fingerprint: +SHA-256 ([0-9A-F:]+)/.exec(out)?.[1];
      if (url && cert && fingerprint && out.includes('admin API')) resolve({ url, cert, fingerprint, child });
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('exit', (code) => reject(new Error(`emulator exited with ${code}: ${err}${out}`)));
  });
}

/** jsforce, unmodified, in a process that trusts the certificate the way Node users do. */
function jsforceChild(url: string, cert: string): Promise<Record<string, unknown>> {
  const script = join(dir, 'jsforce-tls.cjs');
  writeFileSync(script, `
const { createRequire } = require('node:module');
const jsforce = createRequire(${JSON.stringify(join(REPO, 'package.json'))})('jsforce');
(async () => {
  const conn = new jsforce.Connection({ version: '62.0', oauth2: { loginUrl: ${JSON.stringify(url)}, clientId: 'sfbridge-emulator', clientSecret: 'sfbridge-emulator-secret' } });
  const info = await conn.login('admin@emulator.sfbridge.dev', 'emulator');
  await conn.sobject('Account').create({ Name: 'Over TLS' });
  const q = await conn.query("SELECT Name FROM Account WHERE Name = 'Over TLS'");
  const identity = await conn.identity();
  const directory = await conn.request('/services/data/v62.0');
  console.log(JSON.stringify({ instanceUrl: conn.instanceUrl, identityUrl: info.url, names: q.records.map((r) => r.Name), identityUser: identity.username, identityRest: identity.urls.rest, directoryIdentity: directory.identity }));
})().catch((e) => { console.error(e.stack || String(e)); process.exit(1); });
`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script], { env: { ...process.env, NODE_EXTRA_CA_CERTS: cert }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as Record<string, unknown>) : reject(new Error(`jsforce child exited ${code}: ${err}`))));
  });
}

function httpsJson(url: string, ca: string, init: { method?: string; body?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; body: Record<string, unknown>; fingerprint: string }> {
  return new Promise((resolve, reject) => {
    // No keep-alive agent: each call is its own TLS handshake, and no socket outlives the test.
    const req = https.request(url, { method: init.method ?? 'GET', ca, headers: init.headers, agent: false }, (res) => {
      const fingerprint = (res.socket as import('node:tls').TLSSocket).getPeerX509Certificate()!.fingerprint256;
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) as Record<string, unknown>, fingerprint }));
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

describe('the emulator over HTTPS', () => {
  it('--tls: jsforce trusting the generated certificate logs in, writes and queries; every URL it is given is https', async () => {
    const { url, cert, fingerprint, child } = await startTls();
    // Not trusted, the certificate is refused: the socket really is TLS with our self-signed certificate.
    await assert.rejects(fetch(`${url}/services/data`), (err: Error & { cause?: { code?: string } }) => /SELF_SIGNED|UNABLE_TO_VERIFY|DEPTH_ZERO/.test(String(err.cause?.code ?? err.message)));
    const got = await jsforceChild(url, cert);
    assert.equal(got.instanceUrl, url);
    assert.match(String(got.identityUrl), new RegExp(`^${url.replace(/[.]/g, '\\.')}/id/00D\\w{15}/005\\w{15}$`));
    assert.deepEqual(got.names, ['Over TLS']);
    assert.equal(got.identityUser, 'admin@emulator.sfbridge.dev');
    assert.match(String(got.identityRest), /^https:\/\//);
    assert.match(String(got.directoryIdentity), new RegExp(`^${url.replace(/[.]/g, '\\.')}/id/`));
    // The fingerprint printed at start is the one the server presents.
    const { readFileSync } = await import('node:fs');
    const served = await httpsJson(`${url}/services/data`, readFileSync(cert, 'utf8'));
    assert.equal(served.fingerprint, fingerprint);
    child.kill('SIGTERM');
  });

  it('--tls-cert/--tls-key files serve HTTPS; token responses carry https URLs', async () => {
    const material = await generateSelfSigned('127.0.0.1');
    const emu = createEmulator();
    const server = await serve(emu.fetch, { port: 0, host: '127.0.0.1', tls: material });
    try {
      assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: emu.org.clientId, client_secret: emu.org.clientSecret }).toString();
      const tok = await httpsJson(`${server.url}/services/oauth2/token`, material.cert, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      assert.equal(tok.status, 200);
      assert.equal(tok.body.instance_url, server.url);
      assert.match(String(tok.body.id), new RegExp(`^${server.url.replace(/[.]/g, '\\.')}/id/`));
      assert.equal(tok.fingerprint, material.fingerprint);
    } finally {
      await server.close();
      emu.close();
    }
  });

  it('X-Forwarded-Proto from a TLS-terminating proxy makes the handed-out URLs https', async () => {
    const emu = createEmulator();
    const form = { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-proto': 'https' }, body: new URLSearchParams({ grant_type: 'client_credentials', client_id: emu.org.clientId, client_secret: emu.org.clientSecret }) };
    const tok = (await (await emu.request('http://sf.example.test/services/oauth2/token', form)).json()) as { instance_url: string; id: string; access_token: string };
    assert.equal(tok.instance_url, 'https://sf.example.test');
    assert.match(tok.id, /^https:\/\/sf\.example\.test\/id\//);
    const dir = (await (await emu.request('http://sf.example.test/services/data/v62.0', { headers: { authorization: `Bearer ${tok.access_token}`, 'x-forwarded-proto': 'https,http' } })).json()) as { identity: string };
    assert.match(dir.identity, /^https:\/\/sf\.example\.test\/id\//);
    // Without the header, the scheme is the one the request came in on.
    const plain = (await (await emu.request('http://sf.example.test/services/oauth2/token', { ...form, headers: { 'content-type': 'application/x-www-form-urlencoded' } })).json()) as { instance_url: string };
    assert.equal(plain.instance_url, 'http://sf.example.test');
    emu.close();
  });

  it('bad TLS flags fail naming the problem and the fix', async () => {
    const material = await generateSelfSigned();
    const other = await generateSelfSigned();
    const certFile = join(dir, 'a.crt');
    const otherKey = join(dir, 'b.key');
    writeFileSync(certFile, material.cert);
    writeFileSync(otherKey, other.key);
    for (const [args, pattern] of [
      [['--tls-cert', certFile], /--tls-cert needs --tls-key/],
      [['--tls', '--tls-cert', certFile, '--tls-key', otherKey], /either --tls or --tls-cert with --tls-key/],
      [['--tls-cert', certFile, '--tls-key', otherKey], /--tls-key .*b\.key does not belong to the certificate/],
      [['--tls-cert', join(dir, 'missing.crt'), '--tls-key', otherKey], /--tls-cert: cannot read .*missing\.crt \(ENOENT\)/],
      [['--tls-cert', otherKey, '--tls-key', otherKey], /is not a PEM certificate/],
    ] as const) {
      await assert.rejects(emulatorCommand(['--port', '0', '--seed', 'none', ...args]), pattern);
    }
  });
});

/**
 * `sfbridge emulator` as a user runs it: a child process on a free port, configured by flags only
 * (`--faults`, `--jwt-cert`, `--redirect-uri`, `--rotate-refresh-tokens`), stopped with SIGTERM.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { SignJWT } from 'jose';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const CERT_PATH = fileURLToPath(new URL('./fixtures/jwt-test.crt', import.meta.url));
const KEY = readFileSync(new URL('./fixtures/jwt-test.key', import.meta.url), 'utf8');
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
});

/** Starts the CLI and resolves with its URL once it prints the `listening on` line. */
function start(args: string[]): Promise<{ url: string; child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', MAIN, 'emulator', '--port', '0', '--seed', 'none', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  return new Promise((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m && out.includes('admin API')) resolve({ url: m[1], child, output: () => out });
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('exit', (code) => reject(new Error(`emulator exited with ${code}: ${err}${out}`)));
  });
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

const form = (o: Record<string, string>) => ({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(o) });

describe('sfbridge emulator flags', () => {
  it('--faults applies at start; the admin API changes it at runtime; --jwt-cert enables JWT bearer', async () => {
    const { url, child, output } = await start(['--faults', 'http503=1,dailyLimit=50', '--jwt-cert', CERT_PATH, '--redirect-uri', 'http://localhost:4000/cb', '--rotate-refresh-tokens']);
    assert.match(output(), /JWT bearer \(.*jwt-test\.crt\)/);
    assert.match(output(), /refresh_token \(rotating\)/);
    const assertion = await new SignJWT({}).setProtectedHeader({ alg: 'RS256' }).setIssuer('sfbridge-emulator').setSubject('admin@emulator.sfbridge.dev')
      .setAudience(url).setExpirationTime(Math.floor(Date.now() / 1000) + 180).sign(createPrivateKey(KEY));
    const tok = await fetch(`${url}/services/oauth2/token`, form({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }));
    assert.equal(tok.status, 200);
    const { access_token } = (await tok.json()) as { access_token: string };
    const auth = { headers: { authorization: `Bearer ${access_token}` } };
    assert.equal((await fetch(`${url}/services/data/v62.0/limits`, auth)).status, 503);
    await fetch(`${url}/__emulator/faults`, { method: 'POST', body: 'http503=0' });
    const limits = await fetch(`${url}/services/data/v62.0/limits`, auth);
    assert.equal(limits.status, 200);
    assert.equal(((await limits.json()) as { DailyApiRequests: { Max: number } }).DailyApiRequests.Max, 50);
    // Only the configured callback is accepted.
    const page = await fetch(`${url}/services/oauth2/authorize?${new URLSearchParams({ response_type: 'code', client_id: 'sfbridge-emulator', redirect_uri: 'http://localhost:5000/cb' })}`);
    assert.equal(page.status, 400);
    assert.equal(await stop(child), 0);
  });

  it('bad flags exit non-zero naming the problem', async () => {
    for (const [args, pattern] of [
      [['--faults', 'http503=5'], /--faults: fault "http503" is a probability between 0 and 1/],
      [['--jwt-cert', '/nonexistent.crt'], /--jwt-cert: cannot read \/nonexistent\.crt \(ENOENT\)/],
      [['--jwt-cert', fileURLToPath(new URL('./fixtures/jwt-test.key', import.meta.url))], /private key; give the certificate/],
      [['--redirect-uri', 'not a url'], /--redirect-uri "not a url" is not an absolute URL/],
    ] as const) {
      await assert.rejects(start([...args]), (err: Error) => {
        assert.match(err.message, /exited with [1-9]/);
        assert.match(err.message, pattern);
        return true;
      });
    }
  });
});

/**
 * Salesforce CLI conformance: the real `sf` (`@salesforce/cli`), unmodified, against the emulator over HTTPS.
 * Not part of `npm test` — the CLI is large — so it is installed on demand into a cache directory and run with
 * `npm run test:sf-cli`.
 *
 *   sf org login access-token   (SF_ACCESS_TOKEN, --instance-url, --no-prompt)
 *   sf org display              (instance URL, username, Connected)
 *   sf data query               (--json, the default table, --result-format csv; each reads columns=true)
 *   sf org list users
 *
 * Environment: SF_CLI_VERSION (default below), SF_CLI_DIR (cache; default ~/.cache/sfbridge/sf-cli/VERSION).
 * The CLI runs with this Node (it needs ≥ 22) and a throwaway HOME, so no real org's credentials are touched.
 * Exit code 0 when every check passes; each check prints one line.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEmulator } from '../../src/emulator/app.ts';
import { serve } from '../../src/emulator/http/node-server.ts';
import { generateSelfSigned } from '../../src/emulator/http/tls.ts';
import { seedOrg } from '../../src/emulator/seed/index.ts';

const VERSION = process.env.SF_CLI_VERSION ?? '2.150.6';
const CACHE = process.env.SF_CLI_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'sfbridge', 'sf-cli', VERSION);
const RUN = join(CACHE, 'node_modules', '@salesforce', 'cli', 'bin', 'run.js');

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd?: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

async function ensureCli(): Promise<void> {
  if (existsSync(RUN)) return;
  process.stdout.write(`installing @salesforce/cli@${VERSION} into ${CACHE} (once; later runs reuse it)\n`);
  mkdirSync(CACHE, { recursive: true });
  if (!existsSync(join(CACHE, 'package.json'))) writeFileSync(join(CACHE, 'package.json'), '{"name":"sfbridge-sf-cli-cache","private":true}\n');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = await run(npm, ['install', '--no-audit', '--no-fund', '--save-exact', '--engine-strict=false', `@salesforce/cli@${VERSION}`], process.env, CACHE);
  if (r.code !== 0 || !existsSync(RUN)) throw new Error(`npm install @salesforce/cli@${VERSION} failed (exit ${r.code}): ${r.stderr.slice(-2000)}`);
}

let failures = 0;
async function check(name: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
    process.stdout.write(`ok    ${name}\n`);
  } catch (err) {
    failures++;
    process.stdout.write(`FAIL  ${name}\n      ${String((err as Error).message).split('\n').join('\n      ')}\n`);
  }
}

async function main(): Promise<number> {
  await ensureCli();
  const home = mkdtempSync(join(tmpdir(), 'sfbridge-sf-home-'));
  const tls = await generateSelfSigned('127.0.0.1');
  const certFile = join(home, 'emulator.crt');
  writeFileSync(certFile, tls.cert);
  const emu = createEmulator();
  await seedOrg(emu.org, 'demo');
  const server = await serve(emu.fetch, { port: 0, host: '127.0.0.1', tls });
  // `localhost` rather than the IP: the CLI treats instance URLs as host names.
  const instanceUrl = server.url.replace('127.0.0.1', 'localhost');
  try {
    const tokenRes = await emu.request('/services/oauth2/token', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'client_credentials', client_id: emu.org.clientId, client_secret: emu.org.clientSecret }) });
    const { access_token: token } = (await tokenRes.json()) as { access_token: string };
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH, HOME: home, USERPROFILE: home, NODE_EXTRA_CA_CERTS: certFile,
      SF_DISABLE_TELEMETRY: 'true', SF_AUTOUPDATE_DISABLE: 'true', SF_SKIP_NEW_VERSION_CHECK: 'true', SF_USE_GENERIC_UNIX_KEYCHAIN: 'true',
      SF_CONTAINER_MODE: 'false', SF_DISABLE_DNS_CHECK: 'true', SF_LOG_LEVEL: 'warn', NO_COLOR: '1', FORCE_COLOR: '0', SF_ACCESS_TOKEN: token,
    };
    const sf = (...args: string[]) => run(process.execPath, [RUN, ...args], env, home);
    const sfJson = async (...args: string[]) => {
      const r = await sf(...args, '--json');
      let body: { status: number; result?: unknown; message?: string };
      try {
        body = JSON.parse(r.stdout) as typeof body;
      } catch {
        throw new Error(`sf ${args.join(' ')} printed no JSON (exit ${r.code}): ${r.stdout.slice(0, 1000)} ${r.stderr.slice(0, 1000)}`);
      }
      assert.equal(body.status, 0, `sf ${args.join(' ')}: ${body.message ?? r.stdout.slice(0, 1000)}`);
      return body.result as Record<string, unknown>;
    };

    const version = await sf('--version');
    process.stdout.write(`sf: ${version.stdout.trim()}\nemulator: ${instanceUrl} (self-signed, trusted through NODE_EXTRA_CA_CERTS)\n`);

    await check('sf org login access-token', async () => {
      const r = await sfJson('org', 'login', 'access-token', '--instance-url', instanceUrl, '--no-prompt', '--alias', 'emu');
      assert.equal(r.username, emu.org.username);
      // The CLI keeps instance URLs with a trailing slash (and so calls `//services/data/…`).
      assert.equal(r.instanceUrl, `${instanceUrl}/`);
    });
    await check('sf org display', async () => {
      const r = await sfJson('org', 'display', '--target-org', 'emu');
      assert.equal(r.username, emu.org.username);
      assert.equal(r.instanceUrl, `${instanceUrl}/`);
      assert.equal(r.connectedStatus, 'Connected');
      assert.equal(r.id, emu.org.orgId);
    });
    const soql = 'SELECT Id, Name, Owner.Name FROM Account ORDER BY Name LIMIT 5';
    const expected = (emu.org.store.prepare('SELECT Id, Name FROM "Account" WHERE IsDeleted = 0 ORDER BY Name LIMIT 5').all() as { Id: string; Name: string }[]);
    await check('sf data query --json', async () => {
      const r = await sfJson('data', 'query', '--query', soql, '--target-org', 'emu');
      assert.equal(r.totalSize, 5);
      assert.deepEqual((r.records as { Id: string; Name: string }[]).map((x) => [x.Id, x.Name]), expected.map((x) => [x.Id, x.Name]));
      assert.equal(typeof ((r.records as { Owner: { Name: string } }[])[0].Owner.Name), 'string');
    });
    await check('sf data query (table)', async () => {
      const r = await sf('data', 'query', '--query', soql, '--target-org', 'emu');
      assert.equal(r.code, 0, r.stderr);
      for (const header of ['ID', 'NAME', 'OWNER.NAME']) assert.match(r.stdout.toUpperCase(), new RegExp(header.replace('.', '\\.')), `table header ${header}`);
      for (const row of expected) assert.ok(r.stdout.includes(row.Name), `row ${row.Name} in the table`);
      assert.match(r.stdout, /Total number of records retrieved: 5\./);
    });
    await check('sf data query --result-format csv', async () => {
      const r = await sf('data', 'query', '--query', soql, '--target-org', 'emu', '--result-format', 'csv');
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split(/\r?\n/);
      assert.equal(lines[0], 'Id,Name,Owner.Name');
      assert.equal(lines.length, 6);
      assert.deepEqual(lines.slice(1).map((l) => l.split(',')[0]), expected.map((x) => x.Id));
    });
    await check('sf org list users', async () => {
      const r = (await sfJson('org', 'list', 'users', '--target-org', 'emu')) as unknown as { username: string; profileName?: string; defaultMarker?: string }[];
      assert.ok(Array.isArray(r), 'a list of users');
      const admin = r.find((u) => u.username === emu.org.username);
      assert.ok(admin, `the admin user in ${JSON.stringify(r).slice(0, 500)}`);
      assert.equal(admin.profileName, 'System Administrator');
    });
  } finally {
    await server.close();
    emu.close();
    rmSync(home, { recursive: true, force: true });
  }
  process.stdout.write(failures ? `${failures} check(s) failed\n` : 'all checks passed\n');
  return failures ? 1 : 0;
}

main().then((code) => process.exit(code), (err: Error) => {
  process.stderr.write(`sf CLI conformance could not run: ${err.message}\n`);
  process.exit(2);
});

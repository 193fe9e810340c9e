/**
 * Installing sfbridge the way a user does, and running it from another folder with no Node 24 on PATH:
 * `npm pack` of this checkout, `npm install -g --prefix TMP` of the tarball (the packed package brings its own
 * Node 24, the `node` package, and runs the CLI compiled to dist/), then `sfbridge --version` and a query
 * against an emulator on a real socket, with the connection read from the folder's sfbridge.yaml. Also
 * `npm install -g` of the checkout itself (a link), and the launcher's error when it finds no Node at all.
 *
 * The install is the real one, from npm's cache where it can (--prefer-offline: after `npm ci` every tarball is
 * there, the Node 24 binary included), so it needs no registry when the cache is warm.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cliOrg, type CliOrg } from './helpers.ts';

const ROOT = join(import.meta.dirname, '../..');
/** A PATH without Node 24 (the machine's node, if any, is whatever /usr/bin has) and without the checkout's bin. */
const PLAIN_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

interface Run { code: number; stdout: string; stderr: string }

function run(file: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { ...opts, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

/** npm's environment without what an enclosing `npm test` exports (npm_config_*, npm_package_*, …). */
function npmEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  return env;
}

let org: CliOrg;
let tmp: string;
const cleanup: string[] = [];

before(async () => {
  org = await cliOrg({ seed: 'Account=12' });
  tmp = await mkdtemp(join(tmpdir(), 'sfb-install-'));
  cleanup.push(tmp, org.env.HOME!);
});

after(async () => {
  await org.close();
  for (const d of cleanup) await rm(d, { recursive: true, force: true });
});

/** A folder holding the user's sfbridge.yaml with the emulator's connection, and the environment to run in. */
async function userFolder(name: string): Promise<{ cwd: string; env: NodeJS.ProcessEnv }> {
  const cwd = join(tmp, name);
  await mkdir(cwd, { recursive: true });
  await writeFile(join(cwd, 'sfbridge.yaml'), [
    'connection:',
    `  instance_url: ${org.server.url}`,
    `  client_id: ${org.emu.org.clientId}`,
    `  client_secret: ${org.emu.org.clientSecret}`,
    'store: sqlite:./data/sfbridge.db',
    '',
  ].join('\n'));
  const env = { PATH: PLAIN_PATH, HOME: org.env.HOME, SFBRIDGE_HOME: org.env.HOME, SFBRIDGE_CACHE_DIR: 'off' };
  return { cwd, env };
}

describe('installing sfbridge', () => {
  it('npm pack, npm install -g --prefix of the tarball: sfbridge runs from another folder on the Node 24 it brings', async () => {
    const packDir = join(tmp, 'pack');
    await mkdir(packDir);
    const pack = await run('npm', ['pack', '--pack-destination', packDir, '--no-fund'], { cwd: ROOT, env: npmEnv() });
    assert.equal(pack.code, 0, pack.stderr);
    const [tarball] = (await readdir(packDir)).filter((f) => f.endsWith('.tgz'));
    assert.ok(tarball, `npm pack wrote no tarball: ${pack.stderr}`);
    assert.ok(!existsSync(join(ROOT, 'dist')), 'the compiled copy is removed from the checkout after packing');

    const prefix = join(tmp, 'prefix');
    const install = await run('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', join(packDir, tarball)],
      { cwd: tmp, env: npmEnv() });
    assert.equal(install.code, 0, install.stderr);
    const pkg = join(prefix, 'lib/node_modules/sfbridge');
    assert.ok(existsSync(join(pkg, 'dist/cli/main.js')), 'the package runs the compiled CLI');
    assert.ok(!existsSync(join(pkg, 'src')) && !existsSync(join(pkg, 'test')), 'sources and tests are not packed');
    assert.ok(existsSync(join(pkg, 'node_modules/node/bin/node')), 'Node 24 is installed with the package');

    const { cwd, env } = await userFolder('project');
    const sfbridge = join(prefix, 'bin/sfbridge');
    const version = await run(sfbridge, ['--version', '--json'], { cwd, env });
    assert.equal(version.code, 0, version.stderr);
    const v = JSON.parse(version.stdout) as { version: string; node: string };
    assert.equal(v.version, '0.1.0');
    assert.match(v.node, /^v24\./);

    const count = await run(sfbridge, ['query', 'SELECT COUNT() FROM Account'], { cwd, env });
    assert.equal(count.code, 0, count.stderr);
    assert.deepEqual(JSON.parse(count.stdout), { count: 12 });

    // The commands that load modules on demand (the search documents builder) work from the compiled copy too.
    const sync = await run(sfbridge, ['sync', '--objects', 'Account', '--documents', '--json'], { cwd, env });
    assert.equal(sync.code, 0, sync.stderr);
    assert.ok(existsSync(join(cwd, 'data/sfbridge.db')), 'the mirror is written in the folder the command ran in');
    const search = await run(sfbridge, ['search', 'Account', '--type', 'Account', '--format', 'jsonl'], { cwd, env });
    assert.equal(search.code, 0, search.stderr);
    assert.ok(search.stdout.trim().split('\n').length > 0);
  });

  it('npm install -g --prefix of the checkout links it: sfbridge runs from another folder with the checkout\'s Node 24', async () => {
    const prefix = join(tmp, 'prefix-link');
    const install = await run('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', ROOT], { cwd: tmp, env: npmEnv() });
    assert.equal(install.code, 0, install.stderr);
    const { cwd, env } = await userFolder('linked');
    const count = await run(join(prefix, 'bin/sfbridge'), ['query', 'SELECT COUNT() FROM Account'], { cwd, env });
    assert.equal(count.code, 0, count.stderr);
    assert.deepEqual(JSON.parse(count.stdout), { count: 12 });
  });

  it("package.json's allowScripts covers every install script in the tree, so npm install and npm ci list none", async () => {
    const r = await run('npm', ['approve-scripts', '--allow-scripts-pending'], { cwd: ROOT, env: npmEnv() });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^No packages with unreviewed install scripts\./, `review them (npm install-scripts approve|deny PKG): ${r.stdout}`);
  });

  it('with no Node 24 anywhere, or a bad SFBRIDGE_NODE, the launcher exits 1 and names the fix', async () => {
    // A copy of the launcher with no node_modules beside it, and a PATH with no node on it.
    const bin = join(tmp, 'bare/bin');
    await mkdir(bin, { recursive: true });
    for (const f of ['sfbridge', 'sfbridge.js']) await copyFile(join(ROOT, 'bin', f), join(bin, f));
    const r = await run('/bin/sh', [join(bin, 'sfbridge'), '--version'], { cwd: tmp, env: { PATH: join(tmp, 'no-such-dir'), HOME: tmp } });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^sfbridge: no Node\.js found\./);
    assert.match(r.stderr, /reinstall sfbridge without --ignore-scripts/);
    assert.match(r.stderr, /SFBRIDGE_NODE/);
    // SFBRIDGE_NODE naming no executable is refused before anything starts, saying which variable to fix.
    const bad = await run(join(ROOT, 'bin/sfbridge'), ['--version'], { cwd: tmp, env: { PATH: PLAIN_PATH, HOME: tmp, SFBRIDGE_NODE: join(tmp, 'no-such-node') } });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^sfbridge: SFBRIDGE_NODE=\S+no-such-node is not an executable file: point it at a Node\.js 24 binary, or unset it/);
  });
});

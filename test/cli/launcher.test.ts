/**
 * bin/sfbridge, the checkout launcher the README puts on PATH: it starts the CLI with the project's Node 24
 * even when the `node` on PATH is another one (or there is none), follows symlinks to itself, passes
 * arguments and the exit code through, and keeps Node's compile cache in sfbridge's cache directory.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

const LAUNCHER = join(import.meta.dirname, '../../bin/sfbridge');
const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function run(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { env }, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

describe('bin/sfbridge launcher', () => {
  it('runs the bundled Node 24 with no node on PATH, through a symlink, with the compile cache in the cache dir', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sfbridge-launcher-'));
    dirs.push(dir);
    await symlink(LAUNCHER, join(dir, 'sfbridge'));
    const env = { PATH: '/usr/bin:/bin', HOME: dir, SFBRIDGE_CACHE_DIR: join(dir, 'cache') };
    const r = await run(join(dir, 'sfbridge'), ['--version', '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    const v = JSON.parse(r.stdout) as { version: string; node: string };
    assert.match(v.node, /^v2[4-9]\./);
    assert.ok(existsSync(join(dir, 'cache', 'node-compile-cache')), 'compile cache under SFBRIDGE_CACHE_DIR');
    assert.ok((await readdir(join(dir, 'cache', 'node-compile-cache'))).length > 0);
  });

  it('passes the exit code through', async () => {
    const r = await run(LAUNCHER, ['no-such-command'], { PATH: '/usr/bin:/bin', HOME: tmpdir(), SFBRIDGE_CACHE_DIR: 'off' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown command "no-such-command"/);
  });
});

/**
 * What installing sfbridge costs: `npm pack` of the checkout (time, tarball size, files), then
 * `npm install -g --prefix TMP --prefer-offline` of the tarball (wall time, CPU of npm and the `node`
 * package's install script, size on disk, and how much of it is the Node 24 that comes with sfbridge), and
 * the installed command's first `sfbridge --version` from another folder.
 *
 *   npx node bench/install.ts [--runs 3]
 *
 * With npm's cache warm (after `npm ci` every tarball is in it, the Node 24 binary included), nothing is
 * downloaded. Each install goes into a fresh prefix.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { median, ROOT } from './lib.ts';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' } } });
const RUNS = Number(values.runs);

/** npm's environment without what an enclosing npm run exports. */
const env: NodeJS.ProcessEnv = {};
for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;

interface Timed { wallMs: number; cpuMs: number; out: string }

/** Runs a command under GNU time: wall from spawn to exit, CPU = user + system of it and its children. */
async function timed(argv: string[], cwd: string): Promise<Timed> {
  const t0 = performance.now();
  const child = spawn('/usr/bin/time', ['-f', 'time=%U %S', ...argv], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const wallMs = performance.now() - t0;
  const m = /time=([\d.]+) ([\d.]+)/.exec(out);
  if (code !== 0 || !m) throw new Error(`${argv.join(' ')} exited ${code}:\n${out}`);
  return { wallMs, cpuMs: (Number(m[1]) + Number(m[2])) * 1000, out };
}

/** Bytes on disk under `dir` (apparent sizes; hard links counted once). */
async function size(dir: string, seen = new Set<number>()): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    const s = await stat(p).catch(() => undefined);
    if (!s || (entry.isSymbolicLink() && s.isDirectory())) continue;
    if (s.isDirectory()) total += await size(p, seen);
    else if (!seen.has(s.ino)) {
      seen.add(s.ino);
      total += s.size;
    }
  }
  return total;
}

const MB = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MB`;
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

const tmp = await mkdtemp(join(tmpdir(), 'sfbridge-bench-install-'));
try {
  const load0 = loadavg()[0];
  const pack = await timed(['npm', 'pack', '--pack-destination', tmp, '--no-fund'], ROOT);
  const tarball = (await readdir(tmp)).find((f) => f.endsWith('.tgz'))!;
  const files = /total files:\s*(\d+)/.exec(pack.out)?.[1];
  console.log(`npm pack: ${s(pack.wallMs)} wall, ${s(pack.cpuMs)} CPU; ${tarball} ${(((await stat(join(tmp, tarball))).size) / 1024).toFixed(0)} kB, ${files} files`);

  const installs: Timed[] = [];
  let installed = 0;
  let bundledNode = 0;
  let firstRun: Timed | undefined;
  for (let i = 0; i < RUNS; i++) {
    const prefix = join(tmp, `prefix-${i}`);
    installs.push(await timed(['npm', 'install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', join(tmp, tarball)], tmp));
    installed = await size(prefix);
    bundledNode = await size(join(prefix, 'lib/node_modules/sfbridge/node_modules/node'));
    if (i === 0) firstRun = await timed([join(prefix, 'bin/sfbridge'), '--version'], tmpdir());
  }
  console.log(`npm install -g --prefix (${RUNS} runs): median ${s(median(installs.map((r) => r.wallMs)))} wall, ${s(median(installs.map((r) => r.cpuMs)))} CPU; ` +
    `installed ${MB(installed)}, of which the node package (Node 24) ${MB(bundledNode)}`);
  console.log(`first sfbridge --version of the install, from another folder: ${(firstRun!.wallMs).toFixed(0)} ms wall (${firstRun!.out.split('\n')[0]})`);
  console.log(`load average ${load0.toFixed(2)} → ${loadavg()[0].toFixed(2)}`);
} finally {
  await rm(tmp, { recursive: true, force: true });
}

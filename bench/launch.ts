/**
 * Launch cost of the CLI: wall time (median of N), CPU (user + system) and peak RSS of whole processes, for
 * `sfbridge --version` and a one-row query against the emulator (a child process), started the way the
 * README starts it (bin/sfbridge on PATH: the bundled Node 24, no npx), next to bare Node 24 and npx.
 *
 *   npx node bench/launch.ts [--runs 21] [--npx-runs 5]
 *
 * Each process runs under GNU time (`/usr/bin/time -f`), so CPU and RSS are the child's own. The first runs
 * (untimed) fill the module compile cache, as a user's first run does. Goal (issue 14): ≤ 150 ms wall.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { median, ROOT, startEmulator } from './lib.ts';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '21' }, 'npx-runs': { type: 'string', default: '5' } } });
const RUNS = Number(values.runs);
const NPX_RUNS = Number(values['npx-runs']);

interface Run {
  wallMs: number;
  cpuMs: number;
  rssMb: number;
}

const emu = await startEmulator(['--seed', 'Account=100']);
const cache = await mkdtemp(join(tmpdir(), 'sfbridge-bench-launch-'));
const env = { ...process.env, SF_INSTANCE_URL: emu.url, SF_ACCESS_TOKEN: emu.token, SFBRIDGE_CACHE_DIR: cache, PATH: `${join(ROOT, 'bin')}:${process.env.PATH}` };

async function once(argv: string[]): Promise<Run> {
  const t0 = performance.now();
  const child = spawn('/usr/bin/time', ['-f', 'time=%U %S %M', ...argv], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const wallMs = performance.now() - t0;
  const m = /time=([\d.]+) ([\d.]+) (\d+)/.exec(err);
  if (code !== 0 || !m) throw new Error(`${argv.join(' ')} exited ${code}: ${err}`);
  return { wallMs, cpuMs: (Number(m[1]) + Number(m[2])) * 1000, rssMb: Number(m[3]) / 1024 };
}

async function measure(argv: string[], runs: number): Promise<Run> {
  await once(argv);
  await once(argv);
  const all: Run[] = [];
  for (let i = 0; i < runs; i++) all.push(await once(argv));
  return { wallMs: median(all.map((r) => r.wallMs)), cpuMs: median(all.map((r) => r.cpuMs)), rssMb: median(all.map((r) => r.rssMb)) };
}

const QUERY = ['query', 'SELECT Id, Name FROM Account LIMIT 1'];
const cases: Array<{ name: string; argv: string[]; runs: number; goal?: boolean }> = [
  { name: 'bare Node 24 (`node -e 0`)', argv: [join(ROOT, 'node_modules/node/bin/node'), '-e', '0'], runs: RUNS },
  { name: '`sfbridge --version` (bin/sfbridge on PATH)', argv: ['sfbridge', '--version'], runs: RUNS, goal: true },
  { name: '`sfbridge query "… LIMIT 1"` (bin/sfbridge on PATH)', argv: ['sfbridge', ...QUERY], runs: RUNS, goal: true },
  { name: '`node bin/sfbridge.js query "… LIMIT 1"`', argv: [join(ROOT, 'node_modules/node/bin/node'), 'bin/sfbridge.js', ...QUERY], runs: RUNS },
  { name: '`npx sfbridge --version`', argv: ['npx', 'sfbridge', '--version'], runs: NPX_RUNS },
  { name: '`npx sfbridge query "… LIMIT 1"`', argv: ['npx', 'sfbridge', ...QUERY], runs: NPX_RUNS },
];
const load0 = loadavg()[0];
console.log(`| Process | runs | wall (median) | CPU user+sys (median) | peak RSS (median) |`);
console.log(`| --- | ---: | ---: | ---: | ---: |`);
const goals: string[] = [];
for (const c of cases) {
  const r = await measure(c.argv, c.runs);
  console.log(`| ${c.name} | ${c.runs} | ${r.wallMs.toFixed(0)} ms | ${r.cpuMs.toFixed(0)} ms | ${r.rssMb.toFixed(0)} MB |`);
  if (c.goal) goals.push(`${c.name}: ${r.wallMs.toFixed(0)} ms wall (≤ 150 ms: ${r.wallMs <= 150 ? 'met' : 'MISSED'})`);
}
console.log(`\n${goals.join('\n')}\nload average ${load0.toFixed(2)} at start, ${loadavg()[0].toFixed(2)} at end (2 cores)`);
await rm(cache, { recursive: true, force: true });
await emu.stop();

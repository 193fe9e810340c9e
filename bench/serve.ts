/**
 * `sfbridge serve` under a realistic store: N pipelines and M runs of history (with their event logs and a
 * day of API-usage readings), then, against the service running as its own process:
 *
 * - API latency per endpoint and over all of them (sequential requests with an API token; p50 / p99);
 * - dashboard page times (signed-in session; p50 / p95 / max);
 * - idle CPU between schedules (every pipeline's next run is in the future; user + system time of the
 *   process from /proc over the idle window) and RSS.
 *
 *   npx node bench/serve.ts [--pipelines 100] [--runs 10000] [--requests 300] [--page-requests 30] [--idle-seconds 60] [--store URL]
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createEmulator } from '../src/emulator/app.ts';
import { serve } from '../src/emulator/http/node-server.ts';
import { seedOrg } from '../src/emulator/seed/index.ts';
import { Service } from '../src/engine/service.ts';
import { Auth, SESSION_COOKIE } from '../src/server/auth.ts';
import { procRss, ROOT } from './lib.ts';

const { values } = parseArgs({
  options: {
    pipelines: { type: 'string', default: '100' },
    runs: { type: 'string', default: '10000' },
    requests: { type: 'string', default: '300' },
    'page-requests': { type: 'string', default: '30' },
    'idle-seconds': { type: 'string', default: '60' },
    store: { type: 'string' },
  },
});
const PIPELINES = Number(values.pipelines);
const RUNS = Number(values.runs);
const REQUESTS = Number(values.requests);
const PAGE_REQUESTS = Number(values['page-requests']);
const IDLE_S = Number(values['idle-seconds']);

const dir = mkdtempSync(join(tmpdir(), 'sfb-bench-serve-'));
const storeUrl = values.store ?? `sqlite:${join(dir, 'service.db')}`;
const env = { ...process.env, SFBRIDGE_SECRET_KEY: randomBytes(32).toString('base64'), SFBRIDGE_HOME: join(dir, 'home'), SFBRIDGE_LOG_LEVEL: 'warn' };
const ms = (t: number) => `${t.toFixed(1)} ms`;
const kb = (n: number) => `${(n / 1024).toFixed(1)} kB`;
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
const log = (s: string) => process.stderr.write(`${s}\n`);

// The org --------------------------------------------------------------------------------------------------

const emu = createEmulator();
await seedOrg(emu.org, 'Account=50');
const orgServer = await serve(emu.fetch, { port: 0, host: '127.0.0.1' });

// The store: pipelines, schedules, runs with event logs, usage readings, a token and a session -------------

const t0 = performance.now();
const service = await Service.open({ storeUrl, env });
await service.connections.put('emu', { kind: 'client_credentials', instance_url: orgServer.url, client_id: emu.org.clientId, client_secret: emu.org.clientSecret });
const names = Array.from({ length: PIPELINES }, (_, i) => `p-${String(i).padStart(3, '0')}`);
const now = Date.now();
for (const [i, name] of names.entries()) {
  await service.pipelines.put(name, { kind: 'sync', connection: 'emu', standard_objects_to_sync: ['Account'], schedule: '1h', store: `sqlite:${join(dir, 'mirrors', `${name}.db`)}` }, async () => true);
  // Every pipeline ran a while ago and runs next in 30-80 minutes: the window measured is between schedules.
  await service.state.updateSchedule(name, { nextRunAt: new Date(now + 30 * 60_000 + i * 30_000).toISOString(), lastRunAt: new Date(now - 10 * 60_000).toISOString(), lastStatus: 'succeeded', state: { loaded: true, lastSuccessAt: new Date(now - 10 * 60_000).toISOString() } });
}
const span = 30 * 86_400_000;
let lastRunId = 0;
for (let r = 0; r < RUNS; r++) {
  const pipeline = names[r % PIPELINES];
  const startedAt = new Date(now - span + (r / RUNS) * span);
  const failed = r % 50 === 7;
  const run = await service.state.createRun({ pipeline, kind: 'sync', trigger: 'schedule', status: 'running', startedAt: startedAt.toISOString(), objects: {}, jobId: null, resumedFrom: null });
  const read = 20 + (r % 300);
  await service.state.updateRun(run.id, {
    status: failed ? 'failed' : 'succeeded',
    finishedAt: new Date(startedAt.getTime() + 4_000 + (r % 17) * 300).toISOString(),
    apiCalls: 6 + (r % 9),
    objects: { Account: { read, written: read, deleted: r % 4, status: failed ? 'failed' : 'ok', mode: 'incremental', ...(failed ? { error: 'REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded.' } : {}) } },
    error: failed ? 'Account failed: REQUEST_LIMIT_EXCEEDED' : null,
  });
  await service.state.addRunEvents(run.id, [
    { at: startedAt.toISOString(), level: 'info', type: 'run:started', message: 'run started (schedule)', data: null },
    { at: startedAt.toISOString(), level: failed ? 'error' : 'info', type: 'object:finished', message: `Account: ${failed ? 'failed' : 'ok'} (${read} read, ${read} written, ${r % 4} deleted)`, data: null },
    { at: startedAt.toISOString(), level: failed ? 'error' : 'info', type: 'run:finished', message: `run ${failed ? 'failed' : 'succeeded'} in 4.0 s, 8 API calls`, data: null },
  ]);
  lastRunId = run.id;
  if (r % 2000 === 1999) log(`  ${r + 1} runs written`);
}
for (let m = 24 * 60; m > 0; m--) await service.state.addUsage({ org: emu.org.orgId, connection: 'emu', at: new Date(now - m * 60_000).toISOString(), used: 20_000 + (24 * 60 - m) * 9, max: 100_000 });
const auth = new Auth({ state: service.state });
const { token } = await auth.createToken('bench');
const { cookie } = await auth.openSession();
await service.stop();
const prepareS = (performance.now() - t0) / 1000;
log(`store prepared in ${prepareS.toFixed(1)} s: ${PIPELINES} pipelines, ${RUNS} runs (${RUNS * 3} events), ${24 * 60} usage readings`);

// The service as a process ----------------------------------------------------------------------------------

const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', 'src/cli/main.ts', 'serve', '--store', storeUrl, '--port', '0', '--log-level', 'warn'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
process.once('exit', () => child.kill('SIGKILL'));
const startT = performance.now();
const url = await new Promise<string>((resolve, reject) => {
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d;
    const m = /dashboard (http:\/\/[^/\s]+)\//.exec(out);
    if (m) resolve(m[1]);
  });
  child.once('exit', (code) => reject(new Error(`serve exited (${code}) before listening:\n${out}`)));
});
const startS = (performance.now() - startT) / 1000;
const pid = child.pid!;
await new Promise((r) => setTimeout(r, 2000));
const rssStart = procRss(pid);

const bytes = new Map<string, number>();
const time = async (path: string, headers: Record<string, string>): Promise<number> => {
  const t = performance.now();
  // Not following redirects: a 303 to the sign-in page would time the wrong page.
  const res = await fetch(`${url}${path}`, { headers, redirect: 'manual' });
  const body = await res.arrayBuffer();
  const dt = performance.now() - t;
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${res.headers.get('location') ?? ''}`);
  bytes.set(path, body.byteLength);
  return dt;
};
const api = { authorization: `Bearer ${token}` };
const page = { cookie: `${SESSION_COOKIE}=${cookie}` };
const mid = names[Math.floor(PIPELINES / 2)];
const runId = lastRunId - 5;

const apiPaths = ['/api/v1/pipelines', `/api/v1/pipelines/${mid}`, '/api/v1/runs?limit=50', `/api/v1/runs?pipeline=${mid}&limit=50`, `/api/v1/runs/${runId}`, `/api/v1/runs/${runId}/events`, '/api/v1/connections', '/api/v1/usage', '/api/v1/dead-letters', '/healthz'];
const pagePaths = ['/', '/connections', '/pipelines', `/pipelines/${mid}`, '/runs', `/runs/${runId}`, '/dead-letters', '/usage'];

// Warm-up: the first request of each route compiles its code paths.
for (const p of apiPaths) for (let i = 0; i < 10; i++) await time(p, api);
for (const p of pagePaths) for (let i = 0; i < 3; i++) await time(p, page);

const rows: string[] = [];
const all: number[] = [];
for (const p of apiPaths) {
  const ts: number[] = [];
  for (let i = 0; i < REQUESTS; i++) ts.push(await time(p, api));
  ts.sort((a, b) => a - b);
  all.push(...ts);
  rows.push(`| \`GET ${p}\` | ${ms(pct(ts, 50))} | ${ms(pct(ts, 99))} | ${ms(ts[ts.length - 1])} | ${kb(bytes.get(p)!)} |`);
}
all.sort((a, b) => a - b);
const pageRows: string[] = [];
let pageMax = 0;
for (const p of pagePaths) {
  const ts: number[] = [];
  for (let i = 0; i < PAGE_REQUESTS; i++) ts.push(await time(p, page));
  ts.sort((a, b) => a - b);
  pageMax = Math.max(pageMax, pct(ts, 95));
  pageRows.push(`| \`${p}\` | ${ms(pct(ts, 50))} | ${ms(pct(ts, 95))} | ${ms(ts[ts.length - 1])} | ${kb(bytes.get(p)!)} |`);
}
const rssAfterRequests = procRss(pid);

// Idle: no run is due for 30 minutes. CPU time of the process over the window.
const ticks = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
/** User + system CPU seconds of the service process (fields 14 and 15 of /proc/PID/stat, after the name). */
const cpu = () => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / ticks;
};
await new Promise((r) => setTimeout(r, 2000));
const runsBefore = ((await (await fetch(`${url}/api/v1/runs?limit=1`, { headers: api })).json()) as { runs: Array<{ id: number }> }).runs[0]?.id;
const c0 = cpu();
const w0 = performance.now();
await new Promise((r) => setTimeout(r, IDLE_S * 1000));
const idleCpu = ((cpu() - c0) / ((performance.now() - w0) / 1000)) * 100;
const runsAfter = ((await (await fetch(`${url}/api/v1/runs?limit=1`, { headers: api })).json()) as { runs: Array<{ id: number }> }).runs[0]?.id;
const rssIdle = procRss(pid);

child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
await orgServer.close();
emu.close();
rmSync(dir, { recursive: true, force: true });

const mb = (b: number) => `${(b / 1048576).toFixed(0)} MB`;
const out = [
  `load average at the end ${loadavg().map((l) => l.toFixed(1)).join(' / ')} (1 / 5 / 15 min) on ${cpus().length} cores`,
  `sfbridge serve with ${PIPELINES} pipelines and ${RUNS} runs (${RUNS * 3} run events, ${24 * 60} usage readings) in ${storeUrl.startsWith('sqlite:') ? 'SQLite' : 'PostgreSQL'}`,
  `store prepared in ${prepareS.toFixed(1)} s; service listening ${startS.toFixed(2)} s after spawn`,
  '',
  `API, ${REQUESTS} sequential requests per endpoint: p50 ${ms(pct(all, 50))}, p99 ${ms(pct(all, 99))} over all ${all.length}`,
  '',
  '| Endpoint | p50 | p99 | max | body |',
  '| --- | ---: | ---: | ---: | ---: |',
  ...rows,
  '',
  `Dashboard pages, ${PAGE_REQUESTS} requests each (signed in): slowest p95 ${ms(pageMax)}`,
  '',
  '| Page | p50 | p95 | max | body |',
  '| --- | ---: | ---: | ---: | ---: |',
  ...pageRows,
  '',
  `Idle between schedules (${IDLE_S} s, next run 30+ min away${runsAfter === runsBefore ? ', no run started' : ', A RUN STARTED'}): CPU ${idleCpu.toFixed(2)}% of one core`,
  `RSS: ${mb(rssStart)} 2 s after start, ${mb(rssAfterRequests)} after the requests, ${mb(rssIdle)} after the idle window`,
];
process.stdout.write(`${out.join('\n')}\n`);

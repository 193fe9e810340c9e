/**
 * Fleet throughput: initial loads of several emulated orgs by 1, 2 and 4 `sfbridge worker` processes.
 *
 *   npx node bench/fleet.ts [--orgs 4] [--records 250000] [--workers 1,2,4] [--concurrency 2] [--latency 100]
 *
 * Every org is an `sfbridge emulator` process of its own with `--faults latency=MS` (each request waits that
 * long, as a real org's round trip does), seeded with `--records` rows split Account 1 : Contact 4. For each
 * worker count the bench creates a fresh Postgres database, schedules one sync pipeline per org (one job per
 * object) from this process with the fleet's job engine, starts the workers and times until every object's
 * mirror is loaded. It prints records/s, the speed-up over one worker, CPU seconds per 1,000 records (all
 * workers together, from /proc) and the peak RSS of each worker.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { parsePipeline, type PipelineEntry } from '../src/engine/pipelines/index.ts';
import { Service } from '../src/engine/service.ts';
import { openStore } from '../src/store/index.ts';
import { ROOT, startEmulator, type ChildEmulator } from './lib.ts';

const { values } = parseArgs({
  options: {
    orgs: { type: 'string', default: '4' },
    records: { type: 'string', default: '250000' },
    workers: { type: 'string', default: '1,2,4' },
    concurrency: { type: 'string', default: '2' },
    latency: { type: 'string', default: '100' },
    pg: { type: 'string', default: process.env.SFBRIDGE_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test' },
  },
});
const ORGS = Number(values.orgs);
const RECORDS = Number(values.records);
const COUNTS = [Math.floor(RECORDS / 5), RECORDS - Math.floor(RECORDS / 5)];
const OBJECTS = ['Account', 'Contact'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** user + system CPU seconds and peak RSS (bytes) of a live process. */
function procStats(pid: number): { cpu: number; peakRss: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpu = (Number(fields[11]) + Number(fields[12])) / 100;
    const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return { cpu, peakRss: hwm ? Number(hwm[1]) * 1024 : NaN };
  } catch {
    return { cpu: NaN, peakRss: NaN };
  }
}

/** Every worker started, so a crashed bench leaves none running. */
const children = new Set<ChildProcess>();
process.once('exit', () => children.forEach((c) => c.kill('SIGKILL')));

async function startWorker(args: string[], env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', 'src/cli/main.ts', 'worker', ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'ignore'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('sfbridge worker: ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`worker exited (${code}):\n${out}`)));
  });
  return child;
}

async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: values.pg });
  await c.connect();
  await c.query(sql).finally(() => c.end());
}

const emulators: ChildEmulator[] = [];
console.log(`seeding ${ORGS} orgs × ${RECORDS.toLocaleString('en')} records (Account ${COUNTS[0]}, Contact ${COUNTS[1]}), latency ${values.latency} ms`);
for (let i = 0; i < ORGS; i++) emulators.push(await startEmulator(['--seed', `Account=${COUNTS[0]},Contact=${COUNTS[1]}`, '--faults', `latency=${values.latency}`]));

const results: Array<{ workers: number; seconds: number; rate: number; cpuPer1000: number; peakRss: number[] }> = [];
for (const w of values.workers.split(',').map(Number)) {
  const dbName = `sfbridge_bench_fleet_${randomBytes(4).toString('hex')}`;
  await admin(`CREATE DATABASE "${dbName}"`);
  const base = new URL(values.pg);
  base.pathname = `/${dbName}`;
  const url = (schema: string) => `${base.toString()}?schema=${schema}`;
  const dir = mkdtempSync(join(tmpdir(), 'sfbridge-bench-fleet-'));
  const env = { ...process.env, SFBRIDGE_SECRET_KEY: randomBytes(32).toString('base64'), SFBRIDGE_LOG_LEVEL: 'warn' };
  const connections: Record<string, unknown> = {};
  const raws: Array<Record<string, unknown>> = [];
  emulators.forEach((e, i) => {
    connections[`org${i}`] = { kind: 'client_credentials', instance_url: e.url, client_id: 'sfbridge-emulator', client_secret: 'sfbridge-emulator-secret', budget: { run_share: 1 } };
    raws.push({ name: `crm${i}`, kind: 'sync', connection: `org${i}`, standard_objects_to_sync: OBJECTS, store: url(`mirror${i}`), schedule: '1h' });
  });
  const config = join(dir, 'sfbridge.yaml');
  writeFileSync(config, JSON.stringify({ connections, pipelines: raws }));
  const storeUrl = url('svc');
  const workers: ChildProcess[] = [];
  for (let i = 0; i < w; i++) workers.push(await startWorker(['--store', storeUrl, '--config', config, '--concurrency', values.concurrency], env));
  const cpu0 = workers.map((c) => procStats(c.pid!).cpu);
  const entries: PipelineEntry[] = raws.map((raw) => ({ spec: parsePipeline(raw), raw: raw as never, source: 'config' }));
  const service = await Service.open({ storeUrl, connections: connections as never, pipelines: entries, baseDir: dir, env, jobs: 'postgres', concurrency: 0, schedulePollMs: 1000 });
  const t0 = performance.now();
  await service.start();
  const peak = workers.map(() => 0);
  for (;;) {
    await sleep(1000);
    workers.forEach((c, i) => (peak[i] = Math.max(peak[i], procStats(c.pid!).peakRss)));
    let done = 0;
    for (let i = 0; i < ORGS; i++) {
      const store = await openStore(url(`mirror${i}`), { maxConnections: 1 });
      try {
        for (const o of OBJECTS) if ((await store.getCheckpoint(o))?.extra?.loaded) done++;
      } finally {
        await store.close();
      }
    }
    if (done === ORGS * OBJECTS.length) break;
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = workers.reduce((sum, c, i) => sum + procStats(c.pid!).cpu - cpu0[i], 0);
  const total = ORGS * RECORDS;
  results.push({ workers: w, seconds, rate: total / seconds, cpuPer1000: (cpu / total) * 1000, peakRss: peak });
  console.log(`${w} worker${w === 1 ? '' : 's'}: ${total.toLocaleString('en')} records in ${seconds.toFixed(1)} s = ${(total / seconds).toFixed(0)} records/s; ${((cpu / total) * 1000).toFixed(3)} CPU s per 1,000 records; peak RSS ${peak.map((p) => `${(p / 1048576).toFixed(0)} MB`).join(', ')}; load ${loadavg()[0].toFixed(1)}`);
  await service.stop();
  for (const c of workers) c.kill('SIGTERM');
  await Promise.all(workers.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))));
  rmSync(dir, { recursive: true, force: true });
  await admin(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
}
for (const e of emulators) await e.stop();

const one = results.find((r) => r.workers === 1);
console.log('\n| workers | seconds | records/s | speed-up | CPU s / 1,000 records | peak RSS per worker |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const r of results) console.log(`| ${r.workers} | ${r.seconds.toFixed(1)} | ${r.rate.toFixed(0)} | ${one ? `${(r.rate / one.rate).toFixed(2)}×` : '—'} | ${r.cpuPer1000.toFixed(3)} | ${r.peakRss.map((p) => `${(p / 1048576).toFixed(0)} MB`).join(', ')} |`);
process.exit(0);

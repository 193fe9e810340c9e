/**
 * Bulk API 2.0 benchmark against the emulator running as a child process.
 *
 * 1. Export N Accounts (default 1,000,000) to a CSV file with `sfbridge query --bulk` and with the REST
 *    `sfbridge query` (2,000-row pages): wall time, API calls (the emulator's apiUsage counter), and peak RSS
 *    of the exporting process.
 * 2. Upsert M Contacts (default 200,000) by external ID from a CSV file with `sfbridge bulk upsert` and with
 *    jsforce's `conn.bulk2.loadAndWaitForResults`: same figures. sfbridge runs twice, each creating M new
 *    Contacts: a first load (empty cache dir: no cached describe, no learned job rate) and a repeat load (the
 *    cache dir the first one filled: describe reused, first status polls planned from the learned rate).
 *    `--only ingest` seeds no Accounts.
 *
 * The sfbridge variants run the real CLI as a user does, `node bin/sfbridge.js …` (so with its compile cache
 * and its V8 heap settings), after one small warm-up run of each command so the compile cache holds every
 * module (and, for exports, the emulator has run one full export); jsforce runs in a plain-JS child (bench/workers/bulk-jsforce.mjs). Each process's peak RSS comes from
 * a preloaded bench/workers/maxrss.mjs; its time is the whole process, start-up included.
 *
 * `--defaults` runs each sfbridge Bulk variant a second time with SFBRIDGE_HEAP=default (V8's default heap
 * settings, as before the launcher set them; REST `query` always runs with them); `--v8=FLAGS` adds Node/V8 flags to every child.
 *
 *   npx node bench/bulk.ts [--accounts 1000000] [--contacts 200000] [--only export|ingest] [--defaults] [--v8=FLAGS]
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, mb, startEmulator } from './lib.ts';

const SOQL = 'SELECT Id, Name, Industry, AnnualRevenue, External_Id__c, SystemModstamp FROM Account';

const { values } = parseArgs({
  options: {
    accounts: { type: 'string', default: '1000000' },
    contacts: { type: 'string', default: '200000' },
    only: { type: 'string' },
    defaults: { type: 'boolean' },
    v8: { type: 'string' },
  },
});

interface Run {
  ms: number;
  maxRssBytes: number;
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `node [flags] --import maxrss.mjs script args` and returns its exit code, output, time and peak RSS. */
async function run(script: string, args: string[], env: NodeJS.ProcessEnv, flags: string[]): Promise<Run> {
  const t0 = performance.now();
  const p = spawn(process.execPath, [...flags, '--import', './bench/workers/maxrss.mjs', script, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let report = '';
  p.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  p.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  (p.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => (report += d.toString()));
  const [code] = (await once(p, 'close')) as [number];
  const kb = /maxrss-kb=(\d+)/.exec(report);
  if (!kb) throw new Error(`${script} ${args.join(' ')} reported no peak RSS (exit ${code}): ${stderr}`);
  return { ms: performance.now() - t0, maxRssBytes: Number(kb[1]) * 1024, code, stdout, stderr };
}

async function runParent(): Promise<void> {
  const N = Number(values.accounts);
  const M = Number(values.contacts);
  const dir = await mkdtemp(join(tmpdir(), 'sfbridge-bench-bulk-'));
  const t0 = performance.now();
  // The ingest part needs no Accounts: `--only ingest` skips seeding them.
  const seeded = values.only === 'ingest' ? 0 : N;
  const emu = await startEmulator(['--seed', `Account=${seeded}`, '--schema', 'bench/fixtures/bench-bulk-schema.yaml']);
  console.log(`emulator: ${seeded.toLocaleString()} Accounts seeded and started in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  // API calls from Sforce-Limit-Info (`api-usage=used/max`); the reading call itself counts one, subtracted below.
  const usage = async () => {
    const res = await emu.api('/services/data/v62.0/limits');
    await res.arrayBuffer();
    return Number(/api-usage=(\d+)/.exec(res.headers.get('sforce-limit-info') ?? '')?.[1] ?? NaN);
  };
  const env = { ...process.env, SF_INSTANCE_URL: emu.url, SF_ACCESS_TOKEN: emu.token, SFBRIDGE_HOME: join(dir, 'home') };
  const v8 = values.v8 ? values.v8.split(/\s+/).filter(Boolean) : [];
  const sfbridge = (args: string[], defaults = false, extraEnv: NodeJS.ProcessEnv = {}) => run('bin/sfbridge.js', args, { ...env, ...(defaults ? { SFBRIDGE_HEAP: 'default' } : {}), ...extraEnv }, ['--disable-warning=ExperimentalWarning', ...v8]);
  const report = async (label: string, body: () => Promise<{ r: Run; detail: string }>) => {
    const before = await usage();
    const { r, detail } = await body();
    const calls = (await usage()) - before - 1;
    console.log(`${label.padEnd(60)} ${(r.ms / 1000).toFixed(1).padStart(6)} s   ${String(calls).padStart(5)} API calls   peak RSS ${mb(r.maxRssBytes).padStart(7)}   ${detail}`);
  };
  const variants = values.defaults ? [false, true] : [false];
  try {
    if (values.only !== 'ingest') {
      // Warm-up (not measured): fills the compile cache for the query command's modules, and one full Bulk
      // export warms the emulator (its table pages and JIT), which otherwise made whichever variant ran first
      // the slowest by up to 1.6×.
      await sfbridge(['query', '--bulk', SOQL, '--format', 'csv', '--output', join(dir, 'warm.csv')]);
      await sfbridge(['query', 'SELECT Id FROM Account LIMIT 10', '--format', 'csv', '--output', join(dir, 'warm.csv')]);
      for (const defaults of variants) {
        const tag = defaults ? ' [V8 defaults]' : '';
        await report(`export ${N.toLocaleString()} Accounts, Bulk 2.0 (query --bulk)${tag}`, async () => {
          const out = join(dir, 'bulk.csv');
          const r = await sfbridge(['query', '--bulk', SOQL, '--format', 'csv', '--output', out], defaults);
          if (r.code !== 0) throw new Error(`query --bulk exited ${r.code}: ${r.stderr}`);
          return { r, detail: `${mb((await stat(out)).size)} CSV` };
        });
        // REST `query` runs with V8's defaults either way (the launcher's heap settings are for Bulk commands).
        if (defaults) continue;
        await report(`export ${N.toLocaleString()} Accounts, REST (query, 2000/page)`, async () => {
          const out = join(dir, 'rest.csv');
          const r = await sfbridge(['query', SOQL, '--format', 'csv', '--output', out, '--batch-size', '2000'], defaults);
          if (r.code !== 0) throw new Error(`query exited ${r.code}: ${r.stderr}`);
          return { r, detail: `${mb((await stat(out)).size)} CSV` };
        });
      }
    }
    if (values.only !== 'export') {
      const files = [join(dir, 'contacts-a.csv'), join(dir, 'contacts-b.csv'), join(dir, 'contacts-w.csv'), join(dir, 'contacts-c.csv')];
      // Distinct key spaces so every measured load creates the same number of new Contacts.
      for (const [i, f] of files.entries()) await writeContacts(f, i === 2 ? 10 : M, ['A', 'B', 'W', 'C'][i]);
      // Warm-up (compile cache) with the cache dir off, so the first measured load starts with no learned rate
      // and no cached describe, as a user's first load does; the second is a repeat load (cache dir filled by
      // the first: the describe, and the rate of its jobs, which plans each job's first status poll).
      const cache = { SFBRIDGE_CACHE_DIR: join(dir, 'cache') };
      await sfbridge(['bulk', 'upsert', '--object', 'Contact', '--external-id', 'Legacy_Key__c', '--file', files[2], '--results-dir', join(dir, 'warm')], false, { SFBRIDGE_CACHE_DIR: 'off' });
      const loads: [string, string, boolean][] = [['first load', files[0], false], ['repeat load', files[3], false]];
      if (values.defaults) loads.push(['[V8 defaults, updates]', files[0], true]);
      for (const [tag, file, defaults] of loads) {
        await report(`upsert ${M.toLocaleString()} Contacts, sfbridge bulk upsert, ${tag}`, async () => {
          const r = await sfbridge(['bulk', 'upsert', '--object', 'Contact', '--external-id', 'Legacy_Key__c', '--file', file, '--results-dir', join(dir, `results-${tag.replace(/\W+/g, '-')}`)], defaults, cache);
          const m = /(\d+) records: (\d+) succeeded/.exec(r.stdout);
          return { r, detail: `${Number(m?.[2] ?? 0).toLocaleString()} succeeded; exit ${r.code}; jobs: ${(r.stdout.match(/ created \(/g) ?? []).length}` };
        });
      }
      await report(`upsert ${M.toLocaleString()} Contacts, jsforce bulk2.loadAndWait`, async () => {
        const r = await run('bench/workers/bulk-jsforce.mjs', [emu.url, emu.token, files[1]], env, v8);
        if (r.code !== 0) throw new Error(`jsforce exited ${r.code}: ${r.stderr}`);
        const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { records: number; detail: string };
        return { r, detail: `${out.records.toLocaleString()} succeeded; ${out.detail}` };
      });
    }
  } finally {
    await emu.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await runParent();

async function writeContacts(path: string, n: number, prefix: string): Promise<void> {
  const out = createWriteStream(path);
  out.write('FirstName,LastName,Email,Title,Legacy_Key__c\n');
  for (let i = 0; i < n; i++) {
    if (!out.write(`Bench${i},"Contact, ${prefix}${i}",c${i}@${prefix.toLowerCase()}.example.com,Engineer,${prefix}-${i}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'close');
}

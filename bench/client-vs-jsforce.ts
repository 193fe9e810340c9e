/**
 * sfbridge client vs jsforce 3 against the emulator (a child process seeded with N Accounts):
 * 1. stream every Account to a JSONL file — wall time and peak RSS, each variant in its own process;
 * 2. upsert 20k Accounts by external ID through sObject Collections — API calls used and time.
 *
 *   npx node bench/client-vs-jsforce.ts [--accounts 200000] [--upserts 20000] [--rounds 1] [--no-compile-cache]
 *
 * Workers start through bench/workers/run.mjs with Node's module compile cache on, as bin/sfbridge.js does.
 *
 * Goal (issue 3): sfbridge ≤ 0.6× jsforce's time and ≤ 0.3× its peak RSS on the query.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { mb, median, ROOT, startEmulator } from './lib.ts';

const { values } = parseArgs({ options: { accounts: { type: 'string', default: '200000' }, upserts: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '1' }, 'no-compile-cache': { type: 'boolean', default: false } } });
const N = Number(values.accounts);
const UPSERTS = Number(values.upserts);
const ROUNDS = Number(values.rounds);
const SOQL = 'SELECT Id, Name, Type, Industry, AnnualRevenue, NumberOfEmployees, Phone, Website, BillingStreet, BillingCity, BillingState, BillingPostalCode, BillingCountry, Description, External_Id__c, OwnerId, CreatedDate, SystemModstamp FROM Account';

interface Figures {
  ms: number;
  records: number;
  maxRssBytes: number;
  ok?: number;
  created?: number;
}

const t0 = performance.now();
const emu = await startEmulator(['--seed', `Account=${N}`, '--schema', 'bench/fixtures/bench-schema.yaml']);
console.log(`emulator: ${N.toLocaleString()} Accounts seeded, up in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
const dir = await mkdtemp(join(tmpdir(), 'sfbridge-bench-'));

async function apiUsage(): Promise<number> {
  return ((await (await fetch(`${emu.url}/__emulator/stats`)).json()) as { apiUsage: number }).apiUsage;
}

/**
 * Runs the CLI, `bin/sfbridge.js query SOQL --output FILE`, as a user would (through its shebang), under GNU
 * time for its peak RSS, optionally with NODE_OPTIONS. Its time is the whole process, start-up included.
 */
async function cli(file: string, soql = SOQL, nodeOptions = ''): Promise<Figures & { apiCalls: number; wallMs: number }> {
  const before = await apiUsage();
  const started = performance.now();
  const child = spawn('/usr/bin/time', ['-f', 'maxrss-kb=%M', 'bin/sfbridge.js', 'query', soql, '--output', file], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'pipe'],
    // The bin's `#!/usr/bin/env node` must find Node 24: put the project's node first, as npm/npx do.
    env: { ...process.env, PATH: `${join(ROOT, 'node_modules/.bin')}:${process.env.PATH}`, SF_INSTANCE_URL: emu.url, SF_ACCESS_TOKEN: emu.token, NODE_OPTIONS: nodeOptions },
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const ms = performance.now() - started;
  const kb = /maxrss-kb=(\d+)/.exec(err);
  if (code !== 0 || !kb) throw new Error(`sfbridge query exited with ${code}: ${err}`);
  let records = 0;
  for await (const chunk of createReadStream(file)) for (const b of chunk as Buffer) if (b === 10) records++;
  return { ms, wallMs: ms, records, maxRssBytes: Number(kb[1]) * 1024, apiCalls: (await apiUsage()) - before };
}

/** Runs one worker process and returns its figures plus the API calls the emulator counted meanwhile. */
async function worker(lib: 'sfbridge' | 'jsforce' | 'cli', mode: string, extra: Record<string, unknown> = {}): Promise<Figures & { apiCalls: number; wallMs: number }> {
  if (lib === 'cli') return cli(extra.out as string, SOQL, mode === 'cli-semi8' ? '--max-semi-space-size=8' : '');
  const before = await apiUsage();
  const started = performance.now();
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', 'bench/workers/run.mjs', `./${lib}.ts`, JSON.stringify({ url: emu.url, token: emu.token, soql: SOQL, ...extra }), mode], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, BENCH_NO_COMPILE_CACHE: values['no-compile-cache'] ? '1' : '0' },
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const wallMs = performance.now() - started;
  if (code !== 0) throw new Error(`${lib} ${mode} exited with ${code}: ${out}`);
  const figures = JSON.parse(out.trim().split('\n').pop()!) as Figures;
  return { ...figures, apiCalls: (await apiUsage()) - before, wallMs };
}

async function sha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

const row = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;

// Baselines: a process that loads the library and runs a one-row query.
// The first run of each also fills the module compile cache, so measure the second.
await worker('sfbridge', 'idle');
await worker('jsforce', 'idle');
const idle = { sfbridge: await worker('sfbridge', 'idle'), jsforce: await worker('jsforce', 'idle') };
// The CLI loads more modules (src/cli/*): fill the compile cache for them too, and measure its baseline.
await cli(join(dir, 'warm.jsonl'), 'SELECT Id FROM Account LIMIT 1');
const idleCli = await cli(join(dir, 'warm.jsonl'), 'SELECT Id FROM Account LIMIT 1');

// 1. Query → JSONL. Variants alternate within each round so machine noise hits them alike.
const variants = [
  { name: 'sfbridge `for await (… of client.query())`', lib: 'sfbridge' as const, mode: 'query' },
  { name: 'sfbridge CLI `sfbridge query … --output FILE`', lib: 'cli' as const, mode: 'cli' },
  { name: 'sfbridge CLI, `NODE_OPTIONS=--max-semi-space-size=8`', lib: 'cli' as const, mode: 'cli-semi8' },
  { name: "jsforce `.on('record')` stream", lib: 'jsforce' as const, mode: 'query-stream' },
  { name: 'jsforce `await query` (all records)', lib: 'jsforce' as const, mode: 'query-await' },
];
const results = new Map<string, Array<Figures & { apiCalls: number; wallMs: number }>>();
const hashes = new Map<string, string>();
for (let round = 0; round < ROUNDS; round++) {
  for (const v of variants) {
    const file = join(dir, `${v.mode}-${v.lib}.jsonl`);
    const f = await worker(v.lib, v.mode, { out: file });
    if (f.records !== N) throw new Error(`${v.name}: ${f.records} records, expected ${N}`);
    // The CLI drops `attributes` from each line, so its file differs by design; the others must be identical.
    if (v.lib !== 'cli') hashes.set(v.name, await sha256(file));
    const size = (await stat(file)).size;
    await rm(file);
    results.set(v.name, [...(results.get(v.name) ?? []), f]);
    console.log(`  round ${round + 1} ${v.name}: ${(f.ms / 1000).toFixed(2)} s (process ${(f.wallMs / 1000).toFixed(2)} s), peak RSS ${mb(f.maxRssBytes)}, ${f.apiCalls} API calls, ${mb(size)} written`);
  }
}
const same = new Set(hashes.values()).size === 1;
const med = (name: string, k: 'ms' | 'maxRssBytes' | 'wallMs') => median(results.get(name)!.map((f) => f[k]));
const sf = variants[0].name;
console.log(`\nQuery ${N.toLocaleString()} Accounts (${SOQL.split(',').length} fields) → JSONL; files byte-identical across variants: ${same ? 'yes' : 'NO'}; median of ${ROUNDS} round(s)\n`);
console.log(row(['variant', 'time (s)', 'records/s', 'process wall (s)', 'peak RSS', 'API calls', 'sfbridge time ratio', 'sfbridge RSS ratio']));
console.log(row(['---', '---:', '---:', '---:', '---:', '---:', '---:', '---:']));
for (const v of variants) {
  const ms = med(v.name, 'ms');
  const rss = med(v.name, 'maxRssBytes');
  const mine = v.lib !== 'jsforce';
  console.log(row([v.name, (ms / 1000).toFixed(2), Math.round(N / (ms / 1000)).toLocaleString('en-US'), (med(v.name, 'wallMs') / 1000).toFixed(2), mb(rss), results.get(v.name)![0].apiCalls, mine ? '—' : `${(med(sf, 'ms') / ms).toFixed(2)}×`, mine ? '—' : `${(med(sf, 'maxRssBytes') / rss).toFixed(2)}×`]));
}
console.log(row(['baseline: load library + one-row query', '', '', '', `sfbridge ${mb(idle.sfbridge.maxRssBytes)} / CLI ${mb(idleCli.maxRssBytes)} / jsforce ${mb(idle.jsforce.maxRssBytes)}`, '', '', '']));
for (const mine of variants.filter((v) => v.lib !== 'jsforce')) {
  for (const v of variants.filter((x) => x.lib === 'jsforce')) {
    // The CLI's time is its whole process (start-up included), so compare it with jsforce's whole process.
    const k = mine.lib === 'cli' ? 'wallMs' : 'ms';
    const t = med(mine.name, k) / med(v.name, k);
    const r = med(mine.name, 'maxRssBytes') / med(v.name, 'maxRssBytes');
    console.log(`goal ${mine.name} vs ${v.name}: ${k === 'wallMs' ? 'process wall time' : 'time'} ${t.toFixed(2)}× (≤ 0.6×: ${t <= 0.6 ? 'met' : 'MISSED'}), peak RSS ${r.toFixed(2)}× (≤ 0.3×: ${r <= 0.3 ? 'met' : 'MISSED'})`);
  }
}

// 2. Upserts through collections: half update seeded Accounts, half insert new ones; every run its own keys.
//    Alternating rounds again, so neither client always runs right after the big queries.
const half = UPSERTS / 2;
const ups: Record<'sfbridge' | 'jsforce', Array<Figures & { apiCalls: number }>> = { sfbridge: [], jsforce: [] };
let slot = 0;
for (let round = 0; round < ROUNDS; round++) {
  for (const lib of ['sfbridge', 'jsforce'] as const) {
    const f = await worker(lib, 'upsert', { from: 1 + slot * half, newFrom: N + 1 + slot * half, count: UPSERTS });
    slot++;
    if (f.ok !== UPSERTS) throw new Error(`${lib} upsert: ${f.ok} of ${UPSERTS} succeeded`);
    ups[lib].push(f);
    console.log(`  round ${round + 1} ${lib} upsert: ${(f.ms / 1000).toFixed(2)} s, ${f.apiCalls} API calls, ${f.created} created`);
  }
}
console.log(`\nUpsert ${UPSERTS.toLocaleString()} Accounts by External_Id__c via sObject Collections (${half.toLocaleString()} updates + ${half.toLocaleString()} inserts each); median of ${ROUNDS} round(s)\n`);
console.log(row(['client', 'time (s)', 'records/s', 'API calls', 'succeeded', 'created', 'peak RSS']));
console.log(row(['---', '---:', '---:', '---:', '---:', '---:', '---:']));
for (const [name, fs] of Object.entries(ups)) {
  const ms = median(fs.map((f) => f.ms));
  console.log(row([name, (ms / 1000).toFixed(2), Math.round(UPSERTS / (ms / 1000)).toLocaleString('en-US'), fs[0].apiCalls, fs[0].ok ?? '', fs[0].created ?? '', mb(median(fs.map((f) => f.maxRssBytes)))]));
}

await rm(dir, { recursive: true, force: true });
await emu.stop();

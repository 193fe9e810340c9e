/**
 * sfbridge client vs jsforce 3 against the emulator (a child process seeded with N Accounts):
 * 1. stream Accounts to a JSONL file with the library, the CLI and jsforce, each in its own process under GNU
 *    time: wall time, CPU (user + system) and peak RSS, for the 6-field and the 18-field query and for each
 *    row count (`LIMIT n` on the same seeded table);
 * 2. upsert 20k Accounts by external ID through sObject Collections — API calls used and time.
 *
 *   npx node bench/client-vs-jsforce.ts [--accounts 200000] [--rows 200000,1000000] [--fields 6,18]
 *                                       [--upserts 20000] [--rounds 1] [--await] [--no-compile-cache]
 *                                       [--json FILE]
 *
 * --json FILE also writes the medians as JSON (what bench/charts.ts draws); the printed output is the same.
 * --rows defaults to --accounts; --await adds jsforce's `await query` (it holds every record: skip it at 1M).
 * Library and jsforce workers start through bench/workers/run.mjs with Node's module compile cache on, as
 * bin/sfbridge.js does; the CLI starts as the README starts it: `bin/sfbridge query … --output FILE`.
 *
 * Goals (issue 14): the CLI's CPU ≤ 0.5× jsforce's; its peak RSS ≤ 0.3× jsforce's at 200,000 rows with no
 * flags; its peak RSS at 1,000,000 rows within 10% of the 200,000 figure.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { mb, median, ROOT, startEmulator } from './lib.ts';

const { values } = parseArgs({ options: { accounts: { type: 'string', default: '200000' }, rows: { type: 'string' }, fields: { type: 'string', default: '6,18' }, upserts: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '1' }, await: { type: 'boolean', default: false }, 'no-compile-cache': { type: 'boolean', default: false }, json: { type: 'string' } } });
const N = Number(values.accounts);
const ROWS = (values.rows ?? String(N)).split(',').map(Number);
const UPSERTS = Number(values.upserts);
const ROUNDS = Number(values.rounds);
const QUERIES: Record<string, string> = {
  '6': 'SELECT Id, Name, Industry, BillingCity, AnnualRevenue, SystemModstamp FROM Account',
  '18': 'SELECT Id, Name, Type, Industry, AnnualRevenue, NumberOfEmployees, Phone, Website, BillingStreet, BillingCity, BillingState, BillingPostalCode, BillingCountry, Description, External_Id__c, OwnerId, CreatedDate, SystemModstamp FROM Account',
};
const FIELDS = values.fields!.split(',');
for (const r of ROWS) if (!(r > 0 && r <= N)) throw new Error(`--rows ${r}: must be 1..${N} (--accounts)`);

interface Figures {
  ms: number;
  records: number;
  maxRssBytes: number;
  ok?: number;
  created?: number;
}
type Measured = Figures & { apiCalls: number; wallMs: number; cpuMs: number };

const t0 = performance.now();
const emu = await startEmulator(['--seed', `Account=${N}`, '--schema', 'bench/fixtures/bench-schema.yaml']);
console.log(`emulator: ${N.toLocaleString()} Accounts seeded, up in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
const dir = await mkdtemp(join(tmpdir(), 'sfbridge-bench-'));

async function apiUsage(): Promise<number> {
  return ((await (await fetch(`${emu.url}/__emulator/stats`)).json()) as { apiUsage: number }).apiUsage;
}

/** Runs `argv` under GNU time; returns its stdout, wall time, CPU (user + system) and peak RSS. */
async function timed(argv: string[], env: NodeJS.ProcessEnv): Promise<{ out: string; wallMs: number; cpuMs: number; maxRssBytes: number }> {
  const started = performance.now();
  const child = spawn('/usr/bin/time', ['-f', 'bench-time=%U %S %M', ...argv], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const wallMs = performance.now() - started;
  const m = /bench-time=([\d.]+) ([\d.]+) (\d+)/.exec(err);
  if (code !== 0 || !m) throw new Error(`${argv.join(' ')} exited with ${code}: ${err}`);
  return { out, wallMs, cpuMs: (Number(m[1]) + Number(m[2])) * 1000, maxRssBytes: Number(m[3]) * 1024 };
}

/**
 * The CLI as the README runs it: `bin/sfbridge query SOQL --output FILE` (the sh launcher, the bundled Node
 * 24), no flags or NODE_OPTIONS. Its time is the whole process, start-up included.
 */
async function cli(file: string, soql: string): Promise<Measured> {
  const before = await apiUsage();
  const t = await timed(['bin/sfbridge', 'query', soql, '--output', file], { ...process.env, SF_INSTANCE_URL: emu.url, SF_ACCESS_TOKEN: emu.token, NODE_OPTIONS: '' });
  let records = 0;
  for await (const chunk of createReadStream(file)) for (const b of chunk as Buffer) if (b === 10) records++;
  return { ms: t.wallMs, wallMs: t.wallMs, cpuMs: t.cpuMs, records, maxRssBytes: t.maxRssBytes, apiCalls: (await apiUsage()) - before };
}

/** Runs one worker process and returns its figures plus the API calls the emulator counted meanwhile. */
async function worker(lib: 'sfbridge' | 'jsforce' | 'cli', mode: string, extra: Record<string, unknown> & { soql?: string } = {}): Promise<Measured> {
  const soql = extra.soql ?? QUERIES['6'];
  if (lib === 'cli') return cli(extra.out as string, soql);
  const before = await apiUsage();
  const t = await timed([process.execPath, '--disable-warning=ExperimentalWarning', 'bench/workers/run.mjs', `./${lib}.ts`, JSON.stringify({ url: emu.url, token: emu.token, ...extra, soql }), mode], { ...process.env, BENCH_NO_COMPILE_CACHE: values['no-compile-cache'] ? '1' : '0' });
  const figures = JSON.parse(t.out.trim().split('\n').pop()!) as Figures;
  return { ...figures, apiCalls: (await apiUsage()) - before, wallMs: t.wallMs, cpuMs: t.cpuMs, maxRssBytes: t.maxRssBytes };
}

async function sha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

const row = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
const sec = (ms: number) => (ms / 1000).toFixed(2);

// Baselines: a process that loads the library and runs a one-row query.
// The first run of each also fills the module compile cache, so measure the second.
await worker('sfbridge', 'idle');
await worker('jsforce', 'idle');
const idle = { sfbridge: await worker('sfbridge', 'idle'), jsforce: await worker('jsforce', 'idle') };
await cli(join(dir, 'warm.jsonl'), 'SELECT Id FROM Account LIMIT 1');
const idleCli = await cli(join(dir, 'warm.jsonl'), 'SELECT Id FROM Account LIMIT 1');

// 1. Query → JSONL. Variants alternate within each round so machine noise hits them alike.
const variants = [
  { name: 'sfbridge library `for await (… of client.query())`', lib: 'sfbridge' as const, mode: 'query' },
  { name: 'sfbridge CLI `sfbridge query … --output FILE`', lib: 'cli' as const, mode: 'cli' },
  { name: "jsforce `.on('record')` stream", lib: 'jsforce' as const, mode: 'query-stream' },
  ...(values.await ? [{ name: 'jsforce `await query` (all records)', lib: 'jsforce' as const, mode: 'query-await' }] : []),
];
const load0 = loadavg()[0];
const summary: string[] = [];
const cliRss = new Map<string, number>();
/** What --json writes: the same medians the tables print. */
const json = {
  bench: 'client-vs-jsforce',
  command: `npx node bench/client-vs-jsforce.ts ${process.argv.slice(2).join(' ')}`.trim(),
  date: new Date().toISOString(),
  accounts: N,
  rounds: ROUNDS,
  queries: [] as { fields: number; rows: number; variants: { name: string; lib: string; wallMs: number; cpuMs: number; maxRssBytes: number; apiCalls: number }[] }[],
  baseline: {} as Record<string, { cpuMs: number; maxRssBytes: number }>,
  upserts: [] as { client: string; records: number; ms: number; recordsPerSecond: number; apiCalls: number; maxRssBytes: number }[],
};
for (const fields of FIELDS) {
  for (const rows of ROWS) {
    const soql = `${QUERIES[fields]}${rows < N ? ` LIMIT ${rows}` : ''}`;
    const results = new Map<string, Measured[]>();
    const hashes = new Map<string, string>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const v of variants) {
        const file = join(dir, `${v.mode}-${v.lib}.jsonl`);
        const f = await worker(v.lib, v.mode, { out: file, soql });
        if (f.records !== rows) throw new Error(`${v.name}: ${f.records} records, expected ${rows}`);
        // The CLI drops `attributes` from each line, so its file differs by design; the others must be identical.
        if (v.lib !== 'cli') hashes.set(v.name, await sha256(file));
        const size = (await stat(file)).size;
        await rm(file);
        results.set(v.name, [...(results.get(v.name) ?? []), f]);
        console.log(`  ${fields} fields, ${rows.toLocaleString('en-US')} rows, round ${round + 1} ${v.name}: wall ${sec(f.wallMs)} s, CPU ${sec(f.cpuMs)} s, peak RSS ${mb(f.maxRssBytes)}, ${f.apiCalls} API calls, ${mb(size)} written (load ${loadavg()[0].toFixed(1)})`);
      }
    }
    const med = (name: string, k: 'wallMs' | 'cpuMs' | 'maxRssBytes') => median(results.get(name)!.map((f) => f[k]));
    const js = variants.find((v) => v.mode === 'query-stream')!.name;
    console.log(`\nQuery ${rows.toLocaleString('en-US')} Accounts, ${fields} fields → JSONL; library and jsforce files byte-identical: ${new Set(hashes.values()).size === 1 ? 'yes' : 'NO'}; median of ${ROUNDS} round(s)\n`);
    console.log(row(['variant', 'wall (s)', 'CPU user+sys (s)', 'peak RSS', 'API calls', 'CPU vs jsforce stream', 'RSS vs jsforce stream']));
    console.log(row(['---', '---:', '---:', '---:', '---:', '---:', '---:']));
    for (const v of variants) {
      const mine = v.lib !== 'jsforce';
      console.log(row([v.name, sec(med(v.name, 'wallMs')), sec(med(v.name, 'cpuMs')), mb(med(v.name, 'maxRssBytes')), results.get(v.name)![0].apiCalls, mine ? `${(med(v.name, 'cpuMs') / med(js, 'cpuMs')).toFixed(2)}×` : '—', mine ? `${(med(v.name, 'maxRssBytes') / med(js, 'maxRssBytes')).toFixed(2)}×` : '—']));
    }
    json.queries.push({ fields: Number(fields), rows, variants: variants.map((v) => ({ name: v.name, lib: v.lib, wallMs: med(v.name, 'wallMs'), cpuMs: med(v.name, 'cpuMs'), maxRssBytes: med(v.name, 'maxRssBytes'), apiCalls: results.get(v.name)![0].apiCalls })) });
    const c = variants[1].name;
    const cpuRatio = med(c, 'cpuMs') / med(js, 'cpuMs');
    const rssRatio = med(c, 'maxRssBytes') / med(js, 'maxRssBytes');
    cliRss.set(`${fields}/${rows}`, med(c, 'maxRssBytes'));
    summary.push(`${fields} fields, ${rows.toLocaleString('en-US')} rows: CLI CPU ${cpuRatio.toFixed(2)}× jsforce (≤ 0.5×: ${cpuRatio <= 0.5 ? 'met' : 'MISSED'}), peak RSS ${rssRatio.toFixed(2)}× (≤ 0.3×${rows === 200000 ? `: ${rssRatio <= 0.3 ? 'met' : 'MISSED'}` : ', goal at 200,000 rows'})`);
  }
}
for (const [k, f] of Object.entries({ sfbridge: idle.sfbridge, cli: idleCli, jsforce: idle.jsforce })) json.baseline[k] = { cpuMs: f.cpuMs, maxRssBytes: f.maxRssBytes };
console.log(`\nbaseline (load library + one-row query), peak RSS: sfbridge ${mb(idle.sfbridge.maxRssBytes)} / CLI ${mb(idleCli.maxRssBytes)} / jsforce ${mb(idle.jsforce.maxRssBytes)}; CPU: sfbridge ${sec(idle.sfbridge.cpuMs)} s / CLI ${sec(idleCli.cpuMs)} s / jsforce ${sec(idle.jsforce.cpuMs)} s`);
for (const line of summary) console.log(`goal ${line}`);
for (const fields of FIELDS) {
  const a = cliRss.get(`${fields}/200000`);
  const b = cliRss.get(`${fields}/1000000`);
  if (a && b) console.log(`goal ${fields} fields: CLI peak RSS at 1,000,000 rows ${mb(b)} vs ${mb(a)} at 200,000 = ${((b / a - 1) * 100).toFixed(0)}% (within 10%: ${b <= a * 1.1 ? 'met' : 'MISSED'})`);
}
console.log(`load average ${load0.toFixed(2)} at start, ${loadavg()[0].toFixed(2)} at end (2 cores)`);

// 2. Upserts through collections: half update seeded Accounts, half insert new ones; every run its own keys.
//    Alternating rounds again, so neither client always runs right after the big queries.
const half = UPSERTS / 2;
const ups: Record<'sfbridge' | 'jsforce', Array<Figures & { apiCalls: number }>> = { sfbridge: [], jsforce: [] };
const upsertRounds = UPSERTS > 0 ? ROUNDS : 0;
let slot = 0;
for (let round = 0; round < upsertRounds; round++) {
  for (const lib of ['sfbridge', 'jsforce'] as const) {
    const f = await worker(lib, 'upsert', { from: 1 + slot * half, newFrom: N + 1 + slot * half, count: UPSERTS });
    slot++;
    if (f.ok !== UPSERTS) throw new Error(`${lib} upsert: ${f.ok} of ${UPSERTS} succeeded`);
    ups[lib].push(f);
    console.log(`  round ${round + 1} ${lib} upsert: ${(f.ms / 1000).toFixed(2)} s, ${f.apiCalls} API calls, ${f.created} created`);
  }
}
if (upsertRounds > 0) {
  console.log(`\nUpsert ${UPSERTS.toLocaleString()} Accounts by External_Id__c via sObject Collections (${half.toLocaleString()} updates + ${half.toLocaleString()} inserts each); median of ${ROUNDS} round(s)\n`);
  console.log(row(['client', 'time (s)', 'records/s', 'API calls', 'succeeded', 'created', 'peak RSS']));
  console.log(row(['---', '---:', '---:', '---:', '---:', '---:', '---:']));
  for (const [name, fs] of Object.entries(ups)) {
    const ms = median(fs.map((f) => f.ms));
    json.upserts.push({ client: name, records: UPSERTS, ms, recordsPerSecond: Math.round(UPSERTS / (ms / 1000)), apiCalls: fs[0].apiCalls, maxRssBytes: median(fs.map((f) => f.maxRssBytes)) });
    console.log(row([name, (ms / 1000).toFixed(2), Math.round(UPSERTS / (ms / 1000)).toLocaleString('en-US'), fs[0].apiCalls, fs[0].ok ?? '', fs[0].created ?? '', mb(median(fs.map((f) => f.maxRssBytes)))]));
  }
}

if (values.json) await writeFile(values.json, `${JSON.stringify(json, null, 2)}\n`);
await rm(dir, { recursive: true, force: true });
await emu.stop();

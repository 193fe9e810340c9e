/**
 * Bulk API 2.0 benchmark against the emulator running as a child process.
 *
 * 1. Export N Accounts (default 1,000,000) to a CSV file with `sfbridge query --bulk` and with the REST
 *    `sfbridge query` (2,000-row pages): wall time, API calls (the emulator's apiUsage counter), and peak RSS
 *    of the exporting process.
 * 2. Upsert M Contacts (default 200,000) by external ID from a CSV file with `sfbridge bulk upsert` and with
 *    jsforce's `conn.bulk2.loadAndWaitForResults`: same figures.
 *
 * Every variant runs in its own child process so each peak RSS (`process.resourceUsage().maxRSS`) is its own.
 *
 * With `--v8=--max-semi-space-size=8` every variant runs a second time with those Node/V8 flags (a smaller
 * young generation: streaming code allocates many short-lived objects, and V8's default lets new space grow
 * to tens of MB, which is most of the RSS above the ~100 MB baseline of Node + the TypeScript sources).
 *
 *   npx node bench/bulk.ts [--accounts 1000000] [--contacts 200000] [--only export|ingest] [--v8=FLAGS]
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { mb, startEmulator } from './lib.ts';

const SOQL = 'SELECT Id, Name, Industry, AnnualRevenue, External_Id__c, SystemModstamp FROM Account';

const { values } = parseArgs({
  options: {
    accounts: { type: 'string', default: '1000000' },
    contacts: { type: 'string', default: '200000' },
    only: { type: 'string' },
    child: { type: 'string' },
    url: { type: 'string' },
    token: { type: 'string' },
    file: { type: 'string' },
    out: { type: 'string' },
    v8: { type: 'string' },
  },
});

if (values.child) {
  await runChild(values.child);
} else {
  await runParent();
}

interface ChildReport {
  records: number;
  ms: number;
  maxRssBytes: number;
  detail?: string;
}

/** One variant, measured from inside its own process. */
async function runChild(variant: string): Promise<void> {
  const url = values.url!;
  const env = { ...process.env, SF_INSTANCE_URL: url, SF_CLIENT_ID: 'sfbridge-emulator', SF_CLIENT_SECRET: 'sfbridge-emulator-secret', SFBRIDGE_HOME: join(tmpdir(), 'sfbridge-bench-home') };
  const t0 = performance.now();
  let records = 0;
  let detail = '';
  const sink = createWriteStream('/dev/null');
  if (variant === 'export-bulk' || variant === 'export-rest') {
    const { queryCommand } = await import('../src/cli/query.ts');
    const argv = variant === 'export-bulk' ? ['--bulk', SOQL, '--format', 'csv', '--output', values.out!] : [SOQL, '--format', 'csv', '--output', values.out!, '--batch-size', '2000'];
    const code = await queryCommand(argv, { env, stdout: sink, stderr: sink });
    if (code !== 0) throw new Error(`${variant} exited ${code}`);
    records = -1;
    detail = `${mb((await stat(values.out!)).size)} CSV`;
  } else if (variant === 'ingest-sfbridge') {
    const { bulkCommand } = await import('../src/cli/bulk.ts');
    let text = '';
    const out = new (await import('node:stream')).PassThrough();
    out.on('data', (d: Buffer) => (text += d.toString()));
    const code = await bulkCommand(['upsert', '--object', 'Contact', '--external-id', 'Legacy_Key__c', '--file', values.file!, '--results-dir', values.out!], { env, stdout: out, stderr: sink });
    const m = /(\d+) records: (\d+) succeeded/.exec(text);
    records = Number(m?.[2] ?? 0);
    detail = `exit ${code}; jobs: ${(text.match(/created/g) ?? []).length}`;
  } else if (variant === 'ingest-jsforce') {
    const jsforce = (await import('jsforce')).default;
    const { createReadStream } = await import('node:fs');
    const conn = new jsforce.Connection({ instanceUrl: url, accessToken: values.token!, version: '62.0' });
    const res = await conn.bulk2.loadAndWaitForResults({ object: 'Contact', operation: 'upsert', externalIdFieldName: 'Legacy_Key__c', input: createReadStream(values.file!), pollInterval: 1000, pollTimeout: 3_600_000 });
    records = res.successfulResults.length;
    detail = `${res.failedResults.length} failed, ${res.unprocessedRecords.length} unprocessed`;
  } else {
    throw new Error(`unknown variant ${variant}`);
  }
  const report: ChildReport = { records, ms: performance.now() - t0, maxRssBytes: process.resourceUsage().maxRSS * 1024, detail };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

async function child(variant: string, args: string[], flags: string[]): Promise<ChildReport> {
  const p = spawn(process.execPath, [...flags, '--disable-warning=ExperimentalWarning', fileURLToPath(import.meta.url), '--child', variant, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const [code] = (await once(p, 'exit')) as [number];
  if (code !== 0) throw new Error(`${variant} child exited ${code}: ${out}`);
  return JSON.parse(out.trim().split('\n').pop()!) as ChildReport;
}

async function runParent(): Promise<void> {
  const N = Number(values.accounts);
  const M = Number(values.contacts);
  const dir = await mkdtemp(join(tmpdir(), 'sfbridge-bench-bulk-'));
  const t0 = performance.now();
  const emu = await startEmulator(['--seed', `Account=${N}`, '--schema', 'bench/fixtures/bench-bulk-schema.yaml']);
  console.log(`emulator: ${N.toLocaleString()} Accounts seeded and started in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  // API calls from Sforce-Limit-Info (`api-usage=used/max`); the reading call itself counts one, subtracted below.
  // (/__emulator/stats would be simpler but currently answers 500 on this schema.)
  const usage = async () => {
    const res = await emu.api('/services/data/v62.0/limits');
    await res.arrayBuffer();
    return Number(/api-usage=(\d+)/.exec(res.headers.get('sforce-limit-info') ?? '')?.[1] ?? NaN);
  };
  const flagSets: string[][] = [[], ...(values.v8 ? [values.v8.split(/\s+/).filter(Boolean)] : [])];
  const measure = async (label: string, variant: string, args: string[]) => {
    for (const flags of flagSets) {
      const before = await usage();
      const r = await child(variant, ['--url', emu.url, '--token', emu.token, ...args], flags);
      const calls = (await usage()) - before - 1;
      const recs = r.records >= 0 ? `${r.records.toLocaleString()} records` : '';
      const name = flags.length ? `${label} [${flags.join(' ')}]` : label;
      console.log(`${name.padEnd(48)} ${(r.ms / 1000).toFixed(1).padStart(6)} s   ${String(calls).padStart(5)} API calls   peak RSS ${mb(r.maxRssBytes).padStart(7)}   ${recs} ${r.detail ?? ''}`);
    }
  };
  try {
    if (values.only !== 'ingest') {
      await measure(`export ${N.toLocaleString()} Accounts, Bulk 2.0 (query --bulk)`, 'export-bulk', ['--out', join(dir, 'bulk.csv')]);
      await measure(`export ${N.toLocaleString()} Accounts, REST (query, 2000/page)`, 'export-rest', ['--out', join(dir, 'rest.csv')]);
    }
    if (values.only !== 'export') {
      const files = [join(dir, 'contacts-a.csv'), join(dir, 'contacts-b.csv')];
      // Distinct key spaces so both tools create the same number of new Contacts.
      for (const [i, f] of files.entries()) await writeContacts(f, M, i === 0 ? 'A' : 'B');
      await measure(`upsert ${M.toLocaleString()} Contacts, sfbridge bulk upsert`, 'ingest-sfbridge', ['--file', files[0], '--out', join(dir, 'results')]);
      await measure(`upsert ${M.toLocaleString()} Contacts, jsforce bulk2.loadAndWait`, 'ingest-jsforce', ['--file', files[1]]);
    }
  } finally {
    await emu.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

async function writeContacts(path: string, n: number, prefix: string): Promise<void> {
  const out = createWriteStream(path);
  out.write('FirstName,LastName,Email,Title,Legacy_Key__c\n');
  for (let i = 0; i < n; i++) {
    if (!out.write(`Bench${i},"Contact, ${prefix}${i}",c${i}@${prefix.toLowerCase()}.example.com,Engineer,${prefix}-${i}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'close');
}

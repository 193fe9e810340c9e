/**
 * Publisher benchmark: N Contact upserts by external ID (default 100,000) against a served emulator, side by
 * side with jsforce doing the same through Bulk API 2.0 and through sObject Collections.
 *
 *   npx node --disable-warning=ExperimentalWarning bench/publish.ts [--n 100000] [--only sfbridge-auto,jsforce-bulk2]
 *
 * Each contender runs in its own child process (so peak RSS is the client's own) against a fresh emulator
 * served by this process, which counts every API request by kind. `sfbridge-auto` (the planner's choice, Bulk
 * API 2.0 at this size) runs three times against the same emulator with the same state store (a SQLite file):
 * the **first run** starts from an empty state (nothing known about the org; every row is created), the
 * **second** and **third** publish the same N records changed (every row an update), as a scheduled publish
 * would the next days. The second run's first poll is planned from the rate of the first run's job (inserts),
 * the third's from the second's (updates, the same kind of work). "Minimum" is the fewest
 * calls the chosen path can take: collections ⌈N/200⌉; bulk per job create + upload + close + one status poll
 * + successful results (+ failed results when a row failed) — one poll is a floor nobody can promise, since a
 * job's end is only known by asking. The OAuth token request is not counted (not an API call). Every other
 * request is: a describe (the bulk column check; the publisher keeps describes in its state store for 24 h),
 * a `/limits` read (the governor takes its first reading from the first response's header instead, so there
 * should be none) and every status poll (the first planned from the ingest rate learned from earlier jobs).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createEmulator } from '../src/emulator/app.ts';
import { serve } from '../src/emulator/http/node-server.ts';
import { schemaFromData } from '../src/emulator/schema/custom.ts';

const { values } = parseArgs({ options: { n: { type: 'string', default: '100000' }, only: { type: 'string' }, child: { type: 'string' }, url: { type: 'string' }, state: { type: 'string' }, variant: { type: 'string', default: 'a' } } });
const N = Number(values.n);
const SCHEMA = { objects: [{ name: 'Contact', fields: [{ name: 'External_Id__c', type: 'string', length: 50, externalId: true, unique: true }] }] };
const CLIENT_ID = 'sfbridge-emulator';
const CLIENT_SECRET = 'sfbridge-emulator-secret';
const CONTENDERS = ['sfbridge-auto', 'sfbridge-collections', 'jsforce-bulk2', 'jsforce-collections'] as const;
type Contender = (typeof CONTENDERS)[number];

/** The N records; variant `b` is the same records with every row changed (an update of each on upsert). */
function records(n: number, variant = 'a'): Record<string, unknown>[] {
  const v = variant === 'a' ? '' : ` ${variant}`;
  return Array.from({ length: n }, (_, i) => ({ External_Id__c: `BENCH-${i}`, LastName: `Last ${i}${v}`, FirstName: `First ${i}`, Email: `p${i}@example.com`, Title: i % 3 === 0 ? 'Buyer' : 'Engineer' }));
}

async function child(mode: Contender, url: string): Promise<void> {
  const recs = records(N, values.variant);
  const t0 = performance.now();
  let ok = 0;
  let failed = 0;
  if (mode.startsWith('sfbridge')) {
    const { SalesforceClient } = await import('../src/client/index.ts');
    const { publish } = await import('../src/engine/publish/index.ts');
    const { openStore } = await import('../src/store/index.ts');
    const client = new SalesforceClient({ credentials: { kind: 'clientCredentials', instanceUrl: url, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET } });
    const store = await openStore(values.state ? `sqlite:${values.state}` : 'sqlite::memory:');
    const s = await publish({
      client,
      state: await store.publishState(),
      pipeline: 'bench',
      target: { object: 'Contact', operation: 'upsert', externalIdField: 'External_Id__c' },
      // The key carries the variant: a changed record is a new outbox row, as a new version of the row is.
      records: recs.map((record) => ({ key: `${String(record.External_Id__c)}:${values.variant}`, record })),
      path: mode === 'sfbridge-auto' ? 'auto' : 'collections',
    });
    ok = s.succeeded;
    failed = s.failed;
    await store.close();
  } else {
    const jsforce = (await import('jsforce')).default;
    const tok = (await (await fetch(`${url}/services/oauth2/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: CLIENT_SECRET }) })).json()) as { access_token: string };
    const conn = new jsforce.Connection({ instanceUrl: url, accessToken: tok.access_token, version: '62.0' });
    if (mode === 'jsforce-bulk2') {
      const res = await conn.bulk2.loadAndWaitForResults({ object: 'Contact', operation: 'upsert', externalIdFieldName: 'External_Id__c', input: recs as never, pollInterval: 1000, pollTimeout: 600_000 });
      ok = res.successfulResults.length;
      failed = res.failedResults.length + res.unprocessedRecords.length;
    } else {
      const res = (await conn.sobject('Contact').upsert(recs as never, 'External_Id__c', { allowRecursive: true, allOrNone: false } as never)) as unknown as { success: boolean }[];
      ok = res.filter((r) => r.success).length;
      failed = res.length - ok;
    }
  }
  const ms = performance.now() - t0;
  process.stdout.write(`${JSON.stringify({ ms, ok, failed, maxRssMB: process.resourceUsage().maxRSS / 1024 })}\n`);
}

function kindOf(method: string, path: string): string {
  if (path.includes('/oauth2/')) return 'oauth';
  if (/\/composite\/sobjects/.test(path)) return 'collections';
  if (/\/jobs\/ingest\/[^/]+\/batches$/.test(path)) return 'bulk upload';
  if (/\/jobs\/ingest\/[^/]+\/(successfulResults|failedResults|unprocessedrecords)$/.test(path)) return 'bulk results';
  if (/\/jobs\/ingest$/.test(path) && method === 'POST') return 'bulk create';
  if (/\/jobs\/ingest\/[^/]+$/.test(path)) return method === 'PATCH' ? 'bulk close' : method === 'GET' ? 'bulk poll' : 'bulk other';
  if (/\/sobjects\/[^/]+\/describe/.test(path)) return 'describe';
  if (/\/limits/.test(path)) return 'limits';
  if (/\/query/.test(path)) return 'query';
  return `other ${method} ${path}`;
}

async function parent(): Promise<void> {
  const selected = values.only ? (values.only.split(',') as Contender[]) : [...CONTENDERS];
  console.log(`publish bench: ${N.toLocaleString('en-US')} Contact upserts by External_Id__c; node ${process.version}; ${new Date().toISOString()}`);
  const dir = await mkdtemp(join(tmpdir(), 'sfbridge-publish-bench-'));
  try {
    for (const mode of selected) {
      const emu = createEmulator({ objects: schemaFromData(SCHEMA), seed: 'none' } as never);
      let calls = new Map<string, number>();
      // Bulk job timeline: when the job was closed, each status poll (state, rows processed), and when the job
      // really finished (its SystemModstamp on the final reading), so the wait's latency can be read off.
      let timeline: string[] = [];
      let closedAt = 0;
      const server = await serve(async (req: Request) => {
        const u = new URL(req.url);
        const k = kindOf(req.method, u.pathname);
        calls.set(k, (calls.get(k) ?? 0) + 1);
        const res = await emu.fetch(req);
        if (k === 'bulk close') {
          closedAt = Date.now();
          timeline.push('close');
        } else if (k === 'bulk poll' && closedAt) {
          const info = (await res.clone().json()) as { state: string; numberRecordsProcessed: number; systemModstamp?: string };
          const at = ((Date.now() - closedAt) / 1000).toFixed(1);
          const end = info.state === 'JobComplete' && info.systemModstamp ? ` (finished at +${((Date.parse(info.systemModstamp) - closedAt) / 1000).toFixed(1)} s)` : '';
          timeline.push(`poll +${at} s ${info.state} ${info.numberRecordsProcessed}${end}`);
        }
        return res;
      }, { port: 0, host: '127.0.0.1' });
      // sfbridge-auto: a first run on an empty state, then the next run on the same state and org.
      const runs = mode === 'sfbridge-auto'
        ? [
            { label: 'sfbridge-auto, first', variant: 'a', state: join(dir, 'state.db') },
            { label: 'sfbridge-auto, second', variant: 'b', state: join(dir, 'state.db') },
            { label: 'sfbridge-auto, third', variant: 'c', state: join(dir, 'state.db') },
          ]
        : [{ label: mode, variant: 'a', state: undefined }];
      for (const run of runs) {
        calls = new Map();
        timeline = [];
        closedAt = 0;
        const args = ['--disable-warning=ExperimentalWarning', new URL(import.meta.url).pathname, '--child', mode, '--url', server.url, '--n', String(N), '--variant', run.variant, ...(run.state ? ['--state', run.state] : [])];
        const out = await new Promise<string>((resolve, reject) => {
          const c = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
          let text = '';
          c.stdout.on('data', (d: Buffer) => (text += d.toString()));
          c.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`${run.label} exited ${code}`))));
        });
        const r = JSON.parse(out.trim().split('\n').at(-1)!) as { ms: number; ok: number; failed: number; maxRssMB: number };
        const api = [...calls].filter(([k]) => k !== 'oauth');
        const total = api.reduce((a, [, v]) => a + v, 0);
        const bulkJobs = calls.get('bulk create') ?? 0;
        const minimum = bulkJobs > 0 ? bulkJobs * 5 + (r.failed > 0 ? bulkJobs : 0) : Math.ceil(N / 200);
        console.log(`${run.label.padEnd(21)} ${String(r.ok).padStart(7)} ok ${String(r.failed).padStart(5)} failed  ${(r.ms / 1000).toFixed(1).padStart(6)} s  ${Math.round(r.ok / (r.ms / 1000)).toLocaleString('en-US').padStart(7)} rec/s  RSS ${r.maxRssMB.toFixed(0).padStart(4)} MB  calls ${String(total).padStart(4)} (min ${minimum}, ${(total / minimum).toFixed(3)}x)  ${api.map(([k, v]) => `${k}=${v}`).join(' ')}`);
        if (timeline.length) console.log(`  bulk job: ${timeline.join(', ')}`);
      }
      await server.close();
      emu.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (values.child) await child(values.child as Contender, values.url!);
else await parent();

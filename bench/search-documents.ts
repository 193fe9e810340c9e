/**
 * Search-document benchmark: builds documents for every Account and Case of a seeded in-process emulator
 * (Case batches fetch comments, feed, emails and files), writes them to a SQLite store, then times searches.
 * Prints records/s for build + index (emulator time included: it serves the related queries in-process),
 * API requests per 1,000 records, and search latency.
 *
 *   npx node --disable-warning=ExperimentalWarning bench/search-documents.ts [--seed Account=20000,Contact=20000,Case=20000,CaseComment=40000]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SalesforceClient } from '../src/client/index.ts';
import { createEmulator } from '../src/emulator/app.ts';
import { seedOrg } from '../src/emulator/seed/index.ts';
import { createDocumentBuilder, indexRecords } from '../src/engine/documents/index.ts';
import { openStore } from '../src/store/index.ts';
import { median, percentile } from './lib.ts';

const { values } = parseArgs({ options: { seed: { type: 'string', default: 'Account=20000,Contact=20000,Case=20000,CaseComment=40000' }, batch: { type: 'string', default: '2000' } } });
const BATCH = Number(values.batch);

const emu = createEmulator();
let t = performance.now();
console.log(`seed ${await seedOrg(emu.org, values.seed!)} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
let requests = 0;
const sf = new SalesforceClient({
  credentials: { kind: 'clientCredentials', instanceUrl: 'https://bench.my.salesforce.com', clientId: emu.org.clientId, clientSecret: emu.org.clientSecret },
  fetch: async (i, init) => {
    requests++;
    return emu.fetch(new Request(i, init));
  },
});
const dir = await mkdtemp(join(tmpdir(), 'sfb-bench-docs-'));
const store = await openStore(`sqlite:${join(dir, 'docs.db')}`);
const builder = createDocumentBuilder(sf);
const words: string[] = [];

for (const object of ['Account', 'Case']) {
  const d = await sf.describe(object);
  const fields = d.fields.filter((f) => !['address', 'location', 'base64'].includes(f.type)).map((f) => f.name);
  const soql = `SELECT ${[...fields, ...builder.queryFields(object, d)].join(', ')} FROM ${object}`;
  let n = 0;
  let buildMs = 0;
  let indexMs = 0;
  let builderRequests = 0;
  let batch: Record<string, unknown>[] = [];
  const flush = async () => {
    const r0 = requests;
    let t0 = performance.now();
    const docs = await builder.build(object, batch);
    buildMs += performance.now() - t0;
    builderRequests += requests - r0;
    t0 = performance.now();
    await store.transaction((tx) => indexRecords({ build: async () => docs, queryFields: () => [] }, tx, object, batch));
    indexMs += performance.now() - t0;
    if (words.length < 200) words.push(...docs.slice(0, 20).map((x) => x.title.split(/\s+/)[0]));
    n += batch.length;
    batch = [];
  };
  for await (const rec of sf.query<Record<string, unknown>>(soql)) {
    batch.push(rec);
    if (batch.length === BATCH) await flush();
  }
  if (batch.length) await flush();
  console.log(
    `${object}: ${n.toLocaleString()} records; build ${Math.round((n / buildMs) * 1000).toLocaleString()} records/s (${(buildMs / 1000).toFixed(1)} s, ${builderRequests} related-record requests = ${((builderRequests / n) * 1000).toFixed(1)} per 1,000 records); ` +
      `SQLite index ${Math.round((n / indexMs) * 1000).toLocaleString()} docs/s`,
  );
}

const lat: number[] = [];
let hits = 0;
for (let i = 0; i < 300; i++) {
  t = performance.now();
  hits += (await store.search(words[i % words.length], { limit: 20 })).length;
  lat.push(performance.now() - t);
}
console.log(`search (300 one-word queries, limit 20): median ${median(lat).toFixed(2)} ms, p95 ${percentile(lat, 95).toFixed(2)} ms, ${(hits / 300).toFixed(1)} hits avg`);
await store.close();
emu.close();
await rm(dir, { recursive: true, force: true });

/**
 * Integration-pattern benchmarks.
 *
 *   npx node --disable-warning=ExperimentalWarning bench/patterns.ts --only odata [--rows 1000000] [--store sqlite:/tmp/odata-bench.db | postgres://…] [--queries 200]
 *
 * `odata`: the OData 4.0 producer over a mirror table of `--rows` Accounts. It times the request Salesforce
 * Connect sends for a list view or `LIMIT 25` — `$select` of 4 columns, `$filter` on an indexed picklist,
 * `$orderby`, `$top=26`, `$count=true` — through the hono app in process (the HTTP server adds the same
 * constant to any handler), plus a selective key lookup and a deep keyset page. Prints p50/p99/max per query
 * and the store's size. The mirror is loaded once per store URL and reused by later runs.
 */
import { parseArgs } from 'node:util';
import { buildODataSources, odataConfigSchema } from '../src/server/odata/config.ts';
import { odataApp } from '../src/server/odata/service.ts';
import { openStore } from '../src/store/index.ts';

const { values } = parseArgs({
  options: {
    only: { type: 'string', default: 'odata' },
    rows: { type: 'string', default: '1000000' },
    store: { type: 'string', default: 'sqlite:/tmp/sfbridge-bench-odata.db' },
    queries: { type: 'string', default: '200' },
  },
});
const ROWS = Number(values.rows);
const QUERIES = Number(values.queries);
const INDUSTRIES = ['Energy', 'Banking', 'Retail', 'Technology', 'Healthcare', 'Manufacturing', 'Media', 'Education', 'Agriculture', 'Transportation'];

const FIELDS = [
  { name: 'Id', type: 'id', length: 18 },
  { name: 'Name', type: 'string', length: 255 },
  { name: 'Industry', type: 'picklist', length: 40 },
  { name: 'BillingCity', type: 'string', length: 40 },
  { name: 'AnnualRevenue', type: 'currency' },
  { name: 'SystemModstamp', type: 'datetime' },
  { name: 'IsDeleted', type: 'boolean' },
];

const pad = (n: number) => String(n).padStart(9, '0');
const idOf = (i: number) => `001B${pad(i)}AAAAA`.slice(0, 18);

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function odata(): Promise<void> {
  const store = await openStore(values.store!);
  try {
    await store.ensureTable({ object: 'Account', fields: FIELDS });
    const have = await store.count('Account');
    if (have < ROWS) {
      const t0 = performance.now();
      const stamp = '2024-06-01T00:00:00.000+0000';
      for (let i = have; i < ROWS; i += 5000) {
        const batch = [];
        for (let j = i; j < Math.min(ROWS, i + 5000); j++) {
          batch.push({ Id: idOf(j), Name: `Account ${pad(j)}`, Industry: INDUSTRIES[j % INDUSTRIES.length], BillingCity: `City ${j % 997}`, AnnualRevenue: (j % 100_000) * 10.5, SystemModstamp: stamp, IsDeleted: false });
        }
        await store.upsert('Account', batch, { assumeNew: true });
      }
      console.error(`loaded ${(ROWS - have).toLocaleString('en-US')} Accounts in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      if (store.kind === 'postgres') {
        // What autovacuum does soon after a load: planner statistics and the visibility map (index-only counts).
        const pg = (await import('pg')).default;
        const url = new URL(values.store!);
        const schema = url.searchParams.get('schema') ?? 'public';
        url.searchParams.delete('schema');
        const client = new pg.Client({ connectionString: url.toString() });
        await client.connect();
        await client.query(`VACUUM ANALYZE "${schema}"."Account"`);
        await client.end();
      }
    }
    const config = odataConfigSchema.parse({ sources: { crm: { auth: 'none', entity_sets: [{ table: 'Account', index: ['Industry', 'Name'] }] } } });
    const t1 = performance.now();
    const { sources } = await buildODataSources(config, { store, openStore });
    console.error(`indexes ready in ${((performance.now() - t1) / 1000).toFixed(1)} s`);
    const app = odataApp({ sources });
    const cases: [string, () => string][] = [
      ["$select 4, $filter Industry eq 'Media', $orderby Name, $top=26, $count=true", () => `Account?$select=Id,Name,Industry,BillingCity&$filter=${encodeURIComponent("Industry eq 'Media'")}&$orderby=Name asc&$top=26&$count=true`],
      ['entity by key', () => `Account('${idOf(Math.floor(Math.random() * ROWS))}')`],
      ["$filter startswith(Name,…) and Industry, $top=26, $count=true", () => `Account?$select=Id,Name&$filter=${encodeURIComponent(`startswith(Name,'Account ${pad(Math.floor(Math.random() * ROWS)).slice(0, 6)}') and Industry eq 'Energy'`)}&$top=26&$count=true`],
    ];
    const rows: string[] = [];
    for (const [label, path] of cases) {
      for (let i = 0; i < 10; i++) await (await app.request(`http://bench/odata/v4/crm/${path()}`)).text();
      const times: number[] = [];
      let count: unknown;
      for (let i = 0; i < QUERIES; i++) {
        const t = performance.now();
        const res = await app.request(`http://bench/odata/v4/crm/${path()}`);
        const body = (await res.json()) as Record<string, unknown>;
        times.push(performance.now() - t);
        if (res.status !== 200) throw new Error(`${label}: HTTP ${res.status} ${JSON.stringify(body)}`);
        count = body['@odata.count'] ?? count;
      }
      times.sort((a, b) => a - b);
      rows.push(`| ${label} | ${quantile(times, 0.5).toFixed(2)} | ${quantile(times, 0.99).toFixed(2)} | ${times[times.length - 1].toFixed(2)} | ${count ?? ''} |`);
    }
    console.log(`OData producer on ${store.kind}, ${ROWS.toLocaleString('en-US')} mirror rows, ${QUERIES} queries each (ms)\n`);
    console.log('| query | p50 | p99 | max | @odata.count |\n| --- | ---: | ---: | ---: | ---: |');
    for (const r of rows) console.log(r);
    console.log(`\npeak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
  } finally {
    await store.close();
  }
}

if (values.only === 'odata') await odata();
else throw new Error(`--only ${values.only}: known sections: odata`);

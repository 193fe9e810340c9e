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
 *
 *   npx node --disable-warning=ExperimentalWarning bench/patterns.ts --only om [--rate 100] [--seconds 30]
 *
 * `om`: Outbound Message acknowledgement latency over real HTTP: a service on a file-backed SQLite store, one
 * SOAP message with one notification every 1/rate s (each in its own request, keep-alive), timed from send
 * to the `<Ack>`, which includes the durable inbox write. Prints p50/p99/max and checks every notification was
 * delivered (to a JSONL queue) afterwards.
 *
 *   npx node --disable-warning=ExperimentalWarning bench/patterns.ts --only callin [--records 2000]
 *
 * `callin`: remote call-in throughput against the in-process emulator: `--records` Contacts in requests of 200
 * and in requests of 1, each with its own Idempotency-Key; records per second and Salesforce API calls per
 * record (the emulator's own counter), plus a repeat of every batch request (answered from the inbox).
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
    rate: { type: 'string', default: '100' },
    seconds: { type: 'string', default: '30' },
    records: { type: 'string', default: '2000' },
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

async function om(): Promise<void> {
  const { mkdtemp, readFile, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { randomBytes } = await import('node:crypto');
  const { Service } = await import('../src/engine/service.ts');
  const { SecretBox } = await import('../src/engine/connections/registry.ts');
  const { parsePipeline } = await import('../src/engine/pipelines/index.ts');
  const { createApp } = await import('../src/server/app.ts');
  const { Auth } = await import('../src/server/auth.ts');
  const { listen } = await import('../src/server/http.ts');
  const rate = Number(values.rate);
  const total = rate * Number(values.seconds);
  const dir = await mkdtemp(join(tmpdir(), 'sfbridge-bench-om-'));
  const orgId = '00D5g0000000001AAA';
  const spec = { name: 'om', kind: 'outbound-messages', connection: 'erp', organization_id: orgId, target: { queue: { kind: 'jsonl', url: join(dir, 'out.jsonl') } } };
  const service = await Service.open({ storeUrl: `sqlite:${join(dir, 'service.db')}`, box: new SecretBox(randomBytes(32)), connections: { erp: { kind: 'client_credentials', instance_url: 'https://example.my.salesforce.com', client_id: 'x', client_secret: 'y' } as never }, pipelines: [{ spec: parsePipeline(spec), raw: spec as never, source: 'config' }] });
  await service.start();
  const app = createApp({ service, auth: new Auth({ state: service.state }) });
  const server = await listen((req) => app.fetch(req), { port: 0, host: '127.0.0.1' });
  const envelope = (i: number) => `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId>${orgId}</OrganizationId><ActionId>04k5g0000000001AAA</ActionId><SessionId xsi:nil="true"/><EnterpriseUrl>x</EnterpriseUrl><PartnerUrl>x</PartnerUrl><Notification><Id>04l${String(i).padStart(15, '0')}</Id><sObject xsi:type="sf:Account" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>001${String(i).padStart(15, '0')}</sf:Id><sf:Name>Account ${i}</sf:Name><sf:Industry>Energy</sf:Industry></sObject></Notification></notifications></soapenv:Body></soapenv:Envelope>`;
  const latencies: number[] = [];
  let failed = 0;
  const t0 = performance.now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    inflight.push(
      (async () => {
        const start = performance.now();
        const res = await fetch(`${server.url}/inbound/outbound-messages/om`, { method: 'POST', headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '""' }, body: envelope(i) });
        const text = await res.text();
        latencies.push(performance.now() - start);
        if (!text.includes('<Ack>true</Ack>')) failed++;
      })(),
    );
  }
  await Promise.all(inflight);
  const elapsed = (performance.now() - t0) / 1000;
  const end = Date.now() + 60_000;
  let delivered = 0;
  while (Date.now() < end && (delivered = await service.state.countInbox({ pipeline: 'om', state: 'delivered' })) < total) await new Promise((r) => setTimeout(r, 100));
  const lines = (await readFile(join(dir, 'out.jsonl'), 'utf8')).split('\n').filter(Boolean).length;
  latencies.sort((a, b) => a - b);
  console.log(`Outbound Message ack latency, ${total} messages at ${rate}/s over ${elapsed.toFixed(1)} s (durable SQLite inbox write before each Ack):`);
  console.log(`  p50 ${quantile(latencies, 0.5).toFixed(1)} ms  p99 ${quantile(latencies, 0.99).toFixed(1)} ms  max ${latencies.at(-1)!.toFixed(1)} ms  not acked ${failed}`);
  console.log(`  delivered ${delivered}/${total} (queue lines ${lines}); peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
  await server.close();
  await service.stop();
  await rm(dir, { recursive: true, force: true });
}

async function callin(): Promise<void> {
  const { randomBytes } = await import('node:crypto');
  const { createEmulator } = await import('../src/emulator/app.ts');
  const { seedOrg } = await import('../src/emulator/seed/index.ts');
  const { Service } = await import('../src/engine/service.ts');
  const { SecretBox } = await import('../src/engine/connections/registry.ts');
  const { createApp } = await import('../src/server/app.ts');
  const { Auth } = await import('../src/server/auth.ts');
  const records = Number(values.records);
  const emu = createEmulator();
  await seedOrg(emu.org, 'none');
  const service = await Service.open({ storeUrl: 'sqlite::memory:', box: new SecretBox(randomBytes(32)), fetch: (input, init) => emu.fetch(new Request(input, init)), connections: { emu: { kind: 'client_credentials', instance_url: 'http://127.0.0.1:8484', client_id: emu.org.clientId, client_secret: emu.org.clientSecret } as never } });
  await service.start();
  const auth = new Auth({ state: service.state });
  const { token } = await auth.createToken('bench');
  const app = createApp({ service, auth });
  const post = async (body: unknown, key: string) => {
    const res = await app.request('/api/v1/call-in/Contact', { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': key }, body: JSON.stringify(body) });
    const out = (await res.json()) as { status: string };
    if (out.status !== 'succeeded') throw new Error(`call-in failed: ${JSON.stringify(out).slice(0, 300)}`);
  };
  const run = async (label: string, perRequest: number, concurrency: number) => {
    const requests = Math.ceil(records / perRequest);
    const calls0 = emu.org.apiUsage;
    const t0 = performance.now();
    let next = 0;
    await Promise.all(Array.from({ length: concurrency }, async () => {
      for (let r = next++; r < requests; r = next++) {
        const batch = Array.from({ length: perRequest }, (_, i) => ({ LastName: `${label} ${r * perRequest + i}` }));
        await post(perRequest === 1 ? { operation: 'create', record: batch[0] } : { operation: 'create', records: batch }, `${label}-${r}`);
      }
    }));
    const seconds = (performance.now() - t0) / 1000;
    const calls = emu.org.apiUsage - calls0;
    console.log(`  ${label}: ${records} records in ${requests} requests (concurrency ${concurrency}): ${(records / seconds).toFixed(0)} records/s, ${(calls / records).toFixed(3)} API calls per record (${calls} calls)`);
    return requests;
  };
  console.log(`Remote call-in into the in-process emulator (${records} Contacts per variant):`);
  const batches = await run('batch-200', 200, 4);
  await run('single', 1, 8);
  const calls0 = emu.org.apiUsage;
  const t0 = performance.now();
  for (let r = 0; r < batches; r++) await post({ operation: 'create', records: Array.from({ length: 200 }, (_, i) => ({ LastName: `batch-200 ${r * 200 + i}` })) }, `batch-200-${r}`);
  console.log(`  repeat of every batch request with its key: ${((performance.now() - t0) / batches).toFixed(1)} ms per request, ${emu.org.apiUsage - calls0} API calls`);
  await service.stop();
  emu.close();
}

if (values.only === 'odata') await odata();
else if (values.only === 'om') await om();
else if (values.only === 'callin') await callin();
else throw new Error(`--only ${values.only}: known sections: odata, om, callin`);

/**
 * Emulator benchmark: on N Accounts (default 1,000,000), selective SOQL queries by Id, external ID and a
 * SystemModstamp range (median / p95 latency over HTTP), paging through every row (records/s served), and the
 * server's RSS while 10 query cursors are open.
 *
 *   npx node bench/emulator.ts [--accounts 1000000]
 */
import { parseArgs } from 'node:util';
import { median, mb, percentile, startEmulator } from './lib.ts';

const { values } = parseArgs({ options: { accounts: { type: 'string', default: '1000000' }, samples: { type: 'string', default: '200' } } });
const N = Number(values.accounts);
const SAMPLES = Number(values.samples);
const V = '/services/data/v62.0';

const t0 = performance.now();
const emu = await startEmulator(['--seed', `Account=${N}`, '--schema', 'bench/fixtures/bench-schema.yaml']);
console.log(`seeded ${N.toLocaleString()} Accounts and started in ${((performance.now() - t0) / 1000).toFixed(1)} s; server RSS ${mb(await emu.rss())}`);

async function query(soql: string, headers: Record<string, string> = {}) {
  const res = await emu.api(`${V}/query?q=${encodeURIComponent(soql)}`, { headers });
  if (res.status !== 200) throw new Error(`${res.status} ${await res.text()}`);
  return (await res.json()) as { totalSize: number; done: boolean; nextRecordsUrl?: string; records: Record<string, unknown>[] };
}

// Page through everything (first, so lookups below use Ids, external IDs and stamps spread over the whole table).
const sample: Record<string, unknown>[] = [];
{
  const every = Math.max(1, Math.floor(N / 2000));
  const s = performance.now();
  let page = await query('SELECT Id, Name, Industry, AnnualRevenue, External_Id__c, SystemModstamp FROM Account');
  const firstPageMs = performance.now() - s;
  let rows = 0;
  let pages = 1;
  for (;;) {
    for (const r of page.records) if (rows++ % every === 0) sample.push(r);
    if (page.done) break;
    const res = await emu.api(page.nextRecordsUrl!);
    page = (await res.json()) as typeof page;
    pages++;
  }
  const secs = (performance.now() - s) / 1000;
  console.log(`paging all rows                    ${rows.toLocaleString()} records in ${pages} pages, ${secs.toFixed(1)} s = ${Math.round(rows / secs).toLocaleString()} records/s (first page ${firstPageMs.toFixed(0)} ms)`);
  if (rows !== N) throw new Error(`paged ${rows} rows, expected ${N}`);
}
const pick = (i: number) => sample[(i * 7919) % sample.length];


async function time(label: string, make: (i: number) => string) {
  const ms: number[] = [];
  let returned = 0;
  for (let i = 0; i < SAMPLES; i++) {
    const soql = make(i);
    const s = performance.now();
    const r = await query(soql);
    ms.push(performance.now() - s);
    if (r.records.length === 0) throw new Error(`no rows for ${soql}`);
    returned += r.records.length;
  }
  console.log(`${label.padEnd(34)} median ${median(ms).toFixed(2)} ms   p95 ${percentile(ms, 95).toFixed(2)} ms   (${SAMPLES} queries, ${(returned / SAMPLES).toFixed(1)} rows each on average)`);
}

await time('by Id', (i) => `SELECT Id, Name, Industry FROM Account WHERE Id = '${pick(i).Id}'`);
await time('by external ID', (i) => `SELECT Id, Name FROM Account WHERE External_Id__c = '${pick(i).External_Id__c}'`);
await time('SystemModstamp range (≈100 rows)', (i) => {
  const from = String(pick(i).SystemModstamp).replace('+0000', 'Z');
  const to = new Date(Date.parse(from) + (100 * 90 * 86_400_000) / N).toISOString().replace('.000Z', 'Z');
  return `SELECT Id, Name, SystemModstamp FROM Account WHERE SystemModstamp >= ${from} AND SystemModstamp < ${to}`;
});

// Ten open cursors, each one page in: server memory must not hold their result sets.
{
  const before = await emu.rss();
  const cursors = [];
  for (let i = 0; i < 10; i++) cursors.push(await query(`SELECT Id, Name, Description, BillingCity FROM Account WHERE AnnualRevenue >= ${i}`));
  const during = await emu.rss();
  // Advance them in turn, five more pages each, as ten concurrent consumers would.
  let open = cursors;
  for (let round = 0; round < 5; round++) {
    const next = [];
    for (const c of open) next.push((await (await emu.api(c.nextRecordsUrl!)).json()) as typeof c);
    open = next;
  }
  const after = await emu.rss();
  console.log(`RSS with 10 open cursors           before ${mb(before)}, with cursors ${mb(during)}, after 5 more pages each ${mb(after)} (Δ ${mb(after - before)})`);
}

await emu.stop();

/**
 * Subscriber features benchmark: what a `where:` filter, relationship path columns with an inbound
 * transform, and an HTTP proxy cost on an initial load, and the API calls of an idle filtered cycle.
 * Emulator in a child process on a real socket → a fresh SQLite file per scenario.
 *
 *   npx node bench/subscriber.ts [--contacts 50000] [--bulk-threshold 2000] [--proxy-repeat 3]
 *                                [--where "Account.Industry IN ('Banking','Retail','Technology')"]
 *
 * Scenarios (Contact, initial load then one idle incremental cycle):
 * - all fields (baseline);
 * - all fields with the `where:` filter;
 * - seven fields, then the same seven plus Owner.Email, Account.Name, Account.Owner.Email and a transform
 *   (rename + two expressions);
 * - REST load (no Bulk) direct and through a local CONNECT proxy (this process), with `proxy:`, in
 *   --proxy-repeat pairs alternating the order; the median proxy/direct time ratio is printed.
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { MemoryDescribeCache, SalesforceClient } from '../src/client/index.ts';
import type { ObjectSettings } from '../src/engine/config.ts';
import { runSync } from '../src/engine/sync/runner.ts';
import { openStore } from '../src/store/index.ts';
import { startEmulator } from './lib.ts';

const { values } = parseArgs({
  options: {
    contacts: { type: 'string', default: '50000' },
    'bulk-threshold': { type: 'string', default: '2000' },
    where: { type: 'string', default: "Account.Industry IN ('Banking','Retail','Technology')" },
    // Direct/proxy REST load pairs, alternating which goes first; the median ratio is reported.
    'proxy-repeat': { type: 'string', default: '3' },
  },
});
const contacts = Number(values.contacts);
const threshold = Number(values['bulk-threshold']);
const seed = `Account=${Math.max(1, Math.round(contacts / 5))},Contact=${contacts}`;
console.log(`seeding emulator (child process): ${seed}; load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
const emu = await startEmulator(['--seed', seed]);
const dir = mkdtempSync(join(tmpdir(), 'sfbridge-bench-subscriber-'));

/** A CONNECT-only proxy in this process. */
async function startProxy(): Promise<{ url: string; tunnels: number; close(): void }> {
  const state = { tunnels: 0 };
  const server = createServer((_req, res) => res.writeHead(405).end());
  server.on('connect', (req, client, head) => {
    const [host, port] = String(req.url).split(':');
    const up = connect(Number(port), host, () => {
      state.tunnels++;
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) up.write(head);
      up.pipe(client);
      client.pipe(up);
    });
    up.on('error', () => client.destroy());
    client.on('error', () => up.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get tunnels() {
      return state.tunnels;
    },
    close: () => server.close(),
  };
}

let calls = 0;
function client(proxy?: string): SalesforceClient {
  return new SalesforceClient({
    credentials: { kind: 'clientCredentials', instanceUrl: emu.url, clientId: 'sfbridge-emulator', clientSecret: 'sfbridge-emulator-secret' },
    describeCache: new MemoryDescribeCache(),
    proxy,
    // Counting wraps the fetch; with a proxy the client's own proxy-aware fetch must be used, so count there.
    ...(proxy ? {} : { fetch: (input: string | URL | Request, init?: RequestInit) => {
      if (String(input instanceof Request ? input.url : input).includes('/services/data/')) calls++;
      return fetch(input, init);
    } }),
  });
}

interface Row { scenario: string; mode: string; records: number; seconds: number; idleCalls: number | string }
const rows: Row[] = [];

async function scenario(name: string, settings: ObjectSettings | undefined, opts: { bulkThreshold?: number; proxy?: string } = {}): Promise<void> {
  const db = join(dir, `${rows.length}.db`);
  const store = await openStore(`sqlite:${db}`);
  try {
    const c = client(opts.proxy);
    const t = performance.now();
    const run = await runSync({ client: c, store, objects: ['Contact'], lagMs: 0, bulkThreshold: opts.bulkThreshold ?? threshold, objectSettings: settings ? { Contact: settings } : undefined, reconcileMs: 86_400_000 });
    const seconds = (performance.now() - t) / 1000;
    if (run.status !== 'succeeded') throw new Error(`${name}: ${run.error}`);
    const before = calls;
    const idle = await runSync({ client: client(opts.proxy), store, objects: ['Contact'], lagMs: 0, objectSettings: settings ? { Contact: settings } : undefined, reconcileMs: 86_400_000, schemaRefreshMs: 86_400_000, formulaRefreshMs: 86_400_000 });
    if (idle.status !== 'succeeded') throw new Error(`${name} idle: ${idle.error}`);
    rows.push({ scenario: name, mode: run.objects[0].mode, records: await store.count('Contact'), seconds, idleCalls: opts.proxy ? '—' : calls - before });
    console.log(`${name}: ${run.objects[0].mode}, ${await store.count('Contact')} rows in ${seconds.toFixed(2)} s`);
  } finally {
    await store.close();
  }
}

const seven = ['FirstName', 'LastName', 'Email', 'Title', 'Phone', 'LeadSource', 'Department'];
try {
  await scenario('all fields', undefined);
  await scenario('all fields, where:', { where: values.where });
  await scenario('7 fields', { fields: { include: seven } });
  await scenario('7 fields + 3 paths + transform', {
    fields: { include: [...seven, 'Owner.Email', 'Account.Name', 'Account.Owner.Email'] },
    transform: { rename: { Account_Name: 'Company' }, expressions: { Display: '{{FirstName}} {{LastName}} ({{Account_Name}})', Mail: '{{Email | lower}}' } },
  });
  const proxy = await startProxy();
  const ratios: number[] = [];
  for (let i = 0; i < Number(values['proxy-repeat']); i++) {
    const pair = [
      () => scenario('REST load, direct', undefined, { bulkThreshold: Number.MAX_SAFE_INTEGER }),
      () => scenario('REST load, through a CONNECT proxy', undefined, { bulkThreshold: Number.MAX_SAFE_INTEGER, proxy: proxy.url }),
    ];
    if (i % 2 === 1) pair.reverse();
    for (const run of pair) await run();
    const last = rows.slice(-2);
    const direct = last.find((r) => r.scenario.endsWith('direct'))!;
    const via = last.find((r) => r.scenario.includes('proxy'))!;
    ratios.push(via.seconds / direct.seconds);
  }
  ratios.sort((a, b) => a - b);
  console.log(`proxy tunnels opened: ${proxy.tunnels}; proxy/direct time ratios ${ratios.map((r) => r.toFixed(2)).join(', ')}, median ${ratios[Math.floor(ratios.length / 2)]?.toFixed(2)}`);
  proxy.close();
} finally {
  emu.child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}

console.log('\n| scenario | load | rows | seconds | records/s | idle cycle API calls |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const r of rows) console.log(`| ${r.scenario} | ${r.mode} | ${r.records.toLocaleString('en')} | ${r.seconds.toFixed(2)} | ${Math.round(r.records / r.seconds).toLocaleString('en')} | ${r.idleCalls} |`);
console.log(`load average after: ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
process.exit(0);

/**
 * `sfbridge demo` (what `npm start` runs): starts the org emulator in-process with demo data, syncs every
 * standard object that has data into a fresh `./data/demo.db` (its own file: the default sync store
 * `./data/sfbridge.db` is never touched), builds search documents when the
 * documents module is present, prints the per-object summary and an example search, and exits 0.
 * Needs nothing but Node: no Salesforce org, no network.
 */
import { mkdir, rm } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { MemoryDescribeCache, SalesforceClient } from '../client/index.ts';
import { createEmulator } from '../emulator/app.ts';
import { seedOrg } from '../emulator/seed/index.ts';
import { SyncEvents } from '../engine/events.ts';
import { runSync, type DocumentBuilder } from '../engine/sync/runner.ts';
import { openStore } from '../store/index.ts';
import { parseFlags } from './args.ts';
import { createProgress, type ProgressTask } from './progress.ts';
import { formatSummary } from './sync.ts';

const USAGE = `Usage: sfbridge demo [--db ./data/demo.db] [--search acme]

Starts an emulated org with demo data in this process, syncs it into a fresh SQLite file, and searches it.
For an interactive emulator instead, run: sfbridge emulator --seed demo
`;

/** Where the demo writes its mirror. */
export const DEMO_DB = './data/demo.db';
const BASE = 'http://127.0.0.1:8484';

export async function demoCommand(argv: string[], io: { stdout?: Writable & { isTTY?: boolean } ; stderr?: Writable & { isTTY?: boolean } } = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const { values } = parseFlags(argv, { db: { type: 'string', default: DEMO_DB }, search: { type: 'string', default: 'acme' }, help: { type: 'boolean', short: 'h' } }, USAGE);
  if (values.help) {
    stdout.write(USAGE);
    return 0;
  }
  const t0 = performance.now();
  const emu = createEmulator();
  const seeded = await seedOrg(emu.org, 'demo');
  // Objects the demo seeded, in seed order (parents first); the org's own Organization/User rows are skipped.
  const objects = seeded.split(',').map((p) => p.split('=')[0]).filter((name) => {
    const def = emu.org.schema.get(name);
    return def && def.queryable !== false && def.fields.some((f) => f.name === 'SystemModstamp');
  });
  stdout.write(`emulated org with demo data: ${seeded}\n`);

  const dbPath = resolve(values.db!);
  await mkdir(dirname(dbPath), { recursive: true });
  for (const suffix of ['', '-wal', '-shm', '-journal']) await rm(dbPath + suffix, { force: true });
  const store = await openStore(`sqlite:${dbPath}`);
  const client = new SalesforceClient({
    credentials: { kind: 'clientCredentials', instanceUrl: BASE, clientId: emu.org.clientId, clientSecret: emu.org.clientSecret },
    fetch: (input, init) => emu.fetch(new Request(input, init)),
    describeCache: new MemoryDescribeCache(),
  });
  let documents: DocumentBuilder | undefined;
  try {
    const spec = '../engine/documents/index.ts';
    const mod = (await import(spec)) as { createDocumentBuilder(c: SalesforceClient, o?: object): DocumentBuilder };
    documents = mod.createDocumentBuilder(client, { instanceUrl: BASE });
  } catch {
    stderr.write('(search documents module not present in this build: syncing records only)\n');
  }
  const events = new SyncEvents();
  const progress = createProgress(stderr);
  const tasks = new Map<string, ProgressTask>();
  events.on('object:started', (e) => tasks.set(e.object, progress.task(e.object, e.total)));
  events.on('object:batch', (e) => tasks.get(e.object)?.update(e.read));
  events.on('object:finished', (e) => tasks.get(e.object)?.finish(e.status));
  events.on('warning', (e) => stderr.write(`warning: ${e.message}\n`));
  try {
    const run = await runSync({ client, store, objects, events, documents, lagMs: 0, storeLabel: `sqlite:${values.db}` });
    progress.close();
    stdout.write(`\nsynced into ${values.db}:\n`);
    stdout.write(formatSummary(run));
    if (run.status !== 'succeeded') return 1;
    if (documents) {
      const hits = await store.search(values.search!, { limit: 5 });
      stdout.write(`\nexample search: sfbridge search "${values.search}" --db ${values.db}\n`);
      for (const h of hits) stdout.write(`  ${h.score.toFixed(2).padStart(6)}  ${h.type.padEnd(12)} ${h.title.slice(0, 50).padEnd(50)}  ${h.categories[0] ?? ''}\n`);
      if (!hits.length) stdout.write('  (no hits)\n');
    } else {
      const rows = await store.count('Account');
      stdout.write(`\n${rows} accounts mirrored; try: sqlite3 ${values.db} "SELECT Name, Industry FROM Account LIMIT 5"\n`);
    }
    stdout.write(`\ndone in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    return 0;
  } finally {
    progress.close();
    await store.close();
    emu.close();
  }
}

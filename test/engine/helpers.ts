/** Engine test plumbing: an in-process emulator, a client on it, and stores on both backends. */
import { createEmulator, type Emulator, type EmulatorOptions } from '../../src/emulator/app.ts';
import { seedOrg } from '../../src/emulator/seed/index.ts';
import { SalesforceClient, MemoryDescribeCache, type SalesforceClientOptions } from '../../src/client/index.ts';
import { SyncEvents } from '../../src/engine/events.ts';
import { runSync, type SyncRunOptions } from '../../src/engine/sync/runner.ts';
import { Writable } from 'node:stream';
import type { Store } from '../../src/store/types.ts';

export { backends, fresh, collect } from '../store/backends.ts';

export const BASE = 'http://127.0.0.1:8484';

/** An emulator seeded with `seed` (default none). */
export async function emulator(seed = 'none', opts: EmulatorOptions = {}): Promise<Emulator> {
  const emu = createEmulator(opts);
  await seedOrg(emu.org, seed);
  return emu;
}

/** A client on the in-process emulator; a fresh describe cache each time unless one is given (like a new process). */
export function clientFor(emu: Emulator, opts: Partial<SalesforceClientOptions> = {}): SalesforceClient {
  return new SalesforceClient({
    credentials: { kind: 'clientCredentials', instanceUrl: BASE, clientId: emu.org.clientId, clientSecret: emu.org.clientSecret },
    fetch: (input, init) => emu.fetch(new Request(input, init)),
    retry: { baseDelayMs: 1, maxDelayMs: 2 },
    describeCache: new MemoryDescribeCache(),
    ...opts,
  });
}

/** Runs one sync cycle with test defaults (no lag unless given, describe every run). */
export function sync(emu: Emulator, store: Store, objects: string[], opts: Partial<SyncRunOptions> = {}) {
  return runSync({ client: clientFor(emu), store, objects, lagMs: 0, schemaRefreshMs: 0, events: new SyncEvents(), ...opts });
}

/** Every row of an object as the org has it (REST JSON), keyed by Id, without attributes. */
export async function orgRows(emu: Emulator, object: string, fields: string[]): Promise<Map<string, Record<string, unknown>>> {
  const client = clientFor(emu, { governor: false });
  const out = new Map<string, Record<string, unknown>>();
  for await (const r of client.query(`SELECT ${fields.join(', ')} FROM ${object}`)) {
    const { attributes: _a, ...rest } = r as Record<string, unknown>;
    out.set(String(rest.Id), rest);
  }
  return out;
}

/** Normalises a value for org-vs-mirror comparison (numbers, datetimes in either offset form). */
function norm(v: unknown): unknown {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/.test(v)) {
    const t = Date.parse(v.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
    if (Number.isFinite(t)) return new Date(t).toISOString();
  }
  if (typeof v === 'number') return Number(v.toPrecision(12));
  if (typeof v === 'object') return JSON.stringify(v);
  return v;
}

/**
 * Differences between the org and the mirror for an object: every live org row must be in the mirror with
 * every mirrored field equal, and the mirror must hold nothing else. Returns human-readable lines.
 */
export async function mirrorDiff(emu: Emulator, store: Store, object: string, limit = 10): Promise<string[]> {
  const specs = await store.describeTable(object);
  if (!specs) return [`${object}: no mirror table`];
  const fields = specs.map((s) => s.name);
  const org = await orgRows(emu, object, fields);
  const diffs: string[] = [];
  const mirrorIds = new Set<string>();
  for await (const id of store.listIds(object)) mirrorIds.add(id);
  for (const [id, row] of org) {
    if (!mirrorIds.has(id)) {
      diffs.push(`${object} ${id}: missing from the mirror`);
      continue;
    }
    const m = (await store.getRecord(object, id))!;
    for (const f of fields) {
      if (norm(row[f]) !== norm(m[f])) diffs.push(`${object} ${id}.${f}: org ${JSON.stringify(row[f])} mirror ${JSON.stringify(m[f])}`);
    }
    if (diffs.length >= limit) return diffs;
  }
  for (const id of mirrorIds) if (!org.has(id)) diffs.push(`${object} ${id}: in the mirror but not (live) in the org`);
  return diffs.slice(0, limit);
}

/** A stream that keeps what is written to it in `text` (a command's stdout or stderr). */
export function textSink(): Writable & { text: string } {
  const w = new Writable({
    write(chunk, _enc, cb) {
      w.text += chunk.toString();
      cb();
    },
  }) as Writable & { text: string };
  w.text = '';
  return w;
}

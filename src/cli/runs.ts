/**
 * `sfbridge runs`: the sync run history kept in the store (what `sfbridge sync` and the service record),
 * newest first, with per-object counts and errors. Reads the store only; a store that does not exist is
 * refused rather than created.
 */
import type { Writable } from 'node:stream';
import { DEFAULT_STORE_URL } from '../engine/config.ts';
import { parseFlags, plural, UsageError, thousands } from './args.ts';
import { reportError, writeJson } from './report.ts';
import { openSyncedStore, redactUrl } from './store-flags.ts';
import { readNextCycle, type NextCycle } from './next-cycle.ts';

const USAGE = `Usage: sfbridge runs [--last N] [--store URL] [--config FILE] [--json]

The sync runs recorded in the store, newest first: status, duration, API calls, per-object counts, status
and errors, and the next run.

  --last N        how many runs (default 10)
  --store URL     the store (default: --to/store of the config file, $SFBRIDGE_STORE, ${DEFAULT_STORE_URL})
  --json          {"ok":true,"command":"runs","nextRun":{at,pid,host}|null,"runs":[{id,started,finished,
                  status,apiCalls,error,objects:{NAME:{read,written,deleted,status,error?}}}]}

A continuous \`sfbridge sync\` on this store records when its next cycle starts: it is shown first, while
that process runs.
`;

export async function runsCommand(argv: string[], io: { stdout?: Writable; stderr?: Writable; env?: NodeJS.ProcessEnv } = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const env = io.env ?? process.env;
  let json = false;
  try {
    const { values, positionals } = parseFlags(argv, { last: { type: 'string' }, store: { type: 'string' }, to: { type: 'string' }, config: { type: 'string', short: 'c' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, USAGE);
    json = Boolean(values.json);
    if (values.help) {
      stdout.write(USAGE);
      return 0;
    }
    if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"\n\n${USAGE}`);
    const last = values.last === undefined ? 10 : Number(values.last);
    if (!Number.isInteger(last) || last < 1 || last > 1000) throw new UsageError(`--last must be an integer from 1 to 1000, got "${values.last}"`);
    const { store, url } = await openSyncedStore(values as { store?: string; to?: string; config?: string }, env);
    let runs;
    let next: NextCycle | undefined;
    try {
      runs = await store.listRuns(last);
      next = await readNextCycle(store);
    } finally {
      await store.close();
    }
    if (json) {
      writeJson(stdout, 'runs', { store: redactUrl(url), nextRun: next ?? null, runs });
      return 0;
    }
    if (next) stdout.write(`next run at ${next.at.replace('T', ' ').replace(/\.\d+Z$/, 'Z')} (continuous sfbridge sync, pid ${next.pid} on ${next.host})\n`);
    if (!runs.length) {
      stdout.write(`no runs recorded in ${redactUrl(url)}\n`);
      return 0;
    }
    for (const r of runs) {
      const secs = r.finished ? ((Date.parse(r.finished) - Date.parse(r.started)) / 1000).toFixed(1) : '-';
      stdout.write(`run ${r.id}  ${r.started.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}  ${r.status}  ${secs} s  ${plural(r.apiCalls, 'API call')}\n`);
      for (const [name, o] of Object.entries(r.objects)) {
        const status = o.status && o.status !== 'ok' ? `  ${o.status}${o.error ? `: ${o.error}` : ''}` : '';
        stdout.write(`  ${name.padEnd(24)} ${thousands(o.read).padStart(9)} read ${thousands(o.written).padStart(9)} written ${thousands(o.deleted).padStart(7)} deleted${status}\n`);
      }
      if (r.error) stdout.write(`  error: ${r.error}\n`);
    }
    return 0;
  } catch (err) {
    return reportError('runs', err, { stdout, stderr, json });
  }
}

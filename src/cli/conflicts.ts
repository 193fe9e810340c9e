/**
 * `sfbridge conflicts`: two-way sync in the store — each writable table's application changes by state,
 * and the recorded conflicts (records changed on both sides), newest first, with both versions of the
 * fields the application changed. Reads the store only; a store that does not exist is refused, not created.
 */
import type { Writable } from 'node:stream';
import { DEFAULT_STORE_URL } from '../engine/config.ts';
import type { CaptureState, CapturedChange, ConflictRecord } from '../store/index.ts';
import { parseFlags, UsageError } from './args.ts';
import { reportError, writeJson } from './report.ts';
import { openSyncedStore, redactUrl } from './store-flags.ts';

const USAGE = `Usage: sfbridge conflicts [--object NAME] [--last N] [--store URL] [--config FILE] [--json]

Two-way sync (objects with writable: true): each writable table's application changes by state (pending,
succeeded, failed, superseded, skipped), the changes Salesforce refused with its error, and the records
changed both in Salesforce and by the application, newest first, with the policy, the version kept and both
values of each field the application changed.

  --object NAME   only this object
  --last N        how many conflicts (default 20)
  --store URL     the store (default: --to/store of the config file, $SFBRIDGE_STORE, ${DEFAULT_STORE_URL})
  --json          {"ok":true,"command":"conflicts","store":URL,"objects":[{object,counts}],
                  "conflicts":[{id,object,recordId,policy,winner,fields,local,remote,localModified,
                  remoteModified,detectedAt}],"refused":[{seq,object,recordId,op,fields,error,…}]}
`;

const STATES: readonly CaptureState[] = ['pending', 'succeeded', 'failed', 'superseded', 'skipped'];
const show = (v: unknown): string => (v === null || v === undefined ? 'null' : JSON.stringify(v));
const at = (iso: string | null): string => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-');

function conflictLines(c: ConflictRecord): string[] {
  const kept = c.winner === 'salesforce' ? "Salesforce's version kept" : "the application's version sent";
  const out = [`#${c.id}  ${at(c.detectedAt)}  ${c.object} ${c.recordId}  ${c.policy}: ${kept}`];
  if (!c.remote) out.push('    deleted in Salesforce');
  if (!c.fields.length) out.push('    deleted by the application');
  for (const f of c.fields) out.push(`    ${f}: application ${show(c.local?.[f])}, Salesforce ${c.remote ? show(c.remote[f]) : '(deleted)'}`);
  out.push(`    changed: application ${at(c.localModified)}, Salesforce ${at(c.remoteModified)}`);
  return out;
}

export async function conflictsCommand(argv: string[], io: { stdout?: Writable; stderr?: Writable; env?: NodeJS.ProcessEnv } = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const env = io.env ?? process.env;
  let json = false;
  try {
    const { values, positionals } = parseFlags(argv, { object: { type: 'string' }, last: { type: 'string' }, store: { type: 'string' }, to: { type: 'string' }, config: { type: 'string', short: 'c' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, USAGE);
    json = Boolean(values.json);
    if (values.help) {
      stdout.write(USAGE);
      return 0;
    }
    if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"\n\n${USAGE}`);
    const last = values.last === undefined ? 20 : Number(values.last);
    if (!Number.isInteger(last) || last < 1 || last > 1000) throw new UsageError(`--last must be an integer from 1 to 1000, got "${values.last}"`);
    const { store, url } = await openSyncedStore(values as { store?: string; to?: string; config?: string }, env);
    let objects: { object: string; counts: Record<CaptureState, number> }[] = [];
    let conflicts: ConflictRecord[];
    let refused: CapturedChange[];
    try {
      const cap = await store.writeCapture();
      for (const object of await cap.writableObjects()) {
        if (values.object && values.object.toLowerCase() !== object.toLowerCase()) continue;
        objects.push({ object, counts: await cap.counts(object) });
      }
      conflicts = await cap.conflicts({ object: values.object, limit: last });
      refused = await cap.changes({ object: values.object, states: ['failed'], limit: last });
    } finally {
      await store.close();
    }
    objects = objects.sort((a, b) => a.object.localeCompare(b.object));
    if (json) {
      writeJson(stdout, 'conflicts', { store: redactUrl(url), objects, conflicts, refused });
      return 0;
    }
    if (!objects.length) stdout.write(`no writable table in ${redactUrl(url)}${values.object ? ` for ${values.object}` : ''} (set writable: true on an object of the sync configuration)\n`);
    for (const o of objects) stdout.write(`${o.object.padEnd(24)} ${STATES.map((s) => `${s} ${o.counts[s]}`).join('  ')}\n`);
    if (refused.length) stdout.write(`refused by Salesforce, newest first (correct the row and it is sent again; dead letters: sfbridge dlq list --state ${redactUrl(url)}):\n${refused.map((c) => `#${c.seq}  ${at(c.capturedAt)}  ${c.op} ${c.object} ${c.recordId}  ${c.error ?? ''}`).join('\n')}\n`);
    if (!conflicts.length) stdout.write('no conflicts recorded\n');
    else stdout.write(`conflicts, newest first:\n${conflicts.flatMap(conflictLines).join('\n')}\n`);
    return 0;
  } catch (err) {
    return reportError('conflicts', err, { stdout, stderr, json });
  }
}

/**
 * `sfbridge dlq`: inspect and resend records that failed permanently.
 *   list               open letters (or --status replayed|discarded|superseded|all)
 *   show ID            one letter with its payload and error
 *   replay ID|--all    resend (optionally with --payload FILE.json holding the fixed record)
 *   discard ID         close a letter without resending
 */
import { access, readFile } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { CONNECTION_FLAG_OPTIONS, CONNECTION_USAGE } from '../client/config.ts';
import type { FetchLike } from '../client/index.ts';
import { DEFAULT_PUBLISH_STATE, replayDeadLetters } from '../engine/publish/index.ts';
import type { DeadLetter, DeadLetterStatus, JsonObject } from '../store/index.ts';
import { parseFlags, UsageError } from './args.ts';
import { reportError, wantsJson, writeJson } from './report.ts';
import { clientFromFlags } from './connect.ts';
import { defaultPublishState, openStateStore } from './publish.ts';

/**
 * dlq only reads state publish wrote: a SQLite file that does not exist is a typo or the wrong folder, and
 * opening it would create an empty database. Postgres URLs are checked by connecting.
 */
async function assertStateExists(url: string, given: boolean): Promise<void> {
  if (!url.startsWith('sqlite:') || url === 'sqlite::memory:') return;
  const path = url.slice('sqlite:'.length);
  try {
    await access(path);
  } catch {
    throw new UsageError(`there is no publish state at ${path}${given ? '' : ' (the default)'}: nothing has been published with this state store`, {
      code: 'NO_PUBLISH_STATE',
      fix: `pass the --state that sfbridge publish used${given ? ` (check the path)` : ', e.g. --state sqlite:./data/publish.db from the folder publish ran in'}`,
    });
  }
}

const USAGE = `Usage:
  sfbridge dlq list [--pipeline NAME] [--status open|replayed|discarded|superseded|all] [--json]
  sfbridge dlq show ID
  sfbridge dlq replay ID [--payload FILE.json] | --all [--pipeline NAME] [--force]
  sfbridge dlq discard ID

  --state URL          publisher state store (default $SFBRIDGE_PUBLISH_STATE or ${DEFAULT_PUBLISH_STATE},
                       where sfbridge publish keeps it by default)
  --config FILE        config file whose connection: block connects (replay)
  --payload FILE.json  the corrected record to send instead of the stored payload (replay of one ID)
  --force              also resend inserts whose first answer was lost and that have no field to look them
                       up by (otherwise refused: check Salesforce first, a resend may duplicate them)

${CONNECTION_USAGE}
`;

export interface DlqCommandIO {
  stdout?: Writable;
  stderr?: Writable;
  env?: NodeJS.ProcessEnv;
  fetch?: FetchLike;
  publishOptions?: { retryBaseDelayMs?: number };
}

function parseId(v: string | undefined): number {
  const n = Number(v);
  if (!v || !Number.isInteger(n) || n <= 0) throw new UsageError(`expected a dead-letter ID (a positive number, see "sfbridge dlq list"), got "${v ?? ''}"`);
  return n;
}

function row(l: DeadLetter): string {
  return `${String(l.id).padStart(5)}  ${l.status.padEnd(9)}  ${l.pipeline}  ${l.object} ${l.operation}  key=${l.key}  ${l.error.code}: ${l.error.message}${l.error.fields.length ? ` [${l.error.fields.join(',')}]` : ''}\n`;
}

/** Runs the command; returns the exit code (1 when a replay still fails). */
export async function dlqCommand(argv: string[], io: DlqCommandIO = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const env = io.env ?? process.env;
  try {
    const { values, positionals } = parseFlags(argv, {
      ...CONNECTION_FLAG_OPTIONS,
      state: { type: 'string' },
      pipeline: { type: 'string' },
      status: { type: 'string' },
      payload: { type: 'string' },
      all: { type: 'boolean' },
      force: { type: 'boolean' },
      json: { type: 'boolean' },
      config: { type: 'string', short: 'c' },
      help: { type: 'boolean', short: 'h' },
    }, USAGE);
    const [sub, idArg, ...extra] = positionals;
    if (values.help || !sub) {
      (values.help ? stdout : stderr).write(USAGE);
      return values.help ? 0 : 2;
    }
    if (extra.length) throw new UsageError(`unexpected argument "${extra[0]}"\n\n${USAGE}`);
    const stateUrl = (values.state as string | undefined) ?? defaultPublishState(env);
    await assertStateExists(stateUrl, Boolean(values.state));
    const store = await openStateStore(stateUrl);
    try {
      const state = await store.publishState();
      switch (sub) {
        case 'list': {
          const status = (values.status as string | undefined) ?? 'open';
          if (!['open', 'replayed', 'discarded', 'superseded', 'all'].includes(status)) throw new UsageError(`--status must be open, replayed, discarded, superseded or all, got "${status}"`);
          const letters = await state.listDeadLetters({ pipeline: values.pipeline as string | undefined, status: status as DeadLetterStatus | 'all', limit: 100_000 });
          if (values.json) writeJson(stdout, 'dlq list', { status, deadLetters: letters });
          else {
            for (const l of letters) stdout.write(row(l));
            stdout.write(`(${letters.length} dead letter${letters.length === 1 ? '' : 's'}${status === 'all' ? '' : `, ${status}`})\n`);
          }
          return 0;
        }
        case 'show': {
          const l = await state.getDeadLetter(parseId(idArg));
          if (!l) throw new UsageError(`no dead letter ${idArg}; see "sfbridge dlq list --status all"`, { code: 'NO_SUCH_DEAD_LETTER' });
          if (values.json) writeJson(stdout, 'dlq show', { deadLetter: l });
          else stdout.write(`${JSON.stringify(l, null, 2)}\n`);
          return 0;
        }
        case 'discard': {
          const id = parseId(idArg);
          if (!(await state.getDeadLetter(id))) throw new UsageError(`no dead letter ${idArg}`);
          await state.updateDeadLetter(id, { status: 'discarded' });
          if (values.json) writeJson(stdout, 'dlq discard', { id, status: 'discarded' });
          else stdout.write(`dead letter ${id} discarded\n`);
          return 0;
        }
        case 'replay': {
          let letters: DeadLetter[];
          const payloads = new Map<number, JsonObject>();
          if (values.all) {
            if (idArg) throw new UsageError('pass either an ID or --all, not both');
            if (values.payload) throw new UsageError('--payload replaces one letter\'s record: use it with an ID, not --all');
            letters = await state.listDeadLetters({ pipeline: values.pipeline as string | undefined, status: 'open', limit: 100_000 });
          } else {
            const id = parseId(idArg);
            const l = await state.getDeadLetter(id);
            if (!l) throw new UsageError(`no dead letter ${idArg}; see "sfbridge dlq list"`);
            if (l.status !== 'open') throw new UsageError(`dead letter ${id} is ${l.status}, not open; nothing to replay`);
            letters = [l];
            if (values.payload) {
              let p: unknown;
              try {
                p = JSON.parse(await readFile(values.payload as string, 'utf8'));
              } catch (err) {
                throw new UsageError(`--payload ${values.payload}: ${(err as Error).message}; it must hold one JSON object (start from "sfbridge dlq show ${id}")`);
              }
              if (!p || typeof p !== 'object' || Array.isArray(p)) throw new UsageError(`--payload ${values.payload} must hold one JSON object`);
              payloads.set(id, p as JsonObject);
            }
          }
          // Events a sink refused go back to that sink, which only the service knows.
          const events = letters.filter((l) => l.operation === 'deliver');
          const where = (l: DeadLetter) => `where the service runs (the dashboard's dead letters, or POST /api/v1/dead-letters/${l.pipeline}/${l.id}/replay)`;
          if (events.length && !values.all) throw new UsageError(`dead letter ${events[0].id} of event pipeline "${events[0].pipeline}" is an event its sink refused, not a record for Salesforce: replay it ${where(events[0])}`);
          if (events.length) {
            stderr.write(`warning: skipping ${events.length} dead letter${events.length > 1 ? 's' : ''} of event pipelines (${[...new Set(events.map((l) => l.pipeline))].join(', ')}): replay them ${where(events[0])}\n`);
            letters = letters.filter((l) => l.operation !== 'deliver');
          }
          if (letters.length === 0) {
            if (values.json) writeJson(stdout, 'dlq replay', { replayed: 0, failed: 0, outcomes: [] });
            else stdout.write('no open dead letters\n');
            return 0;
          }
          const client = await clientFromFlags(values, env, { fetch: io.fetch });
          const outcomes = await replayDeadLetters({ client, state, letters, payloads, force: Boolean(values.force), onWarning: (m) => stderr.write(`warning: ${m}\n`), publishOptions: io.publishOptions });
          let failed = 0;
          const text = values.json ? undefined : stdout;
          for (const o of outcomes) {
            if (o.result.success) text?.write(`${o.letter.id}: replayed → ${o.result.id}${o.result.reconciled ? ' (found in Salesforce, not resent)' : ''}\n`);
            else if (o.refused) {
              failed++;
              text?.write(`${o.letter.id}: not resent: ${o.result.errors[0].message}\n`);
            } else {
              failed++;
              const e = o.result.errors[0];
              text?.write(`${o.letter.id}: failed again: ${e?.code}: ${e?.message}\n`);
            }
          }
          if (values.json) writeJson(stdout, 'dlq replay', { replayed: outcomes.length - failed, failed, outcomes: outcomes.map((o) => ({ id: o.letter.id, success: o.result.success, ...(o.result.id ? { recordId: o.result.id } : {}), ...(o.result.success ? {} : { error: o.result.errors[0] }) })) });
          else stdout.write(`${outcomes.length - failed} replayed, ${failed} still failing\n`);
          return failed ? 1 : 0;
        }
        default:
          throw new UsageError(`unknown dlq command "${sub}": use list, show, replay or discard\n\n${USAGE}`);
      }
    } finally {
      await store.close();
    }
  } catch (err) {
    return reportError('dlq', err, { stdout, stderr, json: wantsJson(argv) });
  }
}

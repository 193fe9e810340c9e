/**
 * `sfbridge comments`: communications (emails, case comments, Chatter, call notes, configured objects)
 * into cleaned, enriched comment objects delivered to a queue, emitted only when their text changed.
 *
 *   sfbridge comments run --config sfbridge.yaml [--once | --interval 5m]
 *   sfbridge comments preview --object EmailMessage --id 02s… [--format text|json]
 *
 * Exit codes: 0 success, 1 a run failed, 2 usage/config error, 130 Ctrl-C.
 */
import type { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { CONNECTION_FLAG_OPTIONS, CONNECTION_USAGE } from '../client/config.ts';
import type { FetchLike } from '../client/index.ts';
import { BUILT_IN_SOURCES, DEFAULT_COMMENT_OBJECTS, runComments, availableFields, enrichFromCases, type CommentSource, type CommentsRunSummary } from '../engine/comments/index.ts';
import { loadSyncConfig, SyncConfigError, type SyncConfig } from '../engine/config.ts';
import { ID_PATTERN } from '../engine/documents/records.ts';
import { logSyncEvents, SyncEvents } from '../engine/events.ts';
import { openSink } from '../engine/sinks/index.ts';
import { openStore } from '../store/index.ts';
import { parseFlags, UsageError } from './args.ts';
import { clientFor, credentialsFromFlags } from './connect.ts';
import { connectionFlags } from './sync.ts';

const USAGE = `Usage: sfbridge comments run --config sfbridge.yaml [--once | --interval 5m] [--to STORE]
       sfbridge comments preview --object EmailMessage --id ID [--format text|json] [--config FILE]

run      reads the objects of the config's comments: block (default ${DEFAULT_COMMENT_OBJECTS.join(', ')}),
         cleans and enriches them, and delivers new comments and text changes to comments.queue /
         comments.jsonl; a status change emits nothing, a delete a tombstone. The cursor and the text
         hashes live in the store (--to, or the file's store:).
preview  shows one record's raw text and the comment it becomes, side by side.

  --config FILE     YAML config with a comments: block (and connection:, store:)
  --once            one cycle (default); --interval 5m runs continuously
  --object NAME     preview: the source object (a built-in one, or one configured under comments.objects)
  --id ID           preview: the record Id
  --format F        preview: text (default; side by side on a wide terminal) or json

${CONNECTION_USAGE}
`;

/** Injection points for tests. */
export interface CommentsCommandIO {
  stdout?: Writable & { isTTY?: boolean; columns?: number };
  stderr?: Writable;
  env?: NodeJS.ProcessEnv;
  fetch?: FetchLike;
  signal?: AbortSignal;
}

export async function commentsCommand(argv: string[], io: CommentsCommandIO = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const env = io.env ?? process.env;
  const [sub, ...rest] = argv;
  const { values } = parseFlags(rest, {
    ...CONNECTION_FLAG_OPTIONS,
    config: { type: 'string', short: 'c' },
    to: { type: 'string' },
    once: { type: 'boolean' },
    interval: { type: 'string' },
    object: { type: 'string' },
    id: { type: 'string' },
    format: { type: 'string' },
    'api-version': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  }, USAGE);
  if (!sub || sub === '--help' || sub === '-h' || values.help) {
    stdout.write(USAGE);
    return sub ? 0 : 2;
  }
  if (sub !== 'run' && sub !== 'preview') throw new UsageError(`unknown subcommand "${sub}": use run or preview\n\n${USAGE}`);
  let config: SyncConfig;
  try {
    config = await loadSyncConfig({ file: values.config as string | undefined, env, flags: { store: values.to as string | undefined, interval: values.interval as string | undefined } });
  } catch (err) {
    if (err instanceof SyncConfigError) throw new UsageError(`config: ${err.message}`);
    throw err;
  }
  const credentials = await credentialsFromFlags(connectionFlags(config, values), env);
  const apiVersion = (values['api-version'] as string | undefined) ?? config.connection.api_version;
  const client = clientFor(credentials, env, { apiVersion, fetch: io.fetch });

  if (sub === 'preview') {
    const object = values.object as string | undefined;
    const id = values.id as string | undefined;
    if (!object || !id) throw new UsageError('preview needs --object and --id, e.g. sfbridge comments preview --object EmailMessage --id 02s…');
    if (!ID_PATTERN.test(id)) throw new UsageError(`--id: ${JSON.stringify(id)} is not a Salesforce Id (15 or 18 letters and digits)`);
    const source = (config.comments?.sources ?? []).find((s) => s.object.toLowerCase() === object.toLowerCase()) ?? Object.values(BUILT_IN_SOURCES).find((s) => s.object.toLowerCase() === object.toLowerCase());
    if (!source) throw new UsageError(`--object ${object}: not a comments source; use one of ${DEFAULT_COMMENT_OBJECTS.join(', ')}, or configure it under comments.objects in --config`);
    const format = (values.format as string | undefined) ?? 'text';
    if (format !== 'text' && format !== 'json') throw new UsageError(`--format: expected text or json, got "${format}"`);
    return preview(client, source, id, format, stdout);
  }

  if (!config.comments) throw new UsageError('config: no comments: block; add one, e.g.\n  comments:\n    queue: { kind: nats, name: comments }');
  if (!config.comments.enabled) throw new UsageError('config: comments.enabled is false; set it to true to run the comments pipeline');
  if (!config.comments.sinks.length) throw new UsageError('config: comments: needs a destination: queue: {kind: nats|rabbitmq|redis|webhook|jsonl|store, …} or jsonl: FILE');
  const continuous = !values.once && values.interval !== undefined;
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(130);
    stderr.write('\nsfbridge comments: stopping after the current page (Ctrl-C again to quit now)\n');
    controller.abort();
  };
  if (!io.signal) process.on('SIGINT', onSigint);
  io.signal?.addEventListener('abort', () => controller.abort(), { once: true });
  const store = await openStore(config.store, { deleteMode: config.deleteMode });
  const sinks = config.comments.sinks.map((c) => openSink(c, { store }));
  const events = new SyncEvents();
  const detach = logSyncEvents(events, pino({ base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, stderr));
  let exit = 0;
  try {
    for (;;) {
      const run = await runComments({ client, store, sources: config.comments.sources, sinks, events, signal: controller.signal, lagMs: config.lagMs, reconcileMs: config.reconcileMs });
      stdout.write(formatCommentsSummary(run));
      exit = run.status === 'succeeded' ? 0 : run.status === 'aborted' ? 130 : 1;
      if (!continuous || controller.signal.aborted) break;
      try {
        await sleep(config.intervalMs, undefined, { signal: controller.signal });
      } catch {
        break;
      }
    }
  } finally {
    process.off('SIGINT', onSigint);
    detach();
    await Promise.all(sinks.map((s) => s.close()));
    await store.close();
  }
  return exit;
}

/** The per-object table of a cycle. */
export function formatCommentsSummary(run: CommentsRunSummary): string {
  const header = ['object', 'read', 'emitted', 'unchanged', 'deleted', 'status'];
  const rows = run.objects.map((o) => [o.object, String(o.read), String(o.emitted), String(o.unchanged), String(o.deleted), o.status + (o.error ? `: ${o.error.slice(0, 100)}` : '')]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i >= 1 && i <= 4 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line), `comments ${run.status} in ${run.seconds.toFixed(1)} s, ${run.apiCalls} API calls`].join('\n') + '\n';
}

async function preview(client: ReturnType<typeof clientFor>, source: CommentSource, id: string, format: 'text' | 'json', stdout: Writable & { isTTY?: boolean; columns?: number }): Promise<number> {
  const describe = await client.describe(source.object);
  const { fields } = availableFields(source, describe);
  const select = [...new Set(['Id', 'SystemModstamp', 'CreatedDate', ...fields])].filter((f) => f === 'Id' || f.includes('.') || describe.fields.some((d) => d.name === f));
  const [rec] = await client.query<Record<string, unknown>>(`SELECT ${select.join(', ')} FROM ${source.object} WHERE Id = '${id}'`).toArray();
  if (!rec) {
    process.stderr.write(`sfbridge comments preview: no ${source.object} with Id ${id} (deleted, or not visible to this user)\n`);
    return 1;
  }
  const session = await client.session();
  const [comment] = await enrichFromCases(client, [source.toComment(rec, { instanceUrl: session.instanceUrl })]);
  const raw = source.rawText(rec);
  if (format === 'json') {
    stdout.write(`${JSON.stringify({ raw, comment }, null, 2)}\n`);
    return 0;
  }
  const cleaned = comment.messages
    .map((m, i) => [i ? `--- forwarded: ${m.from ?? ''} ${m.sent_at ?? ''}`.trimEnd() : `from: ${m.from ?? ''}`, m.subject ? `subject: ${m.subject}` : '', '', m.body || '(no text)', ...(m.signature ? ['', '[signature]', m.signature] : [])].filter((l, j) => j !== 1 || l).join('\n'))
    .join('\n\n');
  const props = Object.entries(comment.user_properties).map(([k, v]) => `${k} = ${v}`).join('\n');
  const right = `${cleaned}\n\n[properties]\n${props}\n[thread] ${comment.thread_id}`;
  stdout.write(sideBySide(`RAW (${source.object} ${id})`, raw, 'CLEANED', right, stdout.isTTY ? (stdout.columns ?? 120) : 120));
  return 0;
}

/** Two texts in columns (wrapped to fit), or one above the other when the terminal is narrow. */
export function sideBySide(leftTitle: string, left: string, rightTitle: string, right: string, width: number): string {
  if (width < 80) return `${leftTitle}\n${'='.repeat(leftTitle.length)}\n${left}\n\n${rightTitle}\n${'='.repeat(rightTitle.length)}\n${right}\n`;
  const col = Math.floor((width - 3) / 2);
  const wrap = (text: string) => text.split('\n').flatMap((line) => {
    const out: string[] = [];
    let rest = line.replace(/\t/g, '  ');
    while ([...rest].length > col) {
      const chars = [...rest];
      const cut = chars.slice(0, col).join('').lastIndexOf(' ');
      const at = cut > col / 2 ? cut : col;
      out.push(chars.slice(0, at).join(''));
      rest = chars.slice(at).join('').replace(/^ /, '');
    }
    out.push(rest);
    return out;
  });
  const l = [leftTitle, '-'.repeat(Math.min(col, leftTitle.length)), ...wrap(left)];
  const r = [rightTitle, '-'.repeat(Math.min(col, rightTitle.length)), ...wrap(right)];
  const n = Math.max(l.length, r.length);
  const pad = (s: string) => s + ' '.repeat(Math.max(0, col - [...s].length));
  return Array.from({ length: n }, (_, i) => `${pad(l[i] ?? '')} │ ${r[i] ?? ''}`.trimEnd()).join('\n') + '\n';
}

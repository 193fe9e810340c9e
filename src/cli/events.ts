/**
 * `sfbridge events tail|publish`: the Pub/Sub API from the command line. `tail` follows a channel
 * (`/data/AccountChangeEvent`, `/data/ChangeEvents`, `/event/Order__e`) and prints each event as it arrives,
 * resubscribing by itself after a dropped stream; `publish` sends platform events and prints the result of
 * each. Replay ids are printed and read as hex, since Salesforce treats them as opaque bytes.
 */
import { readFile } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { CONNECTION_FLAG_OPTIONS, CONNECTION_USAGE } from '../client/config.ts';
import type { FetchLike } from '../client/index.ts';
import { DEFAULT_PUBSUB_ENDPOINT, PubSubClient, type PubSubEvent, type ReplayFrom } from '../client/pubsub/client.ts';
import { CliError, EXIT, UsageError, parseFlags, plural } from './args.ts';
import { clientFromFlags, explicitPubsubTransport, PUBSUB_FLAG_OPTIONS, pubsubFromFlags as connectionPubsub } from './connect.ts';
import { reportError, writeJson } from './report.ts';

const USAGE = `Usage:
  sfbridge events tail TOPIC [--from latest|earliest|REPLAY_ID] [--format table|jsonl] [--limit N]
  sfbridge events publish /event/NAME__e --data '{"Field__c":"value"}' | --from FILE.jsonl|- [--json]

  TOPIC                 /data/AccountChangeEvent, /data/ChangeEvents, /data/Custom__ChangeEvent or
                        /event/NAME__e
  --from FROM           tail: latest (default; only new events), earliest (everything retained) or a
                        replay id printed by an earlier tail (hex): the events after it (--replay is the
                        same flag)
  --format F            tail: table (default; one line per event: commit time, change type, object,
                        record ids, the changed fields with their values, replay id) or jsonl (one JSON
                        object per line: {topic,replayId,id,schemaId,header,payload}; --json is the same)
  --limit N             tail: stop after N events (default: until Ctrl-C)
  --data JSON           publish: one event (an object) or several (an array) of field values
  --from FILE|-         publish: events as JSON lines from a file or stdin (one Publish call for up to 200
                        events, else one PublishStream of 200-event requests); a line per event's result
  --json                publish: one JSON document with the result of each event

Pub/Sub endpoint:
  --pubsub-endpoint HOST:PORT   default ${DEFAULT_PUBSUB_ENDPOINT}                 SF_PUBSUB_ENDPOINT
  --pubsub-plaintext            no TLS (the emulator's default Pub/Sub port)       SF_PUBSUB_PLAINTEXT=1
  --pubsub-ca FILE              trust this PEM certificate (the emulator's --tls)  SF_PUBSUB_CA
  (with --connection NAME and none of these, the connection's pubsub: setting)

A tail resubscribes from its last event after a dropped stream and refreshes the session once when it
expires; a replay id past the 72-hour retention fails with PUBSUB_REPLAY_ID_EXPIRED (tail again with
--from earliest or latest). Ctrl-C stops a tail (exit 130).

${CONNECTION_USAGE}
`;

/** Events per Publish request (Salesforce's recommendation). */
const PUBLISH_BATCH = 200;

/** Injection points for tests. */
export interface EventsCommandIO {
  stdout?: Writable;
  stderr?: Writable;
  stdin?: Readable;
  env?: NodeJS.ProcessEnv;
  fetch?: FetchLike;
  signal?: AbortSignal;
}

/** A replay id as printed: lowercase hex of its bytes. */
export function replayHex(id: Uint8Array): string {
  return Buffer.from(id).toString('hex');
}

/** `--from` (or `--replay`): latest, earliest, or the hex of a replay id. */
export function parseReplay(value: string | undefined, flag = '--from'): ReplayFrom {
  if (value === undefined) return 'latest';
  const v = value.trim().toLowerCase();
  if (v === 'latest' || v === 'earliest') return v;
  if (/^(?:0x)?(?:[0-9a-f]{2})+$/.test(v)) return { after: new Uint8Array(Buffer.from(v.replace(/^0x/, ''), 'hex')) };
  throw new UsageError(`${flag} must be latest, earliest or a replay id in hex (as tail prints it), got "${value}"`);
}

/** Topic names the Pub/Sub API serves; anything else is refused before connecting. */
function checkTopic(topic: string | undefined, command: 'tail' | 'publish'): string {
  if (!topic) throw new UsageError(`events ${command} needs a topic, like ${command === 'tail' ? '/data/AccountChangeEvent' : '/event/Order_Placed__e'}\n\n${USAGE}`);
  if (command === 'publish' && !/^\/event\/[A-Za-z][A-Za-z0-9_]*__e$/.test(topic)) {
    throw new UsageError(`events publish: "${topic}" is not a platform event channel; only /event/NAME__e topics accept published events`);
  }
  if (!/^\/(data|event)\/[A-Za-z][A-Za-z0-9_]*$/.test(topic)) {
    throw new UsageError(`"${topic}" is not a Pub/Sub topic name; topics look like /data/AccountChangeEvent, /data/ChangeEvents or /event/NAME__e`);
  }
  return topic;
}

function positiveInt(value: unknown, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive integer, got "${String(value)}"`);
  return n;
}

export { PUBSUB_FLAG_OPTIONS };

/** Where the Pub/Sub API is and how to talk to it, from the flags and `SF_PUBSUB_*` (default Salesforce's); a bad value is a usage error. */
export async function pubsubTransport(values: Record<string, unknown>, env: NodeJS.ProcessEnv): Promise<{ endpoint: string; tls: false | true | { ca: string } }> {
  const t = (await explicitPubsubTransport(values, env)) ?? { endpoint: DEFAULT_PUBSUB_ENDPOINT, tls: true };
  return t as { endpoint: string; tls: false | true | { ca: string } };
}

/** The Pub/Sub client for the flags (endpoint, TLS) on the connection's session. */
async function pubsubFromFlags(values: Record<string, unknown>, env: NodeJS.ProcessEnv, fetch: FetchLike | undefined): Promise<PubSubClient> {
  const transport = (await connectionPubsub(values, env)) ?? (await pubsubTransport(values, env));
  const client = await clientFromFlags(values, env, { apiVersion: values['api-version'] as string | undefined, fetch });
  // Log in before opening the stream: a wrong password is exit 3 here, not a gRPC error later.
  await client.auth.getSession();
  return new PubSubClient({ auth: client.auth, ...transport });
}

/** Audit fields every create carries; the table leaves them out so the line shows the record's own values. */
const AUDIT_FIELDS = new Set(['CreatedDate', 'CreatedById', 'LastModifiedDate', 'LastModifiedById', 'SystemModstamp']);
const MAX_SHOWN_VALUE = 40;

function shownValue(v: unknown): string {
  const text = JSON.stringify(v ?? null, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x)) ?? 'null';
  return text.length > MAX_SHOWN_VALUE ? `${text.slice(0, MAX_SHOWN_VALUE - 1)}…` : text;
}

function isoTime(ms: unknown): string {
  const n = typeof ms === 'bigint' ? Number(ms) : Number(ms);
  return Number.isFinite(n) && n > 0 ? new Date(n).toISOString() : '-'.padEnd(24);
}

/**
 * An event as one table line: commit time, change type, object, record ids, the changed fields with their
 * values (a create's own fields; audit fields left out), and the replay id to resume after it. Platform
 * events show their CreatedDate, `EVENT`, the event name, the event id and their field values.
 */
export function eventLine(ev: PubSubEvent): string {
  const h = ev.header;
  const replay = `replay ${replayHex(ev.replayId)}`;
  if (!h) {
    const fields = Object.entries(ev.payload).filter(([k, v]) => v !== null && v !== undefined && k !== 'CreatedDate' && k !== 'CreatedById' && k !== 'EventUuid');
    const name = ev.topic.replace(/^\/event\//, '');
    return `${isoTime(ev.payload.CreatedDate)}  ${'EVENT'.padEnd(12)}  ${name}  ${ev.id}  ${fields.map(([k, v]) => `${k}=${shownValue(v)}`).join(' ') || '-'}  ${replay}\n`;
  }
  // A create (or undelete) lists no changed fields: everything it carries is new.
  const created = h.changedFields.length === 0;
  const shown = created
    ? Object.keys(ev.payload).filter((f) => f !== 'ChangeEventHeader' && !AUDIT_FIELDS.has(f) && ev.payload[f] !== null && ev.payload[f] !== undefined)
    : h.changedFields;
  const values = shown.map((f) => `${f}=${shownValue(valueAt(ev.payload, f))}`);
  for (const f of h.nulledFields) if (!shown.includes(f)) values.push(`${f}=null`);
  return `${isoTime(h.commitTimestamp)}  ${h.changeType.padEnd(12)}  ${h.entityName}  ${h.recordIds.join(',') || '-'}  ${values.join(' ') || '-'}  ${replay}\n`;
}

function valueAt(payload: Record<string, unknown>, path: string): unknown {
  let cur: unknown = payload;
  for (const part of path.split('.')) cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[part] : undefined;
  return cur;
}

/** An event as JSON: the replay id in hex, everything else as decoded. */
export function eventJson(ev: PubSubEvent): string {
  return `${JSON.stringify({ topic: ev.topic, replayId: replayHex(ev.replayId), id: ev.id, schemaId: ev.schemaId, ...(ev.header ? { header: ev.header } : {}), payload: ev.payload }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}\n`;
}

async function tail(argv: string[], io: Required<Pick<EventsCommandIO, 'stdout' | 'stderr' | 'env'>> & EventsCommandIO): Promise<number> {
  const { values, positionals } = parseFlags(argv, { ...FLAGS, replay: { type: 'string' }, from: { type: 'string' }, format: { type: 'string' }, limit: { type: 'string' } }, USAGE);
  if (values.help) {
    io.stdout.write(USAGE);
    return EXIT.ok;
  }
  if (positionals.length > 1) throw new UsageError(`events tail follows one topic, got ${positionals.length}: ${positionals.join(' ')}`);
  const topic = checkTopic(positionals[0], 'tail');
  if (values.from !== undefined && values.replay !== undefined) throw new UsageError('events tail takes --from or --replay (the same flag), not both');
  const replay = values.replay !== undefined ? parseReplay(values.replay as string, '--replay') : parseReplay(values.from as string | undefined);
  const format = values.format === undefined ? (values.json ? 'jsonl' : 'table') : String(values.format);
  if (format !== 'table' && format !== 'jsonl') throw new UsageError(`--format must be table or jsonl, got "${format}"`);
  if (values.json && format !== 'jsonl') throw new UsageError('--json prints JSON lines; leave it out with --format table');
  const limit = positiveInt(values.limit, '--limit');
  const pubsub = await pubsubFromFlags(values, io.env, io.fetch);
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  if (!io.signal) process.on('SIGINT', onSigint);
  io.signal?.addEventListener('abort', onSigint, { once: true });
  let n = 0;
  try {
    // Validates the topic (and the login) with one unary call, so a typo fails before the stream opens.
    await pubsub.topic(topic, controller.signal);
    io.stderr.write(`tailing ${topic} from ${typeof replay === 'string' ? replay : `after ${replayHex(replay.after)}`}${limit ? ` (${plural(limit, 'event')})` : ''}; Ctrl-C stops\n`);
    for await (const ev of pubsub.subscribe(topic, { replay, signal: controller.signal, batch: limit ? Math.min(limit, 100) : undefined })) {
      io.stdout.write(format === 'jsonl' ? eventJson(ev) : eventLine(ev));
      if (++n === limit) break;
    }
  } catch (err) {
    if (!controller.signal.aborted) throw err;
  } finally {
    process.off('SIGINT', onSigint);
    pubsub.close();
  }
  io.stderr.write(`${plural(n, 'event')}\n`);
  return controller.signal.aborted ? EXIT.interrupted : EXIT.ok;
}

/** Events from `--data` (an object or an array) or `--from` (JSON lines); each must be an object. */
async function readEvents(data: string | undefined, from: string | undefined, stdin: Readable): Promise<Record<string, unknown>[]> {
  if ((data === undefined) === (from === undefined)) throw new UsageError(`events publish needs the events: --data JSON or --from FILE.jsonl (one of them)\n\n${USAGE}`);
  let events: unknown[];
  if (data !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch (err) {
      throw new UsageError(`--data is not JSON (${(err as Error).message}); give an object like '{"Field__c":"value"}' or an array of them`);
    }
    events = Array.isArray(parsed) ? parsed : [parsed];
  } else {
    let text: string;
    try {
      if (from === '-') {
        text = '';
        for await (const chunk of stdin) text += chunk;
      } else text = await readFile(from!, 'utf8');
    } catch (err) {
      throw new UsageError(`--from ${from}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
    }
    events = [];
    for (const [i, line] of text.split('\n').entries()) {
      if (!line.trim()) continue;
      try {
        events.push(JSON.parse(line));
      } catch (err) {
        throw new UsageError(`--from ${from}: line ${i + 1} is not JSON (${(err as Error).message}); give one event object per line`);
      }
    }
  }
  if (events.length === 0) throw new UsageError('events publish: no events given');
  events.forEach((e, i) => {
    if (!e || typeof e !== 'object' || Array.isArray(e)) throw new UsageError(`events publish: event ${i + 1} is not an object of field values`);
  });
  return events as Record<string, unknown>[];
}

async function publish(argv: string[], io: Required<Pick<EventsCommandIO, 'stdout' | 'stderr' | 'env'>> & EventsCommandIO): Promise<number> {
  const { values, positionals } = parseFlags(argv, { ...FLAGS, data: { type: 'string' }, from: { type: 'string' } }, USAGE);
  if (values.help) {
    io.stdout.write(USAGE);
    return EXIT.ok;
  }
  if (positionals.length > 1) throw new UsageError(`events publish takes one topic, got ${positionals.length}: ${positionals.join(' ')}`);
  const topic = checkTopic(positionals[0], 'publish');
  const events = await readEvents(values.data as string | undefined, values.from as string | undefined, io.stdin ?? process.stdin);
  const pubsub = await pubsubFromFlags(values, io.env, io.fetch);
  try {
    const info = await pubsub.topic(topic, io.signal);
    const type = await pubsub.schema(info.schemaId, io.signal);
    // Unknown fields would be dropped silently by the Avro encoding: refuse them, naming the real ones.
    const known = new Set((type as unknown as { fields: { name: string }[] }).fields.map((f) => f.name));
    for (const [i, e] of events.entries()) {
      const unknown = Object.keys(e).filter((k) => k !== 'id' && !known.has(k));
      if (unknown.length) throw new UsageError(`event ${i + 1}: ${topic} has no field ${unknown.join(', ')}; its fields are ${[...known].filter((f) => !['CreatedDate', 'CreatedById', 'EventUuid'].includes(f)).join(', ')}`, { code: 'INVALID_FIELD' });
    }
    // Salesforce recommends at most 200 events per request: more go over one PublishStream, 200 at a time.
    const results = events.length > PUBLISH_BATCH ? await pubsub.publishStream(topic, events, { signal: io.signal, batchSize: PUBLISH_BATCH }) : await pubsub.publish(topic, events, io.signal);
    const failed = results.filter((r) => r.error).length;
    if (values.json) {
      writeJson(io.stdout, 'events publish', { topic, published: results.length - failed, failed, results: results.map((r) => ({ correlationKey: r.correlationKey, ...(r.replayId ? { replayId: replayHex(r.replayId) } : {}), ...(r.error ? { error: r.error } : {}) })) });
    } else {
      for (const r of results) io.stdout.write(r.error ? `failed     ${r.correlationKey}  ${r.error.code}: ${r.error.message}\n` : `published  ${r.correlationKey}  replay ${replayHex(r.replayId!)}\n`);
      io.stderr.write(`${plural(results.length - failed, 'event')} published to ${topic}${failed ? `, ${failed} failed` : ''}\n`);
    }
    return failed ? EXIT.failed : EXIT.ok;
  } finally {
    pubsub.close();
  }
}

const FLAGS = {
  ...CONNECTION_FLAG_OPTIONS,
  json: { type: 'boolean' },
  ...PUBSUB_FLAG_OPTIONS,
  'api-version': { type: 'string' },
  config: { type: 'string', short: 'c' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Runs `sfbridge events …`; returns the exit code (0 ok, 1 an event refused, 2 usage, 3 login, 130 Ctrl-C). */
export async function eventsCommand(argv: string[], io: EventsCommandIO = {}): Promise<number> {
  const full = { ...io, stdout: io.stdout ?? process.stdout, stderr: io.stderr ?? process.stderr, env: io.env ?? process.env };
  const [sub, ...rest] = argv;
  const json = rest.includes('--json') || rest.some((a, i) => (a === '--format' && rest[i + 1] === 'jsonl') || a === '--format=jsonl');
  try {
    if (sub === 'tail') return await tail(rest, full);
    if (sub === 'publish') return await publish(rest, full);
    if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
      (sub ? full.stdout : full.stderr).write(USAGE);
      return sub ? EXIT.ok : EXIT.usage;
    }
    throw new UsageError(`unknown events command "${sub}"; use events tail or events publish\n\n${USAGE}`);
  } catch (err) {
    return reportError(`events${sub === 'tail' || sub === 'publish' ? ` ${sub}` : ''}`, toCli(err), { stdout: full.stdout, stderr: full.stderr, json });
  }
}

/** Pub/Sub failures keep their code; an unreachable endpoint is a connection failure (exit 3). */
function toCli(err: unknown): unknown {
  const e = err as { code?: string; grpcCode?: number; message?: string };
  if (e?.code === 'PUBSUB_FAILED' && e.grpcCode === 14) return new CliError('PUBSUB_UNAVAILABLE', e.message ?? 'the Pub/Sub API is unreachable', { fix: 'check --pubsub-endpoint (HOST:PORT) and --pubsub-plaintext for a plaintext server', exitCode: EXIT.connection, cause: err });
  if (e?.code === 'PUBSUB_TOPIC') return new CliError('PUBSUB_TOPIC', e.message ?? 'no such topic', { fix: 'check the topic name and that change data capture is on for the object', exitCode: EXIT.usage, cause: err });
  return err;
}

/**
 * `sfbridge bulk`: Bulk API 2.0 loads from a CSV file, with the habits of `sf data upsert bulk`: job ids
 * printed, `<jobId>-success-records.csv` / `-failed-records.csv` / `-unprocessed-records.csv` written, exit
 * code 1 when any record failed; `resume` re-attaches to a job (e.g. after `--wait` ran out), `status` shows it.
 */
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parse } from 'csv-parse';
import { stringify } from 'csv-stringify/sync';
import { CONNECTION_FLAG_OPTIONS, CONNECTION_USAGE, resolveCredentials } from '../client/config.ts';
import { SalesforceError, SfClientError } from '../client/errors.ts';
import { BULK_OPERATIONS, BulkError, SalesforceClient, type BulkJobInfo, type BulkOperation, type BulkRecordResult, type FetchLike } from '../client/index.ts';
import { FileTokenStore } from '../client/token-store.ts';
import { parseDuration, parseFlags, UsageError } from './args.ts';
import { createProgress } from './progress.ts';

const USAGE = `Usage:
  sfbridge bulk insert|update|upsert|delete|hardDelete --object X --file FILE.csv [--external-id F]
                [--wait 10m] [--results-dir DIR] [--concurrency N] [--max-rows-per-job N]
  sfbridge bulk resume JOB_ID [--wait 10m] [--results-dir DIR]
  sfbridge bulk status JOB_ID

  --object, -s X      sObject API name (--sobject also accepted, as in sf)
  --file, -f FILE     CSV with a header row of field API names (any case); Parent.ExternalId__c columns
                      set lookups; #N/A sets a field to null; an empty cell leaves it unchanged
  --external-id F     upsert: the external-ID field to match on (or Id)
  --wait D            stop waiting for a job after D (30s, 10m, 2h); default: until it finishes
  --results-dir DIR   where result CSVs go (default: current directory)
  --concurrency N     jobs running at once (default 3); --max-rows-per-job N splits big files

Exit codes: 0 all records succeeded, 1 some failed / unprocessed / error, 2 usage error.

${CONNECTION_USAGE}
`;

export interface BulkCommandIO {
  stdout?: Writable & { isTTY?: boolean };
  stderr?: Writable & { isTTY?: boolean };
  env?: NodeJS.ProcessEnv;
  fetch?: FetchLike;
}

const FLAGS = {
  ...CONNECTION_FLAG_OPTIONS,
  object: { type: 'string', short: 's' },
  sobject: { type: 'string' },
  file: { type: 'string', short: 'f' },
  'external-id': { type: 'string' },
  wait: { type: 'string' },
  'results-dir': { type: 'string' },
  concurrency: { type: 'string' },
  'max-rows-per-job': { type: 'string' },
  'api-version': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Runs `sfbridge bulk …`; returns the exit code. */
export async function bulkCommand(argv: string[], io: BulkCommandIO = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const env = io.env ?? process.env;
  const say = (s: string) => stdout.write(`${s}\n`);
  try {
    const { values, positionals } = parseFlags(argv, FLAGS, USAGE);
    if (values.help) {
      stdout.write(USAGE);
      return 0;
    }
    const [sub, ...rest] = positionals;
    if (!sub) throw new UsageError(`missing subcommand\n\n${USAGE}`);
    const wait = values.wait !== undefined ? parseDuration(values.wait, '--wait') : undefined;
    const resultsDir = values['results-dir'] ?? '.';
    const apiVersion = values['api-version'];
    if (apiVersion !== undefined && !/^\d+\.\d$/.test(apiVersion)) throw new UsageError(`--api-version must look like 62.0, got "${apiVersion}"`);
    const connect = async () => {
      let credentials;
      try {
        credentials = await resolveCredentials(values, env);
      } catch (err) {
        if (err instanceof SfClientError && err.code === 'CONFIG_ERROR') throw new UsageError(err.message);
        throw err;
      }
      return new SalesforceClient({ credentials, apiVersion, fetch: io.fetch, tokenStore: credentials.kind === 'refreshToken' ? new FileTokenStore({ env }) : undefined });
    };
    if (sub === 'status' || sub === 'resume') {
      if (rest.length !== 1 || !/^750[A-Za-z0-9]{12}([A-Za-z0-9]{3})?$/.test(rest[0])) throw new UsageError(`${sub} takes one Bulk job id (750…)\n\n${USAGE}`);
      const client = await connect();
      if (sub === 'status') {
        const info = await jobInfoAnyKind(client, rest[0]);
        say(JSON.stringify(info, null, 2));
        return 0;
      }
      return await resume(client, rest[0], wait, resultsDir, say, stderr);
    }
    if (!(BULK_OPERATIONS as readonly string[]).includes(sub)) throw new UsageError(`unknown subcommand "${sub}"; use ${BULK_OPERATIONS.join(', ')}, resume or status\n\n${USAGE}`);
    if (rest.length) throw new UsageError(`unexpected argument "${rest[0]}"\n\n${USAGE}`);
    const object = values.object ?? values.sobject;
    if (!object) throw new UsageError(`--object is required (the sObject to load, e.g. --object Contact)`);
    if (!values.file) throw new UsageError(`--file is required (a CSV with a header row of field names)`);
    const operation = sub as BulkOperation;
    if (operation === 'upsert' && !values['external-id']) throw new UsageError(`upsert needs --external-id (the external-ID field to match on, or Id)`);
    if (operation !== 'upsert' && values['external-id']) throw new UsageError(`--external-id only applies to upsert`);
    const concurrency = intFlag(values.concurrency, '--concurrency');
    const maxRowsPerJob = intFlag(values['max-rows-per-job'], '--max-rows-per-job');
    const client = await connect();
    return await load(client, { object, operation, file: values.file, externalIdField: values['external-id'], wait, concurrency, maxRowsPerJob, resultsDir }, say, stderr);
  } catch (err) {
    if (err instanceof UsageError) {
      stderr.write(`sfbridge bulk: ${err.message}\n`);
      return 2;
    }
    if (err instanceof BulkError) {
      const hint = err.code === 'BULK_WAIT_EXCEEDED' ? `\nre-attach later with: ${err.jobIds.map((id) => `sfbridge bulk resume ${id}`).join('; ')}` : '';
      stderr.write(`sfbridge bulk: ${err.code}: ${err.message}${hint}\n`);
      return 1;
    }
    if (err instanceof SalesforceError) {
      stderr.write(`sfbridge bulk: ${err.errorCode}: ${err.errors.map((e) => e.message).join('; ')}\n`);
      return 1;
    }
    stderr.write(`sfbridge bulk: ${(err as Error).message}\n`);
    return 1;
  }
}

function intFlag(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive integer, got "${v}"`);
  return n;
}

async function jobInfoAnyKind(client: SalesforceClient, jobId: string): Promise<BulkJobInfo> {
  try {
    return await client.bulk.jobInfo('ingest', jobId);
  } catch (err) {
    if (err instanceof SalesforceError && err.status === 404) return client.bulk.jobInfo('query', jobId);
    throw err;
  }
}

interface LoadOptions {
  object: string;
  operation: BulkOperation;
  file: string;
  externalIdField?: string;
  wait?: number;
  concurrency?: number;
  maxRowsPerJob?: number;
  resultsDir: string;
}

/** Result files of one job, opened on first use. */
class JobFiles {
  readonly jobId: string;
  readonly #dir: string;
  readonly #columns: string[];
  readonly #files = new Map<string, WriteStream>();
  counts = { success: 0, failed: 0, unprocessed: 0 };

  constructor(dir: string, jobId: string, columns: string[]) {
    this.#dir = dir;
    this.jobId = jobId;
    this.#columns = columns;
  }

  async write(r: BulkRecordResult): Promise<void> {
    const kind = r.success ? 'success' : r.unprocessed ? 'unprocessed' : 'failed';
    this.counts[kind]++;
    let out = this.#files.get(kind);
    if (!out) {
      out = createWriteStream(join(this.#dir, `${this.jobId}-${kind}-records.csv`));
      this.#files.set(kind, out);
      const lead = kind === 'success' ? ['sf__Id', 'sf__Created'] : kind === 'failed' ? ['sf__Id', 'sf__Error'] : [];
      out.write(stringify([[...lead, ...this.#columns]]));
    }
    const values = this.#columns.map((c) => String(r.input[c] ?? ''));
    const lead = kind === 'success' ? [r.id ?? '', String(r.created)] : kind === 'failed' ? [r.id ?? '', r.error ?? ''] : [];
    if (!out.write(stringify([[...lead, ...values]]))) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }

  async close(): Promise<string[]> {
    const names: string[] = [];
    for (const [kind, out] of this.#files) {
      await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
      names.push(join(this.#dir, `${this.jobId}-${kind}-records.csv`));
    }
    return names;
  }
}

async function load(client: SalesforceClient, o: LoadOptions, say: (s: string) => void, stderr: Writable & { isTTY?: boolean }): Promise<number> {
  await mkdir(o.resultsDir, { recursive: true });
  let columns: string[] = [];
  const parser = createReadStream(o.file).pipe(parse({ columns: (header: string[]) => (columns = header.map((h) => h.trim())), bom: true, skip_empty_lines: true }));
  const progress = createProgress(stderr);
  const task = progress.task(`bulk ${o.operation} ${o.object}`);
  let files: JobFiles | undefined;
  let done = 0;
  let bad = 0;
  const finishJob = async () => {
    if (!files) return;
    const written = await files.close();
    const c = files.counts;
    say(`job ${files.jobId}: ${c.success} succeeded, ${c.failed} failed, ${c.unprocessed} unprocessed`);
    for (const f of written) say(`  ${f}`);
  };
  try {
    const results = client.bulk.ingest(o.object, o.operation, parser as AsyncIterable<Record<string, string>>, {
      externalIdField: o.externalIdField,
      wait: o.wait,
      concurrency: o.concurrency,
      maxRowsPerJob: o.maxRowsPerJob,
      onEvent: (e) => {
        if (e.type === 'job-created') {
          // Printed at once so the job can be found (resume/status) even if this process dies.
          say(`job ${e.jobId} created (${o.operation} ${o.object})`);
        } else if (e.type === 'job-polled') task.update(done, `job ${e.jobId} ${e.state}, ${e.numberRecordsProcessed} processed`);
      },
    });
    for await (const r of results) {
      if (files?.jobId !== r.jobId) {
        await finishJob();
        files = new JobFiles(o.resultsDir, r.jobId, columns);
      }
      await files.write(r);
      if (!r.success) bad++;
      if (++done % 1000 === 0) task.update(done);
    }
    await finishJob();
    files = undefined;
    task.finish(`${done} records, ${bad} not loaded`);
  } finally {
    progress.close();
    if (files) await files.close().catch(() => undefined);
  }
  say(`${done} records: ${done - bad} succeeded, ${bad} failed or unprocessed`);
  return bad > 0 ? 1 : 0;
}

/** Waits for a job, then writes its result files as Salesforce serves them (streamed to disk). */
async function resume(client: SalesforceClient, jobId: string, wait: number | undefined, dir: string, say: (s: string) => void, stderr: Writable & { isTTY?: boolean }): Promise<number> {
  await mkdir(dir, { recursive: true });
  const progress = createProgress(stderr);
  const task = progress.task(`bulk job ${jobId}`);
  let info: BulkJobInfo;
  try {
    info = await client.bulk.waitForJob('ingest', jobId, { wait, onEvent: (e) => e.type === 'job-polled' && task.update(e.numberRecordsProcessed, e.state) });
    task.finish(info.state);
  } finally {
    progress.close();
  }
  const processed = Number(info.numberRecordsProcessed ?? 0);
  const failed = Number(info.numberRecordsFailed ?? 0);
  say(`job ${jobId}: ${info.state}, ${processed - failed} succeeded, ${failed} failed${info.errorMessage ? ` (${info.errorMessage})` : ''}`);
  const files: ['successfulResults' | 'failedResults' | 'unprocessedrecords', string][] = [['successfulResults', 'success'], ['failedResults', 'failed']];
  if (info.state !== 'JobComplete') files.push(['unprocessedrecords', 'unprocessed']);
  for (const [file, kind] of files) {
    const res = await client.bulk.resultFile(jobId, file);
    const path = join(dir, `${jobId}-${kind}-records.csv`);
    await pipeline(res.body ? Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>) : Readable.from([]), createWriteStream(path));
    say(`  ${path}`);
  }
  return info.state === 'JobComplete' && failed === 0 ? 0 : 1;
}

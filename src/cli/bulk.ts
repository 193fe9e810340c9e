/**
 * `sfbridge bulk`: Bulk API 2.0 loads from a CSV file, with the habits of `sf data upsert bulk`: job ids
 * printed, `<jobId>-success-records.csv` / `-failed-records.csv` / `-unprocessed-records.csv` written, exit
 * code 1 when any record failed; `resume` re-attaches to a job (e.g. after `--wait` ran out), `status` shows it.
 *
 * Resume after a crash: a load writes a run manifest (`bulk-run-….json` in the results dir: input file,
 * operation, and per job the input rows it holds) before it prints each job id. `resume` given a job id of an
 * unfinished run in the results dir (or `--manifest FILE`) finishes the whole run: jobs never closed are
 * aborted (Salesforce processes nothing of an Open job) and their rows sent again, closed jobs are waited for
 * and their results downloaded, rows no job held are sent — so every input row ends in exactly one result file
 * and is processed exactly once.
 */
import { createReadStream, createWriteStream, renameSync, writeFileSync, type WriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CONNECTION_FLAG_OPTIONS, CONNECTION_USAGE } from '../client/config.ts';
import { SalesforceError } from '../client/errors.ts';
import { BULK_DESCRIBE_REUSE_MS, BULK_ERROR_CODES, BULK_OPERATIONS, Bulk2, BulkError, FINAL_JOB_STATES, FileDescribeCache, SalesforceClient, type BulkJobInfo, type BulkOperation, type BulkRecordResult, type FetchLike } from '../client/index.ts';
import { FileBulkRateStore, cacheDir } from './cache.ts';
import { parse } from 'csv-parse';
import { CliError, EXIT, UsageError, failureText, parseDuration, parseFlags, plural, thousands } from './args.ts';
import { checkLogin, columnChecker, preflightTarget, type PublishOperation } from './preflight.ts';
import { reportError, wantsJson, writeJson } from './report.ts';
import { checkCsvRows, csvRowBatches } from '../client/bulk2/csv-rows.ts';
import { clientFromFlags } from './connect.ts';
import { createProgress } from './progress.ts';
import { csvLine } from './query.ts';

/** The Bulk API of a client with the CLI's file-backed rate store (absent when the cache is off: `client.bulk`). */
const ingestApis = new WeakMap<SalesforceClient, Bulk2>();

/** A CSV cell as `csvLine` writes it (quoted when it holds a quote, comma or line break). */
function csvField(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

/** Result rows per write of a result file. */
const WRITE_BATCH = 500;

const USAGE = `Usage:
  sfbridge bulk insert|update|upsert|delete|hardDelete --object X --file FILE.csv [--external-id F]
                [--wait 10m] [--results-dir DIR] [--concurrency N] [--max-rows-per-job N]
  sfbridge bulk resume JOB_ID [--wait 10m] [--results-dir DIR]
  sfbridge bulk resume --manifest DIR/bulk-run-….json [--wait 10m]
  sfbridge bulk status JOB_ID

  --object, -s X      sObject API name (--sobject also accepted, as in sf)
  --file, -f FILE     CSV with a header row of field API names (any case); Parent.ExternalId__c columns
                      set lookups; #N/A sets a field to null; an empty cell leaves it unchanged
  --external-id F     upsert: the external-ID field to match on (or Id)
  --wait D            stop waiting for a job after D (30s, 10m, 2h); default: until it finishes
  --results-dir DIR   where result CSVs go (default: current directory)
  --concurrency N     jobs running at once (default 3); --max-rows-per-job N splits big files
  --manifest FILE     resume a whole run (written as bulk-run-….json in the results dir by every load);
                      resume JOB_ID does the same when the results dir holds the run of that job

A load interrupted (killed, crashed) is finished by resume: jobs left Open are aborted and their rows sent
again, the others are waited for; every input row ends up in exactly one result file.

Repeat loads reuse the object's describe (up to 15 minutes) and the job rates learned from the last loads
(to time status polls) from the cache dir: $SFBRIDGE_CACHE_DIR, else $SFBRIDGE_HOME/cache, else
$XDG_CACHE_HOME/sfbridge or ~/.cache/sfbridge; SFBRIDGE_CACHE_DIR=off disables it. No tokens are kept there.

  --json              one JSON document on stdout: {ok, command, object, operation, manifest, jobs: [{jobId,
                      succeeded, failed, unprocessed, files}], records, notLoaded}; job lines go to stderr

Ctrl-C stops waiting and prints the resume command: jobs already created keep running in Salesforce.

Exit codes: 0 all records succeeded, 1 some failed / unprocessed / error, 2 usage error or input refused
before any job (unknown object or column; nothing created), 3 login failed, 130 interrupted.

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
  manifest: { type: 'string' },
  config: { type: 'string', short: 'c' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** What a load did, for `--json` (docs/CLI.md). */
interface LoadReport {
  manifest?: string;
  jobs: { jobId: string; succeeded: number; failed: number; unprocessed: number; files: string[] }[];
  records: number;
  notLoaded: number;
}

/** The run manifest of the load in progress, for the Ctrl-C message. */
let activeManifest: string | undefined;

/** Runs `sfbridge bulk …`; returns the exit code. */
export async function bulkCommand(argv: string[], io: BulkCommandIO = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const env = io.env ?? process.env;
  const json = wantsJson(argv);
  // With --json, stdout carries the one result document; the manifest and job lines go to stderr.
  const say = (s: string) => (json ? stderr : stdout).write(`${s}\n`);
  let dirFlag = '';
  const report: LoadReport = { jobs: [], records: 0, notLoaded: 0 };
  // Ctrl-C: jobs already created keep running in Salesforce; say how to finish the run, then stop.
  const onSigint = () => {
    stderr.write(`\nsfbridge bulk: interrupted.${activeManifest ? ` Jobs already created keep running in Salesforce; finish the run (every row exactly once) with:\n  sfbridge bulk resume --manifest ${activeManifest}\n` : '\n'}`);
    process.exit(EXIT.interrupted);
  };
  if (!io.fetch) process.on('SIGINT', onSigint);
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
    if (values['results-dir'] !== undefined) dirFlag = ` --results-dir ${values['results-dir']}`;
    const apiVersion = values['api-version'] as string | undefined;
    const connect = async () => {
      // Describes and learned job rates persist in the cache dir, so a repeat load skips the describe and plans
      // each job's first status poll from how fast the last jobs of this org, object and operation ran.
      const dir = cacheDir(env);
      const client = await clientFromFlags(values, env, { apiVersion, fetch: io.fetch, describeCache: dir ? new FileDescribeCache(join(dir, 'describe')) : undefined });
      if (dir) ingestApis.set(client, new Bulk2(client, client.describeCache, { rates: new FileBulkRateStore(dir) }));
      return client;
    };
    if (sub === 'resume' && values.manifest !== undefined) {
      if (rest.length) throw new UsageError(`resume takes either a job id or --manifest, not both\n\n${USAGE}`);
      const manifest = await readManifest(values.manifest);
      return await resumeRun(await connect(), manifest, values.manifest, wait, say, stderr);
    }
    if (sub === 'status' || sub === 'resume') {
      if (rest.length !== 1 || !/^750[A-Za-z0-9]{12}([A-Za-z0-9]{3})?$/.test(rest[0])) throw new UsageError(`${sub} takes one Bulk job id (750…)\n\n${USAGE}`);
      const client = await connect();
      if (sub === 'status') {
        const info = await jobInfoAnyKind(client, rest[0]);
        say(JSON.stringify(info, null, 2));
        return 0;
      }
      const run = await findManifest(resultsDir, rest[0]);
      if (run) {
        say(`job ${rest[0]} belongs to the unfinished run ${run.path}: resuming the whole run`);
        return await resumeRun(client, run.manifest, run.path, wait, say, stderr);
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
    // Preflight before the manifest or any job exists: login, object, operation, external ID, header columns.
    const canonical = await preflightLoad(client, object, operation, values.file, values['external-id']);
    const code = await load(client, { object: canonical, operation, file: values.file, externalIdField: values['external-id'], wait, concurrency, maxRowsPerJob, resultsDir }, say, stderr, undefined, report);
    if (json) writeJson(stdout, 'bulk', { object: canonical, operation, ...report });
    return code;
  } catch (err) {
    if (err instanceof CliError || json) return reportError('bulk', err, { stdout, stderr, json });
    // Input refused before any job exists (a ragged row, a column): nothing was sent, so exit 2.
    if (err instanceof BulkError && err.code === 'BULK_INVALID_INPUT' && err.jobIds.length === 0) {
      stderr.write(`sfbridge bulk: ${err.code}: ${err.message}\n`);
      return 2;
    }
    if (err instanceof BulkError) {
      const hint = err.code === 'BULK_WAIT_EXCEEDED' ? `\nre-attach later with: ${err.jobIds.map((id) => `sfbridge bulk resume ${id}${dirFlag}`).join('; ')}` : '';
      stderr.write(`sfbridge bulk: ${err.code}: ${err.message}${hint}\n`);
      return 1;
    }
    return reportError('bulk', err, { stdout, stderr });
  } finally {
    process.off('SIGINT', onSigint);
    activeManifest = undefined;
  }
}

/**
 * Checks a load before anything is written or created: one login, the object (with the closest name when
 * it does not exist), the operation, the external ID field and every column of the header row. Returns the
 * object's API name as the org spells it.
 */
async function preflightLoad(client: SalesforceClient, object: string, operation: BulkOperation, file: string, externalIdField: string | undefined): Promise<string> {
  let header: string[] | undefined;
  try {
    const input = createReadStream(file);
    const rows = input.pipe(parse({ to_line: 1, bom: true }));
    input.once('error', (err) => rows.destroy(err));
    for await (const row of rows as AsyncIterable<string[]>) header = row;
  } catch (err) {
    throw new UsageError(`--file ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`, { code: 'INPUT_NOT_FOUND' });
  }
  if (!header?.length) throw new UsageError(`--file ${file} is empty: it needs a header row of field names`, { code: 'EMPTY_INPUT' });
  // The whole file is read once before any job exists: a quote left open on line 180,000 would otherwise be
  // found only after the jobs for the rows before it had loaded them.
  await checkCsvRows(createReadStream(file), file);
  await checkLogin(client);
  const op: PublishOperation = operation === 'hardDelete' ? 'delete' : operation;
  // The describe the load's own column check reuses (BULK_DESCRIBE_REUSE_MS): the preflight costs no extra call.
  const o = { freshForMs: BULK_DESCRIBE_REUSE_MS };
  const d = await preflightTarget(client, object, op, externalIdField, o);
  const check = columnChecker(client, d, op, o);
  await check(Object.fromEntries(header.map((h) => [h.trim(), 'x'])), `${file}: `);
  return d.name;
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

/** Rows of the input file as sorted, disjoint [from, to) ranges of 0-based data-row positions. */
type Ranges = [number, number][];

/** What `resume` needs to finish a load: written before each job id is printed. */
export interface RunManifest {
  version: 1;
  file: string;
  object: string;
  operation: BulkOperation;
  externalIdField?: string;
  concurrency?: number;
  maxRowsPerJob?: number;
  resultsDir: string;
  /** Per job, the input rows it holds; `written`: its result files are complete on disk. */
  jobs: { jobId: string; ranges: Ranges; written?: boolean }[];
  /** Every row has a result file: nothing left to resume. */
  done: boolean;
  /**
   * A job being created (written before the create call, cleared once its id is recorded): a process killed
   * in between leaves a job Open in the org that no `jobs` entry names; resume finds it by this and aborts it.
   */
  creating?: { at: string; start: number; rows: number };
}

/** File name prefix of run manifests in a results dir. */
const MANIFEST_PREFIX = 'bulk-run-';

/** Writes the manifest synchronously and atomically (a kill right after leaves the old or the new one, whole). */
function saveManifest(path: string, m: RunManifest): void {
  writeFileSync(`${path}.tmp`, JSON.stringify(m, null, 1));
  renameSync(`${path}.tmp`, path);
}

async function readManifest(path: string): Promise<RunManifest> {
  let m: RunManifest;
  try {
    m = JSON.parse(await readFile(path, 'utf8')) as RunManifest;
  } catch (err) {
    throw new UsageError(`cannot read run manifest ${path}: ${(err as Error).message}`);
  }
  if (m?.version !== 1 || !Array.isArray(m.jobs) || typeof m.file !== 'string') throw new UsageError(`${path} is not a bulk run manifest (written by sfbridge bulk insert|update|upsert|delete|hardDelete)`);
  return m;
}

/** The unfinished run manifest in `dir` that lists `jobId`, if any. */
async function findManifest(dir: string, jobId: string): Promise<{ path: string; manifest: RunManifest } | undefined> {
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names.filter((n) => n.startsWith(MANIFEST_PREFIX) && n.endsWith('.json')).sort().reverse()) {
    const path = join(dir, name);
    const m = await readManifest(path).catch(() => undefined);
    if (m && !m.done && m.jobs.some((j) => j.jobId === jobId)) return { path, manifest: m };
  }
  return undefined;
}

/** The original positions of `rows` selected rows starting at selected row `start` (select: undefined = all). */
export function mapRows(select: Ranges | undefined, start: number, rows: number): Ranges {
  if (!select) return [[start, start + rows]];
  const out: Ranges = [];
  let skip = start;
  let need = rows;
  for (const [from, to] of select) {
    if (need === 0) break;
    const len = to - from;
    if (skip >= len) {
      skip -= len;
      continue;
    }
    const a = from + skip;
    const take = Math.min(need, to - a);
    out.push([a, a + take]);
    need -= take;
    skip = 0;
  }
  return out;
}

/** Sorted, merged union of ranges. */
function union(ranges: Ranges): Ranges {
  const sorted = ranges.filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
  const out: Ranges = [];
  for (const [a, b] of sorted) {
    const last = out.at(-1);
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

/** [0, ∞) minus `ranges`. */
function complement(ranges: Ranges): Ranges {
  const out: Ranges = [];
  let at = 0;
  for (const [a, b] of union(ranges)) {
    if (a > at) out.push([at, a]);
    at = Math.max(at, b);
  }
  out.push([at, Number.MAX_SAFE_INTEGER]);
  return out;
}

/** Result files of one job, opened on first use. */
class JobFiles {
  readonly jobId: string;
  readonly #dir: string;
  readonly #columns: string[];
  readonly #files = new Map<string, { stream: WriteStream; lines: string[] }>();
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
      out = { stream: createWriteStream(join(this.#dir, `${this.jobId}-${kind}-records.csv`)), lines: [] };
      this.#files.set(kind, out);
      const lead = kind === 'success' ? ['sf__Id', 'sf__Created'] : kind === 'failed' ? ['sf__Id', 'sf__Error'] : [];
      out.lines.push(csvLine([...lead, ...this.#columns]));
    }
    // One string per row, built directly (no values/lead/spread arrays): this runs once per input row.
    let line = kind === 'success' ? `${csvField(r.id ?? '')},${r.created}` : kind === 'failed' ? `${csvField(r.id ?? '')},${csvField(r.error ?? '')}` : '';
    for (let i = 0; i < this.#columns.length; i++) {
      const v = r.input[this.#columns[i]];
      const cell = csvField(v === undefined || v === null ? '' : String(v));
      line = i === 0 && kind === 'unprocessed' ? cell : `${line},${cell}`;
    }
    out.lines.push(`${line}\n`);
    // Batched writes (lines joined once per batch) keep garbage and the process's RSS low on big loads.
    if (out.lines.length >= WRITE_BATCH) await this.#flush(out);
  }

  async #flush(out: { stream: WriteStream; lines: string[] }): Promise<void> {
    const chunk = out.lines.join('');
    out.lines = [];
    if (chunk && !out.stream.write(chunk)) await new Promise<void>((resolve) => out.stream.once('drain', () => resolve()));
  }

  async close(): Promise<string[]> {
    const names: string[] = [];
    for (const [kind, out] of this.#files) {
      await this.#flush(out);
      await new Promise<void>((resolve, reject) => out.stream.end((err?: Error | null) => (err ? reject(err) : resolve())));
      names.push(join(this.#dir, `${this.jobId}-${kind}-records.csv`));
    }
    return names;
  }
}

/**
 * Loads the file (or, on resume, the rows of `select`), recording each job in the run manifest before its id is
 * printed. Returns the counts; the caller turns them into an exit code.
 */
async function load(client: SalesforceClient, o: LoadOptions, say: (s: string) => void, stderr: Writable & { isTTY?: boolean }, run?: { path: string; manifest: RunManifest; select: Ranges }, report?: LoadReport): Promise<number> {
  await mkdir(o.resultsDir, { recursive: true });
  let manifestPath = run?.path;
  const manifest: RunManifest = run?.manifest ?? { version: 1, file: resolve(o.file), object: o.object, operation: o.operation, externalIdField: o.externalIdField, concurrency: o.concurrency, maxRowsPerJob: o.maxRowsPerJob, resultsDir: resolve(o.resultsDir), jobs: [], done: false };
  if (!manifestPath) {
    manifestPath = join(o.resultsDir, `${MANIFEST_PREFIX}${new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${process.pid}.json`);
    saveManifest(manifestPath, manifest);
    say(`run manifest ${manifestPath} (if this run is interrupted: sfbridge bulk resume --manifest ${manifestPath})`);
  }
  activeManifest = manifestPath;
  if (report) report.manifest = manifestPath;
  const select = run?.select;
  let columns: string[] = [];
  const csvRows = csvRecords(o.file, (header) => (columns = header));
  const parser = select ? selectRows(csvRows, select) : csvRows;
  const progress = createProgress(stderr);
  const task = progress.task(`bulk ${o.operation} ${o.object}`);
  let files: JobFiles | undefined;
  let done = 0;
  let bad = 0;
  const finishJob = async () => {
    if (!files) return;
    const written = await files.close();
    const c = files.counts;
    const job = manifest.jobs.find((j) => j.jobId === files!.jobId);
    if (job) {
      job.written = true;
      saveManifest(manifestPath, manifest);
    }
    report?.jobs.push({ jobId: files.jobId, succeeded: c.success, failed: c.failed, unprocessed: c.unprocessed, files: written });
    say(`job ${files.jobId}: ${thousands(c.success)} succeeded, ${thousands(c.failed)} failed, ${thousands(c.unprocessed)} unprocessed`);
    for (const f of written) say(`  ${f}`);
  };
  try {
    const results = (ingestApis.get(client) ?? client.bulk).ingest(o.object, o.operation, parser, {
      externalIdField: o.externalIdField,
      wait: o.wait,
      concurrency: o.concurrency,
      maxRowsPerJob: o.maxRowsPerJob,
      // A person waits for this command: a second status poll per job is worth the ~2 s it saves.
      learnedFirstPoll: 'before-end',
      onEvent: (e) => {
        if (e.type === 'job-creating') {
          manifest.creating = { at: new Date().toISOString(), start: e.start, rows: e.rows };
          saveManifest(manifestPath, manifest);
        } else if (e.type === 'job-created') {
          // Recorded, then printed, at once: the job can be found (resume/status) even if this process dies.
          manifest.jobs.push({ jobId: e.jobId, ranges: mapRows(select, e.start ?? 0, e.rows ?? 0) });
          delete manifest.creating;
          saveManifest(manifestPath, manifest);
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
    manifest.done = true;
    saveManifest(manifestPath, manifest);
    task.finish(`${plural(done, 'record')}, ${thousands(bad)} not loaded`);
  } catch (err) {
    // Refused before any job existed (a ragged row, or the create call answered with an error): there is
    // nothing to resume, so no manifest stays behind. A create call with no answer may have made a job: kept.
    if (!run && manifest.jobs.length === 0 && (!manifest.creating || (err as { status?: number }).status !== undefined)) await rm(manifestPath, { force: true });
    throw err;
  } finally {
    progress.close();
    if (files) await files.close().catch(() => undefined);
  }
  if (report) {
    report.records = done;
    report.notLoaded = bad;
  }
  say(`${plural(done, 'record')}: ${thousands(done - bad)} succeeded, ${thousands(bad)} failed or unprocessed`);
  return bad > 0 ? 1 : 0;
}

/**
 * The data rows of a CSV file as records keyed by its (trimmed) header; blank lines are skipped (they hold no
 * row position, also for resume). The file is read with the Bulk result reader, ~7× faster than csv-parse,
 * which matters here: the first job is created only when its rows have been read.
 */
async function* csvRecords(file: string, onHeader: (header: string[]) => void): AsyncGenerator<Record<string, string>> {
  let header: string[] | null = null;
  let row = 0;
  for await (const batch of csvRowBatches(createReadStream(file))) {
    for (const cells of batch) {
      if (header === null) {
        header = cells.map((h) => h.trim());
        onHeader(header);
        continue;
      }
      row++;
      if (cells.length !== header.length) throw new BulkError(BULK_ERROR_CODES.invalidInput, `${file}: data row ${row} has ${cells.length} fields but the header has ${header.length}; quote fields that contain commas, quotes or line breaks`);
      const record: Record<string, string> = {};
      for (let i = 0; i < header.length; i++) record[header[i]] = cells[i];
      yield record;
    }
  }
}

/** The records of the selected data-row positions. */
async function* selectRows(rows: AsyncIterable<Record<string, string>>, select: Ranges): AsyncGenerator<Record<string, string>> {
  let pos = 0;
  let r = 0;
  for await (const row of rows) {
    while (r < select.length && pos >= select[r][1]) r++;
    if (r >= select.length) break;
    if (pos >= select[r][0]) yield row;
    pos++;
  }
}

/**
 * Finishes an interrupted load from its manifest: each recorded job is settled (Open → aborted, its rows
 * sent again; closed → waited for; results downloaded unless already written), then every row no settled job
 * holds is sent in new jobs, recorded in the same manifest (so a resume can itself be resumed).
 */
async function resumeRun(client: SalesforceClient, m: RunManifest, path: string, wait: number | undefined, say: (s: string) => void, stderr: Writable & { isTTY?: boolean }): Promise<number> {
  if (m.done) {
    say(`run ${path} already finished: every row has a result file in ${m.resultsDir}`);
    return 0;
  }
  await mkdir(m.resultsDir, { recursive: true });
  if (m.creating) await abortUnrecorded(client, m, say);
  delete m.creating;
  let bad = 0;
  const settled: typeof m.jobs = [];
  for (const job of m.jobs) {
    let info = await client.bulk.jobInfo('ingest', job.jobId);
    if (info.state === 'Open') {
      // Never closed: Salesforce has processed none of it, and its upload may be incomplete. Abort, resend.
      await client.bulk.abort('ingest', job.jobId).catch(async (err: unknown) => {
        // Closed meanwhile (by a process we do not know of): then it runs, and is waited for below.
        info = await client.bulk.jobInfo('ingest', job.jobId);
        if (info.state === 'Open') throw err;
      });
      if (info.state === 'Open') {
        say(`job ${job.jobId}: was never closed; aborted, its ${count(job.ranges)} rows are sent again`);
        for (const kind of ['success', 'failed', 'unprocessed']) await rm(join(m.resultsDir, `${job.jobId}-${kind}-records.csv`), { force: true });
        continue;
      }
    }
    settled.push(job);
    if (job.written) {
      say(`job ${job.jobId}: result files already written`);
      bad += Number(info.numberRecordsFailed ?? 0) + (info.state === 'JobComplete' ? 0 : Math.max(0, count(job.ranges) - Number(info.numberRecordsProcessed ?? 0)));
      continue;
    }
    if (!FINAL_JOB_STATES.includes(info.state)) {
      const progress = createProgress(stderr);
      const task = progress.task(`bulk job ${job.jobId}`);
      try {
        info = await client.bulk.waitForJob('ingest', job.jobId, { wait, expectedRecords: count(job.ranges), onEvent: (e) => e.type === 'job-polled' && task.update(e.numberRecordsProcessed, e.state) });
        task.finish(info.state);
      } finally {
        progress.close();
      }
    }
    bad += await downloadResults(client, job.jobId, info, m.resultsDir, say, count(job.ranges));
    job.written = true;
    saveManifest(path, m);
  }
  const select = complement(settled.flatMap((j) => j.ranges));
  // The jobs aborted above are dropped from the manifest: their rows get new jobs.
  m.jobs = settled;
  saveManifest(path, m);
  const report: LoadReport = { jobs: [], records: 0, notLoaded: 0 };
  const code = await load(client, { object: m.object, operation: m.operation, file: m.file, externalIdField: m.externalIdField, wait, concurrency: m.concurrency, maxRowsPerJob: m.maxRowsPerJob, resultsDir: m.resultsDir }, say, stderr, { path, manifest: m, select }, report);
  // The whole run, not only the rows this resume sent (which may be none).
  const total = m.jobs.reduce((n, j) => n + count(j.ranges), 0);
  say(`run ${path}: ${plural(total, 'row')} in ${plural(m.jobs.length, 'job')}, ${thousands(bad + report.notLoaded)} failed or unprocessed; results in ${m.resultsDir}`);
  return code === 0 && bad === 0 ? 0 : 1;
}

/**
 * The run died between creating a job and recording its id: that job is Open in the org (its data was never
 * uploaded) and no manifest entry names it. It is found among the org's ingest jobs (same object and
 * operation, Open, created within minutes of the recorded intent, by this user, in no manifest entry) and
 * aborted; the rows it was to hold are sent again like any row no settled job holds.
 */
async function abortUnrecorded(client: SalesforceClient, m: RunManifest, say: (s: string) => void): Promise<void> {
  const at = Date.parse(m.creating!.at);
  const known = new Set(m.jobs.map((j) => j.jobId.slice(0, 15)));
  const me = (await client.session()).identityUrl?.split('/').at(-1);
  let url: string | null = 'jobs/ingest?isPkChunkingEnabled=false';
  while (url) {
    const page: { records?: BulkJobInfo[]; nextRecordsUrl?: string | null } = await client.request(url);
    for (const j of page.records ?? []) {
      const created = Date.parse(String(j.createdDate ?? ''));
      if (j.state !== 'Open' || known.has(j.id.slice(0, 15)) || j.object.toLowerCase() !== m.object.toLowerCase() || j.operation !== m.operation) continue;
      if (!(created >= at - 60_000 && created <= at + 10 * 60_000)) continue;
      const by = typeof j.createdById === 'string' ? j.createdById : undefined;
      if (me && by && by.slice(0, 15) !== me.slice(0, 15)) continue;
      await client.bulk.abort('ingest', j.id);
      say(`job ${j.id}: created by the interrupted run but never recorded (it died right after creating it); aborted, its ${plural(m.creating!.rows, 'row')} are sent again`);
    }
    url = page.nextRecordsUrl ? page.nextRecordsUrl.replace(/^\/services\/data\/v[\d.]+\//, '') : null;
  }
}

function count(ranges: Ranges): number {
  return ranges.reduce((n, [a, b]) => n + (b - a), 0);
}

/**
 * Writes a final job's result files as Salesforce serves them, only those with rows (per the job's counts);
 * returns the rows not loaded (failed + unprocessed).
 */
async function downloadResults(client: SalesforceClient, jobId: string, info: BulkJobInfo, dir: string, say: (s: string) => void, rows?: number): Promise<number> {
  const processed = Number(info.numberRecordsProcessed ?? 0);
  const failed = Number(info.numberRecordsFailed ?? 0);
  say(`job ${jobId}: ${info.state}, ${processed - failed} succeeded, ${failed} failed${info.errorMessage ? ` (${info.errorMessage})` : ''}`);
  const files: ['successfulResults' | 'failedResults' | 'unprocessedrecords', string][] = [];
  if (processed - failed > 0) files.push(['successfulResults', 'success']);
  if (failed > 0) files.push(['failedResults', 'failed']);
  if (info.state !== 'JobComplete' || (rows !== undefined && processed < rows)) files.push(['unprocessedrecords', 'unprocessed']);
  for (const [file, kind] of files) {
    const res = await client.bulk.resultFile(jobId, file);
    const path = join(dir, `${jobId}-${kind}-records.csv`);
    await pipeline(res.body ? Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>) : Readable.from([]), createWriteStream(path));
    say(`  ${path}`);
  }
  return failed + (info.state === 'JobComplete' ? 0 : rows !== undefined ? Math.max(0, rows - processed) : 1);
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
  const bad = await downloadResults(client, jobId, info, dir, say);
  return bad === 0 ? 0 : 1;
}

/**
 * `sfbridge publish`: pushes records from a file (or stdin) into Salesforce, or runs the `publish:`
 * pipelines of a config file. Prints a summary, writes one result line per input record, exits 1 when any
 * record failed. Before anything is sent or written (state store, result file) it logs in once and checks
 * the object, the operation, the external ID field and every input column (after the mapping) against
 * describe, so a typo exits 2 with the closest name, as `bulk` refuses the same input.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { stringify } from 'csv-stringify/sync';
import { parse as parseYaml } from 'yaml';
import { readConfigFile } from '../engine/config.ts';
import { CONNECTION_FLAG_OPTIONS, CONNECTION_USAGE } from '../client/config.ts';
import type { FetchLike } from '../client/index.ts';
import {
  compileTransform,
  DEFAULT_PUBLISH_STATE,
  formatOf,
  lookupFieldsOf,
  MAKE_INSERT_SAFE,
  normalizeOperation,
  parsePublishPipelines,
  publish,
  PublishError,
  readRecords,
  runPipeline,
  transformSchema,
  validateTarget,
  validateTransform,
  type PublishInput,
  type PublishRecordResult,
  type PublishSummary,
  type PublishTarget,
} from '../engine/publish/index.ts';
import { openStore, type Store } from '../store/index.ts';
import { UsageError, parseDuration, parseFlags, plural, thousands } from './args.ts';
import { clientFromFlags, PUBSUB_FLAG_OPTIONS, pubsubFromFlags } from './connect.ts';
import { checkLogin, columnChecker, preflightTarget, type PublishOperation } from './preflight.ts';
import { createProgress } from './progress.ts';
import { reportError, writeJson } from './report.ts';
import { redactUrl } from './store-flags.ts';

const USAGE = `Usage:
  sfbridge publish --object Contact --operation insert|update|upsert|delete --from FILE.csv|FILE.jsonl|-
                   [--external-id External_Id__c] [--idempotency-field Sfbridge_Key__c] [--map mapping.yaml]
                   [--results FILE.jsonl|FILE.csv] [--state sqlite:./data/publish.db] [--path auto|collections|bulk|pubsub]
  sfbridge publish --config sfbridge.yaml [--pipeline NAME]

  --object NAME         target sObject (platform events: Order_Event__e, insert only)
  --operation OP        insert (or create), update, upsert (default; needs --external-id), delete (needs Id)
  --external-id FIELD   external ID field for upsert
  --idempotency-field F for insert: a text external ID field sfbridge fills with a per-record marker, so a
                        record whose answer was lost (crash, timeout) is looked up, never sent twice
  --match-field FIELD   for insert: field(s) of your data that find an already created record after a crash
                        or timeout (repeatable). With neither, Bulk API 2.0 loads are still settled from their
                        jobs' results; a Collections call whose answer was lost goes to the dead letters
  --from FILE|-         input: .csv (header row; Account.External_Id__c columns are parent lookups) or .jsonl
  --format csv|jsonl    input format when it cannot be told from the file name (stdin)
  --key FIELD           input field whose value identifies a record across runs (default: position + content)
  --map FILE            transforms (YAML: select, rename, drop, constants, expressions, lookups)
  --results FILE        per-record results (.jsonl or .csv; default: <input>.results.jsonl)
  --state URL           outbox + dead letters (default $SFBRIDGE_PUBLISH_STATE or ${DEFAULT_PUBLISH_STATE}, which
                        sfbridge dlq reads too): a rerun of the same input resumes and never sends a
                        published record again
  --pipeline NAME       outbox namespace (default derived from object, operation and input);
                        with --config: run only this pipeline
  --path P              auto (default: < 2,000 records collections, else Bulk API 2.0; platform events over
                        the Pub/Sub API when it is reachable, else collections), collections, bulk, pubsub
                        (platform events only: Publish, or PublishStream above 200 events)
  --pubsub-endpoint H:P where the Pub/Sub API is (SF_PUBSUB_ENDPOINT; default Salesforce's for orgs on
                        Salesforce hosts, or the pubsub: setting of --connection NAME);
                        --pubsub-plaintext (no TLS), --pubsub-ca FILE as for sfbridge events
  --all-or-none         roll back each 200-record Collections call when one of its records fails
  --assignment-rule R   Case/Lead assignment rules: true, false or a rule Id (01Q…); an Id also works on Bulk
  --duplicate-rules S   Sforce-Duplicate-Rule-Header, e.g. allowSave=true;runAsCurrentUser=true
  --update-only         upsert that never creates (?updateOnly=true): one REST call per record, as only
                        the single-record upsert has it
                        (--all-or-none, --duplicate-rules and true/false rules make auto use Collections)
  --parallel N          collections calls in flight (default 4)
  --describe-max-age D  how long a describe kept in --state is used without asking the org (default 24h)
  --max-retries N       resend rounds for transient errors (default 4)
  --config FILE         run the publish: pipelines of this config file (its connection: block connects)
  --json                print the summary as one JSON document on stdout

Exit status: 0 all records succeeded, 1 any record failed (or an error), 2 usage error or input the org
refuses (unknown object, field or column; nothing sent), 3 login failed.

${CONNECTION_USAGE}
`;

/** Injection points for tests. */
export interface PublishCommandIO {
  stdout?: Writable & { isTTY?: boolean };
  stderr?: Writable & { isTTY?: boolean; columns?: number };
  stdin?: Readable;
  env?: NodeJS.ProcessEnv;
  fetch?: FetchLike;
  /** Extra publish options (tests). */
  publishOptions?: { retryBaseDelayMs?: number; bulk?: import('../engine/publish/index.ts').BulkIngestApi };
}

/** Opens a SQLite/Postgres store, creating the SQLite file's folder. */
export async function openStateStore(url: string): Promise<Store> {
  if (url.startsWith('sqlite:') && url !== 'sqlite::memory:') await mkdir(dirname(resolve(url.slice('sqlite:'.length))), { recursive: true });
  return openStore(url);
}


/** Writes results as JSON lines or CSV; the file is created with the first result (a refused input leaves none). */
class ResultWriter {
  readonly #path: string;
  #stream: Writable | undefined;
  readonly #csv: boolean;
  #header = false;
  constructor(path: string) {
    this.#path = path;
    this.#csv = /\.csv$/i.test(path);
  }
  get #out(): Writable {
    this.#stream ??= createWriteStream(this.#path);
    return this.#stream;
  }
  async write(r: PublishRecordResult): Promise<void> {
    const e = r.errors[0];
    let line: string;
    if (this.#csv) {
      line = this.#header ? '' : stringify([['row', 'key', 'success', 'id', 'created', 'error_code', 'error_message', 'error_fields', 'attempts', 'dead_letter_id']]);
      this.#header = true;
      line += stringify([[r.index + 1, r.key, String(r.success), r.id ?? '', String(r.created), e?.code ?? '', e?.message ?? '', (e?.fields ?? []).join(','), r.attempts, r.deadLetterId ?? '']]);
    } else {
      line = `${JSON.stringify({ row: r.index + 1, key: r.key, success: r.success, id: r.id, created: r.created, ...(e ? { error: e } : {}), attempts: r.attempts, ...(r.alreadyPublished ? { alreadyPublished: true } : {}), ...(r.reconciled ? { reconciled: true } : {}), ...(r.deadLetterId ? { deadLetterId: r.deadLetterId } : {}) })}\n`;
    }
    if (!this.#out.write(line)) await new Promise((res) => this.#out.once('drain', res));
  }
  close(): Promise<void> {
    const out = this.#stream;
    if (!out) return Promise.resolve();
    return new Promise((res, rej) => out.end((err?: Error | null) => (err ? rej(err) : res())));
  }
}

function summaryLine(what: string, s: PublishSummary): string {
  if (!s.paths.length && s.failed === 0) return `${what}: ${plural(s.total, 'record')}: 0 sent, ${thousands(s.total)} already published\n`;
  const n = thousands;
  const parts = [`${n(s.succeeded)} succeeded (${n(s.created)} created)`, `${n(s.failed)} failed`];
  if (s.deadLettered) parts.push(`${n(s.deadLettered)} dead-lettered`);
  if (s.retried) parts.push(`${n(s.retried)} resent after transient errors`);
  if (s.alreadyPublished) parts.push(`${n(s.alreadyPublished)} already published earlier`);
  if (s.reconciled) parts.push(`${n(s.reconciled)} found in Salesforce after an unknown outcome`);
  if (s.superseded) parts.push(`${n(s.superseded)} older dead ${s.superseded === 1 ? 'letter' : 'letters'} superseded`);
  return `${what}: ${plural(s.total, 'record')} via ${s.paths.join('+') || 'nothing sent'}: ${parts.join(', ')}\n`;
}

/** A summary as the stable `--json` shape (docs/CLI.md). */
function summaryJson(s: PublishSummary, extra: Record<string, unknown>): Record<string, unknown> {
  return { total: s.total, sent: s.paths.length ? s.total - s.alreadyPublished : 0, succeeded: s.succeeded, created: s.created, failed: s.failed, deadLettered: s.deadLettered, retried: s.retried, alreadyPublished: s.alreadyPublished, reconciled: s.reconciled, superseded: s.superseded ?? 0, paths: s.paths, ...extra };
}

/** The default state store, shared with `sfbridge dlq`. */
export function defaultPublishState(env: NodeJS.ProcessEnv): string {
  return env.SFBRIDGE_PUBLISH_STATE || DEFAULT_PUBLISH_STATE;
}

/** Runs the command; returns the exit code. */
export async function publishCommand(argv: string[], io: PublishCommandIO = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const env = io.env ?? process.env;
  let json = false;
  try {
    const { values: parsedValues } = parseFlags(argv, {
      ...CONNECTION_FLAG_OPTIONS,
      object: { type: 'string' },
      operation: { type: 'string' },
      'external-id': { type: 'string' },
      'match-field': { type: 'string', multiple: true },
      'idempotency-field': { type: 'string' },
      from: { type: 'string' },
      format: { type: 'string' },
      key: { type: 'string' },
      map: { type: 'string' },
      results: { type: 'string' },
      state: { type: 'string' },
      pipeline: { type: 'string' },
      path: { type: 'string' },
      'all-or-none': { type: 'boolean' },
      'assignment-rule': { type: 'string' },
      'duplicate-rules': { type: 'string' },
      'update-only': { type: 'boolean' },
      'describe-max-age': { type: 'string' },
      parallel: { type: 'string' },
      'max-retries': { type: 'string' },
      config: { type: 'string', short: 'c' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      ...PUBSUB_FLAG_OPTIONS,
    }, USAGE);
    const values = parsedValues as Record<string, string | string[] | boolean | undefined>;
    json = Boolean(values.json);
    if (values.help) {
      stdout.write(USAGE);
      return 0;
    }
    const path = (values.path as string | undefined) ?? 'auto';
    if (!['auto', 'collections', 'bulk', 'pubsub'].includes(path)) throw new UsageError(`--path must be auto, collections, bulk or pubsub, got "${path}"`);
    const pubsub = await pubsubFromFlags(values, env);
    const intFlag = (name: string, min: number, max: number): number | undefined => {
      const v = values[name] as string | undefined;
      if (v === undefined) return undefined;
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got "${v}"`);
      return n;
    };
    const parallelism = intFlag('parallel', 1, 10);
    const maxRetries = intFlag('max-retries', 0, 20);
    const describeFreshForMs = values['describe-max-age'] !== undefined ? parseDuration(values['describe-max-age'] as string, '--describe-max-age') : undefined;
    const progress = createProgress(stderr);

    if (values.config) {
      for (const f of ['object', 'operation', 'from', 'map', 'external-id']) if (values[f] !== undefined) throw new UsageError(`--${f} cannot be combined with --config: the pipeline defines it`);
      const configPath = resolve(values.config as string);
      let doc: unknown;
      try {
        doc = await readConfigFile(configPath, env);
      } catch (err) {
        throw new UsageError(`config: ${(err as Error).message}`, { code: 'CONFIG_ERROR' });
      }
      let pipelines;
      try {
        pipelines = parsePublishPipelines((doc as { publish?: unknown } | null)?.publish, 'publish');
      } catch (err) {
        throw new UsageError(`${values.config}: ${(err as Error).message}`);
      }
      if (values.pipeline) pipelines = pipelines.filter((p) => p.name === values.pipeline);
      if (pipelines.length === 0) throw new UsageError(values.pipeline ? `no publish pipeline named "${values.pipeline}" in ${values.config}` : `${values.config} has no publish: pipelines`);
      // The file's connection: block connects (flags win key by key), as for every command.
      const client = await clientFromFlags(values, env, { fetch: io.fetch, ...(pubsub ? { pubsub } : {}) });
      await checkLogin(client);
      for (const p of pipelines) await preflightTarget(client, p.target.object, p.target.operation as PublishOperation, p.target.externalIdField);
      let failed = 0;
      const results: Record<string, unknown>[] = [];
      for (const p of pipelines) {
        const task = progress.task(p.name);
        const resultsPath = values.results ? (values.results as string).replace(/(\.[a-z]+)?$/i, (ext) => `.${p.name}${ext || '.jsonl'}`) : undefined;
        const writer = resultsPath ? new ResultWriter(resultsPath) : undefined;
        const s = await runPipeline(p, {
          client,
          baseDir: dirname(configPath),
          stateUrl: values.state as string | undefined,
          onResult: (r) => writer?.write(r),
          onProgress: (done, total, status) => {
            task.setTotal(total);
            task.update(done, status);
          },
          onWarning: (m) => stderr.write(`warning: ${m}\n`),
          publishOptions: { ...io.publishOptions, ...(maxRetries !== undefined ? { maxRetries } : {}), ...(parallelism !== undefined ? { parallelism } : {}) },
        });
        task.finish();
        await writer?.close();
        failed += s.failed;
        results.push({ pipeline: p.name, object: p.target.object, operation: p.target.operation, ...summaryJson(s, { writtenBack: s.writtenBack ?? 0, ...(resultsPath ? { results: resultsPath } : {}) }) });
        if (!json) stdout.write(summaryLine(`${p.name} → ${p.target.object} ${p.target.operation}`, s) + (s.writtenBack ? `  ${plural(s.writtenBack, 'source row')} updated\n` : '') + (resultsPath ? `  results: ${resultsPath}\n` : ''));
      }
      progress.close();
      if (json) writeJson(stdout, 'publish', { pipelines: results });
      return failed > 0 ? 1 : 0;
    }

    if (!values.object) throw new UsageError(`--object is required (e.g. --object Contact)\n\n${USAGE}`);
    if (!values.from) throw new UsageError(`--from is required: a .csv or .jsonl file, or - for stdin`);
    const target: PublishTarget = {
      object: values.object as string,
      operation: normalizeOperation((values.operation as string | undefined) ?? 'upsert'),
      externalIdField: values['external-id'] as string | undefined,
      matchFields: values['match-field'] as string[] | undefined,
      ...(values['idempotency-field'] ? { idempotencyField: values['idempotency-field'] as string } : {}),
      ...targetFlags(values),
    };
    try {
      validateTarget(target, path as 'auto');
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const from = values.from as string;
    const format = (values.format as 'csv' | 'jsonl' | undefined) ?? (from === '-' ? 'jsonl' : formatOf(from));
    if (format !== 'csv' && format !== 'jsonl') throw new UsageError(`cannot tell the input format of "${from}": name it .csv or .jsonl, or pass --format csv|jsonl`);
    let transform = compileTransform(undefined);
    if (values.map) {
      let spec;
      try {
        const parsed = transformSchema.safeParse(parseYaml(await readFile(values.map as string, 'utf8')));
        if (!parsed.success) throw new Error(parsed.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; '));
        spec = parsed.data;
        validateTransform(spec, values.map as string);
      } catch (err) {
        throw new UsageError(`--map ${values.map}: ${(err as Error).message} (keys: select, rename, drop, constants, expressions, lookups)`);
      }
      transform = compileTransform(spec);
    }
    const stateUrl = (values.state as string | undefined) ?? defaultPublishState(env);
    const resultsPath = (values.results as string | undefined) ?? (from === '-' ? 'publish-results.jsonl' : `${from.replace(/\.[^./]+$/, '')}.results.jsonl`);
    const pipeline = (values.pipeline as string | undefined) ?? `cli:${target.object}:${target.operation}:${from === '-' ? 'stdin' : basename(from)}`;
    // Checked before anything is opened or written, so a typo leaves no state file or result file behind.
    if (from !== '-') await statOrUsage(from, 'file', `--from ${from}`);
    await statOrUsage(dirname(resolve(resultsPath)), 'directory', `--results ${resultsPath}: the directory ${dirname(resultsPath)}`);
    const client = await clientFromFlags(values, env, { fetch: io.fetch, ...(pubsub ? { pubsub } : {}) });
    // Preflight: login, object, operation, external ID, then every column of the input (a file is read once
    // for it; stdin is checked record by record as it streams). Nothing exists yet to clean up on refusal.
    await checkLogin(client);
    const describe = await preflightTarget(client, target.object, target.operation as PublishOperation, target.externalIdField);
    target.object = describe.name;
    const checkColumns = columnChecker(client, describe, target.operation as PublishOperation);
    const keyField = values.key as string | undefined;
    if (from !== '-') {
      let n = 0;
      try {
        for await (const row of readRecords(from, format)) {
          n++;
          await checkColumns(transform(row), format === 'csv' ? `${from}: ` : `${from} line ${n}: `);
        }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new UsageError(`--from ${from}: no such file`, { code: 'INPUT_NOT_FOUND' });
        throw err;
      }
    }
    // Notes about the run come once it is known to be valid, so a refusal is the first thing printed.
    if (stateUrl === 'sqlite::memory:' && target.operation === 'insert' && !target.object.endsWith('__e')) {
      stderr.write(`warning: --state sqlite::memory: keeps the outbox in memory: a rerun after a crash sends every record again; use a file (the default ${DEFAULT_PUBLISH_STATE})\n`);
    }
    if (target.operation === 'insert' && !target.object.endsWith('__e') && lookupFieldsOf(target).length === 0) {
      stderr.write(`note: plain insert without --idempotency-field or --match-field: a record whose answer is lost in a crash or timeout is not resent but dead-lettered for you to check (Bulk API 2.0 loads are settled from their jobs' results); ${MAKE_INSERT_SAFE}\n`);
    }
    const store = await openStateStore(stateUrl);
    const writer = new ResultWriter(resultsPath);
    const task = progress.task(`${target.object} ${target.operation}`);
    let summary: PublishSummary;
    try {
      const source = from === '-' ? (io.stdin ?? process.stdin) : from;
      const records = (async function* (): AsyncGenerator<PublishInput> {
        let n = 0;
        for await (const row of readRecords(source, format)) {
          const k = keyField ? row[keyField] : undefined;
          const record = transform(row);
          n++;
          if (from === '-') await checkColumns(record, `stdin ${format === 'csv' ? 'record' : 'line'} ${n}: `);
          yield { key: k == null ? undefined : String(k), record };
        }
      })();
      summary = await publish({
        client,
        target,
        state: await store.publishState(),
        pipeline,
        records,
        path: path as 'auto',
        parallelism,
        maxRetries,
        ...(describeFreshForMs !== undefined ? { describeFreshForMs } : {}),
        ...io.publishOptions,
        onResult: (r) => writer.write(r),
        onProgress: (done, total, status) => {
          task.setTotal(total);
          task.update(done, status);
        },
        onWarning: (m) => stderr.write(`warning: ${m}\n`),
      });
      task.finish();
    } finally {
      progress.close();
      await writer.close();
      await store.close();
    }
    if (json) writeJson(stdout, 'publish', { object: target.object, operation: target.operation, pipeline, state: redactUrl(stateUrl), results: resultsPath, ...summaryJson(summary, {}) });
    else {
      stdout.write(summaryLine(`${target.object} ${target.operation}`, summary) + `  results: ${resultsPath}\n`);
      if (summary.deadLettered) stdout.write(`  inspect failures: sfbridge dlq list${values.state ? ` --state ${values.state}` : ''}\n`);
    }
    return summary.failed > 0 ? 1 : 0;
  } catch (err) {
    return reportError('publish', err, { stdout, stderr, json });
  }
}

/** Throws a one-line usage error when `path` is missing or is not a `kind`. */
async function statOrUsage(path: string, kind: 'file' | 'directory', what: string): Promise<void> {
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(`${what} ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code})`}: ${kind === 'file' ? 'check the path' : 'create it first, or pick another path'}`);
  }
  if (kind === 'file' && st.isDirectory()) throw new UsageError(`${what} is a directory: name the input file`);
  if (kind === 'directory' && !st.isDirectory()) throw new UsageError(`${what} is not a directory`);
}

/** The target options of `--all-or-none`, `--assignment-rule`, `--duplicate-rules` and `--update-only`. */
function targetFlags(values: Record<string, string | string[] | boolean | undefined>): Partial<PublishTarget> {
  const out: Partial<PublishTarget> = {};
  if (values['all-or-none']) out.allOrNone = true;
  if (values['update-only']) out.updateOnly = true;
  const rule = values['assignment-rule'] as string | undefined;
  if (rule !== undefined) out.assignmentRule = /^true$/i.test(rule) ? true : /^false$/i.test(rule) ? false : rule;
  const dup = values['duplicate-rules'] as string | undefined;
  if (dup !== undefined) {
    const rules: NonNullable<PublishTarget['duplicateRules']> = {};
    for (const part of dup.split(/[;,]/).map((p) => p.trim()).filter(Boolean)) {
      const m = /^(allowSave|includeRecordDetails|runAsCurrentUser)=(true|false)$/i.exec(part);
      if (!m) throw new UsageError(`--duplicate-rules: "${part}" is not NAME=true|false with NAME one of allowSave, includeRecordDetails, runAsCurrentUser`);
      const key = (['allowSave', 'includeRecordDetails', 'runAsCurrentUser'] as const).find((k) => k.toLowerCase() === m[1].toLowerCase())!;
      rules[key] = m[2].toLowerCase() === 'true';
    }
    out.duplicateRules = rules;
  }
  return out;
}

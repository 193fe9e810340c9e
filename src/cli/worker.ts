/**
 * `sfbridge worker`: one process of the fleet. It takes jobs from the Postgres job engine that
 * `sfbridge serve --store postgres://… --workers N` schedules into (N may be 0: schedule only) and runs
 * them: one object of one sync pipeline, a dead-letter replay, a run of any other pipeline. Any number of
 * workers, on any machines, share the work; at most one runs a given (connection, object) at a time.
 *
 * SIGTERM or SIGINT: the running jobs commit their current batch and are handed back to the queue (another
 * worker continues from their checkpoints); a second signal exits at once. A worker killed outright is
 * noticed by its missing heartbeat and its jobs are taken over within seconds.
 */
import { untilStopped } from './stop.ts';
import { dirname, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import pino from 'pino';
import type { FetchLike } from '../client/index.ts';
import { SyncConfigError } from '../engine/config.ts';
import type { ConnectionSpec } from '../engine/connections/schema.ts';
import { logServiceEvents } from '../engine/events.ts';
import { loadServiceConfig, type PipelineEntry } from '../engine/pipelines/index.ts';
import { Service } from '../engine/service.ts';
import { parseFlags, UsageError } from './args.ts';
import { redactUrl } from './store-flags.ts';

const USAGE = `Usage: sfbridge worker --store postgres://… [--config sfbridge.yaml] [--concurrency N]

Runs jobs scheduled by \`sfbridge serve --store postgres://… --workers N\` on the same store. Start as many
as the work needs, on any machines; each (connection, object) runs on one worker at a time.

  --store URL          the service's Postgres store: postgres://user@host/db[?schema=s] (or SFBRIDGE_STORE)
  --config FILE        the same config file serve runs with (its connections: and pipelines:)
  --concurrency N      jobs at once in this worker (default 2)
  --log-level LEVEL    info (default), warn, error, debug

SIGTERM finishes the current batch of each job and hands the rest back to the queue.
`;

export interface WorkerIO {
  stdout?: Writable;
  stderr?: Writable;
  env?: NodeJS.ProcessEnv;
  /** Stops the worker when aborted (tests); default SIGINT/SIGTERM. */
  signal?: AbortSignal;
  fetch?: FetchLike;
  onReady?: (service: Service) => void;
}

export async function workerCommand(argv: string[], io: WorkerIO = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const env = io.env ?? process.env;
  const { values } = parseFlags(argv, {
    store: { type: 'string' },
    config: { type: 'string', short: 'c' },
    concurrency: { type: 'string' },
    'log-level': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  }, USAGE);
  if (values.help) {
    stdout.write(USAGE);
    return 0;
  }
  const concurrency = values.concurrency === undefined ? 2 : Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 32) throw new UsageError(`--concurrency must be a whole number 1-32, got "${values.concurrency}"`);
  const level = values['log-level'] ?? env.SFBRIDGE_LOG_LEVEL ?? 'info';
  if (!['debug', 'info', 'warn', 'error'].includes(level)) throw new UsageError(`--log-level must be debug, info, warn or error, got "${level}"`);
  const configFile = values.config ?? env.SFBRIDGE_CONFIG;
  let connections: Record<string, ConnectionSpec> = {};
  let pipelines: PipelineEntry[] = [];
  let fileStore: string | undefined;
  let baseDir = process.cwd();
  if (configFile) {
    try {
      const cfg = await loadServiceConfig(configFile, env);
      connections = cfg.connections;
      pipelines = cfg.pipelines;
      fileStore = cfg.store;
      baseDir = dirname(resolve(configFile));
    } catch (err) {
      if (err instanceof SyncConfigError) throw new UsageError(`config: ${err.message}`);
      throw err;
    }
  }
  const storeUrl = values.store ?? env.SFBRIDGE_STORE ?? fileStore;
  if (!storeUrl) throw new UsageError('--store is required: the Postgres store serve schedules into (postgres://user@host/db?schema=sfbridge)');
  if (!/^postgres(ql)?:\/\//.test(storeUrl)) throw new UsageError(`--store must be a postgres://… URL (workers share jobs through Postgres), got "${redactUrl(storeUrl)}"`);

  const log = pino({ base: undefined, level, timestamp: pino.stdTimeFunctions.isoTime }, stderr as never);
  const service = await Service.open({ storeUrl, connections, pipelines, baseDir, concurrency, env, fetch: io.fetch, jobs: 'postgres', schedule: false });
  const detachLog = logServiceEvents(service.events, log);
  await service.start();
  const instance = (service.queue as { instance?: string }).instance ?? '';
  stdout.write(`sfbridge worker: ready (${instance}, concurrency ${concurrency}, store ${redactUrl(storeUrl)})\n`);
  io.onReady?.(service);

  const reason = await untilStopped(io.signal);
  stdout.write(`sfbridge worker: stopping (${reason}); committing the current batch and handing the rest back\n`);
  await service.stop(reason);
  detachLog();
  stdout.write('sfbridge worker: stopped\n');
  return 0;
}

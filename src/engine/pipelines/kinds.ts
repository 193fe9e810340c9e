/**
 * The pipeline model: every pipeline has a `name`, a `kind`, the `connection` it runs on and a `schedule`;
 * what else it takes is its kind's business. Kinds register here (sync and publish below in this folder;
 * event, comments and inbound pipelines add themselves the same way), and the union of their zod schemas
 * validates the config file and the HTTP API alike and becomes the OpenAPI document's `Pipeline`.
 */
import { Cron } from 'croner';
import { z } from 'zod';
import type { SalesforceClient } from '../../client/index.ts';
import type { DeadLetter, JsonObject, Store } from '../../store/index.ts';
import { parseDurationMs } from '../config.ts';
import type { RunContext, RunObjectCounts, ServiceEvents, SyncEvents } from '../events.ts';
import type { JobPriority } from '../jobs/queue.ts';

/** Pipeline names: used in URLs, job keys and metric labels. */
export const pipelineName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$/, 'a name of letters, digits, _ . : - (at most 63 characters)');

/** `5m` / `{every: 5m}` / `{cron: "0 * * * *", timezone: "Europe/Berlin"}`. */
export const scheduleSchema = z
  .union([
    z.string().describe('an interval such as 30s, 5m, 1h'),
    z.strictObject({ every: z.union([z.string(), z.number()]).describe('interval: 30s, 5m, 1h or seconds') }),
    z.strictObject({ cron: z.string().describe('cron expression (5 or 6 fields)'), timezone: z.string().optional() }),
  ])
  .superRefine((v, ctx) => {
    const err = scheduleProblem(v);
    if (err) ctx.addIssue({ code: 'custom', message: err });
  })
  .meta({ id: 'Schedule' });
export type ScheduleSpec = z.infer<typeof scheduleSchema>;

function scheduleProblem(v: ScheduleSpec): string | undefined {
  if (typeof v === 'string' || 'every' in v) {
    const ms = parseDurationMs(typeof v === 'string' ? v : v.every);
    if (ms === undefined) return `must be an interval like 30s, 5m or 1h, or {cron: "*/5 * * * *"}, got ${JSON.stringify(typeof v === 'string' ? v : v.every)}`;
    if (ms < 1000) return 'an interval shorter than 1s would call the org continuously; use 1s or more';
    return undefined;
  }
  try {
    new Cron(v.cron, { paused: true, timezone: v.timezone });
    return undefined;
  } catch (err) {
    return `cron: ${(err as Error).message} (e.g. "*/15 * * * *" for every 15 minutes)`;
  }
}

/** When a pipeline with `schedule` runs next, after a run that ended (or a start) at `after`. */
export function nextRunAt(schedule: ScheduleSpec, after: Date, defaultEveryMs: number): Date {
  if (typeof schedule === 'string' || 'every' in schedule) {
    const ms = parseDurationMs(typeof schedule === 'string' ? schedule : schedule.every) ?? defaultEveryMs;
    return new Date(after.getTime() + ms);
  }
  const next = new Cron(schedule.cron, { paused: true, timezone: schedule.timezone }).nextRun(after);
  // A cron with no future occurrence (a date in the past) never runs again.
  return next ?? new Date(8.64e15);
}

/** Fields every pipeline has. */
export const basePipelineFields = {
  name: pipelineName,
  connection: z.string().min(1).describe('name of the connection the pipeline runs on'),
  schedule: scheduleSchema.optional(),
  paused: z.boolean().optional().describe('a paused pipeline runs only when started by hand'),
  description: z.string().max(500).optional(),
};

/** What a kind's run gets from the service. */
export interface PipelineRunContext {
  ctx: RunContext;
  /** A client for this run (own API governor, shared session). */
  client(): Promise<SalesforceClient>;
  /** Shared store handles by URL (one per database file or schema for the whole service). */
  store(url: string): Promise<Store>;
  /** The service's own store URL (default for state a kind keeps). */
  serviceStoreUrl: string;
  /** Relative paths in the config resolve against this directory. */
  baseDir: string;
  /** Engine events of this run (forwarded to the service stream with the run's context). */
  events: SyncEvents;
  service: ServiceEvents;
  /** Shutdown: finish the current batch, then return `interrupted`. */
  signal: AbortSignal;
  /** The job's checkpoint (what an interrupted attempt of this run already finished). */
  checkpoint: JsonObject | null;
  saveCheckpoint(value: JsonObject): Promise<void>;
  /** Live per-object counts (the run row and the dashboard). */
  report(object: string, counts: RunObjectCounts): void;
  /** A cycle run by a sync object's CDC leader (safety net, catch-up): it reads objects a scheduled run leaves to the leader. */
  leader?: boolean;
}

export interface PipelineRunResult {
  status: 'succeeded' | 'failed' | 'interrupted';
  objects: Record<string, RunObjectCounts>;
  apiCalls: number;
  error?: string;
  errorCode?: string;
  /** Run again no later than this (work waiting for a retry), whatever the schedule says. */
  nextRunAt?: Date;
}

/** A kind of pipeline. `S` is the validated spec. */
export interface PipelineKind<S extends { name: string; connection: string; kind: string } = { name: string; connection: string; kind: string; schedule?: ScheduleSpec; paused?: boolean }> {
  kind: string;
  /** Strict zod object with `kind: z.literal(kind)` and {@link basePipelineFields}. */
  schema: z.ZodType<S>;
  /** Interval when the pipeline has no schedule (for a long-lived kind: the wait after a run that ended). */
  defaultEveryMs: number;
  /**
   * A run that lasts until the service stops (an event subscription). Such runs do not take one of the
   * service's worker slots, so they never hold up scheduled work.
   */
  longLived?: boolean;
  /** Checks across pipelines (e.g. two syncs writing one mirror table); returns problems. */
  conflicts?(spec: S, others: readonly S[]): string[];
  /** Checks within one spec that its schema cannot express (kept out of the schema so the union stays a plain object union). */
  check?(spec: S): { path: string; message: string } | undefined;
  /** Queue priority of a scheduled run, from what the last runs left in `state`. */
  priority(spec: S, state: JsonObject): JobPriority;
  /** Objects (or other units) the run works through, for the dashboard before it starts. */
  units?(spec: S): string[];
  run(spec: S, run: PipelineRunContext): Promise<PipelineRunResult>;
  /** Open dead letters per pipeline, for kinds that have them. */
  deadLetterStore?(spec: S, serviceStoreUrl: string, baseDir: string): string | undefined;
  /**
   * Sends a dead letter again where the kind delivers (a kind without it replays through the publisher, to
   * Salesforce); marks the letter replayed on success and returns the outcome.
   */
  replayDeadLetter?(spec: S, letter: DeadLetter, run: { store(url: string): Promise<Store>; serviceStoreUrl: string; baseDir: string; signal: AbortSignal; payload?: JsonObject }): Promise<{ success: boolean; error?: { code: string; message: string } }>;
}

const kinds = new Map<string, PipelineKind<never>>();

/** Adds a pipeline kind (at import time of the kind's module). */
export function registerPipelineKind<S extends { name: string; connection: string; kind: string }>(kind: PipelineKind<S>): void {
  kinds.set(kind.kind, kind as unknown as PipelineKind<never>);
}

export function pipelineKind(kind: string): PipelineKind | undefined {
  return kinds.get(kind) as PipelineKind | undefined;
}

export function pipelineKinds(): string[] {
  return [...kinds.keys()];
}

/**
 * The union of every registered kind's schema, discriminated by `kind`. `body`: the shape of an API request
 * body, where the name may be left out (the URL names the pipeline).
 */
export function pipelineSchema(opts: { body?: boolean } = {}): z.ZodType<{ name: string; connection: string; kind: string; schedule?: ScheduleSpec; paused?: boolean }> {
  const all = [...kinds.values()].map((k) => {
    const schema = k.schema as unknown as z.ZodObject;
    if (!opts.body) return schema;
    const id = z.globalRegistry.get(schema)?.id;
    return schema.extend({ name: pipelineName.optional().describe('defaults to the name in the URL') }).meta(id ? { id: `${id}Body` } : {});
  }) as unknown as [z.ZodObject, ...z.ZodObject[]];
  return z.discriminatedUnion('kind', all).meta({ id: opts.body ? 'PipelineBody' : 'Pipeline' }) as never;
}

/** A validation failure of a pipeline, with its dotted path. */
export class PipelineError extends Error {
  readonly code: string;
  readonly status: number;
  readonly path: string;
  constructor(code: string, status: number, message: string, path = '') {
    super(message);
    this.name = 'PipelineError';
    this.code = code;
    this.status = status;
    this.path = path;
  }
}

/** Validates one pipeline spec against its kind; throws a {@link PipelineError} naming the place. */
export function parsePipeline(raw: unknown, where = 'pipeline'): { name: string; connection: string; kind: string; schedule?: ScheduleSpec; paused?: boolean } & Record<string, unknown> {
  const kindName = (raw as { kind?: unknown } | null)?.kind;
  const kind = typeof kindName === 'string' ? kinds.get(kindName) : undefined;
  if (!kind) {
    throw new PipelineError('INVALID_PIPELINE', 400, `${where}.kind: must be one of ${pipelineKinds().join(', ')}, got ${JSON.stringify(kindName ?? null)}`, 'kind');
  }
  const parsed = (kind.schema as z.ZodType).safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue.path.map(String).join('.');
    let message = issue.message;
    if (issue.code === 'unrecognized_keys') message = `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')} for a ${kindName} pipeline`;
    throw new PipelineError('INVALID_PIPELINE', 400, `${where}${path ? `.${path}` : ''}: ${message}`, path);
  }
  const problem = kind.check?.(parsed.data as never);
  if (problem) throw new PipelineError('INVALID_PIPELINE', 400, `${where}.${problem.path}: ${problem.message}`, problem.path);
  return parsed.data as never;
}

/**
 * Response shapes of `/api/v1` (request bodies are the engine's own schemas: Connection, Pipeline). Every
 * shape has an OpenAPI component id, so the generated document reads like a hand-written one.
 */
import { z } from 'zod';
import { heldView } from '../../engine/connections/schema.ts';

export const errorSchema = z
  .object({
    error: z.object({
      code: z.string().describe('stable error code'),
      message: z.string().describe('what went wrong and what to change'),
      path: z.string().optional().describe('the field the error concerns'),
    }),
  })
  .meta({ id: 'Error' });

export const objectCountsSchema = z
  .object({
    read: z.number().int(),
    written: z.number().int(),
    deleted: z.number().int(),
    failed: z.number().int().optional(),
    status: z.enum(['running', 'ok', 'failed', 'skipped', 'aborted']),
    mode: z.string().optional(),
    error: z.string().optional(),
  })
  .meta({ id: 'ObjectCounts' });

export const runSchema = z
  .object({
    id: z.number().int(),
    pipeline: z.string(),
    kind: z.string(),
    trigger: z.enum(['schedule', 'manual', 'resume', 'replay']),
    status: z.enum(['running', 'succeeded', 'failed', 'interrupted']),
    started_at: z.string(),
    finished_at: z.string().nullable(),
    seconds: z.number().nullable(),
    objects: z.record(z.string(), objectCountsSchema),
    api_calls: z.number().int(),
    error: z.string().nullable(),
    resumed_from: z.number().int().nullable().describe('the interrupted run this one continues'),
  })
  .meta({ id: 'Run' });

export const runEventSchema = z
  .object({
    seq: z.number().int(),
    at: z.string(),
    level: z.enum(['info', 'warn', 'error']),
    type: z.string(),
    message: z.string(),
    data: z.unknown(),
  })
  .meta({ id: 'RunEvent' });

export const scheduleViewSchema = z
  .object({
    next_run_at: z.string().nullable(),
    last_run_at: z.string().nullable(),
    last_run_id: z.number().int().nullable(),
    last_status: z.string().nullable(),
    paused: z.boolean(),
  })
  .meta({ id: 'ScheduleState' });

export const pipelineViewSchema = z
  .object({
    name: z.string(),
    kind: z.string(),
    connection: z.string(),
    source: z.enum(['config', 'api']),
    read_only: z.boolean(),
    state: z.enum(['running', 'queued', 'paused', 'idle', 'held']).describe("held: the connection's org refused the last run (see held:); the pipeline waits until that ends"),
    spec: z.record(z.string(), z.unknown()).describe('the pipeline as written (file or API body)'),
    schedule: scheduleViewSchema,
    lag_seconds: z.number().nullable().describe('seconds since the start of the last successful run (the data is current as of then)'),
    created_at: z.string().optional(),
    updated_at: z.string().optional(),
    held: heldView.optional().describe("the connection's hold, while its pipelines wait"),
    cdc: z
      .array(
        z.object({
          object: z.string(),
          state: z.enum(['following', 'queued', 'retrying', 'failed', 'waiting']).describe('following: the leader runs; waiting: the initial load is not done (or the pipeline is paused); retrying: it failed and tries again at retry_at'),
          job_id: z.number().int().nullable(),
          run_id: z.number().int().nullable().describe("the leader's long-lived run"),
          error: z.string().nullable(),
          retry_at: z.string().nullable(),
        }),
      )
      .optional()
      .describe('sync pipelines with mode: cdc objects: the change-event leader of each (one per connection and object, fleet-wide)'),
  })
  .meta({ id: 'PipelineView' });

export const queuedRunSchema = z
  .object({
    pipeline: z.string(),
    job_id: z.number().int(),
    state: z.enum(['queued', 'running']),
    run_at: z.string(),
  })
  .meta({ id: 'QueuedRun' });

export const deadLetterSchema = z
  .object({
    id: z.number().int(),
    pipeline: z.string(),
    key: z.string(),
    object: z.string(),
    operation: z.string(),
    external_id_field: z.string().nullable(),
    payload: z.record(z.string(), z.unknown()),
    error: z.object({ code: z.string(), message: z.string(), fields: z.array(z.string()) }),
    attempts: z.number().int(),
    status: z.enum(['open', 'replayed', 'discarded', 'superseded']),
    created_at: z.string(),
    updated_at: z.string(),
    sf_id: z.string().nullable(),
  })
  .meta({ id: 'DeadLetter' });

export const replayResultSchema = z
  .object({
    dead_letter: deadLetterSchema,
    result: z.object({ success: z.boolean(), id: z.string().nullable(), errors: z.array(z.object({ code: z.string(), message: z.string(), fields: z.array(z.string()) })) }).nullable(),
  })
  .meta({ id: 'ReplayResult' });

export const usageSchema = z
  .object({
    orgs: z.array(
      z.object({
        org: z.string(),
        connection: z.string(),
        used: z.number().int(),
        max: z.number().int(),
        remaining: z.number().int(),
        at: z.string(),
      }),
    ),
    readings: z.array(z.object({ org: z.string(), at: z.string(), used: z.number().int(), max: z.number().int() })),
  })
  .meta({ id: 'ApiUsage' });

export const cocoResultSchema = z.object({ _id: z.string(), result: z.enum(['created', 'updated', 'deleted']) }).meta({ id: 'CocoResult' });

export const connectionTestSchema = z
  .object({ ok: z.boolean(), org_id: z.string().optional(), instance_url: z.string().optional(), message: z.string().optional() })
  .meta({ id: 'ConnectionTest' });

export const conflictSchema = z
  .object({
    id: z.number().int(),
    object: z.string(),
    record_id: z.string(),
    policy: z.enum(['salesforce_wins', 'last_modified_wins']),
    winner: z.enum(['salesforce', 'application']).describe('whose version the record kept'),
    fields: z.array(z.string()).describe('fields the application changed'),
    local: z.record(z.string(), z.unknown()).nullable().describe("the mirror row with the application's change"),
    remote: z.record(z.string(), z.unknown()).nullable().describe("Salesforce's version (null: deleted in Salesforce)"),
    local_modified: z.string().nullable(),
    remote_modified: z.string().nullable(),
    detected_at: z.string(),
  })
  .meta({ id: 'Conflict' });

export const capturedChangeSchema = z
  .object({
    seq: z.number().int(),
    object: z.string(),
    record_id: z.string().describe("the row's Id (the Salesforce Id once an insert succeeded)"),
    op: z.enum(['insert', 'update', 'delete']),
    fields: z.array(z.string()).describe('columns the change set'),
    state: z.enum(['pending', 'succeeded', 'failed', 'superseded', 'skipped']),
    captured_at: z.string(),
    error: z.string().nullable().describe("Salesforce's error of a failed change (CODE: message)"),
  })
  .meta({ id: 'CapturedChange' });

export const twoWaySchema = z
  .object({
    objects: z.array(z.object({ object: z.string(), counts: z.record(z.enum(['pending', 'succeeded', 'failed', 'superseded', 'skipped']), z.number().int()) })).describe('writable mirror tables and their captured application changes by state'),
    conflicts: z.array(conflictSchema),
    changes: z.array(capturedChangeSchema).describe('the latest application changes, newest first'),
  })
  .meta({ id: 'TwoWay' });

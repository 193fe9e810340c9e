/**
 * `/api/v1`: connections, pipelines, runs and their event logs, dead letters and API usage. Each route is
 * declared once with its zod request and response shapes; the same declaration validates requests and
 * generates the OpenAPI document. Errors are `{error: {code, message, path?}}` with the engine's messages.
 */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import { ConnectionError } from '../../engine/connections/registry.ts';
import { connectionName, connectionSchema, connectionView, type ConnectionView } from '../../engine/connections/schema.ts';
import { PipelineError, pipelineName, pipelineSchema, type PipelineEntry } from '../../engine/pipelines/index.ts';
import type { ConnectionHold, LeaderView, Service } from '../../engine/service.ts';
import type { ConflictRecord, DeadLetter, PipelineRunRow, ScheduleRow } from '../../store/index.ts';
import { conflictSchema, connectionTestSchema, deadLetterSchema, twoWaySchema, errorSchema, pipelineViewSchema, queuedRunSchema, replayResultSchema, runEventSchema, runSchema, usageSchema } from './schemas.ts';

type App = OpenAPIHono<{ Variables: { principal: unknown } }>;

const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });
const errors = {
  400: json(errorSchema, 'invalid request'),
  401: json(errorSchema, 'no or invalid credentials'),
  404: json(errorSchema, 'not found'),
  409: json(errorSchema, 'conflict'),
};

/** Maps engine errors to `{error}` bodies. */
export function errorBody(err: unknown): { status: 400 | 401 | 403 | 404 | 409 | 500 | 502; body: z.infer<typeof errorSchema> } {
  if (err instanceof ConnectionError || err instanceof PipelineError) {
    return { status: err.status as 400, body: { error: { code: err.code, message: err.message, ...(err instanceof PipelineError && err.path ? { path: err.path } : {}) } } };
  }
  const e = err as { status?: unknown; code?: unknown; message?: string };
  if (typeof e?.status === 'number' && typeof e.code === 'string' && e.status >= 400 && e.status < 600) return { status: e.status as 400, body: { error: { code: e.code, message: String(e.message) } } };
  return { status: 500, body: { error: { code: 'INTERNAL', message: (err as Error).message } } };
}

export function runView(r: PipelineRunRow): z.infer<typeof runSchema> {
  return {
    id: r.id,
    pipeline: r.pipeline,
    kind: r.kind,
    trigger: r.trigger as 'schedule',
    status: r.status as 'running',
    started_at: r.startedAt,
    finished_at: r.finishedAt,
    seconds: r.finishedAt ? (Date.parse(r.finishedAt) - Date.parse(r.startedAt)) / 1000 : null,
    objects: r.objects as never,
    api_calls: r.apiCalls,
    error: r.error,
    resumed_from: r.resumedFrom,
  };
}

/** A connection's hold as the API shows it. */
export function heldViewOf(h: ConnectionHold): ConnectionView['held'] & object {
  return { reason: h.reason, code: h.code, message: h.message, since: h.since, until: h.until, ends: h.ends, pipeline: h.pipeline, run_id: h.runId };
}

export function pipelineView(entry: PipelineEntry, schedule: ScheduleRow | undefined, running: boolean, queued: boolean, now = Date.now(), extra: { leaders?: LeaderView[]; held?: ConnectionHold } = {}): z.infer<typeof pipelineViewSchema> {
  const paused = Boolean(schedule?.paused || entry.spec.paused);
  const lastSuccess = typeof schedule?.state?.lastSuccessAt === 'string' ? Date.parse(schedule.state.lastSuccessAt) : NaN;
  return {
    name: entry.spec.name,
    kind: entry.spec.kind,
    connection: entry.spec.connection,
    source: entry.source,
    read_only: entry.source === 'config',
    state: running ? 'running' : extra.held ? 'held' : queued ? 'queued' : paused ? 'paused' : 'idle',
    spec: entry.raw,
    schedule: { next_run_at: schedule?.nextRunAt ?? null, last_run_at: schedule?.lastRunAt ?? null, last_run_id: schedule?.lastRunId ?? null, last_status: schedule?.lastStatus ?? null, paused },
    lag_seconds: Number.isFinite(lastSuccess) ? Math.max(0, (now - lastSuccess) / 1000) : null,
    ...(entry.createdAt ? { created_at: entry.createdAt } : {}),
    ...(entry.updatedAt ? { updated_at: entry.updatedAt } : {}),
    ...(extra.held ? { held: heldViewOf(extra.held) } : {}),
    ...(extra.leaders ? { cdc: extra.leaders.map((l) => ({ object: l.object, state: l.state, job_id: l.jobId, run_id: l.runId, error: l.error, retry_at: l.retryAt })) } : {}),
  };
}

export function deadLetterView(l: DeadLetter): z.infer<typeof deadLetterSchema> {
  return { id: l.id, pipeline: l.pipeline, key: l.key, object: l.object, operation: l.operation, external_id_field: l.externalIdField, payload: l.payload, error: l.error, attempts: l.attempts, status: l.status, created_at: l.createdAt, updated_at: l.updatedAt, sf_id: l.sfId };
}

export function conflictView(c: ConflictRecord): z.infer<typeof conflictSchema> {
  return { id: c.id, object: c.object, record_id: c.recordId, policy: c.policy, winner: c.winner, fields: c.fields, local: c.local, remote: c.remote, local_modified: c.localModified, remote_modified: c.remoteModified, detected_at: c.detectedAt };
}

const nameParam = z.object({ name: connectionName.meta({ param: { name: 'name', in: 'path' } }) });
const pipelineParam = z.object({ name: pipelineName.meta({ param: { name: 'name', in: 'path' } }) });
const letterParams = z.object({ pipeline: pipelineName.meta({ param: { name: 'pipeline', in: 'path' } }), id: z.coerce.number().int().positive().meta({ param: { name: 'id', in: 'path' } }) });

/** Registers every `/api/v1` route on `app`. */
export function registerApi(app: App, service: Service): void {
  const wrap = async <T>(c: { json: (body: unknown, status: number) => Response }, fn: () => Promise<T>): Promise<T | Response> => {
    try {
      return await fn();
    } catch (err) {
      const { status, body } = errorBody(err);
      return c.json(body, status);
    }
  };

  /** Connections with the hold of each held one. */
  const withHolds = async (views: ConnectionView[]): Promise<ConnectionView[]> => {
    const holds = await service.holds();
    return views.map((v) => {
      const h = holds.get(v.name);
      return h ? { ...v, held: heldViewOf(h) } : v;
    });
  };

  // Connections ---------------------------------------------------------------------------------------

  app.openapi(createRoute({ method: 'get', path: '/api/v1/connections', tags: ['connections'], summary: 'List connections (secrets are never returned)', responses: { 200: json(z.object({ connections: z.array(connectionView) }), 'connections'), 401: errors[401] } }), async (c) =>
    c.json({ connections: await withHolds(await service.connections.list()) }, 200),
  );

  app.openapi(createRoute({ method: 'get', path: '/api/v1/connections/{name}', tags: ['connections'], summary: 'Show a connection', request: { params: nameParam }, responses: { 200: json(connectionView, 'the connection'), 401: errors[401], 404: errors[404] } }), async (c) => {
    const view = await service.connections.get(c.req.valid('param').name);
    if (!view) return c.json({ error: { code: 'CONNECTION_NOT_FOUND', message: `connection "${c.req.valid('param').name}" does not exist` } }, 404);
    return c.json((await withHolds([view]))[0], 200);
  });

  app.openapi(
    createRoute({
      method: 'put',
      path: '/api/v1/connections/{name}',
      tags: ['connections'],
      summary: 'Create or replace a connection',
      description: 'Secret fields (client_secret, private_key, auth_url, password) are write-only: leave one out to keep the stored value.',
      request: { params: nameParam, body: { required: true, content: { 'application/json': { schema: connectionSchema } } } },
      responses: { 200: json(connectionView, 'replaced'), 201: json(connectionView, 'created'), 400: errors[400], 401: errors[401], 409: errors[409] },
    }),
    async (c) =>
      (await wrap(c, async () => {
        const { view, created } = await service.connections.put(c.req.valid('param').name, await c.req.json());
        return c.json(view, created ? 201 : 200);
      })) as never,
  );

  app.openapi(createRoute({ method: 'delete', path: '/api/v1/connections/{name}', tags: ['connections'], summary: 'Remove a connection', request: { params: nameParam }, responses: { 204: { description: 'removed' }, 401: errors[401], 404: errors[404], 409: errors[409] } }), async (c) =>
    (await wrap(c, async () => {
      const name = c.req.valid('param').name;
      const users = (await service.pipelines.list()).filter((p) => p.spec.connection === name).map((p) => p.spec.name);
      if (users.length) throw new ConnectionError('CONNECTION_IN_USE', 409, `connection "${name}" is used by pipeline${users.length > 1 ? 's' : ''} ${users.join(', ')}; remove or change ${users.length > 1 ? 'them' : 'it'} first`);
      if (!(await service.connections.remove(name))) throw new ConnectionError('CONNECTION_NOT_FOUND', 404, `connection "${name}" does not exist`);
      return c.body(null, 204);
    })) as never,
  );

  app.openapi(createRoute({ method: 'post', path: '/api/v1/connections/{name}/test', tags: ['connections'], summary: 'Log in with a connection and report the org', request: { params: nameParam }, responses: { 200: json(connectionTestSchema, 'outcome (ok false with the reason when the login failed)'), 401: errors[401], 404: errors[404] } }), async (c) =>
    (await wrap(c, async () => {
      const name = c.req.valid('param').name;
      if (!(await service.connections.get(name))) throw new ConnectionError('CONNECTION_NOT_FOUND', 404, `connection "${name}" does not exist`);
      try {
        const client = await service.connections.client(name);
        const session = await client.session();
        return c.json({ ok: true, org_id: service.connections.orgId(name), instance_url: session.instanceUrl }, 200);
      } catch (err) {
        return c.json({ ok: false, message: (err as Error).message }, 200);
      }
    })) as never,
  );

  // Pipelines -----------------------------------------------------------------------------------------

  const viewOf = async (name: string) => {
    const all = await service.overview();
    const o = all.find((x) => x.entry.spec.name === name);
    return o && pipelineView(o.entry, o.schedule, o.running, o.queued, Date.now(), o);
  };

  app.openapi(createRoute({ method: 'get', path: '/api/v1/pipelines', tags: ['pipelines'], summary: 'List pipelines with their state and schedule', responses: { 200: json(z.object({ pipelines: z.array(pipelineViewSchema) }), 'pipelines'), 401: errors[401] } }), async (c) =>
    c.json({ pipelines: (await service.overview()).map((o) => pipelineView(o.entry, o.schedule, o.running, o.queued, Date.now(), o)) }, 200),
  );

  app.openapi(createRoute({ method: 'get', path: '/api/v1/pipelines/{name}', tags: ['pipelines'], summary: 'Show a pipeline', request: { params: pipelineParam }, responses: { 200: json(pipelineViewSchema, 'the pipeline'), 401: errors[401], 404: errors[404] } }), async (c) => {
    const view = await viewOf(c.req.valid('param').name);
    if (!view) return c.json({ error: { code: 'PIPELINE_NOT_FOUND', message: `pipeline "${c.req.valid('param').name}" does not exist` } }, 404);
    return c.json(view, 200);
  });

  app.openapi(
    createRoute({
      method: 'put',
      path: '/api/v1/pipelines/{name}',
      tags: ['pipelines'],
      summary: 'Create or replace a pipeline',
      description: 'Pipelines from the config file are read-only (409).',
      request: { params: pipelineParam, body: { required: true, content: { 'application/json': { schema: pipelineSchema({ body: true }) } } } },
      responses: { 200: json(pipelineViewSchema, 'replaced'), 201: json(pipelineViewSchema, 'created'), 400: errors[400], 401: errors[401], 409: errors[409] },
    }),
    async (c) =>
      (await wrap(c, async () => {
        const name = c.req.valid('param').name;
        const { created } = await service.pipelines.put(name, await c.req.json(), async (conn) => Boolean(await service.connections.get(conn)));
        await service.pipelineChanged(name);
        return c.json(await viewOf(name), created ? 201 : 200);
      })) as never,
  );

  app.openapi(createRoute({ method: 'delete', path: '/api/v1/pipelines/{name}', tags: ['pipelines'], summary: 'Remove a pipeline (its mirror and run history stay)', request: { params: pipelineParam }, responses: { 204: { description: 'removed' }, 401: errors[401], 404: errors[404], 409: errors[409] } }), async (c) =>
    (await wrap(c, async () => {
      const name = c.req.valid('param').name;
      if (!(await service.pipelines.remove(name))) throw new PipelineError('PIPELINE_NOT_FOUND', 404, `pipeline "${name}" does not exist`);
      await service.pipelineChanged(name);
      return c.body(null, 204);
    })) as never,
  );

  app.openapi(createRoute({ method: 'post', path: '/api/v1/pipelines/{name}/runs', tags: ['pipelines'], summary: 'Start a run now (ahead of scheduled work)', request: { params: pipelineParam }, responses: { 202: json(queuedRunSchema, 'queued'), 401: errors[401], 404: errors[404] } }), async (c) =>
    (await wrap(c, async () => {
      const job = await service.runNow(c.req.valid('param').name);
      return c.json({ pipeline: c.req.valid('param').name, job_id: job.id, state: job.state === 'running' ? 'running' : 'queued', run_at: job.runAt }, 202);
    })) as never,
  );

  for (const action of ['pause', 'resume'] as const) {
    app.openapi(createRoute({ method: 'post', path: `/api/v1/pipelines/{name}/${action}`, tags: ['pipelines'], summary: action === 'pause' ? 'Pause the schedule (runs started by hand still run)' : 'Resume the schedule', request: { params: pipelineParam }, responses: { 200: json(pipelineViewSchema, 'the pipeline'), 401: errors[401], 404: errors[404] } }), async (c) =>
      (await wrap(c, async () => {
        await service.setPaused(c.req.valid('param').name, action === 'pause');
        return c.json(await viewOf(c.req.valid('param').name), 200);
      })) as never,
    );
  }

  // Runs ----------------------------------------------------------------------------------------------

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/runs',
      tags: ['runs'],
      summary: 'Runs, newest first',
      request: {
        query: z.object({
          pipeline: z.string().optional(),
          status: z.enum(['running', 'succeeded', 'failed', 'interrupted']).optional(),
          limit: z.coerce.number().int().min(1).max(500).default(50),
          before: z.coerce.number().int().positive().optional().describe('page: runs with a smaller id'),
        }),
      },
      responses: { 200: json(z.object({ runs: z.array(runSchema), next_before: z.number().int().nullable() }), 'runs'), 400: errors[400], 401: errors[401] },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const runs = await service.listRuns(q);
      return c.json({ runs: runs.map(runView), next_before: runs.length === q.limit ? runs[runs.length - 1].id : null }, 200);
    },
  );

  const runParam = z.object({ id: z.coerce.number().int().positive().meta({ param: { name: 'id', in: 'path' } }) });
  app.openapi(createRoute({ method: 'get', path: '/api/v1/runs/{id}', tags: ['runs'], summary: 'A run with per-object counts', request: { params: runParam }, responses: { 200: json(runSchema, 'the run'), 401: errors[401], 404: errors[404] } }), async (c) => {
    const run = await service.getRun(c.req.valid('param').id);
    if (!run) return c.json({ error: { code: 'RUN_NOT_FOUND', message: `run ${c.req.valid('param').id} does not exist` } }, 404);
    return c.json(runView(run), 200);
  });

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/runs/{id}/events',
      tags: ['runs'],
      summary: "A run's event log",
      request: { params: runParam, query: z.object({ after: z.coerce.number().int().min(0).default(0).describe('only events after this sequence number') }) },
      responses: { 200: json(z.object({ events: z.array(runEventSchema) }), 'events, oldest first'), 401: errors[401], 404: errors[404] },
    }),
    async (c) => {
      const id = c.req.valid('param').id;
      if (!(await service.getRun(id))) return c.json({ error: { code: 'RUN_NOT_FOUND', message: `run ${id} does not exist` } }, 404);
      const events = await service.runEvents(id, c.req.valid('query').after);
      return c.json({ events: events.map((e) => ({ seq: e.seq, at: e.at, level: e.level, type: e.type, message: e.message, data: e.data })) }, 200);
    },
  );

  // Dead letters --------------------------------------------------------------------------------------

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/dead-letters',
      tags: ['dead letters'],
      summary: 'Records that failed permanently, newest first',
      request: { query: z.object({ pipeline: z.string().optional(), status: z.enum(['open', 'replayed', 'discarded', 'superseded', 'all']).default('open'), limit: z.coerce.number().int().min(1).max(1000).default(200) }) },
      responses: { 200: json(z.object({ dead_letters: z.array(deadLetterSchema) }), 'dead letters'), 400: errors[400], 401: errors[401], 404: errors[404] },
    }),
    async (c) =>
      (await wrap(c, async () => {
        const q = c.req.valid('query');
        if (q.pipeline && !(await service.pipelines.get(q.pipeline))) throw new PipelineError('PIPELINE_NOT_FOUND', 404, `pipeline "${q.pipeline}" does not exist`);
        return c.json({ dead_letters: (await service.listDeadLetters(q)).map(deadLetterView) }, 200);
      })) as never,
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/two-way',
      tags: ['two-way sync'],
      summary: 'Writable mirror tables, their application changes by state, the latest changes, and conflicts (newest first, with both versions)',
      request: { query: z.object({ object: z.string().optional().describe('only this object'), limit: z.coerce.number().int().min(1).max(1000).default(200).describe('conflicts and changes returned') }) },
      responses: { 200: json(twoWaySchema, 'two-way state'), 400: errors[400], 401: errors[401] },
    }),
    async (c) =>
      (await wrap(c, async () => {
        const q = c.req.valid('query');
        const t = await service.twoWay(q);
        return c.json({ objects: t.objects, conflicts: t.conflicts.map(conflictView), changes: t.changes.map((x) => ({ seq: x.seq, object: x.object, record_id: x.recordId, op: x.op, fields: x.fields, state: x.state, captured_at: x.capturedAt, error: x.error })) }, 200);
      })) as never,
  );

  const objectParam = z.object({ object: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'an sObject API name').meta({ param: { name: 'object', in: 'path' } }) });
  const rowParams = objectParam.extend({ id: z.string().min(1).max(64).meta({ param: { name: 'id', in: 'path' } }) });
  const valuesBody = z.object({ values: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).describe('field API name → value (Salesforce field names; dates as YYYY-MM-DD, datetimes ISO 8601)') }).strict();
  const writeResult = z.object({ id: z.string().describe("the row's Id (a placeholder new-… for an insert until Salesforce's Id replaces it)"), changed: z.number().int() }).meta({ id: 'TwoWayWrite' });

  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/v1/two-way/{object}',
      tags: ['two-way sync'],
      summary: 'Insert a row into a writable mirror table (sent to Salesforce by the next cycle; the row then carries the Salesforce Id)',
      request: { params: objectParam, body: { required: true, content: { 'application/json': { schema: valuesBody } } } },
      responses: { 201: json(writeResult, 'the row was written and its insert captured'), 400: errors[400], 401: errors[401], 404: errors[404], 409: errors[409] },
    }),
    async (c) =>
      (await wrap(c, async () => {
        const { object } = c.req.valid('param');
        return c.json(await service.twoWayWrite(object, { kind: 'insert', values: c.req.valid('json').values }), 201);
      })) as never,
  );

  app.openapi(
    createRoute({
      method: 'patch',
      path: '/api/v1/two-way/{object}/{id}',
      tags: ['two-way sync'],
      summary: 'Change fields of a row of a writable mirror table (sent to Salesforce by the next cycle)',
      request: { params: rowParams, body: { required: true, content: { 'application/json': { schema: valuesBody } } } },
      responses: { 200: json(writeResult, 'the row was changed and its update captured'), 400: errors[400], 401: errors[401], 404: errors[404], 409: errors[409] },
    }),
    async (c) =>
      (await wrap(c, async () => {
        const { object, id } = c.req.valid('param');
        const r = await service.twoWayWrite(object, { kind: 'update', id, values: c.req.valid('json').values });
        if (!r.changed) throw new PipelineError('ROW_NOT_FOUND', 404, `${object} has no row ${id} in its mirror table`);
        return c.json(r, 200);
      })) as never,
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/api/v1/two-way/{object}/{id}',
      tags: ['two-way sync'],
      summary: 'Delete a row of a writable mirror table (the record is deleted in Salesforce by the next cycle)',
      request: { params: rowParams },
      responses: { 200: json(writeResult, 'the row was deleted and its delete captured'), 401: errors[401], 404: errors[404], 409: errors[409] },
    }),
    async (c) =>
      (await wrap(c, async () => {
        const { object, id } = c.req.valid('param');
        const r = await service.twoWayWrite(object, { kind: 'delete', id });
        if (!r.changed) throw new PipelineError('ROW_NOT_FOUND', 404, `${object} has no row ${id} in its mirror table`);
        return c.json(r, 200);
      })) as never,
  );

  app.openapi(createRoute({ method: 'get', path: '/api/v1/dead-letters/{pipeline}/{id}', tags: ['dead letters'], summary: 'One dead letter with its payload and error', request: { params: letterParams }, responses: { 200: json(deadLetterSchema, 'the dead letter'), 401: errors[401], 404: errors[404] } }), async (c) =>
    (await wrap(c, async () => {
      const { pipeline, id } = c.req.valid('param');
      const letter = await service.getDeadLetter(pipeline, id);
      if (!letter) throw new PipelineError('DEAD_LETTER_NOT_FOUND', 404, `pipeline "${pipeline}" has no dead letter ${id}`);
      return c.json(deadLetterView(letter), 200);
    })) as never,
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/v1/dead-letters/{pipeline}/{id}/replay',
      tags: ['dead letters'],
      summary: 'Send a dead letter again, optionally with an edited payload',
      request: { params: letterParams, body: { required: false, content: { 'application/json': { schema: z.object({ payload: z.record(z.string(), z.unknown()).optional().describe('replaces the stored payload') }).strict() } } } },
      responses: { 200: json(replayResultSchema, 'outcome: the letter is replayed, or still open with the new error'), 400: errors[400], 401: errors[401], 404: errors[404], 409: errors[409], 502: json(errorSchema, 'the replay could not run') },
    }),
    async (c) =>
      (await wrap(c, async () => {
        const { pipeline, id } = c.req.valid('param');
        const text = await c.req.text();
        const body = text ? (JSON.parse(text) as { payload?: Record<string, unknown> }) : {};
        const { letter, outcome } = await service.replayDeadLetter(pipeline, id, body.payload as never);
        const r = outcome?.result;
        return c.json({ dead_letter: deadLetterView(letter), result: r ? { success: r.success, id: r.id ?? null, errors: r.errors } : null }, 200);
      })) as never,
  );

  app.openapi(createRoute({ method: 'post', path: '/api/v1/dead-letters/{pipeline}/{id}/discard', tags: ['dead letters'], summary: 'Give up on a dead letter', request: { params: letterParams }, responses: { 200: json(deadLetterSchema, 'discarded'), 401: errors[401], 404: errors[404], 409: errors[409] } }), async (c) =>
    (await wrap(c, async () => {
      const { pipeline, id } = c.req.valid('param');
      return c.json(deadLetterView(await service.discardDeadLetter(pipeline, id)), 200);
    })) as never,
  );

  // API usage -----------------------------------------------------------------------------------------

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/usage',
      tags: ['usage'],
      summary: 'API calls used and remaining per org, now and over time (from Sforce-Limit-Info)',
      request: { query: z.object({ org: z.string().optional(), since: z.string().datetime({ offset: true }).optional().describe('ISO instant; default 24 hours ago') }) },
      responses: { 200: json(usageSchema, 'usage'), 400: errors[400], 401: errors[401] },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const since = q.since ? new Date(q.since).toISOString() : new Date(Date.now() - 86_400_000).toISOString();
      const now = await service.usageNow();
      const readings = await service.state.listUsage({ org: q.org, since });
      return c.json(
        {
          orgs: now.filter((r) => !q.org || r.org === q.org).map((r) => ({ org: r.org, connection: r.connection, used: r.used, max: r.max, remaining: Math.max(0, r.max - r.used), at: r.at })),
          readings: readings.map((r) => ({ org: r.org, at: r.at, used: r.used, max: r.max })),
        },
        200,
      );
    },
  );
}

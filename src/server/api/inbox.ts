/**
 * `/api/v1/inbox/{pipeline}`: what inbound pipelines (Outbound Messages, webhooks) received — pending, delivered
 * and dead items with their attempts and last error — and `…/{id}/retry`, which makes a dead or waiting item
 * due now and starts a delivery run.
 */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import type { Service } from '../../engine/service.ts';
import type { InboxRow } from '../../store/index.ts';
import { errorSchema } from './schemas.ts';

type App = OpenAPIHono<{ Variables: { principal: unknown } }>;

export const inboxItemSchema = z
  .object({
    id: z.number().int(),
    pipeline: z.string(),
    dedupe_key: z.string().describe('the sender\'s id (Notification Id, event id)'),
    state: z.enum(['pending', 'delivered', 'dead']),
    attempts: z.number().int(),
    received_at: z.string(),
    next_attempt_at: z.string().nullable(),
    last_error: z.string().nullable(),
    payload: z.unknown(),
    result: z.unknown(),
  })
  .meta({ id: 'InboxItem' });

const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });
const INBOUND_KINDS = new Set(['outbound-messages', 'webhook']);

function view(r: InboxRow): z.infer<typeof inboxItemSchema> {
  return { id: r.id, pipeline: r.pipeline, dedupe_key: r.dedupeKey, state: r.state, attempts: r.attempts, received_at: r.receivedAt, next_attempt_at: r.state === 'pending' ? r.nextAttemptAt : null, last_error: r.lastError, payload: r.payload, result: r.result };
}

export function registerInbox(app: App, service: Service): void {
  const known = async (name: string) => {
    const e = await service.pipelines.get(name).catch(() => undefined);
    return e && INBOUND_KINDS.has(e.spec.kind);
  };
  const missing = (name: string) => ({ error: { code: 'PIPELINE_NOT_FOUND', message: `no inbound pipeline (outbound-messages or webhook) named "${name}"` } });

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/inbox/{pipeline}',
      tags: ['inbound'],
      summary: "An inbound pipeline's received items, newest first",
      request: { params: z.object({ pipeline: z.string() }), query: z.object({ state: z.enum(['pending', 'delivered', 'dead']).optional(), limit: z.coerce.number().int().min(1).max(1000).optional(), before: z.coerce.number().int().positive().optional() }) },
      responses: { 200: json(z.object({ items: z.array(inboxItemSchema), counts: z.object({ pending: z.number(), delivered: z.number(), dead: z.number() }) }), 'items'), 401: json(errorSchema, 'no or invalid credentials'), 404: json(errorSchema, 'no such pipeline') },
    }),
    (async (c: any) => {
      const { pipeline } = c.req.valid('param');
      if (!(await known(pipeline))) return c.json(missing(pipeline), 404);
      const q = c.req.valid('query');
      const items = await service.state.listInbox({ pipeline, state: q.state, limit: q.limit, before: q.before });
      const counts = { pending: await service.state.countInbox({ pipeline, state: 'pending' }), delivered: await service.state.countInbox({ pipeline, state: 'delivered' }), dead: await service.state.countInbox({ pipeline, state: 'dead' }) };
      return c.json({ items: items.map(view), counts }, 200);
    }) as never,
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/v1/inbox/{pipeline}/{id}/retry',
      tags: ['inbound'],
      summary: 'Deliver a dead or waiting item again now',
      request: { params: z.object({ pipeline: z.string(), id: z.coerce.number().int().positive() }) },
      responses: { 202: json(inboxItemSchema, 'due now; a delivery run is queued'), 401: json(errorSchema, 'no or invalid credentials'), 404: json(errorSchema, 'no such item'), 409: json(errorSchema, 'already delivered') },
    }),
    (async (c: any) => {
      const { pipeline, id } = c.req.valid('param');
      if (!(await known(pipeline))) return c.json(missing(pipeline), 404);
      const row = await service.state.getInbox(id);
      if (!row || row.pipeline !== pipeline) return c.json({ error: { code: 'NOT_FOUND', message: `pipeline "${pipeline}" has no inbox item ${id}` } }, 404);
      if (row.state === 'delivered') return c.json({ error: { code: 'ALREADY_DELIVERED', message: `item ${id} was delivered; nothing to retry` } }, 409);
      await service.state.updateInbox(id, { state: 'pending', nextAttemptAt: new Date().toISOString() });
      service.deliverSoon(pipeline);
      return c.json(view((await service.state.getInbox(id))!), 202);
    }) as never,
  );
}

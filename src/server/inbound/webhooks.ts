/**
 * `POST /inbound/webhooks/{pipeline}`: events from another system. The signature is checked over the exact
 * body bytes, the event id read, and the event written to the inbox; 202 is answered only after that write
 * committed. A second request with the same event id answers 200 `duplicate` and is not delivered again.
 */
import { createHash } from 'node:crypto';
import type { Hono } from 'hono';
import type { JsonObject, JsonValue } from '../../store/index.ts';
import type { Service } from '../../engine/service.ts';
import { verifyWebhook, WebhookAuthError, webhookEventId, type WebhookPipelineSpec } from '../../engine/patterns/index.ts';

/** Larger bodies are refused with 413. */
export const WEBHOOK_MAX_BYTES = 5 * 1024 * 1024;

export interface WebhookRouteOptions {
  env?: NodeJS.ProcessEnv;
  now?: () => number;
}

const error = (code: string, message: string) => ({ error: { code, message } });

export function registerWebhookRoutes(app: Hono, service: Service, opts: WebhookRouteOptions = {}): void {
  const env = opts.env ?? process.env;
  const now = opts.now ?? Date.now;
  app.post('/inbound/webhooks/:pipeline', async (c) => {
    const name = c.req.param('pipeline');
    const entry = await service.pipelines.get(name).catch(() => undefined);
    if (entry?.spec.kind !== 'webhook') return c.json(error('NOT_FOUND', `no webhook pipeline named "${name}"`), 404);
    const spec = entry.spec as unknown as WebhookPipelineSpec;
    if (Number(c.req.header('content-length') ?? 0) > WEBHOOK_MAX_BYTES) return c.json(error('TOO_LARGE', `bodies over ${WEBHOOK_MAX_BYTES} bytes are refused`), 413);
    const bytes = Buffer.from(await c.req.arrayBuffer());
    if (bytes.length > WEBHOOK_MAX_BYTES) return c.json(error('TOO_LARGE', `bodies over ${WEBHOOK_MAX_BYTES} bytes are refused`), 413);
    try {
      verifyWebhook(spec, c.req.raw.headers, bytes, env, now());
    } catch (err) {
      if (err instanceof WebhookAuthError) return c.json(error(err.code, err.message), err.status as 401);
      throw err;
    }
    let body: JsonValue;
    try {
      body = JSON.parse(bytes.toString('utf8')) as JsonValue;
    } catch {
      return c.json(error('INVALID_JSON', 'the body is not JSON; send Content-Type: application/json with a JSON body'), 400);
    }
    const eventId = webhookEventId(spec, c.req.raw.headers, body);
    if (!eventId) return c.json(error('EVENT_ID_MISSING', `no event id at ${'header' in spec.event_id ? `header ${spec.event_id.header}` : `body.${spec.event_id.path}`}; every event needs one, so that retries are delivered once`), 400);
    const state = await (await service.store(service.storeUrl)).serviceState();
    let stored;
    try {
      stored = await state.addInbox({ pipeline: name, dedupeKey: eventId, bodyHash: createHash('sha256').update(bytes).digest('hex'), payload: { body } as JsonObject });
    } catch (err) {
      return c.json(error('STORE_UNAVAILABLE', `the event could not be stored (${(err as Error).message}); retry later`), 503, { 'retry-after': '5' });
    }
    if (!stored.added) return c.json({ status: 'duplicate', id: stored.row.id, event_id: eventId, state: stored.row.state }, 200);
    service.deliverSoon(name);
    return c.json({ status: 'accepted', id: stored.row.id, event_id: eventId }, 202);
  });
}

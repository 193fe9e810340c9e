/**
 * `POST /api/v1/call-in/{object}` and `GET /api/v1/call-in/requests/{id}`: remote call-in (see
 * engine/patterns/call-in.ts). By default the request waits up to 30 s for Salesforce's per-record results;
 * `?wait=0` answers 202 at once with a status URL, as does a request that takes longer than its wait.
 */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import { CALL_IN_MAX_RECORDS, callInAllowed, callInBodySchema, CallInError, type CallInResult, type StoredCallIn } from '../../engine/patterns/call-in.ts';
import type { Service } from '../../engine/service.ts';
import type { InboxRow } from '../../store/index.ts';
import type { Principal } from '../auth.ts';
import { errorSchema } from './schemas.ts';
import { errorBody } from './routes.ts';

type App = OpenAPIHono<{ Variables: { principal: Principal | undefined } }>;

/** Longest wait a request may ask for: well under the 120 s a Salesforce callout (or a typical proxy) allows. */
export const CALL_IN_MAX_WAIT_S = 110;
export const CALL_IN_DEFAULT_WAIT_S = 30;

const recordResult = z.object({
  index: z.number().int(),
  id: z.string().nullable(),
  success: z.boolean(),
  created: z.boolean(),
  errors: z.array(z.object({ code: z.string(), message: z.string(), fields: z.array(z.string()) })),
});

export const callInResponseSchema = z
  .object({
    id: z.number().int().describe('request id (the status URL ends with it)'),
    status: z.enum(['pending', 'succeeded', 'failed', 'error']).describe('succeeded: every record written; failed: Salesforce refused some (see results); error: Salesforce could not be reached'),
    replayed: z.boolean().describe('true when the Idempotency-Key was seen before and this is the stored result'),
    object: z.string(),
    operation: z.string(),
    status_url: z.string(),
    results: z.array(recordResult).optional(),
    error: z.object({ code: z.string(), message: z.string() }).optional(),
  })
  .meta({ id: 'CallInResponse' });

const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });

function view(row: InboxRow, replayed: boolean): z.infer<typeof callInResponseSchema> {
  const req = row.payload as unknown as StoredCallIn;
  const result = row.result as CallInResult | null;
  const base = { id: row.id, replayed, object: req.object, operation: req.operation, status_url: `/api/v1/call-in/requests/${row.id}` };
  if (row.state === 'pending') return { ...base, status: 'pending' };
  if (row.state === 'dead' || !result) {
    const [code, ...rest] = (row.lastError ?? 'CALL_IN_FAILED: unknown').split(': ');
    return { ...base, status: 'error', error: { code, message: rest.join(': ') || code } };
  }
  return { ...base, status: result.ok ? 'succeeded' : 'failed', results: result.results as never };
}

const statusOf = (v: z.infer<typeof callInResponseSchema>) => (v.status === 'pending' ? 202 : v.status === 'error' ? 502 : 200);
const principalName = (p: Principal | undefined) => (p?.kind === 'token' ? p.name : 'dashboard');

export function registerCallIn(app: App, service: Service): void {
  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/v1/call-in/{object}',
      tags: ['call-in'],
      summary: 'Write records into Salesforce (create, update, upsert, delete) with an idempotency key',
      description: `One record or up to ${CALL_IN_MAX_RECORDS}. Send \`Idempotency-Key\`: the same key and body return the stored result, the same key with another body is refused with 422. Scoped tokens (sfbridge tokens create --call-in Object:ops) may only do what their scopes name.`,
      request: {
        params: z.object({ object: z.string().describe('sObject API name') }),
        query: z.object({
          wait: z.coerce.number().int().min(0).max(CALL_IN_MAX_WAIT_S).optional().describe(`seconds to wait for the result (default ${CALL_IN_DEFAULT_WAIT_S}; 0 answers 202 at once)`),
          connection: z.string().optional().describe('connection to write to (default: the only one)'),
        }),
        headers: z.object({ 'idempotency-key': z.string().optional().describe('a unique key per request, e.g. a UUID') }),
        body: { content: { 'application/json': { schema: callInBodySchema } }, required: true },
      },
      responses: {
        200: json(callInResponseSchema, 'written (status succeeded) or refused per record by Salesforce (status failed)'),
        202: json(callInResponseSchema, 'accepted; poll status_url'),
        400: json(errorSchema, 'invalid request'),
        401: json(errorSchema, 'no or invalid credentials'),
        403: json(errorSchema, "outside the token's scopes"),
        422: json(errorSchema, 'the Idempotency-Key was used for another request'),
        502: json(callInResponseSchema, 'Salesforce could not be reached or refused the login'),
      },
    }),
    (async (c: any) => {
      const { object } = c.req.valid('param');
      const { wait, connection } = c.req.valid('query');
      const body = c.req.valid('json');
      const principal = c.get('principal') as Principal | undefined;
      if (principal?.kind === 'token' && !callInAllowed(principal.scopes, object, body.operation)) {
        return c.json({ error: { code: 'FORBIDDEN', message: `token "${principal.name}" may not ${body.operation} ${object} (its scopes: ${principal.scopes!.join(', ')}); create a token with --call-in ${object}:${body.operation}` } }, 403);
      }
      try {
        const { row, replayed } = await service.submitCallIn({ object, body, principal: principalName(principal), idempotencyKey: c.req.header('idempotency-key') ?? undefined, connection });
        const settled = await service.waitCallIn(row.id, (wait ?? CALL_IN_DEFAULT_WAIT_S) * 1000, c.req.raw.signal);
        const v = view(settled ?? row, replayed);
        return c.json(v, statusOf(v), replayed ? { 'idempotent-replayed': 'true' } : {});
      } catch (err) {
        if (err instanceof CallInError) return c.json({ error: { code: err.code, message: err.message } }, err.status);
        const { status, body: b } = errorBody(err);
        return c.json(b, status);
      }
    }) as never,
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/call-in/requests/{id}',
      tags: ['call-in'],
      summary: 'The state and per-record results of a call-in request',
      request: { params: z.object({ id: z.coerce.number().int().positive() }) },
      responses: {
        200: json(callInResponseSchema, 'the request'),
        401: json(errorSchema, 'no or invalid credentials'),
        404: json(errorSchema, 'no such request'),
      },
    }),
    (async (c: any) => {
      const { id } = c.req.valid('param');
      const row = await service.state.getInbox(id);
      const principal = c.get('principal') as Principal | undefined;
      const mine = row && row.pipeline.startsWith('call-in:') && (!(principal?.kind === 'token' && principal.scopes) || (row.payload as unknown as StoredCallIn).principal === principal.name);
      if (!row || !mine) return c.json({ error: { code: 'NOT_FOUND', message: `no call-in request ${id}` } }, 404);
      return c.json(view(row, false), 200);
    }) as never,
  );
}

/**
 * Coco-compatible registration: the bodies Coco's documentation shows for its Salesforce connector work
 * against sfbridge unchanged.
 *
 * - `PUT /connector/salesforce?replace=true` `{name, description, …, config: {domain, client_id,
 *   client_secret, interval, queue: {name}}}` creates or updates connection `salesforce` (client
 *   credentials on `https://{domain}.my.salesforce.com`; a full URL is used as it is). `interval` and the
 *   queue name become the defaults of its data sources.
 * - `POST /datasource/` `{name, type: connector, enabled, connector: {id, config: {standard_objects_to_sync,
 *   sync_custom_objects, custom_objects_to_sync}}, sync: {enabled, interval}}` creates a document sync
 *   pipeline on that connection; `GET`, `PUT ?replace=true` and `DELETE /datasource/:id` manage it.
 *
 * Answers are Coco's `{"_id": …, "result": "created" | "updated" | "deleted"}`. Coco's examples send JSON
 * with `curl -d` (form content type), so bodies are read as JSON whatever their content type says.
 */
import type { OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import { connectionSchema } from '../../engine/connections/schema.ts';
import type { Service } from '../../engine/service.ts';
import type { JsonObject } from '../../store/index.ts';
import { cocoResultSchema, errorSchema } from './schemas.ts';
import { errorBody } from './routes.ts';

export const cocoConnectorSchema = z
  .looseObject({
    name: z.string().optional(),
    description: z.string().optional(),
    enabled: z.boolean().optional(),
    config: z
      .looseObject({
        domain: z.string().optional().describe('My Domain name (mycompany for mycompany.my.salesforce.com) or the instance URL'),
        client_id: z.string().optional(),
        client_secret: z.string().optional(),
        interval: z.string().optional(),
        queue: z.looseObject({ name: z.string().optional() }).optional(),
      })
      .optional(),
  })
  .meta({ id: 'CocoConnector' });

export const cocoDatasourceSchema = z
  .looseObject({
    name: z.string().min(1),
    type: z.literal('connector').optional(),
    enabled: z.boolean().optional(),
    connector: z.looseObject({
      id: z.string().min(1),
      config: z
        .looseObject({
          standard_objects_to_sync: z.array(z.string()).optional(),
          sync_custom_objects: z.boolean().optional(),
          custom_objects_to_sync: z.union([z.literal('*'), z.array(z.string())]).optional(),
        })
        .optional(),
    }),
    sync: z.looseObject({ enabled: z.boolean().optional(), interval: z.string().optional() }).optional(),
  })
  .meta({ id: 'CocoDatasource' });

type App = OpenAPIHono<{ Variables: { principal: unknown } }>;
const defaultsKey = (connector: string) => `coco:connector:${connector}`;

async function readJson(req: Request): Promise<unknown> {
  const text = await req.text();
  try {
    return JSON.parse(text);
  } catch {
    throw Object.assign(new Error('the body must be JSON (as in Coco\'s examples)'), { status: 400, code: 'INVALID_JSON' });
  }
}

function issue(err: z.ZodError): { error: { code: string; message: string; path: string } } {
  const i = err.issues[0];
  const path = i.path.join('.');
  return { error: { code: 'INVALID_REQUEST', message: `${path || 'body'}: ${i.message}`, path } };
}

/** `domain` as Coco means it → connection settings. */
function instanceOf(domain: string): { instance_url: string } | { domain: string } {
  return /^https?:\/\//.test(domain) ? { instance_url: domain } : { domain };
}

function slug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 50) || 'datasource';
}

export function registerCoco(app: App, service: Service): void {
  const fail = (c: { json: (b: unknown, s: number) => Response }, err: unknown) => {
    const status = (err as { status?: number }).status;
    if (status === 400 && (err as { code?: string }).code === 'INVALID_JSON') return c.json({ error: { code: 'INVALID_JSON', message: (err as Error).message } }, 400);
    const { status: s, body } = errorBody(err);
    return c.json(body, s);
  };

  app.put('/connector/:id', async (c) => {
    try {
      const id = c.req.param('id');
      const parsed = cocoConnectorSchema.safeParse(await readJson(c.req.raw));
      if (!parsed.success) return c.json(issue(parsed.error), 400);
      const existing = await service.connections.get(id);
      if (!existing && c.req.query('replace') !== 'true') return c.json({ error: { code: 'CONNECTOR_NOT_FOUND', message: `connector "${id}" does not exist; PUT it with ?replace=true to create it` } }, 404);
      const cfg = parsed.data.config ?? {};
      const prev = (existing?.settings ?? {}) as Record<string, unknown>;
      const domain = cfg.domain ?? (typeof prev.instance_url === 'string' ? prev.instance_url : typeof prev.domain === 'string' ? prev.domain : undefined);
      if (!domain) return c.json({ error: { code: 'INVALID_REQUEST', message: 'config.domain: your Salesforce domain is required (mycompany for mycompany.my.salesforce.com)', path: 'config.domain' } }, 400);
      const spec = connectionSchema.parse({
        kind: 'client_credentials',
        ...instanceOf(domain),
        client_id: cfg.client_id ?? prev.client_id,
        ...(cfg.client_secret ? { client_secret: cfg.client_secret } : {}),
        ...(parsed.data.description ? { description: parsed.data.description.slice(0, 500) } : {}),
      });
      const { created } = await service.connections.put(id, spec);
      await service.state.putSetting(defaultsKey(id), { interval: cfg.interval ?? null, queue: cfg.queue?.name ?? null, name: parsed.data.name ?? null } as JsonObject);
      return c.json({ _id: id, result: created ? 'created' : 'updated' }, 200);
    } catch (err) {
      return fail(c, err);
    }
  });

  const toPipeline = async (body: z.infer<typeof cocoDatasourceSchema>, name: string) => {
    const connector = body.connector.id;
    if (!(await service.connections.get(connector))) throw Object.assign(new Error(`connector.id: connector "${connector}" is not registered; PUT /connector/${connector}?replace=true first`), { status: 400, code: 'UNKNOWN_CONNECTOR' });
    const defaults = ((await service.state.getSetting(defaultsKey(connector))) ?? {}) as { interval?: string | null; queue?: string | null };
    const cfg = body.connector.config ?? {};
    const enabled = body.enabled !== false && body.sync?.enabled !== false;
    return {
      name,
      kind: 'sync',
      connection: connector,
      description: body.name.slice(0, 500),
      ...(cfg.standard_objects_to_sync ? { standard_objects_to_sync: cfg.standard_objects_to_sync } : {}),
      ...(cfg.sync_custom_objects !== undefined ? { sync_custom_objects: cfg.sync_custom_objects } : {}),
      ...(cfg.custom_objects_to_sync !== undefined ? { custom_objects_to_sync: cfg.custom_objects_to_sync } : {}),
      schedule: body.sync?.interval ?? defaults.interval ?? '5m',
      documents: { enabled: true },
      ...(defaults.queue ? { queue: defaults.queue } : {}),
      ...(enabled ? {} : { paused: true }),
    };
  };

  const putDatasource = async (name: string, raw: unknown, mustExist: boolean) => {
    const parsed = cocoDatasourceSchema.safeParse(raw);
    if (!parsed.success) return { status: 400 as const, body: issue(parsed.error) };
    if (mustExist && !(await service.pipelines.get(name))) return { status: 404 as const, body: { error: { code: 'DATASOURCE_NOT_FOUND', message: `datasource "${name}" does not exist` } } };
    const { created } = await service.pipelines.put(name, await toPipeline(parsed.data, name), async (c) => Boolean(await service.connections.get(c)));
    await service.pipelineChanged(name);
    return { status: 200 as const, body: { _id: name, result: created ? 'created' : 'updated' } };
  };

  app.post('/datasource/', async (c) => {
    try {
      const raw = await readJson(c.req.raw);
      const base = slug(String((raw as { name?: unknown })?.name ?? ''));
      let name = base;
      for (let i = 2; await service.pipelines.get(name); i++) name = `${base}-${i}`;
      const out = await putDatasource(name, raw, false);
      return c.json(out.body, out.status);
    } catch (err) {
      return fail(c, err);
    }
  });

  app.put('/datasource/:id', async (c) => {
    try {
      const out = await putDatasource(c.req.param('id'), await readJson(c.req.raw), c.req.query('replace') !== 'true');
      return c.json(out.body, out.status);
    } catch (err) {
      return fail(c, err);
    }
  });

  app.get('/datasource/:id', async (c) => {
    const entry = await service.pipelines.get(c.req.param('id'));
    if (!entry) return c.json({ error: { code: 'DATASOURCE_NOT_FOUND', message: `datasource "${c.req.param('id')}" does not exist` } }, 404);
    return c.json({ _id: entry.spec.name, found: true, _source: entry.raw }, 200);
  });

  app.delete('/datasource/:id', async (c) => {
    try {
      const id = c.req.param('id');
      if (!(await service.pipelines.remove(id))) return c.json({ error: { code: 'DATASOURCE_NOT_FOUND', message: `datasource "${id}" does not exist` } }, 404);
      await service.pipelineChanged(id);
      return c.json({ _id: id, result: 'deleted' }, 200);
    } catch (err) {
      return fail(c, err);
    }
  });

  // Documented in the OpenAPI document like the rest (the handlers above read bodies whatever the content type).
  const doc = (method: 'put' | 'post' | 'get' | 'delete', path: string, summary: string, body?: z.ZodType, param?: string) =>
    app.openAPIRegistry.registerPath({
      method,
      path,
      tags: ['coco'],
      summary,
      ...(param ? { request: { params: z.object({ [param]: z.string().meta({ param: { name: param, in: 'path' } }) }) } } : {}),
      ...(body ? { request: { ...(param ? { params: z.object({ [param]: z.string().meta({ param: { name: param, in: 'path' } }) }) } : {}), query: z.object({ replace: z.enum(['true', 'false']).optional() }), body: { content: { 'application/json': { schema: body } } } } } : {}),
      responses: {
        200: { description: 'Coco result', content: { 'application/json': { schema: method === 'get' ? z.object({ _id: z.string(), found: z.boolean(), _source: z.record(z.string(), z.unknown()) }) : cocoResultSchema } } },
        400: { description: 'invalid body', content: { 'application/json': { schema: errorSchema } } },
        401: { description: 'no or invalid credentials', content: { 'application/json': { schema: errorSchema } } },
        404: { description: 'not found', content: { 'application/json': { schema: errorSchema } } },
        409: { description: 'conflict', content: { 'application/json': { schema: errorSchema } } },
      },
    });
  doc('put', '/connector/{id}', 'Register or update a Coco Salesforce connector (a client-credentials connection)', cocoConnectorSchema, 'id');
  doc('post', '/datasource/', 'Create a Coco data source (a document sync pipeline)', cocoDatasourceSchema);
  doc('put', '/datasource/{id}', 'Update a Coco data source', cocoDatasourceSchema, 'id');
  doc('get', '/datasource/{id}', 'Show a Coco data source', undefined, 'id');
  doc('delete', '/datasource/{id}', 'Delete a Coco data source', undefined, 'id');
}

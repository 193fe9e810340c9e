/**
 * `POST /inbound/outbound-messages/{pipeline}`: Salesforce's Outbound Message endpoint. The notifications are
 * written to the pipeline's inbox in one transaction — deduplicated by `Notification/Id`, so Salesforce's
 * retries and redeliveries are kept once — and only then is `<Ack>true</Ack>` answered. A failed write
 * answers a SOAP fault, so Salesforce keeps the message and retries it. `GET …?wsdl` serves the WSDL.
 */
import type { Hono } from 'hono';
import type { JsonObject } from '../../store/index.ts';
import type { Service } from '../../engine/service.ts';
import type { OutboundMessagesPipelineSpec, StoredNotification } from '../../engine/patterns/index.ts';
import { ackEnvelope, faultEnvelope, outboundWsdl, parseOutboundMessage, SoapParseError } from './soap.ts';

/** Larger bodies are refused (100 notifications of a wide object stay far below). */
export const OUTBOUND_MESSAGE_MAX_BYTES = 10 * 1024 * 1024;

const XML = { 'content-type': 'text/xml; charset=utf-8' };

export interface InboundRouteOptions {
  /** The service's public base URL for a request (WSDL addresses). */
  baseUrl(req: Request): string;
}

async function pipelineOf(service: Service, name: string): Promise<OutboundMessagesPipelineSpec | undefined> {
  const entry = await service.pipelines.get(name).catch(() => undefined);
  return entry?.spec.kind === 'outbound-messages' ? (entry.spec as unknown as OutboundMessagesPipelineSpec) : undefined;
}

/** The org a pipeline accepts: its own setting, the connection's known org, or (once) a login to learn it. */
async function expectedOrg(service: Service, spec: OutboundMessagesPipelineSpec): Promise<string | undefined> {
  if (spec.organization_id) return spec.organization_id;
  const known = service.connections.orgId(spec.connection);
  if (known) return known;
  await service.connections.client(spec.connection);
  return service.connections.orgId(spec.connection);
}

export function registerOutboundMessageRoutes(app: Hono, service: Service, opts: InboundRouteOptions): void {
  app.get('/inbound/outbound-messages/:pipeline', async (c) => {
    const name = c.req.param('pipeline');
    const spec = await pipelineOf(service, name);
    if (!spec) return c.body(faultEnvelope('Client', `no outbound-messages pipeline named "${name}"`), 404, XML);
    return c.body(outboundWsdl(`${opts.baseUrl(c.req.raw)}/inbound/outbound-messages/${encodeURIComponent(name)}`, spec.objects ?? []), 200, XML);
  });

  app.post('/inbound/outbound-messages/:pipeline', async (c) => {
    const name = c.req.param('pipeline');
    const spec = await pipelineOf(service, name);
    if (!spec) return c.body(faultEnvelope('Client', `no outbound-messages pipeline named "${name}"; create one (kind: outbound-messages) or fix the endpoint URL in the outbound message definition`), 404, XML);
    const type = c.req.header('content-type') ?? '';
    if (!/^(text\/xml|application\/soap\+xml)\b/i.test(type)) return c.body(faultEnvelope('Client', `expected a SOAP message (Content-Type: text/xml), got ${type || 'no Content-Type'}`), 415, XML);
    const length = Number(c.req.header('content-length') ?? 0);
    if (length > OUTBOUND_MESSAGE_MAX_BYTES) return c.body(faultEnvelope('Client', `message of ${length} bytes is larger than ${OUTBOUND_MESSAGE_MAX_BYTES}`), 413, XML);
    const xml = await c.req.text();
    let message;
    try {
      message = parseOutboundMessage(xml);
    } catch (err) {
      if (err instanceof SoapParseError) return c.body(faultEnvelope('Client', err.message), 500, XML);
      throw err;
    }
    let org: string | undefined;
    try {
      org = await expectedOrg(service, spec);
    } catch (err) {
      // Without the org the message cannot be checked; a fault makes Salesforce keep it and retry.
      return c.body(faultEnvelope('Server', `cannot check the sending org: connection "${spec.connection}" does not log in (${(err as Error).message}); set organization_id on the pipeline or fix the connection`), 500, XML);
    }
    if (!org || org.slice(0, 15) !== message.organizationId.slice(0, 15)) {
      return c.body(faultEnvelope('Client', `OrganizationId ${message.organizationId} is not the org of connection "${spec.connection}" (${org ?? 'unknown'}); this endpoint accepts only that org's messages`), 403, XML);
    }
    const refused = spec.objects ? message.notifications.filter((n) => !spec.objects!.includes(n.object)) : [];
    if (refused.length) return c.body(faultEnvelope('Client', `pipeline "${name}" accepts ${spec.objects!.join(', ')}, not ${[...new Set(refused.map((n) => n.object))].join(', ')}`), 500, XML);
    const state = await (await service.store(service.storeUrl)).serviceState();
    try {
      await state.addInboxBatch(
        message.notifications.map((n) => ({
          pipeline: name,
          dedupeKey: n.id,
          payload: { id: n.id, actionId: message.actionId, organizationId: message.organizationId, object: n.object, record: n.record } satisfies StoredNotification as unknown as JsonObject,
        })),
      );
    } catch (err) {
      return c.body(faultEnvelope('Server', `the notifications could not be stored (${(err as Error).message}); Salesforce will retry`), 500, XML);
    }
    service.deliverSoon(name);
    return c.body(ackEnvelope(true), 200, XML);
  });
}

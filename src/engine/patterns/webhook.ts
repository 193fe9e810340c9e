/**
 * `kind: webhook` pipelines: events POSTed to `/inbound/webhooks/{pipeline}` by another system, verified by
 * an HMAC-SHA256 signature, deduplicated by an event id, written to the inbox (answered 202 only after that
 * write), then mapped with transforms and delivered to the target — into Salesforce through the publisher,
 * exactly once per event.
 *
 * ```yaml
 * pipelines:
 *   - name: payments
 *     kind: webhook
 *     connection: prod
 *     signature: { scheme: stripe, secret_env: STRIPE_WEBHOOK_SECRET, tolerance: 5m }
 *     event_id: { path: id }               # or { header: X-Event-Id }
 *     records: data.object                 # the record(s) in the body (default: the body)
 *     transform: { rename: { id: Stripe_Id__c, amount: Amount__c } }
 *     target: { salesforce: { object: Payment__c, operation: upsert, externalIdField: Stripe_Id__c } }
 * ```
 *
 * Schemes: `hmac-sha256` (the body's HMAC in `header`, hex or base64, optionally `sha256=`-prefixed; with
 * `timestamp_header` the signed text is `{timestamp}.{body}` and the timestamp must be within `tolerance`),
 * `stripe` (`Stripe-Signature: t=…,v1=…`, signed `{t}.{body}`), `github` (`X-Hub-Signature-256: sha256=…`).
 * The secret is read from the environment variable `secret_env` names, so it is never stored with the
 * pipeline.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { InboxRow } from '../../store/index.ts';
import { duration } from '../config.ts';
import { basePipelineFields, registerPipelineKind, type PipelineRunContext, type PipelineRunResult } from '../pipelines/kinds.ts';
import { checkInbound, drainInbox, INBOUND_SWEEP_MS, inboundFields, inboundStateUrl, type InboundRecord } from './inbound.ts';

/** Default timestamp tolerance: a signed request older (or newer) than this is refused as a replay. */
export const WEBHOOK_TOLERANCE_MS = 5 * 60_000;

const PATH = z.string().regex(/^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/, 'a dotted path into the JSON body such as id or data.object');
const HEADER = z.string().regex(/^[A-Za-z0-9-]+$/, 'an HTTP header name such as X-Signature');

export const webhookPipelineSchema = z
  .strictObject({
    kind: z.literal('webhook'),
    ...basePipelineFields,
    ...inboundFields,
    signature: z
      .strictObject({
        scheme: z.enum(['hmac-sha256', 'stripe', 'github']).default('hmac-sha256'),
        header: HEADER.optional().describe('default X-Signature (hmac-sha256), Stripe-Signature (stripe), X-Hub-Signature-256 (github)'),
        secret_env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name such as WEBHOOK_SECRET').describe('environment variable holding the shared secret'),
        timestamp_header: HEADER.optional().describe('hmac-sha256: header with the signing time (Unix seconds); the signed text is then {timestamp}.{body}'),
        tolerance: duration.optional().describe('how far the signing time may be from now (default 5m)'),
      })
      .describe('how requests are authenticated'),
    event_id: z.union([z.strictObject({ header: HEADER }), z.strictObject({ path: PATH })]).describe('where the event id is: retries with one id are delivered once'),
    records: PATH.optional().describe('path to the record or array of records in the body (default: the body)'),
    object: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/).optional().describe('label of the records in run counts (default: the target object, or "event")'),
  })
  .meta({ id: 'WebhookPipeline' });

export type WebhookPipelineSpec = z.output<typeof webhookPipelineSchema>;

/** Why a request was refused. */
export class WebhookAuthError extends Error {
  readonly code: 'BAD_SIGNATURE' | 'STALE_TIMESTAMP' | 'SECRET_MISSING';
  readonly status: number;
  constructor(code: WebhookAuthError['code'], message: string, status = 401) {
    super(message);
    this.name = 'WebhookAuthError';
    this.code = code;
    this.status = status;
  }
}

const DEFAULT_HEADER = { 'hmac-sha256': 'X-Signature', stripe: 'Stripe-Signature', github: 'X-Hub-Signature-256' } as const;

function equalDigest(expected: Buffer, given: string): boolean {
  const candidates: Buffer[] = [];
  const v = given.trim().replace(/^sha256=/i, '');
  if (/^[0-9a-f]{64}$/i.test(v)) candidates.push(Buffer.from(v, 'hex'));
  else if (/^[A-Za-z0-9+/_-]{43}=?$/.test(v)) candidates.push(Buffer.from(v.replace(/-/g, '+').replace(/_/g, '/'), 'base64'));
  return candidates.some((c) => c.length === expected.length && timingSafeEqual(c, expected));
}

/**
 * Verifies a request's signature over its exact body bytes; throws {@link WebhookAuthError} naming the
 * problem. `now` in ms.
 */
export function verifyWebhook(spec: WebhookPipelineSpec, headers: Headers, body: Buffer, env: NodeJS.ProcessEnv, now: number): void {
  const sig = spec.signature;
  const secret = env[sig.secret_env];
  if (!secret) throw new WebhookAuthError('SECRET_MISSING', `the service has no secret for this webhook: set the environment variable ${sig.secret_env}`, 503);
  const header = sig.header ?? DEFAULT_HEADER[sig.scheme];
  const value = headers.get(header);
  if (!value) throw new WebhookAuthError('BAD_SIGNATURE', `missing ${header} header`);
  const tolerance = sig.tolerance ?? WEBHOOK_TOLERANCE_MS;
  const hmac = (prefix: string | undefined) => {
    const h = createHmac('sha256', secret);
    if (prefix !== undefined) h.update(`${prefix}.`);
    return h.update(body).digest();
  };
  const checkTime = (ts: string | null) => {
    if (!ts || !/^\d{1,12}$/.test(ts)) throw new WebhookAuthError('BAD_SIGNATURE', 'missing or malformed signing timestamp');
    if (Math.abs(now - Number(ts) * 1000) > tolerance) throw new WebhookAuthError('STALE_TIMESTAMP', `the request was signed at ${new Date(Number(ts) * 1000).toISOString()}, more than ${tolerance / 1000}s from now; replays are refused (check the sender's clock)`);
  };
  if (sig.scheme === 'stripe') {
    const parts = Object.fromEntries(value.split(',').map((p) => p.trim().split('=') as [string, string]).filter((p) => p.length === 2));
    const ts = parts.t ?? null;
    const digests = value.split(',').map((p) => p.trim()).filter((p) => p.startsWith('v1=')).map((p) => p.slice(3));
    if (!ts || !digests.length) throw new WebhookAuthError('BAD_SIGNATURE', `${header} must look like t=…,v1=…`);
    const expected = hmac(ts);
    if (!digests.some((d) => equalDigest(expected, d))) throw new WebhookAuthError('BAD_SIGNATURE', 'signature does not match the body');
    checkTime(ts);
    return;
  }
  const ts = sig.scheme === 'hmac-sha256' && sig.timestamp_header ? headers.get(sig.timestamp_header) : undefined;
  if (sig.scheme === 'hmac-sha256' && sig.timestamp_header && !ts) throw new WebhookAuthError('BAD_SIGNATURE', `missing ${sig.timestamp_header} header`);
  if (!equalDigest(hmac(ts ?? undefined), value)) throw new WebhookAuthError('BAD_SIGNATURE', 'signature does not match the body');
  if (ts !== undefined) checkTime(ts);
}

/** Reads a dotted path of a JSON value. */
export function atPath(value: unknown, path: string): unknown {
  let cur = value;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** The event id of a request (header or body path), or undefined. */
export function webhookEventId(spec: WebhookPipelineSpec, headers: Headers, body: unknown): string | undefined {
  const raw = 'header' in spec.event_id ? headers.get(spec.event_id.header) : atPath(body, spec.event_id.path);
  if (raw === undefined || raw === null || raw === '') return undefined;
  return typeof raw === 'string' || typeof raw === 'number' ? String(raw) : undefined;
}

function labelOf(spec: WebhookPipelineSpec): string {
  return spec.object ?? ('salesforce' in spec.target ? spec.target.salesforce.object : 'event');
}

function recordsOf(spec: WebhookPipelineSpec) {
  return (row: InboxRow): InboundRecord[] => {
    const body = (row.payload as { body?: unknown }).body;
    const at = spec.records ? atPath(body, spec.records) : body;
    const list = Array.isArray(at) ? at : [at];
    if (!list.length || list.some((r) => r === null || typeof r !== 'object' || Array.isArray(r))) throw new Error(`${spec.records ? `body.${spec.records}` : 'the body'} is not an object or a list of objects`);
    return list.map((record) => ({ object: labelOf(spec), record: record as Record<string, unknown> }));
  };
}

registerPipelineKind<WebhookPipelineSpec>({
  kind: 'webhook',
  schema: webhookPipelineSchema as never,
  defaultEveryMs: INBOUND_SWEEP_MS,
  check: (spec) => checkInbound(spec),
  priority: () => 'cdc',
  units: (spec) => [labelOf(spec)],
  deadLetterStore: (spec, serviceStoreUrl, baseDir) => ('salesforce' in spec.target ? inboundStateUrl(spec, serviceStoreUrl, baseDir) : undefined),
  run: (spec: WebhookPipelineSpec, run: PipelineRunContext): Promise<PipelineRunResult> => drainInbox(spec, run, recordsOf(spec)),
});

/**
 * `kind: outbound-messages` pipelines: Salesforce's Outbound Messages (workflow and flow SOAP notifications)
 * received at `POST /inbound/outbound-messages/{pipeline}`, written to the inbox deduplicated by
 * `Notification/Id` before `<Ack>true</Ack>` is answered, then delivered to the target in arrival order.
 *
 * ```yaml
 * pipelines:
 *   - name: account-changes
 *     kind: outbound-messages
 *     connection: prod                    # notifications from another org are refused
 *     objects: [Account]                  # sObject types accepted (default: any)
 *     target: { queue: { kind: rabbitmq, name: erp.accounts } }
 * ```
 */
import { z } from 'zod';
import type { InboxRow } from '../../store/index.ts';
import { basePipelineFields, registerPipelineKind, type PipelineRunContext, type PipelineRunResult } from '../pipelines/kinds.ts';
import { checkInbound, drainInbox, INBOUND_SWEEP_MS, inboundFields, inboundStateUrl, type InboundRecord } from './inbound.ts';

export const outboundMessagesPipelineSchema = z
  .strictObject({
    kind: z.literal('outbound-messages'),
    ...basePipelineFields,
    ...inboundFields,
    objects: z.array(z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'an sObject API name such as Account')).min(1).optional().describe('sObject types accepted (default: any)'),
    organization_id: z.string().regex(/^00D[A-Za-z0-9]{12}([A-Za-z0-9]{3})?$/, 'an org Id (00D…)').optional().describe("the sending org (default: the connection's org)"),
  })
  .meta({ id: 'OutboundMessagesPipeline' });

export type OutboundMessagesPipelineSpec = z.output<typeof outboundMessagesPipelineSchema>;

/** What the inbox keeps of one notification. */
export interface StoredNotification {
  /** `Notification/Id`. */
  id: string;
  actionId: string;
  organizationId: string;
  object: string;
  /** The sObject's fields as sent (text values, `null` for nil). */
  record: Record<string, string | null>;
}

function recordsOf(row: InboxRow): InboundRecord[] {
  const n = row.payload as unknown as StoredNotification;
  if (!n.object || !n.record) throw new Error('not a notification');
  return [{ object: n.object, record: { ...n.record } }];
}

registerPipelineKind<OutboundMessagesPipelineSpec>({
  kind: 'outbound-messages',
  schema: outboundMessagesPipelineSchema as never,
  defaultEveryMs: INBOUND_SWEEP_MS,
  check: (spec) => checkInbound(spec),
  priority: () => 'cdc',
  units: (spec) => spec.objects ?? [],
  deadLetterStore: (spec, serviceStoreUrl, baseDir) => ('salesforce' in spec.target ? inboundStateUrl(spec, serviceStoreUrl, baseDir) : undefined),
  run: (spec: OutboundMessagesPipelineSpec, run: PipelineRunContext): Promise<PipelineRunResult> => drainInbox(spec, run, recordsOf),
});

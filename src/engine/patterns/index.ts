/**
 * The integration patterns served by `sfbridge serve`: inbound pipelines (Outbound Messages, webhooks) that
 * deliver a durable inbox, and remote call-in. Importing this module registers their pipeline kinds.
 */
import './outbound-messages.ts';
import './webhook.ts';

export * from './inbound.ts';
export { outboundMessagesPipelineSchema, type OutboundMessagesPipelineSpec, type StoredNotification } from './outbound-messages.ts';
export * from './call-in.ts';
export { atPath, verifyWebhook, WEBHOOK_TOLERANCE_MS, WebhookAuthError, webhookEventId, webhookPipelineSchema, type WebhookPipelineSpec } from './webhook.ts';

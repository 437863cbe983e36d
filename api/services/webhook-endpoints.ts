// What the webhook endpoint routes do beyond reading rows: secrets, URL checks after DNS
// resolution, the test ping, and starting or waking the endpoint's delivery workflow.
import { randomBytes, randomUUID } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import { deliverToEndpoint } from '../../activities/webhooks.js';
import type { Database, WebhookAttemptRow, WebhookEndpointRow } from '../../db/schema.js';
import { iso } from '../../infra/encoding.js';
import { isPrivateAddress, webhookUrlProblem, type WebhookHttpPolicy } from '../../infra/webhook-http.js';
import { searchAttributes } from '../../workflows/contract.js';
import { endpointChangedSignal, WEBHOOK_DELIVERY_WORKFLOW_TYPE, webhookWorkflowId, type WebhookDeliveryInput } from '../../workflows/webhook-contract.js';
import type { WebhookSettings } from '../context.js';
import { validationProblem } from '../problem.js';

/** A Standard Webhooks secret: `whsec_` and 32 random bytes in base64. */
export const newWebhookSecret = (): string => `whsec_${randomBytes(32).toString('base64')}`;

/** The URL rules, then the name's addresses: a private one is refused unless the host is allowlisted. */
export async function assertWebhookUrl(url: string, policy: WebhookHttpPolicy): Promise<void> {
  const problem = webhookUrlProblem(url, policy);
  if (problem) throw validationProblem([{ field: 'url', message: problem }]);
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (policy.allowedHosts.includes(host)) return;
  const addresses = await lookup(host, { all: true }).catch(() => []);
  if (addresses.length === 0) throw validationProblem([{ field: 'url', message: `${host} does not resolve` }]);
  const refused = addresses.find((a) => isPrivateAddress(a.address));
  if (refused) throw validationProblem([{ field: 'url', message: `${host} resolves to a private, loopback or link-local address (${refused.address})` }]);
}

export function toEndpointView(row: WebhookEndpointRow) {
  return {
    id: row.id,
    url: row.url,
    ...(row.description ? { description: row.description } : {}),
    eventTypes: row.event_types,
    enabled: row.enabled,
    ...(row.disabled_reason ? { disabledReason: row.disabled_reason } : {}),
    ...(row.disabled_at ? { disabledAt: iso(row.disabled_at) } : {}),
    ...(row.previous_secret_expires_at && row.previous_secret_expires_at > new Date() ? { previousSecretExpiresAt: iso(row.previous_secret_expires_at) } : {}),
    cursor: String(row.cursor_seq),
    workflowId: webhookWorkflowId(row.tenant_id, row.id),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

/** Starts the endpoint's delivery workflow, or signals the running one to look again now. */
export async function wakeDelivery(temporal: Client, settings: WebhookSettings, row: WebhookEndpointRow): Promise<void> {
  const input: WebhookDeliveryInput = { tenantId: row.tenant_id, endpointId: row.id, settings: settings.delivery };
  await temporal.workflow.signalWithStart(WEBHOOK_DELIVERY_WORKFLOW_TYPE, {
    workflowId: webhookWorkflowId(row.tenant_id, row.id),
    taskQueue: settings.taskQueue,
    args: [input],
    signal: endpointChangedSignal,
    signalArgs: [],
    typedSearchAttributes: [{ key: searchAttributes.tenantId, value: row.tenant_id }],
  });
}

/** Tells a running delivery workflow its endpoint changed (it stops by itself once the row is gone or disabled). */
export async function notifyDelivery(temporal: Client, row: WebhookEndpointRow): Promise<void> {
  try {
    await temporal.workflow.getHandle(webhookWorkflowId(row.tenant_id, row.id)).signal(endpointChangedSignal);
  } catch (error) {
    if (!(error instanceof WorkflowNotFoundError)) throw error;
  }
}

/** A signed `webhook.test` ping, sent now from the API and recorded as an attempt. */
/** Undefined when the endpoint was deleted meanwhile. */
export async function sendTestPing(db: Kysely<Database>, row: WebhookEndpointRow, policy: WebhookHttpPolicy): Promise<WebhookAttemptRow | undefined> {
  const webhookId = `ping_${randomUUID()}`;
  const body = JSON.stringify({ id: webhookId, type: 'webhook.test', tenantId: row.tenant_id, endpointId: row.id, sentAt: new Date().toISOString() });
  return (await deliverToEndpoint(db, row, { id: webhookId, type: 'webhook.test', seq: null, body }, policy)).attempt;
}

export function toAttemptView(a: WebhookAttemptRow) {
  return {
    id: String(a.id),
    webhookId: a.webhook_id,
    eventType: a.event_type,
    ...(a.feed_seq !== null ? { cursor: String(a.feed_seq) } : {}),
    attemptedAt: iso(a.attempted_at),
    ...(a.status_code !== null ? { status: a.status_code } : {}),
    latencyMs: a.latency_ms,
    succeeded: a.succeeded,
    ...(a.error ? { error: a.error } : {}),
  };
}

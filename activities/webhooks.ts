// The webhook delivery workflow's activities: deliver the endpoint's next events from the feed
// (signed, one event per request, in feed order), record every attempt, and disable an endpoint.
import { Context } from '@temporalio/activity';
import type { Kysely } from 'kysely';
import { readFeed } from '../db/repositories/event-feed.js';
import { advanceWebhookCursor, disableWebhookEndpoint, findWebhookEndpoint, recordWebhookAttempt, signingSecrets } from '../db/repositories/webhook-endpoints.js';
import type { Database, WebhookAttemptRow, WebhookEndpointRow } from '../db/schema.js';
import { isEventType, type CatalogueEvent, type EventType } from '../domain/events/catalogue.js';
import type { Logger } from '../infra/logger.js';
import { createWebhookAgents, DEFAULT_WEBHOOK_HTTP_POLICY, sendWebhook, type WebhookAgents, type WebhookHttpPolicy, type WebhookResult } from '../infra/webhook-http.js';
import type { DeliveryRequest, DeliveryStep } from '../workflows/webhook-contract.js';

export interface WebhookActivitySettings {
  http: WebhookHttpPolicy;
  /** How often a waiting delivery reads the feed for new events. */
  pollMs: number;
  /** Deliveries per activity call before it reports back (bounds the work a retry repeats). */
  maxPerCall: number;
}

export const DEFAULT_WEBHOOK_ACTIVITY_SETTINGS: WebhookActivitySettings = { http: DEFAULT_WEBHOOK_HTTP_POLICY, pollMs: 500, maxPerCall: 100 };

/** Sends one event (or ping) to the endpoint and records the attempt. */
export async function deliverToEndpoint(
  db: Kysely<Database>,
  endpoint: WebhookEndpointRow,
  message: { id: string; type: string; seq: string | null; body: string },
  http: WebhookHttpPolicy,
  agents?: WebhookAgents,
): Promise<{ result: WebhookResult; attempt: WebhookAttemptRow | undefined }> {
  const result = await sendWebhook(endpoint.url, { id: message.id, body: message.body }, signingSecrets(endpoint), http, agents);
  const attempt = await recordWebhookAttempt(db, {
    tenant_id: endpoint.tenant_id,
    endpoint_id: endpoint.id,
    webhook_id: message.id,
    event_type: message.type,
    feed_seq: message.seq,
    status_code: result.status ?? null,
    latency_ms: result.latencyMs,
    succeeded: result.ok,
    error: result.error ?? null,
  });
  return { result, attempt };
}

/** The running activity's context; undefined when called directly (a test, a script). */
function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

/** Heartbeats, then waits; the wait ends early when the activity is cancelled (e.g. the worker shuts down). */
async function idle(ms: number): Promise<void> {
  const context = activityContext();
  context?.heartbeat();
  await (context ? context.sleep(ms) : new Promise((resolve) => setTimeout(resolve, ms)));
}

/** Events read from the feed at once; the endpoint row is read again between batches. */
const BATCH = 20;

export function createWebhookActivities({ db, logger, settings }: { db: Kysely<Database>; logger: Logger; settings: WebhookActivitySettings }) {
  const agents = createWebhookAgents();
  return {
    /**
     * Delivers the endpoint's events after its cursor, in feed order, until one fails, `maxPerCall`
     * went out, or nothing new came for `idleWaitMs`. The cursor moves after each 2xx, so a retry
     * after a crash re-sends at most the event in flight (with the same webhook-id).
     */
    async deliverWebhookEvents(request: DeliveryRequest): Promise<DeliveryStep> {
      const log = logger.child({ tenantId: request.tenantId, endpointId: request.endpointId });
      let delivered = 0;
      let idleSince = Date.now();
      for (;;) {
        const endpoint = await findWebhookEndpoint(db, request.tenantId, request.endpointId);
        if (!endpoint) return { kind: 'stopped', reason: 'endpoint deleted' };
        if (!endpoint.enabled) return { kind: 'stopped', reason: endpoint.disabled_reason ?? 'endpoint disabled' };
        const types = endpoint.event_types.filter(isEventType) as EventType[];
        const events: CatalogueEvent[] = await readFeed(db, request.tenantId, { afterSeq: String(endpoint.cursor_seq), limit: BATCH, types });
        if (events.length === 0) {
          if (delivered > 0 || Date.now() - idleSince >= request.idleWaitMs) return { kind: 'delivered', delivered };
          await idle(settings.pollMs);
          continue;
        }
        let cursor = String(endpoint.cursor_seq);
        for (const event of events) {
          const { result } = await deliverToEndpoint(db, endpoint, { id: event.id, type: event.type, seq: event.cursor, body: JSON.stringify(event) }, settings.http, agents);
          activityContext()?.heartbeat();
          if (!result.ok) {
            log.info({ eventId: event.id, type: event.type, status: result.status, error: result.error, latencyMs: result.latencyMs }, 'webhook delivery failed');
            return { kind: 'failed', delivered, eventId: event.id, ...(result.status !== undefined ? { status: result.status } : {}), ...(result.error ? { error: result.error } : {}) };
          }
          delivered += 1;
          // Moved by someone else (a replay, an update): read the endpoint again before going on.
          if (!(await advanceWebhookCursor(db, endpoint.id, cursor, event.cursor))) break;
          cursor = event.cursor;
          if (delivered >= settings.maxPerCall) return { kind: 'delivered', delivered };
        }
        idleSince = Date.now();
      }
    },

    async disableWebhookEndpointActivity(request: { tenantId: string; endpointId: string; reason: string }): Promise<void> {
      await disableWebhookEndpoint(db, request.endpointId, request.reason);
      logger.warn({ tenantId: request.tenantId, endpointId: request.endpointId, reason: request.reason }, 'webhook endpoint disabled');
    },
  };
}

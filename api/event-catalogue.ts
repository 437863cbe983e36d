// The event catalogue as zod schemas: one stable payload per type (domain/events/catalogue.ts
// builds them), used by the feed's responses and, as OpenAPI 3.1 `webhooks`, by every delivery.
import { z, type RouteConfig } from '@hono/zod-openapi';
import { EVENT_TYPES, type EventType } from '../domain/events/catalogue.js';
import { ANOMALY_TYPES, SHIPMENT_STATUSES } from '../domain/types.js';

const stopFields = {
  stopSequence: z.number().int().optional(),
  stopName: z.string().optional(),
  stopType: z.string().optional(),
};
const correctionFields = {
  corrected: z.boolean().openapi({ description: 'True when a re-evaluation of late fixes moved or found this milestone' }),
  supersedesEventId: z.string().optional().openapi({ description: 'The event this correction replaces' }),
  previousAt: z.string().optional().openapi({ description: 'The time the superseded event gave' }),
};
const position = z.object({ lat: z.number(), lon: z.number() }).openapi('EventPosition');
const anomalyFields = {
  anomaly: z.enum(ANOMALY_TYPES),
  stopSequence: z.number().int().optional(),
  stopName: z.string().optional(),
  detail: z.string().optional(),
};
const status = z.enum(SHIPMENT_STATUSES);
const assignment = z.object({ carrierId: z.string().optional(), vehicleId: z.string().optional(), driverId: z.string().optional(), deviceId: z.string().optional() });

const DATA_SCHEMAS: Record<EventType, { description: string; data: z.ZodObject }> = {
  'shipment.created': { description: 'A shipment was created (its workflow started).', data: z.object({ stops: z.number().int() }) },
  'shipment.status_changed': {
    description: 'The shipment status changed (IN_TRANSIT ⇄ AT_STOP); delivery and cancellation have their own types.',
    data: z.object({ from: status, to: status, ...stopFields, corrected: z.boolean() }),
  },
  'shipment.delivered': { description: 'The shipment was delivered.', data: z.object({ from: status, ...stopFields, corrected: z.boolean() }) },
  'shipment.cancelled': { description: 'The shipment was cancelled.', data: z.object({ from: status, reason: z.string().optional(), actor: z.string().optional() }) },
  'stop.arrived': {
    description: 'Arrival at a stop, stamped with the fix time (`occurredAt`); a correction supersedes an earlier event.',
    data: z.object({ ...stopFields, position: position.optional(), ...correctionFields }),
  },
  'stop.departed': {
    description: 'Departure from a stop, stamped with the fix time (`occurredAt`); a correction supersedes an earlier event.',
    data: z.object({ ...stopFields, position: position.optional(), ...correctionFields }),
  },
  'stop.passed': {
    description: "The vehicle went through a stop's geofence without a confirmed visit.",
    data: z.object({ ...stopFields, enteredAt: z.string(), exitedAt: z.string().optional(), fixesInside: z.number().int().optional() }),
  },
  'stop.milestone_retracted': {
    description: 'A re-evaluation no longer finds an arrival or departure: the superseded event no longer holds.',
    data: z.object({ milestone: z.enum(['ARRIVED', 'DEPARTED']), ...stopFields, supersedesEventId: z.string().optional() }),
  },
  'anomaly.opened': { description: 'An anomaly opened.', data: z.object(anomalyFields) },
  'anomaly.resolved': { description: 'An anomaly resolved.', data: z.object(anomalyFields) },
  'anomaly.retracted': { description: 'A re-evaluation no longer finds an anomaly episode.', data: z.object({ ...anomalyFields, resolvedAt: z.string().optional() }) },
  'eta.changed': {
    description: "A stop's first ETA, or an ETA that moved by at least the shipment's `etaChangeMin` (default 10 min) since the last one told.",
    data: z.object({ ...stopFields, eta: z.string(), previousEta: z.string().optional(), deltaMin: z.number().int().optional() }),
  },
  'delivery_event.recorded': {
    description: 'A reported delivery event: proof of delivery, exception, manual arrival or departure.',
    data: z.object({
      kind: z.enum(['PROOF_OF_DELIVERY', 'EXCEPTION', 'MANUAL_ARRIVAL', 'MANUAL_DEPARTURE']),
      eventId: z.string().optional(),
      ...stopFields,
      signedBy: z.string().optional(),
      documentUrl: z.string().optional(),
      exceptionCode: z.string().optional(),
      note: z.string().optional(),
      actor: z.string().optional(),
    }),
  },
  'assignment.changed': { description: "The shipment's carrier, vehicle, driver or device changed.", data: z.object({ from: assignment, to: assignment, actor: z.string().optional() }) },
};

const envelope = {
  id: z.string().openapi({ description: 'Globally unique; the `webhook-id` of its deliveries' }),
  cursor: z.string().openapi({ description: "Position in the tenant's feed (commit order); resume after it with `after=`" }),
  tenantId: z.string(),
  shipmentId: z.string(),
  shipmentReference: z.string(),
  occurredAt: z.string().openapi({ description: 'When it happened (fix time for milestones and anomalies)' }),
  recordedAt: z.string().openapi({ description: 'When the platform recorded it' }),
};

const schemaName = (type: string) => `Event_${type.replace(/\./g, '_')}`;

const eventSchema = (type: EventType) =>
  z.object({ ...envelope, type: z.literal(type), data: DATA_SCHEMAS[type].data }).openapi(schemaName(type), { description: DATA_SCHEMAS[type].description });

/** One schema per catalogue type, in catalogue order. */
export const EVENT_SCHEMAS = EVENT_TYPES.map((type) => ({ type, description: DATA_SCHEMAS[type].description, schema: eventSchema(type) }));

const [firstSchema, ...otherSchemas] = EVENT_SCHEMAS.map((entry) => entry.schema);
export const EventSchema = z
  .discriminatedUnion('type', [firstSchema!, ...otherSchemas])
  .openapi('Event');

const signatureHeaders = z.object({
  'webhook-id': z.string().openapi({ description: "The event's id: the same on every retry of it, so receivers drop duplicates by it" }),
  'webhook-timestamp': z.string().openapi({ description: 'Unix seconds when this attempt was signed' }),
  'webhook-signature': z.string().openapi({ description: 'Space-separated `v1,<base64 HMAC-SHA256>` of `id.timestamp.body`, one per valid secret (Standard Webhooks)' }),
});

/** The catalogue as OpenAPI 3.1 `webhooks`: what each endpoint receives, one POST per event. */
export function registerEventWebhooks(registry: { registerWebhook(route: RouteConfig): void }): void {
  for (const { type, description, schema } of EVENT_SCHEMAS) {
    registry.registerWebhook({
      method: 'post',
      path: type,
      tags: ['Webhooks'],
      summary: type,
      description: `${description} Signed per Standard Webhooks; verify with any of its libraries.`,
      request: { headers: signatureHeaders, body: { required: true, content: { 'application/json': { schema } } } },
      responses: {
        200: { description: 'Any 2xx acknowledges the event' },
        410: { description: 'Gone: the endpoint is disabled at once' },
      },
    });
  }
}

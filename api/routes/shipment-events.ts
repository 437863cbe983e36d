// Delivery events a person reports about a shipment: proof of delivery, an exception, a manual
// arrival or departure. Sent to the shipment workflow as an Update, which records each once (by the
// client's `eventId`) in the timeline; proof of delivery at the last stop delivers the shipment.
import { createRoute, z } from '@hono/zod-openapi';
import { requestHash } from '../../infra/encoding.js';
import { DELIVERY_EVENT_TYPES, recordDeliveryEventUpdate } from '../../workflows/contract.js';
import type { RouteDeps } from '../context.js';
import { secured } from '../permissions.js';
import { ProblemError, validationProblem } from '../problem.js';
import { createRouter, executeShipmentUpdate, loadShipment } from '../router.js';
import { isoTime, problemResponses, ShipmentIdParamSchema, ShipmentViewSchema, text } from '../schemas.js';

const common = {
  eventId: text({ max: 100, trim: false })
    .regex(/^[\w.:-]{1,100}$/, 'letters, digits and . _ : - only, at most 100')
    .optional()
    .openapi({ description: 'Your idempotency key; by default a hash of the body, so an identical retry is recorded once.' }),
  at: isoTime.optional().openapi({ description: 'When it happened; now when omitted. Not in the future beyond the clock skew.' }),
  note: text({ min: 1, max: 2000 }).optional(),
};
const stopSequence = z.number().int().min(1);

const DeliveryEventBodySchema = z
  .discriminatedUnion('type', [
    z.strictObject({
      type: z.literal('PROOF_OF_DELIVERY'),
      ...common,
      stopSequence: stopSequence.optional().openapi({ description: 'Defaults to the last stop; proof at the last stop delivers the shipment.' }),
      signedBy: text({ min: 1, max: 200 }).optional(),
      documentUrl: text({ max: 2000 }).check(z.url({ message: 'must be a URL' })).optional(),
    }),
    z.strictObject({
      type: z.literal('EXCEPTION'),
      ...common,
      stopSequence: stopSequence.optional(),
      exceptionCode: text({ max: 100, trim: false }).regex(/^[A-Z][A-Z0-9_]{1,39}$/, 'an upper-case code such as DAMAGED or REFUSED'),
    }),
    z.strictObject({ type: z.literal('MANUAL_ARRIVAL'), ...common, stopSequence }),
    z.strictObject({ type: z.literal('MANUAL_DEPARTURE'), ...common, stopSequence }),
  ])
  .openapi('DeliveryEvent', {
    example: { type: 'PROOF_OF_DELIVERY', eventId: 'pod-PO-1234', signedBy: 'J. Dupont', at: '2026-11-26T15:04:00Z' },
  });

const recordEventRoute = createRoute(
  secured({
    method: 'post',
    path: '/v1/shipments/{id}/events',
    tags: ['Shipments'],
    summary: 'Report a delivery event',
    description:
      `One of ${DELIVERY_EVENT_TYPES.join(', ')}. Recorded once per \`eventId\` in the timeline; a manual arrival or departure ` +
      'moves the shipment like a detected one, proof of delivery at the last stop delivers it. Accepted during the grace period ' +
      'after delivery; refused (409) for a cancelled shipment or a milestone that does not fit. A device key may report only for ' +
      'shipments its device is assigned to.',
    request: { params: ShipmentIdParamSchema, body: { required: true, content: { 'application/json': { schema: DeliveryEventBodySchema } } } },
    responses: {
      200: { description: 'The shipment after the event', content: { 'application/json': { schema: ShipmentViewSchema } } },
      ...problemResponses(400, 401, 403, 404, 409, 503),
    },
  }),
);

export function shipmentEventRoutes({ db, temporal, config }: RouteDeps) {
  const router = createRouter();

  router.openapi(recordEventRoute, async (c) => {
    const body = c.req.valid('json');
    const auth = c.get('auth');
    const row = await loadShipment(c, db, c.req.valid('param').id);
    if (auth.deviceId && auth.deviceId !== row.device_id) throw new ProblemError('forbidden', 403, 'This device key is not assigned to the shipment.');
    if (body.at && Date.parse(body.at) > Date.now() + config.maxClockSkewSeconds * 1000) {
      throw validationProblem([{ field: 'at', message: `is more than ${config.maxClockSkewSeconds}s in the future` }]);
    }
    const event = {
      ...body,
      eventId: body.eventId ?? requestHash(body).slice(0, 32),
      at: new Date(body.at ?? Date.now()).toISOString(),
      actor: `api-key:${auth.keyId}`,
    };
    const view = await executeShipmentUpdate(
      temporal,
      config.updateTimeoutMs,
      `take a ${event.type} event`,
      (handle) => handle.executeUpdate(recordDeliveryEventUpdate, { args: [event], updateId: `event:${event.eventId}` }),
      row.workflow_id,
    );
    return c.json(view, 200);
  });

  return router;
}

// GET /v1/shipment-overview: the console's dashboard in one read: shipments per status, and each
// planned or running shipment with its last position, open anomalies and its next stop's ETA
// against the appointment window (on time / at risk / late), for the fleet map.
import { createRoute, z } from '@hono/zod-openapi';
import { activeShipmentsWithStops, countShipmentsByStatus } from '../../db/repositories/console.js';
import { toStopProgress } from '../../db/repositories/shipments.js';
import { punctuality } from '../../domain/punctuality.js';
import { SHIPMENT_STATUSES } from '../../domain/types.js';
import type { RouteDeps } from '../context.js';
import { secured } from '../permissions.js';
import { createRouter } from '../router.js';
import { FixSchema, problemResponses } from '../schemas.js';

const ACTIVE_LIMIT = 1_000;

const OverviewSchema = z
  .object({
    counts: z.record(z.enum(SHIPMENT_STATUSES), z.number().int()),
    active: z.array(
      z.object({
        id: z.string(),
        reference: z.string(),
        status: z.string(),
        openAnomalies: z.array(z.string()),
        lastPosition: FixSchema.optional(),
        nextStop: z
          .object({ sequence: z.number().int(), name: z.string(), window: z.object({ start: z.string(), end: z.string() }).optional(), eta: z.string().optional() })
          .optional(),
        punctuality: z.enum(['on_time', 'at_risk', 'late', 'unknown']).openapi({ description: "The next stop's ETA against its appointment window" }),
      }),
    ),
  })
  .openapi('ShipmentOverview');

const overviewRoute = createRoute(secured({
  method: 'get',
  path: '/v1/shipment-overview',
  tags: ['Shipments'],
  summary: 'Counts per status and every active shipment with its last position and punctuality',
  description: `At most ${ACTIVE_LIMIT} active shipments, newest first. An ETA less than 15 minutes before the window's end is at risk.`,
  responses: {
    200: { description: 'The overview', content: { 'application/json': { schema: OverviewSchema } } },
    ...problemResponses(401, 403),
  },
}));

export function shipmentOverviewRoutes({ db }: RouteDeps) {
  const router = createRouter();
  router.openapi(overviewRoute, async (c) => {
    const { tenantId } = c.get('auth');
    const [counts, active] = await Promise.all([countShipmentsByStatus(db, tenantId), activeShipmentsWithStops(db, tenantId, ACTIVE_LIMIT)]);
    const now = new Date().toISOString();
    return c.json(
      {
        counts,
        active: active.map(({ shipment, stops }) => {
          const next = stops.map(toStopProgress).find((s) => s.status === 'PENDING');
          return {
            id: shipment.id,
            reference: shipment.reference,
            status: shipment.status,
            openAnomalies: shipment.open_anomalies,
            ...(shipment.last_position ? { lastPosition: shipment.last_position } : {}),
            ...(next
              ? { nextStop: { sequence: next.sequence, name: next.name, ...(next.window ? { window: next.window } : {}), ...(next.eta ? { eta: next.eta } : {}) } }
              : {}),
            punctuality: next ? punctuality(next, now) : ('unknown' as const),
          };
        }),
      },
      200,
    );
  });
  return router;
}

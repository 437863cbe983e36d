// Analytics over the tenant's projection: how good the ETAs were, measured against real arrivals.
import { createRoute, z } from '@hono/zod-openapi';
import { loadAccuracyData } from '../../db/repositories/eta.js';
import { computeEtaAccuracy } from '../../domain/eta/index.js';
import type { RouteDeps } from '../context.js';
import { secured } from '../permissions.js';
import { createRouter } from '../router.js';
import { isoTime, problemResponses } from '../schemas.js';

const StatsSchema = z
  .object({
    samples: z.number().int(),
    meanAbsoluteErrorMin: z.number().nullable(),
    meanErrorMin: z.number().nullable().openapi({ description: 'Bias: positive means predictions were later than the arrival' }),
    withinToleranceShare: z.number().nullable().openapi({ description: 'Share of samples within ±toleranceMin, 0..1' }),
  })
  .openapi('EtaAccuracyStats');

const EtaAccuracySchema = z
  .object({
    shipments: z.number().int().openapi({ description: 'Delivered shipments measured' }),
    arrivals: z.number().int(),
    predictions: z.number().int(),
    toleranceMin: z.number(),
    sources: z.array(z.string()).openapi({ description: '`model` (the ETA shown to users) and `baseline` (straight line at a constant speed)' }),
    horizons: z.array(z.object({ horizonMin: z.number(), bySource: z.record(z.string(), StatsSchema) })),
  })
  .openapi('EtaAccuracy');

const etaAccuracyRoute = createRoute(
  secured({
    method: 'get',
    path: '/v1/analytics/eta-accuracy',
    tags: ['Analytics'],
    summary: 'ETA accuracy of delivered shipments, model versus baseline',
    description:
      'For each stop reached, the latest prediction made at least the horizon (30 min, 1 h, 2 h, 4 h) before the real arrival: ' +
      'mean absolute error and share within ±15 min, for the model and for a naive baseline.',
    request: {
      query: z.object({
        since: isoTime.optional().openapi({ description: 'Only shipments delivered (last updated) since this time' }),
      }),
    },
    responses: {
      200: { description: 'Accuracy per horizon and source', content: { 'application/json': { schema: EtaAccuracySchema } } },
      ...problemResponses(400, 401, 403),
    },
  }),
);

export function analyticsRoutes({ db }: RouteDeps) {
  const router = createRouter();
  router.openapi(etaAccuracyRoute, async (c) => {
    const { since } = c.req.valid('query');
    const data = await loadAccuracyData(db, { tenantId: c.get('auth').tenantId, ...(since ? { since } : {}) });
    const report = computeEtaAccuracy(data.predictions, data.arrivals);
    return c.json({ shipments: data.shipments, arrivals: data.arrivals.length, predictions: data.predictions.length, ...report }, 200);
  });
  return router;
}

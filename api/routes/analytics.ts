// Analytics over the tenant's projection: how good the ETAs were, measured against real arrivals;
// how punctual the stop visits were and how long trucks dwelt, per carrier, facility and week.
import { createRoute, z } from '@hono/zod-openapi';
import { dwellByFacility, onTimeReport, type VisitFilter } from '../../db/repositories/analytics.js';
import { loadAccuracyData } from '../../db/repositories/eta.js';
import { computeEtaAccuracy } from '../../domain/eta/index.js';
import type { RouteDeps } from '../context.js';
import { secured } from '../permissions.js';
import { createRouter } from '../router.js';
import { isoTime, problemResponses } from '../schemas.js';
import { resourceId, text } from '../primitives.js';

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

const VisitQuerySchema = z
  .object({
    from: isoTime.optional().openapi({ description: 'Visits that arrived at or after this time' }),
    to: isoTime.optional().openapi({ description: 'Visits that arrived before this time' }),
    carrierId: resourceId().optional().openapi({ description: "Only this carrier's shipments" }),
    facility: text({ min: 1, max: 200 }).optional().openapi({ description: 'Only stops of this name' }),
  })
  .refine((q) => !q.from || !q.to || Date.parse(q.to) > Date.parse(q.from), { message: 'to must be after from', path: ['to'] });

const OnTimeFiguresShape = {
  visits: z.number().int().openapi({ description: 'Stop visits (stops reached) that had an appointment window' }),
  onTime: z.number().int().openapi({ description: 'Arrived at or before the window end' }),
  late: z.number().int(),
  onTimeShare: z.number().nullable().openapi({ description: 'onTime / visits, 0..1; null without visits' }),
  meanLatenessMin: z.number().nullable().openapi({ description: 'Mean minutes past the window end of the late visits' }),
};

const OnTimeSchema = z
  .object({
    ...OnTimeFiguresShape,
    byCarrier: z.array(z.object({ carrierId: z.string().nullable(), carrierName: z.string().nullable(), ...OnTimeFiguresShape })),
    byFacility: z.array(z.object({ facility: z.string(), ...OnTimeFiguresShape })),
    byWeek: z.array(z.object({ week: z.string().openapi({ description: 'Monday (UTC) of the arrival week, YYYY-MM-DD' }), ...OnTimeFiguresShape })),
  })
  .openapi('OnTimePerformance');

const DwellSchema = z
  .object({
    facilities: z.array(
      z.object({
        facility: z.string(),
        visits: z.number().int().openapi({ description: 'Completed visits (arrived and departed)' }),
        p50Min: z.number().openapi({ description: 'Median dwell, minutes' }),
        p90Min: z.number().openapi({ description: '90th percentile dwell, minutes (linear interpolation)' }),
        meanMin: z.number(),
      }),
    ),
  })
  .openapi('DwellByFacility');

const onTimeRoute = createRoute(
  secured({
    method: 'get',
    path: '/v1/analytics/on-time',
    tags: ['Analytics'],
    summary: 'On-time performance of stop visits, by carrier, facility and week',
    description:
      'Stops reached that had an appointment window: on time when the arrival is at or before the window end. ' +
      'Filtered by arrival time (from, to), carrier and facility (stop name); the same figures as the dbt mart `mart_on_time`.',
    request: { query: VisitQuerySchema },
    responses: {
      200: { description: 'Totals and breakdowns', content: { 'application/json': { schema: OnTimeSchema } } },
      ...problemResponses(400, 401, 403, 503),
    },
  }),
);

const dwellRoute = createRoute(
  secured({
    method: 'get',
    path: '/v1/analytics/dwell',
    tags: ['Analytics'],
    summary: 'Dwell time per facility: median, 90th percentile, mean',
    description:
      'Completed stop visits (arrival to departure), per facility (stop name), filtered by arrival time (from, to), carrier and facility; ' +
      'the same figures as the dbt mart `mart_dwell_by_facility`.',
    request: { query: VisitQuerySchema },
    responses: {
      200: { description: 'Dwell per facility', content: { 'application/json': { schema: DwellSchema } } },
      ...problemResponses(400, 401, 403, 503),
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

  const visitFilter = (tenantId: string, query: z.infer<typeof VisitQuerySchema>): VisitFilter => ({ tenantId, ...query });
  router.openapi(onTimeRoute, async (c) => c.json(await onTimeReport(db, visitFilter(c.get('auth').tenantId, c.req.valid('query'))), 200));
  router.openapi(dwellRoute, async (c) => c.json({ facilities: await dwellByFacility(db, visitFilter(c.get('auth').tenantId, c.req.valid('query'))) }, 200));
  return router;
}

// Shipment batches: a tenant's TMS creates its morning plan in a few requests instead of one per
// shipment. Each shipment is created exactly as `POST /v1/shipments` would (same validation, same
// idempotency per reference, its own workflow), a few at a time; the answer lists each outcome in
// order. A failure that is not the shipment's own (Postgres down) fails the whole request: repeating
// the identical batch is harmless, the shipments already made answer 200.
import { createRoute } from '@hono/zod-openapi';
import { secured } from '../permissions.js';
import { ProblemError, type Problem } from '../problem.js';
import type { RouteDeps } from '../context.js';
import { createRouter } from '../router.js';
import { createShipment } from '../services/shipments.js';
import { CreateShipmentBatchSchema, problemResponses, ShipmentBatchResultSchema } from '../schemas.js';
import type { ShipmentView } from '../../domain/types.js';

/** Shipments created at once: each waits on Postgres and a workflow start, so a few overlap well. */
const CREATE_CONCURRENCY = 8;

const createBatchRoute = createRoute(secured({
  method: 'post',
  path: '/v1/shipment-batches',
  tags: ['Shipments'],
  summary: 'Create up to 200 shipments and start their workflows',
  description:
    'Each shipment is created as by `POST /v1/shipments`: the same checks, and a reference that already names an identical shipment answers 200 with it. ' +
    'The answer lists one result per shipment in request order, with the status a single create would have had and the shipment or the problem. ' +
    'A whole-request 503 means nothing is lost: repeat the identical batch.',
  request: { body: { required: true, content: { 'application/json': { schema: CreateShipmentBatchSchema } } } },
  responses: {
    200: { description: 'Every shipment tried; see each result', content: { 'application/json': { schema: ShipmentBatchResultSchema } } },
    ...problemResponses(400, 401, 403, 503),
  },
}));

type Outcome = { reference: string; status: number; shipment?: ShipmentView; problem?: Problem };

export function shipmentBatchRoutes(deps: RouteDeps) {
  const router = createRouter();

  router.openapi(createBatchRoute, async (c) => {
    const { shipments } = c.req.valid('json');
    const tenantId = c.get('auth').tenantId;
    const logger = c.get('logger');
    const outcomes: Outcome[] = new Array(shipments.length);
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(CREATE_CONCURRENCY, shipments.length) }, async () => {
        for (let i = next++; i < shipments.length; i = next++) {
          const body = shipments[i]!;
          try {
            const { created, view } = await createShipment(deps, { tenantId, body, logger });
            outcomes[i] = { reference: body.reference, status: created ? 201 : 200, shipment: view };
          } catch (error) {
            if (!(error instanceof ProblemError)) throw error;
            outcomes[i] = { reference: body.reference, status: error.problem.status, problem: { ...error.problem, instance: `${c.req.path}#/shipments/${i}` } };
          }
        }
      }),
    );
    const count = (test: (o: Outcome) => boolean) => outcomes.filter(test).length;
    const summary = { created: count((o) => o.status === 201), existing: count((o) => o.status === 200), failed: count((o) => o.status >= 400) };
    logger.info({ tenantId, shipments: shipments.length, ...summary }, 'shipment batch created');
    return c.json({ results: outcomes, ...summary }, 200);
  });

  return router;
}

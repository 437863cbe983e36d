// Shipments: create (and start the workflow), list, get live state, timeline, track, cancel.
// Each handler validates, authorises (secured + the tenant-scoped lookup) and calls the service.
import { createRoute } from '@hono/zod-openapi';
import { listShipments, listTimeline, toShipmentSummary, toTimelineEvent } from '../../db/repositories/shipments.js';
import { secured } from '../permissions.js';
import type { RouteDeps } from '../context.js';
import { createRouter, loadShipment } from '../router.js';
import { cancelShipment, createShipment, shipmentState, shipmentTrack } from '../services/shipments.js';
import {
  CancelBodySchema,
  CreateShipmentSchema,
  FeatureCollectionSchema,
  ListShipmentsQuerySchema,
  ShipmentIdParamSchema,
  ShipmentListSchema,
  ShipmentViewSchema,
  TimelineQuerySchema,
  TimelineSchema,
  problemResponses,
} from '../schemas.js';

const tags = ['Shipments'];

const createShipmentRoute = createRoute(secured({
  method: 'post',
  path: '/v1/shipments',
  tags,
  summary: 'Create a shipment and start its workflow',
  description:
    '`reference` is unique per tenant: an identical repeat returns the same shipment (200); a different body is a 409. ' +
    '`carrierId`, `vehicleId`, `driverId` and `deviceId` must name fleet resources of your tenant (422 otherwise).',
  request: { body: { required: true, content: { 'application/json': { schema: CreateShipmentSchema } } } },
  responses: {
    201: { description: 'Created; the workflow is running', content: { 'application/json': { schema: ShipmentViewSchema } } },
    200: { description: 'The same create was already done: the existing shipment', content: { 'application/json': { schema: ShipmentViewSchema } } },
    ...problemResponses(400, 401, 403, 409, 422, 503),
  },
}));

const listShipmentsRoute = createRoute(secured({
  method: 'get',
  path: '/v1/shipments',
  tags,
  summary: 'List shipments (newest first) from the projection',
  request: { query: ListShipmentsQuerySchema },
  responses: {
    200: { description: 'A page of shipments', content: { 'application/json': { schema: ShipmentListSchema } } },
    ...problemResponses(400, 401, 403),
  },
}));

const getShipmentRoute = createRoute(secured({
  method: 'get',
  path: '/v1/shipments/{id}',
  tags,
  summary: 'Live state of a shipment',
  description: 'Answered by the workflow while it runs (header `x-state-source: workflow`), else from the projection.',
  request: { params: ShipmentIdParamSchema },
  responses: {
    200: { description: 'The shipment', content: { 'application/json': { schema: ShipmentViewSchema } } },
    ...problemResponses(401, 403, 404),
  },
}));

const timelineRoute = createRoute(secured({
  method: 'get',
  path: '/v1/shipments/{id}/timeline',
  tags,
  summary: 'Everything that happened to the shipment, in order',
  request: { params: ShipmentIdParamSchema, query: TimelineQuerySchema },
  responses: {
    200: { description: 'A page of timeline events', content: { 'application/json': { schema: TimelineSchema } } },
    ...problemResponses(400, 401, 403, 404),
  },
}));

const trackRoute = createRoute(secured({
  method: 'get',
  path: '/v1/shipments/{id}/track',
  tags,
  summary: 'GeoJSON of the driven track, the stops and the planned route',
  request: { params: ShipmentIdParamSchema },
  responses: {
    200: { description: 'FeatureCollection', content: { 'application/geo+json': { schema: FeatureCollectionSchema } } },
    ...problemResponses(401, 403, 404),
  },
}));

const cancelRoute = createRoute(secured({
  method: 'post',
  path: '/v1/shipments/{id}/cancel',
  tags,
  summary: 'Cancel a shipment',
  description: 'Sent to the workflow as an Update; a delivered or already closed shipment cannot be cancelled (409).',
  request: { params: ShipmentIdParamSchema, body: { required: true, content: { 'application/json': { schema: CancelBodySchema } } } },
  responses: {
    200: { description: 'The cancelled shipment', content: { 'application/json': { schema: ShipmentViewSchema } } },
    ...problemResponses(400, 401, 403, 404, 409, 503),
  },
}));

export function shipmentRoutes(deps: RouteDeps) {
  const { db } = deps;
  const router = createRouter();

  router.openapi(createShipmentRoute, async (c) => {
    const { created, view } = await createShipment(deps, {
      tenantId: c.get('auth').tenantId,
      body: c.req.valid('json'),
      logger: c.get('logger'),
      onStored: (row) => c.set('logFields', { ...c.get('logFields'), shipmentId: row.id, workflowId: row.workflow_id }),
    });
    return c.json(view, created ? 201 : 200);
  });

  router.openapi(listShipmentsRoute, async (c) => {
    const { limit, cursor, ...filters } = c.req.valid('query');
    const page = await listShipments(db, c.get('auth').tenantId, filters, { limit, cursor });
    return c.json({ items: page.items.map(toShipmentSummary), nextCursor: page.nextCursor }, 200);
  });

  router.openapi(getShipmentRoute, async (c) => {
    const row = await loadShipment(c, db, c.req.valid('param').id);
    const { source, view } = await shipmentState(deps, row, c.get('logger'));
    c.header('x-state-source', source);
    return c.json(view, 200);
  });

  router.openapi(timelineRoute, async (c) => {
    const row = await loadShipment(c, db, c.req.valid('param').id);
    const page = await listTimeline(db, row.id, c.req.valid('query'));
    return c.json({ items: page.items.map(toTimelineEvent), nextCursor: page.nextCursor }, 200);
  });

  router.openapi(trackRoute, async (c) => {
    const row = await loadShipment(c, db, c.req.valid('param').id);
    return c.json(await shipmentTrack(db, row), 200, { 'Content-Type': 'application/geo+json' });
  });

  router.openapi(cancelRoute, async (c) => {
    const row = await loadShipment(c, db, c.req.valid('param').id);
    return c.json(await cancelShipment(deps, row, c.req.valid('json').reason, `api-key:${c.get('auth').keyId}`), 200);
  });

  return router;
}

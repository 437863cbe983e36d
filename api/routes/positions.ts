// Positions: the ingest hot path (store, then wake the shipment's workflow: api/fix-ingest.ts)
// and time-range reads per shipment and per device.
import { createRoute } from '@hono/zod-openapi';
import { fixToRow, insertPositions, listPositions, toStoredPosition } from '../../db/repositories/positions.js';
import { retentionCutoff } from '../../db/repositories/position-partitions.js';
import { findActiveShipmentsForDevice } from '../../db/repositories/shipments.js';
import type { Fix } from '../../domain/types.js';
import { secured } from '../permissions.js';
import type { AppEnv, ApiConfig, RouteDeps } from '../context.js';
import { ProblemError, notFound, validationProblem, type FieldError } from '../problem.js';
import { findFleetRow } from '../../db/repositories/fleet.js';
import { assertFleetReferences } from '../fleet.js';
import { createRouter, loadShipment } from '../router.js';
import {
  DeviceIdParamSchema,
  DevicePositionsAcceptedSchema,
  DevicePositionsBodySchema,
  PositionListSchema,
  PositionsAcceptedSchema,
  PositionsBodySchema,
  PositionsQuerySchema,
  ShipmentIdParamSchema,
  problemResponses,
} from '../schemas.js';

const tags = ['Positions'];

const ingestRoute = createRoute(secured({
  method: 'post',
  path: '/v1/shipments/{id}/positions',
  tags,
  summary: 'Push GPS fixes for a shipment',
  description:
    'Up to 1,000 fixes per request, in any order (late and out-of-order uploads are re-evaluated in fix time). ' +
    'Repeats of a stored fix are ignored and counted as duplicates. ' +
    'A 202 means the fixes are stored and the shipment workflow will process each exactly once; retrying the same request repeats nothing.',
  request: { params: ShipmentIdParamSchema, body: { required: true, content: { 'application/json': { schema: PositionsBodySchema } } } },
  responses: {
    202: { description: 'Stored; the workflow processes them', content: { 'application/json': { schema: PositionsAcceptedSchema } } },
    ...problemResponses(400, 401, 403, 404, 413, 503),
  },
}));

const devicePushRoute = createRoute(secured({
  method: 'post',
  path: '/v1/positions',
  tags,
  summary: "Push a device's GPS fixes, routed to its active shipments",
  description:
    'Fixes go to every planned or running shipment the device is assigned to; with none they are kept for the device only. ' +
    '`deviceId` is the id of one of your devices (422 otherwise); a device key may push only for its own device (403 otherwise). ' +
    'With no active shipment the fixes are stored for the device only and counted in `unrouted`. Same delivery guarantees as the per-shipment endpoint.',
  request: { body: { required: true, content: { 'application/json': { schema: DevicePositionsBodySchema } } } },
  responses: {
    202: { description: 'Stored; the workflows process them', content: { 'application/json': { schema: DevicePositionsAcceptedSchema } } },
    ...problemResponses(400, 401, 403, 413, 422, 429, 503),
  },
}));

const shipmentPositionsRoute = createRoute(secured({
  method: 'get',
  path: '/v1/shipments/{id}/positions',
  tags,
  summary: 'Stored fixes of a shipment in fix-time order',
  request: { params: ShipmentIdParamSchema, query: PositionsQuerySchema },
  responses: {
    200: { description: 'A page of fixes', content: { 'application/json': { schema: PositionListSchema } } },
    ...problemResponses(400, 401, 403, 404),
  },
}));

const devicePositionsRoute = createRoute(secured({
  method: 'get',
  path: '/v1/devices/{deviceId}/positions',
  tags,
  summary: 'Stored fixes of a device in fix-time order',
  description: 'Everything the device sent, routed to a shipment or not.',
  request: { params: DeviceIdParamSchema, query: PositionsQuerySchema },
  responses: {
    200: { description: 'A page of fixes', content: { 'application/json': { schema: PositionListSchema } } },
    ...problemResponses(400, 401, 403, 404),
  },
}));

/**
 * Fixes too far in the future, and with retention fixes older than the first month it keeps: their
 * month is (or will be) dropped once exported, and storing one again would make the export rewrite
 * that day of the lake from the single fix left in Postgres.
 */
function rejectOutOfRangeFixes(positions: Fix[], config: ApiConfig): void {
  const latest = Date.now() + config.maxClockSkewSeconds * 1000;
  const earliest = config.positionsRetentionMonths > 0 ? retentionCutoff(new Date(), config.positionsRetentionMonths) : undefined;
  const errors: FieldError[] = positions.flatMap((fix, i) => {
    const at = Date.parse(fix.recordedAt);
    if (at > latest) return [{ field: `positions[${i}].recordedAt`, message: `is more than ${config.maxClockSkewSeconds}s in the future` }];
    if (earliest && at < earliest.getTime()) {
      return [{ field: `positions[${i}].recordedAt`, message: `is older than the positions retention (${config.positionsRetentionMonths} months: fixes from ${earliest.toISOString()} on)` }];
    }
    return [];
  });
  if (errors.length > 0) throw validationProblem(errors);
}

export function positionRoutes(deps: RouteDeps) {
  const { db, config, ingest } = deps;
  const router = createRouter();

  router.openapi(ingestRoute, async (c) => {
    const { positions } = c.req.valid('json');
    const auth = c.get('auth');
    const shipmentId = c.req.valid('param').id;
    c.set('logFields', { ...c.get('logFields'), shipmentId });
    rejectOutOfRangeFixes(positions, config);
    // One statement finds the shipment (the tenant's, the device key's) and stores: 404 and 403 come from it.
    const owner = { tenantId: auth.tenantId, shipmentId, ...(auth.deviceId ? { deviceKeyId: auth.deviceId } : {}) };
    const { accepted, duplicates, shipmentClosed, deferred, workflowId } = await ingest.store(owner, positions.map((fix) => fixToRow(fix, { tenantId: auth.tenantId, shipmentId, deviceId: null })));
    c.set('logFields', { ...c.get('logFields'), workflowId });
    return c.json({ accepted, duplicates, ...(shipmentClosed ? { shipmentClosed } : {}), ...(deferred ? { deferred } : {}) }, 202);
  });

  router.openapi(devicePushRoute, async (c) => {
    const { deviceId, positions } = c.req.valid('json');
    const auth = c.get('auth');
    if (auth.role === 'device') {
      // The key's device exists: deleting a device is refused while it has unrevoked keys.
      if (auth.deviceId !== deviceId) throw new ProblemError('forbidden', 403, "A device key may only send its own device's positions.");
    } else {
      await assertFleetReferences(db, auth.tenantId, [{ field: 'deviceId', kind: 'device', id: deviceId }]);
    }
    rejectOutOfRangeFixes(positions, config);

    const shipments = await findActiveShipmentsForDevice(db, auth.tenantId, deviceId);
    if (shipments.length === 0) {
      const accepted = await insertPositions(db, positions.map((fix) => fixToRow(fix, { tenantId: auth.tenantId, shipmentId: null, deviceId })));
      return c.json({ accepted, duplicates: positions.length - accepted, unrouted: positions.length, shipments: [] }, 202);
    }
    const perShipment = await Promise.all(
      shipments.map(async (shipment) => {
        const result = await ingest.store({ tenantId: auth.tenantId, shipmentId: shipment.id }, positions.map((fix) => fixToRow(fix, { tenantId: auth.tenantId, shipmentId: shipment.id, deviceId })));
        return { shipmentId: shipment.id, accepted: result.accepted, duplicates: result.duplicates, ...(result.shipmentClosed ? { shipmentClosed: true } : {}), ...(result.deferred ? { deferred: true } : {}) };
      }),
    );
    const totals = { accepted: perShipment.reduce((n, r) => n + r.accepted, 0), duplicates: perShipment.reduce((n, r) => n + r.duplicates, 0) };
    return c.json({ ...totals, unrouted: 0, shipments: perShipment }, 202);
  });

  router.openapi(shipmentPositionsRoute, async (c) => {
    const shipment = await loadShipment(c, db, c.req.valid('param').id);
    const page = await listPositions(db, shipment.tenant_id, { shipmentId: shipment.id }, c.req.valid('query'));
    return c.json({ items: page.items.map(toStoredPosition), nextCursor: page.nextCursor }, 200);
  });

  router.openapi(devicePositionsRoute, async (c) => {
    const { tenantId } = c.get('auth');
    const device = await findFleetRow(db, 'device', tenantId, c.req.valid('param').deviceId);
    if (!device) throw notFound('Device not found.');
    const page = await listPositions(db, tenantId, { deviceId: device.id }, c.req.valid('query'));
    return c.json({ items: page.items.map(toStoredPosition), nextCursor: page.nextCursor }, 200);
  });

  return router;
}

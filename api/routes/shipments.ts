// Shipments: create (and start the workflow), list, get live state, timeline, track, cancel.
import { createHash, randomUUID } from 'node:crypto';
import { createRoute } from '@hono/zod-openapi';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  type Client,
} from '@temporalio/client';
import type { ShipmentRow, StopRow } from '../../db/schema.js';
import type { ShipmentPlan, ShipmentStatus, ShipmentThresholds, ShipmentView } from '../../domain/types.js';
import { findTenantAnomalyDefaults } from '../../db/repositories/tenants.js';
import {
  findMilestones,
  findStops,
  insertShipment,
  iso,
  listShipments,
  listTimeline,
  toShipmentSummary,
  toShipmentView,
  type NewStop,
} from '../../db/repositories/shipments.js';
import { trackCoordinates } from '../../db/repositories/positions.js';
import {
  cancelShipmentUpdate,
  SHIPMENT_WORKFLOW_TYPE,
  searchAttributes,
  shipmentStateQuery,
  shipmentWorkflowId,
  type ShipmentWorkflowInput,
} from '../../workflows/contract.js';
import type { Logger } from '../../infra/logger.js';
import { secured } from '../permissions.js';
import { assertFleetReferences, assignmentReferences } from '../fleet.js';
import type { ApiConfig, RouteDeps } from '../context.js';
import { ProblemError } from '../problem.js';
import { createRouter, executeShipmentUpdate, loadShipment } from '../router.js';
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
  type CreateShipmentBody,
} from '../schemas.js';

const TRACK_MAX_POINTS = 5_000;

/** Key order and whitespace never make two identical creates look different. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function requestHash(body: unknown): string {
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}

function stopRows(tenantId: string, shipmentId: string, body: CreateShipmentBody): NewStop[] {
  return body.stops.map((stop, index) => ({
    shipment_id: shipmentId,
    tenant_id: tenantId,
    // Stops are numbered from 1 in the order given.
    sequence: index + 1,
    type: stop.type,
    name: stop.name,
    lat: stop.location.lat,
    lon: stop.location.lon,
    geofence_radius_m: stop.geofenceRadiusM,
    window_start: stop.window?.start ?? null,
    window_end: stop.window?.end ?? null,
    planned_dwell_min: stop.plannedDwellMin ?? null,
  }));
}

export function shipmentPlan(row: ShipmentRow, stops: StopRow[]): ShipmentPlan {
  const view = toShipmentView(row, stops, []);
  return {
    tenantId: row.tenant_id,
    shipmentId: row.id,
    reference: row.reference,
    createdAt: iso(row.created_at),
    stops: view.stops.map(({ status: _s, arrivedAt: _a, departedAt: _d, eta: _e, ...plan }) => plan),
    ...(row.route ? { route: row.route } : {}),
    thresholds: row.thresholds,
    ...(row.carrier_id ? { carrierId: row.carrier_id } : {}),
    ...(row.vehicle_id ? { vehicleId: row.vehicle_id } : {}),
    ...(row.driver_id ? { driverId: row.driver_id } : {}),
    ...(row.device_id ? { deviceId: row.device_id } : {}),
  };
}

/** "PO-1234: Lyon DC → Paris XV", what operators see in the Temporal UI's list. */
export function shipmentSummaryLine(row: ShipmentRow, stops: StopRow[]): string {
  const first = stops[0]?.name ?? '?';
  const last = stops[stops.length - 1]?.name ?? '?';
  return `${row.reference}: ${first} → ${last}`;
}

/**
 * Starts the shipment's workflow; harmless to repeat. USE_EXISTING makes a repeat while it runs a
 * no-op, and REJECT_DUPLICATE keeps a repeat after it completed from starting a second life.
 */
export async function startShipmentWorkflow(
  temporal: Client,
  config: ApiConfig,
  row: ShipmentRow,
  stops: StopRow[],
  tenantAnomalyDefaults: ShipmentThresholds = {},
): Promise<void> {
  const input: ShipmentWorkflowInput = {
    plan: shipmentPlan(row, stops),
    settings: { deliveryGraceMs: config.deliveryGraceMs, maxSignalsPerRun: config.maxSignalsPerRun },
    ...(Object.keys(tenantAnomalyDefaults).length > 0 ? { tenantAnomalyDefaults } : {}),
  };
  try {
    await temporal.workflow.start(SHIPMENT_WORKFLOW_TYPE, {
      taskQueue: config.taskQueue,
      workflowId: row.workflow_id,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      typedSearchAttributes: [
        { key: searchAttributes.tenantId, value: row.tenant_id },
        { key: searchAttributes.shipmentReference, value: row.reference },
        { key: searchAttributes.shipmentStatus, value: 'PLANNED' },
        ...(row.carrier_id ? [{ key: searchAttributes.carrierId, value: row.carrier_id }] : []),
      ],
      staticSummary: shipmentSummaryLine(row, stops),
      staticDetails: `Shipment ${row.id} of tenant ${row.tenant_id}, ${stops.length} stops`,
    });
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
  }
}

/** Live state from the workflow while it runs; undefined when it is closed, missing or slow to answer. */
async function liveView(temporal: Client, row: ShipmentRow, timeoutMs: number, logger: Logger): Promise<ShipmentView | undefined> {
  const handle = temporal.workflow.getHandle(row.workflow_id);
  try {
    return await temporal.connection.withDeadline(Date.now() + timeoutMs, async () => {
      const description = await handle.describe();
      if (description.status.name !== 'RUNNING') return undefined;
      return handle.query(shipmentStateQuery);
    });
  } catch (error) {
    if (!(error instanceof WorkflowNotFoundError)) logger.warn({ err: error, workflowId: row.workflow_id }, 'workflow state query failed; answering from the projection');
    return undefined;
  }
}

async function projectionView(deps: RouteDeps, row: ShipmentRow): Promise<ShipmentView> {
  const [stops, milestones] = await Promise.all([findStops(deps.db, row.id), findMilestones(deps.db, row.id)]);
  return toShipmentView(row, stops, milestones);
}

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

type Feature = { type: 'Feature'; geometry: { type: 'Point' | 'LineString'; coordinates: unknown }; properties: Record<string, unknown> };

export function shipmentRoutes(deps: RouteDeps) {
  const { db, temporal, config } = deps;
  const router = createRouter();

  router.openapi(createShipmentRoute, async (c) => {
    const body = c.req.valid('json');
    const { tenantId } = c.get('auth');
    const shipmentId = randomUUID();
    const hash = requestHash(body);
    const { created, row } = await insertShipment(
      db,
      {
        id: shipmentId,
        tenant_id: tenantId,
        reference: body.reference,
        status: 'PLANNED',
        workflow_id: shipmentWorkflowId(tenantId, shipmentId),
        request_hash: hash,
        carrier_id: body.carrierId ?? null,
        vehicle_id: body.vehicleId ?? null,
        driver_id: body.driverId ?? null,
        device_id: body.deviceId ?? null,
        route: body.route ?? null,
        thresholds: body.thresholds,
        updated_at: new Date(),
      },
      stopRows(tenantId, shipmentId, body),
      (trx) => assertFleetReferences(trx, tenantId, assignmentReferences(body)),
    );
    c.set('logFields', { ...c.get('logFields'), shipmentId: row.id, workflowId: row.workflow_id });
    if (!created && row.request_hash !== hash) {
      throw new ProblemError('referenceConflict', 409, `Reference ${body.reference} already names a shipment created with a different body.`, {
        shipmentId: row.id,
      });
    }
    const stops = await findStops(db, row.id);
    // Also on a repeat: the first attempt may have stored the rows and died before starting.
    try {
      await startShipmentWorkflow(temporal, config, row, stops, await findTenantAnomalyDefaults(db, row.tenant_id));
    } catch (error) {
      c.get('logger').error({ err: error, shipmentId: row.id }, 'could not start shipment workflow');
      throw new ProblemError('unavailable', 503, 'The shipment is stored but its workflow could not be started; repeat the identical request.', {
        shipmentId: row.id,
        headers: { 'retry-after': '2' },
      });
    }
    const view = toShipmentView(row, stops, created ? [] : await findMilestones(db, row.id));
    return c.json(view, created ? 201 : 200);
  });

  router.openapi(listShipmentsRoute, async (c) => {
    const query = c.req.valid('query');
    const page = await listShipments(
      db,
      c.get('auth').tenantId,
      { status: query.status as ShipmentStatus | undefined, carrierId: query.carrierId, anomaly: query.anomaly, reference: query.reference },
      { limit: query.limit, cursor: query.cursor },
    );
    return c.json({ items: page.items.map(toShipmentSummary), nextCursor: page.nextCursor }, 200);
  });

  router.openapi(getShipmentRoute, async (c) => {
    const row = await loadShipment(c, db, c.req.valid('param').id);
    const live = await liveView(temporal, row, config.queryTimeoutMs, c.get('logger'));
    c.header('x-state-source', live ? 'workflow' : 'projection');
    return c.json(live ?? (await projectionView(deps, row)), 200);
  });

  router.openapi(timelineRoute, async (c) => {
    const row = await loadShipment(c, db, c.req.valid('param').id);
    const query = c.req.valid('query');
    const page = await listTimeline(db, row.id, { limit: query.limit, cursor: query.cursor });
    const items = page.items.map((e) => ({
      id: e.id,
      type: e.type,
      occurredAt: iso(e.occurred_at),
      ...(e.stop_sequence !== null ? { stopSequence: e.stop_sequence } : {}),
      data: e.data,
      ...(e.actor ? { actor: e.actor } : {}),
    }));
    return c.json({ items, nextCursor: page.nextCursor }, 200);
  });

  router.openapi(trackRoute, async (c) => {
    const row = await loadShipment(c, db, c.req.valid('param').id);
    const [stops, track] = await Promise.all([findStops(db, row.id), trackCoordinates(db, row.id, TRACK_MAX_POINTS)]);
    const features: Feature[] = [];
    if (track.coordinates.length > 0) {
      const trackProps = { kind: 'track', fixes: track.fixes, points: track.coordinates.length, from: track.first, to: track.last };
      features.push(
        track.coordinates.length === 1
          ? { type: 'Feature', geometry: { type: 'Point', coordinates: track.coordinates[0] }, properties: trackProps }
          : { type: 'Feature', geometry: { type: 'LineString', coordinates: track.coordinates }, properties: trackProps },
      );
    }
    for (const stop of toShipmentView(row, stops, []).stops) {
      const { location, ...properties } = stop;
      features.push({ type: 'Feature', geometry: { type: 'Point', coordinates: [location.lon, location.lat] }, properties: { kind: 'stop', ...properties } });
    }
    if (row.route) features.push({ type: 'Feature', geometry: row.route, properties: { kind: 'plannedRoute' } });
    return c.json({ type: 'FeatureCollection' as const, features }, 200, { 'Content-Type': 'application/geo+json' });
  });

  router.openapi(cancelRoute, async (c) => {
    const row = await loadShipment(c, db, c.req.valid('param').id);
    const { reason } = c.req.valid('json');
    const actor = `api-key:${c.get('auth').keyId}`;
    const view = await executeShipmentUpdate(temporal, config.updateTimeoutMs, 'be cancelled', (handle) => handle.executeUpdate(cancelShipmentUpdate, { args: [{ reason, actor }] }), row.workflow_id);
    return c.json(view, 200);
  });

  return router;
}


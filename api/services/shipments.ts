// What the shipment routes do, without HTTP: create a shipment (rows, stops and fleet checks in one
// transaction, then its workflow), map the stored rows to the workflow's plan, answer its state live
// from the workflow or from the projection, and build its track as GeoJSON. The route validates,
// authorises and calls these.
import { randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { Database, ShipmentRow, StopRow } from '../../db/schema.js';
import { unreadFixes } from '../../db/repositories/fix-ingest.js';
import { trackCoordinates } from '../../db/repositories/positions.js';
import { findMilestones, findStops, insertShipment, toShipmentView, toStopPlan, type NewShipment, type NewStop } from '../../db/repositories/shipments.js';
import { findTenantAnomalyDefaults } from '../../db/repositories/tenants.js';
import { resolveGeofenceConfig } from '../../domain/geofence.js';
import { usableAsPosition } from '../../domain/shipment/rules.js';
import type { Fix, ShipmentPlan, ShipmentThresholds, ShipmentView } from '../../domain/types.js';
import { iso, requestHash } from '../../infra/encoding.js';
import type { Logger } from '../../infra/logger.js';
import {
  SHIPMENT_WORKFLOW_TYPE,
  cancelShipmentUpdate,
  searchAttributes,
  shipmentStateQuery,
  shipmentWorkflowId,
  type ShipmentWorkflowInput,
} from '../../workflows/contract.js';
import type { ApiConfig } from '../context.js';
import { assertFleetReferences, assignmentReferences } from '../fleet.js';
import { ProblemError } from '../problem.js';
import { executeShipmentUpdate } from '../router.js';
import type { CreateShipmentBody } from '../schemas.js';

export interface ShipmentServiceDeps {
  db: Kysely<Database>;
  temporal: Client;
  config: ApiConfig;
}

/** The longest driven track returned: longer ones are thinned evenly, first and last fix kept. */
const TRACK_MAX_POINTS = 5_000;

function shipmentRow(tenantId: string, shipmentId: string, body: CreateShipmentBody): NewShipment {
  return {
    id: shipmentId,
    tenant_id: tenantId,
    reference: body.reference,
    status: 'PLANNED',
    workflow_id: shipmentWorkflowId(tenantId, shipmentId),
    request_hash: requestHash(body),
    carrier_id: body.carrierId ?? null,
    vehicle_id: body.vehicleId ?? null,
    driver_id: body.driverId ?? null,
    device_id: body.deviceId ?? null,
    route: body.route ?? null,
    thresholds: body.thresholds,
    updated_at: new Date(),
  };
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
    arrival_confirmation: stop.arrivalConfirmation ?? null,
  }));
}

/** What the workflow is started with: the shipment as created, which never changes (the assignment may). */
function shipmentPlan(row: ShipmentRow, stops: StopRow[]): ShipmentPlan {
  return {
    tenantId: row.tenant_id,
    shipmentId: row.id,
    reference: row.reference,
    createdAt: iso(row.created_at),
    stops: stops.map(toStopPlan),
    ...(row.route ? { route: row.route } : {}),
    thresholds: row.thresholds,
    ...(row.carrier_id ? { carrierId: row.carrier_id } : {}),
    ...(row.vehicle_id ? { vehicleId: row.vehicle_id } : {}),
    ...(row.driver_id ? { driverId: row.driver_id } : {}),
    ...(row.device_id ? { deviceId: row.device_id } : {}),
  };
}

/** "PO-1234: Lyon DC → Paris XV", what operators see in the Temporal UI's list. */
function shipmentSummaryLine(row: ShipmentRow, stops: StopRow[]): string {
  const first = stops[0]?.name ?? '?';
  const last = stops[stops.length - 1]?.name ?? '?';
  return `${row.reference}: ${first} → ${last}`;
}

/**
 * Starts the shipment's workflow; harmless to repeat. USE_EXISTING makes a repeat while it runs a
 * no-op, and REJECT_DUPLICATE keeps a repeat after it completed from starting a second life.
 */
async function startShipmentWorkflow(
  temporal: Client,
  config: ApiConfig,
  row: ShipmentRow,
  stops: StopRow[],
  tenantAnomalyDefaults: ShipmentThresholds,
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

export interface CreatedShipment {
  /** False when the tenant already had this reference with the identical body: the existing shipment. */
  created: boolean;
  view: ShipmentView;
}

/**
 * Stores the shipment and its stops (the fleet ids checked in the same transaction, 422 otherwise)
 * and starts its workflow. A repeat of an identical create answers the existing shipment and starts
 * the workflow again, harmlessly (the first attempt may have died in between); the same reference
 * with another body is a 409; a workflow that cannot be started is a 503 the client may retry.
 */
export async function createShipment(
  deps: ShipmentServiceDeps,
  request: {
    tenantId: string;
    body: CreateShipmentBody;
    logger: Logger;
    /** Told the stored row (new or existing) before anything can fail, e.g. to name it in the request's log line. */
    onStored?: (row: ShipmentRow) => void;
  },
): Promise<CreatedShipment> {
  const { db, temporal, config } = deps;
  const { tenantId, body, logger } = request;
  const shipmentId = randomUUID();
  const wanted = shipmentRow(tenantId, shipmentId, body);
  const { created, row } = await insertShipment(db, wanted, stopRows(tenantId, shipmentId, body), (trx) =>
    assertFleetReferences(trx, tenantId, assignmentReferences(body)),
  );
  request.onStored?.(row);
  if (!created && row.request_hash !== wanted.request_hash) {
    throw new ProblemError('referenceConflict', 409, `Reference ${body.reference} already names a shipment created with a different body.`, { shipmentId: row.id });
  }
  const stops = await findStops(db, row.id);
  try {
    await startShipmentWorkflow(temporal, config, row, stops, await findTenantAnomalyDefaults(db, row.tenant_id));
  } catch (error) {
    logger.error({ err: error, tenantId, shipmentId: row.id, workflowId: row.workflow_id }, 'could not start shipment workflow');
    throw new ProblemError('unavailable', 503, 'The shipment is stored but its workflow could not be started; repeat the identical request.', {
      shipmentId: row.id,
      headers: { 'retry-after': '2' },
    });
  }
  const view = toShipmentView(row, stops, created ? [] : await findMilestones(db, row));
  return { created, view };
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
    if (!(error instanceof WorkflowNotFoundError)) {
      logger.warn({ err: error, tenantId: row.tenant_id, shipmentId: row.id, workflowId: row.workflow_id }, 'workflow state query failed; answering from the projection');
    }
    return undefined;
  }
}

/** The shipment's state as GET /v1/shipments/:id answers it: the workflow's, plus where the truck was last reported. */
export type ShipmentStateView = ShipmentView & { reportedPosition?: Fix };

/** Unread fixes looked at for a newer reported position (a deferral window's worth of uploads). */
const UNREAD_FIXES_LOOKED_AT = 50;

/**
 * Where the truck was last reported: the newest stored fix good enough to be a position (by the
 * workflow's own rule, with the tenant's thresholds as they are now), read by the workflow or not,
 * else `lastPosition`. A fix inside the calm zone waits up to INGEST_DEFER_MS for its read, deciding
 * nothing meanwhile; it is where the truck is now. `lastPosition` stays the workflow's, so a client
 * that waits for its fix there still knows the workflow has applied it. A cancelled shipment takes
 * no more positions.
 */
async function withReportedPosition(db: Kysely<Database>, row: ShipmentRow, view: ShipmentView): Promise<ShipmentStateView> {
  const applied = view.lastPosition ? { ...view, reportedPosition: view.lastPosition } : view;
  if (view.status === 'CANCELLED') return applied;
  const unread = await unreadFixes(db, row.id, UNREAD_FIXES_LOOKED_AT);
  if (unread.length === 0) return applied;
  const geofence = resolveGeofenceConfig(await findTenantAnomalyDefaults(db, row.tenant_id), row.thresholds);
  const shownMs = view.lastPosition ? Date.parse(view.lastPosition.recordedAt) : Number.NEGATIVE_INFINITY;
  const newest = unread.filter((fix) => usableAsPosition(fix, geofence) && Date.parse(fix.recordedAt) > shownMs).sort((a, b) => Date.parse(b.recordedAt) - Date.parse(a.recordedAt))[0];
  return newest ? { ...view, reportedPosition: newest } : applied;
}

/** The shipment's state and where it came from: the running workflow, else the Postgres projection. */
export async function shipmentState(
  deps: ShipmentServiceDeps,
  row: ShipmentRow,
  logger: Logger,
): Promise<{ source: 'workflow' | 'projection'; view: ShipmentStateView }> {
  const live = await liveView(deps.temporal, row, deps.config.queryTimeoutMs, logger);
  if (live) return { source: 'workflow', view: await withReportedPosition(deps.db, row, live) };
  const [stops, milestones] = await Promise.all([findStops(deps.db, row.id), findMilestones(deps.db, row)]);
  return { source: 'projection', view: await withReportedPosition(deps.db, row, toShipmentView(row, stops, milestones)) };
}

/** Cancels through the workflow's Update; a delivered or closed shipment is a 409. */
export async function cancelShipment(deps: ShipmentServiceDeps, row: ShipmentRow, reason: string, actor: string): Promise<ShipmentView> {
  return executeShipmentUpdate(
    deps.temporal,
    deps.config.updateTimeoutMs,
    'be cancelled',
    (handle) => handle.executeUpdate(cancelShipmentUpdate, { args: [{ reason, actor }] }),
    row.workflow_id,
  );
}

type Geometry = { type: 'Point'; coordinates: [number, number] } | { type: 'LineString'; coordinates: [number, number][] };
export interface TrackFeature {
  type: 'Feature';
  geometry: Geometry;
  properties: Record<string, unknown>;
}
export interface TrackFeatureCollection {
  type: 'FeatureCollection';
  features: TrackFeature[];
}

/** GeoJSON of the driven track (a Point for a single fix), each stop with its progress, and the planned route. */
export async function shipmentTrack(db: Kysely<Database>, row: ShipmentRow): Promise<TrackFeatureCollection> {
  const [stops, track] = await Promise.all([findStops(db, row.id), trackCoordinates(db, row.id, TRACK_MAX_POINTS)]);
  const features: TrackFeature[] = [];
  const [single] = track.coordinates;
  if (single) {
    const properties = { kind: 'track', fixes: track.fixes, points: track.coordinates.length, from: track.first, to: track.last };
    const geometry: Geometry = track.coordinates.length === 1 ? { type: 'Point', coordinates: single } : { type: 'LineString', coordinates: track.coordinates };
    features.push({ type: 'Feature', geometry, properties });
  }
  for (const stop of toShipmentView(row, stops, []).stops) {
    const { location, ...properties } = stop;
    features.push({ type: 'Feature', geometry: { type: 'Point', coordinates: [location.lon, location.lat] }, properties: { kind: 'stop', ...properties } });
  }
  if (row.route) features.push({ type: 'Feature', geometry: row.route, properties: { kind: 'plannedRoute' } });
  return { type: 'FeatureCollection', features };
}

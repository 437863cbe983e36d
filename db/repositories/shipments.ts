// Shipments as the API writes them (the create rows) and reads them (the projection the
// workflow's activities keep current).
import { sql, type Insertable, type Kysely, type Transaction } from 'kysely';
import type { Database, ShipmentEventRow, ShipmentRow, ShipmentsTable, StopRow, StopsTable } from '../schema.js';
import { ACTIVE_STATUSES, type Milestone, type ShipmentStatus, type ShipmentView, type StopPlan, type StopProgress } from '../../domain/types.js';
import { iso } from '../../infra/encoding.js';
import { isBigintId, isUuidId, keysetCursor, microsText, uuidOrNil } from './pagination.js';

const SHIPMENTS_CURSOR = keysetCursor('shipments', isUuidId);
const TIMELINE_CURSOR = keysetCursor('timeline', isBigintId);

export type NewShipment = Insertable<ShipmentsTable>;
export type NewStop = Insertable<StopsTable>;

/**
 * Inserts the shipment and its stops in one transaction. When the tenant already has a shipment
 * with this reference nothing is written and the existing row is returned (`created: false`).
 */
export async function insertShipment(
  db: Kysely<Database>,
  shipment: NewShipment,
  stops: NewStop[],
  /** Runs first in the transaction, e.g. to lock the fleet rows the shipment references. */
  before?: (trx: Transaction<Database>) => Promise<void>,
): Promise<{ created: boolean; row: ShipmentRow }> {
  return db.transaction().execute(async (trx) => {
    await before?.(trx);
    const inserted = await trx
      .insertInto('shipments')
      .values(shipment)
      .onConflict((oc) => oc.columns(['tenant_id', 'reference']).doNothing())
      .returningAll()
      .executeTakeFirst();
    if (inserted) {
      await trx.insertInto('stops').values(stops).execute();
      return { created: true, row: inserted };
    }
    const existing = await trx
      .selectFrom('shipments')
      .selectAll()
      .where('tenant_id', '=', shipment.tenant_id)
      .where('reference', '=', shipment.reference)
      .executeTakeFirstOrThrow();
    return { created: false, row: existing };
  });
}

/** Tenant-scoped: another tenant's shipment (or a malformed id) is simply not found, by the same query. */
export async function findShipment(db: Kysely<Database>, tenantId: string, shipmentId: string): Promise<ShipmentRow | undefined> {
  return db.selectFrom('shipments').selectAll().where('id', '=', uuidOrNil(shipmentId)).where('tenant_id', '=', tenantId).executeTakeFirst();
}

/** Shipments the device is assigned to that have not been delivered or cancelled. */
export async function findActiveShipmentsForDevice(db: Kysely<Database>, tenantId: string, deviceId: string): Promise<ShipmentRow[]> {
  return db
    .selectFrom('shipments')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('device_id', '=', deviceId)
    .where('status', 'in', [...ACTIVE_STATUSES])
    .orderBy('created_at')
    .execute();
}

export async function findStops(db: Kysely<Database>, shipmentId: string): Promise<StopRow[]> {
  return db.selectFrom('stops').selectAll().where('shipment_id', '=', shipmentId).orderBy('sequence').execute();
}

/** The shipment's current milestones: the workflow's own list, or (rows v1 wrote) read back from the timeline. */
export async function findMilestones(db: Kysely<Database>, shipment: Pick<ShipmentRow, 'id' | 'milestones'>): Promise<Milestone[]> {
  if (shipment.milestones) return shipment.milestones;
  const shipmentId = shipment.id;
  const rows = await db
    .selectFrom('shipment_events')
    .select(['type', 'stop_sequence', 'occurred_at'])
    .where('shipment_id', '=', shipmentId)
    .where('type', 'in', ['ARRIVED', 'DEPARTED'])
    .where('stop_sequence', 'is not', null)
    .orderBy('occurred_at')
    .orderBy('id')
    .execute();
  return rows.map((r) => ({ type: r.type as Milestone['type'], stopSequence: r.stop_sequence!, at: iso(r.occurred_at) }));
}

export interface ShipmentFilters {
  status?: ShipmentStatus;
  carrierId?: string;
  anomaly?: string;
  reference?: string;
}

/** Newest first, keyset-paginated on (created_at desc, id desc). Throws InvalidCursorError. */
export async function listShipments(
  db: Kysely<Database>,
  tenantId: string,
  filters: ShipmentFilters,
  page: { limit: number; cursor?: string },
): Promise<{ items: ShipmentRow[]; nextCursor: string | null }> {
  let query = db.selectFrom('shipments').selectAll().select(microsText('created_at').as('cursor_at')).where('tenant_id', '=', tenantId);
  if (filters.status) query = query.where('status', '=', filters.status);
  if (filters.carrierId) query = query.where('carrier_id', '=', filters.carrierId);
  if (filters.reference) query = query.where('reference', '=', filters.reference);
  if (filters.anomaly) query = query.where(sql<boolean>`open_anomalies @> array[${filters.anomaly}]::text[]`);
  if (page.cursor) {
    const key = SHIPMENTS_CURSOR.decode(page.cursor);
    query = query.where(sql<boolean>`(created_at, id) < (${key.at}::timestamptz, ${key.id}::uuid)`);
  }
  const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(page.limit + 1).execute();
  const { items, nextCursor } = SHIPMENTS_CURSOR.page(rows, page.limit, (r) => ({ at: r.cursor_at, id: r.id }));
  return { items: items.map(({ cursor_at: _cursor, ...row }) => row), nextCursor };
}

/** The timeline in the order things happened; keyset-paginated on (occurred_at, id). */
export async function listTimeline(
  db: Kysely<Database>,
  shipmentId: string,
  page: { limit: number; cursor?: string },
): Promise<{ items: ShipmentEventRow[]; nextCursor: string | null }> {
  let query = db.selectFrom('shipment_events').selectAll().select(microsText('occurred_at').as('cursor_at')).where('shipment_id', '=', shipmentId);
  if (page.cursor) {
    const key = TIMELINE_CURSOR.decode(page.cursor);
    query = query.where(sql<boolean>`(occurred_at, id) > (${key.at}::timestamptz, ${key.id}::bigint)`);
  }
  const rows = await query.orderBy('occurred_at').orderBy('id').limit(page.limit + 1).execute();
  const { items, nextCursor } = TIMELINE_CURSOR.page(rows, page.limit, (r) => ({ at: r.cursor_at, id: r.id }));
  return { items: items.map(({ cursor_at: _cursor, ...row }) => row), nextCursor };
}

/** What a shipment's full view and its list entry both start with. */
function shipmentHeader(row: ShipmentRow) {
  return {
    id: row.id,
    reference: row.reference,
    status: row.status,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
    workflowId: row.workflow_id,
    ...assignment(row),
  };
}

function assignment(row: ShipmentRow) {
  return {
    ...(row.carrier_id ? { carrierId: row.carrier_id } : {}),
    ...(row.vehicle_id ? { vehicleId: row.vehicle_id } : {}),
    ...(row.driver_id ? { driverId: row.driver_id } : {}),
    ...(row.device_id ? { deviceId: row.device_id } : {}),
  };
}

/** The stop as planned at creation (what the workflow and the ETA model are given). */
export function toStopPlan(stop: StopRow): StopPlan {
  return {
    sequence: stop.sequence,
    type: stop.type,
    name: stop.name,
    location: { lat: stop.lat, lon: stop.lon },
    geofenceRadiusM: stop.geofence_radius_m,
    ...(stop.window_start && stop.window_end ? { window: { start: iso(stop.window_start), end: iso(stop.window_end) } } : {}),
    ...(stop.planned_dwell_min !== null ? { plannedDwellMin: stop.planned_dwell_min } : {}),
    ...(stop.arrival_confirmation ? { arrivalConfirmation: stop.arrival_confirmation } : {}),
  };
}

export function toStopProgress(stop: StopRow): StopProgress {
  return {
    ...toStopPlan(stop),
    status: stop.status,
    ...(stop.arrived_at ? { arrivedAt: iso(stop.arrived_at) } : {}),
    ...(stop.departed_at ? { departedAt: iso(stop.departed_at) } : {}),
    ...(stop.eta ? { eta: iso(stop.eta) } : {}),
  };
}

/** The shipment as the projection knows it: used when the workflow has closed or cannot answer. */
export function toShipmentView(row: ShipmentRow, stops: StopRow[], milestones: Milestone[]): ShipmentView {
  return {
    ...shipmentHeader(row),
    stops: stops.map(toStopProgress),
    ...(row.route ? { route: row.route } : {}),
    ...(row.last_position ? { lastPosition: row.last_position } : {}),
    ...(row.next_eta ? { eta: iso(row.next_eta) } : {}),
    anomalies: row.anomalies,
    milestones,
    ...(row.cancellation ? { cancellation: row.cancellation } : {}),
  };
}

export function toShipmentSummary(row: ShipmentRow) {
  return {
    ...shipmentHeader(row),
    openAnomalies: row.open_anomalies,
    ...(row.last_position ? { lastPosition: row.last_position } : {}),
    ...(row.next_eta ? { eta: iso(row.next_eta) } : {}),
  };
}

/** A timeline entry as the API shows it. */
export function toTimelineEvent(event: ShipmentEventRow) {
  return {
    id: event.id,
    type: event.type,
    occurredAt: iso(event.occurred_at),
    ...(event.stop_sequence !== null ? { stopSequence: event.stop_sequence } : {}),
    data: event.data,
    ...(event.actor ? { actor: event.actor } : {}),
  };
}

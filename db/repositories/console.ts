// Reads behind the web console's views: a shipment's whole track for the map and replay, its
// ETA history for the chart, and the tenant's overview (counts per status, active shipments).
import { sql, type Kysely } from 'kysely';
import type { TrackVertex } from '../../domain/track.js';
import type { ShipmentStatus } from '../../domain/types.js';
import { ACTIVE_STATUSES } from '../../domain/types.js';
import type { Database, ShipmentRow, StopRow } from '../schema.js';
import { iso } from '../../infra/encoding.js';

/**
 * Every fix of the shipment in fix-time order as [lon, lat, epoch seconds], only what a map needs.
 * The time comes as a float: parsing 20,000 timestamps into Dates would cost more than the query.
 */
export async function shipmentTrackVertices(db: Kysely<Database>, shipmentId: string): Promise<TrackVertex[]> {
  const rows = await db
    .selectFrom('positions')
    .select(['lon', 'lat', sql<number>`extract(epoch from recorded_at)::float8`.as('t')])
    .where('shipment_id', '=', shipmentId)
    .orderBy('recorded_at')
    .execute();
  return rows.map((r) => [r.lon, r.lat, r.t]);
}

export interface EtaHistoryPoint {
  stopSequence: number;
  source: string;
  predictedAt: string;
  predictedArrival: string;
}

/** Every prediction stored for the shipment, model and baseline, in the order they were made. */
export async function shipmentEtaHistory(db: Kysely<Database>, shipmentId: string): Promise<EtaHistoryPoint[]> {
  const rows = await db
    .selectFrom('eta_predictions')
    .select(['stop_sequence', 'source', 'predicted_at', 'predicted_arrival'])
    .where('shipment_id', '=', shipmentId)
    .orderBy('predicted_at')
    .orderBy('id')
    .execute();
  return rows.map((r) => ({ stopSequence: r.stop_sequence, source: r.source, predictedAt: iso(r.predicted_at), predictedArrival: iso(r.predicted_arrival) }));
}

/** Shipments of the tenant per status. */
export async function countShipmentsByStatus(db: Kysely<Database>, tenantId: string): Promise<Record<ShipmentStatus, number>> {
  const rows = await db
    .selectFrom('shipments')
    .select(['status', sql<string>`count(*)`.as('n')])
    .where('tenant_id', '=', tenantId)
    .groupBy('status')
    .execute();
  const counts: Record<ShipmentStatus, number> = { PLANNED: 0, IN_TRANSIT: 0, AT_STOP: 0, DELIVERED: 0, CANCELLED: 0 };
  for (const row of rows) counts[row.status] = Number(row.n);
  return counts;
}

/** The tenant's planned and running shipments (newest first, at most `limit`) with their stops. */
export async function activeShipmentsWithStops(db: Kysely<Database>, tenantId: string, limit: number): Promise<{ shipment: ShipmentRow; stops: StopRow[] }[]> {
  const shipments = await db
    .selectFrom('shipments')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('status', 'in', [...ACTIVE_STATUSES])
    .orderBy('created_at', 'desc')
    .limit(limit)
    .execute();
  if (shipments.length === 0) return [];
  const stops = await db.selectFrom('stops').selectAll().where('shipment_id', 'in', shipments.map((s) => s.id)).orderBy('sequence').execute();
  return shipments.map((shipment) => ({ shipment, stops: stops.filter((s) => s.shipment_id === shipment.id) }));
}

/** The shipment's timeline events of the given types, in the order they happened. */
export async function shipmentEventsOfTypes(db: Kysely<Database>, shipmentId: string, types: readonly string[]) {
  return db
    .selectFrom('shipment_events')
    .select(['id', 'type', 'occurred_at', 'stop_sequence', 'data'])
    .where('shipment_id', '=', shipmentId)
    .where('type', 'in', [...types])
    .orderBy('occurred_at')
    .orderBy('id')
    .execute();
}

// ETA predictions (every one stored, model and baseline), the historical lane speed the model
// learns from delivered shipments, and what the accuracy report compares: predictions against
// the arrivals that really happened.
import { sql, type Kysely } from 'kysely';
import type { ActualArrival, EtaPlan, EtaPredictionRecord } from '../../domain/eta/index.js';
import type { Fix } from '../../domain/types.js';
import type { Database } from '../schema.js';
import { iso } from '../../infra/encoding.js';
import { findStops, toStopPlan } from './shipments.js';

export interface EtaPredictionRow {
  tenantId: string;
  shipmentId: string;
  stopSequence: number;
  source: 'model' | 'baseline';
  predictedAt: string;
  predictedArrival: string;
  model: string;
  speedKmh: number;
}

/** Inserts predictions; one already stored (same shipment, stop, source and fix time) is skipped. Returns how many were new. */
export async function insertEtaPredictions(db: Kysely<Database>, rows: readonly EtaPredictionRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  const result = await db
    .insertInto('eta_predictions')
    .values(
      rows.map((row) => ({
        tenant_id: row.tenantId,
        shipment_id: row.shipmentId,
        stop_sequence: row.stopSequence,
        source: row.source,
        predicted_at: row.predictedAt,
        predicted_arrival: row.predictedArrival,
        horizon_min: (Date.parse(row.predictedArrival) - Date.parse(row.predictedAt)) / 60_000,
        model: row.model,
        speed_kmh: row.speedKmh,
      })),
    )
    .onConflict((oc) => oc.columns(['shipment_id', 'stop_sequence', 'source', 'predicted_at']).doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n);
}

/** The shipment's stops as planned and its route (tenant-scoped); undefined when there is no such shipment. */
export async function findEtaPlan(db: Kysely<Database>, tenantId: string, shipmentId: string): Promise<EtaPlan | undefined> {
  const row = await db.selectFrom('shipments').select(['route']).where('id', '=', shipmentId).where('tenant_id', '=', tenantId).executeTakeFirst();
  if (!row) return undefined;
  const stops = (await findStops(db, shipmentId)).map(toStopPlan);
  return { stops, ...(row.route ? { route: row.route } : {}) };
}

/** The shipment's fixes in [from, to] (fix time), oldest first: the truck's recent driving. */
export async function recentShipmentFixes(db: Kysely<Database>, shipmentId: string, from: string, to: string): Promise<Fix[]> {
  const rows = await db
    .selectFrom('positions')
    .select(['recorded_at', 'lat', 'lon', 'speed_kmh'])
    .where('shipment_id', '=', shipmentId)
    .where('recorded_at', '>=', new Date(from))
    .where('recorded_at', '<=', new Date(to))
    .orderBy('recorded_at')
    .limit(2_000)
    .execute();
  return rows.map((r) => ({ recordedAt: iso(r.recorded_at), lat: r.lat, lon: r.lon, ...(r.speed_kmh !== null ? { speedKmh: r.speed_kmh } : {}) }));
}

/** A lane: origin and destination rounded to 0.1° (about 10 km), the granularity of a depot or a town. */
export interface Lane {
  originLat: number;
  originLon: number;
  destinationLat: number;
  destinationLon: number;
}

const roundLane = (value: number) => Math.round(value * 10) / 10;

export function laneOf(origin: { lat: number; lon: number }, destination: { lat: number; lon: number }): Lane {
  return { originLat: roundLane(origin.lat), originLon: roundLane(origin.lon), destinationLat: roundLane(destination.lat), destinationLon: roundLane(destination.lon) };
}

export function laneKey(tenantId: string, lane: Lane): string {
  return `${tenantId}:${lane.originLat},${lane.originLon}>${lane.destinationLat},${lane.destinationLon}`;
}

export interface HistoricalSpeed {
  speedKmh: number;
  /** Minutes of moving driving behind the figure. */
  movingMin: number;
  shipments: number;
  scope: 'lane' | 'tenant';
}

/** Delivered shipments learned from, most recent first. */
const HISTORY_SHIPMENTS = 50;
/** Below this much moving time the figure says too little: widen the scope. */
const MIN_MOVING_MIN = 60;

/**
 * Time-weighted mean moving speed over consecutive fix pairs of recent delivered shipments (the
 * rules of domain/eta/speed.ts recentMovingSpeed: reported speeds when both fixes have one, else
 * distance over time; pairs slower than 5 km/h, faster than 200 km/h or across a 15-min gap left
 * out). The lane first (same rounded origin and destination), then the whole tenant.
 */
export async function historicalSpeed(db: Kysely<Database>, tenantId: string, lane: Lane, excludeShipmentId?: string): Promise<HistoricalSpeed | undefined> {
  for (const scope of ['lane', 'tenant'] as const) {
    const laneFilter =
      scope === 'lane'
        ? sql`and round(o.lat::numeric, 1) = ${lane.originLat} and round(o.lon::numeric, 1) = ${lane.originLon}
              and round(d.lat::numeric, 1) = ${lane.destinationLat} and round(d.lon::numeric, 1) = ${lane.destinationLon}`
        : sql``;
    const { rows } = await sql<{ speed_kmh: number | null; moving_min: number | null; shipments: number }>`
      with history as (
        select s.id from shipments s
        join stops o on o.shipment_id = s.id and o.sequence = (select min(sequence) from stops where shipment_id = s.id)
        join stops d on d.shipment_id = s.id and d.sequence = (select max(sequence) from stops where shipment_id = s.id)
        where s.tenant_id = ${tenantId} and s.status = 'DELIVERED' and s.id <> ${excludeShipmentId ?? '00000000-0000-0000-0000-000000000000'}::uuid
        ${laneFilter}
        order by s.updated_at desc
        limit ${HISTORY_SHIPMENTS}
      ), pairs as (
        select p.shipment_id,
          extract(epoch from p.recorded_at - lag(p.recorded_at) over w) / 60 as minutes,
          coalesce(
            (p.speed_kmh + lag(p.speed_kmh) over w) / 2,
            2 * 6371.0088 * asin(sqrt(
              power(sin(radians(p.lat - lag(p.lat) over w) / 2), 2) +
              cos(radians(lag(p.lat) over w)) * cos(radians(p.lat)) * power(sin(radians(p.lon - lag(p.lon) over w) / 2), 2)
            )) / nullif(extract(epoch from p.recorded_at - lag(p.recorded_at) over w) / 3600, 0)
          ) as kmh
        from positions p
        where p.shipment_id in (select id from history)
        window w as (partition by p.shipment_id order by p.recorded_at)
      )
      select sum(kmh * minutes) / nullif(sum(minutes), 0) as speed_kmh, sum(minutes) as moving_min, count(distinct shipment_id)::int as shipments
      from pairs
      where minutes > 0 and minutes <= 15 and kmh >= 5 and kmh <= 200
    `.execute(db);
    const row = rows[0];
    const movingMin = Number(row?.moving_min ?? 0);
    if (row?.speed_kmh !== null && row?.speed_kmh !== undefined && movingMin >= MIN_MOVING_MIN) {
      return { speedKmh: Number(row.speed_kmh), movingMin, shipments: row.shipments, scope };
    }
  }
  return undefined;
}

export interface AccuracyData {
  predictions: EtaPredictionRecord[];
  arrivals: ActualArrival[];
  shipments: number;
}

/**
 * Predictions and real arrivals of delivered shipments (optionally one tenant's, optionally
 * those delivered since a time): the inputs of computeEtaAccuracy.
 */
export async function loadAccuracyData(db: Kysely<Database>, filter: { tenantId?: string; since?: string } = {}): Promise<AccuracyData> {
  let delivered = db.selectFrom('shipments').select('id').where('status', '=', 'DELIVERED');
  if (filter.tenantId) delivered = delivered.where('tenant_id', '=', filter.tenantId);
  if (filter.since) delivered = delivered.where('updated_at', '>=', new Date(filter.since));
  const [arrivalRows, predictionRows] = await Promise.all([
    db
      .selectFrom('stops')
      .select(['shipment_id', 'sequence', 'arrived_at'])
      .where('shipment_id', 'in', delivered)
      .where('arrived_at', 'is not', null)
      .execute(),
    db
      .selectFrom('eta_predictions')
      .select(['shipment_id', 'stop_sequence', 'source', 'predicted_at', 'predicted_arrival'])
      .where('shipment_id', 'in', delivered)
      .execute(),
  ]);
  return {
    arrivals: arrivalRows.map((r) => ({ shipmentId: r.shipment_id, stopSequence: r.sequence, arrivedAt: iso(r.arrived_at!) })),
    predictions: predictionRows.map((r) => ({
      shipmentId: r.shipment_id,
      stopSequence: r.stop_sequence,
      source: r.source,
      predictedAt: iso(r.predicted_at),
      predictedArrival: iso(r.predicted_arrival),
    })),
    shipments: new Set(arrivalRows.map((r) => r.shipment_id)).size,
  };
}

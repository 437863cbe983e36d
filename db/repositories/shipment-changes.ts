// What a shipment's live stream sends: new fixes (positions), timeline events (shipment_events)
// and ETA predictions (eta_predictions), each read from its high-water mark.
//
// Fixes carry their per-shipment sequence (assigned under the shipment's ingest row lock, so it
// commits in order): "seq > last seen" never skips one. Events and predictions only have bigserial
// ids, handed out at insert, not at commit: a transaction holding id 100 can commit after the one
// holding 101, so their reads stay SAFETY_LAG_MS behind the insert time: a row older than that
// whose transaction is still open is the only one that can be missed, and these writes are short
// single transactions. This file is the one place those choices live.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.js';
import { iso } from '../../infra/encoding.js';

export const SAFETY_LAG_MS = 1_500;

/** High-water marks of the three sources (the fix sequence, bigserial ids; decimal strings, '0' = from the start). */
export interface ShipmentChangeCursor {
  position: string;
  event: string;
  eta: string;
}

export const START_CURSOR: ShipmentChangeCursor = { position: '0', event: '0', eta: '0' };

export type ShipmentChange =
  | { source: 'position'; id: string; fix: { recordedAt: string; lat: number; lon: number; speedKmh?: number; headingDeg?: number; temperatureC?: number } }
  | { source: 'event'; id: string; event: { id: string; type: string; occurredAt: string; stopSequence?: number; data: Record<string, unknown> } }
  | { source: 'eta'; id: string; prediction: { stopSequence: number; source: string; predictedAt: string; predictedArrival: string } };

const lagged = (column: string) => sql<boolean>`${sql.ref(column)} < now() - ${`${SAFETY_LAG_MS} milliseconds`}::interval`;

/**
 * Changes after `after` for each shipment, oldest first per source, at most `limit` per source and
 * shipment batch. One query per source covers every shipment (the per-process poller's tick).
 */
export async function readShipmentChanges(
  db: Kysely<Database>,
  after: ReadonlyMap<string, ShipmentChangeCursor>,
  limit: number,
): Promise<Map<string, ShipmentChange[]>> {
  const result = new Map<string, ShipmentChange[]>([...after.keys()].map((id) => [id, []]));
  if (after.size === 0) return result;
  const marks = (pick: (c: ShipmentChangeCursor) => string) =>
    sql.join([...after].map(([shipmentId, cursor]) => sql`(${shipmentId}::uuid, ${pick(cursor)}::bigint)`));

  const [positions, events, etas] = await Promise.all([
    sql<{ seq: string; shipment_id: string; recorded_at: Date; lat: number; lon: number; speed_kmh: number | null; heading_deg: number | null; temperature_c: number | null }>`
      select p.seq, p.shipment_id, p.recorded_at, p.lat, p.lon, p.speed_kmh, p.heading_deg, p.temperature_c
      from positions p join (values ${marks((c) => c.position)}) as m(shipment_id, after) on p.shipment_id = m.shipment_id and p.seq > m.after
      order by p.seq limit ${limit}`.execute(db),
    sql<{ id: string; shipment_id: string; type: string; occurred_at: Date; stop_sequence: number | null; data: Record<string, unknown> }>`
      select e.id, e.shipment_id, e.type, e.occurred_at, e.stop_sequence, e.data
      from shipment_events e join (values ${marks((c) => c.event)}) as m(shipment_id, after) on e.shipment_id = m.shipment_id and e.id > m.after
      where ${lagged('e.inserted_at')} order by e.id limit ${limit}`.execute(db),
    sql<{ id: string; shipment_id: string; stop_sequence: number; source: string; predicted_at: Date; predicted_arrival: Date }>`
      select t.id, t.shipment_id, t.stop_sequence, t.source, t.predicted_at, t.predicted_arrival
      from eta_predictions t join (values ${marks((c) => c.eta)}) as m(shipment_id, after) on t.shipment_id = m.shipment_id and t.id > m.after
      where ${lagged('t.created_at')} order by t.id limit ${limit}`.execute(db),
  ]);
  for (const r of positions.rows) {
    const fix = {
      recordedAt: iso(r.recorded_at),
      lat: r.lat,
      lon: r.lon,
      ...(r.speed_kmh !== null ? { speedKmh: r.speed_kmh } : {}),
      ...(r.heading_deg !== null ? { headingDeg: r.heading_deg } : {}),
      ...(r.temperature_c !== null ? { temperatureC: r.temperature_c } : {}),
    };
    result.get(r.shipment_id)?.push({ source: 'position', id: r.seq, fix });
  }
  for (const r of events.rows) {
    const event = { id: r.id, type: r.type, occurredAt: iso(r.occurred_at), ...(r.stop_sequence !== null ? { stopSequence: r.stop_sequence } : {}), data: r.data };
    result.get(r.shipment_id)?.push({ source: 'event', id: r.id, event });
  }
  for (const r of etas.rows) {
    const prediction = { stopSequence: r.stop_sequence, source: r.source, predictedAt: iso(r.predicted_at), predictedArrival: iso(r.predicted_arrival) };
    result.get(r.shipment_id)?.push({ source: 'eta', id: r.id, prediction });
  }
  return result;
}

/** The marks a stream starting now begins from: everything already readable counts as seen. */
export async function currentShipmentCursor(db: Kysely<Database>, shipmentId: string): Promise<ShipmentChangeCursor> {
  const { rows } = await sql<{ position: string | null; event: string | null; eta: string | null }>`
    select
      (select max(seq) from positions where shipment_id = ${shipmentId}::uuid)::text as position,
      (select max(id) from shipment_events where shipment_id = ${shipmentId}::uuid and ${lagged('inserted_at')})::text as event,
      (select max(id) from eta_predictions where shipment_id = ${shipmentId}::uuid and ${lagged('created_at')})::text as eta`.execute(db);
  const row = rows[0];
  return { position: row?.position ?? '0', event: row?.event ?? '0', eta: row?.eta ?? '0' };
}

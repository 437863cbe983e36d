// The ETA's learned figures: what the refresh reads (a tenant's delivered shipments with their
// stops and fixes, page by page), what it writes (the figures, replaced whole per tenant in one
// transaction) and what the ETA activity reads back.
import type { Kysely } from 'kysely';
import type { EtaHistoryFigures, HistoryShipment } from '../../domain/eta/index.js';
import { iso } from '../../infra/encoding.js';
import type { Database } from '../schema.js';

/** Tenants with at least one delivered shipment: those a refresh has something to learn for. */
export async function tenantsWithDeliveredShipments(db: Kysely<Database>): Promise<string[]> {
  const rows = await db.selectFrom('tenants').select('id').where((eb) => eb.exists(eb.selectFrom('shipments').select('id').whereRef('shipments.tenant_id', '=', 'tenants.id').where('status', '=', 'DELIVERED'))).orderBy('id').execute();
  return rows.map((r) => r.id);
}

export interface DeliveredPageCursor {
  updatedAt: string;
  id: string;
}

/**
 * One page of the tenant's delivered shipments, most recently updated first, each with its stops
 * (visits) and stored fixes; `next` continues after the page.
 */
export async function readDeliveredShipments(
  db: Kysely<Database>,
  tenantId: string,
  options: { limit: number; after?: DeliveredPageCursor },
): Promise<{ shipments: HistoryShipment[]; next?: DeliveredPageCursor }> {
  let query = db.selectFrom('shipments').select(['id', 'updated_at']).where('tenant_id', '=', tenantId).where('status', '=', 'DELIVERED');
  if (options.after) {
    const after = options.after;
    query = query.where((eb) => eb.or([eb('updated_at', '<', new Date(after.updatedAt)), eb.and([eb('updated_at', '=', new Date(after.updatedAt)), eb('id', '<', after.id)])]));
  }
  const page = await query.orderBy('updated_at', 'desc').orderBy('id', 'desc').limit(options.limit).execute();
  if (page.length === 0) return { shipments: [] };
  const ids = page.map((r) => r.id);
  const [stops, fixes] = await Promise.all([
    db.selectFrom('stops').select(['shipment_id', 'sequence', 'name', 'lat', 'lon', 'planned_dwell_min', 'arrived_at', 'departed_at']).where('shipment_id', 'in', ids).orderBy('shipment_id').orderBy('sequence').execute(),
    db.selectFrom('positions').select(['shipment_id', 'recorded_at', 'lat', 'lon', 'speed_kmh']).where('shipment_id', 'in', ids).orderBy('shipment_id').orderBy('recorded_at').execute(),
  ]);
  const byId = new Map<string, HistoryShipment & { fixes: HistoryShipment['fixes'][number][] }>(ids.map((id) => [id, { shipmentId: id, stops: [], fixes: [] }]));
  for (const s of stops) {
    byId.get(s.shipment_id)!.stops.push({
      name: s.name,
      location: { lat: s.lat, lon: s.lon },
      plannedDwellMin: s.planned_dwell_min,
      arrivedAt: s.arrived_at ? iso(s.arrived_at) : null,
      departedAt: s.departed_at ? iso(s.departed_at) : null,
    });
  }
  for (const f of fixes) {
    byId.get(f.shipment_id!)!.fixes.push({ recordedAt: iso(f.recorded_at), lat: f.lat, lon: f.lon, ...(f.speed_kmh !== null ? { speedKmh: f.speed_kmh } : {}) });
  }
  const last = page.at(-1)!;
  return { shipments: ids.map((id) => byId.get(id)!), ...(page.length === options.limit ? { next: { updatedAt: iso(last.updated_at), id: last.id } } : {}) };
}

const INSERT_CHUNK = 1_000;

/** Replaces the tenant's figures in one transaction: a reader sees the old set or the new one, never a mix. */
export async function replaceEtaHistory(db: Kysely<Database>, tenantId: string, figures: EtaHistoryFigures, durationMs: number): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom('eta_facility_dwell').where('tenant_id', '=', tenantId).execute();
    await trx.deleteFrom('eta_corridor_speeds').where('tenant_id', '=', tenantId).execute();
    for (let i = 0; i < figures.facilities.length; i += INSERT_CHUNK) {
      await trx
        .insertInto('eta_facility_dwell')
        .values(
          figures.facilities.slice(i, i + INSERT_CHUNK).map((f) => ({
            tenant_id: tenantId,
            facility_key: f.facilityKey,
            name: f.name,
            lat: f.lat,
            lon: f.lon,
            visits: f.visits,
            p50_dwell_min: f.p50DwellMin,
            p90_dwell_min: f.p90DwellMin,
            p50_excess_min: f.p50ExcessMin,
            excess_samples: f.excessSamples,
          })),
        )
        .execute();
    }
    for (let i = 0; i < figures.corridors.length; i += INSERT_CHUNK) {
      await trx
        .insertInto('eta_corridor_speeds')
        .values(figures.corridors.slice(i, i + INSERT_CHUNK).map((c) => ({ tenant_id: tenantId, cell: c.cell, hour_of_week: c.hourOfWeek, moving_min: c.movingMin, km: c.km, passages: c.passages })))
        .execute();
    }
    const refresh = { shipments: figures.shipments, break_samples: figures.breaks.samples, break_p50_min: figures.breaks.p50Min, refreshed_at: new Date(), duration_ms: Math.round(durationMs) };
    await trx
      .insertInto('eta_history_refreshes')
      .values({ tenant_id: tenantId, ...refresh })
      .onConflict((oc) => oc.column('tenant_id').doUpdateSet(refresh))
      .execute();
  });
}

/** The tenant's stored figures, with when they were computed; undefined before its first refresh. */
export async function loadEtaHistory(db: Kysely<Database>, tenantId: string): Promise<(EtaHistoryFigures & { refreshedAt: string }) | undefined> {
  const refresh = await db.selectFrom('eta_history_refreshes').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst();
  if (!refresh) return undefined;
  const [facilities, corridors] = await Promise.all([
    db.selectFrom('eta_facility_dwell').selectAll().where('tenant_id', '=', tenantId).orderBy('facility_key').execute(),
    db.selectFrom('eta_corridor_speeds').selectAll().where('tenant_id', '=', tenantId).orderBy('cell').orderBy('hour_of_week').execute(),
  ]);
  return {
    refreshedAt: iso(refresh.refreshed_at),
    shipments: refresh.shipments,
    breaks: { samples: refresh.break_samples, p50Min: refresh.break_p50_min },
    facilities: facilities.map((f) => ({
      facilityKey: f.facility_key,
      name: f.name,
      lat: f.lat,
      lon: f.lon,
      visits: f.visits,
      p50DwellMin: f.p50_dwell_min,
      p90DwellMin: f.p90_dwell_min,
      p50ExcessMin: f.p50_excess_min,
      excessSamples: f.excess_samples,
    })),
    corridors: corridors.map((c) => ({ cell: c.cell, hourOfWeek: c.hour_of_week, movingMin: c.moving_min, km: c.km, passages: c.passages })),
  };
}

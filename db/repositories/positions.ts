// Raw fixes: append-only, stored once however often they are sent. A shipment's fixes are stored
// through db/repositories/fix-ingest.ts (sequence and wake-up); a device's unrouted ones here.
import { sql, type Kysely } from 'kysely';
import type { Database, NewPosition, PositionRow } from '../schema.js';
import type { DeviceFix, DeviceTelemetry, Fix } from '../../domain/types.js';
import { isBigintId, keysetCursor, microsText } from './pagination.js';
import { retryOnPartitionAttach } from './position-partitions.js';
import { iso } from '../../infra/encoding.js';

/** Bulk insert of fixes that belong to no shipment; repeats of a stored fix are skipped by the unique indexes. Returns how many were new. */
export async function insertPositions(db: Kysely<Database>, rows: NewPosition[]): Promise<number> {
  if (rows.length === 0) return 0;
  const result = await retryOnPartitionAttach(() => db.insertInto('positions').values(rows).onConflict((oc) => oc.doNothing()).executeTakeFirst());
  return Number(result.numInsertedOrUpdatedRows ?? 0n);
}

/** A shipment's fixes, a device's, or every fix of the tenant (routed or not). */
export type PositionScope = { shipmentId: string } | { deviceId: string } | { tenant: true };
const POSITIONS_CURSOR = keysetCursor('positions', isBigintId);

/** Time-range read in fix-time order, keyset-paginated on (recorded_at, id). Throws InvalidCursorError. */
export async function listPositions(
  db: Kysely<Database>,
  tenantId: string,
  scope: PositionScope,
  range: { from?: string; to?: string; limit: number; cursor?: string },
): Promise<{ items: PositionRow[]; nextCursor: string | null }> {
  let query = db.selectFrom('positions').selectAll().select(microsText('recorded_at').as('cursor_at')).where('tenant_id', '=', tenantId);
  if ('shipmentId' in scope) query = query.where('shipment_id', '=', scope.shipmentId);
  else if ('deviceId' in scope) query = query.where('device_id', '=', scope.deviceId);
  if (range.from) query = query.where('recorded_at', '>=', new Date(range.from));
  if (range.to) query = query.where('recorded_at', '<', new Date(range.to));
  if (range.cursor) {
    const key = POSITIONS_CURSOR.decode(range.cursor);
    query = query.where(sql<boolean>`(recorded_at, id) > (${key.at}::timestamptz, ${key.id}::bigint)`);
  }
  const rows = await query.orderBy('recorded_at').orderBy('id').limit(range.limit + 1).execute();
  const { items, nextCursor } = POSITIONS_CURSOR.page(rows, range.limit, (r) => ({ at: r.cursor_at, id: r.id }));
  return { items: items.map(({ cursor_at: _cursor, ...row }) => row), nextCursor };
}

/** Driven track: fix coordinates in fix-time order, thinned evenly when there are more than `maxPoints`. */
export async function trackCoordinates(db: Kysely<Database>, shipmentId: string, maxPoints: number): Promise<{ coordinates: [number, number][]; first?: string; last?: string; fixes: number }> {
  const rows = await db
    .selectFrom('positions')
    .select(['lon', 'lat', 'recorded_at'])
    .where('shipment_id', '=', shipmentId)
    .orderBy('recorded_at')
    .execute();
  const step = Math.max(1, Math.ceil(rows.length / maxPoints));
  const kept = rows.filter((_, i) => i % step === 0 || i === rows.length - 1);
  return {
    coordinates: kept.map((r) => [r.lon, r.lat]),
    fixes: rows.length,
    ...(rows.length > 0 ? { first: iso(rows[0]!.recorded_at), last: iso(rows[rows.length - 1]!.recorded_at) } : {}),
  };
}

/** The fix as the shipment workflow's rules see it: position, motion and the cargo temperature. */
export function toFix(row: PositionRow): Fix {
  return {
    recordedAt: iso(row.recorded_at),
    lat: row.lat,
    lon: row.lon,
    ...(row.speed_kmh !== null ? { speedKmh: row.speed_kmh } : {}),
    ...(row.heading_deg !== null ? { headingDeg: row.heading_deg } : {}),
    ...(row.accuracy_m !== null ? { accuracyM: row.accuracy_m } : {}),
    ...(row.temperature_c !== null ? { temperatureC: row.temperature_c } : {}),
  };
}

const TELEMETRY_COLUMNS = {
  altitudeM: 'altitude_m',
  satellites: 'satellites',
  hdop: 'hdop',
  ignition: 'ignition',
  batteryPct: 'battery_pct',
  batteryV: 'battery_v',
  odometerKm: 'odometer_km',
  humidityPct: 'humidity_pct',
  doorOpen: 'door_open',
  eventCode: 'event_code',
  attributes: 'attributes',
} as const satisfies Record<keyof DeviceTelemetry, keyof PositionRow>;

const telemetryEntries = Object.entries(TELEMETRY_COLUMNS) as [keyof DeviceTelemetry, (typeof TELEMETRY_COLUMNS)[keyof DeviceTelemetry]][];

function toTelemetry(row: PositionRow): DeviceTelemetry {
  return Object.fromEntries(telemetryEntries.flatMap(([field, column]) => (row[column] !== null ? [[field, row[column]]] : [])));
}

/** A stored fix as the API answers it: the fix, its telemetry and where it was routed. */
export function toStoredPosition(row: PositionRow) {
  return {
    id: row.id,
    ...toFix(row),
    ...toTelemetry(row),
    ...(row.shipment_id ? { shipmentId: row.shipment_id } : {}),
    ...(row.device_id ? { deviceId: row.device_id } : {}),
    receivedAt: iso(row.received_at),
  };
}

export function fixToRow(fix: DeviceFix, owner: { tenantId: string; shipmentId: string | null; deviceId: string | null }): NewPosition {
  return {
    tenant_id: owner.tenantId,
    shipment_id: owner.shipmentId,
    device_id: owner.deviceId,
    recorded_at: new Date(fix.recordedAt),
    lat: fix.lat,
    lon: fix.lon,
    speed_kmh: fix.speedKmh ?? null,
    heading_deg: fix.headingDeg ?? null,
    accuracy_m: fix.accuracyM ?? null,
    temperature_c: fix.temperatureC ?? null,
    ...Object.fromEntries(telemetryEntries.map(([field, column]) => [column, fix[field] ?? null])),
  };
}

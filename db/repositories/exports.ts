// What the exports read: for each exported table, its columns, the Hive partitions (tenant × UTC
// date) a window holds with their row count and latest change, and a partition's rows in pages.
// Timestamps leave Postgres as epoch microseconds (text), so nothing is rounded to milliseconds.
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../schema.js';

export type ExportColumnType = 'VARCHAR' | 'BIGINT' | 'INTEGER' | 'DOUBLE' | 'BOOLEAN' | 'TIMESTAMPTZ';
export interface ExportColumn {
  name: string;
  type: ExportColumnType;
}
export type ExportRow = Record<string, string | number | boolean | null>;

export const EXPORT_TABLE_NAMES = ['positions', 'shipment_events', 'stop_visits', 'eta_predictions'] as const;
export type ExportTableName = (typeof EXPORT_TABLE_NAMES)[number];

/** UTC dates, both inclusive. */
export interface ExportWindow {
  from: string;
  to: string;
  tenantId?: string;
}

export interface PartitionState {
  tenantId: string;
  date: string;
  rows: number;
  /** The latest change among the partition's rows, as Postgres text (exact to the microsecond). */
  highWater: string;
  /** Sum of the rows' value hashes, for rows that change without a newer timestamp; '0' for the others. */
  checksum: string;
}

type PartitionStateRow = { tenant_id: string; date: string; rows: string; high_water: string; checksum: string };

interface TableSource {
  columns: ExportColumn[];
  /** Per partition of the window: rows, the latest change and the checksum. Columns tenant_id, date, rows, high_water, checksum. */
  partitions(window: ExportWindow): RawBuilder<PartitionStateRow>;
  /** A page of the partition's rows after `after` (the previous page's last `page_key`), in order. */
  page(tenantId: string, date: string, after: string | null, limit: number): RawBuilder<ExportRow & { page_key: string }>;
}

const micros = (column: string) => sql.raw(`(extract(epoch from ${column}) * 1000000)::bigint::text`);
const utcDate = (column: string) => sql.raw(`(${column} at time zone 'UTC')::date`);
const dayStart = (date: string) => sql`(${date}::date::timestamp at time zone 'UTC')`;
const dayAfter = (date: string) => sql`((${date}::date + 1)::timestamp at time zone 'UTC')`;
const tenantFilter = (column: string, tenantId: string | undefined) => (tenantId ? sql`and ${sql.ref(column)} = ${tenantId}::uuid` : sql``);

const POSITION_COLUMNS: ExportColumn[] = [
  { name: 'id', type: 'BIGINT' },
  { name: 'shipment_id', type: 'VARCHAR' },
  { name: 'device_id', type: 'VARCHAR' },
  { name: 'seq', type: 'BIGINT' },
  { name: 'recorded_at', type: 'TIMESTAMPTZ' },
  { name: 'received_at', type: 'TIMESTAMPTZ' },
  { name: 'lat', type: 'DOUBLE' },
  { name: 'lon', type: 'DOUBLE' },
  { name: 'speed_kmh', type: 'DOUBLE' },
  { name: 'heading_deg', type: 'DOUBLE' },
  { name: 'accuracy_m', type: 'DOUBLE' },
  { name: 'temperature_c', type: 'DOUBLE' },
  { name: 'altitude_m', type: 'DOUBLE' },
  { name: 'satellites', type: 'INTEGER' },
  { name: 'hdop', type: 'DOUBLE' },
  { name: 'ignition', type: 'BOOLEAN' },
  { name: 'battery_pct', type: 'DOUBLE' },
  { name: 'battery_v', type: 'DOUBLE' },
  { name: 'odometer_km', type: 'DOUBLE' },
  { name: 'humidity_pct', type: 'DOUBLE' },
  { name: 'door_open', type: 'BOOLEAN' },
  { name: 'event_code', type: 'VARCHAR' },
  { name: 'attributes', type: 'VARCHAR' },
];

const positions: TableSource = {
  columns: POSITION_COLUMNS,
  partitions: (w) => sql`
    select tenant_id::text, ${utcDate('recorded_at')}::text as date, count(*)::text as rows, max(received_at)::text as high_water, '0' as checksum
    from positions
    where recorded_at >= ${dayStart(w.from)} and recorded_at < ${dayAfter(w.to)} ${tenantFilter('tenant_id', w.tenantId)}
    group by 1, 2`,
  // Keyset on (recorded_at, id), the order of positions_tenant_time_idx.
  page: (tenantId, date, after, limit) => sql`
    select id::text, shipment_id::text, device_id, seq::text, ${micros('recorded_at')} as recorded_at, ${micros('received_at')} as received_at,
      lat, lon, speed_kmh, heading_deg, accuracy_m, temperature_c, altitude_m, satellites, hdop, ignition, battery_pct, battery_v,
      odometer_km, humidity_pct, door_open, event_code, attributes::text,
      ${micros('recorded_at')} || ':' || id::text as page_key
    from positions
    where tenant_id = ${tenantId}::uuid and recorded_at >= ${dayStart(date)} and recorded_at < ${dayAfter(date)}
      ${after ? sql`and (recorded_at, id) > (timestamptz 'epoch' + ${after.split(':')[0]}::bigint * interval '1 microsecond', ${after.split(':')[1]}::bigint)` : sql``}
    order by recorded_at, id
    limit ${limit}`,
};

const shipmentEvents: TableSource = {
  columns: [
    { name: 'id', type: 'BIGINT' },
    { name: 'shipment_id', type: 'VARCHAR' },
    { name: 'event_key', type: 'VARCHAR' },
    { name: 'type', type: 'VARCHAR' },
    { name: 'occurred_at', type: 'TIMESTAMPTZ' },
    { name: 'stop_sequence', type: 'INTEGER' },
    { name: 'actor', type: 'VARCHAR' },
    { name: 'data', type: 'VARCHAR' },
    { name: 'inserted_at', type: 'TIMESTAMPTZ' },
  ],
  partitions: (w) => sql`
    select tenant_id::text, ${utcDate('occurred_at')}::text as date, count(*)::text as rows, max(inserted_at)::text as high_water, '0' as checksum
    from shipment_events
    where occurred_at >= ${dayStart(w.from)} and occurred_at < ${dayAfter(w.to)} ${tenantFilter('tenant_id', w.tenantId)}
    group by 1, 2`,
  page: (tenantId, date, after, limit) => sql`
    select id::text, shipment_id::text, event_key, type, ${micros('occurred_at')} as occurred_at, stop_sequence, actor, data::text,
      ${micros('inserted_at')} as inserted_at, id::text as page_key
    from shipment_events
    where tenant_id = ${tenantId}::uuid and occurred_at >= ${dayStart(date)} and occurred_at < ${dayAfter(date)}
      ${after ? sql`and id > ${after}::bigint` : sql``}
    order by id
    limit ${limit}`,
};

// One row per stop of every shipment created that day (a shipment's stops never change
// partition): the visit (arrival, departure, dwell) once there is one, the window and whether
// the arrival was inside it (domain/punctuality.ts: arrived at or before the window's end).
const stopVisits: TableSource = {
  columns: [
    { name: 'shipment_id', type: 'VARCHAR' },
    { name: 'stop_sequence', type: 'INTEGER' },
    { name: 'reference', type: 'VARCHAR' },
    { name: 'shipment_status', type: 'VARCHAR' },
    { name: 'shipment_created_at', type: 'TIMESTAMPTZ' },
    { name: 'carrier_id', type: 'VARCHAR' },
    { name: 'carrier_name', type: 'VARCHAR' },
    { name: 'stop_type', type: 'VARCHAR' },
    { name: 'stop_count', type: 'INTEGER' },
    { name: 'facility', type: 'VARCHAR' },
    { name: 'lat', type: 'DOUBLE' },
    { name: 'lon', type: 'DOUBLE' },
    { name: 'window_start', type: 'TIMESTAMPTZ' },
    { name: 'window_end', type: 'TIMESTAMPTZ' },
    { name: 'planned_dwell_min', type: 'DOUBLE' },
    { name: 'stop_status', type: 'VARCHAR' },
    { name: 'arrived_at', type: 'TIMESTAMPTZ' },
    { name: 'departed_at', type: 'TIMESTAMPTZ' },
    { name: 'dwell_min', type: 'DOUBLE' },
    { name: 'on_time', type: 'BOOLEAN' },
    { name: 'lateness_min', type: 'DOUBLE' },
    { name: 'updated_at', type: 'TIMESTAMPTZ' },
  ],
  // A carrier assigned or renamed changes a visit without touching shipments.updated_at: the
  // checksum over the values that can change catches it.
  partitions: (w) => sql`
    select s.tenant_id::text, ${utcDate('s.created_at')}::text as date, count(*)::text as rows, max(s.updated_at)::text as high_water,
      sum(hashtextextended(concat_ws('|', s.status, s.carrier_id, c.name, st.status, st.arrived_at, st.departed_at, st.window_start, st.window_end), 0)::numeric)::text as checksum
    from shipments s join stops st on st.shipment_id = s.id
    left join carriers c on c.id::text = s.carrier_id and c.tenant_id = s.tenant_id
    where s.created_at >= ${dayStart(w.from)} and s.created_at < ${dayAfter(w.to)} ${tenantFilter('s.tenant_id', w.tenantId)}
    group by 1, 2`,
  page: (tenantId, date, after, limit) => sql`
    select s.id::text as shipment_id, st.sequence as stop_sequence, s.reference, s.status as shipment_status,
      ${micros('s.created_at')} as shipment_created_at, s.carrier_id::text, c.name as carrier_name, st.type as stop_type,
      (select count(*)::int from stops n where n.shipment_id = s.id) as stop_count,
      st.name as facility, st.lat, st.lon, ${micros('st.window_start')} as window_start, ${micros('st.window_end')} as window_end,
      st.planned_dwell_min, st.status as stop_status, ${micros('st.arrived_at')} as arrived_at, ${micros('st.departed_at')} as departed_at,
      extract(epoch from st.departed_at - st.arrived_at)::float8 / 60 as dwell_min,
      case when st.arrived_at is null or st.window_end is null then null else st.arrived_at <= st.window_end end as on_time,
      extract(epoch from st.arrived_at - st.window_end)::float8 / 60 as lateness_min,
      ${micros('s.updated_at')} as updated_at,
      s.id::text || ':' || lpad(st.sequence::text, 6, '0') as page_key
    from shipments s
    join stops st on st.shipment_id = s.id
    left join carriers c on c.id::text = s.carrier_id and c.tenant_id = s.tenant_id
    where s.tenant_id = ${tenantId}::uuid and s.created_at >= ${dayStart(date)} and s.created_at < ${dayAfter(date)}
      ${after ? sql`and s.id::text || ':' || lpad(st.sequence::text, 6, '0') > ${after}` : sql``}
    order by page_key
    limit ${limit}`,
};

// Every prediction with what became of it: the stop's real arrival and the error (predicted −
// actual, positive: predicted late) once the stop is reached. A prediction changes when its
// stop's arrival does, so the partition's latest change includes its shipments' updates.
const etaPredictions: TableSource = {
  columns: [
    { name: 'id', type: 'BIGINT' },
    { name: 'shipment_id', type: 'VARCHAR' },
    { name: 'stop_sequence', type: 'INTEGER' },
    { name: 'source', type: 'VARCHAR' },
    { name: 'model', type: 'VARCHAR' },
    { name: 'predicted_at', type: 'TIMESTAMPTZ' },
    { name: 'predicted_arrival', type: 'TIMESTAMPTZ' },
    { name: 'horizon_min', type: 'DOUBLE' },
    { name: 'speed_kmh', type: 'DOUBLE' },
    { name: 'created_at', type: 'TIMESTAMPTZ' },
    { name: 'actual_arrival', type: 'TIMESTAMPTZ' },
    { name: 'lead_min', type: 'DOUBLE' },
    { name: 'error_min', type: 'DOUBLE' },
  ],
  partitions: (w) => sql`
    select p.tenant_id::text, ${utcDate('p.predicted_at')}::text as date, count(*)::text as rows,
      max(greatest(p.created_at, s.updated_at))::text as high_water, '0' as checksum
    from eta_predictions p join shipments s on s.id = p.shipment_id
    where p.predicted_at >= ${dayStart(w.from)} and p.predicted_at < ${dayAfter(w.to)} ${tenantFilter('p.tenant_id', w.tenantId)}
    group by 1, 2`,
  page: (tenantId, date, after, limit) => sql`
    select p.id::text, p.shipment_id::text, p.stop_sequence, p.source, p.model, ${micros('p.predicted_at')} as predicted_at,
      ${micros('p.predicted_arrival')} as predicted_arrival, p.horizon_min, p.speed_kmh, ${micros('p.created_at')} as created_at,
      ${micros('st.arrived_at')} as actual_arrival,
      extract(epoch from st.arrived_at - p.predicted_at)::float8 / 60 as lead_min,
      extract(epoch from p.predicted_arrival - st.arrived_at)::float8 / 60 as error_min,
      p.id::text as page_key
    from eta_predictions p
    left join stops st on st.shipment_id = p.shipment_id and st.sequence = p.stop_sequence
    where p.tenant_id = ${tenantId}::uuid and p.predicted_at >= ${dayStart(date)} and p.predicted_at < ${dayAfter(date)}
      ${after ? sql`and p.id > ${after}::bigint` : sql``}
    order by p.id
    limit ${limit}`,
};

const SOURCES: Record<ExportTableName, TableSource> = {
  positions,
  shipment_events: shipmentEvents,
  stop_visits: stopVisits,
  eta_predictions: etaPredictions,
};

export const exportColumns = (table: ExportTableName): ExportColumn[] => SOURCES[table].columns;

export interface Destination {
  destination: string;
  format: string;
}

/**
 * The window's partitions that the destination does not hold as they are now: never written, or
 * written from fewer or more rows, or from older ones. With `all`, every partition of the window.
 */
export async function partitionsToExport(db: Kysely<Database>, table: ExportTableName, window: ExportWindow, to: Destination, all = false): Promise<PartitionState[]> {
  const { rows } = await sql<PartitionStateRow>`
    with current_state as (${SOURCES[table].partitions(window)})
    select c.tenant_id, c.date, c.rows, c.high_water, c.checksum
    from current_state c
    left join export_partitions e
      on e.destination = ${to.destination} and e.format = ${to.format} and e.table_name = ${table}
     and e.tenant_id = c.tenant_id::uuid and e.date = c.date::date
    where ${all} or e.date is null or e.rows <> c.rows::bigint or e.high_water < c.high_water::timestamptz or e.checksum <> c.checksum
    order by c.date, c.tenant_id`.execute(db);
  return rows.map((r) => ({ tenantId: r.tenant_id, date: r.date, rows: Number(r.rows), highWater: r.high_water, checksum: r.checksum }));
}

/** A partition's rows, page by page, in a stable order. */
export async function* partitionRows(db: Kysely<Database>, table: ExportTableName, tenantId: string, date: string, pageSize = 10_000): AsyncGenerator<ExportRow[]> {
  let after: string | null = null;
  for (;;) {
    const { rows } = await SOURCES[table].page(tenantId, date, after, pageSize).execute(db);
    if (rows.length === 0) return;
    after = rows[rows.length - 1]!.page_key;
    yield rows.map(({ page_key: _key, ...row }) => row);
    if (rows.length < pageSize) return;
  }
}

/** Records a written partition: its rows, the high-water mark it was written from and its file. */
export async function recordPartition(
  db: Kysely<Database>,
  to: Destination,
  table: ExportTableName,
  partition: PartitionState,
  written: { rows: number; file: string },
): Promise<void> {
  const values = {
    destination: to.destination,
    format: to.format,
    table_name: table,
    tenant_id: partition.tenantId,
    date: partition.date,
    rows: written.rows,
    high_water: sql<Date>`${partition.highWater}::timestamptz`,
    checksum: partition.checksum,
    file: written.file,
    exported_at: new Date(),
  };
  await db
    .insertInto('export_partitions')
    .values(values)
    .onConflict((oc) =>
      oc.columns(['destination', 'format', 'table_name', 'tenant_id', 'date']).doUpdateSet({
        rows: values.rows,
        high_water: values.high_water,
        checksum: values.checksum,
        file: values.file,
        exported_at: values.exported_at,
      }),
    )
    .execute();
}

// On-time and dwell over a tenant's stop visits, straight from the projection (stops joined to
// their shipments), through stops_tenant_arrival_idx: a stop visit is a stop with an arrival; it
// is on time when it arrived at or before its window's end (domain/punctuality.ts), and its dwell
// runs from arrival to departure. The same rules as the export's stop_visits and the dbt marts.
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../schema.js';

export interface VisitFilter {
  tenantId: string;
  /** Arrival time from (inclusive) and to (exclusive). */
  from?: string;
  to?: string;
  carrierId?: string;
  /** A stop name. */
  facility?: string;
}

export interface OnTimeFigures {
  visits: number;
  onTime: number;
  late: number;
  onTimeShare: number | null;
  meanLatenessMin: number | null;
}

export interface OnTimeReport extends OnTimeFigures {
  byCarrier: (OnTimeFigures & { carrierId: string | null; carrierName: string | null })[];
  byFacility: (OnTimeFigures & { facility: string })[];
  byWeek: (OnTimeFigures & { week: string })[];
}

export interface DwellFigures {
  facility: string;
  visits: number;
  p50Min: number;
  p90Min: number;
  meanMin: number;
}

function visitsWhere(filter: VisitFilter): RawBuilder<unknown> {
  return sql`st.tenant_id = ${filter.tenantId}::uuid and st.arrived_at is not null
    ${filter.from ? sql`and st.arrived_at >= ${filter.from}::timestamptz` : sql``}
    ${filter.to ? sql`and st.arrived_at < ${filter.to}::timestamptz` : sql``}
    ${filter.carrierId ? sql`and s.carrier_id = ${filter.carrierId}` : sql``}
    ${filter.facility ? sql`and st.name = ${filter.facility}` : sql``}`;
}

type FigureRow = { visits: string; on_time: string; mean_lateness_min: number | null };
const figures = (r: FigureRow): OnTimeFigures => {
  const visits = Number(r.visits);
  const onTime = Number(r.on_time);
  return { visits, onTime, late: visits - onTime, onTimeShare: visits > 0 ? onTime / visits : null, meanLatenessMin: r.mean_lateness_min === null ? null : Number(r.mean_lateness_min) };
};

/** Visits with a window: on time, late, by carrier, facility and ISO week (Monday, UTC) of arrival. */
export async function onTimeReport(db: Kysely<Database>, filter: VisitFilter): Promise<OnTimeReport> {
  const { rows } = await sql<FigureRow & { carrier_id: string | null; carrier_name: string | null; facility: string | null; week: string | null; g_carrier: number; g_facility: number; g_week: number }>`
    with visits as (
      select s.carrier_id, st.name as facility, to_char(date_trunc('week', st.arrived_at at time zone 'UTC'), 'YYYY-MM-DD') as week,
             st.arrived_at <= st.window_end as on_time, extract(epoch from st.arrived_at - st.window_end)::float8 / 60 as lateness_min
      from stops st join shipments s on s.id = st.shipment_id
      where ${visitsWhere(filter)} and st.window_end is not null
    )
    select v.carrier_id, max(c.name) as carrier_name, v.facility, v.week,
           grouping(v.carrier_id) as g_carrier, grouping(v.facility) as g_facility, grouping(v.week) as g_week,
           count(*)::text as visits, count(*) filter (where v.on_time)::text as on_time,
           avg(v.lateness_min) filter (where not v.on_time) as mean_lateness_min
    from visits v left join carriers c on c.id::text = v.carrier_id and c.tenant_id = ${filter.tenantId}::uuid
    group by grouping sets ((), (v.carrier_id), (v.facility), (v.week))`.execute(db);
  const total = rows.find((r) => r.g_carrier && r.g_facility && r.g_week);
  return {
    ...figures(total ?? { visits: '0', on_time: '0', mean_lateness_min: null }),
    byCarrier: rows
      .filter((r) => !r.g_carrier)
      .map((r) => ({ carrierId: r.carrier_id, carrierName: r.carrier_name, ...figures(r) }))
      .sort((a, b) => (a.carrierName ?? '').localeCompare(b.carrierName ?? '')),
    byFacility: rows.filter((r) => !r.g_facility).map((r) => ({ facility: r.facility!, ...figures(r) })).sort((a, b) => a.facility.localeCompare(b.facility)),
    byWeek: rows.filter((r) => !r.g_week).map((r) => ({ week: r.week!, ...figures(r) })).sort((a, b) => a.week.localeCompare(b.week)),
  };
}

/** Dwell of completed visits per facility: median, 90th percentile (linear interpolation) and mean. */
export async function dwellByFacility(db: Kysely<Database>, filter: VisitFilter): Promise<DwellFigures[]> {
  const { rows } = await sql<{ facility: string; visits: string; p50: number; p90: number; mean: number }>`
    select st.name as facility, count(*)::text as visits,
           percentile_cont(0.5) within group (order by extract(epoch from st.departed_at - st.arrived_at)::float8 / 60) as p50,
           percentile_cont(0.9) within group (order by extract(epoch from st.departed_at - st.arrived_at)::float8 / 60) as p90,
           avg(extract(epoch from st.departed_at - st.arrived_at)::float8 / 60) as mean
    from stops st join shipments s on s.id = st.shipment_id
    where ${visitsWhere(filter)} and st.departed_at is not null
    group by st.name
    order by st.name`.execute(db);
  return rows.map((r) => ({ facility: r.facility, visits: Number(r.visits), p50Min: Number(r.p50), p90Min: Number(r.p90), meanMin: Number(r.mean) }));
}

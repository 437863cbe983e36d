// On-time and dwell over a tenant's stop visits: stop_visit_facts, one narrow row per stop with an
// arrival and its shipment's carrier, kept by triggers on stops and shipments (migration
// 2026_12_02_0011). A visit is on time when it arrived at or before its window's end
// (domain/punctuality.ts); its dwell runs from arrival to departure. The same rules as the
// export's stop_visits and the dbt marts.
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
  return sql`v.tenant_id = ${filter.tenantId}::uuid
    ${filter.from ? sql`and v.arrived_at >= ${filter.from}::timestamptz` : sql``}
    ${filter.to ? sql`and v.arrived_at < ${filter.to}::timestamptz` : sql``}
    ${filter.carrierId ? sql`and v.carrier_id = ${filter.carrierId}` : sql``}
    ${filter.facility ? sql`and v.facility = ${filter.facility}` : sql``}`;
}

type FigureRow = { visits: string; on_time: string; mean_lateness_min: number | null };
const figures = (r: FigureRow): OnTimeFigures => {
  const visits = Number(r.visits);
  const onTime = Number(r.on_time);
  return { visits, onTime, late: visits - onTime, onTimeShare: visits > 0 ? onTime / visits : null, meanLatenessMin: r.mean_lateness_min === null ? null : Number(r.mean_lateness_min) };
};

/**
 * One aggregation pass over the visits, planned for a year of them: no JIT (compiling costs more
 * than it saves on one scan) and memory for the hashed grouping sets instead of sorts on disk.
 */
function aggregation<T>(db: Kysely<Database>, query: RawBuilder<T>): Promise<T[]> {
  return db.transaction().execute(async (trx) => {
    await sql`set local jit = off`.execute(trx);
    await sql`set local work_mem = '64MB'`.execute(trx);
    return (await query.execute(trx)).rows;
  });
}

/** Visits with a window: on time, late, by carrier, facility and ISO week (Monday, UTC) of arrival. */
export async function onTimeReport(db: Kysely<Database>, filter: VisitFilter): Promise<OnTimeReport> {
  // Aggregated first, carrier names joined to the few result rows.
  const rows = await aggregation(
    db,
    sql<FigureRow & { carrier_id: string | null; carrier_name: string | null; facility: string | null; week: string | null; g_carrier: number; g_facility: number; g_week: number }>`
    with visits as (
      select v.carrier_id, v.facility, date_trunc('week', v.arrived_at at time zone 'UTC') as week,
             v.arrived_at <= v.window_end as on_time, extract(epoch from v.arrived_at - v.window_end)::float8 / 60 as lateness_min
      from stop_visit_facts v
      where ${visitsWhere(filter)} and v.window_end is not null
    ), figures as (
      select v.carrier_id, v.facility, v.week,
             grouping(v.carrier_id) as g_carrier, grouping(v.facility) as g_facility, grouping(v.week) as g_week,
             count(*)::text as visits, count(*) filter (where v.on_time)::text as on_time,
             avg(v.lateness_min) filter (where not v.on_time) as mean_lateness_min
      from visits v
      group by grouping sets ((), (v.carrier_id), (v.facility), (v.week))
    )
    select f.carrier_id, c.name as carrier_name, f.facility, to_char(f.week, 'YYYY-MM-DD') as week, f.g_carrier, f.g_facility, f.g_week,
           f.visits, f.on_time, f.mean_lateness_min
    from figures f left join carriers c on c.id::text = f.carrier_id and c.tenant_id = ${filter.tenantId}::uuid`,
  );
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
  const rows = await aggregation(
    db,
    sql<{ facility: string; visits: string; p50: number; p90: number; mean: number }>`
    with visits as (
      select v.facility, extract(epoch from v.departed_at - v.arrived_at)::float8 / 60 as dwell_min
      from stop_visit_facts v
      where ${visitsWhere(filter)} and v.departed_at is not null
    )
    select facility, count(*)::text as visits,
           percentile_cont(0.5) within group (order by dwell_min) as p50,
           percentile_cont(0.9) within group (order by dwell_min) as p90,
           avg(dwell_min) as mean
    from visits
    group by facility
    order by facility`,
  );
  return rows.map((r) => ({ facility: r.facility, visits: Number(r.visits), p50Min: Number(r.p50), p90Min: Number(r.p90), meanMin: Number(r.mean) }));
}

// Frozen in time: never edit after it has landed; add a new migration instead.
// `positions` becomes a table partitioned by month of fix time (`recorded_at`, UTC months), so old
// months can be dropped whole once exported (POSITIONS_RETENTION_MONTHS) and a month's indexes stay
// the size of a month. Existing rows are moved: a partition for every month that holds rows within
// the last 36 months, plus the previous, the current and the next 3 months; anything else (a device
// clock in 1970, a month further out) lands in `positions_default`, which also catches any fix
// whose month has no partition yet. db/repositories/position-partitions.ts creates months ahead
// and moves rows out of the default later (the worker's maintenance job, and after migrating).
//
// Unique indexes of a partitioned table must contain the partition key:
// - the dedup keys (shipment_id, recorded_at) and (tenant_id, device_id, recorded_at) do, and stay
//   unique (partial, as before), so `insert … on conflict do nothing` still stores a fix once;
// - (shipment_id, seq) cannot: it becomes a plain index for loads by sequence. Sequences are still
//   unique per shipment by construction: they are handed out under the shipment_ingest row lock
//   (db/repositories/fix-ingest.ts), one per stored row, and a repeat that is not stored leaves a gap;
// - the primary key becomes (id, recorded_at). `id` still comes from positions_id_seq alone, so it
//   stays unique; nothing references positions.id (no foreign key), and the keyset cursors order by
//   (recorded_at, id).
import { sql, type Kysely } from 'kysely';

const COLUMNS = `
  tenant_id uuid not null,
  shipment_id uuid,
  device_id text,
  recorded_at timestamptz not null,
  received_at timestamptz not null default now(),
  lat double precision not null,
  lon double precision not null,
  speed_kmh double precision,
  heading_deg double precision,
  accuracy_m double precision,
  temperature_c double precision,
  altitude_m double precision,
  satellites integer,
  hdop double precision,
  ignition boolean,
  battery_pct double precision,
  battery_v double precision,
  odometer_km double precision,
  humidity_pct double precision,
  door_open boolean,
  event_code text,
  attributes jsonb,
  seq bigint`;
const COLUMN_NAMES = `id, ${COLUMNS.split(',').map((c) => c.trim().split(/\s+/)[0]).join(', ')}`;

/** 'YYYY-MM' of a UTC month `offset` months from `month`. */
function addMonths(month: string, offset: number): string {
  const [y, m] = month.split('-').map(Number) as [number, number];
  const total = y * 12 + (m - 1) + offset;
  return `${String(Math.floor(total / 12)).padStart(4, '0')}-${String((total % 12) + 1).padStart(2, '0')}`;
}

/**
 * Views of the dbt project's postgres target (schema `analytics`) read positions: they are dropped
 * and come back with the next `dbt build`. Any other dependent object makes the migration fail
 * with Postgres' own message naming it.
 */
async function dropAnalyticsViews(db: Kysely<any>): Promise<void> {
  const { rows } = await sql<{ name: string }>`
    select distinct format('%I.%I', n.nspname, v.relname) as name
    from pg_depend d
    join pg_rewrite r on r.oid = d.objid
    join pg_class v on v.oid = r.ev_class
    join pg_namespace n on n.oid = v.relnamespace
    where d.classid = 'pg_rewrite'::regclass and d.refobjid = 'public.positions'::regclass and v.oid <> d.refobjid
      and (n.nspname = 'analytics' or n.nspname like 'analytics\\_%')`.execute(db);
  for (const { name } of rows) await sql`drop view if exists ${sql.raw(name)} cascade`.execute(db);
}

export async function up(db: Kysely<any>): Promise<void> {
  await dropAnalyticsViews(db);
  await sql`alter sequence positions_id_seq owned by none`.execute(db);
  await sql.raw(`
    create table positions_partitioned (
      id bigint not null default nextval('positions_id_seq'::regclass),
      ${COLUMNS},
      constraint positions_partitioned_pkey primary key (id, recorded_at)
    ) partition by range (recorded_at)`).execute(db);

  const { rows: now } = await sql<{ month: string }>`select to_char(now() at time zone 'UTC', 'YYYY-MM') as month`.execute(db);
  const current = now[0]!.month;
  const { rows: held } = await sql<{ month: string }>`
    select distinct to_char(recorded_at at time zone 'UTC', 'YYYY-MM') as month from positions
    where recorded_at >= (date_trunc('month', now() at time zone 'UTC') - interval '36 months') at time zone 'UTC'
      and recorded_at < (date_trunc('month', now() at time zone 'UTC') + interval '4 months') at time zone 'UTC'`.execute(db);
  const months = new Set(held.map((r) => r.month));
  for (let offset = -1; offset <= 3; offset++) months.add(addMonths(current, offset));
  for (const month of [...months].sort()) {
    const name = `positions_p${month.replace('-', '_')}`;
    await sql.raw(`create table ${name} partition of positions_partitioned
      for values from ('${month}-01 00:00:00+00') to ('${addMonths(month, 1)}-01 00:00:00+00')`).execute(db);
  }
  await sql`create table positions_default partition of positions_partitioned default`.execute(db);

  // Indexes are built after the copy (faster than maintaining them row by row).
  await sql.raw(`insert into positions_partitioned (${COLUMN_NAMES}) select ${COLUMN_NAMES} from positions`).execute(db);
  await sql`drop table positions`.execute(db);
  await sql`alter table positions_partitioned rename to positions`.execute(db);
  await sql`alter table positions rename constraint positions_partitioned_pkey to positions_pkey`.execute(db);
  await sql`alter sequence positions_id_seq owned by positions.id`.execute(db);
  await sql`create unique index positions_shipment_fix_key on positions (shipment_id, recorded_at) where shipment_id is not null`.execute(db);
  await sql`create unique index positions_unrouted_fix_key on positions (tenant_id, device_id, recorded_at) where shipment_id is null`.execute(db);
  await sql`create index positions_device_time_idx on positions (tenant_id, device_id, recorded_at)`.execute(db);
  // Not unique (it cannot be: no recorded_at): seq is unique per shipment by construction, see above.
  await sql`create index positions_shipment_seq_idx on positions (shipment_id, seq) where shipment_id is not null`.execute(db);
  await sql`create index positions_tenant_time_idx on positions (tenant_id, recorded_at, id)`.execute(db);
  await sql`analyze positions`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await dropAnalyticsViews(db);
  await sql`alter sequence positions_id_seq owned by none`.execute(db);
  await sql.raw(`
    create table positions_unpartitioned (
      id bigint not null default nextval('positions_id_seq'::regclass),
      ${COLUMNS},
      constraint positions_unpartitioned_pkey primary key (id)
    )`).execute(db);
  await sql.raw(`insert into positions_unpartitioned (${COLUMN_NAMES}) select ${COLUMN_NAMES} from positions`).execute(db);
  // Drops every partition with it, the default included.
  await sql`drop table positions`.execute(db);
  await sql`alter table positions_unpartitioned rename to positions`.execute(db);
  await sql`alter table positions rename constraint positions_unpartitioned_pkey to positions_pkey`.execute(db);
  await sql`alter sequence positions_id_seq owned by positions.id`.execute(db);
  await sql`create unique index positions_shipment_fix_key on positions (shipment_id, recorded_at) where shipment_id is not null`.execute(db);
  await sql`create unique index positions_unrouted_fix_key on positions (tenant_id, device_id, recorded_at) where shipment_id is null`.execute(db);
  await sql`create index positions_device_time_idx on positions (tenant_id, device_id, recorded_at)`.execute(db);
  await sql`create unique index positions_shipment_seq_key on positions (shipment_id, seq) where shipment_id is not null`.execute(db);
  await sql`create index positions_tenant_time_idx on positions (tenant_id, recorded_at, id)`.execute(db);
  await sql`analyze positions`.execute(db);
}

// Frozen in time: never edit after it has landed; add a new migration instead.
// The data side: what each export destination already holds (one row per written Hive partition,
// with the high-water mark of the rows it was written from), and the indexes that time-range
// exports and the analytics routes read through.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('export_partitions')
    // The export's output folder (absolute path or URL) and file format: each is its own copy.
    .addColumn('destination', 'text', (c) => c.notNull())
    .addColumn('format', 'text', (c) => c.notNull())
    .addColumn('table_name', 'text', (c) => c.notNull())
    .addColumn('tenant_id', 'uuid', (c) => c.notNull())
    .addColumn('date', 'date', (c) => c.notNull())
    // The partition's rows when written and the latest change among them: a partition is written
    // again only when either differs from what Postgres holds now.
    .addColumn('rows', 'bigint', (c) => c.notNull())
    .addColumn('high_water', 'timestamptz', (c) => c.notNull())
    .addColumn('file', 'text', (c) => c.notNull())
    .addColumn('exported_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('export_partitions_pkey', ['destination', 'format', 'table_name', 'tenant_id', 'date'])
    .execute();

  // Exports and GET /v1/exports/positions read a tenant's fixes by fix time.
  await sql`create index positions_tenant_time_idx on positions (tenant_id, recorded_at, id)`.execute(db);
  await sql`create index eta_predictions_tenant_time_idx on eta_predictions (tenant_id, predicted_at)`.execute(db);
  // GET /v1/analytics/on-time and /dwell: a tenant's stop visits by arrival time, with what the
  // figures read, so a year of visits is one index range scan.
  await sql`create index stops_tenant_arrival_idx on stops (tenant_id, arrived_at) include (shipment_id, name, window_end, departed_at) where arrived_at is not null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index stops_tenant_arrival_idx`.execute(db);
  await sql`drop index eta_predictions_tenant_time_idx`.execute(db);
  await sql`drop index positions_tenant_time_idx`.execute(db);
  await db.schema.dropTable('export_partitions').execute();
}

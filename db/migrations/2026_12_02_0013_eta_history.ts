// Frozen in time: never edit after it has landed; add a new migration instead.
// What each tenant's delivered shipments teach the ETA (domain/eta/history.ts), written by the
// scheduled refresh (workflows/eta-history.ts) and read by the ETA activity: one row per tenant
// for the refresh itself and the drivers' breaks, dwell per facility, and moving driving per
// corridor cell and hour of week (sums, so the estimate is made when it is read).
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('eta_history_refreshes')
    .addColumn('tenant_id', 'uuid', (c) => c.primaryKey().references('tenants.id').onDelete('cascade'))
    // Delivered shipments learned from.
    .addColumn('shipments', 'integer', (c) => c.notNull())
    .addColumn('break_samples', 'integer', (c) => c.notNull())
    .addColumn('break_p50_min', 'double precision', (c) => c.notNull())
    .addColumn('refreshed_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('duration_ms', 'integer', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('eta_facility_dwell')
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    // Stop name (trimmed, lower case) @ location rounded to 0.01°.
    .addColumn('facility_key', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('lat', 'double precision', (c) => c.notNull())
    .addColumn('lon', 'double precision', (c) => c.notNull())
    .addColumn('visits', 'integer', (c) => c.notNull())
    .addColumn('p50_dwell_min', 'double precision', (c) => c.notNull())
    .addColumn('p90_dwell_min', 'double precision', (c) => c.notNull())
    .addColumn('p50_excess_min', 'double precision')
    .addColumn('excess_samples', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('eta_facility_dwell_pkey', ['tenant_id', 'facility_key'])
    .execute();
  await db.schema
    .createTable('eta_corridor_speeds')
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    // `<row>:<column>` of the 0.1° grid (domain/eta/history.ts cellKey).
    .addColumn('cell', 'text', (c) => c.notNull())
    // 0 = Monday 00:00–00:59 UTC … 167.
    .addColumn('hour_of_week', 'smallint', (c) => c.notNull().check(sql`hour_of_week between 0 and 167`))
    .addColumn('moving_min', 'double precision', (c) => c.notNull())
    .addColumn('km', 'double precision', (c) => c.notNull())
    .addColumn('passages', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('eta_corridor_speeds_pkey', ['tenant_id', 'cell', 'hour_of_week'])
    .execute();
  // The refresh reads a tenant's most recently delivered shipments.
  await sql`create index shipments_tenant_delivered_idx on shipments (tenant_id, updated_at desc) where status = 'DELIVERED'`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists shipments_tenant_delivered_idx`.execute(db);
  await db.schema.dropTable('eta_corridor_speeds').execute();
  await db.schema.dropTable('eta_facility_dwell').execute();
  await db.schema.dropTable('eta_history_refreshes').execute();
}

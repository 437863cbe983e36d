// Frozen in time: never edit after it has landed; add a new migration instead.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('tenants')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('api_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id'))
    .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('admin', 'dispatcher', 'viewer', 'device')`))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('secret_hash', 'text', (c) => c.notNull())
    .addColumn('device_id', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_used_at', 'timestamptz')
    .addColumn('revoked_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('api_keys_tenant_idx').on('api_keys').columns(['tenant_id', 'created_at']).execute();

  await db.schema
    .createTable('shipments')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id'))
    .addColumn('reference', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('workflow_id', 'text', (c) => c.notNull().unique())
    .addColumn('request_hash', 'text', (c) => c.notNull())
    .addColumn('carrier_id', 'text')
    .addColumn('vehicle_id', 'text')
    .addColumn('driver_id', 'text')
    .addColumn('device_id', 'text')
    .addColumn('route', 'jsonb')
    .addColumn('thresholds', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('open_anomalies', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'::text[]`))
    .addColumn('anomalies', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('last_position', 'jsonb')
    .addColumn('next_eta', 'timestamptz')
    .addColumn('cancellation', 'jsonb')
    .addColumn('projection_version', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('shipments_tenant_reference_key', ['tenant_id', 'reference'])
    .execute();
  // Cursor pagination walks (created_at desc, id desc) within a tenant.
  await db.schema.createIndex('shipments_tenant_created_idx').on('shipments').columns(['tenant_id', 'created_at desc', 'id desc']).execute();
  await db.schema.createIndex('shipments_tenant_status_idx').on('shipments').columns(['tenant_id', 'status']).execute();
  await db.schema.createIndex('shipments_tenant_device_idx').on('shipments').columns(['tenant_id', 'device_id']).execute();
  await sql`create index shipments_open_anomalies_idx on shipments using gin (open_anomalies)`.execute(db);

  await db.schema
    .createTable('stops')
    .addColumn('shipment_id', 'uuid', (c) => c.notNull().references('shipments.id').onDelete('cascade'))
    .addColumn('sequence', 'integer', (c) => c.notNull())
    .addColumn('tenant_id', 'uuid', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('lat', 'double precision', (c) => c.notNull())
    .addColumn('lon', 'double precision', (c) => c.notNull())
    .addColumn('geofence_radius_m', 'double precision', (c) => c.notNull())
    .addColumn('window_start', 'timestamptz')
    .addColumn('window_end', 'timestamptz')
    .addColumn('planned_dwell_min', 'double precision')
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('PENDING'))
    .addColumn('arrived_at', 'timestamptz')
    .addColumn('departed_at', 'timestamptz')
    .addColumn('eta', 'timestamptz')
    .addPrimaryKeyConstraint('stops_pkey', ['shipment_id', 'sequence'])
    .execute();

  await db.schema
    .createTable('positions')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('tenant_id', 'uuid', (c) => c.notNull())
    .addColumn('shipment_id', 'uuid')
    .addColumn('device_id', 'text')
    .addColumn('recorded_at', 'timestamptz', (c) => c.notNull())
    .addColumn('received_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('lat', 'double precision', (c) => c.notNull())
    .addColumn('lon', 'double precision', (c) => c.notNull())
    .addColumn('speed_kmh', 'double precision')
    .addColumn('heading_deg', 'double precision')
    .addColumn('accuracy_m', 'double precision')
    .addColumn('temperature_c', 'double precision')
    .addColumn('signalled_at', 'timestamptz')
    .execute();
  // A fix is stored once per shipment (or once per device when it belongs to no shipment),
  // however often it is sent; these unique indexes are what makes repeats harmless.
  await sql`create unique index positions_shipment_fix_key on positions (shipment_id, recorded_at) where shipment_id is not null`.execute(db);
  await sql`create unique index positions_unrouted_fix_key on positions (tenant_id, device_id, recorded_at) where shipment_id is null`.execute(db);
  await db.schema.createIndex('positions_device_time_idx').on('positions').columns(['tenant_id', 'device_id', 'recorded_at']).execute();
  // The signal outbox: only fixes not yet delivered to their workflow.
  await sql`create index positions_unsignalled_idx on positions (shipment_id, id) where signalled_at is null and shipment_id is not null`.execute(db);

  await db.schema
    .createTable('shipment_events')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('tenant_id', 'uuid', (c) => c.notNull())
    .addColumn('shipment_id', 'uuid', (c) => c.notNull())
    .addColumn('event_key', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('occurred_at', 'timestamptz', (c) => c.notNull())
    .addColumn('stop_sequence', 'integer')
    .addColumn('data', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('actor', 'text')
    .addColumn('inserted_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('shipment_events_key', ['shipment_id', 'event_key'])
    .execute();
  await db.schema.createIndex('shipment_events_timeline_idx').on('shipment_events').columns(['shipment_id', 'occurred_at', 'id']).execute();
  await db.schema.createIndex('shipment_events_tenant_type_idx').on('shipment_events').columns(['tenant_id', 'type', 'occurred_at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['shipment_events', 'positions', 'stops', 'shipments', 'api_keys', 'tenants']) {
    await db.schema.dropTable(table).execute();
  }
}

// Frozen in time: never edit after it has landed; add a new migration instead.
// Indexes behind fleet filters, delete-in-use checks, device key lookups and the audit log's pages.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('drivers_tenant_carrier_idx').on('drivers').columns(['tenant_id', 'carrier_id']).execute();
  await db.schema.createIndex('vehicles_tenant_carrier_idx').on('vehicles').columns(['tenant_id', 'carrier_id']).execute();
  await db.schema.createIndex('devices_tenant_vehicle_idx').on('devices').columns(['tenant_id', 'vehicle_id']).execute();
  await db.schema.createIndex('shipments_tenant_carrier_idx').on('shipments').columns(['tenant_id', 'carrier_id']).execute();
  await db.schema.createIndex('shipments_tenant_vehicle_idx').on('shipments').columns(['tenant_id', 'vehicle_id']).execute();
  await db.schema.createIndex('shipments_tenant_driver_idx').on('shipments').columns(['tenant_id', 'driver_id']).execute();
  await sql`create index api_keys_tenant_device_idx on api_keys (tenant_id, device_id) where device_id is not null`.execute(db);
  await db.schema.createIndex('audit_events_tenant_page_idx').on('audit_events').columns(['tenant_id', 'occurred_at desc', 'id desc']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const index of [
    'audit_events_tenant_page_idx',
    'api_keys_tenant_device_idx',
    'shipments_tenant_driver_idx',
    'shipments_tenant_vehicle_idx',
    'shipments_tenant_carrier_idx',
    'devices_tenant_vehicle_idx',
    'vehicles_tenant_carrier_idx',
    'drivers_tenant_carrier_idx',
  ]) {
    await db.schema.dropIndex(index).execute();
  }
}

// Frozen in time: never edit after it has landed; add a new migration instead.
// Fleet ids were once stored as the client spelled them; the API now lower-cases UUIDs at the edge.
// Lower-case what is already stored so routing by device and delete-in-use checks match every row.
import { sql, type Kysely } from 'kysely';

const UUID = `'^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$'`;

export async function up(db: Kysely<any>): Promise<void> {
  for (const column of ['carrier_id', 'vehicle_id', 'driver_id', 'device_id']) {
    await sql`update shipments set ${sql.ref(column)} = lower(${sql.ref(column)}) where ${sql.ref(column)} ~ ${sql.raw(UUID)} and ${sql.ref(column)} <> lower(${sql.ref(column)})`.execute(db);
  }
  await sql`update api_keys set device_id = lower(device_id) where device_id ~ ${sql.raw(UUID)} and device_id <> lower(device_id)`.execute(db);
  // A device's unrouted fix is unique per spelling: keep the upper-case row where both exist.
  await sql`update positions set device_id = lower(device_id) where device_id ~ ${sql.raw(UUID)} and device_id <> lower(device_id)
    and (shipment_id is not null or not exists (select 1 from positions same where same.shipment_id is null and same.tenant_id = positions.tenant_id
      and same.device_id = lower(positions.device_id) and same.recorded_at = positions.recorded_at))`.execute(db);
}

export async function down(): Promise<void> {
  // The original spellings are not kept; lower case is equally valid for the older code.
}

// Frozen in time: never edit after it has landed; add a new migration instead.
// Deferred wake-ups: the shipment workflow states a calm zone (a disc around the truck's last
// position, cut down to a band along the route it holds, in which no fix can decide an arrival,
// a departure or an off-route episode; the band's path is [lon, lat, lon, lat, ...]); fixes
// stored inside it wake nothing at once, and the ingest edge delivers them in short-deferred
// batches. `deferred_since` is when the oldest fix that woke nothing was stored.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('shipment_ingest')
    .addColumn('calm_lat', 'double precision')
    .addColumn('calm_lon', 'double precision')
    .addColumn('calm_radius_m', 'double precision')
    .addColumn('calm_path', sql`double precision[]`)
    .addColumn('calm_path_width_m', 'double precision')
    .addColumn('deferred_since', 'timestamptz')
    .execute();
  await sql`create index shipment_ingest_deferred_idx on shipment_ingest (deferred_since) where deferred_since is not null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index shipment_ingest_deferred_idx`.execute(db);
  await db.schema.alterTable('shipment_ingest').dropColumn('calm_lat').dropColumn('calm_lon').dropColumn('calm_radius_m').dropColumn('calm_path').dropColumn('calm_path_width_m').dropColumn('deferred_since').execute();
}

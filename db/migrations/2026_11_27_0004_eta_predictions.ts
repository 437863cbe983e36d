// Frozen in time: never edit after it has landed; add a new migration instead.
// Every ETA prediction (model and baseline) so accuracy can be measured, and stored anomaly
// threshold defaults per tenant.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('eta_predictions')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id'))
    .addColumn('shipment_id', 'uuid', (c) => c.notNull().references('shipments.id').onDelete('cascade'))
    .addColumn('stop_sequence', 'integer', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    // Fix time of the position the prediction was made from.
    .addColumn('predicted_at', 'timestamptz', (c) => c.notNull())
    .addColumn('predicted_arrival', 'timestamptz', (c) => c.notNull())
    .addColumn('horizon_min', 'double precision', (c) => c.notNull())
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('speed_kmh', 'double precision', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    // A retried activity writes nothing twice.
    .addUniqueConstraint('eta_predictions_prediction_key', ['shipment_id', 'stop_sequence', 'source', 'predicted_at'])
    .execute();
  await db.schema.createIndex('eta_predictions_tenant_idx').on('eta_predictions').columns(['tenant_id', 'shipment_id']).execute();

  await db.schema.alterTable('tenants').addColumn('anomaly_defaults', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`)).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('tenants').dropColumn('anomaly_defaults').execute();
  await db.schema.dropTable('eta_predictions').execute();
}

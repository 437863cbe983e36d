// Frozen in time: never edit after it has landed; add a new migration instead.
// A stop's own arrival confirmation rules (dwell, standing still, fix count); null: the shipment's.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('stops').addColumn('arrival_confirmation', 'jsonb').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('stops').dropColumn('arrival_confirmation').execute();
}

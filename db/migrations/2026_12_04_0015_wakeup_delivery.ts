// Frozen in time: never edit after it has landed; add a new migration instead.
// Wake-up delivery: the API records how far the wake-ups it signalled reach (`wake_delivered_seq`),
// so the sweeper re-sends at once only a wake-up whose signal may never have left (an API that
// died after its commit, a signal that failed), not one Temporal already holds for a workflow
// that is slow to read it.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('shipment_ingest').addColumn('wake_delivered_seq', 'bigint', (col) => col.notNull().defaultTo(0)).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('shipment_ingest').dropColumn('wake_delivered_seq').execute();
}

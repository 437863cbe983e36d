// Frozen in time: never edit after it has landed; add a new migration instead.
// Fixes leave the signals: each routed fix gets a per-shipment sequence, assigned under the
// shipment's ingest row lock (so sequences commit in order), and the ingest row says what is
// stored, what the workflow has loaded and which wake-up is outstanding. Replaces the
// per-fix `signalled_at` outbox mark.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('shipment_ingest')
    .addColumn('shipment_id', 'uuid', (c) => c.primaryKey().references('shipments.id').onDelete('cascade'))
    .addColumn('tenant_id', 'uuid', (c) => c.notNull())
    // Highest sequence handed out to a fix of the shipment (duplicates leave gaps).
    .addColumn('stored_seq', 'bigint', (c) => c.notNull().defaultTo(0))
    // Highest sequence the workflow has read.
    .addColumn('loaded_seq', 'bigint', (c) => c.notNull().defaultTo(0))
    // stored_seq when the last wake-up was decided: outstanding while above loaded_seq.
    .addColumn('wake_seq', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('wake_sent_at', 'timestamptz')
    // Re-sends of an outstanding wake-up by the sweeper, for its back-off.
    .addColumn('wake_attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await sql`create index shipment_ingest_outstanding_idx on shipment_ingest (wake_sent_at) where wake_seq > loaded_seq`.execute(db);

  await db.schema.alterTable('positions').addColumn('seq', 'bigint').execute();

  // Existing fixes get sequences in the order they were stored; what v1 workflows already
  // received (signalled) counts as loaded, up to the first fix still waiting.
  await sql`
    update positions p set seq = numbered.n
    from (select id, row_number() over (partition by shipment_id order by id) as n from positions where shipment_id is not null) numbered
    where p.id = numbered.id`.execute(db);
  await sql`
    insert into shipment_ingest (shipment_id, tenant_id, stored_seq, loaded_seq, wake_seq)
    select s.id, s.tenant_id, coalesce(max(p.seq), 0),
           coalesce(min(p.seq) filter (where p.signalled_at is null) - 1, max(p.seq), 0),
           coalesce(min(p.seq) filter (where p.signalled_at is null) - 1, max(p.seq), 0)
    from shipments s left join positions p on p.shipment_id = s.id
    group by s.id, s.tenant_id`.execute(db);

  await sql`create unique index positions_shipment_seq_key on positions (shipment_id, seq) where shipment_id is not null`.execute(db);
  await sql`drop index positions_unsignalled_idx`.execute(db);
  await db.schema.alterTable('positions').dropColumn('signalled_at').execute();

  // Milestones as the workflow decides them now: re-evaluation corrects and retracts them, so the
  // projection keeps the current list instead of reading it back from the timeline.
  await db.schema.alterTable('shipments').addColumn('milestones', 'jsonb').execute();
  // Versions now follow workflow time (epoch ms), so they keep rising across a reset of the workflow.
  await sql`alter table shipments alter column projection_version type bigint`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('shipments').dropColumn('milestones').execute();
  await sql`alter table shipments alter column projection_version type integer using least(projection_version, 2147483647)::integer`.execute(db);
  await db.schema.alterTable('positions').addColumn('signalled_at', 'timestamptz').execute();
  await sql`update positions set signalled_at = received_at where shipment_id is not null`.execute(db);
  await sql`create index positions_unsignalled_idx on positions (shipment_id, id) where signalled_at is null and shipment_id is not null`.execute(db);
  await sql`drop index positions_shipment_seq_key`.execute(db);
  await db.schema.alterTable('positions').dropColumn('seq').execute();
  await db.schema.dropTable('shipment_ingest').execute();
}

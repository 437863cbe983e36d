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
    // The partition's rows when written, the latest change among them and, for rows derived from
    // mutable ones (stop visits), a checksum of their values: a partition is written again only
    // when one of them differs from what Postgres holds now.
    .addColumn('rows', 'bigint', (c) => c.notNull())
    .addColumn('high_water', 'timestamptz', (c) => c.notNull())
    .addColumn('checksum', 'text', (c) => c.notNull())
    .addColumn('file', 'text', (c) => c.notNull())
    .addColumn('exported_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('export_partitions_pkey', ['destination', 'format', 'table_name', 'tenant_id', 'date'])
    .execute();

  // Exports and GET /v1/exports/positions read a tenant's fixes by fix time.
  await sql`create index positions_tenant_time_idx on positions (tenant_id, recorded_at, id)`.execute(db);
  await sql`create index eta_predictions_tenant_time_idx on eta_predictions (tenant_id, predicted_at)`.execute(db);
  // GET /v1/analytics/on-time and /dwell read stop visits, one narrow row per stop reached with
  // the shipment's carrier, so a year of them is aggregated without joining the (wide) shipments.
  // Kept by triggers in the transaction of every write to stops or to a shipment's carrier: the
  // workflow's projection writes, assignment changes, anything else.
  await db.schema
    .createTable('stop_visit_facts')
    .addColumn('shipment_id', 'uuid', (c) => c.notNull())
    .addColumn('stop_sequence', 'integer', (c) => c.notNull())
    .addColumn('tenant_id', 'uuid', (c) => c.notNull())
    .addColumn('carrier_id', 'text')
    .addColumn('facility', 'text', (c) => c.notNull())
    .addColumn('arrived_at', 'timestamptz', (c) => c.notNull())
    .addColumn('departed_at', 'timestamptz')
    .addColumn('window_end', 'timestamptz')
    .addPrimaryKeyConstraint('stop_visit_facts_pkey', ['shipment_id', 'stop_sequence'])
    .addForeignKeyConstraint('stop_visit_facts_stop_fkey', ['shipment_id', 'stop_sequence'], 'stops', ['shipment_id', 'sequence'], (fk) => fk.onDelete('cascade'))
    .execute();
  await sql`create index stop_visit_facts_tenant_arrival_idx on stop_visit_facts (tenant_id, arrived_at) include (carrier_id, facility, departed_at, window_end)`.execute(db);
  await sql`
    create function stop_visit_facts_from_stop() returns trigger language plpgsql as $$
    begin
      if new.arrived_at is null then
        delete from stop_visit_facts where shipment_id = new.shipment_id and stop_sequence = new.sequence;
      else
        insert into stop_visit_facts (shipment_id, stop_sequence, tenant_id, carrier_id, facility, arrived_at, departed_at, window_end)
        select new.shipment_id, new.sequence, new.tenant_id, s.carrier_id, new.name, new.arrived_at, new.departed_at, new.window_end
        from shipments s where s.id = new.shipment_id
        on conflict (shipment_id, stop_sequence) do update
          set carrier_id = excluded.carrier_id, facility = excluded.facility, arrived_at = excluded.arrived_at,
              departed_at = excluded.departed_at, window_end = excluded.window_end;
      end if;
      return null;
    end $$`.execute(db);
  // Projection writes set every stop's columns each time: only a changed visit touches the facts.
  await sql`
    create trigger stops_visit_facts_insert after insert on stops for each row when (new.arrived_at is not null)
    execute function stop_visit_facts_from_stop()`.execute(db);
  await sql`
    create trigger stops_visit_facts_update after update on stops for each row
    when (old.arrived_at is distinct from new.arrived_at or old.departed_at is distinct from new.departed_at
          or old.window_end is distinct from new.window_end or old.name is distinct from new.name)
    execute function stop_visit_facts_from_stop()`.execute(db);
  await sql`
    create function stop_visit_facts_from_shipment() returns trigger language plpgsql as $$
    begin
      update stop_visit_facts set carrier_id = new.carrier_id where shipment_id = new.id;
      return null;
    end $$`.execute(db);
  await sql`
    create trigger shipments_visit_facts after update of carrier_id on shipments for each row
    when (old.carrier_id is distinct from new.carrier_id)
    execute function stop_visit_facts_from_shipment()`.execute(db);
  await sql`
    insert into stop_visit_facts (shipment_id, stop_sequence, tenant_id, carrier_id, facility, arrived_at, departed_at, window_end)
    select st.shipment_id, st.sequence, st.tenant_id, s.carrier_id, st.name, st.arrived_at, st.departed_at, st.window_end
    from stops st join shipments s on s.id = st.shipment_id
    where st.arrived_at is not null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger shipments_visit_facts on shipments`.execute(db);
  await sql`drop trigger stops_visit_facts_update on stops`.execute(db);
  await sql`drop trigger stops_visit_facts_insert on stops`.execute(db);
  await sql`drop function stop_visit_facts_from_shipment()`.execute(db);
  await sql`drop function stop_visit_facts_from_stop()`.execute(db);
  await db.schema.dropTable('stop_visit_facts').execute();
  await sql`drop index eta_predictions_tenant_time_idx`.execute(db);
  await sql`drop index positions_tenant_time_idx`.execute(db);
  await db.schema.dropTable('export_partitions').execute();
}

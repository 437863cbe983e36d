// Frozen in time: never edit after it has landed; add a new migration instead.
// Events out: every shipment_events row gets a per-tenant feed sequence assigned at commit (under
// the tenant's head row lock, so sequences become visible in order and a cursor never skips a late
// commit), and webhook endpoints with their delivery attempts.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('tenant_event_heads')
    .addColumn('tenant_id', 'uuid', (c) => c.primaryKey().references('tenants.id').onDelete('cascade'))
    // Highest feed sequence handed out in the tenant; the row lock orders the commits.
    .addColumn('last_seq', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();

  await db.schema
    .createTable('tenant_event_feed')
    .addColumn('tenant_id', 'uuid', (c) => c.notNull())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    // The event's public id (webhook-id of its deliveries).
    .addColumn('id', 'uuid', (c) => c.notNull().unique().defaultTo(sql`gen_random_uuid()`))
    .addColumn('event_row_id', 'bigint', (c) => c.notNull().unique().references('shipment_events.id').onDelete('cascade'))
    .addColumn('shipment_id', 'uuid', (c) => c.notNull())
    // The catalogue type (e.g. stop.arrived), what `types=` filters on.
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('committed_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('tenant_event_feed_pkey', ['tenant_id', 'seq'])
    .execute();
  await db.schema.createIndex('tenant_event_feed_type_idx').on('tenant_event_feed').columns(['tenant_id', 'type', 'seq']).execute();
  await db.schema.createIndex('tenant_event_feed_shipment_idx').on('tenant_event_feed').columns(['tenant_id', 'shipment_id', 'seq']).execute();

  // Existing events join the feed in the order they were stored.
  await sql`
    insert into tenant_event_feed (tenant_id, seq, event_row_id, shipment_id, type, committed_at)
    select tenant_id, row_number() over (partition by tenant_id order by id), id, shipment_id,
      case type
        when 'SHIPMENT_CREATED' then 'shipment.created'
        when 'STATUS_CHANGED' then 'shipment.status_changed'
        when 'DELIVERED' then 'shipment.delivered'
        when 'CANCELLED' then 'shipment.cancelled'
        when 'ARRIVED' then 'stop.arrived'
        when 'DEPARTED' then 'stop.departed'
        when 'GEOFENCE_PASSED' then 'stop.passed'
        when 'MILESTONE_RETRACTED' then 'stop.milestone_retracted'
        when 'ANOMALY_OPENED' then 'anomaly.opened'
        when 'ANOMALY_RESOLVED' then 'anomaly.resolved'
        when 'ANOMALY_RETRACTED' then 'anomaly.retracted'
        when 'ETA_CHANGED' then 'eta.changed'
        when 'ASSIGNMENT_CHANGED' then 'assignment.changed'
        else 'delivery_event.recorded'
      end,
      inserted_at
    from shipment_events`.execute(db);
  await sql`
    insert into tenant_event_heads (tenant_id, last_seq)
    select t.id, coalesce((select max(seq) from tenant_event_feed f where f.tenant_id = t.id), 0) from tenants t`.execute(db);

  await db.schema
    .createTable('webhook_endpoints')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    // Catalogue types it wants; empty: every type.
    .addColumn('event_types', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .addColumn('enabled', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('disabled_reason', 'text')
    .addColumn('disabled_at', 'timestamptz')
    // Signing secrets (whsec_…): the current one and, for a day after a rotation, the previous one.
    .addColumn('secret', 'text', (c) => c.notNull())
    .addColumn('previous_secret', 'text')
    .addColumn('previous_secret_expires_at', 'timestamptz')
    // Feed sequence delivered up to; moved back by a replay.
    .addColumn('cursor_seq', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('webhook_endpoints_tenant_idx').on('webhook_endpoints').columns(['tenant_id', 'created_at']).execute();

  await db.schema
    .createTable('webhook_attempts')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('tenant_id', 'uuid', (c) => c.notNull())
    .addColumn('endpoint_id', 'uuid', (c) => c.notNull().references('webhook_endpoints.id').onDelete('cascade'))
    // The webhook-id sent: the event id, or a ping's own id.
    .addColumn('webhook_id', 'text', (c) => c.notNull())
    .addColumn('event_type', 'text', (c) => c.notNull())
    .addColumn('feed_seq', 'bigint')
    .addColumn('attempted_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('status_code', 'integer')
    .addColumn('latency_ms', 'integer', (c) => c.notNull())
    .addColumn('succeeded', 'boolean', (c) => c.notNull())
    .addColumn('error', 'text')
    .execute();
  await db.schema.createIndex('webhook_attempts_endpoint_idx').on('webhook_attempts').columns(['endpoint_id', 'id']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('webhook_attempts').execute();
  await db.schema.dropTable('webhook_endpoints').execute();
  await db.schema.dropTable('tenant_event_feed').execute();
  await db.schema.dropTable('tenant_event_heads').execute();
}

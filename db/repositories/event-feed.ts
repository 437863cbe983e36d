// The tenant's change feed. Every shipment_events insert adds its feed rows in the same
// transaction, numbered under the tenant's head row lock: the lock is held until commit, so a
// sequence becomes visible only after every lower one has, and a reader that has seen sequence N
// has seen everything below it. A cursor is just that sequence.
import { sql, type Kysely, type Transaction } from 'kysely';
import { catalogueType, toCatalogueEvent, type CatalogueEvent, type EventType } from '../../domain/events/catalogue.js';
import type { Database } from '../schema.js';
import { microsText } from './pagination.js';

/** Numbers freshly inserted timeline rows (in id order) into the tenant's feed; call last in the transaction. */
export async function appendToFeed(trx: Transaction<Database>, tenantId: string, inserted: readonly { id: string; shipment_id: string; type: string }[]): Promise<void> {
  if (inserted.length === 0) return;
  const rows = [...inserted].sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
  const head = await trx
    .insertInto('tenant_event_heads')
    .values({ tenant_id: tenantId, last_seq: rows.length })
    .onConflict((oc) => oc.column('tenant_id').doUpdateSet({ last_seq: sql`tenant_event_heads.last_seq + excluded.last_seq` }))
    .returning('last_seq')
    .executeTakeFirstOrThrow();
  const first = BigInt(head.last_seq) - BigInt(rows.length) + 1n;
  await trx
    .insertInto('tenant_event_feed')
    .values(rows.map((row, i) => ({ tenant_id: tenantId, seq: String(first + BigInt(i)), event_row_id: row.id, shipment_id: row.shipment_id, type: catalogueType(row.type) })))
    .execute();
}

/** The tenant's highest committed sequence (0 when it has no events). */
export async function feedHead(db: Kysely<Database>, tenantId: string): Promise<string> {
  const row = await db.selectFrom('tenant_event_heads').select('last_seq').where('tenant_id', '=', tenantId).executeTakeFirst();
  return row ? String(row.last_seq) : '0';
}

/** The sequence just before the first event recorded at or after `from`: a replay's starting cursor. */
export async function feedSeqBefore(db: Kysely<Database>, tenantId: string, from: Date): Promise<string> {
  const row = await db
    .selectFrom('tenant_event_feed')
    .select((eb) => eb.fn.min('seq').as('seq'))
    .where('tenant_id', '=', tenantId)
    .where('committed_at', '>=', from)
    .executeTakeFirst();
  return row?.seq == null ? await feedHead(db, tenantId) : String(BigInt(row.seq) - 1n);
}

export interface FeedQuery {
  afterSeq: string;
  limit: number;
  /** Empty or absent: every type. */
  types?: readonly EventType[];
  shipmentId?: string;
}

/** Events after the cursor in commit order, as the catalogue shapes them. */
export async function readFeed(db: Kysely<Database>, tenantId: string, query: FeedQuery): Promise<CatalogueEvent[]> {
  let q = db
    .selectFrom('tenant_event_feed as f')
    .innerJoin('shipment_events as e', 'e.id', 'f.event_row_id')
    .innerJoin('shipments as s', 's.id', 'f.shipment_id')
    .leftJoin('shipment_events as superseded', (join) =>
      join.onRef('superseded.shipment_id', '=', 'e.shipment_id').on(sql`superseded.event_key`, '=', sql`e.data->>'supersedes'`),
    )
    .leftJoin('tenant_event_feed as sf', 'sf.event_row_id', 'superseded.id')
    .select([
      'f.id',
      'f.seq',
      'f.tenant_id',
      'f.shipment_id',
      's.reference',
      'e.type',
      'e.stop_sequence',
      'e.data',
      'e.actor',
      'sf.id as supersedes_event_id',
      microsText('e.occurred_at').as('occurred_at'),
      microsText('e.inserted_at').as('recorded_at'),
    ])
    .where('f.tenant_id', '=', tenantId)
    .where('f.seq', '>', query.afterSeq);
  if (query.types && query.types.length > 0) q = q.where('f.type', 'in', [...query.types]);
  if (query.shipmentId) q = q.where('f.shipment_id', '=', query.shipmentId);
  const rows = await q.orderBy('f.seq').limit(query.limit).execute();
  return rows.map((row) =>
    toCatalogueEvent({
      id: row.id,
      seq: String(row.seq),
      tenantId: row.tenant_id,
      shipmentId: row.shipment_id,
      shipmentReference: row.reference,
      timelineType: row.type,
      occurredAt: row.occurred_at,
      recordedAt: row.recorded_at,
      stopSequence: row.stop_sequence,
      data: row.data,
      actor: row.actor,
      supersedesEventId: row.supersedes_event_id,
    }),
  );
}

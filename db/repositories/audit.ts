// The tenant's audit log: who (which API key) changed keys or the fleet, and how.
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { AuditEventsTable, Database } from '../schema.js';
import { isBigintId, keysetCursor, microsText } from './pagination.js';

const AUDIT_CURSOR = keysetCursor('audit_events', isBigintId);

export type AuditEventRow = Selectable<AuditEventsTable>;

export interface AuditEntry {
  tenantId: string;
  /** Null when done outside the API (the admin CLI). */
  actorKeyId: string | null;
  /** `<entity>.<verb>`, e.g. `carrier.created`, `api_key.revoked`. */
  action: string;
  entityType: string;
  entityId: string;
  data?: Record<string, unknown>;
}

/** Written in the same transaction as the change it records. */
export async function recordAudit(db: Kysely<Database> | Transaction<Database>, entry: AuditEntry): Promise<void> {
  await db
    .insertInto('audit_events')
    .values({
      tenant_id: entry.tenantId,
      actor_key_id: entry.actorKeyId,
      action: entry.action,
      entity_type: entry.entityType,
      entity_id: entry.entityId,
      data: entry.data ?? {},
    })
    .execute();
}

export interface AuditFilters {
  action?: string;
  entityType?: string;
  entityId?: string;
  actorKeyId?: string;
}

/** Newest first, keyset-paginated on (occurred_at desc, id desc). Throws InvalidCursorError. */
export async function listAuditEvents(
  db: Kysely<Database>,
  tenantId: string,
  filters: AuditFilters,
  page: { limit: number; cursor?: string },
): Promise<{ items: AuditEventRow[]; nextCursor: string | null }> {
  let query = db.selectFrom('audit_events').selectAll().select(microsText('occurred_at').as('cursor_at')).where('tenant_id', '=', tenantId);
  if (filters.action) query = query.where('action', '=', filters.action);
  if (filters.entityType) query = query.where('entity_type', '=', filters.entityType);
  if (filters.entityId) query = query.where('entity_id', '=', filters.entityId);
  if (filters.actorKeyId) query = query.where('actor_key_id', '=', filters.actorKeyId);
  if (page.cursor) {
    const key = AUDIT_CURSOR.decode(page.cursor);
    query = query.where(sql<boolean>`(occurred_at, id) < (${key.at}::timestamptz, ${key.id}::bigint)`);
  }
  const rows = await query.orderBy('occurred_at', 'desc').orderBy('id', 'desc').limit(page.limit + 1).execute();
  const { items, nextCursor } = AUDIT_CURSOR.page(rows, page.limit, (r) => ({ at: r.cursor_at, id: r.id }));
  return { items: items.map(({ cursor_at: _cursor, ...row }) => row), nextCursor };
}

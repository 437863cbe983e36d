// Webhook endpoints (tenant-scoped like every lookup: another tenant's id is simply not found) and
// their delivery attempts. The cursor is the feed sequence delivered up to: the delivery activity
// moves it forward only from the value it read, so a replay that moved it back meanwhile wins.
import type { Kysely, Updateable } from 'kysely';
import type { Database, WebhookAttemptRow, WebhookEndpointRow, WebhookEndpointsTable } from '../schema.js';
import { uuidOrNil } from './pagination.js';

const FOREIGN_KEY_VIOLATION = '23503';

export async function insertWebhookEndpoint(db: Kysely<Database>, row: Omit<WebhookEndpointRow, 'created_at' | 'updated_at' | 'disabled_reason' | 'disabled_at' | 'previous_secret' | 'previous_secret_expires_at'>): Promise<WebhookEndpointRow> {
  return db.insertInto('webhook_endpoints').values({ ...row, updated_at: new Date() }).returningAll().executeTakeFirstOrThrow();
}

export async function findWebhookEndpoint(db: Kysely<Database>, tenantId: string, id: string): Promise<WebhookEndpointRow | undefined> {
  return db.selectFrom('webhook_endpoints').selectAll().where('tenant_id', '=', tenantId).where('id', '=', uuidOrNil(id)).executeTakeFirst();
}

export async function listWebhookEndpoints(db: Kysely<Database>, tenantId: string): Promise<WebhookEndpointRow[]> {
  return db.selectFrom('webhook_endpoints').selectAll().where('tenant_id', '=', tenantId).orderBy('created_at').orderBy('id').execute();
}

export async function updateWebhookEndpoint(db: Kysely<Database>, tenantId: string, id: string, changes: Updateable<WebhookEndpointsTable>): Promise<WebhookEndpointRow | undefined> {
  return db
    .updateTable('webhook_endpoints')
    .set({ ...changes, updated_at: new Date() })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', uuidOrNil(id))
    .returningAll()
    .executeTakeFirst();
}

export async function deleteWebhookEndpoint(db: Kysely<Database>, tenantId: string, id: string): Promise<boolean> {
  const result = await db.deleteFrom('webhook_endpoints').where('tenant_id', '=', tenantId).where('id', '=', uuidOrNil(id)).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/** Moves the cursor forward from `from` to `to`; false when someone (a replay) moved it meanwhile. */
export async function advanceWebhookCursor(db: Kysely<Database>, id: string, from: string, to: string): Promise<boolean> {
  const result = await db.updateTable('webhook_endpoints').set({ cursor_seq: to }).where('id', '=', id).where('cursor_seq', '=', from).executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

export async function disableWebhookEndpoint(db: Kysely<Database>, id: string, reason: string): Promise<void> {
  await db.updateTable('webhook_endpoints').set({ enabled: false, disabled_reason: reason, disabled_at: new Date(), updated_at: new Date() }).where('id', '=', id).where('enabled', '=', true).execute();
}

/** The secrets to sign with now: the current one and the previous one until it expires. */
export function signingSecrets(row: Pick<WebhookEndpointRow, 'secret' | 'previous_secret' | 'previous_secret_expires_at'>, now = new Date()): string[] {
  const previousValid = row.previous_secret && row.previous_secret_expires_at && row.previous_secret_expires_at > now;
  return previousValid ? [row.secret, row.previous_secret!] : [row.secret];
}

export interface NewAttempt {
  tenant_id: string;
  endpoint_id: string;
  webhook_id: string;
  event_type: string;
  feed_seq: string | null;
  status_code: number | null;
  latency_ms: number;
  succeeded: boolean;
  error: string | null;
}

/** Undefined when the endpoint was deleted while the request was in flight (its attempts go with it). */
export async function recordWebhookAttempt(db: Kysely<Database>, attempt: NewAttempt): Promise<WebhookAttemptRow | undefined> {
  try {
    return await db.insertInto('webhook_attempts').values(attempt).returningAll().executeTakeFirstOrThrow();
  } catch (error) {
    if ((error as { code?: string }).code === FOREIGN_KEY_VIOLATION) return undefined;
    throw error;
  }
}

/** Newest first; `beforeId` pages back. */
export async function listWebhookAttempts(db: Kysely<Database>, endpointId: string, limit: number, beforeId?: string): Promise<WebhookAttemptRow[]> {
  let q = db.selectFrom('webhook_attempts').selectAll().where('endpoint_id', '=', endpointId);
  if (beforeId) q = q.where('id', '<', beforeId);
  return q.orderBy('id', 'desc').limit(limit).execute();
}

// Tenants and their API keys. Only the hash of a key's secret is ever stored.
import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { ApiKeyRole, ApiKeyRow, Database } from '../schema.js';
import type { ShipmentThresholds } from '../../domain/types.js';
import { keysetCursor, microsText } from './pagination.js';

type Executor = Kysely<Database> | Transaction<Database>;

/** Postgres NOTIFY channel carrying the id of each revoked key, so every API process evicts it. */
export const API_KEY_REVOKED_CHANNEL = 'api_key_revoked';
export const API_KEY_ID_PATTERN = /^[0-9a-f]{24}$/;
const API_KEYS_CURSOR = keysetCursor('api_keys', (id) => API_KEY_ID_PATTERN.test(id));

export async function createTenant(db: Kysely<Database>, input: { name: string }): Promise<{ id: string; name: string }> {
  const id = randomUUID();
  await db.insertInto('tenants').values({ id, name: input.name }).execute();
  return { id, name: input.name };
}

/** Creates the tenant with this id unless it already exists; true when it was created now. */
export async function ensureTenant(db: Kysely<Database>, input: { id: string; name: string }): Promise<boolean> {
  const inserted = await db.insertInto('tenants').values(input).onConflict((oc) => oc.column('id').doNothing()).returning('id').executeTakeFirst();
  return inserted !== undefined;
}

/** The tenant's stored anomaly thresholds (empty when it keeps the built-in defaults). */
export async function findTenantAnomalyDefaults(db: Kysely<Database>, tenantId: string): Promise<ShipmentThresholds> {
  const row = await db.selectFrom('tenants').select('anomaly_defaults').where('id', '=', tenantId).executeTakeFirst();
  return row?.anomaly_defaults ?? {};
}

export async function tenantExists(db: Kysely<Database>, tenantId: string): Promise<boolean> {
  const row = await db.selectFrom('tenants').select('id').where('id', '=', tenantId).executeTakeFirst();
  return row !== undefined;
}

export interface NewApiKey {
  id: string;
  tenantId: string;
  role: ApiKeyRole;
  name: string;
  secretHash: string;
  deviceId?: string;
  /** The admin key that issued it; absent for keys made by the admin CLI. */
  createdByKeyId?: string;
}

export async function insertApiKey(db: Executor, key: NewApiKey): Promise<ApiKeyRow> {
  return db
    .insertInto('api_keys')
    .values({
      id: key.id,
      tenant_id: key.tenantId,
      role: key.role,
      name: key.name,
      secret_hash: key.secretHash,
      device_id: key.deviceId ?? null,
      created_by_key_id: key.createdByKeyId ?? null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Tenant-scoped; an unknown or foreign key id runs the same single query. */
export async function findTenantApiKey(db: Executor, tenantId: string, keyId: string): Promise<ApiKeyRow | undefined> {
  return db.selectFrom('api_keys').selectAll().where('id', '=', keyId).where('tenant_id', '=', tenantId).executeTakeFirst();
}

/** Newest first, keyset-paginated on (created_at desc, id desc). Throws InvalidCursorError. */
export async function listApiKeys(
  db: Kysely<Database>,
  tenantId: string,
  filters: { role?: ApiKeyRole; deviceId?: string; includeRevoked: boolean },
  page: { limit: number; cursor?: string },
): Promise<{ items: ApiKeyRow[]; nextCursor: string | null }> {
  let query = db.selectFrom('api_keys').selectAll().select(microsText('created_at').as('cursor_at')).where('tenant_id', '=', tenantId);
  if (filters.role) query = query.where('role', '=', filters.role);
  if (filters.deviceId) query = query.where('device_id', '=', filters.deviceId);
  if (!filters.includeRevoked) query = query.where('revoked_at', 'is', null);
  if (page.cursor) {
    const key = API_KEYS_CURSOR.decode(page.cursor);
    query = query.where(sql<boolean>`(created_at, id) < (${key.at}::timestamptz, ${key.id})`);
  }
  const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(page.limit + 1).execute();
  const { items, nextCursor } = API_KEYS_CURSOR.page(rows, page.limit, (r) => ({ at: r.cursor_at, id: r.id }));
  return { items: items.map(({ cursor_at: _cursor, ...row }) => row), nextCursor };
}

/** Records last use of several keys in one statement; never moves a timestamp backwards. */
export async function touchApiKeys(db: Executor, uses: ReadonlyMap<string, Date>): Promise<void> {
  if (uses.size === 0) return;
  const values = sql.join([...uses].map(([id, at]) => sql`(${id}, ${at.toISOString()}::timestamptz)`));
  await sql`update api_keys set last_used_at = v.at from (values ${values}) as v(id, at)
    where api_keys.id = v.id and (api_keys.last_used_at is null or api_keys.last_used_at < v.at)`.execute(db);
}

export async function findApiKey(db: Kysely<Database>, keyId: string): Promise<ApiKeyRow | undefined> {
  return db.selectFrom('api_keys').selectAll().where('id', '=', keyId).executeTakeFirst();
}

/**
 * Revokes the key and notifies every API process (inside a transaction the notification goes out
 * at commit). Returns the row when this call revoked it, undefined when missing or already revoked.
 */
export async function revokeApiKey(db: Executor, tenantId: string, keyId: string, at = new Date()): Promise<ApiKeyRow | undefined> {
  const row = await db
    .updateTable('api_keys')
    .set({ revoked_at: at })
    .where('id', '=', keyId)
    .where('tenant_id', '=', tenantId)
    .where('revoked_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
  if (row) await sql`select pg_notify(${API_KEY_REVOKED_CHANNEL}, ${row.id})`.execute(db);
  return row;
}

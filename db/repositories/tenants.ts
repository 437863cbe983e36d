// Tenants and their API keys. Only the hash of a key's secret is ever stored.
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { ApiKeyRole, ApiKeyRow, Database } from '../schema.js';

export async function createTenant(db: Kysely<Database>, input: { name: string }): Promise<{ id: string; name: string }> {
  const id = randomUUID();
  await db.insertInto('tenants').values({ id, name: input.name }).execute();
  return { id, name: input.name };
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
}

export async function insertApiKey(db: Kysely<Database>, key: NewApiKey): Promise<void> {
  await db
    .insertInto('api_keys')
    .values({ id: key.id, tenant_id: key.tenantId, role: key.role, name: key.name, secret_hash: key.secretHash, device_id: key.deviceId ?? null })
    .execute();
}

export async function findApiKey(db: Kysely<Database>, keyId: string): Promise<ApiKeyRow | undefined> {
  return db.selectFrom('api_keys').selectAll().where('id', '=', keyId).executeTakeFirst();
}

export async function touchApiKey(db: Kysely<Database>, keyId: string, at: Date): Promise<void> {
  await db.updateTable('api_keys').set({ last_used_at: at }).where('id', '=', keyId).execute();
}

export async function revokeApiKey(db: Kysely<Database>, tenantId: string, keyId: string): Promise<boolean> {
  const result = await db
    .updateTable('api_keys')
    .set({ revoked_at: new Date() })
    .where('id', '=', keyId)
    .where('tenant_id', '=', tenantId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

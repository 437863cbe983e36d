// Web console sessions: a signed-in API key, found by the sha256 of the cookie's session id.
import type { Kysely } from 'kysely';
import type { Database } from '../schema.js';

export interface ConsoleSessionRecord {
  tenantId: string;
  keyId: string;
  expiresAt: Date;
}

export async function insertConsoleSession(db: Kysely<Database>, session: ConsoleSessionRecord & { idHash: string }): Promise<void> {
  await db.transaction().execute(async (trx) => {
    // Expired sessions of the same key are of no use to anyone: clear them as new ones arrive.
    await trx.deleteFrom('console_sessions').where('key_id', '=', session.keyId).where('expires_at', '<', new Date()).execute();
    await trx
      .insertInto('console_sessions')
      .values({ id_hash: session.idHash, tenant_id: session.tenantId, key_id: session.keyId, expires_at: session.expiresAt })
      .execute();
  });
}

/** The unexpired session with this id hash; the key's own validity is checked by the caller. */
export async function findConsoleSession(db: Kysely<Database>, idHash: string): Promise<ConsoleSessionRecord | undefined> {
  const row = await db
    .selectFrom('console_sessions')
    .select(['tenant_id', 'key_id', 'expires_at'])
    .where('id_hash', '=', idHash)
    .where('expires_at', '>', new Date())
    .executeTakeFirst();
  return row && { tenantId: row.tenant_id, keyId: row.key_id, expiresAt: new Date(row.expires_at) };
}

export async function deleteConsoleSession(db: Kysely<Database>, idHash: string): Promise<void> {
  await db.deleteFrom('console_sessions').where('id_hash', '=', idHash).execute();
}

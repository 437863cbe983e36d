// Every test file gets its own freshly migrated database on the real Postgres server,
// so files (and parallel developers) never see each other's rows.
import { randomBytes } from 'node:crypto';
import { Migrator, type Kysely } from 'kysely';
import pg from 'pg';
import { createDatabase } from '../../db/connection.js';
import { migrateToLatest } from '../../db/migrate.js';
import { migrations } from '../../db/migrations/index.js';
import type { Database } from '../../db/schema.js';

export const ADMIN_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  url: string;
  db: Kysely<Database>;
  drop(): Promise<void>;
}

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Migrates `db` up or down to the named migration (tests of a migration itself). */
export async function migrateTo(db: Kysely<any>, migration: string): Promise<void> {
  const { error } = await new Migrator({ db, provider: { getMigrations: async () => migrations } }).migrateTo(migration);
  if (error) throw error instanceof Error ? error : new Error(String(error));
}

/** A fresh database, migrated to the latest schema or, with `upTo`, to that migration. */
export async function createTestDatabase(options: { upTo?: string } = {}): Promise<TestDatabase> {
  const name = `retrack_test_${randomBytes(6).toString('hex')}`;
  await adminQuery(`create database ${name}`);
  const url = new URL(ADMIN_DATABASE_URL);
  url.pathname = `/${name}`;
  const db = createDatabase(url.toString());
  if (options.upTo) await migrateTo(db, options.upTo);
  else await migrateToLatest(db);
  return {
    url: url.toString(),
    db,
    async drop() {
      await db.destroy();
      await adminQuery(`drop database if exists ${name} with (force)`);
    },
  };
}

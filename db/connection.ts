import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';

// Postgres returns bigint (int8) as a string; our bigserial ids stay strings, counts are cast explicitly.
export function createDatabase(connectionString: string, options: { max?: number } = {}): Kysely<Database> {
  const pool = new pg.Pool({ connectionString, max: options.max ?? 10 });
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';

// Postgres returns bigint (int8) as a string; our bigserial ids stay strings, counts are cast explicitly.
export function createDatabase(connectionString: string, options: { max?: number; onIdleClientError?: (error: Error) => void } = {}): Kysely<Database> {
  const pool = new pg.Pool({ connectionString, max: options.max ?? 10 });
  // An idle pooled connection closed by the server (restart, failover, drop database) is an
  // 'error' event on the pool; unhandled, it would crash the process. The pool drops the client
  // and the next query opens a new connection.
  pool.on('error', options.onIdleClientError ?? (() => {}));
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';

// Postgres returns bigint (int8) as a string; our bigserial ids stay strings, counts are cast explicitly.
export function createDatabase(
  connectionString: string,
  options: { max?: number; connectionTimeoutMs?: number; onIdleClientError?: (error: Error) => void } = {},
): Kysely<Database> {
  // Without a connection timeout a request waits forever for a pooled connection while Postgres
  // is down; with one it fails, and the API answers 503 with Retry-After (db/availability.ts).
  const pool = new pg.Pool({ connectionString, max: options.max ?? 10, connectionTimeoutMillis: options.connectionTimeoutMs ?? 10_000 });
  // An idle pooled connection closed by the server (restart, failover, drop database) is an
  // 'error' event on the pool; unhandled, it would crash the process. The pool drops the client
  // and the next query opens a new connection.
  pool.on('error', options.onIdleClientError ?? (() => {}));
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

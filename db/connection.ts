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
  // A connection closed by the server (restart, failover, drop database) emits 'error'; unhandled,
  // it would crash the process. The pool handles it for idle connections ('error' on the pool)
  // but not for a checked-out one between statements (a transaction waiting on something else):
  // every client gets its own listener too. Either way the broken client is dropped when
  // released, the statement in flight fails (a 503 in the API) and the next one reconnects.
  const onError = options.onIdleClientError ?? (() => {});
  pool.on('error', onError);
  pool.on('connect', (client) => client.on('error', onError));
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

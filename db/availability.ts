// Errors that mean "Postgres is not there right now" (restarting, refusing connections, the pool
// could not get a connection in time) rather than "this query is wrong". The API answers them like
// a Temporal outage: 503 with Retry-After, so a client retries the same request and nothing it sent
// is lost (every write is idempotent or transactional).
import pg from 'pg';

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
// 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now, 53300 too_many_connections;
// class 08 is every connection exception.
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);
// pg and pg-pool report these as plain Errors without a code.
const UNAVAILABLE_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
  'Cannot use a pool after calling end on the pool',
];

export function isPostgresUnavailable(error: unknown, depth = 0): boolean {
  if (!(error instanceof Error) || depth > 4) return false;
  const code = (error as NodeJS.ErrnoException).code;
  if (error instanceof pg.DatabaseError) return code !== undefined && (UNAVAILABLE_SQLSTATES.has(code) || code.startsWith('08'));
  if (code && NETWORK_CODES.has(code)) return true;
  if (UNAVAILABLE_MESSAGES.some((message) => error.message.startsWith(message))) return true;
  // Connecting to a name with several addresses fails with one error per address.
  if (error instanceof AggregateError && error.errors.some((inner) => isPostgresUnavailable(inner, depth + 1))) return true;
  return isPostgresUnavailable(error.cause, depth + 1);
}

// Opaque keyset cursors: base64url of [timestamp with microseconds, id]. Timestamps travel as
// Postgres text so rows created in the same millisecond are never skipped or repeated.
import { sql, type RawBuilder } from 'kysely';

export class InvalidCursorError extends Error {
  constructor() {
    super('cursor is malformed or from another listing');
  }
}

export interface CursorKey {
  at: string;
  id: string;
}

export function encodeCursor(key: CursorKey): string {
  return Buffer.from(JSON.stringify([key.at, key.id])).toString('base64url');
}

export function decodeCursor(cursor: string, idPattern: RegExp): CursorKey {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2) {
      const [at, id] = value as unknown[];
      if (typeof at === 'string' && typeof id === 'string' && idPattern.test(id) && !Number.isNaN(Date.parse(at))) return { at, id };
    }
  } catch {
    // fall through: any decoding failure is the same client error
  }
  throw new InvalidCursorError();
}

/** UTC text with microseconds, e.g. 2026-11-26T10:00:00.123456Z. */
export function microsText(column: string): RawBuilder<string> {
  return sql<string>`to_char(${sql.ref(column)} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const BIGINT_PATTERN = /^[0-9]{1,19}$/;

/** Fetch one row more than the page to know whether another page exists. */
export function pageOf<T>(rows: T[], limit: number, keyOf: (row: T) => CursorKey): { items: T[]; nextCursor: string | null } {
  if (rows.length <= limit) return { items: rows, nextCursor: null };
  const items = rows.slice(0, limit);
  return { items, nextCursor: encodeCursor(keyOf(items[items.length - 1]!)) };
}

/**
 * Lookups by id always run one tenant-scoped query: a malformed id becomes the nil UUID (which no
 * row has) instead of an early return, so "malformed", "missing" and "another tenant's" take the
 * same path and the same time.
 */
export const NIL_UUID = '00000000-0000-0000-0000-000000000000';
export function uuidOrNil(id: string): string {
  return UUID_PATTERN.test(id) ? id.toLowerCase() : NIL_UUID;
}

// Opaque keyset cursors: base64url of [list, timestamp with microseconds, id]. Timestamps travel as
// Postgres text so rows created in the same millisecond are never skipped or repeated.
//
// Cursors are strictly parsed rather than signed: they hold nothing secret and every list query is
// filtered by the caller's tenant, so a hand-made cursor can only move where the caller's own page
// starts. What parsing must guarantee is that Postgres never sees a value it rejects (a timestamp
// JavaScript accepts but Postgres does not, an id beyond bigint): anything but the exact shape this
// module writes, for this list, is an InvalidCursorError, i.e. a 400 naming `cursor`.
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

export interface KeysetCursor {
  decode(cursor: string): CursorKey;
  /** Fetch one row more than the page to know whether another page exists. */
  page<T>(rows: T[], limit: number, keyOf: (row: T) => CursorKey): { items: T[]; nextCursor: string | null };
}

export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const LOWER_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const BIGINT_MAX = 9_223_372_036_854_775_807n;

export const isUuidId = (id: string): boolean => LOWER_UUID.test(id);
export const isBigintId = (id: string): boolean => /^[1-9][0-9]{0,18}$/.test(id) && BigInt(id) <= BIGINT_MAX;

// Exactly what microsText() writes: UTC, microseconds, a real calendar date in years 0001-9999.
const MICROS_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
function isMicrosTime(at: string): boolean {
  if (!MICROS_TIME.test(at) || at.startsWith('0000')) return false;
  const millis = `${at.slice(0, 23)}Z`;
  const ms = Date.parse(millis);
  return Number.isFinite(ms) && new Date(ms).toISOString() === millis;
}

/** The cursor of one listing; a cursor of another listing or of another shape is refused. */
export function keysetCursor(list: string, isId: (id: string) => boolean): KeysetCursor {
  const encode = (key: CursorKey) => Buffer.from(JSON.stringify([list, key.at, key.id])).toString('base64url');
  return {
    decode(cursor) {
      if (/^[A-Za-z0-9_-]+$/.test(cursor)) {
        try {
          const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
          if (Array.isArray(value) && value.length === 3) {
            const [name, at, id] = value as unknown[];
            if (name === list && typeof at === 'string' && typeof id === 'string' && isMicrosTime(at) && isId(id)) return { at, id };
          }
        } catch {
          // fall through: any decoding failure is the same client error
        }
      }
      throw new InvalidCursorError();
    },
    page(rows, limit, keyOf) {
      if (rows.length <= limit) return { items: rows, nextCursor: null };
      const items = rows.slice(0, limit);
      return { items, nextCursor: encode(keyOf(items[items.length - 1]!)) };
    },
  };
}

/** UTC text with microseconds, e.g. 2026-11-26T10:00:00.123456Z. */
export function microsText(column: string): RawBuilder<string> {
  return sql<string>`to_char(${sql.ref(column)} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
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

// The primitives every request string is built from: bodies, query strings, path parameters and
// stored headers. A string that Postgres cannot store (NUL) or that is not Unicode (an unpaired
// UTF-16 surrogate) is refused here with a 400 naming the field, before it can reach a row, a
// workflow payload or a log line. test/api/text-inputs.test.ts walks every route's request schemas
// and fails on a string field not built from `text()`.
import { z } from '@hono/zod-openapi';
import { UUID_PATTERN } from '../db/repositories/pagination.js';

const NUL_OR_LONE_SURROGATE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function isSafeText(value: string): boolean {
  return !NUL_OR_LONE_SURROGATE.test(value);
}

export const UNSAFE_TEXT_MESSAGE = 'must not contain NUL characters or unpaired UTF-16 surrogates';

export interface TextLimits {
  min?: number;
  max: number;
  /** Leading and trailing white space is dropped (the default). */
  trim?: boolean;
}

/** Any request string. */
export function text({ min, max, trim = true }: TextLimits) {
  let schema = z.string().refine(isSafeText, { message: UNSAFE_TEXT_MESSAGE });
  if (trim) schema = schema.trim();
  if (min !== undefined) schema = schema.min(min, min === 1 ? 'must not be empty' : `must be at least ${min} characters`);
  return schema.max(max, `must be at most ${max} characters`);
}

/** UUIDs are compared and stored in lower case, however the client spelled them. */
export function canonicalId(value: string): string {
  return UUID_PATTERN.test(value) ? value.toLowerCase() : value;
}

/**
 * A UUID in any case, canonicalised to lower case. Documented as `format: uuid` without the regex
 * as a `pattern`: generating strings that miss a pattern is what made fuzzing these fields slow.
 */
export const uuid = () =>
  text({ max: 36 })
    .refine((value) => UUID_PATTERN.test(value), 'must be a UUID')
    .toLowerCase()
    .openapi({ format: 'uuid' });

/**
 * The id of another resource of the tenant, in a body or a filter: any short text (an unknown one is
 * a 422 or an empty list, like a missing resource), UUIDs canonicalised to lower case.
 */
export const resourceId = () => text({ min: 1, max: 100 }).overwrite(canonicalId);

/** A path parameter naming a resource: a malformed one is simply not found (404), NUL is a 400. */
export const pathId = (name: string, example: string) => text({ max: 200 }).overwrite(canonicalId).openapi({ param: { name, in: 'path' }, example });

const ISO_DATETIME_MESSAGE = 'must be an ISO-8601 date-time with Z or an offset';

function toUtc(value: string): string {
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : value;
}

/**
 * An ISO-8601 (RFC 3339) date-time with `Z` or an offset up to ±23:59, normalised to UTC with
 * millisecond precision (`2026-11-26T08:00:00.000Z`): what is stored is the instant that was sent.
 * Instants outside the years 0001-9999 once in UTC are refused.
 */
export const isoTime = text({ max: 64, trim: false })
  .check(z.iso.datetime({ offset: true, message: ISO_DATETIME_MESSAGE, abort: true }))
  .overwrite(toUtc)
  .refine((value) => /^\d{4}-/.test(value) && !value.startsWith('0000-'), { message: 'must be between the years 0001 and 9999 in UTC' })
  .openapi({ format: 'date-time' });

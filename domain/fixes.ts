// Preparing a batch of fixes for the stateful rules: order, duplicates, staleness.
// Pure: the workflow runs it on every drained batch, tests run it on timed sequences.
import type { Fix } from './types.js';

export interface PreparedFixBatch {
  /** Fixes newer than the last processed one, in time order, one per timestamp. */
  fresh: Fix[];
  /** Same timestamp as a fix already in this batch or already processed. */
  duplicates: number;
  /** Older than the last processed fix: kept in the positions history, not used for state. */
  stale: number;
  /** Unparseable time or non-finite coordinates (the API validates, so this is a safety net). */
  invalid: number;
}

/** Epoch milliseconds of an ISO-8601 time, NaN when unparseable. */
export function fixTimeMs(fix: Pick<Fix, 'recordedAt'>): number {
  return Date.parse(fix.recordedAt);
}

export function toIso(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * Sorts by recordedAt, keeps one fix per timestamp (the first received, matching the
 * positions table's unique key), and drops everything not newer than `lastProcessedAt`.
 */
export function prepareFixBatch(fixes: readonly Fix[], lastProcessedAt?: string): PreparedFixBatch {
  const lastMs = lastProcessedAt === undefined ? Number.NEGATIVE_INFINITY : Date.parse(lastProcessedAt);
  let invalid = 0;
  const timed: { ms: number; index: number; fix: Fix }[] = [];
  fixes.forEach((fix, index) => {
    const ms = fixTimeMs(fix);
    if (!Number.isFinite(ms) || !Number.isFinite(fix.lat) || !Number.isFinite(fix.lon)) invalid += 1;
    else timed.push({ ms, index, fix });
  });
  // Ties keep arrival order so "first received wins" holds for duplicates.
  timed.sort((a, b) => a.ms - b.ms || a.index - b.index);

  const fresh: Fix[] = [];
  let duplicates = 0;
  let stale = 0;
  let previousMs = Number.NaN;
  for (const { ms, fix } of timed) {
    if (ms === previousMs || ms === lastMs) duplicates += 1;
    else if (ms < lastMs) stale += 1;
    else fresh.push(fix);
    previousMs = ms;
  }
  return { fresh, duplicates, stale, invalid };
}

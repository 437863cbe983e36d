// ISO-8601 arithmetic for the anomaly and ETA rules. Pure: Date.parse and toISOString only,
// never the current time, so the same inputs give the same answers inside a workflow.
import { toIso } from '../fixes.js';

export const MS_PER_MINUTE = 60_000;

export function addMinutes(iso: string, minutes: number): string {
  return toIso(Date.parse(iso) + minutes * MS_PER_MINUTE);
}

/** Minutes from `from` to `to` (negative when `to` is earlier). */
export function minutesBetween(from: string, to: string): number {
  return (Date.parse(to) - Date.parse(from)) / MS_PER_MINUTE;
}

export function isAfter(a: string, b: string): boolean {
  return Date.parse(a) > Date.parse(b);
}

export function laterOf(a: string, b: string): string {
  return Date.parse(a) >= Date.parse(b) ? a : b;
}

export function earliestOf(times: readonly (string | undefined)[]): string | undefined {
  let best: string | undefined;
  for (const time of times) if (time !== undefined && (best === undefined || Date.parse(time) < Date.parse(best))) best = time;
  return best;
}

/** Normalises any ISO form to the canonical `toISOString` form so string comparisons and keys agree. */
export function canonicalIso(iso: string): string {
  return toIso(Date.parse(iso));
}

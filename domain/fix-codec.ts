// Fixes as compact rows for activity results: every byte of them lands in workflow history, and
// history size is what bounds a run. A row is [msSincePrevious, lat, lon, speed, heading,
// accuracy, temperature] with trailing unknowns dropped: about 45 bytes of JSON per fix instead
// of about 130 for the object form.
import type { Fix } from './types.js';

type Optional = number | null;
export type FixRow = [number, number, number, ...Optional[]];

export interface EncodedFixes {
  /** Epoch milliseconds the first row's offset counts from. */
  t0: number;
  rows: FixRow[];
}

const OPTIONAL_FIELDS = ['speedKmh', 'headingDeg', 'accuracyM', 'temperatureC'] as const;

export function encodeFixes(fixes: readonly Fix[]): EncodedFixes {
  const t0 = fixes.length > 0 ? Date.parse(fixes[0]!.recordedAt) : 0;
  let previous = t0;
  const rows = fixes.map((fix): FixRow => {
    const ms = Date.parse(fix.recordedAt);
    const optional: Optional[] = OPTIONAL_FIELDS.map((field) => fix[field] ?? null);
    while (optional.length > 0 && optional.at(-1) === null) optional.pop();
    const row: FixRow = [ms - previous, fix.lat, fix.lon, ...optional];
    previous = ms;
    return row;
  });
  return { t0, rows };
}

export function decodeFixes(encoded: EncodedFixes): Fix[] {
  let ms = encoded.t0;
  return encoded.rows.map(([offset, lat, lon, ...optional]) => {
    ms += offset;
    const fix: Fix = { recordedAt: new Date(ms).toISOString(), lat, lon };
    OPTIONAL_FIELDS.forEach((field, i) => {
      const value = optional[i];
      if (value !== undefined && value !== null) fix[field] = value;
    });
    return fix;
  });
}

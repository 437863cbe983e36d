// Whether a stop is made inside its appointment window: from the real arrival once there is one,
// else from the latest ETA (or from the clock once the window has ended without an ETA).
export type Punctuality = 'on_time' | 'at_risk' | 'late' | 'unknown';

export interface StopTiming {
  window?: { start: string; end: string };
  eta?: string;
  arrivedAt?: string;
}

/** An ETA this close to the window's end counts as at risk. */
export const AT_RISK_MARGIN_MIN = 15;

export function punctuality(stop: StopTiming, now: string, atRiskMarginMin = AT_RISK_MARGIN_MIN): Punctuality {
  if (!stop.window) return 'unknown';
  const end = Date.parse(stop.window.end);
  if (stop.arrivedAt) return Date.parse(stop.arrivedAt) <= end ? 'on_time' : 'late';
  if (!stop.eta) return Date.parse(now) > end ? 'late' : 'unknown';
  const eta = Date.parse(stop.eta);
  if (eta > end) return 'late';
  return eta > end - atRiskMarginMin * 60_000 ? 'at_risk' : 'on_time';
}

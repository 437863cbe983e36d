// Mandatory driver breaks. Only the break after continuous driving is modelled (EU 561/2006
// Art. 7: 45 min after 4.5 h; US FMCSA §395.3(a)(3)(ii): 30 min after 8 h); daily and weekly
// rest periods are out of scope for the legs this platform predicts.

export type BreakRuleSet = 'EU_561_2006' | 'US_HOS' | 'NONE';

export interface BreakRule {
  maxDrivingMin: number;
  breakMin: number;
}

export const BREAK_RULES: Readonly<Record<BreakRuleSet, BreakRule | undefined>> = {
  EU_561_2006: { maxDrivingMin: 270, breakMin: 45 },
  US_HOS: { maxDrivingMin: 480, breakMin: 30 },
  NONE: undefined,
};

/** Float noise from distance/speed must not invent a break for a leg that ends exactly at the limit. */
const EPSILON_MIN = 1e-6;

export interface DrivingWithBreaks {
  breakMin: number;
  breaks: number;
  /** Driving minutes since the last break when the leg ends. */
  drivingSinceBreakMin: number;
}

/**
 * Breaks needed to drive `drivingMin` more minutes when `drivingSinceBreakMin` have already been
 * driven since the last break. A break is taken only when more driving follows: reaching the
 * stop exactly at the limit needs none.
 */
export function driveWithBreaks(drivingMin: number, drivingSinceBreakMin: number, rule: BreakRule | undefined): DrivingWithBreaks {
  if (!rule) return { breakMin: 0, breaks: 0, drivingSinceBreakMin: drivingSinceBreakMin + drivingMin };
  let remaining = drivingMin;
  let since = Math.max(0, drivingSinceBreakMin);
  let breaks = 0;
  while (since + remaining > rule.maxDrivingMin + EPSILON_MIN) {
    remaining -= Math.max(0, rule.maxDrivingMin - since);
    breaks += 1;
    since = 0;
  }
  return { breakMin: breaks * rule.breakMin, breaks, drivingSinceBreakMin: since + remaining };
}

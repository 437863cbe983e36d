// Mandatory driver breaks and daily rests. EU 561/2006: a 45-min break after 4.5 h of driving
// (Art. 7) and, after at most 9 h of daily driving (Art. 6(1)), a daily rest of 11 h (Art. 8; a
// reduced rest of 9 h also counts, Art. 4(g)). US FMCSA §395.3: 30 min after 8 h of driving, and at
// most 11 h of driving after 10 consecutive hours off duty. The regular figures are used: the 10-h
// days (twice a week), reduced and split rests (3 h + 9 h) the regulation also allows are the
// driver's choice and can't be foreseen; the US 14-h window and weekly rests are out of scope.
// predictEta plans breaks on every leg, and uses the daily rule only to tell a daily rest under
// way from a long stop (see predict.ts).

export type BreakRuleSet = 'EU_561_2006' | 'US_HOS' | 'NONE';

export interface BreakRule {
  maxDrivingMin: number;
  breakMin: number;
  /** Daily driving limit, minutes (absent: no daily rest is planned). */
  maxDailyDrivingMin?: number;
  /** The regular daily rest once the daily limit is reached, minutes. */
  dailyRestMin?: number;
  /** The shortest stand that counts as a daily rest already taken (a reduced rest), minutes. */
  minDailyRestMin?: number;
}

export const BREAK_RULES: Readonly<Record<BreakRuleSet, BreakRule | undefined>> = {
  EU_561_2006: { maxDrivingMin: 270, breakMin: 45, maxDailyDrivingMin: 540, dailyRestMin: 660, minDailyRestMin: 540 },
  US_HOS: { maxDrivingMin: 480, breakMin: 30, maxDailyDrivingMin: 660, dailyRestMin: 600, minDailyRestMin: 600 },
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

export interface DrivingWithRests extends DrivingWithBreaks {
  restMin: number;
  rests: number;
  /** Driving minutes since the last daily rest when the leg ends. */
  drivingTodayMin: number;
}

/**
 * Breaks and daily rests needed to drive `drivingMin` more minutes, with `drivingSinceBreakMin`
 * driven since the last break and `drivingTodayMin` since the last daily rest. Whichever limit
 * comes first stops the driving: the break limit gives a break, the daily limit a daily rest
 * (which also counts as the break). As for breaks, none is taken when the stop is reached
 * exactly at a limit. A rule without a daily limit gives driveWithBreaks's answer.
 */
export function driveWithRests(drivingMin: number, clocks: { drivingSinceBreakMin: number; drivingTodayMin: number }, rule: BreakRule | undefined): DrivingWithRests {
  const since0 = Math.max(0, clocks.drivingSinceBreakMin);
  const today0 = Math.max(since0, clocks.drivingTodayMin);
  if (!rule || rule.maxDailyDrivingMin === undefined || rule.dailyRestMin === undefined) {
    const driven = driveWithBreaks(drivingMin, since0, rule);
    return { ...driven, restMin: 0, rests: 0, drivingTodayMin: today0 + drivingMin };
  }
  let remaining = drivingMin;
  let since = since0;
  let today = today0;
  let breaks = 0;
  let rests = 0;
  for (;;) {
    const untilBreak = Math.max(0, rule.maxDrivingMin - since);
    const untilRest = Math.max(0, rule.maxDailyDrivingMin - today);
    const step = Math.min(untilBreak, untilRest);
    if (remaining <= step + EPSILON_MIN) break;
    remaining -= step;
    if (untilRest <= untilBreak) {
      rests += 1;
      today = 0;
    } else {
      breaks += 1;
      today += step;
    }
    since = 0;
  }
  return {
    breakMin: breaks * rule.breakMin,
    breaks,
    drivingSinceBreakMin: since + remaining,
    restMin: rests * rule.dailyRestMin,
    rests,
    drivingTodayMin: today + remaining,
  };
}

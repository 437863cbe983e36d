// Driving time since the driver's last break, estimated from the truck's fixes: the ETA model
// needs it to place the break a long leg still owes (no ELD data reaches this platform).
import { distanceM } from '../geo.js';
import type { Fix } from '../types.js';
import { BREAK_RULES } from './breaks.js';
import { DEFAULT_SPEED_MODEL } from './speed.js';
import { MS_PER_MINUTE } from './time.js';

const EU_BREAK = BREAK_RULES.EU_561_2006!;
/** The break estimate looks this far back: a full driving period plus its break. */
export const BREAK_WINDOW_MIN = EU_BREAK.maxDrivingMin + EU_BREAK.breakMin;
/**
 * Fixes to read back for the driving day: the last 24 h, the period within which EU 561/2006
 * Art. 8(2) has a driver take a new daily rest after the previous one, so a driving day (and a
 * daily rest under way, with the day before it) fits in it. The break estimate itself only looks
 * at the last BREAK_WINDOW_MIN of them, and the day is only read when it can matter
 * (needsDrivingDay).
 */
export const BREAK_LOOKBACK_MIN = 24 * 60;

const SHORTEST_BREAK_MIN = Math.min(...Object.values(BREAK_RULES).flatMap((rule) => (rule ? [rule.breakMin] : [])));

interface TimedFix {
  fix: Fix;
  ms: number;
}

/** Whether a pair of fixes counts as driving: its speed (the mean of the two reported, else distance over time) reaches the moving speed. */
function isMovingPair(a: TimedFix, b: TimedFix, minutes: number): boolean {
  const speed = a.fix.speedKmh !== undefined && b.fix.speedKmh !== undefined ? (a.fix.speedKmh + b.fix.speedKmh) / 2 : undefined;
  return (speed ?? distanceM(a.fix, b.fix) / 1000 / (minutes / 60)) >= DEFAULT_SPEED_MODEL.movingSpeedKmh;
}

/**
 * A pair with one end moving and the other standing (both speeds reported, one below the moving
 * speed): the truck stopped, or set off, somewhere in between. Its driving part is the time its
 * straight-line distance takes at the moving end's speed, at most the interval; the rest is
 * standing, after the driving when the earlier end is the moving one (`drivingFirst`), before it
 * otherwise. Undefined for any other pair, which is wholly driving or standing (isMovingPair).
 * Counting the whole of a pair in which the truck stopped or set off as driving (its mean speed,
 * (80 + 0) / 2, is well above the moving speed) takes up to a fix interval off each end of every
 * stand: with fixes 5 min apart a 45-min break measured 40 min, and was no break.
 */
function splitMixedPair(a: TimedFix, b: TimedFix, minutes: number): { drivingMin: number; standingMin: number; drivingFirst: boolean } | undefined {
  const va = a.fix.speedKmh;
  const vb = b.fix.speedKmh;
  if (va === undefined || vb === undefined || minutes <= 0) return undefined;
  const moving = DEFAULT_SPEED_MODEL.movingSpeedKmh;
  if (va >= moving === vb >= moving) return undefined;
  const speedKmh = va >= moving ? va : vb;
  const drivingMin = Math.min(minutes, (distanceM(a.fix, b.fix) / 1000 / speedKmh) * 60);
  return { drivingMin, standingMin: minutes - drivingMin, drivingFirst: va >= moving };
}

function timedUpTo(fixes: readonly Fix[], endMs: number): TimedFix[] {
  return fixes
    .map((fix) => ({ fix, ms: Date.parse(fix.recordedAt) }))
    .filter(({ ms }) => ms <= endMs)
    .sort((a, b) => a.ms - b.ms);
}

/**
 * Whether the last BREAK_WINDOW_MIN of fixes leave room for a daily rest under way: only a truck
 * that has stood at least a break's length can be on one, so only then is the whole day worth
 * reading (a moving truck's ETA comes out the same without it, at a sixth of the fixes).
 */
export function needsDrivingDay(windowFixes: readonly Fix[], at: string): boolean {
  return drivingDay(windowFixes, at).standingMin >= SHORTEST_BREAK_MIN;
}

/**
 * Driving minutes since the driver's last break: walking back from `at`, pairs moving at least
 * the model's moving speed add their time, a pair in which the truck stopped or set off its
 * driving part (splitMixedPair); a stationary stretch or a silence as long as a break ends the
 * walk. Without this the model assumes a rested driver and misses the break a long leg
 * still needs.
 */
export function drivingMinSinceBreak(fixes: readonly Fix[], at: string, breakMin: number = EU_BREAK.breakMin): number {
  const timed = timedUpTo(fixes, Date.parse(at));
  return drivingBack(timed, timed.length - 1, breakMin, { movingMin: (_a, _b, minutes) => minutes });
}

/** What a pair drove and stood, in the order met walking back (its later part first). */
function partsWalkingBack(a: TimedFix, b: TimedFix, minutes: number, movingMin: MovingMinutes): { driving: boolean; minutes: number }[] {
  const mixed = splitMixedPair(a, b, minutes);
  if (mixed) {
    const driving = { driving: true, minutes: mixed.drivingMin };
    const standing = { driving: false, minutes: mixed.standingMin };
    return mixed.drivingFirst ? [standing, driving] : [driving, standing];
  }
  if (minutes > 0 && isMovingPair(a, b, minutes)) return [{ driving: true, minutes: movingMin(a, b, minutes) }];
  return [{ driving: false, minutes }];
}

/** How much of a moving pair counts as driving. */
type MovingMinutes = (a: TimedFix, b: TimedFix, minutes: number) => number;

/**
 * Driving minutes walking back over the pairs before `timed[from]`, until a stretch of standing (or
 * one pair, a silence) of `standMin` ends the walk. With `afterStandUnderWay`, `from` is where the
 * stand under way began, and the standing part of the pair it began in is that stand's, not this
 * walk's.
 */
function drivingBack(timed: readonly TimedFix[], from: number, standMin: number, options: { movingMin: MovingMinutes; afterStandUnderWay?: boolean }): number {
  let driving = 0;
  let standing = 0;
  for (let i = from; i > 0; i -= 1) {
    const a = timed[i - 1]!;
    const b = timed[i]!;
    const minutes = (b.ms - a.ms) / MS_PER_MINUTE;
    if (minutes >= standMin) break;
    const parts = partsWalkingBack(a, b, minutes, options.movingMin);
    for (const [k, part] of parts.entries()) {
      if (part.driving) {
        if (part.minutes > 0) {
          driving += part.minutes;
          standing = 0;
        }
      } else if (!(options.afterStandUnderWay && i === from && k === 0)) {
        standing += part.minutes;
        if (standing >= standMin) return driving;
      }
    }
  }
  return driving;
}

/** Standing this long away from a stop looks like a break, not a red light or a queue. */
export const BREAK_UNDER_WAY_MIN = 10;

/**
 * Minutes the truck has been standing still up to `at`, when that is at least
 * `BREAK_UNDER_WAY_MIN`, shorter than a break and away from every stop given (more than
 * `awayFromM` from each): a break under way. 0 otherwise (driving, at a stop, or a stand already
 * longer than a break, which drivingMinSinceBreak has counted as one).
 */
export function breakUnderWayMin(
  fixes: readonly Fix[],
  at: string,
  stops: readonly { location: { lat: number; lon: number } }[],
  options: { breakMin?: number; awayFromM?: number } = {},
): number {
  const breakMin = options.breakMin ?? EU_BREAK.breakMin;
  const awayFromM = options.awayFromM ?? 2_000;
  const endMs = Date.parse(at);
  const timed = timedUpTo(fixes, endMs);
  const last = timed.at(-1);
  if (!last || stops.some((stop) => distanceM(last.fix, stop.location) <= awayFromM)) return 0;
  let standingSinceMs = last.ms;
  for (let i = timed.length - 1; i > 0; i -= 1) {
    const b = timed[i]!;
    const a = timed[i - 1]!;
    const minutes = (b.ms - a.ms) / MS_PER_MINUTE;
    if (minutes <= 0) continue;
    const mixed = splitMixedPair(a, b, minutes);
    if (mixed) {
      // Stopped within the pair: the stand began once its driving part was done.
      if (mixed.drivingFirst) standingSinceMs = a.ms + mixed.drivingMin * MS_PER_MINUTE;
      break;
    }
    if (isMovingPair(a, b, minutes)) break;
    standingSinceMs = a.ms;
  }
  const standingMin = (endMs - standingSinceMs) / MS_PER_MINUTE;
  return standingMin >= BREAK_UNDER_WAY_MIN && standingMin < breakMin ? standingMin : 0;
}

export interface DrivingDay {
  /**
   * Driving minutes since the end of the last daily rest (a stand or silence of at least
   * `minDailyRestMin`), before the stand under way if there is one; all the driving seen when
   * the fixes begin first (the driver is assumed rested before the first fix, as for breaks).
   */
  drivingTodayMin: number;
  /** Minutes the truck has been standing still up to `at` (0 when it is moving). */
  standingMin: number;
}

/**
 * The driver's day so far, from the fixes, for the daily rest of EU 561/2006 Art. 6 and 8. The
 * stand under way at `at` is measured on its own and does not end the day: whether it is the
 * daily rest depends on how much driving the plan still needs (predictEta decides). Pairs are
 * moving, standing or split by the same rule as drivingMinSinceBreak. A silence (fixes further apart
 * than the speed model's `maxFixGapMin`, shorter than a daily rest) between two moving fixes
 * counts as the time its straight-line distance takes at their speeds, at most its length: the
 * tracker died on the road, and the driver may have stood in it too.
 */
export function drivingDay(fixes: readonly Fix[], at: string, minDailyRestMin: number = BREAK_RULES.EU_561_2006!.minDailyRestMin!): DrivingDay {
  const endMs = Date.parse(at);
  const timed = timedUpTo(fixes, endMs);
  const last = timed.at(-1);
  if (!last) return { drivingTodayMin: 0, standingMin: 0 };
  // The stand under way: back from the last fix while the pairs are standing, and the standing
  // part of a pair in which the truck stopped.
  let i = timed.length - 1;
  let standStartMs = last.ms;
  while (i > 0) {
    const a = timed[i - 1]!;
    const b = timed[i]!;
    const minutes = (b.ms - a.ms) / MS_PER_MINUTE;
    const mixed = splitMixedPair(a, b, minutes);
    if (mixed) {
      if (mixed.drivingFirst) standStartMs = a.ms + mixed.drivingMin * MS_PER_MINUTE;
      break;
    }
    if (minutes > 0 && isMovingPair(a, b, minutes)) break;
    i -= 1;
    standStartMs = timed[i]!.ms;
  }
  const standingMin = (endMs - standStartMs) / MS_PER_MINUTE;
  const drivingTodayMin = drivingBack(timed, i, minDailyRestMin, { movingMin: silenceByDistance, afterStandUnderWay: true });
  return { drivingTodayMin, standingMin };
}

/** A moving pair further apart than the speed model's gap: the time its distance takes at its speed, at most its length. */
const silenceByDistance: MovingMinutes = (a, b, minutes) => {
  const speedKmh = a.fix.speedKmh !== undefined && b.fix.speedKmh !== undefined ? (a.fix.speedKmh + b.fix.speedKmh) / 2 : undefined;
  const silent = minutes > DEFAULT_SPEED_MODEL.maxFixGapMin && speedKmh !== undefined;
  return silent ? Math.min(minutes, (distanceM(a.fix, b.fix) / 1000 / speedKmh) * 60) : minutes;
};

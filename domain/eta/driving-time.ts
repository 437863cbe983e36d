// Driving time since the driver's last break, estimated from the truck's fixes: the ETA model
// needs it to place the break a long leg still owes (no ELD data reaches this platform).
import { distanceM } from '../geo.js';
import type { Fix } from '../types.js';
import { BREAK_RULES } from './breaks.js';
import { DEFAULT_SPEED_MODEL } from './speed.js';
import { MS_PER_MINUTE } from './time.js';

const EU_BREAK = BREAK_RULES.EU_561_2006!;
/** Fixes to read back for the estimate: a full driving period plus its break. */
export const BREAK_LOOKBACK_MIN = EU_BREAK.maxDrivingMin + EU_BREAK.breakMin;

/**
 * Driving minutes since the driver's last break: walking back from `at`, pairs moving at least
 * the model's moving speed add their time; a stationary stretch or a silence as long as a break
 * ends the walk. Without this the model assumes a rested driver and misses the break a long leg
 * still needs.
 */
export function drivingMinSinceBreak(fixes: readonly Fix[], at: string, breakMin: number = EU_BREAK.breakMin): number {
  const endMs = Date.parse(at);
  const timed = fixes
    .map((fix) => ({ fix, ms: Date.parse(fix.recordedAt) }))
    .filter(({ ms }) => ms <= endMs)
    .sort((a, b) => a.ms - b.ms);
  let driving = 0;
  let stationaryMin = 0;
  for (let i = timed.length - 1; i > 0; i -= 1) {
    const b = timed[i]!;
    const a = timed[i - 1]!;
    const minutes = (b.ms - a.ms) / MS_PER_MINUTE;
    if (minutes >= breakMin) break;
    const speed = a.fix.speedKmh !== undefined && b.fix.speedKmh !== undefined ? (a.fix.speedKmh + b.fix.speedKmh) / 2 : undefined;
    const moving = (speed ?? distanceM(a.fix, b.fix) / 1000 / (minutes / 60)) >= DEFAULT_SPEED_MODEL.movingSpeedKmh;
    if (moving) {
      driving += minutes;
      stationaryMin = 0;
    } else {
      stationaryMin += minutes;
      if (stationaryMin >= breakMin) break;
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
  const timed = fixes
    .map((fix) => ({ fix, ms: Date.parse(fix.recordedAt) }))
    .filter(({ ms }) => ms <= endMs)
    .sort((a, b) => a.ms - b.ms);
  const last = timed.at(-1);
  if (!last || stops.some((stop) => distanceM(last.fix, stop.location) <= awayFromM)) return 0;
  let standingSinceMs = last.ms;
  for (let i = timed.length - 1; i > 0; i -= 1) {
    const b = timed[i]!;
    const a = timed[i - 1]!;
    const minutes = (b.ms - a.ms) / MS_PER_MINUTE;
    if (minutes <= 0) continue;
    const speed = a.fix.speedKmh !== undefined && b.fix.speedKmh !== undefined ? (a.fix.speedKmh + b.fix.speedKmh) / 2 : undefined;
    const moving = (speed ?? distanceM(a.fix, b.fix) / 1000 / (minutes / 60)) >= DEFAULT_SPEED_MODEL.movingSpeedKmh;
    if (moving) break;
    standingSinceMs = a.ms;
  }
  const standingMin = (endMs - standingSinceMs) / MS_PER_MINUTE;
  return standingMin >= BREAK_UNDER_WAY_MIN && standingMin < breakMin ? standingMin : 0;
}

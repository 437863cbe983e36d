// Speed model: the truck's recent moving speed blended with a historical lane/region speed.
// The historical speed acts as a prior worth `historicalWeightMin` minutes of driving, so a few
// minutes of recent data nudge it and an hour of it carries half the weight.
import { distanceM } from '../geo.js';
import type { Fix } from '../types.js';
import { MS_PER_MINUTE } from './time.js';

export interface SpeedModelOptions {
  /** Used as the prior when no historical speed is known. */
  defaultSpeedKmh: number;
  /** Pseudo-minutes of driving the historical speed is worth in the blend. */
  historicalWeightMin: number;
  /** Only fixes this recent (before the prediction time) describe the current traffic. */
  recentWindowMin: number;
  /** Segments slower than this are stops, not driving. */
  movingSpeedKmh: number;
  /** Consecutive fixes further apart than this say nothing about speed (signal gap). */
  maxFixGapMin: number;
  /** A pair implying more than this is a GPS jump, not driving. */
  maxPlausibleSpeedKmh: number;
  /** Bounds on the blended speed, against nonsense from a bad device. */
  minSpeedKmh: number;
  maxSpeedKmh: number;
}

export const DEFAULT_SPEED_MODEL: SpeedModelOptions = {
  defaultSpeedKmh: 60,
  historicalWeightMin: 60,
  recentWindowMin: 60,
  movingSpeedKmh: 5,
  maxFixGapMin: 15,
  maxPlausibleSpeedKmh: 200,
  minSpeedKmh: 10,
  maxSpeedKmh: 130,
};

export interface SpeedEstimate {
  speedKmh: number;
  /** Mean speed over the recent moving segments, absent without any. */
  recentSpeedKmh?: number;
  recentMovingMin: number;
  /** Weight given to the recent speed in the blend, 0..1. */
  recentWeight: number;
  priorSpeedKmh: number;
}

export interface RecentSpeed {
  speedKmh?: number;
  movingMin: number;
}

/**
 * Mean moving speed over consecutive fix pairs in the recent window. A pair's speed is the
 * mean of the device-reported speeds when both have one, else its straight-line distance over
 * time; pairs below `movingSpeedKmh` (stopped), implausibly fast (GPS jump) or across a signal
 * gap are left out.
 */
export function recentMovingSpeed(fixes: readonly Fix[], at: string, options: SpeedModelOptions = DEFAULT_SPEED_MODEL): RecentSpeed {
  const endMs = Date.parse(at);
  const startMs = endMs - options.recentWindowMin * MS_PER_MINUTE;
  const window = fixes
    .map((fix) => ({ fix, ms: Date.parse(fix.recordedAt) }))
    .filter(({ ms }) => ms >= startMs && ms <= endMs)
    .sort((a, b) => a.ms - b.ms);

  let movingMin = 0;
  let movingKm = 0;
  for (let i = 1; i < window.length; i += 1) {
    const a = window[i - 1]!;
    const b = window[i]!;
    const minutes = (b.ms - a.ms) / MS_PER_MINUTE;
    if (minutes <= 0 || minutes > options.maxFixGapMin) continue;
    const reported = a.fix.speedKmh !== undefined && b.fix.speedKmh !== undefined ? (a.fix.speedKmh + b.fix.speedKmh) / 2 : undefined;
    const speedKmh = reported ?? distanceM(a.fix, b.fix) / 1000 / (minutes / 60);
    if (speedKmh < options.movingSpeedKmh || speedKmh > options.maxPlausibleSpeedKmh) continue;
    movingMin += minutes;
    movingKm += (speedKmh * minutes) / 60;
  }
  return movingMin > 0 ? { speedKmh: movingKm / (movingMin / 60), movingMin } : { movingMin: 0 };
}

export function estimateSpeed(
  input: { at: string; recentFixes?: readonly Fix[]; historicalSpeedKmh?: number },
  options: SpeedModelOptions = DEFAULT_SPEED_MODEL,
): SpeedEstimate {
  const priorSpeedKmh = input.historicalSpeedKmh !== undefined && input.historicalSpeedKmh > 0 ? input.historicalSpeedKmh : options.defaultSpeedKmh;
  const recent = recentMovingSpeed(input.recentFixes ?? [], input.at, options);
  const recentWeight = recent.speedKmh === undefined ? 0 : recent.movingMin / (recent.movingMin + options.historicalWeightMin);
  const blended = recentWeight * (recent.speedKmh ?? 0) + (1 - recentWeight) * priorSpeedKmh;
  return {
    speedKmh: Math.min(options.maxSpeedKmh, Math.max(options.minSpeedKmh, blended)),
    ...(recent.speedKmh !== undefined ? { recentSpeedKmh: recent.speedKmh } : {}),
    recentMovingMin: recent.movingMin,
    recentWeight,
    priorSpeedKmh,
  };
}

// Breaks read from fixes when the fixes are minutes apart: the pair between the last moving fix
// and the first standing one (and between the last standing and the first moving one) is split
// into the time its distance takes at the moving end's speed and a stand, so a break sampled
// every 5 min (asset trackers; phones once the truck stands) measures what it lasted.
import { describe, expect, it } from 'vitest';
import { breakUnderWayMin, drivingDay, drivingMinSinceBreak } from '../../domain/eta/driving-time.js';
import type { Fix, LatLon } from '../../domain/types.js';

const T = Date.parse('2026-03-02T04:00:00.000Z');
const iso = (minute: number) => new Date(T + minute * 60_000).toISOString();
// Along a meridian the haversine distance is exactly R·Δφ (turf's R = 6,371,008.8 m).
const METRES_PER_DEGREE = (6_371_008.8 * Math.PI) / 180;
const northKm = (km: number): LatLon => ({ lat: 45 + (km * 1000) / METRES_PER_DEGREE, lon: 5 });

/** What the truck did: driving at `kmh` or standing (`kmh` 0) for `min` minutes, one leg after another. */
type Leg = { min: number; kmh: number };

/** Where the truck is and how fast it goes at `minute` of the legs (a leg starts at its first minute). */
function truth(legs: readonly Leg[], minute: number): { km: number; kmh: number } {
  let start = 0;
  let km = 0;
  for (const leg of legs) {
    if (minute < start + leg.min) return { km: km + (leg.kmh * (minute - start)) / 60, kmh: leg.kmh };
    km += (leg.kmh * leg.min) / 60;
    start += leg.min;
  }
  return { km, kmh: 0 };
}

/** A fix every `everyMin` from `offsetMin` up to `toMin`, each at the truck's true place and speed. */
function sample(legs: readonly Leg[], everyMin: number, toMin: number, offsetMin = 0): Fix[] {
  const fixes: Fix[] = [];
  for (let minute = offsetMin; minute <= toMin + 1e-9; minute += everyMin) {
    const { km, kmh } = truth(legs, minute);
    fixes.push({ recordedAt: iso(minute), ...northKm(km), speedKmh: kmh });
  }
  return fixes;
}

describe('drivingMinSinceBreak with a break sampled minutes apart', () => {
  // 2 h at 80 km/h, a break, then driving again until minute 240.
  const withBreak = (breakMin: number): Leg[] => [
    { min: 120, kmh: 80 },
    { min: breakMin, kmh: 0 },
    { min: 240, kmh: 80 },
  ];

  it('recognises a 50-min break sampled every 5 min, whatever the fixes’ phase', () => {
    for (const offset of [0, 1, 2, 2.5, 3, 4, 4.5]) {
      const fixes = sample(withBreak(50), 5, 240, offset);
      const at = fixes.at(-1)!.recordedAt;
      // Only the driving since the break counts, to the minute.
      expect(drivingMinSinceBreak(fixes, at)).toBeCloseTo((Date.parse(at) - T) / 60_000 - 170, 6);
    }
  });

  it('with GPS noise on places and speeds, the driving since the break is right within a couple of minutes', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 16_807) % 2_147_483_647) / 2_147_483_647) * 2 - 1;
    for (const offset of [0.5, 2, 3.5]) {
      const fixes = sample(withBreak(48), 5, 240, offset).map((fix) => ({
        ...fix,
        lat: fix.lat + (random() * 15) / METRES_PER_DEGREE,
        lon: fix.lon + (random() * 15) / METRES_PER_DEGREE,
        speedKmh: fix.speedKmh! > 0 ? fix.speedKmh! + random() * 1.5 : 0,
      }));
      const at = fixes.at(-1)!.recordedAt;
      expect(Math.abs(drivingMinSinceBreak(fixes, at) - ((Date.parse(at) - T) / 60_000 - 168))).toBeLessThan(2);
    }
  });

  it('recognises a 46-min break sampled every 5 min, which the unsplit pairs measured as 40 min of standing', () => {
    // Stopped from 120 to 166; fixes at 117 (moving), 122 … 162 (standing: 40 min), 167 (moving).
    const fixes = sample(withBreak(46), 5, 240, 2);
    expect(drivingMinSinceBreak(fixes, iso(240))).toBeCloseTo(237 - 166, 6);
  });

  it('still recognises the break with a fix every 30 s', () => {
    const fixes = sample(withBreak(50), 0.5, 240);
    expect(drivingMinSinceBreak(fixes, iso(240))).toBeCloseTo(240 - 170, 6);
    const justOver = sample(withBreak(46), 0.5, 240, 0.2);
    expect(drivingMinSinceBreak(justOver, justOver.at(-1)!.recordedAt)).toBeCloseTo(239.7 - 166, 6);
  });

  it('a stand shorter than a break is no break: the driving on both sides adds up, within a few minutes of the truth', () => {
    const legs: Leg[] = [
      { min: 62, kmh: 80 },
      { min: 21, kmh: 0 },
      { min: 100, kmh: 80 },
    ];
    for (const offset of [0, 1.5, 3.5]) {
      const fixes = sample(legs, 5, 180, offset);
      const at = fixes.at(-1)!;
      // The driving seen from the first fix on: 62 min before the stand, and since minute 83.
      const truthMin = 62 - offset + ((Date.parse(at.recordedAt) - T) / 60_000 - 83);
      expect(drivingMinSinceBreak(fixes, at.recordedAt)).toBeCloseTo(truthMin, 6);
    }
  });

  it('counts pairs both moving wholly, as before, and leaves pairs without speeds to distance over time', () => {
    const moving = sample([{ min: 300, kmh: 80 }], 5, 100);
    expect(drivingMinSinceBreak(moving, iso(100))).toBe(100);
    // Two speeds both at or above the moving speed (5 km/h), whatever the distance: the whole interval.
    const slow: Fix[] = [
      { recordedAt: iso(0), ...northKm(0), speedKmh: 80 },
      { recordedAt: iso(5), ...northKm(0.1), speedKmh: 6 },
    ];
    expect(drivingMinSinceBreak(slow, iso(5))).toBe(5);
    const noSpeeds = moving.map(({ speedKmh: _speed, ...fix }) => fix);
    expect(drivingMinSinceBreak(noSpeeds, iso(100))).toBe(100);
  });

  it('splits a pair with one end standing by the distance at the moving end’s speed, at most its interval', () => {
    // 2 km in 5 min, moving at 80 km/h then standing: 1.5 min of driving, 3.5 min standing.
    const stopping: Fix[] = [
      { recordedAt: iso(0), ...northKm(0), speedKmh: 80 },
      { recordedAt: iso(5), ...northKm(2), speedKmh: 0 },
    ];
    expect(drivingMinSinceBreak(stopping, iso(5))).toBeCloseTo(1.5, 6);
    // Farther than the moving end's speed explains: the whole interval, no more.
    const far: Fix[] = [
      { recordedAt: iso(0), ...northKm(0), speedKmh: 0 },
      { recordedAt: iso(5), ...northKm(10), speedKmh: 80 },
    ];
    expect(drivingMinSinceBreak(far, iso(5))).toBe(5);
  });
});

describe('breakUnderWayMin and drivingDay with the stop inside a pair', () => {
  const legs: Leg[] = [
    { min: 122, kmh: 80 },
    { min: 600, kmh: 0 },
  ];
  const away = [{ location: northKm(-500) }];

  it('a break under way starts where the truck stopped, not at the first standing fix', () => {
    const fixes = sample(legs, 5, 150);
    // Stopped at 122; the fixes at 120 (moving) and 125 (standing).
    expect(breakUnderWayMin(fixes, iso(150), away)).toBeCloseTo(150 - 122, 6);
    expect(breakUnderWayMin(fixes, iso(130), away)).toBe(0);
  });

  it('the day counts the driving up to the stop, and the stand under way from it', () => {
    const fixes = sample(legs, 5, 300);
    const day = drivingDay(fixes, iso(300));
    expect(day.drivingTodayMin).toBeCloseTo(122, 6);
    expect(day.standingMin).toBeCloseTo(300 - 122, 6);
    // A break in the day: 120 min (118 of them seen from the first fix at 2), 50 standing, 60 min, then the stand from 230 on.
    const withBreak = sample(
      [
        { min: 120, kmh: 80 },
        { min: 50, kmh: 0 },
        { min: 60, kmh: 80 },
        { min: 600, kmh: 0 },
      ],
      5,
      400,
      2,
    );
    const later = drivingDay(withBreak, iso(400));
    expect(later.drivingTodayMin).toBeCloseTo(118 + 60, 6);
    expect(later.standingMin).toBeCloseTo(400 - 230, 6);
  });
});

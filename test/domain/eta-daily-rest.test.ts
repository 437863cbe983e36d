// The daily rest of EU 561/2006 (Art. 6: at most 9 h of daily driving; Art. 8: then an 11-h rest)
// in the ETA: the rule over a stretch of driving, the driver's day read from fixes, and a stand
// under way taken for that rest only when the driver owes it before the next stop.
import { describe, expect, it } from 'vitest';
import { BREAK_RULES, driveWithBreaks, driveWithRests, drivingDay, needsDrivingDay, predictBoth, predictEta, type EtaPlan, type EtaStop } from '../../domain/eta/index.js';
import type { Fix, LatLon, LineString } from '../../domain/types.js';

const T = Date.parse('2026-03-02T04:00:00.000Z');
const iso = (minute: number) => new Date(T + minute * 60_000).toISOString();
// Along a meridian the haversine distance is exactly R·Δφ (turf's R = 6,371,008.8 m).
const METRES_PER_DEGREE = (6_371_008.8 * Math.PI) / 180;
const northKm = (km: number): LatLon => ({ lat: 45 + (km * 1000) / METRES_PER_DEGREE, lon: 5 });
const routeThrough = (...points: LatLon[]): LineString => ({ type: 'LineString', coordinates: points.map((p) => [p.lon, p.lat]) });

/** A fix every 5 min from `from` to `to` (minutes), driving north at `kmh` from `fromKm`. */
function drive(from: number, to: number, kmh: number, fromKm: number): Fix[] {
  return Array.from({ length: (to - from) / 5 + 1 }, (_, i) => ({ recordedAt: iso(from + 5 * i), ...northKm(fromKm + (kmh * 5 * i) / 60), speedKmh: kmh }));
}
/** Standing at `km` from `from` to `to`, a fix every 5 min. */
function stand(from: number, to: number, km: number): Fix[] {
  return Array.from({ length: (to - from) / 5 + 1 }, (_, i) => ({ recordedAt: iso(from + 5 * i), ...northKm(km), speedKmh: 0 }));
}

const EU = BREAK_RULES.EU_561_2006!;

describe('driveWithRests: breaks and the daily rest over a stretch of driving', () => {
  it('10 h from a rested driver: a break after 4.5 h, the daily rest after 9 h, then the last hour', () => {
    expect(driveWithRests(600, { drivingSinceBreakMin: 0, drivingTodayMin: 0 }, EU)).toEqual({
      breakMin: 45,
      breaks: 1,
      drivingSinceBreakMin: 60,
      restMin: 660,
      rests: 1,
      drivingTodayMin: 60,
    });
  });

  it('reaching the stop exactly at the daily limit needs no rest; one more minute does', () => {
    expect(driveWithRests(60, { drivingSinceBreakMin: 0, drivingTodayMin: 480 }, EU)).toMatchObject({ rests: 0, restMin: 0, drivingTodayMin: 540 });
    expect(driveWithRests(61, { drivingSinceBreakMin: 0, drivingTodayMin: 480 }, EU)).toMatchObject({ rests: 1, restMin: 660, breaks: 0, drivingTodayMin: 1, drivingSinceBreakMin: 1 });
  });

  it('when the daily limit comes before the break limit, the rest is taken and counts as the break', () => {
    expect(driveWithRests(30, { drivingSinceBreakMin: 200, drivingTodayMin: 520 }, EU)).toEqual({
      breakMin: 0,
      breaks: 0,
      drivingSinceBreakMin: 10,
      restMin: 660,
      rests: 1,
      drivingTodayMin: 10,
    });
  });

  it('the US rule has its own figures (11 h of driving, then 10 h off); without a daily limit, the break rule alone', () => {
    expect(driveWithRests(30, { drivingSinceBreakMin: 0, drivingTodayMin: 650 }, BREAK_RULES.US_HOS)).toMatchObject({ rests: 1, restMin: 600 });
    expect(driveWithRests(600, { drivingSinceBreakMin: 0, drivingTodayMin: 0 }, { maxDrivingMin: 270, breakMin: 45 })).toEqual({
      ...driveWithBreaks(600, 0, { maxDrivingMin: 270, breakMin: 45 }),
      restMin: 0,
      rests: 0,
      drivingTodayMin: 600,
    });
    expect(driveWithRests(600, { drivingSinceBreakMin: 0, drivingTodayMin: 0 }, undefined)).toMatchObject({ breakMin: 0, restMin: 0, drivingTodayMin: 600 });
  });
});

describe('drivingDay: the driver’s day from the fixes', () => {
  it('sums the driving across breaks and stops shorter than a daily rest, and measures the stand under way apart', () => {
    const fixes = [...drive(0, 270, 80, 0), ...stand(275, 320, 360), ...drive(325, 595, 80, 360), ...stand(600, 1230, 720)];
    const day = drivingDay(fixes, iso(1230));
    // 270 + 270: the pairs with one moving end (into and out of the break, into the stand) cover no
    // distance, so they drive nothing, and the stand under way began at the last moving fix.
    expect(day.drivingTodayMin).toBe(540);
    expect(day.standingMin).toBe(1230 - 595);
    expect(drivingDay(fixes, iso(400))).toEqual({ drivingTodayMin: 270 + 75, standingMin: 0 });
  });

  it('a stand as long as a (reduced) daily rest ends the day', () => {
    const fixes = [...drive(0, 120, 80, 0), ...stand(125, 125 + 540, 160), ...drive(125 + 545, 125 + 605, 80, 160)];
    expect(drivingDay(fixes, iso(125 + 605)).drivingTodayMin).toBe(60);
  });

  it('a silence between two moving fixes counts as the time its distance takes at their speed, at most its length', () => {
    // The tracker is dead from minute 60 to 160; the truck covered 80 km of it at 80 km/h (and stood the rest).
    const fixes = [...drive(0, 60, 80, 0), ...drive(160, 200, 80, 160)];
    expect(drivingDay(fixes, iso(200)).drivingTodayMin).toBeCloseTo(60 + 60 + 40, 6);
  });
});

describe('predictEta: a daily rest under way', () => {
  const route = routeThrough(northKm(0), northKm(760));
  // 40 km left to the stop at 80 km/h: 30 min of driving.
  const base = { at: iso(1230), position: northKm(720), stops: [{ sequence: 2, type: 'delivery', name: 'S2', location: northKm(760), geofenceRadiusM: 500 } as EtaStop], route, historicalSpeedKmh: 80 };

  it('after 9 h of driving, a stand of 10.5 h is the daily rest: its last 30 min are added before the leg', () => {
    const eta = predictEta({ ...base, drivingMinSinceBreak: 0, drivingMinToday: 540, standingMin: 630 });
    expect(eta.stops[0]).toMatchObject({ restMin: 30, breakMin: 0, eta: iso(1230 + 30 + 30) });
  });

  it('a driver with driving left today may leave now: the stand is not taken for a rest (today’s model)', () => {
    const eta = predictEta({ ...base, drivingMinSinceBreak: 0, drivingMinToday: 300, standingMin: 630 });
    expect(eta.stops[0]).toMatchObject({ restMin: 0, eta: iso(1230 + 30) });
    expect(eta).toEqual(predictEta({ ...base, drivingMinSinceBreak: 0 }));
  });

  it('a stand shorter than a break, one already as long as a full rest, a stand at a stop and no rule: no rest', () => {
    const plain = (extra: object) => predictEta({ ...base, drivingMinSinceBreak: 0, ...extra }).stops[0]!;
    expect(plain({ drivingMinToday: 540, standingMin: 30 })).toMatchObject({ restMin: 0, eta: iso(1230 + 30) });
    expect(plain({ drivingMinToday: 540, standingMin: 660 })).toMatchObject({ restMin: 0, eta: iso(1230 + 30) });
    expect(plain({ drivingMinToday: 540, standingMin: 630, breakRules: 'NONE' })).toMatchObject({ restMin: 0, eta: iso(1230 + 30) });
    const atStop = predictEta({
      ...base,
      drivingMinToday: 540,
      standingMin: 630,
      stops: [{ sequence: 1, type: 'pickup', name: 'S1', location: northKm(720), geofenceRadiusM: 500, status: 'ARRIVED', arrivedAt: iso(600) } as EtaStop, ...base.stops],
    });
    expect(atStop.stops[0]).toMatchObject({ restMin: 0, eta: iso(1230 + 30) });
  });
});

/** A pickup at km 0 and a delivery `km` north, on a straight route. */
function depotToStore(km: number): EtaPlan {
  return {
    stops: [
      { sequence: 1, type: 'pickup', name: 'Depot', location: northKm(0), geofenceRadiusM: 500 },
      { sequence: 2, type: 'delivery', name: 'Store', location: northKm(km), geofenceRadiusM: 500 },
    ],
    route: routeThrough(northKm(0), northKm(km)),
  };
}

describe('predictBoth: the driving day read from the fixes', () => {
  it('a truck parked for the night after its 9 h of driving is predicted to leave when its 11 h are up', () => {
    const plan = depotToStore(760);
    const fixes = [...drive(0, 270, 80, 0), ...stand(275, 320, 360), ...drive(325, 595, 80, 360), ...stand(600, 1230, 720)];
    const progress = { predictedAt: iso(1230), position: northKm(720), stops: [{ sequence: 1, status: 'DEPARTED' as const, arrivedAt: iso(0) }] };
    const { model } = predictBoth({ plan, progress, recentFixes: fixes, historicalSpeedKmh: 80 });
    // Stood since minute 595 (the last moving fix, already at the spot): the rest ends at 595 + 660 = 1255, then 40 km at 80 km/h.
    expect(model.stops[0]).toMatchObject({ sequence: 2, restMin: 25, eta: iso(1255 + 30) });
    // Two hours into the same stand the driver's day is over too: the rest's remaining 8 h 55 min are ahead.
    const early = predictBoth({ plan, progress: { ...progress, predictedAt: iso(720) }, recentFixes: fixes.filter((f) => f.recordedAt <= iso(720)), historicalSpeedKmh: 80 });
    expect(early.model.stops[0]).toMatchObject({ restMin: 535, eta: iso(1255 + 30) });
  });
});

describe('needsDrivingDay: when the activity reads the whole day', () => {
  const plan = depotToStore(900);
  const dayOf = [...drive(0, 270, 80, 0), ...stand(275, 320, 360), ...drive(325, 595, 80, 360), ...stand(600, 700, 720)];
  const window = (fixes: Fix[], at: number) => fixes.filter((f) => f.recordedAt >= iso(at - 315) && f.recordedAt <= iso(at));

  it('only once the truck has stood a break’s length, and a moving truck’s ETA is the same from its window alone', () => {
    const moving = dayOf.filter((f) => f.recordedAt <= iso(590));
    expect(needsDrivingDay(window(moving, 590), iso(590))).toBe(false);
    const progress = { predictedAt: iso(590), position: moving.at(-1)!, stops: [{ sequence: 1, status: 'DEPARTED' as const, arrivedAt: iso(0) }] };
    const fromWindow = predictBoth({ plan, progress, recentFixes: window(moving, 590), historicalSpeedKmh: 80 });
    const fromDay = predictBoth({ plan, progress, recentFixes: moving, historicalSpeedKmh: 80 });
    expect(fromWindow.model.stops).toEqual(fromDay.model.stops);
    // Parked for 20 min: not yet; for 60 min: the stand may be the daily rest.
    expect(needsDrivingDay(window(dayOf, 620), iso(620))).toBe(false);
    expect(needsDrivingDay(window(dayOf, 660), iso(660))).toBe(true);
  });
});

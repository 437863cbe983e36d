import { describe, expect, it } from 'vitest';
import {
  computeEtaAccuracy,
  driveWithBreaks,
  BREAK_RULES,
  estimateSpeed,
  predictEta,
  predictEtaBaseline,
  recordEtaPrediction,
  shouldRepredictEta,
  type EtaStop,
  type EtaPredictionRecord,
} from '../../domain/eta/index.js';
import type { Fix, LatLon, LineString } from '../../domain/types.js';

// Along a meridian the haversine distance is exactly R·Δφ (turf's R = 6,371,008.8 m).
const METRES_PER_DEGREE = (6_371_008.8 * Math.PI) / 180;
const LON = 5;
const T0 = Date.parse('2026-03-02T06:00:00.000Z');
const at = (minute: number) => new Date(T0 + minute * 60_000).toISOString();
const northKm = (km: number): LatLon => ({ lat: 45 + (km * 1000) / METRES_PER_DEGREE, lon: LON });
const routeThrough = (...points: LatLon[]): LineString => ({ type: 'LineString', coordinates: points.map((p) => [p.lon, p.lat]) });

function stop(sequence: number, km: number, extra: Partial<EtaStop> = {}): EtaStop {
  return { sequence, type: sequence === 1 ? 'pickup' : 'delivery', name: `S${sequence}`, location: northKm(km), geofenceRadiusM: 300, ...extra };
}

describe('predictEta: known trips', () => {
  it('a straight leg along the route takes distance / speed exactly', () => {
    const destination = stop(2, 120);
    const prediction = predictEta({
      at: at(0),
      position: northKm(0),
      stops: [stop(1, 0, { status: 'DEPARTED' }), destination],
      route: routeThrough(northKm(0), northKm(120)),
      historicalSpeedKmh: 80,
    });
    expect(prediction.model).toBe('route');
    expect(prediction.speedKmh).toBe(80);
    const [only] = prediction.stops;
    expect(only!.remainingDistanceM).toBeCloseTo(120_000, 3);
    expect(only!.drivingMin).toBeCloseTo(90, 6);
    expect(only).toMatchObject({ sequence: 2, eta: at(90), breakMin: 0, dwellMin: 0, waitMin: 0 });
  });

  it('measures from the point on the route nearest the truck, and adds the truck’s offset', () => {
    const truck = { lat: northKm(30).lat, lon: LON + 0.001 }; // ~79 m east of the road
    const prediction = predictEta({ at: at(0), position: truck, stops: [stop(2, 120)], route: routeThrough(northKm(0), northKm(120)), historicalSpeedKmh: 60 });
    const offsetM = prediction.stops[0]!.remainingDistanceM - 90_000;
    expect(offsetM).toBeGreaterThan(70);
    expect(offsetM).toBeLessThan(90);
  });

  it('without a route uses great-circle distance × 1.3', () => {
    const prediction = predictEta({ at: at(0), position: northKm(0), stops: [stop(2, 100)], historicalSpeedKmh: 65 });
    expect(prediction.model).toBe('great-circle');
    expect(prediction.stops[0]!.remainingDistanceM).toBeCloseTo(130_000, 3);
    expect(prediction.stops[0]!.eta).toBe(at(120));
  });

  it('falls back to great-circle when the truck is far off the planned route', () => {
    const detour = { lat: northKm(50).lat, lon: LON + 0.2 }; // ~15.7 km east
    const prediction = predictEta({ at: at(0), position: detour, stops: [stop(2, 100)], route: routeThrough(northKm(0), northKm(100)) });
    expect(prediction.model).toBe('great-circle');
  });

  it('a leg needing a break: EU 561/2006 adds 45 min after 4.5 h of driving', () => {
    // 480 km at 80 km/h = 6 h of driving.
    const input = { at: at(0), position: northKm(0), stops: [stop(2, 480)], route: routeThrough(northKm(0), northKm(480)), historicalSpeedKmh: 80 } as const;
    const eu = predictEta({ ...input, breakRules: 'EU_561_2006' });
    expect(eu.stops[0]).toMatchObject({ breakMin: 45, eta: at(360 + 45) });
    expect(eu.stops[0]!.drivingMin).toBeCloseTo(360, 6);
    // US hours of service: 30 min only after 8 h, so none on a 6 h leg…
    expect(predictEta({ ...input, breakRules: 'US_HOS' }).stops[0]).toMatchObject({ breakMin: 0, eta: at(360) });
    // …unless the driver has already driven 3 h since the last break.
    expect(predictEta({ ...input, breakRules: 'US_HOS', drivingMinSinceBreak: 180 }).stops[0]).toMatchObject({ breakMin: 30, eta: at(390) });
    expect(predictEta({ ...input, breakRules: 'NONE' }).stops[0]).toMatchObject({ breakMin: 0, eta: at(360) });
  });

  it('a leg ending exactly at the driving limit needs no break; one more minute does', () => {
    const eu = BREAK_RULES.EU_561_2006;
    expect(driveWithBreaks(270, 0, eu)).toEqual({ breakMin: 0, breaks: 0, drivingSinceBreakMin: 270 });
    expect(driveWithBreaks(271, 0, eu)).toEqual({ breakMin: 45, breaks: 1, drivingSinceBreakMin: 1 });
    expect(driveWithBreaks(600, 0, eu)).toEqual({ breakMin: 90, breaks: 2, drivingSinceBreakMin: 60 });
    expect(driveWithBreaks(30, 260, eu)).toMatchObject({ breakMin: 45, drivingSinceBreakMin: 20 });
  });

  it('a two-stop plan: planned dwell at the intermediate stop, and a window that makes the truck wait', () => {
    // 100 km legs at 50 km/h = 120 min each. Stop 2 opens at +180 min with 30 min dwell.
    const stops = [
      stop(1, 0, { status: 'DEPARTED' }),
      stop(2, 100, { plannedDwellMin: 30, window: { start: at(180), end: at(240) } }),
      stop(3, 200, { plannedDwellMin: 45 }),
    ];
    const prediction = predictEta({ at: at(0), position: northKm(0), stops, route: routeThrough(northKm(0), northKm(200)), historicalSpeedKmh: 50 });
    expect(prediction.stops.map((s) => s.sequence)).toEqual([2, 3]);
    expect(prediction.stops[0]).toMatchObject({ eta: at(120), dwellMin: 0, waitMin: 0 });
    // Arrive 120, wait to 180, dwell to 210, drive 120 → 330. The 60 min wait counts as the break.
    expect(prediction.stops[1]).toMatchObject({ eta: at(330), dwellMin: 30, waitMin: 60, breakMin: 0 });
    expect(prediction.stops[1]!.remainingDistanceM).toBeCloseTo(200_000, 3);
    expect(prediction.stops[1]!.drivingMin).toBeCloseTo(240, 6);

    // Without the window: 120 + 30 dwell + 120 = 270 min of which 240 driving, no wait, no break.
    const open = predictEta({ at: at(0), position: northKm(0), stops: stops.map(({ window: _w, ...s }) => s), route: routeThrough(northKm(0), northKm(200)), historicalSpeedKmh: 50 });
    expect(open.stops[1]).toMatchObject({ eta: at(270), dwellMin: 30, waitMin: 0, breakMin: 0 });
  });

  it('a window already open does not delay, and dwell does not count as a break', () => {
    const stops = [stop(2, 200, { plannedDwellMin: 60, window: { start: at(0), end: at(600) } }), stop(3, 400)];
    // 200 km at 80 km/h = 150 min per leg; 300 min of driving > 270: one break on the second leg.
    const prediction = predictEta({ at: at(0), position: northKm(0), stops, historicalSpeedKmh: 80, options: { detourFactor: 1 } });
    expect(prediction.stops[1]).toMatchObject({ eta: at(150 + 60 + 150 + 45), breakMin: 45, dwellMin: 60, waitMin: 0 });
  });

  it('while the truck is at a stop, the rest of its planned dwell delays the next stops', () => {
    const stops = [stop(1, 0, { status: 'ARRIVED', arrivedAt: at(-10), plannedDwellMin: 30 }), stop(2, 60)];
    const prediction = predictEta({ at: at(0), position: northKm(0), stops, route: routeThrough(northKm(0), northKm(60)), historicalSpeedKmh: 60 });
    expect(prediction.stops).toEqual([expect.objectContaining({ sequence: 2, dwellMin: 20, eta: at(20 + 60) })]);
  });

  it('measures a round trip in driving order: the way back is not snapped onto the way out', () => {
    const depot = northKm(0);
    const far = northKm(100);
    const route = routeThrough(depot, far, depot);
    const stops = [stop(1, 0, { status: 'DEPARTED' }), stop(2, 100, { status: 'DEPARTED' }), { ...stop(3, 0), name: 'depot again' }];
    const prediction = predictEta({ at: at(0), position: northKm(40), stops, route, historicalSpeedKmh: 60 });
    expect(prediction.model).toBe('route');
    expect(prediction.stops[0]!.remainingDistanceM).toBeCloseTo(40_000, 0);
    expect(prediction.stops[0]!.eta).toBe(at(40));
  });

  it('returns no stops once every stop has been reached', () => {
    expect(predictEta({ at: at(0), position: northKm(0), stops: [stop(1, 0, { status: 'DEPARTED' })] }).stops).toEqual([]);
  });
});

describe('speed model', () => {
  const moving = (minutes: number, kmh: number): Fix[] =>
    Array.from({ length: minutes + 1 }, (_, i) => ({ recordedAt: at(i - minutes), ...northKm((kmh * i) / 60), speedKmh: kmh }));

  it('uses the historical speed alone without recent data', () => {
    expect(estimateSpeed({ at: at(0), historicalSpeedKmh: 72 })).toMatchObject({ speedKmh: 72, recentWeight: 0, recentMovingMin: 0 });
    expect(estimateSpeed({ at: at(0) }).speedKmh).toBe(60);
  });

  it('weights recent moving speed by how much of it there is (an hour of it = half)', () => {
    const hour = estimateSpeed({ at: at(0), recentFixes: moving(60, 100), historicalSpeedKmh: 60 });
    expect(hour.recentSpeedKmh).toBeCloseTo(100, 9);
    expect(hour.recentWeight).toBeCloseTo(0.5, 9);
    expect(hour.speedKmh).toBeCloseTo(80, 9);
    const quarter = estimateSpeed({ at: at(0), recentFixes: moving(15, 100), historicalSpeedKmh: 60 });
    expect(quarter.recentWeight).toBeCloseTo(0.2, 9);
    expect(quarter.speedKmh).toBeCloseTo(68, 9);
  });

  it('ignores stopped segments, signal gaps, GPS jumps and fixes outside the recent window', () => {
    const parked: Fix[] = Array.from({ length: 20 }, (_, i) => ({ recordedAt: at(-80 + i), ...northKm(0), speedKmh: 0 }));
    const gap: Fix[] = [{ recordedAt: at(-40), ...northKm(10) }, { recordedAt: at(-10), ...northKm(60) }];
    const estimate = estimateSpeed({ at: at(0), recentFixes: [...parked, ...gap, ...moving(10, 90).slice(1)], historicalSpeedKmh: 60 });
    expect(estimate.recentMovingMin).toBe(9);
    expect(estimate.recentSpeedKmh).toBeCloseTo(90, 9);
  });

  it('falls back to distance over time when the device reports no speed', () => {
    const fixes = moving(30, 70).map(({ speedKmh: _s, ...fix }) => fix);
    expect(estimateSpeed({ at: at(0), recentFixes: fixes }).recentSpeedKmh).toBeCloseTo(70, 6);
  });
});

describe('predictEtaBaseline', () => {
  it('drives straight lines through the remaining stops at 60 km/h, nothing else', () => {
    const baseline = predictEtaBaseline({
      at: at(0),
      position: northKm(0),
      stops: [stop(1, 0, { status: 'DEPARTED' }), stop(2, 60, { plannedDwellMin: 90, window: { start: at(500), end: at(600) } }), stop(3, 90)],
    });
    expect(baseline.model).toBe('baseline');
    expect(baseline.stops.map((s) => [s.sequence, s.eta])).toEqual([
      [2, at(60)],
      [3, at(90)],
    ]);
  });
});

describe('shouldRepredictEta', () => {
  it('re-predicts on milestones and at most every 5 minutes of fix time', () => {
    let state = {};
    expect(shouldRepredictEta(state, { kind: 'fix' }, at(0))).toBe(true);
    state = recordEtaPrediction(state, at(0));
    expect(shouldRepredictEta(state, { kind: 'fix' }, at(1))).toBe(false);
    expect(shouldRepredictEta(state, { kind: 'fix' }, at(4.99))).toBe(false);
    expect(shouldRepredictEta(state, { kind: 'milestone' }, at(2))).toBe(true);
    expect(shouldRepredictEta(state, { kind: 'fix' }, at(5))).toBe(true);
    expect(shouldRepredictEta(state, { kind: 'fix' }, at(3), 2)).toBe(true);
  });

  it('a backlog after a gap re-predicts per interval of fix time, not once per batch', () => {
    let state = recordEtaPrediction({}, at(0));
    let predictions = 0;
    for (let minute = 60; minute < 90; minute += 1) {
      if (shouldRepredictEta(state, { kind: 'fix' }, at(minute))) {
        predictions += 1;
        state = recordEtaPrediction(state, at(minute));
      }
    }
    expect(predictions).toBe(6);
    expect(recordEtaPrediction(state, at(10))).toBe(state);
  });
});

describe('computeEtaAccuracy', () => {
  const record = (shipmentId: string, stopSequence: number, source: string, predictedAtMin: number, predictedArrivalMin: number): EtaPredictionRecord => ({
    shipmentId,
    stopSequence,
    source,
    predictedAt: at(predictedAtMin),
    predictedArrival: at(predictedArrivalMin),
  });

  it('takes, per horizon, the latest prediction made at least H before the actual arrival', () => {
    // Shipment A stop 1 arrives at minute 300; shipment B stop 2 arrives at minute 200.
    const arrivals = [
      { shipmentId: 'A', stopSequence: 1, arrivedAt: at(300) },
      { shipmentId: 'B', stopSequence: 2, arrivedAt: at(200) },
      { shipmentId: 'C', stopSequence: 1, arrivedAt: at(100) }, // never predicted
    ];
    const predictions = [
      record('A', 1, 'model', 0, 340), // 300 min before: the 4 h bucket (+40)
      record('A', 1, 'model', 150, 310), // 150 before: the 2 h bucket (+10)
      record('A', 1, 'model', 240, 295), // 60 before: 1 h bucket (−5)
      record('A', 1, 'model', 270, 301), // exactly 30 before: 30 min bucket (+1)
      record('A', 1, 'model', 290, 300), // 10 before: in no bucket
      record('A', 1, 'baseline', 0, 250), // −50 for every bucket
      record('B', 2, 'model', 140, 230), // 60 before: 1 h and 30 min buckets (+30)
      record('B', 2, 'baseline', 140, 180), // −20
      record('Z', 9, 'model', 0, 10), // no arrival: ignored
    ];
    const report = computeEtaAccuracy(predictions, arrivals);
    expect(report.sources).toEqual(['baseline', 'model']);
    expect(report.toleranceMin).toBe(15);
    const bucket = (h: number) => report.horizons.find((x) => x.horizonMin === h)!.bySource;

    expect(bucket(30).model).toEqual({ samples: 2, meanAbsoluteErrorMin: 15.5, meanErrorMin: 15.5, withinToleranceShare: 0.5 });
    expect(bucket(30).baseline).toEqual({ samples: 2, meanAbsoluteErrorMin: 35, meanErrorMin: -35, withinToleranceShare: 0 });
    expect(bucket(60).model).toEqual({ samples: 2, meanAbsoluteErrorMin: 17.5, meanErrorMin: 12.5, withinToleranceShare: 0.5 });
    expect(bucket(120).model).toEqual({ samples: 1, meanAbsoluteErrorMin: 10, meanErrorMin: 10, withinToleranceShare: 1 });
    expect(bucket(240).model).toEqual({ samples: 1, meanAbsoluteErrorMin: 40, meanErrorMin: 40, withinToleranceShare: 0 });
    expect(bucket(240).baseline).toEqual({ samples: 1, meanAbsoluteErrorMin: 50, meanErrorMin: -50, withinToleranceShare: 0 });
  });

  it('reports empty buckets as null rather than zero', () => {
    const report = computeEtaAccuracy([record('A', 1, 'model', 250, 300)], [{ shipmentId: 'A', stopSequence: 1, arrivedAt: at(300) }], { horizonsMin: [30, 240] });
    expect(report.horizons[1]!.bySource.model).toEqual({ samples: 0, meanAbsoluteErrorMin: null, meanErrorMin: null, withinToleranceShare: null });
    expect(report.horizons[0]!.bySource.model!.samples).toBe(1);
  });
});

// The ETA activity's pure part: driving time since the last break read from fixes, and one
// prediction of model and baseline over a plan with the workflow's stop progress.
import { describe, expect, it } from 'vitest';
import { drivingMinSinceBreak, predictBoth, predictEta, predictEtaBaseline, type EtaPlan } from '../../domain/eta/index.js';
import type { Fix } from '../../domain/types.js';

const T = Date.parse('2026-03-02T06:00:00.000Z');
const fix = (minute: number, speedKmh: number): Fix => ({ recordedAt: new Date(T + minute * 60_000).toISOString(), lat: 45 + minute * 0.01, lon: 5, speedKmh });
const every = (from: number, to: number, speedKmh: number) => Array.from({ length: (to - from) / 5 + 1 }, (_, i) => fix(from + 5 * i, speedKmh));

describe('driving time since the last break, from fixes', () => {
  it('counts moving time back to a 45-min stop or silence, not across it', () => {
    const fixes = [...every(0, 120, 80), ...every(125, 170, 0), ...every(175, 300, 80)];
    // 45 min between stationary fixes (125→170) ended the previous driving period. The pair into it
    // counts as driving only for the distance it covers at the moving end's speed (this fixture's
    // stopped fixes still creep north, 5.6 km in 5 min: 4.2 min at 80 km/h).
    expect(drivingMinSinceBreak(fixes, fix(300, 80).recordedAt)).toBeCloseTo(125 + 25 / 6, 1);
    expect(drivingMinSinceBreak([...every(0, 60, 80), ...every(110, 200, 80)], fix(200, 80).recordedAt)).toBe(90);
    // A short halt is no break: its 15 min between stationary fixes, and what the pairs into and out of it did not drive, are not driving.
    expect(drivingMinSinceBreak([...every(0, 60, 80), ...every(65, 80, 0), ...every(85, 120, 80)], fix(120, 80).recordedAt)).toBeCloseTo(95 + 2 * (25 / 6), 1);
  });
});

describe('predictBoth', () => {
  const plan: EtaPlan = {
    stops: [
      { sequence: 1, type: 'pickup', name: 'Valence DC', location: { lat: 45, lon: 5 }, geofenceRadiusM: 300 },
      { sequence: 2, type: 'waypoint', name: 'Vienne hub', location: { lat: 45.5, lon: 5 }, geofenceRadiusM: 300 },
      { sequence: 3, type: 'delivery', name: 'Lyon store', location: { lat: 46, lon: 5 }, geofenceRadiusM: 300 },
    ],
  };
  // Four hours of driving at 80 km/h just before the prediction: the model owes a break soon.
  const recentFixes = every(0, 240, 80);
  const predictedAt = fix(240, 80).recordedAt;
  const progress = {
    predictedAt,
    position: { lat: 45.1, lon: 5 },
    stops: [{ sequence: 1, status: 'DEPARTED' as const, arrivedAt: fix(0, 0).recordedAt }],
  };

  it('predicts only the stops still ahead, with the driving time since the break and the given prior', () => {
    const { model, baseline } = predictBoth({ plan, progress, recentFixes, historicalSpeedKmh: 70 });
    expect(model.stops.map((s) => s.sequence)).toEqual([2, 3]);
    expect(baseline.stops.map((s) => s.sequence)).toEqual([2, 3]);
    const stops = [{ ...plan.stops[0]!, status: 'DEPARTED' as const, arrivedAt: progress.stops[0]!.arrivedAt }, ...plan.stops.slice(1)];
    const drivingMin = drivingMinSinceBreak(recentFixes, predictedAt);
    expect(drivingMin).toBe(240);
    expect(model).toEqual(predictEta({ at: predictedAt, position: progress.position, stops, recentFixes, drivingMinSinceBreak: drivingMin, historicalSpeedKmh: 70 }));
    expect(baseline).toEqual(predictEtaBaseline({ at: predictedAt, position: progress.position, stops }));
    // 4 h driven: the next 30 min reach the EU limit, so the leg to the last stop takes a break.
    expect(model.stops.at(-1)!.breakMin).toBe(45);
  });
});

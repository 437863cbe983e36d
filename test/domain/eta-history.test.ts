// History back into the ETA: the pure learner (dwell per facility, speed per place and hour of
// week, breaks), the model built from its figures (nothing below the thresholds), and on a small
// fixed set of simulated trips: the history-aware ETA falls back to today's model below the
// shipment threshold and improves on held-out trips above it.
import { describe, expect, it } from 'vitest';
import {
  buildEtaHistoryModel,
  cellKey,
  computeEtaAccuracy,
  facilityKey,
  hourOfWeek,
  learnEtaHistory,
  predictBoth,
  type EtaPlan,
  type HistoryShipment,
} from '../../domain/eta/index.js';
import { breakUnderWayMin } from '../../domain/eta/driving-time.js';
import type { Fix } from '../../domain/types.js';
import { simulateEtaHistoryBench } from '../../simulator/eta-replay.js';

const MONDAY = Date.parse('2026-01-05T00:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();
const DEPOT = { lat: 45.0, lon: 4.0 };
const STORE = { lat: 45.0, lon: 5.0 };

/** A truck driving east along 45° N from the depot at `kmh`, a fix a minute, from `startMs`, for `minutes`. */
function drive(startMs: number, minutes: number, kmh: number, fromLon = DEPOT.lon): Fix[] {
  const degPerMin = kmh / 60 / (111.32 * Math.cos((45 * Math.PI) / 180));
  return Array.from({ length: minutes + 1 }, (_, i) => ({ recordedAt: iso(startMs + i * 60_000), lat: 45.0, lon: fromLon + i * degPerMin, speedKmh: kmh }));
}

function shipment(id: string, startMs: number, options: { dwellMin?: number; kmh?: number; plannedDwellMin?: number } = {}): HistoryShipment {
  const dwell = options.dwellMin ?? 60;
  return {
    shipmentId: id,
    stops: [
      { name: ' Depot North ', location: DEPOT, plannedDwellMin: options.plannedDwellMin ?? 45, arrivedAt: iso(startMs), departedAt: iso(startMs + dwell * 60_000) },
      { name: 'Store', location: STORE, plannedDwellMin: 30, arrivedAt: iso(startMs + (dwell + 60) * 60_000), departedAt: null },
    ],
    fixes: drive(startMs + dwell * 60_000, 60, options.kmh ?? 60),
  };
}

describe('history rules', () => {
  it('keys facilities by name and location, places by grid cell, hours from Monday 00:00 UTC', () => {
    expect(facilityKey(' Depot North ', DEPOT)).toBe(facilityKey('depot north', { lat: 45.001, lon: 4.001 }));
    expect(facilityKey('Depot North', DEPOT)).not.toBe(facilityKey('Depot South', DEPOT));
    expect(cellKey({ lat: 45.05, lon: 4.05 })).toBe('450:40');
    expect(hourOfWeek(MONDAY)).toBe(0);
    expect(hourOfWeek(MONDAY + 7 * 24 * 3600_000 - 1)).toBe(167);
    expect(hourOfWeek(Date.parse('2026-01-09T17:30:00Z'))).toBe(4 * 24 + 17);
  });

  it('learns dwell per facility as p50 and p50 beyond the plan, moving speed per cell and hour', () => {
    const figures = learnEtaHistory([20, 30, 40, 50, 200].map((dwellMin, i) => shipment(`s${i}`, MONDAY + 8 * 3600_000 + i * 7 * 24 * 3600_000, { dwellMin })));
    expect(figures.shipments).toBe(5);
    const depot = figures.facilities.find((f) => f.name === 'Depot North')!;
    expect(depot.visits).toBe(5);
    expect(depot.p50DwellMin).toBe(40); // robust to the 200-min outlier
    expect(depot.p50ExcessMin).toBe(-5);
    // The store was reached but never left: no completed visit.
    expect(figures.facilities.find((f) => f.name === 'Store')).toBeUndefined();
    const speeds = figures.corridors;
    expect(speeds.length).toBeGreaterThan(0);
    for (const c of speeds) expect(c.km / (c.movingMin / 60)).toBeCloseTo(60, 5);
  });

  it('leaves a queue out of a place’s speed: one slow passage is an incident, not the traffic', () => {
    const normal = [0, 1, 2, 3].map((i) => shipment(`n${i}`, MONDAY + i * 24 * 3600_000));
    const queue: HistoryShipment = { ...shipment('q', MONDAY + 5 * 24 * 3600_000), fixes: drive(MONDAY + 5 * 24 * 3600_000, 600, 6) };
    const figures = learnEtaHistory([...normal, queue]);
    const first = cellKey({ lat: 45.0, lon: 4.01 });
    const inFirst = figures.corridors.filter((c) => c.cell === first);
    expect(inFirst.reduce((n, c) => n + c.passages, 0)).toBe(4);
    for (const c of inFirst) expect(c.km / (c.movingMin / 60)).toBeCloseTo(60, 5);
  });

  it('builds nothing below the shipment threshold; above, answers dwell and speed where there is enough', () => {
    const shipments = Array.from({ length: 6 }, (_, i) => shipment(`s${i}`, MONDAY + 8 * 3600_000 + i * 7 * 24 * 3600_000, { dwellMin: 90 }));
    const figures = learnEtaHistory(shipments);
    expect(buildEtaHistoryModel(figures, { minShipments: 7 })).toBeUndefined();
    const model = buildEtaHistoryModel(figures, { minShipments: 6, minFacilityVisits: 5, minCellMovingMin: 30 })!;
    expect(model.dwellMin({ name: 'depot north', location: DEPOT, plannedDwellMin: 45 })).toBe(90);
    expect(model.dwellMin({ name: 'Store', location: STORE })).toBeUndefined();
    // Driven at 09:00 on Mondays only; other hours come from the place's mean and the tenant's hour factor.
    const near = { lat: 45.0, lon: 4.05 };
    expect(model.speedKmh(near, MONDAY + 9 * 3600_000)).toBeCloseTo(60, 5);
    expect(model.speedKmh(near, MONDAY + 30 * 3600_000)).toBeCloseTo(60, 5);
    expect(model.speedKmh({ lat: 10, lon: 10 }, MONDAY)).toBeUndefined();
  });

  it('predicts with the figures: learned dwell at the depot and learned speed, and exactly today’s model without them', () => {
    const shipments = Array.from({ length: 20 }, (_, i) => shipment(`s${i}`, MONDAY + 8 * 3600_000 + i * 24 * 3600_000, { dwellMin: 105, kmh: 40 }));
    const model = buildEtaHistoryModel(learnEtaHistory(shipments))!;
    const plan: EtaPlan = {
      stops: [
        { sequence: 1, type: 'pickup', name: 'Depot North', location: DEPOT, geofenceRadiusM: 500, plannedDwellMin: 45 },
        { sequence: 2, type: 'delivery', name: 'Store', location: STORE, geofenceRadiusM: 500 },
      ],
    };
    const at = MONDAY + 30 * 24 * 3600_000 + 8 * 3600_000;
    const progress = { predictedAt: iso(at + 10 * 60_000), position: DEPOT, stops: [{ sequence: 1, status: 'ARRIVED' as const, arrivedAt: iso(at) }] };
    const today = predictBoth({ plan, progress, recentFixes: [] });
    const without = predictBoth({ plan, progress, recentFixes: [], history: {} });
    expect(without.model.stops).toEqual(today.model.stops);
    const learned = predictBoth({ plan, progress, recentFixes: [], history: model.hooks });
    expect(learned.model.history?.dwellStops).toBe(1);
    expect(learned.model.stops[0]!.dwellMin).toBeCloseTo(105 - 10, 5);
    // Slower than today's 60 km/h default where history knows the road (the first ~60 min east of the depot at 40 km/h).
    expect(learned.model.stops[0]!.drivingMin).toBeGreaterThan(today.model.stops[0]!.drivingMin);
  });

  it('credits a break under way away from any stop, not a stand at a stop', () => {
    const at = MONDAY + 12 * 3600_000;
    const driving = drive(at - 80 * 60_000, 60, 50);
    const last = driving.at(-1)!;
    const standing: Fix[] = Array.from({ length: 21 }, (_, i) => ({ recordedAt: iso(at - 20 * 60_000 + i * 60_000), lat: last.lat, lon: last.lon, speedKmh: 0 }));
    const fixes = [...driving, ...standing];
    expect(breakUnderWayMin(fixes, iso(at), [{ location: STORE }])).toBeCloseTo(20, 5);
    expect(breakUnderWayMin(fixes, iso(at), [{ location: { lat: last.lat, lon: last.lon } }])).toBe(0);
    expect(breakUnderWayMin(driving, last.recordedAt, [{ location: STORE }])).toBe(0);
  });
});

describe('history-aware ETA on a small fixed set of simulated trips', () => {
  it('falls back to today’s model below the shipment threshold', { timeout: 120_000 }, () => {
    const data = simulateEtaHistoryBench({ world: 'test-world', historySeed: 'test-history', historyTrips: 4, heldOutSeed: 'test-held-out', heldOutTrips: 3 });
    expect(data.historyUsed).toBe(false);
    const key = (p: { shipmentId: string; stopSequence: number; predictedAt: string }) => `${p.shipmentId}|${p.stopSequence}|${p.predictedAt}`;
    const model = new Map(data.predictions.filter((p) => p.source === 'model').map((p) => [key(p), p.predictedArrival]));
    const history = data.predictions.filter((p) => p.source === 'history');
    expect(history.length).toBeGreaterThan(0);
    for (const p of history) expect(p.predictedArrival).toBe(model.get(key(p)));
  });

  it('improves on held-out trips (another seed) once enough delivered trips are learned', { timeout: 300_000 }, () => {
    const data = simulateEtaHistoryBench({
      world: 'test-world',
      historySeed: 'test-history',
      historyTrips: 60,
      heldOutSeed: 'test-held-out',
      heldOutTrips: 16,
      config: { minShipments: 10, minFacilityVisits: 3 },
    });
    expect(data.historyUsed).toBe(true);
    // Nothing of the held-out half was learned from.
    expect(data.figures.shipments).toBe(data.history.delivered);
    const report = computeEtaAccuracy(data.predictions, data.arrivals);
    for (const horizonMin of [60, 120, 240]) {
      const h = report.horizons.find((x) => x.horizonMin === horizonMin)!;
      expect(h.bySource.history!.samples).toBeGreaterThan(10);
      expect(h.bySource.history!.meanAbsoluteErrorMin!).toBeLessThan(h.bySource.model!.meanAbsoluteErrorMin!);
      expect(h.bySource.history!.meanAbsoluteErrorMin!).toBeLessThan(h.bySource.baseline!.meanAbsoluteErrorMin!);
    }
  });
});

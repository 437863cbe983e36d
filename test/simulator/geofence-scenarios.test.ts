// The drive-by and out-of-order scenarios, without a server: their traces replayed through the
// pure geofence rules and judged by the scenario's own check (milestones, times, forbidden alerts).
import { describe, expect, it } from 'vitest';
import { prepareFixBatch } from '../../domain/fixes.js';
import { distanceM } from '../../domain/geo.js';
import { applyFix, DEFAULT_GEOFENCE_CONFIG, initialTrackingState, LEGACY_GEOFENCE_CONFIG, type GeofenceConfig } from '../../domain/milestones.js';
import type { Fix, Milestone, ShipmentView } from '../../domain/types.js';
import { checkExpectation } from '../../simulator/drive.js';
import { toFix } from '../../simulator/motion.js';
import { planSimulation, stopPlansOf, type ShipmentSpec } from '../../simulator/scenarios.js';

const TRIP_START_MS = Date.parse('2026-05-04T06:00:00.000Z');

/**
 * The scenario's check against the rules' milestones. `as-sent`: batches in the order they reach
 * the API, fixes older than the newest one dropped (the workflow before event-time processing);
 * `fix-time`: every fix in time order, what any upload order must come to.
 */
function replay(spec: ShipmentSpec, config: GeofenceConfig, order: 'as-sent' | 'fix-time'): string[] {
  const stops = stopPlansOf(spec, TRIP_START_MS);
  const batches: Fix[][] = [...spec.trace.deliveries].sort((a, b) => a.sendAtMs - b.sendAtMs).map((d) => d.fixes.map((f) => toFix(f, TRIP_START_MS)));
  const inOrder = order === 'fix-time' ? [batches.flat()] : batches;
  let tracking = initialTrackingState(stops);
  const milestones: Milestone[] = [];
  for (const batch of inOrder) {
    for (const fix of prepareFixBatch(batch, tracking.lastFixAt).fresh) {
      const result = applyFix(tracking, fix, stops, config);
      tracking = result.state;
      for (const e of result.events) if (e.kind === 'milestone') milestones.push({ type: e.type, stopSequence: e.stopSequence, at: e.at });
    }
  }
  const view = { stops: stops.map((s) => ({ ...s, status: 'PENDING' })), milestones, status: tracking.status, anomalies: [] } as unknown as ShipmentView;
  return checkExpectation(spec.expect, view, { anomalies: false, tripStartMs: TRIP_START_MS });
}

describe('drive-by scenario', () => {
  const plan = planSimulation({ seed: 'drive-by-check', vehicles: 6, scenario: 'drive-by', minKm: 120, maxKm: 450 });
  const e2e = planSimulation({ seed: 'e2e-drive-by', vehicles: 1, scenario: 'drive-by', minKm: 120, maxKm: 300 });
  const specs = [...plan.shipments, ...e2e.shipments];

  it('drives through the last stop’s geofence on the way to the one before it', () => {
    for (const spec of specs) {
      const last = spec.stops.at(-1)!;
      const beforeSecondStop = spec.trace.fixes.filter((f) => f.tMs < spec.trace.stopTimes[1]!.arriveMs && f.tMs > spec.trace.stopTimes[0]!.departMs);
      const inside = beforeSecondStop.filter((f) => distanceM(f, last.place) <= last.geofenceRadiusM);
      expect(inside.length, `${spec.key}: ${spec.route.placeIds.join(' → ')}`).toBeGreaterThan(0);
    }
  });

  it('the default rules record every visit at its own time, and no drive-by arrival', () => {
    for (const spec of specs) expect(replay(spec, DEFAULT_GEOFENCE_CONFIG, 'as-sent'), spec.key).toEqual([]);
  });

  it('the legacy rules arrive at the last stop on the drive-by', () => {
    for (const spec of specs) expect(replay(spec, LEGACY_GEOFENCE_CONFIG, 'as-sent')[0], spec.key).toMatch(/^milestones: expected \[ARRIVED@1, DEPARTED@1, ARRIVED@2, .*saw \[ARRIVED@1, DEPARTED@1, ARRIVED@3/);
  });
});

describe('out-of-order scenario', () => {
  const plan = planSimulation({ seed: 'out-of-order-check', vehicles: 6, scenario: 'out-of-order', minKm: 120, maxKm: 450 });
  const e2e = planSimulation({ seed: 'e2e-out-of-order', vehicles: 1, scenario: 'out-of-order', minKm: 120, maxKm: 300 });
  const specs = [...plan.shipments, ...e2e.shipments];

  it('uploads batches held and shuffled: many reach the API after a newer one', () => {
    for (const spec of specs) {
      const sent = [...spec.trace.deliveries].sort((a, b) => a.sendAtMs - b.sendAtMs);
      let newest = -Infinity;
      let overtaken = 0;
      for (const d of sent) {
        if (d.fixes.some((f) => f.tMs < newest)) overtaken += 1;
        newest = Math.max(newest, ...d.fixes.map((f) => f.tMs));
      }
      expect(overtaken, spec.key).toBeGreaterThan(sent.length / 10);
    }
  });

  it('in fix-time order, whatever the upload order, the rules meet the scenario’s expectation', () => {
    for (const spec of specs) expect(replay(spec, DEFAULT_GEOFENCE_CONFIG, 'fix-time'), spec.key).toEqual([]);
  });

  it('processed in arrival order with late fixes dropped, milestones go missing or late (what event-time processing must fix)', () => {
    const wrong = specs.filter((spec) => replay(spec, DEFAULT_GEOFENCE_CONFIG, 'as-sent').length > 0);
    expect(wrong.length).toBeGreaterThan(specs.length / 2);
  });
});

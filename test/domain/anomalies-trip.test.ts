// A whole trip through the pure rules the way the workflow strings them together: milestone
// rules, then anomaly detectors (milestones before the fix), ETA re-prediction on milestones and
// every few minutes of fix time, and anomaly timers firing in workflow time between deliveries.
import { describe, expect } from 'vitest';
import { createAnomalyContext, detectAnomalies } from '../../domain/anomalies/index.js';
import { predictEta, recordEtaPrediction, shouldRepredictEta, type EtaScheduleState } from '../../domain/eta/index.js';
import { applyFix, initialTrackingState, type GeofenceConfig } from '../../domain/milestones.js';
import type { Fix, LatLon, StopPlan } from '../../domain/types.js';
import { minutesFrom, roadFrom, TRIP_T0 } from '../support/road.js';
import { AnomalyRun } from '../support/anomaly-run.js';
import { BOTH_RULE_SETS, itUnder } from '../support/rule-sets.js';

const T0 = TRIP_T0;
const at = minutesFrom(T0);
const road = roadFrom({ lat: 45, lon: 5 });

const stops: StopPlan[] = [
  { sequence: 1, type: 'pickup', name: 'DC', location: road(0), geofenceRadiusM: 500, plannedDwellMin: 45, window: { start: at(0), end: at(60) } },
  { sequence: 2, type: 'waypoint', name: 'Hub', location: road(50), geofenceRadiusM: 500, plannedDwellMin: 30 },
  { sequence: 3, type: 'delivery', name: 'Customer', location: road(100), geofenceRadiusM: 500, window: { start: at(120), end: at(420) } },
];
const route = { type: 'LineString' as const, coordinates: [road(0), road(100)].map((p): [number, number] => [p.lon, p.lat]) };

/** Fixes every 2 minutes: a dwell of 40 min at the DC, 100 min at the hub, a 3 km detour, a silent hour. */
function trip(): Fix[] {
  const fixes: Fix[] = [];
  const push = (minute: number, position: LatLon, speedKmh: number) => fixes.push({ recordedAt: at(minute), ...position, speedKmh });
  for (let m = -10; m < 0; m += 2) push(m, road(m), 60); // approaching the DC from the south
  for (let m = 0; m <= 40; m += 2) push(m, road(0, (m % 6) * 10), 0); // dwell at the DC
  for (let m = 42; m < 90; m += 2) push(m, road(m - 40), 60); // DC → hub at 60 km/h
  for (let m = 90; m <= 190; m += 2) push(m, road(50, (m % 6) * 10), 0); // 100 min at the hub
  for (let m = 192; m < 202; m += 2) push(m, road(50 + (m - 190)), 60);
  for (let m = 202; m <= 208; m += 2) push(m, road(50 + (m - 190), 3000), 55); // detour 3 km east
  for (let m = 210; m <= 220; m += 2) push(m, road(50 + (m - 190)), 60); // back on the route, km 70–80
  for (let m = 280; m < 300; m += 2) push(m, road(80 + (m - 280) / 2), 60); // after a silent hour
  for (let m = 300; m <= 310; m += 2) push(m, road(100, 20), 0); // at the customer
  push(312, road(101), 40); // leaving: delivered
  push(314, road(102), 50);
  return fixes;
}

/**
 * `live`: each fix reaches the workflow 30 s after it was recorded and timers fire in between.
 * `backlog`: the device uploads the whole trip in one batch afterwards; the workflow drains it
 * before its timers run, so only fix-time catch-up can find anything.
 */
function runTrip(delivery: 'live' | 'backlog', geofence: GeofenceConfig) {
  const ctx = createAnomalyContext({ stops, route, thresholds: {} }, undefined, geofence);
  let tracking = initialTrackingState(stops);
  const run = new AnomalyRun(ctx);
  let schedule: EtaScheduleState = {};
  const recent: Fix[] = [];
  const predictions: string[] = [];

  for (const fix of trip()) {
    if (delivery === 'live') run.fireTimersUntil(Date.parse(fix.recordedAt) + 30_000);
    const tracked = applyFix(tracking, fix, stops, geofence);
    tracking = tracked.state;
    const milestones = tracked.events.filter((e) => e.kind === 'milestone');
    run.feed([...milestones, { kind: 'fix', fix }]);
    recent.push(fix);
    if (recent.length > 30) recent.shift();

    if (tracking.status !== 'DELIVERED' && shouldRepredictEta(schedule, { kind: milestones.length > 0 ? 'milestone' : 'fix' }, fix.recordedAt)) {
      const prediction = predictEta({
        at: fix.recordedAt,
        position: fix,
        stops: stops.map((stop) => ({ ...stop, ...tracking.stops.find((s) => s.sequence === stop.sequence) })),
        route,
        recentFixes: recent,
        historicalSpeedKmh: 60,
      });
      run.feed([{ kind: 'eta', ...prediction }]);
      schedule = recordEtaPrediction(schedule, prediction.predictedAt);
      predictions.push(prediction.predictedAt);
    }
    if (tracking.status === 'DELIVERED') run.close(fix.recordedAt, 'delivered');
  }

  run.fireTimersUntil(Date.parse(at(1000)));
  const summary = run.events.map((e) => `${e.action} ${e.type}${e.stopSequence !== undefined ? `#${e.stopSequence}` : ''} @${e.at}`);
  return { ctx, anomalies: run.state, summary, predictions };
}

describe('a trip with a long dwell, a detour and a silent hour', () => {
  itUnder(BOTH_RULE_SETS, 'live: opens and resolves exactly those three anomalies once each', (geofence) => {
    const { ctx, anomalies, summary, predictions } = runTrip('live', geofence);
    expect(summary).toEqual([
      `open LONG_DWELL#2 @${at(150)}`, // arrived at the hub at 90, limit 30 + 30 min
      `resolve LONG_DWELL#2 @${at(192)}`, // first fix beyond the exit radius
      `open OFF_ROUTE @${at(202)}`,
      `resolve OFF_ROUTE @${at(210)}`,
      `open SIGNAL_LOST @${at(250)}`, // opened by the timer, no traffic at all
      `resolve SIGNAL_LOST @${at(280)}`,
    ]);
    expect(anomalies.closed).toBe(true);
    // Re-predicted on milestones and every 5 min of fix time, not on each of ~150 fixes.
    expect(predictions.length).toBeGreaterThan(20);
    expect(predictions.length).toBeLessThan(trip().length / 2);
    expect(detectAnomalies(anomalies, { kind: 'fix', fix: { recordedAt: at(400), ...road(110) } }, ctx).events).toEqual([]);
  });

  itUnder(BOTH_RULE_SETS, 'backlog: the same trip uploaded in one batch afterwards yields the same events from fix times', (geofence) => {
    expect(runTrip('backlog', geofence).summary).toEqual(runTrip('live', geofence).summary);
  });
});

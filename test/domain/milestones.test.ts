import { describe, expect, it } from 'vitest';
import { distanceM } from '../../domain/geo.js';
import { prepareFixBatch } from '../../domain/fixes.js';
import {
  applyFix,
  applyFixes,
  exitRadiusM,
  initialTrackingState,
  markCancelled,
  markDelivered,
  type GeofenceConfig,
  type TrackingEvent,
  type TrackingState,
} from '../../domain/milestones.js';
import type { Fix, LatLon, StopPlan } from '../../domain/types.js';
import { BOTH_RULE_SETS, itUnder } from '../support/rule-sets.js';

const METRES_PER_DEGREE_LAT = 111_320;
const T0 = Date.parse('2026-03-02T06:00:00.000Z');

/** A point `metres` north of `origin` (east when `east` is given). */
function offset(origin: LatLon, north: number, east = 0): LatLon {
  return {
    lat: origin.lat + north / METRES_PER_DEGREE_LAT,
    lon: origin.lon + east / (METRES_PER_DEGREE_LAT * Math.cos((origin.lat * Math.PI) / 180)),
  };
}

function fixAt(minute: number, position: LatLon, extra: Partial<Fix> = {}): Fix {
  return { recordedAt: new Date(T0 + minute * 60_000).toISOString(), lat: position.lat, lon: position.lon, ...extra };
}

const at = (minute: number) => new Date(T0 + minute * 60_000).toISOString();

const lyon: StopPlan = { sequence: 1, type: 'pickup', name: 'Lyon DC', location: { lat: 45.7485, lon: 4.8467 }, geofenceRadiusM: 500 };
const dijon: StopPlan = { sequence: 2, type: 'waypoint', name: 'Dijon hub', location: { lat: 47.322, lon: 5.0415 }, geofenceRadiusM: 400 };
const paris: StopPlan = { sequence: 3, type: 'delivery', name: 'Paris XV', location: { lat: 48.8414, lon: 2.2873 }, geofenceRadiusM: 300 };
const stops = [lyon, dijon, paris];

/** A realistic three-stop trip: waiting outside Lyon, dwell at each stop, road between. */
function trip(): Fix[] {
  const fixes: Fix[] = [];
  let minute = 0;
  const push = (p: LatLon) => fixes.push(fixAt(minute++, p));
  push(offset(lyon.location, 3000));
  push(offset(lyon.location, 1500));
  push(offset(lyon.location, 200)); // minute 2: arrival at Lyon
  for (let i = 0; i < 30; i += 1) push(offset(lyon.location, (i % 3) * 50));
  push(offset(lyon.location, 800)); // minute 33: first fix beyond Lyon's exit radius (625 m)
  push(offset(lyon.location, 2000));
  for (let i = 1; i <= 20; i += 1) {
    const f = i / 21;
    push({ lat: lyon.location.lat + (dijon.location.lat - lyon.location.lat) * f, lon: lyon.location.lon + (dijon.location.lon - lyon.location.lon) * f });
  }
  push(offset(dijon.location, -350)); // minute 55: arrival at Dijon
  for (let i = 0; i < 10; i += 1) push(offset(dijon.location, 20 * i));
  push(offset(dijon.location, 3000)); // minute 66: departure from Dijon
  push(offset(dijon.location, 6000));
  push(offset(paris.location, 0, -5000));
  push(offset(paris.location, 0, -250)); // minute 69: arrival in Paris
  for (let i = 0; i < 5; i += 1) push(offset(paris.location, 10, 10 * i));
  push(offset(paris.location, 1000)); // minute 75: departure from Paris → DELIVERED
  push(offset(paris.location, 5000));
  return fixes;
}

function milestones(events: TrackingEvent[]) {
  return events.filter((e) => e.kind === 'milestone').map((e) => ({ type: e.type, stopSequence: e.stopSequence, at: e.at }));
}

function statuses(events: TrackingEvent[]) {
  return events.filter((e) => e.kind === 'status').map((e) => `${e.from}->${e.to}@${e.at}`);
}

/** What the workflow does with every drained batch. */
function deliverInBatches(batches: Fix[][], config: GeofenceConfig): { state: TrackingState; events: TrackingEvent[]; duplicates: number; stale: number } {
  let state = initialTrackingState(stops);
  const events: TrackingEvent[] = [];
  let duplicates = 0;
  let stale = 0;
  for (const batch of batches) {
    const prepared = prepareFixBatch(batch, state.lastFixAt);
    duplicates += prepared.duplicates;
    stale += prepared.stale;
    const result = applyFixes(state, prepared.fresh, stops, config);
    state = result.state;
    events.push(...result.events);
  }
  return { state, events, duplicates, stale };
}

describe('geo', () => {
  it('measures metres on the ellipsoid-free haversine the geofences use', () => {
    expect(distanceM(lyon.location, offset(lyon.location, 500))).toBeCloseTo(500, -1);
    expect(distanceM(lyon.location, paris.location)).toBeGreaterThan(390_000);
  });
});

describe('geofence milestones', () => {
  itUnder(BOTH_RULE_SETS, 'detects arrival and departure at every stop of a trip, stamped with the fixes’ times', (config) => {
    const { state, events } = applyFixes(initialTrackingState(stops), trip(), stops, config);
    expect(milestones(events)).toEqual([
      { type: 'ARRIVED', stopSequence: 1, at: at(2) },
      { type: 'DEPARTED', stopSequence: 1, at: at(33) },
      { type: 'ARRIVED', stopSequence: 2, at: at(55) },
      { type: 'DEPARTED', stopSequence: 2, at: at(66) },
      { type: 'ARRIVED', stopSequence: 3, at: at(69) },
      { type: 'DEPARTED', stopSequence: 3, at: at(75) },
    ]);
    expect(statuses(events)).toEqual([
      `PLANNED->IN_TRANSIT@${at(0)}`,
      `IN_TRANSIT->AT_STOP@${at(2)}`,
      `AT_STOP->IN_TRANSIT@${at(33)}`,
      `IN_TRANSIT->AT_STOP@${at(55)}`,
      `AT_STOP->IN_TRANSIT@${at(66)}`,
      `IN_TRANSIT->AT_STOP@${at(69)}`,
      `AT_STOP->DELIVERED@${at(75)}`,
    ]);
    expect(state.status).toBe('DELIVERED');
    expect(state.stops.map((s) => s.status)).toEqual(['DEPARTED', 'DEPARTED', 'DEPARTED']);
    expect(state.lastFixAt).toBe(at(76));
  });

  itUnder(['legacy'], 'goes straight from PLANNED to AT_STOP when the first fix is already inside the pickup', (config) => {
    const { events } = applyFixes(initialTrackingState(stops), [fixAt(0, lyon.location)], stops, config);
    expect(statuses(events)).toEqual([`PLANNED->AT_STOP@${at(0)}`]);
    expect(milestones(events)).toEqual([{ type: 'ARRIVED', stopSequence: 1, at: at(0) }]);
  });

  itUnder(BOTH_RULE_SETS, 'never yields a second arrival or a false departure from jitter at the geofence edge', (config) => {
    const exit = exitRadiusM(lyon, config);
    expect(exit).toBe(625);
    // Parked at the fence: readings swing between 450 m and 600 m (inside the exit band),
    // with single spikes beyond the exit radius that the next reading contradicts.
    const distances = [450, 520, 480, 600, 499, 501, 900, 470, 610, 1200, 505, 495, 560, 700, 590];
    const fixes = distances.map((d, i) => fixAt(i, offset(lyon.location, d)));
    const { state, events } = applyFixes(initialTrackingState(stops), fixes, stops, config);
    expect(milestones(events)).toEqual([{ type: 'ARRIVED', stopSequence: 1, at: at(0) }]);
    expect(state.status).toBe('AT_STOP');
    expect(state.stops[0]).toMatchObject({ status: 'ARRIVED', arrivedAt: at(0) });
  });

  itUnder(['legacy'], 'waits for consecutive fixes beyond the exit radius and stamps the departure with the first', (config) => {
    const fixes = [fixAt(0, lyon.location), fixAt(10, offset(lyon.location, 700)), fixAt(11, offset(lyon.location, 900))];
    const first = applyFixes(initialTrackingState(stops), fixes.slice(0, 2), stops, config);
    expect(milestones(first.events)).toEqual([{ type: 'ARRIVED', stopSequence: 1, at: at(0) }]);
    const second = applyFixes(first.state, fixes.slice(2), stops, config);
    expect(milestones(second.events)).toEqual([{ type: 'DEPARTED', stopSequence: 1, at: at(10) }]);
    expect(second.events.find((e) => e.kind === 'milestone')).toMatchObject({ position: { lat: fixes[1]!.lat, lon: fixes[1]!.lon } });
  });

  itUnder(BOTH_RULE_SETS, 'ignores fixes with very poor accuracy for geofencing', (config) => {
    const fixes = [
      fixAt(0, offset(lyon.location, 5000)),
      fixAt(1, lyon.location, { accuracyM: 5000 }), // would be an arrival
      fixAt(2, offset(lyon.location, 100), { accuracyM: 15 }),
      fixAt(3, offset(lyon.location, 5000), { accuracyM: 2500 }), // would start a departure
      fixAt(4, offset(lyon.location, 5000), { accuracyM: 2500 }),
      fixAt(5, offset(lyon.location, 50)),
    ];
    const { state, events } = applyFixes(initialTrackingState(stops), fixes, stops, config);
    expect(milestones(events)).toEqual([{ type: 'ARRIVED', stopSequence: 1, at: at(2) }]);
    expect(state.status).toBe('AT_STOP');
    expect(state.lastFixAt).toBe(at(5));
  });

  itUnder(['legacy'], 'arrives and departs each stop once: coming back into a departed stop changes nothing', (config) => {
    const fixes = [
      fixAt(0, lyon.location),
      fixAt(5, offset(lyon.location, 2000)),
      fixAt(6, offset(lyon.location, 3000)),
      fixAt(20, lyon.location), // forgot a pallet
      fixAt(25, offset(lyon.location, 3000)),
      fixAt(26, offset(lyon.location, 4000)),
    ];
    const { state, events } = applyFixes(initialTrackingState(stops), fixes, stops, config);
    expect(milestones(events)).toEqual([
      { type: 'ARRIVED', stopSequence: 1, at: at(0) },
      { type: 'DEPARTED', stopSequence: 1, at: at(5) },
    ]);
    expect(state.status).toBe('IN_TRANSIT');
  });

  itUnder(['legacy'], 'moves between two docks closer together than the exit margin', (config) => {
    const dockA: StopPlan = { sequence: 1, type: 'pickup', name: 'Dock A', location: lyon.location, geofenceRadiusM: 100 };
    const dockB: StopPlan = { sequence: 2, type: 'delivery', name: 'Dock B', location: offset(lyon.location, 180), geofenceRadiusM: 60 };
    const docks = [dockA, dockB];
    const fixes = [fixAt(0, dockA.location), fixAt(10, dockB.location), fixAt(11, offset(dockB.location, 10)), fixAt(40, offset(dockB.location, 2000)), fixAt(41, offset(dockB.location, 3000))];
    const { state, events } = applyFixes(initialTrackingState(docks), fixes, docks, config);
    expect(milestones(events)).toEqual([
      { type: 'ARRIVED', stopSequence: 1, at: at(0) },
      { type: 'DEPARTED', stopSequence: 1, at: at(10) },
      { type: 'ARRIVED', stopSequence: 2, at: at(10) },
      { type: 'DEPARTED', stopSequence: 2, at: at(40) },
    ]);
    expect(state.status).toBe('DELIVERED');
  });

  itUnder(BOTH_RULE_SETS, 'ignores a fix that is not newer than the last one applied', (config) => {
    const start = applyFix(initialTrackingState(stops), fixAt(10, offset(lyon.location, 5000)), stops, config).state;
    const older = applyFix(start, fixAt(5, lyon.location), stops, config);
    expect(older.events).toEqual([]);
    expect(older.state).toBe(start);
  });

  itUnder(BOTH_RULE_SETS, 'gives the same result for shuffled and repeated fixes as for the clean sequence', (config) => {
    const clean = deliverInBatches([trip()], config);
    const noisy = [...trip(), ...trip().filter((_, i) => i % 4 === 0)];
    // Deterministic shuffle (reverse interleave) so the test is repeatable.
    const shuffled = noisy.map((fix, i) => ({ fix, key: (i * 7919) % noisy.length })).sort((a, b) => a.key - b.key).map((x) => x.fix);
    const result = deliverInBatches([shuffled], config);
    expect(result.events).toEqual(clean.events);
    expect(result.state).toEqual(clean.state);
    expect(result.duplicates).toBe(noisy.length - trip().length);
  });

  itUnder(BOTH_RULE_SETS, 'counts fixes older than the last processed one as stale and does not use them', (config) => {
    const fixes = trip();
    const late = fixes.slice(0, 10);
    const result = deliverInBatches([fixes.slice(10, 30), late], config);
    expect(result.stale).toBe(10);
    // The late fixes would have put the arrival at minute 2; state never moves backwards.
    expect(milestones(result.events)).toEqual([{ type: 'ARRIVED', stopSequence: 1, at: at(10) }]);
  });

  itUnder(BOTH_RULE_SETS, 'gives identical milestones for a backlog uploaded at once and the same fixes sent live', (config) => {
    const fixes = trip();
    const live = deliverInBatches(fixes.map((fix) => [fix]), config);
    const oneBatch = deliverInBatches([fixes], config);
    // Live for the first part, then the device comes back after a gap and uploads hours at once.
    const gapThenBacklog = deliverInBatches([fixes.slice(0, 20), fixes.slice(20, 25), fixes.slice(25)], config);
    // The same backlog arriving in overlapping, unordered chunks (a client retrying).
    const overlapping = deliverInBatches([fixes.slice(0, 30), [...fixes.slice(25, 60)].reverse(), fixes.slice(50)], config);
    for (const result of [oneBatch, gapThenBacklog, overlapping]) {
      expect(result.events).toEqual(live.events);
      expect(result.state).toEqual(live.state);
    }
    // Re-sent fixes cannot be told from late ones once newer fixes were processed: both are dropped.
    expect(overlapping.duplicates + overlapping.stale).toBe(15);
  });

  itUnder(['legacy'], 'marks delivered or cancelled by event, once, and ignores fixes afterwards', (config) => {
    const atStop = applyFixes(initialTrackingState(stops), [fixAt(0, paris.location)], stops, config).state;
    const delivered = markDelivered(atStop, at(5), config);
    expect(delivered.events).toEqual([{ kind: 'status', from: 'AT_STOP', to: 'DELIVERED', at: at(5) }]);
    expect(delivered.state.currentStopSequence).toBeUndefined();
    expect(markDelivered(delivered.state, at(6), config).events).toEqual([]);
    expect(markCancelled(delivered.state, at(6)).events).toEqual([]);
    const after = applyFix(delivered.state, fixAt(10, offset(paris.location, 5000)), stops, config);
    expect(after.events).toEqual([]);
    expect(after.state.lastFixAt).toBe(at(10));

    const cancelled = markCancelled(initialTrackingState(stops), at(1));
    expect(cancelled.events).toEqual([{ kind: 'status', from: 'PLANNED', to: 'CANCELLED', at: at(1) }]);
    expect(applyFixes(cancelled.state, trip(), stops, config).events).toEqual([]);
  });
});

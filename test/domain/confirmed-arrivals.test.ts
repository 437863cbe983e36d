// The default geofence rules: arrivals confirmed by dwell, passes, visit ends after tracker gaps
// and on other evidence, and how LONG_DWELL waits for a departure pending confirmation.
import { describe, expect, it } from 'vitest';
import { createAnomalyContext, detectAnomaliesInOrder, initialAnomalyState, nextAnomalyDeadline, type AnomalyEvent, type AnomalyInput } from '../../domain/anomalies/index.js';
import { DEFAULT_GEOFENCE_CONFIG, LEGACY_GEOFENCE_CONFIG, arrivalRuleOf, resolveGeofenceConfig, type GeofenceConfig } from '../../domain/geofence.js';
import {
  applyFix,
  applyFixes,
  applyManualMilestone,
  initialTrackingState,
  manualMilestoneRefusal,
  markDelivered,
  type TrackingEvent,
  type TrackingState,
} from '../../domain/milestones.js';
import type { Fix, LatLon, StopPlan } from '../../domain/types.js';
import { minutesFrom, roadFrom, TRIP_T0 } from '../support/road.js';

const at = minutesFrom(TRIP_T0);
const road = roadFrom({ lat: 45.76, lon: 4.84 });

// Three urban stops along one road, 300 m geofences (exit radius 400 m).
const depot: StopPlan = { sequence: 1, type: 'pickup', name: 'Depot', location: road(0), geofenceRadiusM: 300 };
const shop: StopPlan = { sequence: 2, type: 'delivery', name: 'Shop', location: road(5), geofenceRadiusM: 300 };
const kiosk: StopPlan = { sequence: 3, type: 'delivery', name: 'Kiosk', location: road(2), geofenceRadiusM: 300 };
const stops = [depot, shop, kiosk];

const fix = (minute: number, position: LatLon, extra: Partial<Fix> = {}): Fix => ({ recordedAt: at(minute), ...position, ...extra });
/** Fixes every `everyMin` from `from` to `to` (inclusive) at `positionAt(minute)`. */
const fixes = (from: number, to: number, everyMin: number, positionAt: (minute: number) => LatLon): Fix[] =>
  Array.from({ length: Math.floor((to - from) / everyMin + 1e-9) + 1 }, (_, i) => from + i * everyMin).map((m) => fix(m, positionAt(m)));

function milestones(events: readonly TrackingEvent[]): string[] {
  return events.flatMap((e) => (e.kind === 'milestone' ? [`${e.type}#${e.stopSequence}@${e.at}`] : []));
}
function statuses(events: readonly TrackingEvent[]): string[] {
  return events.flatMap((e) => (e.kind === 'status' ? [`${e.to}@${e.at}`] : []));
}

function run(input: readonly Fix[], config: GeofenceConfig = DEFAULT_GEOFENCE_CONFIG, plan: readonly StopPlan[] = stops) {
  return applyFixes(initialTrackingState(plan), input, plan, config);
}

/** Visit of the depot (10 min parked), drive north at 30 km/h (0.5 km a minute). */
const atDepot = fixes(0, 10, 1, () => road(0, 15));

describe('confirmed arrivals', () => {
  it('a vehicle standing still inside for 3 min arrives, stamped with its first fix inside; the status waits for it', () => {
    const approach = [fix(-2, road(-1)), fix(-1, road(-0.5))];
    const before = run([...approach, ...fixes(0, 2, 1, () => road(0, 10))]);
    expect(milestones(before.events)).toEqual([]);
    expect(before.state.status).toBe('IN_TRANSIT');
    expect(before.state.stops[0]!.status).toBe('PENDING');
    const confirmed = applyFix(before.state, fix(3, road(0, 20)), stops);
    expect(milestones(confirmed.events)).toEqual([`ARRIVED#1@${at(0)}`]);
    expect(statuses(confirmed.events)).toEqual([`AT_STOP@${at(0)}`]);
    expect(confirmed.state.unconfirmedVisit).toBeUndefined();
  });

  it('a first fix inside the pickup keeps the shipment PLANNED until the visit is confirmed', () => {
    const { events, state } = run(fixes(0, 5, 1, () => road(0)));
    expect(statuses(events)).toEqual([`AT_STOP@${at(0)}`]);
    expect(events.find((e) => e.kind === 'status')).toMatchObject({ from: 'PLANNED', to: 'AT_STOP' });
    expect(state.stops[0]).toMatchObject({ status: 'ARRIVED', arrivedAt: at(0) });
  });

  it('a drive-by is a GEOFENCE_PASSED event, the stop stays armed and its real visit later is the arrival', () => {
    // Depot → past the kiosk (km 2) at 30 km/h → shop (km 5) → back to the kiosk.
    const trip = [
      ...atDepot,
      ...fixes(10.5, 19.5, 0.5, (m) => road((m - 10) * 0.5)), // km 0.25 … 4.75, through the kiosk's fence
      ...fixes(20, 35, 1, () => road(5, 10)),
      ...fixes(35.5, 41, 0.5, (m) => road(5 - (m - 35) * 0.5)), // back south to km 2
      ...fixes(41.5, 55, 1, () => road(2, -10)),
      ...fixes(55.5, 58, 0.5, (m) => road(2 - (m - 55) * 0.5)),
    ];
    const { events, state } = run(trip);
    const passes = events.filter((e) => e.kind === 'pass');
    // Inside the kiosk's 300 m fence from km 1.75 to km 2.25; out of its 400 m exit radius at km 2.5.
    expect(passes).toEqual([{ kind: 'pass', stopSequence: 3, at: at(13.5), exitedAt: at(15), fixesInside: 3 }]);
    expect(milestones(events)).toEqual([
      `ARRIVED#1@${at(0)}`,
      `DEPARTED#1@${at(11)}`,
      `ARRIVED#2@${at(19.5)}`, // km 4.75: inside the shop's fence
      `DEPARTED#2@${at(36)}`, // km 4.5: beyond its exit radius
      `ARRIVED#3@${at(40.5)}`,
      `DEPARTED#3@${at(56)}`,
    ]);
    expect(statuses(events).filter((s) => s.startsWith('AT_STOP'))).toEqual([`AT_STOP@${at(0)}`, `AT_STOP@${at(19.5)}`, `AT_STOP@${at(40.5)}`]);
    expect(state.status).toBe('DELIVERED');
  });

  it('a drive-by with a 90 s red light inside the geofence is still a pass', () => {
    const light = road(2.05);
    const trip = [
      ...atDepot,
      ...fixes(10 + 1 / 12, 14, 1 / 12, (m) => road(Math.min(2.05, (m - 10) * 0.5))), // 5 s fixes up to the light
      ...fixes(14 + 1 / 12, 15.5, 1 / 12, () => light),
      ...fixes(15.5 + 1 / 12, 18, 1 / 12, (m) => road(2.05 + (m - 15.5) * 0.5)),
    ];
    const { events } = run(trip);
    expect(milestones(events)).toEqual([`ARRIVED#1@${at(0)}`, `DEPARTED#1@${at(10 + 10 / 12)}`]);
    expect(events.filter((e) => e.kind === 'pass').map((e) => e.kind === 'pass' && e.stopSequence)).toEqual([3]);
  });

  it('10 min inside confirms a visit even when the vehicle never stands still (shunting in a yard)', () => {
    const yard: StopPlan = { ...depot, geofenceRadiusM: 600 };
    const shunting = fixes(0, 12, 0.5, (m) => road(0, ((m * 2) % 4) * 100 - 200)); // ±200 m, 100 m per 30 s
    const { events } = run(shunting, DEFAULT_GEOFENCE_CONFIG, [yard, shop, kiosk]);
    expect(milestones(events)).toEqual([`ARRIVED#1@${at(0)}`]);
    const confirmedBy = applyFixes(initialTrackingState([yard]), shunting.slice(0, 20), [yard]); // up to minute 9.5
    expect(milestones(confirmedBy.events)).toEqual([]);
  });

  it('a 5-min tracker confirms a visit on its second fix inside', () => {
    const { events } = run([fix(-5, road(-2)), fix(0, road(0)), fix(5, road(0, 30))]);
    expect(milestones(events)).toEqual([`ARRIVED#1@${at(0)}`]);
  });

  it('fixes too inaccurate for geofencing count for nothing', () => {
    const { events } = run([fix(0, road(0)), ...fixes(1, 10, 1, () => road(0)).map((f) => ({ ...f, accuracyM: 5000 }))]);
    expect(milestones(events)).toEqual([]);
  });

  it('per shipment and per stop: a fix count, shorter dwell, or the legacy first-fix arrival', () => {
    const twoFixes = resolveGeofenceConfig({ arrivalDwellMin: 20 }, { arrivalFixes: 2 });
    expect(twoFixes.arrival).toEqual({ dwellMin: 20, stationaryMin: 3, fixes: 2 });
    expect(milestones(run([fix(0, road(0)), fix(0.5, road(0.1))], twoFixes).events)).toEqual([`ARRIVED#1@${at(0)}`]);

    const quickDepot: StopPlan = { ...depot, arrivalConfirmation: { stationaryMin: 1 } };
    expect(arrivalRuleOf(quickDepot, DEFAULT_GEOFENCE_CONFIG)).toEqual({ dwellMin: 10, stationaryMin: 1 });
    expect(milestones(run([fix(0, road(0)), fix(1, road(0))], DEFAULT_GEOFENCE_CONFIG, [quickDepot, shop]).events)).toEqual([`ARRIVED#1@${at(0)}`]);

    const firstFix = resolveGeofenceConfig({}, { arrivalFixes: 1 });
    expect(milestones(run([fix(0, road(0))], firstFix).events)).toEqual([`ARRIVED#1@${at(0)}`]);
    expect(resolveGeofenceConfig({ stationaryRadiusM: 80, trackerGapMin: 20 }, {})).toMatchObject({ stationaryRadiusM: 80, trackerGapMin: 20 });
    expect(resolveGeofenceConfig()).toEqual(DEFAULT_GEOFENCE_CONFIG);
  });

  it('two docks closer than the exit margin: leaving A for B departs A, B is confirmed by its own dwell', () => {
    const dockA: StopPlan = { sequence: 1, type: 'pickup', name: 'Dock A', location: road(0), geofenceRadiusM: 100 };
    const dockB: StopPlan = { sequence: 2, type: 'delivery', name: 'Dock B', location: road(0.18), geofenceRadiusM: 60 };
    const docks = [dockA, dockB];
    const trip = [...fixes(0, 10, 1, () => road(0)), ...fixes(11, 20, 1, () => road(0.18)), fix(21, road(2)), fix(22, road(3))];
    expect(milestones(run(trip, DEFAULT_GEOFENCE_CONFIG, docks).events)).toEqual([
      `ARRIVED#1@${at(0)}`,
      `DEPARTED#1@${at(11)}`,
      `ARRIVED#2@${at(11)}`,
      `DEPARTED#2@${at(21)}`,
    ]);
  });
});

describe('visit ends', () => {
  const parked = fixes(0, 30, 1, () => road(0));

  it('after a tracker gap one fix elsewhere ends the visit, stamped at the last fix inside', () => {
    const { events } = run([...parked, fix(75, road(4))]);
    expect(milestones(events)).toEqual([`ARRIVED#1@${at(0)}`, `DEPARTED#1@${at(30)}`]);
    expect(events.find((e) => e.kind === 'milestone' && e.type === 'DEPARTED')).toMatchObject({ position: road(0) });
    // The legacy rules wait for a second fix and stamp the first one after the gap.
    const legacy = run([...parked, fix(75, road(4)), fix(76, road(4.5))], LEGACY_GEOFENCE_CONFIG);
    expect(milestones(legacy.events)).toEqual([`ARRIVED#1@${at(0)}`, `DEPARTED#1@${at(75)}`]);
  });

  it('with continuous reporting one fix outside is not a departure, two are, stamped at the first', () => {
    const one = run([...parked, fix(31, road(1))]);
    expect(milestones(one.events)).toEqual([`ARRIVED#1@${at(0)}`]);
    expect(one.state.status).toBe('AT_STOP');
    const silenceUnderThreshold = run([...parked, fix(39, road(1)), fix(40, road(1.5))]);
    expect(milestones(silenceUnderThreshold.events)).toEqual([`ARRIVED#1@${at(0)}`, `DEPARTED#1@${at(39)}`]);
    const jitter = run([...parked, fix(31, road(1)), fix(32, road(0))]);
    expect(milestones(jitter.events)).toEqual([`ARRIVED#1@${at(0)}`]);
  });

  it('proof of delivery after a trace that stops one fix past the last stop: departed at that fix, then delivered', () => {
    const lastStop = [depot, shop];
    const trip = [...fixes(0, 10, 1, () => road(0)), ...fixes(11, 19, 1, (m) => road((m - 10) * 0.5)), ...fixes(20, 40, 1, () => road(5)), fix(41, road(5.5))];
    const traced = run(trip, DEFAULT_GEOFENCE_CONFIG, lastStop);
    expect(traced.state.status).toBe('AT_STOP');
    const pod = markDelivered(traced.state, at(90));
    expect(milestones(pod.events)).toEqual([`DEPARTED#2@${at(41)}`]);
    expect(statuses(pod.events)).toEqual([`DELIVERED@${at(41)}`]);
    expect(pod.state).toMatchObject({ status: 'DELIVERED', exitCandidates: [] });
    expect(pod.state.currentStopSequence).toBeUndefined();
    // Legacy: delivered at the event, the stop never departs.
    const legacy = markDelivered(run(trip, LEGACY_GEOFENCE_CONFIG, lastStop).state, at(90), LEGACY_GEOFENCE_CONFIG);
    expect(milestones(legacy.events)).toEqual([]);
    expect(statuses(legacy.events)).toEqual([`DELIVERED@${at(90)}`]);
  });

  it('proof of delivery confirms an unconfirmed visit of the last stop, and leaves a vehicle still inside where it is', () => {
    const lastStop = [depot, shop];
    const unconfirmed = run([...fixes(0, 10, 1, () => road(0)), fix(19, road(4.8)), fix(20, road(5))], DEFAULT_GEOFENCE_CONFIG, lastStop);
    expect(unconfirmed.state.unconfirmedVisit).toMatchObject({ stopSequence: 2, fixes: 2 });
    const pod = markDelivered(unconfirmed.state, at(21));
    expect(milestones(pod.events)).toEqual([`ARRIVED#2@${at(19)}`]);
    expect(statuses(pod.events)).toEqual([`AT_STOP@${at(19)}`, `DELIVERED@${at(21)}`]);
    expect(pod.state.unconfirmedVisit).toBeUndefined();

    const inside = run([...fixes(0, 10, 1, () => road(0))], DEFAULT_GEOFENCE_CONFIG, lastStop);
    expect(markDelivered(inside.state, at(12)).events).toEqual([{ kind: 'status', from: 'AT_STOP', to: 'DELIVERED', at: at(12) }]);
  });

  it('a manual arrival elsewhere closes a visit whose latest fix is outside; a manual departure confirms an unconfirmed visit', () => {
    const leaving = run([...parked, fix(31, road(1))]).state;
    expect(manualMilestoneRefusal(leaving, 'ARRIVED', 2)).toBeUndefined();
    expect(manualMilestoneRefusal(leaving, 'ARRIVED', 2, LEGACY_GEOFENCE_CONFIG)).toBe('the truck is still at stop 1; record its departure first');
    const manual = applyManualMilestone(leaving, 'ARRIVED', 2, at(50), stops);
    expect(milestones(manual.events)).toEqual([`DEPARTED#1@${at(31)}`, `ARRIVED#2@${at(50)}`]);

    const passing = run([...parked, fix(31, road(1)), fix(32, road(1.5)), fix(33, road(1.8))]).state;
    expect(passing.unconfirmedVisit?.stopSequence).toBe(3);
    expect(manualMilestoneRefusal(passing, 'DEPARTED', 3, LEGACY_GEOFENCE_CONFIG)).toBe('the truck has not arrived at stop 3');
    const departed = applyManualMilestone(passing, 'DEPARTED', 3, at(40), stops);
    expect(milestones(departed.events)).toEqual([`ARRIVED#3@${at(33)}`, `DEPARTED#3@${at(40)}`]);
    // An arrival reported at another stop turns the unconfirmed visit into a pass.
    const elsewhere = applyManualMilestone(passing, 'ARRIVED', 2, at(45), stops);
    expect(elsewhere.events.map((e) => e.kind)).toEqual(['pass', 'milestone', 'status']);
  });
});

describe('states carried by running workflows', () => {
  it('a legacy state without the new fields carries on under the default rules', () => {
    const legacy: TrackingState = run(fixes(0, 5, 1, () => road(0)), LEGACY_GEOFENCE_CONFIG).state;
    expect(Object.keys(legacy).sort()).toEqual(['currentStopSequence', 'exitCandidates', 'lastFixAt', 'status', 'stops']);
    const next = applyFixes(legacy, [fix(60, road(3)), fix(61, road(3.5))], stops);
    expect(milestones(next.events)).toEqual([`DEPARTED#1@${at(60)}`]); // no last fix inside known: no gap rule
  });

  it('an unconfirmed visit survives a JSON round trip (continue-as-new)', () => {
    const state = run([fix(0, road(0)), fix(1, road(0))]).state;
    expect(state.unconfirmedVisit).toBeDefined();
    const copy = JSON.parse(JSON.stringify(state)) as TrackingState;
    const next = fix(3, road(0));
    expect(applyFix(copy, next, stops)).toEqual(applyFix(state, next, stops));
  });
});

describe('LONG_DWELL while a departure awaits confirmation', () => {
  const plan = { stops: [depot, shop], thresholds: { longDwellMin: 60 } };
  const arrived: AnomalyInput = { kind: 'milestone', type: 'ARRIVED', stopSequence: 1, at: at(0) };
  const asInput = (f: Fix): AnomalyInput => ({ kind: 'fix', fix: f });

  function feed(geofence: GeofenceConfig, inputs: AnomalyInput[]) {
    const ctx = createAnomalyContext(plan, undefined, geofence);
    const result = detectAnomaliesInOrder(initialAnomalyState(), inputs, ctx);
    return { ...result, deadline: nextAnomalyDeadline(result.state, ctx) };
  }
  const dwell = (events: AnomalyEvent[]) => events.filter((e) => e.type === 'LONG_DWELL').map((e) => `${e.action}@${e.at}`);

  it('no limit opens while the latest fix is beyond the exit radius; the legacy rules keep the timer', () => {
    const inputs = [arrived, ...fixes(0, 40, 5, () => road(0)).map(asInput), asInput(fix(41, road(1)))];
    expect(feed(DEFAULT_GEOFENCE_CONFIG, inputs).deadline).not.toBe(at(60));
    expect(feed(LEGACY_GEOFENCE_CONFIG, inputs).deadline).toBe(at(60));
    // The trace resumes inside after the limit: the vehicle was there all along.
    const back = feed(DEFAULT_GEOFENCE_CONFIG, [...inputs, asInput(fix(70, road(0)))]);
    expect(dwell(back.events)).toEqual([`open@${at(60)}`]);
  });

  it('a departure confirmed later resolves nothing it never opened', () => {
    const inputs = [arrived, ...fixes(0, 40, 5, () => road(0)).map(asInput), asInput(fix(41, road(1)))];
    const departed: AnomalyInput = { kind: 'milestone', type: 'DEPARTED', stopSequence: 1, at: at(41) };
    const { events, deadline } = feed(DEFAULT_GEOFENCE_CONFIG, [...inputs, departed, asInput(fix(200, road(5)))]);
    expect(dwell(events)).toEqual([]);
    expect(deadline).toBe(at(230)); // only SIGNAL_LOST is watched now
  });
});

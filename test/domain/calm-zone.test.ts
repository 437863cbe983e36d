// The calm zone (domain/shipment/calm-zone.ts): a fix inside the zone stated after the fixes
// before it is never the one that decides an arrival, a departure, a pass, an off-route episode
// or the end of an unplanned stop, so delivering it late moves no decision; and there is no zone
// where timing matters.
import { describe, expect, it } from 'vitest';
import { createAnomalyContext } from '../../domain/anomalies/index.js';
import { DEFAULT_ANOMALY_CONFIG } from '../../domain/anomalies/config.js';
import { distanceM } from '../../domain/geo.js';
import { DEFAULT_GEOFENCE_CONFIG, exitRadiusM } from '../../domain/milestones.js';
import { calmZone, insideCalmZone, PARKED_ZONE_MARGIN_M } from '../../domain/shipment/calm-zone.js';
import { buildDecisionContext, decideFixes, initialDecisionState } from '../../domain/shipment/decide.js';
import type { Fix, LatLon, StopPlan } from '../../domain/types.js';
import { minutesFrom, roadFrom, TRIP_T0 } from '../support/road.js';

const at = minutesFrom(TRIP_T0);
const road = roadFrom({ lat: 45, lon: 5 });
const stops: StopPlan[] = [
  { sequence: 1, type: 'pickup', name: 'DC', location: road(0), geofenceRadiusM: 500, plannedDwellMin: 45 },
  { sequence: 2, type: 'waypoint', name: 'Hub', location: road(40), geofenceRadiusM: 500, plannedDwellMin: 30 },
  { sequence: 3, type: 'delivery', name: 'Customer', location: road(80), geofenceRadiusM: 500 },
];
const route = { type: 'LineString' as const, coordinates: [road(0), road(80)].map((p): [number, number] => [p.lon, p.lat]) };
const ctx = buildDecisionContext(stops, { geofence: DEFAULT_GEOFENCE_CONFIG, anomalies: createAnomalyContext({ stops, route, thresholds: {} }) }, { intervalMin: 5, changeMin: 10 });

/** A fix a minute at 60 km/h, a dwell at each stop, a drive-by 700 m off the hub's road, a 3 km detour, a 45-minute break at km 60 and the way back from the customer. */
function trip(): Fix[] {
  const fixes: Fix[] = [];
  const push = (minute: number, position: LatLon, speedKmh: number) => fixes.push({ recordedAt: at(minute), ...position, speedKmh });
  let minute = 0;
  for (; minute < 30; minute++) push(minute, road(0, (minute % 3) * 20), 0);
  for (let km = 1; km <= 40; km++, minute++) push(minute, road(km, km >= 36 && km <= 40 ? 0 : km >= 20 && km <= 24 ? 3_000 : 0), 60);
  for (let i = 0; i < 30; i++, minute++) push(minute, road(40, (i % 3) * 20), 0);
  for (let km = 41; km <= 80; km++, minute++) {
    push(minute, road(km), 60);
    if (km === 60) {
      for (let i = 0; i < 45; i++) push(++minute, road(60, 30 + (i % 4) * 25), 0);
      push(++minute, road(60.2), 15); // pulling away: the fix that ends the stop is close to it
    }
  }
  for (let i = 0; i < 20; i++, minute++) push(minute, road(80, (i % 3) * 20), 0);
  for (let km = 79; km >= 70; km--, minute++) push(minute, road(km), 60);
  return fixes;
}

describe('calmZone', () => {
  const fixes = trip();

  it('never covers a fix that decides a milestone, a pass, an off-route episode or the end of an unplanned stop', () => {
    let state = initialDecisionState(stops);
    let zones = 0;
    let calmFixes = 0;
    const anomalyEvents = new Set<string>();
    for (const fix of fixes) {
      const zone = calmZone(state.rules, ctx);
      const decision = decideFixes(state, [fix], ctx);
      if (zone) {
        zones += 1;
        if (insideCalmZone(zone, fix)) {
          calmFixes += 1;
          const decisive = decision.events.filter(
            (e) =>
              ['ARRIVED', 'DEPARTED', 'PASSED'].includes(e.type) ||
              (e.type.startsWith('ANOMALY') && e.data.anomaly === 'OFF_ROUTE') ||
              (e.type === 'ANOMALY_RESOLVED' && e.data.anomaly === 'UNPLANNED_STOP'),
          );
          expect(decisive, `${fix.recordedAt} inside ${JSON.stringify(zone)}`).toEqual([]);
        }
      }
      for (const e of decision.events) if (e.type.startsWith('ANOMALY')) anomalyEvents.add(`${e.type}:${String(e.data.anomaly)}`);
      state = decision.state;
    }
    // The check above must have had something to check: the open road is calm most of the way,
    // and the trip leaves the route and ends an unplanned stop.
    expect([...anomalyEvents]).toEqual(expect.arrayContaining(['ANOMALY_OPENED:OFF_ROUTE', 'ANOMALY_RESOLVED:OFF_ROUTE', 'ANOMALY_OPENED:UNPLANNED_STOP', 'ANOMALY_RESOLVED:UNPLANNED_STOP']));
    expect(zones).toBeGreaterThan(20);
    expect(calmFixes).toBeGreaterThan(20);
    expect(state.rules.milestones.map((m) => `${m.type}@${m.stopSequence}`)).toEqual(['ARRIVED@1', 'DEPARTED@1', 'ARRIVED@2', 'DEPARTED@2', 'ARRIVED@3', 'DEPARTED@3']);
    expect(state.rules.tracking.status).toBe('DELIVERED');
  });

  it('states no zone before any fix, while a visit is unconfirmed, while leaving a stop, or off the route', () => {
    let state = initialDecisionState(stops);
    expect(calmZone(state.rules, ctx)).toBeUndefined();
    state = decideFixes(state, [fixes[0]!], ctx).state;
    expect(state.rules.tracking.unconfirmedVisit).toBeDefined();
    expect(calmZone(state.rules, ctx)).toBeUndefined();
    // The first fix beyond the pickup's exit radius: the next ones may confirm the departure.
    for (const fix of fixes.slice(1, 31)) state = decideFixes(state, [fix], ctx).state;
    expect(state.rules.tracking.exitCandidates).toHaveLength(1);
    expect(calmZone(state.rules, ctx)).toBeUndefined();
    // 3 km off the road (km 20–24): no zone while the off-route streak runs or the episode is open.
    for (const fix of fixes.slice(31, 30 + 22)) state = decideFixes(state, [fix], ctx).state;
    expect(calmZone(state.rules, ctx)).toBeUndefined();
  });

  it('holds the truck at a confirmed stop inside its exit radius, clear of the other stops', () => {
    let state = initialDecisionState(stops);
    for (const fix of fixes.slice(0, 10)) state = decideFixes(state, [fix], ctx).state;
    expect(state.rules.tracking.status).toBe('AT_STOP');
    const zone = calmZone(state.rules, ctx)!;
    expect(zone).toEqual({ lat: stops[0]!.location.lat, lon: stops[0]!.location.lon, radiusM: exitRadiusM(stops[0]!, DEFAULT_GEOFENCE_CONFIG) - 300 });
    expect(zone.corridor).toBeUndefined();
    expect(insideCalmZone(zone, road(0, 200))).toBe(true);
    // Half-way to the exit radius already wakes the workflow: the departure needs every fix beyond it.
    expect(insideCalmZone(zone, road(0, 400))).toBe(false);
    // Two docks 900 m apart: a disc reaching towards the other dock's exit radius would let an arrival there wait.
    const docks: StopPlan[] = [stops[0]!, { ...stops[1]!, location: road(0.9) }];
    const docksCtx = buildDecisionContext(docks, { geofence: DEFAULT_GEOFENCE_CONFIG, anomalies: createAnomalyContext({ stops: docks, route, thresholds: {} }) }, { intervalMin: 5, changeMin: 10 });
    expect(calmZone(state.rules, docksCtx)).toBeUndefined();
  });

  it('holds a parked truck inside its stationary radius while the unplanned stop is open', () => {
    const breakStart = fixes.findIndex((fix) => fix.speedKmh === 0 && distanceM(fix, road(60)) < 200);
    let state = initialDecisionState(stops);
    for (const fix of fixes.slice(0, breakStart + 32)) state = decideFixes(state, [fix], ctx).state;
    const { anchor, openedAt } = state.rules.anomalies.unplannedStop;
    expect(openedAt).toBeDefined();
    const zone = calmZone(state.rules, ctx)!;
    expect(zone).toMatchObject({ lat: anchor!.lat, lon: anchor!.lon, radiusM: DEFAULT_ANOMALY_CONFIG.stationaryRadiusM - PARKED_ZONE_MARGIN_M });
    expect(insideCalmZone(zone, road(60, 100))).toBe(true);
    // Beyond the stationary radius the truck may be moving again: that fix ends the stop at once.
    const away = { recordedAt: fixes[breakStart + 32]!.recordedAt, ...road(60, 200), speedKmh: 20 };
    expect(insideCalmZone(zone, away)).toBe(false);
    expect(decideFixes(state, [away], ctx).events.map((e) => `${e.type}:${String(e.data.anomaly)}`)).toContain('ANOMALY_RESOLVED:UNPLANNED_STOP');
    // A tenant whose stationary radius leaves too small a disc gets none.
    const tight = buildDecisionContext(stops, { geofence: DEFAULT_GEOFENCE_CONFIG, anomalies: createAnomalyContext({ stops, route, thresholds: { stationaryRadiusM: 40 } }) }, { intervalMin: 5, changeMin: 10 });
    expect(calmZone(state.rules, tight)).toBeUndefined();
  });

  it('lets every position wait once the shipment is delivered', () => {
    let state = initialDecisionState(stops);
    for (const fix of fixes) state = decideFixes(state, [fix], ctx).state;
    expect(state.rules.tracking.status).toBe('DELIVERED');
    const zone = calmZone(state.rules, ctx)!;
    expect(zone).toMatchObject({ lat: state.rules.lastPosition!.lat, lon: state.rules.lastPosition!.lon, radiusM: 25_000 });
    expect(insideCalmZone(zone, road(60))).toBe(true);
    const after = decideFixes(state, [{ recordedAt: at(fixes.length + 10), ...road(60), speedKmh: 60 }], ctx);
    expect(after.events).toEqual([]);
    expect(after.state.rules.milestones).toEqual(state.rules.milestones);
  });

  it('keeps the zone clear of every exit radius and inside the corridor', () => {
    let state = initialDecisionState(stops);
    for (const fix of fixes.slice(0, 30 + 12)) state = decideFixes(state, [fix], ctx).state;
    const zone = calmZone(state.rules, ctx)!;
    expect(zone).toBeDefined();
    for (const stop of stops) expect(distanceM(zone, stop.location) - zone.radiusM).toBeGreaterThan(stop.geofenceRadiusM);
    expect(zone.corridor!.widthM).toBeLessThan(ctx.anomalies.config.offRouteCorridorM);
    // A fix in the disc but beyond the band must wake the workflow: it may be leaving the route.
    expect(insideCalmZone(zone, road(13, 1_200))).toBe(false);
    expect(insideCalmZone(zone, road(13, 100))).toBe(true);
  });
});

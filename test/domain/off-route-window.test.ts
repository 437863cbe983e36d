// OFF_ROUTE searches the route only near the last matched segment. On the simulator's real routes
// and trips (one-way, a detour, a round trip that comes back on itself and a U-turn after the last
// stop) that must decide every fix exactly as a search of the whole route does.
import { describe, expect, it } from 'vitest';
import { createAnomalyContext, DEFAULT_ANOMALY_CONFIG, type AnomalyContext, type AnomalyEvent } from '../../domain/anomalies/index.js';
import { detectOffRoute, type OffRouteState } from '../../domain/anomalies/off-route.js';
import { distanceToRouteM, distanceToRouteNearM, indexRoute, type RouteMatch } from '../../domain/eta/route-geometry.js';
import type { Fix, StopPlan } from '../../domain/types.js';
import { DEFAULT_MOTION, DEVICE_PROFILES, simulateTrip, toFix, type MotionOptions } from '../../simulator/motion.js';
import { placeById } from '../../simulator/places.js';
import { Rng } from '../../simulator/random.js';
import { RoadNetwork } from '../../simulator/road-network.js';
import { planSimulation, plannedRoute } from '../../simulator/scenarios.js';

const EPOCH_MS = Date.parse('2026-01-05T06:00:00.000Z');
const network = new RoadNetwork();

interface Trip {
  name: string;
  ctx: AnomalyContext;
  fixes: Fix[];
  /** The route never comes back near itself: the window always holds the nearest segment. */
  oneWay: boolean;
}

function tripThrough(name: string, placeIds: string[], motion: Partial<MotionOptions>, oneWay: boolean): Trip {
  const route = network.route(placeIds);
  const stops: StopPlan[] = placeIds.map((id, i) => {
    const place = placeById(id);
    return { sequence: i + 1, type: i === 0 ? 'pickup' : 'delivery', name: place.name, location: { lat: place.lat, lon: place.lon }, geofenceRadiusM: 500 };
  });
  const trace = simulateTrip(
    route,
    route.stopOffsetsM.map((atM) => ({ atM, dwellMin: 30 })),
    { ...DEFAULT_MOTION, device: DEVICE_PROFILES.eld, ...motion },
    new Rng(name),
  );
  const ctx = createAnomalyContext({ stops, route: plannedRoute(route), thresholds: {} });
  return { name, ctx, fixes: trace.fixes.map((f) => toFix(f, EPOCH_MS)), oneWay };
}

function trips(): Trip[] {
  const plan = planSimulation({ seed: 'off-route-window', vehicles: 6, scenario: 'off-route' });
  const planned = plan.shipments.slice(0, 3).map((spec): Trip => ({
    name: `${spec.key} (${spec.route.placeIds.join(' → ')}, detour)`,
    ctx: createAnomalyContext({
      stops: spec.stops.map((s, i) => ({ sequence: i + 1, type: s.type, name: s.place.name, location: { lat: s.place.lat, lon: s.place.lon }, geofenceRadiusM: s.geofenceRadiusM })),
      route: plannedRoute(spec.route),
      thresholds: spec.thresholds,
    }),
    fixes: spec.trace.fixes.map((f) => toFix(f, EPOCH_MS)),
    oneWay: false,
  }));
  return [
    ...planned,
    tripThrough('one-way', ['rotterdam-maasvlakte', 'munich'], {}, true),
    // Out and back on the same roads, with a detour on the way back and a U-turn after the last stop.
    tripThrough('round trip', ['antwerp-port', 'cologne', 'antwerp-port'], { detour: { atFraction: 0.7, lengthM: 20_000, offsetM: 4_000 } }, false),
    tripThrough('round trip, on the planned roads', ['rotterdam-maasvlakte', 'munich', 'rotterdam-maasvlakte'], {}, false),
  ];
}

describe('off-route distance near the last match', () => {
  const all = trips();

  it.each(all.map((t) => [t.name, t] as const))('%s: every fix measured as on the whole route', (_name, trip) => {
    const { route, routeIndex } = trip.ctx;
    const index = routeIndex ?? indexRoute(route!);
    const exactAboveM = Math.min(trip.ctx.config.offRouteCorridorM, trip.ctx.config.offRouteReentryM);
    let match: RouteMatch | undefined;
    let exact = 0;
    let far = 0;
    for (const fix of trip.fixes) {
      const whole = distanceToRouteM(route!, fix);
      const near = distanceToRouteNearM(index, fix, match, exactAboveM);
      match = { segmentIndex: near.segmentIndex, at: fix.recordedAt };
      if (near.offsetM === whole) exact += 1;
      else {
        // Only a near leg of the route that is not the nearest one: both within the threshold.
        expect(near.offsetM).toBeGreaterThan(whole);
        expect(near.offsetM).toBeLessThanOrEqual(exactAboveM);
      }
      if (whole > exactAboveM) far += 1;
    }
    expect(trip.fixes.length).toBeGreaterThan(100);
    if (trip.oneWay) expect(exact).toBe(trip.fixes.length);
    else expect(exact).toBeGreaterThan(trip.fixes.length * 0.9);
    if (trip.name.includes('detour')) expect(far).toBeGreaterThan(0);
  });

  it.each(all.map((t) => [t.name, t] as const))('%s: the detector opens and resolves exactly as with whole-route scans', (_name, trip) => {
    const run = (forgetMatch: boolean) => {
      let state: OffRouteState = { tripStarted: true };
      const events: AnomalyEvent[] = [];
      for (const fix of trip.fixes) {
        const { routeMatch: _match, ...withoutMatch } = state;
        const result = detectOffRoute(forgetMatch ? withoutMatch : state, { kind: 'fix', fix }, trip.ctx);
        state = result.state;
        events.push(...result.events);
      }
      const { routeMatch: _match, ...rest } = state;
      return { events, state: rest };
    };
    const windowed = run(false);
    expect(windowed).toEqual(run(true));
    if (trip.name.includes('detour')) expect(windowed.events.map((e) => `${e.action} ${e.type}`)).toContain('open OFF_ROUTE');
  });

  it('keeps the match JSON-serialisable (continue-as-new carries it)', () => {
    const trip = all[0]!;
    let state: OffRouteState = { tripStarted: true };
    for (const fix of trip.fixes.slice(0, 50)) state = detectOffRoute(state, { kind: 'fix', fix }, trip.ctx).state;
    expect(state.routeMatch).toBeDefined();
    expect(JSON.parse(JSON.stringify(state))).toEqual(state);
    expect(DEFAULT_ANOMALY_CONFIG.offRouteReentryM).toBeLessThan(DEFAULT_ANOMALY_CONFIG.offRouteCorridorM);
  });
});

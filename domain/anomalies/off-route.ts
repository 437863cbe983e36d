// OFF_ROUTE: farther than offRouteCorridorM from the planned route for offRouteConsecutiveFixes
// consecutive fixes, once the trip has started; resolved after as many consecutive fixes back
// within offRouteReentryM (smaller than the corridor, so jitter at the edge cannot flap it).
// Stamped with the first fix of the confirming run. Fixes inside a stop geofence count as on
// the route; fixes less accurate than the corridor say nothing and are skipped. No timer: the
// rule is about positions, and without fixes there are none.
import { isWithinM } from '../geo.js';
import { canonicalIso } from '../eta/time.js';
import { distanceToRouteNearM, hasUsableRoute, indexRoute, type RouteMatch } from '../eta/route-geometry.js';
import { openEvent, resolveEvent } from './episode.js';
import type { AnomalyContext, AnomalyInput, DetectorResult, OpenAnomaly } from './types.js';

export interface OffRouteState {
  tripStarted: boolean;
  openedAt?: string;
  /** The last fix's nearest route segment: the next fix searches around it, not the whole route. */
  routeMatch?: RouteMatch;
  /** Consecutive fixes towards the opposite condition: outside while closed, back inside while open. */
  streak?: { count: number; since: string; farthestM: number };
}

export const initialOffRouteState = (): OffRouteState => ({ tripStarted: false });

export function detectOffRoute(state: OffRouteState, input: AnomalyInput, ctx: AnomalyContext): DetectorResult<OffRouteState> {
  if (input.kind === 'milestone') return { state: state.tripStarted ? state : { ...state, tripStarted: true }, events: [] };
  if (input.kind !== 'fix' || !state.tripStarted || !hasUsableRoute(ctx.route)) return { state, events: [] };
  const { fix } = input;
  const { offRouteCorridorM: corridorM, offRouteReentryM: reentryM, offRouteConsecutiveFixes: needed } = ctx.config;
  if (fix.accuracyM !== undefined && fix.accuracyM > corridorM) return { state, events: [] };

  const at = canonicalIso(fix.recordedAt);
  const atStop = ctx.stops.some((stop) => isWithinM(fix, stop.location, stop.geofenceRadiusM));
  // Exact above the smaller threshold, an upper bound below it: both comparisons come out as
  // with the whole route (see distanceToRouteNearM), and an opening fix's distance is exact.
  const found = atStop ? undefined : distanceToRouteNearM(ctx.routeIndex ?? indexRoute(ctx.route), fix, state.routeMatch, Math.min(corridorM, reentryM));
  const offsetM = found?.offsetM ?? 0;
  const counts = state.openedAt === undefined ? offsetM > corridorM : offsetM <= reentryM;
  const { streak: _streak, ...rest } = state;
  const base: OffRouteState = found ? { ...rest, routeMatch: { segmentIndex: found.segmentIndex, at } } : rest;
  if (!counts) return { state: base, events: [] };

  const streak = state.streak
    ? { count: state.streak.count + 1, since: state.streak.since, farthestM: Math.max(state.streak.farthestM, offsetM) }
    : { count: 1, since: at, farthestM: offsetM };
  if (streak.count < needed) return { state: { ...base, streak }, events: [] };

  if (state.openedAt === undefined) {
    const detail = `${Math.round(streak.farthestM)} m from the planned route (corridor ${corridorM} m)`;
    return { state: { ...base, openedAt: streak.since }, events: [openEvent('OFF_ROUTE', streak.since, { detail })] };
  }
  const { openedAt: _opened, ...closed } = base;
  return { state: closed, events: [resolveEvent('OFF_ROUTE', state.openedAt, streak.since, { detail: `back within ${reentryM} m of the route` })] };
}

export function offRouteOpen(state: OffRouteState): OpenAnomaly[] {
  return state.openedAt === undefined ? [] : [{ type: 'OFF_ROUTE', openedAt: state.openedAt }];
}

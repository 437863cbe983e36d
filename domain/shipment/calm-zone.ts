// Which fixes may wait. The workflow states a zone inside which no fix can be the one that decides
// an arrival, a departure or an off-route episode. On the road: a disc around the truck's last
// position that keeps a margin from every stop's exit radius (a fix inside is, by the triangle
// inequality, as far from them as the disc allows), cut down to a band along the stretch of
// planned route it holds, narrower than the off-route corridor by the same margin. At a stop whose
// arrival is confirmed: a disc around the stop, the margin inside its exit radius and clear of
// every other pending stop (a fix inside neither leaves it nor enters another). Parked on an
// unplanned stop (a break, a rest): a disc just inside the stationary radius around where the
// truck stopped, kept clear of stops and the route's edge as on the road (a fix inside does not
// end the stop). Once delivered nothing is decided by a position any more: a disc around the last
// one. The ingest edge stores such fixes without waking the workflow and delivers them in
// short-deferred batches; any other fix wakes it at once. Deciding stays the workflow's: it reads every stored fix in order when it
// wakes, so deferral changes when a decision is taken, never what it is.
import { openAnomalyTypes } from '../anomalies/index.js';
import { distanceToRouteM, distanceToRouteNearM, hasUsableRoute, indexRoute, type RouteIndex } from '../eta/route-geometry.js';
import { distanceM } from '../geo.js';
import { exitRadiusM } from '../milestones.js';
import type { LatLon } from '../types.js';
import type { RuleContext, RuleState } from './rules.js';

export interface CalmZone {
  lat: number;
  lon: number;
  radiusM: number;
  /** Once the trip is under way on a planned route: the zone is only the part within `widthM` of `path` ([lon, lat] vertices). */
  corridor?: { path: [number, number][]; widthM: number };
}

/** Kept clear of every geofence exit radius and of the corridor's edge (GPS noise, the edge's own approximation). */
export const CALM_ZONE_MARGIN_M = 300;
/** Smaller discs are not worth stating: the next fix would leave them. */
export const CALM_ZONE_MIN_RADIUS_M = 250;
/** Larger discs add nothing a deferred delivery would not refresh, and keep the edge's flat-earth check accurate. */
export const CALM_ZONE_MAX_RADIUS_M = 25_000;
/**
 * Open anomalies the next position may resolve (a fix after silence, moving again, back on the
 * route): their fixes wake the workflow at once, except a parked truck's within its stationary
 * radius. LATE, OUT_OF_SEQUENCE and a temperature excursion (a 15-minute rule) do not hold up a
 * calm truck's fixes.
 */
export const RESOLVED_BY_A_POSITION: ReadonlySet<string> = new Set(['SIGNAL_LOST', 'UNPLANNED_STOP', 'OFF_ROUTE']);
/** A parked truck's disc stays this far inside the stationary radius: the edge's flat map, rounding. */
export const PARKED_ZONE_MARGIN_M = 10;
/** GPS drift of a parked truck stays within tens of metres: a smaller disc than on the road pays. */
const PARKED_ZONE_MIN_RADIUS_M = 50;
/** Route vertices the band may follow (a winding road gives a shorter band, never a wrong one). */
const MAX_CORRIDOR_VERTICES = 32;

/**
 * The calm zone of the shipment as decided so far, or none: before the first fix, near a stop it
 * is not at, while a visit is unconfirmed or the truck may be leaving, with an anomaly open that
 * a position resolves (lost signal, off route; an unplanned stop only where the truck stopped)
 * or an off-route streak under way.
 */
export function calmZone(rules: RuleState, ctx: RuleContext): CalmZone | undefined {
  const { tracking, anomalies, lastPosition } = rules;
  if (!lastPosition || tracking.status === 'PLANNED' || tracking.status === 'CANCELLED') return undefined;
  if (tracking.status === 'DELIVERED') return { lat: lastPosition.lat, lon: lastPosition.lon, radiusM: CALM_ZONE_MAX_RADIUS_M };
  if (tracking.exitCandidates.length > 0 || tracking.unconfirmedVisit !== undefined) return undefined;
  const parkedAt = anomalies.unplannedStop.openedAt === undefined ? undefined : anomalies.unplannedStop.anchor;
  const blocking = openAnomalyTypes(anomalies).filter((type) => RESOLVED_BY_A_POSITION.has(type) && !(type === 'UNPLANNED_STOP' && parkedAt));
  if (anomalies.offRoute.streak !== undefined || blocking.length > 0) return undefined;
  if (tracking.status === 'AT_STOP') return dwellZone(tracking.currentStopSequence, ctx);
  if (parkedAt) return roadZone({ lat: parkedAt.lat, lon: parkedAt.lon, recordedAt: parkedAt.at }, ctx.anomalies.config.stationaryRadiusM - PARKED_ZONE_MARGIN_M, PARKED_ZONE_MIN_RADIUS_M, rules, ctx);
  return roadZone(lastPosition, CALM_ZONE_MAX_RADIUS_M, CALM_ZONE_MIN_RADIUS_M, rules, ctx);
}

/** A disc around `centre` of at most `maxRadiusM`, clear of every stop's exit radius, cut to a band along the route once the trip is under way. */
function roadZone(centre: LatLon & { recordedAt: string }, maxRadiusM: number, minRadiusM: number, rules: RuleState, ctx: RuleContext): CalmZone | undefined {
  let radiusM = maxRadiusM;
  for (const stop of ctx.stops) radiusM = Math.min(radiusM, distanceM(centre, stop.location) - exitRadiusM(stop, ctx.geofence) - CALM_ZONE_MARGIN_M);
  if (radiusM < minRadiusM) return undefined;
  const zone: CalmZone = { lat: centre.lat, lon: centre.lon, radiusM: Math.floor(radiusM) };
  const { route, config } = ctx.anomalies;
  if (!rules.anomalies.offRoute.tripStarted || !hasUsableRoute(route)) return zone;

  const widthM = config.offRouteCorridorM - CALM_ZONE_MARGIN_M;
  const index = ctx.anomalies.routeIndex ?? indexRoute(route);
  const near = distanceToRouteNearM(index, centre, rules.anomalies.offRoute.routeMatch, config.offRouteCorridorM);
  if (widthM <= 0 || near.offsetM > widthM) return undefined;
  return { ...zone, corridor: { path: stretchWithin(index, near.segmentIndex, radiusM), widthM } };
}

/** Whether a fix lies inside the zone, on turf's sphere (the ingest edge checks the same in SQL, on a flat local map). */
export function insideCalmZone(zone: CalmZone, fix: LatLon): boolean {
  return distanceM(fix, zone) <= zone.radiusM && (!zone.corridor || distanceToRouteM({ type: 'LineString', coordinates: zone.corridor.path }, fix) <= zone.corridor.widthM);
}

/** Around the stop the truck is confirmed at: inside its exit radius and clear of the other stops' exit radii, by the margin. */
function dwellZone(sequence: number | undefined, ctx: RuleContext): CalmZone | undefined {
  const stop = ctx.stops.find((candidate) => candidate.sequence === sequence);
  if (!stop) return undefined;
  let radiusM = exitRadiusM(stop, ctx.geofence) - CALM_ZONE_MARGIN_M;
  for (const other of ctx.stops) {
    if (other.sequence !== stop.sequence) radiusM = Math.min(radiusM, distanceM(stop.location, other.location) - exitRadiusM(other, ctx.geofence) - CALM_ZONE_MARGIN_M);
  }
  return radiusM < CALM_ZONE_MIN_RADIUS_M ? undefined : { lat: stop.location.lat, lon: stop.location.lon, radiusM: Math.floor(radiusM) };
}

/** The route's vertices around segment `segment` as far as `radiusM` either way along it (at most MAX_CORRIDOR_VERTICES). */
function stretchWithin(index: RouteIndex, segment: number, radiusM: number): [number, number][] {
  const coordinates = index.route.coordinates as [number, number][];
  let first = segment;
  let last = segment + 1;
  const along = index.alongM;
  while (last - first + 1 < MAX_CORRIDOR_VERTICES && (first > 0 || last < coordinates.length - 1)) {
    const back = first > 0 && along[segment]! - along[first]! < radiusM;
    const ahead = last < coordinates.length - 1 && along[last]! - along[segment + 1]! < radiusM;
    if (!back && !ahead) break;
    if (ahead) last += 1;
    if (back && last - first + 1 < MAX_CORRIDOR_VERTICES) first -= 1;
  }
  return coordinates.slice(first, last + 1);
}

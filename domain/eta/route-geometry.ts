// Positions along a planned route (GeoJSON LineString), for the ETA model and OFF_ROUTE.
// turf does the geodesy; this file only chooses which part of the route to project onto, so a
// route that comes back on itself (a round trip, a multi-drop loop) is measured in driving order.
import { lineString, point } from '@turf/helpers';
import { nearestPointOnLine } from '@turf/nearest-point-on-line';
import { distanceM } from '../geo.js';
import type { LatLon, LineString } from '../types.js';

export interface RoutePosition {
  /** Distance along the route from its first coordinate to the projected point, metres. */
  alongM: number;
  /** Distance from the position to the projected point (how far off the route it is), metres. */
  offsetM: number;
  /** Index of the route segment holding the projected point (segment i joins coordinates i and i+1). */
  segmentIndex: number;
  /** The projected point, [lon, lat]. */
  point: [number, number];
}

export function hasUsableRoute(route: LineString | undefined): route is LineString {
  return route !== undefined && route.coordinates.length >= 2;
}

/** Distance from a position to the nearest point of the whole route, metres. */
export function distanceToRouteM(route: LineString, position: LatLon): number {
  return nearestPointOnLine(lineString(route.coordinates), point([position.lon, position.lat]), { units: 'meters' }).properties.pointDistance;
}

/** A route with the distance along it at each coordinate: computed once per workflow run, not per fix. */
export interface RouteIndex {
  route: LineString;
  /** alongM[i]: distance from the first coordinate to coordinate i, metres. */
  alongM: number[];
}

export function indexRoute(route: LineString): RouteIndex {
  const alongM = [0];
  for (let i = 1; i < route.coordinates.length; i++) {
    const [aLon, aLat] = route.coordinates[i - 1]!;
    const [bLon, bLat] = route.coordinates[i]!;
    alongM.push(alongM[i - 1]! + distanceM({ lon: aLon, lat: aLat }, { lon: bLon, lat: bLat }));
  }
  return { route, alongM };
}

/** Where the previous fix matched the route: the search window of the next one starts here. */
export interface RouteMatch {
  segmentIndex: number;
  /** Fix time of that fix (ISO): the longer ago, the farther ahead the truck may be. */
  at: string;
}

export interface RouteOffset {
  offsetM: number;
  segmentIndex: number;
}

/** Window around the last match: a little behind (GPS noise), ahead as far as a truck can drive since. */
const WINDOW_BEHIND_M = 2_000;
const WINDOW_AHEAD_M = 5_000;
const MAX_SPEED_M_PER_MS = 150 / 3_600;

function nearestOnSegments(coordinates: [number, number][], firstVertex: number, lastVertex: number, position: LatLon): RouteOffset {
  const window = firstVertex === 0 && lastVertex === coordinates.length - 1 ? coordinates : coordinates.slice(firstVertex, lastVertex + 1);
  const nearest = nearestPointOnLine(lineString(window), point([position.lon, position.lat]), { units: 'meters' });
  // turf reports the window's final vertex as a segment of its own; clamp to the window's last segment.
  return { offsetM: nearest.properties.pointDistance, segmentIndex: firstVertex + Math.min(nearest.properties.segmentIndex, window.length - 2) };
}

/**
 * Distance to the route, searching only the segments near `near` (the last match). Each segment's
 * distance is turf's, computed the same way as over the whole route, so a window holding the
 * nearest segment gives exactly `distanceToRouteM`; a window can only over-state it. So whenever
 * the window puts the truck farther than `exactAboveM`, or there is no previous match, the whole
 * route is searched: every distance above `exactAboveM` is exact, and one at or below it is a
 * true upper bound (on a route that comes back on itself, the distance to the leg being driven).
 */
export function distanceToRouteNearM(index: RouteIndex, position: LatLon & { recordedAt: string }, near: RouteMatch | undefined, exactAboveM: number): RouteOffset {
  const coordinates = index.route.coordinates as [number, number][];
  const lastVertex = coordinates.length - 1;
  if (near !== undefined && near.segmentIndex >= 0 && near.segmentIndex < lastVertex) {
    const elapsedMs = Math.max(0, Date.parse(position.recordedAt) - Date.parse(near.at));
    const fromM = index.alongM[near.segmentIndex]! - WINDOW_BEHIND_M;
    const toM = index.alongM[near.segmentIndex + 1]! + WINDOW_AHEAD_M + (Number.isFinite(elapsedMs) ? elapsedMs : 0) * MAX_SPEED_M_PER_MS;
    let first = near.segmentIndex;
    while (first > 0 && index.alongM[first]! > fromM) first -= 1;
    let last = near.segmentIndex + 1;
    while (last < lastVertex && index.alongM[last]! < toM) last += 1;
    const local = nearestOnSegments(coordinates, first, last, position);
    if (local.offsetM <= exactAboveM) return local;
  }
  return nearestOnSegments(coordinates, 0, lastVertex, position);
}

/**
 * Projects `position` onto the part of the route between `from` and `to` (both optional, both
 * earlier projections on the same route). Restricting the search window is what keeps a stop
 * on the way back of a round trip from snapping onto the way out.
 */
export function projectOntoRoute(route: LineString, position: LatLon, from?: RoutePosition, to?: RoutePosition): RoutePosition {
  const coordinates = route.coordinates;
  if (from && to && to.alongM <= from.alongM) return { ...from, offsetM: distanceM(position, { lon: from.point[0], lat: from.point[1] }) };

  const firstIndex = from ? from.segmentIndex + 1 : 0;
  const lastIndex = to ? to.segmentIndex : coordinates.length - 1;
  const window: [number, number][] = [
    ...(from ? [from.point] : []),
    ...coordinates.slice(firstIndex, lastIndex + 1),
    ...(to ? [to.point] : []),
  ];
  if (window.length < 2) {
    const only = window[0] ?? coordinates[0]!;
    return { alongM: from?.alongM ?? 0, offsetM: distanceM(position, { lon: only[0], lat: only[1] }), segmentIndex: from?.segmentIndex ?? 0, point: only };
  }

  const nearest = nearestPointOnLine(lineString(window), point([position.lon, position.lat]), { units: 'meters' });
  const [lon, lat] = nearest.geometry.coordinates as [number, number];
  return {
    alongM: (from?.alongM ?? 0) + nearest.properties.totalDistance,
    offsetM: nearest.properties.pointDistance,
    // turf reports the final vertex as a segment of its own; clamp to the route's last segment.
    segmentIndex: Math.min((from?.segmentIndex ?? 0) + nearest.properties.segmentIndex, coordinates.length - 2),
    point: [lon, lat],
  };
}

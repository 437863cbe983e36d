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

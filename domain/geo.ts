// Geodesy helpers on WGS84 coordinates. Pure and deterministic: safe inside workflow code.
import { distance } from '@turf/distance';
import { point } from '@turf/helpers';
import type { LatLon } from './types.js';

/** Great-circle (haversine) distance in metres. */
export function distanceM(a: LatLon, b: LatLon): number {
  return distance(point([a.lon, a.lat]), point([b.lon, b.lat]), { units: 'meters' });
}

/** Whether `position` lies within `radiusM` metres of `center` (boundary included). */
export function isWithinM(position: LatLon, center: LatLon, radiusM: number): boolean {
  return distanceM(position, center) <= radiusM;
}

// Geodesy helpers on WGS84 coordinates. Pure and deterministic: safe inside workflow code.
import type { LatLon } from './types.js';

/** The mean Earth radius turf uses, so distances here equal @turf/distance's to the bit. */
const EARTH_RADIUS_M = 6371008.8;

const radians = (degrees: number): number => ((degrees % 360) * Math.PI) / 180;

/**
 * Great-circle (haversine) distance in metres: @turf/distance's formula, term for term, without
 * building two GeoJSON points per call (a third of the per-fix rules' time went there). Equal to
 * turf's result bit for bit (test/domain/geo.test.ts), so decisions in running workflows do not move.
 */
export function distanceM(a: LatLon, b: LatLon): number {
  const dLat = radians(b.lat - a.lat);
  const dLon = radians(b.lon - a.lon);
  const h = Math.pow(Math.sin(dLat / 2), 2) + Math.pow(Math.sin(dLon / 2), 2) * Math.cos(radians(a.lat)) * Math.cos(radians(b.lat));
  return 2 * Math.atan2(Math.sqrt(h), Math.sqrt(1 - h)) * EARTH_RADIUS_M;
}

/** Whether `position` lies within `radiusM` metres of `center` (boundary included). */
export function isWithinM(position: LatLon, center: LatLon, radiusM: number): boolean {
  return distanceM(position, center) <= radiusM;
}

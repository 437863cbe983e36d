// Test geometry: a straight road due north from an origin, and minutes after a start time.
// North is exact along a meridian; east is good to a few metres at these scales.
import type { LatLon } from '../../domain/types.js';

export const METRES_PER_DEGREE = (6_371_008.8 * Math.PI) / 180;
export const TRIP_T0 = Date.parse('2026-03-02T06:00:00.000Z');

/** The point `km` up the road from `origin`, `eastM` metres off it. */
export function roadFrom(origin: LatLon): (km: number, eastM?: number) => LatLon {
  return (km, eastM = 0) => {
    const lat = origin.lat + (km * 1000) / METRES_PER_DEGREE;
    return { lat, lon: origin.lon + eastM / (METRES_PER_DEGREE * Math.cos((lat * Math.PI) / 180)) };
  };
}

/** ISO time `minute` minutes after `t0` (ms). */
export function minutesFrom(t0: number): (minute: number) => string {
  return (minute) => new Date(t0 + minute * 60_000).toISOString();
}

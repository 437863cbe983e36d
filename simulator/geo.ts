// Small spherical helpers for the simulator: distances, bearings, offsets and walking a polyline.
import type { LatLon } from '../domain/types.js';

const EARTH_RADIUS_M = 6_371_008.8;
const RAD = Math.PI / 180;

export function distanceM(a: LatLon, b: LatLon): number {
  const dLat = (b.lat - a.lat) * RAD;
  const dLon = (b.lon - a.lon) * RAD;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * RAD) * Math.cos(b.lat * RAD) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Initial bearing from a to b, degrees clockwise from north in [0, 360). */
export function bearingDeg(a: LatLon, b: LatLon): number {
  const y = Math.sin((b.lon - a.lon) * RAD) * Math.cos(b.lat * RAD);
  const x =
    Math.cos(a.lat * RAD) * Math.sin(b.lat * RAD) - Math.sin(a.lat * RAD) * Math.cos(b.lat * RAD) * Math.cos((b.lon - a.lon) * RAD);
  return (Math.atan2(y, x) / RAD + 360) % 360;
}

/** The point `distance` metres from `from` along `bearing` (flat approximation, fine below ~50 km). */
export function offsetM(from: LatLon, bearing: number, distance: number): LatLon {
  const north = distance * Math.cos(bearing * RAD);
  const east = distance * Math.sin(bearing * RAD);
  return {
    lat: from.lat + north / (EARTH_RADIUS_M * RAD),
    lon: from.lon + east / (EARTH_RADIUS_M * RAD * Math.cos(from.lat * RAD)),
  };
}

export function lerp(a: LatLon, b: LatLon, f: number): LatLon {
  return { lat: a.lat + (b.lat - a.lat) * f, lon: a.lon + (b.lon - a.lon) * f };
}

/** A polyline with cumulative distances, for "where am I after d metres" look-ups. */
export class Polyline {
  readonly cumulativeM: number[];
  readonly lengthM: number;

  constructor(readonly points: readonly LatLon[]) {
    if (points.length < 2) throw new Error('a polyline needs at least two points');
    this.cumulativeM = [0];
    for (let i = 1; i < points.length; i++) this.cumulativeM.push(this.cumulativeM[i - 1]! + distanceM(points[i - 1]!, points[i]!));
    this.lengthM = this.cumulativeM[this.cumulativeM.length - 1]!;
  }

  /** Position and heading after `d` metres (clamped to the ends). */
  at(d: number): { point: LatLon; headingDeg: number } {
    const target = Math.min(Math.max(d, 0), this.lengthM);
    let lo = 0;
    let hi = this.cumulativeM.length - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (this.cumulativeM[mid]! <= target) lo = mid;
      else hi = mid;
    }
    const a = this.points[lo]!;
    const b = this.points[hi]!;
    const span = this.cumulativeM[hi]! - this.cumulativeM[lo]!;
    const f = span === 0 ? 0 : (target - this.cumulativeM[lo]!) / span;
    return { point: lerp(a, b, f), headingDeg: bearingDeg(a, b) };
  }

  /** Shortest distance from p to the polyline, metres (local flat projection per segment). */
  distanceTo(p: LatLon): number {
    let best = Infinity;
    const kx = EARTH_RADIUS_M * RAD * Math.cos(p.lat * RAD);
    const ky = EARTH_RADIUS_M * RAD;
    for (let i = 1; i < this.points.length; i++) {
      const a = this.points[i - 1]!;
      const b = this.points[i]!;
      const ax = (a.lon - p.lon) * kx;
      const ay = (a.lat - p.lat) * ky;
      const bx = (b.lon - p.lon) * kx;
      const by = (b.lat - p.lat) * ky;
      const dx = bx - ax;
      const dy = by - ay;
      const len2 = dx * dx + dy * dy;
      const t = len2 === 0 ? 0 : Math.min(1, Math.max(0, -(ax * dx + ay * dy) / len2));
      best = Math.min(best, Math.hypot(ax + t * dx, ay + t * dy));
    }
    return best;
  }
}

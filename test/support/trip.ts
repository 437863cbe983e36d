// A deterministic truck trip for tests: dwell inside each stop's geofence, then drive
// straight to the next stop, one fix per interval, with small deterministic jitter.
import { distanceM } from '../../domain/geo.js';
import type { Fix, LatLon } from '../../domain/types.js';

export interface TripLeg {
  stop: LatLon;
  dwellMin: number;
}

export interface TripOptions {
  start: Date;
  intervalSec?: number;
  speedKmh?: number;
}

/** Fixes for a trip visiting `legs` in order, ending with a short drive away from the last stop. */
export function generateTrip(legs: TripLeg[], options: TripOptions): Fix[] {
  const intervalMs = (options.intervalSec ?? 60) * 1000;
  const speedMps = ((options.speedKmh ?? 80) * 1000) / 3600;
  const fixes: Fix[] = [];
  let t = options.start.getTime();
  let n = 0;
  const push = (p: LatLon, speedKmh: number) => {
    // ±~20 m of jitter, deterministic so every run sees the same trip.
    const jitter = ((n * 7919) % 41) - 20;
    fixes.push({
      recordedAt: new Date(t).toISOString(),
      lat: p.lat + jitter / 111_000,
      lon: p.lon - jitter / 111_000,
      speedKmh,
      accuracyM: 8,
    });
    n += 1;
    t += intervalMs;
  };
  const last = legs[legs.length - 1]!;
  const departure: LatLon = { lat: last.stop.lat + 0.05, lon: last.stop.lon + 0.05 };
  const waypoints = [...legs.map((l) => l.stop), departure];
  for (let i = 0; i < legs.length; i++) {
    const leg = legs[i]!;
    for (let m = 0; m < (leg.dwellMin * 60_000) / intervalMs; m++) push(leg.stop, 0);
    const from = waypoints[i]!;
    const to = waypoints[i + 1]!;
    const steps = Math.max(2, Math.ceil(distanceM(from, to) / (speedMps * (intervalMs / 1000))));
    for (let s = 1; s <= steps; s++) {
      const f = s / steps;
      push({ lat: from.lat + (to.lat - from.lat) * f, lon: from.lon + (to.lon - from.lon) * f }, options.speedKmh ?? 80);
    }
  }
  return fixes;
}

// Realistic-motion properties of generated trips: speeds, EU breaks, noise, gaps, repeats and order.
import { describe, expect, it } from 'vitest';
import { distanceM } from '../../simulator/geo.js';
import { DEFAULT_MOTION, DEVICE_PROFILES, DRIVING_RULES, simulateTrip, type MotionOptions, type Trace } from '../../simulator/motion.js';
import { Rng } from '../../simulator/random.js';
import { RoadNetwork } from '../../simulator/road-network.js';

const network = new RoadNetwork();
// Rotterdam → Munich, ~850 km: long enough for breaks and a daily rest.
const longRoute = network.route(['rotterdam-maasvlakte', 'munich']);
const shortRoute = network.route(['antwerp-port', 'cologne']);

function trip(route = longRoute, overrides: Partial<MotionOptions> = {}, seed = 'motion'): Trace {
  const options: MotionOptions = { ...DEFAULT_MOTION, device: DEVICE_PROFILES.eld, ...overrides };
  return simulateTrip(route, [{ atM: 0, dwellMin: 45 }, { atM: route.polyline.lengthM, dwellMin: 30 }], options, new Rng(seed));
}

describe('simulateTrip', () => {
  const trace = trip();

  it('drives within truck speed bounds and reports plausible speeds', () => {
    for (const p of trace.phases) {
      expect(p.endMs).toBeGreaterThanOrEqual(p.startMs);
      if (p.kind === 'drive') {
        expect(p.speedKmh).toBeGreaterThanOrEqual(3);
        expect(p.speedKmh).toBeLessThanOrEqual(90);
        const implied = (Math.abs(p.toM - p.fromM) / (p.endMs - p.startMs)) * 3600;
        expect(implied).toBeCloseTo(p.speedKmh, 3);
      } else expect(p.speedKmh).toBe(0);
    }
    for (const f of trace.fixes) {
      expect(f.speedKmh).toBeGreaterThanOrEqual(0);
      expect(f.speedKmh).toBeLessThan(96);
    }
    // Highway stretches are driven near the limiter, towns slowly.
    const highway = trace.phases.filter((p) => p.road === 'highway');
    const urban = trace.phases.filter((p) => p.road === 'urban');
    expect(Math.min(...highway.map((p) => p.speedKmh))).toBeGreaterThanOrEqual(72);
    expect(Math.max(...urban.map((p) => p.speedKmh))).toBeLessThanOrEqual(50);
  });

  it('inserts a 45-minute break after at most 4.5 h of driving and an 11-hour rest after 9 h', () => {
    let sinceBreak = 0;
    let today = 0;
    for (const p of trace.phases) {
      if (p.kind === 'drive') {
        sinceBreak += p.endMs - p.startMs;
        today += p.endMs - p.startMs;
        expect(sinceBreak).toBeLessThanOrEqual(DRIVING_RULES.maxDrivingBeforeBreakMs + 1);
        expect(today).toBeLessThanOrEqual(DRIVING_RULES.maxDailyDrivingMs + 1);
      } else if (p.kind === 'break' || p.kind === 'rest') {
        expect(p.endMs - p.startMs).toBeGreaterThanOrEqual(p.kind === 'break' ? DRIVING_RULES.breakMs : DRIVING_RULES.dailyRestMs);
        sinceBreak = 0;
        if (p.kind === 'rest') today = 0;
      }
    }
    expect(trace.phases.filter((p) => p.kind === 'break').length).toBeGreaterThanOrEqual(1);
    expect(trace.phases.filter((p) => p.kind === 'rest').length).toBe(1);
  });

  it('dwells at the stops for the planned time, inside the stop', () => {
    const dwells = trace.phases.filter((p) => p.kind === 'dwell');
    expect(dwells.map((p) => (p.endMs - p.startMs) / 60_000)).toEqual([45, 30]);
    expect(trace.stopTimes).toEqual(dwells.map((p) => ({ arriveMs: p.startMs, departMs: p.endMs })));
    const firstStop = longRoute.polyline.points[0]!;
    const atPickup = trace.fixes.filter((f) => f.tMs < dwells[0]!.endMs);
    expect(atPickup.length).toBeGreaterThan(10);
    for (const f of atPickup) expect(distanceM(f, firstStop)).toBeLessThan(100);
  });

  it('keeps fixes near the route within GPS noise, and states the accuracy', () => {
    const profile = DEVICE_PROFILES.eld;
    let far = 0;
    for (const f of trace.fixes) {
      expect(f.accuracyM).toBeGreaterThanOrEqual(profile.accuracyM[0]);
      expect(f.accuracyM).toBeLessThanOrEqual(profile.accuracyM[1]);
      const off = longRoute.polyline.distanceTo(f);
      expect(off).toBeLessThan(5 * profile.accuracyM[1] + 60);
      if (off > 3 * f.accuracyM!) far++;
    }
    // Multipath outliers are rare.
    expect(far / trace.fixes.length).toBeLessThan(0.03);
  });

  it('reports at the device interval: 30 s moving for a telematics unit, 5 min for a trailer tracker', () => {
    const spacing = (t: Trace) => t.fixes.slice(1).map((f, i) => (f.tMs - t.fixes[i]!.tMs) / 1000);
    const eld = spacing(trip(shortRoute, { tunnelsPer100Km: 0 }));
    expect(Math.min(...eld)).toBeGreaterThanOrEqual(27);
    expect(eld.filter((s) => s < 35).length / eld.length).toBeGreaterThan(0.8);
    const tracker = spacing(trip(shortRoute, { device: DEVICE_PROFILES['asset-tracker'], tunnelsPer100Km: 0 }));
    expect(Math.min(...tracker)).toBeGreaterThanOrEqual(297);
  });

  it('leaves gaps where the tracker is dead or in a tunnel', () => {
    const dead = trip(shortRoute, { deadTracker: { atFraction: 0.5, durationMin: 90 } });
    const gap = dead.gaps.find((g) => g.kind === 'dead-tracker')!;
    expect(dead.fixes.filter((f) => f.tMs >= gap.startMs && f.tMs < gap.endMs)).toHaveLength(0);
    const spacings = dead.fixes.slice(1).map((f, i) => f.tMs - dead.fixes[i]!.tMs);
    expect(Math.max(...spacings)).toBeGreaterThanOrEqual(90 * 60_000);

    const tunnels = trip(longRoute, { tunnelsPer100Km: 3 });
    const tunnel = tunnels.gaps.find((g) => g.kind === 'tunnel' && g.endMs - g.startMs > 3 * 60_000)!;
    expect(tunnel).toBeDefined();
    expect(tunnels.fixes.filter((f) => f.tMs >= tunnel.startMs && f.tMs < tunnel.endMs)).toHaveLength(0);
  });

  it('holds fixes during coverage holes and uploads them as one backlog', () => {
    const t = trip(longRoute, { coverageGapsPerHour: 1, duplicateRate: 0, outOfOrderRate: 0 });
    const hole = t.gaps.find((g) => g.kind === 'coverage')!;
    const backlog = t.deliveries.find((d) => d.kind === 'backlog')!;
    expect(hole).toBeDefined();
    expect(backlog.fixes.length).toBeGreaterThan(3);
    for (const d of t.deliveries) for (const f of d.fixes) expect(d.sendAtMs).toBeGreaterThanOrEqual(f.tMs);
  });

  it('delivers every recorded fix, repeats some uploads and reorders others when enabled', () => {
    const t = trip(longRoute, { duplicateRate: 0.1, outOfOrderRate: 0.1 });
    const delivered = new Set(t.deliveries.flatMap((d) => d.fixes.map((f) => f.tMs)));
    expect(delivered.size).toBe(t.fixes.length);
    expect(t.deliveries.some((d) => d.kind === 'repeat')).toBe(true);
    const arrivalOrder = t.deliveries.flatMap((d) => d.fixes.map((f) => f.tMs));
    const outOfOrder = arrivalOrder.filter((tMs, i) => i > 0 && tMs < arrivalOrder[i - 1]!).length;
    expect(outOfOrder).toBeGreaterThan(0);
    for (let i = 1; i < t.deliveries.length; i++) expect(t.deliveries[i]!.sendAtMs).toBeGreaterThanOrEqual(t.deliveries[i - 1]!.sendAtMs);

    const clean = trip(longRoute, { duplicateRate: 0, outOfOrderRate: 0, coverageGapsPerHour: 0 });
    expect(clean.deliveries.every((d) => d.kind === 'live')).toBe(true);
    const order = clean.deliveries.flatMap((d) => d.fixes.map((f) => f.tMs));
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(order).toHaveLength(clean.fixes.length);
  });

  it('leaves the planned corridor on a detour and comes back', () => {
    const t = trip(shortRoute, { detour: { atFraction: 0.4, lengthM: 30_000, offsetM: 6_000 }, tunnelsPer100Km: 0 });
    const offsets = t.fixes.map((f) => shortRoute.polyline.distanceTo(f));
    expect(Math.max(...offsets)).toBeGreaterThan(5_000);
    expect(offsets.at(-1)!).toBeLessThan(200);
  });
});

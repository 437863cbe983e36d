// The accelerated clock never yields a timestamp later than the real now.
import { describe, expect, it } from 'vitest';
import { AcceleratedClock } from '../../simulator/clock.js';
import { planSimulation } from '../../simulator/scenarios.js';

describe('AcceleratedClock.anchored', () => {
  it('never runs ahead of real time, for any trip length and acceleration', () => {
    for (const acceleration of [1, 2, 10, 60, 600, 3600]) {
      for (const hours of [0.5, 4, 9, 30]) {
        const durationMs = hours * 3600_000;
        let real = 1_800_000_000_000;
        const clock = AcceleratedClock.anchored({ durationMs, acceleration, now: () => real });
        const tripRealMs = durationMs / acceleration;
        for (let step = 0; step <= 100; step++) {
          real = clock.realStartMs + (tripRealMs * step) / 100;
          // The unclamped line itself stays in the past during the trip; the clamp is only a guard.
          expect(clock.simStartMs + acceleration * (real - clock.realStartMs)).toBeLessThanOrEqual(real + 1e-3);
          expect(clock.simNow()).toBeLessThanOrEqual(real);
        }
        // The trip's last instant is reached when it ends, so it fits in the run.
        expect(clock.simNow()).toBeCloseTo(clock.simStartMs + durationMs, -1);
        // Overstaying the trip still never yields the future.
        real += 10 * tripRealMs + 3600_000;
        expect(clock.simNow()).toBeLessThanOrEqual(real);
      }
    }
  });

  it('advances A times faster than real time and tells how long to wait for a simulated instant', () => {
    let real = 1_800_000_000_000;
    const clock = AcceleratedClock.anchored({ durationMs: 6 * 3600_000, acceleration: 60, now: () => real });
    const s0 = clock.simNow();
    real += 1_000;
    expect(clock.simNow() - s0).toBeCloseTo(60_000, 6);
    expect(clock.realDelayUntil(clock.simNow() + 120_000)).toBeCloseTo(2_000, 6);
    expect(clock.realDelayUntil(clock.simNow() - 1)).toBe(0);
  });

  it('stamps every fix of a planned trip at or before the real moment it is sent', () => {
    const plan = planSimulation({ seed: 'clock', vehicles: 4 });
    for (const spec of plan.shipments) {
      let real = 1_800_000_000_000;
      const clock = AcceleratedClock.anchored({ durationMs: spec.trace.endMs, acceleration: 120, now: () => real });
      for (const delivery of spec.trace.deliveries) {
        const sendAt = clock.simStartMs + delivery.sendAtMs;
        real += clock.realDelayUntil(sendAt);
        expect(clock.simNow()).toBeGreaterThanOrEqual(sendAt - 1);
        for (const fix of delivery.fixes) expect(clock.simStartMs + fix.tMs).toBeLessThanOrEqual(real);
      }
    }
  });

  it('refuses to slow time down', () => {
    expect(() => AcceleratedClock.anchored({ durationMs: 1, acceleration: 0.5 })).toThrow(/at least 1/);
  });
});

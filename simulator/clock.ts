// Time acceleration that never produces a timestamp from the future.
//
// A trip of simulated duration D played A times faster than real time is anchored in the past:
// simulated time is   sim(t) = simStart + A·(t − realStart)   with
// simStart = realStart − D·(1 − 1/A). Then sim(t) − t grows linearly and reaches 0 exactly when
// the trip ends (t = realStart + D/A), so every fix the trip records is stamped at or before the
// real "now" of the moment it is sent. At A = 1 the trip simply runs live.
export type Now = () => number;

export class AcceleratedClock {
  constructor(
    /** Simulated time at realStartMs. */
    readonly simStartMs: number,
    readonly realStartMs: number,
    readonly acceleration: number,
    private readonly now: Now = Date.now,
  ) {
    if (!(acceleration >= 1)) throw new Error('acceleration must be at least 1');
  }

  /** A clock for a trip lasting `durationMs` of simulated time that ends at the real now, not after. */
  static anchored(options: { durationMs: number; acceleration: number; realStartMs?: number; marginMs?: number; now?: Now }): AcceleratedClock {
    const now = options.now ?? Date.now;
    const realStartMs = options.realStartMs ?? now();
    const simStartMs = realStartMs - options.durationMs * (1 - 1 / options.acceleration) - (options.marginMs ?? 0);
    return new AcceleratedClock(simStartMs, realStartMs, options.acceleration, now);
  }

  /** Simulated now; clamped to the real now as a last guard (e.g. a run that overstays its trip). */
  simNow(): number {
    const real = this.now();
    return Math.min(real, this.simStartMs + this.acceleration * (real - this.realStartMs));
  }

  /** The real instant at which the simulated clock shows `simMs`. */
  realTimeOf(simMs: number): number {
    return this.realStartMs + (simMs - this.simStartMs) / this.acceleration;
  }

  /** Milliseconds of real time to wait until the simulated clock shows `simMs` (0 if already past). */
  realDelayUntil(simMs: number): number {
    if (this.simNow() >= simMs) return 0;
    // Both bounds of simNow() must have passed: the accelerated line and the real clock itself.
    return Math.max(1, Math.max(this.realTimeOf(simMs), simMs) - this.now());
  }
}

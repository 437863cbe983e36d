// The webhook retry rule: exponential back-off with jitter inside the retry window, then disable;
// 410 disables at once; a new failing event starts its own window.
import { describe, expect, it } from 'vitest';
import { decideRetry, DEFAULT_RETRY_SETTINGS, type Failing } from '../../domain/events/retry.js';

const settings = { initialBackoffMs: 1_000, maxBackoffMs: 60_000, retryWindowMs: 3_600_000 };

describe('decideRetry', () => {
  it('doubles the ceiling per attempt, waits between half of it and all of it, and caps it', () => {
    let failing: Failing | undefined;
    const delays: [number, number][] = [];
    for (let attempt = 1; attempt <= 10; attempt++) {
      const low = decideRetry(failing, { eventId: 'e1', status: 500 }, 0, 0, settings);
      const high = decideRetry(failing, { eventId: 'e1', status: 500 }, 0, 0.999_999, settings);
      if (low.kind !== 'retry' || high.kind !== 'retry') throw new Error('expected retries');
      delays.push([low.delayMs, high.delayMs]);
      failing = low.failing;
    }
    const ceilings = delays.map(([, high]) => high);
    expect(ceilings.slice(0, 7)).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000]);
    expect(ceilings.slice(7)).toEqual([60_000, 60_000, 60_000]);
    for (const [low, high] of delays) expect(low).toBe(Math.round(high / 2));
    expect(failing).toEqual({ eventId: 'e1', sinceMs: 0, attempts: 10 });
  });

  it('disables once the same event has failed for the whole window, with the last error, and never sleeps past it', () => {
    const failing: Failing = { eventId: 'e1', sinceMs: 0, attempts: 30 };
    const near = decideRetry(failing, { eventId: 'e1', error: 'ECONNREFUSED' }, settings.retryWindowMs - 10_000, 0.9, settings);
    expect(near).toMatchObject({ kind: 'retry', delayMs: 10_000 });
    const past = decideRetry(failing, { eventId: 'e1', error: 'ECONNREFUSED: connect refused' }, settings.retryWindowMs, 0.5, settings);
    expect(past).toEqual({ kind: 'disable', reason: expect.stringMatching(/event e1 failed 31 times over 3600 s \(retry window 3600 s\); last: ECONNREFUSED/) });
  });

  it('starts a fresh window for another event and disables at once on 410', () => {
    const failing: Failing = { eventId: 'e1', sinceMs: 0, attempts: 5 };
    expect(decideRetry(failing, { eventId: 'e2', status: 502 }, 5_000_000, 0, settings)).toMatchObject({ kind: 'retry', failing: { eventId: 'e2', sinceMs: 5_000_000, attempts: 1 } });
    expect(decideRetry(undefined, { eventId: 'e3', status: 410 }, 0, 0, settings)).toEqual({ kind: 'disable', reason: expect.stringContaining('410 Gone') });
  });

  it('defaults to a 3-day window', () => {
    expect(DEFAULT_RETRY_SETTINGS.retryWindowMs).toBe(3 * 24 * 3_600_000);
  });
});

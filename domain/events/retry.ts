// When a webhook delivery fails: retry after an exponential back-off with jitter, until the event
// has failed for the whole retry window (then the endpoint is disabled with the reason); a 410 Gone
// disables at once. Pure: the caller passes the time and a random number in [0, 1).

export interface RetrySettings {
  initialBackoffMs: number;
  maxBackoffMs: number;
  /** How long one event may keep failing before the endpoint is disabled. */
  retryWindowMs: number;
}

export const DEFAULT_RETRY_SETTINGS: RetrySettings = { initialBackoffMs: 5_000, maxBackoffMs: 3_600_000, retryWindowMs: 3 * 24 * 3_600_000 };

/** The event that keeps failing: since when, and how many attempts so far. */
export interface Failing {
  eventId: string;
  sinceMs: number;
  attempts: number;
}

export interface DeliveryFailure {
  eventId: string;
  status?: number;
  error?: string;
}

export type RetryDecision = { kind: 'retry'; failing: Failing; delayMs: number } | { kind: 'disable'; reason: string };

const describe = (failure: DeliveryFailure) => failure.error ?? (failure.status !== undefined ? `HTTP ${failure.status}` : 'failed');

export function decideRetry(failing: Failing | undefined, failure: DeliveryFailure, nowMs: number, random: number, settings: RetrySettings): RetryDecision {
  if (failure.status === 410) return { kind: 'disable', reason: `the endpoint answered 410 Gone for event ${failure.eventId}` };
  const current = failing && failing.eventId === failure.eventId ? { ...failing, attempts: failing.attempts + 1 } : { eventId: failure.eventId, sinceMs: nowMs, attempts: 1 };
  const failingFor = nowMs - current.sinceMs;
  if (failingFor >= settings.retryWindowMs) {
    return {
      kind: 'disable',
      reason: `event ${failure.eventId} failed ${current.attempts} times over ${Math.round(failingFor / 1000)} s (retry window ${Math.round(settings.retryWindowMs / 1000)} s); last: ${describe(failure)}`,
    };
  }
  const ceiling = Math.min(settings.maxBackoffMs, settings.initialBackoffMs * 2 ** Math.min(current.attempts - 1, 40));
  // "Equal jitter": half the ceiling plus a random half, never past the end of the window.
  const delayMs = Math.min(Math.round(ceiling / 2 + (ceiling / 2) * random), settings.retryWindowMs - failingFor);
  return { kind: 'retry', failing: current, delayMs };
}

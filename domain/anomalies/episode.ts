// Building open/resolve events. A resolve is never stamped before its open: when a timer opened
// the anomaly at a deadline and a backlog then delivers older fixes, the resolve lands on the open.
import { canonicalIso, laterOf } from '../eta/time.js';
import type { AnomalyType } from '../types.js';
import type { AnomalyEvent } from './types.js';

interface Extra {
  stopSequence?: number;
  detail?: string;
}

function withExtra(event: AnomalyEvent, extra: Extra): AnomalyEvent {
  return {
    ...event,
    ...(extra.stopSequence !== undefined ? { stopSequence: extra.stopSequence } : {}),
    ...(extra.detail !== undefined ? { detail: extra.detail } : {}),
  };
}

export function openEvent(type: AnomalyType, at: string, extra: Extra = {}): AnomalyEvent {
  return withExtra({ kind: 'anomaly', action: 'open', type, at: canonicalIso(at) }, extra);
}

export function resolveEvent(type: AnomalyType, openedAt: string, at: string, extra: Extra = {}): AnomalyEvent {
  return withExtra({ kind: 'anomaly', action: 'resolve', type, at: canonicalIso(laterOf(openedAt, at)) }, extra);
}

/**
 * Whether a deadline has been passed at `nowMs`. Timers pass `inclusive` (reaching the deadline
 * opens); inputs do not (an input exactly at the deadline ends the condition just in time).
 */
export function isPast(deadline: string, nowMs: number, inclusive: boolean): boolean {
  const deadlineMs = Date.parse(deadline);
  return inclusive ? nowMs >= deadlineMs : nowMs > deadlineMs;
}

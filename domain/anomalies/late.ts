// LATE, per stop with an appointment window: limit = window.end + lateToleranceMin.
// - A prediction whose ETA is after the limit opens it (stamped with the prediction's time); a
//   later prediction at least lateRecoveryMin inside the limit resolves it, as long as the
//   limit has not passed.
// - The limit passing without an arrival opens it (timer, or any later input).
// - Arrival at the stop resolves it; an arrival after the limit that nothing had flagged opens
//   and resolves it at once, so every late arrival is on the timeline.
import { addMinutes, canonicalIso, earliestOf, isAfter, minutesBetween } from '../eta/time.js';
import type { StopPlan } from '../types.js';
import { isPast, openEvent, resolveEvent } from './episode.js';
import { inputTime, type AnomalyContext, type AnomalyEvent, type AnomalyInput, type DetectorResult, type EtaUpdate, type OpenAnomaly } from './types.js';

export interface LateState {
  arrived: number[];
  open: { sequence: number; openedAt: string; cause: 'predicted' | 'window' }[];
}

export const initialLateState = (): LateState => ({ arrived: [], open: [] });

export function lateLimit(stop: StopPlan, ctx: AnomalyContext): string | undefined {
  return stop.window ? addMinutes(stop.window.end, ctx.config.lateToleranceMin) : undefined;
}

/** Stops still able to become late by their window: windowed, not reached, not already LATE. */
function watched(state: LateState, ctx: AnomalyContext): { stop: StopPlan; limit: string }[] {
  return ctx.stops.flatMap((stop) => {
    const limit = lateLimit(stop, ctx);
    if (limit === undefined || state.arrived.includes(stop.sequence) || state.open.some((o) => o.sequence === stop.sequence)) return [];
    return [{ stop, limit }];
  });
}

export function lateDeadline(state: LateState, ctx: AnomalyContext): string | undefined {
  return earliestOf(watched(state, ctx).map((w) => w.limit));
}

function openDue(state: LateState, ctx: AnomalyContext, nowMs: number, inclusive: boolean): DetectorResult<LateState> {
  const due = watched(state, ctx)
    .filter((w) => isPast(w.limit, nowMs, inclusive))
    .sort((a, b) => Date.parse(a.limit) - Date.parse(b.limit));
  if (due.length === 0) return { state, events: [] };
  return {
    state: { ...state, open: [...state.open, ...due.map(({ stop, limit }) => ({ sequence: stop.sequence, openedAt: limit, cause: 'window' as const }))] },
    events: due.map(({ stop, limit }) => openEvent('LATE', limit, { stopSequence: stop.sequence, detail: `window ended ${stop.window!.end} without arrival` })),
  };
}

export function lateOnDeadline(state: LateState, nowIso: string, ctx: AnomalyContext): DetectorResult<LateState> {
  return openDue(state, ctx, Date.parse(nowIso), true);
}

function applyPrediction(state: LateState, update: EtaUpdate, ctx: AnomalyContext): DetectorResult<LateState> {
  const predictedAt = canonicalIso(update.predictedAt);
  const nowMs = Date.parse(predictedAt);
  let open = state.open;
  const events: AnomalyEvent[] = [];
  for (const predicted of update.stops) {
    const stop = ctx.stops.find((s) => s.sequence === predicted.sequence);
    const limit = stop && lateLimit(stop, ctx);
    if (!stop || limit === undefined || state.arrived.includes(stop.sequence) || isPast(limit, nowMs, true)) continue;
    const current = open.find((o) => o.sequence === stop.sequence);
    if (!current && isAfter(predicted.eta, limit)) {
      open = [...open, { sequence: stop.sequence, openedAt: predictedAt, cause: 'predicted' }];
      events.push(openEvent('LATE', predictedAt, { stopSequence: stop.sequence, detail: `predicted arrival ${predicted.eta} after ${limit}` }));
    } else if (current?.cause === 'predicted' && minutesBetween(predicted.eta, limit) >= ctx.config.lateRecoveryMin) {
      open = open.filter((o) => o !== current);
      events.push(resolveEvent('LATE', current.openedAt, predictedAt, { stopSequence: stop.sequence, detail: `predicted arrival ${predicted.eta} back on time` }));
    }
  }
  return { state: { ...state, open }, events };
}

function applyArrival(state: LateState, sequence: number, at: string): DetectorResult<LateState> {
  if (state.arrived.includes(sequence)) return { state, events: [] };
  const current = state.open.find((o) => o.sequence === sequence);
  const next: LateState = { arrived: [...state.arrived, sequence], open: state.open.filter((o) => o !== current) };
  return { state: next, events: current ? [resolveEvent('LATE', current.openedAt, at, { stopSequence: sequence, detail: `arrived ${at}` })] : [] };
}

export function detectLate(state: LateState, input: AnomalyInput, ctx: AnomalyContext): DetectorResult<LateState> {
  const { state: caughtUp, events } = openDue(state, ctx, Date.parse(inputTime(input)), false);
  let result: DetectorResult<LateState> = { state: caughtUp, events: [] };
  if (input.kind === 'eta') result = applyPrediction(caughtUp, input, ctx);
  else if (input.kind === 'milestone' && input.type === 'ARRIVED') result = applyArrival(caughtUp, input.stopSequence, canonicalIso(input.at));
  return { state: result.state, events: [...events, ...result.events] };
}

export function lateOpen(state: LateState): OpenAnomaly[] {
  return state.open.map((o) => ({ type: 'LATE', openedAt: o.openedAt, stopSequence: o.sequence }));
}

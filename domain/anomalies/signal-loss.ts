// SIGNAL_LOST: no fix for longer than signalLossMin while the shipment is tracked (from its
// first fix on). Opened by the timer at lastFix + threshold, or by a later fix that shows the
// gap (a backlog); resolved by the next fix.
import { addMinutes, canonicalIso, isAfter, minutesBetween } from '../eta/time.js';
import { isPast, openEvent, resolveEvent } from './episode.js';
import type { AnomalyContext, AnomalyInput, DetectorResult, OpenAnomaly } from './types.js';

export interface SignalLossState {
  lastFixAt?: string;
  openedAt?: string;
}

export function signalLossDeadline(state: SignalLossState, ctx: AnomalyContext): string | undefined {
  if (state.openedAt !== undefined || state.lastFixAt === undefined) return undefined;
  return addMinutes(state.lastFixAt, ctx.config.signalLossMin);
}

function openDue(state: SignalLossState, ctx: AnomalyContext, nowMs: number, inclusive: boolean): DetectorResult<SignalLossState> {
  const deadline = signalLossDeadline(state, ctx);
  if (deadline === undefined || !isPast(deadline, nowMs, inclusive)) return { state, events: [] };
  return { state: { ...state, openedAt: deadline }, events: [openEvent('SIGNAL_LOST', deadline, { detail: `no fix since ${state.lastFixAt}` })] };
}

export function signalLossOnDeadline(state: SignalLossState, nowIso: string, ctx: AnomalyContext): DetectorResult<SignalLossState> {
  return openDue(state, ctx, Date.parse(nowIso), true);
}

export function detectSignalLoss(state: SignalLossState, input: AnomalyInput, ctx: AnomalyContext): DetectorResult<SignalLossState> {
  if (input.kind !== 'fix') return { state, events: [] };
  const at = canonicalIso(input.fix.recordedAt);
  if (state.lastFixAt !== undefined && !isAfter(at, state.lastFixAt)) return { state, events: [] };
  const { state: caughtUp, events } = openDue(state, ctx, Date.parse(at), false);
  if (caughtUp.openedAt !== undefined) {
    const gapMin = Math.round(minutesBetween(caughtUp.lastFixAt!, at));
    events.push(resolveEvent('SIGNAL_LOST', caughtUp.openedAt, at, { detail: `fix received after ${gapMin} min` }));
  }
  return { state: { lastFixAt: at }, events };
}

export function signalLossOpen(state: SignalLossState): OpenAnomaly[] {
  return state.openedAt === undefined ? [] : [{ type: 'SIGNAL_LOST', openedAt: state.openedAt }];
}

// LONG_DWELL: at a stop (between its ARRIVED and DEPARTED milestones) longer than its planned
// dwell + dwellToleranceMin, or longDwellMin when the stop plans no dwell. Opened by the timer or
// by any later input; resolved by the departure (or by arrival at another stop).
// While the latest fix is beyond the stop's exit radius the vehicle has probably left and its
// departure only awaits confirmation (or, when the trace ends there, other evidence): no limit
// opens meanwhile, so dwell is measured up to the departure the milestone rules then stamp.
// The legacy geofence rules (closesPendingVisits false) keep the timer running regardless.
import { distanceM, isWithinM } from '../geo.js';
import { exitRadiusM } from '../geofence.js';
import { addMinutes, canonicalIso } from '../eta/time.js';
import type { Fix } from '../types.js';
import { isPast, openEvent, resolveEvent } from './episode.js';
import { inputTime, type AnomalyContext, type AnomalyInput, type DetectorResult, type OpenAnomaly } from './types.js';

export interface LongDwellState {
  atStop?: { sequence: number; arrivedAt: string };
  openedAt?: string;
  /** First fix beyond the stop's exit radius since the last one inside; absent: the latest fix was inside. */
  outsideSince?: string;
}

export function dwellLimitMin(ctx: AnomalyContext, stopSequence: number): number {
  const planned = ctx.stops.find((stop) => stop.sequence === stopSequence)?.plannedDwellMin;
  return planned !== undefined ? planned + ctx.config.dwellToleranceMin : ctx.config.longDwellMin;
}

export function longDwellDeadline(state: LongDwellState, ctx: AnomalyContext): string | undefined {
  if (state.openedAt !== undefined || !state.atStop || state.outsideSince !== undefined) return undefined;
  return addMinutes(state.atStop.arrivedAt, dwellLimitMin(ctx, state.atStop.sequence));
}

function openDue(state: LongDwellState, ctx: AnomalyContext, nowMs: number, inclusive: boolean): DetectorResult<LongDwellState> {
  const deadline = longDwellDeadline(state, ctx);
  if (deadline === undefined || !state.atStop || !isPast(deadline, nowMs, inclusive)) return { state, events: [] };
  const { sequence } = state.atStop;
  return {
    state: { ...state, openedAt: deadline },
    events: [openEvent('LONG_DWELL', deadline, { stopSequence: sequence, detail: `at stop longer than ${dwellLimitMin(ctx, sequence)} min` })],
  };
}

export function longDwellOnDeadline(state: LongDwellState, nowIso: string, ctx: AnomalyContext): DetectorResult<LongDwellState> {
  return openDue(state, ctx, Date.parse(nowIso), true);
}

function leave(state: LongDwellState, at: string): DetectorResult<LongDwellState> {
  if (state.openedAt === undefined || !state.atStop) return { state: {}, events: [] };
  return { state: {}, events: [resolveEvent('LONG_DWELL', state.openedAt, at, { stopSequence: state.atStop.sequence, detail: `departed ${at}` })] };
}

/** Whether the fix puts the vehicle outside the stop it is at, as the milestone rules judge it. */
function isOutside(fix: Fix, sequence: number, ctx: AnomalyContext): boolean {
  const stop = ctx.stops.find((s) => s.sequence === sequence);
  if (!stop || (fix.accuracyM !== undefined && fix.accuracyM > ctx.geofence.maxAccuracyM)) return false;
  const d = distanceM(fix, stop.location);
  const atAnotherStop = ctx.stops.some((other) => other.sequence !== sequence && isWithinM(fix, other.location, other.geofenceRadiusM));
  return d > exitRadiusM(stop, ctx.geofence) || (d > stop.geofenceRadiusM && atAnotherStop);
}

function trackExit(state: LongDwellState, fix: Fix, ctx: AnomalyContext): LongDwellState {
  if (!ctx.geofence.closesPendingVisits || !state.atStop) return state;
  const { outsideSince, ...rest } = state;
  return isOutside(fix, state.atStop.sequence, ctx) ? { ...rest, outsideSince: outsideSince ?? canonicalIso(fix.recordedAt) } : rest;
}

export function detectLongDwell(state: LongDwellState, input: AnomalyInput, ctx: AnomalyContext): DetectorResult<LongDwellState> {
  const { state: caughtUp, events } = openDue(state, ctx, Date.parse(inputTime(input)), false);
  if (input.kind === 'fix') {
    // Back inside after the limit passed: the vehicle was there all along.
    const back = openDue(trackExit(caughtUp, input.fix, ctx), ctx, Date.parse(inputTime(input)), false);
    return { state: back.state, events: [...events, ...back.events] };
  }
  if (input.kind !== 'milestone') return { state: caughtUp, events };
  const at = canonicalIso(input.at);
  const current = caughtUp.atStop?.sequence;
  if (input.type === 'DEPARTED') {
    if (current !== input.stopSequence) return { state: caughtUp, events };
    const left = leave(caughtUp, at);
    return { state: left.state, events: [...events, ...left.events] };
  }
  if (current === input.stopSequence) return { state: caughtUp, events };
  // Arriving elsewhere without a departure ends the previous dwell.
  const left = leave(caughtUp, at);
  return { state: { atStop: { sequence: input.stopSequence, arrivedAt: at } }, events: [...events, ...left.events] };
}

export function longDwellOpen(state: LongDwellState): OpenAnomaly[] {
  return state.openedAt === undefined || !state.atStop ? [] : [{ type: 'LONG_DWELL', openedAt: state.openedAt, stopSequence: state.atStop.sequence }];
}

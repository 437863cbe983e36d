// UNPLANNED_STOP: stationary outside every stop geofence for longer than unplannedStopMin, once
// the trip has started (first milestone) and while the truck is not at a stop. A fix is
// stationary when its speed (reported, else implied by the previous fix) is below
// stationarySpeedKmh, or when it lies within stationaryRadiusM of where the truck stopped
// (GPS drift of a parked truck). Opened by the timer or a later input, resolved by moving away
// or by arriving at a stop.
import { distanceM, isWithinM } from '../geo.js';
import { addMinutes, canonicalIso, isAfter, minutesBetween } from '../eta/time.js';
import type { Fix, LatLon } from '../types.js';
import { isPast, openEvent, resolveEvent } from './episode.js';
import { inputTime, type AnomalyContext, type AnomalyInput, type DetectorResult, type OpenAnomaly } from './types.js';

interface TimedPosition extends LatLon {
  at: string;
}

export interface UnplannedStopState {
  tripStarted: boolean;
  /** Set between ARRIVED and DEPARTED: dwelling at a planned stop is not unplanned. */
  atStopSequence?: number;
  lastFix?: TimedPosition;
  /** Where and since when the truck has been stationary. */
  anchor?: TimedPosition;
  openedAt?: string;
}

export const initialUnplannedStopState = (): UnplannedStopState => ({ tripStarted: false });

export function unplannedStopDeadline(state: UnplannedStopState, ctx: AnomalyContext): string | undefined {
  if (state.openedAt !== undefined || !state.anchor) return undefined;
  return addMinutes(state.anchor.at, ctx.config.unplannedStopMin);
}

function openDue(state: UnplannedStopState, ctx: AnomalyContext, nowMs: number, inclusive: boolean): DetectorResult<UnplannedStopState> {
  const deadline = unplannedStopDeadline(state, ctx);
  if (deadline === undefined || !state.anchor || !isPast(deadline, nowMs, inclusive)) return { state, events: [] };
  const { lat, lon, at } = state.anchor;
  return {
    state: { ...state, openedAt: deadline },
    events: [openEvent('UNPLANNED_STOP', deadline, { detail: `stationary since ${at} at ${lat.toFixed(5)},${lon.toFixed(5)}` })],
  };
}

export function unplannedStopOnDeadline(state: UnplannedStopState, nowIso: string, ctx: AnomalyContext): DetectorResult<UnplannedStopState> {
  return openDue(state, ctx, Date.parse(nowIso), true);
}

function endStop(state: UnplannedStopState, at: string, detail: string): DetectorResult<UnplannedStopState> {
  const { anchor: _anchor, openedAt, ...rest } = state;
  return { state: rest, events: openedAt === undefined ? [] : [resolveEvent('UNPLANNED_STOP', openedAt, at, { detail })] };
}

function applyFix(state: UnplannedStopState, fix: Fix, ctx: AnomalyContext): DetectorResult<UnplannedStopState> {
  const at = canonicalIso(fix.recordedAt);
  if (state.lastFix && !isAfter(at, state.lastFix.at)) return { state, events: [] };
  const previous = state.lastFix;
  const tracked: UnplannedStopState = { ...state, lastFix: { lat: fix.lat, lon: fix.lon, at } };
  if (!tracked.tripStarted || tracked.atStopSequence !== undefined) return { state: tracked, events: [] };
  if (ctx.stops.some((stop) => isWithinM(fix, stop.location, stop.geofenceRadiusM))) return endStop(tracked, at, 'reached a stop geofence');

  const impliedKmh = previous ? distanceM(previous, fix) / 1000 / (minutesBetween(previous.at, at) / 60) : undefined;
  const speedKmh = fix.speedKmh ?? impliedKmh;
  const slow = speedKmh !== undefined && speedKmh < ctx.config.stationarySpeedKmh;
  const nearAnchor = tracked.anchor !== undefined && distanceM(tracked.anchor, fix) <= ctx.config.stationaryRadiusM;
  if (!slow && !nearAnchor) return endStop(tracked, at, 'moving again');
  if (tracked.anchor) return { state: tracked, events: [] };
  // Stopped since this fix, or since the previous one when only the distance between them says so.
  const since = fix.speedKmh === undefined && previous ? previous : { lat: fix.lat, lon: fix.lon, at };
  return { state: { ...tracked, anchor: since }, events: [] };
}

export function detectUnplannedStop(state: UnplannedStopState, input: AnomalyInput, ctx: AnomalyContext): DetectorResult<UnplannedStopState> {
  const { state: caughtUp, events } = openDue(state, ctx, Date.parse(inputTime(input)), false);
  let result: DetectorResult<UnplannedStopState>;
  if (input.kind === 'fix') result = applyFix(caughtUp, input.fix, ctx);
  else if (input.kind === 'milestone' && input.type === 'ARRIVED') {
    const ended = endStop(caughtUp, canonicalIso(input.at), 'arrived at a stop');
    result = { state: { ...ended.state, tripStarted: true, atStopSequence: input.stopSequence }, events: ended.events };
  } else if (input.kind === 'milestone') {
    const { atStopSequence: _left, ...rest } = caughtUp;
    result = { state: { ...rest, tripStarted: true }, events: [] };
  } else result = { state: caughtUp, events: [] };
  return { state: result.state, events: [...events, ...result.events] };
}

export function unplannedStopOpen(state: UnplannedStopState): OpenAnomaly[] {
  return state.openedAt === undefined ? [] : [{ type: 'UNPLANNED_STOP', openedAt: state.openedAt }];
}

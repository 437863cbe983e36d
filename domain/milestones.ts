// Geofence milestones: arrival and departure at each stop, and the shipment status they imply.
// A pure state machine in the style `(state, fix, stops, config) -> { state, events }`: the
// workflow strings it over drained batches, tests feed it timed sequences without a server.
import { distanceM } from './geo.js';
import { fixTimeMs, toIso } from './fixes.js';
import type { Fix, LatLon, MilestoneType, ShipmentStatus, StopPlan, StopStatus } from './types.js';

export interface GeofenceConfig {
  /** Exit radius = radius + max(radius × ratio, minimum): the hysteresis band against edge jitter. */
  exitMarginRatio: number;
  exitMarginMinM: number;
  /** Consecutive fixes beyond the exit radius that confirm a departure. */
  departureConfirmationFixes: number;
  /** Fixes reporting a worse accuracy than this are ignored for geofencing. */
  maxAccuracyM: number;
}

export const DEFAULT_GEOFENCE_CONFIG: GeofenceConfig = {
  exitMarginRatio: 0.25,
  exitMarginMinM: 100,
  departureConfirmationFixes: 2,
  maxAccuracyM: 1000,
};

export interface StopTracking {
  sequence: number;
  status: StopStatus;
  arrivedAt?: string;
  departedAt?: string;
}

interface PositionSample extends LatLon {
  at: string;
}

export interface TrackingState {
  status: ShipmentStatus;
  stops: StopTracking[];
  /** Sequence of the stop the truck is at while AT_STOP. */
  currentStopSequence?: number;
  /**
   * Fixes seen beyond the current stop's exit radius since the last one inside it. Departure is
   * stamped with the first; they are replayed after departure so a close next stop is not missed.
   */
  exitCandidates: PositionSample[];
  /** Time of the last fix applied (whatever its accuracy): older or equal fixes change nothing. */
  lastFixAt?: string;
}

export interface MilestoneEvent {
  kind: 'milestone';
  type: MilestoneType;
  stopSequence: number;
  at: string;
  /** Position of the fix that decided the milestone (the first one outside, for a departure). */
  position: LatLon;
}

export interface StatusEvent {
  kind: 'status';
  from: ShipmentStatus;
  to: ShipmentStatus;
  at: string;
  stopSequence?: number;
}

export type TrackingEvent = MilestoneEvent | StatusEvent;

export interface TrackingResult {
  state: TrackingState;
  events: TrackingEvent[];
}

export const TERMINAL_STATUSES: readonly ShipmentStatus[] = ['DELIVERED', 'CANCELLED'];

export function isTerminal(status: ShipmentStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

export function initialTrackingState(stops: readonly StopPlan[]): TrackingState {
  return {
    status: 'PLANNED',
    stops: [...stops].sort((a, b) => a.sequence - b.sequence).map((stop) => ({ sequence: stop.sequence, status: 'PENDING' })),
    exitCandidates: [],
  };
}

export function exitRadiusM(stop: Pick<StopPlan, 'geofenceRadiusM'>, config: GeofenceConfig): number {
  return stop.geofenceRadiusM + Math.max(stop.geofenceRadiusM * config.exitMarginRatio, config.exitMarginMinM);
}

/** Applies one fix. Fixes not newer than the last applied one are ignored (the workflow sorts batches first). */
export function applyFix(state: TrackingState, fix: Fix, stops: readonly StopPlan[], config: GeofenceConfig = DEFAULT_GEOFENCE_CONFIG): TrackingResult {
  const ms = fixTimeMs(fix);
  if (!Number.isFinite(ms)) return { state, events: [] };
  if (state.lastFixAt !== undefined && ms <= Date.parse(state.lastFixAt)) return { state, events: [] };
  const next: TrackingState = { ...state, lastFixAt: toIso(ms) };
  if (isTerminal(next.status)) return { state: next, events: [] };
  if (fix.accuracyM !== undefined && fix.accuracyM > config.maxAccuracyM) return { state: next, events: [] };
  const events: TrackingEvent[] = [];
  const result = step(next, { at: toIso(ms), lat: fix.lat, lon: fix.lon }, stops, config, events);
  return { state: result, events };
}

/** Folds `applyFix` over fixes in the given order. */
export function applyFixes(state: TrackingState, fixes: readonly Fix[], stops: readonly StopPlan[], config: GeofenceConfig = DEFAULT_GEOFENCE_CONFIG): TrackingResult {
  const events: TrackingEvent[] = [];
  let current = state;
  for (const fix of fixes) {
    const result = applyFix(current, fix, stops, config);
    current = result.state;
    events.push(...result.events);
  }
  return { state: current, events };
}

/** Delivery confirmed by an event (proof of delivery, dispatcher) rather than by leaving the last stop. */
export function markDelivered(state: TrackingState, at: string): TrackingResult {
  return closeWith(state, 'DELIVERED', at);
}

export function markCancelled(state: TrackingState, at: string): TrackingResult {
  return closeWith(state, 'CANCELLED', at);
}

/**
 * Why a manual milestone (driver app, dispatcher) cannot apply now, or undefined when it can.
 * Repeating one that already happened is not a reason: it simply changes nothing.
 */
export function manualMilestoneRefusal(state: TrackingState, type: MilestoneType, stopSequence: number): string | undefined {
  const stop = state.stops.find((s) => s.sequence === stopSequence);
  if (!stop) return `the shipment has no stop ${stopSequence}`;
  if (type === 'ARRIVED') {
    if (stop.status !== 'PENDING') return undefined;
    if (isTerminal(state.status)) return `the shipment is ${state.status.toLowerCase()}`;
    if (state.currentStopSequence !== undefined) return `the truck is still at stop ${state.currentStopSequence}; record its departure first`;
    return undefined;
  }
  if (stop.status === 'DEPARTED') return undefined;
  if (state.currentStopSequence !== stopSequence) return `the truck has not arrived at stop ${stopSequence}`;
  return undefined;
}

/**
 * A milestone reported by a person instead of detected from fixes, stamped with the reported time
 * and placed at the stop. Later fixes carry on from it (a truck seen leaving departs as usual).
 */
export function applyManualMilestone(state: TrackingState, type: MilestoneType, stopSequence: number, at: string, stops: readonly StopPlan[]): TrackingResult {
  const stop = stops.find((s) => s.sequence === stopSequence);
  if (!stop || manualMilestoneRefusal(state, type, stopSequence) !== undefined) return { state, events: [] };
  const tracked = state.stops.find((s) => s.sequence === stopSequence);
  const alreadyHappened = type === 'ARRIVED' ? tracked?.status !== 'PENDING' : tracked?.status === 'DEPARTED';
  if (alreadyHappened) return { state, events: [] };
  const events: TrackingEvent[] = [];
  const sample: PositionSample = { at, lat: stop.location.lat, lon: stop.location.lon };
  const next = type === 'ARRIVED' ? arrive(state, stopSequence, sample, events) : depart(state, stop, sample, stops, events);
  return { state: next, events };
}

function closeWith(state: TrackingState, to: 'DELIVERED' | 'CANCELLED', at: string): TrackingResult {
  if (isTerminal(state.status)) return { state, events: [] };
  const event: StatusEvent = { kind: 'status', from: state.status, to, at };
  const { currentStopSequence: _left, ...rest } = state;
  return { state: { ...rest, status: to, exitCandidates: [] }, events: [event] };
}

function step(state: TrackingState, sample: PositionSample, stops: readonly StopPlan[], config: GeofenceConfig, events: TrackingEvent[]): TrackingState {
  if (isTerminal(state.status)) return state;
  if (state.currentStopSequence === undefined) {
    const target = firstPendingStopContaining(state, sample, stops);
    if (target) return arrive(state, target.sequence, sample, events);
    if (state.status === 'PLANNED') {
      events.push({ kind: 'status', from: 'PLANNED', to: 'IN_TRANSIT', at: sample.at });
      return { ...state, status: 'IN_TRANSIT' };
    }
    return state;
  }

  const current = stops.find((stop) => stop.sequence === state.currentStopSequence);
  if (!current) return state;
  const d = distanceM(sample, current.location);
  // Inside another pending stop's geofence counts as leaving this one, even within the exit band
  // (two docks of one site may sit closer than the margin).
  const beyond = d > exitRadiusM(current, config) || (d > current.geofenceRadiusM && firstPendingStopContaining(state, sample, stops) !== undefined);
  if (!beyond) return state.exitCandidates.length === 0 ? state : { ...state, exitCandidates: [] };

  const candidates = [...state.exitCandidates, sample];
  if (candidates.length < config.departureConfirmationFixes) return { ...state, exitCandidates: candidates };

  let departed = depart(state, current, candidates[0]!, stops, events);
  for (const candidate of candidates) departed = step(departed, candidate, stops, config, events);
  return departed;
}

function arrive(state: TrackingState, sequence: number, sample: PositionSample, events: TrackingEvent[]): TrackingState {
  events.push({ kind: 'milestone', type: 'ARRIVED', stopSequence: sequence, at: sample.at, position: { lat: sample.lat, lon: sample.lon } });
  events.push({ kind: 'status', from: state.status, to: 'AT_STOP', at: sample.at, stopSequence: sequence });
  return {
    ...state,
    status: 'AT_STOP',
    currentStopSequence: sequence,
    exitCandidates: [],
    stops: state.stops.map((stop) => (stop.sequence === sequence ? { ...stop, status: 'ARRIVED', arrivedAt: sample.at } : stop)),
  };
}

function depart(state: TrackingState, stop: StopPlan, first: PositionSample, stops: readonly StopPlan[], events: TrackingEvent[]): TrackingState {
  const lastSequence = Math.max(...stops.map((s) => s.sequence));
  const to: ShipmentStatus = stop.sequence === lastSequence ? 'DELIVERED' : 'IN_TRANSIT';
  events.push({ kind: 'milestone', type: 'DEPARTED', stopSequence: stop.sequence, at: first.at, position: { lat: first.lat, lon: first.lon } });
  events.push({ kind: 'status', from: state.status, to, at: first.at, stopSequence: stop.sequence });
  const { currentStopSequence: _left, ...rest } = state;
  return {
    ...rest,
    status: to,
    exitCandidates: [],
    stops: state.stops.map((s) => (s.sequence === stop.sequence ? { ...s, status: 'DEPARTED', departedAt: first.at } : s)),
  };
}

/** The lowest-sequence stop still PENDING whose geofence holds the position. */
function firstPendingStopContaining(state: TrackingState, position: LatLon, stops: readonly StopPlan[]): StopPlan | undefined {
  const pending = new Set(state.stops.filter((s) => s.status === 'PENDING').map((s) => s.sequence));
  return [...stops]
    .sort((a, b) => a.sequence - b.sequence)
    .find((stop) => pending.has(stop.sequence) && distanceM(position, stop.location) <= stop.geofenceRadiusM);
}

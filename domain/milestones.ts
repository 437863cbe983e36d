// Geofence milestones: arrival and departure at each stop, and the shipment status they imply.
// A pure state machine in the style `(state, fix, stops, config) -> { state, events }`: the
// workflow strings it over drained batches, tests feed it timed sequences without a server.
//
// A visit starts at the first fix inside a stop's geofence that has not been reached yet and
// lasts while fixes stay within the exit radius. It becomes an ARRIVED milestone, stamped with
// its first fix, once a rule of domain/geofence.ts confirms it (dwell, standing still, a count);
// until then the status does not change, and a visit that ends unconfirmed is a GEOFENCE_PASSED
// event, the stop staying armed for the real visit. A visit ends on consecutive fixes beyond the
// exit radius, or on one after a tracker gap (then stamped at its last fix inside).
import { distanceM } from './geo.js';
import { DEFAULT_GEOFENCE_CONFIG, arrivalRuleOf, exitRadiusM, type GeofenceConfig } from './geofence.js';
import { fixTimeMs, toIso } from './fixes.js';
import { minutesBetween } from './eta/time.js';
import type { Fix, LatLon, MilestoneType, ShipmentStatus, StopPlan, StopStatus } from './types.js';

export { DEFAULT_GEOFENCE_CONFIG, LEGACY_GEOFENCE_CONFIG, exitRadiusM, resolveGeofenceConfig, type GeofenceConfig } from './geofence.js';

export interface StopTracking {
  sequence: number;
  status: StopStatus;
  arrivedAt?: string;
  departedAt?: string;
}

interface PositionSample extends LatLon {
  at: string;
}

/** A visit of a pending stop's geofence that no arrival rule has confirmed yet. */
export interface UnconfirmedVisit {
  stopSequence: number;
  /** The visit's first fix inside: the arrival's stamp once confirmed. */
  entered: PositionSample;
  /** Fixes of the visit within the exit radius. */
  fixes: number;
  /** Where and since when the vehicle has stood still (every fix since within stationaryRadiusM). */
  stationary: PositionSample;
}

export interface TrackingState {
  status: ShipmentStatus;
  stops: StopTracking[];
  /** Sequence of the stop the truck is at while AT_STOP. */
  currentStopSequence?: number;
  /**
   * Fixes seen beyond the visited stop's exit radius since the last one inside it. Departure is
   * stamped with the first; they are replayed after departure so a close next stop is not missed.
   */
  exitCandidates: PositionSample[];
  /** Time of the last fix applied (whatever its accuracy): older or equal fixes change nothing. */
  lastFixAt?: string;
  /** Absent: no unconfirmed visit under way (states of running workflows may lack the field). */
  unconfirmedVisit?: UnconfirmedVisit;
  /** The visit's last fix within the exit radius, kept only while a tracker-gap rule applies. */
  lastInside?: PositionSample;
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

/** A visit of a stop's geofence that ended without being confirmed: a drive-by, for the timeline. */
export interface GeofencePassEvent {
  kind: 'pass';
  stopSequence: number;
  /** When it entered: the visit's first fix inside, as an arrival would have been stamped. */
  at: string;
  /** Stamped as a departure would be: the first fix outside, or the last inside across a tracker gap. */
  exitedAt: string;
  fixesInside: number;
}

export type TrackingEvent = MilestoneEvent | StatusEvent | GeofencePassEvent;

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

/**
 * Delivery confirmed by an event (proof of delivery, dispatcher) rather than by leaving the last
 * stop. It is evidence about the open visit: one whose latest fix is outside departs as its fixes
 * say, and an unconfirmed visit of the last stop is confirmed (the goods were handed over there).
 */
export function markDelivered(state: TrackingState, at: string, config: GeofenceConfig = DEFAULT_GEOFENCE_CONFIG): TrackingResult {
  if (isTerminal(state.status) || !config.closesPendingVisits) return closeWith(state, 'DELIVERED', at);
  const events: TrackingEvent[] = [];
  const left = exitStamp(state, config);
  let next = state;
  const visit = state.unconfirmedVisit;
  if (visit) {
    const lastSequence = Math.max(...state.stops.map((s) => s.sequence));
    next = visit.stopSequence === lastSequence ? arrive(next, visit.stopSequence, visit.entered, events) : pass(next, visitEnd(next, config), events);
  }
  if (left && next.currentStopSequence !== undefined) next = depart(next, next.currentStopSequence, left, events);
  const closed = closeWith(next, 'DELIVERED', at);
  return { state: closed.state, events: [...events, ...closed.events] };
}

export function markCancelled(state: TrackingState, at: string): TrackingResult {
  return closeWith(state, 'CANCELLED', at);
}

/**
 * Why a manual milestone (driver app, dispatcher) cannot apply now, or undefined when it can.
 * Repeating one that already happened is not a reason: it simply changes nothing.
 */
export function manualMilestoneRefusal(
  state: TrackingState,
  type: MilestoneType,
  stopSequence: number,
  config: GeofenceConfig = DEFAULT_GEOFENCE_CONFIG,
): string | undefined {
  const stop = state.stops.find((s) => s.sequence === stopSequence);
  if (!stop) return `the shipment has no stop ${stopSequence}`;
  if (type === 'ARRIVED') {
    if (stop.status !== 'PENDING') return undefined;
    if (isTerminal(state.status)) return `the shipment is ${state.status.toLowerCase()}`;
    const leaving = config.closesPendingVisits && state.exitCandidates.length > 0;
    if (state.currentStopSequence !== undefined && !leaving) return `the truck is still at stop ${state.currentStopSequence}; record its departure first`;
    return undefined;
  }
  if (stop.status === 'DEPARTED') return undefined;
  if (state.currentStopSequence === stopSequence) return undefined;
  if (config.closesPendingVisits && state.unconfirmedVisit?.stopSequence === stopSequence) return undefined;
  return `the truck has not arrived at stop ${stopSequence}`;
}

/**
 * A milestone reported by a person instead of detected from fixes, stamped with the reported time
 * and placed at the stop. Later fixes carry on from it (a truck seen leaving departs as usual).
 * It closes the open visit first: a stop being left departs as its fixes say, a passed stop is a
 * pass, and a departure from a stop whose visit was not confirmed yet confirms its arrival.
 */
export function applyManualMilestone(
  state: TrackingState,
  type: MilestoneType,
  stopSequence: number,
  at: string,
  stops: readonly StopPlan[],
  config: GeofenceConfig = DEFAULT_GEOFENCE_CONFIG,
): TrackingResult {
  const stop = stops.find((s) => s.sequence === stopSequence);
  if (!stop || manualMilestoneRefusal(state, type, stopSequence, config) !== undefined) return { state, events: [] };
  const tracked = state.stops.find((s) => s.sequence === stopSequence);
  const alreadyHappened = type === 'ARRIVED' ? tracked?.status !== 'PENDING' : tracked?.status === 'DEPARTED';
  if (alreadyHappened) return { state, events: [] };
  const events: TrackingEvent[] = [];
  const sample: PositionSample = { at, lat: stop.location.lat, lon: stop.location.lon };
  let next = config.closesPendingVisits ? closeVisitFor(state, type, stopSequence, config, events) : state;
  next = type === 'ARRIVED' ? arrive(next, stopSequence, sample, events) : depart(next, stopSequence, sample, events);
  return { state: next, events };
}

function closeVisitFor(state: TrackingState, type: MilestoneType, stopSequence: number, config: GeofenceConfig, events: TrackingEvent[]): TrackingState {
  const visit = state.unconfirmedVisit;
  if (type === 'DEPARTED') return visit?.stopSequence === stopSequence ? arrive(state, stopSequence, visit.entered, events) : state;
  if (state.currentStopSequence !== undefined) return depart(state, state.currentStopSequence, exitStamp(state, config)!, events);
  if (!visit) return state;
  if (visit.stopSequence !== stopSequence) return pass(state, visitEnd(state, config), events);
  const { unconfirmedVisit: _replaced, lastInside: _last, ...rest } = state;
  return rest;
}

function closeWith(state: TrackingState, to: 'DELIVERED' | 'CANCELLED', at: string): TrackingResult {
  if (isTerminal(state.status)) return { state, events: [] };
  const event: StatusEvent = { kind: 'status', from: state.status, to, at };
  const { currentStopSequence: _left, unconfirmedVisit: _visit, lastInside: _last, ...rest } = state;
  return { state: { ...rest, status: to, exitCandidates: [] }, events: [event] };
}

function step(state: TrackingState, sample: PositionSample, stops: readonly StopPlan[], config: GeofenceConfig, events: TrackingEvent[]): TrackingState {
  if (isTerminal(state.status)) return state;
  const visitedSequence = state.currentStopSequence ?? state.unconfirmedVisit?.stopSequence;
  if (visitedSequence === undefined) {
    const target = firstPendingStopContaining(state, sample, stops);
    if (target) {
      const visit: UnconfirmedVisit = { stopSequence: target.sequence, entered: sample, fixes: 1, stationary: sample };
      return continueVisit(withLastInside(state, sample, config), target, visit, sample, config, events);
    }
    if (state.status === 'PLANNED') {
      events.push({ kind: 'status', from: 'PLANNED', to: 'IN_TRANSIT', at: sample.at });
      return { ...state, status: 'IN_TRANSIT' };
    }
    return state;
  }

  const current = stops.find((stop) => stop.sequence === visitedSequence);
  if (!current) return state;
  const d = distanceM(sample, current.location);
  // Inside another pending stop's geofence counts as leaving this one, even within the exit band
  // (two docks of one site may sit closer than the margin).
  const beyond = d > exitRadiusM(current, config) || (d > current.geofenceRadiusM && firstPendingStopContaining(state, sample, stops) !== undefined);
  if (!beyond) return stayInside(state, current, sample, config, events);

  const candidates = [...state.exitCandidates, sample];
  const afterGap = isTrackerGap(state, candidates[0]!, config);
  if (candidates.length < config.departureConfirmationFixes && !afterGap) return { ...state, exitCandidates: candidates };

  const left = afterGap ? state.lastInside! : candidates[0]!;
  let next = state.currentStopSequence !== undefined ? depart(state, current.sequence, left, events) : pass(state, left, events);
  for (const candidate of candidates) next = step(next, candidate, stops, config, events);
  return next;
}

function stayInside(state: TrackingState, stop: StopPlan, sample: PositionSample, config: GeofenceConfig, events: TrackingEvent[]): TrackingState {
  const inside = withLastInside(state.exitCandidates.length === 0 ? state : { ...state, exitCandidates: [] }, sample, config);
  const visit = state.unconfirmedVisit;
  if (!visit) return inside;
  const still = distanceM(visit.stationary, sample) <= config.stationaryRadiusM;
  return continueVisit(inside, stop, { ...visit, fixes: visit.fixes + 1, stationary: still ? visit.stationary : sample }, sample, config, events);
}

/** The visit as of `latest`: an arrival once a rule confirms it, else still unconfirmed. */
function continueVisit(state: TrackingState, stop: StopPlan, visit: UnconfirmedVisit, latest: PositionSample, config: GeofenceConfig, events: TrackingEvent[]): TrackingState {
  const rule = arrivalRuleOf(stop, config);
  const confirmed =
    minutesBetween(visit.entered.at, latest.at) >= rule.dwellMin ||
    minutesBetween(visit.stationary.at, latest.at) >= rule.stationaryMin ||
    (rule.fixes !== undefined && visit.fixes >= rule.fixes);
  return confirmed ? arrive(state, stop.sequence, visit.entered, events) : { ...state, unconfirmedVisit: visit };
}

function withLastInside(state: TrackingState, sample: PositionSample, config: GeofenceConfig): TrackingState {
  return config.trackerGapMin === undefined ? state : { ...state, lastInside: sample };
}

function isTrackerGap(state: TrackingState, firstOutside: PositionSample, config: GeofenceConfig): boolean {
  return config.trackerGapMin !== undefined && state.lastInside !== undefined && minutesBetween(state.lastInside.at, firstOutside.at) > config.trackerGapMin;
}

/** When the visit ended, if its latest fixes say it did: the first fix outside, or the last inside across a tracker gap. */
function exitStamp(state: TrackingState, config: GeofenceConfig): PositionSample | undefined {
  const first = state.exitCandidates[0];
  if (!first) return undefined;
  return isTrackerGap(state, first, config) ? state.lastInside! : first;
}

/** An unconfirmed visit ended by other evidence: as its fixes say, else at its last fix inside. */
function visitEnd(state: TrackingState, config: GeofenceConfig): PositionSample {
  return exitStamp(state, config) ?? state.lastInside ?? state.unconfirmedVisit!.entered;
}

function arrive(state: TrackingState, sequence: number, sample: PositionSample, events: TrackingEvent[]): TrackingState {
  events.push({ kind: 'milestone', type: 'ARRIVED', stopSequence: sequence, at: sample.at, position: { lat: sample.lat, lon: sample.lon } });
  events.push({ kind: 'status', from: state.status, to: 'AT_STOP', at: sample.at, stopSequence: sequence });
  const { unconfirmedVisit: _confirmed, ...rest } = state;
  return {
    ...rest,
    status: 'AT_STOP',
    currentStopSequence: sequence,
    exitCandidates: [],
    stops: state.stops.map((stop) => (stop.sequence === sequence ? { ...stop, status: 'ARRIVED', arrivedAt: sample.at } : stop)),
  };
}

function depart(state: TrackingState, sequence: number, first: PositionSample, events: TrackingEvent[]): TrackingState {
  const lastSequence = Math.max(...state.stops.map((s) => s.sequence));
  const to: ShipmentStatus = sequence === lastSequence ? 'DELIVERED' : 'IN_TRANSIT';
  events.push({ kind: 'milestone', type: 'DEPARTED', stopSequence: sequence, at: first.at, position: { lat: first.lat, lon: first.lon } });
  events.push({ kind: 'status', from: state.status, to, at: first.at, stopSequence: sequence });
  const { currentStopSequence: _left, lastInside: _last, ...rest } = state;
  return {
    ...rest,
    status: to,
    exitCandidates: [],
    stops: state.stops.map((s) => (s.sequence === sequence ? { ...s, status: 'DEPARTED', departedAt: first.at } : s)),
  };
}

/** The unconfirmed visit ends at `left`: a pass, and a shipment still PLANNED was under way since it entered. */
function pass(state: TrackingState, left: PositionSample, events: TrackingEvent[]): TrackingState {
  const visit = state.unconfirmedVisit!;
  events.push({ kind: 'pass', stopSequence: visit.stopSequence, at: visit.entered.at, exitedAt: left.at, fixesInside: visit.fixes });
  const { unconfirmedVisit: _passed, lastInside: _last, ...rest } = state;
  if (state.status !== 'PLANNED') return { ...rest, exitCandidates: [] };
  events.push({ kind: 'status', from: 'PLANNED', to: 'IN_TRANSIT', at: visit.entered.at });
  return { ...rest, status: 'IN_TRANSIT', exitCandidates: [] };
}

/** The lowest-sequence stop still PENDING whose geofence holds the position. */
function firstPendingStopContaining(state: TrackingState, position: LatLon, stops: readonly StopPlan[]): StopPlan | undefined {
  const pending = new Set(state.stops.filter((s) => s.status === 'PENDING').map((s) => s.sequence));
  return [...stops]
    .sort((a, b) => a.sequence - b.sequence)
    .find((stop) => pending.has(stop.sequence) && distanceM(position, stop.location) <= stop.geofenceRadiusM);
}

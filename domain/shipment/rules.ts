// The shipment's rule state in event time, and the inputs that move it: fixes in time order,
// delivery events reported by people, ETA predictions, and deadlines passing. Every function is
// pure, so the same inputs in the same order always give the same state and events: the
// workflow's decisions, and what a re-evaluation from a checkpoint recomputes.
import {
  applyAnomalyEvents,
  closeAnomalies,
  detectAnomalies,
  detectAnomaliesInOrder,
  initialAnomalyState,
  onAnomalyDeadline,
  type AnomalyContext,
  type AnomalyEvent,
  type AnomalyState,
  type DetectorResult,
} from '../anomalies/index.js';
import {
  applyFix,
  applyManualMilestone,
  initialTrackingState,
  isTerminal,
  markCancelled,
  markDelivered,
  type GeofenceConfig,
  type MilestoneEvent,
  type TrackingEvent,
  type TrackingResult,
  type TrackingState,
} from '../milestones.js';
import type { Anomaly, Fix, LatLon, Milestone, MilestoneType, StopPlan } from '../types.js';

/** A milestone as decided, with the position that decided it (corrections in the timeline carry it). */
export interface DecidedMilestone extends Milestone {
  position?: LatLon;
}

export interface RuleContext {
  stops: readonly StopPlan[];
  geofence: GeofenceConfig;
  anomalies: AnomalyContext;
}

/** Plain JSON: it is carried across continue-as-new and copied into checkpoints. */
export interface RuleState {
  tracking: TrackingState;
  anomalies: AnomalyState;
  /** Milestones decided so far, in the order they were decided. */
  milestones: DecidedMilestone[];
  /** Every anomaly episode, as the view and the projection show them. */
  anomalyLog: Anomaly[];
  /** The latest fix with a usable accuracy: the truck's last known position. */
  lastPosition?: Fix;
}

export type RuleEvent = TrackingEvent | AnomalyEvent;

export interface RuleStep {
  rules: RuleState;
  events: RuleEvent[];
}

export function initialRuleState(stops: readonly StopPlan[]): RuleState {
  return { tracking: initialTrackingState(stops), anomalies: initialAnomalyState(), milestones: [], anomalyLog: [] };
}

function withAnomalies(rules: RuleState, result: DetectorResult<AnomalyState>, events: RuleEvent[]): RuleState {
  events.push(...result.events);
  if (result.events.length === 0) return { ...rules, anomalies: result.state };
  return { ...rules, anomalies: result.state, anomalyLog: applyAnomalyEvents(rules.anomalyLog, result.events) };
}

/**
 * Tracking events into state, their milestones (then the fix, if any) through the anomaly
 * detectors — milestones first, or a departure could read as a long dwell — and a delivery
 * closing what is still open.
 */
function track(rules: RuleState, result: TrackingResult, fix: Fix | undefined, ctx: RuleContext): RuleStep {
  const events: RuleEvent[] = [...result.events];
  const milestones = result.events.filter((event): event is MilestoneEvent => event.kind === 'milestone');
  let next: RuleState = {
    ...rules,
    tracking: result.state,
    milestones: milestones.length === 0 ? rules.milestones : [...rules.milestones, ...milestones.map(({ type, stopSequence, at, position }) => ({ type, stopSequence, at, position }))],
  };
  const inputs = [...milestones, ...(fix ? [{ kind: 'fix' as const, fix }] : [])];
  next = withAnomalies(next, detectAnomaliesInOrder(next.anomalies, inputs, ctx.anomalies), events);
  const delivered = result.events.find((event) => event.kind === 'status' && event.to === 'DELIVERED');
  if (delivered) next = withAnomalies(next, closeAnomalies(next.anomalies, delivered.at, 'shipment delivered'), events);
  return { rules: next, events };
}

/** Whether a fix may be the shipment's last position: one reporting worse than the geofence's accuracy limit may not. */
export function usableAsPosition(fix: Pick<Fix, 'accuracyM'>, geofence: Pick<GeofenceConfig, 'maxAccuracyM'>): boolean {
  return fix.accuracyM === undefined || fix.accuracyM <= geofence.maxAccuracyM;
}

/** One fix newer than every fix applied so far (callers sort and split off late fixes). */
export function applyFixInOrder(rules: RuleState, fix: Fix, ctx: RuleContext): RuleStep {
  const step = track(rules, applyFix(rules.tracking, fix, ctx.stops, ctx.geofence), fix, ctx);
  return usableAsPosition(fix, ctx.geofence) ? { ...step, rules: { ...step.rules, lastPosition: fix } } : step;
}

/** Folds fixes, already in time order, through applyFixInOrder. */
export function applyFixesInOrder(rules: RuleState, fixes: readonly Fix[], ctx: RuleContext): RuleStep {
  const events: RuleEvent[] = [];
  let current = rules;
  for (const fix of fixes) {
    const step = applyFixInOrder(current, fix, ctx);
    current = step.rules;
    events.push(...step.events);
  }
  return { rules: current, events };
}

/** A milestone reported by a person (driver app, dispatcher) at the reported time. */
export function applyManualMilestoneInput(rules: RuleState, type: MilestoneType, stopSequence: number, at: string, ctx: RuleContext): RuleStep {
  return track(rules, applyManualMilestone(rules.tracking, type, stopSequence, at, ctx.stops, ctx.geofence), undefined, ctx);
}

/** Proof of delivery at the last stop: delivered, whether or not the fixes left the stop. */
export function applyProofOfDelivery(rules: RuleState, at: string, ctx: RuleContext): RuleStep {
  return track(rules, markDelivered(rules.tracking, at, ctx.geofence), undefined, ctx);
}

export function applyCancellation(rules: RuleState, at: string, fixNow: string): RuleStep {
  const result = markCancelled(rules.tracking, at);
  const events: RuleEvent[] = [...result.events];
  const next = withAnomalies({ ...rules, tracking: result.state }, closeAnomalies(rules.anomalies, fixNow, 'shipment cancelled'), events);
  return { rules: next, events };
}

/** A new ETA prediction, for the LATE detector. */
export function applyEtaInput(rules: RuleState, predictedAt: string, stops: readonly { sequence: number; eta: string }[], ctx: RuleContext): RuleStep {
  const events: RuleEvent[] = [];
  return { rules: withAnomalies(rules, detectAnomalies(rules.anomalies, { kind: 'eta', predictedAt, stops }, ctx.anomalies), events), events };
}

/** Opens what the anomaly deadlines passed by `fixNow` (fix time) are due for. */
export function applyDeadlines(rules: RuleState, fixNow: string, ctx: RuleContext): RuleStep {
  const events: RuleEvent[] = [];
  return { rules: withAnomalies(rules, onAnomalyDeadline(rules.anomalies, fixNow, ctx.anomalies), events), events };
}

export const isClosed = (rules: RuleState): boolean => isTerminal(rules.tracking.status);

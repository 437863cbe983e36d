// The v2 shipment workflow's state (what continue-as-new carries), how a v1 run's state becomes
// one, and what the state shows: the query's view, the Temporal UI's details and search attributes.
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { openAnomalyTypes } from '../domain/anomalies/index.js';
import { initialReevaluationState } from '../domain/shipment/reevaluation.js';
import { createdTimelineEvent, initialDecisionState, type DecisionState } from '../domain/shipment/decide.js';
import { isClosed } from '../domain/shipment/rules.js';
import type { TimelineEvent } from '../domain/timeline.js';
import type { Assignment, Fix, ShipmentPlan, ShipmentView, StopPlan } from '../domain/types.js';
import { searchAttributes } from './contract.js';
import type { CarriedShipmentState as CarriedV1 } from './v1/shipment.js';

/** Where the fix-time clock stands: fix-time now = fixAt + (workflow now − workflowAt). */
export interface FixClockAnchor {
  fixAt: string;
  workflowAt: string;
}

export interface ProjectionState {
  /** Version of the last snapshot handed to the activity (workflow time, epoch ms); the rows only ever move forward. */
  version: number;
  /** Timeline events decided but not yet persisted. */
  outbox: TimelineEvent[];
  dirty: boolean;
  /** recordedAt of the last position written, for throttling. */
  lastPositionPersistedAt?: string;
  /** Set while writes fail; cleared by the next one that succeeds. */
  failure?: { message: string; since: string; attempts: number; retryAt: string };
}

export interface ShipmentState {
  version: 2;
  decisions: DecisionState;
  ingest: {
    /** Highest stored fix sequence read; absent after the v1 handover (the store knows). */
    loadedSeq?: number;
    /** Highest sequence a wake-up said is stored. */
    signalledSeq: number;
    /** Fixes sent inside signals (the v1 way), not yet decided. */
    legacyQueue: Fix[];
  };
  projection: ProjectionState;
  fixClock?: FixClockAnchor;
  cancellation?: { reason: string; at: string; actor?: string };
  /** Current fleet assignment once changed by the assignment Update (else the plan's). */
  assignment?: Assignment;
  assignmentChanges: number;
  /** Client ids of the delivery events recorded so far: a retried report changes nothing. */
  deliveryEventIds: string[];
  /** Workflow time when the delivery grace period ends. */
  graceEndsAt?: string;
  /** Workflow time the shipment's first run started. */
  startedAt: string;
  updatedAt: string;
  runs: number;
}

export function initialShipmentState(plan: ShipmentPlan, now: string): ShipmentState {
  return {
    version: 2,
    decisions: initialDecisionState(plan.stops),
    ingest: { loadedSeq: 0, signalledSeq: 0, legacyQueue: [] },
    // The first run records the creation.
    projection: { version: 0, outbox: [createdTimelineEvent(plan)], dirty: true },
    assignmentChanges: 0,
    deliveryEventIds: [],
    startedAt: now,
    updatedAt: plan.createdAt,
    runs: 0,
  };
}

/**
 * A v1 run's carried state as v2 state: the same decisions so far, and one checkpoint at the
 * handover, so fixes newer than v1's last one can still be re-evaluated (older ones v1 has seen).
 */
export function fromV1({ state: v1, queuedFixes }: CarriedV1): ShipmentState {
  const rules = { tracking: v1.tracking, anomalies: v1.anomalies, milestones: v1.milestones, anomalyLog: v1.anomalyLog, ...(v1.lastPosition ? { lastPosition: v1.lastPosition } : {}) };
  return {
    version: 2,
    decisions: {
      rules,
      reevaluation: { ...initialReevaluationState(rules), checkpoints: [{ ...(v1.tracking.lastFixAt ? { at: v1.tracking.lastFixAt } : {}), rules, fixIndex: 0 }] },
      keys: { statusChanges: v1.statusChanges, revisions: {}, etaChanges: {} },
      eta: { schedule: v1.eta.schedule, stops: v1.eta.stops, published: {} },
      counters: { applied: v1.counters.fixesApplied, duplicates: v1.counters.duplicates, late: 0, tooLate: v1.counters.stale, afterClose: v1.counters.ignoredAfterClose, rewinds: 0 },
    },
    ingest: { signalledSeq: 0, legacyQueue: queuedFixes },
    projection: { version: v1.projectionVersion, outbox: v1.outbox, dirty: v1.projectionDirty, ...(v1.lastPositionPersistedAt ? { lastPositionPersistedAt: v1.lastPositionPersistedAt } : {}) },
    ...(v1.fixClock ? { fixClock: v1.fixClock } : {}),
    ...(v1.cancellation ? { cancellation: v1.cancellation } : {}),
    ...(v1.assignment ? { assignment: v1.assignment } : {}),
    assignmentChanges: v1.assignmentChanges ?? 0,
    deliveryEventIds: v1.deliveryEventIds ?? [],
    ...(v1.graceEndsAt ? { graceEndsAt: v1.graceEndsAt } : {}),
    startedAt: v1.startedAt,
    updatedAt: v1.updatedAt,
    runs: v1.counters.runs,
  };
}

/** The carried input of the previous run, whichever version wrote it. */
export function restoreShipmentState(carried: unknown, plan: ShipmentPlan, now: string): ShipmentState {
  if (carried === undefined || carried === null) return initialShipmentState(plan, now);
  const candidate = carried as Partial<ShipmentState> & Partial<CarriedV1>;
  if (candidate.version === 2 && candidate.decisions) return candidate as ShipmentState;
  if (candidate.state && Array.isArray(candidate.queuedFixes)) return fromV1(candidate as CarriedV1);
  throw new TypeError('carried state of the previous run is malformed');
}

export interface ShipmentShape {
  plan: ShipmentPlan;
  stops: ReadonlyMap<number, StopPlan>;
  workflowId: string;
}

export function currentAssignment(state: ShipmentState, plan: ShipmentPlan): Assignment {
  return state.assignment ?? { carrierId: plan.carrierId, vehicleId: plan.vehicleId, driverId: plan.driverId, deviceId: plan.deviceId };
}

/** Latest ETA of a stop still ahead of the truck. */
export function stopEta(state: ShipmentState, sequence: number): string | undefined {
  const { rules, eta } = state.decisions;
  const progress = rules.tracking.stops.find((stop) => stop.sequence === sequence);
  if (progress?.status !== 'PENDING' || isClosed(rules)) return undefined;
  return eta.stops.find((stop) => stop.sequence === sequence)?.eta;
}

/** ETA at the next stop the truck has not reached. */
export function nextEta(state: ShipmentState): string | undefined {
  const next = state.decisions.rules.tracking.stops.find((stop) => stop.status === 'PENDING');
  return next && stopEta(state, next.sequence);
}

export function trackingProblems(state: ShipmentState): string[] {
  return state.projection.failure ? ['PROJECTION_WRITE_FAILING'] : [];
}

export function shipmentView(state: ShipmentState, shape: ShipmentShape): ShipmentView {
  const { plan } = shape;
  const { rules, counters } = state.decisions;
  return {
    id: plan.shipmentId,
    reference: plan.reference,
    status: rules.tracking.status,
    createdAt: plan.createdAt,
    updatedAt: state.updatedAt,
    workflowId: shape.workflowId,
    ...currentAssignment(state, plan),
    stops: rules.tracking.stops.map((progress) => {
      const eta = stopEta(state, progress.sequence);
      return { ...shape.stops.get(progress.sequence)!, ...progress, ...(eta ? { eta } : {}) };
    }),
    route: plan.route,
    lastPosition: rules.lastPosition,
    eta: nextEta(state),
    anomalies: rules.anomalyLog,
    milestones: rules.milestones.map(({ type, stopSequence, at }) => ({ type, stopSequence, at })),
    cancellation: state.cancellation && { reason: state.cancellation.reason, at: state.cancellation.at },
    fixCounts: { applied: counters.applied, duplicates: counters.duplicates, late: counters.late, ignored: counters.tooLate + counters.afterClose, rewinds: counters.rewinds },
  };
}

/** NextEta is published rounded to this, so a few seconds of drift do not upsert it on every prediction. */
const NEXT_ETA_PUBLISH_ROUNDING_MS = 5 * 60_000;

export function searchAttributePairs(state: ShipmentState, plan: ShipmentPlan): SearchAttributeUpdatePair[] {
  const eta = nextEta(state);
  const pairs: SearchAttributeUpdatePair[] = [
    { key: searchAttributes.tenantId, value: plan.tenantId },
    { key: searchAttributes.shipmentReference, value: plan.reference },
    { key: searchAttributes.shipmentStatus, value: state.decisions.rules.tracking.status },
    { key: searchAttributes.openAnomalies, value: openAnomalyTypes(state.decisions.rules.anomalies) },
    { key: searchAttributes.nextEta, value: eta === undefined ? null : new Date(Math.round(Date.parse(eta) / NEXT_ETA_PUBLISH_ROUNDING_MS) * NEXT_ETA_PUBLISH_ROUNDING_MS) },
    { key: searchAttributes.trackingProblems, value: trackingProblems(state) },
  ];
  const { carrierId } = currentAssignment(state, plan);
  if (carrierId) pairs.push({ key: searchAttributes.carrierId, value: carrierId });
  else if (state.assignmentChanges > 0) pairs.push({ key: searchAttributes.carrierId, value: null });
  return pairs;
}

/** The Temporal UI's current details: what an operator needs at a glance. */
export function describeShipment(state: ShipmentState, shape: ShipmentShape): string {
  const { rules, counters } = state.decisions;
  const stops = rules.tracking.stops.map((progress) => {
    const stop = shape.stops.get(progress.sequence);
    const when = progress.departedAt ?? progress.arrivedAt;
    return `${progress.sequence}. ${stop?.name ?? '?'}: ${progress.status.toLowerCase()}${when ? ` ${when}` : ''}`;
  });
  const last = rules.lastPosition;
  const open = openAnomalyTypes(rules.anomalies);
  const eta = nextEta(state);
  const failure = state.projection.failure;
  return [
    `**${rules.tracking.status}** · ${shape.plan.reference}`,
    ...stops,
    last ? `Last fix ${last.recordedAt} at ${last.lat.toFixed(5)}, ${last.lon.toFixed(5)}` : 'No fix yet',
    eta ? `Next ETA ${eta}` : '',
    open.length > 0 ? `Open anomalies: ${open.join(', ')}` : '',
    `Fixes: ${counters.applied} applied (${counters.late} late, ${counters.rewinds} re-evaluations), ${counters.duplicates} duplicate, ${counters.tooLate + counters.afterClose} ignored`,
    failure ? `Projection writes failing since ${failure.since} (${failure.attempts}×): ${failure.message}` : '',
    state.cancellation ? `Cancelled ${state.cancellation.at}: ${state.cancellation.reason}` : '',
    state.graceEndsAt ? `Open for late fixes until ${state.graceEndsAt}` : '',
  ]
    .filter((line) => line !== '')
    .join('\n');
}

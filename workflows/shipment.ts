// One long-lived workflow per shipment: it turns batches of fixes into milestones and status,
// persists what it decides through activities, and stays open for a grace period after delivery.
import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import type { ShipmentActivities } from '../activities/index.js';
import { prepareFixBatch } from '../domain/fixes.js';
import {
  applyFixes,
  DEFAULT_GEOFENCE_CONFIG,
  initialTrackingState,
  isTerminal,
  markCancelled,
  type TrackingEvent,
  type TrackingResult,
  type TrackingState,
} from '../domain/milestones.js';
import { timelineEventKey, type ShipmentProgress, type TimelineEvent } from '../domain/timeline.js';
import type { Assignment, Fix, Milestone, ShipmentPlan, ShipmentView, StopPlan } from '../domain/types.js';
import {
  ASSIGNMENT_FAILURES,
  cancelShipmentUpdate,
  DEFAULT_WORKFLOW_SETTINGS,
  fixesReceivedSignal,
  searchAttributes,
  shipmentStateQuery,
  updateAssignmentUpdate,
  type AssignmentChange,
  type CancelRequest,
  type ShipmentWorkflowInput,
  type ShipmentWorkflowSettings,
} from './contract.js';

const { persistShipmentProgress } = proxyActivities<ShipmentActivities>({
  startToCloseTimeout: '30 seconds',
  // No attempt limit: the projection must eventually hold what the workflow decided (writes are idempotent).
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

// The assignment Update waits for this write, so it retries briefly and then fails the Update.
const { persistAssignment } = proxyActivities<ShipmentActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '200 milliseconds', maximumInterval: '2 seconds', maximumAttempts: 5, nonRetryableErrorTypes: [ASSIGNMENT_FAILURES.unknownFleetReference] },
});

const ASSIGNMENT_FIELDS = ['carrierId', 'vehicleId', 'driverId', 'deviceId'] as const;

/** Absent fields of the change keep their value, null clears them. */
function mergeAssignment(current: Assignment, change: AssignmentChange): Assignment {
  const next: Assignment = { ...current };
  for (const field of ASSIGNMENT_FIELDS) {
    const value = change[field];
    if (value === null) delete next[field];
    else if (value !== undefined) next[field] = value;
  }
  return next;
}

/** The projection's last_position follows the truck at most this often in fix time (milestones always write it). */
const POSITION_PERSIST_INTERVAL_MS = 5 * 60_000;

export const ALREADY_DELIVERED_FAILURE = 'ShipmentAlreadyDelivered';
export const INVALID_CANCEL_FAILURE = 'InvalidCancelRequest';

interface Counters {
  fixesApplied: number;
  duplicates: number;
  stale: number;
  invalid: number;
  ignoredAfterClose: number;
  signals: number;
  runs: number;
}

/** Compact state: no raw fixes, only what the rules and the projection need. Carried across continue-as-new. */
export interface ShipmentWorkflowState {
  tracking: TrackingState;
  milestones: Milestone[];
  lastPosition?: Fix;
  /** recordedAt of the last position written to the projection, for throttling. */
  lastPositionPersistedAt?: string;
  /** Monotonic version of the projection snapshot; the rows only ever move forward. */
  projectionVersion: number;
  /** Number of status changes so far: the ordinal in `STATUS:<n>:<to>` event keys. */
  statusChanges: number;
  /** Timeline events decided but not yet persisted. */
  outbox: TimelineEvent[];
  projectionDirty: boolean;
  cancellation?: { reason: string; at: string; actor?: string };
  /** Current fleet assignment once changed by the assignment Update (else the plan's). */
  assignment?: Assignment;
  /** Number of assignment changes so far: the ordinal in `ASSIGNMENT:<n>` event keys. */
  assignmentChanges?: number;
  /** Workflow time when the delivery grace period ends. */
  graceEndsAt?: string;
  updatedAt: string;
  counters: Counters;
}

export interface CarriedShipmentState {
  state: ShipmentWorkflowState;
  queuedFixes: Fix[];
}

function readCarried(carried: unknown): CarriedShipmentState | undefined {
  if (carried === undefined || carried === null) return undefined;
  const candidate = carried as Partial<CarriedShipmentState>;
  if (typeof candidate.state !== 'object' || candidate.state === null || !Array.isArray(candidate.queuedFixes)) {
    throw ApplicationFailure.nonRetryable('carried state of the previous run is malformed', 'InvalidCarriedState');
  }
  return candidate as CarriedShipmentState;
}

function nowIso(): string {
  return new Date(Date.now()).toISOString();
}

function initialState(plan: ShipmentPlan): ShipmentWorkflowState {
  return {
    tracking: initialTrackingState(plan.stops),
    milestones: [],
    projectionVersion: 0,
    statusChanges: 0,
    // The first run records the creation; continued runs carry an empty outbox.
    outbox: [{ key: timelineEventKey.created(), type: 'SHIPMENT_CREATED', occurredAt: plan.createdAt, data: { reference: plan.reference, stops: plan.stops.length } }],
    projectionDirty: true,
    updatedAt: plan.createdAt,
    counters: { fixesApplied: 0, duplicates: 0, stale: 0, invalid: 0, ignoredAfterClose: 0, signals: 0, runs: 0 },
  };
}

export async function shipmentWorkflow(input: ShipmentWorkflowInput): Promise<ShipmentView> {
  const { plan } = input;
  const settings: ShipmentWorkflowSettings = { ...DEFAULT_WORKFLOW_SETTINGS, ...input.settings };
  const stopsBySequence = new Map<number, StopPlan>(plan.stops.map((stop) => [stop.sequence, stop]));
  const carried = readCarried(input.carried);
  const state: ShipmentWorkflowState = carried?.state ?? initialState(plan);
  state.counters.runs += 1;
  const queue: Fix[] = carried ? [...carried.queuedFixes] : [];
  let signalsThisRun = 0;
  let publishedSearchAttributes = '';
  let assignmentInFlight = false;
  const assignment = (): Assignment =>
    state.assignment ?? { carrierId: plan.carrierId, vehicleId: plan.vehicleId, driverId: plan.driverId, deviceId: plan.deviceId };

  const isClosed = (): boolean => isTerminal(state.tracking.status);

  const view = (): ShipmentView => ({
    id: plan.shipmentId,
    reference: plan.reference,
    status: state.tracking.status,
    createdAt: plan.createdAt,
    updatedAt: state.updatedAt,
    workflowId: workflowInfo().workflowId,
    ...assignment(),
    stops: state.tracking.stops.map((progress) => ({ ...stopsBySequence.get(progress.sequence)!, ...progress })),
    route: plan.route,
    lastPosition: state.lastPosition,
    anomalies: [],
    milestones: state.milestones,
    cancellation: state.cancellation && { reason: state.cancellation.reason, at: state.cancellation.at },
  });

  /** Turns rule events into state, timeline events for the outbox, and a dirty projection. */
  function record(result: TrackingResult, context: { actor?: string; reason?: string } = {}): void {
    state.tracking = result.state;
    for (const event of result.events) state.outbox.push(toTimelineEvent(event, context));
    if (result.events.length === 0) return;
    state.updatedAt = nowIso();
    state.projectionDirty = true;
    if (state.tracking.status === 'DELIVERED' && state.graceEndsAt === undefined) {
      state.graceEndsAt = new Date(Date.now() + settings.deliveryGraceMs).toISOString();
      log.info('shipment delivered; grace period started', { graceEndsAt: state.graceEndsAt });
    }
  }

  function toTimelineEvent(event: TrackingEvent, context: { actor?: string; reason?: string }): TimelineEvent {
    const stop = event.stopSequence === undefined ? undefined : stopsBySequence.get(event.stopSequence);
    const stopData = stop ? { stopName: stop.name, stopType: stop.type } : {};
    if (event.kind === 'milestone') {
      state.milestones.push({ type: event.type, stopSequence: event.stopSequence, at: event.at });
      return {
        key: timelineEventKey.milestone(event.type, event.stopSequence),
        type: event.type,
        occurredAt: event.at,
        stopSequence: event.stopSequence,
        data: { ...stopData, lat: event.position.lat, lon: event.position.lon },
      };
    }
    state.statusChanges += 1;
    const base = { occurredAt: event.at, stopSequence: event.stopSequence, data: { from: event.from, to: event.to, ...stopData } };
    if (event.to === 'DELIVERED') return { ...base, key: timelineEventKey.delivered(), type: 'DELIVERED' };
    if (event.to === 'CANCELLED') {
      return { ...base, key: timelineEventKey.cancelled(), type: 'CANCELLED', data: { ...base.data, reason: context.reason }, actor: context.actor };
    }
    return { ...base, key: timelineEventKey.statusChanged(state.statusChanges, event.to), type: 'STATUS_CHANGED' };
  }

  function processQueue(): void {
    const batch = queue.splice(0, queue.length);
    if (batch.length === 0) return;
    if (isClosed()) {
      state.counters.ignoredAfterClose += batch.length;
      return;
    }
    const prepared = prepareFixBatch(batch, state.tracking.lastFixAt);
    state.counters.duplicates += prepared.duplicates;
    state.counters.stale += prepared.stale;
    state.counters.invalid += prepared.invalid;
    state.counters.fixesApplied += prepared.fresh.length;
    if (prepared.fresh.length === 0) return;
    record(applyFixes(state.tracking, prepared.fresh, plan.stops, DEFAULT_GEOFENCE_CONFIG));

    const usable = prepared.fresh.filter((fix) => fix.accuracyM === undefined || fix.accuracyM <= DEFAULT_GEOFENCE_CONFIG.maxAccuracyM);
    const latest = usable[usable.length - 1];
    if (!latest) return;
    state.lastPosition = latest;
    const persistedMs = state.lastPositionPersistedAt === undefined ? Number.NEGATIVE_INFINITY : Date.parse(state.lastPositionPersistedAt);
    if (Date.parse(latest.recordedAt) - persistedMs >= POSITION_PERSIST_INTERVAL_MS) state.projectionDirty = true;
  }

  /** Persists snapshots until nothing is pending; the only caller of the persistence activity. */
  async function flush(): Promise<void> {
    while (state.projectionDirty || state.outbox.length > 0) {
      const events = state.outbox.slice();
      const lastPosition = state.lastPosition;
      state.projectionDirty = false;
      state.projectionVersion += 1;
      const progress: ShipmentProgress = {
        tenantId: plan.tenantId,
        shipmentId: plan.shipmentId,
        version: state.projectionVersion,
        status: state.tracking.status,
        updatedAt: state.updatedAt,
        stops: state.tracking.stops.map(({ sequence, status, arrivedAt, departedAt }) => ({ sequence, status, arrivedAt, departedAt })),
        lastPosition,
        cancellation: state.cancellation && { reason: state.cancellation.reason, at: state.cancellation.at },
        events,
      };
      await persistShipmentProgress(progress);
      state.outbox.splice(0, events.length);
      if (lastPosition) state.lastPositionPersistedAt = lastPosition.recordedAt;
    }
  }

  /** Search attributes operators filter on; upserted only when they change. Issue 4 adds OpenAnomalies and NextEta here. */
  function publish(): void {
    const pairs: SearchAttributeUpdatePair[] = [
      { key: searchAttributes.tenantId, value: plan.tenantId },
      { key: searchAttributes.shipmentReference, value: plan.reference },
      { key: searchAttributes.shipmentStatus, value: state.tracking.status },
    ];
    const { carrierId } = assignment();
    if (carrierId) pairs.push({ key: searchAttributes.carrierId, value: carrierId });
    else if (state.assignmentChanges) pairs.push({ key: searchAttributes.carrierId, value: null });
    const signature = JSON.stringify(pairs.map((pair) => [pair.key.name, pair.value]));
    if (signature !== publishedSearchAttributes) {
      upsertSearchAttributes(pairs);
      publishedSearchAttributes = signature;
    }
    setCurrentDetails(describe());
  }

  function describe(): string {
    const stops = state.tracking.stops.map((progress) => {
      const stop = stopsBySequence.get(progress.sequence);
      const when = progress.departedAt ?? progress.arrivedAt;
      return `${progress.sequence}. ${stop?.name ?? '?'}: ${progress.status.toLowerCase()}${when ? ` ${when}` : ''}`;
    });
    const last = state.lastPosition;
    const { fixesApplied, duplicates, stale } = state.counters;
    return [
      `**${state.tracking.status}** · ${plan.reference}`,
      ...stops,
      last ? `Last fix ${last.recordedAt} at ${last.lat.toFixed(5)}, ${last.lon.toFixed(5)}` : 'No fix yet',
      `Fixes: ${fixesApplied} applied, ${duplicates} duplicate, ${stale} stale`,
      state.cancellation ? `Cancelled ${state.cancellation.at}: ${state.cancellation.reason}` : '',
      state.graceEndsAt ? `Open for late fixes until ${state.graceEndsAt}` : '',
    ]
      .filter((line) => line !== '')
      .join('\n');
  }

  /**
   * The earliest moment the loop must wake without a signal. Only the delivery grace today;
   * anomaly detectors (signal loss, dwell, appointment) add their deadlines here.
   */
  function nextDeadlineMs(): number | undefined {
    return state.graceEndsAt === undefined ? undefined : Date.parse(state.graceEndsAt);
  }

  const hasPendingWrites = (): boolean => state.outbox.length > 0 || state.projectionDirty;

  /**
   * Waits until no signal or update handler is running, persisting whatever they record meanwhile
   * (the cancel update waits for its write, so waiting on handlers alone could deadlock).
   */
  async function settleHandlers(): Promise<void> {
    for (;;) {
      await flush();
      if (allHandlersFinished()) return;
      await condition(() => allHandlersFinished() || hasPendingWrites());
    }
  }

  const continueAsNewDue = (): boolean => workflowInfo().continueAsNewSuggested || signalsThisRun >= settings.maxSignalsPerRun;

  function rejectIfDelivered(): void {
    if (state.tracking.status === 'DELIVERED') {
      throw ApplicationFailure.nonRetryable(
        `shipment ${plan.reference} was delivered and can no longer be cancelled`,
        ALREADY_DELIVERED_FAILURE,
      );
    }
  }

  setHandler(fixesReceivedSignal, (batch) => {
    signalsThisRun += 1;
    state.counters.signals += 1;
    if (Array.isArray(batch?.fixes)) queue.push(...batch.fixes);
  });

  setHandler(shipmentStateQuery, view);

  setHandler(
    cancelShipmentUpdate,
    async (request: CancelRequest) => {
      if (state.tracking.status !== 'CANCELLED') {
        // Re-checked here: a delivery may have landed between validation and execution.
        rejectIfDelivered();
        const at = nowIso();
        state.cancellation = { reason: request.reason, at, actor: request.actor };
        record(markCancelled(state.tracking, at), { actor: request.actor, reason: request.reason });
        log.info('shipment cancelled', { reason: request.reason, actor: request.actor });
      }
      // Answer once the cancellation is in the projection, so a read right after sees it.
      await condition(() => !hasPendingWrites());
      return view();
    },
    {
      validator: (request: CancelRequest) => {
        if (typeof request?.reason !== 'string' || request.reason.trim() === '') {
          throw ApplicationFailure.nonRetryable('a cancellation needs a non-empty reason', INVALID_CANCEL_FAILURE);
        }
        rejectIfDelivered();
      },
    },
  );

  function rejectAssignmentIfClosed(): void {
    if (isClosed()) {
      throw ApplicationFailure.nonRetryable(`shipment ${plan.reference} is ${state.tracking.status} and can no longer be reassigned`, ASSIGNMENT_FAILURES.closed);
    }
  }

  setHandler(
    updateAssignmentUpdate,
    async (change: AssignmentChange) => {
      // One change at a time, so the projection receives them in the order the workflow applies them.
      await condition(() => !assignmentInFlight);
      assignmentInFlight = true;
      try {
        rejectAssignmentIfClosed();
        const previous = assignment();
        const next = mergeAssignment(previous, change);
        const ordinal = (state.assignmentChanges ?? 0) + 1;
        try {
          await persistAssignment({
            tenantId: plan.tenantId,
            shipmentId: plan.shipmentId,
            assignment: next,
            previous,
            eventKey: `ASSIGNMENT:${ordinal}`,
            occurredAt: nowIso(),
            actor: change.actor,
          });
        } catch (error) {
          // Surface the activity's business failure (an unknown fleet id) as the Update's own.
          if (error instanceof ActivityFailure && error.cause instanceof ApplicationFailure) {
            throw ApplicationFailure.nonRetryable(error.cause.message, error.cause.type, ...(error.cause.details ?? []));
          }
          throw error;
        }
        state.assignment = next;
        state.assignmentChanges = ordinal;
        state.updatedAt = nowIso();
        log.info('assignment changed', { ordinal, actor: change.actor });
        publish();
        return view();
      } finally {
        assignmentInFlight = false;
      }
    },
    {
      validator: (change: AssignmentChange) => {
        const fields = ASSIGNMENT_FIELDS.filter((field) => change?.[field] !== undefined);
        if (fields.length === 0) throw ApplicationFailure.nonRetryable('an assignment change names at least one field', ASSIGNMENT_FAILURES.invalid);
        for (const field of fields) {
          const value = change[field];
          if (value !== null && (typeof value !== 'string' || value === '')) {
            throw ApplicationFailure.nonRetryable(`${field} must be an id or null`, ASSIGNMENT_FAILURES.invalid);
          }
        }
        rejectAssignmentIfClosed();
      },
    },
  );

  publish();
  await flush();

  for (;;) {
    const hasWork = (): boolean => queue.length > 0 || hasPendingWrites() || continueAsNewDue();
    const deadline = nextDeadlineMs();
    if (deadline === undefined) await condition(hasWork);
    else if (deadline > Date.now()) await condition(hasWork, deadline - Date.now());

    processQueue();
    publish();
    await flush();

    const graceOver = state.graceEndsAt !== undefined && Date.parse(state.graceEndsAt) <= Date.now();
    if (state.tracking.status === 'CANCELLED' || (state.tracking.status === 'DELIVERED' && graceOver)) break;

    if (continueAsNewDue()) {
      await settleHandlers();
      log.info('continuing as new', { signalsThisRun, queuedFixes: queue.length, suggested: workflowInfo().continueAsNewSuggested });
      const next: CarriedShipmentState = { state, queuedFixes: queue };
      await continueAsNew<typeof shipmentWorkflow>({ ...input, settings, carried: next });
    }
  }

  await settleHandlers();
  publish();
  return view();
}

// The shipment workflow as it ran before fixes left the signals (v1): frozen, so shipments that
// started on it replay their histories unchanged. It only runs where a history has no v2 patch
// marker (workflows/shipment.ts) and hands over to v2 at its first live workflow task: it continues
// as new with its state, which v2 converts (workflows/v1/handover.ts). Delete it once no v1 run is
// left (visibility: workflows without the v2 marker, i.e. started before it).
import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import type { ShipmentActivities } from '../../activities/index.js';
import type { EtaResult } from '../../activities/eta.js';
import {
  applyAnomalyEvents,
  anomalyEventKey,
  closeAnomalies,
  createAnomalyContext,
  detectAnomalies,
  detectAnomaliesInOrder,
  initialAnomalyState,
  nextAnomalyDeadline,
  onAnomalyDeadline,
  openAnomalyTypes,
  type AnomalyEvent,
  type AnomalyState,
  type DetectorResult,
} from '../../domain/anomalies/index.js';
import { recordEtaPrediction, shouldRepredictEta, type EtaScheduleState } from '../../domain/eta/schedule.js';
import { prepareFixBatch, toIso } from '../../domain/fixes.js';
import {
  applyFix,
  applyManualMilestone,
  LEGACY_GEOFENCE_CONFIG,
  initialTrackingState,
  isTerminal,
  manualMilestoneRefusal,
  markCancelled,
  markDelivered,
  type MilestoneEvent,
  type TrackingEvent,
  type TrackingResult,
  type TrackingState,
} from '../../domain/milestones.js';
import { geofencePassTimelineEvent, timelineEventKey, type ShipmentProgress, type TimelineEvent } from '../../domain/timeline.js';
import type { Anomaly, Assignment, Fix, Milestone, ShipmentPlan, ShipmentView, StopPlan } from '../../domain/types.js';
import {
  ASSIGNMENT_FAILURES,
  cancelShipmentUpdate,
  DEFAULT_WORKFLOW_SETTINGS,
  DELIVERY_EVENT_REFUSED,
  fixesReceivedSignal,
  fixesStoredSignal,
  recordDeliveryEventUpdate,
  searchAttributes,
  CANCEL_FAILURES,
  shipmentStateQuery,
  updateAssignmentUpdate,
  type AssignmentChange,
  type CancelRequest,
  type DeliveryEvent,
  type ShipmentWorkflowInput,
  type ShipmentWorkflowSettings,
} from '../contract.js';

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

// An ETA is a nicety: a few quick attempts, then the workflow carries on with the previous one.
const { predictShipmentEta } = proxyActivities<ShipmentActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '5 seconds', maximumAttempts: 3 },
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

/** ETA re-prediction: on every milestone, else at most this often in fix time. */
const ETA_INTERVAL_MIN = 5;

/** NextEta is published rounded to this, so a few seconds of drift do not upsert it on every prediction. */
const NEXT_ETA_PUBLISH_ROUNDING_MS = 5 * 60_000;

/**
 * Where the fix-time clock stands: the latest fix processed and the workflow time it was processed
 * at. Between fixes, fix-time "now" = fixAt + (workflow now − workflowAt).
 */
interface FixClockAnchor {
  fixAt: string;
  workflowAt: string;
}

interface EtaState {
  schedule: EtaScheduleState;
  /** Latest model ETA per stop; only PENDING stops show theirs. */
  stops: { sequence: number; eta: string }[];
}

const ALREADY_DELIVERED_FAILURE = CANCEL_FAILURES.alreadyDelivered;
const INVALID_CANCEL_FAILURE = CANCEL_FAILURES.invalid;

/** Marks the first live workflow task of a v1 run: there it continues as new, onto v2. */
export const V1_HANDOVER_PATCH = 'v1-handover-to-v2';

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
  /** Client ids of the delivery events recorded so far: a retried report changes nothing. */
  deliveryEventIds?: string[];
  anomalies: AnomalyState;
  /** Every anomaly episode, as the view and the projection show them. */
  anomalyLog: Anomaly[];
  eta: EtaState;
  /** Absent until the first fix: then fix time is taken to run with workflow time. */
  fixClock?: FixClockAnchor;
  /** Workflow time the shipment's first run started. */
  startedAt: string;
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
    anomalies: initialAnomalyState(),
    anomalyLog: [],
    eta: { schedule: {}, stops: [] },
    startedAt: nowIso(),
    updatedAt: plan.createdAt,
    counters: { fixesApplied: 0, duplicates: 0, stale: 0, invalid: 0, ignoredAfterClose: 0, signals: 0, runs: 0 },
  };
}

export async function shipmentWorkflowV1(input: ShipmentWorkflowInput): Promise<ShipmentView> {
  const { plan } = input;
  const settings: ShipmentWorkflowSettings = { ...DEFAULT_WORKFLOW_SETTINGS, ...input.settings };
  const stopsBySequence = new Map<number, StopPlan>(plan.stops.map((stop) => [stop.sequence, stop]));
  const anomalyContext = createAnomalyContext(plan, input.tenantAnomalyDefaults, LEGACY_GEOFENCE_CONFIG);
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
    stops: state.tracking.stops.map((progress) => {
      const eta = stopEta(progress.sequence);
      return { ...stopsBySequence.get(progress.sequence)!, ...progress, ...(eta ? { eta } : {}) };
    }),
    route: plan.route,
    lastPosition: state.lastPosition,
    eta: nextEta(),
    anomalies: state.anomalyLog,
    milestones: state.milestones,
    cancellation: state.cancellation && { reason: state.cancellation.reason, at: state.cancellation.at },
    fixCounts: { applied: state.counters.fixesApplied, duplicates: state.counters.duplicates, late: 0, ignored: state.counters.stale + state.counters.ignoredAfterClose, rewinds: 0 },
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

  /** Latest ETA of a stop still ahead of the truck. */
  function stopEta(sequence: number): string | undefined {
    const progress = state.tracking.stops.find((stop) => stop.sequence === sequence);
    if (progress?.status !== 'PENDING' || isClosed()) return undefined;
    return state.eta.stops.find((stop) => stop.sequence === sequence)?.eta;
  }

  /** ETA at the next stop the truck has not reached. */
  function nextEta(): string | undefined {
    const next = state.tracking.stops.find((stop) => stop.status === 'PENDING');
    return next && stopEta(next.sequence);
  }

  /**
   * The two clocks. Anomaly deadlines are fix-time instants; timers run in workflow time. Fix-time
   * now = the latest fix's recordedAt + the workflow time elapsed since that fix was processed, so
   * a deadline D fires at (workflow time the latest fix was processed) + (D − its recordedAt).
   * A live truck (recordedAt ≈ now) gets timers at D; a backfilled or accelerated trip (recordedAt
   * hours in the past) still gets the full threshold of real silence after its last fix reached
   * us, instead of timers firing at once for deadlines that lie in the past. Before the first fix
   * fix time is workflow time.
   */
  function fixNowMs(): number {
    const anchor = state.fixClock;
    return anchor ? Date.parse(anchor.fixAt) + (Date.now() - Date.parse(anchor.workflowAt)) : Date.now();
  }

  /**
   * Workflow time at which the next anomaly deadline passes. Before the first fix a deadline never
   * fires sooner than one signal-loss threshold after the start: a shipment created with windows
   * already behind it (a backfill, a replayed trip) may report its first fix before it is judged.
   */
  function anomalyDeadlineMs(): number | undefined {
    const deadline = nextAnomalyDeadline(state.anomalies, anomalyContext);
    if (deadline === undefined) return undefined;
    const anchor = state.fixClock;
    if (anchor) return Date.parse(deadline) - Date.parse(anchor.fixAt) + Date.parse(anchor.workflowAt);
    return Math.max(Date.parse(deadline), Date.parse(state.startedAt) + anomalyContext.config.signalLossMin * 60_000);
  }

  /** Anomaly events into state, the view's list, the timeline outbox and a dirty projection. */
  function recordAnomalies(result: DetectorResult<AnomalyState>): void {
    state.anomalies = result.state;
    if (result.events.length === 0) return;
    state.anomalyLog = applyAnomalyEvents(state.anomalyLog, result.events);
    for (const event of result.events) state.outbox.push(anomalyTimelineEvent(event));
    state.updatedAt = nowIso();
    state.projectionDirty = true;
  }

  function anomalyTimelineEvent(event: AnomalyEvent): TimelineEvent {
    const stop = event.stopSequence === undefined ? undefined : stopsBySequence.get(event.stopSequence);
    return {
      key: anomalyEventKey(event),
      type: event.action === 'open' ? 'ANOMALY_OPENED' : 'ANOMALY_RESOLVED',
      occurredAt: event.at,
      stopSequence: event.stopSequence,
      data: { anomaly: event.type, ...(event.detail !== undefined ? { detail: event.detail } : {}), ...(stop ? { stopName: stop.name } : {}) },
    };
  }

  /** Opens what the timers are due for, once the workflow clock has passed the mapped deadline. */
  function fireAnomalyTimers(): void {
    const due = anomalyDeadlineMs();
    if (due !== undefined && due <= Date.now()) recordAnomalies(onAnomalyDeadline(state.anomalies, toIso(fixNowMs()), anomalyContext));
  }

  /** Delivery or cancellation resolves what is still open: at the delivery's fix time, else at fix-time now. */
  function closeAnomaliesIfTerminal(at?: string): void {
    if (!isClosed() || state.anomalies.closed) return;
    const detail = state.tracking.status === 'DELIVERED' ? 'shipment delivered' : 'shipment cancelled';
    recordAnomalies(closeAnomalies(state.anomalies, at ?? toIso(fixNowMs()), detail));
  }

  /** Asks the ETA activity for a new prediction from this fix and feeds it to the LATE detector. */
  async function repredictEta(fix: Fix): Promise<void> {
    // Recorded before the call: a failing activity is not retried on every following fix.
    state.eta.schedule = recordEtaPrediction(state.eta.schedule, fix.recordedAt);
    let result: EtaResult;
    try {
      result = await predictShipmentEta({
        tenantId: plan.tenantId,
        shipmentId: plan.shipmentId,
        predictedAt: fix.recordedAt,
        position: { lat: fix.lat, lon: fix.lon },
        stops: state.tracking.stops.map(({ sequence, status, arrivedAt }) => ({ sequence, status, ...(arrivedAt ? { arrivedAt } : {}) })),
      });
    } catch (error) {
      log.warn('ETA prediction failed; keeping the previous one', { error: error instanceof Error ? error.message : String(error) });
      return;
    }
    state.eta.stops = result.stops;
    recordAnomalies(detectAnomalies(state.anomalies, { kind: 'eta', predictedAt: result.predictedAt, stops: result.stops }, anomalyContext));
  }

  function toTimelineEvent(event: TrackingEvent, context: { actor?: string; reason?: string }): TimelineEvent {
    const stop = event.stopSequence === undefined ? undefined : stopsBySequence.get(event.stopSequence);
    const stopData = stop ? { stopName: stop.name, stopType: stop.type } : {};
    // The legacy rules never produce passes; the type has them since the confirmed-arrival rules.
    if (event.kind === 'pass') return geofencePassTimelineEvent(event, stopData);
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

  /**
   * Per fix, in time order: milestone rules, then the anomaly detectors (the fix's milestones
   * first, then the fix); then an ETA from the batch's latest fix when it brought a milestone or
   * the interval has passed.
   */
  async function processQueue(): Promise<void> {
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
    const isUsable = (fix: Fix) => fix.accuracyM === undefined || fix.accuracyM <= LEGACY_GEOFENCE_CONFIG.maxAccuracyM;
    let milestones = 0;
    for (const fix of prepared.fresh) {
      milestones += applyTracking(applyFix(state.tracking, fix, plan.stops, LEGACY_GEOFENCE_CONFIG), { fix }).length;
    }
    state.fixClock = { fixAt: toIso(Date.parse(prepared.fresh.at(-1)!.recordedAt)), workflowAt: nowIso() };

    const usable = prepared.fresh.filter(isUsable);
    const latest = usable[usable.length - 1];
    if (!latest) return;
    state.lastPosition = latest;
    // One ETA per batch at most, from its latest fix: a prediction from the middle of a backlog
    // was never shown to anyone, and each is an activity round trip the batch would wait for.
    const trigger = { kind: milestones > 0 ? ('milestone' as const) : ('fix' as const) };
    const stopsAhead = state.tracking.stops.some((stop) => stop.status === 'PENDING');
    if (!isClosed() && stopsAhead && shouldRepredictEta(state.eta.schedule, trigger, latest.recordedAt, ETA_INTERVAL_MIN)) await repredictEta(latest);
    const persistedMs = state.lastPositionPersistedAt === undefined ? Number.NEGATIVE_INFINITY : Date.parse(state.lastPositionPersistedAt);
    if (Date.parse(latest.recordedAt) - persistedMs >= POSITION_PERSIST_INTERVAL_MS) state.projectionDirty = true;
  }

  /**
   * Tracking events into state and timeline, their milestones (then the fix, if any) through the
   * anomaly detectors — milestones first, or a departure could read as a long dwell — and a
   * delivery closing what is still open.
   */
  function applyTracking(result: TrackingResult, input: { fix?: Fix; actor?: string } = {}): MilestoneEvent[] {
    record(result, { actor: input.actor });
    const milestones = result.events.filter((event): event is MilestoneEvent => event.kind === 'milestone');
    recordAnomalies(detectAnomaliesInOrder(state.anomalies, [...milestones, ...(input.fix ? [{ kind: 'fix' as const, fix: input.fix }] : [])], anomalyContext));
    const delivered = result.events.find((event) => event.kind === 'status' && event.to === 'DELIVERED');
    if (delivered) closeAnomaliesIfTerminal(delivered.at);
    return milestones;
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
        stops: state.tracking.stops.map(({ sequence, status, arrivedAt, departedAt }) => ({ sequence, status, arrivedAt, departedAt, eta: stopEta(sequence) })),
        lastPosition,
        cancellation: state.cancellation && { reason: state.cancellation.reason, at: state.cancellation.at },
        anomalies: state.anomalyLog,
        openAnomalies: openAnomalyTypes(state.anomalies),
        nextEta: nextEta() ?? null,
        events,
      };
      await persistShipmentProgress(progress);
      state.outbox.splice(0, events.length);
      if (lastPosition) state.lastPositionPersistedAt = lastPosition.recordedAt;
    }
  }

  /** Search attributes operators filter on; upserted only when they change. */
  function publish(): void {
    const eta = nextEta();
    const pairs: SearchAttributeUpdatePair[] = [
      { key: searchAttributes.tenantId, value: plan.tenantId },
      { key: searchAttributes.shipmentReference, value: plan.reference },
      { key: searchAttributes.shipmentStatus, value: state.tracking.status },
      { key: searchAttributes.openAnomalies, value: openAnomalyTypes(state.anomalies) },
      {
        key: searchAttributes.nextEta,
        value: eta === undefined ? null : new Date(Math.round(Date.parse(eta) / NEXT_ETA_PUBLISH_ROUNDING_MS) * NEXT_ETA_PUBLISH_ROUNDING_MS),
      },
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
      nextEta() ? `Next ETA ${nextEta()}` : '',
      openAnomalyTypes(state.anomalies).length > 0 ? `Open anomalies: ${openAnomalyTypes(state.anomalies).join(', ')}` : '',
      `Fixes: ${fixesApplied} applied, ${duplicates} duplicate, ${stale} stale`,
      state.cancellation ? `Cancelled ${state.cancellation.at}: ${state.cancellation.reason}` : '',
      state.graceEndsAt ? `Open for late fixes until ${state.graceEndsAt}` : '',
    ]
      .filter((line) => line !== '')
      .join('\n');
  }

  /** The earliest moment the loop must wake without a signal: the delivery grace or an anomaly deadline. */
  function nextDeadlineMs(): number | undefined {
    const deadlines = [state.graceEndsAt === undefined ? undefined : Date.parse(state.graceEndsAt), anomalyDeadlineMs()].filter((ms) => ms !== undefined);
    return deadlines.length === 0 ? undefined : Math.min(...deadlines);
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

  // Only sent by the v2 API: a wake-up that makes the loop reach the handover below.
  let wokenByV2 = false;
  setHandler(fixesStoredSignal, () => {
    wokenByV2 = true;
  });

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

  const lastStopSequence = Math.max(...plan.stops.map((stop) => stop.sequence));

  /** Why the shipment cannot take this delivery event now, or undefined when it can. */
  function deliveryEventRefusal(event: DeliveryEvent): string | undefined {
    if (state.tracking.status === 'CANCELLED') return `shipment ${plan.reference} is cancelled`;
    const stopSequence = event.stopSequence ?? (event.type === 'PROOF_OF_DELIVERY' ? lastStopSequence : undefined);
    if (stopSequence !== undefined && !stopsBySequence.has(stopSequence)) return `the shipment has no stop ${stopSequence}`;
    if (event.type === 'MANUAL_ARRIVAL' || event.type === 'MANUAL_DEPARTURE') {
      if (stopSequence === undefined) return 'a manual arrival or departure names its stop';
      return manualMilestoneRefusal(state.tracking, event.type === 'MANUAL_ARRIVAL' ? 'ARRIVED' : 'DEPARTED', stopSequence, LEGACY_GEOFENCE_CONFIG);
    }
    return undefined;
  }

  function refuseDeliveryEventIfInvalid(event: DeliveryEvent): void {
    const refusal = deliveryEventRefusal(event);
    if (refusal !== undefined) throw ApplicationFailure.nonRetryable(refusal, DELIVERY_EVENT_REFUSED);
  }

  const deliveryEventRecorded = (event: DeliveryEvent): boolean => (state.deliveryEventIds ?? []).includes(event.eventId);

  setHandler(
    recordDeliveryEventUpdate,
    async (event: DeliveryEvent) => {
      if (!deliveryEventRecorded(event)) {
        // Re-checked here: the shipment may have changed between validation and execution.
        refuseDeliveryEventIfInvalid(event);
        const stopSequence = event.stopSequence ?? (event.type === 'PROOF_OF_DELIVERY' ? lastStopSequence : undefined);
        const stop = stopSequence === undefined ? undefined : stopsBySequence.get(stopSequence);
        state.deliveryEventIds = [...(state.deliveryEventIds ?? []), event.eventId];
        const { eventId, type: _type, at: _at, stopSequence: _stop, actor, ...details } = event;
        state.outbox.push({
          key: timelineEventKey.deliveryEvent(eventId),
          type: event.type,
          occurredAt: event.at,
          stopSequence,
          data: { eventId, ...details, ...(stop ? { stopName: stop.name, stopType: stop.type } : {}) },
          actor,
        });
        state.updatedAt = nowIso();
        state.projectionDirty = true;
        if (stopSequence !== undefined && (event.type === 'MANUAL_ARRIVAL' || event.type === 'MANUAL_DEPARTURE')) {
          const milestone = event.type === 'MANUAL_ARRIVAL' ? 'ARRIVED' : 'DEPARTED';
          applyTracking(applyManualMilestone(state.tracking, milestone, stopSequence, event.at, plan.stops, LEGACY_GEOFENCE_CONFIG), { actor });
        }
        // Proof of delivery at the last stop delivers the shipment, whether or not its fixes left the stop.
        if (event.type === 'PROOF_OF_DELIVERY' && stopSequence === lastStopSequence) {
          applyTracking(markDelivered(state.tracking, event.at, LEGACY_GEOFENCE_CONFIG), { actor });
        }
        log.info('delivery event recorded', { eventId, type: event.type, stopSequence, actor });
      }
      await condition(() => !hasPendingWrites());
      return view();
    },
    {
      validator: (event: DeliveryEvent) => {
        if (!deliveryEventRecorded(event)) refuseDeliveryEventIfInvalid(event);
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
    const hasWork = (): boolean => queue.length > 0 || hasPendingWrites() || continueAsNewDue() || wokenByV2;
    const deadline = nextDeadlineMs();
    if (deadline === undefined) await condition(hasWork);
    else if (deadline > Date.now()) await condition(hasWork, deadline - Date.now());

    // False while replaying a v1 history, true at the first live task: hand over to v2 there.
    if (patched(V1_HANDOVER_PATCH)) {
      await settleHandlers();
      log.info('handing over to the v2 workflow', { queuedFixes: queue.length });
      await continueAsNew<typeof shipmentWorkflowV1>({ ...input, settings, carried: { state, queuedFixes: queue } satisfies CarriedShipmentState });
    }

    await processQueue();
    fireAnomalyTimers();
    closeAnomaliesIfTerminal();
    publish();
    await flush();

    const graceOver = state.graceEndsAt !== undefined && Date.parse(state.graceEndsAt) <= Date.now();
    if (state.tracking.status === 'CANCELLED' || (state.tracking.status === 'DELIVERED' && graceOver)) break;

    if (continueAsNewDue()) {
      await settleHandlers();
      log.info('continuing as new', { signalsThisRun, queuedFixes: queue.length, suggested: workflowInfo().continueAsNewSuggested });
      const next: CarriedShipmentState = { state, queuedFixes: queue };
      await continueAsNew<typeof shipmentWorkflowV1>({ ...input, settings, carried: next });
    }
  }

  await settleHandlers();
  publish();
  return view();
}

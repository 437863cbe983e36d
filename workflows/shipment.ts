// One long-lived workflow per shipment. Wiring only: wake-ups and Updates in, fixes read from the
// store, decisions from domain/shipment/decide.ts, writes and ETAs beside the loop
// (shipment-effects.ts), continue-as-new long before replay gets expensive.
//
// Why fixes are read rather than signalled: a wake-up says "stored up to sequence N" and carries
// nothing else, so any number of requests share one, and what the workflow decides on is the
// load's result in history, whatever the grouping of signals into workflow tasks.
import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ShipmentActivities } from '../activities/index.js';
import { createAnomalyContext, openAnomalyTypes, nextAnomalyDeadline } from '../domain/anomalies/index.js';
import { decodeFixes } from '../domain/fix-codec.js';
import { toIso } from '../domain/fixes.js';
import { resolveGeofenceConfig } from '../domain/milestones.js';
import {
  buildDecisionContext,
  decideCancellation,
  decideDeadlines,
  decideEta,
  decideFixes,
  decideManualMilestone,
  decideProofOfDelivery,
  decideRerun,
  deliveryEventTimeline,
  etaRequested,
  manualMilestoneProblem,
  type Decision,
} from '../domain/shipment/decide.js';
import { MAX_REREAD_FIXES } from '../domain/shipment/reevaluation.js';
import { isClosed } from '../domain/shipment/rules.js';
import { DEFAULT_ETA_INTERVAL_MIN } from '../domain/eta/schedule.js';
import type { Fix, ShipmentView } from '../domain/types.js';
import {
  ASSIGNMENT_FAILURES,
  cancelShipmentUpdate,
  DEFAULT_WORKFLOW_SETTINGS,
  DELIVERY_EVENT_REFUSED,
  fixesReceivedSignal,
  fixesStoredSignal,
  recordDeliveryEventUpdate,
  CANCEL_FAILURES,
  shipmentStateQuery,
  updateAssignmentUpdate,
  type AssignmentChange,
  type CancelRequest,
  type DeliveryEvent,
  type ShipmentWorkflowInput,
  type ShipmentWorkflowSettings,
} from './contract.js';
import { createAlarm } from './alarm.js';
import { createEtaRequester, createProjectionWriter } from './shipment-effects.js';
import { currentAssignment, describeShipment, nextEta, restoreShipmentState, searchAttributePairs, shipmentView, stopEta, type ShipmentShape } from './shipment-state.js';
import { shipmentWorkflowV1 } from './v1/shipment.js';
import { mergeAssignment, validateAssignmentChange } from './assignment.js';

/** Histories without this marker were written by v1: they replay (and hand over) on v1's code. */
export const V2_PATCH = 'v2-fixes-from-store';

const { loadShipmentFixes, rereadShipmentFixes } = proxyLocalActivities<ShipmentActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '200 milliseconds', maximumInterval: '2 seconds', maximumAttempts: 5 },
});

// The assignment Update waits for this write, so it is bounded well inside the API's deadline.
const { persistAssignment } = proxyActivities<ShipmentActivities>({
  startToCloseTimeout: '5 seconds',
  scheduleToCloseTimeout: '10 seconds',
  retry: { initialInterval: '200 milliseconds', maximumInterval: '2 seconds', nonRetryableErrorTypes: [ASSIGNMENT_FAILURES.unknownFleetReference] },
});

const LOAD_LIMIT = 500;
/** After a failed load, the loop tries again this much later (Updates and timers carry on meanwhile). */
const LOAD_RETRY_MS = 15_000;
/** Updates answer once their change is persisted, or after this long with the change decided anyway. */
const UPDATE_WRITE_WAIT = '5 seconds';
/** The projection's last_position follows the truck at most this often in fix time (milestones always write it). */
const POSITION_PERSIST_INTERVAL_MS = 5 * 60_000;
const DEFAULT_ETA_CHANGE_MIN = 10;

export async function shipmentWorkflow(input: ShipmentWorkflowInput): Promise<ShipmentView> {
  if (!patched(V2_PATCH)) return shipmentWorkflowV1(input);
  return trackShipment(input);
}

async function trackShipment(input: ShipmentWorkflowInput): Promise<ShipmentView> {
  const { plan } = input;
  const settings: ShipmentWorkflowSettings = { ...DEFAULT_WORKFLOW_SETTINGS, ...input.settings };
  const geofence = resolveGeofenceConfig(input.tenantAnomalyDefaults, plan.thresholds);
  const anomalies = createAnomalyContext(plan, input.tenantAnomalyDefaults, geofence);
  const thresholds = { ...input.tenantAnomalyDefaults, ...plan.thresholds };
  const ctx = buildDecisionContext(plan.stops, { geofence, anomalies }, { intervalMin: DEFAULT_ETA_INTERVAL_MIN, changeMin: thresholds.etaChangeMin ?? DEFAULT_ETA_CHANGE_MIN });
  const shape: ShipmentShape = { plan, stops: ctx.timeline.stops, workflowId: workflowInfo().workflowId };
  const state = restoreShipmentState(input.carried, plan, new Date(Date.now()).toISOString());
  state.runs += 1;
  let signalsThisRun = 0;
  let loadRetryAtMs: number | undefined;
  let published = '';
  let assignmentInFlight = false;
  const nowIso = (): string => new Date(Date.now()).toISOString();
  const view = (): ShipmentView => shipmentView(state, shape);
  const closed = (): boolean => isClosed(state.decisions.rules);
  const lastStopSequence = Math.max(...plan.stops.map((stop) => stop.sequence));

  /** Fix-time now: the latest fix plus the workflow time since it was decided (workflow time before any). */
  const fixNowMs = (): number => (state.fixClock ? Date.parse(state.fixClock.fixAt) + (Date.now() - Date.parse(state.fixClock.workflowAt)) : Date.now());

  /** Workflow time at which the next anomaly deadline passes (never sooner than one signal-loss threshold after the start). */
  function anomalyDeadlineMs(): number | undefined {
    const deadline = nextAnomalyDeadline(state.decisions.rules.anomalies, anomalies);
    if (deadline === undefined) return undefined;
    const anchor = state.fixClock;
    if (anchor) return Date.parse(deadline) - Date.parse(anchor.fixAt) + Date.parse(anchor.workflowAt);
    return Math.max(Date.parse(deadline), Date.parse(state.startedAt) + anomalies.config.signalLossMin * 60_000);
  }

  function publish(): void {
    const pairs = searchAttributePairs(state, plan);
    const signature = JSON.stringify(pairs.map((pair) => [pair.key.name, pair.value]));
    if (signature !== published) {
      upsertSearchAttributes(pairs);
      published = signature;
    }
    setCurrentDetails(describeShipment(state, shape));
  }

  const writer = createProjectionWriter({
    state: () => state.projection,
    onFailureChanged: publish,
    snapshot: (version, events) => ({
      tenantId: plan.tenantId,
      shipmentId: plan.shipmentId,
      version,
      status: state.decisions.rules.tracking.status,
      updatedAt: state.updatedAt,
      stops: state.decisions.rules.tracking.stops.map(({ sequence, status, arrivedAt, departedAt }) => ({ sequence, status, arrivedAt, departedAt, eta: stopEta(state, sequence) })),
      lastPosition: state.decisions.rules.lastPosition,
      cancellation: state.cancellation && { reason: state.cancellation.reason, at: state.cancellation.at },
      anomalies: state.decisions.rules.anomalyLog,
      openAnomalies: openAnomalyTypes(state.decisions.rules.anomalies),
      milestones: view().milestones,
      nextEta: nextEta(state) ?? null,
      events,
    }),
  });

  const eta = createEtaRequester({
    build: (from) => ({
      tenantId: plan.tenantId,
      shipmentId: plan.shipmentId,
      predictedAt: from.recordedAt,
      position: { lat: from.lat, lon: from.lon },
      stops: state.decisions.rules.tracking.stops.map(({ sequence, status, arrivedAt }) => ({ sequence, status, ...(arrivedAt ? { arrivedAt } : {}) })),
    }),
    onResult: (result) => apply(decideEta(state.decisions, result, ctx)),
  });

  /** A decision into state: its events to the outbox, its ETA request out, the grace period on delivery. */
  function apply(decision: Decision): void {
    const lastFixBefore = state.decisions.rules.tracking.lastFixAt;
    state.decisions = decision.state;
    const lastFixAt = state.decisions.rules.tracking.lastFixAt;
    if (lastFixAt !== undefined && lastFixAt !== lastFixBefore) state.fixClock = { fixAt: toIso(Date.parse(lastFixAt)), workflowAt: nowIso() };
    if (decision.events.length > 0) {
      state.projection.outbox.push(...decision.events);
      state.projection.dirty = true;
      state.updatedAt = nowIso();
    }
    const position = state.decisions.rules.lastPosition;
    const persistedMs = state.projection.lastPositionPersistedAt === undefined ? Number.NEGATIVE_INFINITY : Date.parse(state.projection.lastPositionPersistedAt);
    if (position && Date.parse(position.recordedAt) - persistedMs >= POSITION_PERSIST_INTERVAL_MS) state.projection.dirty = true;
    if (decision.etaFrom) {
      state.decisions = etaRequested(state.decisions, decision.etaFrom);
      eta.request(decision.etaFrom);
    }
    if (state.decisions.rules.tracking.status === 'DELIVERED' && state.graceEndsAt === undefined) {
      state.graceEndsAt = new Date(Date.now() + settings.deliveryGraceMs).toISOString();
      log.info('shipment delivered; grace period started', { graceEndsAt: state.graceEndsAt });
    }
    writer.request();
  }

  /** A batch of fixes decided; late ones re-run everything after their checkpoint from the store. */
  async function decideBatch(fixes: Fix[]): Promise<void> {
    const decision = decideFixes(state.decisions, fixes, ctx);
    apply(decision);
    if (!decision.rewindFrom) return;
    const from = decision.rewindFrom;
    const read = await rereadShipmentFixes({ tenantId: plan.tenantId, shipmentId: plan.shipmentId, after: from.at, maxSeq: state.ingest.loadedSeq ?? Number.MAX_SAFE_INTEGER, limit: MAX_REREAD_FIXES + LOAD_LIMIT });
    const stored = decodeFixes(read.fixes);
    const times = new Set(stored.map((fix) => fix.recordedAt));
    apply(decideRerun(state.decisions, from, [...stored, ...fixes.filter((fix) => !times.has(fix.recordedAt))], toIso(fixNowMs()), ctx));
    log.info('late fixes re-evaluated', { from: from.at ?? 'start', fixes: stored.length, truncated: read.truncated });
  }

  /** Reads and decides every stored fix after the mark; a failing store leaves the rest for later. */
  async function ingestStored(): Promise<void> {
    try {
      for (let more = true; more; ) {
        const load = await loadShipmentFixes({ tenantId: plan.tenantId, shipmentId: plan.shipmentId, afterSeq: state.ingest.loadedSeq, limit: LOAD_LIMIT });
        state.ingest.loadedSeq = load.upToSeq;
        more = load.more;
        const fixes = decodeFixes(load.fixes);
        if (fixes.length > 0) await decideBatch(fixes);
      }
      loadRetryAtMs = undefined;
    } catch (error) {
      loadRetryAtMs = Date.now() + LOAD_RETRY_MS;
      log.error('could not read stored fixes; trying again later', { error: error instanceof Error ? error.message : String(error) });
    }
  }

  const wakeupPending = (): boolean => state.ingest.loadedSeq === undefined || state.ingest.signalledSeq > state.ingest.loadedSeq;
  const anomalyDue = (): boolean => (anomalyDeadlineMs() ?? Number.POSITIVE_INFINITY) <= Date.now();
  const graceOver = (): boolean => state.graceEndsAt !== undefined && Date.parse(state.graceEndsAt) <= Date.now();
  const continueAsNewDue = (): boolean => {
    const info = workflowInfo();
    return info.continueAsNewSuggested || info.historyLength >= settings.maxHistoryEventsPerRun || info.historySize >= settings.maxHistoryBytesPerRun || signalsThisRun >= settings.maxSignalsPerRun;
  };
  const needsWrite = (): boolean => state.projection.dirty || state.projection.outbox.length > 0;

  /** The earliest moment the loop must wake without a signal. */
  function nextDeadlineMs(): number | undefined {
    const deadlines = [
      state.graceEndsAt === undefined ? undefined : Date.parse(state.graceEndsAt),
      closed() ? undefined : anomalyDeadlineMs(),
      needsWrite() ? writer.retryAtMs() : undefined,
      loadRetryAtMs,
    ].filter((ms): ms is number => ms !== undefined);
    return deadlines.length === 0 ? undefined : Math.min(...deadlines);
  }

  function rejectIfDelivered(): void {
    if (state.decisions.rules.tracking.status === 'DELIVERED') {
      throw ApplicationFailure.nonRetryable(`shipment ${plan.reference} was delivered and can no longer be cancelled`, CANCEL_FAILURES.alreadyDelivered);
    }
  }

  /** Answers an Update once its change is persisted, or after a short wait with it decided anyway. */
  async function answerAfterWrite(): Promise<ShipmentView> {
    const change = writer.change();
    writer.request();
    await condition(() => writer.persisted(change), UPDATE_WRITE_WAIT);
    return view();
  }

  setHandler(fixesStoredSignal, (wakeup) => {
    signalsThisRun += 1;
    if (typeof wakeup?.upToSeq === 'number' && wakeup.upToSeq > state.ingest.signalledSeq) state.ingest.signalledSeq = wakeup.upToSeq;
  });

  setHandler(fixesReceivedSignal, (batch) => {
    signalsThisRun += 1;
    if (Array.isArray(batch?.fixes)) state.ingest.legacyQueue.push(...batch.fixes);
  });

  setHandler(shipmentStateQuery, view);

  setHandler(
    cancelShipmentUpdate,
    async (request: CancelRequest) => {
      if (state.decisions.rules.tracking.status !== 'CANCELLED') {
        rejectIfDelivered();
        const at = nowIso();
        state.cancellation = { reason: request.reason, at, actor: request.actor };
        apply(decideCancellation(state.decisions, at, toIso(fixNowMs()), { reason: request.reason, actor: request.actor }, ctx));
        log.info('shipment cancelled', { reason: request.reason, actor: request.actor });
      }
      return answerAfterWrite();
    },
    {
      validator: (request: CancelRequest) => {
        if (typeof request?.reason !== 'string' || request.reason.trim() === '') {
          throw ApplicationFailure.nonRetryable('a cancellation needs a non-empty reason', CANCEL_FAILURES.invalid);
        }
        rejectIfDelivered();
      },
    },
  );

  const deliveryStop = (event: DeliveryEvent): number | undefined => event.stopSequence ?? (event.type === 'PROOF_OF_DELIVERY' ? lastStopSequence : undefined);

  /** Why the shipment cannot take this delivery event now, or undefined when it can. */
  function deliveryEventRefusal(event: DeliveryEvent): string | undefined {
    if (state.decisions.rules.tracking.status === 'CANCELLED') return `shipment ${plan.reference} is cancelled`;
    const stopSequence = deliveryStop(event);
    if (stopSequence !== undefined && !shape.stops.has(stopSequence)) return `the shipment has no stop ${stopSequence}`;
    if (event.type === 'MANUAL_ARRIVAL' || event.type === 'MANUAL_DEPARTURE') {
      if (stopSequence === undefined) return 'a manual arrival or departure names its stop';
      return manualMilestoneProblem(state.decisions, event.type === 'MANUAL_ARRIVAL' ? 'ARRIVED' : 'DEPARTED', stopSequence, ctx);
    }
    return undefined;
  }

  const recorded = (event: DeliveryEvent): boolean => state.deliveryEventIds.includes(event.eventId);

  function refuseDeliveryEventIfInvalid(event: DeliveryEvent): void {
    const refusal = deliveryEventRefusal(event);
    if (refusal !== undefined) throw ApplicationFailure.nonRetryable(refusal, DELIVERY_EVENT_REFUSED);
  }

  setHandler(
    recordDeliveryEventUpdate,
    async (event: DeliveryEvent) => {
      if (!recorded(event)) {
        refuseDeliveryEventIfInvalid(event);
        const stopSequence = deliveryStop(event);
        const { eventId, type, at, stopSequence: _stop, actor, ...details } = event;
        state.deliveryEventIds.push(eventId);
        apply({ state: state.decisions, events: [deliveryEventTimeline({ eventId, type, at, actor, details }, stopSequence === undefined ? undefined : shape.stops.get(stopSequence))] });
        if (stopSequence !== undefined && (type === 'MANUAL_ARRIVAL' || type === 'MANUAL_DEPARTURE')) {
          apply(decideManualMilestone(state.decisions, type === 'MANUAL_ARRIVAL' ? 'ARRIVED' : 'DEPARTED', stopSequence, at, ctx));
        }
        if (type === 'PROOF_OF_DELIVERY' && stopSequence === lastStopSequence) apply(decideProofOfDelivery(state.decisions, at, ctx));
        log.info('delivery event recorded', { eventId, type, stopSequence, actor });
      }
      return answerAfterWrite();
    },
    { validator: (event: DeliveryEvent) => (recorded(event) ? undefined : refuseDeliveryEventIfInvalid(event)) },
  );

  function rejectAssignmentIfClosed(): void {
    if (closed()) {
      throw ApplicationFailure.nonRetryable(`shipment ${plan.reference} is ${state.decisions.rules.tracking.status} and can no longer be reassigned`, ASSIGNMENT_FAILURES.closed);
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
        const previous = currentAssignment(state, plan);
        const next = mergeAssignment(previous, change);
        const ordinal = state.assignmentChanges + 1;
        try {
          await persistAssignment({ tenantId: plan.tenantId, shipmentId: plan.shipmentId, assignment: next, previous, eventKey: `ASSIGNMENT:${ordinal}`, occurredAt: nowIso(), actor: change.actor });
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
        validateAssignmentChange(change);
        rejectAssignmentIfClosed();
      },
    },
  );

  publish();
  writer.request();

  const alarm = createAlarm();
  for (;;) {
    const hasWork = (): boolean => wakeupPending() || state.ingest.legacyQueue.length > 0 || continueAsNewDue() || state.decisions.rules.tracking.status === 'CANCELLED';
    alarm.armFor(nextDeadlineMs());
    await condition(() => hasWork() || alarm.rang);
    alarm.reset();

    // Fixes sent inside signals came first; a deadline passing reads the store before it opens
    // anything: a fix stored but not yet announced may end it.
    if (state.ingest.legacyQueue.length > 0) await decideBatch(state.ingest.legacyQueue.splice(0));
    if (wakeupPending() || anomalyDue() || (loadRetryAtMs !== undefined && loadRetryAtMs <= Date.now())) await ingestStored();
    if (!closed() && anomalyDue()) apply(decideDeadlines(state.decisions, toIso(fixNowMs()), ctx));
    writer.request();
    publish();

    if (state.decisions.rules.tracking.status === 'CANCELLED' || (state.decisions.rules.tracking.status === 'DELIVERED' && graceOver())) break;
    if (continueAsNewDue()) {
      // Writes and predictions in flight land in this run (bounded: the next run retries a write).
      await condition(() => writer.idle && eta.idle, '30 seconds');
      await condition(allHandlersFinished);
      log.info('continuing as new', { signalsThisRun, historyLength: workflowInfo().historyLength, historySize: workflowInfo().historySize });
      await continueAsNew<typeof shipmentWorkflow>({ ...input, settings, carried: state });
    }
  }

  // Closed: every decision must reach the projection before the workflow completes.
  while (needsWrite() || !writer.idle) {
    writer.request();
    const retryAt = writer.retryAtMs();
    const written = () => !needsWrite() && writer.idle;
    if (retryAt === undefined) await condition(written);
    else await condition(written, Math.max(1, retryAt - Date.now()));
  }
  await condition(allHandlersFinished);
  publish();
  return view();
}

// One long-lived workflow per shipment. Wiring only: wake-ups in, fixes read from the store and
// decided (shipment-fixes.ts, domain/shipment/decide.ts), Updates (shipment-updates.ts), writes and
// ETAs beside the loop (shipment-effects.ts), one timer for every deadline (alarm.ts), and
// continue-as-new long before replay gets expensive.
//
// Why fixes are read rather than signalled: a wake-up says "stored up to sequence N" and carries
// nothing else, so any number of requests share one, and what the workflow decides on is the
// load's result in history, whatever the grouping of signals into workflow tasks.
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  patched,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { createAnomalyContext, openAnomalyTypes, nextAnomalyDeadline } from '../domain/anomalies/index.js';
import { toIso } from '../domain/fixes.js';
import { resolveGeofenceConfig } from '../domain/milestones.js';
import {
  buildDecisionContext,
  decideDeadlines,
  decideEta,
  etaRequested,
  type Decision,
} from '../domain/shipment/decide.js';
import { isClosed } from '../domain/shipment/rules.js';
import { DEFAULT_ETA_INTERVAL_MIN } from '../domain/eta/schedule.js';
import type { ShipmentView } from '../domain/types.js';
import {
  DEFAULT_WORKFLOW_SETTINGS,
  fixesReceivedSignal,
  fixesStoredSignal,
  shipmentStateQuery,
  type ShipmentWorkflowInput,
  type ShipmentWorkflowSettings,
} from './contract.js';
import { createAlarm } from './alarm.js';
import { createFixReader } from './shipment-fixes.js';
import { registerShipmentUpdates } from './shipment-updates.js';
import { createEtaRequester, createProjectionWriter } from './shipment-effects.js';
import { describeShipment, nextEta, restoreShipmentState, searchAttributePairs, shipmentView, stopEta, type ShipmentShape } from './shipment-state.js';
import { shipmentWorkflowV1 } from './v1/shipment.js';

/** Histories without this marker were written by v1: they replay (and hand over) on v1's code. */
export const V2_PATCH = 'v2-fixes-from-store';

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
  let published = '';
  const nowIso = (): string => new Date(Date.now()).toISOString();
  const view = (): ShipmentView => shipmentView(state, shape);
  const closed = (): boolean => isClosed(state.decisions.rules);

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

  const fixReader = createFixReader({ state, plan, ctx, apply, fixNowMs });

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
      fixReader.retryAtMs(),
    ].filter((ms): ms is number => ms !== undefined);
    return deadlines.length === 0 ? undefined : Math.min(...deadlines);
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

  registerShipmentUpdates({ state, shape, ctx, writer, apply, publish, view, nowIso, fixNowMs });

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
    if (state.ingest.legacyQueue.length > 0) await fixReader.decideBatch(state.ingest.legacyQueue.splice(0));
    if (wakeupPending() || anomalyDue() || (fixReader.retryAtMs() ?? Number.POSITIVE_INFINITY) <= Date.now()) await fixReader.ingestStored();
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

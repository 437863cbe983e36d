// The anomaly detectors composed: one state, one entry per input, one timer.
//
// Wiring in the workflow (see types.ts for the two clocks):
// 1. ctx = createAnomalyContext(plan, tenantDefaults, geofence); state = initialAnomalyState().
//    `geofence` is the config the milestone rules run with (LEGACY_GEOFENCE_CONFIG for shipments
//    that started on the legacy rules); by default the plan's resolved one.
// 2. For each fix of a drained, sorted batch: run the milestone rules first, feed their
//    milestones, then the fix itself: detectAnomaliesInOrder(state, [...milestones, fix], ctx).
//    Feed each ETA prediction as { kind: 'eta', ...prediction }.
// 3. Sleep until nextAnomalyDeadline(state, ctx) (or the next signal); when it passes in workflow
//    time, drain queued fixes first, then call onAnomalyDeadline(state, workflowNow, ctx). A stale
//    timer is harmless: deadlines are recomputed from the state.
// 4. On delivery or cancellation, closeAnomalies(state, at) resolves what is still open.
import type { Anomaly, ShipmentPlan, ShipmentThresholds } from '../types.js';
import { resolveGeofenceConfig, type GeofenceConfig } from '../geofence.js';
import { indexRoute } from '../eta/route-geometry.js';
import { earliestOf } from '../eta/time.js';
import { resolveAnomalyConfig } from './config.js';
import { resolveEvent } from './episode.js';
import { detectLate, initialLateState, lateDeadline, lateOnDeadline, lateOpen, type LateState } from './late.js';
import { detectLongDwell, longDwellDeadline, longDwellOnDeadline, longDwellOpen, type LongDwellState } from './long-dwell.js';
import { detectOffRoute, initialOffRouteState, offRouteOpen, type OffRouteState } from './off-route.js';
import { detectOutOfSequence, initialOutOfSequenceState, outOfSequenceOpen, type OutOfSequenceState } from './out-of-sequence.js';
import { detectSignalLoss, signalLossDeadline, signalLossOnDeadline, signalLossOpen, type SignalLossState } from './signal-loss.js';
import { detectTemperature, temperatureDeadline, temperatureOnDeadline, temperatureOpen, type TemperatureState } from './temperature.js';
import type { AnomalyContext, AnomalyEvent, AnomalyInput, DetectorResult, OpenAnomaly } from './types.js';
import {
  detectUnplannedStop,
  initialUnplannedStopState,
  unplannedStopDeadline,
  unplannedStopOnDeadline,
  unplannedStopOpen,
  type UnplannedStopState,
} from './unplanned-stop.js';

export { DEFAULT_ANOMALY_CONFIG, resolveAnomalyConfig, type AnomalyConfig } from './config.js';
export type { AnomalyContext, AnomalyEvent, AnomalyInput, EtaUpdate, FixInput, MilestoneInput, OpenAnomaly, DetectorResult } from './types.js';

/** Plain JSON (no Map/Set/Date): it travels through continue-as-new as is. */
export interface AnomalyState {
  /** After closeAnomalies: nothing opens any more and there is no deadline. */
  closed: boolean;
  signalLoss: SignalLossState;
  longDwell: LongDwellState;
  unplannedStop: UnplannedStopState;
  offRoute: OffRouteState;
  late: LateState;
  outOfSequence: OutOfSequenceState;
  temperature: TemperatureState;
}

export function initialAnomalyState(): AnomalyState {
  return {
    closed: false,
    signalLoss: {},
    longDwell: {},
    unplannedStop: initialUnplannedStopState(),
    offRoute: initialOffRouteState(),
    late: initialLateState(),
    outOfSequence: initialOutOfSequenceState(),
    temperature: {},
  };
}

export function createAnomalyContext(
  plan: Pick<ShipmentPlan, 'stops' | 'route' | 'thresholds'>,
  tenantDefaults?: ShipmentThresholds,
  geofence: GeofenceConfig = resolveGeofenceConfig(tenantDefaults, plan.thresholds),
): AnomalyContext {
  return {
    config: resolveAnomalyConfig(tenantDefaults, plan.thresholds),
    geofence,
    stops: plan.stops,
    ...(plan.route ? { route: plan.route, routeIndex: indexRoute(plan.route) } : {}),
  };
}

/** Events of one step in time order; ties keep detector order (stable sort). */
function byTime(events: AnomalyEvent[]): AnomalyEvent[] {
  return [...events].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
}

type Step = <S>(run: (state: S) => DetectorResult<S>, state: S) => S;

function runAll(state: AnomalyState, each: (step: Step) => Omit<AnomalyState, 'closed'>): DetectorResult<AnomalyState> {
  const events: AnomalyEvent[] = [];
  const step: Step = (run, sub) => {
    const result = run(sub);
    events.push(...result.events);
    return result.state;
  };
  return { state: { closed: state.closed, ...each(step) }, events: byTime(events) };
}

export function detectAnomalies(state: AnomalyState, input: AnomalyInput, ctx: AnomalyContext): DetectorResult<AnomalyState> {
  if (state.closed) return { state, events: [] };
  return runAll(state, (step) => ({
    signalLoss: step((s) => detectSignalLoss(s, input, ctx), state.signalLoss),
    longDwell: step((s) => detectLongDwell(s, input, ctx), state.longDwell),
    unplannedStop: step((s) => detectUnplannedStop(s, input, ctx), state.unplannedStop),
    offRoute: step((s) => detectOffRoute(s, input, ctx), state.offRoute),
    late: step((s) => detectLate(s, input, ctx), state.late),
    outOfSequence: step((s) => detectOutOfSequence(s, input, ctx), state.outOfSequence),
    temperature: step((s) => detectTemperature(s, input, ctx), state.temperature),
  }));
}

export function detectAnomaliesInOrder(state: AnomalyState, inputs: readonly AnomalyInput[], ctx: AnomalyContext): DetectorResult<AnomalyState> {
  const events: AnomalyEvent[] = [];
  let current = state;
  for (const input of inputs) {
    const result = detectAnomalies(current, input, ctx);
    current = result.state;
    events.push(...result.events);
  }
  return { state: current, events };
}

/** The earliest time (fix-time instant) at which a timer could open an anomaly; undefined: no timer needed. */
export function nextAnomalyDeadline(state: AnomalyState, ctx: AnomalyContext): string | undefined {
  if (state.closed) return undefined;
  return earliestOf([
    signalLossDeadline(state.signalLoss, ctx),
    longDwellDeadline(state.longDwell, ctx),
    unplannedStopDeadline(state.unplannedStop, ctx),
    lateDeadline(state.late, ctx),
    temperatureDeadline(state.temperature, ctx),
  ]);
}

/** Opens every anomaly whose deadline is at or before `nowIso` (workflow time), stamped at its deadline. */
export function onAnomalyDeadline(state: AnomalyState, nowIso: string, ctx: AnomalyContext): DetectorResult<AnomalyState> {
  if (state.closed) return { state, events: [] };
  return runAll(state, (step) => ({
    offRoute: state.offRoute,
    outOfSequence: state.outOfSequence,
    signalLoss: step((s) => signalLossOnDeadline(s, nowIso, ctx), state.signalLoss),
    longDwell: step((s) => longDwellOnDeadline(s, nowIso, ctx), state.longDwell),
    unplannedStop: step((s) => unplannedStopOnDeadline(s, nowIso, ctx), state.unplannedStop),
    late: step((s) => lateOnDeadline(s, nowIso, ctx), state.late),
    temperature: step((s) => temperatureOnDeadline(s, nowIso, ctx), state.temperature),
  }));
}

export function openAnomalies(state: AnomalyState): OpenAnomaly[] {
  if (state.closed) return [];
  return [
    ...signalLossOpen(state.signalLoss),
    ...longDwellOpen(state.longDwell),
    ...unplannedStopOpen(state.unplannedStop),
    ...offRouteOpen(state.offRoute),
    ...lateOpen(state.late),
    ...outOfSequenceOpen(state.outOfSequence),
    ...temperatureOpen(state.temperature),
  ].sort((a, b) => Date.parse(a.openedAt) - Date.parse(b.openedAt));
}

/** Distinct open types, sorted: the value of the `OpenAnomalies` search attribute. */
export function openAnomalyTypes(state: AnomalyState): string[] {
  return [...new Set(openAnomalies(state).map((a) => a.type))].sort();
}

/** Delivery or cancellation: resolve whatever is still open and stop detecting. */
export function closeAnomalies(state: AnomalyState, at: string, detail = 'shipment closed'): DetectorResult<AnomalyState> {
  if (state.closed) return { state, events: [] };
  const events = openAnomalies(state).map((a) =>
    resolveEvent(a.type, a.openedAt, at, { ...(a.stopSequence !== undefined ? { stopSequence: a.stopSequence } : {}), detail }),
  );
  return { state: { ...state, closed: true }, events: byTime(events) };
}

/** Folds events into the `anomalies` list of the shipment view (one entry per episode). */
export function applyAnomalyEvents(anomalies: readonly Anomaly[], events: readonly AnomalyEvent[]): Anomaly[] {
  const next = [...anomalies];
  for (const event of events) {
    if (event.action === 'open') {
      next.push({
        type: event.type,
        status: 'open',
        openedAt: event.at,
        ...(event.stopSequence !== undefined ? { stopSequence: event.stopSequence } : {}),
        ...(event.detail !== undefined ? { detail: event.detail } : {}),
      });
      continue;
    }
    const index = next.findLastIndex((a) => a.status === 'open' && a.type === event.type && a.stopSequence === event.stopSequence);
    if (index >= 0) next[index] = { ...next[index]!, status: 'resolved', resolvedAt: event.at };
  }
  return next;
}

/** Deterministic timeline key: an episode opens at most once per type, stop and instant. */
export function anomalyEventKey(event: AnomalyEvent): string {
  return `ANOMALY_${event.action === 'open' ? 'OPENED' : 'RESOLVED'}:${event.type}:${event.stopSequence ?? '-'}:${event.at}`;
}

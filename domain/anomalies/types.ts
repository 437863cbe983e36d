// Inputs, outputs and context shared by the anomaly detectors.
//
// Two clocks meet here. Fix time (recordedAt, and milestone/prediction times derived from it)
// is when things happened on the road; workflow time is when the workflow learns of them and
// when its timers fire. The rules:
// - Every anomaly time (`at`) is a fix-time instant: a fix's or milestone's time, or a deadline
//   computed from them (e.g. last fix + signal-loss threshold), never "now".
// - A condition is assumed to last until an input contradicts it. So an input at time t first
//   opens every anomaly whose deadline is strictly before t (stamped at the deadline), then
//   applies itself: a backlog uploaded after a gap opens and resolves what a live feed would have.
// - A timer (workflow time reaching the deadline) opens the same anomaly at the same deadline
//   stamp. The state records it as open, so neither a later backlog nor a stale timer opens it
//   again; a resolve is never stamped before its open (resolve at = max(openedAt, input time)).
import type { RouteIndex } from '../eta/route-geometry.js';
import type { GeofenceConfig } from '../geofence.js';
import type { MilestoneEvent } from '../milestones.js';
import type { AnomalyType, Fix, LineString, StopPlan } from '../types.js';
import type { AnomalyConfig } from './config.js';

export interface AnomalyEvent {
  kind: 'anomaly';
  action: 'open' | 'resolve';
  type: AnomalyType;
  /** ISO time in fix time: the input's time or the deadline that was passed. */
  at: string;
  stopSequence?: number;
  detail?: string;
}

export interface FixInput {
  kind: 'fix';
  fix: Fix;
}

/** A milestone from domain/milestones.ts (its `position` is not needed here). */
export type MilestoneInput = Pick<MilestoneEvent, 'kind' | 'type' | 'stopSequence' | 'at'>;

/** A new ETA prediction (an EtaPrediction from domain/eta fits with `kind: 'eta'` added). */
export interface EtaUpdate {
  kind: 'eta';
  /** Fix time of the position the prediction was made from. */
  predictedAt: string;
  stops: readonly { sequence: number; eta: string }[];
}

export type AnomalyInput = FixInput | MilestoneInput | EtaUpdate;

/** What the detectors read besides their state: resolved thresholds and the plan's geometry. */
export interface AnomalyContext {
  config: AnomalyConfig;
  /** The geofence rules the milestones come from; LONG_DWELL reads the exit radius and the legacy switch. */
  geofence: GeofenceConfig;
  stops: readonly StopPlan[];
  route?: LineString;
  /** The route's distances along it, computed once per workflow run (createAnomalyContext). */
  routeIndex?: RouteIndex;
}

export interface DetectorResult<S> {
  state: S;
  events: AnomalyEvent[];
}

export interface OpenAnomaly {
  type: AnomalyType;
  openedAt: string;
  stopSequence?: number;
}

export function inputTime(input: AnomalyInput): string {
  switch (input.kind) {
    case 'fix':
      return input.fix.recordedAt;
    case 'milestone':
      return input.at;
    case 'eta':
      return input.predictedAt;
  }
}

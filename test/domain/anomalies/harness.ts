// Shared by the anomaly detector tests: a straight road (km north, metres east), three stops on it
// with windows and a planned dwell, a planned route, input builders in trip minutes, and a small
// harness threading the anomaly state through inputs and timers; every detector test runs under
// each geofence rule set, whose milestones (and LONG_DWELL's exit tracking) feed the detectors.
import { describe } from 'vitest';
import {
  createAnomalyContext,
  detectAnomaliesInOrder,
  initialAnomalyState,
  nextAnomalyDeadline,
  onAnomalyDeadline,
  type AnomalyContext,
  type AnomalyEvent,
  type AnomalyInput,
  type AnomalyState,
} from '../../../domain/anomalies/index.js';
import type { GeofenceConfig } from '../../../domain/geofence.js';
import type { Fix, LatLon, ShipmentThresholds, StopPlan } from '../../../domain/types.js';
import { minutesFrom, roadFrom, TRIP_T0 } from '../../support/road.js';
import { BOTH_RULE_SETS, RULE_SETS } from '../../support/rule-sets.js';

const T0 = TRIP_T0;
export const at = minutesFrom(T0);
export const road = roadFrom({ lat: 45, lon: 5 });

export const pickup: StopPlan = { sequence: 1, type: 'pickup', name: 'DC', location: road(0), geofenceRadiusM: 500, plannedDwellMin: 45, window: { start: at(0), end: at(60) } };
export const hub: StopPlan = { sequence: 2, type: 'waypoint', name: 'Hub', location: road(50), geofenceRadiusM: 500 };
export const customer: StopPlan = { sequence: 3, type: 'delivery', name: 'Customer', location: road(100), geofenceRadiusM: 500, window: { start: at(120), end: at(240) } };
const stops = [pickup, hub, customer];
export const route = { type: 'LineString' as const, coordinates: [road(0), road(100)].map((p): [number, number] => [p.lon, p.lat]) };

type ContextOf = (thresholds?: ShipmentThresholds, plan?: { stops?: StopPlan[]; withRoute?: boolean }) => AnomalyContext;

function contextUnder(geofence: GeofenceConfig): ContextOf {
  return (thresholds = {}, plan = {}) => createAnomalyContext({ stops: plan.stops ?? stops, thresholds, ...(plan.withRoute === false ? {} : { route }) }, undefined, geofence);
}

/** The tests in `body` once per geofence rule set, each with contexts for that set. */
export function underEachRuleSet(body: (context: ContextOf) => void): void {
  describe.each(BOTH_RULE_SETS)('with the %s geofence rules', (rules) => body(contextUnder(RULE_SETS[rules])));
}

export const fix = (minute: number, position: LatLon, extra: Partial<Fix> = {}): AnomalyInput => ({ kind: 'fix', fix: { recordedAt: at(minute), ...position, ...extra } });
export const arrived = (stopSequence: number, minute: number): AnomalyInput => ({ kind: 'milestone', type: 'ARRIVED', stopSequence, at: at(minute) });
export const departed = (stopSequence: number, minute: number): AnomalyInput => ({ kind: 'milestone', type: 'DEPARTED', stopSequence, at: at(minute) });
export const eta = (minute: number, perStop: Record<number, number>): AnomalyInput => ({
  kind: 'eta',
  predictedAt: at(minute),
  stops: Object.entries(perStop).map(([sequence, m]) => ({ sequence: Number(sequence), eta: at(m) })),
});

/** A tiny harness: state threaded through inputs and timers, events collected. */
export class Run {
  state: AnomalyState = initialAnomalyState();
  events: AnomalyEvent[] = [];
  constructor(readonly ctx: AnomalyContext) {}
  feed(...inputs: AnomalyInput[]): AnomalyEvent[] {
    const result = detectAnomaliesInOrder(this.state, inputs, this.ctx);
    this.state = result.state;
    this.events.push(...result.events);
    return result.events;
  }
  timer(minute: number): AnomalyEvent[] {
    const result = onAnomalyDeadline(this.state, at(minute), this.ctx);
    this.state = result.state;
    this.events.push(...result.events);
    return result.events;
  }
  deadline(): string | undefined {
    return nextAnomalyDeadline(this.state, this.ctx);
  }
  of(type: AnomalyEvent['type']): string[] {
    return this.events.filter((e) => e.type === type).map((e) => `${e.action}@${e.at}${e.stopSequence !== undefined ? `#${e.stopSequence}` : ''}`);
  }
}

/** A trip already under way (pickup reached and left), so position rules are armed. */
export function underway(ctx: AnomalyContext): Run {
  const run = new Run(ctx);
  run.feed(arrived(1, -30), departed(1, -20));
  run.events = [];
  return run;
}

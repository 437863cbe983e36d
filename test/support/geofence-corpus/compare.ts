// Turning what the platform decided into something comparable with a case's expectations, and the
// comparison. Works on the rules' events (domain tests) and on what the API shows (a shipment's
// `milestones`, its timeline's GEOFENCE_PASSED events), so workflow-side tests can reuse it.
import { applyFixes, initialTrackingState, markDelivered, type GeofenceConfig, type TrackingEvent, type TrackingState } from '../../../domain/milestones.js';
import type { Milestone } from '../../../domain/types.js';
import type { ExpectedMilestone, ExpectedPass, GeofenceCase } from './trip-plan.js';

export interface ObservedPass {
  stopSequence: number;
  enteredAt: string;
  exitedAt: string;
}

export function milestonesOf(events: readonly TrackingEvent[]): Milestone[] {
  return events.flatMap((e) => (e.kind === 'milestone' ? [{ type: e.type, stopSequence: e.stopSequence, at: e.at }] : []));
}

export function passesOf(events: readonly TrackingEvent[]): ObservedPass[] {
  return events.flatMap((e) => (e.kind === 'pass' ? [{ stopSequence: e.stopSequence, enteredAt: e.at, exitedAt: e.exitedAt }] : []));
}

const offSec = (actual: string, expected: string) => Math.abs(Date.parse(actual) - Date.parse(expected)) / 1000;
const label = (m: Pick<Milestone, 'type' | 'stopSequence'>) => `${m.type}@${m.stopSequence}`;

/** Every problem with the observed milestones: a missing or extra one (a false arrival), one out of order or off by more than its tolerance. */
export function milestoneProblems(expected: readonly ExpectedMilestone[], observed: readonly Milestone[]): string[] {
  const problems: string[] = [];
  if (observed.map(label).join(',') !== expected.map(label).join(',')) {
    problems.push(`milestones: expected [${expected.map(label).join(', ')}], saw [${observed.map(label).join(', ')}]`);
  }
  for (let i = 1; i < observed.length; i++) {
    if (Date.parse(observed[i]!.at) < Date.parse(observed[i - 1]!.at)) problems.push(`${label(observed[i]!)} at ${observed[i]!.at} is before ${label(observed[i - 1]!)}`);
  }
  for (const want of expected) {
    const seen = observed.find((m) => label(m) === label(want));
    if (seen && offSec(seen.at, want.at) > want.toleranceSec) {
      problems.push(`${label(want)}: at ${seen.at}, expected ${want.at} ± ${Math.round(want.toleranceSec)} s (off by ${Math.round(offSec(seen.at, want.at))} s)`);
    }
  }
  return problems;
}

/** Every expected drive-by must be one observed pass, within tolerance; no other pass may be observed. */
export function passProblems(expected: readonly ExpectedPass[], observed: readonly ObservedPass[]): string[] {
  const problems: string[] = [];
  const unmatched = [...observed];
  for (const want of expected) {
    const index = unmatched.findIndex(
      (p) => p.stopSequence === want.stopSequence && offSec(p.enteredAt, want.enteredAt) <= want.enteredToleranceSec && offSec(p.exitedAt, want.exitedAt) <= want.exitedToleranceSec,
    );
    if (index < 0) problems.push(`no pass of stop ${want.stopSequence} from ${want.enteredAt} to ${want.exitedAt}`);
    else unmatched.splice(index, 1);
  }
  for (const extra of unmatched) problems.push(`unexpected pass of stop ${extra.stopSequence} from ${extra.enteredAt} to ${extra.exitedAt}`);
  return problems;
}

/** The case's fixes through the geofence rules in time order, then its proof of delivery if any. */
export function runCase(geofenceCase: GeofenceCase, config: GeofenceConfig): { state: TrackingState; events: TrackingEvent[] } {
  const traced = applyFixes(initialTrackingState(geofenceCase.stops), geofenceCase.fixes, geofenceCase.stops, config);
  if (geofenceCase.proofOfDeliveryAt === undefined) return traced;
  const delivered = markDelivered(traced.state, geofenceCase.proofOfDeliveryAt, config);
  return { state: delivered.state, events: [...traced.events, ...delivered.events] };
}

/** Everything wrong with what the rules made of the case under `config`. */
export function caseProblems(geofenceCase: GeofenceCase, config: GeofenceConfig): string[] {
  const { events } = runCase(geofenceCase, config);
  return [...milestoneProblems(geofenceCase.expected.milestones, milestonesOf(events)), ...passProblems(geofenceCase.expected.passes, passesOf(events))];
}

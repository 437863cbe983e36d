// The geofence corpus (test/support/geofence-corpus) through the pure rules, in time order: every
// case's milestones as its plan says, drive-bys as GEOFENCE_PASSED, and no anomaly the trip does
// not deserve. Workflow-side tests reuse the same cases with other upload orders.
import { describe, expect, it } from 'vitest';
import { createAnomalyContext, type AnomalyEvent } from '../../domain/anomalies/index.js';
import { distanceM } from '../../domain/geo.js';
import { DEFAULT_GEOFENCE_CONFIG, exitRadiusM, LEGACY_GEOFENCE_CONFIG, type GeofenceConfig } from '../../domain/geofence.js';
import { applyFix, initialTrackingState, markDelivered, type TrackingEvent } from '../../domain/milestones.js';
import { AnomalyRun } from '../support/anomaly-run.js';
import { caseProblems, GEOFENCE_CORPUS, type GeofenceCase } from '../support/geofence-corpus/index.js';

/** The rules as the workflow strings them: milestones first, then the fix; timers between fixes; delivery closes. */
function anomaliesOf(geofenceCase: GeofenceCase, geofence: GeofenceConfig = DEFAULT_GEOFENCE_CONFIG): AnomalyEvent[] {
  const run = new AnomalyRun(createAnomalyContext({ stops: geofenceCase.stops, thresholds: {} }, undefined, geofence));
  let tracking = initialTrackingState(geofenceCase.stops);
  const milestones = (tracked: TrackingEvent[]) => tracked.filter((e) => e.kind === 'milestone');
  for (const fix of geofenceCase.fixes) {
    run.fireTimersUntil(Date.parse(fix.recordedAt));
    const tracked = applyFix(tracking, fix, geofenceCase.stops, geofence);
    tracking = tracked.state;
    run.feed([...milestones(tracked.events), { kind: 'fix', fix }]);
  }
  // Silence after the trace: up to the proof of delivery, else an hour (a vehicle really still at a stop may then dwell long).
  const lastMs = Date.parse(geofenceCase.fixes.at(-1)!.recordedAt);
  const pod = geofenceCase.proofOfDeliveryAt;
  run.fireTimersUntil(pod ? Date.parse(pod) : lastMs + 60 * 60_000);
  if (pod) {
    run.feed(milestones(markDelivered(tracking, pod, geofence).events));
    run.close(pod, 'delivered');
  }
  return run.events;
}

const falseAlerts = (events: AnomalyEvent[]) => events.filter((e) => e.action === 'open' && (e.type === 'OUT_OF_SEQUENCE' || e.type === 'LONG_DWELL')).map((e) => `${e.type}#${e.stopSequence}`);

describe('geofence corpus', () => {
  describe.each(GEOFENCE_CORPUS.map((c) => [c.name, c] as const))('%s', (_name, geofenceCase) => {
    it('its planned milestones hold in time order, with no false arrival, and its drive-bys are GEOFENCE_PASSED', () => {
      expect(caseProblems(geofenceCase, DEFAULT_GEOFENCE_CONFIG)).toEqual([]);
    });

    it('raises neither OUT_OF_SEQUENCE nor LONG_DWELL', () => {
      const opened = anomaliesOf(geofenceCase).filter((e) => e.action === 'open' && (e.type === 'OUT_OF_SEQUENCE' || e.type === 'LONG_DWELL'));
      expect(opened).toEqual([]);
    });
  });

  it('covers drive-bys, trace ends and tracker gaps that the legacy rules get wrong', () => {
    const failingOnLegacy = GEOFENCE_CORPUS.filter((c) => caseProblems(c, LEGACY_GEOFENCE_CONFIG).length > 0).map((c) => c.name);
    expect(failingOnLegacy).toEqual([
      'drive-by on the way, ELD at 40 km/h',
      'slow drive-by in traffic, 5 s fixes at 15 km/h',
      'red light inside a fence, 5 s fixes',
      'drive-by seen by a 5-min trailer tracker',
      'several drive-bys, phone at 20 and 40 km/h',
      'trace ends one fix after leaving, then proof of delivery',
      'tracker gap across a departure',
      'drive-by of the pickup before loading',
    ]);
    // A drive-by of a later stop opened a false OUT_OF_SEQUENCE; a trace ending just after leaving, a LONG_DWELL.
    const driveBy = GEOFENCE_CORPUS.find((c) => c.name === 'drive-by on the way, ELD at 40 km/h')!;
    expect(caseProblems(driveBy, LEGACY_GEOFENCE_CONFIG)[0]).toMatch(/saw \[ARRIVED@1, DEPARTED@1, ARRIVED@3/);
    expect(falseAlerts(anomaliesOf(driveBy, LEGACY_GEOFENCE_CONFIG))).toEqual(['OUT_OF_SEQUENCE#3']);
    const traceEnd = GEOFENCE_CORPUS.find((c) => c.name.startsWith('trace ends one fix after leaving'))!;
    expect(falseAlerts(anomaliesOf(traceEnd, LEGACY_GEOFENCE_CONFIG))).toEqual(['LONG_DWELL#2']);
  });

  it('the trace-end case really stops one fix after leaving, and its drive-by cases really have fixes inside', () => {
    const traceEnd = GEOFENCE_CORPUS.find((c) => c.name.startsWith('trace ends one fix after leaving'))!;
    const last = traceEnd.stops.at(-1)!;
    const outside = traceEnd.fixes.filter((f) => distanceM(f, last.location) > exitRadiusM(last, DEFAULT_GEOFENCE_CONFIG));
    expect(traceEnd.fixes.at(-1)).toBe(outside.at(-1));
    expect(outside.filter((f) => f.recordedAt > traceEnd.expected.milestones.at(-2)!.at)).toHaveLength(1);
    for (const c of GEOFENCE_CORPUS) {
      for (const pass of c.expected.passes) {
        const stop = c.stops.find((s) => s.sequence === pass.stopSequence)!;
        const inside = c.fixes.filter((f) => f.recordedAt >= pass.enteredAt && f.recordedAt <= pass.exitedAt && distanceM(f, stop.location) <= stop.geofenceRadiusM);
        expect(inside.length, `${c.name}: stop ${stop.sequence}`).toBeGreaterThan(0);
      }
    }
    expect(GEOFENCE_CORPUS.flatMap((c) => c.expected.passes)).toHaveLength(8);
  });
});

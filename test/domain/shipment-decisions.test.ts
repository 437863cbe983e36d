// The shipment's per-batch decisions (domain/shipment/decide.ts) driven the way the workflow
// drives them: batches of stored fixes, and on a late fix a re-run from the store. The outcome
// must not depend on upload order or batching: the same fixes give the same milestones and
// anomalies as the trip in time order, whatever the order, and corrections stay bounded.
import { describe, expect, it } from 'vitest';
import { createAnomalyContext } from '../../domain/anomalies/index.js';
import { DEFAULT_GEOFENCE_CONFIG } from '../../domain/milestones.js';
import { buildDecisionContext, decideDeadlines, decideFixes, decideRerun, initialDecisionState, type DecisionContext, type DecisionState } from '../../domain/shipment/decide.js';
import { CHECKPOINT_EVERY_MIN, fixesAfter, MAX_REREAD_FIXES, REWIND_HORIZON_MIN } from '../../domain/shipment/reevaluation.js';
import type { TimelineEvent } from '../../domain/timeline.js';
import type { Fix, LatLon, StopPlan } from '../../domain/types.js';
import { Rng } from '../../simulator/random.js';
import { minutesFrom, roadFrom, TRIP_T0 } from '../support/road.js';

const at = minutesFrom(TRIP_T0);
const road = roadFrom({ lat: 45, lon: 5 });

const stops: StopPlan[] = [
  { sequence: 1, type: 'pickup', name: 'DC', location: road(0), geofenceRadiusM: 500, plannedDwellMin: 45, window: { start: at(0), end: at(60) } },
  { sequence: 2, type: 'waypoint', name: 'Hub', location: road(50), geofenceRadiusM: 500, plannedDwellMin: 30 },
  { sequence: 3, type: 'delivery', name: 'Customer', location: road(100), geofenceRadiusM: 500, window: { start: at(120), end: at(420) } },
];
const route = { type: 'LineString' as const, coordinates: [road(0), road(100)].map((p): [number, number] => [p.lon, p.lat]) };

/** Fixes every 2 minutes: dwells, a long stay at the hub, a 3 km detour, a silent hour, delivery. */
function trip(): Fix[] {
  const fixes: Fix[] = [];
  const push = (minute: number, position: LatLon, speedKmh: number) => fixes.push({ recordedAt: at(minute), ...position, speedKmh });
  for (let m = -10; m < 0; m += 2) push(m, road(m), 60);
  for (let m = 0; m <= 40; m += 2) push(m, road(0, (m % 6) * 10), 0);
  for (let m = 42; m < 90; m += 2) push(m, road(m - 40), 60);
  for (let m = 90; m <= 190; m += 2) push(m, road(50, (m % 6) * 10), 0);
  for (let m = 192; m < 202; m += 2) push(m, road(50 + (m - 190)), 60);
  for (let m = 202; m <= 208; m += 2) push(m, road(50 + (m - 190), 3000), 55);
  for (let m = 210; m <= 220; m += 2) push(m, road(50 + (m - 190)), 60);
  for (let m = 280; m < 300; m += 2) push(m, road(80 + (m - 280) / 2), 60);
  for (let m = 300; m <= 310; m += 2) push(m, road(100, 20), 0);
  push(312, road(101), 40);
  push(314, road(102), 50);
  return fixes;
}

const ctx: DecisionContext = buildDecisionContext(stops, { geofence: DEFAULT_GEOFENCE_CONFIG, anomalies: createAnomalyContext({ stops, route, thresholds: {} }) }, { intervalMin: 5, changeMin: 10 });

interface Outcome {
  state: DecisionState;
  timeline: TimelineEvent[];
}

/** The workflow's loop without the workflow: each batch stored then decided; a rewind re-reads the store. */
function drive(batches: readonly Fix[][]): Outcome {
  const store: Fix[] = [];
  let state = initialDecisionState(stops);
  const timeline: TimelineEvent[] = [];
  for (const batch of batches) {
    store.push(...batch);
    const decision = decideFixes(state, batch, ctx);
    state = decision.state;
    timeline.push(...decision.events);
    if (decision.rewindFrom) {
      const from = decision.rewindFrom.at;
      const rerun = decideRerun(state, decision.rewindFrom, store.filter((f) => from === undefined || Date.parse(f.recordedAt) > Date.parse(from)), state.rules.tracking.lastFixAt!, ctx);
      state = rerun.state;
      timeline.push(...rerun.events);
    }
  }
  const end = decideDeadlines(state, state.rules.tracking.lastFixAt!, ctx);
  return { state: end.state, timeline: [...timeline, ...end.events] };
}

/** Random batch sizes (1–40), shuffled: store-and-forward uploads racing each other. */
function randomUploads(fixes: readonly Fix[], rng: Rng): Fix[][] {
  const batches: Fix[][] = [];
  for (let i = 0; i < fixes.length; ) {
    const size = rng.int(1, 40);
    batches.push(fixes.slice(i, i + size));
    i += size;
  }
  for (let i = batches.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [batches[i], batches[j]] = [batches[j]!, batches[i]!];
  }
  return batches;
}

const decisionsOf = (outcome: Outcome) => ({
  status: outcome.state.rules.tracking.status,
  milestones: [...outcome.state.rules.milestones].map(({ type, stopSequence, at: when }) => ({ type, stopSequence, at: when })).sort((a, b) => Date.parse(a.at) - Date.parse(b.at) || a.stopSequence - b.stopSequence),
  anomalies: [...outcome.state.rules.anomalyLog].sort((a, b) => Date.parse(a.openedAt) - Date.parse(b.openedAt) || a.type.localeCompare(b.type)),
});

describe('decisions for the same fixes in any upload order', () => {
  const fixes = trip();
  const inOrder = drive([fixes]);

  it('in time order, decides every milestone and the trip’s anomalies', () => {
    const decided = decisionsOf(inOrder);
    expect(decided.status).toBe('DELIVERED');
    expect(decided.milestones.map((m) => `${m.type}:${m.stopSequence}`)).toEqual(['ARRIVED:1', 'DEPARTED:1', 'ARRIVED:2', 'DEPARTED:2', 'ARRIVED:3', 'DEPARTED:3']);
    expect(new Set(decided.anomalies.map((a) => a.type))).toEqual(new Set(['LONG_DWELL', 'OFF_ROUTE', 'SIGNAL_LOST']));
    expect(inOrder.state.counters).toMatchObject({ applied: fixes.length, late: 0, rewinds: 0 });
  });

  it('gives the same decisions for one fix per batch in time order', () => {
    expect(decisionsOf(drive(fixes.map((f) => [f])))).toEqual(decisionsOf(inOrder));
  });

  it('gives the same decisions for 100 random batchings in random order', () => {
    for (let seed = 0; seed < 100; seed++) {
      const outcome = drive(randomUploads(fixes, new Rng(`uploads-${seed}`)));
      expect(decisionsOf(outcome), `seed ${seed}`).toEqual(decisionsOf(inOrder));
      expect(outcome.state.counters.applied, `seed ${seed}`).toBe(fixes.length);
    }
  });

  it('gives the same decisions when the whole trip arrives backwards, one fix at a time', () => {
    expect(decisionsOf(drive([...fixes].reverse().map((f) => [f])))).toEqual(decisionsOf(inOrder));
  });
});

describe('corrections', () => {
  const fixes = trip();

  it('supersede a milestone a late fix moves, with a new event, never a rewrite', () => {
    // The first fixes inside the DC arrive last: the arrival first comes from a later fix.
    const firstInside = fixes.findIndex((f) => f.recordedAt === at(0));
    const outcome = drive([fixes.slice(firstInside + 3), fixes.slice(0, firstInside + 3)]);
    const arrivals = outcome.timeline.filter((e) => e.type === 'ARRIVED' && e.stopSequence === 1);
    expect(arrivals.map((e) => [e.key, e.occurredAt])).toEqual([
      ['ARRIVED:1', at(6)],
      ['ARRIVED:1:r1', at(0)],
    ]);
    expect(arrivals[1]!.data).toMatchObject({ corrected: true, supersedes: 'ARRIVED:1', previousAt: at(6) });
    expect(decisionsOf(outcome)).toEqual(decisionsOf(drive([fixes])));
  });

  it('retract an anomaly a late fix shows never happened', () => {
    const gap = fixes.filter((f) => Date.parse(f.recordedAt) < Date.parse(at(230)) || Date.parse(f.recordedAt) >= Date.parse(at(280)));
    const filler = Array.from({ length: 25 }, (_, i): Fix => ({ recordedAt: at(222 + i * 2), ...road(80), speedKmh: 0 }));
    const outcome = drive([gap, filler]);
    const lost = outcome.timeline.filter((e) => e.data.anomaly === 'SIGNAL_LOST').map((e) => e.type);
    expect(lost).toEqual(['ANOMALY_OPENED', 'ANOMALY_RESOLVED', 'ANOMALY_RETRACTED']);
    expect(outcome.state.rules.anomalyLog.some((a) => a.type === 'SIGNAL_LOST')).toBe(false);
  });

  it('emit nothing when a late fix changes no decision', () => {
    const moving = fixes.slice(30, 40);
    const rest = fixes.filter((f) => !moving.includes(f));
    const before = drive([rest]);
    const outcome = drive([rest, moving]);
    expect(outcome.timeline.slice(before.timeline.length).filter((e) => e.type !== 'ETA_CHANGED')).toEqual([]);
    expect(outcome.state.counters).toMatchObject({ late: moving.length, rewinds: 1 });
  });
});

describe('bounded re-evaluation', () => {
  /** A straight drive north, one fix a minute, for `minutes`. */
  const drive1 = (minutes: number, everyMin = 1): Fix[] => Array.from({ length: Math.floor(minutes / everyMin) }, (_, i) => ({ recordedAt: at(60 + i * everyMin), ...road(1 + i * 0.001), speedKmh: 1 }));

  it('keeps checkpoints within the horizon and under the re-read limit', () => {
    const state = drive([drive1(3 * REWIND_HORIZON_MIN)]).state;
    const { checkpoints } = state.reevaluation;
    const oldest = Date.parse(checkpoints[0]!.at!);
    // Pruned when a checkpoint is taken: the oldest is at most one interval past the horizon.
    expect(Date.parse(state.rules.tracking.lastFixAt!) - oldest).toBeLessThanOrEqual((REWIND_HORIZON_MIN + CHECKPOINT_EVERY_MIN) * 60_000);
    expect(checkpoints.every((c) => fixesAfter(state.reevaluation, c) <= MAX_REREAD_FIXES)).toBe(true);
    expect(checkpoints.length).toBeLessThanOrEqual(REWIND_HORIZON_MIN / 30 + 1);
  });

  it('keeps a fix older than the oldest checkpoint in the track only', () => {
    const fixes = drive1(3 * REWIND_HORIZON_MIN);
    const outcome = drive([fixes.slice(1), fixes.slice(0, 1)]);
    expect(outcome.state.counters).toMatchObject({ tooLate: 1, rewinds: 0, applied: fixes.length - 1 });
  });
});

// ETA accuracy on simulated trips, without any server: each trip of a seeded plan is replayed
// the way the shipment workflow sees it (deliveries in send order, stale fixes dropped, milestone
// rules per fix) and at the workflow's re-prediction schedule (after a batch with a milestone, else
// at most every 5 min of fix time, from the batch's latest fix) the activity's own prediction code runs, with the truck's recent fixes and a
// historical speed learned from the trips delivered before it. Arrivals are the ARRIVED
// milestones the platform would record. The result feeds computeEtaAccuracy.
import {
  BREAK_LOOKBACK_MIN,
  DEFAULT_SPEED_MODEL,
  predictBoth,
  recentMovingSpeed,
  recordEtaPrediction,
  shouldRepredictEta,
  type ActualArrival,
  type EtaPlan,
  type EtaPredictionRecord,
  type EtaProgress,
  type EtaScheduleState,
} from '../domain/eta/index.js';
import { prepareFixBatch } from '../domain/fixes.js';
import { applyFix, DEFAULT_GEOFENCE_CONFIG, initialTrackingState, type TrackingState } from '../domain/milestones.js';
import type { Fix, StopPlan } from '../domain/types.js';
import { toFix } from './motion.js';
import { planSimulation, plannedRoute, stopPlansOf, type ShipmentSpec } from './scenarios.js';

/** The workflow's interval (workflows/shipment.ts ETA_INTERVAL_MIN). */
const ETA_INTERVAL_MIN = 5;
/** What the activity reads back from the positions table (activities/eta.ts). */
const RECENT_WINDOW_MS = Math.max(DEFAULT_SPEED_MODEL.recentWindowMin, BREAK_LOOKBACK_MIN) * 60_000;
/** Simulated trips start here, a day apart (any fixed instant would do). */
const EPOCH_MS = Date.parse('2026-01-05T06:00:00.000Z');

export interface SimulatedEtaData {
  seed: string;
  trips: number;
  /** Trips that reached DELIVERED: only they count, as in the database report. */
  delivered: number;
  scenarios: Record<string, number>;
  predictions: EtaPredictionRecord[];
  arrivals: ActualArrival[];
}

function planOf(spec: ShipmentSpec, tripStartMs: number): EtaPlan & { stops: StopPlan[] } {
  return {
    stops: stopPlansOf(spec, tripStartMs),
    route: plannedRoute(spec.route),
  };
}

/** Learned like the activity's tenant-wide prior: time-weighted moving speed of delivered trips. */
class SpeedHistory {
  private movingMin = 0;
  private km = 0;

  learn(fixes: readonly Fix[]): void {
    const last = fixes.at(-1);
    if (!last) return;
    const speed = recentMovingSpeed(fixes, last.recordedAt, { ...DEFAULT_SPEED_MODEL, recentWindowMin: 7 * 24 * 60 });
    if (speed.speedKmh === undefined) return;
    this.movingMin += speed.movingMin;
    this.km += (speed.speedKmh * speed.movingMin) / 60;
  }

  /** Undefined until an hour of driving is known, as the activity requires. */
  speedKmh(): number | undefined {
    return this.movingMin >= 60 ? this.km / (this.movingMin / 60) : undefined;
  }
}

function replayTrip(spec: ShipmentSpec, shipmentId: string, tripStartMs: number, history: SpeedHistory) {
  const plan = planOf(spec, tripStartMs);
  const predictions: EtaPredictionRecord[] = [];
  const arrivals: ActualArrival[] = [];
  const stored: Fix[] = [];
  let tracking: TrackingState = initialTrackingState(plan.stops);
  let schedule: EtaScheduleState = {};
  const historicalSpeedKmh = history.speedKmh();

  const deliveries = [...spec.trace.deliveries].sort((a, b) => a.sendAtMs - b.sendAtMs);
  for (const delivery of deliveries) {
    const fixes = delivery.fixes.map((f) => toFix(f, tripStartMs));
    // The positions table keeps every fix the API accepted, in fix-time order.
    stored.push(...fixes);
    stored.sort((a, b) => Date.parse(a.recordedAt) - Date.parse(b.recordedAt));
    const fresh = prepareFixBatch(fixes, tracking.lastFixAt).fresh;
    let milestones = 0;
    for (const fix of fresh) {
      const result = applyFix(tracking, fix, plan.stops);
      tracking = result.state;
      for (const m of result.events) {
        if (m.kind !== 'milestone') continue;
        milestones += 1;
        if (m.type === 'ARRIVED') arrivals.push({ shipmentId, stopSequence: m.stopSequence, arrivedAt: m.at });
      }
    }
    // As the workflow: at most one prediction per delivered batch, from its latest usable fix.
    const fix = fresh.filter((f) => f.accuracyM === undefined || f.accuracyM <= DEFAULT_GEOFENCE_CONFIG.maxAccuracyM).at(-1);
    const pending = tracking.stops.some((s) => s.status === 'PENDING');
    if (fix && pending && tracking.status !== 'DELIVERED' && tracking.status !== 'CANCELLED') {
      if (!shouldRepredictEta(schedule, { kind: milestones > 0 ? 'milestone' : 'fix' }, fix.recordedAt, ETA_INTERVAL_MIN)) continue;
      schedule = recordEtaPrediction(schedule, fix.recordedAt);
      const atMs = Date.parse(fix.recordedAt);
      const progress: EtaProgress = {
        predictedAt: fix.recordedAt,
        position: { lat: fix.lat, lon: fix.lon },
        stops: tracking.stops.map(({ sequence, status, arrivedAt }) => ({ sequence, status, ...(arrivedAt ? { arrivedAt } : {}) })),
      };
      const recentFixes = stored.filter((f) => {
        const ms = Date.parse(f.recordedAt);
        return ms >= atMs - RECENT_WINDOW_MS && ms <= atMs;
      });
      const { model, baseline } = predictBoth({ plan, progress, recentFixes, ...(historicalSpeedKmh !== undefined ? { historicalSpeedKmh } : {}) });
      for (const [source, prediction] of [['model', model], ['baseline', baseline]] as const) {
        for (const s of prediction.stops) predictions.push({ shipmentId, stopSequence: s.sequence, predictedAt: prediction.predictedAt, predictedArrival: s.eta, source });
      }
    }
  }
  return { predictions, arrivals, delivered: tracking.status === 'DELIVERED', fixes: stored };
}

/** Plans `trips` trucks from `seed` (the default scenario mix) and replays each; cancelled trips are left out. */
export function simulateEtaData(options: { trips: number; seed?: string; minKm?: number; maxKm?: number }): SimulatedEtaData {
  const seed = options.seed ?? 'eta-report';
  const plan = planSimulation({ seed, vehicles: options.trips, scenario: 'mix', minKm: options.minKm, maxKm: options.maxKm });
  const history = new SpeedHistory();
  const data: SimulatedEtaData = { seed, trips: plan.shipments.length, delivered: 0, scenarios: {}, predictions: [], arrivals: [] };
  plan.shipments.forEach((spec, index) => {
    data.scenarios[spec.scenario] = (data.scenarios[spec.scenario] ?? 0) + 1;
    if (spec.scenario === 'cancellation') return;
    const trip = replayTrip(spec, `${seed}/${spec.key}`, EPOCH_MS + index * 24 * 3600_000, history);
    if (!trip.delivered) return;
    data.delivered += 1;
    data.predictions.push(...trip.predictions);
    data.arrivals.push(...trip.arrivals);
    history.learn(trip.fixes);
  });
  return data;
}

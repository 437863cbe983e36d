// ETA accuracy on simulated trips, without any server: each trip of a seeded plan is replayed
// the way the shipment workflow sees it (deliveries in send order, stale fixes dropped, milestone
// rules per fix) and at the workflow's re-prediction schedule (after a batch with a milestone, else
// at most every 5 min of fix time, from the batch's latest fix) the activity's own prediction code runs, with the truck's recent fixes and a
// historical speed learned from the trips delivered before it. Arrivals are the ARRIVED
// milestones the platform would record. The result feeds computeEtaAccuracy.
import {
  BREAK_LOOKBACK_MIN,
  buildEtaHistoryModel,
  HistoryLearner,
  type EtaHistoryConfig,
  type EtaHistoryFigures,
  type EtaHistoryHooks,
  type HistoryShipment,
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
import { Rng } from './random.js';
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

function replayTrip(spec: ShipmentSpec, shipmentId: string, tripStartMs: number, history: SpeedHistory, learned?: EtaHistoryHooks) {
  const plan = planOf(spec, tripStartMs);
  const predictions: EtaPredictionRecord[] = [];
  const arrivals: ActualArrival[] = [];
  const departures = new Map<number, string>();
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
        if (m.type === 'DEPARTED') departures.set(m.stopSequence, m.at);
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
      const sources: [string, { predictedAt: string; stops: { sequence: number; eta: string }[] }][] = [['model', model], ['baseline', baseline]];
      if (learned) {
        const withHistory = predictBoth({ plan, progress, recentFixes, ...(historicalSpeedKmh !== undefined ? { historicalSpeedKmh } : {}), history: learned });
        sources.push(['history', withHistory.model]);
      }
      for (const [source, prediction] of sources) {
        for (const s of prediction.stops) predictions.push({ shipmentId, stopSequence: s.sequence, predictedAt: prediction.predictedAt, predictedArrival: s.eta, source });
      }
    }
  }
  // The delivered shipment as the history refresh reads it back from the projection.
  const arrivedAt = new Map(arrivals.map((a) => [a.stopSequence, a.arrivedAt]));
  const asHistory: HistoryShipment = {
    shipmentId,
    stops: plan.stops.map((stop) => ({
      name: stop.name,
      location: stop.location,
      plannedDwellMin: stop.plannedDwellMin ?? null,
      arrivedAt: arrivedAt.get(stop.sequence) ?? null,
      departedAt: departures.get(stop.sequence) ?? null,
    })),
    fixes: stored,
  };
  return { predictions, arrivals, delivered: tracking.status === 'DELIVERED', fixes: stored, asHistory };
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

/** Where a trip of a history bench starts: anywhere in the four weeks after `fromMs`, to the minute, from its seed and index. */
export function tripStartOf(seed: string, index: number, fromMs: number): number {
  return fromMs + new Rng(`${seed}/trip-start-${index}`).int(0, 28 * 24 * 60 - 1) * 60_000;
}

export interface EtaHistoryBenchOptions {
  /** Seed of the world's facilities and traffic (simulator/patterns.ts), shared by both halves. */
  world: string;
  historySeed: string;
  historyTrips: number;
  heldOutSeed: string;
  heldOutTrips: number;
  /** Overrides of the history model's thresholds and sizes. */
  config?: Partial<EtaHistoryConfig>;
}

export interface EtaHistoryBenchData {
  history: { seed: string; trips: number; delivered: number; scenarios: Record<string, number>; figures: { shipments: number; facilities: number; facilitiesAboveThreshold: number; cells: number; cellHours: number } };
  heldOut: { seed: string; trips: number; delivered: number; scenarios: Record<string, number> };
  /** False when the history half is below the shipment threshold: the history source is then today's model. */
  historyUsed: boolean;
  predictions: EtaPredictionRecord[];
  arrivals: ActualArrival[];
}

/**
 * The history half (its own seed, four weeks from the epoch) is replayed and learned from as the
 * refresh workflow would (delivered trips only); the held-out half (another seed, the four weeks
 * after) is predicted three ways: the naive baseline, today's model (its speed prior learned from the
 * history half, as the activity's tenant-wide prior) and the history-aware model.
 */
export function simulateEtaHistoryBench(options: EtaHistoryBenchOptions): EtaHistoryBenchData & { figures: EtaHistoryFigures } {
  const historyFrom = EPOCH_MS;
  const heldOutFrom = EPOCH_MS + 28 * 24 * 3600_000;
  const speedHistory = new SpeedHistory();
  const learner = new HistoryLearner(options.config?.cellDeg, options.config?.outlierFactor);
  const historyPlan = planSimulation({
    seed: options.historySeed,
    vehicles: options.historyTrips,
    scenario: 'mix',
    patterns: { world: options.world, tripStartMs: (i) => tripStartOf(options.historySeed, i, historyFrom) },
  });
  const history = { seed: options.historySeed, trips: historyPlan.shipments.length, delivered: 0, scenarios: {} as Record<string, number> };
  for (const spec of historyPlan.shipments) {
    history.scenarios[spec.scenario] = (history.scenarios[spec.scenario] ?? 0) + 1;
    if (spec.scenario === 'cancellation') continue;
    const trip = replayTrip(spec, `${options.historySeed}/${spec.key}`, spec.tripStartMs!, speedHistory);
    if (!trip.delivered) continue;
    history.delivered += 1;
    speedHistory.learn(trip.fixes);
    learner.add(trip.asHistory);
  }
  const figures = learner.figures();
  const model = buildEtaHistoryModel(figures, options.config);
  // Below the threshold the activity predicts with today's model: so does the history source.
  const hooks: EtaHistoryHooks = model?.hooks ?? {};

  const heldOutPlan = planSimulation({
    seed: options.heldOutSeed,
    vehicles: options.heldOutTrips,
    scenario: 'mix',
    patterns: { world: options.world, tripStartMs: (i) => tripStartOf(options.heldOutSeed, i, heldOutFrom) },
  });
  const heldOut = { seed: options.heldOutSeed, trips: heldOutPlan.shipments.length, delivered: 0, scenarios: {} as Record<string, number> };
  const predictions: EtaPredictionRecord[] = [];
  const arrivals: ActualArrival[] = [];
  for (const spec of heldOutPlan.shipments) {
    heldOut.scenarios[spec.scenario] = (heldOut.scenarios[spec.scenario] ?? 0) + 1;
    if (spec.scenario === 'cancellation') continue;
    // The held-out trips are predicted, never learned from.
    const trip = replayTrip(spec, `${options.heldOutSeed}/${spec.key}`, spec.tripStartMs!, speedHistory, hooks);
    if (!trip.delivered) continue;
    heldOut.delivered += 1;
    predictions.push(...trip.predictions);
    arrivals.push(...trip.arrivals);
  }
  const minVisits = options.config?.minFacilityVisits ?? 5;
  return {
    history: {
      ...history,
      figures: {
        shipments: figures.shipments,
        facilities: figures.facilities.length,
        facilitiesAboveThreshold: figures.facilities.filter((f) => f.visits >= minVisits).length,
        cells: new Set(figures.corridors.map((c) => c.cell)).size,
        cellHours: figures.corridors.length,
      },
    },
    heldOut,
    historyUsed: model !== undefined,
    predictions,
    arrivals,
    figures,
  };
}

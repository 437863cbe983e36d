// One ETA prediction for a shipment as the ETA activity makes it, without the I/O: the model and
// the naive baseline from one position, over the plan with the workflow's stop progress, the
// truck's recent fixes and the lane's historical speed. The accuracy report's simulation calls it
// the same way, so its figures are the activity's.
import type { Fix, LatLon, LineString, StopStatus } from '../types.js';
import { BREAK_WINDOW_MIN, breakUnderWayMin, drivingDay, drivingMinSinceBreak } from './driving-time.js';
import { predictEta, predictEtaBaseline, type EtaHistoryHooks, type EtaPrediction, type EtaPredictionDetail, type EtaStop } from './predict.js';

/** What never changes about a shipment's ETA: its stops as planned and its route. */
export interface EtaPlan {
  stops: EtaStop[];
  route?: LineString;
}

/** Where the truck is, at which fix time, and which stops it has reached. */
export interface EtaProgress {
  /** Fix time of the position: the prediction's clock. */
  predictedAt: string;
  position: LatLon;
  stops: { sequence: number; status: StopStatus; arrivedAt?: string }[];
}

export function predictBoth(input: {
  plan: EtaPlan;
  progress: EtaProgress;
  recentFixes: readonly Fix[];
  historicalSpeedKmh?: number;
  /** The tenant's learned figures (buildEtaHistoryModel(...).hooks); absent: today's model. */
  history?: EtaHistoryHooks;
}): { model: EtaPredictionDetail; baseline: EtaPrediction } {
  const { plan, progress } = input;
  const reached = new Map(progress.stops.map((s) => [s.sequence, s]));
  const stops: EtaStop[] = plan.stops.map((stop) => {
    const p = reached.get(stop.sequence);
    return { ...stop, status: p?.status ?? 'PENDING', ...(p?.arrivedAt ? { arrivedAt: p.arrivedAt } : {}) };
  });
  // The break estimates read the last BREAK_WINDOW_MIN of the fixes, as they always have; the
  // driving day reads all of them (the activity reads BREAK_LOOKBACK_MIN back).
  const atMs = Date.parse(progress.predictedAt);
  const breakFixes = input.recentFixes.filter((f) => Date.parse(f.recordedAt) >= atMs - BREAK_WINDOW_MIN * 60_000);
  const day = drivingDay(input.recentFixes, progress.predictedAt);
  const model = predictEta({
    at: progress.predictedAt,
    position: progress.position,
    stops,
    ...(plan.route ? { route: plan.route } : {}),
    recentFixes: input.recentFixes,
    drivingMinSinceBreak: drivingMinSinceBreak(breakFixes, progress.predictedAt),
    drivingMinToday: day.drivingTodayMin,
    standingMin: day.standingMin,
    ...(input.historicalSpeedKmh !== undefined ? { historicalSpeedKmh: input.historicalSpeedKmh } : {}),
    ...(input.history ? { history: input.history, breakUnderWayMin: breakUnderWayMin(breakFixes, progress.predictedAt, stops) } : {}),
  });
  const baseline = predictEtaBaseline({ at: progress.predictedAt, position: progress.position, stops });
  return { model, baseline };
}

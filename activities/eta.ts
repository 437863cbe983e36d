// The ETA activity: gathers what the pure model needs from Postgres (the plan, the truck's recent
// fixes, the lane's historical speed), predicts with the model and the naive baseline, stores
// both so accuracy can be measured, and returns the model's per-stop ETAs to the workflow.
import type { Kysely } from 'kysely';
import { historicalSpeed, insertEtaPredictions, laneKey, laneOf, recentShipmentFixes, type EtaPredictionRow, type HistoricalSpeed } from '../db/repositories/eta.js';
import { findStops, toStopProgress } from '../db/repositories/shipments.js';
import type { Database } from '../db/schema.js';
import {
  BREAK_RULES,
  DEFAULT_ETA_MODEL,
  predictEta,
  predictEtaBaseline,
  type EtaModel,
  type EtaPrediction,
  type EtaPredictionDetail,
  type EtaStop,
} from '../domain/eta/index.js';
import { distanceM } from '../domain/geo.js';
import type { Fix, LatLon, LineString, StopStatus } from '../domain/types.js';
import type { Logger } from '../infra/logger.js';

export interface EtaRequest {
  tenantId: string;
  shipmentId: string;
  /** Fix time of the position: the prediction's clock. */
  predictedAt: string;
  position: LatLon;
  /** The workflow's stop progress; the plan itself is read from the projection (it never changes). */
  stops: { sequence: number; status: StopStatus; arrivedAt?: string }[];
}

export interface EtaResult {
  predictedAt: string;
  model: EtaModel;
  speedKmh: number;
  /** Where the speed prior came from. */
  prior: HistoricalSpeed['scope'] | 'default';
  /** Model ETA per pending stop, in stop order. */
  stops: { sequence: number; eta: string }[];
  baseline: { sequence: number; eta: string }[];
  /** Rows written (0 on a retry of a prediction already stored). */
  stored: number;
}

export interface EtaActivityDependencies {
  db: Kysely<Database>;
  logger: Logger;
  /** How long a lane's historical speed is reused before it is read again. */
  historyTtlMs?: number;
  now?: () => number;
}

export interface EtaPlan {
  stops: EtaStop[];
  route?: LineString;
}

const EU_BREAK = BREAK_RULES.EU_561_2006!;
/** Fixes read back for the break estimate: a full driving period plus its break. */
export const BREAK_LOOKBACK_MIN = EU_BREAK.maxDrivingMin + EU_BREAK.breakMin;

/**
 * Driving minutes since the driver's last break, read from the fixes (no ELD data here): walking
 * back from `at`, pairs moving at least 5 km/h add their time; a stationary stretch or a silence
 * as long as a break ends the walk. Without this the model assumes a rested driver and misses
 * the break a long leg still needs.
 */
export function drivingMinSinceBreak(fixes: readonly Fix[], at: string, breakMin: number = EU_BREAK.breakMin): number {
  const endMs = Date.parse(at);
  const timed = fixes
    .map((fix) => ({ fix, ms: Date.parse(fix.recordedAt) }))
    .filter(({ ms }) => ms <= endMs)
    .sort((a, b) => a.ms - b.ms);
  let driving = 0;
  let stationaryMin = 0;
  for (let i = timed.length - 1; i > 0; i -= 1) {
    const b = timed[i]!;
    const a = timed[i - 1]!;
    const minutes = (b.ms - a.ms) / 60_000;
    if (minutes >= breakMin) break;
    const speed = a.fix.speedKmh !== undefined && b.fix.speedKmh !== undefined ? (a.fix.speedKmh + b.fix.speedKmh) / 2 : undefined;
    const moving = (speed ?? distanceM(a.fix, b.fix) / 1000 / (minutes / 60)) >= DEFAULT_ETA_MODEL.movingSpeedKmh;
    if (moving) {
      driving += minutes;
      stationaryMin = 0;
    } else {
      stationaryMin += minutes;
      if (stationaryMin >= breakMin) break;
    }
  }
  return driving;
}

/**
 * What the activity predicts, without the I/O: the model and the naive baseline from one
 * position, the plan with the workflow's progress, the truck's recent fixes and the lane's
 * historical speed. The accuracy report's simulation calls it the same way.
 */
export function predictBoth(input: {
  plan: EtaPlan;
  request: Pick<EtaRequest, 'predictedAt' | 'position' | 'stops'>;
  recentFixes: readonly Fix[];
  historicalSpeedKmh?: number;
}): { model: EtaPredictionDetail; baseline: EtaPrediction } {
  const { plan, request } = input;
  const progress = new Map(request.stops.map((s) => [s.sequence, s]));
  const stops: EtaStop[] = plan.stops.map((stop) => {
    const p = progress.get(stop.sequence);
    return { ...stop, status: p?.status ?? 'PENDING', ...(p?.arrivedAt ? { arrivedAt: p.arrivedAt } : {}) };
  });
  const model = predictEta({
    at: request.predictedAt,
    position: request.position,
    stops,
    ...(plan.route ? { route: plan.route } : {}),
    recentFixes: input.recentFixes,
    drivingMinSinceBreak: drivingMinSinceBreak(input.recentFixes, request.predictedAt),
    ...(input.historicalSpeedKmh !== undefined ? { historicalSpeedKmh: input.historicalSpeedKmh } : {}),
  });
  const baseline = predictEtaBaseline({ at: request.predictedAt, position: request.position, stops });
  return { model, baseline };
}

const PLAN_CACHE_SIZE = 1_000;

export function createEtaActivities({ db, logger, historyTtlMs = 10 * 60_000, now = Date.now }: EtaActivityDependencies) {
  // Plans never change after creation; lane speeds move slowly. Both are cached per worker.
  const plans = new Map<string, EtaPlan>();
  const speeds = new Map<string, { value: HistoricalSpeed | undefined; expiresAt: number }>();

  async function loadPlan(tenantId: string, shipmentId: string): Promise<EtaPlan | undefined> {
    const cached = plans.get(shipmentId);
    if (cached) return cached;
    const row = await db.selectFrom('shipments').select(['route']).where('id', '=', shipmentId).where('tenant_id', '=', tenantId).executeTakeFirst();
    if (!row) return undefined;
    const stops = (await findStops(db, shipmentId)).map(toStopProgress).map(({ status: _s, arrivedAt: _a, departedAt: _d, eta: _e, ...plan }) => plan);
    const plan: EtaPlan = { stops, ...(row.route ? { route: row.route } : {}) };
    if (plans.size >= PLAN_CACHE_SIZE) plans.delete(plans.keys().next().value!);
    plans.set(shipmentId, plan);
    return plan;
  }

  async function laneSpeed(tenantId: string, shipmentId: string, plan: EtaPlan): Promise<HistoricalSpeed | undefined> {
    const first = plan.stops[0];
    const last = plan.stops.at(-1);
    if (!first || !last) return undefined;
    const lane = laneOf(first.location, last.location);
    const key = laneKey(tenantId, lane);
    const cached = speeds.get(key);
    if (cached && cached.expiresAt > now()) return cached.value;
    const value = await historicalSpeed(db, tenantId, lane, shipmentId);
    speeds.set(key, { value, expiresAt: now() + historyTtlMs });
    return value;
  }

  return {
    /**
     * Predicts the arrival at every pending stop from one position. Idempotent: the stored rows
     * are keyed by (shipment, stop, source, fix time), so a retry writes nothing twice.
     */
    async predictShipmentEta(request: EtaRequest): Promise<EtaResult> {
      const plan = await loadPlan(request.tenantId, request.shipmentId);
      const empty: EtaResult = { predictedAt: request.predictedAt, model: 'great-circle', speedKmh: 0, prior: 'default', stops: [], baseline: [], stored: 0 };
      if (!plan) {
        logger.warn({ tenantId: request.tenantId, shipmentId: request.shipmentId }, 'shipment row missing: no ETA');
        return empty;
      }
      const lookbackMin = Math.max(DEFAULT_ETA_MODEL.recentWindowMin, BREAK_LOOKBACK_MIN);
      const windowStart = new Date(Date.parse(request.predictedAt) - lookbackMin * 60_000).toISOString();
      const [history, recentFixes] = await Promise.all([
        laneSpeed(request.tenantId, request.shipmentId, plan),
        recentShipmentFixes(db, request.shipmentId, windowStart, request.predictedAt),
      ]);
      const { model, baseline } = predictBoth({ plan, request, recentFixes, ...(history ? { historicalSpeedKmh: history.speedKmh } : {}) });
      const rows: EtaPredictionRow[] = [
        ...model.stops.map((s) => ({ source: 'model' as const, stopSequence: s.sequence, predictedArrival: s.eta, model: model.model, speedKmh: model.speedKmh })),
        ...baseline.stops.map((s) => ({ source: 'baseline' as const, stopSequence: s.sequence, predictedArrival: s.eta, model: baseline.model, speedKmh: baseline.speedKmh })),
      ].map((row) => ({ ...row, tenantId: request.tenantId, shipmentId: request.shipmentId, predictedAt: model.predictedAt }));
      const stored = await insertEtaPredictions(db, rows);
      return {
        predictedAt: model.predictedAt,
        model: model.model,
        speedKmh: model.speedKmh,
        prior: history?.scope ?? 'default',
        stops: model.stops.map(({ sequence, eta }) => ({ sequence, eta })),
        baseline: baseline.stops.map(({ sequence, eta }) => ({ sequence, eta })),
        stored,
      };
    },
  };
}

// The ETA activity: gathers what the pure model needs from Postgres (the plan, the truck's recent
// fixes, the lane's historical speed), predicts with the model and the naive baseline, stores
// both so accuracy can be measured, and returns the model's per-stop ETAs to the workflow.
import type { Kysely } from 'kysely';
import {
  findEtaPlan,
  historicalSpeed,
  insertEtaPredictions,
  laneKey,
  laneOf,
  recentShipmentFixes,
  type EtaPredictionRow,
  type HistoricalSpeed,
} from '../db/repositories/eta.js';
import { loadEtaHistory } from '../db/repositories/eta-history.js';
import type { Database } from '../db/schema.js';
import {
  BREAK_LOOKBACK_MIN,
  BREAK_WINDOW_MIN,
  needsDrivingDay,
  buildEtaHistoryModel,
  DEFAULT_ETA_HISTORY,
  DEFAULT_ETA_MODEL,
  predictBoth,
  type EtaHistoryModel,
  type EtaModel,
  type EtaPlan,
  type EtaProgress,
} from '../domain/eta/index.js';
import type { Logger } from '../infra/logger.js';

export interface EtaRequest extends EtaProgress {
  tenantId: string;
  shipmentId: string;
}

export interface EtaResult {
  predictedAt: string;
  model: EtaModel;
  speedKmh: number;
  /** Where the speed prior came from. */
  prior: HistoricalSpeed['scope'] | 'default';
  /**
   * The tenant's learned figures, when above the threshold: how many stops' dwell and what share of
   * the remaining distance came from them. Absent: today's model alone.
   */
  history?: { shipments: number; dwellStops: number; learnedDistanceShare: number };
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
  /** When the learned figures are used. */
  history?: EtaHistorySettings;
}

export interface EtaHistorySettings {
  /** Delivered shipments the figures must stand on; below, today's model (ETA_HISTORY_MIN_SHIPMENTS). */
  minShipments: number;
}

const PLAN_CACHE_SIZE = 1_000;

export function createEtaActivities({ db, logger, historyTtlMs = 10 * 60_000, now = Date.now, history: historySettings }: EtaActivityDependencies) {
  // Plans never change after creation; lane speeds move slowly. Both are cached per worker.
  const plans = new Map<string, EtaPlan>();
  const speeds = new Map<string, { value: HistoricalSpeed | undefined; expiresAt: number }>();
  // The tenant's learned figures change only when the scheduled refresh runs: read once per TTL.
  const learned = new Map<string, { value: EtaHistoryModel | undefined; expiresAt: number }>();
  const minShipments = historySettings?.minShipments ?? DEFAULT_ETA_HISTORY.minShipments;

  async function learnedModel(tenantId: string): Promise<EtaHistoryModel | undefined> {
    const cached = learned.get(tenantId);
    if (cached && cached.expiresAt > now()) return cached.value;
    const figures = await loadEtaHistory(db, tenantId);
    const value = figures ? buildEtaHistoryModel(figures, { minShipments }) : undefined;
    if (learned.size >= PLAN_CACHE_SIZE) learned.delete(learned.keys().next().value!);
    learned.set(tenantId, { value, expiresAt: now() + historyTtlMs });
    return value;
  }

  async function loadPlan(tenantId: string, shipmentId: string): Promise<EtaPlan | undefined> {
    const cached = plans.get(shipmentId);
    if (cached) return cached;
    const plan = await findEtaPlan(db, tenantId, shipmentId);
    if (!plan) return undefined;
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
      const since = (minutes: number) => new Date(Date.parse(request.predictedAt) - minutes * 60_000).toISOString();
      const [history, windowFixes, figures] = await Promise.all([
        laneSpeed(request.tenantId, request.shipmentId, plan),
        recentShipmentFixes(db, request.shipmentId, since(Math.max(DEFAULT_ETA_MODEL.recentWindowMin, BREAK_WINDOW_MIN)), request.predictedAt),
        learnedModel(request.tenantId),
      ]);
      // A standing truck may be on its daily rest: only then is the whole driving day read.
      const recentFixes = needsDrivingDay(windowFixes, request.predictedAt) ? await recentShipmentFixes(db, request.shipmentId, since(BREAK_LOOKBACK_MIN), request.predictedAt) : windowFixes;
      const { model, baseline } = predictBoth({
        plan,
        progress: request,
        recentFixes,
        ...(history ? { historicalSpeedKmh: history.speedKmh } : {}),
        ...(figures ? { history: figures.hooks } : {}),
      });
      // The stored model name says when history shaped the prediction (e.g. `route+history`).
      const modelName = figures ? `${model.model}+history` : model.model;
      const rows: EtaPredictionRow[] = [
        ...model.stops.map((s) => ({ source: 'model' as const, stopSequence: s.sequence, predictedArrival: s.eta, model: modelName, speedKmh: model.speedKmh })),
        ...baseline.stops.map((s) => ({ source: 'baseline' as const, stopSequence: s.sequence, predictedArrival: s.eta, model: baseline.model, speedKmh: baseline.speedKmh })),
      ].map((row) => ({ ...row, tenantId: request.tenantId, shipmentId: request.shipmentId, predictedAt: model.predictedAt }));
      const stored = await insertEtaPredictions(db, rows);
      return {
        predictedAt: model.predictedAt,
        model: model.model,
        speedKmh: model.speedKmh,
        prior: history?.scope ?? 'default',
        ...(figures && model.history ? { history: { shipments: figures.shipments, ...model.history } } : {}),
        stops: model.stops.map(({ sequence, eta }) => ({ sequence, eta })),
        baseline: baseline.stops.map(({ sequence, eta }) => ({ sequence, eta })),
        stored,
      };
    },
  };
}

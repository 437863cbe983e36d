// ETA prediction per remaining stop. Pure: an activity gathers the inputs (plan, progress,
// recent fixes, historical lane speed) and calls it; tests call it with known trips.
//
// The ETA of a stop is the time the truck reaches it (its ARRIVED milestone), which is what the
// accuracy report compares against. Between now and then the model adds, in order: the driving
// time of each leg at the blended speed, the breaks the driving-time rules impose (and what is left
// of a daily rest under way), and at every intermediate stop the wait for its appointment window to
// open plus its planned dwell.
import { distanceM } from '../geo.js';
import type { Fix, LatLon, LineString, StopPlan, StopStatus } from '../types.js';
import { BREAK_RULES, driveWithBreaks, driveWithRests, type BreakRuleSet } from './breaks.js';
import { hasUsableRoute, indexRoute, projectOntoRoute, type RoutePosition } from './route-geometry.js';
import { DEFAULT_SPEED_MODEL, estimateSpeed, type SpeedEstimate, type SpeedModelOptions } from './speed.js';
import { MS_PER_MINUTE } from './time.js';
import { toIso } from '../fixes.js';

export type EtaModel = 'route' | 'great-circle' | 'baseline';

/** A stop of the plan with, optionally, its progress (a `StopProgress` fits; absent status = PENDING). */
export type EtaStop = StopPlan & { status?: StopStatus; arrivedAt?: string };

export interface EtaModelOptions extends SpeedModelOptions {
  /** Road distance ≈ great-circle distance × this, when there is no usable route. */
  detourFactor: number;
  /** Farther than this from the planned route, the route says little: fall back to great-circle. */
  maxRouteOffsetM: number;
}

export const DEFAULT_ETA_MODEL: EtaModelOptions = {
  ...DEFAULT_SPEED_MODEL,
  detourFactor: 1.3,
  maxRouteOffsetM: 5_000,
};

export interface EtaInput {
  /** Time of `position` (the latest fix's recordedAt): the prediction's clock, never wall time. */
  at: string;
  position: LatLon;
  /** The whole plan; stops with status ARRIVED or DEPARTED are behind the truck. */
  stops: readonly EtaStop[];
  route?: LineString;
  /** The last fixes (any number; only those within `recentWindowMin` before `at` are used). */
  recentFixes?: readonly Fix[];
  /** Historical moving speed of the lane or region, learned from delivered shipments. */
  historicalSpeedKmh?: number;
  breakRules?: BreakRuleSet;
  /** Driving minutes since the driver's last qualifying break (from the ELD when known). */
  drivingMinSinceBreak?: number;
  /**
   * Driving minutes since the driver's last daily rest, before the stand under way if any
   * (domain/eta/driving-time.ts drivingDay); never taken as less than `drivingMinSinceBreak`.
   */
  drivingMinToday?: number;
  /**
   * Minutes the truck has been standing still at `at`, any length (drivingDay). Longer than a
   * break, between stops (none ARRIVED), when the daily rest falls due before the next stop, the
   * stand is taken for that rest: it is finished (a regular rest after it began), not skipped.
   */
  standingMin?: number;
  options?: Partial<EtaModelOptions>;
  /** What the tenant's history teaches (domain/eta/history.ts); without it, the model as it always was. */
  history?: EtaHistoryHooks;
  /**
   * Minutes the truck has been standing away from any stop at `at`, when that looks like a
   * driver's break (domain/eta/driving-time.ts breakUnderWayMin): the rest of it is added and the
   * driving clock starts again. Given by the history-aware path only.
   */
  breakUnderWayMin?: number;
}

/** One leg to drive, as the history hook sees it. */
export interface LegDriving {
  /** The way ahead: the truck or the previous stop, the route between, the stop. */
  path: readonly LatLon[];
  /** The leg's length as the model measures it (path length may differ by the offsets from the route). */
  legM: number;
  /** When the truck sets off on the leg (ms). */
  startMs: number;
  /** Minutes driven before this leg since the prediction. */
  elapsedDrivingMin: number;
  /** Today's speed estimate, for the stretches history knows nothing about. */
  speed: SpeedEstimate;
}

/** Learned figures the model asks, when it has them; each answer left undefined keeps today's rule. */
export interface EtaHistoryHooks {
  /** Dwell at a stop's facility instead of its planned dwell. */
  dwellMin?(stop: EtaStop): number | undefined;
  /** Driving minutes of a leg, and how many of its metres went through places with learned speeds. */
  drivingMin?(leg: LegDriving): { minutes: number; learnedM: number } | undefined;
  /** How long the tenant's drivers' breaks really last, minutes (never below the rule's minimum). */
  breakMin?(): number | undefined;
}

/** How much of a prediction came from history. */
export interface EtaHistoryUse {
  /** Stops whose dwell came from their facility's history. */
  dwellStops: number;
  /** Share of the remaining distance driven at learned speeds, 0..1. */
  learnedDistanceShare: number;
}

export interface StopEta {
  sequence: number;
  eta: string;
  /** Cumulative from the truck's position to this stop. */
  remainingDistanceM: number;
  drivingMin: number;
  breakMin: number;
  /** What is left of a daily rest under way (EU 561/2006 Art. 8), 0 without one. */
  restMin: number;
  /** Planned dwell still to spend at earlier stops (including the one the truck is at). */
  dwellMin: number;
  /** Waiting for appointment windows to open at earlier stops. */
  waitMin: number;
}

export interface EtaPrediction {
  predictedAt: string;
  model: EtaModel;
  speedKmh: number;
  stops: StopEta[];
}

export interface EtaPredictionDetail extends EtaPrediction {
  speed: SpeedEstimate;
  /** Present when history hooks were given. */
  history?: EtaHistoryUse;
}

function sortedStops(stops: readonly EtaStop[]): EtaStop[] {
  return [...stops].sort((a, b) => a.sequence - b.sequence);
}

const isPending = (stop: EtaStop) => (stop.status ?? 'PENDING') === 'PENDING';

/**
 * Leg distances (metres) from the truck to the first remaining stop and between consecutive
 * remaining stops, along the route when the truck is on it, else great-circle × detour factor.
 */
function legDistances(
  input: EtaInput,
  ordered: readonly EtaStop[],
  remaining: readonly EtaStop[],
  options: EtaModelOptions,
): { model: 'route' | 'great-circle'; legsM: number[]; legPaths: LatLon[][] } {
  if (hasUsableRoute(input.route)) {
    const route = input.route;
    const projections = new Map<number, RoutePosition>();
    let previous: RoutePosition | undefined;
    for (const stop of ordered) {
      previous = projectOntoRoute(route, stop.location, previous);
      projections.set(stop.sequence, previous);
    }
    const first = remaining[0]!;
    const behind = ordered.filter((stop) => !isPending(stop) && stop.sequence < first.sequence).at(-1);
    const truck = projectOntoRoute(route, input.position, behind && projections.get(behind.sequence), projections.get(first.sequence));
    if (truck.offsetM <= options.maxRouteOffsetM) {
      const legsM: number[] = [];
      const legPaths: LatLon[][] = [];
      const index = input.history ? indexRoute(route) : undefined;
      let from = truck;
      let fromPoint: LatLon = input.position;
      for (const stop of remaining) {
        const to = projections.get(stop.sequence)!;
        legsM.push(from.offsetM + Math.max(0, to.alongM - from.alongM) + to.offsetM);
        if (index) {
          // The route's own vertices between the two projections, from where the truck is to the stop.
          const path: LatLon[] = [fromPoint, { lon: from.point[0], lat: from.point[1] }];
          for (let i = 0; i < index.alongM.length; i++) {
            if (index.alongM[i]! > from.alongM && index.alongM[i]! < to.alongM) path.push({ lon: route.coordinates[i]![0], lat: route.coordinates[i]![1] });
          }
          path.push({ lon: to.point[0], lat: to.point[1] }, stop.location);
          legPaths.push(path);
        }
        from = to;
        fromPoint = stop.location;
      }
      return { model: 'route', legsM, legPaths };
    }
  }
  const legsM: number[] = [];
  const legPaths: LatLon[][] = [];
  let from: LatLon = input.position;
  for (const stop of remaining) {
    legsM.push(distanceM(from, stop.location) * options.detourFactor);
    legPaths.push([from, stop.location]);
    from = stop.location;
  }
  return { model: 'great-circle', legsM, legPaths };
}

export function predictEta(input: EtaInput): EtaPredictionDetail {
  const options: EtaModelOptions = { ...DEFAULT_ETA_MODEL, ...input.options };
  const ruleSet = BREAK_RULES[input.breakRules ?? 'EU_561_2006'];
  const learnedBreakMin = ruleSet ? input.history?.breakMin?.() : undefined;
  // A learned break length replaces the legal minimum (drivers rarely stop for exactly 45 min).
  const rule = ruleSet && learnedBreakMin !== undefined ? { ...ruleSet, breakMin: Math.max(ruleSet.breakMin, learnedBreakMin) } : ruleSet;
  const speed = estimateSpeed(input, options);
  const ordered = sortedStops(input.stops);
  const remaining = ordered.filter(isPending);
  const atMs = Date.parse(input.at);
  const predictedAt = toIso(atMs);
  if (remaining.length === 0) return { predictedAt, model: hasUsableRoute(input.route) ? 'route' : 'great-circle', speedKmh: speed.speedKmh, speed, stops: [] };

  const { model, legsM, legPaths } = legDistances(input, ordered, remaining, options);
  const history = input.history;
  const use = { dwellStops: 0, learnedM: 0 };
  let clockMs = atMs;
  let drivingSinceBreak = input.drivingMinSinceBreak ?? 0;
  const total = { distanceM: 0, drivingMin: 0, breakMin: 0, restMin: 0, dwellMin: 0, waitMin: 0 };

  // Service at a stop starts when the truck is there and the window is open; the truck leaves
  // after the planned dwell. A wait at least as long as a break counts as that break.
  const serve = (stop: EtaStop, arrivedMs: number) => {
    const windowStartMs = stop.window ? Date.parse(stop.window.start) : Number.NEGATIVE_INFINITY;
    const learnedDwellMin = history?.dwellMin?.(stop);
    if (learnedDwellMin !== undefined) use.dwellStops += 1;
    const departureMs = Math.max(arrivedMs, windowStartMs) + (learnedDwellMin ?? stop.plannedDwellMin ?? 0) * MS_PER_MINUTE;
    if (departureMs <= clockMs) return;
    const waitMin = Math.max(0, Math.max(arrivedMs, windowStartMs) - clockMs) / MS_PER_MINUTE;
    const dwellMin = (departureMs - clockMs) / MS_PER_MINUTE - waitMin;
    if (rule && waitMin >= rule.breakMin) drivingSinceBreak = 0;
    total.waitMin += waitMin;
    total.dwellMin += dwellMin;
    clockMs = departureMs;
  };

  // A break already under way (the truck standing away from any stop) is finished, not started again.
  if (rule && input.breakUnderWayMin !== undefined && input.breakUnderWayMin > 0) {
    clockMs += Math.max(0, rule.breakMin - input.breakUnderWayMin) * MS_PER_MINUTE;
    total.breakMin += Math.max(0, rule.breakMin - input.breakUnderWayMin);
    drivingSinceBreak = 0;
  }

  // Driving minutes of a leg setting off at the clock, and the metres of it at learned speeds.
  const legDriving = (index: number) => {
    const legM = legsM[index]!;
    const learned = history?.drivingMin && legPaths[index] ? history.drivingMin({ path: legPaths[index], legM, startMs: clockMs, elapsedDrivingMin: total.drivingMin, speed }) : undefined;
    return { minutes: learned?.minutes ?? legM / 1000 / speed.speedKmh * 60, learnedM: learned?.learnedM ?? 0 };
  };

  const current = ordered.find((stop) => stop.status === 'ARRIVED' && stop.arrivedAt !== undefined);

  // A stand longer than a break between stops, when the day's driving before it leaves too little
  // to reach the next stop (driveWithRests): the stand is the daily rest the driver owes anyway,
  // and it ends a regular rest after it began. Otherwise the truck may leave now, as before. Rests
  // further ahead are not planned: hours ahead, the driving-time estimate is too uncertain to hang
  // 11 h on (a slow stretch extrapolated would add a rest the driver never needs).
  const standingMin = input.standingMin ?? 0;
  if (rule?.dailyRestMin !== undefined && ruleSet && !current && standingMin >= ruleSet.breakMin && standingMin < rule.dailyRestMin) {
    const clocks = { drivingSinceBreakMin: drivingSinceBreak, drivingTodayMin: Math.max(drivingSinceBreak, input.drivingMinToday ?? 0) };
    if (driveWithRests(legDriving(0).minutes, clocks, rule).rests > 0) {
      const restLeftMin = rule.dailyRestMin - standingMin;
      clockMs += restLeftMin * MS_PER_MINUTE;
      total.restMin += restLeftMin;
      drivingSinceBreak = 0;
    }
  }

  if (current) serve(current, Date.parse(current.arrivedAt!));

  const stops: StopEta[] = remaining.map((stop, index) => {
    const legM = legsM[index]!;
    const leg = legDriving(index);
    use.learnedM += leg.learnedM;
    const drivingMin = leg.minutes;
    const driven = driveWithBreaks(drivingMin, drivingSinceBreak, rule);
    drivingSinceBreak = driven.drivingSinceBreakMin;
    total.distanceM += legM;
    total.drivingMin += drivingMin;
    total.breakMin += driven.breakMin;
    clockMs += (drivingMin + driven.breakMin) * MS_PER_MINUTE;
    const eta: StopEta = {
      sequence: stop.sequence,
      eta: toIso(Math.round(clockMs / 1000) * 1000),
      remainingDistanceM: total.distanceM,
      drivingMin: total.drivingMin,
      breakMin: total.breakMin,
      restMin: total.restMin,
      dwellMin: total.dwellMin,
      waitMin: total.waitMin,
    };
    serve(stop, clockMs);
    return eta;
  });

  return {
    predictedAt,
    model,
    speedKmh: speed.speedKmh,
    speed,
    stops,
    ...(history ? { history: { dwellStops: use.dwellStops, learnedDistanceShare: total.distanceM > 0 ? Math.min(1, use.learnedM / total.distanceM) : 0 } } : {}),
  };
}

export interface BaselineEtaInput {
  at: string;
  position: LatLon;
  stops: readonly EtaStop[];
  /** Constant speed of the naive baseline. */
  speedKmh?: number;
}

export const BASELINE_SPEED_KMH = 60;

/**
 * The naive baseline the model is measured against: straight lines through the remaining
 * stops at a constant speed; no route, traffic, dwell, breaks or windows.
 */
export function predictEtaBaseline(input: BaselineEtaInput): EtaPrediction {
  const speedKmh = input.speedKmh ?? BASELINE_SPEED_KMH;
  const atMs = Date.parse(input.at);
  let from: LatLon = input.position;
  let distance = 0;
  const stops = sortedStops(input.stops)
    .filter(isPending)
    .map((stop) => {
      distance += distanceM(from, stop.location);
      from = stop.location;
      const drivingMin = distance / 1000 / speedKmh * 60;
      return {
        sequence: stop.sequence,
        eta: toIso(Math.round((atMs + drivingMin * MS_PER_MINUTE) / 1000) * 1000),
        remainingDistanceM: distance,
        drivingMin,
        breakMin: 0,
        restMin: 0,
        dwellMin: 0,
        waitMin: 0,
      };
    });
  return { predictedAt: toIso(atMs), model: 'baseline', speedKmh, stops };
}

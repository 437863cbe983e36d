// What a tenant's own delivered shipments teach the ETA: how long trucks really stay at each
// facility, and how fast they really drive through each place at each hour of the week. Pure:
// the refresh activity reads delivered shipments page by page and feeds them to a HistoryLearner,
// stores its figures, and the ETA activity turns stored figures into the model's hooks with
// buildEtaHistoryModel. Below the sample thresholds nothing is used and the ETA is today's model.
//
// Speeds are kept as sufficient statistics (moving minutes and km per place and hour of week), so
// the estimate of a sparse place-hour is shrunk towards what its place and the tenant's hour of
// week say (empirical Bayes with a prior worth `priorWeightMin` minutes of driving).
import { distanceM } from '../geo.js';
import type { Fix, LatLon } from '../types.js';
import type { EtaHistoryHooks, EtaStop, LegDriving } from './predict.js';
import { DEFAULT_SPEED_MODEL } from './speed.js';
import { MS_PER_MINUTE } from './time.js';

export interface EtaHistoryConfig {
  /** Fewer delivered shipments than this behind the figures: today's model, unchanged. */
  minShipments: number;
  /** Visits a facility needs before its dwell replaces the planned one. */
  minFacilityVisits: number;
  /** Moving minutes a place needs before its speeds are used (elsewhere the leg keeps today's speed). */
  minCellMovingMin: number;
  /** Size of a place (corridor cell), degrees of latitude and longitude. */
  cellDeg: number;
  /** Pseudo-minutes the prior (place mean × tenant hour-of-week factor) is worth against a place-hour's own data. */
  priorWeightMin: number;
  /** Driving time is summed over steps of at most this length along the leg. */
  stepM: number;
  /** How fast the truck's recent speed gives way to the learned speeds ahead (minutes, e-folding). */
  recentDecayMin: number;
  /** A passage slower than this share of its cell's median passage speed is an incident, not traffic: left out. */
  outlierFactor: number;
}

export const DEFAULT_ETA_HISTORY: EtaHistoryConfig = {
  minShipments: 20,
  minFacilityVisits: 5,
  minCellMovingMin: 30,
  cellDeg: 0.1,
  priorWeightMin: 60,
  stepM: 2_000,
  recentDecayMin: 30,
  outlierFactor: 0.25,
};

export const HOURS_PER_WEEK = 168;

const BREAK_AWAY_FROM_STOP_M = 2_000;
const BREAK_MIN_STAND_MIN = 30;
const BREAK_MAX_STAND_MIN = 180;

/** Hour of week in UTC: 0 is Monday 00:00–00:59 UTC, 167 Sunday 23:00–23:59. */
export function hourOfWeek(ms: number): number {
  const date = new Date(ms);
  return ((date.getUTCDay() + 6) % 7) * 24 + date.getUTCHours();
}

/** A facility is its name (trimmed, case-folded) at its location rounded to 0.01° (about 1 km). */
export function facilityKey(name: string, location: LatLon): string {
  return `${name.trim().toLowerCase()}@${location.lat.toFixed(2)},${location.lon.toFixed(2)}`;
}

/** The corridor cell holding a point: `<row>:<column>` of a grid of `cellDeg` degrees. */
export function cellKey(point: LatLon, cellDeg: number = DEFAULT_ETA_HISTORY.cellDeg): string {
  return `${Math.floor(point.lat / cellDeg)}:${Math.floor(point.lon / cellDeg)}`;
}

/** A delivered shipment as the learner reads it. */
export interface HistoryShipment {
  shipmentId: string;
  stops: { name: string; location: LatLon; plannedDwellMin?: number | null; arrivedAt?: string | null; departedAt?: string | null }[];
  /** Its stored fixes, any order. */
  fixes: readonly Pick<Fix, 'recordedAt' | 'lat' | 'lon' | 'speedKmh'>[];
}

export interface FacilityDwellFigure {
  facilityKey: string;
  name: string;
  lat: number;
  lon: number;
  /** Completed visits (arrived and departed). */
  visits: number;
  p50DwellMin: number;
  p90DwellMin: number;
  /** Median of (dwell − planned dwell) over the visits that had a planned dwell; null without any. */
  p50ExcessMin: number | null;
  excessSamples: number;
}

export interface CorridorSpeedFigure {
  cell: string;
  hourOfWeek: number;
  /** Moving driving behind the figure (outlier passages left out), and the distance driven in it. */
  movingMin: number;
  km: number;
  /** Trucks' passages through the cell that started in this hour. */
  passages: number;
}

/** Drivers' breaks: stands of 30 min to 3 h away from every stop, between two stretches of driving. */
export interface BreakFigure {
  samples: number;
  p50Min: number;
}

export interface EtaHistoryFigures {
  /** Delivered shipments learned from. */
  shipments: number;
  breaks: BreakFigure;
  facilities: FacilityDwellFigure[];
  corridors: CorridorSpeedFigure[];
}

/** Linear interpolation between closest ranks, as Postgres' percentile_cont. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = p * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low);
}

/**
 * Accumulates delivered shipments into figures. Moving driving is measured as in
 * domain/eta/speed.ts recentMovingSpeed (device speeds when both fixes have one, else distance
 * over time; pairs slower than 5 km/h, faster than 200 km/h or across a 15-min gap left out),
 * each pair counted in the cell of its midpoint and the hour of week of its start.
 */
export class HistoryLearner {
  private shipments = 0;
  private readonly dwell = new Map<string, { name: string; lat: number; lon: number; dwell: number[]; excess: number[] }>();
  /** Per cell, every passage of a truck through it: one sample each, so a two-hour queue is one outlier, not two hours of weight. */
  private readonly passages = new Map<string, { hour: number; movingMin: number; km: number }[]>();
  private readonly breaks: number[] = [];

  constructor(
    private readonly cellDeg: number = DEFAULT_ETA_HISTORY.cellDeg,
    private readonly outlierFactor: number = DEFAULT_ETA_HISTORY.outlierFactor,
  ) {}

  add(shipment: HistoryShipment): void {
    this.shipments += 1;
    for (const stop of shipment.stops) {
      if (!stop.arrivedAt || !stop.departedAt) continue;
      const dwellMin = (Date.parse(stop.departedAt) - Date.parse(stop.arrivedAt)) / MS_PER_MINUTE;
      if (!(dwellMin >= 0)) continue;
      const key = facilityKey(stop.name, stop.location);
      const entry = this.dwell.get(key) ?? { name: stop.name.trim(), lat: stop.location.lat, lon: stop.location.lon, dwell: [], excess: [] };
      entry.dwell.push(dwellMin);
      if (stop.plannedDwellMin !== undefined && stop.plannedDwellMin !== null) entry.excess.push(dwellMin - stop.plannedDwellMin);
      this.dwell.set(key, entry);
    }
    const options = DEFAULT_SPEED_MODEL;
    const fixes = shipment.fixes.map((fix) => ({ fix, ms: Date.parse(fix.recordedAt) })).sort((a, b) => a.ms - b.ms);
    let passage: { cell: string; hour: number; movingMin: number; km: number } | undefined;
    // A stand starts at the last moving fix before it and ends at the first moving fix after it.
    let standStartMs: number | undefined;
    let lastMovingMs: number | undefined;
    const awayFromStops = (point: LatLon) => shipment.stops.every((stop) => distanceM(point, stop.location) > BREAK_AWAY_FROM_STOP_M);
    const close = () => {
      if (passage && passage.movingMin > 0) {
        const list = this.passages.get(passage.cell) ?? [];
        list.push({ hour: passage.hour, movingMin: passage.movingMin, km: passage.km });
        this.passages.set(passage.cell, list);
      }
      passage = undefined;
    };
    for (let i = 1; i < fixes.length; i++) {
      const a = fixes[i - 1]!;
      const b = fixes[i]!;
      const minutes = (b.ms - a.ms) / MS_PER_MINUTE;
      if (minutes <= 0) continue;
      if (minutes > options.maxFixGapMin) {
        // A silence: nothing known about what the truck did, stand or drive.
        standStartMs = undefined;
        lastMovingMs = undefined;
        continue;
      }
      const reported = a.fix.speedKmh !== undefined && b.fix.speedKmh !== undefined ? (a.fix.speedKmh + b.fix.speedKmh) / 2 : undefined;
      const kmh = reported ?? distanceM(a.fix, b.fix) / 1000 / (minutes / 60);
      if (kmh < options.movingSpeedKmh) {
        if (standStartMs === undefined && lastMovingMs !== undefined && awayFromStops(a.fix)) standStartMs = lastMovingMs;
        continue;
      }
      if (standStartMs !== undefined) {
        const standMin = (a.ms - standStartMs) / MS_PER_MINUTE;
        if (standMin >= BREAK_MIN_STAND_MIN && standMin <= BREAK_MAX_STAND_MIN) this.breaks.push(standMin);
        standStartMs = undefined;
      }
      lastMovingMs = b.ms;
      if (kmh > options.maxPlausibleSpeedKmh) continue;
      const cell = cellKey({ lat: (a.fix.lat + b.fix.lat) / 2, lon: (a.fix.lon + b.fix.lon) / 2 }, this.cellDeg);
      if (passage?.cell !== cell) {
        close();
        passage = { cell, hour: hourOfWeek(a.ms), movingMin: 0, km: 0 };
      }
      passage.movingMin += minutes;
      passage.km += (kmh * minutes) / 60;
    }
    close();
  }

  figures(): EtaHistoryFigures {
    const facilities: FacilityDwellFigure[] = [...this.dwell].map(([key, e]) => ({
      facilityKey: key,
      name: e.name,
      lat: e.lat,
      lon: e.lon,
      visits: e.dwell.length,
      p50DwellMin: percentile(e.dwell, 0.5),
      p90DwellMin: percentile(e.dwell, 0.9),
      p50ExcessMin: e.excess.length > 0 ? percentile(e.excess, 0.5) : null,
      excessSamples: e.excess.length,
    }));
    // A robust mean per cell and hour: passages slower than `outlierFactor` × the cell's median
    // passage speed (a closure's queue, a breakdown) are left out, the rest summed.
    const corridors: CorridorSpeedFigure[] = [];
    for (const [cell, list] of this.passages) {
      const median = percentile(list.map((p) => p.km / (p.movingMin / 60)), 0.5);
      const perHour = new Map<number, CorridorSpeedFigure>();
      for (const p of list) {
        if (p.km / (p.movingMin / 60) < this.outlierFactor * median) continue;
        const entry = perHour.get(p.hour) ?? { cell, hourOfWeek: p.hour, movingMin: 0, km: 0, passages: 0 };
        entry.movingMin += p.movingMin;
        entry.km += p.km;
        entry.passages += 1;
        perHour.set(p.hour, entry);
      }
      corridors.push(...perHour.values());
    }
    facilities.sort((a, b) => a.facilityKey.localeCompare(b.facilityKey));
    corridors.sort((a, b) => a.cell.localeCompare(b.cell) || a.hourOfWeek - b.hourOfWeek);
    const breaks = { samples: this.breaks.length, p50Min: this.breaks.length > 0 ? percentile(this.breaks, 0.5) : 0 };
    return { shipments: this.shipments, breaks, facilities, corridors };
  }
}

export function learnEtaHistory(shipments: Iterable<HistoryShipment>, config: Partial<Pick<EtaHistoryConfig, 'cellDeg' | 'outlierFactor'>> = {}): EtaHistoryFigures {
  const learner = new HistoryLearner(config.cellDeg, config.outlierFactor);
  for (const shipment of shipments) learner.add(shipment);
  return learner.figures();
}

/** The learned figures ready to answer the model: what a prediction asks of history. */
export interface EtaHistoryModel {
  shipments: number;
  /** Typical dwell at the stop's facility, minutes; undefined when it has too few visits. */
  dwellMin(stop: Pick<EtaStop, 'name' | 'location' | 'plannedDwellMin'>): number | undefined;
  /** Expected moving speed at a point and time, km/h; undefined where the place has too little data. */
  speedKmh(point: LatLon, atMs: number): number | undefined;
  /** The drivers' typical break, minutes; undefined with too few seen. */
  breakMin: number | undefined;
  /** The hooks predictEta takes. */
  hooks: EtaHistoryHooks;
}

/** Builds the model from stored figures; undefined below the shipment threshold (today's model then). */
export function buildEtaHistoryModel(figures: EtaHistoryFigures, overrides: Partial<EtaHistoryConfig> = {}): EtaHistoryModel | undefined {
  const config: EtaHistoryConfig = { ...DEFAULT_ETA_HISTORY, ...overrides };
  if (figures.shipments < config.minShipments) return undefined;

  const facilities = new Map(figures.facilities.filter((f) => f.visits >= config.minFacilityVisits).map((f) => [f.facilityKey, f]));

  // Sufficient statistics per cell, per hour of week, per cell and hour.
  const perCell = new Map<string, { movingMin: number; km: number }>();
  const perCellHour = new Map<string, CorridorSpeedFigure>();
  let totalMin = 0;
  let totalKm = 0;
  for (const c of figures.corridors) {
    const cell = perCell.get(c.cell) ?? { movingMin: 0, km: 0 };
    cell.movingMin += c.movingMin;
    cell.km += c.km;
    perCell.set(c.cell, cell);
    perCellHour.set(`${c.cell}|${c.hourOfWeek}`, c);
    totalMin += c.movingMin;
    totalKm += c.km;
  }
  const overallKmh = totalMin > 0 ? totalKm / (totalMin / 60) : 0;
  const k = config.priorWeightMin;
  // speed(cell, hour) ≈ overall × placeFactor(cell) × hourFactor(hour), the two factors fitted
  // in turn (each from the other's current value: a place seen mostly at rush hour is not taken
  // for a slow place, an hour seen mostly in slow places not for a slow hour), the hour factor
  // shrunk towards 1 where an hour has little driving. Fitted on travel time: Σ km / factor ÷ Σ hours.
  const hourFactor: number[] = Array.from({ length: HOURS_PER_WEEK }, () => 1);
  const placeFactor = new Map<string, number>();
  const rows = figures.corridors.filter((c) => c.movingMin > 0 && HOURS_PER_WEEK > c.hourOfWeek && c.hourOfWeek >= 0);
  for (let round = 0; round < 3 && overallKmh > 0; round++) {
    const place = new Map<string, { scaledKm: number; hours: number }>();
    for (const c of rows) {
      const e = place.get(c.cell) ?? { scaledKm: 0, hours: 0 };
      e.scaledKm += c.km / (overallKmh * hourFactor[c.hourOfWeek]!);
      e.hours += c.movingMin / 60;
      place.set(c.cell, e);
    }
    for (const [cell, e] of place) placeFactor.set(cell, e.scaledKm / e.hours);
    const hour = Array.from({ length: HOURS_PER_WEEK }, () => ({ scaledKm: 0, minutes: 0 }));
    for (const c of rows) {
      hour[c.hourOfWeek]!.scaledKm += c.km / (overallKmh * placeFactor.get(c.cell)!);
      hour[c.hourOfWeek]!.minutes += c.movingMin;
    }
    hour.forEach((h, i) => {
      const raw = h.minutes > 0 ? h.scaledKm / (h.minutes / 60) : 1;
      hourFactor[i] = (h.minutes * raw + k) / (h.minutes + k);
    });
  }
  const cellKmh = new Map<string, number>();
  for (const [cell, s] of perCell) if (s.movingMin >= config.minCellMovingMin) cellKmh.set(cell, overallKmh * placeFactor.get(cell)!);
  const memo = new Map<string, number | undefined>();

  const speedKmh = (point: LatLon, atMs: number): number | undefined => {
    const cell = cellKey(point, config.cellDeg);
    const mean = cellKmh.get(cell);
    if (mean === undefined) return undefined;
    const hour = hourOfWeek(atMs);
    const key = `${cell}|${hour}`;
    if (memo.has(key)) return memo.get(key);
    // The place-hour's own driving (neighbouring hours at half weight) against the prior.
    let minutes = 0;
    let km = 0;
    for (const [offset, weight] of [[0, 1], [-1, 0.5], [1, 0.5]] as const) {
      const s = perCellHour.get(`${cell}|${(hour + offset + HOURS_PER_WEEK) % HOURS_PER_WEEK}`);
      if (!s) continue;
      minutes += weight * s.movingMin;
      km += weight * s.km;
    }
    const prior = mean * hourFactor[hour]!;
    // Time-weighted: the prior adds k minutes driven at its speed (travel time is what adds up).
    const value = minutes > 0 ? (km + (k / 60) * prior) / ((minutes + k) / 60) : prior;
    memo.set(key, value);
    return value;
  };

  const dwellMin = (stop: Pick<EtaStop, 'name' | 'location' | 'plannedDwellMin'>): number | undefined => {
    const figure = facilities.get(facilityKey(stop.name, stop.location));
    if (!figure) return undefined;
    if (stop.plannedDwellMin !== undefined && figure.p50ExcessMin !== null && figure.excessSamples >= config.minFacilityVisits) {
      return Math.max(0, stop.plannedDwellMin + figure.p50ExcessMin);
    }
    return Math.max(0, figure.p50DwellMin);
  };

  const drivingMin = (leg: LegDriving): { minutes: number; learnedM: number } => {
    const { path, legM, startMs, speed } = leg;
    let pathM = 0;
    for (let i = 1; i < path.length; i++) pathM += distanceM(path[i - 1]!, path[i]!);
    const scale = pathM > 0 ? legM / pathM : 0;
    let minutes = 0;
    let learnedM = 0;
    const recentKmh = speed.recentSpeedKmh;
    const elapsedBefore = leg.elapsedDrivingMin ?? 0;
    const step = (from: LatLon, to: LatLon, metres: number) => {
      const mid = { lat: (from.lat + to.lat) / 2, lon: (from.lon + to.lon) / 2 };
      const learned = speedKmh(mid, startMs + minutes * MS_PER_MINUTE);
      let kmh = learned ?? speed.speedKmh;
      if (learned !== undefined) {
        learnedM += metres;
        // The truck's own recent speed says most about the next minutes, then gives way.
        if (recentKmh !== undefined) {
          const weight = speed.recentWeight * Math.exp(-(elapsedBefore + minutes) / config.recentDecayMin);
          kmh = weight * recentKmh + (1 - weight) * learned;
        }
      }
      kmh = Math.max(DEFAULT_SPEED_MODEL.minSpeedKmh, Math.min(DEFAULT_SPEED_MODEL.maxSpeedKmh, kmh));
      minutes += (metres / 1000 / kmh) * 60;
    };
    if (scale === 0) {
      step(path[0] ?? { lat: 0, lon: 0 }, path.at(-1) ?? { lat: 0, lon: 0 }, legM);
      return { minutes, learnedM };
    }
    for (let i = 1; i < path.length; i++) {
      const a = path[i - 1]!;
      const b = path[i]!;
      const segmentM = distanceM(a, b);
      const parts = Math.max(1, Math.ceil(segmentM / config.stepM));
      for (let j = 0; j < parts; j++) {
        const from = { lat: a.lat + ((b.lat - a.lat) * j) / parts, lon: a.lon + ((b.lon - a.lon) * j) / parts };
        const to = { lat: a.lat + ((b.lat - a.lat) * (j + 1)) / parts, lon: a.lon + ((b.lon - a.lon) * (j + 1)) / parts };
        step(from, to, (segmentM / parts) * scale);
      }
    }
    return { minutes, learnedM };
  };

  const breakMin = figures.breaks.samples >= config.minFacilityVisits ? figures.breaks.p50Min : undefined;
  return { shipments: figures.shipments, dwellMin, speedKmh, breakMin, hooks: { dwellMin, drivingMin, breakMin: () => breakMin } };
}

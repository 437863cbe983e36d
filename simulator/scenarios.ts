// Scenarios: what goes right or wrong on a trip, and what the platform should make of it.
// planSimulation() turns a seed into a fleet, one shipment per truck, its trace and its
// expectations; nothing here talks to the API or reads the clock.
import type { AnomalyType, LineString, ShipmentStatus, ShipmentThresholds, StopPlan, StopType, TemperatureRange } from '../domain/types.js';
import { buildFleet, pickDeviceType, type Fleet } from './fleet.js';
import { distanceM } from './geo.js';
import { DEFAULT_MOTION, DEVICE_PROFILES, simulateTrip, type DeviceType, type MotionOptions, type Trace } from './motion.js';
import { facilityDwellOffsetMin, trafficFactor, type WorldPatterns } from './patterns.js';
import { PLACES, placeById, type Place } from './places.js';
import { Rng } from './random.js';
import { RoadNetwork, type Route } from './road-network.js';

export const SCENARIO_NAMES = [
  'on-time',
  'late',
  'long-dwell',
  'off-route',
  'signal-loss',
  'temperature-excursion',
  'cancellation',
  'drive-by',
  'out-of-order',
] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export function isScenarioName(name: string): name is ScenarioName {
  return (SCENARIO_NAMES as readonly string[]).includes(name);
}

/** The default mix: mostly uneventful trips, each kind of trouble now and then (drive-by and out-of-order only by name). */
const MIX: readonly (readonly [ScenarioName, number])[] = [
  ['on-time', 0.4],
  ['late', 0.1],
  ['long-dwell', 0.1],
  ['off-route', 0.1],
  ['signal-loss', 0.1],
  ['temperature-excursion', 0.1],
  ['cancellation', 0.1],
];

export interface StopSpec {
  type: StopType;
  place: Place;
  geofenceRadiusM: number;
  plannedDwellMin: number;
  /** How long the truck really stays. */
  dwellMin: number;
  /** Appointment window, ms from the trip start. */
  window: { startMs: number; endMs: number };
}

export interface ExpectedMilestone {
  type: 'ARRIVED' | 'DEPARTED';
  stopIndex: number;
  /** When the truck really arrived or left (ms from the trip start), and how far off the platform may be. */
  atMs?: number;
  toleranceMs?: number;
}

export interface Expectation {
  /** Milestones in order, by index into the stops. */
  milestones: ExpectedMilestone[];
  anomalies: AnomalyType[];
  /** Anomalies that must not open (a false alarm the scenario provokes). */
  forbiddenAnomalies?: AnomalyType[];
  finalStatus: ShipmentStatus;
}

export interface ShipmentSpec {
  key: string;
  scenario: ScenarioName;
  vehicleIndex: number;
  stops: StopSpec[];
  route: Route;
  thresholds: ShipmentThresholds;
  trace: Trace;
  /** Cancellation scenario: when dispatch cancels, ms from the trip start; nothing is sent after it. */
  cancelAtMs?: number;
  expect: Expectation;
  /** With world patterns: the trip's start on the absolute clock its traffic was simulated for. */
  tripStartMs?: number;
}

export interface SimulationPlan {
  seed: string;
  fleet: Fleet;
  shipments: ShipmentSpec[];
}

export interface PlanOptions {
  seed: string;
  vehicles: number;
  /** One scenario for every truck, or the default mix. */
  scenario?: ScenarioName | 'mix';
  /** Road length bounds of a trip, km. */
  minKm?: number;
  maxKm?: number;
  /** Overrides of the motion defaults (rates of slowdowns, tunnels, repeats...). */
  motion?: Partial<Omit<MotionOptions, 'device'>>;
  /** One kind of tracker for every truck (else a mix; the reefer scenario always gets a trailer tracker). */
  deviceType?: DeviceType;
  /** Facility dwell and traffic by place and hour of week (simulator/patterns.ts); off by default. */
  patterns?: WorldPatterns;
}

const REEFER: TemperatureRange = { minC: 2, maxC: 8 };

/** Thresholds each scenario is tuned against (dwell and gaps are longer than these in the trace). */
const BASE_THRESHOLDS: ShipmentThresholds = {
  signalLossMin: 45,
  longDwellMin: 120,
  offRouteCorridorM: 2_000,
  lateToleranceMin: 15,
};

const network = new RoadNetwork();

function pickScenario(rng: Rng): ScenarioName {
  let r = rng.next();
  for (const [name, weight] of MIX) {
    r -= weight;
    if (r < 0) return name;
  }
  return 'on-time';
}

/** Pickup at a hub (mostly) or a city, one or two drops, total road length within bounds. */
function pickStops(rng: Rng, minKm: number, maxKm: number): { ids: string[]; route: Route } {
  const hubs = PLACES.filter((p) => p.kind === 'distribution-centre');
  const cities = PLACES.filter((p) => p.kind === 'city');
  for (let attempt = 0; attempt < 500; attempt++) {
    const pickup = rng.chance(0.7) ? rng.pick(hubs) : rng.pick(cities);
    const ids = [pickup.id, rng.pick(cities).id];
    if (rng.chance(0.3)) ids.push(rng.pick(cities).id);
    if (new Set(ids).size !== ids.length) continue;
    const route = network.route(ids);
    const km = route.polyline.lengthM / 1000;
    const legsOk = route.stopOffsetsM.every((m, i) => i === 0 || m - route.stopOffsetsM[i - 1]! > 40_000);
    if (km >= minKm && km <= maxKm && legsOk && passesStopsOnlyOnce(route, ids)) return { ids, route };
  }
  throw new Error(`no trip between ${minKm} and ${maxKm} km in the embedded network`);
}

/**
 * The route comes near each stop only when it calls there: a leg that drives through a later
 * stop's town (or back through an earlier one) would give the platform an arrival out of order.
 */
function passesStopsOnlyOnce(route: Route, ids: readonly string[]): boolean {
  const stops = ids.map(placeById);
  for (let d = 0; d <= route.polyline.lengthM; d += 1_000) {
    const { point } = route.polyline.at(d);
    for (let k = 0; k < stops.length; k++) {
      if (distanceM(point, stops[k]!) < 5_000 && Math.abs(d - route.stopOffsetsM[k]!) > 15_000) return false;
    }
  }
  return true;
}

/**
 * Drive-by: a pickup, a drop, then a city the road to that drop runs through, so the truck drives
 * through the last stop's geofence hours before it calls there.
 */
function pickDriveByStops(rng: Rng, minKm: number, maxKm: number): { ids: string[]; route: Route } {
  const hubs = PLACES.filter((p) => p.kind === 'distribution-centre');
  const cities = PLACES.filter((p) => p.kind === 'city');
  for (let attempt = 0; attempt < 500; attempt++) {
    const pickup = rng.chance(0.7) ? rng.pick(hubs) : rng.pick(cities);
    const drop = rng.pick(cities);
    if (drop.id === pickup.id) continue;
    const onTheWay = network.route([pickup.id, drop.id]).placeIds.slice(1, -1).filter((id) => placeById(id).kind === 'city');
    if (onTheWay.length === 0) continue;
    const ids = [pickup.id, drop.id, rng.pick(onTheWay)];
    const route = network.route(ids);
    const km = route.polyline.lengthM / 1000;
    const legsOk = route.stopOffsetsM.every((m, i) => i === 0 || m - route.stopOffsetsM[i - 1]! > 40_000);
    if (km >= minKm && km <= maxKm && legsOk) return { ids, route };
  }
  throw new Error(`no drive-by trip between ${minKm} and ${maxKm} km in the embedded network`);
}

/** Where along the route the truck is at `ms`. */
function routeDistanceAt(trace: Trace, ms: number): number {
  const phase = trace.phases.find((p) => ms < p.endMs) ?? trace.phases[trace.phases.length - 1]!;
  const f = phase.endMs > phase.startMs ? Math.min(1, Math.max(0, (ms - phase.startMs) / (phase.endMs - phase.startMs))) : 0;
  return phase.fromM + (phase.toM - phase.fromM) * f;
}

/**
 * The trip's milestones at the times the truck really entered and left each stop's geofence
 * around its dwell (a break taken just inside the fence is part of the visit), give or take a
 * report interval and 5 min.
 */
function timedMilestones(trace: Trace, route: Route, stops: readonly StopSpec[], device: DeviceType): ExpectedMilestone[] {
  const profile = DEVICE_PROFILES[device];
  const toleranceMs = (Math.max(profile.movingIntervalSec, profile.stationaryIntervalSec) + 300) * 1000;
  const stepMs = 5_000;
  return trace.stopTimes.flatMap((t, stopIndex) => {
    const stop = stops[stopIndex]!;
    const inside = (ms: number) => distanceM(route.polyline.at(routeDistanceAt(trace, ms)).point, stop.place) <= stop.geofenceRadiusM;
    let enteredMs = t.arriveMs;
    while (enteredMs > 0 && inside(enteredMs - stepMs)) enteredMs -= stepMs;
    let leftMs = t.departMs;
    while (leftMs < trace.endMs && inside(leftMs + stepMs)) leftMs += stepMs;
    return [
      { type: 'ARRIVED' as const, stopIndex, atMs: enteredMs, toleranceMs },
      { type: 'DEPARTED' as const, stopIndex, atMs: leftMs, toleranceMs },
    ];
  });
}

/** Middle of the longest leg, as a share of the route: where scenario trouble happens, far from any stop. */
function midLongestLeg(route: Route): { fraction: number; legM: number } {
  let best = { fraction: 0.5, legM: 0 };
  for (let i = 1; i < route.stopOffsetsM.length; i++) {
    const from = route.stopOffsetsM[i - 1]!;
    const legM = route.stopOffsetsM[i]! - from;
    if (legM > best.legM) best = { fraction: (from + legM / 2) / route.polyline.lengthM, legM };
  }
  return best;
}

function deviceFor(scenario: ScenarioName, rng: Rng, fixed: DeviceType | undefined): DeviceType {
  // Temperature needs the reefer probe on the trailer tracker.
  if (scenario === 'temperature-excursion') return 'asset-tracker';
  // A trailer tracker's fix every 5 min (4 km at urban speed) would often miss the drive-by altogether.
  if (scenario === 'drive-by' && fixed === undefined) return rng.chance(0.5) ? 'eld' : 'phone-app';
  return fixed ?? pickDeviceType(rng);
}

function planShipment(
  key: string,
  vehicleIndex: number,
  scenario: ScenarioName,
  device: DeviceType,
  rng: Rng,
  options: Required<Pick<PlanOptions, 'minKm' | 'maxKm'>> & Pick<PlanOptions, 'motion' | 'patterns'>,
): ShipmentSpec {
  const patterns = options.patterns;
  const tripStartMs = patterns?.tripStartMs(vehicleIndex);
  const { ids, route } = (scenario === 'drive-by' ? pickDriveByStops : pickStops)(rng.fork('stops'), options.minKm, options.maxKm);
  const mid = midLongestLeg(route);
  const total = route.polyline.lengthM;
  const thresholds: ShipmentThresholds = { ...BASE_THRESHOLDS };
  const motion: MotionOptions = { ...DEFAULT_MOTION, ...options.motion, device: DEVICE_PROFILES[device] };
  if (patterns && tripStartMs !== undefined) motion.traffic = { startMs: tripStartMs, factor: (point, road, ms) => trafficFactor(patterns.world, point, road, ms) };
  if (DEVICE_PROFILES[device].reportsTemperature) {
    motion.temperature = { setpointC: 4 };
    thresholds.temperatureRange = REEFER;
    thresholds.temperatureExcursionMin = 20;
  }
  const stops: StopSpec[] = ids.map((id, i) => {
    const plannedDwellMin = i === 0 ? 45 : 30 + 15 * rng.int(0, 2);
    return {
      type: i === 0 ? 'pickup' : 'delivery',
      place: placeById(id),
      geofenceRadiusM: placeById(id).kind === 'distribution-centre' ? 500 : 800,
      plannedDwellMin,
      dwellMin: Math.max(10, plannedDwellMin + (patterns ? facilityDwellOffsetMin(patterns.world, placeById(id)) : 0) + rng.normal(0, 8)),
      window: { startMs: 0, endMs: 0 },
    };
  });

  switch (scenario) {
    case 'late':
      // A closure on the longest leg: the truck crawls in the queue for two and a half hours.
      motion.jam = { atFraction: mid.fraction, durationMin: 150 };
      break;
    case 'long-dwell':
      stops[0]!.dwellMin = stops[0]!.plannedDwellMin + thresholds.longDwellMin! + 60;
      break;
    case 'off-route':
      motion.detour = { atFraction: mid.fraction - 15_000 / total, lengthM: 30_000, offsetM: 6_000 };
      break;
    case 'signal-loss':
      motion.deadTracker = { atFraction: mid.fraction, durationMin: thresholds.signalLossMin! + 60 };
      break;
    case 'temperature-excursion':
      motion.temperature = { setpointC: 4, excursion: { atFraction: mid.fraction, durationMin: 90, peakC: 14 } };
      break;
    case 'drive-by':
      // Every upload in order: what is tested is the geofence, not the ingest.
      motion.outOfOrderRate = 0;
      break;
    case 'out-of-order':
      // A store-and-forward queue that holds 40 min of uploads, then flushes them in shuffled order.
      motion.outOfOrderRate = 0;
      motion.heldUploadsMin = 40;
      break;
    default:
      break;
  }

  const trace = simulateTrip(
    route,
    stops.map((s, i) => ({ atM: route.stopOffsetsM[i]!, dwellMin: s.dwellMin })),
    motion,
    rng.fork('trace'),
  );

  // Appointment windows around the real arrivals, except the late truck's final window,
  // which closed well before it gets there.
  stops.forEach((stop, i) => {
    const arriveMs = trace.stopTimes[i]!.arriveMs;
    stop.window = i === 0 ? { startMs: 0, endMs: arriveMs + 60 * 60_000 } : { startMs: arriveMs - 90 * 60_000, endMs: arriveMs + 90 * 60_000 };
  });
  if (scenario === 'late') {
    const last = stops[stops.length - 1]!;
    const arriveMs = trace.stopTimes[stops.length - 1]!.arriveMs;
    last.window = { startMs: arriveMs - 4 * 3600_000, endMs: arriveMs - 2 * 3600_000 };
  }

  const allMilestones = stops.flatMap((_, i) => [
    { type: 'ARRIVED' as const, stopIndex: i },
    { type: 'DEPARTED' as const, stopIndex: i },
  ]);
  const anomalyOf: Partial<Record<ScenarioName, AnomalyType>> = {
    late: 'LATE',
    'long-dwell': 'LONG_DWELL',
    'off-route': 'OFF_ROUTE',
    'signal-loss': 'SIGNAL_LOST',
    'temperature-excursion': 'TEMPERATURE_EXCURSION',
  };
  const spec: ShipmentSpec = {
    key,
    scenario,
    vehicleIndex,
    stops,
    route,
    thresholds,
    trace,
    expect: {
      milestones: allMilestones,
      anomalies: anomalyOf[scenario] ? [anomalyOf[scenario]] : [],
      finalStatus: 'DELIVERED',
    },
    ...(tripStartMs !== undefined ? { tripStartMs } : {}),
  };
  if (scenario === 'drive-by' || scenario === 'out-of-order') {
    spec.expect = { milestones: timedMilestones(trace, route, stops, device), anomalies: [], forbiddenAnomalies: ['OUT_OF_SEQUENCE'], finalStatus: 'DELIVERED' };
  }
  if (scenario === 'cancellation') {
    // Dispatch cancels once the truck has left the pickup and driven a third of the way.
    const cancelPhase = trace.phases.find((p) => p.kind === 'drive' && p.toM >= total / 3)!;
    spec.cancelAtMs = cancelPhase.endMs;
    spec.expect = { milestones: allMilestones.slice(0, 2), anomalies: [], finalStatus: 'CANCELLED' };
  }
  return spec;
}

/** Seed → fleet, shipments, traces and expectations. Same options, same plan (deep-equal). */
export function planSimulation(options: PlanOptions): SimulationPlan {
  const root = new Rng(options.seed);
  const size = Math.max(1, Math.floor(options.vehicles));
  const bounds = { minKm: options.minKm ?? 120, maxKm: options.maxKm ?? 450, motion: options.motion, patterns: options.patterns };
  const scenarios: ScenarioName[] = [];
  const devices: DeviceType[] = [];
  for (let i = 0; i < size; i++) {
    const rng = root.fork(`assignment-${i}`);
    const scenario = !options.scenario || options.scenario === 'mix' ? pickScenario(rng) : options.scenario;
    scenarios.push(scenario);
    devices.push(deviceFor(scenario, rng, options.deviceType));
  }
  const fleet = buildFleet(root.fork('fleet'), size, devices);
  const shipments = scenarios.map((scenario, i) => planShipment(`shipment-${i + 1}`, i, scenario, devices[i]!, root.fork(`shipment-${i}`), bounds));
  return { seed: options.seed, fleet, shipments };
}

/** The planned route as GeoJSON, thinned to at most ~500 vertices. */
export function plannedRoute(route: Route): LineString {
  const points = route.polyline.points;
  const step = Math.max(1, Math.ceil(points.length / 500));
  const coordinates: [number, number][] = [];
  for (let i = 0; i < points.length; i += step) coordinates.push([points[i]!.lon, points[i]!.lat]);
  const last = points[points.length - 1]!;
  if (coordinates[coordinates.length - 1]![0] !== last.lon || coordinates[coordinates.length - 1]![1] !== last.lat) coordinates.push([last.lon, last.lat]);
  return { type: 'LineString', coordinates };
}

/** The shipment's stops as the API's create stores them (numbered from 1), windows anchored at the trip's start. */
export function stopPlansOf(spec: ShipmentSpec, tripStartMs: number): StopPlan[] {
  const iso = (ms: number) => new Date(tripStartMs + ms).toISOString();
  return spec.stops.map((s, i) => ({
    sequence: i + 1,
    type: s.type,
    name: s.place.name,
    location: { lat: s.place.lat, lon: s.place.lon },
    geofenceRadiusM: s.geofenceRadiusM,
    window: { start: iso(s.window.startMs), end: iso(s.window.endMs) },
    plannedDwellMin: s.plannedDwellMin,
  }));
}

/** Body of POST /v1/shipments, with times anchored at the trip's start on the simulated clock. */
export function createShipmentBody(
  spec: ShipmentSpec,
  options: { reference: string; tripStartMs: number; assignment?: { carrierId?: string; vehicleId?: string; driverId?: string; deviceId?: string }; thresholdFields?: ReadonlySet<string> },
): Record<string, unknown> {
  const thresholds = Object.fromEntries(
    Object.entries(spec.thresholds).filter(([name]) => !options.thresholdFields || options.thresholdFields.has(name)),
  );
  return {
    reference: options.reference,
    stops: stopPlansOf(spec, options.tripStartMs).map(({ sequence: _sequence, ...stop }) => stop),
    route: plannedRoute(spec.route),
    ...Object.fromEntries(Object.entries(options.assignment ?? {}).filter(([, v]) => v !== undefined)),
    thresholds,
  };
}

// Turns a trip (route + stops) into what a real tracker would produce: a timed plan of driving,
// breaks and dwells, the fixes the device records (noise, report intervals, gaps) and the
// deliveries it makes to the API (store-and-forward batches, repeats, late batches).
// All times are milliseconds from the trip's start, so one trace can be anchored anywhere on
// the clock (see clock.ts); nothing here reads the wall clock.
import type { Fix, LatLon } from '../domain/types.js';
import { offsetM } from './geo.js';
import type { Rng } from './random.js';
import type { Route, RouteSection } from './road-network.js';

export type DeviceType = 'eld' | 'asset-tracker' | 'phone-app';

export interface DeviceProfile {
  type: DeviceType;
  /** Seconds between fixes while moving and while stationary (trackers save battery when parked). */
  movingIntervalSec: number;
  stationaryIntervalSec: number;
  /** Store-and-forward: how often buffered fixes are uploaded (0 = each fix at once). */
  uploadEverySec: number;
  /** Range of the 1-sigma horizontal error the receiver achieves, metres. */
  accuracyM: readonly [number, number];
  /** Reefer probe on board: fixes carry temperatureC. */
  reportsTemperature: boolean;
}

export const DEVICE_PROFILES: Readonly<Record<DeviceType, DeviceProfile>> = {
  // Hard-wired telematics unit with a roof antenna: frequent, accurate, uploads every minute.
  eld: { type: 'eld', movingIntervalSec: 30, stationaryIntervalSec: 120, uploadEverySec: 60, accuracyM: [3, 8], reportsTemperature: false },
  // Battery trailer tracker with a reefer probe: a fix every 5 min, uploads every 15 min.
  'asset-tracker': {
    type: 'asset-tracker',
    movingIntervalSec: 300,
    stationaryIntervalSec: 300,
    uploadEverySec: 900,
    accuracyM: [5, 15],
    reportsTemperature: true,
  },
  // Driver's phone app: a fix a minute in the cab, worse antenna, uploads every two minutes.
  'phone-app': { type: 'phone-app', movingIntervalSec: 60, stationaryIntervalSec: 300, uploadEverySec: 120, accuracyM: [8, 25], reportsTemperature: false },
};

/** EU Regulation 561/2006: a 45-min break after 4.5 h of driving; an 11-h rest after 9 h a day. */
export const DRIVING_RULES = {
  maxDrivingBeforeBreakMs: 4.5 * 3600_000,
  breakMs: 45 * 60_000,
  maxDailyDrivingMs: 9 * 3600_000,
  dailyRestMs: 11 * 3600_000,
} as const;

/** Trucks in the EU are limited to 90 km/h by their speed limiter. */
export const SPEED_LIMITS_KMH: Readonly<Record<'highway' | 'urban' | 'detour' | 'slowdown' | 'jam', readonly [number, number]>> = {
  highway: [72, 89],
  urban: [22, 50],
  detour: [45, 70],
  slowdown: [8, 45],
  jam: [3, 9],
};

const between = (rng: Rng, [min, max]: readonly [number, number]) => rng.between(min, max);

export interface TripStop {
  /** Distance along the route where the stop is, metres. */
  atM: number;
  dwellMin: number;
}

export interface MotionOptions {
  device: DeviceProfile;
  /** Slowdowns (road works, congestion) per 100 km of motorway. */
  slowdownsPer100Km: number;
  /** Long tunnels (no GPS) per 100 km of motorway. */
  tunnelsPer100Km: number;
  /** Mobile-coverage holes per hour of driving: fixes are kept and uploaded as one backlog. */
  coverageGapsPerHour: number;
  /** Share of uploads the device repeats (it never saw the acknowledgement). */
  duplicateRate: number;
  /** Share of uploads delayed past the next one (a retry queue overtaken by live data). */
  outOfOrderRate: number;
  /** Scenario: the tracker is dead for a while (no fixes at all), from this share of the driving. */
  deadTracker?: { atFraction: number; durationMin: number };
  /** Scenario: the truck leaves the planned route sideways for a stretch. */
  detour?: { atFraction: number; lengthM: number; offsetM: number };
  /** Scenario: a closure; the truck crawls in a queue for this long. */
  jam?: { atFraction: number; durationMin: number };
  /** Reefer set point and, for the excursion scenario, a warm spell. */
  temperature?: { setpointC: number; excursion?: { atFraction: number; durationMin: number; peakC: number } };
  /** Distance driven back along the route after the last stop so the device sees the departure. */
  departureTailM: number;
  /** Scenario: a store-and-forward queue holds this long of uploads, then sends them in shuffled order. */
  heldUploadsMin?: number;
  /**
   * Traffic by place and time (simulator/patterns.ts): the speed drawn for each stretch is
   * multiplied by `factor` at its start; `startMs` anchors the trip on the absolute clock.
   */
  traffic?: { startMs: number; factor: (point: LatLon, road: 'urban' | 'highway', ms: number) => number };
}

export const DEFAULT_MOTION: Omit<MotionOptions, 'device'> = {
  slowdownsPer100Km: 0.6,
  tunnelsPer100Km: 0.1,
  coverageGapsPerHour: 0.15,
  duplicateRate: 0.03,
  outOfOrderRate: 0.03,
  departureTailM: 8_000,
};

export type PhaseKind = 'drive' | 'break' | 'rest' | 'dwell';

export interface Phase {
  kind: PhaseKind;
  startMs: number;
  endMs: number;
  /** Distance along the route at the start and end (equal when standing). */
  fromM: number;
  toM: number;
  speedKmh: number;
  /** What the road is like (drive phases) or which stop (dwell phases). */
  road?: RouteSection['kind'] | 'detour' | 'slowdown' | 'jam';
  stopIndex?: number;
}

export type GapKind = 'tunnel' | 'dead-tracker' | 'coverage';

export interface Gap {
  kind: GapKind;
  startMs: number;
  endMs: number;
}

/** A recorded fix, `tMs` after the trip start. */
export interface TimedFix extends Omit<Fix, 'recordedAt'> {
  tMs: number;
}

export type DeliveryKind = 'live' | 'backlog' | 'repeat' | 'late';

export interface Delivery {
  sendAtMs: number;
  kind: DeliveryKind;
  fixes: TimedFix[];
}

export interface Trace {
  phases: Phase[];
  gaps: Gap[];
  /** Every fix the device recorded, in recording order. */
  fixes: TimedFix[];
  /** What reaches the API, ordered by send time (repeats and late batches included). */
  deliveries: Delivery[];
  /** Arrival and departure time at each stop. */
  stopTimes: { arriveMs: number; departMs: number }[];
  endMs: number;
}

const MAX_FIXES_PER_REQUEST = 1000;

/** The driving plan: chunks of road at a speed drawn from its profile, with the EU driving-time rules. */
function planPhases(route: Route, stops: readonly TripStop[], options: MotionOptions, rng: Rng): Phase[] {
  const phases: Phase[] = [];
  const total = route.polyline.lengthM;
  const detour = options.detour && {
    from: options.detour.atFraction * total,
    to: options.detour.atFraction * total + options.detour.lengthM,
  };
  let jamAtM = options.jam ? options.jam.atFraction * total : Infinity;
  let t = 0;
  let d = 0;
  let sinceBreakMs = 0;
  let todayMs = 0;
  let sectionIndex = 0;

  const stand = (kind: PhaseKind, durationMs: number, extra: Partial<Phase> = {}) => {
    phases.push({ kind, startMs: t, endMs: t + durationMs, fromM: d, toM: d, speedKmh: 0, ...extra });
    t += durationMs;
  };
  const drive = (toM: number, speedKmh: number, road: Phase['road']) => {
    let remaining = toM - d;
    while (remaining > 0.5) {
      const speedMs = speedKmh / 3600; // metres per millisecond
      const untilBreak = Math.min(DRIVING_RULES.maxDrivingBeforeBreakMs - sinceBreakMs, DRIVING_RULES.maxDailyDrivingMs - todayMs);
      const length = Math.min(remaining, untilBreak * speedMs);
      const duration = length / speedMs;
      if (length > 0.5) {
        phases.push({ kind: 'drive', startMs: t, endMs: t + duration, fromM: d, toM: d + length, speedKmh, road });
        t += duration;
        d += length;
        remaining -= length;
        sinceBreakMs += duration;
        todayMs += duration;
      }
      // A limit counts as reached once less than half a metre of driving is left before it: a
      // smaller remainder would give no phase, and the loop would never move on.
      if ((DRIVING_RULES.maxDailyDrivingMs - todayMs) * speedMs <= 0.5) {
        stand('rest', DRIVING_RULES.dailyRestMs + rng.between(0, 30) * 60_000);
        sinceBreakMs = 0;
        todayMs = 0;
      } else if ((DRIVING_RULES.maxDrivingBeforeBreakMs - sinceBreakMs) * speedMs <= 0.5) {
        stand('break', DRIVING_RULES.breakMs + rng.between(0, 15) * 60_000);
        sinceBreakMs = 0;
      }
    }
  };

  for (let i = 0; i < stops.length; i++) {
    const stop = stops[i]!;
    while (d < stop.atM - 0.5) {
      while (route.sections[sectionIndex]!.toM <= d + 0.5 && sectionIndex < route.sections.length - 1) sectionIndex++;
      const section = route.sections[sectionIndex]!;
      let end = Math.min(stop.atM, section.toM, d + (section.kind === 'urban' ? 2_000 : 5_000));
      let road: Phase['road'] = section.kind;
      let speed = between(rng, SPEED_LIMITS_KMH[section.kind]);
      if (detour && d < detour.to && end > detour.from) {
        // On the detour the truck is on country roads: slower, whatever the planned road was.
        if (d < detour.from) end = detour.from;
        else {
          end = Math.min(end, detour.to);
          road = 'detour';
          speed = between(rng, SPEED_LIMITS_KMH.detour);
        }
      } else if (d >= jamAtM) {
        const crawl = between(rng, SPEED_LIMITS_KMH.jam);
        end = Math.min(stop.atM, d + (crawl / 60) * options.jam!.durationMin * 1000);
        road = 'jam';
        speed = crawl;
        jamAtM = Infinity;
      } else if (d < jamAtM && end > jamAtM) {
        end = jamAtM;
      } else if (section.kind === 'highway' && rng.chance((options.slowdownsPer100Km * (end - d)) / 100_000)) {
        road = 'slowdown';
        speed = between(rng, SPEED_LIMITS_KMH.slowdown);
      }
      if (options.traffic && road !== 'jam') {
        speed *= options.traffic.factor(route.polyline.at(d).point, section.kind, options.traffic.startMs + t);
      }
      drive(end, speed, road);
    }
    stand('dwell', stop.dwellMin * 60_000, { stopIndex: i });
  }
  // Leave the last stop the way the truck came, so the device reports the departure.
  const tailSpeed = between(rng, SPEED_LIMITS_KMH.urban);
  const tailTo = Math.max(0, d - options.departureTailM);
  const tailMs = ((d - tailTo) / tailSpeed) * 3600;
  phases.push({ kind: 'drive', startMs: t, endMs: t + tailMs, fromM: d, toM: tailTo, speedKmh: tailSpeed, road: 'urban' });
  return phases;
}

function timeAtDistance(phases: readonly Phase[], metres: number): number {
  for (const p of phases) {
    if (p.kind === 'drive' && p.toM > p.fromM && metres >= p.fromM && metres <= p.toM) {
      return p.startMs + ((metres - p.fromM) / (p.toM - p.fromM)) * (p.endMs - p.startMs);
    }
  }
  return phases[phases.length - 1]!.endMs;
}

/** Where the device can record nothing (tunnels, a dead tracker) or upload nothing (coverage). */
function planGaps(route: Route, phases: readonly Phase[], options: MotionOptions, rng: Rng): Gap[] {
  const gaps: Gap[] = [];
  const total = route.polyline.lengthM;
  for (const p of phases) {
    if (p.kind !== 'drive' || p.road !== 'highway') continue;
    const length = p.toM - p.fromM;
    if (rng.chance((options.tunnelsPer100Km * length) / 100_000)) {
      // A mountain tunnel: 2–12 km underground without any satellite.
      const tunnelM = Math.min(length, rng.between(2_000, 12_000));
      const at = p.fromM + rng.between(0, length - tunnelM);
      gaps.push({ kind: 'tunnel', startMs: timeAtDistance(phases, at), endMs: timeAtDistance(phases, at + tunnelM) });
    }
    const hours = (p.endMs - p.startMs) / 3600_000;
    if (rng.chance(options.coverageGapsPerHour * hours)) {
      const startMs = rng.between(p.startMs, p.endMs);
      gaps.push({ kind: 'coverage', startMs, endMs: startMs + rng.between(5, 40) * 60_000 });
    }
  }
  if (options.deadTracker) {
    const startMs = timeAtDistance(phases, options.deadTracker.atFraction * total);
    gaps.push({ kind: 'dead-tracker', startMs, endMs: startMs + options.deadTracker.durationMin * 60_000 });
  }
  return gaps.sort((a, b) => a.startMs - b.startMs);
}

function inGap(gaps: readonly Gap[], kinds: readonly GapKind[], tMs: number): Gap | undefined {
  return gaps.find((g) => kinds.includes(g.kind) && tMs >= g.startMs && tMs < g.endMs);
}

function temperatureAt(options: MotionOptions, tMs: number, excursion: { startMs: number; endMs: number } | undefined, rng: Rng): number {
  const setpoint = options.temperature?.setpointC ?? 4;
  let value = setpoint + rng.normal(0, 0.3);
  if (excursion && options.temperature?.excursion && tMs >= excursion.startMs && tMs < excursion.endMs) {
    // A failing reefer unit: the load warms towards the peak, then recovers once it restarts.
    const f = (tMs - excursion.startMs) / (excursion.endMs - excursion.startMs);
    value += (options.temperature.excursion.peakC - setpoint) * Math.min(1, Math.sin(Math.PI * f) * 1.5);
  }
  return Math.round(value * 10) / 10;
}

/** Sample the plan at the device's report interval, with noise, gaps and sensor readings. */
function recordFixes(route: Route, phases: readonly Phase[], gaps: readonly Gap[], options: MotionOptions, rng: Rng): TimedFix[] {
  const fixes: TimedFix[] = [];
  const { device } = options;
  const total = route.polyline.lengthM;
  const endMs = phases[phases.length - 1]!.endMs;
  const detour = options.detour && { from: options.detour.atFraction * total, length: options.detour.lengthM };
  const excursion = options.temperature?.excursion && {
    startMs: timeAtDistance(phases, options.temperature.excursion.atFraction * total),
    endMs: timeAtDistance(phases, options.temperature.excursion.atFraction * total) + options.temperature.excursion.durationMin * 60_000,
  };
  let phaseIndex = 0;
  let t = rng.between(0, 5_000);
  while (t <= endMs) {
    while (phases[phaseIndex]!.endMs < t && phaseIndex < phases.length - 1) phaseIndex++;
    const phase = phases[phaseIndex]!;
    const moving = phase.kind === 'drive';
    if (!inGap(gaps, ['tunnel', 'dead-tracker'], t)) {
      const span = phase.endMs - phase.startMs;
      const f = span > 0 ? Math.min(1, Math.max(0, (t - phase.startMs) / span)) : 0;
      const d = phase.fromM + (phase.toM - phase.fromM) * f;
      const onRoute = route.polyline.at(d);
      let point = onRoute.point;
      if (detour && d > detour.from && d < detour.from + detour.length) {
        const x = (d - detour.from) / detour.length;
        point = offsetM(point, (onRoute.headingDeg + 90) % 360, options.detour!.offsetM * Math.sin(Math.PI * x) ** 0.5);
      }
      const sigma = between(rng, device.accuracyM);
      // Rare multipath off buildings and trailers: an extra error of tens of metres.
      const multipath = rng.chance(0.01) ? rng.between(20, 60) : 0;
      const noisy = offsetM(point, rng.between(0, 360), Math.abs(rng.normal(0, sigma)) + multipath);
      const heading = phase.toM >= phase.fromM ? onRoute.headingDeg : (onRoute.headingDeg + 180) % 360;
      const fix: TimedFix = {
        tMs: Math.round(t),
        lat: Math.round(noisy.lat * 1e6) / 1e6,
        lon: Math.round(noisy.lon * 1e6) / 1e6,
        speedKmh: moving ? Math.max(0, Math.round((phase.speedKmh + rng.normal(0, 1.5)) * 10) / 10) : 0,
        accuracyM: Math.round(sigma),
      };
      if (moving) fix.headingDeg = Math.round(heading) % 360;
      if (device.reportsTemperature) fix.temperatureC = temperatureAt(options, t, excursion, rng);
      fixes.push(fix);
    }
    const interval = (moving ? device.movingIntervalSec : device.stationaryIntervalSec) * 1000;
    t += interval + rng.between(-1_500, 1_500);
  }
  return fixes;
}

function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Store-and-forward: buffer fixes, upload on the device's period, hold everything in coverage holes. */
function planDeliveries(fixes: readonly TimedFix[], gaps: readonly Gap[], options: MotionOptions, rng: Rng): Delivery[] {
  const uploads: Delivery[] = [];
  const periodMs = options.device.uploadEverySec * 1000;
  let buffer: TimedFix[] = [];
  let lastUploadMs = fixes[0]?.tMs ?? 0;
  let heldByCoverage = false;
  const flush = (atMs: number, kind: DeliveryKind) => {
    for (const part of chunk(buffer, MAX_FIXES_PER_REQUEST)) uploads.push({ sendAtMs: atMs + rng.between(300, 3_000), kind, fixes: part });
    buffer = [];
    lastUploadMs = atMs;
  };
  for (const fix of fixes) {
    buffer.push(fix);
    const hole = inGap(gaps, ['coverage'], fix.tMs);
    if (hole) {
      heldByCoverage = true;
      continue;
    }
    if (heldByCoverage) flush(fix.tMs, 'backlog');
    else if (fix.tMs - lastUploadMs >= periodMs) flush(fix.tMs, 'live');
    heldByCoverage = false;
  }
  if (buffer.length > 0) flush(fixes[fixes.length - 1]!.tMs, heldByCoverage ? 'backlog' : 'live');

  const deliveries: Delivery[] = [];
  for (let i = 0; i < uploads.length; i++) {
    const upload = uploads[i]!;
    const next = uploads[i + 1];
    if (next && rng.chance(options.outOfOrderRate)) {
      // This batch sat in a retry queue and reaches the API after the next one.
      deliveries.push({ ...upload, kind: 'late', sendAtMs: next.sendAtMs + rng.between(1_000, 20_000) });
    } else {
      deliveries.push(upload);
    }
    if (rng.chance(options.duplicateRate)) {
      deliveries.push({ sendAtMs: upload.sendAtMs + rng.between(5_000, 60_000), kind: 'repeat', fixes: upload.fixes });
    }
  }
  deliveries.sort((a, b) => a.sendAtMs - b.sendAtMs);
  return options.heldUploadsMin ? holdAndShuffle(deliveries, options.heldUploadsMin * 60_000, rng) : deliveries;
}

/** Uploads held until the end of their window, then sent one after another in a random order. */
function holdAndShuffle(deliveries: readonly Delivery[], windowMs: number, rng: Rng): Delivery[] {
  const windows = new Map<number, Delivery[]>();
  for (const delivery of deliveries) {
    const end = (Math.floor(delivery.sendAtMs / windowMs) + 1) * windowMs;
    windows.set(end, [...(windows.get(end) ?? []), delivery]);
  }
  return [...windows].flatMap(([end, held]) => {
    const order = [...held];
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.int(0, i);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    return order.map((delivery, i) => ({ ...delivery, kind: 'late' as const, sendAtMs: end + i * 1_000 }));
  });
}

/** The whole trip: plan, record, deliver. Deterministic for a given route, options and random stream. */
export function simulateTrip(route: Route, stops: readonly TripStop[], options: MotionOptions, rng: Rng): Trace {
  const phases = planPhases(route, stops, options, rng.fork('phases'));
  const gaps = planGaps(route, phases, options, rng.fork('gaps'));
  const fixes = recordFixes(route, phases, gaps, options, rng.fork('fixes'));
  const deliveries = planDeliveries(fixes, gaps, options, rng.fork('deliveries'));
  const stopTimes = phases.filter((p) => p.kind === 'dwell').map((p) => ({ arriveMs: p.startMs, departMs: p.endMs }));
  const endMs = Math.max(phases[phases.length - 1]!.endMs, ...deliveries.map((d) => d.sendAtMs));
  return { phases, gaps, fixes, deliveries, stopTimes, endMs };
}

/** The trace's fix as the API expects it, anchored at an absolute trip start. */
export function toFix(fix: TimedFix, tripStartMs: number): Fix {
  const { tMs, ...rest } = fix;
  return { recordedAt: new Date(tripStartMs + tMs).toISOString(), ...rest };
}


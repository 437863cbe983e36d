// A simulated urban trip built from a plan: legs of driving and standing, a tracker that samples
// the true path with seeded GPS noise (gaps, wild fixes), and the milestones written down from
// the plan's own geometry — when the vehicle really entered and left each stop — never by
// running the platform's rules. Tolerances say how precisely the fixes could tell.
import { DEFAULT_GEOFENCE_CONFIG, exitRadiusM } from '../../../domain/geofence.js';
import type { Fix, LatLon, MilestoneType, StopPlan } from '../../../domain/types.js';
import { distanceM, offsetM, Polyline } from '../../../simulator/geo.js';
import { Rng } from '../../../simulator/random.js';

export interface Tracker {
  intervalSec: number;
  /** Many trackers report less often while parked. */
  standingIntervalSec?: number;
  /** 1-sigma horizontal error, metres. */
  noiseM: number;
}

interface LegOptions {
  /** The tracker records nothing during this leg (tunnel, dead battery, unplugged). */
  trackerOff?: boolean;
  /** One extra fix, `afterMin` into the leg, `offsetM` away from the true position (multipath). */
  wildFix?: { afterMin: number; offsetM: number; bearingDeg: number };
}

export type Leg =
  | (LegOptions & { kind: 'drive'; via: LatLon[]; speedKmh: number })
  /** `visit`: the stop this stand is the pickup or delivery at; without it, a red light, a jam, a revisit. */
  | (LegOptions & { kind: 'stand'; minutes: number; visit?: number });

export interface TripPlan {
  name: string;
  /** What the case is about, in a sentence. */
  about: string;
  seed: string;
  start: string;
  origin: LatLon;
  stops: StopPlan[];
  tracker: Tracker;
  legs: Leg[];
  /** Proof of delivery this long after the trace ends: the only evidence when the trace stops right after leaving. */
  proofOfDeliveryAfterMin?: number;
}

export interface ExpectedMilestone {
  type: MilestoneType;
  stopSequence: number;
  at: string;
  toleranceSec: number;
}

export interface ExpectedPass {
  stopSequence: number;
  enteredAt: string;
  exitedAt: string;
  enteredToleranceSec: number;
  exitedToleranceSec: number;
}

export interface GeofenceCase {
  name: string;
  about: string;
  stops: StopPlan[];
  /** Time-ordered, one per timestamp. */
  fixes: Fix[];
  proofOfDeliveryAt?: string;
  expected: { milestones: ExpectedMilestone[]; passes: ExpectedPass[] };
}

/** Excursions this far outside a fence are a winding access road along its edge, not a departure. */
const EDGE_WIGGLE_M = 40;
/** A silence longer than this around a departure: the platform can only know the last fix inside. */
const TRACKER_GAP_MIN = DEFAULT_GEOFENCE_CONFIG.trackerGapMin!;
const SLACK_SEC = 5;

interface Segment {
  leg: Leg;
  startMs: number;
  endMs: number;
  path?: Polyline;
  at: LatLon;
}

interface RecordedFix {
  ms: number;
  truth: LatLon;
  wild: boolean;
  fix: Fix;
}

interface Stay {
  stop: StopPlan;
  enteredMs: number;
  /** Undefined when the trace ends inside. */
  exitedMs?: number;
  isVisit: boolean;
}

function segmentsOf(plan: TripPlan): Segment[] {
  const segments: Segment[] = [];
  let t = Date.parse(plan.start);
  let position = plan.origin;
  for (const leg of plan.legs) {
    if (leg.kind === 'stand') {
      segments.push({ leg, startMs: t, endMs: t + leg.minutes * 60_000, at: position });
      t += leg.minutes * 60_000;
      continue;
    }
    const path = new Polyline([position, ...leg.via]);
    const durationMs = (path.lengthM / (leg.speedKmh / 3.6)) * 1000;
    segments.push({ leg, startMs: t, endMs: t + durationMs, path, at: position });
    t += durationMs;
    position = leg.via[leg.via.length - 1]!;
  }
  return segments;
}

function positionAt(segment: Segment, ms: number): LatLon {
  if (!segment.path) return segment.at;
  const speedMps = (segment.leg as { speedKmh: number }).speedKmh / 3.6;
  return segment.path.at(((ms - segment.startMs) / 1000) * speedMps).point;
}

function segmentAt(segments: readonly Segment[], ms: number): Segment {
  return segments.find((s) => ms < s.endMs) ?? segments[segments.length - 1]!;
}

function record(plan: TripPlan, segments: readonly Segment[], rng: Rng): RecordedFix[] {
  const { tracker } = plan;
  const endMs = segments[segments.length - 1]!.endMs;
  const noisy = (truth: LatLon, ms: number, segment: Segment, wildOffset?: LegOptions['wildFix']): RecordedFix => {
    const position = wildOffset ? offsetM(truth, wildOffset.bearingDeg, wildOffset.offsetM) : offsetM(truth, rng.between(0, 360), Math.abs(rng.normal(0, tracker.noiseM)));
    const speedKmh = segment.leg.kind === 'drive' ? segment.leg.speedKmh : 0;
    return {
      ms,
      truth,
      wild: wildOffset !== undefined,
      fix: { recordedAt: new Date(ms).toISOString(), lat: Math.round(position.lat * 1e6) / 1e6, lon: Math.round(position.lon * 1e6) / 1e6, speedKmh, accuracyM: tracker.noiseM },
    };
  };
  const fixes: RecordedFix[] = [];
  for (let t = Date.parse(plan.start); t <= endMs; ) {
    const segment = segmentAt(segments, t);
    if (!segment.leg.trackerOff) fixes.push(noisy(positionAt(segment, t), t, segment));
    const next = t + (segment.leg.kind === 'stand' ? (tracker.standingIntervalSec ?? tracker.intervalSec) : tracker.intervalSec) * 1000;
    // Trackers report when the vehicle starts moving, then at their moving interval.
    const moving = segments.find((s) => s.leg.kind === 'drive' && s.startMs > t && s.startMs < next);
    t = moving ? Math.ceil(moving.startMs) : next;
  }
  for (const segment of segments) {
    const wild = segment.leg.wildFix;
    if (!wild) continue;
    const ms = Math.round(segment.startMs + wild.afterMin * 60_000);
    if (!fixes.some((f) => f.ms === ms)) fixes.push(noisy(positionAt(segment, ms), ms, segment, wild));
  }
  return fixes.sort((a, b) => a.ms - b.ms);
}

/** Every stay in each stop's fence, from the true path sampled each second. */
function staysOf(plan: TripPlan, segments: readonly Segment[]): Stay[] {
  const startMs = Date.parse(plan.start);
  const endMs = segments[segments.length - 1]!.endMs;
  const visits = segments.filter((s) => s.leg.kind === 'stand' && s.leg.visit !== undefined);
  const stays: Stay[] = [];
  for (const stop of plan.stops) {
    let open: { enteredMs: number; outsideSinceMs?: number } | undefined;
    const close = (exitedMs?: number) => {
      const enteredMs = open!.enteredMs;
      const until = exitedMs ?? endMs;
      const isVisit = visits.some((v) => v.leg.kind === 'stand' && v.leg.visit === stop.sequence && v.startMs < until && v.endMs > enteredMs);
      stays.push({ stop, enteredMs, ...(exitedMs !== undefined ? { exitedMs } : {}), isVisit });
      open = undefined;
    };
    for (let t = startMs; t <= endMs; t += 1000) {
      const d = distanceM(positionAt(segmentAt(segments, t), t), stop.location);
      if (d <= stop.geofenceRadiusM) {
        if (!open) open = { enteredMs: t };
        else delete open.outsideSinceMs;
      } else if (open) {
        open.outsideSinceMs ??= t;
        if (d > stop.geofenceRadiusM + EDGE_WIGGLE_M) close(open.outsideSinceMs);
      }
    }
    if (open) close(open.outsideSinceMs);
  }
  return stays.sort((a, b) => a.enteredMs - b.enteredMs);
}

const iso = (ms: number) => new Date(ms).toISOString();

/** How precisely the fixes can tell when the vehicle crossed into or out of a fence. */
class Precision {
  private readonly clean: RecordedFix[];
  constructor(
    fixes: readonly RecordedFix[],
    private readonly stops: readonly StopPlan[],
    private readonly noiseM: number,
  ) {
    this.clean = fixes.filter((f) => !f.wild);
  }

  /** Entering at `ms`: the first fix clearly inside comes this long after. */
  enteredSec(stop: StopPlan, ms: number, untilMs: number | undefined, what: string): number {
    const first = this.clean.find((f) => f.ms >= ms && (untilMs === undefined || f.ms <= untilMs) && distanceM(f.truth, stop.location) <= stop.geofenceRadiusM - 3 * this.noiseM);
    if (!first) throw new Error(`${what}: no fix clearly inside stop ${stop.sequence} after ${iso(ms)}; change the case`);
    return (first.ms - ms) / 1000 + SLACK_SEC;
  }

  /**
   * Leaving at `ms`: the first fix clearly beyond the exit radius or clearly inside another stop's
   * fence (the documented hysteresis), or across a tracker gap the last fix before.
   */
  exitedSec(stop: StopPlan, ms: number, what: string): number {
    const before = this.clean.filter((f) => f.ms <= ms).at(-1);
    const after = this.clean.find((f) => f.ms > ms);
    if (before && after && (after.ms - before.ms) / 60_000 > TRACKER_GAP_MIN) return (ms - before.ms) / 1000 + SLACK_SEC;
    const exitM = exitRadiusM(stop, DEFAULT_GEOFENCE_CONFIG) + 3 * this.noiseM;
    const atOther = (f: RecordedFix) => this.stops.some((o) => o !== stop && distanceM(f.truth, o.location) <= o.geofenceRadiusM - 3 * this.noiseM);
    const out = this.clean.find((f) => f.ms > ms && (distanceM(f.truth, stop.location) >= exitM || atOther(f)));
    if (!out) throw new Error(`${what}: no fix clearly beyond stop ${stop.sequence}'s exit radius after ${iso(ms)}; change the case`);
    return (out.ms - ms) / 1000 + SLACK_SEC;
  }

  /** Whether the tracker saw a stay: a fix clearly inside; a fix only near the edge makes the case ambiguous. */
  observed(stay: Stay, what: string): boolean {
    const during = this.clean.filter((f) => f.ms >= stay.enteredMs && f.ms <= (stay.exitedMs ?? Infinity));
    const d = (f: RecordedFix) => distanceM(f.truth, stay.stop.location);
    if (during.some((f) => d(f) <= stay.stop.geofenceRadiusM - 3 * this.noiseM)) return true;
    if (during.some((f) => d(f) <= stay.stop.geofenceRadiusM + 3 * this.noiseM)) throw new Error(`${what}: stop ${stay.stop.sequence} seen only at its edge; change the case`);
    return false;
  }
}

/** The case: fixes as the tracker recorded them, and what the platform should conclude from them. */
export function buildCase(plan: TripPlan): GeofenceCase {
  const segments = segmentsOf(plan);
  const recorded = record(plan, segments, new Rng(plan.seed));
  const precision = new Precision(recorded, plan.stops, plan.tracker.noiseM);
  const stays = staysOf(plan, segments);
  const milestones: ExpectedMilestone[] = [];
  const passes: ExpectedPass[] = [];
  // A stop is watched until its visit: stays before it are drive-bys, stays after it revisits.
  const visited = new Set<number>();
  for (const stay of stays) {
    const { stop } = stay;
    if (visited.has(stop.sequence)) continue;
    const what = `${plan.name}, stop ${stop.sequence} at ${iso(stay.enteredMs)}`;
    if (stay.isVisit) {
      visited.add(stop.sequence);
      milestones.push({ type: 'ARRIVED', stopSequence: stop.sequence, at: iso(stay.enteredMs), toleranceSec: precision.enteredSec(stop, stay.enteredMs, stay.exitedMs, what) });
      if (stay.exitedMs !== undefined) milestones.push({ type: 'DEPARTED', stopSequence: stop.sequence, at: iso(stay.exitedMs), toleranceSec: precision.exitedSec(stop, stay.exitedMs, what) });
    } else if (stay.exitedMs !== undefined && precision.observed(stay, what)) {
      passes.push({
        stopSequence: stop.sequence,
        enteredAt: iso(stay.enteredMs),
        exitedAt: iso(stay.exitedMs),
        enteredToleranceSec: precision.enteredSec(stop, stay.enteredMs, stay.exitedMs, what),
        exitedToleranceSec: precision.exitedSec(stop, stay.exitedMs, what),
      });
    }
  }
  const endMs = segments[segments.length - 1]!.endMs;
  return {
    name: plan.name,
    about: plan.about,
    stops: plan.stops,
    fixes: recorded.map((r) => r.fix),
    ...(plan.proofOfDeliveryAfterMin !== undefined ? { proofOfDeliveryAt: iso(endMs + plan.proofOfDeliveryAfterMin * 60_000) } : {}),
    expected: { milestones: milestones.sort((a, b) => Date.parse(a.at) - Date.parse(b.at)), passes },
  };
}

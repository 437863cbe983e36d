// What a real network repeats from one week to the next, so there is something for history to
// learn: each facility's typical dwell (some docks are slow, some quick, whatever the shipper
// planned) and traffic by place and hour of week (weekday rush hours, lighter weekends, and some
// places much worse than others). Deterministic per "world" seed, not per trip seed: two
// simulations with different trip seeds drive through the same world, as a tenant's history and
// its next trips do. Opt-in (PlanOptions.patterns); without it the simulator is unchanged.
import type { LatLon } from '../domain/types.js';
import type { Place } from './places.js';
import { Rng } from './random.js';

export interface WorldPatterns {
  /** Seed of the facilities' and places' character (not of the trips). */
  world: string;
  /** Where each trip starts on the absolute clock (its index in the plan → ms since epoch): traffic depends on it. */
  tripStartMs: (index: number) => number;
}

/** Size of a traffic "place": about 28 × 19 km at 48° N, a town with its ring road or a stretch of motorway. */
export const TRAFFIC_CELL_DEG = 0.25;

/** Hours east of UTC of the simulated region's local time (CET; daylight saving left out). */
const LOCAL_OFFSET_H = 1;

const cache = new Map<string, number>();
function draw(world: string, label: string, min: number, max: number): number {
  const key = `${world}|${label}|${min}|${max}`;
  let value = cache.get(key);
  if (value === undefined) {
    value = new Rng(`${world}/${label}`).between(min, max);
    cache.set(key, value);
  }
  return value;
}

/**
 * The facility's typical dwell beyond the plan, minutes: hubs (loading, paperwork, dock queues)
 * from 10 min quicker to 50 min slower than planned, city drops from 15 quicker to 30 slower.
 */
export function facilityDwellOffsetMin(world: string, place: Place): number {
  return place.kind === 'distribution-centre' ? draw(world, `dwell/${place.id}`, -10, 50) : draw(world, `dwell/${place.id}`, -15, 30);
}

const bump = (hour: number, centre: number, width: number) => Math.exp(-(((hour - centre) / width) ** 2) / 2);

/**
 * Congestion by local time of week, 0 (free flow) to about 1.2 (Friday evening peak): weekday
 * peaks around 08:00 and 17:30, a lighter midday, quiet nights; some Saturday midday traffic,
 * Sunday almost none.
 */
export function congestionAt(ms: number): number {
  const local = new Date(ms + LOCAL_OFFSET_H * 3600_000);
  const day = (local.getUTCDay() + 6) % 7; // 0 = Monday
  const hour = local.getUTCHours() + local.getUTCMinutes() / 60;
  if (day <= 4) {
    const evening = day === 4 ? 1.2 : 1;
    return Math.min(1.2, bump(hour, 8, 1) + evening * bump(hour, 17.5, 1.2) + 0.25 * bump(hour, 12.5, 2.5));
  }
  if (day === 5) return 0.35 * bump(hour, 12, 2.5);
  return 0.1 * bump(hour, 15, 3);
}

/** How badly a place suffers at its peaks, 0.15–1, drawn once per traffic cell of the world. */
export function placeSeverity(world: string, point: LatLon): number {
  const cell = `${Math.floor(point.lat / TRAFFIC_CELL_DEG)},${Math.floor(point.lon / TRAFFIC_CELL_DEG)}`;
  return draw(world, `traffic/${cell}`, 0.15, 1);
}

/**
 * Multiplier of the truck's speed at a point and time: urban roads lose up to 60 % of their speed
 * in the worst places' peaks, motorways up to 40 %.
 */
export function trafficFactor(world: string, point: LatLon, road: 'urban' | 'highway', ms: number): number {
  const loss = (road === 'urban' ? 0.6 : 0.4) * placeSeverity(world, point) * congestionAt(ms);
  return Math.max(0.3, 1 - loss);
}

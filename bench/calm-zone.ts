// How many wake-ups a live tracker costs: the simulator's trips replayed through the ingest
// protocol and the workflow's own decisions, without Temporal or a database. Every upload is one
// request at the time the device sends it; it wakes the workflow unless all its fixes lie inside
// the calm zone stated at the last read (domain/shipment/calm-zone.ts), in which case it waits
// until INGEST_DEFER_MS after the first waiting upload (or rides on the next wake-up). Prints, per
// deferral window, uploads and wake-ups per truck-hour and why the immediate ones woke.
//
//   npx tsx bench/calm-zone.ts [--trips 200] [--seed calm-zone] [--scenario on-time|mix] [--device eld] [--defer-ms 0,30000,120000,300000] [--out bench/results]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createAnomalyContext, openAnomalyTypes } from '../domain/anomalies/index.js';
import { resolveGeofenceConfig } from '../domain/milestones.js';
import { calmZone, insideCalmZone, RESOLVED_BY_A_POSITION, type CalmZone } from '../domain/shipment/calm-zone.js';
import { buildDecisionContext, decideFixes, initialDecisionState, type DecisionContext, type DecisionState } from '../domain/shipment/decide.js';
import type { Fix } from '../domain/types.js';
import { DEVICE_PROFILES, toFix, type DeviceType } from '../simulator/motion.js';
import { isScenarioName, planSimulation, plannedRoute, stopPlansOf, type ShipmentSpec } from '../simulator/scenarios.js';

const { values: args } = parseArgs({
  options: {
    trips: { type: 'string', default: '200' },
    seed: { type: 'string', default: 'calm-zone' },
    scenario: { type: 'string', default: 'on-time' },
    device: { type: 'string', default: 'eld' },
    'defer-ms': { type: 'string', default: '0,30000,120000,300000' },
    out: { type: 'string' },
  },
});
if (args.scenario !== 'mix' && !isScenarioName(args.scenario)) throw new Error(`--scenario: no scenario named ${args.scenario}`);
if (!(args.device in DEVICE_PROFILES)) throw new Error(`--device: one of ${Object.keys(DEVICE_PROFILES).join(', ')}`);

const TRIP_START_MS = Date.parse('2026-11-02T06:00:00.000Z');

/** Why an upload found no zone to wait in. */
function reasonWithoutZone(state: DecisionState): string {
  const { tracking, anomalies, lastPosition } = state.rules;
  if (!lastPosition) return 'first read';
  if (tracking.status === 'PLANNED') return 'before the trip';
  if (tracking.unconfirmedVisit) return 'visit unconfirmed';
  if (tracking.exitCandidates.length > 0) return 'may be leaving a stop';
  if (anomalies.offRoute.streak !== undefined) return 'off-route streak';
  const open = openAnomalyTypes(anomalies).filter((type) => RESOLVED_BY_A_POSITION.has(type));
  if (open.length > 0) return `open ${open.join('+')}`;
  return tracking.status === 'AT_STOP' ? 'at a stop with no room for a zone' : 'near a stop or off the band';
}

interface TripCount { uploads: number; immediate: number; deferredWakeups: number; deferredUploads: number; hours: number; reasons: Record<string, number> }

function replayTrip(spec: ShipmentSpec, deferMs: number): TripCount {
  const stops = stopPlansOf(spec, TRIP_START_MS);
  const geofence = resolveGeofenceConfig(undefined, spec.thresholds);
  const anomalies = createAnomalyContext({ stops, route: plannedRoute(spec.route), thresholds: spec.thresholds }, undefined, geofence);
  const ctx: DecisionContext = buildDecisionContext(stops, { geofence, anomalies }, { intervalMin: 5, changeMin: 10 });
  const count: TripCount = { uploads: 0, immediate: 0, deferredWakeups: 0, deferredUploads: 0, hours: 0, reasons: {} };
  let state = initialDecisionState(stops);
  let zone: CalmZone | undefined;
  let waiting: Fix[] = [];
  let waitingSince: number | undefined;
  // The workflow states the zone as decided before the fixes it reads (one read old), as in workflows/shipment-fixes.ts.
  const read = (fixes: Fix[]) => {
    zone = calmZone(state.rules, ctx);
    state = decideFixes(state, fixes, ctx).state;
    waiting = [];
    waitingSince = undefined;
  };
  const deliveries = [...spec.trace.deliveries].sort((a, b) => a.sendAtMs - b.sendAtMs);
  for (const delivery of deliveries) {
    if (waitingSince !== undefined && delivery.sendAtMs - waitingSince >= deferMs) {
      count.deferredWakeups += 1;
      read(waiting);
    }
    const fixes = delivery.fixes.map((fix) => toFix(fix, TRIP_START_MS));
    count.uploads += 1;
    if (deferMs > 0 && zone && fixes.every((fix) => insideCalmZone(zone!, fix))) {
      count.deferredUploads += 1;
      waiting.push(...fixes);
      waitingSince ??= delivery.sendAtMs;
      continue;
    }
    const reason = deferMs === 0 ? 'deferral off' : zone ? 'outside the zone' : reasonWithoutZone(state);
    count.reasons[reason] = (count.reasons[reason] ?? 0) + 1;
    count.immediate += 1;
    read([...waiting, ...fixes]);
  }
  count.hours = (deliveries.at(-1)!.sendAtMs - deliveries[0]!.sendAtMs) / 3_600_000;
  return count;
}

const plan = planSimulation({
  seed: args.seed,
  vehicles: Number(args.trips),
  scenario: args.scenario as 'mix',
  deviceType: args.device as DeviceType,
  // Live trackers: every upload in order, no repeats, no held backlogs.
  motion: { duplicateRate: 0, outOfOrderRate: 0, coverageGapsPerHour: 0 },
});
const windows = args['defer-ms'].split(',').map(Number);
const rows = windows.map((deferMs) => {
  const total: TripCount = { uploads: 0, immediate: 0, deferredWakeups: 0, deferredUploads: 0, hours: 0, reasons: {} };
  for (const spec of plan.shipments) {
    const trip = replayTrip(spec, deferMs);
    for (const key of ['uploads', 'immediate', 'deferredWakeups', 'deferredUploads', 'hours'] as const) total[key] += trip[key];
    for (const [reason, n] of Object.entries(trip.reasons)) total.reasons[reason] = (total.reasons[reason] ?? 0) + n;
  }
  const wakeups = total.immediate + total.deferredWakeups;
  const perHour = (n: number) => Math.round((n / total.hours) * 10) / 10;
  return {
    deferMs,
    uploadsPerTruckHour: perHour(total.uploads),
    wakeupsPerTruckHour: perHour(wakeups),
    wakeupsPerUpload: Math.round((wakeups / total.uploads) * 1000) / 1000,
    deferredUploadShare: Math.round((total.deferredUploads / total.uploads) * 1000) / 1000,
    immediateByReason: Object.fromEntries(Object.entries(total.reasons).sort((a, b) => b[1] - a[1])),
  };
});

const result = { benchmark: 'calm-zone', at: new Date().toISOString(), seed: args.seed, trips: plan.shipments.length, scenario: args.scenario, device: args.device, rows };
console.log(`${result.trips} trips (${args.scenario}, ${args.device}), seed ${args.seed}`);
console.log('INGEST_DEFER_MS | uploads/truck-h | wake-ups/truck-h | wake-ups per upload | uploads deferred | immediate wake-ups by reason');
for (const row of rows) {
  console.log(`${String(row.deferMs).padStart(15)} | ${String(row.uploadsPerTruckHour).padStart(15)} | ${String(row.wakeupsPerTruckHour).padStart(16)} | ${String(row.wakeupsPerUpload).padStart(19)} | ${String(row.deferredUploadShare).padStart(16)} | ${JSON.stringify(row.immediateByReason)}`);
}
if (args.out) {
  mkdirSync(args.out, { recursive: true });
  const file = join(args.out, `calm-zone-${result.at.replace(/[-:]/g, '').replace(/\..*/, '').toLowerCase()}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`saved ${file}`);
}

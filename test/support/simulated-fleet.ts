// A few simulated trucks driven through the real system (API, fix ingest, Temporal workflow,
// activities) to DELIVERED: the fixture of the export and analytics tests. Each trip is on its
// own past day, so the exports have several date partitions; the appointment windows are set from
// the arrivals the pure rules predict for the trip, so which stops are on time is known.
import { setTimeout as delay } from 'node:timers/promises';
import { expect } from 'vitest';
import { applyFixes, initialTrackingState } from '../../domain/milestones.js';
import type { Fix, StopPlan } from '../../domain/types.js';
import type { Harness, Tenant } from '../api/harness.js';
import { generateTrip } from './trip.js';

export const FACILITIES = {
  lyon: { name: 'Lyon Gerland DC', location: { lat: 45.7289, lon: 4.8317 } },
  villefranche: { name: 'Villefranche cross-dock', location: { lat: 45.9889, lon: 4.7189 } },
  macon: { name: 'Mâcon store', location: { lat: 46.3069, lon: 4.8286 } },
} as const;
type Facility = keyof typeof FACILITIES;

export interface TripPlan {
  tenant: 'acme' | 'globex';
  /** Whole days before today (UTC) the trip starts, at 06:00 UTC. */
  daysAgo: number;
  facilities: Facility[];
  /** Minutes the truck stays at each stop. */
  dwellMin: number;
  /** Minutes between the window's end and the arrival the rules predict, per stop: positive is on time. */
  slackMin: number[];
  withCarrier?: boolean;
}

export interface SimulatedTrip {
  plan: TripPlan;
  tenant: Tenant;
  shipmentId: string;
  reference: string;
  fixes: Fix[];
  /** Per stop (sequence order): the arrival the rules predict and whether it is inside the window. */
  arrivals: { sequence: number; facility: string; arrivedAt: string; departedAt: string; onTime: boolean }[];
}

export const DEFAULT_TRIPS: TripPlan[] = [
  { tenant: 'acme', daysAgo: 3, facilities: ['lyon', 'villefranche', 'macon'], dwellMin: 15, slackMin: [30, 20, -25], withCarrier: true },
  { tenant: 'acme', daysAgo: 2, facilities: ['lyon', 'macon'], dwellMin: 25, slackMin: [10, 45], withCarrier: true },
  { tenant: 'acme', daysAgo: 2, facilities: ['villefranche', 'lyon'], dwellMin: 12, slackMin: [-10, 15] },
  { tenant: 'globex', daysAgo: 3, facilities: ['lyon', 'macon'], dwellMin: 20, slackMin: [5, 5], withCarrier: true },
];

function startOf(daysAgo: number): Date {
  const today = new Date();
  return new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - daysAgo, 6, 0, 0));
}

let counter = 0;
const BATCH = 10;

async function applied(h: Harness, tenant: Tenant, shipmentId: string, count: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const live = await h.call('GET', `/v1/shipments/${shipmentId}`, tenant.keys.viewer);
    if ((live.body.fixCounts?.applied ?? 0) >= count) return;
    if (Date.now() > deadline) throw new Error(`shipment ${shipmentId} applied ${live.body.fixCounts?.applied} of ${count} fixes after 30 s`);
    await delay(50);
  }
}

async function driveTrip(h: Harness, plan: TripPlan): Promise<SimulatedTrip> {
  const tenant = plan.tenant === 'acme' ? h.acme : h.globex;
  const stops: StopPlan[] = plan.facilities.map((f, i) => ({ sequence: i + 1, type: i === 0 ? 'pickup' : 'delivery', ...FACILITIES[f], geofenceRadiusM: 400 }));
  const fixes = generateTrip(stops.map((s) => ({ stop: s.location, dwellMin: plan.dwellMin })), { start: startOf(plan.daysAgo), intervalSec: 30, speedKmh: 70 });
  const milestones = applyFixes(initialTrackingState(stops), fixes, stops).events.flatMap((e) => (e.kind === 'milestone' ? [e] : []));
  const arrivals = stops.map((stop, i) => {
    const at = (type: string) => milestones.find((m) => m.type === type && m.stopSequence === stop.sequence)!.at;
    const end = new Date(Date.parse(at('ARRIVED')) + plan.slackMin[i]! * 60_000);
    return { sequence: stop.sequence, facility: stop.name, arrivedAt: at('ARRIVED'), departedAt: at('DEPARTED'), onTime: plan.slackMin[i]! >= 0, windowEnd: end.toISOString() };
  });
  counter += 1;
  const reference = `SIM-${Date.now()}-${counter}`;
  const created = await h.call('POST', '/v1/shipments', tenant.keys.dispatcher, {
    reference,
    stops: stops.map((stop, i) => ({
      type: stop.type,
      name: stop.name,
      location: stop.location,
      geofenceRadiusM: stop.geofenceRadiusM,
      window: { start: new Date(Date.parse(arrivals[i]!.windowEnd) - 2 * 3_600_000).toISOString(), end: arrivals[i]!.windowEnd },
    })),
    deviceId: tenant.fleet.deviceId,
    ...(plan.withCarrier ? { carrierId: tenant.fleet.carrierId } : {}),
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  // Ten fixes (five minutes of driving) at a time, each batch applied before the next is sent, as
  // a live truck's uploads are: the workflow predicts ETAs along the way, not only after the trip.
  for (let i = 0; i < fixes.length; i += BATCH) {
    const batch = fixes.slice(i, i + BATCH);
    const res = await h.call('POST', `/v1/shipments/${created.body.id}/positions`, tenant.keys.dispatcher, { positions: batch });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    await applied(h, tenant, created.body.id, i + batch.length);
  }
  return { plan, tenant, shipmentId: created.body.id, reference, fixes, arrivals: arrivals.map(({ windowEnd: _end, ...a }) => a) };
}

/**
 * Drives the trips one after the other (the device of a tenant serves one shipment at a time) and
 * waits until every shipment's projection is DELIVERED with its stops' visits written.
 */
export async function runSimulatedFleet(h: Harness, plans: readonly TripPlan[] = DEFAULT_TRIPS): Promise<SimulatedTrip[]> {
  const trips: SimulatedTrip[] = [];
  for (const plan of plans) {
    const trip = await driveTrip(h, plan);
    trips.push(trip);
    const deadline = Date.now() + 90_000;
    for (;;) {
      const row = await h.database.db.selectFrom('shipments').select('status').where('id', '=', trip.shipmentId).executeTakeFirstOrThrow();
      const departed = await h.database.db.selectFrom('stops').select('shipment_id').where('shipment_id', '=', trip.shipmentId).where('departed_at', 'is not', null).execute();
      if (row.status === 'DELIVERED' && departed.length === plan.facilities.length) break;
      if (Date.now() > deadline) throw new Error(`shipment ${trip.reference} is ${row.status} with ${departed.length} stops departed after 90 s`);
      await delay(200);
    }
  }
  return trips;
}

// Shared set-up for the workflow tests: a tenant and shipment rows as the API's create writes
// them, a three-stop plan near Lyon, its trip, and a polling helper for eventual state.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { setTimeout as delay } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';
import type { Fix, ShipmentPlan, StopPlan } from '../../domain/types.js';
import { shipmentWorkflowId } from '../../workflows/contract.js';
import { generateTrip } from '../support/trip.js';

export const TRIP_START = new Date('2026-03-02T06:00:00.000Z');

export const THREE_STOPS: StopPlan[] = [
  { sequence: 1, type: 'pickup', name: 'Lyon Gerland DC', location: { lat: 45.7289, lon: 4.8317 }, geofenceRadiusM: 300 },
  { sequence: 2, type: 'waypoint', name: 'Vénissieux cross-dock', location: { lat: 45.6975, lon: 4.8867 }, geofenceRadiusM: 300 },
  { sequence: 3, type: 'delivery', name: 'Saint-Priest store', location: { lat: 45.6956, lon: 4.9436 }, geofenceRadiusM: 250 },
];

export async function insertTenant(db: Kysely<Database>): Promise<string> {
  const id = randomUUID();
  await db.insertInto('tenants').values({ id, name: `Tenant ${id.slice(0, 8)}` }).execute();
  return id;
}

/** The shipments and stops rows the API's create writes before it starts the workflow. */
export async function insertShipment(db: Kysely<Database>, tenantId: string, stops: StopPlan[] = THREE_STOPS): Promise<ShipmentPlan> {
  const shipmentId = randomUUID();
  const plan: ShipmentPlan = {
    tenantId,
    shipmentId,
    reference: `PO-${shipmentId.slice(0, 8)}`,
    createdAt: new Date(TRIP_START.getTime() - 60 * 60_000).toISOString(),
    carrierId: 'carrier-transalp',
    stops,
    thresholds: {},
  };
  await db
    .insertInto('shipments')
    .values({
      id: shipmentId,
      tenant_id: tenantId,
      reference: plan.reference,
      status: 'PLANNED',
      workflow_id: shipmentWorkflowId(tenantId, shipmentId),
      request_hash: `test-${shipmentId}`,
      carrier_id: plan.carrierId ?? null,
      route: null,
      thresholds: {},
      created_at: plan.createdAt,
      updated_at: plan.createdAt,
    })
    .execute();
  await db
    .insertInto('stops')
    .values(
      stops.map((stop) => ({
        shipment_id: shipmentId,
        sequence: stop.sequence,
        tenant_id: tenantId,
        type: stop.type,
        name: stop.name,
        lat: stop.location.lat,
        lon: stop.location.lon,
        geofence_radius_m: stop.geofenceRadiusM,
        window_start: null,
        window_end: null,
        planned_dwell_min: null,
      })),
    )
    .execute();
  return plan;
}

/** About 100 fixes, one a minute: 20 minutes at each stop, driving between them. */
export function threeStopTrip(start: Date = TRIP_START): Fix[] {
  return generateTrip(
    THREE_STOPS.map((stop) => ({ stop: stop.location, dwellMin: 20 })),
    { start, intervalSec: 60, speedKmh: 50 },
  );
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

/** Polls until `done` holds for the value (state reached through signals and visibility is eventual). */
export async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}; last value: ${JSON.stringify(value)}`);
    await delay(100);
  }
}

/**
 * Whether the current run has nothing in flight: its history does not end in a pending workflow
 * task, activity or signal. Tests wait for this instead of querying before they skip time or send
 * the next signal: on the time-skipping server an activity still running can leave a skip waiting
 * in real time, and a query that races a continue-as-new can go unanswered and stall the workflow.
 */
export async function isWorkflowIdle(handle: Pick<WorkflowHandle, 'fetchHistory'>): Promise<boolean> {
  const { events } = await handle.fetchHistory();
  const last = events?.at(-1);
  return Boolean(
    last &&
      !last.workflowExecutionStartedEventAttributes &&
      !last.workflowExecutionSignaledEventAttributes &&
      !last.workflowTaskScheduledEventAttributes &&
      !last.workflowTaskStartedEventAttributes &&
      !last.activityTaskScheduledEventAttributes &&
      !last.activityTaskStartedEventAttributes &&
      !last.activityTaskCompletedEventAttributes,
  );
}

/** Time order shuffled the way store-and-forward uploads arrive: batches of `size`, in a seeded random order. */
export function shuffledBatches<T>(items: readonly T[], size: number, seed: number): T[][] {
  const batches = chunk(items, size);
  let state = seed;
  const random = () => ((state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  for (let i = batches.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [batches[i], batches[j]] = [batches[j]!, batches[i]!];
  }
  return batches;
}

/** A saved history's JSON (`temporal workflow show -o json`, or historyToJSON), gzipped or not. */
export function loadHistory(path: string): unknown {
  const raw = readFileSync(path);
  return JSON.parse((path.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8'));
}

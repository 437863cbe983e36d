// Anomalies and ETA in the shipment workflow on the time-skipping server: every timer-based
// anomaly is raised for a truck that has gone quiet (thresholds of hours skip in seconds), opens
// and resolves exactly once (counted in the Postgres timeline), and the fix-driven ones follow
// the fixes. The real activities run against a fresh Postgres database.
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShipmentActivities } from '../../activities/index.js';
import type { Anomaly, AnomalyType, Fix, LatLon, LineString, ShipmentPlan, ShipmentThresholds, ShipmentView, StopPlan } from '../../domain/types.js';
import { bundleShipmentWorkflows } from '../../worker/worker.js';
import { DEFAULT_WORKFLOW_SETTINGS, shipmentStateQuery, shipmentWorkflowId } from '../../workflows/contract.js';
import { fixPusher, type PushFixes } from '../support/ingest.js';
import { shipmentWorkflow } from '../../workflows/shipment.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { startTimeSkippingTemporal } from '../support/temporal.js';
import { startShipmentWorker, type RunningShipmentWorker } from '../support/worker.js';
import { chunk, eventually, insertShipment, insertTenant, isWorkflowIdle } from './harness.js';
import { minutesFrom, roadFrom, TRIP_T0 } from '../support/road.js';

const TASK_QUEUE = 'shipments-anomaly-test';
const T0 = TRIP_T0;
const at = minutesFrom(T0);
/** A point `km` north of the pickup (south of Lyon), `eastM` metres east of the straight road. */
const road = roadFrom({ lat: 45.5, lon: 4.85 });
const fix = (minute: number, position: LatLon, speedKmh: number, extra: Partial<Fix> = {}): Fix => ({ recordedAt: at(minute), ...position, speedKmh, ...extra });

/** Pickup at km 0, delivery at km 60; no planned dwell, no windows unless a test adds them. */
function stops(overrides: Partial<Record<1 | 2, Partial<StopPlan>>> = {}): StopPlan[] {
  return [
    { sequence: 1, type: 'pickup', name: 'Chasse-sur-Rhône DC', location: road(0), geofenceRadiusM: 500, ...overrides[1] },
    { sequence: 2, type: 'delivery', name: 'Villeurbanne store', location: road(60), geofenceRadiusM: 500, ...overrides[2] },
  ];
}
const ROUTE: LineString = { type: 'LineString', coordinates: [road(0), road(60)].map((p): [number, number] => [p.lon, p.lat]) };

/** Everything long by default, so only the anomaly under test can fire. */
const QUIET: ShipmentThresholds = { signalLossMin: 24 * 60, longDwellMin: 24 * 60, dwellToleranceMin: 24 * 60, unplannedStopMin: 24 * 60 };

/** At the pickup for 10 minutes, then driving north at 60 km/h (a km a minute) for `driveMin`. */
function departure(driveMin: number): Fix[] {
  const fixes: Fix[] = [];
  for (let m = 0; m <= 10; m += 2) fixes.push(fix(m, road(0, m * 5), 0));
  for (let m = 1; m <= driveMin; m += 1) fixes.push(fix(10 + m, road(m), 60));
  return fixes;
}

let env: TestWorkflowEnvironment;
let database: TestDatabase;
let worker: RunningShipmentWorker;
let tenantId: string;
let activities: ShipmentActivities;
let push: PushFixes;

beforeAll(async () => {
  [env, database] = await Promise.all([startTimeSkippingTemporal(), createTestDatabase()]);
  tenantId = await insertTenant(database.db);
  push = fixPusher(database.db, env.client);
  worker = await startShipmentWorker({ temporal: env, db: database.db, taskQueue: TASK_QUEUE });
  activities = worker.activities;
});

afterAll(async () => {
  await worker?.stop();
  await env?.teardown();
  await database?.drop();
});

async function startShipment(
  stopPlans: StopPlan[],
  thresholds: ShipmentThresholds,
  route?: LineString,
  tenantAnomalyDefaults?: ShipmentThresholds,
): Promise<{ plan: ShipmentPlan; handle: WorkflowHandle<typeof shipmentWorkflow> }> {
  const inserted = await insertShipment(database.db, tenantId, stopPlans);
  const plan: ShipmentPlan = { ...inserted, thresholds, ...(route ? { route } : {}) };
  await database.db.updateTable('shipments').set({ thresholds, route: route ?? null }).where('id', '=', plan.shipmentId).execute();
  const handle = await env.client.workflow.start(shipmentWorkflow, {
    taskQueue: TASK_QUEUE,
    workflowId: shipmentWorkflowId(plan.tenantId, plan.shipmentId),
    args: [{ plan, settings: { ...DEFAULT_WORKFLOW_SETTINGS, deliveryGraceMs: 60 * 60_000 }, ...(tenantAnomalyDefaults ? { tenantAnomalyDefaults } : {}) }],
  });
  return { plan, handle };
}

/** ANOMALY_* timeline rows in Postgres as `OPENED:TYPE` / `RESOLVED:TYPE`, in order. */
async function anomalyRows(shipmentId: string): Promise<string[]> {
  const rows = await database.db
    .selectFrom('shipment_events')
    .select(['type', 'data', 'occurred_at'])
    .where('shipment_id', '=', shipmentId)
    .where('type', 'in', ['ANOMALY_OPENED', 'ANOMALY_RESOLVED'])
    .orderBy('occurred_at')
    .orderBy('id')
    .execute();
  return rows.map((r) => `${r.type.replace('ANOMALY_', '')}:${String(r.data.anomaly)}`);
}

const episodes = (anomalies: Anomaly[], type: AnomalyType) => anomalies.filter((a) => a.type === type);

/**
 * The workflow's view, queried only once it is idle. A query racing a workflow task can be left
 * unanswered by the time-skipping server, which then stops skipping time (seen under CPU load).
 */
async function settledView(handle: WorkflowHandle<typeof shipmentWorkflow>): Promise<ShipmentView> {
  await eventually(() => isWorkflowIdle(handle), (idle) => idle, 'workflow idle');
  return handle.query(shipmentStateQuery);
}

async function waitUntilProcessed(handle: WorkflowHandle<typeof shipmentWorkflow>, lastFix: Fix): Promise<void> {
  await eventually(() => settledView(handle), (v) => v.lastPosition?.recordedAt === lastFix.recordedAt, 'fixes processed');
}

describe('anomaly timers on a quiet truck', () => {
  it('raises SIGNAL_LOST with no traffic at all after an hours-long threshold, and resolves it with the next fix', async () => {
    const { plan, handle } = await startShipment(stops(), { ...QUIET, signalLossMin: 180 });
    const before = departure(20);
    await push(plan, before);
    await waitUntilProcessed(handle, before.at(-1)!);
    expect((await settledView(handle)).anomalies).toEqual([]);

    await env.sleep('2 hours'); // still inside the threshold
    expect((await settledView(handle)).anomalies).toEqual([]);
    await env.sleep('90 minutes');
    const open = await eventually(() => settledView(handle), (v) => v.anomalies.length > 0, 'SIGNAL_LOST opened by the timer');
    // Stamped at the fix-time deadline: the last fix + 3 h.
    expect(open.anomalies).toEqual([{ type: 'SIGNAL_LOST', status: 'open', openedAt: at(30 + 180), detail: `no fix since ${at(30)}` }]);
    await eventually(() => anomalyRows(plan.shipmentId), (rows) => rows.length === 1, 'open in the timeline');
    const shipment = await database.db.selectFrom('shipments').select(['open_anomalies', 'anomalies']).where('id', '=', plan.shipmentId).executeTakeFirstOrThrow();
    expect(shipment.open_anomalies).toEqual(['SIGNAL_LOST']);

    const back = fix(30 + 215, road(40), 60);
    await push(plan, [back]);
    const resolved = await eventually(() => settledView(handle), (v) => v.anomalies[0]?.status === 'resolved', 'SIGNAL_LOST resolved');
    expect(resolved.anomalies).toEqual([{ type: 'SIGNAL_LOST', status: 'resolved', openedAt: at(210), resolvedAt: back.recordedAt, detail: `no fix since ${at(30)}` }]);
    expect(await eventually(() => anomalyRows(plan.shipmentId), (rows) => rows.length === 2, 'resolve in the timeline')).toEqual(['OPENED:SIGNAL_LOST', 'RESOLVED:SIGNAL_LOST']);
    const after = await database.db.selectFrom('shipments').select('open_anomalies').where('id', '=', plan.shipmentId).executeTakeFirstOrThrow();
    expect(after.open_anomalies).toEqual([]);
    await handle.terminate('test finished');
  });

  it('takes the tenant’s default threshold where the shipment sets none', async () => {
    const { signalLossMin: _unset, ...shipmentThresholds } = QUIET;
    const { plan, handle } = await startShipment(stops(), shipmentThresholds, undefined, { signalLossMin: 90, longDwellMin: 5 });
    const before = departure(20);
    await push(plan, before);
    await waitUntilProcessed(handle, before.at(-1)!);
    await env.sleep('2 hours');
    const open = await eventually(() => settledView(handle), (v) => v.anomalies.length > 0, 'SIGNAL_LOST by the tenant threshold');
    // The tenant's 90 min; its longDwellMin lost to the shipment's own (no LONG_DWELL at the pickup).
    expect(open.anomalies).toEqual([expect.objectContaining({ type: 'SIGNAL_LOST', openedAt: at(30 + 90) })]);
    await handle.terminate('test finished');
  });

  it('raises LONG_DWELL when the stay passes planned dwell + tolerance, resolved by the departure', async () => {
    // Planned 2 h + 1 h tolerance: the limit is 3 h after arrival.
    const { plan, handle } = await startShipment(stops({ 1: { plannedDwellMin: 120 } }), { ...QUIET, dwellToleranceMin: 60 });
    const arrival = [0, 2, 4, 6].map((m) => fix(m, road(0, m * 5), 0));
    await push(plan, arrival);
    await waitUntilProcessed(handle, arrival.at(-1)!);
    await env.sleep('4 hours');
    const open = await eventually(() => settledView(handle), (v) => v.anomalies.length > 0, 'LONG_DWELL opened by the timer');
    expect(open.anomalies).toEqual([{ type: 'LONG_DWELL', status: 'open', openedAt: at(180), stopSequence: 1, detail: 'at stop longer than 180 min' }]);

    const leaving = [250, 251, 252, 253].map((m) => fix(m, road(m - 249), 60));
    await push(plan, leaving);
    const resolved = await eventually(() => settledView(handle), (v) => v.anomalies[0]?.status === 'resolved', 'LONG_DWELL resolved');
    // After hours of silence the departure is stamped at the last fix inside (minute 6: the last time
    // the truck was known to be there), before the timer's open; a resolve is never stamped before its open.
    const departed = resolved.milestones.find((m) => m.type === 'DEPARTED')!;
    expect(departed.at).toBe(at(6));
    expect(resolved.anomalies[0]).toMatchObject({ type: 'LONG_DWELL', stopSequence: 1, resolvedAt: at(180) });
    expect(await eventually(() => anomalyRows(plan.shipmentId), (rows) => rows.length === 2, 'both in the timeline')).toEqual(['OPENED:LONG_DWELL', 'RESOLVED:LONG_DWELL']);
    await handle.terminate('test finished');
  });

  it('raises LATE when the appointment window ends without arrival, resolved by the arrival', async () => {
    // The delivery window closes 2 h after the pickup; +15 min tolerance. The first ETA says on time.
    const { plan, handle } = await startShipment(stops({ 2: { window: { start: at(0), end: at(120) } } }), { ...QUIET, lateToleranceMin: 15 });
    const atPickup = [0, 2, 4].map((m) => fix(m, road(0, m * 5), 0));
    await push(plan, atPickup);
    await waitUntilProcessed(handle, atPickup.at(-1)!);
    const predicted = await settledView(handle);
    expect(Date.parse(predicted.eta!)).toBeLessThan(Date.parse(at(120)));
    expect(predicted.stops[1]!.eta).toBe(predicted.eta);

    await env.sleep('3 hours');
    const open = await eventually(() => settledView(handle), (v) => v.anomalies.length > 0, 'LATE opened by the timer');
    expect(open.anomalies).toEqual([{ type: 'LATE', status: 'open', openedAt: at(135), stopSequence: 2, detail: `window ended ${at(120)} without arrival` }]);

    // Finally: leaves the pickup and reaches the customer.
    const trip = [fix(200, road(1), 60), fix(201, road(2), 60), ...Array.from({ length: 58 }, (_, i) => fix(202 + i, road(3 + i), 60)), fix(261, road(60), 0), fix(262, road(60), 0)];
    await push(plan, trip);
    const resolved = await eventually(() => settledView(handle), (v) => v.anomalies[0]?.status === 'resolved', 'LATE resolved');
    const arrived = resolved.milestones.find((m) => m.type === 'ARRIVED' && m.stopSequence === 2)!;
    expect(resolved.anomalies).toEqual([expect.objectContaining({ type: 'LATE', stopSequence: 2, resolvedAt: arrived.at })]);
    expect(await eventually(() => anomalyRows(plan.shipmentId), (rows) => rows.length === 2, 'both in the timeline')).toEqual(['OPENED:LATE', 'RESOLVED:LATE']);
    await handle.terminate('test finished');
    // Timers, ETA activities and anomaly upserts replay deterministically.
    await Worker.runReplayHistory({ workflowBundle: await bundleShipmentWorkflows() }, await handle.fetchHistory(), handle.workflowId);
  });

  it('raises UNPLANNED_STOP for a truck parked between stops, resolved when it drives on', async () => {
    const { plan, handle } = await startShipment(stops(), { ...QUIET, unplannedStopMin: 120 });
    const parked = [...departure(20), ...[32, 34, 36].map((m) => fix(m, road(21, 10), 0))];
    await push(plan, parked);
    await waitUntilProcessed(handle, parked.at(-1)!);
    await env.sleep('3 hours');
    const open = await eventually(() => settledView(handle), (v) => v.anomalies.length > 0, 'UNPLANNED_STOP opened by the timer');
    expect(open.anomalies).toEqual([expect.objectContaining({ type: 'UNPLANNED_STOP', status: 'open' })]);
    expect(Date.parse(open.anomalies[0]!.openedAt) - Date.parse(at(30))).toBeGreaterThanOrEqual(120 * 60_000);

    const onTheRoad = [200, 201, 202, 203].map((m) => fix(m, road(22 + (m - 200)), 60));
    await push(plan, onTheRoad);
    await eventually(() => settledView(handle), (v) => v.anomalies[0]?.status === 'resolved', 'UNPLANNED_STOP resolved');
    expect(await eventually(() => anomalyRows(plan.shipmentId), (rows) => rows.length === 2, 'both in the timeline')).toEqual(['OPENED:UNPLANNED_STOP', 'RESOLVED:UNPLANNED_STOP']);
    await handle.terminate('test finished');
  });
});

describe('anomalies raised by fixes', () => {
  it('opens OFF_ROUTE after consecutive fixes outside the corridor and resolves it once back', async () => {
    const { plan, handle } = await startShipment(stops(), { ...QUIET, offRouteCorridorM: 1_000, offRouteConsecutiveFixes: 3 }, ROUTE);
    const fixes = [
      ...departure(10),
      // A 3 km detour east for six minutes, with one fix jittering back inside the corridor but
      // not within the re-entry distance: the hysteresis keeps it open.
      ...[21, 22, 23, 24, 25, 26].map((m) => fix(m, road(m - 10, m === 24 ? 900 : 3_000), 50)),
      ...[27, 28, 29, 30, 31].map((m) => fix(m, road(m - 10), 60)),
    ];
    await push(plan, fixes);
    await waitUntilProcessed(handle, fixes.at(-1)!);
    const view = await settledView(handle);
    expect(episodes(view.anomalies, 'OFF_ROUTE')).toEqual([expect.objectContaining({ status: 'resolved', openedAt: at(21), resolvedAt: at(27) })]);
    expect(await eventually(() => anomalyRows(plan.shipmentId), (rows) => rows.length === 2, 'both in the timeline')).toEqual(['OPENED:OFF_ROUTE', 'RESOLVED:OFF_ROUTE']);
    await handle.terminate('test finished');
  });

  it('opens TEMPERATURE_EXCURSION when readings stay outside the range past the threshold and resolves it inside again', async () => {
    const { plan, handle } = await startShipment(stops(), { ...QUIET, temperatureRange: { minC: 2, maxC: 8 }, temperatureExcursionMin: 15 });
    const temperatures = (m: number) => (m >= 14 && m < 40 ? 11 : 4);
    const fixes = departure(35).map((f) => ({ ...f, temperatureC: temperatures((Date.parse(f.recordedAt) - T0) / 60_000) }));
    await push(plan, fixes);
    await waitUntilProcessed(handle, fixes.at(-1)!);
    const view = await settledView(handle);
    expect(episodes(view.anomalies, 'TEMPERATURE_EXCURSION')).toEqual([expect.objectContaining({ status: 'resolved', openedAt: at(29), resolvedAt: at(40) })]);
    expect(await eventually(() => anomalyRows(plan.shipmentId), (rows) => rows.length === 2, 'both in the timeline')).toEqual([
      'OPENED:TEMPERATURE_EXCURSION',
      'RESOLVED:TEMPERATURE_EXCURSION',
    ]);
    await handle.terminate('test finished');
  });
});

describe('ETA prediction', () => {
  it('stores every prediction of both sources once, even when the activity is retried', async () => {
    const { plan, handle } = await startShipment(stops(), QUIET);
    const fixes = departure(30);
    // Live: two fixes per upload, each processed before the next (one ETA per batch at most).
    for (const batch of chunk(fixes, 2)) {
      await push(plan, batch);
      await waitUntilProcessed(handle, batch.at(-1)!);
    }
    const view = await settledView(handle);
    await handle.terminate('test finished');

    const rows = await database.db.selectFrom('eta_predictions').selectAll().where('shipment_id', '=', plan.shipmentId).orderBy('predicted_at').execute();
    // After the batches with ARRIVED and DEPARTED and every 5 min of fix time in between: both sources each time.
    const times = [...new Set(rows.map((r) => r.predicted_at.toISOString()))];
    expect(times.length).toBeGreaterThanOrEqual(6);
    expect(times.length).toBeLessThanOrEqual(10);
    // Never more than the interval plus one upload apart (an upload spans 4 min at the pickup).
    for (let i = 1; i < times.length; i++) expect(Date.parse(times[i]!) - Date.parse(times[i - 1]!)).toBeLessThan(9 * 60_000);
    expect(rows.filter((r) => r.source === 'model')).toHaveLength(rows.filter((r) => r.source === 'baseline').length);
    const last = rows.filter((r) => r.source === 'model').at(-1)!;
    expect(view.eta).toBe(last.predicted_arrival.toISOString());
    expect(last.horizon_min).toBeCloseTo((last.predicted_arrival.getTime() - last.predicted_at.getTime()) / 60_000, 6);

    // A retried activity (same shipment, position and fix time) writes nothing new and answers the same.
    const request = {
      tenantId: plan.tenantId,
      shipmentId: plan.shipmentId,
      predictedAt: last.predicted_at.toISOString(),
      position: { lat: fixes.at(-1)!.lat, lon: fixes.at(-1)!.lon },
      stops: [
        { sequence: 1, status: 'DEPARTED' as const, arrivedAt: at(0) },
        { sequence: 2, status: 'PENDING' as const },
      ],
    };
    const first = await activities.predictShipmentEta(request);
    const again = await activities.predictShipmentEta(request);
    expect(again.stored).toBe(0);
    expect(again.stops).toEqual(first.stops);
    expect(first.stops.map((s) => s.sequence)).toEqual([2]);
    const count = await database.db.selectFrom('eta_predictions').select((eb) => eb.fn.countAll<string>().as('n')).where('shipment_id', '=', plan.shipmentId).executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(rows.length);

    const projected = await database.db.selectFrom('shipments').select('next_eta').where('id', '=', plan.shipmentId).executeTakeFirstOrThrow();
    expect(projected.next_eta).not.toBeNull();
  });
});

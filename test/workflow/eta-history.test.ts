// The ETA history refresh through real parts: a real Postgres database, the real Temporal dev
// server and worker with the real activities. The scheduled workflow learns a tenant's delivered
// shipments into the figures tables (and skips a tenant with none); the Schedule each worker
// ensures at start is created once, left alone when unchanged, updated when its interval changes,
// and its first run (started at once) writes the figures; the ETA activity then predicts with them.
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEtaHistory } from '../../db/repositories/eta-history.js';
import { createLogger } from '../../infra/logger.js';
import { ensureEtaHistorySchedule } from '../../worker/eta-history-schedule.js';
import { etaHistoryRefreshWorkflow } from '../../workflows/eta-history.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { startLocalTemporal } from '../support/temporal.js';
import { startShipmentWorker, type RunningShipmentWorker } from '../support/worker.js';
import { insertTenant } from './harness.js';

const TASK_QUEUE = `eta-history-${randomUUID().slice(0, 8)}`;
const logger = createLogger({ name: 'eta-history-test', level: 'silent' });
const DEPOT = { name: 'Lyon Gerland DC', lat: 45.7289, lon: 4.8317 };
const STORE = { name: 'Mâcon store', lat: 46.3069, lon: 4.8287 };
const DAY = 24 * 3600_000;
const START = Date.parse('2026-02-02T07:00:00.000Z');

let database: TestDatabase;
let temporal: TestWorkflowEnvironment;
let worker: RunningShipmentWorker;
let learning: string;
let newcomer: string;

/** A delivered shipment: 60 min at the depot, 90 min of driving north at about 43 km/h, arrived at the store. */
async function insertDelivered(tenantId: string, startMs: number, status: 'DELIVERED' | 'IN_TRANSIT' = 'DELIVERED'): Promise<string> {
  const id = randomUUID();
  const iso = (ms: number) => new Date(ms).toISOString();
  await database.db
    .insertInto('shipments')
    .values({ id, tenant_id: tenantId, reference: `H-${id.slice(0, 8)}`, status, workflow_id: `shipment/${tenantId}/${id}`, request_hash: id, route: null, thresholds: {}, created_at: iso(startMs - 3600_000), updated_at: iso(startMs + 3 * 3600_000) })
    .execute();
  const delivered = status === 'DELIVERED';
  await database.db
    .insertInto('stops')
    .values([
      { shipment_id: id, sequence: 1, tenant_id: tenantId, type: 'pickup', name: DEPOT.name, lat: DEPOT.lat, lon: DEPOT.lon, geofence_radius_m: 500, planned_dwell_min: 30, window_start: null, window_end: null, status: delivered ? 'DEPARTED' : 'PENDING', arrived_at: delivered ? iso(startMs) : null, departed_at: delivered ? iso(startMs + 60 * 60_000) : null },
      { shipment_id: id, sequence: 2, tenant_id: tenantId, type: 'delivery', name: STORE.name, lat: STORE.lat, lon: STORE.lon, geofence_radius_m: 500, planned_dwell_min: 20, window_start: null, window_end: null, status: delivered ? 'ARRIVED' : 'PENDING', arrived_at: delivered ? iso(startMs + 150 * 60_000) : null, departed_at: null },
    ])
    .execute();
  if (delivered) {
    const fixes = Array.from({ length: 91 }, (_, i) => ({
      tenant_id: tenantId,
      shipment_id: id,
      device_id: null,
      recorded_at: iso(startMs + (60 + i) * 60_000),
      lat: DEPOT.lat + ((STORE.lat - DEPOT.lat) * i) / 90,
      lon: DEPOT.lon + ((STORE.lon - DEPOT.lon) * i) / 90,
      speed_kmh: 43,
    }));
    await database.db.insertInto('positions').values(fixes).execute();
  }
  return id;
}

beforeAll(async () => {
  [database, temporal] = await Promise.all([createTestDatabase(), startLocalTemporal()]);
  worker = await startShipmentWorker({ temporal, db: database.db, taskQueue: TASK_QUEUE, logger });
  learning = await insertTenant(database.db);
  newcomer = await insertTenant(database.db);
  for (let i = 0; i < 24; i++) await insertDelivered(learning, START + i * DAY);
  await insertDelivered(newcomer, START, 'IN_TRANSIT');
}, 180_000);

afterAll(async () => {
  await worker?.stop();
  await temporal?.teardown();
  await database?.drop();
});

describe('ETA history refresh', () => {
  it('learns each tenant’s delivered shipments into the figures tables, skipping a tenant with none', { timeout: 120_000 }, async () => {
    const result = await temporal.client.workflow.execute(etaHistoryRefreshWorkflow, { taskQueue: TASK_QUEUE, workflowId: `eta-history-test-${randomUUID()}`, args: [{ maxShipments: 20 }] });
    expect(result.failed).toEqual([]);
    expect(result.refreshed.map((r) => r.tenantId)).toEqual([learning]);
    expect(result.refreshed[0]!.shipments).toBe(20); // the 20 most recent of 24

    const figures = (await loadEtaHistory(database.db, learning))!;
    expect(figures.shipments).toBe(20);
    const depot = figures.facilities.find((f) => f.name === DEPOT.name)!;
    expect(depot.visits).toBe(20);
    expect(depot.p50DwellMin).toBeCloseTo(60, 5);
    expect(depot.p50ExcessMin).toBeCloseTo(30, 5);
    expect(figures.corridors.length).toBeGreaterThan(0);
    for (const c of figures.corridors) {
      expect(c.km / (c.movingMin / 60)).toBeCloseTo(43, 5);
      expect(c.hourOfWeek).toBeGreaterThanOrEqual(0);
      expect(c.hourOfWeek).toBeLessThan(168);
    }
    expect(await loadEtaHistory(database.db, newcomer)).toBeUndefined();

    // A second run replaces the figures, it does not add to them.
    await temporal.client.workflow.execute(etaHistoryRefreshWorkflow, { taskQueue: TASK_QUEUE, workflowId: `eta-history-test-${randomUUID()}`, args: [{ maxShipments: 20 }] });
    const again = (await loadEtaHistory(database.db, learning))!;
    expect(again.facilities).toEqual(figures.facilities);
    expect(again.corridors).toEqual(figures.corridors);
  });

  it('the ETA activity predicts with the figures above the threshold and with today’s model below it', { timeout: 60_000 }, async () => {
    const live = await insertDelivered(learning, START + 40 * DAY, 'IN_TRANSIT');
    const request = {
      tenantId: learning,
      shipmentId: live,
      predictedAt: new Date(START + 40 * DAY + 10 * 60_000).toISOString(),
      position: { lat: DEPOT.lat, lon: DEPOT.lon },
      stops: [{ sequence: 1, status: 'ARRIVED' as const, arrivedAt: new Date(START + 40 * DAY).toISOString() }],
    };
    const withHistory = await worker.activities.predictShipmentEta(request);
    expect(withHistory.history).toMatchObject({ shipments: 20, dwellStops: 1 });
    const stored = await database.db.selectFrom('eta_predictions').select(['source', 'model']).where('shipment_id', '=', live).execute();
    expect(stored.find((r) => r.source === 'model')!.model).toMatch(/\+history$/);

    // The same tenant with a threshold above its deliveries: today's model, nothing from history.
    const { createActivities } = await import('../../activities/index.js');
    const strict = createActivities({ db: database.db, logger, etaHistory: { minShipments: 21 } });
    const today = await strict.predictShipmentEta({ ...request, predictedAt: new Date(START + 40 * DAY + 11 * 60_000).toISOString() });
    expect(today.history).toBeUndefined();
    // Learned: an hour of dwell at the depot where 30 min were planned. The speed is the same 43 km/h
    // both ways here (today's model has it as the lane's historical speed), so the difference is the dwell.
    expect(Date.parse(withHistory.stops[0]!.eta)).toBe(Date.parse(today.stops[0]!.eta) + 30 * 60_000);
  });

  it('creates the Schedule once, leaves it alone unchanged, updates a changed interval; its first run writes the figures', { timeout: 120_000 }, async () => {
    await database.db.deleteFrom('eta_history_refreshes').execute();
    const scheduleId = `eta-history-refresh-${randomUUID().slice(0, 8)}`;
    const options = { taskQueue: TASK_QUEUE, everyMinutes: 360, maxShipments: 500, logger, scheduleId };
    expect(await ensureEtaHistorySchedule(temporal.client, options)).toBe('created');
    expect(await ensureEtaHistorySchedule(temporal.client, options)).toBe('unchanged');
    expect(await ensureEtaHistorySchedule(temporal.client, { ...options, everyMinutes: 720 })).toBe('updated');
    const handle = temporal.client.schedule.getHandle(scheduleId);
    const described = await handle.describe();
    expect(Number(described.spec.intervals?.[0]?.every)).toBe(720 * 60_000);

    // Triggered at creation: the refresh runs without waiting six hours.
    let refreshed: Awaited<ReturnType<typeof loadEtaHistory>>;
    for (let i = 0; i < 200 && !(refreshed = await loadEtaHistory(database.db, learning)); i++) await delay(250);
    expect(refreshed!.shipments).toBe(24);
    expect((await handle.describe()).info.recentActions.length).toBeGreaterThanOrEqual(1);
    await handle.delete();
  });
});

// The API against a real worker running the shipment workflow: live state by query, a trip pushed
// in batches yielding milestones in order, and cancel through the workflow's Update.
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTrip } from '../support/trip.js';
import { startShipmentWorker, type RunningShipmentWorker } from '../support/worker.js';
import { shipmentBody, startHarness, wakeups, type Harness } from './harness.js';

let h: Harness;
let worker: RunningShipmentWorker;

beforeAll(async () => {
  h = await startHarness({ queryTimeoutMs: 5_000 });
  worker = await startShipmentWorker({ temporal: h.temporal, db: h.database.db });
});

afterAll(async () => {
  await worker?.stop();
  await h?.close();
});

const STOPS = [
  { type: 'pickup', name: 'Lyon Gerland DC', location: { lat: 45.7289, lon: 4.8317 }, geofenceRadiusM: 300 },
  { type: 'waypoint', name: 'Vénissieux cross-dock', location: { lat: 45.6975, lon: 4.8867 }, geofenceRadiusM: 300 },
  { type: 'delivery', name: 'Saint-Priest store', location: { lat: 45.6956, lon: 4.9436 }, geofenceRadiusM: 250 },
];

// The trip ends by driving away from the delivery stop.
const MILESTONES = ['ARRIVED:1', 'DEPARTED:1', 'ARRIVED:2', 'DEPARTED:2', 'ARRIVED:3', 'DEPARTED:3'];

async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 45_000;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}: ${JSON.stringify(value)}`);
    await delay(100);
  }
}

describe('with the shipment worker running', () => {
  it('turns a trip pushed in batches into milestones in order, DELIVERED, and a timeline', async () => {
    const created = await h.call('POST', '/v1/shipments', h.acme.keys.dispatcher, shipmentBody({ stops: STOPS, route: undefined, deviceId: h.acme.fleet.deviceId }));
    expect(created.status).toBe(201);
    const { id, workflowId } = created.body;

    const live = await h.call('GET', `/v1/shipments/${id}`, h.acme.keys.viewer);
    expect(live.headers.get('x-state-source')).toBe('workflow');
    expect(live.body).toMatchObject({ id, status: 'PLANNED', workflowId });

    const trip = generateTrip(
      STOPS.map((s) => ({ stop: s.location, dwellMin: 20 })),
      { start: new Date(Date.now() - 6 * 3_600_000), intervalSec: 15, speedKmh: 50 },
    );
    expect(trip.length).toBeGreaterThanOrEqual(300);
    for (let i = 0; i < trip.length; i += 50) {
      const res = await h.call('POST', `/v1/shipments/${id}/positions`, h.acme.keys.device, { positions: trip.slice(i, i + 50) });
      expect(res.status, JSON.stringify(res.body)).toBe(202);
    }
    // A repeated upload of the whole trip changes nothing.
    const repeat = await h.call('POST', `/v1/shipments/${id}/positions`, h.acme.keys.dispatcher, { positions: trip.slice(0, 1000) });
    expect(repeat.body).toMatchObject({ accepted: 0, duplicates: Math.min(trip.length, 1000) });
    const view = await eventually(
      () => h.call('GET', `/v1/shipments/${id}`, h.acme.keys.viewer).then((r) => r.body),
      (v) => v.status === 'DELIVERED' && v.milestones.length === 6 && v.fixCounts?.applied === trip.length,
      'DELIVERED with every milestone and every fix',
    );
    // Each fix exactly once: stored once, applied once, none seen twice; far fewer wake-ups than requests.
    expect(view.fixCounts).toEqual({ applied: trip.length, duplicates: 0, late: 0, ignored: 0, rewinds: 0 });
    expect((await wakeups(h.client, workflowId)).length).toBeLessThanOrEqual(Math.ceil(trip.length / 50) + 1);
    expect(view.milestones.map((m: any) => `${m.type}:${m.stopSequence}`)).toEqual(MILESTONES);
    const fixTimes = new Set(trip.map((f) => f.recordedAt));
    for (const milestone of view.milestones) expect(fixTimes.has(milestone.at)).toBe(true);

    // The projection (written by the workflow's activities) catches up and serves lists and the timeline.
    await eventually(
      () => h.call('GET', `/v1/shipments?status=DELIVERED&reference=${view.reference}`, h.acme.keys.viewer).then((r) => r.body.items),
      (items) => items.length === 1,
      'projection DELIVERED',
    );
    const milestoneEvents = await eventually(
      () =>
        h
          .call('GET', `/v1/shipments/${id}/timeline?limit=500`, h.acme.keys.viewer)
          .then((r) => r.body.items.filter((e: any) => e.type === 'ARRIVED' || e.type === 'DEPARTED')),
      (events) => events.length === MILESTONES.length,
      'milestones in the timeline',
    );
    expect(milestoneEvents.map((e: any) => `${e.type}:${e.stopSequence}`)).toEqual(MILESTONES);

    // A delivered shipment cannot be cancelled: the Update's validator refuses, the API says 409.
    const cancel = await h.call('POST', `/v1/shipments/${id}/cancel`, h.acme.keys.dispatcher, { reason: 'too late' });
    expect(cancel.status).toBe(409);
    expect(cancel.body.type).toBe('https://retrack.dev/problems/conflict');
    expect(cancel.body.detail).toMatch(/delivered/);
  });

  it('cancels a planned shipment through the workflow', async () => {
    const created = await h.call('POST', '/v1/shipments', h.acme.keys.dispatcher, shipmentBody({ stops: STOPS, route: undefined, deviceId: h.acme.fleet.deviceId }));
    const res = await h.call('POST', `/v1/shipments/${created.body.id}/cancel`, h.acme.keys.dispatcher, { reason: 'customer withdrew the order' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ id: created.body.id, status: 'CANCELLED', cancellation: { reason: 'customer withdrew the order' } });
    const view = await h.call('GET', `/v1/shipments/${created.body.id}`, h.acme.keys.viewer);
    expect(view.body.status).toBe('CANCELLED');
    const timeline = await h.call('GET', `/v1/shipments/${created.body.id}/timeline`, h.acme.keys.viewer);
    expect(timeline.body.items.map((e: any) => e.type)).toContain('CANCELLED');
  });
});

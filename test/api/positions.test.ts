// The ingest hot path: validation, storage with repeats ignored and a per-shipment sequence, and
// the wake-up protocol (one outstanding wake-up per shipment, the sweeper, closed workflows).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFixIngest, temporalWakeup } from '../../api/fix-ingest.js';
import { ingestMarks, loadStoredFixes } from '../../db/repositories/fix-ingest.js';
import { fixToRow } from '../../db/repositories/positions.js';
import { createLogger } from '../../infra/logger.js';
import { fixes, shipmentBody, startHarness, storedBySequence, wakeups, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ maxClockSkewSeconds: 120 });
});
afterAll(async () => {
  await h?.close();
});

async function createShipment(overrides: Record<string, unknown> = {}) {
  const res = await h.call('POST', '/v1/shipments', h.acme.keys.dispatcher, shipmentBody({ deviceId: h.acme.fleet.deviceId, ...overrides }));
  expect(res.status).toBe(201);
  return res.body as { id: string; workflowId: string };
}

const push = (shipmentId: string, positions: unknown[], key = h.acme.keys.dispatcher) =>
  h.call('POST', `/v1/shipments/${shipmentId}/positions`, key, { positions });

describe('validation', () => {
  it('names each bad field of each fix', async () => {
    const shipment = await createShipment();
    const [a, b, c] = fixes(3);
    const res = await push(shipment.id, [
      { ...a, lat: 91 },
      { ...b, lon: -181, recordedAt: 'yesterday' },
      { ...c, speedKmh: 401, accuracyM: 100_001 },
    ]);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.body.errors.map((e: any) => e.field).sort()).toEqual([
      'positions[0].lat',
      'positions[1].lon',
      'positions[1].recordedAt',
      'positions[2].accuracyM',
      'positions[2].speedKmh',
    ]);
  });

  it('rejects fixes from the future beyond the clock skew, but accepts those within it', async () => {
    const shipment = await createShipment();
    const soon = { recordedAt: new Date(Date.now() + 60_000).toISOString(), lat: 45, lon: 4 };
    const later = { recordedAt: new Date(Date.now() + 3_600_000).toISOString(), lat: 45, lon: 4 };
    const res = await push(shipment.id, [soon, later]);
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ field: 'positions[1].recordedAt', message: expect.stringMatching(/future/) }]);
    expect((await push(shipment.id, [soon])).status).toBe(202);
  });

  it('accepts 1 to 1000 fixes per request', async () => {
    const shipment = await createShipment();
    const empty = await push(shipment.id, []);
    expect(empty.status).toBe(400);
    expect(empty.body.errors[0].field).toBe('positions');
    const tooMany = await push(shipment.id, fixes(1001));
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.errors[0]).toMatchObject({ field: 'positions', message: expect.stringMatching(/1000/) });
    const full = await push(shipment.id, fixes(1000));
    expect(full.status).toBe(202);
    expect(full.body).toEqual({ accepted: 1000, duplicates: 0 });
  });
});

describe('ingest', () => {
  it('stores each fix once, counts repeats, numbers them in the order stored, and sends one wake-up', async () => {
    const shipment = await createShipment();
    const batch = fixes(10);
    const shuffled = [batch[3], batch[0], batch[9], batch[1], batch[2], batch[8], batch[4], batch[7], batch[5], batch[6]];
    const first = await push(shipment.id, [...shuffled, batch[0]]);
    expect(first.status).toBe(202);
    expect(first.body).toEqual({ accepted: 10, duplicates: 1 });

    const again = await push(shipment.id, batch.slice(5).concat(fixes(2, Date.parse(batch[9]!.recordedAt) + 60_000)));
    expect(again.body).toEqual({ accepted: 2, duplicates: 5 });

    const rows = await h.database.db.selectFrom('positions').selectAll().where('shipment_id', '=', shipment.id).execute();
    expect(rows).toHaveLength(12);
    expect(rows.every((r) => r.device_id === h.acme.fleet.deviceId && r.tenant_id === h.acme.id)).toBe(true);
    const stored = await storedBySequence(h, shipment.id);
    expect(stored.map((r) => r.recordedAt).slice(0, 10)).toEqual(shuffled.map((f) => f!.recordedAt));
    expect(new Set(stored.map((r) => r.seq)).size).toBe(12);
    // Nothing read them yet (no worker here), so the second request found a wake-up outstanding.
    expect(await wakeups(h.client, shipment.workflowId)).toEqual([11]);
    expect(await ingestMarks(h.database.db, shipment.id)).toEqual({ stored: 18, loaded: 0, wake: 11 });
  });

  it('treats the same instant written with another offset as a repeat', async () => {
    const shipment = await createShipment();
    const res1 = await push(shipment.id, [{ recordedAt: '2026-11-26T08:00:00Z', lat: 45, lon: 4 }]);
    const res2 = await push(shipment.id, [{ recordedAt: '2026-11-26T09:00:00+01:00', lat: 45, lon: 4 }]);
    expect(res1.body).toEqual({ accepted: 1, duplicates: 0 });
    expect(res2.body).toEqual({ accepted: 0, duplicates: 1 });
  });

  it('answers 202 when the wake-up cannot be sent, and the sweeper sends it', async () => {
    const shipment = await createShipment();
    const batch = fixes(20);
    h.failDeliveries.remaining = 1;
    const stored = await push(shipment.id, batch);
    expect(stored.status).toBe(202);
    expect(stored.body).toEqual({ accepted: 20, duplicates: 0 });
    expect(await wakeups(h.client, shipment.workflowId)).toEqual([]);

    // A retry repeats nothing and needs no new wake-up: the first one is still outstanding.
    expect((await push(shipment.id, batch)).body).toEqual({ accepted: 0, duplicates: 20 });
    const swept = await h.ingest.sweep();
    expect(swept.delivered).toBeGreaterThanOrEqual(1);
    expect(await wakeups(h.client, shipment.workflowId)).toEqual([20]);
    expect((await storedBySequence(h, shipment.id)).map((r) => r.recordedAt)).toEqual(batch.map((f) => f.recordedAt));
  });

  it('re-sends a wake-up Temporal accepted only after the delivered resend time, and one that failed at once', async () => {
    const shipment = await createShipment();
    const target = { tenantId: h.acme.id, shipmentId: shipment.id };
    const owner = { tenantId: h.acme.id, shipmentId: shipment.id, deviceId: null };
    const options = { db: h.database.db, wake: temporalWakeup(h.client), logger: createLogger({ name: 'resend-test', level: 'silent' }), resendAfterMs: 0 };
    const patient = createFixIngest({ ...options, deliveredResendAfterMs: 60_000 });
    const ours = async (ingest: typeof patient) => (await ingest.sweep(), (await wakeups(h.client, shipment.workflowId)).length);
    await patient.store(target, fixes(3).map((fix) => fixToRow(fix, owner)));
    expect(await wakeups(h.client, shipment.workflowId)).toEqual([3]);
    // No worker reads it, so it stays outstanding; Temporal holds the signal, so a sweep adds none.
    expect(await ours(patient)).toBe(1);
    expect(await ours(patient)).toBe(1);
    expect(await ingestMarks(h.database.db, shipment.id)).toEqual({ stored: 3, loaded: 0, wake: 3 });
    // Past the delivered resend time (0 here) it is sent again, in case a reset run dropped it.
    expect(await ours(createFixIngest({ ...options, deliveredResendAfterMs: 0 }))).toBe(2);
    // A process that never saw its signal accepted (it died, or the signal failed) re-sends at once.
    const second = await createShipment();
    const failing = createFixIngest({ ...options, deliveredResendAfterMs: 60_000, wake: async () => Promise.reject(new Error('Temporal unreachable')) });
    await failing.store({ ...target, shipmentId: second.id }, fixes(2).map((fix) => fixToRow(fix, { ...owner, shipmentId: second.id })));
    expect(await wakeups(h.client, second.workflowId)).toEqual([]);
    await patient.sweep();
    expect(await wakeups(h.client, second.workflowId)).toEqual([2]);
  });

  it('keeps the wake-up outstanding while the workflow does not exist yet, and sends it once it does', async () => {
    const shipment = await createShipment();
    // Simulate "rows stored, workflow never started" by pointing the shipment at an id with no workflow.
    const ghost = `${shipment.workflowId}/ghost`;
    await h.database.db.updateTable('shipments').set({ workflow_id: ghost }).where('id', '=', shipment.id).execute();
    expect((await push(shipment.id, fixes(3))).status).toBe(202);
    expect((await h.ingest.sweep()).failed).toBeGreaterThanOrEqual(1);
    expect((await ingestMarks(h.database.db, shipment.id))!.wake).toBe(3);
    await h.database.db.updateTable('shipments').set({ workflow_id: shipment.workflowId }).where('id', '=', shipment.id).execute();
    await h.ingest.sweep();
    expect(await wakeups(h.client, shipment.workflowId)).toEqual([3]);
  });

  it('stores fixes for a closed workflow and says the shipment is closed', async () => {
    const shipment = await createShipment();
    await h.client.workflow.getHandle(shipment.workflowId).terminate('delivered long ago');
    const res = await push(shipment.id, fixes(4));
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ accepted: 4, duplicates: 0, shipmentClosed: true });
    // Nothing will read them: no wake-up stays outstanding for the sweeper.
    expect(await ingestMarks(h.database.db, shipment.id)).toEqual({ stored: 4, loaded: 4, wake: 4 });
  });

  it('lets a device key push only to the shipment it is assigned to', async () => {
    const mine = await createShipment({ deviceId: h.acme.fleet.deviceId });
    const other = await createShipment({ deviceId: await h.createDevice(h.acme) });
    expect((await push(mine.id, fixes(1), h.acme.keys.device)).status).toBe(202);
    expect((await push(other.id, fixes(1), h.acme.keys.device)).status).toBe(403);
    expect((await push(mine.id, fixes(1), h.acme.keys.viewer)).status).toBe(403);
    // The lookup and the store are one statement: a refused push stores nothing, and neither does one for another tenant's shipment.
    expect(await storedBySequence(h, other.id)).toEqual([]);
    expect(await ingestMarks(h.database.db, other.id)).toBeUndefined();
    const foreign = await push(mine.id, fixes(2), h.globex.keys.dispatcher);
    expect(foreign.status).toBe(404);
    expect(await storedBySequence(h, mine.id)).toHaveLength(1);
    expect((await push('not-a-uuid', fixes(1))).status).toBe(404);
  });

  it('gives many concurrent requests for one shipment one wake-up, and each fix its own sequence', async () => {
    const shipment = await createShipment();
    const all = fixes(200);
    const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => push(shipment.id, all.slice(i * 10, i * 10 + 10))));
    expect(responses.every((r) => r.status === 202)).toBe(true);
    expect(responses.reduce((n, r) => n + r.body.accepted, 0)).toBe(200);
    expect(await wakeups(h.client, shipment.workflowId)).toHaveLength(1);
    const stored = await storedBySequence(h, shipment.id);
    expect(stored.map((r) => r.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(stored.map((r) => r.recordedAt).sort()).toEqual(all.map((f) => f.recordedAt).sort());
  });
});

describe('the reported position before the workflow reads it', () => {
  it('is the newest stored fix good enough to be a position, never an older or a too inaccurate one, and leaves lastPosition alone', async () => {
    // No worker here: nothing is ever read, so every reported position comes from the store.
    const shipment = await createShipment();
    const view = async () => (await h.call('GET', `/v1/shipments/${shipment.id}`, h.acme.keys.viewer)).body;
    expect((await view()).reportedPosition).toBeUndefined();
    const [older, newer, newest] = fixes(3);
    await push(shipment.id, [newer]);
    expect(await view()).toMatchObject({ reportedPosition: newer });
    await push(shipment.id, [older]);
    expect((await view()).reportedPosition).toEqual(newer);
    // Worse than the geofence's accuracy limit (1,000 m by default): the workflow would not take it either.
    await push(shipment.id, [{ ...newest, accuracyM: 5_000 }]);
    expect((await view()).reportedPosition).toEqual(newer);
    await push(shipment.id, [{ ...newest, recordedAt: new Date(Date.parse(newest!.recordedAt) + 1_000).toISOString(), accuracyM: 20 }]);
    const shown = await view();
    expect(shown.reportedPosition).toMatchObject({ lat: newest!.lat, accuracyM: 20 });
    expect(shown.lastPosition).toBeUndefined();
  });
});

describe('deferred wake-ups (calm zone)', () => {
  it('stores fixes inside the calm zone without a wake-up, wakes at once for one outside, and delivers the deferred ones later', async () => {
    const shipment = await createShipment();
    const ingest = createFixIngest({ db: h.database.db, wake: temporalWakeup(h.client), logger: createLogger({ name: 'deferral-test', level: 'silent' }), deferMs: 200 });
    const target = { tenantId: h.acme.id, shipmentId: shipment.id };
    const owner = { tenantId: h.acme.id, shipmentId: shipment.id, deviceId: null };
    const store = (batch: ReturnType<typeof fixes>) => ingest.store(target, batch.map((fix) => fixToRow(fix, owner)));
    const trip = fixes(6);
    // 1 km around the first fix (lat 45.75): 0.001° of latitude is 111 m, so the first five fixes lie inside.
    const zone = { lat: 45.75, lon: 4.85, radiusM: 1_000 };

    expect(await store(trip.slice(0, 1))).toMatchObject({ accepted: 1, deferred: false });
    expect(await loadStoredFixes(h.database.db, shipment.id, 0, 500, zone)).toMatchObject({ upToSeq: 1 });

    expect(await store(trip.slice(1, 3))).toMatchObject({ accepted: 2, deferred: true });
    expect(await ingestMarks(h.database.db, shipment.id)).toEqual({ stored: 3, loaded: 1, wake: 1 });
    // Not due yet: the window has not passed.
    expect(await ingest.deliverDeferred()).toEqual({ outstanding: 0, delivered: 0, failed: 0 });
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(await ingest.deliverDeferred()).toEqual({ outstanding: 1, delivered: 1, failed: 0 });
    expect(await ingestMarks(h.database.db, shipment.id)).toEqual({ stored: 3, loaded: 1, wake: 3 });
    expect((await wakeups(h.client, shipment.workflowId)).at(-1)).toBe(3);

    // Read up to 3 with the zone still stated; a fix 10 km north leaves it and wakes the workflow at once.
    await loadStoredFixes(h.database.db, shipment.id, 1, 500, zone);
    const far = { ...trip[5]!, lat: 45.84 };
    expect(await store([far])).toMatchObject({ accepted: 1, deferred: false });
    expect(await ingestMarks(h.database.db, shipment.id)).toEqual({ stored: 4, loaded: 3, wake: 4 });

    // With a band along the road (due north on lon 4.85), a fix inside the disc but 1 km east of the road wakes it.
    const band = { ...zone, radiusM: 20_000, corridor: { path: [[4.85, 45.7], [4.85, 45.9]] as [number, number][], widthM: 700 } };
    await loadStoredFixes(h.database.db, shipment.id, 3, 500, band);
    expect(await store([{ ...trip[4]!, lon: 4.863 }])).toMatchObject({ deferred: false });
    await loadStoredFixes(h.database.db, shipment.id, 4, 500, band);
    expect(await store([{ ...trip[4]!, recordedAt: new Date(Date.parse(trip[4]!.recordedAt) + 1_000).toISOString(), lon: 4.855 }])).toMatchObject({ deferred: true });

    // A load without a zone (at a stop, say) makes every fix wake the workflow again.
    await loadStoredFixes(h.database.db, shipment.id, 6, 500);
    expect(await store(trip.slice(3, 4))).toMatchObject({ deferred: false });
    expect(await ingestMarks(h.database.db, shipment.id)).toEqual({ stored: 7, loaded: 6, wake: 7 });
  });

  it('wakes on every fix when deferral is off, whatever zone the workflow stated', async () => {
    const shipment = await createShipment();
    const [first, second] = fixes(2);
    expect((await push(shipment.id, [first])).body).toEqual({ accepted: 1, duplicates: 0 });
    await loadStoredFixes(h.database.db, shipment.id, 0, 500, { lat: first!.lat, lon: first!.lon, radiusM: 5_000 });
    expect((await push(shipment.id, [second])).body).toEqual({ accepted: 1, duplicates: 0 });
    expect(await ingestMarks(h.database.db, shipment.id)).toEqual({ stored: 2, loaded: 1, wake: 2 });
  });
});

describe('POST /v1/positions (by device)', () => {
  it("routes a device's fixes to its active shipments, or keeps them for the device when it has none", async () => {
    const deviceId = await h.createDevice(h.acme);
    const parked = fixes(3, Date.now() - 3 * 3_600_000);
    const idle = await h.call('POST', '/v1/positions', h.acme.keys.dispatcher, { deviceId, positions: parked });
    expect(idle.status).toBe(202);
    expect(idle.body).toEqual({ accepted: 3, duplicates: 0, unrouted: 3, shipments: [] });
    const again = await h.call('POST', '/v1/positions', h.acme.keys.dispatcher, { deviceId, positions: parked });
    expect(again.body).toEqual({ accepted: 0, duplicates: 3, unrouted: 3, shipments: [] });

    const shipment = await createShipment({ deviceId });
    const batch = fixes(5, Date.now() - 30 * 60_000);
    const routed = await h.call('POST', '/v1/positions', h.acme.keys.dispatcher, { deviceId, positions: batch });
    expect(routed.status).toBe(202);
    expect(routed.body).toEqual({ accepted: 5, duplicates: 0, unrouted: 0, shipments: [{ shipmentId: shipment.id, accepted: 5, duplicates: 0 }] });
    expect((await storedBySequence(h, shipment.id)).map((r) => r.recordedAt)).toEqual(batch.map((f) => f.recordedAt));
    expect(await wakeups(h.client, shipment.workflowId)).toEqual([5]);
    const unrouted = await h.database.db.selectFrom('positions').select('id').where('device_id', '=', deviceId).where('shipment_id', 'is', null).execute();
    expect(unrouted).toHaveLength(3);
  });

  it('lets a device key send only its own positions', async () => {
    expect((await h.call('POST', '/v1/positions', h.acme.keys.device, { deviceId: await h.createDevice(h.acme), positions: fixes(1) })).status).toBe(403);
    expect((await h.call('POST', '/v1/positions', h.acme.keys.viewer, { deviceId: h.acme.fleet.deviceId, positions: fixes(1) })).status).toBe(403);
    // A dispatcher names a device of its own tenant; another tenant's device looks missing.
    const foreign = await h.call('POST', '/v1/positions', h.acme.keys.dispatcher, { deviceId: h.globex.fleet.deviceId, positions: fixes(1) });
    expect(foreign.status).toBe(422);
    expect(foreign.body.errors).toEqual([{ field: 'deviceId', message: expect.any(String) }]);
    const missing = await h.call('POST', '/v1/positions', h.acme.keys.dispatcher, { positions: fixes(1) });
    expect(missing.status).toBe(400);
    expect(missing.body.errors[0].field).toBe('deviceId');
  });
});

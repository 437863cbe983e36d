// The ingest hot path: validation, bulk insert with repeats ignored, and exactly-once delivery to
// the workflow through the outbox (signal failure, retry, sweeper, closed workflows, coalescing).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSignalOutbox, type FixDelivery } from '../../api/signal-outbox.js';
import { countUnsignalled, fixToRow, insertPositions } from '../../db/repositories/positions.js';
import { createLogger } from '../../infra/logger.js';
import { fixes, shipmentBody, signalledBatches, startHarness, type Harness } from './harness.js';

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
  it('stores each fix once, counts repeats, and signals one batch in fix-time order', async () => {
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
    expect(rows.every((r) => r.device_id === h.acme.fleet.deviceId && r.signalled_at !== null && r.tenant_id === h.acme.id)).toBe(true);

    const batches = await signalledBatches(h.client, shipment.workflowId);
    expect(batches.map((b) => b.length)).toEqual([10, 2]);
    expect(batches[0]!.map((f) => f.recordedAt)).toEqual(batch.map((f) => f.recordedAt));
    expect(batches[0]![0]).toEqual({ recordedAt: batch[0]!.recordedAt, lat: batch[0]!.lat, lon: batch[0]!.lon, speedKmh: 60 });
  });

  it('treats the same instant written with another offset as a repeat', async () => {
    const shipment = await createShipment();
    const res1 = await push(shipment.id, [{ recordedAt: '2026-11-26T08:00:00Z', lat: 45, lon: 4 }]);
    const res2 = await push(shipment.id, [{ recordedAt: '2026-11-26T09:00:00+01:00', lat: 45, lon: 4 }]);
    expect(res1.body).toEqual({ accepted: 1, duplicates: 0 });
    expect(res2.body).toEqual({ accepted: 0, duplicates: 1 });
  });

  it('on a failed signal answers 5xx, keeps the fixes in the outbox, and the retry delivers them exactly once', async () => {
    const shipment = await createShipment();
    const batch = fixes(20);
    h.failDeliveries.remaining = 1;
    const failed = await push(shipment.id, batch);
    expect(failed.status).toBe(503);
    expect(failed.headers.get('content-type')).toBe('application/problem+json');
    expect(failed.body).toMatchObject({ type: 'https://retrack.dev/problems/signal-failed', accepted: 20, duplicates: 0 });
    expect(failed.body.detail).not.toMatch(/simulated/);
    expect(await countUnsignalled(h.database.db, shipment.id)).toBe(20);
    expect(await signalledBatches(h.client, shipment.workflowId)).toEqual([]);

    const retry = await push(shipment.id, batch);
    expect(retry.status).toBe(202);
    expect(retry.body).toEqual({ accepted: 0, duplicates: 20 });
    expect(await countUnsignalled(h.database.db, shipment.id)).toBe(0);

    // A third, identical request repeats nothing.
    expect((await push(shipment.id, batch)).body).toEqual({ accepted: 0, duplicates: 20 });
    const delivered = (await signalledBatches(h.client, shipment.workflowId)).flat().map((f) => f.recordedAt);
    expect(delivered).toEqual(batch.map((f) => f.recordedAt));
  });

  it('keeps fixes undelivered while the workflow does not exist yet, and delivers once it does', async () => {
    const shipment = await createShipment();
    const handle = h.client.workflow.getHandle(shipment.workflowId);
    const batch = fixes(3);
    // Simulate "rows stored, workflow never started" by pointing the shipment at an id with no workflow.
    const ghost = `${shipment.workflowId}/ghost`;
    await h.database.db.updateTable('shipments').set({ workflow_id: ghost }).where('id', '=', shipment.id).execute();
    expect((await push(shipment.id, batch)).status).toBe(503);
    expect(await countUnsignalled(h.database.db, shipment.id)).toBe(3);
    await h.database.db.updateTable('shipments').set({ workflow_id: shipment.workflowId }).where('id', '=', shipment.id).execute();
    expect((await push(shipment.id, batch)).body).toEqual({ accepted: 0, duplicates: 3 });
    expect((await signalledBatches(h.client, handle.workflowId)).flat()).toHaveLength(3);
  });

  it('stores fixes for a closed workflow, marks them delivered and says the shipment is closed', async () => {
    const shipment = await createShipment();
    await h.client.workflow.getHandle(shipment.workflowId).terminate('delivered long ago');
    const res = await push(shipment.id, fixes(4));
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ accepted: 4, duplicates: 0, shipmentClosed: true });
    expect(await countUnsignalled(h.database.db, shipment.id)).toBe(0);
  });

  it('lets a device key push only to the shipment it is assigned to', async () => {
    const mine = await createShipment({ deviceId: h.acme.fleet.deviceId });
    const other = await createShipment({ deviceId: await h.createDevice(h.acme) });
    expect((await push(mine.id, fixes(1), h.acme.keys.device)).status).toBe(202);
    expect((await push(other.id, fixes(1), h.acme.keys.device)).status).toBe(403);
    expect((await push(mine.id, fixes(1), h.acme.keys.viewer)).status).toBe(403);
  });

  it('coalesces many concurrent requests for one shipment into few signals, each fix delivered once', async () => {
    const shipment = await createShipment();
    const all = fixes(200);
    const requests = Array.from({ length: 20 }, (_, i) => push(shipment.id, all.slice(i * 10, i * 10 + 10)));
    const responses = await Promise.all(requests);
    expect(responses.every((r) => r.status === 202)).toBe(true);
    expect(responses.reduce((n, r) => n + r.body.accepted, 0)).toBe(200);
    const batches = await signalledBatches(h.client, shipment.workflowId);
    expect(batches.length).toBeLessThan(20);
    const delivered = batches.flat().map((f) => f.recordedAt).sort();
    expect(delivered).toEqual(all.map((f) => f.recordedAt).sort());
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
    expect((await signalledBatches(h.client, shipment.workflowId)).flat().map((f) => f.recordedAt)).toEqual(batch.map((f) => f.recordedAt));
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

describe('signal outbox', () => {
  const logger = createLogger({ name: 'outbox-test', level: 'silent' });

  it('runs at most one flush per shipment; callers arriving meanwhile share the next one', async () => {
    const shipment = await createShipment();
    const owner = { tenantId: h.acme.id, shipmentId: shipment.id, deviceId: h.acme.fleet.deviceId };
    const calls: number[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const deliver: FixDelivery = async (_workflowId, batch) => {
      calls.push(batch.length);
      if (calls.length === 1) await gate;
      return 'delivered';
    };
    const outbox = createSignalOutbox({ db: h.database.db, deliver, logger });
    const target = { shipmentId: shipment.id, workflowId: shipment.workflowId };

    const batch = fixes(12);
    await insertPositions(h.database.db, batch.slice(0, 2).map((f) => fixToRow(f, owner)));
    const first = outbox.flush(target);
    while (calls.length === 0) await new Promise((r) => setTimeout(r, 5));
    // Ten more requests store their fixes and ask for a flush while the first is in flight.
    const joined = [];
    for (let i = 2; i < 12; i++) {
      await insertPositions(h.database.db, [fixToRow(batch[i]!, owner)]);
      joined.push(outbox.flush(target));
    }
    release();
    const results = await Promise.all([first, ...joined]);
    expect(calls).toEqual([2, 10]);
    expect(results[0]).toMatchObject({ fixes: 2, signals: 1 });
    expect(new Set(joined)).toHaveProperty('size', 1);
    expect(results[1]).toMatchObject({ fixes: 10, signals: 1 });
    expect(await countUnsignalled(h.database.db, shipment.id)).toBe(0);
    await outbox.idle();
  });

  it('splits a large backlog into signals of at most batchSize fixes', async () => {
    const shipment = await createShipment();
    const owner = { tenantId: h.acme.id, shipmentId: shipment.id, deviceId: h.acme.fleet.deviceId };
    await insertPositions(h.database.db, fixes(25).map((f) => fixToRow(f, owner)));
    const sizes: number[] = [];
    const outbox = createSignalOutbox({ db: h.database.db, logger, batchSize: 10, deliver: async (_id, batch) => (sizes.push(batch.length), 'delivered') });
    expect(await outbox.flush({ shipmentId: shipment.id, workflowId: shipment.workflowId })).toEqual({ fixes: 25, signals: 3, shipmentClosed: false });
    expect(sizes).toEqual([10, 10, 5]);
  });

  it('sweeps fixes stranded by an API that died between insert and signal', async () => {
    const shipment = await createShipment();
    const owner = { tenantId: h.acme.id, shipmentId: shipment.id, deviceId: h.acme.fleet.deviceId };
    const stranded = fixes(7);
    await insertPositions(h.database.db, stranded.map((f) => fixToRow(f, owner)));
    expect(await countUnsignalled(h.database.db, shipment.id)).toBe(7);

    const result = await h.outbox.sweep();
    expect(result.fixes).toBeGreaterThanOrEqual(7);
    expect(result.failed).toBe(0);
    expect(await countUnsignalled(h.database.db, shipment.id)).toBe(0);
    expect((await signalledBatches(h.client, shipment.workflowId)).flat().map((f) => f.recordedAt)).toEqual(stranded.map((f) => f.recordedAt));
    // Nothing left: a second sweep delivers nothing more.
    expect((await h.outbox.sweep()).fixes).toBe(0);
  });
});

describe('reads', () => {
  it('reads a shipment\'s and a device\'s fixes by time range with a cursor', async () => {
    const readerDevice = await h.createDevice(h.acme);
    const shipment = await createShipment({ deviceId: readerDevice });
    const batch = fixes(9);
    await push(shipment.id, batch);
    const from = batch[2]!.recordedAt;
    const to = batch[8]!.recordedAt;
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/v1/shipments/${shipment.id}/positions?from=${from}&to=${to}&limit=4${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await h.call('GET', url, h.acme.keys.viewer);
      expect(res.status).toBe(200);
      seen.push(...res.body.items.map((p: any) => p.recordedAt));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(batch.slice(2, 8).map((f) => f.recordedAt));

    const device = await h.call('GET', `/v1/devices/${readerDevice}/positions?limit=100`, h.acme.keys.viewer);
    expect(device.body.items).toHaveLength(9);
    expect(device.body.items[0]).toMatchObject({ deviceId: readerDevice, shipmentId: shipment.id, lat: batch[0]!.lat });
    expect((await h.call('GET', `/v1/devices/${readerDevice}/positions`, h.globex.keys.viewer)).status).toBe(404);
    const bad = await h.call('GET', `/v1/shipments/${shipment.id}/positions?from=${to}&to=${from}`, h.acme.keys.viewer);
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].field).toBe('to');
  });
});

// Shipments through app.request(): idempotent create that starts the workflow, tenant isolation,
// list filters and cursors, projection reads, timeline and track.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultPayloadConverter } from '@temporalio/common';
import { searchAttributes, type ShipmentWorkflowInput } from '../../workflows/contract.js';
import { CreateShipmentSchema } from '../../api/schemas.js';
import { requestHash } from '../../infra/encoding.js';
import { insertShipment } from '../../db/repositories/shipments.js';
import { fixes, shipmentBody, startHarness, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

async function create(key = h.acme.keys.dispatcher, body: Record<string, unknown> = shipmentBody()) {
  const res = await h.call('POST', '/v1/shipments', key, body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

describe('POST /v1/shipment-batches', () => {
  it('creates each shipment as a single create would, in order, with its own workflow and outcome', async () => {
    const existing = await create();
    const fresh = [shipmentBody(), shipmentBody({ carrierId: h.acme.fleet.carrierId })];
    const conflicting = shipmentBody({ reference: existing.reference, thresholds: { signalLossMin: 45 } });
    const unknownFleet = shipmentBody({ carrierId: '00000000-0000-4000-8000-000000000001' });
    const res = await h.call('POST', '/v1/shipment-batches', h.acme.keys.dispatcher, {
      shipments: [fresh[0], conflicting, fresh[1], unknownFleet],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.results.map((r: { reference: string; status: number }) => [r.reference, r.status])).toEqual([
      [fresh[0]!.reference, 201],
      [existing.reference, 409],
      [fresh[1]!.reference, 201],
      [unknownFleet.reference, 422],
    ]);
    expect(res.body).toMatchObject({ created: 2, existing: 0, failed: 2 });
    expect(res.body.results[1].problem).toMatchObject({ status: 409, instance: '/v1/shipment-batches#/shipments/1' });
    expect(res.body.results[1].shipment).toBeUndefined();
    for (const i of [0, 2]) {
      const description = await h.client.workflow.getHandle(res.body.results[i].shipment.workflowId).describe();
      expect(description.status.name).toBe('RUNNING');
      expect(description.typedSearchAttributes.get(searchAttributes.shipmentReference)).toBe(fresh[i / 2]!.reference);
    }
    // The identical batch again: nothing new, the same shipments.
    const repeat = await h.call('POST', '/v1/shipment-batches', h.acme.keys.admin, { shipments: [fresh[0], fresh[1]] });
    expect(repeat.body).toMatchObject({ created: 0, existing: 2, failed: 0 });
    expect(repeat.body.results.map((r: { shipment: { id: string } }) => r.shipment.id)).toEqual([res.body.results[0].shipment.id, res.body.results[2].shipment.id]);
    const rows = await h.database.db.selectFrom('shipments').select('id').where('reference', 'in', fresh.map((f) => f.reference)).execute();
    expect(rows).toHaveLength(2);
  });

  it('refuses an empty or oversized batch and names the bad shipment field', async () => {
    const empty = await h.call('POST', '/v1/shipment-batches', h.acme.keys.dispatcher, { shipments: [] });
    expect(empty.status).toBe(400);
    const tooMany = await h.call('POST', '/v1/shipment-batches', h.acme.keys.dispatcher, { shipments: Array.from({ length: 201 }, () => shipmentBody()) });
    expect(tooMany.status).toBe(400);
    const valid = shipmentBody();
    const bad = await h.call('POST', '/v1/shipment-batches', h.acme.keys.dispatcher, { shipments: [valid, shipmentBody({ stops: [] })] });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { field: string }) => e.field)).toContain('shipments[1].stops');
    // A refused batch stores nothing, not even its valid shipments.
    expect(await h.database.db.selectFrom('shipments').select('id').where('reference', '=', valid.reference).execute()).toHaveLength(0);
  });
});

describe('POST /v1/shipments', () => {
  it('stores the shipment with numbered stops and starts its workflow with search attributes and a summary', async () => {
    const body = shipmentBody({ carrierId: h.acme.fleet.carrierId, deviceId: h.acme.fleet.deviceId });
    const shipment = await create(h.acme.keys.dispatcher, body);
    expect(shipment).toMatchObject({
      reference: body.reference,
      status: 'PLANNED',
      workflowId: `shipment/${h.acme.id}/${shipment.id}`,
      carrierId: h.acme.fleet.carrierId,
      deviceId: h.acme.fleet.deviceId,
      anomalies: [],
      milestones: [],
    });
    expect(shipment.stops.map((s: any) => [s.sequence, s.name, s.status, s.geofenceRadiusM])).toEqual([
      [1, 'Lyon DC', 'PENDING', 500],
      [2, 'Paris XV', 'PENDING', 300],
    ]);

    const description = await h.client.workflow.getHandle(shipment.workflowId).describe();
    expect(description.type).toBe('shipmentWorkflow');
    expect(description.status.name).toBe('RUNNING');
    expect(description.typedSearchAttributes.get(searchAttributes.tenantId)).toBe(h.acme.id);
    expect(description.typedSearchAttributes.get(searchAttributes.shipmentReference)).toBe(body.reference);
    expect(description.typedSearchAttributes.get(searchAttributes.shipmentStatus)).toBe('PLANNED');
    expect(description.typedSearchAttributes.get(searchAttributes.carrierId)).toBe(h.acme.fleet.carrierId);
    expect(await description.staticSummary()).toBe(`${body.reference}: Lyon DC → Paris XV`);
  });

  it('returns the same shipment (200) for an identical repeat, whatever the key order', async () => {
    const body = shipmentBody();
    const first = await create(h.acme.keys.dispatcher, body);
    const reordered = Object.fromEntries(Object.entries(body).reverse());
    const repeat = await h.call('POST', '/v1/shipments', h.acme.keys.admin, reordered);
    expect(repeat.status).toBe(200);
    expect(repeat.body.id).toBe(first.id);
    const rows = await h.database.db.selectFrom('shipments').select('id').where('reference', '=', body.reference).execute();
    expect(rows).toHaveLength(1);
  });

  it('re-starts the workflow on a repeat when the first attempt stored the rows but never started it', async () => {
    const body = shipmentBody();
    const first = await create(h.acme.keys.dispatcher, body);
    await h.client.workflow.getHandle(first.workflowId).terminate('simulate a workflow that never started');
    // A terminated (closed) workflow is not restarted: REJECT_DUPLICATE keeps the id's history final.
    const repeat = await h.call('POST', '/v1/shipments', h.acme.keys.dispatcher, body);
    expect(repeat.status).toBe(200);
    expect((await h.client.workflow.getHandle(first.workflowId).describe()).status.name).toBe('TERMINATED');

    // Rows without any workflow (a crash between insert and start): the repeat starts it.
    const orphan = shipmentBody();
    const parsed = CreateShipmentSchema.parse(orphan);
    const otherId = crypto.randomUUID();
    await insertShipment(
      h.database.db,
      {
        id: otherId,
        tenant_id: h.acme.id,
        reference: parsed.reference,
        status: 'PLANNED',
        workflow_id: `shipment/${h.acme.id}/${otherId}`,
        request_hash: requestHash(parsed),
        device_id: parsed.deviceId,
        carrier_id: parsed.carrierId,
        route: parsed.route ?? null,
        thresholds: parsed.thresholds,
        updated_at: new Date(),
      },
      parsed.stops.map((stop, i) => ({ shipment_id: otherId, tenant_id: h.acme.id, sequence: i + 1, type: stop.type, name: stop.name, lat: stop.location.lat, lon: stop.location.lon, geofence_radius_m: stop.geofenceRadiusM, planned_dwell_min: stop.plannedDwellMin ?? null })),
    );
    const replay = await h.call('POST', '/v1/shipments', h.acme.keys.dispatcher, orphan);
    expect(replay.status).toBe(200);
    expect(replay.body.id).toBe(otherId);
    expect((await h.client.workflow.getHandle(`shipment/${h.acme.id}/${otherId}`).describe()).status.name).toBe('RUNNING');
  });

  it('accepts every threshold the domain knows and names a bad one', async () => {
    const thresholds = { signalLossMin: 30, offRouteCorridorM: 800, offRouteConsecutiveFixes: 3, temperatureRange: { minC: 2, maxC: 8 }, temperatureExcursionMin: 10 };
    const ok = await h.call('POST', '/v1/shipments', h.acme.keys.dispatcher, shipmentBody({ thresholds }));
    expect(ok.status).toBe(201);
    const row = await h.database.db.selectFrom('shipments').select('thresholds').where('id', '=', ok.body.id).executeTakeFirstOrThrow();
    expect(row.thresholds).toEqual(thresholds);
    const bad = await h.call('POST', '/v1/shipments', h.acme.keys.dispatcher, shipmentBody({ thresholds: { temperatureRange: { minC: 8, maxC: 2 } } }));
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([{ field: 'thresholds.temperatureRange.maxC', message: 'maxC must be above minC' }]);
  });

  it('takes arrival confirmation per shipment and per stop, hands it to the workflow, and names a bad one', async () => {
    const thresholds = { arrivalDwellMin: 15, arrivalStationaryMin: 5, arrivalFixes: 4, trackerGapMin: 20 };
    const body = shipmentBody({ thresholds });
    (body.stops as Record<string, unknown>[])[1]!.arrivalConfirmation = { stationaryMin: 1, fixes: 2 };
    const created = await create(h.acme.keys.dispatcher, body);
    expect(created.stops.map((s: any) => s.arrivalConfirmation)).toEqual([undefined, { stationaryMin: 1, fixes: 2 }]);
    const row = await h.database.db.selectFrom('shipments').select('thresholds').where('id', '=', created.id).executeTakeFirstOrThrow();
    expect(row.thresholds).toEqual(thresholds);
    // The workflow starts with a plan that carries both.
    const history = await h.client.workflow.getHandle(created.workflowId).fetchHistory();
    const started = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
    const { plan } = defaultPayloadConverter.fromPayload<ShipmentWorkflowInput>(started);
    expect(plan.stops.map((s) => s.arrivalConfirmation)).toEqual([undefined, { stationaryMin: 1, fixes: 2 }]);
    expect(plan.thresholds).toEqual(thresholds);

    const bad = shipmentBody({ thresholds: { arrivalDwellMin: -1 } });
    (bad.stops as Record<string, unknown>[])[0]!.arrivalConfirmation = { fixes: 0 };
    const refused = await h.call('POST', '/v1/shipments', h.acme.keys.dispatcher, bad);
    expect(refused.status).toBe(400);
    expect(refused.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['stops[0].arrivalConfirmation.fixes', 'thresholds.arrivalDwellMin']);
  });

  it('answers 409 when the reference was used with a different body', async () => {
    const body = shipmentBody();
    const first = await create(h.acme.keys.dispatcher, body);
    const res = await h.call('POST', '/v1/shipments', h.acme.keys.dispatcher, { ...body, carrierId: h.acme.fleet.carrierId });
    expect(res.status).toBe(409);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.body).toMatchObject({ type: 'https://retrack.dev/problems/reference-conflict', status: 409, shipmentId: first.id });
  });

  it('keeps references unique per tenant, not globally', async () => {
    const body = shipmentBody();
    const mine = await create(h.acme.keys.dispatcher, body);
    const theirs = await create(h.globex.keys.dispatcher, body);
    expect(theirs.id).not.toBe(mine.id);
  });
});

describe('tenant isolation', () => {
  it('answers another tenant\'s shipment exactly like a missing one', async () => {
    const shipment = await create();
    const missing = crypto.randomUUID();
    for (const suffix of ['', '/timeline', '/track', '/positions']) {
      const foreign = await h.call('GET', `/v1/shipments/${shipment.id}${suffix}`, h.globex.keys.admin);
      const absent = await h.call('GET', `/v1/shipments/${missing}${suffix}`, h.globex.keys.admin);
      expect(foreign.status).toBe(404);
      expect({ ...foreign.body, instance: undefined }).toEqual({ ...absent.body, instance: undefined });
    }
    const push = await h.call('POST', `/v1/shipments/${shipment.id}/positions`, h.globex.keys.dispatcher, { positions: fixes(1) });
    expect(push.status).toBe(404);
    const cancel = await h.call('POST', `/v1/shipments/${shipment.id}/cancel`, h.globex.keys.dispatcher, { reason: 'not mine' });
    expect(cancel.status).toBe(404);
    expect((await h.call('GET', '/v1/shipments/not-a-uuid', h.acme.keys.admin)).status).toBe(404);
  });
});

describe('GET /v1/shipments', () => {
  it('pages newest first with an opaque cursor, no gaps or repeats', async () => {
    const carrier = await h.call('POST', '/v1/carriers', h.acme.keys.dispatcher, { name: 'Paging Haulage' });
    const carrierId: string = carrier.body.id;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await create(h.acme.keys.dispatcher, shipmentBody({ carrierId }))).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = `/v1/shipments?carrierId=${carrierId}&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await h.call('GET', query, h.acme.keys.viewer);
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.items.map((s: any) => s.id));
      cursor = res.body.nextCursor;
      if (cursor) expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
      pages += 1;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...ids].reverse());
  });

  it('filters by status, reference and open anomaly, only within the tenant', async () => {
    const a = await create();
    const b = await create();
    await h.database.db.updateTable('shipments').set({ status: 'IN_TRANSIT', open_anomalies: ['LATE', 'SIGNAL_LOST'] }).where('id', '=', b.id).execute();

    const byRef = await h.call('GET', `/v1/shipments?reference=${a.reference}`, h.acme.keys.viewer);
    expect(byRef.body.items.map((s: any) => s.id)).toEqual([a.id]);
    const inTransit = await h.call('GET', '/v1/shipments?status=IN_TRANSIT', h.acme.keys.viewer);
    expect(inTransit.body.items.map((s: any) => s.id)).toEqual([b.id]);
    const late = await h.call('GET', '/v1/shipments?anomaly=LATE', h.acme.keys.viewer);
    expect(late.body.items.map((s: any) => s.id)).toEqual([b.id]);
    expect(late.body.items[0].openAnomalies).toEqual(['LATE', 'SIGNAL_LOST']);
    expect((await h.call('GET', '/v1/shipments?anomaly=OFF_ROUTE', h.acme.keys.viewer)).body.items).toEqual([]);
    expect((await h.call('GET', `/v1/shipments?reference=${a.reference}`, h.globex.keys.viewer)).body.items).toEqual([]);
  });
});

describe('GET /v1/shipments/:id', () => {
  it('falls back to the projection, with milestones from ARRIVED/DEPARTED events, when the workflow cannot answer', async () => {
    const shipment = await create();
    await h.database.db.updateTable('stops').set({ status: 'DEPARTED', arrived_at: '2026-11-26T08:00:00Z', departed_at: '2026-11-26T08:40:00Z' }).where('shipment_id', '=', shipment.id).where('sequence', '=', 1).execute();
    await h.database.db
      .insertInto('shipment_events')
      .values([
        { tenant_id: h.acme.id, shipment_id: shipment.id, event_key: 'DEPARTED:1', type: 'DEPARTED', occurred_at: '2026-11-26T08:40:00Z', stop_sequence: 1 },
        { tenant_id: h.acme.id, shipment_id: shipment.id, event_key: 'ARRIVED:1', type: 'ARRIVED', occurred_at: '2026-11-26T08:00:00Z', stop_sequence: 1 },
        { tenant_id: h.acme.id, shipment_id: shipment.id, event_key: 'STATUS:1', type: 'STATUS_CHANGED', occurred_at: '2026-11-26T08:00:00Z' },
      ])
      .execute();
    // Closed workflow: the projection answers.
    await h.client.workflow.getHandle(shipment.workflowId).terminate('test');
    const res = await h.call('GET', `/v1/shipments/${shipment.id}`, h.acme.keys.viewer);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-state-source')).toBe('projection');
    expect(res.body.stops[0]).toMatchObject({ status: 'DEPARTED', arrivedAt: '2026-11-26T08:00:00.000Z', departedAt: '2026-11-26T08:40:00.000Z' });
    expect(res.body.milestones).toEqual([
      { type: 'ARRIVED', stopSequence: 1, at: '2026-11-26T08:00:00.000Z' },
      { type: 'DEPARTED', stopSequence: 1, at: '2026-11-26T08:40:00.000Z' },
    ]);
  });
});

describe('GET /v1/shipments/:id/timeline', () => {
  it('lists events by occurrence time with a cursor', async () => {
    const shipment = await create();
    const base = Date.parse('2026-11-26T06:00:00Z');
    // Inserted out of order, two sharing a timestamp.
    const times = [5, 1, 3, 3, 2, 4];
    await h.database.db
      .insertInto('shipment_events')
      .values(times.map((m, i) => ({ tenant_id: h.acme.id, shipment_id: shipment.id, event_key: `E:${i}`, type: 'NOTE', occurred_at: new Date(base + m * 60_000), data: { i } })))
      .execute();
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const res: any = await h.call('GET', `/v1/shipments/${shipment.id}/timeline?limit=4${cursor ? `&cursor=${cursor}` : ''}`, h.acme.keys.viewer);
      expect(res.status).toBe(200);
      seen.push(...res.body.items.map((e: any) => e.data.i));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen.map((i) => times[i])).toEqual([1, 2, 3, 3, 4, 5]);
    expect(new Set(seen).size).toBe(6);
  });
});

describe('GET /v1/shipments/:id/track', () => {
  it('returns GeoJSON with the driven track, the stops and the planned route', async () => {
    const shipment = await create();
    const pushed = fixes(5);
    expect((await h.call('POST', `/v1/shipments/${shipment.id}/positions`, h.acme.keys.dispatcher, { positions: [...pushed].reverse() })).status).toBe(202);
    const res = await h.call('GET', `/v1/shipments/${shipment.id}/track`, h.acme.keys.viewer);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/geo+json');
    expect(res.body.type).toBe('FeatureCollection');
    const [track, ...rest] = res.body.features;
    expect(track.geometry).toEqual({ type: 'LineString', coordinates: pushed.map((f) => [f.lon, f.lat]) });
    expect(track.properties).toMatchObject({ kind: 'track', fixes: 5, from: pushed[0]!.recordedAt, to: pushed[4]!.recordedAt });
    const stops = rest.filter((f: any) => f.properties.kind === 'stop');
    expect(stops.map((f: any) => [f.properties.sequence, f.geometry.coordinates])).toEqual([
      [1, [4.8467, 45.7485]],
      [2, [2.2873, 48.8414]],
    ]);
    expect(rest.find((f: any) => f.properties.kind === 'plannedRoute').geometry.type).toBe('LineString');
  });
});

describe('POST /v1/shipments/:id/cancel', () => {
  it('answers 409 when the workflow has already closed', async () => {
    const shipment = await create();
    await h.client.workflow.getHandle(shipment.workflowId).terminate('test');
    const res = await h.call('POST', `/v1/shipments/${shipment.id}/cancel`, h.acme.keys.dispatcher, { reason: 'customer called' });
    expect(res.status).toBe(409);
    expect(res.body.type).toBe('https://retrack.dev/problems/conflict');
  });

  it('requires a reason', async () => {
    const shipment = await create();
    const res = await h.call('POST', `/v1/shipments/${shipment.id}/cancel`, h.acme.keys.dispatcher, {});
    expect(res.status).toBe(400);
    expect(res.body.errors[0].field).toBe('reason');
  });
});

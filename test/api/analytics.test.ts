// GET /v1/analytics/on-time and /dwell on visits written the way the workflow's projection writes
// them (applyShipmentProgress): figures per carrier, facility and week, the period, carrier and
// facility filters, a retracted arrival leaving the figures, a carrier change following the
// visits, another tenant's visits never counted, and a bad range as a 400 naming the field.
// (test/analytics/dbt.test.ts checks the same routes against the dbt marts on a real run.)
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyShipmentProgress } from '../../db/repositories/projection.js';
import { insertShipment } from '../../db/repositories/shipments.js';
import type { StopProjection } from '../../domain/timeline.js';
import { startHarness, type Harness, type Tenant } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h?.close());

interface PlannedStop {
  facility: string;
  windowEnd: string;
  arrivedAt?: string;
  dwellMin?: number;
}

let version = 0;
async function shipment(tenant: Tenant, stops: PlannedStop[], carrierId: string | null = tenant.fleet.carrierId): Promise<{ id: string; write(stops: StopProjection[]): Promise<void> }> {
  const id = randomUUID();
  await insertShipment(
    h.database.db,
    { id, tenant_id: tenant.id, reference: `AN-${id}`, status: 'IN_TRANSIT', workflow_id: `shipment/${tenant.id}/${id}`, request_hash: 'x', route: null, thresholds: {}, carrier_id: carrierId, updated_at: new Date() },
    stops.map((s, i) => ({
      shipment_id: id,
      tenant_id: tenant.id,
      sequence: i + 1,
      type: 'delivery',
      name: s.facility,
      lat: 45,
      lon: 4,
      geofence_radius_m: 300,
      window_start: new Date(Date.parse(s.windowEnd) - 3_600_000),
      window_end: new Date(s.windowEnd),
    })),
  );
  const write = async (projection: StopProjection[]) => {
    version += 1;
    const result = await applyShipmentProgress(h.database.db, { tenantId: tenant.id, shipmentId: id, version, status: 'IN_TRANSIT', updatedAt: new Date().toISOString(), stops: projection, events: [] });
    expect(result.applied).toBe(true);
  };
  await write(
    stops.map((s, i) => ({
      sequence: i + 1,
      status: s.arrivedAt ? 'DEPARTED' : 'PENDING',
      ...(s.arrivedAt ? { arrivedAt: s.arrivedAt, departedAt: new Date(Date.parse(s.arrivedAt) + (s.dwellMin ?? 30) * 60_000).toISOString() } : {}),
    })),
  );
  return { id, write };
}

const get = async (path: string, tenant: Tenant = h.acme) => {
  const res = await h.call('GET', path, tenant.keys.viewer);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
};

describe('analytics of stop visits', () => {
  let retracted: Awaited<ReturnType<typeof shipment>>;

  beforeAll(async () => {
    // Week of Monday 2026-11-16: Lyon on time (dwell 20) and late by 30 min (dwell 40); Paris on time (dwell 90).
    await shipment(h.acme, [
      { facility: 'Lyon DC', windowEnd: '2026-11-17T10:00:00Z', arrivedAt: '2026-11-17T09:40:00Z', dwellMin: 20 },
      { facility: 'Paris XV', windowEnd: '2026-11-17T16:00:00Z', arrivedAt: '2026-11-17T15:00:00Z', dwellMin: 90 },
    ]);
    await shipment(h.acme, [{ facility: 'Lyon DC', windowEnd: '2026-11-18T08:00:00Z', arrivedAt: '2026-11-18T08:30:00Z', dwellMin: 40 }], null);
    // Week of 2026-11-23: Lyon on time (dwell 60); a stop not reached yet counts nowhere.
    retracted = await shipment(h.acme, [
      { facility: 'Lyon DC', windowEnd: '2026-11-24T12:00:00Z', arrivedAt: '2026-11-24T11:00:00Z', dwellMin: 60 },
      { facility: 'Paris XV', windowEnd: '2026-11-24T18:00:00Z' },
    ]);
    // Another tenant's visit at the same facility.
    await shipment(h.globex, [{ facility: 'Lyon DC', windowEnd: '2026-11-17T10:00:00Z', arrivedAt: '2026-11-17T12:00:00Z' }]);
  });

  it('counts on-time visits by carrier, facility and week', async () => {
    const body = await get('/v1/analytics/on-time');
    expect(body).toMatchObject({ visits: 4, onTime: 3, late: 1, onTimeShare: 0.75, meanLatenessMin: 30 });
    expect(body.byFacility).toEqual([
      { facility: 'Lyon DC', visits: 3, onTime: 2, late: 1, onTimeShare: 2 / 3, meanLatenessMin: 30 },
      { facility: 'Paris XV', visits: 1, onTime: 1, late: 0, onTimeShare: 1, meanLatenessMin: null },
    ]);
    expect(body.byWeek.map((w: any) => [w.week, w.visits, w.onTime])).toEqual([['2026-11-16', 3, 2], ['2026-11-23', 1, 1]]);
    expect(body.byCarrier.map((c: any) => [c.carrierId, c.carrierName, c.visits, c.onTime])).toEqual([
      [null, null, 1, 0],
      [h.acme.fleet.carrierId, 'Acme Freight Haulage', 3, 3],
    ]);
  });

  it('filters by period, carrier and facility', async () => {
    expect((await get('/v1/analytics/on-time?from=2026-11-18T00:00:00Z&to=2026-11-25T00:00:00Z')).visits).toBe(2);
    expect(await get(`/v1/analytics/on-time?carrierId=${h.acme.fleet.carrierId}`)).toMatchObject({ visits: 3, onTime: 3 });
    expect(await get('/v1/analytics/on-time?facility=Paris%20XV')).toMatchObject({ visits: 1, onTime: 1 });
    const dwell = await get('/v1/analytics/dwell');
    expect(dwell.facilities).toEqual([
      // 20, 40, 60: median 40, p90 interpolated 56.
      { facility: 'Lyon DC', visits: 3, p50Min: 40, p90Min: 56, meanMin: 40 },
      { facility: 'Paris XV', visits: 1, p50Min: 90, p90Min: 90, meanMin: 90 },
    ]);
    expect((await get('/v1/analytics/dwell?from=2026-11-18T00:00:00Z')).facilities).toEqual([{ facility: 'Lyon DC', visits: 2, p50Min: 50, p90Min: 58, meanMin: 50 }]);
    expect((await get('/v1/analytics/dwell', h.globex)).facilities).toEqual([{ facility: 'Lyon DC', visits: 1, p50Min: 30, p90Min: 30, meanMin: 30 }]);
  });

  it('drops a retracted arrival and follows a change of carrier', async () => {
    await retracted.write([{ sequence: 1, status: 'PENDING' }, { sequence: 2, status: 'PENDING' }]);
    expect(await get('/v1/analytics/on-time')).toMatchObject({ visits: 3, onTime: 2 });
    await retracted.write([{ sequence: 1, status: 'DEPARTED', arrivedAt: '2026-11-24T11:00:00Z', departedAt: '2026-11-24T12:00:00Z' }, { sequence: 2, status: 'PENDING' }]);
    expect(await get('/v1/analytics/on-time')).toMatchObject({ visits: 4, onTime: 3 });

    const other = randomUUID();
    await h.database.db.insertInto('carriers').values({ id: other, tenant_id: h.acme.id, name: 'Other Haulage', updated_at: new Date() }).execute();
    await h.database.db.updateTable('shipments').set({ carrier_id: other }).where('id', '=', retracted.id).execute();
    const byCarrier = (await get('/v1/analytics/on-time')).byCarrier.map((c: any) => [c.carrierName, c.visits]);
    expect(byCarrier).toEqual([[null, 1], ['Acme Freight Haulage', 2], ['Other Haulage', 1]]);
  });

  it('answers a bad range with a 400 naming the field', async () => {
    for (const path of ['/v1/analytics/on-time', '/v1/analytics/dwell']) {
      const res = await h.call('GET', `${path}?from=2026-11-20T00:00:00Z&to=2026-11-19T00:00:00Z`, h.acme.keys.viewer);
      expect(res.status).toBe(400);
      expect(JSON.stringify(res.body)).toContain('"to"');
    }
  });
});

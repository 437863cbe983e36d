// A trip with a long dwell at the pickup, a detour and a silent hour, end to end: a real API
// listener, the real worker, the Temporal dev server and Postgres. Fix times lie hours in the
// past (a backfilled trip), delivered in phases; while each anomaly is open the test sees it in
// the API (state and list filter), the timeline and the `OpenAnomalies` search attribute, and at
// the end each has opened and resolved exactly once. The signal-loss timer fires in real time:
// the fix clock runs from the last fix received (see workflows/shipment.ts), not from its stamp.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnomalyType, Fix, LatLon, ShipmentView } from '../../domain/types.js';
import { createLogger } from '../../infra/logger.js';
import { searchAttributes } from '../../workflows/contract.js';
import { eventually } from '../workflow/harness.js';
import { startInProcessStack, type InProcessStack } from '../support/stack.js';
import { roadFrom } from '../support/road.js';

const logger = createLogger({ name: 'anomalies-e2e', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const road = roadFrom({ lat: 45.5, lon: 4.85 });
/** The trip started four hours ago: every fix is stamped in the past, as a backfill would be. */
const T0 = Math.floor(Date.now() / 60_000) * 60_000 - 4 * 3600_000;
const FIX_EVERY_S = 20;

/** Fixes every 20 s from minute `from` to `to` (inclusive), positioned by `where(minute)`. */
function fixesBetween(from: number, to: number, where: (minute: number) => { position: LatLon; speedKmh: number }): Fix[] {
  const fixes: Fix[] = [];
  for (let s = from * 60; s <= to * 60; s += FIX_EVERY_S) {
    const { position, speedKmh } = where(s / 60);
    fixes.push({ recordedAt: new Date(T0 + s * 1000).toISOString(), ...position, speedKmh });
  }
  return fixes;
}

let stack: InProcessStack;

beforeAll(async () => {
  stack = await startInProcessStack({ logger, tenantName: 'Anomaly Freight', role: 'dispatcher' });
});

afterAll(async () => {
  await stack?.close();
});

async function api<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${stack.baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${stack.apiKey}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as T };
}

const shipment = async (id: string) => (await api<ShipmentView>('GET', `/v1/shipments/${id}`)).body;
const openTypes = (view: ShipmentView) => view.anomalies.filter((a) => a.status === 'open').map((a) => a.type).sort();

async function send(id: string, fixes: Fix[]): Promise<ShipmentView> {
  for (let i = 0; i < fixes.length; i += 500) expect((await api('POST', `/v1/shipments/${id}/positions`, { positions: fixes.slice(i, i + 500) })).status).toBe(202);
  return eventually(() => shipment(id), (v) => v.lastPosition?.recordedAt === fixes.at(-1)!.recordedAt, 'fixes processed');
}

async function listed(anomaly: AnomalyType): Promise<string[]> {
  return (await api<{ items: { id: string }[] }>('GET', `/v1/shipments?anomaly=${anomaly}`)).body.items.map((s) => s.id);
}

async function inVisibility(query: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const execution of stack.temporal.client.workflow.list({ query: `TenantId="${stack.tenantId}" AND ${query}` })) ids.push(execution.workflowId);
  return ids;
}

async function timeline(id: string): Promise<{ type: string; data: Record<string, unknown> }[]> {
  return (await api<{ items: { type: string; data: Record<string, unknown> }[] }>('GET', `/v1/shipments/${id}/timeline?limit=500`)).body.items.filter((e) => e.type.startsWith('ANOMALY_'));
}

/** While `type` is the one anomaly open: the state, the list filter, the timeline and visibility all show it. */
async function expectOpenEverywhere(view: ShipmentView, type: AnomalyType, timeoutMs?: number): Promise<void> {
  await eventually(() => shipment(view.id), (v) => openTypes(v).join() === type, `${type} open in the state`, timeoutMs);
  // The list reads the projection, which the workflow's activity writes a moment after the state changes.
  expect(await eventually(() => listed(type), (ids) => ids.length > 0, `${type} in the list`)).toEqual([view.id]);
  const rows = await eventually(() => timeline(view.id), (r) => r.some((e) => e.type === 'ANOMALY_OPENED' && e.data.anomaly === type), `${type} in the timeline`);
  expect(rows.filter((e) => e.type === 'ANOMALY_OPENED' && e.data.anomaly === type)).toHaveLength(1);
  await eventually(() => inVisibility(`OpenAnomalies="${type}"`), (ids) => ids.includes(view.workflowId), `OpenAnomalies=${type} in visibility`);
}

describe('anomalies end to end', () => {
  it('shows a long dwell, a detour and a silent hour opening and resolving once each', { timeout: 240_000 }, async () => {
    const created = await api<ShipmentView>('POST', '/v1/shipments', {
      reference: `ANOMALY-E2E-${T0}`,
      stops: [
        { type: 'pickup', name: 'Chasse-sur-Rhône DC', location: road(0), geofenceRadiusM: 500, plannedDwellMin: 30 },
        { type: 'delivery', name: 'Villeurbanne store', location: road(40), geofenceRadiusM: 500, plannedDwellMin: 10 },
      ],
      route: { type: 'LineString', coordinates: [road(0), road(40)].map((p) => [p.lon, p.lat]) },
      // Planned dwell 30 + 30 min; a fix every 20 s, so a 1-min silence is a lost signal.
      thresholds: { dwellToleranceMin: 30, signalLossMin: 1, offRouteCorridorM: 1_000, offRouteConsecutiveFixes: 3 },
    });
    expect(created.status).toBe(201);
    const id = created.body.id;

    // 1. 100 minutes at the pickup: LONG_DWELL after 60.
    const dwell = await send(id, fixesBetween(0, 100, (m) => ({ position: road(0, (m % 3) * 10), speedKmh: 0 })));
    expect(dwell.status).toBe('AT_STOP');
    await expectOpenEverywhere(dwell, 'LONG_DWELL');
    expect((await shipment(id)).anomalies[0]).toMatchObject({ type: 'LONG_DWELL', openedAt: new Date(T0 + 60 * 60_000).toISOString(), stopSequence: 1 });

    // 2. Leaves (LONG_DWELL resolved), drives north at 60 km/h and takes a 4 km detour east.
    const detourM = (m: number) => Math.min(4_000, Math.max(0, (m - 110) * 1_000));
    const detour = await send(id, fixesBetween(100 + 1 / 3, 118, (m) => ({ position: road(m - 100, detourM(m)), speedKmh: 60 })));
    expect(detour.eta).toBeDefined();
    await expectOpenEverywhere(detour, 'OFF_ROUTE');
    expect(await inVisibility('OpenAnomalies="LONG_DWELL"')).toEqual([]);
    // The next ETA is searchable too (rounded to 5 minutes).
    const eta = Date.parse(detour.eta!);
    const around = (ms: number) => new Date(ms).toISOString();
    await eventually(
      () => inVisibility(`NextEta BETWEEN "${around(eta - 10 * 60_000)}" AND "${around(eta + 10 * 60_000)}"`),
      (ids) => ids.includes(detour.workflowId),
      'NextEta in visibility',
    );

    // 3. Back on the route (OFF_ROUTE resolved), then nothing: the truck goes silent.
    const back = await send(id, fixesBetween(118 + 1 / 3, 130, (m) => ({ position: road(m - 100, Math.max(0, 4_000 - (m - 118) * 1_000)), speedKmh: 60 })));
    // No fix arrives: the timer opens SIGNAL_LOST a threshold of real time after the last batch.
    await expectOpenEverywhere(back, 'SIGNAL_LOST', 120_000);
    expect((await shipment(id)).anomalies.find((a) => a.type === 'SIGNAL_LOST')).toMatchObject({ openedAt: new Date(T0 + 131 * 60_000).toISOString() });
    expect(await inVisibility('OpenAnomalies="OFF_ROUTE"')).toEqual([]);

    // 4. An hour later the tracker is back near the customer; arrival, 10 min there, departure: delivered.
    const final = await send(id, [
      ...fixesBetween(190, 195, (m) => ({ position: road(35 + (m - 190)), speedKmh: 60 })),
      ...fixesBetween(195 + 1 / 3, 205, () => ({ position: road(40, 20), speedKmh: 0 })),
      ...fixesBetween(205 + 1 / 3, 208, (m) => ({ position: road(40 + (m - 205)), speedKmh: 50 })),
    ]);
    expect(final.status).toBe('DELIVERED');

    const anomalies = final.anomalies.map((a) => [a.type, a.status]);
    expect(anomalies).toEqual([
      ['LONG_DWELL', 'resolved'],
      ['OFF_ROUTE', 'resolved'],
      ['SIGNAL_LOST', 'resolved'],
    ]);
    expect(final.anomalies.find((a) => a.type === 'SIGNAL_LOST')!.resolvedAt).toBe(new Date(T0 + 190 * 60_000).toISOString());
    const rows = await eventually(() => timeline(id), (r) => r.length === 6, 'six anomaly rows in the timeline');
    expect(rows.map((e) => `${e.type}:${String(e.data.anomaly)}`).sort()).toEqual(
      ['LONG_DWELL', 'OFF_ROUTE', 'SIGNAL_LOST'].flatMap((t) => [`ANOMALY_OPENED:${t}`, `ANOMALY_RESOLVED:${t}`]).sort(),
    );
    await eventually(() => inVisibility('OpenAnomalies IN ("LONG_DWELL", "OFF_ROUTE", "SIGNAL_LOST")'), (ids) => ids.length === 0, 'no open anomaly in visibility');
    for (const type of ['LONG_DWELL', 'OFF_ROUTE', 'SIGNAL_LOST'] as const) expect(await listed(type)).toEqual([]);
    // Delivered: no stop ahead, so no NextEta.
    await eventually(() => inVisibility(`NextEta > "${around(T0)}"`), (ids) => ids.length === 0, 'NextEta cleared');
    const description = await stack.temporal.client.workflow.getHandle(final.workflowId).describe();
    expect(description.typedSearchAttributes.get(searchAttributes.shipmentStatus)).toBe('DELIVERED');

    // Every prediction was stored: the accuracy endpoint measures this delivered shipment.
    const accuracy = await eventually(
      () => api<{ shipments: number; horizons: { horizonMin: number; bySource: Record<string, { samples: number }> }[] }>('GET', '/v1/analytics/eta-accuracy'),
      (r) => r.body.shipments === 1,
      'the delivered shipment in the accuracy figures',
    );
    expect(accuracy.status).toBe(200);
    const halfHour = accuracy.body.horizons.find((h) => h.horizonMin === 30)!;
    expect(halfHour.bySource.model!.samples).toBe(1);
    expect(halfHour.bySource.baseline!.samples).toBe(1);
  });
});

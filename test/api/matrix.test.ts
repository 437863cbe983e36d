// The authorization matrix: every route the app exposes × every kind of caller × own / another
// tenant's / missing id, each cell with its exact status. The rows state the expected roles on
// their own (not read from ROUTE_ROLES), and a route without a row fails the test.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueApiKey, parseApiKey } from '../../api/auth.js';
import { insertFleetRow, type FleetKind } from '../../db/repositories/fleet.js';
import type { ApiKeyRole } from '../../db/schema.js';
import { DEFAULT_WEBHOOK_HTTP_POLICY } from '../../infra/webhook-http.js';
import { fixes, runWorker, shipmentBody, startHarness, type Harness, type Tenant } from './harness.js';

type Caller = ApiKeyRole | 'none' | 'revoked';
type Target = 'own' | 'other' | 'missing';
const CALLERS: Caller[] = ['admin', 'dispatcher', 'viewer', 'device', 'none', 'revoked'];
const TARGETS: Target[] = ['own', 'other', 'missing'];

const READERS: ApiKeyRole[] = ['admin', 'dispatcher', 'viewer'];
const WRITERS: ApiKeyRole[] = ['admin', 'dispatcher'];
const SENDERS: ApiKeyRole[] = ['admin', 'dispatcher', 'device'];
const ADMIN: ApiKeyRole[] = ['admin'];

interface Cell {
  path: string;
  body?: unknown;
}

interface Row {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** An endless response (Server-Sent Events): only the status and headers are read, then the body is cancelled. */
  stream?: boolean;
  path: string;
  allowed: ApiKeyRole[];
  success: number;
  /** Builds the request; rows without `byTarget` ignore the target and run once per caller. */
  request(target: Target, caller: Caller): Promise<Cell>;
  byTarget?: boolean;
  /** Expected status for an allowed caller and a target other than its own (default 404). */
  notOwn?(caller: ApiKeyRole): number;
}

let h: Harness;
let stopWorker: () => Promise<void>;
let revokedKey: string;
/** Long-lived own resources for rows that do not consume them. */
let ownShipment: { id: string };
let otherShipment: { id: string };
let ownEndpoint: string;
let otherEndpoint: string;
const ENDPOINT_BODY = { url: 'http://127.0.0.1:9/hooks', enabled: false };

beforeAll(async () => {
  h = await startHarness({
    apiKeys: { rateLimitBurst: 10_000, rateLimitPerSecond: 10_000 },
    webhooks: { http: { ...DEFAULT_WEBHOOK_HTTP_POLICY, allowedHosts: ['127.0.0.1'] } },
  });
  stopWorker = await runWorker(h);
  const revoked = await issueApiKey(h.database.db, { tenantId: h.acme.id, role: 'admin' });
  revokedKey = revoked.apiKey;
  expect((await h.call('GET', '/v1/carriers', revokedKey)).status).toBe(200);
  expect((await h.call('DELETE', `/v1/api-keys/${revoked.keyId}`, h.acme.keys.admin)).status).toBe(200);
  ownShipment = await createShipment(h.acme);
  otherShipment = await createShipment(h.globex);
  ownEndpoint = await createEndpoint(h.acme);
  otherEndpoint = await createEndpoint(h.globex);
});
afterAll(async () => {
  await stopWorker?.();
  await h?.close();
});

async function createShipment(tenant: Tenant): Promise<{ id: string }> {
  const res = await h.call('POST', '/v1/shipments', tenant.keys.dispatcher, shipmentBody({ deviceId: tenant.fleet.deviceId, carrierId: tenant.fleet.carrierId }));
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

/** A disabled endpoint (no delivery workflow runs for it) on a port where nothing listens. */
async function createEndpoint(tenant: Tenant): Promise<string> {
  const res = await h.call('POST', '/v1/webhook-endpoints', tenant.keys.admin, ENDPOINT_BODY);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id;
}

const missingId = () => randomUUID();

/** A fresh, unused fleet row: deleting it must succeed for an allowed caller. */
async function freshFleetRow(kind: FleetKind, tenant: Tenant): Promise<string> {
  const base = { id: randomUUID(), tenant_id: tenant.id, updated_at: new Date() };
  const extra: Record<FleetKind, Record<string, unknown>> = {
    carrier: { name: 'Spare Haulage' },
    driver: { name: 'Spare Driver' },
    vehicle: { plate: 'SP-000-RE' },
    device: { external_id: `SPARE-${randomUUID()}` },
  };
  return (await insertFleetRow(h.database.db, kind, { ...base, ...extra[kind] })).id;
}

function idFor(target: Target, own: string, other: string): string {
  return target === 'own' ? own : target === 'other' ? other : missingId();
}

const FLEET: { kind: FleetKind; path: string; create: () => unknown; patch: () => unknown }[] = [
  { kind: 'carrier', path: '/v1/carriers', create: () => ({ name: 'Matrix Haulage' }), patch: () => ({ scac: 'MTRX' }) },
  { kind: 'driver', path: '/v1/drivers', create: () => ({ name: 'Matrix Driver' }), patch: () => ({ phone: '+33 1 23 45 67 89' }) },
  { kind: 'vehicle', path: '/v1/vehicles', create: () => ({ plate: 'MX-001-AA' }), patch: () => ({ kind: 'rigid' }) },
  { kind: 'device', path: '/v1/devices', create: () => ({ externalId: `IMEI-${randomUUID()}` }), patch: () => ({ kind: 'eld' }) },
];
const fleetIdOf = (tenant: Tenant, kind: FleetKind) => tenant.fleet[`${kind}Id` as const];

const ROWS: Row[] = [
  { method: 'POST', path: '/v1/shipments', allowed: WRITERS, success: 201, request: async () => ({ path: '/v1/shipments', body: shipmentBody() }) },
  { method: 'GET', path: '/v1/shipments', allowed: READERS, success: 200, request: async () => ({ path: '/v1/shipments' }) },
  { method: 'POST', path: '/v1/shipment-batches', allowed: WRITERS, success: 200, request: async () => ({ path: '/v1/shipment-batches', body: { shipments: [shipmentBody(), shipmentBody()] } }) },
  ...(['', '/timeline', '/track', '/positions', '/map', '/eta-history', '/stream'] as const).map(
    (suffix): Row => ({
      method: 'GET',
      path: `/v1/shipments/{id}${suffix}`,
      allowed: READERS,
      success: 200,
      byTarget: true,
      stream: suffix === '/stream',
      request: async (target) => ({ path: `/v1/shipments/${idFor(target, ownShipment.id, otherShipment.id)}${suffix}` }),
    }),
  ),
  {
    method: 'POST',
    path: '/v1/shipments/{id}/cancel',
    allowed: WRITERS,
    success: 200,
    byTarget: true,
    request: async (target) => ({
      path: `/v1/shipments/${target === 'own' ? (await createShipment(h.acme)).id : idFor(target, '', otherShipment.id)}/cancel`,
      body: { reason: 'matrix' },
    }),
  },
  {
    method: 'PATCH',
    path: '/v1/shipments/{id}/assignment',
    allowed: WRITERS,
    success: 200,
    byTarget: true,
    request: async (target) => ({ path: `/v1/shipments/${idFor(target, ownShipment.id, otherShipment.id)}/assignment`, body: { driverId: h.acme.fleet.driverId } }),
  },
  {
    method: 'POST',
    path: '/v1/shipments/{id}/positions',
    allowed: SENDERS,
    success: 202,
    byTarget: true,
    // The own shipment is assigned to the acme device, so the device key may push to it.
    request: async (target) => ({ path: `/v1/shipments/${idFor(target, ownShipment.id, otherShipment.id)}/positions`, body: { positions: fixes(1) } }),
  },
  {
    method: 'POST',
    path: '/v1/shipments/{id}/events',
    allowed: SENDERS,
    success: 200,
    byTarget: true,
    // An exception report leaves the shipment running for the other rows; each call is its own event.
    request: async (target) => ({
      path: `/v1/shipments/${idFor(target, ownShipment.id, otherShipment.id)}/events`,
      body: { type: 'EXCEPTION', exceptionCode: 'DELAYED_AT_GATE', eventId: `matrix-${randomUUID()}` },
    }),
  },
  {
    method: 'POST',
    path: '/v1/positions',
    allowed: SENDERS,
    success: 202,
    byTarget: true,
    request: async (target) => ({ path: '/v1/positions', body: { deviceId: idFor(target, h.acme.fleet.deviceId, h.globex.fleet.deviceId), positions: fixes(1) } }),
    // The device id is a body field: a tenant key gets 422 naming it, a device key 403 (not its own device).
    notOwn: (caller) => (caller === 'device' ? 403 : 422),
  },
  {
    method: 'GET',
    path: '/v1/devices/{deviceId}/positions',
    allowed: READERS,
    success: 200,
    byTarget: true,
    request: async (target) => ({ path: `/v1/devices/${idFor(target, h.acme.fleet.deviceId, h.globex.fleet.deviceId)}/positions` }),
  },
  ...FLEET.flatMap(({ kind, path, create, patch }): Row[] => [
    { method: 'POST', path, allowed: WRITERS, success: 201, request: async () => ({ path, body: create() }) },
    { method: 'GET', path, allowed: READERS, success: 200, request: async () => ({ path }) },
    {
      method: 'GET',
      path: `${path}/{id}`,
      allowed: READERS,
      success: 200,
      byTarget: true,
      request: async (target) => ({ path: `${path}/${idFor(target, fleetIdOf(h.acme, kind), fleetIdOf(h.globex, kind))}` }),
    },
    {
      method: 'PATCH',
      path: `${path}/{id}`,
      allowed: WRITERS,
      success: 200,
      byTarget: true,
      request: async (target) => ({ path: `${path}/${idFor(target, fleetIdOf(h.acme, kind), fleetIdOf(h.globex, kind))}`, body: patch() }),
    },
    {
      method: 'DELETE',
      path: `${path}/{id}`,
      allowed: WRITERS,
      success: 204,
      byTarget: true,
      request: async (target) => ({ path: `${path}/${idFor(target, target === 'own' ? await freshFleetRow(kind, h.acme) : '', fleetIdOf(h.globex, kind))}` }),
    },
  ]),
  { method: 'POST', path: '/v1/api-keys', allowed: ADMIN, success: 201, request: async () => ({ path: '/v1/api-keys', body: { role: 'viewer', name: 'matrix' } }) },
  { method: 'GET', path: '/v1/api-keys', allowed: ADMIN, success: 200, request: async () => ({ path: '/v1/api-keys' }) },
  {
    method: 'GET',
    path: '/v1/api-keys/{id}',
    allowed: ADMIN,
    success: 200,
    byTarget: true,
    request: async (target) => ({ path: `/v1/api-keys/${idFor(target, parseApiKey(h.acme.keys.viewer)!.keyId, parseApiKey(h.globex.keys.viewer)!.keyId)}` }),
  },
  {
    method: 'DELETE',
    path: '/v1/api-keys/{id}',
    allowed: ADMIN,
    success: 200,
    byTarget: true,
    request: async (target) => {
      const own = target === 'own' ? (await issueApiKey(h.database.db, { tenantId: h.acme.id, role: 'viewer' })).keyId : '';
      return { path: `/v1/api-keys/${idFor(target, own, parseApiKey(h.globex.keys.viewer)!.keyId)}` };
    },
  },
  { method: 'GET', path: '/v1/audit-events', allowed: ADMIN, success: 200, request: async () => ({ path: '/v1/audit-events' }) },
  { method: 'GET', path: '/v1/analytics/eta-accuracy', allowed: READERS, success: 200, request: async () => ({ path: '/v1/analytics/eta-accuracy' }) },
  { method: 'GET', path: '/v1/analytics/on-time', allowed: READERS, success: 200, request: async () => ({ path: '/v1/analytics/on-time' }) },
  { method: 'GET', path: '/v1/analytics/dwell', allowed: READERS, success: 200, request: async () => ({ path: '/v1/analytics/dwell' }) },
  {
    method: 'GET',
    path: '/v1/exports/positions',
    allowed: READERS,
    success: 200,
    // A range without fixes: the body is empty (the export tests read real ones).
    request: async () => ({ path: '/v1/exports/positions?from=2000-01-01T00:00:00Z&to=2000-01-02T00:00:00Z' }),
  },
  { method: 'GET', path: '/v1/sessions/current', allowed: READERS, success: 200, request: async () => ({ path: '/v1/sessions/current' }) },
  { method: 'DELETE', path: '/v1/sessions/current', allowed: READERS, success: 204, request: async () => ({ path: '/v1/sessions/current' }) },
  { method: 'GET', path: '/v1/shipment-overview', allowed: READERS, success: 200, request: async () => ({ path: '/v1/shipment-overview' }) },
  { method: 'GET', path: '/v1/events', allowed: READERS, success: 200, request: async () => ({ path: '/v1/events' }) },
  { method: 'GET', path: '/v1/events/stream', allowed: READERS, success: 200, stream: true, request: async () => ({ path: '/v1/events/stream' }) },
  { method: 'POST', path: '/v1/webhook-endpoints', allowed: ADMIN, success: 201, request: async () => ({ path: '/v1/webhook-endpoints', body: ENDPOINT_BODY }) },
  { method: 'GET', path: '/v1/webhook-endpoints', allowed: ADMIN, success: 200, request: async () => ({ path: '/v1/webhook-endpoints' }) },
  ...(
    [
      ['GET', '', 200, undefined],
      ['PATCH', '', 200, { description: 'matrix' }],
      ['POST', '/rotate-secret', 200, undefined],
      ['POST', '/test', 200, undefined],
      ['GET', '/attempts', 200, undefined],
      ['POST', '/replay', 202, { from: '2026-12-01T00:00:00Z' }],
    ] as const
  ).map(
    ([method, suffix, success, body]): Row => ({
      method,
      path: `/v1/webhook-endpoints/{id}${suffix}`,
      allowed: ADMIN,
      success,
      byTarget: true,
      request: async (target) => ({ path: `/v1/webhook-endpoints/${idFor(target, ownEndpoint, otherEndpoint)}${suffix}`, ...(body ? { body } : {}) }),
    }),
  ),
  {
    method: 'DELETE',
    path: '/v1/webhook-endpoints/{id}',
    allowed: ADMIN,
    success: 204,
    byTarget: true,
    request: async (target) => ({ path: `/v1/webhook-endpoints/${idFor(target, target === 'own' ? await createEndpoint(h.acme) : '', otherEndpoint)}` }),
  },
  {
    method: 'POST',
    path: '/v1/shipments/{id}/share-links',
    allowed: WRITERS,
    success: 201,
    byTarget: true,
    request: async (target) => ({ path: `/v1/shipments/${idFor(target, ownShipment.id, otherShipment.id)}/share-links`, body: {} }),
  },
  {
    method: 'GET',
    path: '/v1/shipments/{id}/share-links',
    allowed: WRITERS,
    success: 200,
    byTarget: true,
    request: async (target) => ({ path: `/v1/shipments/${idFor(target, ownShipment.id, otherShipment.id)}/share-links` }),
  },
  {
    method: 'DELETE',
    path: '/v1/shipments/{id}/share-links/{linkId}',
    allowed: WRITERS,
    success: 200,
    byTarget: true,
    // Own: a fresh link of the own shipment; other: another tenant's link under its own shipment.
    request: async (target) => {
      if (target === 'missing') return { path: `/v1/shipments/${ownShipment.id}/share-links/${missingId()}` };
      const tenant = target === 'own' ? h.acme : h.globex;
      const shipment = target === 'own' ? ownShipment : otherShipment;
      const link = await h.call('POST', `/v1/shipments/${shipment.id}/share-links`, tenant.keys.dispatcher, {});
      return { path: `/v1/shipments/${shipment.id}/share-links/${link.body.id}` };
    },
  },
];

const PUBLIC_ROUTES = ['GET /healthz', 'GET /readyz', 'GET /openapi.json', 'GET /docs', 'GET /', 'GET /app', 'GET /app/*', 'GET /app/assets/{file}', 'GET /track/{token}'];
/** /v1 operations that need no key by design; each is tested in test/api/console-sessions.test.ts and share-links.test.ts. */
const PUBLIC_API_ROUTES = ['POST /v1/sessions', 'GET /v1/track/{token}'];

function keyOf(caller: Caller): string | undefined {
  if (caller === 'none') return undefined;
  if (caller === 'revoked') return revokedKey;
  return h.acme.keys[caller];
}

function expected(row: Row, caller: Caller, target: Target | undefined): number {
  if (caller === 'none' || caller === 'revoked') return 401;
  if (!row.allowed.includes(caller)) return 403;
  if (target === undefined || target === 'own') return row.success;
  return row.notOwn?.(caller) ?? 404;
}

const rowName = (row: { method: string; path: string }) => `${row.method} ${row.path}`;

/** Status and headers of a stream; its body is read only when it is a problem, else cancelled. */
async function openStream(path: string, key: string | undefined): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await h.app.request(path, { headers: key ? { authorization: `Bearer ${key}` } : {} });
  if (res.status !== 200) return { status: res.status, headers: res.headers, body: await res.json() };
  expect(res.headers.get('content-type')).toContain('text/event-stream');
  await res.body?.cancel();
  return { status: res.status, headers: res.headers, body: undefined };
}

describe('the matrix covers the API', () => {
  it('has exactly one row per route the app registers, and every other route is public', () => {
    const registered = new Set(
      h.app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`),
    );
    const authenticated = [...registered].filter((r) => r.split(' ')[1]!.startsWith('/v1/') && !PUBLIC_API_ROUTES.includes(r)).sort();
    expect(ROWS.map(rowName).sort()).toEqual(authenticated);
    expect(PUBLIC_API_ROUTES.every((r) => registered.has(r))).toBe(true);
    expect([...registered].filter((r) => !r.split(' ')[1]!.startsWith('/v1/')).sort()).toEqual([...PUBLIC_ROUTES].sort());
  });

  it('states the same security and roles in the OpenAPI document', async () => {
    const doc = (await h.call('GET', '/openapi.json', undefined)).body;
    const operations: string[] = [];
    for (const [path, item] of Object.entries<Record<string, any>>(doc.paths)) {
      for (const [method, operation] of Object.entries<any>(item)) {
        if (!path.startsWith('/v1/')) continue;
        if (PUBLIC_API_ROUTES.includes(`${method.toUpperCase()} ${path}`)) {
          expect(operation.security, `${method} ${path} is public`).toEqual([]);
          expect(operation['x-public']).toEqual(expect.any(String));
          continue;
        }
        operations.push(`${method.toUpperCase()} ${path}`);
        const row = ROWS.find((r) => rowName(r) === `${method.toUpperCase()} ${path}`);
        expect(row, `${method} ${path}`).toBeDefined();
        expect(operation.security).toEqual([{ bearerAuth: [] }]);
        expect(operation['x-roles']).toEqual(row!.allowed);
        expect(operation.description).toContain(`**Roles:** ${row!.allowed.join(', ')}.`);
        expect(operation.responses['429']).toBeDefined();
      }
    }
    expect(operations.sort()).toEqual(ROWS.map(rowName).sort());
  });

  it('answers the public routes without a key', async () => {
    const examples: Record<string, [string, number]> = {
      'GET /': ['/', 302],
      'GET /app/*': ['/app/shipments/x', 200],
      'GET /app/assets/{file}': ['/app/assets/console.js', 200],
      // An unknown token: the not-found page (the share-link tests open real ones).
      'GET /track/{token}': ['/track/unknown', 404],
    };
    for (const route of PUBLIC_ROUTES) {
      const [path, status] = examples[route] ?? [route.split(' ')[1]!, 200];
      expect((await h.app.request(path)).status, route).toBe(status);
    }
  });
});

describe.each(ROWS.map((row) => [rowName(row), row] as const))('%s', (_name, row) => {
  const cells: [Caller, Target | undefined][] = CALLERS.flatMap((caller) =>
    row.byTarget ? TARGETS.map((target): [Caller, Target | undefined] => [caller, target]) : [[caller, undefined]],
  );

  it.each(cells)('%s key, %s id', async (caller, target) => {
    const cell = await row.request(target ?? 'own', caller);
    const res = row.stream ? await openStream(cell.path, keyOf(caller)) : await h.call(row.method, cell.path, keyOf(caller), cell.body);
    expect(res.status, `${row.method} ${cell.path} as ${caller}: ${JSON.stringify(res.body)}`).toBe(expected(row, caller, target));
    if (res.status >= 400) expect(res.headers.get('content-type')).toBe('application/problem+json');
  });

  if (row.byTarget) {
    it("answers another tenant's id exactly like a missing or malformed one", async () => {
      const caller = row.allowed[0]!;
      const bodies = [];
      for (const path of [(await row.request('other', caller)).path, (await row.request('missing', caller)).path]) {
        const cell = { path, body: (await row.request('other', caller)).body };
        const res = row.stream ? await openStream(cell.path, keyOf(caller)) : await h.call(row.method, cell.path, keyOf(caller), cell.body);
        const { instance: _instance, ...problem } = res.body;
        bodies.push({ status: res.status, problem });
      }
      expect(bodies[0]).toEqual(bodies[1]);
      if (row.path.includes('{')) {
        const malformed = row.path.replace(/\{\w+\}/, 'not-an-id');
        const res = await h.call(row.method, malformed, keyOf(caller), (await row.request('other', caller)).body);
        const { instance: _instance, ...problem } = res.body;
        expect({ status: res.status, problem }).toEqual(bodies[0]);
      }
    });
  }
});

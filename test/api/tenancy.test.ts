// Keys, the fleet, assignment and audit: device keys, revocation across API processes, rate
// limits, lastUsedAt, fleet CRUD with delete-in-use conflicts, reassignment routing, audit rows.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../api/app.js';
import { createApiKeyService, issueApiKey, parseApiKey } from '../../api/auth.js';
import { searchAttributes } from '../../workflows/contract.js';
import { createLogger } from '../../infra/logger.js';
import { fixes, runWorker, shipmentBody, startHarness, storedBySequence, type Harness } from './harness.js';

let h: Harness;
let stopWorker: () => Promise<void>;
const logger = createLogger({ name: 'tenancy-test', level: 'silent' });

beforeAll(async () => {
  h = await startHarness({ queryTimeoutMs: 5_000 });
  stopWorker = await runWorker(h);
});
afterAll(async () => {
  await stopWorker?.();
  await h?.close();
});

const admin = () => h.acme.keys.admin;
const dispatcher = () => h.acme.keys.dispatcher;

async function created(method: string, path: string, body: unknown, key = dispatcher()) {
  const res = await h.call(method, path, key, body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

async function newDeviceWithKey() {
  const device = await created('POST', '/v1/devices', { externalId: `IMEI-${randomUUID()}`, kind: 'eld' });
  const key = await created('POST', '/v1/api-keys', { role: 'device', deviceId: device.id, name: 'tracker' }, admin());
  return { deviceId: device.id as string, key: key.apiKey as string };
}

describe('API keys', () => {
  it('issues a prefixed key shown once, lists it without the secret and with lastUsedAt, and audits issue and revoke', async () => {
    const issued = await created('POST', '/v1/api-keys', { role: 'dispatcher', name: 'TMS' }, admin());
    expect(issued.apiKey).toMatch(/^rtk_[0-9a-f]{24}_[A-Za-z0-9_-]{43}$/);
    const { keyId, secret } = parseApiKey(issued.apiKey)!;
    expect(issued).toMatchObject({ id: keyId, role: 'dispatcher', name: 'TMS', createdByKeyId: parseApiKey(admin())!.keyId });

    expect((await h.call('GET', '/v1/shipments', issued.apiKey)).status).toBe(200);
    await h.keys.flushUsage();
    const listed = await h.call('GET', '/v1/api-keys?role=dispatcher', admin());
    expect(JSON.stringify(listed.body)).not.toContain(secret);
    const item = listed.body.items.find((k: { id: string }) => k.id === keyId);
    expect(item).toMatchObject({ id: keyId, lastUsedAt: expect.any(String) });
    expect(item.apiKey).toBeUndefined();

    const revoked = await h.call('DELETE', `/v1/api-keys/${keyId}`, admin());
    expect(revoked.body).toMatchObject({ id: keyId, revokedAt: expect.any(String) });
    expect((await h.call('GET', '/v1/shipments', issued.apiKey)).status).toBe(401);
    // Revoking again answers the same and records nothing more.
    expect((await h.call('DELETE', `/v1/api-keys/${keyId}`, admin())).status).toBe(200);
    expect((await h.call('GET', '/v1/api-keys', admin())).body.items.map((k: { id: string }) => k.id)).not.toContain(keyId);
    expect((await h.call('GET', '/v1/api-keys?includeRevoked=true', admin())).body.items.map((k: { id: string }) => k.id)).toContain(keyId);

    const audit = await h.call('GET', `/v1/audit-events?entityId=${keyId}`, admin());
    expect(audit.body.items.map((e: { action: string }) => e.action)).toEqual(['api_key.revoked', 'api_key.issued']);
    expect(audit.body.items.every((e: { actorKeyId: string }) => e.actorKeyId === parseApiKey(admin())!.keyId)).toBe(true);
  });

  it('binds device keys to a device of the tenant', async () => {
    const noDevice = await h.call('POST', '/v1/api-keys', admin(), { role: 'device' });
    expect(noDevice.status).toBe(400);
    expect(noDevice.body.errors).toEqual([{ field: 'deviceId', message: expect.any(String) }]);
    const foreign = await h.call('POST', '/v1/api-keys', admin(), { role: 'device', deviceId: h.globex.fleet.deviceId });
    expect(foreign.status).toBe(422);
    expect(foreign.body.errors[0].field).toBe('deviceId');
    const viewerWithDevice = await h.call('POST', '/v1/api-keys', admin(), { role: 'viewer', deviceId: h.acme.fleet.deviceId });
    expect(viewerWithDevice.status).toBe(400);
  });

  it('serves verified keys from memory and refuses a revoked key in another API process through NOTIFY', async () => {
    const notices: string[] = [];
    let noticed!: () => void;
    const arrived = new Promise<void>((resolve) => (noticed = resolve));
    const keysA = createApiKeyService({ db: h.database.db, logger });
    const keysB = createApiKeyService({ db: h.database.db, logger, onRevocationNotice: (id) => (notices.push(id), noticed()) });
    await Promise.all([keysA.listen(h.database.url), keysB.listen(h.database.url)]);
    const appA = createApp({ db: h.database.db, temporal: h.client, logger, ingest: h.ingest, keys: keysA });
    const appB = createApp({ db: h.database.db, temporal: h.client, logger, ingest: h.ingest, keys: keysB });
    const get = async (app: typeof appA, key: string, path = '/v1/carriers', method = 'GET') =>
      (await app.request(path, { method, headers: { authorization: `Bearer ${key}` } })).status;
    try {
      // Served from memory: a revocation written behind the API's back (no NOTIFY) is not seen
      // until the TTL runs out, which shows B no longer reads the key per request.
      const silent = await issueApiKey(h.database.db, { tenantId: h.acme.id, role: 'viewer' });
      expect(await get(appB, silent.apiKey)).toBe(200);
      await h.database.db.updateTable('api_keys').set({ revoked_at: new Date() }).where('id', '=', silent.keyId).execute();
      expect(await get(appB, silent.apiKey)).toBe(200);

      const key = await issueApiKey(h.database.db, { tenantId: h.acme.id, role: 'viewer' });
      expect(await get(appB, key.apiKey)).toBe(200);
      expect(await get(appA, admin(), `/v1/api-keys/${key.keyId}`, 'DELETE')).toBe(200);
      expect(await get(appA, key.apiKey)).toBe(401);
      await arrived;
      expect(notices).toContain(key.keyId);
      expect(await get(appB, key.apiKey)).toBe(401);
    } finally {
      await Promise.all([keysA.close(), keysB.close()]);
    }
  });

  it('limits each key with a token bucket: 429 with Retry-After, other keys unaffected', async () => {
    const keys = createApiKeyService({ db: h.database.db, logger, settings: { rateLimitPerSecond: 0.5, rateLimitBurst: 2 } });
    const app = createApp({ db: h.database.db, temporal: h.client, logger, ingest: h.ingest, keys });
    const call = (key: string) => app.request('/v1/carriers', { headers: { authorization: `Bearer ${key}` } });
    try {
      expect((await call(h.acme.keys.viewer)).status).toBe(200);
      expect((await call(h.acme.keys.viewer)).status).toBe(200);
      const limited = await call(h.acme.keys.viewer);
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(limited.headers.get('content-type')).toBe('application/problem+json');
      expect(await limited.json()).toMatchObject({ type: 'https://retrack.dev/problems/rate-limited', status: 429 });
      expect((await call(h.acme.keys.dispatcher)).status).toBe(200);
    } finally {
      await keys.close();
    }
  });
});

describe('fleet', () => {
  it('creates, reads, filters, pages, changes and audits carriers, vehicles, drivers and devices', async () => {
    const carrier = await created('POST', '/v1/carriers', { name: 'Transports Rhône', scac: 'TRHO' });
    const vehicles = [];
    for (let i = 0; i < 3; i++) vehicles.push(await created('POST', '/v1/vehicles', { plate: `AA-00${i}-BB`, carrierId: carrier.id }));
    const driver = await created('POST', '/v1/drivers', { name: 'Lou Girard', carrierId: carrier.id });
    const device = await created('POST', '/v1/devices', { externalId: `IMEI-${randomUUID()}`, vehicleId: vehicles[0].id });
    expect(device).toMatchObject({ kind: 'tracker', vehicleId: vehicles[0].id });

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await h.call('GET', `/v1/vehicles?carrierId=${carrier.id}&limit=2${cursor ? `&cursor=${cursor}` : ''}`, h.acme.keys.viewer);
      seen.push(...page.body.items.map((v: { id: string }) => v.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(vehicles.map((v) => v.id).reverse());
    expect((await h.call('GET', `/v1/devices?externalId=${device.externalId}`, h.acme.keys.viewer)).body.items).toEqual([device]);
    expect((await h.call('GET', `/v1/drivers?carrierId=${carrier.id}`, h.globex.keys.viewer)).body.items).toEqual([]);

    const changed = await h.call('PATCH', `/v1/carriers/${carrier.id}`, dispatcher(), { scac: null, contactEmail: 'ops@trho.example' });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ id: carrier.id, contactEmail: 'ops@trho.example' });
    expect(changed.body.scac).toBeUndefined();
    expect((await h.call('GET', `/v1/drivers/${driver.id}`, h.acme.keys.viewer)).body).toEqual(driver);

    const audit = await h.call('GET', `/v1/audit-events?entityId=${carrier.id}`, admin());
    expect(audit.body.items.map((e: any) => [e.action, e.actorKeyId])).toEqual([
      ['carrier.updated', parseApiKey(dispatcher())!.keyId],
      ['carrier.created', parseApiKey(dispatcher())!.keyId],
    ]);
    expect(audit.body.items[0].data).toMatchObject({ fields: ['scac', 'contactEmail'], before: { scac: 'TRHO' } });
    expect((await h.call('GET', `/v1/audit-events?entityId=${carrier.id}`, h.globex.keys.admin)).body.items).toEqual([]);
  });

  it('names invalid fields, foreign references and duplicate external ids', async () => {
    const invalid = await h.call('POST', '/v1/carriers', dispatcher(), { name: '', scac: 'lower', contactEmail: 'nope', extra: 1 });
    expect(invalid.status).toBe(400);
    expect(invalid.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['contactEmail', 'extra', 'name', 'scac']);
    const emptyPatch = await h.call('PATCH', `/v1/carriers/${h.acme.fleet.carrierId}`, dispatcher(), {});
    expect(emptyPatch.status).toBe(400);

    const foreign = await h.call('POST', '/v1/vehicles', dispatcher(), { plate: 'ZZ-999-ZZ', carrierId: h.globex.fleet.carrierId });
    expect(foreign.status).toBe(422);
    expect(foreign.body).toMatchObject({ type: 'https://retrack.dev/problems/invalid-reference', errors: [{ field: 'carrierId', message: expect.any(String) }] });

    const externalId = `IMEI-${randomUUID()}`;
    await created('POST', '/v1/devices', { externalId });
    const duplicate = await h.call('POST', '/v1/devices', dispatcher(), { externalId });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.errors).toEqual([{ field: 'externalId', message: expect.any(String) }]);
    // Unique per tenant, not globally.
    expect((await h.call('POST', '/v1/devices', h.globex.keys.dispatcher, { externalId })).status).toBe(201);

    const shipment = await h.call('POST', '/v1/shipments', dispatcher(), shipmentBody({ carrierId: h.globex.fleet.carrierId, vehicleId: 'not-an-id' }));
    expect(shipment.status).toBe(422);
    expect(shipment.body.errors.map((e: { field: string }) => e.field)).toEqual(['carrierId', 'vehicleId']);
  });

  it('refuses to delete what an active shipment or the fleet still uses, and says what', async () => {
    const carrier = await created('POST', '/v1/carriers', { name: 'Busy Haulage' });
    const vehicle = await created('POST', '/v1/vehicles', { plate: 'BU-001-SY', carrierId: carrier.id });
    const driver = await created('POST', '/v1/drivers', { name: 'Noa Petit' });
    const shipment = await created('POST', '/v1/shipments', shipmentBody({ vehicleId: vehicle.id, driverId: driver.id }));

    const carrierInUse = await h.call('DELETE', `/v1/carriers/${carrier.id}`, dispatcher());
    expect(carrierInUse.status).toBe(409);
    expect(carrierInUse.body).toMatchObject({ type: 'https://retrack.dev/problems/in-use', usedBy: { vehicles: [vehicle.id] } });
    const vehicleInUse = await h.call('DELETE', `/v1/vehicles/${vehicle.id}`, dispatcher());
    expect(vehicleInUse.status).toBe(409);
    expect(vehicleInUse.body.usedBy.activeShipments).toEqual([{ id: shipment.id, reference: shipment.reference, status: 'PLANNED' }]);
    expect(vehicleInUse.body.detail).toContain(shipment.reference);
    expect((await h.call('DELETE', `/v1/drivers/${driver.id}`, dispatcher())).status).toBe(409);

    const { deviceId } = await newDeviceWithKey();
    const deviceInUse = await h.call('DELETE', `/v1/devices/${deviceId}`, dispatcher());
    expect(deviceInUse.status).toBe(409);
    expect(deviceInUse.body.usedBy.apiKeys).toHaveLength(1);

    expect((await h.call('POST', `/v1/shipments/${shipment.id}/cancel`, dispatcher(), { reason: 'order withdrawn' })).status).toBe(200);
    expect((await h.call('DELETE', `/v1/vehicles/${vehicle.id}`, dispatcher())).status).toBe(204);
    expect((await h.call('DELETE', `/v1/drivers/${driver.id}`, dispatcher())).status).toBe(204);
    expect((await h.call('DELETE', `/v1/carriers/${carrier.id}`, dispatcher())).status).toBe(204);
    expect((await h.call('GET', `/v1/carriers/${carrier.id}`, dispatcher())).status).toBe(404);
    const audit = await h.call('GET', `/v1/audit-events?action=carrier.deleted&entityId=${carrier.id}`, admin());
    expect(audit.body.items).toHaveLength(1);
  });
});

describe('device keys', () => {
  it('push fixes for their own assigned shipment and get 403/404 everywhere else', async () => {
    const { deviceId, key } = await newDeviceWithKey();
    const mine = await created('POST', '/v1/shipments', shipmentBody({ deviceId }));
    const notMine = await created('POST', '/v1/shipments', shipmentBody({ deviceId: h.acme.fleet.deviceId }));
    const foreign = await h.call('POST', '/v1/shipments', h.globex.keys.dispatcher, shipmentBody({ deviceId: h.globex.fleet.deviceId }));

    const pushed = await h.call('POST', '/v1/positions', key, { deviceId, positions: fixes(2) });
    expect(pushed.body).toMatchObject({ accepted: 2, unrouted: 0, shipments: [{ shipmentId: mine.id, accepted: 2 }] });
    expect((await h.call('POST', `/v1/shipments/${mine.id}/positions`, key, { positions: fixes(1, Date.now() - 10_000) })).status).toBe(202);

    expect((await h.call('POST', `/v1/shipments/${notMine.id}/positions`, key, { positions: fixes(1) })).status).toBe(403);
    expect((await h.call('POST', `/v1/shipments/${foreign.body.id}/positions`, key, { positions: fixes(1) })).status).toBe(404);
    expect((await h.call('POST', '/v1/positions', key, { deviceId: h.acme.fleet.deviceId, positions: fixes(1) })).status).toBe(403);
    for (const path of ['/v1/shipments', `/v1/shipments/${mine.id}`, `/v1/devices/${deviceId}`, `/v1/devices/${deviceId}/positions`, '/v1/api-keys']) {
      expect((await h.call('GET', path, key)).status, path).toBe(403);
    }
    expect((await h.call('PATCH', `/v1/shipments/${mine.id}/assignment`, key, { deviceId: null })).status).toBe(403);
  });
});

describe('assignment', () => {
  it('reroutes a device at once, follows in the projection, timeline and CarrierId, and keeps unassigned fixes', async () => {
    const { deviceId, key } = await newDeviceWithKey();
    const first = await created('POST', '/v1/shipments', shipmentBody({ deviceId }));
    const second = await created('POST', '/v1/shipments', shipmentBody());
    const t0 = Date.now() - 60 * 60_000;

    const before = await h.call('POST', '/v1/positions', key, { deviceId, positions: fixes(3, t0) });
    expect(before.body.shipments.map((s: { shipmentId: string }) => s.shipmentId)).toEqual([first.id]);

    const moved = await h.call('PATCH', `/v1/shipments/${first.id}/assignment`, dispatcher(), { deviceId: null });
    expect(moved.status, JSON.stringify(moved.body)).toBe(200);
    expect(moved.body.deviceId).toBeUndefined();
    const assigned = await h.call('PATCH', `/v1/shipments/${second.id}/assignment`, dispatcher(), { deviceId, carrierId: h.acme.fleet.carrierId });
    expect(assigned.status).toBe(200);
    expect(assigned.body).toMatchObject({ deviceId, carrierId: h.acme.fleet.carrierId });

    // No wait: the PATCH answered after the projection changed.
    const after = await h.call('POST', '/v1/positions', key, { deviceId, positions: fixes(3, t0 + 10 * 60_000) });
    expect(after.body.shipments.map((s: { shipmentId: string }) => s.shipmentId)).toEqual([second.id]);
    expect(await storedBySequence(h, first.id)).toHaveLength(3);
    expect(await storedBySequence(h, second.id)).toHaveLength(3);

    const row = await h.database.db.selectFrom('shipments').select(['device_id', 'carrier_id']).where('id', '=', second.id).executeTakeFirstOrThrow();
    expect(row).toEqual({ device_id: deviceId, carrier_id: h.acme.fleet.carrierId });
    const description = await h.client.workflow.getHandle(second.workflowId).describe();
    expect(description.typedSearchAttributes.get(searchAttributes.carrierId)).toBe(h.acme.fleet.carrierId);
    const timeline = await h.call('GET', `/v1/shipments/${second.id}/timeline`, h.acme.keys.viewer);
    const change = timeline.body.items.find((e: { type: string }) => e.type === 'ASSIGNMENT_CHANGED');
    expect(change).toMatchObject({ data: { from: {}, to: { deviceId, carrierId: h.acme.fleet.carrierId } }, actor: `api-key:${parseApiKey(dispatcher())!.keyId}` });
    expect((await h.call('GET', `/v1/shipments?carrierId=${h.acme.fleet.carrierId}`, h.acme.keys.viewer)).body.items.map((s: { id: string }) => s.id)).toContain(second.id);

    // Once its only shipment is cancelled the device's fixes are kept, and the answer says so.
    expect((await h.call('POST', `/v1/shipments/${second.id}/cancel`, dispatcher(), { reason: 'consignee closed' })).status).toBe(200);
    const unrouted = await h.call('POST', '/v1/positions', key, { deviceId, positions: fixes(2, t0 + 20 * 60_000) });
    expect(unrouted.body).toEqual({ accepted: 2, duplicates: 0, unrouted: 2, shipments: [] });
  });

  it('names unknown or foreign ids and refuses closed shipments', async () => {
    const shipment = await created('POST', '/v1/shipments', shipmentBody());
    const foreign = await h.call('PATCH', `/v1/shipments/${shipment.id}/assignment`, dispatcher(), { carrierId: h.globex.fleet.carrierId, driverId: randomUUID() });
    expect(foreign.status).toBe(422);
    expect(foreign.body.errors.map((e: { field: string }) => e.field)).toEqual(['carrierId', 'driverId']);
    expect((await h.call('PATCH', `/v1/shipments/${shipment.id}/assignment`, dispatcher(), {})).status).toBe(400);

    expect((await h.call('POST', `/v1/shipments/${shipment.id}/cancel`, dispatcher(), { reason: 'duplicate order' })).status).toBe(200);
    const closed = await h.call('PATCH', `/v1/shipments/${shipment.id}/assignment`, dispatcher(), { driverId: h.acme.fleet.driverId });
    expect(closed.status).toBe(409);
  });
});

// Share links: dispatcher+ create, list and revoke; the token carries 256 random bits and is
// stored hashed; `/track/{token}` and its data answer without a key with the shipment's progress
// only; an expired, revoked or unknown token answers the very same not-found.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixes, runWorker, shipmentBody, startHarness, type Harness } from './harness.js';
import { eventually } from '../support/http.js';

let h: Harness;
let stopWorker: () => Promise<void>;
let shipment: { id: string; workflowId: string };

beforeAll(async () => {
  h = await startHarness();
  stopWorker = await runWorker(h);
  const created = await h.call('POST', '/v1/shipments', h.acme.keys.dispatcher, shipmentBody({ carrierId: h.acme.fleet.carrierId, deviceId: h.acme.fleet.deviceId }));
  shipment = created.body;
  expect((await h.call('POST', `/v1/shipments/${shipment.id}/positions`, h.acme.keys.dispatcher, { positions: fixes(5) })).status).toBe(202);
  await eventually('the projection has a last position', () => h.call('GET', `/v1/shipments?reference=${created.body.reference}`, h.acme.keys.viewer), (r) => r.body.items[0]?.lastPosition !== undefined);
});
afterAll(async () => {
  await stopWorker?.();
  await h?.close();
});

const create = (body: unknown = {}) => h.call('POST', `/v1/shipments/${shipment.id}/share-links`, h.acme.keys.dispatcher, body);
const publicData = (token: string) => h.app.request(`/v1/track/${token}`);

async function notFoundOf(token: string) {
  const data = await publicData(token);
  const page = await h.app.request(`/track/${token}`);
  const { instance: _instance, ...problem } = (await data.json()) as Record<string, unknown>;
  return { dataStatus: data.status, problem, pageStatus: page.status, page: await page.text() };
}

describe('creating a link', () => {
  it('answers the token once, 256 random bits, and stores only its hash', async () => {
    const res = await create();
    expect(res.status).toBe(201);
    expect(res.body.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(res.body.url).toBe(`http://localhost/track/${res.body.token}`);
    expect(res.body.status).toBe('active');
    const days = (Date.parse(res.body.expiresAt) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(6.9);
    expect(days).toBeLessThanOrEqual(7);
    const row = await h.database.db.selectFrom('share_links').selectAll().where('id', '=', res.body.id).executeTakeFirstOrThrow();
    expect(row.token_hash).toBe(createHash('sha256').update(res.body.token).digest('hex'));
    expect(JSON.stringify(row)).not.toContain(res.body.token);
    const list = await h.call('GET', `/v1/shipments/${shipment.id}/share-links`, h.acme.keys.dispatcher);
    expect(list.body.items.map((l: { id: string }) => l.id)).toContain(res.body.id);
    expect(JSON.stringify(list.body)).not.toContain(res.body.token);
  });

  it('refuses an expiry in the past or more than 30 days ahead, naming expiresAt', async () => {
    for (const expiresAt of [new Date(Date.now() - 60_000).toISOString(), new Date(Date.now() + 31 * 86_400_000).toISOString(), 'tomorrow']) {
      const res = await create({ expiresAt });
      expect(res.status, expiresAt).toBe(400);
      expect(res.body.errors[0].field).toBe('expiresAt');
    }
    expect((await create({ expiresAt: new Date(Date.now() + 30 * 86_400_000 - 60_000).toISOString() })).status).toBe(201);
  });
});

describe('the public page and its data', () => {
  it("show the shipment's progress without a key, and no fleet ids, keys or other shipment", async () => {
    const { body } = await create();
    const page = await h.app.request(`/track/${body.token}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    const res = await publicData(body.token);
    expect(res.status).toBe(200);
    const data = (await res.json()) as any;
    expect(data.stops.map((s: { name: string }) => s.name)).toEqual(['Lyon DC', 'Paris XV']);
    expect(data.lastPosition).toMatchObject({ lat: expect.any(Number), lon: expect.any(Number) });
    expect(data.track.features.length).toBeGreaterThan(0);
    const text = JSON.stringify(data);
    for (const secret of [shipment.id, shipment.workflowId, h.acme.id, h.acme.fleet.carrierId, h.acme.fleet.deviceId, body.token, body.id]) expect(text).not.toContain(secret);
    for (const key of Object.keys(data)) expect(['eta', 'lastPosition', 'status', 'stops', 'track', 'updatedAt']).toContain(key);
  });

  it('answer the same not-found for an unknown, a revoked and an expired link', async () => {
    const unknown = await notFoundOf('A'.repeat(43));
    expect(unknown.dataStatus).toBe(404);
    expect(unknown.pageStatus).toBe(404);
    expect(unknown.page).toContain('Tracking link not found');

    const revoked = (await create()).body;
    expect((await publicData(revoked.token)).status).toBe(200);
    const revoke = await h.call('DELETE', `/v1/shipments/${shipment.id}/share-links/${revoked.id}`, h.acme.keys.dispatcher);
    expect(revoke.body.status).toBe('revoked');
    expect(await notFoundOf(revoked.token)).toEqual(unknown);
    // Revoking again changes nothing.
    expect((await h.call('DELETE', `/v1/shipments/${shipment.id}/share-links/${revoked.id}`, h.acme.keys.dispatcher)).body.revokedAt).toBe(revoke.body.revokedAt);

    const expired = (await create()).body;
    await h.database.db.updateTable('share_links').set({ expires_at: new Date(Date.now() - 1000) }).where('id', '=', expired.id).execute();
    expect(await notFoundOf(expired.token)).toEqual(unknown);
    expect(await notFoundOf('malformed')).toEqual(unknown);
  });

  it("cannot reach another tenant's shipment through a link id", async () => {
    const link = (await create()).body;
    const res = await h.call('DELETE', `/v1/shipments/${shipment.id}/share-links/${link.id}`, h.globex.keys.dispatcher);
    expect(res.status).toBe(404);
    expect((await publicData(link.token)).status).toBe(200);
  });
});

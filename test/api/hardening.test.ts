// Regression tests for issue 10 ("no poison pill, no 5xx"): each finding replayed through
// createApp/app.request(), and the wire-level ones (oversized request lines, invalid UTF-8)
// through a real listener too. The poison requests must be refused and the shipment keep working.
import { request as httpRequest } from 'node:http';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerType } from '@hono/node-server';
import { serveApi } from '../../api/http-server.js';
import { createApiKeyService } from '../../api/auth.js';
import { createApp } from '../../api/app.js';
import { createLogger } from '../../infra/logger.js';
import { eventually } from '../support/http.js';
import { fixes, runWorker, shipmentBody, startHarness, type Harness } from './harness.js';

let h: Harness;
let stopWorker: () => Promise<void>;
let server: ServerType;
let baseUrl: string;

beforeAll(async () => {
  // Hundreds of requests go through one admin key here; the per-key rate limit has tests of its own.
  h = await startHarness({ queryTimeoutMs: 5_000, apiKeys: { rateLimitBurst: 10_000, rateLimitPerSecond: 10_000 } });
  stopWorker = await runWorker(h);
  const listening = await serveApi({ fetch: h.app.fetch, port: 0, hostname: '127.0.0.1' });
  server = listening.server;
  baseUrl = `http://127.0.0.1:${listening.port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await stopWorker?.();
  await h?.close();
});

const dispatcher = () => h.acme.keys.dispatcher;
const admin = () => h.acme.keys.admin;

async function createShipment(overrides: Record<string, unknown> = {}) {
  const res = await h.call('POST', '/v1/shipments', dispatcher(), shipmentBody(overrides));
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; workflowId: string; deviceId?: string; stops: { window?: { start: string; end: string } }[] };
}

function expectProblem(res: { status: number; headers: Headers; body: any }, status: number, field?: string) {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  if (field) expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
}

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

describe('1. text that validation accepted and froze a shipment', () => {
  it('refuses NUL and unpaired surrogates in event notes and cancel reasons, and the shipment keeps processing fixes', async () => {
    const shipment = await createShipment();
    for (const note of ['a\u0000b', 'a\ud800b', 'a\udc00b']) {
      const res = await h.call('POST', `/v1/shipments/${shipment.id}/events`, dispatcher(), { type: 'EXCEPTION', exceptionCode: 'DAMAGED', note, eventId: `e-${randomUUID()}` });
      expectProblem(res, 400, 'note');
    }
    expectProblem(await h.call('POST', `/v1/shipments/${shipment.id}/cancel`, dispatcher(), { reason: 'stop\u0000' }), 400, 'reason');
    // The same characters anywhere in a body: a nested field is named by its path.
    const badStop = shipmentBody();
    (badStop.stops[1] as { name: string }).name = 'Paris \ud83d';
    expectProblem(await h.call('POST', '/v1/shipments', dispatcher(), badStop), 400, 'stops[1].name');
    // A well-formed pair (an emoji) is ordinary text.
    const emoji = await h.call('POST', `/v1/shipments/${shipment.id}/events`, dispatcher(), { type: 'EXCEPTION', exceptionCode: 'DAMAGED', note: 'box crushed 📦', eventId: `e-${randomUUID()}` });
    expect(emoji.status, JSON.stringify(emoji.body)).toBe(200);

    const sent = fixes(3);
    expect((await h.call('POST', `/v1/shipments/${shipment.id}/positions`, dispatcher(), { positions: sent })).status).toBe(202);
    const live = await eventually(
      'the fixes applied by the workflow',
      () => h.call('GET', `/v1/shipments/${shipment.id}`, h.acme.keys.viewer),
      (res) => res.headers.get('x-state-source') === 'workflow' && res.body.fixCounts?.applied === 3,
    );
    expect(live.body.lastPosition.recordedAt).toBe(sent[2]!.recordedAt);
    const cancelled = await h.call('POST', `/v1/shipments/${shipment.id}/cancel`, dispatcher(), { reason: 'customer cancelled' });
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
  });
});

describe('2. NUL in query filters and paths', () => {
  it('is a 400 naming the parameter on every filter and path', async () => {
    const shipment = await createShipment();
    const queries: [string, string][] = [
      ['/v1/shipments?reference=%00', 'reference'],
      ['/v1/shipments?carrierId=%00', 'carrierId'],
      ['/v1/devices?externalId=%00', 'externalId'],
      ['/v1/vehicles?plate=a%00', 'plate'],
      ['/v1/audit-events?action=%00', 'action'],
      ['/v1/audit-events?entityType=%00', 'entityType'],
      ['/v1/audit-events?entityId=%00', 'entityId'],
      ['/v1/audit-events?actorKeyId=%00', 'actorKeyId'],
      ['/v1/shipments?cursor=%00', 'cursor'],
      [`/v1/shipments/${shipment.id}/positions?from=%00`, 'from'],
      ['/v1/api-keys/%00', 'id'],
      ['/v1/shipments/%00', 'id'],
      ['/v1/carriers/a%00', 'id'],
      ['/v1/devices/a%00/positions', 'deviceId'],
    ];
    for (const [path, field] of queries) expectProblem(await h.call('GET', path, admin()), 400, field);
    // Percent-encoding that is not UTF-8 is kept as sent: an id no row has.
    expectProblem(await h.call('GET', '/v1/devices/%ED%A0%80/positions', admin()), 404);
    expectProblem(await h.call('DELETE', '/v1/api-keys/%00', admin()), 400, 'id');
    expectProblem(await h.call('DELETE', '/v1/devices/%00', admin()), 400, 'id');
  });
});

describe('3. tampered pagination cursors', () => {
  it('is a 400 naming cursor on every list, for every kind of tampering', async () => {
    const shipment = await createShipment({ deviceId: h.acme.fleet.deviceId });
    const lists = [
      '/v1/shipments',
      `/v1/shipments/${shipment.id}/timeline`,
      `/v1/shipments/${shipment.id}/positions`,
      `/v1/devices/${h.acme.fleet.deviceId}/positions`,
      '/v1/carriers',
      '/v1/drivers',
      '/v1/vehicles',
      '/v1/devices',
      '/v1/api-keys',
      '/v1/audit-events',
    ];
    const ids = [randomUUID(), '1', 'abcdefabcdefabcdefabcdef'];
    const tampered = [
      'garbage',
      '!!!',
      b64('not json'),
      b64(['2026-01-01T00:00:00Z', '9999999999999999999']),
      ...['1', '2020', 'March 7', '+275760-09-13T00:00:00Z', '2026-02-30T00:00:00.000000Z', '0000-01-01T00:00:00.000000Z'].flatMap((at) => ids.map((id) => b64(['shipments', at, id]))),
      ...['shipments', 'timeline', 'positions', 'carriers', 'api_keys', 'audit_events'].flatMap((list) => [
        b64([list, '2026-01-01T00:00:00.000000Z', '9999999999999999999']),
        b64([list, '2026-01-01T00:00:00.000000Z', '-1']),
        b64([list, '2026-01-01T00:00:00.000000Z', 'A'.repeat(24)]),
        b64([list, '2026-01-01T00:00:00.000000Z', 7]),
      ]),
    ];
    for (const list of lists) {
      for (const cursor of tampered) {
        const res = await h.call('GET', `${list}${list.includes('?') ? '&' : '?'}cursor=${encodeURIComponent(cursor)}`, admin());
        expectProblem(res, 400, 'cursor');
      }
    }
  });

  it("refuses another list's genuine cursor but follows its own", async () => {
    for (let i = 0; i < 3; i++) expect((await h.call('POST', '/v1/carriers', admin(), { name: `Cursor Haulage ${i}` })).status).toBe(201);
    const first = await h.call('GET', '/v1/carriers?limit=1', admin());
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const next = await h.call('GET', `/v1/carriers?limit=1&cursor=${first.body.nextCursor}`, admin());
    expect(next.status).toBe(200);
    expect(next.body.items[0].id).not.toBe(first.body.items[0].id);
    for (const other of ['/v1/drivers', '/v1/vehicles', '/v1/devices', '/v1/shipments']) {
      expectProblem(await h.call('GET', `${other}?cursor=${first.body.nextCursor}`, admin()), 400, 'cursor');
    }
  });
});

describe('4. timestamps with any ISO-8601 offset', () => {
  it('stores the instant that was sent, in UTC, for offsets up to ±23:59', async () => {
    const stops = shipmentBody().stops.map((stop, i) =>
      i === 0 ? { ...stop, window: { start: '2026-12-01T08:00:00+16:00', end: '2026-12-01T08:00:00-23:59' } } : stop,
    );
    const shipment = await createShipment({ stops });
    expect(shipment.stops[0]!.window).toEqual({ start: '2026-11-30T16:00:00.000Z', end: '2026-12-02T07:59:00.000Z' });
    const read = await h.call('GET', `/v1/shipments/${shipment.id}`, h.acme.keys.viewer);
    expect(read.body.stops[0].window).toEqual({ start: '2026-11-30T16:00:00.000Z', end: '2026-12-02T07:59:00.000Z' });

    const at = new Date(Date.now() - 3_600_000);
    const offset = `${new Date(at.getTime() + 14 * 3_600_000).toISOString().slice(0, 19)}+14:00`;
    expect((await h.call('POST', `/v1/shipments/${shipment.id}/positions`, dispatcher(), { positions: [{ recordedAt: offset, lat: 45.75, lon: 4.85 }] })).status).toBe(202);
    const stored = await h.call('GET', `/v1/shipments/${shipment.id}/positions`, h.acme.keys.viewer);
    expect(stored.body.items.map((p: { recordedAt: string }) => p.recordedAt)).toEqual([new Date(Math.floor(at.getTime() / 1000) * 1000).toISOString()]);
  });

  it('refuses what is not an ISO-8601 date-time or falls outside the years 0001-9999', async () => {
    const shipment = await createShipment();
    for (const recordedAt of ['1', '2020', 'March 7', '+275760-09-13T00:00:00Z', '2026-01-01T00:00:00+24:00', '0001-01-01T00:30:00+01:00']) {
      expectProblem(await h.call('POST', `/v1/shipments/${shipment.id}/positions`, dispatcher(), { positions: [{ recordedAt, lat: 45, lon: 4 }] }), 400, 'positions[0].recordedAt');
    }
    expectProblem(await h.call('GET', '/v1/analytics/eta-accuracy?since=2026-01-01T00:00:00%2B16:00x', h.acme.keys.viewer), 400, 'since');
    expect((await h.call('GET', '/v1/analytics/eta-accuracy?since=2026-01-01T00:00:00%2B16:00', h.acme.keys.viewer)).status).toBe(200);
  });
});

describe('5. upper-case UUIDs', () => {
  it('route fixes to the active shipment, store canonical ids and keep delete-in-use checks', async () => {
    const deviceId = await h.createDevice(h.acme);
    const upper = deviceId.toUpperCase();
    const shipment = await createShipment({ deviceId: upper });
    expect(shipment.deviceId).toBe(deviceId);

    const pushed = await h.call('POST', '/v1/positions', dispatcher(), { deviceId: upper, positions: fixes(2) });
    expect(pushed.status, JSON.stringify(pushed.body)).toBe(202);
    expect(pushed.body).toMatchObject({ accepted: 2, unrouted: 0, shipments: [{ shipmentId: shipment.id, accepted: 2 }] });
    const underDevice = await h.call('GET', `/v1/devices/${upper}/positions`, h.acme.keys.viewer);
    expect(underDevice.body.items).toHaveLength(2);

    // A device key issued with the upper-case spelling is bound to the device and may push to its shipment.
    const key = await h.call('POST', '/v1/api-keys', admin(), { role: 'device', deviceId: upper });
    expect(key.status).toBe(201);
    expect(key.body.deviceId).toBe(deviceId);
    const own = await h.call('POST', `/v1/shipments/${shipment.id.toUpperCase()}/positions`, key.body.apiKey, { positions: fixes(1, Date.now() - 30_000) });
    expect(own.status, JSON.stringify(own.body)).toBe(202);

    const revoked = await h.call('DELETE', `/v1/api-keys/${key.body.id}`, admin());
    expect(revoked.status).toBe(200);
    const refused = await h.call('DELETE', `/v1/devices/${upper}`, dispatcher());
    expectProblem(refused, 409);
    expect(refused.body.usedBy.activeShipments.map((s: { id: string }) => s.id)).toEqual([shipment.id]);
    const filtered = await h.call('GET', `/v1/shipments?carrierId=${h.acme.fleet.carrierId.toUpperCase()}`, h.acme.keys.viewer);
    expect(filtered.status).toBe(200);
  });
});

describe('6. smaller findings', () => {
  it('refuses an Authorization header with anything after the key', async () => {
    for (const header of [`Bearer ${h.acme.keys.viewer} junk`, `Bearer ${h.acme.keys.viewer}junk`, `Bearer  ${h.acme.keys.viewer} x`, `Basic ${h.acme.keys.viewer}`]) {
      const res = await h.app.request('/v1/shipments', { headers: { authorization: header } });
      expect(res.status, header).toBe(401);
    }
    expect((await h.app.request('/v1/shipments', { headers: { authorization: `bearer ${h.acme.keys.viewer}` } })).status).toBe(200);
  });

  it('throttles failed authentications per existing key id: 429 with Retry-After after the burst, even with the right secret', async () => {
    const keys = createApiKeyService({ db: h.database.db, logger: createLogger({ name: 'throttle', level: 'silent' }), settings: { failedAuthBurst: 5, failedAuthPerMinute: 1 } });
    const app = createApp({ db: h.database.db, temporal: h.client, logger: createLogger({ name: 'throttle', level: 'silent' }), ingest: h.ingest, keys });
    const key = h.acme.keys.viewer;
    const wrong = `${key.slice(0, -4)}AAAA` === key ? `${key.slice(0, -4)}BBBB` : `${key.slice(0, -4)}AAAA`;
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await app.request('/v1/shipments', { headers: { authorization: `Bearer ${wrong}` } })).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429]);
    const throttled = await app.request('/v1/shipments', { headers: { authorization: `Bearer ${key}` } });
    expect(throttled.status).toBe(429);
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(throttled.headers.get('content-type')).toBe('application/problem+json');
    // Other key ids are not affected, and an unknown key id never gets a bucket.
    expect((await app.request('/v1/shipments', { headers: { authorization: `Bearer ${h.acme.keys.admin}` } })).status).toBe(200);
    const unknown = `rtk_${'0'.repeat(24)}_${'A'.repeat(43)}`;
    for (let i = 0; i < 7; i++) expect((await app.request('/v1/shipments', { headers: { authorization: `Bearer ${unknown}` } })).status).toBe(401);
    await keys.close();
  });

  it('answers an oversized request line with a 431 problem+json, not an empty body or a reset', async () => {
    for (const length of [17_000, 100_000]) {
      const res = await fetch(`${baseUrl}/v1/shipments?reference=${'a'.repeat(length)}`, { headers: { authorization: `Bearer ${h.acme.keys.viewer}` } });
      expect(res.status, String(length)).toBe(431);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(await res.json()).toMatchObject({ status: 431, type: 'https://retrack.dev/problems/request-header-fields-too-large' });
    }
    const parsed = await fetch(`${baseUrl}/v1/shipments?reference=${'a'.repeat(101)}`, { headers: { authorization: `Bearer ${h.acme.keys.viewer}` } });
    expect(parsed.status).toBe(400);
    expect(((await parsed.json()) as { errors: unknown }).errors).toEqual([{ field: 'reference', message: 'must be at most 100 characters' }]);
  });

  it('refuses a JSON body that is not UTF-8 instead of storing U+FFFD', async () => {
    const shipment = await createShipment();
    const body = Buffer.concat([Buffer.from('{"type":"EXCEPTION","exceptionCode":"DAMAGED","note":"caf'), Buffer.from([0xe9]), Buffer.from('"}')]);
    const inProcess = await h.app.request(`/v1/shipments/${shipment.id}/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${dispatcher()}`, 'content-type': 'application/json' },
      body,
    });
    expect(inProcess.status).toBe(400);
    expect(((await inProcess.json()) as { errors: unknown }).errors).toEqual([{ field: '(body)', message: 'is not valid UTF-8' }]);

    const overWire = await new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
      const req = httpRequest(`${baseUrl}/v1/shipments/${shipment.id}/cancel`, {
        method: 'POST',
        headers: { authorization: `Bearer ${dispatcher()}`, 'content-type': 'application/json', 'content-length': 17 },
      });
      req.on('response', (res) => {
        let text = '';
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, type: res.headers['content-type'] ?? '', body: text }));
      });
      req.on('error', reject);
      req.end(Buffer.concat([Buffer.from('{"reason":"\xff\xfe'.replace(/[\xff\xfe]/g, '')), Buffer.from([0xff, 0xfe]), Buffer.from('xx"}')]));
    });
    expect(overWire.status, overWire.body).toBe(400);
    expect(overWire.type).toBe('application/problem+json');
    const view = await h.call('GET', `/v1/shipments/${shipment.id}`, h.acme.keys.viewer);
    expect(view.body.status).not.toBe('CANCELLED');
  });

  it('documents StoredPosition as one object schema that real responses satisfy', async () => {
    const shipment = await createShipment();
    expect((await h.call('POST', `/v1/shipments/${shipment.id}/positions`, dispatcher(), { positions: [{ ...fixes(1)[0]!, accuracyM: 8, satellites: 9, attributes: { rssi: -70 } }] })).status).toBe(202);
    const doc = (await h.call('GET', '/openapi.json', undefined)).body;
    const schema = doc.components.schemas.StoredPosition;
    expect(schema.allOf).toBeUndefined();
    expect(schema.type).toBe('object');
    const items = (await h.call('GET', `/v1/shipments/${shipment.id}/positions`, h.acme.keys.viewer)).body.items;
    expect(items).toHaveLength(1);
    for (const item of items) {
      if (schema.additionalProperties === false) expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(Object.keys(item)));
      for (const required of schema.required ?? []) expect(item).toHaveProperty(required);
    }
  });
});

// GET /v1/shipments/{id}/stream over a real listener: fixes, timeline events and ETA predictions
// arrive as SSE events; Last-Event-ID resumes exactly after an event; a row that commits after a
// later one is still delivered once; bad cursors, too many streams and revoked keys are handled.
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../api/app.js';
import { insertEtaPredictions } from '../../db/repositories/eta.js';
import { storeShipmentFixes } from '../../db/repositories/fix-ingest.js';
import { fixToRow } from '../../db/repositories/positions.js';
import { applyShipmentProgress } from '../../db/repositories/projection.js';
import { createLogger } from '../../infra/logger.js';
import { openSse, type SseReader } from '../support/sse.js';
import { fixes, shipmentBody, startHarness, type Harness } from './harness.js';

let h: Harness;
const servers: ServerType[] = [];
const readers: SseReader[] = [];
let baseUrl: string;

async function listen(app: { fetch: (request: Request) => Response | Promise<Response> }): Promise<string> {
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  h = await startHarness();
  baseUrl = await listen(h.app);
});
afterAll(async () => {
  for (const reader of readers) reader.close();
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  await h?.close();
});

async function newShipment(): Promise<{ id: string }> {
  const res = await h.call('POST', '/v1/shipments', h.acme.keys.dispatcher, shipmentBody());
  expect(res.status).toBe(201);
  return res.body;
}

async function stream(shipmentId: string, headers: Record<string, string> = {}, key = h.acme.keys.viewer, url = baseUrl) {
  const opened = await openSse(`${url}/v1/shipments/${shipmentId}/stream`, { authorization: `Bearer ${key}`, ...headers });
  if (opened.reader) readers.push(opened.reader);
  return opened;
}

const ofType = (event: string) => (e: { event: string }) => e.event === event;

describe('the shipment stream', () => {
  it('sends stored fixes, timeline events and ETA predictions, and resumes after Last-Event-ID', async () => {
    const shipment = await newShipment();
    const { reader } = await stream(shipment.id);
    await reader!.waitFor(ofType('ready'), 'ready');

    const sent = fixes(3);
    expect((await h.call('POST', `/v1/shipments/${shipment.id}/positions`, h.acme.keys.dispatcher, { positions: sent })).status).toBe(202);
    const row = await h.database.db.selectFrom('shipments').select(['tenant_id']).where('id', '=', shipment.id).executeTakeFirstOrThrow();
    await applyShipmentProgress(h.database.db, {
      tenantId: row.tenant_id,
      shipmentId: shipment.id,
      version: 1,
      status: 'AT_STOP',
      updatedAt: sent[0]!.recordedAt,
      stops: [{ sequence: 1, status: 'ARRIVED', arrivedAt: sent[0]!.recordedAt }],
      events: [{ key: 'ARRIVED:1', type: 'ARRIVED', occurredAt: sent[0]!.recordedAt, stopSequence: 1, data: { stopName: 'Lyon DC', lat: sent[0]!.lat, lon: sent[0]!.lon } }],
    });
    const predictedArrival = new Date(Date.now() + 4 * 3600_000).toISOString();
    await insertEtaPredictions(h.database.db, [
      { tenantId: row.tenant_id, shipmentId: shipment.id, stopSequence: 2, source: 'model', predictedAt: sent[2]!.recordedAt, predictedArrival, model: 'route', speedKmh: 70 },
    ]);

    await reader!.waitFor(ofType('eta'), 'the ETA');
    await reader!.waitFor(ofType('timeline'), 'the milestone');
    await reader!.waitFor((e) => e.event === 'position' && JSON.parse(e.data).recordedAt === sent[2]!.recordedAt, 'the last fix');
    const positions = reader!.events.filter(ofType('position'));
    expect(positions.map((e) => JSON.parse(e.data).recordedAt)).toEqual(sent.map((f) => f.recordedAt));
    expect(JSON.parse(reader!.events.find(ofType('timeline'))!.data)).toMatchObject({ type: 'ARRIVED', stopSequence: 1, data: { stopName: 'Lyon DC' } });
    expect(JSON.parse(reader!.events.find(ofType('eta'))!.data)).toEqual({ stopSequence: 2, source: 'model', predictedAt: sent[2]!.recordedAt, predictedArrival });
    reader!.close();

    // Resuming after the first fix brings everything after it, once.
    const resumed = (await stream(shipment.id, { 'last-event-id': positions[0]!.id! })).reader!;
    await resumed.waitFor(ofType('eta'), 'the ETA again');
    await resumed.waitFor(ofType('timeline'), 'the milestone again');
    await resumed.waitFor((e) => e.event === 'position' && JSON.parse(e.data).recordedAt === sent[2]!.recordedAt, 'the last fix again');
    expect(resumed.events.filter(ofType('position')).map((e) => JSON.parse(e.data).recordedAt)).toEqual(sent.slice(1).map((f) => f.recordedAt));
    expect(resumed.events.filter(ofType('timeline'))).toHaveLength(1);
  });

  it('delivers every fix once even when a store holds its transaction open (sequences commit in order)', async () => {
    const shipment = await newShipment();
    const { reader } = await stream(shipment.id);
    await reader!.waitFor(ofType('ready'), 'ready');
    const [early, late] = fixes(2);
    const owner = { tenantId: h.acme.id, shipmentId: shipment.id, deviceId: null };
    let stored!: () => void;
    const earlyStored = new Promise<void>((resolve) => (stored = resolve));
    // The first store takes the lower sequence and keeps its transaction open 1.2 s (longer than a
    // poll interval): the second store waits on the shipment's ingest row, so it cannot commit first.
    const slow = h.database.db.transaction().execute(async (trx) => {
      await storeShipmentFixes(trx, owner, [fixToRow(early!, owner)]);
      stored();
      await new Promise((resolve) => setTimeout(resolve, 1_200));
    });
    await earlyStored;
    await storeShipmentFixes(h.database.db, owner, [fixToRow(late!, owner)]);
    await slow;
    await reader!.waitFor((e) => e.event === 'position' && JSON.parse(e.data).recordedAt === late!.recordedAt, 'the late fix');
    expect(reader!.events.filter(ofType('position')).map((e) => JSON.parse(e.data).recordedAt)).toEqual([early!.recordedAt, late!.recordedAt]);
  });

  it('refuses a malformed Last-Event-ID, naming it', async () => {
    const shipment = await newShipment();
    const res = await stream(shipment.id, { 'last-event-id': 'yesterday' });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body!).errors[0].field).toBe('Last-Event-ID');
  });

  it('bounds the open streams per key', async () => {
    const logger = createLogger({ name: 'stream-test', level: 'silent' });
    const url = await listen(createApp({ db: h.database.db, temporal: h.client, logger, keys: h.keys, ingest: h.ingest, config: { console: { maxStreamsPerKey: 2 } } }));
    const shipment = await newShipment();
    const first = await stream(shipment.id, {}, h.acme.keys.admin, url);
    const second = await stream(shipment.id, {}, h.acme.keys.admin, url);
    expect([first.status, second.status]).toEqual([200, 200]);
    const third = await stream(shipment.id, {}, h.acme.keys.admin, url);
    expect(third.status).toBe(429);
    expect((await stream(shipment.id, {}, h.acme.keys.viewer, url)).status).toBe(200);
    first.reader!.close();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await stream(shipment.id, {}, h.acme.keys.admin, url)).status).toBe(200);
  });

  it('ends when its key is revoked', async () => {
    const issued = await h.call('POST', '/v1/api-keys', h.acme.keys.admin, { role: 'viewer' });
    const shipment = await newShipment();
    const { reader } = await stream(shipment.id, {}, issued.body.apiKey);
    await reader!.waitFor(ofType('ready'), 'ready');
    expect((await h.call('DELETE', `/v1/api-keys/${issued.body.id}`, h.acme.keys.admin)).status).toBe(200);
    await reader!.ended;
  });

  it('is documented as text/event-stream in OpenAPI', async () => {
    const doc = (await h.call('GET', '/openapi.json', undefined)).body;
    const operation = doc.paths['/v1/shipments/{id}/stream'].get;
    expect(Object.keys(operation.responses['200'].content)).toEqual(['text/event-stream']);
    expect(operation.description).toContain('Last-Event-ID');
  });
});

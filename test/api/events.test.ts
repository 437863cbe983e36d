// The change feed: every timeline row of the tenant once, in commit order, shaped by the catalogue;
// cursors that never skip a late commit; strict cursors and filters; tenant isolation; the SSE variant.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveApi } from '../../api/http-server.js';
import { EventSchema } from '../../api/event-catalogue.js';
import { appendToFeed } from '../../db/repositories/event-feed.js';
import { applyShipmentProgress } from '../../db/repositories/projection.js';
import { catalogueType } from '../../domain/events/catalogue.js';
import { openSse } from '../support/sse.js';
import { runWorker, shipmentBody, startHarness, type Harness, type Tenant } from './harness.js';

let h: Harness;
let stopWorker: () => Promise<void>;
let baseUrl: string;
let closeServer: () => Promise<void>;

beforeAll(async () => {
  h = await startHarness({ queryTimeoutMs: 5_000, console: { maxStreamsPerKey: 2 } });
  stopWorker = await runWorker(h);
  const { server, port } = await serveApi({ fetch: h.app.fetch, port: 0, hostname: '127.0.0.1' });
  baseUrl = `http://127.0.0.1:${port}`;
  closeServer = () => new Promise((resolve) => server.close(() => resolve()));
});
afterAll(async () => {
  await closeServer?.();
  await stopWorker?.();
  await h?.close();
});

async function feed(tenant: Tenant, query = ''): Promise<{ items: any[]; nextCursor: string }> {
  const res = await h.call('GET', `/v1/events${query}`, tenant.keys.viewer);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

/** A shipment driven through manual milestones to delivery; returns its id. */
async function deliveredShipment(tenant: Tenant): Promise<string> {
  const created = await h.call('POST', '/v1/shipments', tenant.keys.dispatcher, shipmentBody());
  expect(created.status).toBe(201);
  const id = created.body.id as string;
  const at = (minutes: number) => new Date(Date.now() - 3 * 3_600_000 + minutes * 60_000).toISOString();
  for (const body of [
    { type: 'MANUAL_ARRIVAL', stopSequence: 1, at: at(0) },
    { type: 'MANUAL_DEPARTURE', stopSequence: 1, at: at(40) },
    { type: 'PROOF_OF_DELIVERY', eventId: `pod-${id}`, signedBy: 'J. Dupont', at: at(170) },
  ]) {
    const res = await h.call('POST', `/v1/shipments/${id}/events`, tenant.keys.dispatcher, body);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  }
  // The projection write of the last change lands shortly after the Update answers.
  await expect.poll(async () => (await feed(tenant, `?shipmentId=${id}&types=shipment.delivered`)).items.length, { timeout: 10_000 }).toBe(1);
  return id;
}

describe('GET /v1/events', () => {
  it("has every timeline row of the tenant's shipments once, in commit order, in the catalogue's shapes", async () => {
    const id = await deliveredShipment(h.acme);
    const all = await feed(h.acme, '?limit=500');
    const rows = await h.database.db.selectFrom('shipment_events').select(['id', 'type', 'event_key']).where('shipment_id', '=', id).orderBy('id').execute();
    const mine = all.items.filter((e) => e.shipmentId === id);
    expect(mine.map((e) => e.type)).toEqual(rows.map((r) => catalogueType(r.type)));
    for (const event of all.items) expect(EventSchema.safeParse(event).success, JSON.stringify(event)).toBe(true);
    expect(new Set(all.items.map((e) => e.id)).size).toBe(all.items.length);
    const cursors = all.items.map((e) => BigInt(e.cursor));
    expect(cursors).toEqual([...cursors].sort((a, b) => (a < b ? -1 : 1)));
    expect(mine[0]).toMatchObject({ type: 'shipment.created', tenantId: h.acme.id, shipmentReference: expect.stringMatching(/^PO-/), data: { stops: 2 } });
    expect(mine.find((e) => e.type === 'stop.arrived')).toMatchObject({ data: { stopSequence: 1, stopName: 'Lyon DC', corrected: false } });
    expect(mine.find((e) => e.type === 'delivery_event.recorded' && e.data.kind === 'PROOF_OF_DELIVERY')).toMatchObject({ data: { signedBy: 'J. Dupont', stopSequence: 2 } });
    // occurredAt is when it happened, recordedAt when it was stored.
    const arrived = mine.find((e) => e.type === 'stop.arrived');
    expect(Date.parse(arrived.recordedAt) - Date.parse(arrived.occurredAt)).toBeGreaterThan(2 * 3_600_000);
  });

  it('pages with nextCursor, filters by type and shipment, and returns the same cursor when nothing is new', async () => {
    const id = await deliveredShipment(h.acme);
    const all = (await feed(h.acme, `?shipmentId=${id}&limit=500`)).items;
    const paged: any[] = [];
    let after = '0';
    for (;;) {
      const page = await feed(h.acme, `?shipmentId=${id}&limit=2&after=${after}`);
      paged.push(...page.items);
      if (page.items.length === 0) {
        expect(page.nextCursor).toBe(after);
        break;
      }
      after = page.nextCursor;
    }
    expect(paged).toEqual(all);
    const milestones = await feed(h.acme, `?shipmentId=${id}&types=stop.arrived,stop.departed`);
    expect(milestones.items.map((e) => e.type)).toEqual(['stop.arrived', 'stop.departed']);
  });

  it('refuses malformed, foreign or future cursors and unknown types with a 400 naming the field', async () => {
    const head = (await feed(h.acme, '?limit=500')).nextCursor;
    for (const after of ['abc', '-1', '01', `${BigInt(head) + 1000n}`, '99999999999999999999']) {
      const res = await h.call('GET', `/v1/events?after=${after}`, h.acme.keys.viewer);
      expect(res.status, after).toBe(400);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(res.body.errors).toEqual([expect.objectContaining({ field: 'after' })]);
    }
    const res = await h.call('GET', '/v1/events?types=stop.arrived,stop.teleported', h.acme.keys.viewer);
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([expect.objectContaining({ field: 'types', message: expect.stringContaining('stop.teleported') })]);
  });

  it("never shows another tenant's events, even for its shipment id", async () => {
    const theirs = await deliveredShipment(h.globex);
    const ours = await feed(h.acme, '?limit=500');
    expect(ours.items.every((e) => e.tenantId === h.acme.id)).toBe(true);
    expect((await feed(h.acme, `?shipmentId=${theirs}`)).items).toEqual([]);
    expect((await feed(h.globex, `?shipmentId=${theirs}`)).items.length).toBeGreaterThan(3);
  });

  it('never skips a transaction that commits after a later-started one: sequences are handed out in commit order', async () => {
    const created = await h.call('POST', '/v1/shipments', h.acme.keys.dispatcher, shipmentBody());
    const shipmentId = created.body.id as string;
    await expect.poll(async () => (await feed(h.acme, `?shipmentId=${shipmentId}`)).items.length, { timeout: 10_000 }).toBe(1);
    const before = (await feed(h.acme, '?limit=500')).nextCursor;
    const progress = (key: string) => ({
      tenantId: h.acme.id,
      shipmentId,
      version: 1,
      status: 'PLANNED' as const,
      updatedAt: new Date().toISOString(),
      stops: [],
      events: [{ key, type: 'ANOMALY_OPENED' as const, occurredAt: new Date().toISOString(), data: { anomaly: 'LATE' } }],
    });

    // Transaction A inserts its event and holds its transaction open; B writes meanwhile.
    let releaseA!: () => void;
    const holdA = new Promise<void>((resolve) => (releaseA = resolve));
    let aInserted!: () => void;
    const aReady = new Promise<void>((resolve) => (aInserted = resolve));
    const a = h.database.db.transaction().execute(async (trx) => {
      await trx.insertInto('shipment_events').values({ tenant_id: h.acme.id, shipment_id: shipmentId, event_key: 'LATE-A', type: 'ANOMALY_OPENED', occurred_at: new Date(), data: {} }).execute();
      const rows = await trx.selectFrom('shipment_events').select(['id', 'shipment_id', 'type']).where('event_key', '=', 'LATE-A').execute();
      await appendToFeed(trx, h.acme.id, rows);
      aInserted();
      await holdA;
    });
    await aReady;
    const b = applyShipmentProgress(h.database.db, progress('LATE-B'));
    // While A is open, a reader sees neither A nor B (B waits on the tenant's head lock).
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await feed(h.acme, `?after=${before}`)).items).toEqual([]);
    releaseA();
    await Promise.all([a, b]);
    const after = (await feed(h.acme, `?after=${before}`)).items;
    expect(after.map((e) => e.type)).toEqual(['anomaly.opened', 'anomaly.opened']);
    expect(after.map((e) => BigInt(e.cursor) - BigInt(before))).toEqual([1n, 2n]);
  });
});

describe('GET /v1/events/stream', () => {
  it('streams new events from now and resumes after Last-Event-ID without loss or repeats', async () => {
    const headers = { authorization: `Bearer ${h.acme.keys.viewer}` };
    const live = await openSse(`${baseUrl}/v1/events/stream`, headers);
    expect(live.status).toBe(200);
    const ready = await live.reader!.waitFor((e) => e.event === 'ready', 'ready');
    const id = await deliveredShipment(h.acme);
    await live.reader!.waitFor((e) => e.event === 'event' && JSON.parse(e.data).type === 'shipment.delivered' && JSON.parse(e.data).shipmentId === id, 'delivered');
    live.reader!.close();
    const streamed = live.reader!.events.filter((e) => e.event === 'event').map((e) => JSON.parse(e.data));
    const paged = (await feed(h.acme, `?after=${ready.id}&limit=500`)).items;
    expect(streamed).toEqual(paged.slice(0, streamed.length));

    // Resume from the middle: exactly the rest.
    const middle = streamed[1];
    const resumed = await openSse(`${baseUrl}/v1/events/stream`, { ...headers, 'last-event-id': middle.cursor });
    const last = streamed.at(-1);
    await resumed.reader!.waitFor((e) => e.id === last.cursor, 'the last event again');
    resumed.reader!.close();
    expect(resumed.reader!.events.filter((e) => e.event === 'event').map((e) => JSON.parse(e.data))).toEqual(paged.slice(2, streamed.length));

    const bad = await openSse(`${baseUrl}/v1/events/stream`, { ...headers, 'last-event-id': 'nope' });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body!).errors).toEqual([expect.objectContaining({ field: 'Last-Event-ID' })]);
  });

  it('bounds open streams per key and frees the slot when a stream closes', async () => {
    const headers = { authorization: `Bearer ${h.acme.keys.dispatcher}` };
    const first = await openSse(`${baseUrl}/v1/events/stream`, headers);
    const second = await openSse(`${baseUrl}/v1/events/stream`, headers);
    expect([first.status, second.status]).toEqual([200, 200]);
    const third = await openSse(`${baseUrl}/v1/events/stream`, headers);
    expect(third.status).toBe(429);
    expect(JSON.parse(third.body!)).toMatchObject({ status: 429 });
    // Another key is not affected.
    const other = await openSse(`${baseUrl}/v1/events/stream`, { authorization: `Bearer ${h.acme.keys.admin}` });
    expect(other.status).toBe(200);
    other.reader!.close();
    first.reader!.close();
    await expect
      .poll(async () => {
        const again = await openSse(`${baseUrl}/v1/events/stream`, headers);
        again.reader?.close();
        return again.status;
      }, { timeout: 10_000 })
      .toBe(200);
    second.reader!.close();
  });
});

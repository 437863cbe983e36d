// GET /v1/exports/positions: every fix of the tenant in [from, to) once, in fix-time order, as
// NDJSON; pages are read only as the client reads (a fix stored while the client pauses after
// the first chunk is still in the stream); over a real listener the body arrives in chunks.
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveApi } from '../../api/http-server.js';
import { EXPORT_PAGE_SIZE } from '../../api/routes/exports.js';
import type { Fix } from '../../domain/types.js';
import { startHarness, type Harness } from './harness.js';

let h: Harness;
const START = Date.parse('2026-11-20T00:00:00.000Z');
const COUNT = EXPORT_PAGE_SIZE * 3 + 250;
const at = (i: number) => new Date(START + i * 10_000).toISOString();
const fix = (i: number, lat = 45): Fix => ({ recordedAt: at(i), lat, lon: 4.8 + i * 1e-5, speedKmh: 50 });

async function push(tenant: Harness['acme'], deviceId: string, fixes: Fix[]): Promise<void> {
  for (let i = 0; i < fixes.length; i += 1_000) {
    const res = await h.call('POST', '/v1/positions', tenant.keys.dispatcher, { deviceId, positions: fixes.slice(i, i + 1_000) });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
  }
}

const range = (from: number, to: number) => `/v1/exports/positions?from=${at(from)}&to=${at(to)}`;
const parse = (text: string) => text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));

beforeAll(async () => {
  h = await startHarness({ apiKeys: { rateLimitBurst: 10_000, rateLimitPerSecond: 10_000 } });
  // Fixes of devices with no shipment are stored for the device only: no workflow involved.
  await push(h.acme, await h.createDevice(h.acme), Array.from({ length: COUNT }, (_, i) => fix(i)));
  await push(h.globex, await h.createDevice(h.globex), Array.from({ length: 50 }, (_, i) => fix(i, 50)));
});
afterAll(async () => h?.close());

describe('GET /v1/exports/positions', () => {
  it("streams every fix of the caller's tenant in [from, to) once, in fix-time order", async () => {
    const res = await h.app.request(range(100, COUNT - 100), { headers: { authorization: `Bearer ${h.acme.keys.viewer}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8');
    const lines = parse(await res.text());
    expect(lines.map((l) => l.recordedAt)).toEqual(Array.from({ length: COUNT - 200 }, (_, i) => at(i + 100)));
    expect(new Set(lines.map((l) => l.id)).size).toBe(lines.length);
    expect(lines[0]).toMatchObject({ lat: 45, speedKmh: 50, deviceId: expect.any(String), receivedAt: expect.any(String) });
    expect(lines.every((l) => l.lat === 45)).toBe(true);
  });

  it('reads the next page only when the client takes it', async () => {
    const res = await h.app.request(range(0, COUNT + 10), { headers: { authorization: `Bearer ${h.acme.keys.viewer}` } });
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = decoder.decode((await reader.read()).value, { stream: true });
    // Stored while the client pauses: past the pages already read, so the stream picks them up.
    await push(h.acme, await h.createDevice(h.acme), [COUNT, COUNT + 1].map((i) => fix(i)));
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += decoder.decode(chunk.value, { stream: true });
    const lines = parse(text);
    expect(lines).toHaveLength(COUNT + 2);
    expect(lines.slice(-2).map((l) => l.recordedAt)).toEqual([at(COUNT), at(COUNT + 1)]);
  });

  it('answers over a real listener in chunks, and a bad range with a 400 naming the field', async () => {
    const { server, port } = await serveApi({ fetch: h.app.fetch, port: 0, hostname: '127.0.0.1' });
    try {
      expect((server.address() as AddressInfo).port).toBe(port);
      const res = await fetch(`http://127.0.0.1:${port}${range(0, COUNT)}`, { headers: { authorization: `Bearer ${h.globex.keys.viewer}` } });
      expect(res.status).toBe(200);
      const lines = parse(await res.text());
      expect(lines.map((l) => [l.recordedAt, l.lat])).toEqual(Array.from({ length: 50 }, (_, i) => [at(i), 50]));

      const big = await fetch(`http://127.0.0.1:${port}${range(0, COUNT)}`, { headers: { authorization: `Bearer ${h.acme.keys.viewer}` } });
      let chunks = 0;
      let bytes = '';
      const decoder = new TextDecoder();
      const reader = big.body!.getReader();
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
        chunks += 1;
        bytes += decoder.decode(chunk.value, { stream: true });
      }
      expect(chunks).toBeGreaterThan(1);
      expect(parse(bytes)).toHaveLength(COUNT);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }

    const backwards = await h.call('GET', `/v1/exports/positions?from=${at(10)}&to=${at(5)}`, h.acme.keys.viewer);
    expect(backwards.status).toBe(400);
    expect(JSON.stringify(backwards.body)).toContain('"to"');
    const missing = await h.call('GET', `/v1/exports/positions?to=${at(5)}`, h.acme.keys.viewer);
    expect(missing.status).toBe(400);
    expect(JSON.stringify(missing.body)).toContain('"from"');
  });
});

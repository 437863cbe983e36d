// Retries and back-off of the simulator's API client, and the load counters that must never
// count a retried fix twice. The HTTP side is a scripted fetch; the real API is exercised by
// the end-to-end scenario test.
import { describe, expect, it } from 'vitest';
import { ApiClient, parseRetryAfter, type AttemptRecord } from '../../simulator/api-client.js';
import { LoadCounters, percentiles } from '../../simulator/load.js';

type Step = { status: number; body?: unknown; headers?: Record<string, string> } | 'network-error';

function scripted(steps: Step[]) {
  const calls: { url: string; init: RequestInit }[] = [];
  const fetch = (async (url: string, init: RequestInit) => {
    calls.push({ url, init });
    const step = steps.shift();
    if (!step) throw new Error('no more scripted answers');
    if (step === 'network-error') throw new TypeError('fetch failed');
    return new Response(step.body === undefined ? null : JSON.stringify(step.body), { status: step.status, headers: step.headers });
  }) as unknown as typeof globalThis.fetch;
  return { fetch, calls };
}

function client(steps: Step[], extra: { maxRetries?: number } = {}) {
  const { fetch, calls } = scripted(steps);
  const sleeps: number[] = [];
  const attempts: AttemptRecord[] = [];
  const api = new ApiClient({
    baseUrl: 'http://api.test/',
    apiKey: 'rt_key',
    fetch,
    sleep: async (ms) => void sleeps.push(ms),
    random: () => 0.5,
    onAttempt: (a) => attempts.push(a),
    ...extra,
  });
  return { api, calls, sleeps, attempts };
}

const fixes = [{ recordedAt: '2026-11-26T08:00:00Z', lat: 51.9, lon: 4.4 }];

describe('ApiClient', () => {
  it('sends JSON with the bearer key', async () => {
    const { api, calls } = client([{ status: 202, body: { accepted: 1, duplicates: 0 } }]);
    const outcome = await api.postShipmentPositions('s-1', fixes);
    expect(outcome).toEqual({ status: 202, accepted: 1, duplicates: 0, deferred: false, attempts: 1, ambiguousRetry: false });
    expect(calls[0]!.url).toBe('http://api.test/v1/shipments/s-1/positions');
    expect(calls[0]!.init.method).toBe('POST');
    expect((calls[0]!.init.headers as Record<string, string>).authorization).toBe('Bearer rt_key');
    expect(JSON.parse(calls[0]!.init.body as string)).toEqual({ positions: fixes });
  });

  it('waits as long as Retry-After says on 429, and a 429 is not an ambiguous failure', async () => {
    const { api, sleeps, attempts } = client([
      { status: 429, headers: { 'retry-after': '2' } },
      { status: 202, body: { accepted: 1, duplicates: 0 } },
    ]);
    const outcome = await api.postShipmentPositions('s-1', fixes);
    expect(outcome).toMatchObject({ status: 202, attempts: 2, ambiguousRetry: false });
    expect(sleeps[0]).toBeGreaterThanOrEqual(2_000);
    expect(sleeps[0]).toBeLessThan(2_100);
    expect(attempts.map((a) => a.status)).toEqual([429, 202]);
  });

  it('backs off exponentially on 5xx and network errors, then gives the final answer', async () => {
    const { api, sleeps } = client([{ status: 503 }, 'network-error', { status: 502 }, { status: 202, body: { accepted: 0, duplicates: 1 } }]);
    const outcome = await api.postShipmentPositions('s-1', fixes);
    expect(outcome).toMatchObject({ status: 202, attempts: 4, ambiguousRetry: true, duplicates: 1 });
    // Full jitter with random() = 0.5: half of 200, 400, 800 ms.
    expect(sleeps).toEqual([100, 200, 400]);
  });

  it('does not retry a client error, and stops after the retry budget', async () => {
    const bad = client([{ status: 400, body: { type: 'validation', detail: 'lat out of range' } }]);
    expect((await bad.api.postShipmentPositions('s-1', fixes)).status).toBe(400);
    expect(bad.calls).toHaveLength(1);
    const missing = client([{ status: 404, body: { type: 'not-found', detail: 'Shipment not found' } }]);
    await expect(missing.api.json('GET', '/v1/shipments/x')).rejects.toThrow(/GET \/v1\/shipments\/x → 404: Shipment not found/);

    const down = client([{ status: 500 }, { status: 500 }, { status: 500 }], { maxRetries: 2 });
    const outcome = await down.api.postShipmentPositions('s-1', fixes);
    expect(outcome).toMatchObject({ status: 500, attempts: 3 });
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2026-11-26T08:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3_000);
    expect(parseRetryAfter('Thu, 26 Nov 2026 08:00:05 GMT', now)).toBe(5_000);
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });

  it('detects fleet and device endpoints and accepted body fields from /openapi.json', async () => {
    const doc = {
      paths: {
        '/v1/shipments': { post: { requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/CreateShipment' } } } } } },
        '/v1/carriers': { post: { requestBody: { content: { 'application/json': { schema: { properties: { name: {} } } } } } } },
        '/v1/vehicles': {},
        '/v1/drivers': {},
        '/v1/devices': {},
      },
      components: {
        schemas: {
          CreateShipment: { properties: { reference: {}, thresholds: { $ref: '#/components/schemas/Thresholds' } } },
          Thresholds: { properties: { signalLossMin: {}, longDwellMin: {} } },
        },
      },
    };
    const { api } = client([{ status: 200, body: doc }]);
    const caps = await api.capabilities();
    expect(caps).toMatchObject({ fleet: true, apiKeys: false, devicePositions: false });
    expect([...caps.thresholdFields!]).toEqual(['signalLossMin', 'longDwellMin']);
    expect([...caps.bodyFields('/v1/carriers')!]).toEqual(['name']);
    expect(caps.bodyFields('/v1/vehicles')).toBeUndefined();
  });
});

describe('LoadCounters', () => {
  it('counts a retried batch once, by its final answer', () => {
    const c = new LoadCounters();
    c.recordOutcome(50, { status: 202, accepted: 50, duplicates: 0, attempts: 1, ambiguousRetry: false });
    // 503 after the insert, then the retry finds all 50 stored: they are this batch's own.
    c.recordOutcome(50, { status: 202, accepted: 0, duplicates: 50, attempts: 2, ambiguousRetry: true });
    // A device's genuine repeat of an earlier upload.
    c.recordOutcome(50, { status: 202, accepted: 0, duplicates: 50, attempts: 1, ambiguousRetry: false });
    // Throttled twice then accepted: not ambiguous, nothing double counted.
    c.recordOutcome(50, { status: 202, accepted: 50, duplicates: 0, attempts: 3, ambiguousRetry: false });
    c.recordOutcome(10, { status: 400, accepted: 0, duplicates: 0, attempts: 1, ambiguousRetry: false });
    c.recordOutcome(10, { status: 0, accepted: 0, duplicates: 0, attempts: 7, ambiguousRetry: true });
    expect(c).toMatchObject({ sent: 220, accepted: 150, duplicates: 50, requests: 6, retries: 1 + 2 + 6, rejectedByStatus: { '400': 10, 'network-error': 10 } });
  });

  it('computes nearest-rank percentiles', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentiles(values)).toEqual({ count: 100, p50: 50, p95: 95, p99: 99, max: 100 });
    expect(percentiles([])).toEqual({ count: 0, p50: null, p95: null, p99: null, max: null });
  });
});

// A tenant system registers an endpoint, is down during a GPS trip while the worker is killed
// (SIGKILL) and started again, then comes back: it receives every event of the trip, signed, in
// feed order, each webhook-id acknowledged once, exactly what the feed says. Real worker and API
// processes, the dev server, Postgres and a real receiver verifying with standardwebhooks.
import type { ChildProcess } from 'node:child_process';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueApiKey } from '../../api/auth.js';
import { createTenant } from '../../db/repositories/tenants.js';
import type { StopPlan } from '../../domain/types.js';
import { freePort } from '../../scripts/dev.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { exited, startEntryPoint } from '../support/entry-points.js';
import { callJson, eventually } from '../support/http.js';
import { startLocalTemporal } from '../support/temporal.js';
import { generateTrip } from '../support/trip.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

const STOPS: StopPlan[] = [
  { sequence: 1, type: 'pickup', name: 'Lyon Gerland DC', location: { lat: 45.7289, lon: 4.8317 }, geofenceRadiusM: 300 },
  { sequence: 2, type: 'delivery', name: 'Saint-Priest store', location: { lat: 45.6956, lon: 4.9436 }, geofenceRadiusM: 250 },
];

let temporal: TestWorkflowEnvironment;
let database: TestDatabase;
let receiver: WebhookReceiver;
let apiPort: number;
const processes: ChildProcess[] = [];

function startEntry(entry: 'worker/main.ts' | 'api/main.ts'): ChildProcess {
  const child = startEntryPoint(entry, {
    DATABASE_URL: database.url,
    TEMPORAL_ADDRESS: temporal.address,
    PORT: String(apiPort),
    WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
    // A receiver back up is retried within 2 s rather than after a long back-off.
    WEBHOOK_MAX_BACKOFF_SECONDS: '2',
  });
  processes.push(child);
  return child;
}

const call = (method: string, path: string, key: string, body?: unknown) => callJson(`http://127.0.0.1:${apiPort}`, method, path, key, body);

beforeAll(async () => {
  [temporal, database, receiver] = await Promise.all([startLocalTemporal(), createTestDatabase(), startWebhookReceiver()]);
  apiPort = await freePort();
});

afterAll(async () => {
  for (const child of processes) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  await Promise.all(processes.map(exited));
  await receiver?.close();
  await temporal?.teardown();
  await database?.drop();
});

describe('webhooks across a receiver outage and a worker crash', () => {
  it('deliver every event of the trip once acknowledged, exactly as the feed', async () => {
    const tenant = await createTenant(database.db, { name: 'Webhook Crash Haulage' });
    const { apiKey: admin } = await issueApiKey(database.db, { tenantId: tenant.id, role: 'admin' });
    startEntry('api/main.ts');
    let worker = startEntry('worker/main.ts');
    await eventually('the API', () => fetch(`http://127.0.0.1:${apiPort}/readyz`), (res) => res.ok);

    const endpoint = await call('POST', '/v1/webhook-endpoints', admin, { url: receiver.url });
    expect(endpoint.status, JSON.stringify(endpoint.body)).toBe(201);
    receiver.secrets = [endpoint.body.secret];
    await receiver.down();

    const created = await call('POST', '/v1/shipments', admin, { reference: `HOOK-${Date.now()}`, stops: STOPS.map(({ sequence: _s, ...stop }) => stop) });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const { id } = created.body;
    const trip = generateTrip(STOPS.map((s) => ({ stop: s.location, dwellMin: 20 })), { start: new Date(Date.now() - 6 * 3_600_000), intervalSec: 20, speedKmh: 50 });
    const push = async (from: number, to: number) => {
      for (let i = from; i < to; i += 40) {
        const res = await call('POST', `/v1/shipments/${id}/positions`, admin, { positions: trip.slice(i, Math.min(i + 40, to)) });
        expect(res.status, JSON.stringify(res.body)).toBe(202);
      }
    };
    const half = Math.floor(trip.length / 2);
    await push(0, half);
    await eventually('the first milestone', () => call('GET', `/v1/shipments/${id}`, admin), (res) => res.body.milestones.length >= 1);
    // The delivery workflow is retrying against the closed port by now.
    await eventually('failed attempts', () => call('GET', `/v1/webhook-endpoints/${endpoint.body.id}/attempts`, admin), (res) => res.body.items.length >= 2);

    worker.kill('SIGKILL');
    await exited(worker);
    await push(half, trip.length);
    worker = startEntry('worker/main.ts');
    await eventually('DELIVERED', () => call('GET', `/v1/shipments/${id}`, admin), (res) => res.body.status === 'DELIVERED', { timeoutMs: 120_000 });
    await eventually('the delivered event in the feed', () => call('GET', `/v1/events?shipmentId=${id}&types=shipment.delivered`, admin), (res) => res.body.items.length === 1);

    await receiver.up();
    const feed = (await call('GET', `/v1/events?after=${endpoint.body.cursor}&limit=500`, admin)).body.items;
    expect(feed.map((e: any) => e.type)).toEqual(expect.arrayContaining(['shipment.created', 'stop.arrived', 'stop.departed', 'eta.changed', 'shipment.delivered']));
    await eventually('every event at the receiver', async () => receiver.acknowledged().length, (n) => n === feed.length, { timeoutMs: 120_000 });
    expect(receiver.acknowledged()).toEqual(feed);
    expect(receiver.unverified).toBe(0);
    expect(new Set(receiver.received.map((r) => r.webhookId)).size).toBe(feed.length);
    const state = await call('GET', `/v1/webhook-endpoints/${endpoint.body.id}`, admin);
    expect(state.body).toMatchObject({ enabled: true, cursor: feed.at(-1).cursor });
    const attempts = (await call('GET', `/v1/webhook-endpoints/${endpoint.body.id}/attempts?limit=200`, admin)).body.items;
    expect(attempts.some((a: any) => !a.succeeded && /ECONNREFUSED/.test(a.error))).toBe(true);
  }, 300_000);
});

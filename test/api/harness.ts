// Shared set-up for API tests: a fresh database, the real Temporal dev server, the app under
// test driven through app.request() (no port), and keys for two tenants.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { defaultPayloadConverter } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import { createApp, type AppDeps } from '../../api/app.js';
import { createApiKeyService, issueApiKey, type ApiKeyService } from '../../api/auth.js';
import { insertFleetRow } from '../../db/repositories/fleet.js';
import { createFixIngest, temporalWakeup, type FixIngest, type WakeupDelivery } from '../../api/fix-ingest.js';
import { createTenant } from '../../db/repositories/tenants.js';
import type { ApiKeyRole } from '../../db/schema.js';
import type { Fix } from '../../domain/types.js';
import { createLogger } from '../../infra/logger.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { startLocalTemporal } from '../support/temporal.js';

export interface Tenant {
  id: string;
  keys: Record<ApiKeyRole, string>;
  /** One of each fleet resource; the device key is bound to `fleet.deviceId`. */
  fleet: { carrierId: string; vehicleId: string; driverId: string; deviceId: string };
}

export interface Harness {
  database: TestDatabase;
  temporal: TestWorkflowEnvironment;
  client: Client;
  app: ReturnType<typeof createApp>;
  ingest: FixIngest;
  /** Set to make the next N deliveries fail, as if Temporal refused the signal. */
  failDeliveries: { remaining: number };
  keys: ApiKeyService;
  acme: Tenant;
  globex: Tenant;
  call(method: string, path: string, key: string | undefined, body?: unknown): Promise<ApiResponse>;
  /** A fresh device row of the tenant (optionally on a vehicle); returns its id. */
  createDevice(tenant: Tenant, vehicleId?: string): Promise<string>;
  close(): Promise<void>;
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  body: any;
}

const logger = createLogger({ name: 'api-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });

let deviceCounter = 0;

async function insertDevice(database: TestDatabase, tenantId: string, vehicleId?: string): Promise<string> {
  deviceCounter += 1;
  const row = await insertFleetRow(database.db, 'device', {
    id: randomUUID(),
    tenant_id: tenantId,
    external_id: `IMEI-${Date.now()}-${deviceCounter}`,
    vehicle_id: vehicleId ?? null,
    updated_at: new Date(),
  });
  return row.id;
}

async function tenantWithKeys(database: TestDatabase, name: string): Promise<Tenant> {
  const tenant = await createTenant(database.db, { name });
  const now = new Date();
  const carrier = await insertFleetRow(database.db, 'carrier', { id: randomUUID(), tenant_id: tenant.id, name: `${name} Haulage`, updated_at: now });
  const vehicle = await insertFleetRow(database.db, 'vehicle', { id: randomUUID(), tenant_id: tenant.id, carrier_id: carrier.id, plate: 'AB-123-CD', updated_at: now });
  const driver = await insertFleetRow(database.db, 'driver', { id: randomUUID(), tenant_id: tenant.id, carrier_id: carrier.id, name: 'Camille Martin', updated_at: now });
  const deviceId = await insertDevice(database, tenant.id, vehicle.id);
  const keys = {} as Record<ApiKeyRole, string>;
  for (const role of ['admin', 'dispatcher', 'viewer'] as const) keys[role] = (await issueApiKey(database.db, { tenantId: tenant.id, role })).apiKey;
  keys.device = (await issueApiKey(database.db, { tenantId: tenant.id, role: 'device', deviceId })).apiKey;
  return { id: tenant.id, keys, fleet: { carrierId: carrier.id, vehicleId: vehicle.id, driverId: driver.id, deviceId } };
}

export async function startHarness(config: AppDeps['config'] = {}): Promise<Harness> {
  const [database, temporal] = await Promise.all([createTestDatabase(), startLocalTemporal()]);
  const client = temporal.client;
  const failDeliveries = { remaining: 0 };
  const real = temporalWakeup(client);
  const wake: WakeupDelivery = async (workflowId, upToSeq) => {
    if (failDeliveries.remaining > 0) {
      failDeliveries.remaining -= 1;
      throw new Error('simulated signal failure');
    }
    return real(workflowId, upToSeq);
  };
  const ingest = createFixIngest({ db: database.db, wake, logger, resendAfterMs: 0 });
  const keys = createApiKeyService({ db: database.db, logger, settings: config.apiKeys });
  const app = createApp({ db: database.db, temporal: client, logger, ingest, keys, config: { queryTimeoutMs: 500, ...config } });
  const acme = await tenantWithKeys(database, 'Acme Freight');
  const globex = await tenantWithKeys(database, 'Globex Logistics');

  async function call(method: string, path: string, key: string | undefined, body?: unknown): Promise<ApiResponse> {
    const headers: Record<string, string> = {};
    if (key) headers.authorization = `Bearer ${key}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await app.request(path, { method, headers, ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}) });
    const text = await res.text();
    const type = res.headers.get('content-type') ?? '';
    return { status: res.status, headers: res.headers, body: type.includes('json') && text ? JSON.parse(text) : text };
  }

  return {
    database,
    temporal,
    client,
    app,
    ingest,
    failDeliveries,
    keys,
    acme,
    globex,
    call,
    createDevice: (tenant, vehicleId) => insertDevice(database, tenant.id, vehicleId),
    async close() {
      await keys.close();
      await temporal.teardown();
      await database.drop();
    },
  };
}

let referenceCounter = 0;

export function shipmentBody(overrides: Record<string, unknown> = {}) {
  referenceCounter += 1;
  return {
    reference: `PO-${Date.now()}-${referenceCounter}`,
    stops: [
      { type: 'pickup', name: 'Lyon DC', location: { lat: 45.7485, lon: 4.8467 }, geofenceRadiusM: 500, plannedDwellMin: 45 },
      { type: 'delivery', name: 'Paris XV', location: { lat: 48.8414, lon: 2.2873 } },
    ],
    route: { type: 'LineString', coordinates: [[4.8467, 45.7485], [2.2873, 48.8414]] },
    thresholds: { signalLossMin: 30, longDwellMin: 120 },
    ...overrides,
  };
}

/** `count` fixes one minute apart ending now-ish, moving north from Lyon. */
export function fixes(count: number, startMs = Date.now() - count * 60_000 - 60_000): Fix[] {
  return Array.from({ length: count }, (_, i) => ({
    recordedAt: new Date(startMs + i * 60_000).toISOString(),
    lat: 45.75 + i * 0.001,
    lon: 4.85,
    speedKmh: 60,
  }));
}

/** The wake-ups the workflow has been sent (`upToSeq` of each), read back from its history. */
export async function wakeups(client: Client, workflowId: string): Promise<number[]> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? [])
    .filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'fixesStored')
    .map((e) => defaultPayloadConverter.fromPayload<{ upToSeq: number }>(e.workflowExecutionSignaledEventAttributes!.input!.payloads![0]!).upToSeq);
}

/** What the shipment's workflow reads: its stored fixes by sequence, each with its sequence. */
export async function storedBySequence(h: Pick<Harness, 'database'>, shipmentId: string): Promise<{ seq: number; recordedAt: string }[]> {
  const rows = await h.database.db.selectFrom('positions').select(['seq', 'recorded_at']).where('shipment_id', '=', shipmentId).orderBy('seq').execute();
  return rows.map((r) => ({ seq: Number(r.seq), recordedAt: r.recorded_at.toISOString() }));
}

/** Runs the real shipment worker (workflows + activities on the test database); returns its stop. */
export async function runWorker(h: Harness): Promise<() => Promise<void>> {
  const { startShipmentWorker } = await import('../support/worker.js');
  const worker = await startShipmentWorker({ temporal: h.temporal, db: h.database.db, logger });
  return worker.stop;
}

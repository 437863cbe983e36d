// Shared set-up for API tests: a fresh database, the real Temporal dev server, the app under
// test driven through app.request() (no port), and keys for two tenants.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { defaultPayloadConverter } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import { createApp, type ApiConfig } from '../../api/app.js';
import { issueApiKey } from '../../api/auth.js';
import { createSignalOutbox, temporalFixDelivery, type FixDelivery, type SignalOutbox } from '../../api/signal-outbox.js';
import { createTenant } from '../../db/repositories/tenants.js';
import type { ApiKeyRole } from '../../db/schema.js';
import type { Fix } from '../../domain/types.js';
import { createLogger } from '../../infra/logger.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { startLocalTemporal } from '../support/temporal.js';

export interface Tenant {
  id: string;
  keys: Record<ApiKeyRole, string>;
}

export interface Harness {
  database: TestDatabase;
  temporal: TestWorkflowEnvironment;
  client: Client;
  app: ReturnType<typeof createApp>;
  outbox: SignalOutbox;
  /** Set to make the next N deliveries fail, as if Temporal refused the signal. */
  failDeliveries: { remaining: number };
  acme: Tenant;
  globex: Tenant;
  call(method: string, path: string, key: string | undefined, body?: unknown): Promise<ApiResponse>;
  close(): Promise<void>;
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  body: any;
}

const logger = createLogger({ name: 'api-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });

async function tenantWithKeys(database: TestDatabase, name: string): Promise<Tenant> {
  const tenant = await createTenant(database.db, { name });
  const keys = {} as Record<ApiKeyRole, string>;
  for (const role of ['admin', 'dispatcher', 'viewer'] as const) keys[role] = (await issueApiKey(database.db, { tenantId: tenant.id, role })).apiKey;
  keys.device = (await issueApiKey(database.db, { tenantId: tenant.id, role: 'device', deviceId: 'tracker-1' })).apiKey;
  return { id: tenant.id, keys };
}

export async function startHarness(config: Partial<ApiConfig> = {}): Promise<Harness> {
  const [database, temporal] = await Promise.all([createTestDatabase(), startLocalTemporal()]);
  const client = temporal.client;
  const failDeliveries = { remaining: 0 };
  const real = temporalFixDelivery(client);
  const deliver: FixDelivery = async (workflowId, fixes) => {
    if (failDeliveries.remaining > 0) {
      failDeliveries.remaining -= 1;
      throw new Error('simulated signal failure');
    }
    return real(workflowId, fixes);
  };
  const outbox = createSignalOutbox({ db: database.db, deliver, logger, staleAfterMs: 0 });
  const app = createApp({ db: database.db, temporal: client, logger, outbox, config: { queryTimeoutMs: 500, ...config } });
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
    outbox,
    failDeliveries,
    acme,
    globex,
    call,
    async close() {
      await outbox.idle();
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
    carrierId: 'carrier-7',
    deviceId: 'tracker-1',
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

/** Every batch of fixes the workflow has been signalled, read back from its history. */
export async function signalledBatches(client: Client, workflowId: string): Promise<Fix[][]> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? [])
    .filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'fixesReceived')
    .map((e) => {
      const payload = e.workflowExecutionSignaledEventAttributes!.input!.payloads![0]!;
      return defaultPayloadConverter.fromPayload<{ fixes: Fix[] }>(payload).fixes;
    });
}

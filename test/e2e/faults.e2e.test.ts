// Fault injection under load, with real processes on loopback and servers of the suite's own: a
// Temporal dev server on a SQLite file in a temp dir, a private Postgres cluster (initdb + pg_ctl),
// and the real API and worker entry points (node --import tsx api/main.ts / worker/main.ts).
// While a few shipments receive a steady stream of fixes (batches and single fixes, each client
// retrying 503s and network errors with the same request, as documented), each fault in turn:
// kill -9 the API (restarted, as a supervisor would), kill -9 the worker (restarted), kill -9 the
// Temporal dev server (restarted on the same SQLite file), restart Postgres (pg_ctl restart).
// After each: every fix that got a 202 is stored exactly once and processed exactly once (the
// workflow's fixCounts.applied equals the distinct fixes stored, lastPosition is the latest
// accepted fix), and the processes that were not killed carried on by themselves. Only public
// behaviour is checked (HTTP answers, rows per shipment and recordedAt), nothing of the ingest's
// internals. The recovery time of each fault is the time from the fault until a fix sent
// afterwards shows in the workflow's live state within the normal lag (2 s); it is printed, and
// written as JSON when FAULTS_OUT names a file (e.g. bench/results/faults-<date>.json).
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueApiKey } from '../../api/auth.js';
import { createDatabase } from '../../db/connection.js';
import { migrateToLatest } from '../../db/migrate.js';
import { insertFleetRow } from '../../db/repositories/fleet.js';
import { createTenant } from '../../db/repositories/tenants.js';
import type { Database } from '../../db/schema.js';
import type { Fix } from '../../domain/types.js';
import { freePort, startProcess, startTemporalDevServer, type ManagedProcess } from '../../scripts/dev.js';
import { eventually } from '../support/http.js';
import { startPrivatePostgres, type PrivatePostgres } from '../support/private-postgres.js';

const LANES = 3;
const FIX_SPACING_MS = 10_000;
const NORMAL_LAG_MS = 2_000;
const STEADY_LOAD_MS = 3_000;
// Between one lane's requests: a steady load that leaves the 2-core box room to recover.
const LOAD_PAUSE_MS = 250;
const REQUEST_DEADLINE_MS = 120_000;

interface Lane {
  name: string;
  shipmentId: string;
  /** Pushes through POST /v1/positions as its device instead of the shipment's endpoint. */
  deviceId?: string;
  t0: number;
  accepted: string[];
}

interface FaultResult {
  fault: string;
  recoveryMs: number;
  requests: number;
  retried: number;
  fixesAccepted: number;
}

let temporalDir: string;
let postgres: PrivatePostgres;
let db: Kysely<Database>;
let temporal: ManagedProcess;
let api: ManagedProcess;
let worker: ManagedProcess;
let ports: { temporal: number; ui: number; api: number };
let apiKey: string;
const lanes: Lane[] = [];
let probe: Lane;
const stats = { requests: 0, retried: 0 };

const baseUrl = () => `http://127.0.0.1:${ports.api}`;

function startTemporal(): Promise<ManagedProcess> {
  return startTemporalDevServer({ dbFile: join(temporalDir, 'temporal.sqlite'), port: ports.temporal, uiPort: ports.ui, namespace: 'default' });
}

function startEntry(name: 'api' | 'worker'): ManagedProcess {
  return startProcess(name, process.execPath, ['--import', 'tsx', `${name}/main.ts`], {
    env: {
      ...process.env,
      DATABASE_URL: postgres.url,
      TEMPORAL_ADDRESS: `127.0.0.1:${ports.temporal}`,
      PORT: String(ports.api),
      LOG_LEVEL: 'error',
      // One key drives every lane: its rate limit is not what this suite measures.
      API_KEY_RATE_LIMIT_PER_SECOND: '0',
      // Recovery is timed by a fix being live within the normal lag: every upload must wake its
      // workflow at once (deferred delivery has its own end-to-end test).
      INGEST_DEFER_MS: '0',
    },
  });
}

async function killHard(process: ManagedProcess): Promise<void> {
  process.child.kill('SIGKILL');
  await process.exited;
}

async function request(method: string, path: string, body?: unknown): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(`${baseUrl()}${path}`, {
    method,
    headers: { authorization: `Bearer ${apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(20_000),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

/** The documented client behaviour: the same request again after a 503 (Retry-After) or a lost connection. */
async function sendUntilAccepted(path: string, body: unknown): Promise<void> {
  const deadline = Date.now() + REQUEST_DEADLINE_MS;
  for (let attempt = 0; ; attempt++) {
    if (attempt > 0) stats.retried += 1;
    stats.requests += 1;
    let waitMs = 250;
    try {
      const res = await request('POST', path, body);
      if (res.status === 202) return;
      if (res.status !== 503) throw new Error(`POST ${path} answered ${res.status}: ${JSON.stringify(res.body)}`);
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
      waitMs = Math.min(Number(res.headers.get('retry-after')) * 1000, 1_000);
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('POST ')) throw error;
      // The API is down or the connection broke mid-request: whether it stored anything is unknown.
    }
    if (Date.now() > deadline) throw new Error(`POST ${path} not accepted within ${REQUEST_DEADLINE_MS / 1000}s`);
    await delay(waitMs);
  }
}

/** The lane's next fixes: strictly later than every earlier one, in the past, on a road far from its stops. */
function nextFixes(lane: Lane, count: number): Fix[] {
  return Array.from({ length: count }, (_, i) => {
    const index = lane.accepted.length + i;
    return { recordedAt: new Date(lane.t0 + index * FIX_SPACING_MS).toISOString(), lat: 44.5 + index * 0.0002, lon: 5.2, speedKmh: 70 };
  });
}

async function push(lane: Lane, count: number): Promise<void> {
  const positions = nextFixes(lane, count);
  if (lane.deviceId) await sendUntilAccepted('/v1/positions', { deviceId: lane.deviceId, positions });
  else await sendUntilAccepted(`/v1/shipments/${lane.shipmentId}/positions`, { positions });
  lane.accepted.push(...positions.map((fix) => fix.recordedAt));
}

/** Each lane sends one request at a time (so its fixes arrive in time order): batches of 20 and single fixes. */
function steadyLoad(): { stop(): Promise<void> } {
  let stopped = false;
  const running = lanes.map(async (lane) => {
    for (let n = 0; !stopped; n++) {
      await push(lane, n % 3 === 2 ? 1 : 20);
      await delay(LOAD_PAUSE_MS);
    }
  });
  return {
    async stop() {
      stopped = true;
      await Promise.all(running);
    },
  };
}

async function liveState(lane: Lane) {
  return request('GET', `/v1/shipments/${lane.shipmentId}`);
}

/** Time from the fault until a fix sent after it is in the workflow's live state within the normal lag. */
async function recoveryTime(faultAt: number): Promise<number> {
  for (;;) {
    await push(probe, 1);
    const latest = probe.accepted.at(-1);
    const visibleBy = Date.now() + NORMAL_LAG_MS;
    while (Date.now() < visibleBy) {
      const state = await liveState(probe).catch(() => undefined);
      if (state?.headers.get('x-state-source') === 'workflow' && state.body.lastPosition?.recordedAt === latest) return Date.now() - faultAt;
      await delay(100);
    }
  }
}

async function expectExactlyOnce(fault: string): Promise<void> {
  for (const lane of [...lanes, probe]) {
    const stored = await db
      .selectFrom('positions')
      .select((eb) => [eb.fn.countAll<string>().as('rows'), eb.fn.count<string>('recorded_at').distinct().as('instants')])
      .where('shipment_id', '=', lane.shipmentId)
      .executeTakeFirstOrThrow();
    expect(Number(stored.rows), `${fault}: ${lane.name} rows`).toBe(lane.accepted.length);
    expect(Number(stored.instants), `${fault}: ${lane.name} distinct fixes`).toBe(lane.accepted.length);
    const latest = lane.accepted.at(-1);
    const live = await eventually(
      `${fault}: ${lane.name} processed every fix once`,
      () => liveState(lane),
      (res) => res.headers.get('x-state-source') === 'workflow' && res.body.fixCounts?.applied === lane.accepted.length && res.body.lastPosition?.recordedAt === latest,
      { timeoutMs: 60_000 },
    );
    expect(live.body.fixCounts.applied).toBe(lane.accepted.length);
  }
}

async function createLane(name: string, withDevice: boolean, tenantId: string): Promise<Lane> {
  const deviceId = withDevice
    ? (await insertFleetRow(db, 'device', { id: randomUUID(), tenant_id: tenantId, external_id: `IMEI-FAULT-${name}`, updated_at: new Date() })).id
    : undefined;
  const created = await request('POST', '/v1/shipments', {
    reference: `FAULT-${name}-${Date.now()}`,
    stops: [
      { type: 'pickup', name: 'Lyon DC', location: { lat: 45.7485, lon: 4.8467 }, geofenceRadiusM: 300 },
      { type: 'delivery', name: 'Paris XV', location: { lat: 48.8414, lon: 2.2873 }, geofenceRadiusM: 300 },
    ],
    ...(deviceId ? { deviceId } : {}),
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return { name, shipmentId: created.body.id, ...(deviceId ? { deviceId } : {}), t0: Date.now() - 12 * 3_600_000, accepted: [] };
}

beforeAll(async () => {
  temporalDir = mkdtempSync(join(tmpdir(), 'retrack-faults-'));
  ports = { temporal: await freePort(), ui: await freePort(), api: await freePort() };
  [postgres, temporal] = await Promise.all([startPrivatePostgres(), startTemporal()]);
  db = createDatabase(postgres.url, { max: 2 });
  await migrateToLatest(db);
  const tenant = await createTenant(db, { name: 'Fault Line Freight' });
  apiKey = (await issueApiKey(db, { tenantId: tenant.id, role: 'dispatcher' })).apiKey;
  api = startEntry('api');
  worker = startEntry('worker');
  await eventually('the API to be ready', () => fetch(`${baseUrl()}/readyz`), (res) => res.ok);
  for (let i = 0; i < LANES; i++) lanes.push(await createLane(`lane${i + 1}`, i === 0, tenant.id));
  probe = await createLane('probe', false, tenant.id);
}, 180_000);

afterAll(async () => {
  for (const process of [api, worker, temporal]) await process?.stop(5_000);
  await db?.destroy();
  await postgres?.stop();
  if (temporalDir) rmSync(temporalDir, { recursive: true, force: true });
});

describe('faults under a steady load of fixes', () => {
  it('loses no accepted fix, processes each once, and recovers from each fault by itself', async () => {
    const faults: { name: string; inject(): Promise<void>; survivors: () => ManagedProcess[] }[] = [
      {
        name: 'kill -9 API',
        inject: async () => {
          await killHard(api);
          api = startEntry('api');
        },
        survivors: () => [worker, temporal],
      },
      {
        name: 'kill -9 worker',
        inject: async () => {
          await killHard(worker);
          worker = startEntry('worker');
        },
        survivors: () => [api, temporal],
      },
      {
        name: 'kill -9 Temporal dev server',
        inject: async () => {
          await killHard(temporal);
          temporal = await startTemporal();
        },
        survivors: () => [api, worker],
      },
      { name: 'restart Postgres', inject: () => postgres.restart(), survivors: () => [api, worker, temporal] },
    ];

    const results: FaultResult[] = [];
    for (const fault of faults) {
      const survivors = fault.survivors().map((p) => p.child.pid);
      const before = { ...stats, fixes: [...lanes, probe].reduce((n, lane) => n + lane.accepted.length, 0) };
      const load = steadyLoad();
      await delay(STEADY_LOAD_MS);
      const faultAt = Date.now();
      await fault.inject();
      const recoveryMs = await recoveryTime(faultAt);
      await delay(STEADY_LOAD_MS);
      await load.stop();
      await expectExactlyOnce(fault.name);
      // The processes not killed are the same ones, still running, and the API is ready again.
      expect(fault.survivors().map((p) => p.child.pid)).toEqual(survivors);
      for (const process of fault.survivors()) expect(process.child.exitCode, process.name).toBeNull();
      expect((await fetch(`${baseUrl()}/readyz`)).status).toBe(200);
      results.push({
        fault: fault.name,
        recoveryMs,
        requests: stats.requests - before.requests,
        retried: stats.retried - before.retried,
        fixesAccepted: [...lanes, probe].reduce((n, lane) => n + lane.accepted.length, 0) - before.fixes,
      });
    }

    const totals = { fixesAccepted: [...lanes, probe].reduce((n, lane) => n + lane.accepted.length, 0), fixesLost: 0, requests: stats.requests, retried: stats.retried };
    console.log(['fault recovery (fault until a new fix is live within 2 s):', ...results.map((r) => `  ${r.fault.padEnd(28)} ${(r.recoveryMs / 1000).toFixed(1)} s  (${r.requests} requests, ${r.retried} retried, ${r.fixesAccepted} fixes accepted)`), `  total: ${totals.fixesAccepted} fixes accepted, 0 lost, each processed once`].join('\n'));
    if (process.env.FAULTS_OUT) {
      writeFileSync(process.env.FAULTS_OUT, `${JSON.stringify({ measuredAt: new Date().toISOString(), lanes: LANES, normalLagMs: NORMAL_LAG_MS, faults: results, totals }, null, 2)}\n`);
    }
  }, 300_000);
});

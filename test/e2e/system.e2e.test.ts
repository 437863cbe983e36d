// The README's start command for real: scripts/dev.ts (what `npm start` runs) on free ports with a
// temporary data folder brings up the Temporal dev server + UI, embedded Postgres, migrations, the
// worker and the API. A three-stop trip is pushed through the real listener, the whole system is
// stopped and started again mid-trip, and the shipment carries on to DELIVERED; two worker processes
// (WORKER_PROCESSES) share the task queue.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection, Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyFixes, initialTrackingState } from '../../domain/milestones.js';
import type { StopPlan } from '../../domain/types.js';
import { PROJECT_ROOT } from '../../infra/tools.js';
import { SHIPMENT_TASK_QUEUE } from '../../workflows/contract.js';
import { generateTrip } from '../support/trip.js';
import { callJson, eventually } from '../support/http.js';
import { freeSystemPorts, startSystem, stopSystem, type RunningSystem, type SystemPorts } from '../support/system.js';

const STOPS: StopPlan[] = [
  { sequence: 1, type: 'pickup', name: 'Lyon Gerland DC', location: { lat: 45.7289, lon: 4.8317 }, geofenceRadiusM: 300 },
  { sequence: 2, type: 'waypoint', name: 'Vénissieux cross-dock', location: { lat: 45.6975, lon: 4.8867 }, geofenceRadiusM: 300 },
  { sequence: 3, type: 'delivery', name: 'Saint-Priest store', location: { lat: 45.6956, lon: 4.9436 }, geofenceRadiusM: 250 },
];

// CommonJS module: its namespace comes through the default export under ESM.
const { temporal } = proto;

const dataDir = mkdtempSync(join(tmpdir(), 'retrack-e2e-'));
let ports: SystemPorts;
let system: RunningSystem | undefined;
const startOurSystem = () => startSystem(ports, dataDir, { env: { DELIVERY_GRACE_MINUTES: '60', WORKER_PROCESSES: '2' } });

const api = (path: string) => `http://127.0.0.1:${ports.api}${path}`;
const call = (method: string, path: string, key: string, body?: unknown) => callJson(api(''), method, path, key, body);
const systemLog = () => system?.output.join('').slice(-4000) ?? '';


async function waitUntilReady(): Promise<void> {
  await eventually('the API to be ready', () => fetch(api('/readyz')), (res) => res.ok, { timeoutMs: 180_000, context: systemLog });
}

async function adminCreateTenant(): Promise<{ tenantId: string; apiKey: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/admin.ts', 'create-tenant', '--name', 'E2E Freight'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, DATABASE_URL: `postgres://postgres@127.0.0.1:${ports.postgres}/postgres` },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let stdout = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  expect(code).toBe(0);
  return JSON.parse(stdout);
}

async function describeRun(workflowId: string): Promise<{ runId: string; status: string }> {
  const connection = await Connection.connect({ address: `127.0.0.1:${ports.temporal}` });
  try {
    const description = await new Client({ connection }).workflow.getHandle(workflowId).describe();
    return { runId: description.runId, status: description.status.name };
  } finally {
    await connection.close();
  }
}

beforeAll(async () => {
  ports = await freeSystemPorts();
  system = startOurSystem();
  await waitUntilReady();
});

afterAll(async () => {
  if (system && system.child.exitCode === null) await stopSystem(system);
  rmSync(dataDir, { recursive: true, force: true });
});

describe('npm start, end to end', () => {
  it('runs WORKER_PROCESSES workers on the shipment task queue', async () => {
    const connection = await Connection.connect({ address: `127.0.0.1:${ports.temporal}` });
    try {
      const pollers = await eventually(
        'both workers polling',
        async () =>
          (await connection.workflowService.describeTaskQueue({ namespace: 'default', taskQueue: { name: SHIPMENT_TASK_QUEUE }, taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW })).pollers ?? [],
        (found) => new Set(found.map((poller) => poller.identity)).size >= 2,
      );
      expect(new Set(pollers.map((poller) => poller.identity)).size).toBe(2);
    } finally {
      await connection.close();
    }
  });

  it('tracks a three-stop trip through a full stop and restart of the system', async () => {
    const ui = await fetch(`http://127.0.0.1:${ports.ui}/`);
    expect(ui.status).toBe(200);
    const docs = await fetch(api('/openapi.json'));
    expect(((await docs.json()) as { paths: object }).paths).toHaveProperty(['/v1/shipments']);

    const { tenantId, apiKey } = await adminCreateTenant();
    const created = await call('POST', '/v1/shipments', apiKey, {
      reference: `E2E-${Date.now()}`,
      stops: STOPS.map(({ sequence: _sequence, ...stop }) => stop),
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const { id, workflowId } = created.body;

    const trip = generateTrip(STOPS.map((s) => ({ stop: s.location, dwellMin: 20 })), {
      start: new Date(Date.now() - 8 * 3_600_000),
      intervalSec: 15,
      speedKmh: 50,
    });
    expect(trip.length).toBeGreaterThanOrEqual(300);
    // What the pure rules say this trip must produce, at the fixes' own times.
    const expected = applyFixes(initialTrackingState(STOPS), trip, STOPS)
      .events.filter((event) => event.kind === 'milestone')
      .map((event) => ({ type: event.type, stopSequence: event.stopSequence, at: event.at }));
    expect(expected.map((m) => `${m.type}:${m.stopSequence}`)).toEqual(['ARRIVED:1', 'DEPARTED:1', 'ARRIVED:2', 'DEPARTED:2', 'ARRIVED:3', 'DEPARTED:3']);

    const push = async (from: number, to: number) => {
      for (let i = from; i < to; i += 50) {
        const res = await call('POST', `/v1/shipments/${id}/positions`, apiKey, { positions: trip.slice(i, Math.min(i + 50, to)) });
        expect(res.status, JSON.stringify(res.body)).toBe(202);
      }
    };
    const half = Math.floor(trip.length / 2);
    await push(0, half);
    await eventually(
      'the first milestones',
      () => call('GET', `/v1/shipments/${id}`, apiKey),
      (res) => res.body.milestones.length >= 2,
    );

    // Stop and start the whole system mid-trip: the running shipment keeps running (same run, still open).
    const runBeforeRestart = await describeRun(workflowId);
    expect(runBeforeRestart.status).toBe('RUNNING');
    expect(await stopSystem(system!)).toBe(0);
    system = startOurSystem();
    await waitUntilReady();
    const resumed = await eventually(
      'the live state from the workflow after restart',
      () => call('GET', `/v1/shipments/${id}`, apiKey),
      (res) => res.headers.get('x-state-source') === 'workflow',
    );
    expect(['IN_TRANSIT', 'AT_STOP']).toContain(resumed.body.status);
    expect(await describeRun(workflowId)).toEqual(runBeforeRestart);

    await push(half, trip.length);
    // A device retrying an upload it already made changes nothing.
    const retry = await call('POST', `/v1/shipments/${id}/positions`, apiKey, { positions: trip.slice(half - 20, half + 20) });
    expect(retry.body).toMatchObject({ accepted: 0, duplicates: 40 });

    const delivered = await eventually(
      'DELIVERED',
      () => call('GET', `/v1/shipments/${id}`, apiKey),
      (res) => res.body.status === 'DELIVERED' && res.body.milestones.length === expected.length,
    );
    expect(delivered.body.milestones).toEqual(expected);
    expect(delivered.body.stops.map((s: { status: string }) => s.status)).toEqual(['DEPARTED', 'DEPARTED', 'DEPARTED']);

    // The timeline in Postgres: every milestone once, in order, with the fixes' times.
    const pgClient = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${ports.postgres}/postgres` });
    await pgClient.connect();
    try {
      // The timeline is written by the workflow's activity just after the state changes: wait for it.
      const rows = await eventually(
        'the timeline rows',
        async () =>
          (
            await pgClient.query<{ type: string; stop_sequence: number; occurred_at: Date }>(
              `select type, stop_sequence, occurred_at from shipment_events
                where shipment_id = $1 and type in ('ARRIVED', 'DEPARTED', 'DELIVERED') order by occurred_at, id`,
              [id],
            )
          ).rows,
        (found) => found.some((row) => row.type === 'DELIVERED'),
      );
      expect(rows.filter((r) => r.type !== 'DELIVERED').map((r) => ({ type: r.type, stopSequence: r.stop_sequence, at: r.occurred_at.toISOString() }))).toEqual(expected);
      expect(rows.filter((r) => r.type === 'DELIVERED')).toHaveLength(1);
      // Every fix stored once and read by the workflow: no wake-up left outstanding.
      const { rows: stored } = await pgClient.query<{ n: string; outstanding: boolean }>(
        `select count(*) as n, bool_or(i.wake_seq > i.loaded_seq) as outstanding
           from positions p join shipment_ingest i on i.shipment_id = p.shipment_id where p.shipment_id = $1`,
        [id],
      );
      expect(stored[0]).toEqual({ n: String(trip.length), outstanding: false });
    } finally {
      await pgClient.end();
    }

    // Operators find it in the Temporal UI's list by tenant and status.
    const connection = await Connection.connect({ address: `127.0.0.1:${ports.temporal}` });
    try {
      const client = new Client({ connection });
      const found = await eventually(
        'the workflow in visibility',
        async () => {
          const ids: string[] = [];
          for await (const execution of client.workflow.list({ query: `TenantId="${tenantId}" AND ShipmentStatus="DELIVERED"` })) ids.push(execution.workflowId);
          return ids;
        },
        (ids) => ids.includes(workflowId),
        { timeoutMs: 30_000 },
      );
      expect(found).toEqual([workflowId]);
    } finally {
      await connection.close();
    }
  }, 600_000);
});

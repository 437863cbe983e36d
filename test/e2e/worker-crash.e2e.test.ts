// A worker killed mid-trip (SIGKILL, no drain) and started again loses and repeats nothing:
// the real worker and API entry points run as processes against the dev server and Postgres,
// fixes keep arriving while no worker runs, and every milestone still lands exactly once.
import type { ChildProcess } from 'node:child_process';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueApiKey } from '../../api/auth.js';
import { createTenant } from '../../db/repositories/tenants.js';
import { applyFixes, initialTrackingState } from '../../domain/milestones.js';
import type { StopPlan } from '../../domain/types.js';
import { freePort } from '../../scripts/dev.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { startLocalTemporal } from '../support/temporal.js';
import { generateTrip } from '../support/trip.js';
import { callJson, eventually } from '../support/http.js';
import { exited, startEntryPoint } from '../support/entry-points.js';

const STOPS: StopPlan[] = [
  { sequence: 1, type: 'pickup', name: 'Lyon Gerland DC', location: { lat: 45.7289, lon: 4.8317 }, geofenceRadiusM: 300 },
  { sequence: 2, type: 'waypoint', name: 'Vénissieux cross-dock', location: { lat: 45.6975, lon: 4.8867 }, geofenceRadiusM: 300 },
  { sequence: 3, type: 'delivery', name: 'Saint-Priest store', location: { lat: 45.6956, lon: 4.9436 }, geofenceRadiusM: 250 },
];

let temporal: TestWorkflowEnvironment;
let database: TestDatabase;
let apiPort: number;
const processes: ChildProcess[] = [];

function startEntry(entry: 'worker/main.ts' | 'api/main.ts'): ChildProcess {
  const child = startEntryPoint(entry, { DATABASE_URL: database.url, TEMPORAL_ADDRESS: temporal.address, PORT: String(apiPort) });
  processes.push(child);
  return child;
}

const call = (method: string, path: string, key: string, body?: unknown) => callJson(`http://127.0.0.1:${apiPort}`, method, path, key, body);

beforeAll(async () => {
  [temporal, database] = await Promise.all([startLocalTemporal(), createTestDatabase()]);
  apiPort = await freePort();
});

afterAll(async () => {
  for (const child of processes) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  await Promise.all(processes.map(exited));
  await temporal?.teardown();
  await database?.drop();
});

describe('a worker crash mid-trip', () => {
  it('loses and repeats nothing', async () => {
    const tenant = await createTenant(database.db, { name: 'Crash Test Haulage' });
    const { apiKey } = await issueApiKey(database.db, { tenantId: tenant.id, role: 'dispatcher' });
    startEntry('api/main.ts');
    let worker = startEntry('worker/main.ts');
    await eventually('the API', () => fetch(`http://127.0.0.1:${apiPort}/readyz`), (res) => res.ok);

    const created = await call('POST', '/v1/shipments', apiKey, { reference: `CRASH-${Date.now()}`, stops: STOPS.map(({ sequence: _s, ...stop }) => stop) });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const { id } = created.body;
    const trip = generateTrip(STOPS.map((s) => ({ stop: s.location, dwellMin: 20 })), { start: new Date(Date.now() - 8 * 3_600_000), intervalSec: 15, speedKmh: 50 });
    const expected = applyFixes(initialTrackingState(STOPS), trip, STOPS)
      .events.filter((event) => event.kind === 'milestone')
      .map((event) => ({ type: event.type, stopSequence: event.stopSequence, at: event.at }));
    const push = async (from: number, to: number) => {
      for (let i = from; i < to; i += 40) {
        const res = await call('POST', `/v1/shipments/${id}/positions`, apiKey, { positions: trip.slice(i, Math.min(i + 40, to)) });
        expect(res.status, JSON.stringify(res.body)).toBe(202);
      }
    };

    const third = Math.floor(trip.length / 3);
    await push(0, third);
    await eventually('the first milestones', () => call('GET', `/v1/shipments/${id}`, apiKey), (res) => res.body.milestones.length >= 2);

    // Killed without a chance to drain, right after more fixes were stored and announced.
    await push(third, 2 * third);
    worker.kill('SIGKILL');
    await exited(worker);
    // Fixes keep arriving while no worker runs: accepted and stored; a wake-up waits on the server.
    await push(2 * third, trip.length - 30);

    worker = startEntry('worker/main.ts');
    await push(trip.length - 30, trip.length);

    const delivered = await eventually(
      'DELIVERED',
      () => call('GET', `/v1/shipments/${id}`, apiKey),
      (res) => res.body.status === 'DELIVERED' && res.body.milestones.length === expected.length,
    );
    expect(delivered.body.milestones).toEqual(expected);

    // The timeline is written by the workflow's activity just after the state changes: wait for it.
    const events = await eventually(
      'the timeline rows',
      () =>
        database.db
          .selectFrom('shipment_events')
          .select(['type', 'stop_sequence', 'occurred_at'])
          .where('shipment_id', '=', id)
          .where('type', 'in', ['ARRIVED', 'DEPARTED', 'DELIVERED'])
          .orderBy('occurred_at')
          .orderBy('id')
          .execute(),
      (rows) => rows.some((row) => row.type === 'DELIVERED'),
    );
    expect(events.filter((e) => e.type !== 'DELIVERED').map((e) => ({ type: e.type, stopSequence: e.stop_sequence, at: new Date(e.occurred_at).toISOString() }))).toEqual(expected);
    expect(events.filter((e) => e.type === 'DELIVERED')).toHaveLength(1);

    // Every fix reached the workflow exactly once: each stored once, each applied once, none twice.
    const stored = await database.db.selectFrom('positions').select((eb) => eb.fn.countAll<string>().as('n')).where('shipment_id', '=', id).executeTakeFirstOrThrow();
    expect(Number(stored.n)).toBe(trip.length);
    expect(delivered.body.fixCounts).toEqual({ applied: trip.length, duplicates: 0, late: 0, ignored: 0, rewinds: 0 });
  }, 300_000);
});
